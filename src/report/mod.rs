//! Rendering the evidence pack's reports from the run's data: the human reports (HTML, and the
//! report model they share), machine-readable populations (JSON, CSV), OSCAL assessment results and
//! the trend carried from pack to pack. Pure: the same inputs give byte-identical files.

pub mod bounds;
pub mod chart;
pub mod csv;
pub mod document;
pub mod escape;
pub mod html;
pub mod json;
pub mod model;
pub mod oscal;
pub mod pdf;
pub mod plain;
pub mod queue;
pub mod trend;
pub mod vendor;

use crate::analysis::Assessment;
use crate::snapshot::Snapshot;
use chrono::{DateTime, Utc};
use serde::Serialize;
use trend::TrendPoint;

/// A framework of the controls, as reports name it.
#[derive(Debug, Clone)]
pub struct FrameworkInfo {
    pub id: String,
    pub name: String,
}

impl FrameworkInfo {
    pub fn of(controls: &crate::controls::Controls) -> Vec<FrameworkInfo> {
        controls
            .sets
            .iter()
            .map(|s| FrameworkInfo {
                id: s.framework.id.clone(),
                name: format!("{} ({})", s.framework.name, s.framework.version),
            })
            .collect()
    }
}

/// A file a person wrote that the run read (inventory, exceptions, control definitions), with
/// the SHA-256 of the bytes read: what an auditor needs to know exactly which inputs decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InputFile {
    /// `inventory`, `exceptions`, `controls`.
    pub what: String,
    /// Where it was read from: a path, `configmap:NS/NAME[key]`, or `built-in`.
    pub origin: String,
    pub sha256: String,
}

/// Everything a report is drawn from.
pub struct ReportInput<'a> {
    pub pack_id: &'a str,
    pub snapshot: &'a Snapshot,
    /// `snapshot.json.gz`: the snapshot's canonical JSON, compressed (made once by the run).
    pub snapshot_gz: Vec<u8>,
    pub assessment: &'a Assessment,
    pub generated_at: DateTime<Utc>,
    /// The fingerprint of the key that signs the pack; `None` for an unsigned pack.
    pub signing_key_fingerprint: Option<String>,
    /// The signing key's comment (the identity `keygen --identity` gave it), if any.
    pub signer: Option<String>,
    pub controls_digest: String,
    /// The control definitions in force (`controls.json`, so the pack can be re-performed with
    /// them).
    pub controls: &'a crate::controls::Controls,
    /// The SHA-256 of the previous pack's manifest (the link of the chain), if there is one.
    pub previous_manifest_sha256: Option<String>,
    /// The inventory and exceptions files read, with their digests.
    pub inputs: Vec<InputFile>,
    pub frameworks: Vec<FrameworkInfo>,
    /// The trend, this pack's point last (see [`trend::extend`]).
    pub history: Vec<TrendPoint>,
    /// The audit log's usage record and coverage, when the run read one (`usage.json.gz`).
    pub usage: Option<&'a crate::audit::UsageInput>,
}
