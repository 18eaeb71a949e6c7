//! CSV populations for auditors to sample from: RFC 4180, UTF-8, one header row, one record per
//! item, sorted.

use crate::analysis::{Analysis, Assessment, MATRIX_COLUMNS};
use crate::finding::{ExceptionRef, Finding, Severity};
use crate::inventory::RegisterRow;
use std::collections::BTreeMap;

fn write<R: IntoIterator<Item = Vec<String>>>(header: &[&str], rows: R) -> Vec<u8> {
    let mut w = crate::csv_out::writer(Vec::new());
    crate::csv_out::record(&mut w, header);
    for r in rows {
        crate::csv_out::record(&mut w, &r);
    }
    w.into_inner().expect("writing to memory")
}

fn join<T: std::fmt::Display>(v: &[T]) -> String {
    v.iter()
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

/// `subprocessors.csv`: one row per sub-processor of the register.
pub fn subprocessors(register: &[RegisterRow]) -> Vec<u8> {
    write(
        &[
            "id",
            "name",
            "vendor",
            "owner",
            "purpose",
            "data_categories",
            "data_residency",
            "contract",
            "certifications",
            "review_status",
            "declared_access",
            "observed_access",
            "updates",
            "identities_found",
            "identities_missing",
            "findings",
        ],
        register.iter().map(|r| {
            vec![
                r.id.clone(),
                r.name.clone(),
                r.vendor.clone(),
                r.owner.clone(),
                r.purpose.clone(),
                join(&r.data_categories),
                join(&r.data_residency),
                r.contract.clone(),
                join(&r.certifications),
                r.review.clone(),
                r.declared_access.clone(),
                r.observed_access.clone(),
                r.updates.clone(),
                join(&r.identities_found),
                join(&r.identities_missing),
                join(&r.findings),
            ]
        }),
    )
}

/// `access-matrix.csv`: one row per subject holding a privileged capability.
pub fn access_matrix(analysis: &Analysis) -> Vec<u8> {
    let mut header = vec![
        "subject_kind",
        "subject_namespace",
        "subject_name",
        "system",
        "sub_processor",
    ];
    header.extend(MATRIX_COLUMNS.iter().map(|(key, _, _)| *key));
    write(
        &header,
        analysis.matrix.iter().map(|row| {
            let mut r = vec![
                row.subject.kind().to_string(),
                row.subject.namespace().unwrap_or("").to_string(),
                row.subject.name().to_string(),
                if row.system { "yes" } else { "no" }.to_string(),
                row.sub_processor.clone().unwrap_or_default(),
            ];
            r.extend(
                MATRIX_COLUMNS
                    .iter()
                    .map(|(key, _, _)| row.cells.get(*key).cloned().unwrap_or_default()),
            );
            r
        }),
    )
}

/// How many grants, and the first few: a grouped finding can stand on thousands, which
/// findings.json lists one by one.
fn grants_cell(grants: &crate::rbac::grant_set::GrantSet) -> String {
    const SHOWN: usize = 5;
    let mut parts: Vec<String> = grants
        .iter()
        .take(SHOWN)
        .map(|g| format!("{} -> {} [{}]", g.binding, g.role, g.scope()))
        .collect();
    if grants.len() > SHOWN {
        parts.push(format!(
            "and {} more (all in findings.json)",
            grants.len() - SHOWN
        ));
    }
    parts.join("; ")
}

/// Per finding, the controls that cite it (deciding, related or accepted), as `framework id`.
fn controls_by_finding(assessment: &Assessment) -> BTreeMap<&str, Vec<String>> {
    let mut by_finding: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for c in &assessment.controls {
        for id in c.cited_findings() {
            by_finding
                .entry(id.as_str())
                .or_default()
                .push(format!("{} {}", c.framework, c.id));
        }
    }
    by_finding
}

/// `findings.csv`: one row per finding, with the controls it bears on and, when accepted, the
/// exception that accepted it.
pub fn findings(assessment: &Assessment) -> Vec<u8> {
    let analysis = &assessment.analysis;
    let controls = controls_by_finding(assessment);
    write(
        &[
            "id",
            "rule_id",
            "severity",
            "status",
            "system",
            "title",
            "summary",
            "subjects",
            "objects",
            "sub_processor",
            "namespaces",
            "grants",
            "controls",
            "exception",
            "exception_approver",
            "exception_expires",
        ],
        analysis.findings.iter().map(|f| {
            vec![
                f.id.clone(),
                f.rule_id.to_string(),
                f.severity.to_string(),
                match f.status {
                    crate::finding::FindingStatus::Open => "open",
                    crate::finding::FindingStatus::Accepted => "accepted",
                }
                .to_string(),
                if f.system { "yes" } else { "no" }.to_string(),
                f.title.clone(),
                f.summary.clone(),
                f.subjects
                    .iter()
                    .map(|s| s.to_string())
                    .collect::<Vec<_>>()
                    .join("; "),
                f.objects
                    .iter()
                    .map(|o| o.to_string())
                    .collect::<Vec<_>>()
                    .join("; "),
                f.sub_processor_text(),
                f.namespaces.join("; "),
                grants_cell(&f.grants),
                controls
                    .get(f.id.as_str())
                    .map(|c| c.join("; "))
                    .unwrap_or_default(),
                exception_field(f, |e| &e.id),
                exception_field(f, |e| &e.approver),
                exception_field(f, |e| &e.expires),
            ]
        }),
    )
}

fn exception_field(f: &Finding, field: impl Fn(&ExceptionRef) -> &String) -> String {
    f.exception.as_ref().map(field).cloned().unwrap_or_default()
}

/// `controls.csv`: one row per control, the file an auditor pastes into a workpaper: its
/// status and why, the rules that decide it, the open findings of those rules by severity, the
/// accepted ones and their exceptions, what could not be assessed and what a person must attach.
pub fn controls(assessment: &Assessment) -> Vec<u8> {
    let severity: BTreeMap<&str, Severity> = assessment
        .analysis
        .findings
        .iter()
        .map(|f| (f.id.as_str(), f.severity))
        .collect();
    let count = |ids: &[String], s: Severity| {
        ids.iter()
            .filter(|id| severity.get(id.as_str()) == Some(&s))
            .count()
            .to_string()
    };
    write(
        &[
            "framework",
            "control_id",
            "title",
            "status",
            "reason",
            "deciding_rules",
            "deciding_critical",
            "deciding_high",
            "deciding_medium",
            "deciding_low",
            "deciding_info",
            "related_open",
            "accepted",
            "exceptions",
            "not_assessed",
            "manual_evidence",
        ],
        assessment.controls.iter().map(|c| {
            vec![
                c.framework.clone(),
                c.id.clone(),
                c.title.clone(),
                c.status.as_str().to_string(),
                c.reason.clone(),
                join(&c.deciding_rules),
                count(&c.deciding_findings, Severity::Critical),
                count(&c.deciding_findings, Severity::High),
                count(&c.deciding_findings, Severity::Medium),
                count(&c.deciding_findings, Severity::Low),
                count(&c.deciding_findings, Severity::Info),
                c.related_findings.len().to_string(),
                c.accepted_findings.len().to_string(),
                join(&c.exceptions),
                join(&c.not_assessed),
                c.manual_evidence(),
            ]
        }),
    )
}

pub const POPULATION_FILE: &str = crate::files::ACCESS_POPULATION;

/// `access-population.csv.gz`: the complete population behind the access matrix, one row per
/// subject, capability and binding: every privileged holding, wherever held, including those
/// that are not findings (a ServiceAccount in its own namespace). Compressed: at 5,000
/// namespaces it has hundreds of thousands of rows.
pub fn population(analysis: &Analysis) -> Vec<u8> {
    use std::io::Write;
    let owners: std::collections::BTreeMap<&crate::rbac::SubjectRef, &str> = analysis
        .matrix
        .iter()
        .filter_map(|r| r.sub_processor.as_deref().map(|s| (&r.subject, s)))
        .collect();
    let mut w = crate::csv_out::writer(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::fast(),
    ));
    crate::csv_out::record(
        &mut w,
        [
            "subject_kind",
            "subject_namespace",
            "subject_name",
            "rule_id",
            "capability",
            "scope",
            "system",
            "sub_processor",
            "binding",
            "namespace",
            "role",
        ],
    );
    for p in &analysis.population {
        let title = crate::rules::rule(p.rule_id).title;
        for (binding, role) in &p.bindings {
            crate::csv_out::record(
                &mut w,
                [
                    p.subject.kind(),
                    p.subject.namespace().unwrap_or(""),
                    p.subject.name(),
                    p.rule_id.as_str(),
                    title,
                    p.scope.as_str(),
                    if p.system { "yes" } else { "no" },
                    owners.get(&p.subject).copied().unwrap_or(""),
                    &binding.to_string(),
                    binding.namespace.as_deref().unwrap_or(""),
                    &role.to_string(),
                ],
            );
        }
    }
    let mut gz = w.into_inner().expect("writing to memory");
    gz.flush().expect("writing to memory");
    gz.finish().expect("writing to memory")
}

/// The rows of `usage.csv.gz` (the pack compresses them): one per subject and access of the
/// usage record (the window), with the sub-processor the subject belongs to.
pub fn usage(
    record: &crate::audit::UsageRecord,
    owners: &std::collections::BTreeMap<String, String>,
) -> Vec<u8> {
    let time = |t: &chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    write(
        &[
            "subject",
            "sub_processor",
            "verb",
            "api_group",
            "resource",
            "subresource",
            "namespace",
            "non_resource_url",
            "first_seen",
            "last_seen",
            "requests",
            "allowed",
            "denied",
            "source_ips",
            "user_agents",
        ],
        record.subjects.iter().flat_map(|(subject, uses)| {
            uses.iter().map(move |u| {
                let a = &u.access;
                let mut ips: Vec<String> = u.source_ips.iter().cloned().collect();
                let mut agents: Vec<String> = u.user_agents.iter().cloned().collect();
                if u.sources_capped {
                    ips.push("(more not kept)".into());
                    agents.push("(more not kept)".into());
                }
                vec![
                    subject.clone(),
                    owners.get(subject).cloned().unwrap_or_default(),
                    a.verb.clone(),
                    a.api_group.clone(),
                    a.resource.clone(),
                    a.subresource.clone(),
                    a.namespace.clone(),
                    a.non_resource_url.clone(),
                    time(&u.first_seen),
                    time(&u.last_seen),
                    u.count.to_string(),
                    u.allowed.to_string(),
                    u.denied.to_string(),
                    join(&ips),
                    join(&agents),
                ]
            })
        }),
    )
}

/// `reviews.csv`: every row of every access review campaign, its decision and what became of it.
pub fn reviews(state: &crate::review::assess::ReviewState) -> Vec<u8> {
    let time = |t: &Option<chrono::DateTime<chrono::Utc>>| {
        t.map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
            .unwrap_or_default()
    };
    write(
        &[
            "campaign",
            "row",
            "subject",
            "access",
            "binding",
            "role",
            "reviewer",
            "decision",
            "decided_at",
            "reason",
            "status",
            "gone_since",
        ],
        state.campaigns.iter().flat_map(|c| {
            c.outcomes.iter().map(move |o| {
                vec![
                    c.id.clone(),
                    o.row.clone(),
                    o.subject.to_string(),
                    o.access.clone(),
                    o.binding.clone(),
                    o.role.clone(),
                    o.reviewer.clone(),
                    o.verdict
                        .map(|v| v.as_str().to_string())
                        .unwrap_or_default(),
                    time(&o.decided_at),
                    o.reason.clone(),
                    o.status.as_str().to_string(),
                    time(&o.gone_since),
                ]
            })
        }),
    )
}
