//! The access matrix: the subjects a report shows, and the whole population in counts.

use super::*;
use crate::analysis::{Assessment, MATRIX_COLUMNS};
use crate::finding::{Finding, FindingClass};
use crate::report::bounds;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize)]
pub struct MatrixView {
    pub subject: String,
    pub system: bool,
    pub sub_processor: String,
    pub cells: Vec<String>,
    /// The most severe open finding about the subject, to link to (empty when none).
    pub finding: String,
}

/// The rows of the access matrix the report shows, each linked to its subject's most severe
/// open finding; the population's lines and the note on what the report leaves to the CSVs.
pub(super) fn matrix_section(a: &Assessment) -> (Vec<MatrixView>, Vec<PopulationLine>, String) {
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
        crate::report::csv::POPULATION_FILE,
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
