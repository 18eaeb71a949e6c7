//! Use against grants, from the audit log.

use super::*;
use crate::report::bounds;
use serde::Serialize;

/// The usage section: what the audit log covered, and per subject what it holds and used.
#[derive(Debug, Clone, Serialize)]
pub struct UsageView {
    pub coverage: String,
    /// Whether the window is covered well enough for "unused" to mean unused over it.
    pub claim: String,
    pub window_covered: bool,
    pub problems: Vec<String>,
    pub rows: Vec<UsageRowView>,
    pub rows_note: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct UsageRowView {
    pub subject: String,
    pub sub_processor: String,
    pub held: usize,
    pub used: usize,
    pub requests: u64,
    pub denied: u64,
    pub last_request: String,
}

pub(super) fn usage_view(u: &crate::audit::UsageSummary) -> UsageView {
    let log = &u.log;
    let when = |t: &Option<chrono::DateTime<chrono::Utc>>| {
        t.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
            .unwrap_or_else(|| "-".into())
    };
    let levels: Vec<String> = log
        .levels
        .iter()
        .map(|(level, n)| format!("{level} {n}"))
        .collect();
    let coverage = format!(
        "This run read {} audit event(s) in {} file(s) or object(s), from {} to {} (levels: {}). The usage record covers {} of the {} days of the window since {}.",
        log.events,
        log.files,
        when(&log.first_event),
        when(&log.last_event),
        if levels.is_empty() {
            "none".to_string()
        } else {
            levels.join(", ")
        },
        u.days_seen,
        u.window_days,
        u.window_start
    );
    let mut coverage = format!(
        "{coverage} {} request(s) counted, each once at its outcome (ResponseComplete or Panic).",
        log.requests
    );
    if log.not_response_complete > 0 {
        coverage.push_str(&format!(
            " {} event(s) at other stages (RequestReceived, ResponseStarted) are not counted again",
            log.not_response_complete
        ));
        if log.open_at_end > 0 {
            coverage.push_str(&format!(
                "; {} long-running request(s) (watches, exec, proxy) were still open when the log ends and count the night they complete",
                log.open_at_end
            ));
        }
        coverage.push('.');
    }
    let window_covered = u.days_seen >= u.days_required;
    let claim = if u.days_seen == 0 {
        "The log has no event in the window: nothing about use can be concluded from it, and no unused-access finding is made.".to_string()
    } else if window_covered {
        format!(
            "Unused means not used on any of the {} days of log seen in the window.",
            u.days_seen
        )
    } else {
        format!(
            "The window is not yet covered ({} of at least {} days): \"unused\" below means unused on the days seen so far, not over {} days, and the controls that rest on it are not assessed.",
            u.days_seen, u.days_required, u.window_days
        )
    };
    let mut problems = Vec::new();
    if log.gaps > 0 {
        problems.push(format!(
            "{} gap(s) of more than an hour without any event",
            log.gaps
        ));
    }
    if log.malformed > 0 {
        problems.push(format!("{} malformed line(s), not counted", log.malformed));
    }
    if log.duplicates > 0 {
        problems.push(format!(
            "{} duplicate event(s), counted once",
            log.duplicates
        ));
    }

    problems.extend(log.not_used.iter().map(|l| format!("{l}: not used")));
    let problems_len = problems.len();
    let mut rows: Vec<UsageRowView> = u
        .subjects
        .iter()
        .map(|s| UsageRowView {
            subject: bounds::name(&s.subject.to_string()),
            sub_processor: bounds::name(&s.sub_processor.clone().unwrap_or_default()),
            held: s.grants_held,
            used: s.grants_used,
            requests: s.requests,
            denied: s.denied,
            last_request: when(&s.last_request),
        })
        .collect();
    // Sub-processors first: their use against their holdings is what the register is about.
    rows.sort_by(|a, b| {
        (a.sub_processor.is_empty(), &a.sub_processor, &a.subject).cmp(&(
            b.sub_processor.is_empty(),
            &b.sub_processor,
            &b.subject,
        ))
    });
    let (rows, left) = bounds::take(rows, bounds::TABLE_ROWS);
    let rows_note = bounds::more_note(rows.len(), left, "subjects", crate::files::USAGE_ROWS);
    let problems = bounded(
        problems.into_iter(),
        problems_len,
        "problems",
        crate::files::USAGE_RECORD,
    );
    UsageView {
        coverage,
        claim,
        window_covered,
        problems,
        rows,
        rows_note,
    }
}
