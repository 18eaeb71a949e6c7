//! Control evaluation: each control gets one status from the findings of its deciding rules, the
//! completeness of the data those rules need, the facts it requires (see [`super::basis`]) and
//! whether a person must attach evidence. A control is never `satisfied` on incomplete data, over
//! a period too short, or when part of it is beyond what the tool can see.
//!
//! In this order:
//! 1. `not-satisfied`: an open finding (not accepted, not about a Kubernetes system component)
//!    of a deciding rule at or above that rule's threshold, or a required fact the data shows is
//!    not met (a store without a retention lock);
//! 2. `not-assessed`: a deciding rule whose data was not collected completely, or a required fact
//!    the run could not establish (no inventory, no previous pack, a period shorter than the
//!    schedule, no audit log);
//! 3. `manual-evidence-required`: the automated checks pass (or there are none), but the control
//!    names evidence only a person can attach (`manual`), or a required fact needs it;
//! 4. `satisfied`: none of the above.
//!
//! Every result says why, citing the findings, exceptions and facts that decided it, and states
//! its criterion, derived from the definition alone.

use super::basis::{AssessmentBasis, RequirementState};
use super::load::Controls;
use super::model::Control;
use crate::finding::{Finding, FindingClass, Severity};
use crate::rules::RuleId;
use crate::rules::catalog;
use crate::snapshot::{CollectionStatus, Collector};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum ControlStatus {
    Satisfied,
    NotSatisfied,
    NotAssessed,
    /// The automated checks pass (or there are none), but only evidence a person attaches can
    /// complete the control.
    ManualEvidenceRequired,
}

impl ControlStatus {
    pub const ALL: [ControlStatus; 4] = [
        ControlStatus::Satisfied,
        ControlStatus::NotSatisfied,
        ControlStatus::NotAssessed,
        ControlStatus::ManualEvidenceRequired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ControlStatus::Satisfied => "satisfied",
            ControlStatus::NotSatisfied => "not-satisfied",
            ControlStatus::NotAssessed => "not-assessed",
            ControlStatus::ManualEvidenceRequired => "manual-evidence-required",
        }
    }

    /// For people, as a control's status reads in a table.
    pub fn label(self) -> &'static str {
        match self {
            ControlStatus::Satisfied => "satisfied",
            ControlStatus::NotSatisfied => "not satisfied",
            ControlStatus::NotAssessed => "not assessed",
            ControlStatus::ManualEvidenceRequired => {
                "automated checks pass; manual evidence required"
            }
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
    /// Why, citing what decided it.
    pub reason: String,
    /// When the control is satisfied, in words derived from its definition.
    pub criterion: String,
    /// The rules whose findings decide it (at or above their thresholds), from its definition.
    #[serde(default)]
    pub deciding_rules: Vec<RuleId>,
    /// Open findings of deciding rules at or above their thresholds: they make it `not-satisfied`.
    pub deciding_findings: Vec<String>,
    /// Other open findings of its rules (context rules, or below a threshold).
    pub related_findings: Vec<String>,
    /// Findings of deciding rules accepted by exceptions, which do not count.
    pub accepted_findings: Vec<String>,
    /// The exceptions that accepted them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exceptions: Vec<String>,
    /// What could not be assessed, with why.
    pub not_assessed: Vec<String>,
    pub evidence: Vec<String>,
    /// What a person must attach.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manual: Option<String>,
}

impl ControlResult {
    /// Every finding the control cites: deciding, related, then accepted.
    pub fn cited_findings(&self) -> impl Iterator<Item = &String> {
        self.deciding_findings
            .iter()
            .chain(&self.related_findings)
            .chain(&self.accepted_findings)
    }

    /// What a person must attach: the control's own text, or for a control that waits only on
    /// manual evidence, why; empty when nothing is asked.
    pub fn manual_evidence(&self) -> String {
        match (&self.manual, self.status) {
            (Some(m), _) => m.clone(),
            (None, ControlStatus::ManualEvidenceRequired) => self.reason.clone(),
            (None, _) => String::new(),
        }
    }
}

/// What this run could see: the collector's completeness and the facts of its basis.
pub struct Availability<'a> {
    pub collector: &'a Collector,
    pub basis: &'a AssessmentBasis,
}

impl Availability<'_> {
    /// Why a rule's verdict cannot be trusted, if it cannot.
    pub fn rule_gap(&self, rule_id: RuleId) -> Option<String> {
        let def = catalog::rule(rule_id);
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
            match self.basis.requirement(n) {
                RequirementState::Met(_) => {}
                RequirementState::NotMet(why)
                | RequirementState::NotAssessed(why)
                | RequirementState::Manual(why) => gaps.push(why),
            }
        }
        (!gaps.is_empty()).then(|| format!("{rule_id}: {}", gaps.join(", ")))
    }
}

/// How many controls of each framework have each status: (framework, status) -> count.
pub type ControlCounts = BTreeMap<(String, ControlStatus), usize>;

/// The controls of each framework per status, every status present (zero where none). The one
/// count every report and the index state.
pub fn counts(results: &[ControlResult]) -> ControlCounts {
    let mut out = BTreeMap::new();
    for r in results {
        for s in ControlStatus::ALL {
            out.entry((r.framework.clone(), s)).or_insert(0);
        }
        *out.entry((r.framework.clone(), r.status)).or_insert(0) += 1;
    }
    out
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

/// The criterion of a control, in words, from its definition alone.
pub fn criterion(c: &Control) -> String {
    let mut parts = Vec::new();
    let deciding: Vec<String> = c
        .rules
        .iter()
        .filter(|r| r.decides)
        .map(|r| match r.threshold {
            Severity::Info => r.id.to_string(),
            t => format!("{} ({t} or above)", r.id),
        })
        .collect();
    if !deciding.is_empty() {
        parts.push(format!(
            "no open finding of {} (accepted findings and findings about Kubernetes system components do not count), on completely collected data",
            deciding.join(", ")
        ));
    }
    for r in &c.requires {
        let what = super::basis::REQUIREMENTS
            .iter()
            .find(|(n, _)| n == r)
            .map_or(r.as_str(), |(_, w)| *w);
        parts.push(what.to_string());
    }
    let mut text = if parts.is_empty() {
        "no automated check decides this control".to_string()
    } else {
        format!("Satisfied when {}", parts.join("; and "))
    };
    if let Some(m) = &c.manual {
        text.push_str(&format!(
            "; otherwise at best manual evidence required, because a person must attach: {m}"
        ));
    }
    text
}

/// Open findings per rule and severity, as a reason cites them: `KE-RBAC-001 (2 critical)`.
fn cite(findings: &[&Finding]) -> String {
    let mut by_rule: BTreeMap<RuleId, BTreeMap<std::cmp::Reverse<Severity>, usize>> =
        BTreeMap::new();
    for f in findings {
        *by_rule
            .entry(f.rule_id)
            .or_default()
            .entry(std::cmp::Reverse(f.severity))
            .or_default() += 1;
    }
    by_rule
        .into_iter()
        .map(|(rule, sev)| {
            let counts: Vec<String> = sev
                .into_iter()
                .map(|(s, n)| format!("{n} {}", s.0))
                .collect();
            format!("{rule} ({})", counts.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn evaluate_one(c: &Control, findings: &[Finding], available: &Availability<'_>) -> ControlResult {
    let threshold: BTreeMap<RuleId, Severity> = c
        .rules
        .iter()
        .filter(|r| r.decides)
        .map(|r| (r.id, r.threshold))
        .collect();
    let cited = cited_findings(c, &threshold, findings);
    let facts = facts_of(c, &threshold, available);
    let (status, reason) = verdict(&threshold, &cited, &facts);
    let ControlFindings {
        deciding,
        related,
        accepted,
        exceptions,
    } = cited;
    let ids = |v: &[&Finding]| v.iter().map(|f| f.id.clone()).collect::<Vec<_>>();
    ControlResult {
        framework: c.framework.clone(),
        id: c.id.clone(),
        title: c.title.clone(),
        status,
        reason,
        criterion: criterion(c),
        deciding_rules: threshold.keys().copied().collect(),
        deciding_findings: ids(&deciding),
        related_findings: ids(&related),
        accepted_findings: ids(&accepted),
        exceptions,
        not_assessed: facts.not_assessed,
        evidence: c.evidence.clone(),
        manual: c.manual.clone(),
    }
}

/// The findings of a control's rules: those that decide it (open, at or above their rule's
/// threshold), related ones, and deciding ones accepted by exceptions (with the exceptions).
struct ControlFindings<'f> {
    deciding: Vec<&'f Finding>,
    related: Vec<&'f Finding>,
    accepted: Vec<&'f Finding>,
    exceptions: Vec<String>,
}

fn cited_findings<'f>(
    c: &Control,
    threshold: &BTreeMap<RuleId, Severity>,
    findings: &'f [Finding],
) -> ControlFindings<'f> {
    let mapped: BTreeSet<RuleId> = c.rules.iter().map(|r| r.id).collect();
    let decides = |f: &Finding| threshold.get(&f.rule_id).is_some_and(|t| f.severity >= *t);
    // Findings about system components never decide a control: they are counted apart.
    let mapped = &mapped;
    let mapped_of = |class: FindingClass| {
        findings
            .iter()
            .filter(move |f| mapped.contains(&f.rule_id) && f.class() == class)
    };
    let deciding: Vec<&Finding> = mapped_of(FindingClass::Open)
        .filter(|f| decides(f))
        .collect();
    let related: Vec<&Finding> = mapped_of(FindingClass::Open)
        .filter(|f| !decides(f))
        .collect();
    let accepted: Vec<&Finding> = mapped_of(FindingClass::Accepted)
        .filter(|f| decides(f))
        .collect();
    let exceptions: Vec<String> = accepted
        .iter()
        .filter_map(|f| f.exception.as_ref().map(|e| e.id.clone()))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();

    ControlFindings {
        deciding,
        related,
        accepted,
        exceptions,
    }
}

/// What the control rests on besides findings: requirements met or not, what could not be
/// assessed (a rule's data or a requirement), and what a person must attach.
struct ControlFacts {
    met: Vec<String>,
    not_met: Vec<String>,
    not_assessed: Vec<String>,
    manual: Vec<String>,
}

fn facts_of(
    c: &Control,
    threshold: &BTreeMap<RuleId, Severity>,
    available: &Availability<'_>,
) -> ControlFacts {
    let mut not_met = Vec::new();
    let mut not_assessed: Vec<String> = threshold
        .keys()
        .filter_map(|r| available.rule_gap(*r))
        .collect();
    let mut manual = Vec::new();
    let mut met = Vec::new();
    for req in &c.requires {
        match available.basis.requirement(req) {
            RequirementState::Met(why) => met.push(why),
            RequirementState::NotMet(why) => not_met.push(why),
            // A rule's gap often has the same cause (KE-CHG-001 and `period` both wait for a
            // previous pack): say it once.
            RequirementState::NotAssessed(why) => {
                if !not_assessed.iter().any(|gap| gap.ends_with(&why)) {
                    not_assessed.push(why)
                }
            }
            RequirementState::Manual(why) => manual.push(why),
        }
    }
    if let Some(m) = &c.manual {
        manual.push(m.clone());
    }
    if threshold.is_empty() && c.requires.is_empty() && manual.is_empty() {
        // Nothing automated decides it and nothing says what to attach: never `satisfied`.
        manual.push("nothing automated decides this control; attach the evidence it needs".into());
    }
    ControlFacts {
        met,
        not_met,
        not_assessed,
        manual,
    }
}

/// The status and its reason: not satisfied on a deciding finding or an unmet requirement,
/// else not assessed on any gap, else manual evidence where a person must attach something,
/// else satisfied.
fn verdict(
    threshold: &BTreeMap<RuleId, Severity>,
    cited: &ControlFindings<'_>,
    facts: &ControlFacts,
) -> (ControlStatus, String) {
    let ControlFindings {
        deciding,
        accepted,
        exceptions,
        ..
    } = cited;
    let ControlFacts {
        met,
        not_met,
        not_assessed,
        manual,
    } = facts;
    let accepted_note = if exceptions.is_empty() {
        String::new()
    } else {
        format!(
            "; {} finding(s) of deciding rules accepted by exception(s) {}",
            accepted.len(),
            exceptions.join(", ")
        )
    };
    let checks = if threshold.is_empty() {
        String::new()
    } else {
        format!(
            "no open finding of {}",
            threshold
                .keys()
                .map(|r| r.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    };

    if !deciding.is_empty() || !not_met.is_empty() {
        let mut why = Vec::new();
        if !deciding.is_empty() {
            why.push(format!(
                "{} open finding(s) of deciding rules: {}",
                deciding.len(),
                cite(deciding)
            ));
        }
        why.extend(not_met.iter().cloned());
        (
            ControlStatus::NotSatisfied,
            format!("{}{accepted_note}", why.join("; ")),
        )
    } else if !not_assessed.is_empty() {
        (
            ControlStatus::NotAssessed,
            format!("cannot be assessed: {}", not_assessed.join("; ")),
        )
    } else if !manual.is_empty() {
        let automated = if threshold.is_empty() && met.is_empty() {
            "no automated check decides it".to_string()
        } else {
            let mut done: Vec<String> = Vec::new();
            if !checks.is_empty() {
                done.push(checks.clone());
            }
            done.extend(met.iter().cloned());
            format!("automated checks pass ({})", done.join("; "))
        };
        (
            ControlStatus::ManualEvidenceRequired,
            format!(
                "{automated}{accepted_note}; manual evidence required: {}",
                manual.join("; ")
            ),
        )
    } else {
        let mut done: Vec<String> = Vec::new();
        if !checks.is_empty() {
            done.push(format!("{checks} on completely collected data"));
        }
        done.extend(met.iter().cloned());
        (
            ControlStatus::Satisfied,
            format!("{}{accepted_note}", done.join("; ")),
        )
    }
}
