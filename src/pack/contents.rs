//! A pack's content files: the snapshot and every rendering of the one report model, with their
//! media types (the manifest, sums and signatures are added by [`super::assemble`]).

use super::PackFile;
use crate::report::{ReportInput, csv, html, json, model, oscal, pdf, trend};
use crate::snapshot::SNAPSHOT_FILE;

const CSV: &str = "text/csv; charset=utf-8";

/// Every content file of a pack (not the manifest, sums or signature).
pub fn content_files(input: &ReportInput<'_>) -> Vec<PackFile> {
    let analysis = &input.assessment.analysis;
    let model = model::build(input);
    let mut files = vec![
        PackFile::new(SNAPSHOT_FILE, input.snapshot_gz.clone(), "application/gzip"),
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
