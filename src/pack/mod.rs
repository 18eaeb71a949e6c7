//! Evidence packs: the files of one run, their manifest (sizes, SHA-256, the link to the previous
//! pack), `SHA256SUMS`, and publication to a [`Store`] in an order that never lets `latest.json`
//! point at a pack that is not complete.

pub mod attest;
pub mod contents;
pub mod index;
pub mod manifest;
pub mod period;
pub mod previous;
pub mod read;
pub mod sign;
pub mod timestamp;
pub mod verify;

pub use manifest::{FileEntry, LatestPointer, Manifest, PreviousPack, ToolInfo};

use crate::store::{Store, StoreError};
use chrono::{DateTime, Utc};

pub const MANIFEST_FILE: &str = crate::files::MANIFEST;
pub const SIGNATURE_FILE: &str = crate::files::MANIFEST_SIGNATURE;
pub const SUMS_FILE: &str = crate::files::SUMS;
/// The SSHSIG signature of `SHA256SUMS` (same key and namespace as the manifest's).
pub const SUMS_SIGNATURE_FILE: &str = crate::files::SUMS_SIGNATURE;
pub const LATEST_FILE: &str = crate::files::LATEST;
pub use crate::snapshot::SNAPSHOT_FILE;
pub use contents::content_files;

/// One file of a pack, held in memory until publication.
#[derive(Debug, Clone)]
pub struct PackFile {
    pub path: String,
    pub bytes: Vec<u8>,
    pub media_type: &'static str,
}

impl PackFile {
    pub fn new(path: impl Into<String>, bytes: Vec<u8>, media_type: &'static str) -> Self {
        PackFile {
            path: path.into(),
            bytes,
            media_type,
        }
    }
}

/// A finished pack: content files, manifest bytes, `SHA256SUMS`, and the optional signature.
#[derive(Debug, Clone)]
pub struct Pack {
    pub id: String,
    /// Store key prefix: `<cluster>/packs/YYYY/MM/DD/<pack-id>`.
    pub prefix: String,
    pub files: Vec<PackFile>,
    pub manifest: Manifest,
    pub manifest_bytes: Vec<u8>,
    pub sums: Vec<u8>,
    /// The signature of `manifest_bytes`.
    pub signature: Option<Vec<u8>>,
    /// The signature of `sums`.
    pub sums_signature: Option<Vec<u8>>,
    /// The RFC 3161 reply of a time-stamping authority over `manifest_bytes`.
    pub timestamp: Option<Vec<u8>>,
}

pub use crate::digest::sha256_hex;

/// `<YYYYMMDD>T<HHMMSSmmm>Z-<first 8 hex digits of the snapshot digest>`: sorts by time, and two
/// runs at the same millisecond differ unless they collected the very same state.
pub fn pack_id(collected_at: DateTime<Utc>, snapshot_digest: &str) -> String {
    format!(
        "{}-{}",
        collected_at.format("%Y%m%dT%H%M%S%3fZ"),
        &snapshot_digest[..8.min(snapshot_digest.len())]
    )
}

pub fn pack_prefix(cluster: &str, collected_at: DateTime<Utc>, id: &str) -> String {
    format!("{cluster}/packs/{}/{id}", collected_at.format("%Y/%m/%d"))
}

pub fn latest_key(cluster: &str) -> String {
    format!("{cluster}/{LATEST_FILE}")
}

/// `sha256sum -c` format: `<hex>  <path>` per line, paths sorted.
pub fn sums_file(entries: &[(String, String)]) -> Vec<u8> {
    let mut sorted: Vec<_> = entries.to_vec();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = String::new();
    for (path, digest) in sorted {
        out.push_str(&format!("{digest}  {path}\n"));
    }
    out.into_bytes()
}

/// Assembles a pack from its content files. The manifest lists every content file; `SHA256SUMS`
/// covers the content files and the manifest; the signatures (added by the caller) cover the
/// manifest's and `SHA256SUMS`'s exact bytes.
pub fn assemble(mut manifest: Manifest, mut files: Vec<PackFile>) -> Pack {
    files.sort_by(|a, b| a.path.cmp(&b.path));
    manifest.files = files
        .iter()
        .map(|f| FileEntry {
            path: f.path.clone(),
            size: f.bytes.len() as u64,
            sha256: sha256_hex(&f.bytes),
            media_type: f.media_type.to_string(),
        })
        .collect();
    let manifest_bytes = manifest.to_bytes();
    let mut sums: Vec<(String, String)> = manifest
        .files
        .iter()
        .map(|f| (f.path.clone(), f.sha256.clone()))
        .collect();
    sums.push((MANIFEST_FILE.to_string(), sha256_hex(&manifest_bytes)));
    let prefix = pack_prefix(
        &manifest.cluster.name,
        manifest.collected_at,
        &manifest.pack_id,
    );
    Pack {
        id: manifest.pack_id.clone(),
        prefix,
        files,
        manifest,
        manifest_bytes,
        sums: sums_file(&sums),
        signature: None,
        sums_signature: None,
        timestamp: None,
    }
}

/// Writes every object of the pack create-only, manifest and signature last, then moves
/// `latest.json`. If anything fails, `latest.json` still names the previous complete pack.
pub async fn publish(store: &dyn Store, pack: &Pack) -> Result<LatestPointer, StoreError> {
    for f in &pack.files {
        store
            .put_new(
                &format!("{}/{}", pack.prefix, f.path),
                &f.bytes,
                f.media_type,
            )
            .await?;
    }
    store
        .put_new(
            &format!("{}/{SUMS_FILE}", pack.prefix),
            &pack.sums,
            "text/plain; charset=utf-8",
        )
        .await?;
    if let Some(sig) = &pack.sums_signature {
        store
            .put_new(
                &format!("{}/{SUMS_SIGNATURE_FILE}", pack.prefix),
                sig,
                "text/plain; charset=utf-8",
            )
            .await?;
    }
    store
        .put_new(
            &format!("{}/{MANIFEST_FILE}", pack.prefix),
            &pack.manifest_bytes,
            "application/json",
        )
        .await?;
    if let Some(sig) = &pack.signature {
        store
            .put_new(
                &format!("{}/{SIGNATURE_FILE}", pack.prefix),
                sig,
                "text/plain; charset=utf-8",
            )
            .await?;
    }
    if let Some(token) = &pack.timestamp {
        store
            .put_new(
                &format!("{}/{}", pack.prefix, timestamp::TIMESTAMP_FILE),
                token,
                "application/timestamp-reply",
            )
            .await?;
    }
    let pointer = LatestPointer {
        cluster: pack.manifest.cluster.name.clone(),
        pack_id: pack.id.clone(),
        path: pack.prefix.clone(),
        manifest_sha256: sha256_hex(&pack.manifest_bytes),
        collected_at: pack.manifest.collected_at,
        published_at: pack.manifest.published_at,
    };
    store
        .replace_pointer(
            &latest_key(&pack.manifest.cluster.name),
            &pointer.to_bytes(),
            "application/json",
        )
        .await?;
    Ok(pointer)
}

/// `latest.json` is a few hundred bytes; anything much larger is not one.
pub const MAX_POINTER_BYTES: u64 = 64 * 1024;
/// The largest `manifest.json` read from a store: a large cluster's pack lists a few dozen files.
pub const MAX_MANIFEST_BYTES: u64 = 16 * 1024 * 1024;
/// An SSHSIG signature is under a kilobyte.
pub const MAX_SIGNATURE_BYTES: u64 = 64 * 1024;
/// `SHA256SUMS` has a line per file of the manifest.
pub const MAX_SUMS_BYTES: u64 = 16 * 1024 * 1024;

/// Reads a cluster's `latest.json`, if it has one.
pub async fn read_latest(
    store: &dyn Store,
    cluster: &str,
) -> Result<Option<LatestPointer>, PackReadError> {
    let key = latest_key(cluster);
    let Some(bytes) = store.get_limited(&key, MAX_POINTER_BYTES).await? else {
        return Ok(None);
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| PackReadError::Corrupt {
            key,
            message: e.to_string(),
        })
}

#[derive(Debug, thiserror::Error)]
pub enum PackReadError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{key} is not valid: {message}")]
    Corrupt { key: String, message: String },
    #[error("{key} is missing")]
    Missing { key: String },
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_store_knows_a_pack_by_these_files() {
        assert_eq!(
            crate::store::outputs::PACK_MARKERS,
            [MANIFEST_FILE, SUMS_FILE, SIGNATURE_FILE]
        );
    }

    #[test]
    fn ids_and_prefixes_sort_by_time() {
        let t =
            Utc.with_ymd_and_hms(2026, 3, 4, 5, 6, 7).unwrap() + chrono::Duration::milliseconds(89);
        assert_eq!(pack_id(t, "abcdef0123"), "20260304T050607089Z-abcdef01");
        assert_eq!(pack_prefix("prod", t, "X"), "prod/packs/2026/03/04/X");
    }

    #[test]
    fn sums_are_sha256sum_format() {
        let s = sums_file(&[("b".into(), "22".into()), ("a".into(), "11".into())]);
        assert_eq!(String::from_utf8(s).unwrap(), "11  a\n22  b\n");
    }
}

/// A pack found in a store, by its manifest.
#[derive(Debug, Clone)]
pub struct StoredPack {
    pub prefix: String,
    pub manifest: Manifest,
    pub manifest_bytes: Vec<u8>,
}

impl StoredPack {
    pub fn manifest_sha256(&self) -> String {
        sha256_hex(&self.manifest_bytes)
    }

    /// Whether the manifest lists `name`.
    pub fn lists(&self, name: &str) -> bool {
        self.manifest.files.iter().any(|f| f.path == name)
    }

    /// One file of this pack, read no larger than its manifest records and checked against the
    /// SHA-256 it records: what is read back from a pack is always what was signed.
    pub async fn read_file(&self, store: &dyn Store, name: &str) -> Result<Vec<u8>, PackReadError> {
        read_recorded_file(store, &self.prefix, &self.manifest, name)
            .await
            .map_err(|e| match e {
                RecordedFileError::Store(e) => e.into(),
                RecordedFileError::Mismatch(m) => PackReadError::Corrupt {
                    key: format!("{}/{name}", self.prefix),
                    message: m.to_string(),
                },
            })
    }
}

/// Reads the manifest of the pack at `prefix`.
pub async fn read_pack(store: &dyn Store, prefix: &str) -> Result<StoredPack, PackReadError> {
    let key = format!("{prefix}/{MANIFEST_FILE}");
    let bytes = store
        .get_limited(&key, MAX_MANIFEST_BYTES)
        .await?
        .ok_or_else(|| PackReadError::Missing { key: key.clone() })?;
    let manifest = Manifest::from_bytes(&bytes).map_err(|e| PackReadError::Corrupt {
        key,
        message: e.to_string(),
    })?;
    Ok(StoredPack {
        prefix: prefix.to_string(),
        manifest,
        manifest_bytes: bytes,
    })
}

/// How a file of a pack differs from its manifest's record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileMismatch {
    #[error("its manifest does not list {name}")]
    NotListed { name: String },
    #[error("{name} is missing")]
    Missing { name: String },
    #[error("{name} is {size} bytes, but its manifest records {recorded}")]
    Size {
        name: String,
        size: u64,
        recorded: u64,
    },
    #[error("{name} does not match the SHA-256 its manifest records")]
    Digest { name: String },
}

/// Why a file could not be read as its manifest records it: the store failed, or the file is
/// not what was recorded.
#[derive(Debug, thiserror::Error)]
pub enum RecordedFileError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Mismatch(FileMismatch),
}

/// Reads the file `name` of the pack at `prefix` as `manifest` records it: never more bytes than
/// the manifest lists for it, and only if its size and SHA-256 match.
pub async fn read_recorded_file(
    store: &dyn Store,
    prefix: &str,
    manifest: &Manifest,
    name: &str,
) -> Result<Vec<u8>, RecordedFileError> {
    let name_ = || name.to_string();
    let mismatch = |m| Err(RecordedFileError::Mismatch(m));
    let Some(entry) = manifest.files.iter().find(|f| f.path == name) else {
        return mismatch(FileMismatch::NotListed { name: name_() });
    };
    let size_mismatch = |size| FileMismatch::Size {
        name: name_(),
        size,
        recorded: entry.size,
    };
    let bytes = match store
        .get_limited(&format!("{prefix}/{name}"), entry.size)
        .await
    {
        Err(StoreError::TooLarge { size, .. }) => return mismatch(size_mismatch(size)),
        other => other?,
    };
    let Some(bytes) = bytes else {
        return mismatch(FileMismatch::Missing { name: name_() });
    };
    if bytes.len() as u64 != entry.size {
        mismatch(size_mismatch(bytes.len() as u64))
    } else if sha256_hex(&bytes) != entry.sha256 {
        mismatch(FileMismatch::Digest { name: name_() })
    } else {
        Ok(bytes)
    }
}

/// Where a cluster's packs are: `<cluster>/packs`.
pub fn packs_prefix(cluster: &str) -> String {
    format!("{cluster}/packs")
}

/// Every pack of a cluster with a readable manifest, oldest first; packs whose manifest is
/// missing (an interrupted publication) are returned by prefix in the second list.
pub async fn list_packs(
    store: &dyn Store,
    cluster: &str,
) -> Result<(Vec<StoredPack>, Vec<String>), PackReadError> {
    let keys = store.list(&packs_prefix(cluster)).await?;
    let mut prefixes: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    for k in &keys {
        // <cluster>/packs/YYYY/MM/DD/<id>/<file>
        let parts: Vec<&str> = k.split('/').collect();
        if parts.len() >= 7 {
            prefixes.insert(parts[..6].join("/"));
        }
    }
    let mut packs = Vec::new();
    let mut incomplete = Vec::new();
    for p in prefixes {
        match read_pack(store, &p).await {
            Ok(sp) => packs.push(sp),
            Err(PackReadError::Missing { .. }) => incomplete.push(p),
            Err(e) => return Err(e),
        }
    }
    packs.sort_by(|a, b| {
        (a.manifest.collected_at, &a.manifest.pack_id)
            .cmp(&(b.manifest.collected_at, &b.manifest.pack_id))
    });
    Ok((packs, incomplete))
}
