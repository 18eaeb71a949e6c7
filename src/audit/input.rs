//! What the usage analysis is given: the record and this run's log, how use is judged, and
//! what the rest of the analysis knows (the index, the holdings, the sub-processors). Apart from
//! the judging (`assess`, `anomaly`) so both read it without importing each other.

use super::read::Coverage;
use super::usage::UsageRecord;
use crate::rbac::SubjectRef;
use crate::rbac::index::RbacIndex;
use crate::rules::grants::Holding;
use chrono::NaiveDate;
use std::collections::BTreeMap;

/// How use is judged (the run configuration's `usageWindowDays` and `anomalyRateMultiple`).
#[derive(Debug, Clone, PartialEq)]
pub struct UsageOptions {
    pub window_days: u32,
    /// A day's requests (or denials) above this multiple of the baseline's daily mean is an
    /// anomaly.
    pub rate_multiple: f64,
}

impl Default for UsageOptions {
    fn default() -> Self {
        UsageOptions {
            window_days: 90,
            rate_multiple: 10.0,
        }
    }
}

/// Below these daily counts a rate or denial "spike" is noise, whatever its multiple.
pub const MIN_SPIKE_REQUESTS: u64 = 100;
pub const MIN_SPIKE_DENIED: u64 = 10;

/// The usage evidence of one run.
#[derive(Debug, Clone)]
pub struct UsageInput {
    /// The rolling record: the previous pack's merged with this run's log, pruned to the window.
    pub record: UsageRecord,
    /// This run's log alone.
    pub current: UsageRecord,
    /// The record continues a previous pack's (else this log is the whole record, and its
    /// earlier days are the baseline of anomalies).
    pub continued: bool,
    pub coverage: Coverage,
    pub options: UsageOptions,
}

/// What the rest of the analysis gives this one.
pub struct UsageContext<'a> {
    pub index: &'a RbacIndex,
    pub holdings: &'a [Holding],
    /// Subject -> the sub-processor (inventory id) it belongs to.
    pub owners: &'a BTreeMap<SubjectRef, String>,
    pub today: NaiveDate,
}
