//! Reads an API server audit log (a file or a directory of rotated files) into a usage record
//! and prints what the log covers and how fast it was read; `benches/scale/audit-log.py` writes a
//! log of a chosen size. Used for the figures in docs/performance.md:
//!
//! ```sh
//! cargo run --release --example audit_usage -- audit.log
//! ```

use kube_evidence::audit::{ReadOptions, read_usage};
use std::time::Instant;

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: audit_usage AUDIT_LOG");
        std::process::exit(2);
    };
    let started = Instant::now();
    match read_usage(path.as_ref(), &ReadOptions::default(), None) {
        Ok((record, coverage)) => {
            let uses: usize = record.subjects.values().map(Vec::len).sum();
            let secs = started.elapsed().as_secs_f64();
            println!(
                "{} lines, {} events, {} duplicates, {} malformed, {} gaps; {} subjects, {uses} uses; {secs:.2} s ({:.0} events/s)",
                coverage.lines,
                coverage.events,
                coverage.duplicates,
                coverage.malformed,
                coverage.gaps.len(),
                record.subjects.len(),
                coverage.events as f64 / secs
            );
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
