//! The report model: every statement of the human reports, already worded and ordered, so the HTML
//! and the PDF say exactly the same thing. Built once from the run's data; pure.

use super::ReportInput;
use super::bounds;
use super::trend::TrendPoint;
use crate::analysis::{Assessment, MATRIX_COLUMNS};
use crate::controls::ControlStatus;
use crate::exceptions::ExceptionState;
use crate::finding::{Finding, FindingClass, Severity};
use crate::inventory::RegisterRow;
use crate::rbac::Grant;
use crate::rules::RuleId;
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

#[derive(Debug, Clone, Serialize)]
pub struct Cover {
    pub cluster: String,
    pub cluster_id: String,
    pub collected_at: String,
    pub pack_id: String,
    pub previous_pack_id: String,
    pub tool: String,
    pub signing: String,
    pub signed: bool,
    /// "Audit scope and integrity": what the pack rests on, in the order page 1 states it.
    pub scope: Vec<ScopeRow>,
}

/// One line of the audit scope and integrity box; `alert` lines are what an auditor must not
/// miss (files rather than the live API, incomplete collection, no signature).
#[derive(Debug, Clone, Serialize)]
pub struct ScopeRow {
    pub label: String,
    pub value: String,
    pub alert: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Count {
    pub label: String,
    pub count: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct FrameworkView {
    pub id: String,
    pub name: String,
    pub counts: Vec<Count>,
    pub controls: Vec<ControlView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ControlView {
    pub id: String,
    pub title: String,
    /// The status token (`manual-evidence-required`), for styling.
    pub status: String,
    /// The status in words (`automated checks pass; manual evidence required`).
    pub status_label: String,
    pub reason: String,
    /// When the control is satisfied, from its definition.
    pub criterion: String,
    /// How many open findings decide it (findings.json lists them).
    pub deciding: usize,
    /// How many findings accepted by exceptions it cites (listed after the deciding ones,
    /// labelled accepted; they do not decide it).
    pub accepted: usize,
    /// The id of its row, for links to it.
    pub anchor: String,
    /// What a person must attach (the control's manual evidence), or empty.
    pub manual: String,
    /// Links to its deciding findings, then its accepted ones.
    pub findings: Vec<Link>,
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

#[derive(Debug, Clone, Serialize)]
pub struct MatrixView {
    pub subject: String,
    pub system: bool,
    pub sub_processor: String,
    pub cells: Vec<String>,
    /// The most severe open finding about the subject, to link to (empty when none).
    pub finding: String,
}

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

#[derive(Debug, Clone, Serialize)]
pub struct Methodology {
    pub source: String,
    pub identity: String,
    pub complete: bool,
    pub kinds: Vec<KindView>,
    pub ignored: Vec<Count>,
    pub ruleset_digest: String,
    pub controls_digest: String,
    pub rules: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct KindView {
    pub kind: String,
    pub status: String,
    pub count: u64,
    pub message: String,
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

/// How many grant and object changes a report shows (privileged grants first); changes.csv has
/// them all.
pub const CHANGES_SHOWN: usize = bounds::TABLE_ROWS;

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

fn finding_view(f: &Finding) -> FindingView {
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
fn population_lines(population: &[crate::analysis::PopulationEntry]) -> Vec<PopulationLine> {
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

/// The audit scope and integrity box, read from the snapshot, the assessment and the run's
/// inputs (never recomputed elsewhere).
/// The cover's scope table: where the evidence came from, what it covers, and what proves it.
fn scope_rows(input: &ReportInput<'_>) -> Vec<ScopeRow> {
    let mut rows = source_rows(input);
    rows.extend(coverage_rows(input));
    rows.extend(proof_rows(input));
    rows
}

/// Where the evidence came from: a live API server or files, as whom, which cluster.
fn source_rows(input: &ReportInput<'_>) -> Vec<ScopeRow> {
    let snapshot = input.snapshot;
    let collector = &snapshot.collector;
    let mut rows = Vec::new();
    let mut row = |label: &str, value: String, alert: bool| {
        rows.push(ScopeRow {
            label: label.into(),
            value,
            alert,
        })
    };
    let live = collector.identity.is_some() || collector.source.starts_with("cluster");
    row(
        "Data source",
        if live {
            format!(
                "read by the tool from the cluster's API server ({})",
                collector.source
            )
        } else {
            format!(
                "files supplied to the tool ({}): not system-generated evidence; whoever supplied them could have edited them",
                collector.source
            )
        },
        !live,
    );
    row(
        "Collector identity",
        match &collector.identity {
            Some(id) if id.groups.is_empty() => id.username.clone(),
            Some(id) => format!("{} (groups: {})", id.username, id.groups.join(", ")),
            None => "not applicable: files, not a live collection".into(),
        },
        false,
    );
    row(
        "API server version",
        snapshot
            .cluster
            .server_version
            .clone()
            .unwrap_or_else(|| "not known (not collected from a live API server)".into()),
        false,
    );
    row(
        "Cluster id",
        snapshot
            .cluster
            .id
            .clone()
            .unwrap_or_else(|| "unknown (kube-system namespace not collected)".into()),
        false,
    );
    rows
}

/// What the evidence covers: completeness, the kinds read, the period and the chain.
fn coverage_rows(input: &ReportInput<'_>) -> Vec<ScopeRow> {
    let snapshot = input.snapshot;
    let collector = &snapshot.collector;
    let mut rows = Vec::new();
    let mut row = |label: &str, value: String, alert: bool| {
        rows.push(ScopeRow {
            label: label.into(),
            value,
            alert,
        })
    };
    // The required kinds, as `Collector::is_complete` judges them.
    let incomplete: Vec<String> = crate::snapshot::ResourceKind::ALL
        .iter()
        .filter(|k| k.is_required())
        .filter_map(|k| match collector.kinds.get(k.name()) {
            Some(c) if c.status.counts_as_collected() => None,
            Some(c) => Some(format!("{} {}", k.name(), c.status.as_str())),
            None => Some(format!("{} not-collected", k.name())),
        })
        .collect();
    // What was not read on purpose (out of scope by configuration) and what was not read but
    // only refines the picture, told apart from what is missing.
    let skipped: Vec<&String> = collector
        .kinds
        .iter()
        .filter(|(_, c)| c.status == crate::snapshot::CollectionStatus::Skipped)
        .map(|(k, _)| k)
        .collect();
    let supplementary: Vec<String> = collector
        .supplementary_gaps()
        .iter()
        .map(|(k, c)| format!("{} {}", k.name(), c.status.as_str()))
        .collect();
    let mut completeness = if incomplete.is_empty() {
        let complete = collector
            .kinds
            .values()
            .filter(|c| c.status == crate::snapshot::CollectionStatus::Complete)
            .count();
        format!(
            "complete: every kind the analysis requires was read in full ({complete} of {} kinds read in full; Methodology lists each)",
            collector.kinds.len()
        )
    } else {
        format!(
            "INCOMPLETE: {}; controls that need them are not assessed",
            incomplete.join(", ")
        )
    };
    if !skipped.is_empty() {
        completeness.push_str(&format!(
            "; out of scope by configuration, not read: {} (the rules that need them are not assessed)",
            skipped
                .iter()
                .map(|k| k.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if !supplementary.is_empty() {
        completeness.push_str(&format!(
            "; not read, and only used to name workloads: {}",
            supplementary.join(", ")
        ));
    }
    row("Completeness", completeness, !incomplete.is_empty());
    row(
        "Kinds read",
        collector
            .kinds
            .iter()
            .map(|(kind, c)| match c.status {
                crate::snapshot::CollectionStatus::Complete => format!("{kind} {}", c.count),
                other => format!("{kind} {} ({})", c.count, other.as_str()),
            })
            .collect::<Vec<_>>()
            .join(", "),
        false,
    );
    let collected = snapshot.taken_at.format("%Y-%m-%d %H:%M:%S UTC");
    row(
        "Period covered",
        match &input.assessment.basis.previous_pack {
            Some(p) => format!(
                "{} (previous pack) to {collected}",
                p.collected_at.format("%Y-%m-%d %H:%M:%S UTC")
            ),
            None => {
                format!("the state at {collected} only: this pack is the baseline of its chain")
            }
        },
        false,
    );
    row(
        "Chain",
        match (
            &input.assessment.basis.previous_pack,
            &input.previous_manifest_sha256,
        ) {
            (Some(p), Some(digest)) => format!(
                "follows pack {}, whose manifest.json has SHA-256 {digest}",
                p.pack_id
            ),
            _ => "first pack of its chain".into(),
        },
        false,
    );
    rows
}

/// What proves it: the signature, the digests of the inputs and the rule catalog, the tool.
fn proof_rows(input: &ReportInput<'_>) -> Vec<ScopeRow> {
    let mut rows = Vec::new();
    let mut row = |label: &str, value: String, alert: bool| {
        rows.push(ScopeRow {
            label: label.into(),
            value,
            alert,
        })
    };
    row(
        "Signature",
        match &input.signing_key_fingerprint {
            Some(fp) => format!(
                "signed with Ed25519 key {fp}{} (manifest.json.sig, SHA256SUMS.sig); verify against the allowed-signers line the cluster's owner gave you",
                input
                    .signer
                    .as_ref()
                    .map(|s| format!(", named {s} by its owner"))
                    .unwrap_or_default()
            ),
            None => "UNSIGNED: nothing proves who produced this pack".into(),
        },
        input.signing_key_fingerprint.is_none(),
    );
    for what in ["inventory", "exceptions", "controls"] {
        let label = format!("Input: {what}");
        let value = match input.inputs.iter().find(|f| f.what == what) {
            Some(f) => format!("{}, SHA-256 {}", f.origin, f.sha256),
            None if what == "controls" => format!("SHA-256 {}", input.controls_digest),
            None => "none given".into(),
        };
        row(&label, value, false);
    }
    row(
        "Rule catalog",
        format!("SHA-256 {}", crate::rules::catalog::digest()),
        false,
    );
    row(
        "Tool",
        format!(
            "{} {} ({})",
            crate::TOOL_NAME,
            crate::TOOL_VERSION,
            crate::TOOL_REVISION
        ),
        false,
    );
    rows
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

/// A row of the sub-processor register as the reports show it: the register's row with its
/// lists capped, links to its findings, and the findings in counts per rule.
#[derive(Debug, Clone, Serialize)]
pub struct RegisterView {
    #[serde(flatten)]
    pub row: RegisterRow,
    /// Its findings, the first [`bounds::LIST`] as links.
    pub links: Vec<Link>,
    /// All its findings by rule (`KE-SUB-009 ×2`).
    pub rule_counts: String,
}

fn register_views(rows: &[RegisterRow]) -> (Vec<RegisterView>, String) {
    let list = |v: &[String]| {
        bounded_to(
            bounds::REGISTER_LIST,
            bounds::register_text,
            v.iter().cloned(),
            v.len(),
            "items",
            crate::files::SUBPROCESSORS_CSV,
        )
    };
    let (shown, left) = bounds::take(
        rows.iter().map(|r| {
            let mut links: Vec<Link> = r
                .findings
                .iter()
                .map(|id| Link {
                    label: id.clone(),
                    anchor: id.clone(),
                })
                .collect();
            cap_links(&mut links, bounds::REGISTER_LIST);
            let mut row = r.clone();
            row.identities_found = list(&r.identities_found);
            row.identities_missing = list(&r.identities_missing);
            row.certifications = list(&r.certifications);
            row.data_categories = list(&r.data_categories);
            row.data_residency = list(&r.data_residency);
            for text in [
                &mut row.name,
                &mut row.vendor,
                &mut row.owner,
                &mut row.purpose,
                &mut row.contract,
                &mut row.review,
                &mut row.updates,
            ] {
                // The register's columns are narrow.
                *text = bounds::register_text(text);
            }
            row.findings = Vec::new();
            RegisterView {
                rule_counts: bounds::register_text(&rule_counts(&r.findings)),
                links,
                row,
            }
        }),
        bounds::TABLE_ROWS,
    );
    let note = bounds::more_note(
        shown.len(),
        left,
        "sub-processors",
        crate::files::SUBPROCESSORS_CSV,
    );
    (shown, note)
}

/// Findings by rule (`KE-SUB-009 ×2`), not by their hash-like ids (findings.json has those).
pub fn rule_counts(finding_ids: &[String]) -> String {
    let mut by_rule: BTreeMap<&str, usize> = BTreeMap::new();
    for id in finding_ids {
        // `KE-SUB-009-df006e41a8`: the rule id is all but the last part.
        let rule = id.rsplit_once('-').map_or(id.as_str(), |(rule, _)| rule);
        *by_rule.entry(rule).or_default() += 1;
    }
    by_rule
        .into_iter()
        .map(|(rule, n)| {
            if n == 1 {
                rule.to_string()
            } else {
                format!("{rule} ×{n}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The access reviews section: coverage of today's population, and per campaign its progress
/// and what became of its revocations.
#[derive(Debug, Clone, Serialize)]
pub struct ReviewsView {
    pub coverage: String,
    /// Per open campaign with rows undecided: how many, by reviewer, and the days left or
    /// overdue (`reviews.outstanding`).
    pub reminders: Vec<String>,
    pub campaigns: Vec<CampaignView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CampaignView {
    pub heading: String,
    pub reviewers: Vec<String>,
    /// Revocations and reductions, each with what became of it.
    pub revocations: Vec<String>,
    pub files: Vec<String>,
}

fn reviews_view(r: &crate::review::assess::ReviewState) -> ReviewsView {
    use crate::review::assess::RowStatus;
    let c = &r.coverage;
    let coverage = format!(
        "Of today's {} privileged grants, {} were reviewed in the last {} days, {} wait in an open campaign, {} appeared after the last campaign, and {} were not reviewed in the period.",
        c.population,
        c.reviewed_in_period,
        c.period_days,
        c.pending,
        c.new_since_last_campaign,
        c.not_reviewed
    );
    let day = |t: &Option<chrono::DateTime<chrono::Utc>>| {
        t.map(|t| t.format("%Y-%m-%d").to_string())
            .unwrap_or_default()
    };
    let campaigns: Vec<CampaignView> = r
        .campaigns
        .iter()
        .map(|k| CampaignView {
            heading: format!(
                "Campaign {} (population of pack {}, started {}, due {}): {} of {} grants decided",
                k.id,
                k.pack_id,
                k.created_at.format("%Y-%m-%d"),
                k.due,
                k.decided,
                k.rows
            ),
            reviewers: bounded(
                k.by_reviewer
                    .iter()
                    .map(|(who, (n, d))| format!("{who}: {d} of {n} grants decided")),
                k.by_reviewer.len(),
                "reviewers",
                crate::files::REVIEWS_CSV,
            ),
            revocations: bounded(
                k.outcomes
                    .iter()
                    .filter(|o| o.verdict.is_some_and(|v| v.removes()))
                    .map(|o| {
                        let what = match o.status {
                            RowStatus::RevokedCarriedOut => {
                                format!("carried out: gone since {}", day(&o.gone_since))
                            }
                            RowStatus::RevocationOverdue => "OUTSTANDING past its deadline".into(),
                            _ => "pending, within its deadline".into(),
                        };
                        format!(
                            "{} {} ({} -> {}), decided {} by {}: {what}",
                            o.subject,
                            o.access,
                            o.binding,
                            o.role,
                            day(&o.decided_at),
                            o.reviewer
                        )
                    }),
                k.outcomes
                    .iter()
                    .filter(|o| o.verdict.is_some_and(|v| v.removes()))
                    .count(),
                "revocations and reductions",
                crate::files::REVIEWS_CSV,
            ),
            files: bounded(
                k.submissions.iter().map(|s| {
                    let standing = match (&s.problem, s.late) {
                        (Some(p), _) => format!("not counted: {p}"),
                        (None, true) => "late".into(),
                        (None, false) => "counted".into(),
                    };
                    format!(
                        "{} by {} at {}: {standing}",
                        s.key,
                        s.reviewer.as_deref().unwrap_or("unknown signer"),
                        s.submitted_at.format("%Y-%m-%d %H:%M UTC")
                    )
                }),
                k.submissions.len(),
                "decision files",
                crate::files::REVIEWS_CSV,
            ),
        })
        .collect();
    let reminders = bounded(
        r.outstanding.iter().map(reminder),
        r.outstanding.len(),
        "open campaigns",
        crate::files::FINDINGS_JSON,
    );
    let (campaigns, left) = bounds::take(campaigns, bounds::CAMPAIGNS);
    let coverage = if left > 0 {
        format!(
            "{coverage} The first {} of {} campaigns are shown; reviews.csv lists every row of each.",
            campaigns.len(),
            campaigns.len() + left
        )
    } else {
        coverage
    };
    ReviewsView {
        coverage,
        reminders,
        campaigns,
    }
}

/// One open campaign's reminder: "Campaign X, due D (3 days overdue): 12 of 40 rows undecided:
/// a@ 10, b@ 2."
fn reminder(o: &crate::review::assess::Outstanding) -> String {
    let waiting: Vec<String> = o
        .by_reviewer
        .iter()
        .take(bounds::LIST)
        .map(|(who, n)| format!("{who} {n}"))
        .collect();
    let more = o.by_reviewer.len().saturating_sub(waiting.len());
    format!(
        "Campaign {}, due {} ({}): {} of its {} rows undecided, by reviewer: {}{}.",
        o.campaign,
        o.due,
        if o.overdue() {
            o.time_left().to_uppercase()
        } else {
            o.time_left()
        },
        o.undecided,
        o.rows,
        waiting.join(", "),
        if more > 0 {
            format!(" and {more} more reviewers")
        } else {
            String::new()
        }
    )
}

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

fn usage_view(u: &crate::audit::UsageSummary) -> UsageView {
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

/// The cover: which cluster, when, which pack, which tool, signed or not, and the scope.
fn cover(input: &ReportInput<'_>) -> Cover {
    let snapshot = input.snapshot;
    let a = input.assessment;
    Cover {
        cluster: snapshot.cluster.name.clone(),
        cluster_id: snapshot
            .cluster
            .id
            .clone()
            .unwrap_or_else(|| "unknown (kube-system namespace not collected)".into()),
        collected_at: snapshot
            .taken_at
            .format("%Y-%m-%d %H:%M:%S UTC")
            .to_string(),
        pack_id: input.pack_id.to_string(),
        previous_pack_id: a
            .diff
            .from
            .as_ref()
            .and_then(|f| f.pack_id.clone())
            .unwrap_or_else(|| "none: this pack is the baseline".into()),
        tool: format!(
            "{} {} ({})",
            crate::TOOL_NAME,
            crate::TOOL_VERSION,
            crate::TOOL_REVISION
        ),
        signing: match &input.signing_key_fingerprint {
            Some(fp) => format!("signed, Ed25519 key {fp}"),
            None => "UNSIGNED: this pack carries no signature and cannot be verified as authentic"
                .into(),
        },
        signed: input.signing_key_fingerprint.is_some(),
        scope: scope_rows(input),
    }
}

/// Per framework: its controls with status and reason, and the count of each status.
fn framework_views(
    input: &ReportInput<'_>,
    control_counts: &BTreeMap<(String, ControlStatus), usize>,
) -> Vec<FrameworkView> {
    let a = input.assessment;
    let mut frameworks = Vec::new();
    for fw in &input.frameworks {
        let controls: Vec<ControlView> = a
            .controls
            .iter()
            .filter(|c| c.framework == fw.id)
            .map(|c| ControlView {
                id: c.id.clone(),
                title: c.title.clone(),
                status: c.status.as_str().into(),
                status_label: c.status.label().into(),
                reason: bounds::clip(&c.reason),
                criterion: bounds::clip(&c.criterion),
                deciding: c.deciding_findings.len(),
                accepted: c.accepted_findings.len(),
                anchor: control_anchor(&c.framework, &c.id),
                manual: c.manual_evidence(),
                findings: c
                    .deciding_findings
                    .iter()
                    .map(|id| Link {
                        label: id.clone(),
                        anchor: id.clone(),
                    })
                    .chain(c.accepted_findings.iter().map(|id| Link {
                        label: format!("{id} (accepted)"),
                        anchor: id.clone(),
                    }))
                    .collect(),
            })
            .collect();
        let counts = ControlStatus::ALL
            .iter()
            .map(|s| Count {
                label: s.as_str().into(),
                count: control_counts
                    .get(&(fw.id.clone(), *s))
                    .copied()
                    .unwrap_or(0),
            })
            .collect();
        frameworks.push(FrameworkView {
            id: fw.id.clone(),
            name: fw.name.clone(),
            counts,
            controls,
        });
    }
    frameworks
}

/// The open findings grouped by severity (then those accepted by exceptions), how many are
/// open, and those about system components.
fn finding_sections(a: &Assessment) -> (Vec<FindingGroup>, usize, Vec<FindingRow>, String) {
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

fn finding_row(f: &Finding) -> FindingRow {
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
fn rule_summaries(a: &Assessment) -> Vec<RuleSummary> {
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
fn causes(a: &Assessment) -> (Vec<CauseView>, String) {
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

/// The rows of the access matrix the report shows, each linked to its subject's most severe
/// open finding; the population's lines and the note on what the report leaves to the CSVs.
fn matrix_section(a: &Assessment) -> (Vec<MatrixView>, Vec<PopulationLine>, String) {
    let findings = &a.analysis.findings;
    // Per subject, its most severe open finding: where the matrix links to.
    let mut worst_finding: BTreeMap<&crate::rbac::SubjectRef, &Finding> = BTreeMap::new();
    for f in findings.iter().filter(|f| f.class() == FindingClass::Open) {
        for s in &f.subjects {
            let slot = worst_finding.entry(s).or_insert(f);
            if f.severity > slot.severity {
                *slot = f;
            }
        }
    }
    let mut beyond: Vec<&crate::analysis::MatrixRow> = a
        .analysis
        .matrix
        .iter()
        .filter(|r| {
            r.widest_scope != Some(crate::finding::Scope::Local)
                || r.cells.contains_key("clusterAdmin")
        })
        .collect();
    // Those reaching cluster-admin first, then the widest scopes; the matrix's order within.
    beyond.sort_by_key(|r| {
        (
            !r.cells.contains_key("clusterAdmin"),
            std::cmp::Reverse(r.widest_scope),
        )
    });
    let beyond_local = beyond.len();
    let (shown_rows, _) = bounds::take(beyond, bounds::MATRIX_ROWS);
    let population = population_lines(&a.analysis.population);
    let holdings: usize = a.analysis.population.iter().map(|p| p.bindings.len()).sum();
    let shown = if shown_rows.len() < beyond_local {
        format!(
            "the first {} of the {beyond_local} (those reaching cluster-admin first, then the widest scopes)",
            shown_rows.len()
        )
    } else {
        format!("the {beyond_local}")
    };
    let population_note = format!(
        "The access matrix holds {} subject(s); this report shows {shown} whose privileged access reaches beyond their own namespace (cluster-wide, broad or foreign) or who reach cluster-admin. access-matrix.csv lists all {} subjects, and {} lists the {} holding(s) behind them, binding by binding ({} rows).",
        a.analysis.matrix.len(),
        a.analysis.matrix.len(),
        super::csv::POPULATION_FILE,
        a.analysis.population.len(),
        holdings
    );
    let matrix: Vec<MatrixView> = shown_rows
        .into_iter()
        .map(|r| MatrixView {
            subject: bounds::name(&r.subject.to_string()),
            system: r.system,
            sub_processor: bounds::name(&r.sub_processor.clone().unwrap_or_default()),
            cells: MATRIX_COLUMNS
                .iter()
                .map(|(key, _, _)| r.cells.get(*key).cloned().unwrap_or_default())
                .collect(),
            finding: worst_finding
                .get(&r.subject)
                .map(|f| f.id.clone())
                .unwrap_or_default(),
        })
        .collect();
    (matrix, population, population_note)
}

/// What changed since the previous pack, bounded to what a reader can take in.
fn changes_view(d: &crate::diff::Diff) -> ChangesView {
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

fn finding_line(f: &crate::diff::FindingRef) -> String {
    match &f.note {
        Some(note) => format!("{} ({}): {} [{note}]", f.id, f.severity, f.summary),
        None => format!("{} ({}): {}", f.id, f.severity, f.summary),
    }
}

/// Privileged grants gained since the previous pack, bounded.
fn privileged_gains(d: &crate::diff::Diff) -> Vec<String> {
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
fn new_findings_from(
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
fn grant_change_views(d: &crate::diff::Diff) -> Vec<GrantChangeView> {
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
fn object_change_views(d: &crate::diff::Diff) -> Vec<ObjectChangeView> {
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

/// The exceptions register with each exception's state.
fn exception_views(a: &Assessment) -> (Vec<ExceptionView>, String) {
    let (shown, left) = bounds::take(a.exceptions.iter().map(exception_view), bounds::TABLE_ROWS);
    let note = bounds::more_note(shown.len(), left, "exceptions", crate::files::FINDINGS_JSON);
    (shown, note)
}

fn exception_view(o: &crate::exceptions::ExceptionOutcome) -> ExceptionView {
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

/// How the evidence was collected: source, identity, completeness per kind, digests.
fn methodology(input: &ReportInput<'_>) -> Methodology {
    let snapshot = input.snapshot;
    let collector = &snapshot.collector;
    Methodology {
        source: collector.source.clone(),
        identity: match &collector.identity {
            Some(id) if id.groups.is_empty() => id.username.clone(),
            Some(id) => format!("{} (groups: {})", id.username, id.groups.join(", ")),
            None => "not applicable: read from a dump, not from a live cluster".into(),
        },
        complete: collector.is_complete(),
        kinds: collector
            .kinds
            .iter()
            .map(|(k, c)| KindView {
                kind: k.clone(),
                status: c.status.as_str().into(),
                count: c.count,
                message: c.message.clone().unwrap_or_default(),
            })
            .collect(),
        ignored: collector
            .ignored_kinds
            .iter()
            .map(|(k, n)| Count {
                label: k.clone(),
                count: *n as usize,
            })
            .collect(),
        ruleset_digest: crate::rules::catalog::digest(),
        controls_digest: input.controls_digest.clone(),
        rules: crate::rules::catalog::CATALOG.len(),
    }
}

/// How an auditor verifies this pack, with and without the tool.
fn verification(input: &ReportInput<'_>) -> Vec<String> {
    let snapshot = input.snapshot;
    let cluster = &snapshot.cluster.name;
    vec![
        format!(
            "kube-evidence verify <store>/{cluster}/packs/{}/{}/{}/{} --allowed-signers allowed_signers",
            snapshot.taken_at.format("%Y"),
            snapshot.taken_at.format("%m"),
            snapshot.taken_at.format("%d"),
            input.pack_id
        ),
        "Every file of the pack is listed in manifest.json with its SHA-256 and size; verify recomputes them, checks the Ed25519 signature (manifest.json.sig) against the allowed signers and follows previous.manifestSha256 back through the chain.".into(),
        "Without the tool, in the pack directory (the full procedure is in kube-evidence's docs/auditors.md): ssh-keygen -Y verify -f allowed_signers -I <identity> -n kube-evidence -s SHA256SUMS.sig < SHA256SUMS, the same for manifest.json.sig < manifest.json, then sha256sum --strict -c SHA256SUMS, and check that no file is present that SHA256SUMS does not list.".into(),
    ]
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
