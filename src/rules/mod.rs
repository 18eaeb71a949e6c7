//! Risk rules: the catalog (stable IDs, texts) and the evaluation that turns a snapshot's
//! effective permissions into findings. Evaluation is pure and deterministic; each finding names
//! the subjects and the grants behind it.

pub mod catalog;
pub mod grants;
mod hygiene;
mod privilege;
pub mod system;

pub use catalog::{CATALOG, Family, RuleDef, RuleId, rule};

use crate::finding::{Finding, FindingStatus, sort_findings};
use crate::rbac::aggregation::AggregationDrift;
use crate::rbac::index::RbacIndex;
use crate::rbac::privilege::PrivilegeTable;
use crate::rbac::reach::ReachGraph;
use crate::snapshot::Snapshot;

/// What the rules look at.
pub struct RuleContext<'a> {
    pub snapshot: &'a Snapshot,
    pub index: &'a RbacIndex,
    /// Every subject's cluster-admin reach, computed once (KE-RBAC-001 and KE-RBAC-026 read it).
    pub privilege: &'a PrivilegeTable,
    /// The escalation graph the table was computed from (KE-RBAC-026 reads each subject's ways
    /// in from it).
    pub reach: &'a ReachGraph,
    /// Aggregated ClusterRoles whose stored rules differ from their aggregation
    /// ([`RbacIndex::aggregation_drift`], computed once; KE-RBAC-027 reads it).
    pub aggregation_drift: &'a [AggregationDrift],
}

/// What the rules conclude: the population of privileged holdings, and the findings.
pub struct Evaluation {
    /// Every subject's holding of every capability rule, wherever held (the access matrix).
    pub holdings: Vec<grants::Holding>,
    pub findings: Vec<Finding>,
}

/// Evaluates every RBAC, hygiene and escalation rule.
pub fn evaluate(ctx: &RuleContext<'_>) -> Evaluation {
    let (holdings, mut findings) = grants::evaluate(ctx);
    findings.extend(hygiene::evaluate(ctx));
    findings.extend(privilege::evaluate(ctx));
    sort_findings(&mut findings);
    Evaluation { holdings, findings }
}

/// A finding of `rule_id` with its catalog texts filled in.
pub(crate) fn new_finding(rule_id: RuleId, key: &str, summary: String) -> Finding {
    let def = rule(rule_id);
    Finding {
        id: Finding::make_id(rule_id.as_str(), key),
        rule_id,
        severity: def.severity,
        title: def.title.to_string(),
        summary,
        subjects: Vec::new(),
        objects: Vec::new(),
        sub_processor: None,
        sub_processor_of: Vec::new(),
        namespaces: Vec::new(),
        scope: None,
        cause: None,
        grants: Default::default(),
        path: Vec::new(),
        path_steps: Vec::new(),
        remediation: def.remediation.to_string(),
        system: false,
        status: FindingStatus::Open,
        exception: None,
        exception_notes: Vec::new(),
    }
}
