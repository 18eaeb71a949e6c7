//! Rendering the evidence pack's reports from the run's data: machine-readable populations (JSON,
//! CSV) now, human reports beside them. Pure: the same inputs give byte-identical files.

pub mod csv;
pub mod json;

use crate::analysis::Assessment;
use crate::pack::PackFile;
use crate::snapshot::{Snapshot, snapshot_to_gzip};
use chrono::{DateTime, Utc};

/// Everything a report is drawn from.
pub struct ReportInput<'a> {
    pub pack_id: &'a str,
    pub snapshot: &'a Snapshot,
    pub assessment: &'a Assessment,
    pub generated_at: DateTime<Utc>,
}

const CSV: &str = "text/csv; charset=utf-8";

/// Every content file of a pack (not the manifest, sums or signature).
pub fn pack_files(input: &ReportInput<'_>) -> Vec<PackFile> {
    let analysis = &input.assessment.analysis;
    let mut files = vec![
        PackFile::new(
            crate::pack::SNAPSHOT_FILE,
            snapshot_to_gzip(input.snapshot),
            "application/gzip",
        ),
        PackFile::new("findings.json", json::findings(input), "application/json"),
        PackFile::new("findings.csv", csv::findings(analysis), CSV),
        PackFile::new("access-matrix.csv", csv::access_matrix(analysis), CSV),
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
