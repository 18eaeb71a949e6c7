//! An identity's rules as the escalation engine asks about them: the grants it holds (its
//! `AccessReport`) plus what it has given itself on the way (gains), queried as the RBAC
//! authorizer decides a request: cluster-wide rules apply everywhere, a RoleBinding's rules only
//! to namespaced requests in its namespace, and a cluster-scoped resource only to cluster-wide
//! rules.

use super::moves::Move;
use crate::rbac::index::{AccessReport, Grant};
use crate::rbac::matching::{Names, allows};
use crate::snapshot::PolicyRule;
use std::sync::Arc;

/// One step an identity takes to give itself more rules, with the grants that allow it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GainStep {
    pub mv: Move,
    /// The grants the API server checks for it (the first is the one to remove).
    pub grants: Vec<Grant>,
}

/// Rules an identity has given itself, in a scope (`None`: cluster-wide), and how.
#[derive(Debug, Clone)]
pub struct Gain {
    pub rule: Arc<PolicyRule>,
    pub namespace: Option<String>,
    /// Every step needed, in order (earlier gains included).
    pub steps: Arc<Vec<GainStep>>,
}

/// Where a rule an identity uses comes from.
#[derive(Debug, Clone, Copy)]
pub enum Source<'a> {
    Grant(&'a Grant),
    Gain(&'a Gain),
}

impl Source<'_> {
    /// The steps that must come before a move this rule allows, and the grant behind it.
    pub fn parts(&self) -> (Vec<GainStep>, Option<Grant>) {
        match self {
            Source::Grant(g) => (Vec::new(), Some((*g).clone())),
            Source::Gain(g) => (g.steps.as_ref().clone(), None),
        }
    }
}

/// The request's scope: a namespace, every namespace at once, or a cluster-scoped resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum At<'n> {
    Namespace(&'n str),
    /// A cluster-scoped resource (only cluster-wide rules allow it).
    Cluster,
}

pub struct Perms<'a> {
    pub report: &'a AccessReport,
    pub gains: &'a [Gain],
}

impl<'a> Perms<'a> {
    /// Every rule that can apply at `at`, with its source.
    fn rules_at<'s>(
        &'s self,
        at: At<'_>,
    ) -> impl Iterator<Item = (&'a PolicyRule, Source<'a>)> + 's {
        let cluster = self
            .report
            .cluster_wide
            .iter()
            .map(|g| (g.rule.as_ref(), Source::Grant(g)));
        let ns = match at {
            At::Namespace(n) => Some(n.to_string()),
            _ => None,
        };
        let namespaced = ns
            .clone()
            .and_then(|n| self.report.namespaced.get(&n))
            .into_iter()
            .flatten()
            .map(|g| (g.rule.as_ref(), Source::Grant(g)));
        let gains = self
            .gains
            .iter()
            .filter(move |g| match (&g.namespace, &ns) {
                (None, _) => true,
                (Some(a), Some(b)) => a == b,
                (Some(_), None) => false,
            })
            .map(|g| (g.rule.as_ref(), Source::Gain(g)));
        cluster.chain(namespaced).chain(gains)
    }

    /// The objects `verb` reaches at `at` (the union over every rule), if any.
    pub fn names(
        &self,
        verb: &str,
        group: &str,
        resource: &str,
        sub: &str,
        at: At<'_>,
    ) -> Option<Names> {
        union_names(self.rules_at(at), verb, group, resource, sub)
    }

    /// The objects `verb` reaches in every namespace through cluster-wide grants and gains
    /// alone (what [`Perms::names`] gives in a namespace without rules of its own).
    pub fn names_everywhere(
        &self,
        verb: &str,
        group: &str,
        resource: &str,
        sub: &str,
    ) -> Option<Names> {
        union_names(self.everywhere_rules(), verb, group, resource, sub)
    }

    /// The cluster-wide grants, then the cluster-wide gains.
    fn everywhere_rules(&self) -> impl Iterator<Item = (&'a PolicyRule, Source<'a>)> + '_ {
        let cluster = self
            .report
            .cluster_wide
            .iter()
            .map(|g| (g.rule.as_ref(), Source::Grant(g)));
        let gains = self
            .gains
            .iter()
            .filter(|g| g.namespace.is_none())
            .map(|g| (g.rule.as_ref(), Source::Gain(g)));
        cluster.chain(gains)
    }

    /// A rule that allows `verb` on the object `name` at `at` (`None` for a request that
    /// names no object, such as a create: only a rule without resourceNames allows it).
    pub fn source(
        &self,
        verb: &str,
        group: &str,
        resource: &str,
        sub: &str,
        at: At<'_>,
        name: Option<&str>,
    ) -> Option<Source<'a>> {
        self.rules_at(at)
            .find(
                |(rule, _)| match (allows(rule, verb, group, resource, sub), name) {
                    (Some(Names::All), _) => true,
                    (Some(Names::Some(list)), Some(n)) => list.iter().any(|x| x == n),
                    _ => false,
                },
            )
            .map(|(_, s)| s)
    }

    /// Every rule that allows `verb` at `at`, with the names it allows, in the order
    /// [`Perms::source`] tries them: matched once, then asked per name (a loop over many names
    /// matched every rule again for each).
    pub fn sources(
        &self,
        verb: &str,
        group: &str,
        resource: &str,
        sub: &str,
        at: At<'_>,
    ) -> NameSources<'a> {
        NameSources::of(self.rules_at(at), verb, group, resource, sub)
    }

    /// [`Perms::sources`] in a namespace without rules of its own (the cluster-wide grants and
    /// gains, in the same order), the same in every such namespace.
    pub fn sources_everywhere(
        &self,
        verb: &str,
        group: &str,
        resource: &str,
        sub: &str,
    ) -> NameSources<'a> {
        NameSources::of(self.everywhere_rules(), verb, group, resource, sub)
    }

    /// A rule allowing any of `verbs` on `name` (see [`Perms::source`]).
    pub fn source_any(
        &self,
        verbs: &[&str],
        group: &str,
        resource: &str,
        sub: &str,
        at: At<'_>,
        name: Option<&str>,
    ) -> Option<Source<'a>> {
        verbs
            .iter()
            .find_map(|v| self.source(v, group, resource, sub, at, name))
    }

    /// A rule that allows `verb` on every object in every namespace (a cluster-wide grant or a
    /// cluster-wide gain): the answer [`Perms::source`] gives with no name in every namespace,
    /// found once instead of once per namespace.
    pub fn everywhere(
        &self,
        verb: &str,
        group: &str,
        resource: &str,
        sub: &str,
    ) -> Option<Source<'a>> {
        self.everywhere_rules()
            .find(|(rule, _)| allows(rule, verb, group, resource, sub) == Some(Names::All))
            .map(|(_, s)| s)
    }

    /// The namespaces (of `candidates`) with rules of their own: a namespaced grant or gain
    /// there. Elsewhere only the cluster-wide rules apply, which are the same in every one.
    /// `candidates` is sorted (the snapshot's namespaces): the identity's own namespaces are
    /// looked up in it, never the other way round, since an identity has rules in a few
    /// namespaces of thousands.
    pub fn namespaces_with_own_rules<'c>(&self, candidates: &'c [String]) -> Vec<&'c str> {
        let mut own: Vec<&str> = self.report.namespaced.keys().map(String::as_str).collect();
        own.extend(self.gains.iter().filter_map(|g| g.namespace.as_deref()));
        own.sort_unstable();
        own.dedup();
        own.into_iter()
            .filter_map(|n| {
                let at = candidates.binary_search_by(|c| c.as_str().cmp(n)).ok()?;
                Some(candidates[at].as_str())
            })
            .collect()
    }

    /// The namespaces (of `candidates`) where some rule applies: every candidate when a
    /// cluster-wide rule or gain could apply, else the namespaces of namespaced rules.
    pub fn namespaces<'c>(&self, candidates: &'c [String]) -> Vec<&'c str> {
        if !self.report.cluster_wide.is_empty() || self.gains.iter().any(|g| g.namespace.is_none())
        {
            return candidates.iter().map(String::as_str).collect();
        }
        self.namespaces_with_own_rules(candidates)
    }
}

/// The rules that allow one request, with the names each allows, in order; up to the first
/// that allows every name (no later rule is ever the answer).
pub struct NameSources<'a> {
    hits: Vec<(Names, Source<'a>)>,
}

impl<'a> NameSources<'a> {
    fn of(
        rules: impl Iterator<Item = (&'a PolicyRule, Source<'a>)>,
        verb: &str,
        group: &str,
        resource: &str,
        sub: &str,
    ) -> NameSources<'a> {
        let mut hits = Vec::new();
        for (rule, source) in rules {
            if let Some(names) = allows(rule, verb, group, resource, sub) {
                let all = names == Names::All;
                hits.push((names, source));
                if all {
                    break;
                }
            }
        }
        NameSources { hits }
    }

    /// What [`Perms::source`] answers for `name`.
    pub fn source(&self, name: Option<&str>) -> Option<Source<'a>> {
        self.hits
            .iter()
            .find(|(names, _)| match (names, name) {
                (Names::All, _) => true,
                (Names::Some(list), Some(n)) => list.iter().any(|x| x == n),
                _ => false,
            })
            .map(|(_, s)| *s)
    }
}

/// The union of the objects `verb` reaches through each rule, if any rule allows it.
fn union_names<'r>(
    rules: impl Iterator<Item = (&'r PolicyRule, Source<'r>)>,
    verb: &str,
    group: &str,
    resource: &str,
    sub: &str,
) -> Option<Names> {
    let mut out: Option<Names> = None;
    for (rule, _) in rules {
        match (allows(rule, verb, group, resource, sub), &mut out) {
            (None, _) => {}
            (Some(Names::All), _) => return Some(Names::All),
            (Some(n), None) => out = Some(n),
            (Some(Names::Some(more)), Some(Names::Some(list))) => {
                for m in more {
                    if !list.contains(&m) {
                        list.push(m);
                    }
                }
            }
            (Some(Names::Some(_)), Some(Names::All)) => {}
        }
    }
    if let Some(Names::Some(list)) = &mut out {
        list.sort();
    }
    out
}
