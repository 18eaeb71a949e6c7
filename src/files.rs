//! The names of the files of an evidence pack and of the store around it, in one place: every
//! writer, reader, report note and verifier names a file through these, so a renamed file is
//! renamed everywhere or nowhere.

// The pack's content files.
pub const SNAPSHOT: &str = "snapshot.json.gz";
pub const REPORT_HTML: &str = "report.html";
pub const REPORT_PDF: &str = "report.pdf";
pub const FINDINGS_JSON: &str = "findings.json";
pub const FINDINGS_CSV: &str = "findings.csv";
pub const CONTROLS_JSON: &str = "controls.json";
pub const CONTROLS_CSV: &str = "controls.csv";
pub const ACCESS_MATRIX_CSV: &str = "access-matrix.csv";
pub const ACCESS_POPULATION: &str = "access-population.csv.gz";
pub const SUBPROCESSORS_CSV: &str = "subprocessors.csv";
pub const OSCAL: &str = "oscal-assessment-results.json";
pub const TREND: &str = "trend.json";
pub const DIFF_JSON: &str = "diff.json";
pub const CHANGES_CSV: &str = "changes.csv";
pub const REVIEWS_CSV: &str = "reviews.csv";
pub const REVIEWS_JSON: &str = "reviews.json";
/// The rolling usage record, gzip-compressed (it reaches tens of megabytes on a large cluster).
pub const USAGE_RECORD: &str = "usage.json.gz";
/// The rolling usage record as packs written before it was compressed carry it: read (so a
/// chain continues across the upgrade), never written.
pub const USAGE_RECORD_PLAIN: &str = "usage.json";
pub const USAGE_NIGHT: &str = "usage-night.json.gz";
pub const USAGE_ROWS: &str = "usage.csv.gz";
pub const VENDOR_UPDATES_JSON: &str = "vendor-updates.json";
pub const VENDOR_UPDATES_CSV: &str = "vendor-updates.csv";

// What seals a pack.
pub const MANIFEST: &str = "manifest.json";
pub const MANIFEST_SIGNATURE: &str = "manifest.json.sig";
pub const MANIFEST_TIMESTAMP: &str = "manifest.json.tsr";
pub const SUMS: &str = "SHA256SUMS";
pub const SUMS_SIGNATURE: &str = "SHA256SUMS.sig";
pub const ATTESTATION: &str = "attestation.intoto.json";

// The store around the packs.
pub const LATEST: &str = "latest.json";
pub const INDEX_JSON: &str = "index.json";
pub const INDEX_HTML: &str = "index.html";
