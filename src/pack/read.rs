//! The one way a pack is read. From a target — a pack's folder, or a pack recorded elsewhere
//! (`latest.json`, the next pack's chain link) — to an opened pack: the manifest (as recorded,
//! when it was), the place it sits, the time-stamp, the signature; then each file only as the
//! manifest records it. Every reader goes through here: `verify` (which asks for every problem,
//! through the judgments below), and, stopping at the first, the previous pack of a run,
//! `fleet`, `diff`, `share`, `review start`, `reperform` and `--snapshot PACK`.
//!
//! What is trusted and why: the manifest only because a key the reader trusts signed it (or,
//! for readers without trusted keys, because its signature verifies at all and the reader says
//! so); its time only as the time-stamping authority attests it, when the reader pins one; every
//! other file only because its size and SHA-256 are the manifest's.

use super::manifest::Manifest;
use super::sign::{self, AllowedSigner};
use super::timestamp::{self, MAX_REPLY_BYTES, PinnedCertificate, TIMESTAMP_FILE};
use super::{
    FileMismatch, MANIFEST_FILE, MAX_MANIFEST_BYTES, MAX_SIGNATURE_BYTES, RecordedFileError,
    SIGNATURE_FILE, pack_prefix, read_recorded_file, sha256_hex,
};
use crate::store::{Store, StoreError};
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How a reader judges a pack's signature and time.
#[derive(Debug, Clone, Copy, Default)]
pub struct Policy<'a> {
    /// The keys that may sign packs.
    pub signers: Option<&'a [AllowedSigner]>,
    /// The time-stamping authority: a time-stamped pack is judged at its attested time.
    pub tsa: Option<&'a PinnedCertificate>,
    /// An auditor's reading (`verify`): a signature must be by an allowed signer, and an
    /// unsigned pack is refused unless `allow_unsigned`. Otherwise (a reader without trusted
    /// keys), any valid signature and an unsigned pack are accepted, and with trusted keys only
    /// theirs.
    pub strict: bool,
    pub allow_unsigned: bool,
    /// A time-stamp is judged as `verify` judges it: one that cannot be checked (no authority
    /// pinned) is a problem. Otherwise a reader without an authority takes a time-stamped pack
    /// at its claimed time. `verify` and `fleet report` set it.
    pub strict_time: bool,
}

impl<'a> Policy<'a> {
    /// A reader's policy: with `signers`, only packs they signed; without, any pack whose
    /// signature, if it has one, verifies.
    pub fn reader(
        signers: Option<&'a [AllowedSigner]>,
        tsa: Option<&'a PinnedCertificate>,
    ) -> Policy<'a> {
        Policy {
            signers,
            tsa,
            strict: false,
            allow_unsigned: signers.is_none(),
            strict_time: false,
        }
    }
}

/// Why a pack does not verify. The check it belongs to ([`PackProblem::check`]) is what
/// `verify` prints it under.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PackProblem {
    #[error("{MANIFEST_FILE} is missing")]
    ManifestMissing,
    #[error("{MANIFEST_FILE} does not match the SHA-256 {recorded_by} recorded for it")]
    ManifestNotAsRecorded { recorded_by: String },
    #[error("{MANIFEST_FILE} is not valid: {0}")]
    ManifestInvalid(String),
    #[error("{MANIFEST_FILE} describes pack {pack_id} of cluster {cluster}")]
    OtherPack { pack_id: String, cluster: String },
    #[error("pack {pack_id} of cluster {cluster} belongs at `{expected}`, not `{found}`")]
    Misplaced {
        pack_id: String,
        cluster: String,
        expected: String,
        found: String,
    },
    #[error("{0}")]
    Timestamp(String),
    #[error("{SIGNATURE_FILE}: {0}")]
    Signature(String),
    #[error("{0}")]
    Unsigned(String),
    #[error(transparent)]
    File(FileMismatch),
}

/// The checks `verify` makes of a pack, each printed under its name.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum CheckKind {
    Manifest,
    Timestamp,
    Signature,
    Files,
    /// `SHA256SUMS` against the manifest.
    #[serde(rename = "SHA256SUMS")]
    Sums,
    Attestation,
    /// The collection time against the store's and the authority's.
    Time,
    Retention,
}

impl CheckKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckKind::Manifest => "manifest",
            CheckKind::Timestamp => "timestamp",
            CheckKind::Signature => "signature",
            CheckKind::Files => "files",
            CheckKind::Sums => crate::files::SUMS,
            CheckKind::Attestation => "attestation",
            CheckKind::Time => "time",
            CheckKind::Retention => "retention",
        }
    }
}

impl std::fmt::Display for CheckKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PackProblem {
    /// The check of `verify` the problem belongs to.
    pub fn check(&self) -> CheckKind {
        match self {
            PackProblem::ManifestMissing
            | PackProblem::ManifestNotAsRecorded { .. }
            | PackProblem::ManifestInvalid(_)
            | PackProblem::OtherPack { .. }
            | PackProblem::Misplaced { .. } => CheckKind::Manifest,
            PackProblem::Timestamp(_) => CheckKind::Timestamp,
            PackProblem::Signature(_) | PackProblem::Unsigned(_) => CheckKind::Signature,
            PackProblem::File(_) => CheckKind::Files,
        }
    }
}

/// A pack that could not be opened, and which.
#[derive(Debug, thiserror::Error)]
pub enum PackError {
    #[error(transparent)]
    Store(#[from] StoreError),
    // The problem is said in the message (not as a source, which would say it twice).
    #[error("pack {pack} ({path}) does not verify: {problem}")]
    Invalid {
        pack: String,
        path: String,
        problem: PackProblem,
    },
}

/// Where a pack is, and what is known of it before its manifest is read.
#[derive(Debug, Clone, Copy)]
pub enum Target<'t> {
    /// A pack recorded by something already trusted (`latest.json`, a chain link): its
    /// manifest must have the SHA-256 recorded and describe that pack, sitting where such a
    /// pack is stored.
    Recorded {
        cluster: &'t str,
        pack_id: &'t str,
        path: &'t str,
        manifest_sha256: &'t str,
        /// Where the SHA-256 came from, for the problem.
        recorded_by: &'t str,
    },
    /// A pack's folder, known by its manifest alone. Inside a store (a prefix with `/`) it must
    /// sit where its manifest says; a copy outside (one folder) is taken where it is.
    At(&'t str),
}

/// A pack whose manifest, place, time-stamp and signature hold. Its files are read through
/// [`OpenedPack::file`].
pub struct OpenedPack<'a> {
    store: &'a dyn Store,
    pub prefix: String,
    pub manifest: Manifest,
    pub manifest_bytes: Vec<u8>,
    /// When the signature was judged: the authority's time, or the pack's claim.
    pub signed_at: DateTime<Utc>,
    /// What the signature check said (who signed, or that the pack is unsigned).
    pub signature: String,
    /// The time-stamp token, checked against the pinned authority; `None` when the pack is not
    /// time-stamped, or the reader pinned no authority and does not judge time strictly.
    pub timestamp: Option<timestamp::TimestampToken>,
}

impl std::fmt::Debug for OpenedPack<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenedPack")
            .field("prefix", &self.prefix)
            .field("pack_id", &self.manifest.pack_id)
            .finish()
    }
}

impl OpenedPack<'_> {
    pub fn manifest_sha256(&self) -> String {
        sha256_hex(&self.manifest_bytes)
    }

    /// Whether the manifest lists `name`.
    pub fn lists(&self, name: &str) -> bool {
        self.manifest.files.iter().any(|f| f.path == name)
    }

    /// A file of the pack, only as its manifest records it (never read past the size recorded).
    pub async fn file(&self, name: &str) -> Result<Vec<u8>, PackError> {
        read_recorded_file(self.store, &self.prefix, &self.manifest, name)
            .await
            .map_err(|e| match e {
                RecordedFileError::Store(e) => e.into(),
                RecordedFileError::Mismatch(m) => self.invalid(PackProblem::File(m)),
            })
    }

    /// Every file the manifest lists, read (one at a time, never past its recorded size) and
    /// checked against its record: a reader refuses a pack with any file changed, not only the
    /// ones it uses.
    pub async fn check_files(&self) -> Result<(), PackError> {
        for f in &self.manifest.files {
            self.file(&f.path).await?;
        }
        Ok(())
    }

    /// A problem of this pack as an error.
    pub fn invalid(&self, problem: PackProblem) -> PackError {
        PackError::Invalid {
            pack: self.manifest.pack_id.clone(),
            path: self.prefix.clone(),
            problem,
        }
    }
}

/// Opens the pack at `target` and checks every file it lists against its manifest, stopping at
/// the first problem: what every reader of a whole pack does.
pub async fn open_whole<'a>(
    store: &'a dyn Store,
    target: Target<'_>,
    policy: Policy<'_>,
) -> Result<OpenedPack<'a>, PackError> {
    let pack = open(store, target, policy).await?;
    pack.check_files().await?;
    Ok(pack)
}

/// Opens the pack at `target` (manifest, place, time-stamp, signature), stopping at the first
/// problem; its files are checked as they are read.
pub async fn open<'a>(
    store: &'a dyn Store,
    target: Target<'_>,
    policy: Policy<'_>,
) -> Result<OpenedPack<'a>, PackError> {
    let (prefix, shown) = match target {
        Target::Recorded { path, pack_id, .. } => (path, pack_id),
        Target::At(prefix) => (prefix, prefix.rsplit('/').next().unwrap_or(prefix)),
    };
    let invalid = |problem| PackError::Invalid {
        pack: shown.to_string(),
        path: prefix.to_string(),
        problem,
    };
    let manifest_bytes = store
        .get_limited(&format!("{prefix}/{MANIFEST_FILE}"), MAX_MANIFEST_BYTES)
        .await?
        .ok_or_else(|| invalid(PackProblem::ManifestMissing))?;
    let manifest = judge_manifest(&manifest_bytes, prefix, target).map_err(invalid)?;
    let reply = match manifest.timestamped {
        true => {
            store
                .get_limited(
                    &format!("{prefix}/{TIMESTAMP_FILE}"),
                    MAX_REPLY_BYTES as u64,
                )
                .await?
        }
        false => None,
    };
    let time = judge_timestamp(&manifest, &manifest_bytes, reply.as_deref(), policy);
    if let Some(Err(p)) = time.outcome {
        return Err(invalid(p));
    }
    let sig = store
        .get_limited(&format!("{prefix}/{SIGNATURE_FILE}"), MAX_SIGNATURE_BYTES)
        .await?;
    let signature = judge_signature(
        &manifest,
        &manifest_bytes,
        sig.as_deref(),
        time.signed_at,
        policy,
    )
    .map_err(invalid)?;
    Ok(OpenedPack {
        store,
        prefix: prefix.to_string(),
        manifest,
        manifest_bytes,
        signed_at: time.signed_at,
        signature,
        timestamp: time.token,
    })
}

/// The manifest, parsed, as the target expects it: the recorded SHA-256, the pack and cluster
/// recorded, and the place such a pack is stored.
pub fn judge_manifest(
    bytes: &[u8],
    prefix: &str,
    target: Target<'_>,
) -> Result<Manifest, PackProblem> {
    if let Target::Recorded {
        manifest_sha256,
        recorded_by,
        ..
    } = target
        && sha256_hex(bytes) != manifest_sha256
    {
        return Err(PackProblem::ManifestNotAsRecorded {
            recorded_by: recorded_by.to_string(),
        });
    }
    let manifest =
        Manifest::from_bytes(bytes).map_err(|e| PackProblem::ManifestInvalid(e.to_string()))?;
    if let Target::Recorded {
        cluster, pack_id, ..
    } = target
        && (manifest.pack_id != pack_id || manifest.cluster.name != cluster)
    {
        return Err(PackProblem::OtherPack {
            pack_id: manifest.pack_id,
            cluster: manifest.cluster.name,
        });
    }
    judge_place(&manifest, prefix)?;
    Ok(manifest)
}

/// Inside a store a pack sits at the prefix its manifest implies (cluster, day, id): a pack
/// moved to another's place is refused. A copy outside its store (a prefix without `/`, one
/// folder named anything) is known by its manifest alone.
pub fn judge_place(manifest: &Manifest, prefix: &str) -> Result<(), PackProblem> {
    let expected = pack_prefix(
        &manifest.cluster.name,
        manifest.collected_at,
        &manifest.pack_id,
    );
    if prefix.contains('/') && !(prefix == expected || prefix.ends_with(&format!("/{expected}"))) {
        return Err(PackProblem::Misplaced {
            pack_id: manifest.pack_id.clone(),
            cluster: manifest.cluster.name.clone(),
            expected,
            found: prefix.to_string(),
        });
    }
    Ok(())
}

/// The time the signature is judged at, and what the time-stamp check found (`None` when there
/// was nothing to check, or nothing a non-strict reader must check).
pub struct TimeJudgement {
    pub signed_at: DateTime<Utc>,
    pub outcome: Option<Result<String, PackProblem>>,
    /// The token, when it verified against the pinned authority.
    pub token: Option<timestamp::TimestampToken>,
}

/// `manifest.json.tsr`: the RFC 3161 token over the manifest, signed by the authority the
/// reader pinned. Its time is when the manifest is proven to have existed, at which the signing
/// key must have been valid (rather than the time the pack claims).
pub fn judge_timestamp(
    manifest: &Manifest,
    manifest_bytes: &[u8],
    reply: Option<&[u8]>,
    policy: Policy<'_>,
) -> TimeJudgement {
    let claimed = manifest.published_at;
    let judged = |outcome| TimeJudgement {
        signed_at: claimed,
        outcome: Some(outcome),
        token: None,
    };
    let unjudged = TimeJudgement {
        signed_at: claimed,
        outcome: None,
        token: None,
    };
    if !manifest.timestamped {
        return unjudged;
    }
    let Some(reply) = reply else {
        return judged(Err(PackProblem::Timestamp(format!(
            "{TIMESTAMP_FILE} is missing, but the manifest says it is timestamped"
        ))));
    };
    let Some(cert) = policy.tsa else {
        return match policy.strict_time {
            true => judged(Err(PackProblem::Timestamp(format!(
                "{TIMESTAMP_FILE} cannot be checked: no --tsa-certificate was given; signatures are checked at the pack's own publication time"
            )))),
            false => unjudged,
        };
    };
    match timestamp::verify(reply, manifest_bytes, cert) {
        Ok(token) => TimeJudgement {
            signed_at: token.gen_time,
            outcome: Some(Ok(format!(
                "RFC 3161 token of the authority (certificate SHA-256 {}): manifest.json existed at {}, {} min from its claimed publication; signatures are checked at that time",
                &token.tsa_certificate_sha256[..16],
                token.gen_time.format("%Y-%m-%dT%H:%M:%SZ"),
                (token.gen_time - claimed).num_minutes()
            ))),
            token: Some(token),
        },
        Err(e) => judged(Err(PackProblem::Timestamp(format!(
            "{TIMESTAMP_FILE}: {e}"
        )))),
    }
}

/// `manifest.json.sig`: present exactly when the manifest says signed, valid at `signed_at`, by
/// the key the manifest names, and trusted as the policy requires. Returns what it found.
pub fn judge_signature(
    manifest: &Manifest,
    manifest_bytes: &[u8],
    signature: Option<&[u8]>,
    signed_at: DateTime<Utc>,
    policy: Policy<'_>,
) -> Result<String, PackProblem> {
    match (manifest.signed, signature) {
        (true, Some(sig)) => judge_detached(
            SIGNATURE_FILE,
            manifest_bytes,
            sig,
            &manifest.signing_key_fingerprint,
            signed_at,
            policy,
        )
        .map_err(PackProblem::Signature),
        (true, None) => Err(PackProblem::Signature(
            "is missing, but the manifest says the pack is signed".into(),
        )),
        (false, Some(_)) => Err(PackProblem::Unsigned(format!(
            "the manifest says UNSIGNED, but a {SIGNATURE_FILE} is present"
        ))),
        (false, None) if policy.allow_unsigned && policy.strict => {
            Ok("UNSIGNED pack (accepted with --allow-unsigned)".into())
        }
        (false, None) if policy.allow_unsigned => Ok("UNSIGNED pack".into()),
        (false, None) if policy.strict => Err(PackProblem::Unsigned(
            "UNSIGNED pack: nothing proves who produced it (--allow-unsigned to accept)".into(),
        )),
        (false, None) => Err(PackProblem::Unsigned(
            "it is UNSIGNED, and this reader trusts only packs signed by its allowed signers"
                .into(),
        )),
    }
}

/// A detached SSHSIG over `bytes` (the manifest, `SHA256SUMS`): valid at `signed_at`, made by
/// the key `fingerprint` the manifest names, and by an allowed signer when the policy has them
/// (a strict reader without them trusts no one).
pub fn judge_detached(
    name: &str,
    bytes: &[u8],
    signature: &[u8],
    fingerprint: &str,
    signed_at: DateTime<Utc>,
    policy: Policy<'_>,
) -> Result<String, String> {
    let c = sign::verify(bytes, signature, policy.signers, signed_at).map_err(|e| e.to_string())?;
    if c.fingerprint != fingerprint {
        return Err(format!(
            "signed by {}, but the manifest names {fingerprint}",
            c.fingerprint
        ));
    }
    match (&c.principal, policy.strict) {
        (Some(p), _) => Ok(format!("{name}: valid, by {} ({p})", c.fingerprint)),
        (None, false) => Ok(format!("{name}: valid, by {}", c.fingerprint)),
        (None, true) => Err(format!(
            "valid signature by {}, but no --allowed-signers were given to trust it",
            c.fingerprint
        )),
    }
}

/// Why a folder on disk cannot be taken as a pack.
#[derive(Debug, thiserror::Error)]
pub enum LocateError {
    #[error("cannot read {path}")]
    Read {
        path: String,
        #[source]
        source: crate::input::InputError,
    },
    #[error("{path} does not parse: {message}")]
    Manifest { path: String, message: String },
    #[error("cannot resolve {path}: {source}")]
    Resolve {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// A pack's folder on disk as a local store and the pack's prefix in it: inside its store when
/// it sits at its own prefix there (so its chain can be walked), otherwise the folder alone, a
/// copy known by its manifest. The manifest read here only places the pack; [`open`] judges it.
pub fn locate_folder(
    dir: &std::path::Path,
) -> Result<(crate::store::local::LocalStore, String), LocateError> {
    let manifest_path = dir.join(MANIFEST_FILE);
    let shown = manifest_path.display().to_string();
    let bytes =
        crate::input::read_bounded(&manifest_path, MAX_MANIFEST_BYTES).map_err(|source| {
            LocateError::Read {
                path: shown.clone(),
                source,
            }
        })?;
    let m = Manifest::from_bytes(&bytes).map_err(|e| LocateError::Manifest {
        path: shown.clone(),
        message: e.to_string(),
    })?;
    let prefix = pack_prefix(&m.cluster.name, m.collected_at, &m.pack_id);
    let canonical = dir.canonicalize().map_err(|source| LocateError::Resolve {
        path: dir.display().to_string(),
        source,
    })?;
    let as_text = canonical.to_string_lossy().to_string();
    if let Some(root) = as_text.strip_suffix(&format!("/{prefix}")) {
        return Ok((crate::store::local::LocalStore::new(root), prefix));
    }
    let parent = canonical
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_else(|| canonical.clone());
    // Inside a store but not at its own place: read where it is in that store, so its place is
    // judged (and refused), never taken for a copy outside.
    use crate::store::outputs::{Evidence, evidence_around};
    let store_root = match evidence_around(&parent, &[]) {
        Some(Evidence::ClusterFolder(c)) => c.parent().map(std::path::Path::to_path_buf),
        Some(Evidence::StoreRoot(r)) => Some(r),
        _ => None,
    };
    if let Some(root) = store_root
        && let Ok(inside) = canonical.strip_prefix(&root)
    {
        return Ok((
            crate::store::local::LocalStore::new(&root),
            inside.to_string_lossy().to_string(),
        ));
    }
    let name = canonical
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    Ok((crate::store::local::LocalStore::new(parent), name))
}
