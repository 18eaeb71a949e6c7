//! `findings.json`: every finding with the evidence behind it, and the summary counts. Field
//! names are stable; the schema is printed by `kube-evidence findings schema`.

use super::ReportInput;
use crate::analysis::{Assessment, MatrixRow};
use crate::controls::{AssessmentBasis, ControlResult};
use crate::exceptions::ExceptionOutcome;
use crate::finding::{Finding, FindingClass, Severity};
use crate::inventory::RegisterRow;
use crate::rbac::privilege::{AdminReach, SubjectPrivilege};
use crate::rbac::reach::PathStep;
use crate::snapshot::Snapshot;
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// 2: control results state their criterion and the facts they rest on (`assessmentBasis`), the
/// fourth status `manual-evidence-required`, and every subject's cluster-admin reach (`privilege`).
/// 3: every distinct escalation step is stated once (`steps`); findings and privilege entries
/// give their paths as positions in it (`pathSteps`).
pub const FINDINGS_SCHEMA_VERSION: u32 = 3;

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FindingsDocument {
    pub schema_version: u32,
    pub pack_id: String,
    pub cluster: String,
    pub cluster_id: String,
    pub collected_at: DateTime<Utc>,
    pub ruleset_digest: String,
    pub summary: Summary,
    pub findings: Vec<Finding>,
    pub controls: Vec<ControlResult>,
    pub exceptions: Vec<ExceptionOutcome>,
    pub register: Vec<RegisterRow>,
    pub access_matrix: Vec<MatrixRow>,
    /// Every subject that reaches cluster-admin, directly or by escalation (the one computation
    /// the rules, the matrix and the register state).
    #[serde(default)]
    pub privilege: Vec<SubjectPrivilege>,
    /// Every distinct step of the escalation paths above, once: a path is the list of its
    /// steps' positions here (`pathSteps`). Paths share most of their steps (the last moves into
    /// cluster-admin above all), so stating each once keeps the document from growing with
    /// subjects times steps. Absent in packs of schema 2 and earlier, whose paths are inline.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<PathStep>,
    /// What the control results rest on besides the findings (absent in packs of schema 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assessment_basis: Option<AssessmentBasis>,
    /// Use against grants, from the audit log (absent without one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<crate::audit::UsageSummary>,
    /// The follow-up of the access review campaigns (absent without any).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reviews: Option<crate::review::assess::ReviewState>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// Open findings that are not about Kubernetes system components, by severity.
    pub open: BTreeMap<Severity, usize>,
    pub accepted: usize,
    pub system: usize,
    pub total: usize,
}

pub fn summary(findings: &[Finding]) -> Summary {
    let mut s = Summary {
        total: findings.len(),
        ..Default::default()
    };
    for sev in Severity::ALL {
        s.open.insert(sev, 0);
    }
    for f in findings {
        match f.class() {
            FindingClass::System => s.system += 1,
            FindingClass::Open => *s.open.entry(f.severity).or_default() += 1,
            FindingClass::Accepted => s.accepted += 1,
        }
    }
    s
}

/// The findings document of an assessment: what `findings.json` holds, and what `reperform`
/// compares a pack's with.
pub fn document(pack_id: &str, snapshot: &Snapshot, assessment: &Assessment) -> FindingsDocument {
    let mut steps = StepTable::default();
    let findings = assessment
        .analysis
        .findings
        .iter()
        .map(|f| Finding {
            path: Vec::new(),
            path_steps: steps.positions(&f.path),
            ..f.clone()
        })
        .collect();
    let privilege = assessment
        .analysis
        .privilege
        .iter()
        .map(|p| SubjectPrivilege {
            subject: p.subject.clone(),
            reach: match &p.reach {
                AdminReach::Escalation { steps: n, path, .. } => AdminReach::Escalation {
                    steps: *n,
                    path: Vec::new(),
                    path_steps: steps.positions(path),
                },
                direct => direct.clone(),
            },
        })
        .collect();
    FindingsDocument {
        schema_version: FINDINGS_SCHEMA_VERSION,
        pack_id: pack_id.to_string(),
        cluster: snapshot.cluster.name.clone(),
        cluster_id: snapshot.cluster.id.clone().unwrap_or_default(),
        collected_at: snapshot.taken_at,
        ruleset_digest: crate::rules::catalog::digest(),
        summary: summary(&assessment.analysis.findings),
        findings,
        controls: assessment.controls.clone(),
        exceptions: assessment.exceptions.clone(),
        register: assessment.analysis.register.clone(),
        access_matrix: assessment.analysis.matrix.clone(),
        privilege,
        steps: steps.steps,
        assessment_basis: Some(assessment.basis.clone()),
        usage: assessment.usage.clone(),
        reviews: assessment.reviews.clone(),
    }
}

/// The distinct steps of a document's paths, in the order first met (findings in their order,
/// then the privilege table), so the same assessment gives the same positions.
#[derive(Default)]
struct StepTable {
    steps: Vec<PathStep>,
    positions: HashMap<PathStep, u32>,
}

impl StepTable {
    fn positions(&mut self, path: &[PathStep]) -> Vec<u32> {
        path.iter().map(|step| self.position(step)).collect()
    }

    fn position(&mut self, step: &PathStep) -> u32 {
        if let Some(&at) = self.positions.get(step) {
            return at;
        }
        let at = u32::try_from(self.steps.len()).expect("fewer than 2^32 distinct steps");
        self.steps.push(step.clone());
        self.positions.insert(step.clone(), at);
        at
    }
}

pub fn findings(input: &ReportInput<'_>) -> Vec<u8> {
    let doc = document(input.pack_id, input.snapshot, input.assessment);
    let mut out = serde_json::to_vec(&doc).expect("findings serialise");
    out.push(b'\n');
    out
}

pub fn schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(FindingsDocument)).expect("a JSON Schema serialises")
}
