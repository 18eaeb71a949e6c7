//! Table tests of the RBAC engine against the authorizer's semantics, point by point.

use crate::common;

use chrono::DateTime;
use kube_evidence::rbac::resources::resource_request;
use kube_evidence::rbac::{Identity, NonResourceRequest, RbacIndex, Request, SubjectRef};
use kube_evidence::snapshot::Snapshot;
use kube_evidence::source::dump::read_dump;

fn snapshot(yaml: &str) -> Snapshot {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("c.yaml"), yaml).unwrap();
    read_dump(
        dir.path(),
        "t",
        DateTime::from_timestamp(0, 0).unwrap(),
        "t".into(),
    )
    .unwrap()
}

fn req(verb: &str, resource: &str, ns: Option<&str>, name: Option<&str>) -> Request {
    resource_request(verb, resource, None, ns, name).0
}

fn url(verb: &str, path: &str) -> Request {
    Request::NonResource(NonResourceRequest {
        verb: verb.into(),
        path: path.into(),
    })
}

fn can(index: &RbacIndex, subject: &str, request: &Request) -> bool {
    index
        .authorize(
            &Identity::of(&SubjectRef::parse(subject).unwrap(), &[]),
            request,
        )
        .allowed
}

const CLUSTER: &str = r#"
kind: ClusterRole
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: pod-reader}
rules:
- {apiGroups: [""], resources: [pods, pods/log], verbs: [get, list]}
- {apiGroups: [""], resources: [nodes], verbs: [get]}
---
kind: ClusterRole
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: named-secret}
rules:
- {apiGroups: [""], resources: [secrets], verbs: [get, list, update], resourceNames: [db]}
---
kind: ClusterRole
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: wild}
rules:
- {apiGroups: ["*"], resources: ["*/scale"], verbs: [update]}
- {apiGroups: [apps], resources: ["*"], verbs: ["*"]}
- {nonResourceURLs: ["/metrics", "/debug/*"], verbs: [get]}
---
kind: Role
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: cm-writer, namespace: team-a}
rules:
- {apiGroups: [""], resources: [configmaps], verbs: [create]}
---
kind: ClusterRoleBinding
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: global-readers}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: pod-reader}
subjects:
- {kind: User, name: alice}
- {kind: ServiceAccount, name: nons}
---
kind: RoleBinding
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: local-readers, namespace: team-a}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: pod-reader}
subjects:
- {kind: ServiceAccount, name: app}
- {kind: Group, name: oidc:team-a}
---
kind: RoleBinding
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: secret-db, namespace: team-a}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: named-secret}
subjects: [{kind: User, name: bob}]
---
kind: RoleBinding
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: cm, namespace: team-a}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: cm-writer}
subjects: [{kind: User, name: "system:serviceaccount:team-b:builder"}]
---
kind: ClusterRoleBinding
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: wild}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: wild}
subjects: [{kind: Group, name: oidc:ops}]
---
kind: RoleBinding
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: wild-local, namespace: team-a}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: wild}
subjects: [{kind: User, name: carol}]
---
kind: RoleBinding
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: ghost, namespace: team-a}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: does-not-exist}
subjects: [{kind: User, name: dan}]
---
kind: ClusterRoleBinding
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: crb-to-role}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: cm-writer}
subjects: [{kind: User, name: erin}]
---
kind: ClusterRoleBinding
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: everyone-metrics}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: wild}
subjects: [{kind: Group, name: system:serviceaccounts:team-c}]
"#;

#[test]
fn cluster_role_bindings_apply_everywhere_role_bindings_only_in_their_namespace() {
    let idx = RbacIndex::build(&snapshot(CLUSTER));
    assert!(can(
        &idx,
        "User:alice",
        &req("get", "pods", Some("any-namespace"), None)
    ));
    assert!(
        can(&idx, "User:alice", &req("list", "pods", None, None)),
        "cluster-wide list"
    );
    assert!(can(
        &idx,
        "ServiceAccount:team-a/app",
        &req("get", "pods", Some("team-a"), None)
    ));
    assert!(!can(
        &idx,
        "ServiceAccount:team-a/app",
        &req("get", "pods", Some("team-b"), None)
    ));
    assert!(
        !can(
            &idx,
            "ServiceAccount:team-a/app",
            &req("list", "pods", None, None)
        ),
        "a RoleBinding never answers a cluster-wide request"
    );
}

#[test]
fn role_binding_to_cluster_role_never_grants_cluster_scoped_resources() {
    let idx = RbacIndex::build(&snapshot(CLUSTER));
    // pod-reader has `get nodes`; through the RoleBinding it gives nothing on nodes
    assert!(!can(
        &idx,
        "ServiceAccount:team-a/app",
        &req("get", "nodes", None, Some("n1"))
    ));
    assert!(can(
        &idx,
        "User:alice",
        &req("get", "nodes", None, Some("n1"))
    ));
}

#[test]
fn wildcards_subresources_and_star_slash() {
    let idx = RbacIndex::build(&snapshot(CLUSTER));
    assert!(
        can(
            &idx,
            "Group:oidc:ops",
            &req("delete", "deployments", Some("x"), Some("d"))
        ),
        "apps * *"
    );
    assert!(
        can(
            &idx,
            "Group:oidc:ops",
            &req("get", "deployments/status", Some("x"), None)
        ),
        "* covers subresources"
    );
    assert!(
        !can(
            &idx,
            "Group:oidc:ops",
            &req("delete", "pods", Some("x"), None)
        ),
        "core group not covered"
    );
    assert!(
        can(
            &idx,
            "Group:oidc:ops",
            &req("update", "statefulsets/scale", Some("x"), None)
        ),
        "*/scale"
    );
    assert!(
        can(
            &idx,
            "Group:oidc:ops",
            &req("update", "replicationcontrollers/scale", Some("x"), None)
        ),
        "*/scale in any group"
    );
    assert!(
        !can(
            &idx,
            "Group:oidc:ops",
            &req("update", "replicationcontrollers", Some("x"), None)
        ),
        "*/scale is only scale"
    );
    assert!(
        can(&idx, "User:alice", &req("get", "pods/log", Some("x"), None)),
        "resource/subresource"
    );
    assert!(!can(
        &idx,
        "User:alice",
        &req("get", "pods/exec", Some("x"), None)
    ));
}

#[test]
fn resource_names() {
    let idx = RbacIndex::build(&snapshot(CLUSTER));
    assert!(can(
        &idx,
        "User:bob",
        &req("get", "secrets", Some("team-a"), Some("db"))
    ));
    assert!(!can(
        &idx,
        "User:bob",
        &req("get", "secrets", Some("team-a"), Some("other"))
    ));
    assert!(
        !can(
            &idx,
            "User:bob",
            &req("list", "secrets", Some("team-a"), None)
        ),
        "a nameless request needs a rule without resourceNames"
    );
    assert!(
        can(
            &idx,
            "User:alice",
            &req("get", "pods", Some("x"), Some("anything"))
        ),
        "empty resourceNames means all"
    );
}

#[test]
fn non_resource_urls_only_through_cluster_role_bindings() {
    let idx = RbacIndex::build(&snapshot(CLUSTER));
    assert!(can(&idx, "Group:oidc:ops", &url("get", "/metrics")));
    assert!(
        can(&idx, "Group:oidc:ops", &url("get", "/debug/pprof/heap")),
        "trailing * is a prefix"
    );
    assert!(
        !can(&idx, "Group:oidc:ops", &url("get", "/debug")),
        "the prefix includes the slash"
    );
    assert!(!can(&idx, "Group:oidc:ops", &url("post", "/metrics")));
    assert!(
        !can(&idx, "User:carol", &url("get", "/metrics")),
        "a RoleBinding never grants a non-resource URL"
    );
    assert!(can(
        &idx,
        "User:carol",
        &req("delete", "deployments", Some("team-a"), None)
    ));
}

#[test]
fn service_account_subjects_without_a_namespace() {
    let idx = RbacIndex::build(&snapshot(CLUSTER));
    assert!(
        can(
            &idx,
            "ServiceAccount:team-a/app",
            &req("get", "pods", Some("team-a"), None)
        ),
        "RoleBinding: its namespace"
    );
    assert!(
        !can(
            &idx,
            "ServiceAccount:default/nons",
            &req("get", "pods", Some("default"), None)
        ),
        "ClusterRoleBinding: nobody"
    );
    assert!(!can(
        &idx,
        "ServiceAccount:team-a/nons",
        &req("get", "pods", Some("team-a"), None)
    ));
}

#[test]
fn user_subject_with_service_account_username() {
    let idx = RbacIndex::build(&snapshot(CLUSTER));
    assert!(can(
        &idx,
        "ServiceAccount:team-b/builder",
        &req("create", "configmaps", Some("team-a"), None)
    ));
    let who = idx.who_can(&req("create", "configmaps", Some("team-a"), None));
    assert!(who.contains_key(&SubjectRef::service_account("team-b", "builder")));
}

#[test]
fn bindings_to_missing_roles_and_invalid_role_refs_grant_nothing() {
    let idx = RbacIndex::build(&snapshot(CLUSTER));
    assert!(!can(
        &idx,
        "User:dan",
        &req("get", "pods", Some("team-a"), None)
    ));
    assert!(
        !can(
            &idx,
            "User:erin",
            &req("create", "configmaps", Some("team-a"), None)
        ),
        "a ClusterRoleBinding cannot use a Role"
    );
}

#[test]
fn identities_and_groups() {
    let idx = RbacIndex::build(&snapshot(CLUSTER));
    // implicit group system:serviceaccounts:<ns>
    assert!(can(
        &idx,
        "ServiceAccount:team-c/anything",
        &url("get", "/metrics")
    ));
    assert!(!can(
        &idx,
        "ServiceAccount:team-d/anything",
        &url("get", "/metrics")
    ));
    // a user's groups come only from what is asked about
    let r = req("get", "pods", Some("team-a"), None);
    assert!(
        !idx.authorize(&Identity::of(&SubjectRef::user("zoe"), &[]), &r)
            .allowed
    );
    assert!(
        idx.authorize(
            &Identity::of(&SubjectRef::user("zoe"), &["oidc:team-a".into()]),
            &r
        )
        .allowed
    );
    // groups are reported as groups
    let who = idx.who_can(&r);
    assert!(who.contains_key(&SubjectRef::group("oidc:team-a")));
    assert!(!who.keys().any(|s| s.name() == "zoe"));
    // system:masters bypasses RBAC
    assert!(
        idx.authorize(
            &Identity::of(&SubjectRef::user("root"), &["system:masters".into()]),
            &req("delete", "nodes", None, None)
        )
        .allowed
    );
}

#[test]
fn provenance_of_every_grant() {
    let idx = RbacIndex::build(&snapshot(CLUSTER));
    let d = idx.authorize(
        &Identity::of(&SubjectRef::user("zoe"), &["oidc:team-a".into()]),
        &req("get", "pods", Some("team-a"), None),
    );
    let g = &d.grants[0];
    assert_eq!(
        (
            g.binding.kind.as_str(),
            g.binding.namespace.as_deref(),
            g.binding.name.as_str()
        ),
        ("RoleBinding", Some("team-a"), "local-readers")
    );
    assert_eq!(
        (g.role.kind.as_str(), g.role.name.as_str()),
        ("ClusterRole", "pod-reader")
    );
    assert_eq!(g.namespace.as_deref(), Some("team-a"));
    assert_eq!(g.subject, SubjectRef::group("oidc:team-a"));
}

const AGGREGATED: &str = r#"
kind: ClusterRole
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: monitoring-edit}
aggregationRule:
  clusterRoleSelectors:
  - matchLabels: {example.com/aggregate-to-monitoring-edit: "true"}
  - matchExpressions:
    - {key: example.com/tier, operator: In, values: [monitoring]}
    - {key: example.com/deprecated, operator: DoesNotExist}
rules:
- {apiGroups: [""], resources: [stale], verbs: [get]}
---
kind: ClusterRole
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: monitoring-top}
aggregationRule:
  clusterRoleSelectors:
  - matchLabels: {example.com/aggregate-to-top: "true"}
---
kind: ClusterRole
apiVersion: rbac.authorization.k8s.io/v1
metadata:
  name: alerts-writer
  labels: {example.com/aggregate-to-monitoring-edit: "true"}
rules:
- {apiGroups: [monitoring.coreos.com], resources: [prometheusrules], verbs: [create]}
---
kind: ClusterRole
apiVersion: rbac.authorization.k8s.io/v1
metadata:
  name: dash-reader
  labels: {example.com/tier: monitoring}
rules:
- {apiGroups: [""], resources: [configmaps], verbs: [get]}
---
kind: ClusterRole
apiVersion: rbac.authorization.k8s.io/v1
metadata:
  name: old-reader
  labels: {example.com/tier: monitoring, example.com/deprecated: "yes"}
rules:
- {apiGroups: [""], resources: [secrets], verbs: [get]}
---
kind: ClusterRole
apiVersion: rbac.authorization.k8s.io/v1
metadata:
  name: monitoring-edit-into-top
  labels: {example.com/aggregate-to-top: "true"}
aggregationRule:
  clusterRoleSelectors:
  - matchLabels: {example.com/aggregate-to-monitoring-edit: "true"}
---
kind: ClusterRoleBinding
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: top}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: monitoring-top}
subjects: [{kind: User, name: mia}]
---
kind: ClusterRoleBinding
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: edit}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: monitoring-edit}
subjects: [{kind: User, name: max}]
"#;

#[test]
fn aggregation_is_computed_transitively_and_stored_rules_are_ignored() {
    let aggregated = snapshot(AGGREGATED);
    let idx = RbacIndex::build(&aggregated);
    let prom = req(
        "create",
        "prometheusrules.monitoring.coreos.com",
        Some("x"),
        None,
    );
    assert!(can(&idx, "User:max", &prom), "matchLabels");
    assert!(
        can(
            &idx,
            "User:max",
            &req("get", "configmaps", Some("x"), Some("c"))
        ),
        "matchExpressions In"
    );
    assert!(
        !can(
            &idx,
            "User:max",
            &req("get", "secrets", Some("x"), Some("s"))
        ),
        "DoesNotExist excludes old-reader"
    );
    assert!(
        !can(&idx, "User:max", &req("get", "stale", Some("x"), None)),
        "stored rules of an aggregated role are overwritten"
    );
    // monitoring-top <- monitoring-edit-into-top <- alerts-writer: transitive
    let d = idx.authorize(&Identity::of(&SubjectRef::user("mia"), &[]), &prom);
    assert!(d.allowed);
    assert_eq!(
        d.grants[0].source_role.as_deref(),
        Some("alerts-writer"),
        "provenance names the source role"
    );
    // drift between stored and computed rules is reported
    assert!(
        idx.aggregation_drift(&aggregated)
            .iter()
            .any(|d| d.cluster_role == "monitoring-edit" && d.not_from_aggregation.len() == 1)
    );
}

#[test]
fn the_bootstrap_policy_answers_as_a_live_cluster_without_the_controller() {
    // Kubernetes' own default policy stores `rules: null` on admin, edit and view.
    let Some(corpus) = common::corpus_or_skip(
        "the_bootstrap_policy_answers_as_a_live_cluster_without_the_controller",
    ) else {
        return;
    };
    let dir = corpus.join("kubernetes-bootstrap");
    let mut s = read_dump(
        &dir,
        "t",
        DateTime::from_timestamp(0, 0).unwrap(),
        "t".into(),
    )
    .unwrap();
    s.role_bindings.push(kube_evidence::snapshot::RoleBinding {
        metadata: kube_evidence::snapshot::ObjectMeta::namespaced("shop", "devs"),
        role_ref: kube_evidence::snapshot::RoleRef {
            api_group: "rbac.authorization.k8s.io".into(),
            kind: "ClusterRole".into(),
            name: "edit".into(),
        },
        subjects: vec![kube_evidence::snapshot::Subject {
            kind: "Group".into(),
            name: "devs".into(),
            namespace: None,
            api_group: None,
        }],
    });
    let idx = RbacIndex::build(&s);
    for (verb, res, want) in [
        ("create", "pods/exec", true),
        ("get", "secrets", true),
        ("create", "deployments", true),
        ("create", "rolebindings", false),
        ("get", "nodes", false),
    ] {
        assert_eq!(
            can(&idx, "Group:devs", &req(verb, res, Some("shop"), None)),
            want,
            "{verb} {res}"
        );
    }
    for role in ["admin", "edit", "view"] {
        assert!(
            idx.aggregation_drift(&s)
                .iter()
                .any(|d| d.cluster_role == role),
            "{role}"
        );
    }
}
