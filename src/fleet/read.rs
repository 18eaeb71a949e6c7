//! Reading a fleet from a store: the clusters under the prefix (one delimited listing, never the
//! packs), then per cluster, a bounded number at a time, its `latest.json`, the latest pack's
//! manifest (checked against the pointer and its signature) and `findings.json` (checked against
//! the manifest), and its `index.json` (believed only when signed by a trusted signer, or by the
//! latest pack's key). Nothing unverified is used: a cluster whose latest pack does not verify is
//! reported with the reason and contributes no findings, and an index nothing vouches for
//! describes no chain.

use crate::pack::index::{INDEX_JSON, IndexAnchor, IndexDocument, StoredIndex, read_signed};
use crate::pack::previous::Trust;
use crate::pack::previous::{OpenLatestError, open_latest};
use crate::pack::sign::AllowedSigner;
use crate::pack::timestamp::{PinnedCertificate, TimestampToken};
use crate::pack::{LatestPointer, Manifest};
use crate::progress::Progress;
use crate::report::json::FindingsDocument;
use crate::store::{Store, StoreError};
use futures::StreamExt;

/// `findings.json` of a very large cluster is tens of MB; a manifest claiming more is refused.
pub const MAX_FINDINGS_BYTES: u64 = 512 * 1024 * 1024;
/// More clusters than this under one prefix is not a fleet this report can lay out.
pub const MAX_CLUSTERS: usize = 10_000;

#[derive(Debug, Clone)]
pub struct FleetReadOptions {
    /// Trusted signers: a latest pack must be signed by one of them. Without, signatures are
    /// checked but their signer is not, and unsigned packs are read (and shown as unsigned).
    pub allowed_signers: Option<Vec<AllowedSigner>>,
    /// Clusters read at the same time.
    pub concurrency: usize,
    /// The time-stamping authority's certificate: a timestamped latest pack's token must verify
    /// with it, and its time decides the signing key's validity. Time-stamps are judged as
    /// `verify` judges them: without it, a time-stamped latest pack does not verify.
    pub tsa_certificate: Option<PinnedCertificate>,
}

/// What was read of one cluster.
#[derive(Debug, Clone)]
pub struct ClusterRead {
    pub cluster: String,
    /// `Ok(None)`: the cluster has no `latest.json`. `Err`: why its latest pack is not used.
    pub latest: Result<Option<LatestRead>, String>,
    /// `Ok(None)`: the cluster has no `index.json`. `Err`: why it cannot be read.
    pub index: Result<Option<IndexDocument>, String>,
}

/// The latest pack of a cluster, verified.
#[derive(Debug, Clone)]
pub struct LatestRead {
    pub pointer: LatestPointer,
    pub manifest: Manifest,
    /// Whether the signer was checked against trusted signers.
    pub signer_trusted: bool,
    /// The time-stamp token, verified against the authority's certificate; `None` when the
    /// pack is not time-stamped (a time-stamped pack is read only when its token verifies).
    pub timestamp: Option<TimestampToken>,
    pub findings: FindingsDocument,
}

#[derive(Debug, thiserror::Error)]
pub enum FleetReadError {
    #[error("cannot list the clusters of {store}")]
    List {
        store: String,
        #[source]
        source: StoreError,
    },
    #[error("{store} holds no cluster (no folder with a latest.json or an index.json)")]
    Empty { store: String },
    #[error("{store} holds {found} folders, more than the {MAX_CLUSTERS} a fleet report reads")]
    TooMany { store: String, found: usize },
}

/// The folders under the prefix that are clusters: those with a `latest.json` or an
/// `index.json`; other folders (a bucket shared with other data) are left out.
async fn cluster_names(store: &dyn Store) -> Result<Vec<String>, FleetReadError> {
    let names = store
        .list_children("")
        .await
        .map_err(|source| FleetReadError::List {
            store: store.location(),
            source,
        })?;
    if names.len() > MAX_CLUSTERS {
        return Err(FleetReadError::TooMany {
            store: store.location(),
            found: names.len(),
        });
    }
    Ok(names)
}

/// Reads every cluster under the store's prefix, `options.concurrency` at a time, reporting
/// progress per cluster. Clusters come back sorted by name.
pub async fn read_fleet(
    store: &dyn Store,
    options: &FleetReadOptions,
    progress: &dyn Progress,
) -> Result<Vec<ClusterRead>, FleetReadError> {
    let names = cluster_names(store).await?;
    progress.stage("reading clusters");
    let total = names.len() as u64;
    let mut done = 0;
    let mut reads: Vec<ClusterRead> =
        futures::stream::iter(names.iter().map(|n| read_cluster(store, n, options)))
            .buffer_unordered(options.concurrency.max(1))
            .inspect(|_| {
                done += 1;
                progress.advance(done, total);
            })
            .filter_map(|r| async move { r })
            .collect()
            .await;
    if reads.is_empty() {
        return Err(FleetReadError::Empty {
            store: store.location(),
        });
    }
    reads.sort_by(|a, b| a.cluster.cmp(&b.cluster));
    Ok(reads)
}

/// One cluster; `None` when the folder holds neither pointer nor index (not a cluster).
async fn read_cluster(
    store: &dyn Store,
    cluster: &str,
    options: &FleetReadOptions,
) -> Option<ClusterRead> {
    let latest = read_latest(
        store,
        cluster,
        Trust {
            signers: options.allowed_signers.as_deref(),
            tsa: options.tsa_certificate.as_ref(),
            // As `verify`: a time-stamp nobody can check does not pass.
            strict_time: true,
        },
    )
    .await;
    let index = read_index(store, cluster, options, &latest).await;
    if matches!((&latest, &index), (Ok(None), Ok(None))) {
        return None;
    }
    Some(ClusterRead {
        cluster: cluster.to_string(),
        latest,
        index,
    })
}

async fn read_latest(
    store: &dyn Store,
    cluster: &str,
    trust: Trust<'_>,
) -> Result<Option<LatestRead>, String> {
    let describe = |e: OpenLatestError| e.to_string();
    let Some(latest) = open_latest(store, cluster, trust).await.map_err(describe)? else {
        return Ok(None);
    };
    let claimed = latest
        .manifest
        .files
        .iter()
        .find(|f| f.path == crate::files::FINDINGS_JSON)
        .map(|f| f.size);
    match claimed {
        None => {
            return Err(format!(
                "pack {} has no findings.json",
                latest.pointer.pack_id
            ));
        }
        Some(size) if size > MAX_FINDINGS_BYTES => {
            return Err(format!(
                "pack {}: its manifest gives findings.json {size} bytes, more than the {MAX_FINDINGS_BYTES} a fleet report reads",
                latest.pointer.pack_id
            ));
        }
        Some(_) => {}
    }
    let bytes = latest
        .verified_file(crate::files::FINDINGS_JSON)
        .await
        .map_err(describe)?;
    let findings: FindingsDocument = serde_json::from_slice(&bytes).map_err(|e| {
        format!(
            "pack {}: findings.json is not valid: {e}",
            latest.pointer.pack_id
        )
    })?;
    if findings.pack_id != latest.pointer.pack_id || findings.cluster != cluster {
        return Err(format!(
            "pack {}: findings.json describes pack {} of cluster {}",
            latest.pointer.pack_id, findings.pack_id, findings.cluster
        ));
    }
    Ok(Some(LatestRead {
        signer_trusted: trust.signers.is_some(),
        timestamp: latest.timestamp().cloned(),
        pointer: latest.pointer,
        manifest: latest.manifest,
        findings,
    }))
}

/// The cluster's `index.json`, believed only when it is signed by a trusted signer (with
/// `--allowed-signers`) or else by the key of the latest pack, verified just before: anyone who
/// can write to the store can write an index, and the chain health it describes is evidence.
async fn read_index(
    store: &dyn Store,
    cluster: &str,
    options: &FleetReadOptions,
    latest: &Result<Option<LatestRead>, String>,
) -> Result<Option<IndexDocument>, String> {
    let key = format!("{cluster}/{INDEX_JSON}");
    // Signer validity is judged at the latest pack's publication, when its run wrote the index.
    let (anchor, at) = match (latest, options.allowed_signers.as_deref()) {
        (Ok(Some(l)), Some(signers)) => {
            (Ok(IndexAnchor::Signers(signers)), l.manifest.published_at)
        }
        (Ok(Some(l)), None) if l.manifest.signed => (
            Ok(IndexAnchor::Fingerprint(
                &l.manifest.signing_key_fingerprint,
            )),
            l.manifest.published_at,
        ),
        (Ok(Some(l)), None) => (
            Err("the latest pack is unsigned and no --allowed-signers were given"),
            l.manifest.published_at,
        ),
        (Ok(None), _) => (
            Err("there is no verified latest pack whose key could vouch for it"),
            chrono::DateTime::UNIX_EPOCH,
        ),
        (Err(_), _) => (
            Err("the latest pack does not verify, so its key cannot vouch for it"),
            chrono::DateTime::UNIX_EPOCH,
        ),
    };
    match read_signed(store, cluster, anchor.ok(), at)
        .await
        .map_err(|e| e.to_string())?
    {
        StoredIndex::Missing => Ok(None),
        StoredIndex::Trusted(doc) => Ok(Some(doc)),
        StoredIndex::Untrusted(why) => match anchor {
            Err(no_anchor) => Err(format!("{key} is not used: {no_anchor}")),
            Ok(_) => Err(format!("{why}: the chain it describes is not used")),
        },
    }
}
