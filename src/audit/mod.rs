//! The API server's audit log as evidence of use: who *did*, next to who *can*. Reads the log
//! (`audit.k8s.io/v1` events, JSON lines, a file, a directory of rotated files or the objects
//! under a bucket prefix, gzip or not) in one streaming pass into a usage record that later runs
//! merge, with what the log covers; then judges grants against use (unused privileged and
//! sub-processor access), finds anomalies of non-human identities, and suggests the roles that
//! cover what each subject used.
//!
//! Reading is I/O ([`read`], [`load`]); the judging ([`assess`], [`anomaly`], [`suggest`]) is
//! pure.

pub mod anomaly;
pub mod assess;
pub mod compact;
pub mod event;
pub mod exercise;
pub mod input;
pub mod load;
pub mod read;
pub mod resume;
pub mod suggest;
pub mod usage;

pub use assess::{UsageAnalysis, UsageContext, UsageInput, UsageOptions, UsageSummary};
pub use event::{AccessKey, Event};
pub use load::{AuditLogPlan, read_audit_log};
pub use read::{
    AuditError, Coverage, LogPass, ReadOptions, files_of, read_events, read_events_from,
};
pub use usage::{UsageBuilder, UsageRecord};

/// Reads the audit log at `path` into a usage record (merged onto `previous`, if given) and
/// what the log covers.
pub fn read_usage(
    path: &std::path::Path,
    options: &ReadOptions,
    previous: Option<UsageRecord>,
) -> Result<(UsageRecord, Coverage), AuditError> {
    let files = files_of(path)?;
    let mut builder = previous.map(UsageBuilder::from_record).unwrap_or_default();
    let coverage = read_events(&files, options, |e| builder.add(e))?;
    Ok((builder.finish(), coverage))
}
