//! The report model: every statement of the human reports, already worded and ordered, so the HTML
//! and the PDF say exactly the same thing. Built once from the run's data; pure.

mod changes;
mod controls;
mod cover;
mod exceptions;
mod findings;
mod matrix;
mod methodology;
mod register;
mod reviews;
mod usage;

pub use changes::*;
pub use controls::*;
pub use cover::*;
pub use exceptions::*;
pub use findings::*;
pub use matrix::*;
pub use methodology::*;
pub use register::*;
pub use reviews::*;
pub use usage::*;

use super::ReportInput;
use super::bounds;
use super::trend::TrendPoint;
use crate::analysis::MATRIX_COLUMNS;
use crate::controls::ControlStatus;
use crate::finding::{FindingClass, Severity};
use crate::rbac::Grant;
use crate::snapshot::PolicyRule;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize)]
pub struct ReportModel {
    pub title: String,
    pub cover: Cover,
    pub summary: String,
    pub severity_counts: Vec<Count>,
    pub frameworks: Vec<FrameworkView>,
    /// Open findings that are not about system components, by severity (most severe first), then
    /// the findings accepted by exceptions (severity `accepted`).
    pub finding_groups: Vec<FindingGroup>,
    pub open_findings: usize,
    /// Open and accepted findings (not about system components) per rule, most severe first.
    pub rules: Vec<RuleSummary>,
    /// The bindings behind the most subjects of open findings ([`bounds::CAUSES`] of them).
    pub causes: Vec<CauseView>,
    pub causes_note: String,
    pub system_findings: Vec<FindingRow>,
    /// How many findings are about system components (the list above may be capped).
    pub system_findings_total: usize,
    pub system_findings_note: String,
    pub has_inventory: bool,
    pub register: Vec<RegisterView>,
    pub register_note: String,
    /// Use against grants, from the audit log (absent without one).
    pub usage: Option<UsageView>,
    /// The access review campaigns and their follow-up (absent without any).
    pub reviews: Option<ReviewsView>,
    pub matrix_columns: Vec<String>,
    /// The matrix rows a report shows: subjects holding a capability beyond the local scope,
    /// and every subject that reaches cluster-admin.
    pub matrix: Vec<MatrixView>,
    /// Per capability, how many subjects hold it in each scope: the whole population in counts.
    pub population: Vec<PopulationLine>,
    /// What the matrix section leaves to the machine-readable files, with their counts.
    pub population_note: String,
    pub changes: ChangesView,
    pub exceptions: Vec<ExceptionView>,
    pub exceptions_note: String,
    pub methodology: Methodology,
    pub verification: Vec<String>,
    pub trend: Vec<TrendPoint>,
}

/// A link inside a report: the text shown and the id it points to.
#[derive(Debug, Clone, Serialize)]
pub struct Link {
    pub label: String,
    pub anchor: String,
}

/// The id of a control's row in the reports.
pub fn control_anchor(framework: &str, id: &str) -> String {
    format!("control-{framework}-{id}")
}

pub fn describe_rule(rule: &PolicyRule) -> String {
    let mut s = format!("[{}]", rule.verbs.join(" "));
    if !rule.non_resource_urls.is_empty() {
        s.push_str(&format!(" on URLs {}", rule.non_resource_urls.join(" ")));
        return s;
    }
    let groups: Vec<String> = rule
        .api_groups
        .iter()
        .map(|g| {
            if g.is_empty() {
                "core".into()
            } else {
                g.clone()
            }
        })
        .collect();
    s.push_str(&format!(
        " on {} ({})",
        rule.resources.join(" "),
        groups.join(" ")
    ));
    if !rule.resource_names.is_empty() {
        s.push_str(&format!(" named {}", rule.resource_names.join(" ")));
    }
    s
}

pub fn describe_grant(g: &Grant) -> String {
    let via = match &g.source_role {
        Some(src) => format!(" (aggregated from {src})"),
        None => String::new(),
    };
    format!(
        "{} -> {}{via}: {} [{}; via {}]",
        g.binding,
        g.role,
        describe_rule(&g.rule),
        g.scope(),
        g.subject
    )
}

fn capped_note(total: usize, what: &str, file: &str) -> String {
    if total > CHANGES_SHOWN {
        format!("The first {CHANGES_SHOWN} of {total} {what} are shown; {file} lists them all.")
    } else {
        String::new()
    }
}

/// How many items of one list a report shows in full; the machine-readable files hold them all.
pub const SHOWN: usize = bounds::LIST;

/// The first [`SHOWN`] items (each cut to [`bounds::LINE`]), and a last line saying how many
/// more there are and where.
fn bounded(
    items: impl Iterator<Item = String>,
    total: usize,
    what: &str,
    file: &str,
) -> Vec<String> {
    bounded_to(SHOWN, bounds::line, items, total, what, file)
}

/// The first `cap` items, each cut by `cut`, and a last line saying how many more there are.
fn bounded_to(
    cap: usize,
    cut: fn(&str) -> String,
    items: impl Iterator<Item = String>,
    total: usize,
    what: &str,
    file: &str,
) -> Vec<String> {
    let mut out: Vec<String> = items.take(cap).map(|i| cut(&i)).collect();
    if total > cap {
        out.push(format!(
            "... and {} more {what} ({file} lists all {total})",
            total - cap
        ));
    }
    out
}

/// Each shown finding links to the controls that cite it (deciding, related or accepted): the
/// way back from a finding to the controls' table.
fn link_findings_to_controls(
    groups: &mut [FindingGroup],
    controls: &[crate::controls::ControlResult],
) {
    let mut by_finding: BTreeMap<&str, Vec<Link>> = BTreeMap::new();
    for c in controls {
        for id in c.cited_findings() {
            by_finding.entry(id.as_str()).or_default().push(Link {
                label: format!("{} {}", c.framework, c.id),
                anchor: control_anchor(&c.framework, &c.id),
            });
        }
    }
    for f in groups.iter_mut().flat_map(|g| g.findings.iter_mut()) {
        let mut links = by_finding.remove(f.id.as_str()).unwrap_or_default();
        cap_links(&mut links, bounds::FINDING_LIST);
        f.controls = links;
    }
}

/// At most `cap` links, the last saying how many more there are.
fn cap_links(links: &mut Vec<Link>, cap: usize) {
    if links.len() > cap {
        let more = links.len() - cap;
        links.truncate(cap);
        links.push(Link {
            label: format!("and {more} more"),
            anchor: String::new(),
        });
    }
}

/// Links only to findings the report shows (in full or in one line): a finding left to
/// findings.json keeps its id as text, with nothing to jump to.
fn keep_links_to_shown(m: &mut ReportModel) {
    use std::collections::BTreeSet;
    let shown: BTreeSet<String> = m
        .finding_groups
        .iter()
        .flat_map(|g| {
            g.findings
                .iter()
                .map(|f| f.id.clone())
                .chain(g.rows.iter().map(|r| r.id.clone()))
        })
        .collect();
    let keep = |anchor: &mut String| {
        if !shown.contains(anchor.as_str()) {
            anchor.clear();
        }
    };
    for c in m.frameworks.iter_mut().flat_map(|f| f.controls.iter_mut()) {
        for l in c.findings.iter_mut() {
            keep(&mut l.anchor);
        }
        cap_links(&mut c.findings, bounds::LIST);
    }
    for r in m.matrix.iter_mut() {
        keep(&mut r.finding);
    }
    for r in m.register.iter_mut() {
        for l in r.links.iter_mut() {
            keep(&mut l.anchor);
        }
    }
}

/// The report model: every section computed once, from the assessment, for every renderer.
pub fn build(input: &ReportInput<'_>) -> ReportModel {
    let a = input.assessment;
    let summary_counts = super::json::summary(&a.analysis.findings);
    let cover = cover(input);
    let severity_counts: Vec<Count> = Severity::ALL
        .iter()
        .map(|s| Count {
            label: s.to_string(),
            count: summary_counts.open.get(s).copied().unwrap_or(0),
        })
        .collect();
    let control_counts = crate::controls::evaluate::counts(&a.controls);
    let frameworks = framework_views(input, &control_counts);
    let (finding_groups, open_findings, system_findings, system_findings_note) =
        finding_sections(a);
    let (causes, causes_note) = causes(a);
    let (register, register_note) = register_views(&a.analysis.register);
    let (exceptions, exceptions_note) = exception_views(a);
    let (matrix, population, population_note) = matrix_section(a);
    let summary = summary_text(
        input,
        &cover,
        &summary_counts,
        &severity_counts,
        &frameworks,
        &control_counts,
    );
    let mut model = ReportModel {
        title: format!("RBAC and sub-processor evidence: {}", cover.cluster),
        cover,
        summary,
        severity_counts,
        frameworks,
        finding_groups,
        open_findings,
        rules: rule_summaries(a),
        causes,
        causes_note,
        system_findings,
        system_findings_total: a
            .analysis
            .findings
            .iter()
            .filter(|f| f.class() == FindingClass::System)
            .count(),
        system_findings_note,
        has_inventory: input.snapshot.inventory.is_some(),
        register,
        register_note,
        usage: a.usage.as_ref().map(usage_view),
        reviews: a.reviews.as_ref().map(reviews_view),
        matrix_columns: MATRIX_COLUMNS
            .iter()
            .map(|(_, label, _)| label.to_string())
            .collect(),
        matrix,
        population,
        population_note,
        changes: changes_view(&a.diff),
        exceptions,
        exceptions_note,
        methodology: methodology(input),
        verification: verification(input),
        trend: input.history.to_vec(),
    };
    keep_links_to_shown(&mut model);
    model
}

/// The executive summary: one paragraph a reader can quote, every number in it from the same
/// model the sections show.
fn summary_text(
    input: &ReportInput<'_>,
    cover: &Cover,
    summary_counts: &super::json::Summary,
    severity_counts: &[Count],
    frameworks: &[FrameworkView],
    control_counts: &BTreeMap<(String, ControlStatus), usize>,
) -> String {
    let snapshot = input.snapshot;
    let a = input.assessment;
    let findings = &a.analysis.findings;
    let d = &a.diff;
    let collector = &snapshot.collector;
    let total_open: usize = severity_counts.iter().map(|c| c.count).sum();
    let control_sentence = frameworks
        .iter()
        .map(|fw| {
            let parts: Vec<String> = ControlStatus::ALL
                .iter()
                .filter_map(|s| {
                    let n = control_counts.get(&(fw.id.clone(), *s)).copied()?;
                    (n > 0).then(|| format!("{n} {}", s.as_str().replace('-', " ")))
                })
                .collect();
            format!(
                "{} ({} controls): {}",
                fw.name,
                fw.controls.len(),
                parts.join(", ")
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    let register_len = a.analysis.register.len();
    let summary = format!(
        "On {} kube-evidence collected the RBAC state of cluster {} ({} ClusterRoles, {} Roles, {} bindings, {} ServiceAccounts across {} namespaces){}. It found {} open finding(s) ({}), {} accepted by exceptions in force and {} about Kubernetes system components, reported apart. {}. {} subject(s) hold privileged access ({} more rows of the access matrix are Kubernetes system components, marked as such){}. {} The complete populations are in the pack's machine-readable files: findings.json ({} findings), access-matrix.csv ({} subjects), {} ({} holdings).",
        cover.collected_at,
        cover.cluster,
        snapshot.cluster_roles.len(),
        snapshot.roles.len(),
        snapshot.cluster_role_bindings.len() + snapshot.role_bindings.len(),
        snapshot.service_accounts.len(),
        snapshot.namespaces.len(),
        if collector.is_complete() {
            ""
        } else {
            "; COLLECTION WAS INCOMPLETE, see Methodology"
        },
        total_open,
        severity_counts
            .iter()
            .filter(|c| c.count > 0)
            .map(|c| format!("{} {}", c.count, c.label))
            .collect::<Vec<_>>()
            .join(", "),
        summary_counts.accepted,
        summary_counts.system,
        control_sentence,
        a.analysis.matrix.iter().filter(|r| !r.system).count(),
        a.analysis.matrix.iter().filter(|r| r.system).count(),
        if input.snapshot.inventory.is_some() {
            format!("; {register_len} sub-processor(s) are in the register")
        } else {
            "; no sub-processor inventory was given".into()
        },
        if d.baseline {
            "This pack is the baseline of its chain.".to_string()
        } else {
            format!(
                "Since the previous pack: open findings went from {} to {} ({} persisting, {} superseded, {} resolved, {} new), {} grant change(s).",
                d.findings.previous_open,
                d.findings.current_open,
                d.findings.persisting.len(),
                d.findings.superseded.len(),
                d.findings.resolved.len(),
                d.findings.new.len(),
                d.grants.len()
            )
        },
        findings.len(),
        a.analysis.matrix.len(),
        super::csv::POPULATION_FILE,
        a.analysis.population.len()
    );
    summary
}
