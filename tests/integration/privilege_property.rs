//! For random small clusters full of escalation primitives, every subject's cluster-admin reach
//! is the same in the privilege table, the rules (KE-RBAC-001 and KE-RBAC-026), the access
//! matrix, the sub-processor register and `access --reach` (whose answer is
//! `rbac::privilege::admin_reach`).

use kube_evidence::analysis::analyze;
use kube_evidence::rbac::privilege::{AdminReach, admin_reach};
use kube_evidence::rbac::{Identity, SubjectRef};
use kube_evidence::rules::RuleId;
use kube_evidence::snapshot::*;
use proptest::prelude::*;

const NAMESPACES: &[&str] = &["a", "b"];

fn rule(verbs: &[&str], groups: &[&str], resources: &[&str], names: &[&str]) -> PolicyRule {
    PolicyRule::for_resources(verbs, groups, resources, names)
}

/// Rules that lead somewhere: cluster-admin itself, and every primitive the escalation graph
/// follows, plus some harmless ones.
fn rules() -> Vec<PolicyRule> {
    vec![
        rule(&["*"], &["*"], &["*"], &[]),
        rule(&["create"], &[""], &["pods"], &[]),
        rule(&["patch"], &["apps"], &["deployments"], &[]),
        rule(&["create"], &[""], &["pods/exec"], &[]),
        rule(&["get"], &[""], &["nodes/proxy"], &[]),
        rule(&["get", "list"], &[""], &["secrets"], &[]),
        rule(&["get"], &[""], &["secrets"], &["s1-token"]),
        rule(&["create"], &[""], &["serviceaccounts/token"], &[]),
        rule(&["impersonate"], &[""], &["groups"], &[]),
        rule(&["impersonate"], &[""], &["users"], &["u1"]),
        rule(&["impersonate"], &[""], &["serviceaccounts"], &[]),
        rule(
            &["bind"],
            &["rbac.authorization.k8s.io"],
            &["clusterroles"],
            &[],
        ),
        rule(
            &["create"],
            &["rbac.authorization.k8s.io"],
            &["clusterrolebindings", "rolebindings"],
            &[],
        ),
        rule(
            &["escalate", "update"],
            &["rbac.authorization.k8s.io"],
            &["clusterroles"],
            &[],
        ),
        rule(&["get", "list", "watch"], &[""], &["configmaps"], &[]),
        rule(&["get"], &["apps"], &["deployments"], &[]),
    ]
}

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
        s("Group", "g1", None),
        s("Group", "system:masters", None),
        s("Group", "system:serviceaccounts:b", None),
        s("ServiceAccount", "s1", Some("a")),
        s("ServiceAccount", "s2", Some("a")),
        s("ServiceAccount", "s1", Some("b")),
        s("ServiceAccount", "s3", Some("b")),
    ]
}

#[derive(Debug, Clone)]
struct BindingSpec {
    cluster: bool,
    namespace: usize,
    role: usize,
    subjects: Vec<usize>,
}

fn snapshot_strategy() -> impl Strategy<Value = Snapshot> {
    let n_rules = rules().len();
    let roles = proptest::collection::vec(
        proptest::sample::subsequence((0..n_rules).collect::<Vec<_>>(), 1..3),
        4,
    );
    let binding = (
        any::<bool>(),
        0..2usize,
        0..4usize,
        proptest::sample::subsequence((0..subjects().len()).collect::<Vec<_>>(), 1..3),
    )
        .prop_map(|(cluster, namespace, role, subjects)| BindingSpec {
            cluster,
            namespace,
            role,
            subjects,
        });
    (
        roles,
        proptest::collection::vec(binding, 1..7),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(roles, bindings, token_secret, running)| {
            let all_rules = rules();
            let mut s = Snapshot::empty(
                ClusterInfo {
                    name: "p".into(),
                    id: None,
                    server_version: None,
                },
                chrono::DateTime::from_timestamp(1_767_225_600, 0).unwrap(),
                "p".into(),
            );
            s.cluster_roles = roles
                .into_iter()
                .enumerate()
                .map(|(i, picks)| ClusterRole {
                    metadata: ObjectMeta::named(format!("cr{i}")),
                    rules: picks.iter().map(|p| all_rules[*p].clone()).collect(),
                    aggregation_rule: None,
                })
                .collect();
            for (ns, name) in [("a", "s1"), ("a", "s2"), ("b", "s1"), ("b", "s3")] {
                s.service_accounts.push(ServiceAccount {
                    metadata: ObjectMeta::namespaced(ns, name),
                    automount_service_account_token: None,
                    secrets: vec![],
                    image_pull_secrets: vec![],
                });
            }
            if running {
                s.workloads.push(Workload {
                    namespace: "a".into(),
                    kind: "Deployment".into(),
                    name: "app".into(),
                    service_account: "s2".into(),
                    images: vec!["vendor.example.com/agent:1".into()],
                    automount_service_account_token: None,
                    pods: 1,
                    running: Vec::new(),
                    labels: Default::default(),
                });
            }
            if token_secret {
                s.token_secrets.push(TokenSecret {
                    metadata: ObjectMeta::namespaced("a", "s1-token"),
                    service_account: "s1".into(),
                });
            }
            let all = subjects();
            for (i, b) in bindings.into_iter().enumerate() {
                let subjects = b.subjects.iter().map(|j| all[*j].clone()).collect();
                let role_ref = RoleRef {
                    api_group: "rbac.authorization.k8s.io".into(),
                    kind: "ClusterRole".into(),
                    name: format!("cr{}", b.role),
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
            for kind in ResourceKind::ALL {
                s.collector.kinds.insert(
                    kind.name().to_string(),
                    KindCollection {
                        status: CollectionStatus::Complete,
                        count: 0,
                        message: None,
                    },
                );
            }
            s.canonicalize();
            s
        })
}

const INVENTORY: &str = "apiVersion: kube-evidence.io/v1\nkind: SubProcessorInventory\nsubProcessors:\n\
- id: agent\n  name: Agent\n  vendor: V\n  identities: {serviceAccounts: [a/s2]}\n  declaredAccess: {level: read-only}\n\
- id: operator\n  name: Operator\n  vendor: W\n  identities: {namespaces: [b], users: [u2]}\n  declaredAccess: {level: namespaced-write}\n";

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]
    #[test]
    fn every_statement_of_a_subjects_cluster_admin_reach_agrees(snapshot in snapshot_strategy()) {
        let today = snapshot.taken_at.date_naive();
        let inventory = kube_evidence::inventory::parse(INVENTORY, "inv.yaml", today).unwrap();
        let rbac = analyze(&snapshot, Some(&inventory), today);
        let a = &rbac.analysis;
        for subject in rbac.index.all_subjects() {
            let table = rbac.privilege.get(&subject);
            // access --reach
            let asked = admin_reach(&rbac.index, &rbac.reach, &Identity::of(&subject, &[]));
            prop_assert_eq!(asked.as_ref(), table, "access --reach vs the table for {}", subject);
            // the rules: KE-RBAC-001 per subject, KE-RBAC-026 per binding that gives a way in
            let direct = a.findings.iter().filter(|f| f.rule_id == RuleId::Rbac001 && f.subjects == vec![subject.clone()]).count();
            prop_assert_eq!(direct, usize::from(table.is_some_and(AdminReach::is_direct)), "KE-RBAC-001 for {}", subject);
            let escalations: Vec<_> = a.findings.iter().filter(|f| f.rule_id == RuleId::Rbac026 && f.subjects.contains(&subject)).collect();
            prop_assert_eq!(!escalations.is_empty(), table.is_some_and(|r| !r.is_direct()), "KE-RBAC-026 for {}", subject);
            // the matrix
            let cell = a.matrix.iter().find(|r| r.subject == subject).and_then(|r| r.cells.get("clusterAdmin")).cloned();
            prop_assert_eq!(cell, table.map(|r| r.describe_for(&subject)), "matrix for {}", subject);
            if let Some(AdminReach::Escalation { steps, path, .. }) = table {
                prop_assert_eq!(*steps, path.len());
                // One finding per binding of a way in; the shortest path enters through one of them.
                let entry = path.iter().find_map(|p| p.grant.as_ref()).map(|g| g.binding.to_string());
                let causes: Vec<Option<&str>> = escalations.iter().map(|f| f.cause.as_deref()).collect();
                prop_assert!(causes.contains(&entry.as_deref()), "{} enters through {:?}, findings {:?}", subject, entry, causes);
                for f in &escalations {
                    prop_assert!(f.grants.iter().all(|g| Some(g.binding.to_string()) == f.cause), "{} lists its cause's grants", f.id);
                }
            }
        }
        // the register names the strongest reach of each entry's identities
        for row in &a.register {
            let subjects: Vec<SubjectRef> = row.identities_found.iter().filter_map(|i| SubjectRef::parse(i).ok()).collect();
            match rbac.privilege.strongest(&subjects) {
                Some((s, AdminReach::Direct { .. })) => prop_assert!(row.observed_access.starts_with("cluster-admin (direct") && row.observed_access.contains(&s.to_string()), "{}: {}", row.id, row.observed_access),
                Some((s, AdminReach::Escalation { steps, .. })) => prop_assert!(row.observed_access.starts_with(&format!("cluster-admin via escalation ({steps} step")) && row.observed_access.contains(&s.to_string()), "{}: {}", row.id, row.observed_access),
                None => prop_assert!(!row.observed_access.contains("cluster-admin"), "{}: {}", row.id, row.observed_access),
            }
        }
    }
}
