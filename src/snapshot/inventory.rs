//! The sub-processor inventory format (`apiVersion: kube-evidence.io/v1`,
//! `kind: SubProcessorInventory`): the register of third parties with access to the cluster,
//! what they may do, and the assurance on file for each. Documented in `docs/inventory.md`; the
//! JSON Schema comes from these types (`kube-evidence inventory schema`). The model lives with the
//! snapshot, which records the inventory in force; reading, validating and reconciling it is
//! `crate::inventory`.

use chrono::NaiveDate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use crate::API_VERSION;
pub const KIND: &str = "SubProcessorInventory";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Inventory {
    /// Always `kube-evidence.io/v1`.
    pub api_version: String,
    /// Always `SubProcessorInventory`.
    pub kind: String,
    #[serde(default)]
    pub settings: Settings,
    /// Identities of the organisation's own people and teams: never reported as undeclared
    /// third parties. Patterns may end in `*`.
    #[serde(default)]
    pub internal: Internal,
    pub sub_processors: Vec<SubProcessor>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Settings {
    /// Warn when a certificate or report expires within this many days (default 30).
    #[serde(default = "default_warning_days")]
    pub expiry_warning_days: u32,
    /// A SOC 2 report is current for this many months after its period ends (default 12).
    #[serde(default = "default_soc2_months")]
    pub soc2_report_max_age_months: u32,
}

fn default_warning_days() -> u32 {
    30
}
fn default_soc2_months() -> u32 {
    12
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            expiry_warning_days: default_warning_days(),
            soc2_report_max_age_months: default_soc2_months(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Internal {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespaces: Vec<String>,
    /// `namespace/name` patterns.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub service_accounts: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SubProcessor {
    /// Stable identifier: lower-case letters, digits and `-`.
    pub id: String,
    pub name: String,
    pub vendor: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
    /// The internal owner (a person or team) accountable for the relationship.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data_categories: Vec<String>,
    /// Where the supplier processes or stores data (regions or countries).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data_residency: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract: Option<Contract>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub certifications: Vec<Certification>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_reviewed: Option<NaiveDate>,
    /// Days between reviews (default 365).
    #[serde(default = "default_review_interval")]
    pub review_interval_days: u32,
    pub identities: Identities,
    pub declared_access: DeclaredAccess,
}

fn default_review_interval() -> u32 {
    365
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Contract {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpa_signed: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renewal: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Certification {
    /// `soc2-type2`, `soc2-type1`, `iso27001`, `iso27017`, `iso27018`, `pci-dss`, `csa-star`, or
    /// another name.
    #[serde(rename = "type")]
    pub cert_type: String,
    /// SOC 2: the last day of the period the report covers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report_period_end: Option<NaiveDate>,
    /// When someone here read the report or certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reviewed: Option<NaiveDate>,
    /// Certificates: the last day of validity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

/// How the sub-processor appears in the cluster.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Identities {
    /// `namespace/name`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub service_accounts: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// Every ServiceAccount and workload in these namespaces.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespaces: Vec<String>,
    /// Container image patterns (`*` matches any run of characters), e.g. `gcr.io/datadoghq/*`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<String>,
    /// Names of Mutating- or ValidatingWebhookConfigurations.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub webhooks: Vec<String>,
    /// Names of APIServices.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub api_services: Vec<String>,
}

impl Identities {
    pub fn is_empty(&self) -> bool {
        self.service_accounts.is_empty()
            && self.users.is_empty()
            && self.groups.is_empty()
            && self.namespaces.is_empty()
            && self.images.is_empty()
            && self.webhooks.is_empty()
            && self.api_services.is_empty()
    }
}

/// What the sub-processor may do: a level, or RBAC-style rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeclaredAccess {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<AccessLevel>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<DeclaredRule>,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum AccessLevel {
    /// No access at all.
    None,
    /// get, list, watch on anything but Secrets.
    ReadOnlyNoSecrets,
    /// get, list, watch on anything, Secrets included.
    ReadOnly,
    /// Read-only (without Secrets) cluster-wide; any verb inside its own namespaces.
    NamespacedWrite,
    /// Any verb anywhere, short of all verbs on all resources cluster-wide (and of escalation to
    /// that).
    ClusterWideWrite,
    /// Anything.
    ClusterAdmin,
}

impl AccessLevel {
    /// Every level, least first, with its name in the inventory.
    pub const ALL: [(&'static str, AccessLevel); 6] = [
        ("none", AccessLevel::None),
        ("read-only-no-secrets", AccessLevel::ReadOnlyNoSecrets),
        ("read-only", AccessLevel::ReadOnly),
        ("namespaced-write", AccessLevel::NamespacedWrite),
        ("cluster-wide-write", AccessLevel::ClusterWideWrite),
        ("cluster-admin", AccessLevel::ClusterAdmin),
    ];

    pub fn names() -> Vec<&'static str> {
        AccessLevel::ALL.iter().map(|(n, _)| *n).collect()
    }

    pub fn as_str(self) -> &'static str {
        AccessLevel::ALL
            .iter()
            .find(|(_, l)| *l == self)
            .map(|(s, _)| *s)
            .expect("every level is listed")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeclaredRule {
    #[serde(default)]
    pub api_groups: Vec<String>,
    #[serde(default)]
    pub resources: Vec<String>,
    pub verbs: Vec<String>,
    #[serde(
        default,
        rename = "nonResourceURLs",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub non_resource_urls: Vec<String>,
    /// Namespaces the rule applies in; absent or `*` means everywhere, cluster-wide included.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespaces: Vec<String>,
}

/// `*` matches any run of characters; everything else matches itself.
pub fn glob_matches(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || text.len() < first.len() + last.len() || !text.ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_matches(
            "gcr.io/datadoghq/*",
            "gcr.io/datadoghq/agent:7.57.2"
        ));
        assert!(!glob_matches("gcr.io/datadoghq/*", "gcr.io/other/agent"));
        assert!(glob_matches("*/velero:*", "velero/velero:v1.14.1"));
        assert!(glob_matches("oidc:*", "oidc:team-a"));
        assert!(glob_matches("exact", "exact") && !glob_matches("exact", "exactly"));
        assert!(glob_matches("a*b*c", "aXXbYYc") && !glob_matches("a*b*c", "aXXcYYb"));
    }
}
