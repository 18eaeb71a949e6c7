//! Rendering the evidence pack's reports from the run's data: the human reports (HTML, and the
//! report model they share), machine-readable populations (JSON, CSV), OSCAL assessment results and
//! the trend carried from pack to pack. Pure: the same inputs give byte-identical files.

pub mod chart;
pub mod csv;
pub mod html;
pub mod json;
pub mod model;
pub mod oscal;
pub mod pdf;
pub mod trend;

use crate::analysis::Assessment;
use crate::pack::PackFile;
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
    /// The SHA-256 of the previous pack's manifest (the link of the chain), if there is one.
    pub previous_manifest_sha256: Option<String>,
    /// The inventory and exceptions files read, with their digests.
    pub inputs: Vec<InputFile>,
    pub frameworks: Vec<FrameworkInfo>,
    /// The trend, this pack's point last (see [`trend::extend`]).
    pub history: Vec<TrendPoint>,
}

const CSV: &str = "text/csv; charset=utf-8";

/// Every content file of a pack (not the manifest, sums or signature).
pub fn pack_files(input: &ReportInput<'_>) -> Vec<PackFile> {
    let analysis = &input.assessment.analysis;
    let model = model::build(input);
    let mut files = vec![
        PackFile::new(
            crate::pack::SNAPSHOT_FILE,
            input.snapshot_gz.clone(),
            "application/gzip",
        ),
        PackFile::new(
            "report.html",
            html::render(&model),
            "text/html; charset=utf-8",
        ),
        PackFile::new(
            "report.pdf",
            pdf::render(&model, input.generated_at),
            "application/pdf",
        ),
        PackFile::new("findings.json", json::findings(input), "application/json"),
        PackFile::new("findings.csv", csv::findings(input.assessment), CSV),
        PackFile::new("controls.csv", csv::controls(input.assessment), CSV),
        PackFile::new("access-matrix.csv", csv::access_matrix(analysis), CSV),
        PackFile::new(
            csv::POPULATION_FILE,
            csv::population(analysis),
            "application/gzip",
        ),
        PackFile::new(oscal::FILE, oscal::render(input), "application/json"),
        PackFile::new(
            trend::TREND_FILE,
            trend::to_bytes(&input.history),
            "application/json",
        ),
    ];
    if input.snapshot.inventory.is_some() {
        files.push(PackFile::new(
            "subprocessors.csv",
            csv::subprocessors(&analysis.register),
            CSV,
        ));
    }
    let diff = &input.assessment.diff;
    let mut diff_json = serde_json::to_vec_pretty(diff).expect("diff serialises");
    diff_json.push(b'\n');
    files.push(PackFile::new("diff.json", diff_json, "application/json"));
    files.push(PackFile::new(
        "changes.csv",
        crate::diff::render::changes_csv(diff),
        CSV,
    ));
    files
}
