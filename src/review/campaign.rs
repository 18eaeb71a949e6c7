//! A campaign as published: the population it froze (one row per subject and grant), where it
//! came from, and who reviews which row. Below the queue and the decision files, which both read
//! it.

use crate::rbac::SubjectRef;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// The SSHSIG namespace of reviewers' signatures (`ssh-keygen -Y sign -n kube-evidence-review`):
/// a pack's signature cannot pass for a decision, nor the reverse.
pub const REVIEW_NAMESPACE: &str = "kube-evidence-review";
pub const CAMPAIGN_FILE: &str = "campaign.json";
/// The signature of `campaign.json` by the key that signs packs (SSHSIG, the packs' namespace),
/// made when the campaign starts: the campaign, its rows and its reviewers' keys are trusted only
/// when it verifies against the keys the reader trusts for packs.
pub const CAMPAIGN_SIGNATURE_FILE: &str = "campaign.json.sig";
pub const POPULATION_FILE: &str = "population.csv";
/// 2: signed campaigns, and decision files that name their campaign on every row.
pub const CAMPAIGN_VERSION: u32 = 2;
/// A campaign as published (`campaign.json`): the population it froze and where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Campaign {
    pub version: u32,
    pub id: String,
    pub cluster: String,
    /// The pack the population was taken from, and its manifest's SHA-256 (the population is
    /// traceable to signed evidence and complete as of that pack).
    pub pack_id: String,
    pub pack_path: String,
    pub manifest_sha256: String,
    pub created_at: DateTime<Utc>,
    pub due: NaiveDate,
    /// Days after a decision within which a revocation must be carried out.
    pub remediation_days: u32,
    /// The reviewers' keys, as an OpenSSH allowed-signers file (principal = reviewer).
    pub allowed_signers: String,
    pub rows: Vec<Row>,
}

/// One subject and one grant to keep or revoke.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Row {
    /// Stable across campaigns: a digest of subject, access, binding and role.
    pub id: String,
    pub subject: SubjectRef,
    /// What the grant gives: a capability of the access matrix, or "all rules of the role".
    pub access: String,
    pub scope: String,
    pub binding: String,
    pub role: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_processor: Option<String>,
    pub reviewer: String,
}

impl Row {
    pub fn make_id(subject: &SubjectRef, access: &str, binding: &str, role: &str) -> String {
        let digest =
            crate::digest::sha256_hex(format!("{subject}\n{access}\n{binding}\n{role}").as_bytes());
        format!("R-{}", &digest[..12])
    }
}
