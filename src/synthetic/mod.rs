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
    /// How the RBAC is written, beyond its size.
    pub knobs: Knobs,
}

/// How a synthetic cluster's RBAC is written: what made the difference between the generator's
/// tidy clusters and clusters people wrote (issue 31). [`Knobs::TIDY`] is the generator as it
/// was, draw for draw: the same seed gives the same cluster it gave before the knobs existed.
#[derive(Debug, Clone, Copy)]
pub struct Knobs {
    /// Rules drawn from the dangerous pool (wildcards, Secrets, escalate, bind, impersonate,
    /// nodes/proxy, tokens) instead of the tidy one, per mille.
    pub dangerous_rules_per_mille: u32,
    /// A RoleBinding names 1 to this many subjects.
    pub subjects_per_binding: usize,
    /// A ClusterRoleBinding names 1 to this many subjects.
    pub subjects_per_cluster_binding: usize,
    /// Distinct users and groups subjects are drawn from.
    pub users: usize,
    pub groups: usize,
    /// ServiceAccount subjects from another namespace than the binding's, per mille.
    pub foreign_subjects_per_mille: u32,
    /// ClusterRoles aggregated from one of two label buckets, per mille.
    pub aggregated_per_mille: u32,
    /// Whether ClusterRoleBindings may name any ClusterRole (else the first 200, read-heavy).
    pub cluster_bindings_any_role: bool,
}

impl Knobs {
    /// The generator as it was: rules from the tidy pool, subjects of the binding's namespace,
    /// one subject per cluster-wide binding, read-heavy cluster-wide roles.
    pub const TIDY: Knobs = Knobs {
        dangerous_rules_per_mille: 0,
        subjects_per_binding: 3,
        subjects_per_cluster_binding: 1,
        users: 2_000,
        groups: 200,
        foreign_subjects_per_mille: 0,
        aggregated_per_mille: 0,
        cluster_bindings_any_role: false,
    };

    /// The cluster issue 31 was measured on: a third of the rules dangerous, subjects from
    /// anywhere, one ClusterRole in eight aggregated, cluster-wide bindings to any role with up
    /// to three subjects from 2,000 users and 300 groups.
    pub const MESSY: Knobs = Knobs {
        dangerous_rules_per_mille: 350,
        subjects_per_binding: 3,
        subjects_per_cluster_binding: 3,
        users: 2_000,
        groups: 300,
        foreign_subjects_per_mille: 400,
        aggregated_per_mille: 125,
        cluster_bindings_any_role: true,
    };
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
        knobs: Knobs::TIDY,
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

/// Rules people write when they are in a hurry: each is one of the risk patterns.
const DANGEROUS: &[(&[&str], &str, &[&str])] = &[
    (&["*"], "*", &["*"]),
    (&["get", "list", "watch"], "", &["secrets"]),
    (
        &["escalate", "bind"],
        "rbac.authorization.k8s.io",
        &["roles", "clusterroles"],
    ),
    (
        &["impersonate"],
        "",
        &["users", "groups", "serviceaccounts"],
    ),
    (&["create"], "", &["pods", "pods/exec"]),
    (&["get", "create"], "", &["nodes/proxy"]),
    (&["create"], "", &["serviceaccounts/token"]),
    (&["*"], "", &["secrets", "configmaps"]),
    (
        &["create", "update", "patch"],
        "apps",
        &["deployments", "daemonsets"],
    ),
    (
        &["create", "update"],
        "rbac.authorization.k8s.io",
        &["rolebindings", "clusterrolebindings"],
    ),
];

fn rule(rng: &mut Rng, knobs: &Knobs) -> PolicyRule {
    if knobs.dangerous_rules_per_mille > 0
        && rng.below(1000) < knobs.dangerous_rules_per_mille as usize
    {
        let (verbs, group, resources) = rng.pick(DANGEROUS);
        return PolicyRule {
            verbs: verbs.iter().map(|s| s.to_string()).collect(),
            api_groups: vec![group.to_string()],
            resources: resources.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        };
    }
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

/// Where subjects are drawn from.
struct Population<'a> {
    namespaces: &'a [String],
    sas_per_ns: usize,
    knobs: &'a Knobs,
}

fn subject(rng: &mut Rng, ns: &str, from: &Population<'_>) -> Subject {
    let knobs = from.knobs;
    match rng.below(10) {
        0..=5 => {
            let name = format!("sa-{}", rng.below(from.sas_per_ns.max(1)));
            let foreign = knobs.foreign_subjects_per_mille > 0
                && rng.below(1000) < knobs.foreign_subjects_per_mille as usize;
            let namespace = if foreign {
                rng.pick(from.namespaces).clone()
            } else {
                ns.to_string()
            };
            Subject {
                kind: "ServiceAccount".into(),
                name,
                namespace: Some(namespace),
                api_group: None,
            }
        }
        6 | 7 => Subject {
            kind: "Group".into(),
            name: format!("team-{}", rng.below(knobs.groups)),
            namespace: None,
            api_group: Some("rbac.authorization.k8s.io".into()),
        },
        _ => Subject {
            kind: "User".into(),
            name: format!("user-{}@example.com", rng.below(knobs.users)),
            namespace: None,
            api_group: Some("rbac.authorization.k8s.io".into()),
        },
    }
}

/// The label aggregated ClusterRoles select their sources by.
const BUCKET_LABEL: &str = "synthetic.kube-evidence.io/bucket";

/// A ClusterRole aggregated from one label bucket, its rules left to the aggregation (as the
/// controller fills them in; the engine resolves them from the selectors).
fn aggregated_role(i: usize) -> ClusterRole {
    ClusterRole {
        metadata: ObjectMeta::named(format!("role-{i:04}")),
        rules: Vec::new(),
        aggregation_rule: Some(AggregationRule {
            cluster_role_selectors: vec![LabelSelector {
                match_labels: [(BUCKET_LABEL.to_string(), format!("bucket-{}", i % 2))]
                    .into_iter()
                    .collect(),
                match_expressions: Vec::new(),
            }],
        }),
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
    let knobs = shape.knobs;
    s.cluster_roles = (0..shape.cluster_roles)
        .map(|i| {
            if knobs.aggregated_per_mille > 0
                && rng.below(1000) < knobs.aggregated_per_mille as usize
            {
                return aggregated_role(i);
            }
            let n = 3 + rng.below(4);
            let mut rules: Vec<PolicyRule> = (0..n).map(|_| rule(&mut rng, &knobs)).collect();
            if i % 97 == 0 {
                rules.push(PolicyRule {
                    verbs: vec!["*".into()],
                    api_groups: vec!["*".into()],
                    resources: vec!["*".into()],
                    ..Default::default()
                });
            }
            let mut metadata = ObjectMeta::named(format!("role-{i:04}"));
            if knobs.aggregated_per_mille > 0 {
                metadata
                    .labels
                    .insert(BUCKET_LABEL.into(), format!("bucket-{}", i % 2));
            }
            ClusterRole {
                metadata,
                rules,
                aggregation_rule: None,
            }
        })
        .collect();
    let sas_per_ns = shape.service_accounts.div_ceil(shape.namespaces.max(1));
    let from = Population {
        namespaces: &namespaces,
        sas_per_ns,
        knobs: &knobs,
    };
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
            rules: (0..3).map(|_| rule(&mut rng, &knobs)).collect(),
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
        let n = 1 + rng.below(knobs.subjects_per_binding);
        s.role_bindings.push(RoleBinding {
            metadata: ObjectMeta::namespaced(ns, format!("rb-{i}")),
            role_ref,
            subjects: (0..n).map(|_| subject(&mut rng, ns, &from)).collect(),
        });
    }
    for i in 0..shape.cluster_role_bindings {
        let ns = rng.pick(&namespaces).clone();
        s.cluster_role_bindings.push(ClusterRoleBinding {
            metadata: ObjectMeta::named(format!("crb-{i}")),
            role_ref: RoleRef {
                api_group: "rbac.authorization.k8s.io".into(),
                kind: "ClusterRole".into(),
                // Tidy cluster-wide bindings use the first, read-heavy roles.
                name: format!(
                    "role-{:04}",
                    rng.below(if knobs.cluster_bindings_any_role {
                        shape.cluster_roles
                    } else {
                        shape.cluster_roles.min(200)
                    })
                ),
            },
            subjects: {
                let n = if knobs.subjects_per_cluster_binding > 1 {
                    1 + rng.below(knobs.subjects_per_cluster_binding)
                } else {
                    1
                };
                (0..n).map(|_| subject(&mut rng, &ns, &from)).collect()
            },
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
