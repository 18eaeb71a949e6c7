//! Synthetic clusters of a chosen size, for benchmarks and scale tests. Deterministic: the same
//! shape and seed give the same snapshot.

use crate::snapshot::*;
use chrono::DateTime;

pub mod realistic;

/// How big a synthetic cluster is.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub namespaces: usize,
    pub role_bindings: usize,
    pub cluster_roles: usize,
    pub service_accounts: usize,
    pub cluster_role_bindings: usize,
    pub seed: u64,
}

impl Shape {
    /// The size named in the performance targets: 5,000 namespaces, 50,000 RoleBindings,
    /// 2,000 ClusterRoles, 20,000 ServiceAccounts.
    pub const TARGET: Shape = Shape {
        namespaces: 5_000,
        role_bindings: 50_000,
        cluster_roles: 2_000,
        service_accounts: 20_000,
        cluster_role_bindings: 1_000,
        seed: 7,
    };
}

/// A small deterministic generator (xorshift): the same seed gives the same cluster.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    /// In `0..n` (0 when `n` is 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const VERBS: &[&[&str]] = &[
    &["get", "list", "watch"],
    &["get"],
    &["create", "update", "patch"],
    &["delete"],
    &["*"],
    &[
        "get", "list", "watch", "create", "update", "patch", "delete",
    ],
];
const RESOURCES: &[(&str, &[&str])] = &[
    ("", &["pods", "pods/log"]),
    ("", &["configmaps"]),
    ("", &["secrets"]),
    ("", &["services", "endpoints"]),
    ("apps", &["deployments", "replicasets"]),
    ("batch", &["jobs", "cronjobs"]),
    ("", &["pods/exec"]),
    ("networking.k8s.io", &["ingresses"]),
    ("example.com", &["widgets"]),
    ("", &["serviceaccounts/token"]),
];

fn rule(rng: &mut Rng) -> PolicyRule {
    let (group, resources) = rng.pick(RESOURCES);
    let names = if rng.below(10) == 0 {
        vec![format!("obj-{}", rng.below(5))]
    } else {
        vec![]
    };
    PolicyRule {
        verbs: rng.pick(VERBS).iter().map(|s| s.to_string()).collect(),
        api_groups: vec![group.to_string()],
        resources: resources.iter().map(|s| s.to_string()).collect(),
        resource_names: names,
        non_resource_urls: vec![],
    }
}

fn subject(rng: &mut Rng, ns: &str, sas_per_ns: usize) -> Subject {
    match rng.below(10) {
        0..=5 => Subject {
            kind: "ServiceAccount".into(),
            name: format!("sa-{}", rng.below(sas_per_ns.max(1))),
            namespace: Some(ns.to_string()),
            api_group: None,
        },
        6 | 7 => Subject {
            kind: "Group".into(),
            name: format!("team-{}", rng.below(200)),
            namespace: None,
            api_group: Some("rbac.authorization.k8s.io".into()),
        },
        _ => Subject {
            kind: "User".into(),
            name: format!("user-{}@example.com", rng.below(2_000)),
            namespace: None,
            api_group: Some("rbac.authorization.k8s.io".into()),
        },
    }
}

/// Builds a snapshot of the given shape.
pub fn cluster(shape: Shape) -> Snapshot {
    let mut rng = Rng(shape.seed.max(1).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut s = Snapshot::empty(
        ClusterInfo {
            name: "synthetic".into(),
            id: Some("00000000-0000-0000-0000-000000000000".into()),
            server_version: None,
        },
        DateTime::from_timestamp(1_767_225_600, 0).expect("valid"),
        "synthetic".into(),
    );
    let namespaces: Vec<String> = (0..shape.namespaces)
        .map(|i| format!("ns-{i:05}"))
        .collect();
    s.namespaces = namespaces
        .iter()
        .map(|n| Namespace {
            metadata: ObjectMeta::named(n),
            phase: Some("Active".into()),
        })
        .collect();
    s.cluster_roles = (0..shape.cluster_roles)
        .map(|i| {
            let n = 3 + rng.below(4);
            let mut rules: Vec<PolicyRule> = (0..n).map(|_| rule(&mut rng)).collect();
            if i % 97 == 0 {
                rules.push(PolicyRule {
                    verbs: vec!["*".into()],
                    api_groups: vec!["*".into()],
                    resources: vec!["*".into()],
                    ..Default::default()
                });
            }
            ClusterRole {
                metadata: ObjectMeta::named(format!("role-{i:04}")),
                rules,
                aggregation_rule: None,
            }
        })
        .collect();
    let sas_per_ns = shape.service_accounts.div_ceil(shape.namespaces.max(1));
    let mut sa_count = 0;
    for ns in &namespaces {
        for j in 0..sas_per_ns {
            if sa_count == shape.service_accounts {
                break;
            }
            sa_count += 1;
            s.service_accounts.push(ServiceAccount {
                metadata: ObjectMeta::namespaced(ns, format!("sa-{j}")),
                automount_service_account_token: None,
                secrets: vec![],
                image_pull_secrets: vec![],
            });
            s.workloads.push(Workload {
                namespace: ns.clone(),
                kind: "Deployment".into(),
                name: format!("app-{j}"),
                service_account: format!("sa-{j}"),
                images: vec![format!("registry.example.com/app-{j}:1.0")],
                automount_service_account_token: None,
                pods: 1,
                running: Vec::new(),
                labels: Default::default(),
            });
        }
        s.roles.push(Role {
            metadata: ObjectMeta::namespaced(ns, "local"),
            rules: (0..3).map(|_| rule(&mut rng)).collect(),
        });
    }
    for i in 0..shape.role_bindings {
        let ns = &namespaces[i % namespaces.len()];
        let role_ref = if rng.below(5) == 0 {
            RoleRef {
                api_group: "rbac.authorization.k8s.io".into(),
                kind: "Role".into(),
                name: "local".into(),
            }
        } else {
            RoleRef {
                api_group: "rbac.authorization.k8s.io".into(),
                kind: "ClusterRole".into(),
                name: format!("role-{:04}", rng.below(shape.cluster_roles)),
            }
        };
        let n = 1 + rng.below(3);
        s.role_bindings.push(RoleBinding {
            metadata: ObjectMeta::namespaced(ns, format!("rb-{i}")),
            role_ref,
            subjects: (0..n).map(|_| subject(&mut rng, ns, sas_per_ns)).collect(),
        });
    }
    for i in 0..shape.cluster_role_bindings {
        let ns = rng.pick(&namespaces).clone();
        s.cluster_role_bindings.push(ClusterRoleBinding {
            metadata: ObjectMeta::named(format!("crb-{i}")),
            role_ref: RoleRef {
                api_group: "rbac.authorization.k8s.io".into(),
                kind: "ClusterRole".into(),
                // Cluster-wide bindings mostly use the first, read-heavy roles.
                name: format!("role-{:04}", rng.below(shape.cluster_roles.min(200))),
            },
            subjects: vec![subject(&mut rng, &ns, sas_per_ns)],
        });
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
}

/// A copy of `snapshot` with `per_mille` of its RoleBindings changed (half get another subject,
/// half another ClusterRole): the "next night" of a busy cluster.
pub fn perturb(snapshot: &Snapshot, per_mille: usize, seed: u64) -> Snapshot {
    let mut rng = Rng(seed.max(1).wrapping_mul(0x2545_F491_4F6C_DD1D) | 1);
    let mut s = snapshot.clone();
    let n = s.role_bindings.len() * per_mille / 1000;
    let roles = s.cluster_roles.len().max(1);
    for k in 0..n {
        let i = rng.below(s.role_bindings.len());
        let rb = &mut s.role_bindings[i];
        if k % 2 == 0 {
            rb.subjects.push(Subject {
                kind: "User".into(),
                name: format!("new-user-{k}@example.com"),
                namespace: None,
                api_group: Some("rbac.authorization.k8s.io".into()),
            });
        } else {
            rb.role_ref = RoleRef {
                api_group: "rbac.authorization.k8s.io".into(),
                kind: "ClusterRole".into(),
                name: format!("role-{:04}", rng.below(roles)),
            };
        }
        rb.metadata.resource_version = Some(format!("{}", 1_000_000 + k));
    }
    s.taken_at += chrono::Duration::hours(24);
    s.canonicalize();
    s
}
