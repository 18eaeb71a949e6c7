//! Rendering the evidence pack's reports from the run's data: machine-readable populations (JSON,
//! CSV) now, human reports beside them. Pure: the same inputs give byte-identical files.

pub mod csv;
pub mod json;

use crate::analysis::Analysis;
use crate::snapshot::Snapshot;
use chrono::{DateTime, Utc};

/// Everything a report is drawn from.
pub struct ReportInput<'a> {
    pub pack_id: &'a str,
    pub snapshot: &'a Snapshot,
    pub analysis: &'a Analysis,
    pub generated_at: DateTime<Utc>,
}
