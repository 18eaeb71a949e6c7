//! The API server's audit log as evidence of use: who *did*, next to who *can*. Reads the log
//! (`audit.k8s.io/v1` events, JSON lines, a file or a directory of rotated files, gzip or not)
//! in one streaming pass into a usage record that later runs merge, with what the log covers.
//!
//! Not wired into `run` yet: the analysis of unused grants, anomalies and suggested roles, and
//! the pack's `usage.json`, come next (issue 19).

pub mod event;
pub mod read;
pub mod usage;

pub use event::{AccessKey, Event};
pub use read::{AuditError, Coverage, ReadOptions, files_of, read_events, read_events_from};
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
