//! The previous pack of a cluster's chain, read so that a run can chain to it and diff against it.
//! Nothing from it is used before it is checked: `latest.json` must name a pack where the pack
//! should be, its manifest must be the one `latest.json` recorded, its signature must verify
//! (against the run's trusted signers when it has them), and every file read from it must match
//! the size and SHA-256 its manifest lists. Any mismatch is an error naming the file: the run
//! stops and publishes nothing, so a tampered pack never feeds a diff or a new signed pack.

use super::manifest::{LatestPointer, Manifest};
use super::read::{OpenedPack, PackError, Policy, Target};
use super::sign::AllowedSigner;
use super::timestamp::PinnedCertificate;
use super::{SNAPSHOT_FILE, latest_key, pack_prefix, read_latest};
use crate::analysis::PreviousPackInfo;
use crate::audit::usage::{USAGE_VERSION, UsageDocument, UsageRecord, usage_file_in};
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
        "the previous pack {pack_id} ({path}) does not verify: {problem}. Nothing was published: a run never chains to, or diffs against, evidence that does not match its manifest. Restore the pack from a copy. A new chain is never started over evidence in the store: to start one on purpose, publish under another cluster folder (--cluster-name), or move this cluster's packs and {latest} out of the store"
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
    opened: OpenedPack<'a>,
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
    /// Time-stamps judged as `verify` judges them ([`super::read::Policy::strict_time`]): a
    /// time-stamped pack whose token cannot be checked is refused. The fleet report reads so;
    /// a run building on its previous pack does not.
    pub strict_time: bool,
}

/// Opens the pack `latest.json` names, if the cluster has one (see [`LatestPack`]).
/// What lies among a cluster's packs beyond the one `latest.json` names.
#[derive(Debug, Default)]
pub struct BeyondPointer {
    /// The newest folder holding a pack of this cluster at its own place, verified or not:
    /// evidence the pointer leaves out (id, prefix).
    pub newer: Option<(String, String)>,
    /// Newer folders that hold no pack of this cluster (no manifest, not a manifest, another
    /// pack's), with why: not evidence.
    pub passed_over: Vec<(String, String)>,
}

/// Looks at the folders of `listed` (keys under the cluster's packs) newer than the pack
/// `named` (all of them when none is named), newest first. A folder whose manifest is a pack of
/// this cluster at its own place is evidence whether or not its signature verifies today (a
/// signature hidden for a night must not let a reader pass a genuine pack by); a folder with no
/// manifest, one that is not a manifest, or another pack's, is not evidence and is passed over,
/// so planting junk cannot stop every run. The run and `verify` both ask this.
pub async fn pack_newer_than(
    store: &dyn Store,
    listed: &[String],
    named: Option<&str>,
    trust: Trust<'_>,
) -> BeyondPointer {
    use super::read::{PackError, PackProblem, Policy, Target, open};
    let mut newer: Vec<(&str, &str)> = listed
        .iter()
        .filter_map(|k| k.strip_suffix(&format!("/{}", super::MANIFEST_FILE)))
        .filter_map(|prefix| Some((prefix.rsplit('/').next()?, prefix)))
        .filter(|(id, _)| named.is_none_or(|named| *id > named))
        .collect();
    newer.sort_unstable_by(|a, b| b.cmp(a));
    let policy = Policy {
        signers: trust.signers,
        tsa: trust.tsa,
        strict: false,
        allow_unsigned: true,
        strict_time: false,
    };
    let mut out = BeyondPointer::default();
    for (id, path) in newer {
        match open(store, Target::At(path), policy).await {
            Err(
                e @ PackError::Invalid {
                    problem:
                        PackProblem::ManifestMissing
                        | PackProblem::ManifestInvalid(_)
                        | PackProblem::OtherPack { .. }
                        | PackProblem::Misplaced { .. },
                    ..
                },
            ) => out.passed_over.push((path.to_string(), e.to_string())),
            _ => {
                out.newer = Some((id.to_string(), path.to_string()));
                break;
            }
        }
    }
    out
}

/// The pointer in `cluster`'s folder must name one of `cluster`'s packs, where such a pack is
/// stored: a path elsewhere (`../../etc`, another cluster's pack) is never followed. Every
/// reader of a `latest.json` checks it here.
pub fn check_pointer(cluster: &str, pointer: &LatestPointer) -> Result<(), String> {
    if pointer.cluster != cluster {
        return Err(format!(
            "{cluster}/latest.json names pack {} of cluster `{}` (`{}`), not one of {cluster}'s",
            pointer.pack_id, pointer.cluster, pointer.path
        ));
    }
    let expected = pack_prefix(cluster, pointer.collected_at, &pointer.pack_id);
    if pointer.path != expected {
        return Err(format!(
            "{cluster}/latest.json names path `{}` for pack {}, which is stored at `{expected}`",
            pointer.path, pointer.pack_id
        ));
    }
    Ok(())
}

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
    if let Err(problem) = check_pointer(cluster, &pointer) {
        return Err(OpenLatestError::Invalid {
            cluster: cluster.to_string(),
            pack_id: pointer.pack_id.clone(),
            path: pointer.path.clone(),
            problem,
        });
    }
    let opened = open_pack(
        store,
        cluster,
        &pointer.pack_id,
        &pointer.path,
        (&pointer.manifest_sha256, crate::files::LATEST),
        trust,
    )
    .await?;
    Ok(Some(LatestPack {
        pointer,
        manifest: opened.manifest.clone(),
        opened,
    }))
}

/// Opens the pack of `cluster` with id `pack_id` at `path` (from `latest.json` or a chain link)
/// through [`super::read::open`]: its manifest must be the one recorded (`manifest_sha256`),
/// describe that pack and cluster, sit where such a pack is stored, and carry a signature the
/// trust accepts. `recorded_by` names where the SHA-256 came from, for the error.
async fn open_pack<'a>(
    store: &'a dyn Store,
    cluster: &str,
    pack_id: &str,
    path: &str,
    (manifest_sha256, recorded_by): (&str, &str),
    trust: Trust<'_>,
) -> Result<OpenedPack<'a>, OpenLatestError> {
    let target = Target::Recorded {
        cluster,
        pack_id,
        path,
        manifest_sha256,
        recorded_by,
    };
    let policy = Policy {
        strict_time: trust.strict_time,
        ..Policy::reader(trust.signers, trust.tsa)
    };
    super::read::open_whole(store, target, policy)
        .await
        .map_err(|e| match e {
            PackError::Store(e) => OpenLatestError::Store(e),
            PackError::Invalid { problem, .. } => OpenLatestError::Invalid {
                cluster: cluster.to_string(),
                pack_id: pack_id.to_string(),
                path: path.to_string(),
                problem: problem.to_string(),
            },
        })
}

/// Reads and verifies the pack a chain link names (`manifest.previous` of the pack after it).
pub async fn read_verified_link(
    store: &dyn Store,
    cluster: &str,
    link: &super::manifest::PreviousPack,
    trust: Trust<'_>,
) -> Result<VerifiedPrevious, PreviousPackError> {
    let opened = open_pack(
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
        collected_at: opened.manifest.collected_at,
        published_at: opened.manifest.published_at,
    };
    read_contents(LatestPack {
        pointer,
        manifest: opened.manifest.clone(),
        opened,
    })
    .await
}

impl LatestPack<'_> {
    /// A file of the pack, only if the manifest lists it and its size and SHA-256 match.
    pub async fn verified_file(&self, name: &str) -> Result<Vec<u8>, OpenLatestError> {
        self.opened.file(name).await.map_err(|e| match e {
            PackError::Store(e) => OpenLatestError::Store(e),
            PackError::Invalid { problem, .. } => OpenLatestError::Invalid {
                cluster: self.manifest.cluster.name.clone(),
                pack_id: self.pointer.pack_id.clone(),
                path: self.pointer.path.clone(),
                problem: problem.to_string(),
            },
        })
    }

    /// Whether the manifest lists `name`.
    pub fn has_file(&self, name: &str) -> bool {
        self.manifest.files.iter().any(|f| f.path == name)
    }

    /// The pack's time-stamp token as it was judged when the pack was opened: checked against
    /// the pinned authority (`None`: not time-stamped, or not judged without an authority).
    pub fn timestamp(&self) -> Option<&super::timestamp::TimestampToken> {
        self.opened.timestamp.as_ref()
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
    let (pointer, manifest) = (latest.pointer.clone(), latest.manifest.clone());
    let invalid = |problem: String| -> PreviousPackError {
        OpenLatestError::Invalid {
            cluster: manifest.cluster.name.clone(),
            pack_id: pointer.pack_id.clone(),
            path: pointer.path.clone(),
            problem,
        }
        .into()
    };
    let snapshot_bytes = latest
        .verified_file(SNAPSHOT_FILE)
        .await
        .map_err(PreviousPackError::from)?;
    let snapshot = crate::snapshot::snapshot_from_bytes(&snapshot_bytes, &pointer.path)
        .map_err(|e| invalid(format!("{SNAPSHOT_FILE}: {e}")))?;
    let findings_bytes = latest
        .verified_file(crate::files::FINDINGS_JSON)
        .await
        .map_err(PreviousPackError::from)?;
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
        let bytes = latest
            .verified_file(TREND_FILE)
            .await
            .map_err(PreviousPackError::from)?;
        let t: TrendDocument = serde_json::from_slice(&bytes)
            .map_err(|e| invalid(format!("{TREND_FILE} is not valid: {e}")))?;
        trend = t.points;
    }
    // `usage.json.gz`, or `usage.json` of a pack from before it was compressed: the record
    // continues across the upgrade.
    let usage = match usage_file_in(|name| latest.has_file(name)) {
        Some(file) => {
            let bytes = latest
                .verified_file(file)
                .await
                .map_err(PreviousPackError::from)?;
            let doc = UsageDocument::from_pack_file(file, &bytes)
                .map_err(|e| invalid(format!("{file} is not valid: {e}")))?;
            if doc.record.version != USAGE_VERSION {
                return Err(invalid(format!(
                    "{file} is of version {}, which this kube-evidence does not read (it reads {USAGE_VERSION})",
                    doc.record.version
                )));
            }
            Some(doc.record)
        }
        None => None,
    };
    let image_history = read_image_history(&latest, &invalid).await?;
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
    latest: &LatestPack<'_>,
    invalid: &dyn Fn(String) -> PreviousPackError,
) -> Result<Option<ImageHistory>, PreviousPackError> {
    if !latest.has_file(UPDATES_FILE) {
        return Ok(None);
    }
    let bytes = latest
        .verified_file(UPDATES_FILE)
        .await
        .map_err(PreviousPackError::from)?;
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
