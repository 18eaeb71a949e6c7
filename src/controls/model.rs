//! Control definitions: one YAML file per framework (`kind: ControlSet`), each control mapping
//! the rules that bear on it (primary or related), the parts of the pack that evidence it, and
//! what only a person can attach.

use crate::finding::Severity;
use crate::rules::RuleId;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ControlSet {
    pub framework: Framework,
    pub controls: Vec<Control>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Framework {
    /// Short identifier used in reports and `--framework`: `soc2`, `iso27001`, `pci-dss`...
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub version: String,
    /// `complete`: every rule of the catalog has exactly one primary control here (checked);
    /// `partial`: only the rules listed matter (for an internal policy, say).
    pub coverage: Coverage,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Coverage {
    Complete,
    Partial,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Control {
    pub id: String,
    pub framework: String,
    pub title: String,
    /// In our own words.
    pub summary: String,
    pub rules: Vec<RuleRef>,
    /// Parts of the pack that evidence the control.
    pub evidence: Vec<String>,
    /// Facts the control cannot be satisfied without (`audit-log`, `inventory`, `previous-pack`,
    /// `period`, `retention`: see [`super::basis::REQUIREMENTS`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requires: Vec<String>,
    /// What a person must attach, that an automated snapshot cannot show.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manual: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RuleRef {
    pub id: RuleId,
    pub role: RuleRole,
    /// Whether the rule's open findings decide the control (the default). A rule that only gives
    /// context says `decides: false`; its findings are listed but never make the control fail.
    #[serde(default = "yes")]
    pub decides: bool,
    /// The least severity of an open finding that decides (default `info`: any finding).
    #[serde(default = "any_severity")]
    pub threshold: Severity,
}

fn yes() -> bool {
    true
}

fn any_severity() -> Severity {
    Severity::Info
}

/// Where a rule belongs in the framework. Both kinds decide the control unless `decides: false`;
/// the role only says which control a rule is scored against when the framework is complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RuleRole {
    /// The control this rule is scored against in the framework.
    Primary,
    /// Also bears on the control.
    Related,
}

/// Parts of the pack a control can point at.
pub const EVIDENCE_KINDS: &[&str] = &[
    "snapshot",
    "access-matrix",
    "register",
    "diff",
    "audit-log",
    "manifest",
    "chain",
];
/// Facts a control can require, by name.
pub fn requirement_names() -> Vec<&'static str> {
    super::basis::REQUIREMENTS.iter().map(|(n, _)| *n).collect()
}
