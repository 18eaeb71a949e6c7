//! Control evaluation: each control gets one status from the findings of its rules and the
//! completeness of the data those rules need. A control is never `satisfied` on incomplete data.
//!
//! The deciding rules are a control's primary rules, or its related rules when it has no primary
//! ones. Open findings of deciding rules (not accepted, not about system components) make it
//! `not-satisfied`; otherwise a deciding rule whose data was not collected completely, or a
//! missing analysis the control requires, makes it `not-assessed`; a control with no rules is
//! `manual`; the rest are `satisfied`.

use super::load::Controls;
use super::model::{Control, RuleRole};
use crate::finding::Finding;
use crate::rules::catalog;
use crate::snapshot::{CollectionStatus, Collector};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum ControlStatus {
    Satisfied,
    NotSatisfied,
    NotAssessed,
    Manual,
}

impl ControlStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ControlStatus::Satisfied => "satisfied",
            ControlStatus::NotSatisfied => "not-satisfied",
            ControlStatus::NotAssessed => "not-assessed",
            ControlStatus::Manual => "manual",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ControlResult {
    pub framework: String,
    pub id: String,
    pub title: String,
    pub status: ControlStatus,
    /// Why, in one sentence.
    pub reason: String,
    /// Open findings that decide a `not-satisfied` status.
    pub deciding_findings: Vec<String>,
    /// Open findings of the control's other rules, for context.
    pub related_findings: Vec<String>,
    /// Findings accepted by exceptions, which do not count.
    pub accepted_findings: Vec<String>,
    /// Deciding rules that could not be assessed, with why.
    pub not_assessed: Vec<String>,
    pub evidence: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manual: Option<String>,
}

/// What was available to this run.
pub struct Availability<'a> {
    pub collector: &'a Collector,
    pub inventory: bool,
    pub previous_pack: bool,
    pub audit_log: bool,
}

impl Availability<'_> {
    fn has(&self, need: &str) -> bool {
        match need {
            "inventory" => self.inventory,
            "previous-pack" => self.previous_pack,
            "audit-log" => self.audit_log,
            _ => false,
        }
    }

    /// Why a rule's verdict cannot be trusted, if it cannot.
    pub fn rule_gap(&self, rule_id: &str) -> Option<String> {
        let def = catalog::find(rule_id)?;
        let mut gaps = Vec::new();
        for k in def.requires {
            let status = self.collector.status_of(*k);
            if status != CollectionStatus::Complete {
                let why = self
                    .collector
                    .kinds
                    .get(k.name())
                    .and_then(|c| c.message.as_ref())
                    .filter(|_| status == CollectionStatus::Skipped)
                    .map(|m| format!(" ({m})"))
                    .unwrap_or_default();
                gaps.push(format!("{k} {}{why}", status.as_str()));
            }
        }
        for n in def.needs {
            if !self.has(n) {
                gaps.push(match *n {
                    "inventory" => "no sub-processor inventory".to_string(),
                    "previous-pack" => "no previous pack (this is the baseline)".to_string(),
                    other => format!("no {other}"),
                });
            }
        }
        (!gaps.is_empty()).then(|| format!("{rule_id}: {}", gaps.join(", ")))
    }
}

pub fn evaluate(
    controls: &Controls,
    findings: &[Finding],
    available: &Availability<'_>,
) -> Vec<ControlResult> {
    let mut out = Vec::new();
    for set in &controls.sets {
        for c in &set.controls {
            out.push(evaluate_one(c, findings, available));
        }
    }
    out
}

fn evaluate_one(c: &Control, findings: &[Finding], available: &Availability<'_>) -> ControlResult {
    let has_primary = c.rules.iter().any(|r| r.role == RuleRole::Primary);
    let deciding: BTreeSet<&str> = c
        .rules
        .iter()
        .filter(|r| !has_primary || r.role == RuleRole::Primary)
        .map(|r| r.id.as_str())
        .collect();
    let mapped: BTreeSet<&str> = c.rules.iter().map(|r| r.id.as_str()).collect();
    let relevant = |f: &&Finding| mapped.contains(f.rule_id.as_str()) && !f.system;
    let deciding_findings: Vec<String> = findings
        .iter()
        .filter(relevant)
        .filter(|f| f.is_open() && deciding.contains(f.rule_id.as_str()))
        .map(|f| f.id.clone())
        .collect();
    let related_findings: Vec<String> = findings
        .iter()
        .filter(relevant)
        .filter(|f| f.is_open() && !deciding.contains(f.rule_id.as_str()))
        .map(|f| f.id.clone())
        .collect();
    let accepted_findings: Vec<String> = findings
        .iter()
        .filter(relevant)
        .filter(|f| !f.is_open())
        .map(|f| f.id.clone())
        .collect();
    let mut not_assessed: Vec<String> = deciding
        .iter()
        .filter_map(|r| available.rule_gap(r))
        .collect();
    for req in &c.requires {
        if !available.has(req) {
            not_assessed.push(match req.as_str() {
                "audit-log" => "no Kubernetes audit log was analysed".to_string(),
                other => format!("requires {other}"),
            });
        }
    }
    let (status, reason) = if !deciding_findings.is_empty() {
        let rules: BTreeSet<&str> = findings
            .iter()
            .filter(|f| deciding_findings.contains(&f.id))
            .map(|f| f.rule_id.as_str())
            .collect();
        (
            ControlStatus::NotSatisfied,
            format!(
                "{} open finding(s) of {}",
                deciding_findings.len(),
                rules.into_iter().collect::<Vec<_>>().join(", ")
            ),
        )
    } else if !not_assessed.is_empty() {
        (
            ControlStatus::NotAssessed,
            format!(
                "the data it needs is incomplete: {}",
                not_assessed.join("; ")
            ),
        )
    } else if c.rules.is_empty() {
        (
            ControlStatus::Manual,
            c.manual
                .clone()
                .unwrap_or_else(|| "only human evidence can decide it".into()),
        )
    } else {
        (
            ControlStatus::Satisfied,
            format!(
                "no open finding of {} on complete data{}",
                deciding.iter().copied().collect::<Vec<_>>().join(", "),
                if accepted_findings.is_empty() {
                    String::new()
                } else {
                    format!(" ({} accepted by exceptions)", accepted_findings.len())
                }
            ),
        )
    };
    ControlResult {
        framework: c.framework.clone(),
        id: c.id.clone(),
        title: c.title.clone(),
        status,
        reason,
        deciding_findings,
        related_findings,
        accepted_findings,
        not_assessed,
        evidence: c.evidence.clone(),
        manual: c.manual.clone(),
    }
}
