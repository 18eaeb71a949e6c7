//! Rule matching exactly as the Kubernetes RBAC authorizer does it (`RuleAllows` and its
//! helpers in `k8s.io/kubernetes/pkg/apis/rbac/v1`), and label selectors for aggregation.

use crate::snapshot::{LabelSelector, PolicyRule};
use std::collections::BTreeMap;

/// One request to authorize.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Request {
    Resource(ResourceRequest),
    NonResource(NonResourceRequest),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceRequest {
    pub verb: String,
    pub api_group: String,
    pub resource: String,
    pub subresource: String,
    /// Empty for a cluster-wide request (cluster-scoped objects, or `-A` lists).
    pub namespace: String,
    /// Empty when the request names no object (list, create, watch of a collection).
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NonResourceRequest {
    pub verb: String,
    pub path: String,
}

impl Request {
    pub fn verb(&self) -> &str {
        match self {
            Request::Resource(r) => &r.verb,
            Request::NonResource(r) => &r.verb,
        }
    }

    /// The namespace the request is made in (empty: cluster-wide or non-resource).
    pub fn namespace(&self) -> &str {
        match self {
            Request::Resource(r) => &r.namespace,
            Request::NonResource(_) => "",
        }
    }
}

impl std::fmt::Display for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Request::Resource(r) => {
                write!(f, "{} {}", r.verb, r.resource)?;
                if !r.subresource.is_empty() {
                    write!(f, "/{}", r.subresource)?;
                }
                if !r.api_group.is_empty() {
                    write!(f, " (group {})", r.api_group)?;
                }
                if !r.name.is_empty() {
                    write!(f, " named {}", r.name)?;
                }
                if r.namespace.is_empty() {
                    write!(f, " cluster-wide")
                } else {
                    write!(f, " in namespace {}", r.namespace)
                }
            }
            Request::NonResource(r) => write!(f, "{} {}", r.verb, r.path),
        }
    }
}

pub fn rule_allows(request: &Request, rule: &PolicyRule) -> bool {
    match request {
        Request::Resource(r) => resource_rule_allows(
            rule,
            &r.verb,
            &r.api_group,
            &r.resource,
            &r.subresource,
            &r.name,
        ),
        Request::NonResource(r) => {
            verb_matches(rule, &r.verb) && non_resource_url_matches(rule, &r.path)
        }
    }
}

/// [`rule_allows`] for a resource request given by its parts, without building one: the
/// escalation engine asks this millions of times on a large cluster, and building the request
/// (six strings) was most of the cost.
pub fn resource_rule_allows(
    rule: &PolicyRule,
    verb: &str,
    group: &str,
    resource: &str,
    sub: &str,
    name: &str,
) -> bool {
    verb_matches(rule, verb)
        && api_group_matches(rule, group)
        && resource_matches(rule, resource, sub)
        && resource_name_matches(rule, name)
}

/// Whether `r` is `resource`, or `resource/sub` when there is a subresource.
fn is_combined(r: &str, resource: &str, sub: &str) -> bool {
    if sub.is_empty() {
        return r == resource;
    }
    r.len() == resource.len() + 1 + sub.len()
        && r.starts_with(resource)
        && r.as_bytes()[resource.len()] == b'/'
        && r.ends_with(sub)
}

pub fn verb_matches(rule: &PolicyRule, verb: &str) -> bool {
    rule.verbs.iter().any(|v| v == "*" || v == verb)
}

pub fn api_group_matches(rule: &PolicyRule, group: &str) -> bool {
    rule.api_groups.iter().any(|g| g == "*" || g == group)
}

/// Whether a rule's resources name `resource` (with `sub`, its subresource, when not empty):
/// `*`, `resource` or `resource/sub` exactly, or `*/sub`.
pub fn resource_matches(rule: &PolicyRule, resource: &str, sub: &str) -> bool {
    rule.resources.iter().any(|r| {
        r == "*"
            || is_combined(r, resource, sub)
            || (!sub.is_empty()
                && r.len() == sub.len() + 2
                && r.starts_with("*/")
                && r.ends_with(sub))
    })
}

pub fn resource_name_matches(rule: &PolicyRule, name: &str) -> bool {
    rule.resource_names.is_empty() || rule.resource_names.iter().any(|n| n == name)
}

pub fn non_resource_url_matches(rule: &PolicyRule, path: &str) -> bool {
    rule.non_resource_urls.iter().any(|u| {
        u == "*" || u == path || (u.ends_with('*') && path.starts_with(u.trim_end_matches('*')))
    })
}

/// Which objects of a kind a rule reaches: all of them, or only the named ones.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Names {
    All,
    Some(Vec<String>),
}

impl Names {
    pub fn contains(&self, name: &str) -> bool {
        match self {
            Names::All => true,
            Names::Some(v) => v.iter().any(|n| n == name),
        }
    }
}

/// Whether `rule` allows `verb` on `group/resource[/sub]` for some object, and for which: the
/// exact authorizer match, asked once for a nameless request and once per listed name.
pub fn allows(
    rule: &PolicyRule,
    verb: &str,
    group: &str,
    resource: &str,
    sub: &str,
) -> Option<Names> {
    let probe = |name: &str| resource_rule_allows(rule, verb, group, resource, sub, name);
    if rule.resource_names.is_empty() {
        return probe("").then_some(Names::All);
    }
    let names: Vec<String> = rule
        .resource_names
        .iter()
        .filter(|n| probe(n))
        .cloned()
        .collect();
    (!names.is_empty()).then_some(Names::Some(names))
}

/// Whether a label selector matches a set of labels (`metav1.LabelSelectorAsSelector`): every
/// `matchLabels` pair and every expression must hold; an empty selector matches everything.
/// An expression with an unknown operator matches nothing, as the API server refuses it.
pub fn selector_matches(selector: &LabelSelector, labels: &BTreeMap<String, String>) -> bool {
    selector
        .match_labels
        .iter()
        .all(|(k, v)| labels.get(k) == Some(v))
        && selector.match_expressions.iter().all(|e| {
            let value = labels.get(&e.key);
            match e.operator.as_str() {
                "In" => value.is_some_and(|v| e.values.contains(v)),
                "NotIn" => value.is_none_or(|v| !e.values.contains(v)),
                "Exists" => value.is_some(),
                "DoesNotExist" => value.is_none(),
                _ => false,
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::LabelSelectorRequirement;

    fn rule(verbs: &[&str], groups: &[&str], resources: &[&str], names: &[&str]) -> PolicyRule {
        PolicyRule::for_resources(verbs, groups, resources, names)
    }

    fn req(verb: &str, group: &str, resource: &str, sub: &str, name: &str) -> Request {
        Request::Resource(ResourceRequest {
            verb: verb.into(),
            api_group: group.into(),
            resource: resource.into(),
            subresource: sub.into(),
            namespace: "ns".into(),
            name: name.into(),
        })
    }

    fn url(verb: &str, path: &str) -> Request {
        Request::NonResource(NonResourceRequest {
            verb: verb.into(),
            path: path.into(),
        })
    }

    #[test]
    fn table_of_resource_matching() {
        let cases: Vec<(PolicyRule, Request, bool, &str)> = vec![
            (
                rule(&["get"], &[""], &["pods"], &[]),
                req("get", "", "pods", "", "p"),
                true,
                "exact",
            ),
            (
                rule(&["get"], &[""], &["pods"], &[]),
                req("list", "", "pods", "", ""),
                false,
                "other verb",
            ),
            (
                rule(&["*"], &[""], &["pods"], &[]),
                req("delete", "", "pods", "", "p"),
                true,
                "verb *",
            ),
            (
                rule(&["get"], &["*"], &["deployments"], &[]),
                req("get", "apps", "deployments", "", ""),
                true,
                "group *",
            ),
            (
                rule(&["get"], &[""], &["deployments"], &[]),
                req("get", "apps", "deployments", "", ""),
                false,
                "core group only",
            ),
            (
                rule(&["get"], &[""], &["*"], &[]),
                req("get", "", "pods", "log", ""),
                true,
                "resource * covers subresources",
            ),
            (
                rule(&["get"], &[""], &["pods"], &[]),
                req("get", "", "pods", "log", ""),
                false,
                "pods does not cover pods/log",
            ),
            (
                rule(&["get"], &[""], &["pods/log"], &[]),
                req("get", "", "pods", "log", ""),
                true,
                "resource/subresource",
            ),
            (
                rule(&["get"], &[""], &["pods/log"], &[]),
                req("get", "", "pods", "", ""),
                false,
                "pods/log does not cover pods",
            ),
            (
                rule(&["create"], &[""], &["*/exec"], &[]),
                req("create", "", "pods", "exec", ""),
                true,
                "*/subresource",
            ),
            (
                rule(&["create"], &[""], &["*/exec"], &[]),
                req("create", "", "pods", "", ""),
                false,
                "*/exec needs a subresource",
            ),
            (
                rule(&["create"], &[""], &["*/exec"], &[]),
                req("create", "", "pods", "attach", ""),
                false,
                "*/exec is not */attach",
            ),
            (
                rule(&["create"], &[""], &["*/exe"], &[]),
                req("create", "", "pods", "exec", ""),
                false,
                "length check",
            ),
            (
                rule(&["get"], &[""], &["secrets"], &["a"]),
                req("get", "", "secrets", "", "a"),
                true,
                "named",
            ),
            (
                rule(&["get"], &[""], &["secrets"], &["a"]),
                req("get", "", "secrets", "", "b"),
                false,
                "other name",
            ),
            (
                rule(&["list"], &[""], &["secrets"], &["a"]),
                req("list", "", "secrets", "", ""),
                false,
                "nameless request vs resourceNames",
            ),
            (
                rule(&["create"], &[""], &["configmaps"], &["x"]),
                req("create", "", "configmaps", "", ""),
                false,
                "create names nothing",
            ),
            (
                rule(&["list"], &[""], &["secrets"], &[]),
                req("list", "", "secrets", "", ""),
                true,
                "empty resourceNames means all",
            ),
            (
                rule(&["get"], &[], &["pods"], &[]),
                req("get", "", "pods", "", ""),
                false,
                "no apiGroups matches nothing",
            ),
            (
                rule(&["GET"], &[""], &["pods"], &[]),
                req("get", "", "pods", "", ""),
                false,
                "verbs are case-sensitive",
            ),
        ];
        for (r, q, want, why) in cases {
            assert_eq!(rule_allows(&q, &r), want, "{why}: {q} vs {r:?}");
        }
    }

    #[test]
    fn table_of_non_resource_urls() {
        let r = PolicyRule {
            verbs: vec!["get".into()],
            non_resource_urls: vec!["/healthz".into(), "/api/*".into(), "/logs**".into()],
            ..Default::default()
        };
        assert!(rule_allows(&url("get", "/healthz"), &r));
        assert!(!rule_allows(&url("get", "/healthz/etcd"), &r));
        assert!(rule_allows(&url("get", "/api/v1"), &r));
        assert!(rule_allows(&url("get", "/api/"), &r));
        assert!(
            !rule_allows(&url("get", "/api"), &r),
            "the prefix keeps its slash"
        );
        assert!(
            rule_allows(&url("get", "/logsx"), &r),
            "every trailing * is trimmed"
        );
        assert!(!rule_allows(&url("post", "/healthz"), &r));
        let all = PolicyRule {
            verbs: vec!["*".into()],
            non_resource_urls: vec!["*".into()],
            ..Default::default()
        };
        assert!(rule_allows(&url("post", "/anything"), &all));
        // a resource rule never allows a non-resource request and vice versa
        assert!(!rule_allows(
            &url("get", "/api"),
            &rule(&["*"], &["*"], &["*"], &[])
        ));
        assert!(!rule_allows(&req("get", "", "pods", "", ""), &all));
    }

    #[test]
    fn selectors() {
        let labels: BTreeMap<String, String> = [
            ("a".to_string(), "1".to_string()),
            ("b".to_string(), "2".to_string()),
        ]
        .into();
        let mut s = LabelSelector::default();
        assert!(
            selector_matches(&s, &labels),
            "empty selector matches everything"
        );
        s.match_labels.insert("a".into(), "1".into());
        assert!(selector_matches(&s, &labels));
        let expr = |k: &str, op: &str, v: &[&str]| LabelSelectorRequirement {
            key: k.into(),
            operator: op.into(),
            values: v.iter().map(|x| x.to_string()).collect(),
        };
        s.match_expressions = vec![
            expr("b", "In", &["2", "3"]),
            expr("c", "DoesNotExist", &[]),
            expr("a", "Exists", &[]),
            expr("c", "NotIn", &["x"]),
        ];
        assert!(selector_matches(&s, &labels));
        s.match_expressions.push(expr("b", "NotIn", &["2"]));
        assert!(!selector_matches(&s, &labels));
        s.match_expressions = vec![expr("a", "Bogus", &[])];
        assert!(!selector_matches(&s, &labels));
    }
}
