//! The exceptions register and what each did.

use crate::analysis::Assessment;
use crate::exceptions::ExceptionState;
use crate::report::bounds;
use crate::rules::RuleId;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct ExceptionView {
    pub id: String,
    pub rule: RuleId,
    pub covers: String,
    pub state: String,
    pub approver: String,
    pub ticket: String,
    pub expires: String,
    pub reason: String,
    pub findings: usize,
}

/// The exceptions register with each exception's state.
pub(super) fn exception_views(a: &Assessment) -> (Vec<ExceptionView>, String) {
    let (shown, left) = bounds::take(a.exceptions.iter().map(exception_view), bounds::TABLE_ROWS);
    let note = bounds::more_note(shown.len(), left, "exceptions", crate::files::FINDINGS_JSON);
    (shown, note)
}

pub(super) fn exception_view(o: &crate::exceptions::ExceptionOutcome) -> ExceptionView {
    {
        ExceptionView {
            id: bounds::name(&o.exception.id),
            rule: o.exception.rule,
            covers: bounds::line(&o.exception.covers.describe()),
            state: match o.state {
                ExceptionState::InForce => "in force".into(),
                ExceptionState::Partial => {
                    "in force, covers findings only in part (they stay open)".into()
                }
                ExceptionState::Stale => "in force, matches nothing".into(),
                ExceptionState::Expired => "expired".into(),
            },
            approver: bounds::name(&o.exception.approver),
            ticket: bounds::name(&o.exception.ticket),
            expires: o.exception.expires.to_string(),
            reason: bounds::line(&o.exception.reason),
            findings: o.findings.len(),
        }
    }
}
