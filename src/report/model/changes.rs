//! What changed since the previous pack.

use super::*;
use crate::finding::Severity;
use crate::report::bounds;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct ChangesView {
    pub baseline: bool,
    /// The sentence that opens the section: how the open findings reconcile.
    pub headline: String,
    pub previous_pack_id: String,
    /// Privileged access gained since the previous pack: what the section opens with.
    pub privileged_gains: Vec<String>,
    /// New critical and high findings, most severe first.
    pub new_severe_findings: Vec<String>,
    /// The other new findings.
    pub new_findings: Vec<String>,
    pub resolved_findings: Vec<String>,
    pub superseded_findings: Vec<String>,
    pub persisting_findings: usize,
    pub controls: Vec<String>,
    pub grants: Vec<GrantChangeView>,
    /// Set when only the first changes are shown.
    pub grants_note: String,
    pub objects: Vec<ObjectChangeView>,
    pub objects_note: String,
    pub sub_processors: Vec<String>,
    pub collection: Vec<String>,
    /// Grants used for the first time in the window, and grants that fell out of use.
    pub newly_used: Vec<String>,
    pub newly_unused: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct GrantChangeView {
    pub change: String,
    pub subject: String,
    pub grant: String,
    pub privileged: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct ObjectChangeView {
    pub change: String,
    pub object: String,
    pub details: String,
}

/// How many grant and object changes a report shows (privileged grants first); changes.csv has
/// them all.
pub const CHANGES_SHOWN: usize = bounds::TABLE_ROWS;

/// How the open findings of the previous pack and of this one reconcile, in one sentence.
pub fn changes_headline(d: &crate::diff::Diff) -> String {
    let f = &d.findings;
    let tail = format!(
        "{} finding(s) accepted by exceptions and {} about Kubernetes system components are counted apart.",
        f.accepted.len(),
        f.system.len()
    );
    match &d.from {
        None => format!(
            "This pack is the baseline of its chain: there is no previous pack to compare with; its {} open finding(s) are all new. {tail}",
            f.current_open
        ),
        Some(from) => format!(
            "Compared with pack {}: open findings went from {} to {}: {} persisting, {} superseded (gone by id, but their subjects still hold what they reported), {} resolved and {} new ({} = {} + {} + {}; {} = {} + {}). {tail}",
            from.pack_id
                .clone()
                .unwrap_or_else(|| from.collected_at.to_rfc3339()),
            f.previous_open,
            f.current_open,
            f.persisting.len(),
            f.superseded.len(),
            f.resolved.len(),
            f.new.len(),
            f.previous_open,
            f.persisting.len(),
            f.superseded.len(),
            f.resolved.len(),
            f.current_open,
            f.persisting.len(),
            f.new.len()
        ),
    }
}

/// What changed since the previous pack, bounded to what a reader can take in.
pub(super) fn changes_view(d: &crate::diff::Diff) -> ChangesView {
    ChangesView {
        baseline: d.baseline,
        headline: changes_headline(d),
        previous_pack_id: d
            .from
            .as_ref()
            .and_then(|f| f.pack_id.clone())
            .unwrap_or_default(),
        privileged_gains: privileged_gains(d),
        new_severe_findings: new_findings_from(d, Severity::High, None),
        new_findings: new_findings_from(d, Severity::Info, Some(Severity::High)),
        resolved_findings: bounded(
            d.findings.resolved.iter().map(finding_line),
            d.findings.resolved.len(),
            "resolved findings",
            crate::files::DIFF_JSON,
        ),
        superseded_findings: bounded(
            d.findings.superseded.iter().map(finding_line),
            d.findings.superseded.len(),
            "superseded findings",
            crate::files::DIFF_JSON,
        ),
        persisting_findings: d.findings.persisting.len(),
        controls: bounded(
            d.controls.iter().map(|c| {
                format!(
                    "{} {}: {} -> {}",
                    c.framework,
                    c.id,
                    c.from.as_str(),
                    c.to.as_str()
                )
            }),
            d.controls.len(),
            "control status changes",
            crate::files::DIFF_JSON,
        ),
        grants_note: capped_note(d.grants.len(), "grant change(s)", crate::files::CHANGES_CSV),
        objects_note: capped_note(
            d.objects.len(),
            "object change(s)",
            crate::files::CHANGES_CSV,
        ),
        grants: grant_change_views(d),
        objects: object_change_views(d),
        sub_processors: bounded(
            d.sub_processors
                .iter()
                .map(|s| format!("{} {}: {}", s.id, s.change.as_str(), s.details.join("; "))),
            d.sub_processors.len(),
            "sub-processor changes",
            crate::files::DIFF_JSON,
        ),
        collection: bounded(
            d.collection
                .iter()
                .map(|c| format!("{}: {} -> {}", c.kind, c.from, c.to)),
            d.collection.len(),
            "collection changes",
            crate::files::DIFF_JSON,
        ),
        newly_used: bounded(
            d.usage.newly_used.iter().cloned(),
            d.usage.newly_used.len(),
            "grants used for the first time",
            crate::files::DIFF_JSON,
        ),
        newly_unused: bounded(
            d.usage.newly_unused.iter().cloned(),
            d.usage.newly_unused.len(),
            "grants no longer used",
            crate::files::DIFF_JSON,
        ),
    }
}

pub(super) fn finding_line(f: &crate::diff::FindingRef) -> String {
    match &f.note {
        Some(note) => format!("{} ({}): {} [{note}]", f.id, f.severity, f.summary),
        None => format!("{} ({}): {}", f.id, f.severity, f.summary),
    }
}

/// Privileged grants gained since the previous pack, bounded.
pub(super) fn privileged_gains(d: &crate::diff::Diff) -> Vec<String> {
    let gains: Vec<&crate::diff::GrantChange> = d
        .grants
        .iter()
        .filter(|g| g.privileged && g.change == crate::diff::GrantChangeKind::Gained)
        .collect();
    bounded(
        gains
            .iter()
            .map(|g| format!("{}: {}", g.subject, describe_grant(&g.grant))),
        gains.len(),
        "privileged grants gained",
        crate::files::CHANGES_CSV,
    )
}

/// New findings of at least `from` and below `below`, most severe first, bounded: critical and
/// high ones apart from the rest.
pub(super) fn new_findings_from(
    d: &crate::diff::Diff,
    from: Severity,
    below: Option<Severity>,
) -> Vec<String> {
    let mut found: Vec<&crate::diff::FindingRef> = d
        .findings
        .new
        .iter()
        .filter(|f| f.severity >= from && below.is_none_or(|b| f.severity < b))
        .collect();
    let what = if below.is_none() {
        // The severe ones lead, most severe first.
        found.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.id.cmp(&b.id)));
        "new critical and high findings"
    } else {
        "other new findings"
    };
    bounded(
        found.iter().map(|f| finding_line(f)),
        found.len(),
        what,
        crate::files::DIFF_JSON,
    )
}

/// The first grant changes, for the report (changes.csv has them all).
pub(super) fn grant_change_views(d: &crate::diff::Diff) -> Vec<GrantChangeView> {
    d.grants
        .iter()
        .take(CHANGES_SHOWN)
        .map(|g| GrantChangeView {
            change: match g.change {
                crate::diff::GrantChangeKind::Gained => "gained".into(),
                crate::diff::GrantChangeKind::Lost => "lost".into(),
            },
            subject: bounds::name(&g.subject.to_string()),
            grant: bounds::line(&describe_grant(&g.grant)),
            privileged: g.privileged,
        })
        .collect()
}

/// The first object changes, for the report (changes.csv has them all).
pub(super) fn object_change_views(d: &crate::diff::Diff) -> Vec<ObjectChangeView> {
    d.objects
        .iter()
        .take(CHANGES_SHOWN)
        .map(|o| ObjectChangeView {
            change: o.change.as_str().into(),
            object: bounds::name(&match &o.namespace {
                Some(ns) => format!("{} {ns}/{}", o.kind, o.name),
                None => format!("{} {}", o.kind, o.name),
            }),
            details: bounds::line(&o.details.join("; ")),
        })
        .collect()
}
