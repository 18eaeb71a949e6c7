//! The grants behind a finding, kept the way they arise: a role's rules reaching one subject
//! through many bindings. A [`GrantSet`] holds groups in which every binding grants every rule
//! of the group, so "the CI deployer holds `admin`'s 400 rules in 5,000 namespaces" is one group
//! of 400 rules and 5,000 bindings, not two million grants, in memory and in findings.json,
//! while every grant can still be listed ([`GrantSet::iter`]) and traced into the snapshot.

use super::index::{BindingId, Grant, ObjectRef, RbacIndex};
use super::subject::SubjectRef;
use crate::snapshot::PolicyRule;
use schemars::JsonSchema;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// One rule of a group, with where it is written (for an aggregated role, its source).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct GroupRule {
    source: Option<Arc<str>>,
    index: u32,
    rule: Arc<PolicyRule>,
}

/// A binding of a group and the namespace it grants in (`None`: cluster-wide).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct GroupBinding {
    binding: Arc<ObjectRef>,
    namespace: Option<Arc<str>>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Group {
    role: Arc<ObjectRef>,
    via: SubjectRef,
    rules: Vec<GroupRule>,
    bindings: Vec<GroupBinding>,
}

/// A set of grants in groups: every binding of a group grants every rule of the group.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GrantSet {
    groups: Vec<Group>,
}

/// A group as findings.json records it: ids into the snapshot, no rule repeated.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GrantGroupRecord {
    /// The role every binding of the group references.
    pub role: String,
    /// The binding subject the grants apply through (a group, for example).
    pub via: String,
    /// The role's rules that reach the subject: `rule N` (1-based, among the role's stored
    /// rules) or `rule N of ClusterRole SOURCE` for a rule an aggregated role took from SOURCE.
    pub rules: Vec<String>,
    /// The bindings, each granting every rule above.
    pub bindings: Vec<String>,
}

impl GrantSet {
    /// Groups grants: per (role, subject), bindings with the same rules form one group.
    pub fn from_grants(grants: impl IntoIterator<Item = Grant>) -> GrantSet {
        type Key = (Arc<ObjectRef>, SubjectRef, GroupBinding);
        let mut per_binding: BTreeMap<Key, BTreeSet<GroupRule>> = BTreeMap::new();
        for g in grants {
            per_binding
                .entry((
                    g.role.clone(),
                    g.subject.clone(),
                    GroupBinding {
                        binding: g.binding.clone(),
                        namespace: g.namespace.clone(),
                    },
                ))
                .or_default()
                .insert(GroupRule {
                    source: g.source_role.clone(),
                    index: g.rule_index,
                    rule: g.rule.clone(),
                });
        }
        let mut groups: BTreeMap<(Arc<ObjectRef>, SubjectRef, Vec<GroupRule>), Vec<GroupBinding>> =
            BTreeMap::new();
        for ((role, via, binding), rules) in per_binding {
            groups
                .entry((role, via, rules.into_iter().collect()))
                .or_default()
                .push(binding);
        }
        GrantSet::from_groups(groups)
    }

    /// The grants of bindings (each with rules of its role, by position) to `subject`,
    /// grouped without materialising each grant.
    pub fn from_bindings(
        index: &RbacIndex,
        grants: &[(BindingId, impl AsRef<[usize]>)],
        subject: &SubjectRef,
    ) -> GrantSet {
        let mut per_binding: BTreeMap<BindingId, Vec<usize>> = BTreeMap::new();
        for (b, rules) in grants {
            per_binding
                .entry(*b)
                .or_default()
                .extend_from_slice(rules.as_ref());
        }
        let mut by_rules: BTreeMap<(usize, Vec<usize>), Vec<BindingId>> = BTreeMap::new();
        for (b, mut rules) in per_binding {
            let Ok(role) = index.bindings[b].role else {
                continue;
            };
            rules.sort_unstable();
            rules.dedup();
            by_rules.entry((role, rules)).or_default().push(b);
        }
        let mut groups = BTreeMap::new();
        for ((role_id, rules), bindings) in by_rules {
            let role = &index.roles[role_id];
            let rules: Vec<GroupRule> = rules
                .iter()
                .filter_map(|i| role.rules.get(*i))
                .map(|r| GroupRule {
                    source: r.source.clone(),
                    index: r.index,
                    rule: r.rule.clone(),
                })
                .collect();
            let bindings: Vec<GroupBinding> = bindings
                .iter()
                .map(|b| {
                    let b = &index.bindings[*b];
                    GroupBinding {
                        binding: b.object(),
                        namespace: b.namespace_arc.clone(),
                    }
                })
                .collect();
            groups
                .entry((role.object(), subject.clone(), rules))
                .or_insert_with(Vec::new)
                .extend(bindings);
        }
        GrantSet::from_groups(groups)
    }

    fn from_groups(
        groups: BTreeMap<(Arc<ObjectRef>, SubjectRef, Vec<GroupRule>), Vec<GroupBinding>>,
    ) -> GrantSet {
        GrantSet {
            groups: groups
                .into_iter()
                .map(|((role, via, mut rules), mut bindings)| {
                    rules.sort();
                    rules.dedup();
                    bindings.sort();
                    bindings.dedup();
                    Group {
                        role,
                        via,
                        rules,
                        bindings,
                    }
                })
                .collect(),
        }
    }

    /// How many grants: bindings times rules, summed over the groups.
    pub fn len(&self) -> usize {
        self.groups
            .iter()
            .map(|g| g.rules.len() * g.bindings.len())
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every grant, one by one (made as they are asked for).
    pub fn iter(&self) -> impl Iterator<Item = Grant> + '_ {
        self.groups.iter().flat_map(|g| {
            g.bindings.iter().flat_map(move |b| {
                g.rules.iter().map(move |r| Grant {
                    binding: b.binding.clone(),
                    role: g.role.clone(),
                    source_role: r.source.clone(),
                    namespace: b.namespace.clone(),
                    subject: g.via.clone(),
                    rule: r.rule.clone(),
                    rule_index: r.index,
                })
            })
        })
    }

    /// The namespaces the grants apply in.
    pub fn namespaces(&self) -> BTreeSet<String> {
        self.groups
            .iter()
            .flat_map(|g| g.bindings.iter())
            .filter_map(|b| b.namespace.as_deref().map(str::to_string))
            .collect()
    }

    /// True when a grant applies cluster-wide.
    pub fn has_cluster_wide(&self) -> bool {
        self.groups
            .iter()
            .any(|g| g.bindings.iter().any(|b| b.namespace.is_none()))
    }

    /// The subjects the grants apply through.
    pub fn subjects(&self) -> BTreeSet<SubjectRef> {
        self.groups.iter().map(|g| g.via.clone()).collect()
    }

    /// Splits by binding: the grants of bindings for which `inside(namespace, via)` holds, and
    /// the rest.
    pub fn split(
        &self,
        inside: impl Fn(Option<&str>, &SubjectRef) -> bool,
    ) -> (GrantSet, GrantSet) {
        let (mut yes, mut no) = (Vec::new(), Vec::new());
        for g in &self.groups {
            let (a, b): (Vec<GroupBinding>, Vec<GroupBinding>) = g
                .bindings
                .iter()
                .cloned()
                .partition(|b| inside(b.namespace.as_deref(), &g.via));
            for (side, bindings) in [(&mut yes, a), (&mut no, b)] {
                if !bindings.is_empty() {
                    side.push(Group {
                        bindings,
                        ..g.clone()
                    });
                }
            }
        }
        (GrantSet { groups: yes }, GrantSet { groups: no })
    }

    /// The groups as findings.json records them.
    pub fn records(&self) -> Vec<GrantGroupRecord> {
        self.groups
            .iter()
            .map(|g| GrantGroupRecord {
                role: g.role.to_string(),
                via: g.via.to_string(),
                rules: g
                    .rules
                    .iter()
                    .map(|r| match &r.source {
                        Some(src) => format!("rule {} of ClusterRole {src}", r.index + 1),
                        None => format!("rule {}", r.index + 1),
                    })
                    .collect(),
                bindings: g.bindings.iter().map(|b| b.binding.to_string()).collect(),
            })
            .collect()
    }
}

impl FromIterator<Grant> for GrantSet {
    fn from_iter<T: IntoIterator<Item = Grant>>(iter: T) -> Self {
        GrantSet::from_grants(iter)
    }
}

impl From<Vec<Grant>> for GrantSet {
    fn from(grants: Vec<Grant>) -> Self {
        GrantSet::from_grants(grants)
    }
}
