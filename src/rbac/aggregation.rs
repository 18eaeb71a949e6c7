//! ClusterRole aggregation, resolved by the tool: an aggregated ClusterRole's rules are the union
//! of the rules of every other ClusterRole its selectors match, transitively, as the
//! clusterrole-aggregation controller leaves them once it has settled. Whatever rules are stored
//! on an aggregated role are ignored (the controller overwrites them), and any difference between
//! stored and computed rules is reported.

use super::matching::selector_matches;
use crate::snapshot::{ClusterRole, PolicyRule};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

/// A rule as it reaches a role, with the ClusterRole it originally came from when aggregated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourcedRule {
    pub rule: Arc<PolicyRule>,
    /// For an aggregated ClusterRole: the non-aggregated ClusterRole that contributed the rule.
    pub source: Option<Arc<str>>,
    /// Its position (from 0) among the stored rules of the role it is written in: the source
    /// role's when aggregated, else the role's own. With the role, a stable id into the snapshot.
    pub index: u32,
}

/// Stored rules of an aggregated ClusterRole that differ from the computed aggregation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AggregationDrift {
    pub cluster_role: String,
    /// Computed by aggregation but absent from the stored rules.
    pub missing_from_stored: Vec<PolicyRule>,
    /// Stored on the role but not produced by aggregation (the controller would remove them).
    pub not_from_aggregation: Vec<PolicyRule>,
}

/// The effective rules of every aggregated ClusterRole, by name.
pub fn resolve(cluster_roles: &[ClusterRole]) -> BTreeMap<String, Vec<SourcedRule>> {
    let mut sorted: Vec<&ClusterRole> = cluster_roles.iter().collect();
    sorted.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    let aggregated: Vec<&ClusterRole> = sorted
        .iter()
        .copied()
        .filter(|r| r.aggregation_rule.is_some())
        .collect();
    // Which roles each aggregated role selects, in name order (the controller sorts by name).
    let selected: BTreeMap<&str, Vec<&ClusterRole>> = aggregated
        .iter()
        .map(|agg| {
            let selectors = &agg
                .aggregation_rule
                .as_ref()
                .expect("filtered")
                .cluster_role_selectors;
            // A set of the names picked: a selector of a large cluster picks hundreds of roles,
            // and asking the list itself made this quadratic.
            let mut picks: Vec<&ClusterRole> = Vec::new();
            let mut picked: HashSet<&str> = HashSet::new();
            for sel in selectors {
                for r in &sorted {
                    if r.metadata.name != agg.metadata.name
                        && selector_matches(sel, &r.metadata.labels)
                        && picked.insert(r.metadata.name.as_str())
                    {
                        picks.push(r);
                    }
                }
            }
            (agg.metadata.name.as_str(), picks)
        })
        .collect();

    // The rules each non-aggregated role contributes, sourced once (not once per pass). Equal
    // rules share one allocation, so the unions below can tell them apart by address alone:
    // every rule an aggregated role holds comes from here.
    let picked: HashSet<&str> = selected
        .values()
        .flatten()
        .map(|r| r.metadata.name.as_str())
        .collect();
    let mut interned: HashMap<&PolicyRule, Arc<PolicyRule>> = HashMap::new();
    let mut own: HashMap<&str, Vec<SourcedRule>> = HashMap::new();
    for role in sorted
        .iter()
        .filter(|r| r.aggregation_rule.is_none() && picked.contains(r.metadata.name.as_str()))
    {
        let name = role.metadata.name.as_str();
        let source: Arc<str> = Arc::from(name);
        let rules = role
            .rules
            .iter()
            .enumerate()
            .map(|(i, r)| SourcedRule {
                rule: interned
                    .entry(r)
                    .or_insert_with(|| Arc::new(r.clone()))
                    .clone(),
                source: Some(source.clone()),
                index: i as u32,
            })
            .collect();
        own.insert(name, rules);
    }
    let mut computed: BTreeMap<String, Vec<SourcedRule>> = aggregated
        .iter()
        .map(|a| (a.metadata.name.clone(), Vec::new()))
        .collect();
    // A fixpoint of unions: each pass can only add rules, so it ends after at most one pass per
    // aggregated role (plus one to observe that nothing changed), cycles included.
    //
    // Roles with the same selection have the same union (a label that many roles aggregate is
    // the common case), so a pass computes it once; a change to any union makes those computed
    // earlier in the pass stale, so they are forgotten then.
    for _ in 0..=aggregated.len() {
        let mut changed = false;
        let mut unions: HashMap<Vec<&str>, Vec<SourcedRule>> = HashMap::new();
        for agg in &aggregated {
            let name = agg.metadata.name.as_str();
            let picks: Vec<&str> = selected[name]
                .iter()
                .map(|picked| picked.metadata.name.as_str())
                .collect();
            let rules = match unions.get(&picks) {
                Some(rules) => rules.clone(),
                None => {
                    let rules = union(picks.iter().map(|picked| {
                        computed
                            .get(*picked)
                            .unwrap_or_else(|| &own[picked])
                            .as_slice()
                    }));
                    unions.insert(picks, rules.clone());
                    rules
                }
            };
            if computed[name] != rules {
                computed.insert(name.to_string(), rules);
                changed = true;
                unions.clear();
            }
        }
        if !changed {
            break;
        }
    }

    computed
}

/// Every aggregated ClusterRole whose stored rules differ from its aggregation (`computed`,
/// what [`resolve`] gave), in name order. Only the analysis reports it: a query needs the
/// computed rules alone, so this is its own pass.
pub fn drift<'a>(
    cluster_roles: &[ClusterRole],
    computed: impl Fn(&str) -> Option<&'a [SourcedRule]>,
) -> Vec<AggregationDrift> {
    let mut aggregated: Vec<&ClusterRole> = cluster_roles
        .iter()
        .filter(|r| r.aggregation_rule.is_some())
        .collect();
    aggregated.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    aggregated
        .into_iter()
        .filter_map(|agg| drift_of(agg, computed(&agg.metadata.name).unwrap_or_default()))
        .collect()
}

/// How `agg`'s stored rules differ from the `computed` aggregation, if they do. A settled
/// cluster stores exactly the computed rules (thousands for a wide selector, and hundreds of
/// such roles), in the same order, which one pass confirms; stored in another order, the sets
/// are compared. The sorted differences are built only for a role that drifted.
fn drift_of(agg: &ClusterRole, computed: &[SourcedRule]) -> Option<AggregationDrift> {
    // The controller writes the union in the order `resolve` computes it.
    if agg.rules.len() == computed.len()
        && agg.rules.iter().zip(computed).all(|(s, c)| *s == *c.rule)
    {
        return None;
    }
    let stored: HashSet<&PolicyRule> = agg.rules.iter().collect();
    let comp: HashSet<&PolicyRule> = computed.iter().map(|r| r.rule.as_ref()).collect();
    if stored == comp {
        return None;
    }
    let sorted = |a: &HashSet<&PolicyRule>, b: &HashSet<&PolicyRule>| -> Vec<PolicyRule> {
        let only_a: BTreeSet<&PolicyRule> = a.difference(b).copied().collect();
        only_a.into_iter().cloned().collect()
    };
    Some(AggregationDrift {
        cluster_role: agg.metadata.name.clone(),
        missing_from_stored: sorted(&comp, &stored),
        not_from_aggregation: sorted(&stored, &comp),
    })
}

/// The union of the rules the selected roles contribute, in the order met; a rule equal to one
/// already taken is dropped (first contributor wins, as the controller keeps it). Equal rules
/// share one allocation (see `resolve`), so a set of addresses decides equality in constant
/// time: aggregated roles of a large cluster select thousands of rules.
fn union<'a>(contributions: impl Iterator<Item = &'a [SourcedRule]>) -> Vec<SourcedRule> {
    let mut seen: HashSet<*const PolicyRule> = HashSet::new();
    let mut rules = Vec::new();
    for contributed in contributions {
        for r in contributed {
            if seen.insert(Arc::as_ptr(&r.rule)) {
                rules.push(r.clone());
            }
        }
    }
    rules
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::{AggregationRule, LabelSelector, ObjectMeta};

    fn role(
        name: &str,
        labels: &[(&str, &str)],
        verbs: &[&str],
        agg: Option<&[(&str, &str)]>,
    ) -> ClusterRole {
        let mut meta = ObjectMeta::named(name);
        meta.labels = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ClusterRole {
            metadata: meta,
            rules: if verbs.is_empty() {
                vec![]
            } else {
                vec![PolicyRule {
                    verbs: verbs.iter().map(|s| s.to_string()).collect(),
                    api_groups: vec!["".into()],
                    resources: vec![name.into()],
                    ..Default::default()
                }]
            },
            aggregation_rule: agg.map(|l| AggregationRule {
                cluster_role_selectors: vec![LabelSelector {
                    match_labels: l
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect(),
                    ..Default::default()
                }],
            }),
        }
    }

    #[test]
    fn transitive_aggregation_with_sources_and_drift() {
        let roles = vec![
            // admin <- edit <- view, as in Kubernetes' default policy
            role("admin", &[], &[], Some(&[("to-admin", "true")])),
            role(
                "edit",
                &[("to-admin", "true")],
                &["stale"],
                Some(&[("to-edit", "true")]),
            ),
            role(
                "view",
                &[("to-edit", "true")],
                &[],
                Some(&[("to-view", "true")]),
            ),
            role("a-viewer", &[("to-view", "true")], &["get"], None),
            role("an-editor", &[("to-edit", "true")], &["update"], None),
        ];
        let computed = resolve(&roles);
        let drift = drift(&roles, |name| computed.get(name).map(Vec::as_slice));
        let admin: Vec<_> = computed["admin"]
            .iter()
            .map(|r| {
                (
                    r.rule.resources[0].clone(),
                    r.source.as_deref().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(
            admin,
            vec![
                ("an-editor".to_string(), "an-editor".to_string()),
                ("a-viewer".to_string(), "a-viewer".to_string())
            ]
        );
        assert_eq!(computed["view"].len(), 1);
        // `edit` stores a rule aggregation would not produce, and lacks the computed ones
        let edit = drift.iter().find(|d| d.cluster_role == "edit").unwrap();
        assert_eq!(edit.not_from_aggregation.len(), 1);
        assert_eq!(edit.missing_from_stored.len(), 2);
    }

    #[test]
    fn cycles_terminate() {
        let roles = vec![
            role("a", &[("x", "1")], &["get"], Some(&[("y", "1")])),
            role("b", &[("y", "1")], &["list"], Some(&[("x", "1")])),
            role("c", &[("y", "1")], &["watch"], None),
        ];
        let computed = resolve(&roles);
        // a picks b (computed: a's computed) and c; b picks a
        assert_eq!(computed["a"].len(), computed["b"].len());
        assert!(computed["a"].iter().any(|r| r.rule.verbs == vec!["watch"]));
    }
}
