//! Reading and writing snapshots: canonical JSON, gzip-compressed on disk and in packs.

use super::{SCHEMA_VERSION, Snapshot};
use flate2::{Compression, read::GzDecoder, write::GzEncoder};
use std::io::{Read, Write};
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum SnapshotIoError {
    #[error("cannot read snapshot {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not a kube-evidence snapshot: {message}")]
    Format { path: String, message: String },
    #[error(
        "{path} has snapshot schema version {found}; this kube-evidence reads version {expected}"
    )]
    Version {
        path: String,
        found: u64,
        expected: u32,
    },
}

/// The canonical JSON bytes of a snapshot (sorted collections, stable field order, newline at end).
pub fn snapshot_to_json(snapshot: &Snapshot) -> Vec<u8> {
    let mut s = snapshot.clone();
    s.canonicalize();
    canonical_json(&s)
}

/// The JSON bytes of a snapshot already in canonical order ([`Snapshot::canonicalize`]), without
/// the copy [`snapshot_to_json`] makes to sort one.
pub fn canonical_json(snapshot: &Snapshot) -> Vec<u8> {
    let mut out = serde_json::to_vec_pretty(snapshot).expect("snapshot serialises");
    out.push(b'\n');
    out
}

/// Gzip of the canonical JSON. The gzip header carries no time or name, so equal snapshots
/// compress to equal bytes.
pub fn snapshot_to_gzip(snapshot: &Snapshot) -> Vec<u8> {
    gzip(&snapshot_to_json(snapshot))
}

/// Gzip of bytes, with no time or name in the header.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::default());
    enc.write_all(bytes).expect("writing to memory");
    enc.finish().expect("writing to memory")
}

/// Parses a snapshot from JSON or gzip-compressed JSON bytes; `origin` names them in errors.
pub fn snapshot_from_bytes(bytes: &[u8], origin: &str) -> Result<Snapshot, SnapshotIoError> {
    let json: Vec<u8> = if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        GzDecoder::new(bytes)
            .read_to_end(&mut out)
            .map_err(|e| SnapshotIoError::Format {
                path: origin.to_string(),
                message: format!("not valid gzip: {e}"),
            })?;
        out
    } else {
        bytes.to_vec()
    };
    // The version first, so that a snapshot of another schema says so rather than failing on
    // a field; read without building the document (cheap), then the snapshot itself directly.
    #[derive(serde::Deserialize)]
    struct Version {
        #[serde(rename = "schemaVersion")]
        schema_version: Option<u64>,
    }
    let version: Version = serde_json::from_slice(&json).map_err(|e| SnapshotIoError::Format {
        path: origin.to_string(),
        message: e.to_string(),
    })?;
    match version.schema_version {
        Some(v) if v == u64::from(SCHEMA_VERSION) => {}
        Some(v) => {
            return Err(SnapshotIoError::Version {
                path: origin.to_string(),
                found: v,
                expected: SCHEMA_VERSION,
            });
        }
        None => {
            return Err(SnapshotIoError::Format {
                path: origin.to_string(),
                message: "no `schemaVersion` field".into(),
            });
        }
    }
    serde_json::from_slice(&json).map_err(|e| SnapshotIoError::Format {
        path: origin.to_string(),
        message: e.to_string(),
    })
}

pub fn read_snapshot_file(path: &Path) -> Result<Snapshot, SnapshotIoError> {
    let bytes = std::fs::read(path).map_err(|e| SnapshotIoError::Read {
        path: path.display().to_string(),
        source: e,
    })?;
    snapshot_from_bytes(&bytes, &path.display().to_string())
}
