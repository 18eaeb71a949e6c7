//! CSV populations for auditors to sample from: RFC 4180, UTF-8, one header row, one record per
//! item, sorted.

use crate::analysis::{Analysis, MATRIX_COLUMNS};
use crate::inventory::RegisterRow;

fn write<R: IntoIterator<Item = Vec<String>>>(header: &[&str], rows: R) -> Vec<u8> {
    let mut w = ::csv::WriterBuilder::new()
        .terminator(::csv::Terminator::CRLF)
        .from_writer(Vec::new());
    w.write_record(header).expect("writing to memory");
    for r in rows {
        w.write_record(&r).expect("writing to memory");
    }
    w.into_inner().expect("writing to memory")
}

fn join(v: &[String]) -> String {
    v.join("; ")
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
            "certifications",
            "review_status",
            "declared_access",
            "observed_access",
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
                join(&r.certifications),
                r.review.clone(),
                r.declared_access.clone(),
                r.observed_access.clone(),
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

/// `findings.csv`: one row per finding.
pub fn findings(analysis: &Analysis) -> Vec<u8> {
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
            "exception",
        ],
        analysis.findings.iter().map(|f| {
            vec![
                f.id.clone(),
                f.rule_id.clone(),
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
                f.sub_processor.clone().unwrap_or_default(),
                f.namespaces.join("; "),
                grants_cell(&f.grants),
                f.exception
                    .as_ref()
                    .map(|e| e.id.clone())
                    .unwrap_or_default(),
            ]
        }),
    )
}

pub const POPULATION_FILE: &str = "access-population.csv.gz";

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
    let mut w = ::csv::WriterBuilder::new()
        .terminator(::csv::Terminator::CRLF)
        .from_writer(flate2::write::GzEncoder::new(
            Vec::new(),
            flate2::Compression::fast(),
        ));
    w.write_record([
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
    ])
    .expect("writing to memory");
    for p in &analysis.population {
        let title = crate::rules::rule(p.rule_id).title;
        for (binding, role) in &p.bindings {
            w.write_record([
                p.subject.kind(),
                p.subject.namespace().unwrap_or(""),
                p.subject.name(),
                p.rule_id,
                title,
                p.scope.as_str(),
                if p.system { "yes" } else { "no" },
                owners.get(&p.subject).copied().unwrap_or(""),
                &binding.to_string(),
                binding.namespace.as_deref().unwrap_or(""),
                &role.to_string(),
            ])
            .expect("writing to memory");
        }
    }
    let mut gz = w.into_inner().expect("writing to memory");
    gz.flush().expect("writing to memory");
    gz.finish().expect("writing to memory")
}
