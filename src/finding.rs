//! The shared vocabulary of findings: severities, and the finding record every analysis stage
//! produces and every later stage (controls, diff, reports) consumes.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Severity::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown severity `{s}`; expected one of: critical, high, medium, low, info"
                )
            })
    }
}

/// Where a subject holds a capability, which decides whether that is a finding. See
/// `docs/controls.md` (Severity and scope).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Scope {
    /// Through a ClusterRoleBinding: everywhere.
    Cluster,
    /// Through RoleBindings in so many namespaces that it is everywhere in all but name (see
    /// `rules::grants::broad_threshold`).
    Broad,
    /// A ServiceAccount holding it in namespaces other than its own.
    Foreign,
    /// A ServiceAccount in its own namespace, or a person or group in a few namespaces: the
    /// population a review looks at as a whole, not a finding.
    Local,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Cluster => "cluster",
            Scope::Broad => "broad",
            Scope::Foreign => "foreign",
            Scope::Local => "local",
        }
    }
}

use crate::rbac::grant_set::GrantSet;
use crate::rbac::reach::PathStep;
use crate::rbac::{ObjectRef, SubjectRef};
use crate::rule_id::RuleId;

/// Whether a finding still counts against its controls.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum FindingStatus {
    /// Counts against its controls.
    Open,
    /// Covered by an exception in force (see `exception`).
    Accepted,
}

/// A subject of a finding and the sub-processor (inventory id) it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubjectOwner {
    pub subject: SubjectRef,
    pub sub_processor: String,
}

impl Finding {
    /// Attributes the finding's subjects to the sub-processors that own them (`owners`):
    /// each subject to its own, and the finding as a whole only to one that owns all the
    /// identities that belong to any.
    pub fn attribute(&mut self, owners: &std::collections::BTreeMap<SubjectRef, String>) {
        self.sub_processor_of = self
            .subjects
            .iter()
            .filter_map(|s| {
                owners.get(s).map(|o| SubjectOwner {
                    subject: s.clone(),
                    sub_processor: o.clone(),
                })
            })
            .collect();
        // Every subject one sub-processor's: `subProcessor` says it all.
        let all_one = self.sub_processor_of.len() == self.subjects.len()
            && self
                .sub_processor_of
                .windows(2)
                .all(|w| w[0].sub_processor == w[1].sub_processor);
        if self.sub_processor.is_none() {
            let distinct: std::collections::BTreeSet<&str> = self
                .sub_processor_of
                .iter()
                .map(|o| o.sub_processor.as_str())
                .collect();
            if distinct.len() == 1 {
                self.sub_processor = distinct.into_iter().next().map(str::to_string);
            }
        }
        if all_one {
            self.sub_processor_of.clear();
        }
    }
}

impl Finding {
    /// The sub-processor(s) as reports print them: the one, or each with its subjects.
    pub fn sub_processor_text(&self) -> String {
        if let Some(sp) = &self.sub_processor
            && self.sub_processor_of.iter().all(|o| &o.sub_processor == sp)
        {
            return sp.clone();
        }
        let mut by: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
        for o in &self.sub_processor_of {
            by.entry(&o.sub_processor)
                .or_default()
                .push(o.subject.to_string());
        }
        by.into_iter()
            .map(|(sp, subjects)| format!("{sp} ({})", subjects.join(", ")))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// The exception that accepted a finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExceptionRef {
    pub id: String,
    pub approver: String,
    pub ticket: String,
    pub expires: String,
    pub reason: String,
}

/// One finding: a rule that fired for a subject, an object or a sub-processor, with the evidence
/// that lets an auditor re-perform the check from the snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// Stable across runs: the rule ID and a digest of what the finding is about.
    pub id: String,
    pub rule_id: RuleId,
    pub severity: Severity,
    /// The rule's title.
    pub title: String,
    /// What exactly was found, in one sentence.
    pub summary: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subjects: Vec<SubjectRef>,
    /// Kubernetes objects the finding is about (bindings, roles, Secrets, webhooks...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub objects: Vec<ObjectRef>,
    /// The sub-processor (inventory id) concerned: the one every identity of the finding that
    /// belongs to a sub-processor belongs to. A finding about identities of several names none
    /// here and each in `subProcessorOf`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_processor: Option<String>,
    /// Each subject of the finding that belongs to a sub-processor, with it, when its subjects
    /// are not all one sub-processor's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sub_processor_of: Vec<SubjectOwner>,
    /// Namespaces the finding applies in; empty means cluster-wide or not namespaced.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespaces: Vec<String>,
    /// The grants behind the finding, in groups (every binding of a group grants every rule of
    /// it): findings.json records them by ids into the snapshot (role, rule positions, bindings,
    /// subject) rather than repeating rules; reports show the rules. Not read back: a previous
    /// pack's findings are compared by id.
    #[serde(
        default,
        skip_serializing_if = "GrantSet::is_empty",
        serialize_with = "grant_groups",
        skip_deserializing
    )]
    #[schemars(with = "Vec<crate::rbac::grant_set::GrantGroupRecord>")]
    pub grants: GrantSet,
    /// Where the capability is held (for the capability rules): cluster, broad or foreign; local
    /// holdings are population, never findings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<Scope>,
    /// What the finding is grouped by, when one cause stands for many subjects or objects (the
    /// identity an escalation goes through, the role default ServiceAccounts are bound to, the
    /// missing role or ServiceAccount bindings name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    /// For escalation findings: the shortest path, step by step. `findings.json` (schema 3)
    /// states each distinct step once, in the document's `steps`, and gives the path here as
    /// `pathSteps`; packs of schema 2 and earlier carry it inline.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub path: Vec<PathStep>,
    /// The path as positions in `findings.json`'s `steps` (see `report::json::document`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub path_steps: Vec<u32>,
    pub remediation: String,
    /// About a Kubernetes system component or a default binding of the API server: reported
    /// apart from the real findings.
    pub system: bool,
    pub status: FindingStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exception: Option<ExceptionRef>,
    /// What exceptions did to this finding short of accepting it: the part another finding took
    /// over, or an exception that covers only part of it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exception_notes: Vec<String>,
}

fn grant_groups<S: serde::Serializer>(grants: &GrantSet, s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(grants.records())
}

impl Finding {
    /// A finding ID: the rule ID and the first 10 hex digits of the SHA-256 of `key`.
    pub fn make_id(rule_id: &str, key: &str) -> String {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(format!("{rule_id}\n{key}").as_bytes());
        format!("{rule_id}-{}", &hex::encode(digest)[..10])
    }

    pub fn is_open(&self) -> bool {
        self.status == FindingStatus::Open
    }

    /// Which count the finding is in, everywhere the pack counts findings: about a Kubernetes
    /// system component (reported apart, whatever its status), accepted by an exception, or
    /// open. "Open findings" always means [`FindingClass::Open`].
    pub fn class(&self) -> FindingClass {
        if self.system {
            FindingClass::System
        } else if self.is_open() {
            FindingClass::Open
        } else {
            FindingClass::Accepted
        }
    }
}

/// The three disjoint counts of findings (see [`Finding::class`]).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum FindingClass {
    Open,
    Accepted,
    System,
}

/// Sorts findings: most severe first, then rule, then ID.
pub fn sort_findings(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.rule_id.cmp(&b.rule_id))
            .then_with(|| a.id.cmp(&b.id))
    });
}
