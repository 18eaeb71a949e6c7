//! The findings a person reads: by severity up to the caps, per rule, per cause, and the system components apart.

use super::*;
use crate::analysis::{Assessment, MATRIX_COLUMNS};
use crate::finding::{Finding, FindingClass, Severity};
use crate::report::bounds;
use crate::rules::RuleId;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize)]
pub struct FindingGroup {
    pub severity: String,
    pub heading: String,
    /// The group's findings shown in full (within [`bounds::FINDINGS_IN_FULL`] over all groups).
    pub findings: Vec<FindingView>,
    /// The next ones, one line each (within [`bounds::FINDING_ROWS`] over all groups).
    pub rows: Vec<FindingRow>,
    /// The sentence that introduces them (empty without rows).
    pub rows_heading: String,
    /// How many of the group neither shows, and where they are; empty when it shows them all.
    pub note: String,
}

/// A finding in one line: what the reader needs to find it in findings.json.
#[derive(Debug, Clone, Serialize)]
pub struct FindingRow {
    pub id: String,
    pub rule_id: RuleId,
    pub severity: String,
    pub summary: String,
    pub subjects: usize,
}

/// One rule's findings in counts: the summary a reader starts from on any cluster.
#[derive(Debug, Clone, Serialize)]
pub struct RuleSummary {
    pub rule_id: RuleId,
    pub severity: String,
    pub title: String,
    pub open: usize,
    pub accepted: usize,
    /// Distinct subjects of its open findings.
    pub subjects: usize,
}

/// A binding whose grants stand behind open findings: what a remediation changes, with how many
/// subjects and findings it stands behind.
#[derive(Debug, Clone, Serialize)]
pub struct CauseView {
    /// `RoleBinding ns/name -> ClusterRole name` or `ClusterRoleBinding name -> ...`.
    pub binding: String,
    pub subjects: usize,
    pub findings: usize,
    /// The rules of those findings, with counts (`KE-RBAC-003 ×4, KE-RBAC-010`).
    pub rules: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct FindingView {
    pub id: String,
    pub rule_id: RuleId,
    pub severity: String,
    pub title: String,
    pub summary: String,
    pub subjects: Vec<String>,
    pub objects: Vec<String>,
    pub grants: Vec<String>,
    pub path: Vec<String>,
    pub sub_processor: String,
    pub namespaces: String,
    pub remediation: String,
    pub status: String,
    pub exception: String,
    /// The controls it bears on, linking to their rows.
    pub controls: Vec<Link>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PopulationLine {
    pub capability: String,
    pub cluster: usize,
    pub broad: usize,
    pub foreign: usize,
    pub local: usize,
}

pub(super) fn finding_view(f: &Finding) -> FindingView {
    FindingView {
        id: f.id.clone(),
        rule_id: f.rule_id,
        severity: f.severity.to_string(),
        title: bounds::clip(&f.title),
        summary: bounds::clip(&f.summary),
        subjects: bounded_to(
            bounds::FINDING_LIST,
            bounds::name,
            f.subjects.iter().map(|s| s.to_string()),
            f.subjects.len(),
            "subjects",
            crate::files::FINDINGS_JSON,
        ),
        objects: bounded_to(
            bounds::FINDING_LIST,
            bounds::name,
            f.objects.iter().map(|o| o.to_string()),
            f.objects.len(),
            "objects",
            crate::files::FINDINGS_JSON,
        ),
        grants: bounded_to(
            bounds::FINDING_LIST,
            bounds::line,
            f.grants.iter().map(|g| describe_grant(&g)),
            f.grants.len(),
            "grants",
            crate::files::FINDINGS_JSON,
        ),
        path: bounded_to(
            bounds::FINDING_LIST,
            bounds::line,
            f.path
                .iter()
                .map(|p| format!("{} {} -> {}", p.from, p.action, p.to)),
            f.path.len(),
            "steps",
            crate::files::FINDINGS_JSON,
        ),
        sub_processor: bounds::line(&f.sub_processor_text()),
        namespaces: bounds::line(&match f.namespaces.len() {
            n if n > 10 => format!(
                "{} and {} more ({n} in all)",
                f.namespaces[..10].join(", "),
                n - 10
            ),
            _ => f.namespaces.join(", "),
        }),
        remediation: bounds::clip(&f.remediation),
        status: match f.status {
            crate::finding::FindingStatus::Open => "open".into(),
            crate::finding::FindingStatus::Accepted => "accepted".into(),
        },
        exception: f
            .exception
            .as_ref()
            .map(|e| {
                bounds::clip(&format!(
                    "accepted by {} (approved by {}, ticket {}, expires {}): {}",
                    e.id, e.approver, e.ticket, e.expires, e.reason
                ))
            })
            .unwrap_or_default(),
        controls: Vec::new(),
    }
}

/// Per matrix column, how many subjects hold its capability in each scope.
pub(super) fn population_lines(
    population: &[crate::analysis::PopulationEntry],
) -> Vec<PopulationLine> {
    use crate::finding::Scope;
    use std::collections::BTreeSet;
    MATRIX_COLUMNS
        .iter()
        .filter(|(key, _, _)| *key != "clusterAdmin")
        .map(|(_, label, rules)| {
            let mut by_scope: std::collections::BTreeMap<
                Scope,
                BTreeSet<&crate::rbac::SubjectRef>,
            > = Default::default();
            for p in population.iter().filter(|p| rules.contains(&p.rule_id)) {
                by_scope.entry(p.scope).or_default().insert(&p.subject);
            }
            let n = |s: Scope| by_scope.get(&s).map_or(0, BTreeSet::len);
            PopulationLine {
                capability: label.to_string(),
                cluster: n(Scope::Cluster),
                broad: n(Scope::Broad),
                foreign: n(Scope::Foreign),
                local: n(Scope::Local),
            }
        })
        .collect()
}

/// The open findings grouped by severity (then those accepted by exceptions), how many are
/// open, and those about system components.
pub(super) fn finding_sections(
    a: &Assessment,
) -> (Vec<FindingGroup>, usize, Vec<FindingRow>, String) {
    let findings = &a.analysis.findings;
    let mut groups: Vec<(String, Vec<&Finding>)> = Severity::ALL
        .iter()
        .map(|sev| {
            let group: Vec<&Finding> = findings
                .iter()
                .filter(|f| f.class() == FindingClass::Open && f.severity == *sev)
                .collect();
            (sev.to_string(), group)
        })
        .filter(|(_, g)| !g.is_empty())
        .collect();
    let open_findings = groups.iter().map(|(_, g)| g.len()).sum();
    let accepted: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.class() == FindingClass::Accepted)
        .collect();
    if !accepted.is_empty() {
        groups.push(("accepted".into(), accepted));
    }
    // One budget for the whole section, spent most severe first: every critical finding up to
    // the cap in full, then one line each, then counts.
    let mut in_full = bounds::FINDINGS_IN_FULL;
    let mut as_rows = bounds::FINDING_ROWS;
    let mut finding_groups: Vec<FindingGroup> = groups
        .into_iter()
        .map(|(severity, group)| {
            let heading = if severity == "accepted" {
                format!("Accepted by exceptions in force ({})", group.len())
            } else {
                format!("{} open finding(s)", group.len())
            };
            let full = group.len().min(in_full);
            in_full -= full;
            let rows = (group.len() - full).min(as_rows);
            as_rows -= rows;
            let left = group.len() - full - rows;
            let note = if left == 0 {
                String::new()
            } else {
                format!(
                    "{left} more {severity} finding(s) are not listed here ({} in full, {} in one line each): findings.json and findings.csv list all {}.",
                    full,
                    rows,
                    group.len()
                )
            };
            let rows_heading = if rows == 0 {
                String::new()
            } else if full == 0 {
                format!("{rows} {severity} finding(s), one line each; findings.json holds each in full.")
            } else {
                format!("The next {rows}, one line each; findings.json holds each in full.")
            };
            FindingGroup {
                heading,
                rows_heading,
                findings: group[..full].iter().map(|f| finding_view(f)).collect(),
                rows: group[full..full + rows]
                    .iter()
                    .map(|f| finding_row(f))
                    .collect(),
                note,
                severity,
            }
        })
        .collect();
    let system: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.class() == FindingClass::System)
        .collect();
    let (shown, left) = bounds::take(system.iter().map(|f| finding_row(f)), bounds::TABLE_ROWS);
    let system_note = bounds::more_note(
        shown.len(),
        left,
        "findings about system components",
        crate::files::FINDINGS_JSON,
    );
    link_findings_to_controls(&mut finding_groups, &a.controls);
    (finding_groups, open_findings, shown, system_note)
}

pub(super) fn finding_row(f: &Finding) -> FindingRow {
    FindingRow {
        id: f.id.clone(),
        rule_id: f.rule_id,
        severity: f.severity.to_string(),
        summary: bounds::clip_to(&f.summary, bounds::ROW_TEXT),
        subjects: f.subjects.len(),
    }
}

/// Per rule, its open and accepted findings (not about system components) and the distinct
/// subjects of the open ones; most severe rule first, then the most findings.
pub(super) fn rule_summaries(a: &Assessment) -> Vec<RuleSummary> {
    use std::collections::BTreeSet;
    // One row per rule and severity: a rule's findings may be of several (an exception or the
    // rule itself grades them), and a row's severity is that of every finding it counts.
    // (severity, title, open, accepted, subjects of the open ones)
    type Row<'f> = (
        Severity,
        &'f str,
        usize,
        usize,
        BTreeSet<&'f crate::rbac::SubjectRef>,
    );
    let mut by_rule: BTreeMap<(RuleId, Severity), Row<'_>> = BTreeMap::new();
    for f in &a.analysis.findings {
        let class = f.class();
        if class == FindingClass::System {
            continue;
        }
        let e = by_rule.entry((f.rule_id, f.severity)).or_insert((
            f.severity,
            f.title.as_str(),
            0,
            0,
            BTreeSet::new(),
        ));
        if class == FindingClass::Open {
            e.2 += 1;
            e.4.extend(f.subjects.iter());
        } else {
            e.3 += 1;
        }
    }
    let mut rows: Vec<RuleSummary> = by_rule
        .into_iter()
        .map(
            |((rule, _), (sev, title, open, accepted, subjects))| RuleSummary {
                rule_id: rule,
                severity: sev.to_string(),
                title: bounds::line(title),
                open,
                accepted,
                subjects: subjects.len(),
            },
        )
        .collect();
    let rank = |s: &str| Severity::ALL.iter().position(|x| x.to_string() == s);
    rows.sort_by(|a, b| {
        (rank(&a.severity), std::cmp::Reverse(a.open), &a.rule_id).cmp(&(
            rank(&b.severity),
            std::cmp::Reverse(b.open),
            &b.rule_id,
        ))
    });
    // The rules are the catalog's: a fixed, short list; the cap only guards the bound.
    rows.truncate(bounds::RULES);
    rows
}

/// The bindings behind open findings (not about system components), by how many of their
/// subjects hold those findings' capabilities through them (a group counts once): where
/// remediation pays most.
pub(super) fn causes(a: &Assessment) -> (Vec<CauseView>, String) {
    use std::collections::BTreeSet;
    // Per binding: the subjects it grants through (a group counts as one), the findings and
    // their rules.
    type Tally<'a> = (
        BTreeSet<crate::rbac::SubjectRef>,
        BTreeSet<&'a str>,
        BTreeMap<&'a str, usize>,
    );
    let mut by_binding: BTreeMap<String, Tally<'_>> = BTreeMap::new();
    for f in a
        .analysis
        .findings
        .iter()
        .filter(|f| f.class() == FindingClass::Open)
    {
        let mut seen_here: BTreeSet<String> = BTreeSet::new();
        for g in f.grants.iter() {
            let key = format!("{} -> {}", g.binding, g.role);
            let e = by_binding.entry(key.clone()).or_default();
            e.0.insert(g.subject.clone());
            if seen_here.insert(key) {
                e.1.insert(f.id.as_str());
                *e.2.entry(f.rule_id.as_str()).or_default() += 1;
            }
        }
    }
    let total = by_binding.len();
    let mut rows: Vec<CauseView> = by_binding
        .into_iter()
        .map(|(binding, (subjects, findings, rules))| CauseView {
            binding: bounds::line(&binding),
            subjects: subjects.len(),
            findings: findings.len(),
            rules: bounds::line(
                &rules
                    .into_iter()
                    .map(|(r, n)| {
                        if n == 1 {
                            r.to_string()
                        } else {
                            format!("{r} ×{n}")
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
        })
        .collect();
    rows.sort_by(|a, b| {
        (
            std::cmp::Reverse(a.subjects),
            std::cmp::Reverse(a.findings),
            &a.binding,
        )
            .cmp(&(
                std::cmp::Reverse(b.subjects),
                std::cmp::Reverse(b.findings),
                &b.binding,
            ))
    });
    rows.truncate(bounds::CAUSES);
    let note = if total > rows.len() {
        format!(
            "The {} of {total} bindings behind open findings that stand behind the most subjects; findings.json names every finding's bindings (its grants).",
            rows.len()
        )
    } else {
        String::new()
    };
    (rows, note)
}
