//! For random small clusters and random requests, `can-i`, `who-can` and `access` agree.

use kube_evidence::rbac::resources::resource_request;
use kube_evidence::rbac::{
    Identity, NonResourceRequest, RbacIndex, Request, ResourceRequest, SubjectRef, rule_allows,
};
use kube_evidence::snapshot::*;
use kube_evidence::source::{Needs, narrow};
use kube_evidence::synthetic::{Knobs, Shape, cluster};
use proptest::prelude::*;

const NAMESPACES: &[&str] = &["a", "b"];
const VERBS: &[&str] = &["get", "list", "create", "delete", "*"];
const RESOURCES: &[(&str, &str)] = &[
    ("", "pods"),
    ("", "secrets"),
    ("", "pods/exec"),
    ("apps", "deployments"),
    ("", "nodes"),
    ("", "*"),
    ("", "*/exec"),
];
const GROUPS: &[&str] = &["", "apps", "*"];
const NAMES: &[&str] = &["x", "y"];
const URLS: &[&str] = &["/metrics", "/healthz", "/api/*", "*"];

fn subjects() -> Vec<Subject> {
    let s = |kind: &str, name: &str, ns: Option<&str>| Subject {
        kind: kind.into(),
        name: name.into(),
        namespace: ns.map(Into::into),
        api_group: None,
    };
    vec![
        s("User", "u1", None),
        s("User", "u2", None),
        s("User", "system:serviceaccount:a:s1", None),
        s("Group", "g1", None),
        s("Group", "system:authenticated", None),
        s("Group", "system:serviceaccounts:b", None),
        s("ServiceAccount", "s1", Some("a")),
        s("ServiceAccount", "s2", Some("b")),
        s("ServiceAccount", "s1", None),
        s("ServiceAccount", "default", None),
    ]
}

fn universe() -> Vec<SubjectRef> {
    vec![
        SubjectRef::user("u1"),
        SubjectRef::user("u2"),
        SubjectRef::user("u3"),
        SubjectRef::group("g1"),
        SubjectRef::group("g2"),
        SubjectRef::service_account("a", "s1"),
        SubjectRef::service_account("b", "s1"),
        SubjectRef::service_account("b", "s2"),
        SubjectRef::service_account("a", "default"),
    ]
}

fn rule_strategy() -> impl Strategy<Value = PolicyRule> {
    let resource_rule = (
        proptest::sample::subsequence(VERBS, 1..3),
        proptest::sample::subsequence(GROUPS, 1..3),
        proptest::sample::subsequence(RESOURCES, 1..3),
        proptest::sample::subsequence(NAMES, 0..2),
    )
        .prop_map(|(v, g, r, n)| PolicyRule {
            verbs: v.iter().map(|s| s.to_string()).collect(),
            api_groups: g.iter().map(|s| s.to_string()).collect(),
            resources: r.iter().map(|(_, res)| res.to_string()).collect(),
            resource_names: n.iter().map(|s| s.to_string()).collect(),
            non_resource_urls: vec![],
        });
    let url_rule = (
        proptest::sample::subsequence(VERBS, 1..3),
        proptest::sample::subsequence(URLS, 1..3),
    )
        .prop_map(|(v, u)| PolicyRule {
            verbs: v.iter().map(|s| s.to_string()).collect(),
            non_resource_urls: u.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        });
    prop_oneof![4 => resource_rule, 1 => url_rule]
}

#[derive(Debug, Clone)]
struct BindingSpec {
    cluster: bool,
    namespace: usize,
    role_kind_cluster: bool,
    role: usize,
    subjects: Vec<usize>,
}

fn snapshot_strategy() -> impl Strategy<Value = Snapshot> {
    let roles = proptest::collection::vec(proptest::collection::vec(rule_strategy(), 1..3), 3);
    let ns_roles = proptest::collection::vec(proptest::collection::vec(rule_strategy(), 1..3), 2);
    let binding = (
        any::<bool>(),
        0..2usize,
        any::<bool>(),
        0..4usize,
        proptest::sample::subsequence((0..10usize).collect::<Vec<_>>(), 1..4),
    )
        .prop_map(
            |(cluster, namespace, role_kind_cluster, role, subjects)| BindingSpec {
                cluster,
                namespace,
                role_kind_cluster,
                role,
                subjects,
            },
        );
    let bindings = proptest::collection::vec(binding, 1..6);
    (roles, ns_roles, bindings).prop_map(|(roles, ns_roles, bindings)| {
        let mut s = Snapshot::empty(
            ClusterInfo {
                name: "p".into(),
                id: None,
                server_version: None,
            },
            chrono::DateTime::from_timestamp(0, 0).unwrap(),
            "p".into(),
        );
        s.cluster_roles = roles
            .into_iter()
            .enumerate()
            .map(|(i, rules)| ClusterRole {
                metadata: ObjectMeta::named(format!("cr{i}")),
                rules,
                aggregation_rule: None,
            })
            .collect();
        // one Role per namespace; role index 3 never exists (a missing role)
        s.roles = ns_roles
            .into_iter()
            .enumerate()
            .map(|(i, rules)| Role {
                metadata: ObjectMeta::namespaced(NAMESPACES[i], "r0"),
                rules,
            })
            .collect();
        let all = subjects();
        for (i, b) in bindings.into_iter().enumerate() {
            let subjects = b.subjects.iter().map(|j| all[*j].clone()).collect();
            let role_ref = if b.role_kind_cluster || b.cluster {
                RoleRef {
                    api_group: "rbac.authorization.k8s.io".into(),
                    kind: "ClusterRole".into(),
                    name: format!("cr{}", b.role),
                }
            } else {
                RoleRef {
                    api_group: "rbac.authorization.k8s.io".into(),
                    kind: "Role".into(),
                    name: format!("r{}", b.role % 2),
                }
            };
            if b.cluster {
                s.cluster_role_bindings.push(ClusterRoleBinding {
                    metadata: ObjectMeta::named(format!("crb{i}")),
                    role_ref,
                    subjects,
                });
            } else {
                s.role_bindings.push(RoleBinding {
                    metadata: ObjectMeta::namespaced(NAMESPACES[b.namespace], format!("rb{i}")),
                    role_ref,
                    subjects,
                });
            }
        }
        s.canonicalize();
        s
    })
}

fn request_strategy() -> impl Strategy<Value = Request> {
    let resource = (
        proptest::sample::select(&["get", "list", "create", "delete", "patch"][..]),
        proptest::sample::select(
            &[
                ("", "pods", ""),
                ("", "secrets", ""),
                ("", "pods", "exec"),
                ("apps", "deployments", ""),
                ("", "nodes", ""),
                ("apps", "deployments", "scale"),
            ][..],
        ),
        proptest::sample::select(&["", "a", "b", "c"][..]),
        proptest::sample::select(&["", "x", "z"][..]),
    )
        .prop_map(|(verb, (group, res, sub), ns, name)| {
            Request::Resource(ResourceRequest {
                verb: verb.into(),
                api_group: group.into(),
                resource: res.into(),
                subresource: sub.into(),
                namespace: ns.into(),
                name: name.into(),
            })
        });
    let url = (
        proptest::sample::select(&["get", "post"][..]),
        proptest::sample::select(&["/metrics", "/healthz", "/api/v1", "/other"][..]),
    )
        .prop_map(|(v, p)| {
            Request::NonResource(NonResourceRequest {
                verb: v.into(),
                path: p.into(),
            })
        });
    prop_oneof![4 => resource, 1 => url]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]
    #[test]
    fn can_i_agrees_with_who_can_and_access(snapshot in snapshot_strategy(), requests in proptest::collection::vec(request_strategy(), 1..8)) {
        let index = RbacIndex::build(&snapshot);
        for request in &requests {
            let who = index.who_can(request);
            for subject in universe() {
                let identity = Identity::of(&subject, &[]);
                let can = index.authorize(&identity, request).allowed;
                let by_who_can = who.keys().any(|t| match t {
                    SubjectRef::Group { name } => identity.in_group(name),
                    other => *other == subject,
                });
                let report = index.access(&identity);
                let ns = request.namespace();
                let by_access = report.cluster_wide.iter().any(|g| rule_allows(request, &g.rule))
                    || (!ns.is_empty() && report.namespaced.get(ns).is_some_and(|gs| gs.iter().any(|g| rule_allows(request, &g.rule))));
                prop_assert_eq!(can, by_who_can, "can-i vs who-can for {} {}", subject, request);
                prop_assert_eq!(can, by_access, "can-i vs access for {} {}", subject, request);
            }
        }
    }
}

/// A question in one namespace gets the same answer from a snapshot narrowed to it as from
/// the whole snapshot, on seeded messy clusters (subjects from anywhere, aggregation,
/// cluster-wide bindings to any role).
#[test]
fn a_narrowed_snapshot_answers_a_namespace_question_as_the_whole_one() {
    let mut answered = 0;
    for seed in 1..=4 {
        let whole = cluster(Shape {
            namespaces: 40,
            role_bindings: 400,
            service_accounts: 160,
            cluster_roles: 60,
            cluster_role_bindings: 30,
            seed,
            knobs: Knobs::MESSY,
        });
        let full = RbacIndex::build(&whole);
        for ns in ["ns-00000", "ns-00007", "ns-00039"] {
            let needs = Needs::Rbac {
                namespace: Some(ns.to_string()),
            };
            let narrowed = narrow(whole.clone(), &needs);
            assert!(narrowed.role_bindings.len() < whole.role_bindings.len());
            let index = RbacIndex::build(&narrowed);
            for (verb, resource) in [
                ("get", "secrets"),
                ("create", "pods"),
                ("create", "rolebindings"),
                ("impersonate", "serviceaccounts"),
            ] {
                let (request, _) = resource_request(verb, resource, None, Some(ns), None);
                let answer = index.who_can(&request);
                assert_eq!(
                    answer,
                    full.who_can(&request),
                    "seed {seed}: {verb} {resource} -n {ns}"
                );
                answered += answer.len();
            }
        }
    }
    assert!(
        answered > 100,
        "the questions have answers to compare: {answered}"
    );
}
