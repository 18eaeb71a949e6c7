//! Control definitions: one YAML file per framework (`kind: ControlSet`), each control mapping
//! the rules that bear on it (primary or related), the parts of the pack that evidence it, and
//! what only a person can attach.

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
    /// Analyses the control cannot be assessed without (`audit-log`, `inventory`,
    /// `previous-pack`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requires: Vec<String>,
    /// What a person must attach, that an automated snapshot cannot show.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manual: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RuleRef {
    pub id: String,
    pub role: RuleRole,
}

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
/// Analyses a control can require.
pub const REQUIREMENTS: &[&str] = &["audit-log", "inventory", "previous-pack"];
