//! How a store keeps packs once written: the fact the store reports and the controls read.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How the store keeps packs once written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "mode", rename_all = "kebab-case")]
pub enum Retention {
    /// Object Lock in compliance mode: nobody, the bucket owner included, can delete or replace
    /// a pack object before its retention date.
    Compliance { days: u32 },
    /// Object Lock in governance mode: holders of `s3:BypassGovernanceRetention` can lift it.
    Governance { days: u32 },
    /// No retention lock: whoever may write to the store may delete or replace packs.
    None,
    /// The tool cannot see how the store keeps its files (a local directory).
    Unverifiable { reason: String },
}

impl Retention {
    /// For an assessment made on demand, outside any store.
    pub fn not_published() -> Retention {
        Retention::Unverifiable {
            reason: "assessed on demand, not published to a store".into(),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Retention::Compliance { days } => {
                format!("Object Lock, compliance mode, {days} day(s)")
            }
            Retention::Governance { days } => {
                format!("Object Lock, governance mode, {days} day(s)")
            }
            Retention::None => "no retention lock".to_string(),
            Retention::Unverifiable { reason } => format!("unknown: {reason}"),
        }
    }
}
