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

/// The most a compressed snapshot may expand to: a hundred times its size (the canonical JSON
/// kube-evidence writes compresses about twenty times), and at least 64 MiB. A gzip bomb (a
/// kilobyte that expands to gigabytes) stops there instead of taking the machine's memory.
pub fn decompressed_limit(compressed: usize) -> u64 {
    (compressed as u64)
        .saturating_mul(100)
        .max(64 * 1024 * 1024)
}

/// Gunzips bytes the tool wrote, refusing more than [`decompressed_limit`] of output (a gzip
/// bomb is an error, not an allocation).
pub fn gunzip_bounded(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let limit = decompressed_limit(bytes.len());
    let mut out = Vec::new();
    GzDecoder::new(bytes)
        .take(limit + 1)
        .read_to_end(&mut out)
        .map_err(|e| format!("not valid gzip: {e}"))?;
    if out.len() as u64 > limit {
        return Err(format!(
            "expands to more than {limit} bytes, a hundred times its compressed size: not a file kube-evidence wrote (a gzip bomb?)"
        ));
    }
    Ok(out)
}

/// Parses a snapshot from JSON or gzip-compressed JSON bytes; `origin` names them in errors.
pub fn snapshot_from_bytes(bytes: &[u8], origin: &str) -> Result<Snapshot, SnapshotIoError> {
    let json: Vec<u8> = if bytes.starts_with(&[0x1f, 0x8b]) {
        gunzip_bounded(bytes).map_err(|message| SnapshotIoError::Format {
            path: origin.to_string(),
            message,
        })?
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
    // Bounded like a dump file: a snapshot is never larger than the dump it came from.
    let bytes =
        crate::input::read_bounded(path, crate::input::MAX_DUMP_FILE).map_err(|e| match e {
            crate::input::InputError::Io { source } => SnapshotIoError::Read {
                path: path.display().to_string(),
                source,
            },
            other => SnapshotIoError::Format {
                path: path.display().to_string(),
                message: other.to_string(),
            },
        })?;
    snapshot_from_bytes(&bytes, &path.display().to_string())
}

#[cfg(test)]
mod bomb_tests {
    use super::*;

    #[test]
    fn a_gzip_bomb_stops_at_the_limit_with_a_message() {
        // 256 MiB of zeros compress to about 250 KB: a thousand times.
        let mut enc = GzEncoder::new(Vec::new(), Compression::best());
        let zeros = vec![0u8; 1024 * 1024];
        for _ in 0..256 {
            enc.write_all(&zeros).unwrap();
        }
        let bomb = enc.finish().unwrap();
        let err = snapshot_from_bytes(&bomb, "bomb.json.gz")
            .unwrap_err()
            .to_string();
        assert!(err.contains("a gzip bomb?"), "{err}");
    }
}
