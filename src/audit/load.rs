//! Where the audit log comes from: a file or a directory of rotated files, or the objects under
//! an `s3://BUCKET/PREFIX` (managed clusters export their audit logs to a bucket), read in one
//! pass and merged onto the previous pack's usage record.

use super::assess::{UsageInput, UsageOptions};
use super::read::TimeBounds;
use super::read::{AuditError, LogPass, ReadOptions, files_of};
use super::resume::{History, merge_parts};
use super::usage::{UsageBuilder, UsageRecord, window_start};
use crate::store::{StoreUrl, s3::S3Options};
use chrono::{DateTime, Utc};

/// An object of an exported log larger than this is refused (it is held in memory while read;
/// exports write objects of a few MiB to a few hundred).
pub const MAX_OBJECT: usize = 1024 * 1024 * 1024;

/// What `run` is told about the audit log.
#[derive(Debug, Clone)]
pub struct AuditLogPlan {
    pub location: StoreUrl,
    pub read: ReadOptions,
    pub usage: UsageOptions,
    /// How to reach a bucket (the run's S3 settings, without its Object Lock and encryption,
    /// which are about writing packs).
    pub s3: S3Options,
}

/// Reads the whole log once: this run's record and coverage, and the rolling record (the
/// previous pack's merged with this run's, pruned to the window ending at `now`, the run's
/// time). Events dated before the window or after `now` (beyond the clock-skew allowance) are
/// counted in the coverage and not used.
pub async fn read_audit_log(
    plan: &AuditLogPlan,
    previous: Option<UsageRecord>,
    now: DateTime<Utc>,
) -> Result<UsageInput, AuditError> {
    let today = now.date_naive();
    let from = window_start(today, plan.usage.window_days)
        .and_hms_opt(0, 0, 0)
        .expect("midnight exists")
        .and_utc();
    let bounds = TimeBounds::new(from, now);
    let read = ReadOptions {
        accept: Some(bounds),
        ..plan.read.clone()
    };
    // What earlier runs of the chain read of each part is skipped (`audit::resume`).
    let mut previous = previous;
    let history = previous
        .as_mut()
        .map(|p| std::mem::take(&mut p.parts_read))
        .unwrap_or_default();
    let mut pass = LogPass::resuming(&read, History::new(history.clone()));
    let mut builder = UsageBuilder::default();
    let mut on_event = |e: &super::Event| builder.add(e);
    match &plan.location {
        StoreUrl::Local(path) => {
            for file in files_of(path)? {
                pass.read_file(&file, &mut on_event)?;
            }
        }
        url @ StoreUrl::S3 { .. } => read_bucket(url, &plan.s3, &mut pass, &mut on_event).await?,
    }
    let parts_read = pass.parts_read().to_vec();
    let coverage = pass.finish()?;
    let mut current = builder.finish();
    current.parts_read = parts_read.clone();
    let continued = previous.is_some();
    let mut rolling = previous.map(UsageBuilder::from_record).unwrap_or_default();
    rolling.merge(current.clone());
    let mut record = rolling.finish();
    record.prune_to_window(today, plan.usage.window_days, bounds.until());
    record.parts_read = merge_parts(
        history,
        parts_read,
        window_start(today, plan.usage.window_days),
    );
    Ok(UsageInput {
        record,
        current,
        continued,
        coverage,
        options: plan.usage.clone(),
    })
}

/// Every object under the prefix, in key order, one at a time (hidden names, as `.tmp-` parts
/// of an upload, are skipped the way a directory's are).
async fn read_bucket(
    url: &StoreUrl,
    s3: &S3Options,
    pass: &mut LogPass,
    on_event: &mut impl FnMut(&super::Event),
) -> Result<(), AuditError> {
    let store_error = |source| AuditError::Store {
        location: url.to_string(),
        source,
    };
    let store = crate::store::open(url, s3).await.map_err(store_error)?;
    let keys = store.list("").await.map_err(store_error)?;
    for key in keys {
        if key.rsplit('/').next().is_some_and(|n| n.starts_with('.')) {
            continue;
        }
        let name = format!("{}/{key}", url.to_string().trim_end_matches('/'));
        let bytes = match store.get_limited(&key, MAX_OBJECT as u64).await {
            Err(crate::store::StoreError::TooLarge { .. }) => {
                return Err(AuditError::TooLarge {
                    path: name,
                    limit: MAX_OBJECT as u64,
                });
            }
            other => other.map_err(store_error)?,
        };
        let Some(bytes) = bytes else {
            // Deleted between the listing and the read: rotation of an export.
            continue;
        };
        pass.read_bytes(&name, &bytes, on_event)?;
    }
    Ok(())
}
