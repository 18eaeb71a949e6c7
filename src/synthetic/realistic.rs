//! A realistic large cluster as Kubernetes objects, for scale tests, benchmarks and the test API
//! server: teams with namespaces bound to `admin`, `edit` and `view` and to local Roles,
//! ServiceAccounts with running workloads, a CI deployer and an on-call group bound in every
//! namespace, aggregated ClusterRoles for custom resources, team ClusterRoles and their
//! ClusterRoleBindings, about a hundred sub-processors with their inventory, and a controlled set
//! of planted risks whose findings a test can expect. Deterministic: the same size and seed give
//! the same bytes.
//!
//! At 5,000 namespaces it holds about 50,000 RoleBindings, 5,000 Roles, 2,000 ClusterRoles,
//! 1,000 ClusterRoleBindings and 20,000 ServiceAccounts, the size large platforms run.

use crate::rules::RuleId;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// What to generate.
#[derive(Debug, Clone, Copy)]
pub struct Size {
    pub namespaces: usize,
    pub seed: u64,
}

/// A planted risk and what the analysis must report for it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Planted {
    pub rule_id: String,
    /// The subject, object or sub-processor the finding must name (as findings print it).
    pub about: String,
    pub why: String,
}

/// The generated cluster: dump files (name, a `kind: List`), the sub-processor inventory, and
/// the planted risks.
pub struct Generated {
    pub files: Vec<(String, Value)>,
    pub inventory: String,
    pub planted: Vec<Planted>,
}

use super::Rng;

const RBAC: &str = "rbac.authorization.k8s.io";

fn meta(name: &str, namespace: Option<&str>, labels: Value) -> Value {
    let mut m = json!({ "name": name });
    if let Some(ns) = namespace {
        m["namespace"] = json!(ns);
    }
    if labels.as_object().is_some_and(|l| !l.is_empty()) {
        m["labels"] = labels;
    }
    m
}

fn rule(groups: &[&str], resources: &[&str], verbs: &[&str]) -> Value {
    json!({ "apiGroups": groups, "resources": resources, "verbs": verbs })
}

fn subject(kind: &str, name: &str, namespace: Option<&str>) -> Value {
    match (kind, namespace) {
        ("ServiceAccount", Some(ns)) => json!({"kind": kind, "name": name, "namespace": ns}),
        _ => json!({"kind": kind, "name": name, "apiGroup": RBAC}),
    }
}

fn role_ref(kind: &str, name: &str) -> Value {
    json!({ "apiGroup": RBAC, "kind": kind, "name": name })
}

fn list(items: Vec<Value>) -> Value {
    json!({ "apiVersion": "v1", "kind": "List", "items": items })
}

/// The built-in aggregated roles as a dump carries them: `admin`, `edit`, `view` aggregate
/// ClusterRoles labelled for them, `cluster-admin` holds everything.
fn builtin_roles() -> Vec<Value> {
    let agg = |name: &str, to: &[&str], rules: Vec<Value>| {
        let labels: serde_json::Map<String, Value> = to
            .iter()
            .map(|t| (format!("{RBAC}/aggregate-to-{t}"), json!("true")))
            .collect();
        json!({"apiVersion": format!("{RBAC}/v1"), "kind": "ClusterRole",
               "metadata": meta(name, None, Value::Object(labels)), "rules": rules})
    };
    let aggregated = |name: &str| {
        json!({"apiVersion": format!("{RBAC}/v1"), "kind": "ClusterRole",
               "metadata": meta(name, None, json!({})),
               "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {format!("{RBAC}/aggregate-to-{name}"): "true"}}]},
               "rules": []})
    };
    vec![
        json!({"apiVersion": format!("{RBAC}/v1"), "kind": "ClusterRole",
               "metadata": meta("cluster-admin", None, json!({})),
               "rules": [rule(&["*"], &["*"], &["*"]), {"nonResourceURLs": ["*"], "verbs": ["*"]}]}),
        aggregated("admin"),
        aggregated("edit"),
        aggregated("view"),
        agg(
            "system:aggregate-to-admin",
            &["admin"],
            vec![rule(
                &[RBAC],
                &["roles", "rolebindings"],
                &[
                    "create",
                    "delete",
                    "deletecollection",
                    "get",
                    "list",
                    "patch",
                    "update",
                    "watch",
                ],
            )],
        ),
        agg(
            "system:aggregate-to-edit",
            &["admin", "edit"],
            vec![
                rule(
                    &[""],
                    &[
                        "pods",
                        "pods/attach",
                        "pods/exec",
                        "pods/portforward",
                        "pods/proxy",
                    ],
                    &["create", "delete", "deletecollection", "patch", "update"],
                ),
                rule(
                    &[""],
                    &[
                        "configmaps",
                        "services",
                        "secrets",
                        "persistentvolumeclaims",
                    ],
                    &["create", "delete", "deletecollection", "patch", "update"],
                ),
                rule(
                    &["apps"],
                    &["deployments", "statefulsets", "daemonsets", "replicasets"],
                    &["create", "delete", "deletecollection", "patch", "update"],
                ),
                rule(
                    &["batch"],
                    &["jobs", "cronjobs"],
                    &["create", "delete", "deletecollection", "patch", "update"],
                ),
                rule(&[""], &["serviceaccounts"], &["impersonate"]),
                rule(&[""], &["secrets"], &["get", "list", "watch"]),
            ],
        ),
        agg(
            "system:aggregate-to-view",
            &["admin", "edit", "view"],
            vec![
                rule(
                    &[""],
                    &[
                        "configmaps",
                        "endpoints",
                        "pods",
                        "pods/log",
                        "services",
                        "events",
                    ],
                    &["get", "list", "watch"],
                ),
                rule(
                    &["apps"],
                    &["deployments", "statefulsets", "daemonsets", "replicasets"],
                    &["get", "list", "watch"],
                ),
                rule(&["batch"], &["jobs", "cronjobs"], &["get", "list", "watch"]),
            ],
        ),
    ]
}

/// A vendor's profile: what its agent's ClusterRole holds and what its inventory entry declares.
#[derive(Clone, Copy)]
enum Profile {
    Monitoring,
    LogShipper,
    Backup,
    Deployer,
    Security,
}

impl Profile {
    fn rules(self) -> Vec<Value> {
        match self {
            Profile::Monitoring => vec![
                rule(
                    &[""],
                    &[
                        "pods",
                        "nodes",
                        "services",
                        "endpoints",
                        "namespaces",
                        "events",
                    ],
                    &["get", "list", "watch"],
                ),
                rule(
                    &["apps"],
                    &["deployments", "replicasets"],
                    &["get", "list", "watch"],
                ),
                json!({"nonResourceURLs": ["/metrics"], "verbs": ["get"]}),
            ],
            Profile::LogShipper => vec![
                rule(&[""], &["pods", "namespaces"], &["get", "list", "watch"]),
                rule(&[""], &["nodes/proxy"], &["get"]),
            ],
            Profile::Backup => vec![rule(&["*"], &["*"], &["*"])],
            Profile::Deployer => vec![
                rule(
                    &["apps"],
                    &["deployments"],
                    &["create", "patch", "update", "get", "list"],
                ),
                rule(
                    &[""],
                    &["configmaps", "services"],
                    &["create", "patch", "get", "list"],
                ),
            ],
            Profile::Security => vec![
                rule(
                    &[""],
                    &["pods", "namespaces", "nodes"],
                    &["get", "list", "watch"],
                ),
                rule(&[""], &["secrets"], &["get", "list", "watch"]),
                rule(
                    &["admissionregistration.k8s.io"],
                    &["validatingwebhookconfigurations"],
                    &["get", "list", "watch", "patch", "update"],
                ),
            ],
        }
    }

    fn declared(self) -> &'static str {
        match self {
            Profile::Monitoring | Profile::LogShipper => "read-only-no-secrets",
            Profile::Backup => "cluster-admin",
            Profile::Deployer => "cluster-wide-write",
            Profile::Security => "read-only",
        }
    }
}

const PROFILES: [Profile; 5] = [
    Profile::Monitoring,
    Profile::Monitoring,
    Profile::LogShipper,
    Profile::Security,
    Profile::Deployer,
];

struct Builder {
    namespaces: Vec<Value>,
    cluster_roles: Vec<Value>,
    cluster_role_bindings: Vec<Value>,
    roles: Vec<Value>,
    role_bindings: Vec<Value>,
    service_accounts: Vec<Value>,
    deployments: Vec<Value>,
    pods: Vec<Value>,
    webhooks: Vec<Value>,
    api_services: Vec<Value>,
    inventory: Vec<String>,
    planted: Vec<Planted>,
}

impl Builder {
    fn namespace(&mut self, name: &str, labels: Value) {
        self.namespaces.push(
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": meta(name, None, labels)}),
        );
    }

    fn service_account(&mut self, ns: &str, name: &str) {
        self.service_accounts.push(json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(name, Some(ns), json!({}))}));
    }

    fn cluster_role(&mut self, name: &str, labels: Value, rules: Vec<Value>) {
        self.cluster_roles.push(json!({"apiVersion": format!("{RBAC}/v1"), "kind": "ClusterRole", "metadata": meta(name, None, labels), "rules": rules}));
    }

    fn cluster_binding(&mut self, name: &str, role: &str, subjects: Vec<Value>) {
        self.cluster_role_bindings.push(json!({"apiVersion": format!("{RBAC}/v1"), "kind": "ClusterRoleBinding",
            "metadata": meta(name, None, json!({})), "roleRef": role_ref("ClusterRole", role), "subjects": subjects}));
    }

    fn binding(&mut self, ns: &str, name: &str, kind: &str, role: &str, subjects: Vec<Value>) {
        self.role_bindings.push(json!({"apiVersion": format!("{RBAC}/v1"), "kind": "RoleBinding",
            "metadata": meta(name, Some(ns), json!({})), "roleRef": role_ref(kind, role), "subjects": subjects}));
    }

    /// A Deployment and one running pod of it.
    fn workload(&mut self, ns: &str, name: &str, sa: &str, image: &str, labels: Value) {
        let hash = format!("{:x}", name.len() * 7919 + ns.len() * 104_729);
        self.deployments.push(json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": meta(name, Some(ns), labels.clone()),
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"serviceAccountName": sa, "containers": [{"name": "main", "image": image}]}}}}));
        let mut pod_labels = json!({"app": name, "pod-template-hash": hash});
        if let (Some(p), Some(l)) = (pod_labels.as_object_mut(), labels.as_object()) {
            p.extend(l.clone());
        }
        self.pods.push(json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": format!("{name}-{hash}-x1"), "namespace": ns, "labels": pod_labels,
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": format!("{name}-{hash}"), "uid": format!("rs-{ns}-{name}"), "controller": true}]},
            "spec": {"serviceAccountName": sa, "containers": [{"name": "main", "image": image}]},
            "status": {"phase": "Running"}}));
    }

    fn plant(&mut self, rule_id: RuleId, about: &str, why: &str) {
        self.planted.push(Planted {
            rule_id: rule_id.as_str().into(),
            about: about.into(),
            why: why.into(),
        });
    }
}

fn namespace_name(i: usize) -> String {
    format!("ns-{i:05}")
}

/// The cluster of `size`.
pub fn generate(size: Size) -> Generated {
    let mut rng = Rng(size.seed.max(1).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut b = Builder {
        namespaces: Vec::new(),
        cluster_roles: builtin_roles(),
        cluster_role_bindings: Vec::new(),
        roles: Vec::new(),
        role_bindings: Vec::new(),
        service_accounts: Vec::new(),
        deployments: Vec::new(),
        pods: Vec::new(),
        webhooks: Vec::new(),
        api_services: Vec::new(),
        inventory: Vec::new(),
        planted: Vec::new(),
    };
    let n = size.namespaces.max(10);
    let teams = n.div_ceil(10);
    platform(&mut b);
    for i in 0..n {
        team_namespace(&mut b, i, teams, &mut rng);
    }
    for t in 0..teams {
        let team = format!("team-{t:04}");
        b.cluster_role(
            &format!("{team}-reader"),
            json!({}),
            vec![rule(
                &["", "apps", "batch"],
                &["pods", "services", "deployments", "jobs", "events"],
                &["get", "list", "watch"],
            )],
        );
        b.cluster_role(
            &format!("{team}-crd-reader"),
            json!({}),
            vec![rule(
                &[&format!("{team}.example.com")],
                &["*"],
                &["get", "list", "watch"],
            )],
        );
        b.cluster_binding(
            &format!("{team}-readers"),
            &format!("{team}-reader"),
            vec![subject("Group", &format!("{team}-viewers"), None)],
        );
    }
    // Custom resources: each with the three aggregated roles their operators ship.
    for c in 0..(n / 25).max(4) {
        let group = format!("crd{c:03}.example.com");
        for (to, verbs) in [
            ("view", &["get", "list", "watch"][..]),
            ("edit", &["create", "update", "patch", "delete"][..]),
            ("admin", &["*"][..]),
        ] {
            b.cluster_role(
                &format!("crd{c:03}-aggregate-to-{to}"),
                json!({format!("{RBAC}/aggregate-to-{to}"): "true"}),
                vec![rule(&[&group], &["widgets", "widgets/status"], verbs)],
            );
        }
    }
    let vendors = 100.min(n / 5).max(10);
    for v in 0..vendors {
        vendor(&mut b, v, &mut rng);
    }
    planted_risks(&mut b, n);

    let inventory = format!(
        "apiVersion: kube-evidence.io/v1\nkind: SubProcessorInventory\ninternal:\n  namespaces: [\"ns-*\", platform, ci-system, monitoring]\n  groups: [\"team-*\", sre-oncall, platform-admins]\n  users: [\"*@example.com\"]\nsubProcessors:\n{}",
        b.inventory.join("")
    );
    let mut files = vec![
        ("00-namespaces.json".to_string(), list(b.namespaces)),
        ("10-clusterroles.json".to_string(), list(b.cluster_roles)),
        (
            "11-clusterrolebindings.json".to_string(),
            list(b.cluster_role_bindings),
        ),
        ("20-roles.json".to_string(), list(b.roles)),
        ("21-rolebindings.json".to_string(), list(b.role_bindings)),
        (
            "30-serviceaccounts.json".to_string(),
            list(b.service_accounts),
        ),
        ("40-deployments.json".to_string(), list(b.deployments)),
        ("41-pods.json".to_string(), list(b.pods)),
        ("50-webhooks.json".to_string(), list(b.webhooks)),
        ("51-apiservices.json".to_string(), list(b.api_services)),
    ];
    // The kinds it has none of, as empty lists (a dump that lacks a kind is incomplete; one
    // that lists it empty says there are none).
    files.extend(
        [
            ("apps/v1", "DaemonSetList"),
            ("apps/v1", "StatefulSetList"),
            ("apps/v1", "ReplicaSetList"),
            ("batch/v1", "JobList"),
            ("batch/v1", "CronJobList"),
            ("v1", "ReplicationControllerList"),
            ("v1", "SecretList"),
            (
                "admissionregistration.k8s.io/v1",
                "MutatingWebhookConfigurationList",
            ),
        ]
        .into_iter()
        .map(|(api_version, kind)| {
            (
                format!("60-{}.json", kind.to_lowercase()),
                json!({"apiVersion": api_version, "kind": kind, "items": []}),
            )
        }),
    );
    Generated {
        files,
        inventory,
        planted: b.planted,
    }
}

/// The platform's own namespaces: CI, monitoring, and the groups that run the cluster.
fn platform(b: &mut Builder) {
    for ns in ["platform", "ci-system", "monitoring"] {
        b.namespace(ns, json!({"team": "platform"}));
        b.service_account(ns, "default");
    }
    b.service_account("ci-system", "deployer");
    b.service_account("monitoring", "prometheus");
    b.workload(
        "monitoring",
        "prometheus",
        "prometheus",
        "quay.io/prometheus/prometheus:v2.54.1",
        json!({}),
    );
    b.cluster_binding(
        "platform-admins",
        "cluster-admin",
        vec![subject("Group", "platform-admins", None)],
    );
    b.plant(
        RuleId::Rbac001,
        "Group:platform-admins",
        "the platform team's group holds cluster-admin",
    );
}

/// One team namespace: four ServiceAccounts, a local Role, ten RoleBindings and a running app.
fn team_namespace(b: &mut Builder, i: usize, teams: usize, rng: &mut Rng) {
    let ns = namespace_name(i);
    let team = format!("team-{:04}", i % teams);
    b.namespace(
        &ns,
        json!({"team": team, "pod-security.kubernetes.io/enforce": "baseline"}),
    );
    for sa in ["default", "app", "worker", "deployer"] {
        b.service_account(&ns, sa);
    }
    b.roles.push(json!({"apiVersion": format!("{RBAC}/v1"), "kind": "Role", "metadata": meta("app-config", Some(&ns), json!({})),
        "rules": [rule(&[""], &["configmaps"], &["get", "list", "watch"]),
                  {"apiGroups": [""], "resources": ["secrets"], "resourceNames": ["app-secret"], "verbs": ["get"]}]}));
    let group = |suffix: &str| vec![subject("Group", &format!("{team}-{suffix}"), None)];
    b.binding(&ns, "team-admins", "ClusterRole", "admin", group("admins"));
    b.binding(&ns, "team-devs", "ClusterRole", "edit", group("devs"));
    b.binding(&ns, "team-viewers", "ClusterRole", "view", group("viewers"));
    b.binding(
        &ns,
        "app-config",
        "Role",
        "app-config",
        vec![subject("ServiceAccount", "app", Some(&ns))],
    );
    b.binding(
        &ns,
        "worker-config",
        "Role",
        "app-config",
        vec![subject("ServiceAccount", "worker", Some(&ns))],
    );
    b.binding(
        &ns,
        "deployer",
        "ClusterRole",
        "edit",
        vec![subject("ServiceAccount", "deployer", Some(&ns))],
    );
    // The same causes repeated in every namespace: the CI deployer and the on-call group.
    b.binding(
        &ns,
        "ci-deployer",
        "ClusterRole",
        "admin",
        vec![subject("ServiceAccount", "deployer", Some("ci-system"))],
    );
    b.binding(
        &ns,
        "oncall",
        "ClusterRole",
        "edit",
        vec![subject("Group", "sre-oncall", None)],
    );
    b.binding(
        &ns,
        "monitoring",
        "ClusterRole",
        "view",
        vec![subject("ServiceAccount", "prometheus", Some("monitoring"))],
    );
    let dev = format!("dev-{}@example.com", rng.below(teams * 8));
    b.binding(
        &ns,
        "developer",
        "ClusterRole",
        "edit",
        vec![subject("User", &dev, None)],
    );
    b.workload(
        &ns,
        "app",
        "app",
        &format!("registry.example.com/{team}/app:1.{}", rng.below(20)),
        json!({}),
    );
}

/// A sub-processor: its namespace, agent, ClusterRole and binding, sometimes a webhook or an
/// APIService, and (for most) its inventory entry.
fn vendor(b: &mut Builder, v: usize, rng: &mut Rng) {
    let id = format!("vendor-{v:03}");
    let profile = if v % 20 == 7 {
        Profile::Backup
    } else {
        PROFILES[v % PROFILES.len()]
    };
    let helm = json!({"app.kubernetes.io/managed-by": "Helm", "helm.sh/chart": format!("{id}-agent-1.{}.0", v % 9), "app.kubernetes.io/name": format!("{id}-agent")});
    b.namespace(&id, json!({}));
    b.service_account(&id, "default");
    b.service_account(&id, "agent");
    b.workload(
        &id,
        "agent",
        "agent",
        &format!("registry.{id}.example.net/agent:2.{}", rng.below(9)),
        helm,
    );
    let mut rules = profile.rules();
    // Five vendors hold more than their entries declare.
    let exceeds = v % 20 == 3;
    if exceeds {
        rules.push(rule(&[""], &["secrets"], &["get", "list", "watch"]));
    }
    b.cluster_role(&format!("{id}-agent"), json!({}), rules);
    b.cluster_binding(
        &format!("{id}-agent"),
        &format!("{id}-agent"),
        vec![subject("ServiceAccount", "agent", Some(&id))],
    );
    if matches!(profile, Profile::Security) {
        b.webhooks.push(json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
            "metadata": meta(&format!("{id}-webhook"), None, json!({})),
            "webhooks": [{"name": format!("validate.{id}.example.net"), "clientConfig": {"service": {"namespace": id, "name": "webhook"}},
                          "rules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["pods"]}],
                          "failurePolicy": "Ignore", "sideEffects": "None", "admissionReviewVersions": ["v1"]}]}));
    }
    if v % 25 == 1 {
        b.api_services.push(json!({"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
            "metadata": meta(&format!("v1beta1.{id}.example.net"), None, json!({})),
            "spec": {"group": format!("{id}.example.net"), "version": "v1beta1", "service": {"namespace": id, "name": "api"},
                     "groupPriorityMinimum": 100, "versionPriority": 100}}));
    }
    // Ten vendors nobody registered.
    if v % 10 == 9 {
        b.plant(
            RuleId::Sub001,
            &format!("ServiceAccount:{id}/agent"),
            "a vendor agent with cluster-wide access is in no inventory entry",
        );
        return;
    }
    if exceeds {
        b.plant(
            RuleId::Sub003,
            &id,
            "the agent reads Secrets beyond its declared access",
        );
    }
    b.inventory.push(format!(
        "- id: {id}\n  name: Vendor {v:03} agent\n  vendor: Vendor {v:03} Ltd.\n  owner: platform@example.com\n  purpose: agent\n  contract: {{dpaSigned: 2025-06-01, renewal: 2027-06-01}}\n  certifications: [{{type: iso27001, expires: 2028-01-31}}]\n  lastReviewed: 2026-06-01\n  reviewIntervalDays: 365\n  identities: {{namespaces: [{id}]}}\n  declaredAccess: {{level: {}}}\n",
        profile.declared()
    ));
}

/// Risks a scale test expects the analysis to find, whatever the size.
fn planted_risks(b: &mut Builder, n: usize) {
    for u in 0..3 {
        let user = format!("breakglass-{u}@example.com");
        b.cluster_binding(
            &format!("breakglass-{u}"),
            "cluster-admin",
            vec![subject("User", &user, None)],
        );
        b.plant(
            RuleId::Rbac001,
            &format!("User:{user}"),
            "a person bound to cluster-admin",
        );
    }
    b.cluster_role(
        "impersonator",
        json!({}),
        vec![rule(&[""], &["groups", "users"], &["impersonate"])],
    );
    b.cluster_binding(
        "support-impersonation",
        "impersonator",
        vec![subject("User", "support-lead@example.com", None)],
    );
    b.plant(
        RuleId::Rbac026,
        "User:support-lead@example.com",
        "impersonating system:masters reaches cluster-admin in one step",
    );
    b.cluster_role(
        "public-read",
        json!({}),
        vec![rule(&[""], &["configmaps"], &["get", "list"])],
    );
    b.cluster_binding(
        "anonymous-read",
        "public-read",
        vec![subject("User", "system:anonymous", None)],
    );
    b.plant(RuleId::Rbac018, "User:system:anonymous", "anonymous access");
    b.cluster_role(
        "secret-reader",
        json!({}),
        vec![rule(&[""], &["secrets"], &["get", "list", "watch"])],
    );
    b.cluster_binding(
        "everyone-reads-secrets",
        "secret-reader",
        vec![subject("Group", "system:authenticated", None)],
    );
    b.plant(
        RuleId::Rbac019,
        "Group:system:authenticated",
        "every authenticated user reads every Secret",
    );
    b.cluster_role(
        "leaky-view",
        json!({format!("{RBAC}/aggregate-to-view"): "true"}),
        vec![rule(&[""], &["secrets"], &["get", "list"])],
    );
    b.plant(
        RuleId::Rbac025,
        "ClusterRole leaky-view",
        "adds Secrets to view, and so to every viewer",
    );
    // A ServiceAccount with cluster-admin running in a namespace whose team may create pods.
    let target = namespace_name(n / 2);
    b.service_account(&target, "ops-admin");
    b.cluster_binding(
        "ops-admin",
        "cluster-admin",
        vec![subject("ServiceAccount", "ops-admin", Some(&target))],
    );
    b.plant(
        RuleId::Rbac001,
        &format!("ServiceAccount:{target}/ops-admin"),
        "a workload identity with cluster-admin",
    );
    b.plant(
        RuleId::Rbac026,
        "Group:sre-oncall",
        "may create pods where a cluster-admin ServiceAccount lives",
    );
    // Stale bindings: to a role and to a ServiceAccount that do not exist.
    for k in 0..5 {
        let ns = namespace_name(k * 7 % n);
        b.binding(
            &ns,
            "legacy-tooling",
            "ClusterRole",
            "legacy-tooling",
            vec![subject("Group", "legacy", None)],
        );
        b.binding(
            &ns,
            "old-ci",
            "ClusterRole",
            "view",
            vec![subject("ServiceAccount", "jenkins", Some("ci-system"))],
        );
    }
    b.plant(
        RuleId::Rbac022,
        "ClusterRole legacy-tooling",
        "bindings to a ClusterRole that does not exist",
    );
    b.plant(
        RuleId::Rbac023,
        "ServiceAccount:ci-system/jenkins",
        "bindings to a ServiceAccount that does not exist",
    );
    // Default ServiceAccounts given edit in twenty namespaces.
    for k in 0..20.min(n) {
        let ns = namespace_name((k * 13 + 5) % n);
        b.binding(
            &ns,
            "default-edit",
            "ClusterRole",
            "edit",
            vec![subject("ServiceAccount", "default", Some(&ns))],
        );
    }
    b.plant(
        RuleId::Rbac021,
        "ClusterRole edit",
        "default ServiceAccounts bound to edit in twenty namespaces",
    );
}

/// Writes the cluster under `dir`: the dump files in `dir/cluster`, `dir/inventory.yaml`, and
/// `dir/planted.json`.
pub fn write(generated: &Generated, dir: &std::path::Path) -> std::io::Result<()> {
    let cluster = dir.join("cluster");
    std::fs::create_dir_all(&cluster)?;
    for (name, value) in &generated.files {
        let mut bytes = serde_json::to_vec(value).map_err(std::io::Error::other)?;
        bytes.push(b'\n');
        std::fs::write(cluster.join(name), bytes)?;
    }
    std::fs::write(dir.join("inventory.yaml"), &generated.inventory)?;
    let planted: BTreeMap<usize, &Planted> = generated.planted.iter().enumerate().collect();
    std::fs::write(
        dir.join("planted.json"),
        serde_json::to_vec_pretty(&planted.values().collect::<Vec<_>>())
            .map_err(std::io::Error::other)?,
    )
}
