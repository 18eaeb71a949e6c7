//! A pack's content files: the snapshot and every rendering of the one report model, with their
//! media types (the manifest, sums and signatures are added by [`super::assemble`]).

use super::PackFile;
use crate::audit::usage::{USAGE_FILE, USAGE_NIGHT_FILE, UsageDocument, window_start};
use crate::report::{ReportInput, csv, html, json, model, oscal, pdf, trend};
use crate::snapshot::SNAPSHOT_FILE;
use std::collections::BTreeMap;

const CSV: &str = "text/csv; charset=utf-8";

/// The control definitions the pack was assessed with (their SHA-256 is the manifest's
/// `controlsDigest`): what `reperform` evaluates again.
pub const CONTROLS_FILE: &str = crate::files::CONTROLS_JSON;

/// `controls.json`: the definitions as the digest covers them.
pub fn controls_json(controls: &crate::controls::Controls) -> Vec<u8> {
    let mut json = serde_json::to_vec_pretty(&controls.sets).expect("controls serialise");
    json.push(b'\n');
    json
}

/// Every content file of a pack (not the manifest, sums or signature).
pub fn content_files(input: &ReportInput<'_>) -> Vec<PackFile> {
    let analysis = &input.assessment.analysis;
    let model = model::build(input);
    let mut files = vec![
        PackFile::new(SNAPSHOT_FILE, input.snapshot_gz.clone(), "application/gzip"),
        PackFile::new(
            crate::files::REPORT_HTML,
            html::render(&model),
            "text/html; charset=utf-8",
        ),
        PackFile::new(
            crate::files::REPORT_PDF,
            pdf::render(&model, input.generated_at),
            "application/pdf",
        ),
        PackFile::new(
            crate::files::FINDINGS_JSON,
            json::findings(input),
            "application/json",
        ),
        PackFile::new(
            CONTROLS_FILE,
            controls_json(input.controls),
            "application/json",
        ),
        PackFile::new(
            crate::files::FINDINGS_CSV,
            csv::findings(input.assessment),
            CSV,
        ),
        PackFile::new(
            crate::files::CONTROLS_CSV,
            csv::controls(input.assessment),
            CSV,
        ),
        PackFile::new(
            crate::files::ACCESS_MATRIX_CSV,
            csv::access_matrix(analysis),
            CSV,
        ),
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
            crate::files::SUBPROCESSORS_CSV,
            csv::subprocessors(&analysis.register),
            CSV,
        ));
    }
    if let Some(updates) = &input.assessment.updates {
        use crate::inventory::updates::{UPDATES_CSV, UPDATES_FILE, csv};
        let mut json = serde_json::to_vec_pretty(updates).expect("the image record serialises");
        json.push(b'\n');
        files.push(PackFile::new(UPDATES_FILE, json, "application/json"));
        files.push(PackFile::new(UPDATES_CSV, csv(updates), CSV));
    }
    if let Some(reviews) = &input.assessment.reviews {
        files.push(PackFile::new(
            crate::files::REVIEWS_CSV,
            csv::reviews(reviews),
            CSV,
        ));
    }
    if let Some(usage) = input.usage {
        files.extend(usage_files(input, usage));
    }
    let diff = &input.assessment.diff;
    let mut diff_json = serde_json::to_vec(diff).expect("diff serialises");
    diff_json.push(b'\n');
    files.push(PackFile::new(
        crate::files::DIFF_JSON,
        diff_json,
        "application/json",
    ));
    files.push(PackFile::new(
        crate::files::CHANGES_CSV,
        crate::diff::render::changes_csv(diff),
        CSV,
    ));
    files
}

/// `usage.json.gz` (the rolling record, its window and this run's log coverage),
/// `usage-night.json.gz`, `usage.csv.gz`, and the suggested roles of every subject with unused
/// grants. The record and its rows are compressed: on a large cluster they reach tens of
/// megabytes.
fn usage_files(input: &ReportInput<'_>, usage: &crate::audit::UsageInput) -> Vec<PackFile> {
    let today = input.snapshot.taken_at.date_naive();
    let doc = UsageDocument {
        window_days: usage.options.window_days,
        window_start: window_start(today, usage.options.window_days),
        rate_multiple: Some(usage.options.rate_multiple),
        continued: Some(usage.continued),
        log: usage.coverage.clone(),
        record: usage.record.clone(),
    };
    let owners: BTreeMap<String, String> = input
        .assessment
        .usage
        .iter()
        .flat_map(|u| u.subjects.iter())
        .filter_map(|s| Some((s.subject.key(), s.sub_processor.clone()?)))
        .collect();
    // This run's log alone, which anomalies are judged on against the rest of the record.
    let night = crate::snapshot::gzip(
        &serde_json::to_vec(&usage.current).expect("the usage record serialises"),
    );
    let mut files = vec![
        PackFile::new(USAGE_FILE, doc.to_pack_file(), "application/gzip"),
        PackFile::new(USAGE_NIGHT_FILE, night, "application/gzip"),
        PackFile::new(
            crate::files::USAGE_ROWS,
            crate::snapshot::gzip(&csv::usage(&usage.record, &owners)),
            "application/gzip",
        ),
    ];
    for roles in &input.assessment.suggested_roles {
        files.push(PackFile::new(
            &roles.file,
            roles.yaml.clone().into_bytes(),
            "application/yaml",
        ));
    }
    files
}
