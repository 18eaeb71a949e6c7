//! The previous pack of a cluster's chain, read so that a run can chain to it and diff against it.
//! Nothing from it is used before it is checked: `latest.json` must name a pack where the pack
//! should be, its manifest must be the one `latest.json` recorded, its signature must verify
//! (against the run's trusted signers when it has them), and every file read from it must match
//! the size and SHA-256 its manifest lists. Any mismatch is an error naming the file: the run
//! stops and publishes nothing, so a tampered pack never feeds a diff or a new signed pack.

use super::manifest::{LatestPointer, Manifest};
use super::sign::{self, AllowedSigner};
use super::timestamp::{self, MAX_REPLY_BYTES, PinnedCertificate, TIMESTAMP_FILE};
use super::{
    MANIFEST_FILE, MAX_MANIFEST_BYTES, MAX_SIGNATURE_BYTES, SIGNATURE_FILE, SNAPSHOT_FILE,
    latest_key, pack_prefix, read_latest, sha256_hex,
};
use crate::analysis::PreviousPackInfo;
use crate::audit::usage::{USAGE_FILE, USAGE_VERSION, UsageDocument, UsageRecord};
use crate::inventory::updates::{HISTORY_VERSION, ImageHistory, UPDATES_FILE, UpdatesDocument};
use crate::report::json::FindingsDocument;
use crate::report::trend::{TREND_FILE, TrendDocument, TrendPoint};
use crate::store::{Store, StoreError};

/// The previous pack, verified.
#[derive(Debug, Clone)]
pub struct VerifiedPrevious {
    pub pointer: LatestPointer,
    pub manifest: Manifest,
    /// What the analysis compares with.
    pub info: PreviousPackInfo,
    /// The trend it carried (oldest first).
    pub trend: Vec<TrendPoint>,
    /// The usage record it carried, if its run read an audit log.
    pub usage: Option<UsageRecord>,
}

#[derive(Debug, thiserror::Error)]
pub enum PreviousPackError {
    #[error("cannot read the previous pack")]
    Store(#[from] StoreError),
    #[error("{key} is not a valid pointer: {message}")]
    Pointer { key: String, message: String },
    #[error(
        "the previous pack {pack_id} ({path}) does not verify: {problem}. Nothing was published: a run never chains to, or diffs against, evidence that does not match its manifest. Restore the pack from a copy; to start a new chain on purpose, remove {latest} (verify --chain will then report the break)"
    )]
    Invalid {
        pack_id: String,
        path: String,
        latest: String,
        problem: String,
    },
}

/// A cluster's latest pack, opened: `latest.json` names it where it should be, its manifest is
/// the one `latest.json` recorded, and its signature verifies. Files are read through
/// [`LatestPack::verified_file`], which checks each against the manifest.
pub struct LatestPack<'a> {
    pub pointer: LatestPointer,
    pub manifest: Manifest,
    reader: PackReader<'a>,
}

/// Why a cluster's latest pack cannot be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenLatestError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{key} is not a valid pointer: {message}")]
    Pointer { key: String, message: String },
    /// The pack `latest.json` names does not verify; the text says how.
    #[error("pack {pack_id} ({path}) does not verify: {problem}")]
    Invalid {
        cluster: String,
        pack_id: String,
        path: String,
        problem: String,
    },
}

impl From<OpenLatestError> for PreviousPackError {
    fn from(e: OpenLatestError) -> Self {
        match e {
            OpenLatestError::Store(e) => PreviousPackError::Store(e),
            OpenLatestError::Pointer { key, message } => {
                PreviousPackError::Pointer { key, message }
            }
            OpenLatestError::Invalid {
                cluster,
                pack_id,
                path,
                problem,
            } => PreviousPackError::Invalid {
                pack_id,
                path,
                latest: latest_key(&cluster),
                problem,
            },
        }
    }
}

/// What a reader of packs trusts: the keys that may sign them and, for timestamped packs, the
/// time-stamping authority whose time (rather than the pack's claim) decides whether the key was
/// valid.
#[derive(Debug, Clone, Copy, Default)]
pub struct Trust<'a> {
    pub signers: Option<&'a [AllowedSigner]>,
    pub tsa: Option<&'a PinnedCertificate>,
}

/// Opens the pack `latest.json` names, if the cluster has one (see [`LatestPack`]).
pub async fn open_latest<'a>(
    store: &'a dyn Store,
    cluster: &str,
    trust: Trust<'_>,
) -> Result<Option<LatestPack<'a>>, OpenLatestError> {
    let pointer = match read_latest(store, cluster).await {
        Ok(Some(p)) => p,
        Ok(None) => return Ok(None),
        Err(super::PackReadError::Store(e)) => return Err(e.into()),
        Err(e) => {
            return Err(OpenLatestError::Pointer {
                key: latest_key(cluster),
                message: e.to_string(),
            });
        }
    };
    // The pointer must name this cluster's pack where such a pack is stored: a path elsewhere
    // (`../../etc`, another cluster) is never followed.
    let expected = pack_prefix(cluster, pointer.collected_at, &pointer.pack_id);
    if pointer.cluster != cluster || pointer.path != expected {
        return Err(OpenLatestError::Invalid {
            cluster: cluster.to_string(),
            pack_id: pointer.pack_id.clone(),
            path: pointer.path.clone(),
            problem: format!(
                "latest.json names path `{}` for cluster `{}`, but pack {} of cluster {cluster} is stored at `{expected}`",
                pointer.path, pointer.cluster, pointer.pack_id
            ),
        });
    }
    let (manifest, reader) = open_pack(
        store,
        cluster,
        &pointer.pack_id,
        &pointer.path,
        (&pointer.manifest_sha256, "latest.json"),
        trust,
    )
    .await?;
    Ok(Some(LatestPack {
        pointer,
        manifest,
        reader,
    }))
}

/// Opens the pack of `cluster` with id `pack_id` at `path` (from `latest.json` or a chain link):
/// its manifest must be the one recorded (`manifest_sha256`), describe that pack and cluster,
/// sit where such a pack is stored, and carry a signature the trust accepts. `recorded_by`
/// names where the SHA-256 came from, for the error.
async fn open_pack<'a>(
    store: &'a dyn Store,
    cluster: &str,
    pack_id: &str,
    path: &str,
    (manifest_sha256, recorded_by): (&str, &str),
    trust: Trust<'_>,
) -> Result<(Manifest, PackReader<'a>), OpenLatestError> {
    let invalid = |problem: String| OpenLatestError::Invalid {
        cluster: cluster.to_string(),
        pack_id: pack_id.to_string(),
        path: path.to_string(),
        problem,
    };
    let reader = PackReader {
        store,
        prefix: path.to_string(),
    };
    let manifest_bytes = reader
        .get(MANIFEST_FILE, MAX_MANIFEST_BYTES)
        .await?
        .ok_or_else(|| invalid(format!("{MANIFEST_FILE} is missing")))?;
    if sha256_hex(&manifest_bytes) != manifest_sha256 {
        return Err(invalid(format!(
            "{MANIFEST_FILE} does not match the SHA-256 {recorded_by} recorded for it"
        )));
    }
    let manifest = Manifest::from_bytes(&manifest_bytes)
        .map_err(|e| invalid(format!("{MANIFEST_FILE} is not valid: {e}")))?;
    if manifest.pack_id != pack_id || manifest.cluster.name != cluster {
        return Err(invalid(format!(
            "{MANIFEST_FILE} describes pack {} of cluster {}",
            manifest.pack_id, manifest.cluster.name
        )));
    }
    let expected = pack_prefix(cluster, manifest.collected_at, pack_id);
    if path != expected {
        return Err(invalid(format!(
            "pack {pack_id} of cluster {cluster} belongs at `{expected}`, not `{path}`"
        )));
    }
    check_signature(&reader, &manifest, &manifest_bytes, trust)
        .await?
        .map_err(invalid)?;
    Ok((manifest, reader))
}

/// Reads and verifies the pack a chain link names (`manifest.previous` of the pack after it).
pub async fn read_verified_link(
    store: &dyn Store,
    cluster: &str,
    link: &super::manifest::PreviousPack,
    trust: Trust<'_>,
) -> Result<VerifiedPrevious, PreviousPackError> {
    let (manifest, reader) = open_pack(
        store,
        cluster,
        &link.pack_id,
        &link.path,
        (&link.manifest_sha256, "the next pack's chain link"),
        trust,
    )
    .await?;
    let pointer = LatestPointer {
        cluster: cluster.to_string(),
        pack_id: link.pack_id.clone(),
        path: link.path.clone(),
        manifest_sha256: link.manifest_sha256.clone(),
        collected_at: manifest.collected_at,
        published_at: manifest.published_at,
    };
    read_contents(LatestPack {
        pointer,
        manifest,
        reader,
    })
    .await
}

impl LatestPack<'_> {
    /// A file of the pack, only if the manifest lists it and its size and SHA-256 match.
    pub async fn verified_file(&self, name: &str) -> Result<Vec<u8>, OpenLatestError> {
        self.reader
            .verified(&self.manifest, name)
            .await?
            .map_err(|problem| OpenLatestError::Invalid {
                cluster: self.manifest.cluster.name.clone(),
                pack_id: self.pointer.pack_id.clone(),
                path: self.pointer.path.clone(),
                problem,
            })
    }

    /// Whether the manifest lists `name`.
    pub fn has_file(&self, name: &str) -> bool {
        self.manifest.files.iter().any(|f| f.path == name)
    }
}

/// Reads and verifies the pack `latest.json` names, if the cluster has one.
pub async fn read_verified(
    store: &dyn Store,
    cluster: &str,
    trust: Trust<'_>,
) -> Result<Option<VerifiedPrevious>, PreviousPackError> {
    let Some(latest) = open_latest(store, cluster, trust).await? else {
        return Ok(None);
    };
    read_contents(latest).await.map(Some)
}

/// Every file the next run builds on, each checked against the opened pack's manifest.
async fn read_contents(latest: LatestPack<'_>) -> Result<VerifiedPrevious, PreviousPackError> {
    let LatestPack {
        pointer,
        manifest,
        reader,
    } = latest;
    let invalid = |problem: String| -> PreviousPackError {
        OpenLatestError::Invalid {
            cluster: manifest.cluster.name.clone(),
            pack_id: pointer.pack_id.clone(),
            path: pointer.path.clone(),
            problem,
        }
        .into()
    };
    let snapshot_bytes = reader
        .verified(&manifest, SNAPSHOT_FILE)
        .await?
        .map_err(invalid)?;
    let snapshot = crate::snapshot::snapshot_from_bytes(&snapshot_bytes, &pointer.path)
        .map_err(|e| invalid(format!("{SNAPSHOT_FILE}: {e}")))?;
    let findings_bytes = reader
        .verified(&manifest, "findings.json")
        .await?
        .map_err(invalid)?;
    let doc: FindingsDocument = serde_json::from_slice(&findings_bytes)
        .map_err(|e| invalid(format!("findings.json is not valid: {e}")))?;
    // Packs from before trend.json existed give their own point.
    let mut trend = vec![TrendPoint {
        pack_id: doc.pack_id.clone(),
        collected_at: doc.collected_at,
        open_findings: doc.summary.open.values().sum(),
        privileged_subjects: doc.access_matrix.iter().filter(|r| !r.system).count(),
        sub_processors: doc.register.len(),
    }];
    if manifest.files.iter().any(|f| f.path == TREND_FILE) {
        let bytes = reader
            .verified(&manifest, TREND_FILE)
            .await?
            .map_err(invalid)?;
        let t: TrendDocument = serde_json::from_slice(&bytes)
            .map_err(|e| invalid(format!("{TREND_FILE} is not valid: {e}")))?;
        trend = t.points;
    }
    let usage = if manifest.files.iter().any(|f| f.path == USAGE_FILE) {
        let bytes = reader
            .verified(&manifest, USAGE_FILE)
            .await?
            .map_err(invalid)?;
        let doc: UsageDocument = serde_json::from_slice(&bytes)
            .map_err(|e| invalid(format!("{USAGE_FILE} is not valid: {e}")))?;
        if doc.record.version != USAGE_VERSION {
            return Err(invalid(format!(
                "{USAGE_FILE} is of version {}, which this kube-evidence does not read (it reads {USAGE_VERSION})",
                doc.record.version
            )));
        }
        Some(doc.record)
    } else {
        None
    };
    let image_history = read_image_history(&reader, &manifest, &invalid).await?;
    Ok(VerifiedPrevious {
        info: PreviousPackInfo {
            pack_id: pointer.pack_id.clone(),
            collected_at: manifest.collected_at,
            snapshot,
            findings: doc.findings,
            controls: doc.controls,
            register: doc.register,
            usage: doc.usage,
            reviews: doc.reviews,
            image_history,
        },
        pointer,
        manifest,
        trend,
        usage,
    })
}

/// The record of sub-processor images the previous pack carried (`vendor-updates.json`), read
/// through its manifest like every file the next run builds on.
async fn read_image_history(
    reader: &PackReader<'_>,
    manifest: &Manifest,
    invalid: &dyn Fn(String) -> PreviousPackError,
) -> Result<Option<ImageHistory>, PreviousPackError> {
    if !manifest.files.iter().any(|f| f.path == UPDATES_FILE) {
        return Ok(None);
    }
    let bytes = reader
        .verified(manifest, UPDATES_FILE)
        .await?
        .map_err(invalid)?;
    let doc: UpdatesDocument = serde_json::from_slice(&bytes)
        .map_err(|e| invalid(format!("{UPDATES_FILE} is not valid: {e}")))?;
    if doc.history.version != HISTORY_VERSION {
        return Err(invalid(format!(
            "{UPDATES_FILE} is of version {}, which this kube-evidence does not read (it reads {HISTORY_VERSION})",
            doc.history.version
        )));
    }
    Ok(Some(doc.history))
}

/// The signature must verify whenever the manifest says the pack is signed; with trusted
/// signers, it must also come from one of them, and an unsigned pack is refused. A timestamped
/// pack read with the authority's certificate is judged at the authority's time.
async fn check_signature(
    reader: &PackReader<'_>,
    manifest: &Manifest,
    manifest_bytes: &[u8],
    trust: Trust<'_>,
) -> Result<Result<(), String>, StoreError> {
    let trusted = trust.signers;
    let signed_at = match (manifest.timestamped, trust.tsa) {
        (true, Some(cert)) => match reader.get(TIMESTAMP_FILE, MAX_REPLY_BYTES as u64).await? {
            None => {
                return Ok(Err(format!(
                    "its manifest says it is timestamped, but {TIMESTAMP_FILE} is missing"
                )));
            }
            Some(reply) => match timestamp::verify(&reply, manifest_bytes, cert) {
                Ok(token) => token.gen_time,
                Err(e) => return Ok(Err(format!("{TIMESTAMP_FILE}: {e}"))),
            },
        },
        _ => manifest.published_at,
    };
    let sig = reader.get(SIGNATURE_FILE, MAX_SIGNATURE_BYTES).await?;
    Ok(match (manifest.signed, sig, trusted) {
        (true, None, _) => Err(format!(
            "its manifest says it is signed, but {SIGNATURE_FILE} is missing"
        )),
        (true, Some(sig), trusted) => {
            match sign::verify(manifest_bytes, &sig, trusted, signed_at) {
                Ok(c) if c.fingerprint != manifest.signing_key_fingerprint => Err(format!(
                    "{SIGNATURE_FILE} was made by {}, but the manifest names {}",
                    c.fingerprint, manifest.signing_key_fingerprint
                )),
                Ok(_) => Ok(()),
                Err(e) => Err(format!("{SIGNATURE_FILE}: {e}")),
            }
        }
        (false, Some(_), _) => Err(format!(
            "its manifest says UNSIGNED, but a {SIGNATURE_FILE} is present"
        )),
        (false, None, Some(_)) => Err(
            "it is UNSIGNED, and this run trusts only packs signed by its allowed signers".into(),
        ),
        (false, None, None) => Ok(()),
    })
}

struct PackReader<'a> {
    store: &'a dyn Store,
    prefix: String,
}

impl PackReader<'_> {
    async fn get(&self, name: &str, limit: u64) -> Result<Option<Vec<u8>>, StoreError> {
        self.store
            .get_limited(&format!("{}/{name}", self.prefix), limit)
            .await
    }

    /// A file of the pack, only if the manifest lists it and its size and SHA-256 match.
    async fn verified(
        &self,
        manifest: &Manifest,
        name: &str,
    ) -> Result<Result<Vec<u8>, String>, StoreError> {
        super::read_recorded_file(self.store, &self.prefix, manifest, name).await
    }
}
