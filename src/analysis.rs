//! The analysis stage: from a snapshot to findings and the privileged access matrix. Pure and
//! deterministic: the same snapshot always gives the same analysis.

use crate::finding::{Finding, sort_findings};
use crate::inventory::{Inventory, RegisterRow, reconcile};
use crate::rbac::SubjectRef;
use crate::rbac::aggregation::AggregationDrift;
use crate::rbac::index::RbacIndex;
use crate::rbac::reach::ReachGraph;
use crate::rules::{self, RuleContext};
use crate::snapshot::Snapshot;
use chrono::NaiveDate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The columns of the privileged access matrix, each backed by one or two rules.
pub const MATRIX_COLUMNS: &[(&str, &str, &[&str])] = &[
    (
        "clusterAdmin",
        "cluster-admin equivalence",
        &["KE-RBAC-001", "KE-RBAC-026"],
    ),
    (
        "readSecrets",
        "read Secrets",
        &["KE-RBAC-003", "KE-RBAC-004"],
    ),
    ("execAttach", "exec/attach", &["KE-RBAC-005"]),
    ("createWorkloads", "create workloads", &["KE-RBAC-006"]),
    ("rbacWrite", "RBAC write", &["KE-RBAC-007"]),
    ("impersonate", "impersonate", &["KE-RBAC-008"]),
    ("tokenMinting", "token minting", &["KE-RBAC-009"]),
    ("webhookWrite", "webhook write", &["KE-RBAC-012"]),
    ("nodeProxy", "node proxy", &["KE-RBAC-010"]),
];

/// One subject's privileged capabilities: per column, where it holds it ("cluster-wide", a list
/// of namespaces, or "via escalation"), empty where it does not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MatrixRow {
    pub subject: SubjectRef,
    pub system: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_processor: Option<String>,
    /// Column key -> scope.
    pub cells: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Analysis {
    pub findings: Vec<Finding>,
    pub matrix: Vec<MatrixRow>,
    pub aggregation_drift: Vec<AggregationDrift>,
    /// The sub-processor register against the cluster (empty without an inventory).
    #[serde(default)]
    pub register: Vec<RegisterRow>,
}

/// The RBAC part of the analysis, with the index and graph kept for further questions.
pub struct RbacAnalysis {
    pub index: RbacIndex,
    pub reach: ReachGraph,
    pub analysis: Analysis,
}

pub fn analyze_rbac(snapshot: &Snapshot) -> RbacAnalysis {
    analyze(snapshot, None, snapshot.taken_at.date_naive())
}

/// The whole analysis: RBAC rules, and with an inventory (the argument, or the one the snapshot
/// carries) the sub-processor reconciliation, dated `today`.
pub fn analyze(
    snapshot: &Snapshot,
    inventory: Option<&Inventory>,
    today: NaiveDate,
) -> RbacAnalysis {
    let index = RbacIndex::build(snapshot);
    let reach = ReachGraph::build(&index, snapshot);
    let mut findings = rules::evaluate(&RuleContext {
        snapshot,
        index: &index,
        reach: &reach,
    });
    let mut register = Vec::new();
    if let Some(inv) = inventory.or(snapshot.inventory.as_ref()) {
        let rec = reconcile(inv, snapshot, &index, &reach, today);
        // RBAC findings about a sub-processor's identities name it.
        for f in &mut findings {
            if f.sub_processor.is_none() {
                f.sub_processor = f.subjects.iter().find_map(|s| rec.owners.get(s).cloned());
            }
        }
        findings.extend(rec.findings);
        register = rec.register;
        sort_findings(&mut findings);
    }
    let matrix = matrix(&findings);
    let aggregation_drift = index.aggregation_drift.clone();
    RbacAnalysis {
        index,
        reach,
        analysis: Analysis {
            findings,
            matrix,
            aggregation_drift,
            register,
        },
    }
}

/// Builds the matrix from the subject findings of the matrix rules.
pub fn matrix(findings: &[Finding]) -> Vec<MatrixRow> {
    let mut rows: BTreeMap<SubjectRef, MatrixRow> = BTreeMap::new();
    for f in findings {
        let Some((key, _, _)) = MATRIX_COLUMNS
            .iter()
            .find(|(_, _, rules)| rules.contains(&f.rule_id.as_str()))
        else {
            continue;
        };
        let [subject] = f.subjects.as_slice() else {
            continue;
        };
        let row = rows.entry(subject.clone()).or_insert_with(|| MatrixRow {
            subject: subject.clone(),
            system: f.system,
            sub_processor: f.sub_processor.clone(),
            cells: BTreeMap::new(),
        });
        row.system &= f.system;
        let scope = match f.rule_id.as_str() {
            "KE-RBAC-026" => format!("via escalation ({} steps)", f.path.len()),
            _ => {
                let cluster = f.grants.iter().any(|g| g.namespace.is_none());
                let mut parts = Vec::new();
                if cluster {
                    parts.push("cluster-wide".to_string());
                }
                if !f.namespaces.is_empty() {
                    parts.push(f.namespaces.join(" "));
                }
                parts.join("; ")
            }
        };
        let cell = row.cells.entry(key.to_string()).or_default();
        if cell.is_empty() {
            *cell = scope;
        } else if !cell.contains(&scope) {
            // Cluster-wide reach comes first: it is what the column asks.
            *cell = if scope.starts_with("cluster-wide") {
                format!("{scope}; {cell}")
            } else {
                format!("{cell}; {scope}")
            };
        }
    }
    rows.into_values().collect()
}
