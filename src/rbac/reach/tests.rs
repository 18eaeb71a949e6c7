//! The engine's moves on small hand-written clusters: each test pins one move, or one thing
//! the API server refuses that a permission's name suggests (the suite proves the same on a
//! real API server in tests/integration/reperformance.rs).

use super::*;
use crate::snapshot::*;

fn rule(verbs: &[&str], groups: &[&str], resources: &[&str], names: &[&str]) -> PolicyRule {
    PolicyRule::for_resources(verbs, groups, resources, names)
}

const RBAC: &str = "rbac.authorization.k8s.io";

struct Cluster(Snapshot);

fn subject(text: &str) -> Subject {
    let s = SubjectRef::parse(text).unwrap();
    Subject {
        kind: s.kind().into(),
        name: s.name().into(),
        namespace: s.namespace().map(Into::into),
        api_group: None,
    }
}

impl Cluster {
    fn new() -> Cluster {
        let mut s = Snapshot::empty(
            ClusterInfo {
                name: "t".into(),
                id: None,
                server_version: Some("v1.35.4".into()),
            },
            chrono::DateTime::from_timestamp(0, 0).unwrap(),
            "t".into(),
        );
        s.cluster_roles.push(ClusterRole {
            metadata: ObjectMeta::named("cluster-admin"),
            rules: vec![rule(&["*"], &["*"], &["*"], &[])],
            aggregation_rule: None,
        });
        Cluster(s)
    }

    fn cluster_role(mut self, name: &str, rules: Vec<PolicyRule>) -> Self {
        self.0.cluster_roles.push(ClusterRole {
            metadata: ObjectMeta::named(name),
            rules,
            aggregation_rule: None,
        });
        self
    }

    fn role(mut self, ns: &str, name: &str, rules: Vec<PolicyRule>) -> Self {
        self.0.roles.push(Role {
            metadata: ObjectMeta::namespaced(ns, name),
            rules,
        });
        self
    }

    fn sa(mut self, ns: &str, name: &str) -> Self {
        self.0.service_accounts.push(ServiceAccount {
            metadata: ObjectMeta::namespaced(ns, name),
            automount_service_account_token: None,
            secrets: vec![],
            image_pull_secrets: vec![],
        });
        if !self.0.namespaces.iter().any(|n| n.metadata.name == ns) {
            self.0.namespaces.push(Namespace {
                metadata: ObjectMeta::named(ns),
                phase: None,
            });
        }
        self
    }

    fn crb(mut self, name: &str, role: &str, subjects: &[&str]) -> Self {
        self.0.cluster_role_bindings.push(ClusterRoleBinding {
            metadata: ObjectMeta::named(name),
            role_ref: RoleRef {
                api_group: RBAC.into(),
                kind: "ClusterRole".into(),
                name: role.into(),
            },
            subjects: subjects.iter().map(|s| subject(s)).collect(),
        });
        self
    }

    fn rb(mut self, ns: &str, name: &str, kind: &str, role: &str, subjects: &[&str]) -> Self {
        self.0.role_bindings.push(RoleBinding {
            metadata: ObjectMeta::namespaced(ns, name),
            role_ref: RoleRef {
                api_group: RBAC.into(),
                kind: kind.into(),
                name: role.into(),
            },
            subjects: subjects.iter().map(|s| subject(s)).collect(),
        });
        self
    }

    fn workload(mut self, ns: &str, kind: &str, name: &str, sa: &str, pods: u64) -> Self {
        self.0.workloads.push(Workload {
            namespace: ns.into(),
            kind: kind.into(),
            name: name.into(),
            service_account: sa.into(),
            images: vec![],
            automount_service_account_token: None,
            pods,
            running: vec![],
            labels: Default::default(),
        });
        self
    }

    fn token(mut self, ns: &str, name: &str, sa: &str) -> Self {
        self.0.token_secrets.push(TokenSecret {
            metadata: ObjectMeta::namespaced(ns, name),
            service_account: sa.into(),
        });
        self
    }

    /// The shortest path to cluster-admin of a subject, as text steps.
    fn path(&self, who: &str) -> Option<Vec<PathStep>> {
        let idx = RbacIndex::build(&self.0);
        let g = ReachGraph::build(&idx, &self.0);
        g.path_to_admin(&idx, &SubjectRef::parse(who).unwrap())
    }
}

/// The cluster-admin ServiceAccount `ops/admin` every test escalates towards.
fn base() -> Cluster {
    Cluster::new()
        .sa("ops", "admin")
        .sa("ops", "dev")
        .sa("web", "app")
        .crb("ops-admin", "cluster-admin", &["ServiceAccount:ops/admin"])
}

#[test]
fn shortest_paths_through_pods_and_tokens() {
    let c = base()
        .cluster_role("pod-maker", vec![rule(&["create"], &[""], &["pods"], &[])])
        .cluster_role(
            "token-reader",
            vec![rule(&["get"], &[""], &["secrets"], &["admin-token"])],
        )
        .rb(
            "ops",
            "dev-pods",
            "ClusterRole",
            "pod-maker",
            &["ServiceAccount:ops/dev"],
        )
        .rb(
            "ops",
            "tokens",
            "ClusterRole",
            "token-reader",
            &["User:mallory"],
        )
        .token("ops", "admin-token", "admin");
    let idx = RbacIndex::build(&c.0);
    let g = ReachGraph::build(&idx, &c.0);
    assert!(g.binds_admin(&SubjectRef::service_account("ops", "admin")));
    let dev = c.path("ServiceAccount:ops/dev").unwrap();
    assert_eq!(dev.len(), 2, "{dev:#?}");
    assert_eq!(
        dev[0].action,
        "create pods in namespace ops running as ServiceAccount ops/admin"
    );
    assert_eq!(dev[0].to, "ServiceAccount:ops/admin");
    assert_eq!(dev[0].grant.as_ref().unwrap().binding.name, "dev-pods");
    assert_eq!(dev[1].to, "cluster-admin");
    let mallory = c.path("User:mallory").unwrap();
    assert!(
        mallory[0].action.contains("Secret ops/admin-token"),
        "{mallory:#?}"
    );
    assert!(c.path("ServiceAccount:web/app").is_none());
    let (reached, admin) = g.reachable_from(&idx, &SubjectRef::service_account("ops", "dev"));
    assert!(
        reached
            .iter()
            .any(|r| r.subject == SubjectRef::service_account("ops", "admin"))
    );
    assert!(admin.is_some());
}

#[test]
fn impersonating_a_group_needs_a_user_too() {
    let groups_only = vec![rule(
        &["impersonate"],
        &[""],
        &["groups"],
        &["system:masters"],
    )];
    let c = base()
        .cluster_role("masters-impersonator", groups_only.clone())
        .crb("g", "masters-impersonator", &["User:eve"]);
    assert!(
        c.path("User:eve").is_none(),
        "the API server refuses a group without a user"
    );
    let with_user = base()
        .cluster_role("masters-impersonator", groups_only)
        .cluster_role(
            "user-impersonator",
            vec![rule(&["impersonate"], &[""], &["users"], &["nobody"])],
        )
        .crb("g", "masters-impersonator", &["User:eve"])
        .crb("u", "user-impersonator", &["User:eve"]);
    let p = with_user.path("User:eve").unwrap();
    assert_eq!(p.len(), 1, "{p:#?}");
    assert_eq!(
        p[0].mv,
        Some(Move::Impersonate {
            user: "nobody".into(),
            groups: vec!["system:masters".into()]
        })
    );
}

#[test]
fn an_impersonated_identity_cannot_impersonate_again() {
    // eve may impersonate bob; bob may impersonate anyone in system:masters. The API server
    // takes one level of impersonation, so eve cannot use bob's.
    let c = base()
        .cluster_role(
            "imp-bob",
            vec![rule(&["impersonate"], &[""], &["users"], &["bob"])],
        )
        .cluster_role(
            "imp-all",
            vec![rule(&["impersonate"], &[""], &["users", "groups"], &[])],
        )
        .crb("e", "imp-bob", &["User:eve"])
        .crb("b", "imp-all", &["User:bob"]);
    assert!(c.path("User:bob").is_some());
    assert!(c.path("User:eve").is_none());
}

#[test]
fn escalate_and_update_on_a_role_of_its_own_namespace_takes_the_namespace() {
    // The missed path: escalate, bind and update on Roles in a namespace holding a
    // cluster-admin ServiceAccount.
    let c = base()
        .role(
            "ops",
            "self",
            vec![rule(
                &["escalate", "bind", "update", "get"],
                &[RBAC],
                &["roles"],
                &[],
            )],
        )
        .rb("ops", "self", "Role", "self", &["ServiceAccount:ops/dev"]);
    let p = c.path("ServiceAccount:ops/dev").expect("a path");
    assert!(matches!(p[0].mv, Some(Move::EscalateRole { .. })), "{p:#?}");
    assert_eq!(p.last().unwrap().to, "cluster-admin");
}

#[test]
fn the_role_grantor_pattern_binds_a_cluster_role_in_its_namespace_only() {
    // A RoleBinding granting `bind` on ClusterRole admin-like and create on RoleBindings.
    let grantor = vec![
        rule(&["bind"], &[RBAC], &["clusterroles"], &["cluster-admin"]),
        rule(&["create"], &[RBAC], &["rolebindings"], &[]),
    ];
    let c = base().cluster_role("grantor", grantor.clone()).rb(
        "ops",
        "grantor",
        "ClusterRole",
        "grantor",
        &["User:carol"],
    );
    let p = c
        .path("User:carol")
        .expect("binds cluster-admin in ops, then runs as ops/admin");
    assert!(matches!(&p[0].mv, Some(Move::Bind { namespace: Some(n), .. }) if n == "ops"));
    // In a namespace without an admin ServiceAccount, nothing; and never a ClusterRoleBinding.
    let elsewhere = base().cluster_role("grantor", grantor).rb(
        "web",
        "grantor",
        "ClusterRole",
        "grantor",
        &["User:carol"],
    );
    assert!(elsewhere.path("User:carol").is_none());
}

#[test]
fn a_client_certificate_cannot_carry_system_masters() {
    let csr = vec![
        rule(
            &["create"],
            &["certificates.k8s.io"],
            &["certificatesigningrequests"],
            &[],
        ),
        rule(
            &["update"],
            &["certificates.k8s.io"],
            &["certificatesigningrequests/approval"],
            &[],
        ),
        rule(
            &["approve"],
            &["certificates.k8s.io"],
            &["signers"],
            &["kubernetes.io/kube-apiserver-client"],
        ),
    ];
    // No identity here holds cluster-admin but system:masters, which a certificate cannot name.
    let c = Cluster::new()
        .sa("ops", "dev")
        .cluster_role("csr", csr.clone())
        .crb("c", "csr", &["User:mallory"]);
    assert!(c.path("User:mallory").is_none());
    // But it can name any user, a ServiceAccount's username included.
    let c = Cluster::new()
        .cluster_role("csr", csr.clone())
        .crb("c", "csr", &["User:mallory"])
        .crb("root", "cluster-admin", &["User:root"]);
    let p = c.path("User:mallory").unwrap();
    assert!(matches!(&p[0].mv, Some(Move::ClientCertificate { user, .. }) if user == "root"));
    let p = base()
        .cluster_role("csr", csr)
        .crb("c", "csr", &["User:mallory"])
        .path("User:mallory")
        .unwrap();
    assert!(
        matches!(&p[0].mv, Some(Move::ClientCertificate { user, .. }) if user == "system:serviceaccount:ops:admin"),
        "{p:#?}"
    );
}

#[test]
fn updating_a_workload_needs_one_to_exist() {
    let updater = vec![rule(&["update", "patch"], &["apps"], &["deployments"], &[])];
    let none = base().cluster_role("upd", updater.clone()).rb(
        "ops",
        "upd",
        "ClusterRole",
        "upd",
        &["User:dan"],
    );
    assert!(none.path("User:dan").is_none());
    let one = base()
        .cluster_role("upd", updater)
        .rb("ops", "upd", "ClusterRole", "upd", &["User:dan"])
        .workload("ops", "Deployment", "web", "dev", 1);
    let p = one.path("User:dan").unwrap();
    assert!(matches!(&p[0].mv, Some(Move::RetargetWorkload { name, .. }) if name == "web"));
}

#[test]
fn exec_with_resource_names_reaches_only_the_named_pods() {
    let c = base()
        .cluster_role(
            "exec-one",
            vec![rule(&["create"], &[""], &["pods/exec"], &["other"])],
        )
        .rb("ops", "e", "ClusterRole", "exec-one", &["User:ed"])
        .workload("ops", "Pod", "admin-pod", "admin", 1)
        .workload("ops", "Pod", "other", "dev", 1);
    assert!(c.path("User:ed").is_none());
}

/// A cluster-wide grant of a move and a RoleBinding granting the same move to the same target
/// are two ways in: removing either leaves the other, so both are entries (the cluster-wide one
/// goes through the hub its holders share and used to hide the RoleBinding's edge).
#[test]
fn a_cluster_wide_and_a_namespaced_grant_of_one_move_are_two_ways_in() {
    let tokens = vec![rule(&["create"], &[""], &["serviceaccounts/token"], &[])];
    let c = base()
        .cluster_role("tokens", tokens)
        .crb("everywhere", "tokens", &["User:mallory"])
        .rb("ops", "here", "ClusterRole", "tokens", &["User:mallory"])
        .sa("web", "other");
    let idx = RbacIndex::build(&c.0);
    let g = ReachGraph::build(&idx, &c.0);
    let mallory = SubjectRef::parse("User:mallory").unwrap();
    let entries = g.entries(&idx, &mallory);
    let bindings: Vec<&str> = entries
        .iter()
        .map(|e| e.grant.binding.name.as_str())
        .collect();
    assert_eq!(bindings, ["everywhere", "here"], "{entries:#?}");
    for e in &entries {
        assert_eq!(
            e.path[0].action, "create a token for ServiceAccount ops/admin",
            "the hub's template is filled with the target: {e:#?}"
        );
        assert_eq!(
            e.path[0].mv,
            Some(Move::RequestToken {
                namespace: "ops".into(),
                service_account: "admin".into()
            })
        );
    }
    // Every ServiceAccount is reachable through the one cluster-wide grant.
    let (reached, _) = g.reachable_from(&idx, &mallory);
    for sa in [("ops", "dev"), ("web", "other"), ("web", "app")] {
        assert!(
            reached
                .iter()
                .any(|r| r.subject == SubjectRef::service_account(sa.0, sa.1)),
            "{sa:?}"
        );
    }
}

/// Impersonation granted cluster-wide reaches users and ServiceAccounts through shared hubs,
/// still needs a credential of its own, and names the identity it takes.
#[test]
fn cluster_wide_impersonation_names_whom_it_takes() {
    let c = base()
        .cluster_role(
            "impersonator",
            vec![rule(&["impersonate"], &[""], &["serviceaccounts"], &[])],
        )
        .crb("imp", "impersonator", &["User:mallory"]);
    let path = c.path("User:mallory").unwrap();
    assert_eq!(path.len(), 2, "{path:#?}");
    assert_eq!(
        path[0].mv,
        Some(Move::Impersonate {
            user: "system:serviceaccount:ops:admin".into(),
            groups: vec![]
        })
    );
    assert_eq!(path[0].to, "ServiceAccount:ops/admin (impersonated)");
}
