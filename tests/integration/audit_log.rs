//! The audit-log reader on rotated files as a real log directory holds them: the current file
//! and a gzip-compressed rotation repeating its events. Every event counts once, and the
//! coverage says what was read.

use crate::common;
use kube_evidence::audit::{ReadOptions, read_usage};

#[test]
fn a_rotated_log_directory_counts_each_event_once() {
    let dir = common::repo().join("tests/fixtures/audit/rotated");
    let (record, coverage) = read_usage(&dir, &ReadOptions::default(), None).unwrap();
    assert_eq!(coverage.files.len(), 2, "{:?}", coverage.files);
    assert_eq!(coverage.lines, 80);
    assert_eq!(coverage.events, 40);
    assert_eq!(coverage.duplicates, 40);
    assert_eq!(coverage.malformed, 0);
    let uses: u64 = record
        .subjects
        .values()
        .flat_map(|uses| uses.iter().map(|u| u.count))
        .sum();
    assert_eq!(uses, 40, "every event is one use of some subject's access");
    assert_eq!(record.days_seen.len(), 1);
}
