//! Each subject's privilege level, decided once: whether it holds cluster-admin *directly* (all
//! verbs on all resources cluster-wide through a binding of its own or of one of its groups, or
//! membership of `system:masters`), reaches it *by escalation* (with the shortest path and its
//! number of steps), or neither.
//!
//! Everything that states a subject's cluster-admin reach reads this: the KE-RBAC-001 and
//! KE-RBAC-026 findings, the access matrix, the sub-processor register, `inventory discover` and
//! `access --reach`. Nothing else decides it, so they cannot disagree.

use super::index::{Grant, RbacIndex};
use super::reach::{PathStep, ReachGraph, is_cluster_admin_rule};
use super::subject::{Identity, MASTERS, SubjectRef};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How a subject reaches cluster-admin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "level", rename_all = "kebab-case")]
pub enum AdminReach {
    /// Holds all verbs on all resources cluster-wide itself or through one of its groups, or is
    /// in `system:masters` (which bypasses RBAC; then there is no grant to show).
    #[serde(rename_all = "camelCase")]
    Direct {
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        bypasses_rbac: bool,
        /// The cluster-wide grants of all verbs on all resources.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        grants: Vec<Grant>,
    },
    /// Does not hold it, but reaches an identity that does: the shortest path (in
    /// `findings.json`, its positions in the document's `steps`, as `pathSteps`).
    #[serde(rename_all = "camelCase")]
    Escalation {
        steps: usize,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        path: Vec<PathStep>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        path_steps: Vec<u32>,
    },
}

impl AdminReach {
    /// The words every report uses for `subject`'s reach: `direct`, `direct (through GROUP)`
    /// when only a group it belongs to holds the grant, or `via escalation (N step(s))`.
    pub fn describe_for(&self, subject: &SubjectRef) -> String {
        match self {
            AdminReach::Direct {
                bypasses_rbac: true,
                ..
            } => "direct (system:masters, bypasses RBAC)".to_string(),
            AdminReach::Direct { grants, .. } => {
                let through: std::collections::BTreeSet<String> = grants
                    .iter()
                    .filter(|g| &g.subject != subject)
                    .map(|g| g.subject.to_string())
                    .collect();
                if !through.is_empty() && grants.iter().all(|g| &g.subject != subject) {
                    format!(
                        "direct (through {})",
                        through.into_iter().collect::<Vec<_>>().join(", ")
                    )
                } else {
                    "direct".to_string()
                }
            }
            AdminReach::Escalation { steps, .. } => {
                format!(
                    "via escalation ({steps} step{})",
                    if *steps == 1 { "" } else { "s" }
                )
            }
        }
    }

    pub fn is_direct(&self) -> bool {
        matches!(self, AdminReach::Direct { .. })
    }

    /// 0 for direct, else the number of escalation steps: smaller is stronger.
    pub fn steps(&self) -> usize {
        match self {
            AdminReach::Direct { .. } => 0,
            AdminReach::Escalation { steps, .. } => *steps,
        }
    }
}

/// How `identity` (a subject with its groups) reaches cluster-admin, if it does.
pub fn admin_reach(
    index: &RbacIndex,
    reach: &ReachGraph,
    identity: &Identity,
) -> Option<AdminReach> {
    if identity.in_group(MASTERS) {
        return Some(AdminReach::Direct {
            bypasses_rbac: true,
            grants: Vec::new(),
        });
    }
    let holders = std::iter::once(identity.subject.clone())
        .chain(identity.groups.iter().map(SubjectRef::group));
    if holders.into_iter().any(|h| reach.binds_admin(&h)) {
        let grants: Vec<Grant> = index
            .access(identity)
            .cluster_wide
            .into_iter()
            .filter(|g| is_cluster_admin_rule(&g.rule))
            .collect();
        return Some(AdminReach::Direct {
            bypasses_rbac: false,
            grants,
        });
    }
    // The subject's own shortest path already follows its implicit groups; groups given on the
    // command line are one membership step away.
    let mut best = reach.path_to_admin(index, &identity.subject);
    for group in &identity.groups {
        let as_group = SubjectRef::group(group);
        if as_group == identity.subject {
            continue;
        }
        if let Some(rest) = reach.path_to_admin(index, &as_group)
            && best.as_ref().is_none_or(|b| rest.len() + 1 < b.len())
        {
            let mut path = vec![PathStep {
                from: identity.subject.to_string(),
                action: format!("is a member of group {group}"),
                to: as_group.to_string(),
                grant: None,
                mv: Some(super::reach::Move::MemberOf {
                    group: group.clone(),
                }),
            }];
            path.extend(rest);
            best = Some(path);
        }
    }
    best.filter(|p| !p.is_empty())
        .map(|path| AdminReach::Escalation {
            steps: path.len(),
            path,
            path_steps: Vec::new(),
        })
}

/// One subject's entry in the privilege table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubjectPrivilege {
    pub subject: SubjectRef,
    #[serde(flatten)]
    pub reach: AdminReach,
}

/// The privilege level of every subject that has one: subjects named in bindings and every
/// ServiceAccount ([`RbacIndex::all_subjects`]). Subjects that are absent reach nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrivilegeTable {
    entries: BTreeMap<SubjectRef, AdminReach>,
}

impl PrivilegeTable {
    pub fn compute(index: &RbacIndex, reach: &ReachGraph) -> PrivilegeTable {
        let entries = index
            .all_subjects()
            .into_iter()
            .filter_map(|s| {
                let r = admin_reach(index, reach, &Identity::of(&s, &[]))?;
                Some((s, r))
            })
            .collect();
        PrivilegeTable { entries }
    }

    pub fn get(&self, subject: &SubjectRef) -> Option<&AdminReach> {
        self.entries.get(subject)
    }

    /// `direct`, `via escalation (N steps)` or `none`.
    pub fn describe(&self, subject: &SubjectRef) -> String {
        self.get(subject)
            .map_or_else(|| "none".to_string(), |r| r.describe_for(subject))
    }

    pub fn iter(&self) -> impl Iterator<Item = (&SubjectRef, &AdminReach)> {
        self.entries.iter()
    }

    /// The strongest reach among `subjects` (direct before the fewest steps), with its subject.
    pub fn strongest<'a>(
        &'a self,
        subjects: impl IntoIterator<Item = &'a SubjectRef>,
    ) -> Option<(&'a SubjectRef, &'a AdminReach)> {
        subjects
            .into_iter()
            .filter_map(|s| self.entries.get_key_value(s))
            .min_by(|a, b| a.1.steps().cmp(&b.1.steps()).then_with(|| a.0.cmp(b.0)))
    }

    /// The table as the pack records it (sorted by subject).
    pub fn to_records(&self) -> Vec<SubjectPrivilege> {
        self.entries
            .iter()
            .map(|(s, r)| SubjectPrivilege {
                subject: s.clone(),
                reach: r.clone(),
            })
            .collect()
    }

    pub fn from_records(records: &[SubjectPrivilege]) -> PrivilegeTable {
        PrivilegeTable {
            entries: records
                .iter()
                .map(|r| (r.subject.clone(), r.reach.clone()))
                .collect(),
        }
    }
}
