//! The pack manifest and the `latest.json` pointer: their fields are the pack's contract with
//! auditors, so names are stable and every value is derived from the run, never from the host.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// 1: the manifest is signed (`manifest.json.sig`). 2: `SHA256SUMS` is signed as well
/// (`SHA256SUMS.sig`), so stock tools alone can check every file of a signed pack. 3: a signed
/// pack carries its in-toto attestation (`attestation.intoto.json`) among its files.
pub const MANIFEST_VERSION: u32 = 3;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Manifest {
    pub manifest_version: u32,
    pub pack_id: String,
    pub cluster: ManifestCluster,
    /// When collection started.
    pub collected_at: DateTime<Utc>,
    /// When the pack was assembled for publication.
    pub published_at: DateTime<Utc>,
    pub tool: ToolInfo,
    /// SHA-256 of the rule catalog in force (IDs, severities, texts).
    pub ruleset_digest: String,
    /// SHA-256 of the control definitions in force.
    pub controls_digest: String,
    /// Whether every resource kind was collected completely.
    pub collection_complete: bool,
    /// SHA-256 fingerprint of the signing key (`SHA256:...` as ssh-keygen prints it), or empty
    /// when the pack is unsigned.
    pub signing_key_fingerprint: String,
    pub signed: bool,
    /// Whether the manifest carries an RFC 3161 timestamp token (`manifest.json.tsr`) from a
    /// time-stamping authority.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub timestamped: bool,
    /// The pack before this one of the same cluster; empty only for a cluster's first pack.
    pub previous: PreviousPack,
    /// Every content file of the pack (not the manifest, `SHA256SUMS` or signature).
    pub files: Vec<FileEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ManifestCluster {
    pub name: String,
    /// The kube-system namespace UID, empty when the source did not provide it.
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ToolInfo {
    pub name: String,
    pub version: String,
    /// Source revision the binary was built from (`unknown` outside a git checkout).
    pub revision: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PreviousPack {
    pub pack_id: String,
    /// Store key prefix of the previous pack.
    pub path: String,
    /// SHA-256 of the previous pack's `manifest.json` bytes: the hash chain.
    pub manifest_sha256: String,
}

impl Manifest {
    /// Whether `SHA256SUMS.sig` belongs to the pack (signed packs of manifest version 2 on).
    pub fn sums_signed(&self) -> bool {
        self.signed && self.manifest_version >= 2
    }

    /// Whether the pack must carry `attestation.intoto.json` (signed packs of version 3 on).
    pub fn attested(&self) -> bool {
        self.signed && self.manifest_version >= 3
    }

    /// The files of the pack besides its content files, in the order they are published.
    pub fn envelope_files(&self) -> Vec<&'static str> {
        let mut names = vec![super::SUMS_FILE];
        if self.sums_signed() {
            names.push(super::SUMS_SIGNATURE_FILE);
        }
        names.push(super::MANIFEST_FILE);
        if self.signed {
            names.push(super::SIGNATURE_FILE);
        }
        if self.timestamped {
            names.push(super::timestamp::TIMESTAMP_FILE);
        }
        names
    }
}

impl PreviousPack {
    pub fn is_empty(&self) -> bool {
        self.pack_id.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FileEntry {
    pub path: String,
    pub size: u64,
    pub sha256: String,
    pub media_type: String,
}

impl Manifest {
    /// The exact bytes that are hashed and signed.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut b = serde_json::to_vec_pretty(self).expect("manifest serialises");
        b.push(b'\n');
        b
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Manifest, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}

/// `<cluster>/latest.json`: the newest complete pack, written after all of its objects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LatestPointer {
    pub cluster: String,
    pub pack_id: String,
    pub path: String,
    pub manifest_sha256: String,
    pub collected_at: DateTime<Utc>,
    pub published_at: DateTime<Utc>,
}

impl LatestPointer {
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut b = serde_json::to_vec_pretty(self).expect("pointer serialises");
        b.push(b'\n');
        b
    }
}
