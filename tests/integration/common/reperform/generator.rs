//! Random small clusters full of escalation moves, mixed with noise, for re-performance on a
//! real API server: seeded, with knobs for what the shape depends on. Every name carries the
//! cluster's tag, so clusters loaded one after another never share an object.

use serde_json::{Value, json};

/// A small deterministic generator (xorshift64*), so a seed gives the same cluster everywhere.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next() % 10_000) as f64 / 10_000.0 < p
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    /// Between `lo` and `hi` items of `items`, distinct.
    pub fn some<T: Clone>(&mut self, items: &[T], lo: usize, hi: usize) -> Vec<T> {
        let n = lo + self.below(hi - lo + 1);
        let mut idx: Vec<usize> = (0..items.len()).collect();
        for i in (1..idx.len()).rev() {
            let j = self.below(i + 1);
            idx.swap(i, j);
        }
        idx.into_iter().take(n).map(|i| items[i].clone()).collect()
    }
}

/// What a generated cluster's shape depends on.
#[derive(Debug, Clone)]
pub struct Knobs {
    pub namespaces: usize,
    pub service_accounts_per_namespace: usize,
    pub users: usize,
    pub groups: usize,
    pub cluster_roles: usize,
    pub roles_per_namespace: usize,
    pub cluster_bindings: usize,
    pub bindings_per_namespace: usize,
    /// Share of rules that are escalation moves (the rest is noise).
    pub moves: f64,
    /// Share of rules limited by resourceNames.
    pub named: f64,
    /// Share of ClusterRoles aggregated from, or labelled into, another.
    pub aggregation: f64,
    /// Chance that a namespace holds a cluster-admin ServiceAccount.
    pub admin_service_account: f64,
    /// Include the standard ClusterRoles bindings name (cluster-admin, admin, edit, view), as
    /// a dump of a real cluster would hold them (a real API server has its own).
    pub standard_roles: bool,
}

impl Default for Knobs {
    fn default() -> Knobs {
        Knobs {
            namespaces: 2,
            service_accounts_per_namespace: 2,
            users: 3,
            groups: 2,
            cluster_roles: 4,
            roles_per_namespace: 1,
            cluster_bindings: 3,
            bindings_per_namespace: 2,
            moves: 0.7,
            named: 0.35,
            aggregation: 0.25,
            admin_service_account: 0.5,
            standard_roles: false,
        }
    }
}

impl Knobs {
    /// A shape picked by the seed, so a run of seeds covers small and wider clusters, rules
    /// mostly named or mostly not, and more or less aggregation and cluster-admin identities.
    pub fn for_seed(seed: u64) -> Knobs {
        let base = Knobs::default();
        match seed % 3 {
            0 => base,
            1 => Knobs {
                namespaces: 3,
                service_accounts_per_namespace: 3,
                users: 4,
                groups: 3,
                cluster_roles: 6,
                roles_per_namespace: 2,
                cluster_bindings: 4,
                bindings_per_namespace: 3,
                moves: 0.8,
                named: 0.5,
                aggregation: 0.4,
                admin_service_account: 0.3,
                ..base
            },
            _ => Knobs {
                namespaces: 1,
                service_accounts_per_namespace: 3,
                users: 2,
                groups: 1,
                cluster_roles: 3,
                roles_per_namespace: 2,
                cluster_bindings: 2,
                bindings_per_namespace: 3,
                moves: 0.9,
                named: 0.2,
                aggregation: 0.1,
                admin_service_account: 0.8,
                ..base
            },
        }
    }
}

/// A generated cluster: its objects, and what the re-performance needs to know of it.
#[derive(Debug, Clone)]
pub struct Generated {
    pub seed: u64,
    pub tag: String,
    pub objects: Vec<Value>,
    pub namespaces: Vec<String>,
    /// (namespace, name)
    pub service_accounts: Vec<(String, String)>,
    pub users: Vec<String>,
    pub groups: Vec<String>,
    /// (namespace or None, name) of every Role and ClusterRole generated.
    pub roles: Vec<(Option<String>, String)>,
    /// (namespace, pod, ServiceAccount) of running pods.
    pub running_pods: Vec<(String, String, String)>,
    /// (resource, namespace, name) of workload controllers whose template can change.
    pub workloads: Vec<(String, String, String)>,
    /// (namespace, Secret, ServiceAccount) of legacy token Secrets.
    pub token_secrets: Vec<(String, String, String)>,
    pub node: String,
}

const RBAC: &str = "rbac.authorization.k8s.io";
const CERTS: &str = "certificates.k8s.io";

fn r(verbs: &[&str], groups: &[&str], resources: &[&str], names: &[String]) -> Value {
    let mut v = json!({"verbs": verbs, "apiGroups": groups, "resources": resources});
    if !names.is_empty() {
        v["resourceNames"] = json!(names);
    }
    v
}

impl Generated {
    fn sa_names(&self, ns: &str) -> Vec<String> {
        self.service_accounts
            .iter()
            .filter(|(n, _)| n == ns)
            .map(|(_, s)| s.clone())
            .collect()
    }
}

/// One rule: an escalation move (with names drawn from what exists, or not) or noise.
fn rule(g: &Generated, rng: &mut Rng, k: &Knobs, cluster_role: bool) -> Value {
    if !rng.chance(k.moves) {
        return match rng.below(4) {
            0 => r(
                &["get", "list", "watch"],
                &[""],
                &["configmaps", "services"],
                &[],
            ),
            1 => r(&["get", "list"], &["apps"], &["deployments"], &[]),
            2 => r(&["create", "delete"], &[""], &["configmaps"], &[]),
            _ if cluster_role => {
                json!({"verbs": ["get"], "nonResourceURLs": ["/healthz", "/version"]})
            }
            _ => r(&["get"], &[""], &["pods", "pods/log"], &[]),
        };
    }
    let named = rng.chance(k.named);
    // Drawn up front, so the choice below does not depend on whether names were asked for.
    let draw = rng.next();
    let names = |pool: Vec<String>| -> Vec<String> {
        if named && !pool.is_empty() {
            Rng::new(draw).some(&pool, 1, 2)
        } else {
            Vec::new()
        }
    };
    let sas: Vec<String> = g.service_accounts.iter().map(|(_, s)| s.clone()).collect();
    let role_names: Vec<String> = g
        .roles
        .iter()
        .map(|(_, n)| n.clone())
        .chain(["cluster-admin", "admin", "edit"].map(String::from))
        .collect();
    let mut users = g.users.clone();
    users.push(format!("{}-nobody", g.tag));
    let mut groups = g.groups.clone();
    groups.push("system:masters".into());
    let pods: Vec<String> = g.running_pods.iter().map(|(_, p, _)| p.clone()).collect();
    let workloads: Vec<String> = g.workloads.iter().map(|(_, _, n)| n.clone()).collect();
    let secrets: Vec<String> = g.token_secrets.iter().map(|(_, s, _)| s.clone()).collect();
    let choice = rng.below(22);
    match choice {
        0 => r(&["*"], &["*"], &["*"], &[]),
        1 => r(&["create"], &[""], &["pods"], &[]),
        2 => {
            let (grp, res) = *rng.pick(&[
                ("apps", "deployments"),
                ("apps", "daemonsets"),
                ("apps", "statefulsets"),
                ("apps", "replicasets"),
                ("batch", "jobs"),
                ("batch", "cronjobs"),
                ("", "replicationcontrollers"),
            ]);
            r(&["create"], &[grp], &[res], &[])
        }
        3 => {
            let verb = *rng.pick(&["update", "patch"]);
            let (grp, res) = *rng.pick(&[
                ("apps", "deployments"),
                ("batch", "cronjobs"),
                ("batch", "jobs"),
            ]);
            r(&[verb], &[grp], &[res], &names(workloads))
        }
        4 => r(&["create"], &[""], &["serviceaccounts/token"], &names(sas)),
        5 => {
            let verb = *rng.pick(&["get", "list", "watch"]);
            r(&[verb], &[""], &["secrets"], &names(secrets))
        }
        6 => {
            let verb = *rng.pick(&["create", "get"]);
            r(&[verb], &[""], &["pods/exec"], &names(pods))
        }
        7 => r(
            &["patch"],
            &[""],
            &["pods/ephemeralcontainers"],
            &names(pods),
        ),
        8 if cluster_role => r(
            &[*rng.pick(&["get", "create"])],
            &[""],
            &["nodes/proxy"],
            &[],
        ),
        9 => r(&["impersonate"], &[""], &["users"], &names(users)),
        10 => r(&["impersonate"], &[""], &["groups"], &names(groups)),
        11 => r(&["impersonate"], &[""], &["serviceaccounts"], &names(sas)),
        12 => {
            let res = *rng.pick(&["roles", "clusterroles"]);
            r(&["bind"], &[RBAC], &[res], &names(role_names))
        }
        13 => {
            let res = *rng.pick(&["roles", "clusterroles"]);
            r(&["escalate"], &[RBAC], &[res], &names(role_names))
        }
        14 => {
            let verb = *rng.pick(&["create", "update", "patch"]);
            let res = *rng.pick(&["roles", "clusterroles"]);
            r(&[verb], &[RBAC], &[res], &names(role_names))
        }
        15 => {
            let verb = *rng.pick(&["create", "update", "patch"]);
            let res = *rng.pick(&["rolebindings", "clusterrolebindings"]);
            r(&[verb], &[RBAC], &[res], &[])
        }
        16 => r(&["create"], &[CERTS], &["certificatesigningrequests"], &[]),
        17 => r(
            &["update"],
            &[CERTS],
            &["certificatesigningrequests/approval"],
            &[],
        ),
        18 => {
            let signer = *rng.pick(&[
                "kubernetes.io/kube-apiserver-client",
                "kubernetes.io/*",
                "example.com/signer",
            ]);
            r(&["approve"], &[CERTS], &["signers"], &[signer.to_string()])
        }
        19 => r(&["*"], &[RBAC], &["*"], &[]),
        20 => r(
            &["escalate", "bind", "update", "create"],
            &[RBAC],
            &["roles", "rolebindings"],
            &[],
        ),
        _ => r(&["get", "list"], &[""], &["secrets", "configmaps"], &[]),
    }
}

fn meta(name: &str, ns: Option<&str>) -> Value {
    match ns {
        Some(n) => json!({"name": name, "namespace": n}),
        None => json!({"name": name}),
    }
}

fn subject(g: &Generated, rng: &mut Rng, ns: Option<&str>) -> Value {
    match rng.below(5) {
        0 | 1 => {
            let (sns, sa) = rng.pick(&g.service_accounts).clone();
            json!({"kind": "ServiceAccount", "name": sa, "namespace": sns})
        }
        2 => json!({"kind": "Group", "apiGroup": RBAC, "name": rng.pick(&g.groups)}),
        3 if ns.is_some() && rng.chance(0.3) => json!({
            "kind": "Group", "apiGroup": RBAC,
            "name": format!("system:serviceaccounts:{}", ns.unwrap())
        }),
        _ => json!({"kind": "User", "apiGroup": RBAC, "name": rng.pick(&g.users)}),
    }
}

/// A cluster from `seed`: names prefixed with `tag`.
pub fn generate(seed: u64, tag: &str, k: &Knobs) -> Generated {
    let mut rng = Rng::new(seed);
    let mut g = Generated {
        seed,
        tag: tag.into(),
        objects: Vec::new(),
        namespaces: (0..k.namespaces).map(|i| format!("{tag}-n{i}")).collect(),
        service_accounts: Vec::new(),
        users: (0..k.users).map(|i| format!("{tag}-u{i}")).collect(),
        groups: (0..k.groups).map(|i| format!("{tag}-g{i}")).collect(),
        roles: Vec::new(),
        running_pods: Vec::new(),
        workloads: Vec::new(),
        token_secrets: Vec::new(),
        node: format!("{tag}-node"),
    };
    for ns in g.namespaces.clone() {
        g.objects
            .push(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": meta(&ns, None)}));
        for i in 0..k.service_accounts_per_namespace {
            g.service_accounts.push((ns.clone(), format!("s{i}")));
        }
    }
    for (ns, sa) in g.service_accounts.clone() {
        g.objects.push(
            json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(&sa, Some(&ns))}),
        );
    }
    // Workloads: a running pod per namespace, some controllers, some legacy token Secrets.
    for ns in g.namespaces.clone() {
        let sas = g.sa_names(&ns);
        let sa = rng.pick(&sas).clone();
        let pod = format!("p-{sa}");
        g.objects.push(json!({
            "apiVersion": "v1", "kind": "Pod", "metadata": meta(&pod, Some(&ns)),
            "spec": {"serviceAccountName": sa, "nodeName": g.node,
                     "containers": [{"name": "c", "image": "registry.invalid/app:1"}]},
            "status": {"phase": "Running", "containerStatuses": [{
                "name": "c", "image": "registry.invalid/app:1", "imageID": "", "ready": true,
                "state": {"running": {"startedAt": "2026-12-01T00:00:00Z"}}}]}
        }));
        g.running_pods.push((ns.clone(), pod, sa.clone()));
        if rng.chance(0.6) {
            let sa = rng.pick(&sas).clone();
            let template = json!({"metadata": {"labels": {"app": "w"}},
                "spec": {"serviceAccountName": sa, "containers": [{"name": "c", "image": "registry.invalid/app:1"}]}});
            if rng.chance(0.5) {
                g.objects.push(json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta("w", Some(&ns)),
                    "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "w"}}, "template": template}}));
                g.workloads
                    .push(("deployments".into(), ns.clone(), "w".into()));
            } else {
                let mut t = template.clone();
                t["spec"]["restartPolicy"] = json!("Never");
                g.objects.push(json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": meta("w", Some(&ns)),
                    "spec": {"schedule": "0 0 1 1 *", "suspend": true, "jobTemplate": {"spec": {"template": t}}}}));
                g.workloads
                    .push(("cronjobs".into(), ns.clone(), "w".into()));
            }
        }
        if rng.chance(0.5) {
            let sa = rng.pick(&sas).clone();
            let name = format!("{sa}-token");
            g.objects.push(json!({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
                "metadata": {"name": name, "namespace": ns, "annotations": {"kubernetes.io/service-account.name": sa}}}));
            g.token_secrets.push((ns.clone(), name, sa));
        }
    }
    // Role names first, so rules can name them.
    for i in 0..k.cluster_roles {
        g.roles.push((None, format!("{tag}-cr{i}")));
    }
    for ns in g.namespaces.clone() {
        for i in 0..k.roles_per_namespace {
            g.roles.push((Some(ns.clone()), format!("{tag}-r{i}")));
        }
    }
    let agg_label = format!("{tag}.example/aggregate");
    let mut aggregated_any = false;
    for i in 0..k.cluster_roles {
        let name = format!("{tag}-cr{i}");
        let n = 1 + rng.below(2);
        let rules: Vec<Value> = (0..n).map(|_| rule(&g, &mut rng, k, true)).collect();
        let mut obj = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": meta(&name, None), "rules": rules});
        if rng.chance(k.aggregation) {
            if !aggregated_any && rng.chance(0.5) {
                obj["aggregationRule"] =
                    json!({"clusterRoleSelectors": [{"matchLabels": {agg_label.clone(): "true"}}]});
                obj["rules"] = json!([]);
                aggregated_any = true;
            } else {
                obj["metadata"]["labels"] = json!({agg_label.clone(): "true"});
            }
        }
        g.objects.push(obj);
    }
    for ns in g.namespaces.clone() {
        for i in 0..k.roles_per_namespace {
            let n = 1 + rng.below(2);
            let rules: Vec<Value> = (0..n).map(|_| rule(&g, &mut rng, k, false)).collect();
            g.objects.push(
                json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                "metadata": meta(&format!("{tag}-r{i}"), Some(&ns)), "rules": rules}),
            );
        }
    }
    // Bindings: generated roles and the standard ones, to users, groups and ServiceAccounts.
    let cluster_roles: Vec<String> = g
        .roles
        .iter()
        .filter(|(ns, _)| ns.is_none())
        .map(|(_, n)| n.clone())
        .chain(["admin", "edit", "view"].map(String::from))
        .collect();
    for i in 0..k.cluster_bindings {
        let role = if rng.chance(0.15) {
            "cluster-admin".to_string()
        } else {
            rng.pick(&cluster_roles).clone()
        };
        let n = 1 + rng.below(2);
        let subjects: Vec<Value> = (0..n).map(|_| subject(&g, &mut rng, None)).collect();
        g.objects.push(
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": meta(&format!("{tag}-crb{i}"), None),
            "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": role},
            "subjects": subjects}),
        );
    }
    for (j, ns) in g.namespaces.clone().into_iter().enumerate() {
        if rng.chance(k.admin_service_account) {
            let sas = g.sa_names(&ns);
            let sa = rng.pick(&sas).clone();
            g.objects.push(
                json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                "metadata": meta(&format!("{tag}-admin{j}"), None),
                "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": "cluster-admin"},
                "subjects": [{"kind": "ServiceAccount", "name": sa, "namespace": ns}]}),
            );
        }
        for i in 0..k.bindings_per_namespace {
            let (kind, role) = if rng.chance(0.5) {
                (
                    "Role",
                    format!("{tag}-r{}", rng.below(k.roles_per_namespace.max(1))),
                )
            } else {
                ("ClusterRole", rng.pick(&cluster_roles).clone())
            };
            let n = 1 + rng.below(2);
            let subjects: Vec<Value> = (0..n).map(|_| subject(&g, &mut rng, Some(&ns))).collect();
            g.objects.push(
                json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                "metadata": meta(&format!("{tag}-rb{i}"), Some(&ns)),
                "roleRef": {"apiGroup": RBAC, "kind": kind, "name": role},
                "subjects": subjects}),
            );
        }
    }
    if k.standard_roles {
        g.objects.extend(standard_roles());
    }
    g
}

/// The standard ClusterRoles, reduced to what matters to escalation: cluster-admin holds
/// everything; admin and edit run pods and workloads, mint tokens, read Secrets and impersonate
/// ServiceAccounts in their namespace (admin also writes Roles and RoleBindings); view reads.
fn standard_roles() -> Vec<Value> {
    let cr = |name: &str, rules: Value| {
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
               "metadata": {"name": name}, "rules": rules})
    };
    let edit = json!([
        {"verbs": ["create", "delete", "patch", "update"], "apiGroups": [""], "resources": ["pods", "pods/exec", "secrets", "serviceaccounts"]},
        {"verbs": ["get", "list", "watch"], "apiGroups": [""], "resources": ["pods", "secrets", "configmaps"]},
        {"verbs": ["impersonate"], "apiGroups": [""], "resources": ["serviceaccounts"]},
        {"verbs": ["create"], "apiGroups": [""], "resources": ["serviceaccounts/token"]},
        {"verbs": ["create", "delete", "patch", "update"], "apiGroups": ["apps"], "resources": ["deployments", "daemonsets", "statefulsets", "replicasets"]},
        {"verbs": ["create", "delete", "patch", "update"], "apiGroups": ["batch"], "resources": ["jobs", "cronjobs"]}
    ]);
    let mut admin = edit.clone();
    admin.as_array_mut().unwrap().push(
        json!({"verbs": ["create", "delete", "get", "list", "patch", "update", "watch"],
        "apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles", "rolebindings"]}),
    );
    vec![
        cr(
            "cluster-admin",
            json!([{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}, {"verbs": ["*"], "nonResourceURLs": ["*"]}]),
        ),
        cr("admin", admin),
        cr("edit", edit),
        cr(
            "view",
            json!([{"verbs": ["get", "list", "watch"], "apiGroups": ["", "apps", "batch"], "resources": ["pods", "configmaps", "deployments", "jobs"]}]),
        ),
    ]
}

impl Generated {
    /// What the re-performance needs to know of a hand-written cluster, read off its objects.
    pub fn from_objects(tag: &str, objects: Vec<Value>) -> Generated {
        let mut g = Generated {
            seed: 0,
            tag: tag.into(),
            objects: Vec::new(),
            namespaces: Vec::new(),
            service_accounts: Vec::new(),
            users: Vec::new(),
            groups: Vec::new(),
            roles: Vec::new(),
            running_pods: Vec::new(),
            workloads: Vec::new(),
            token_secrets: Vec::new(),
            node: format!("{tag}-node"),
        };
        let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
        for o in &objects {
            let name = s(&o["metadata"]["name"]);
            let ns = s(&o["metadata"]["namespace"]);
            match o["kind"].as_str().unwrap_or_default() {
                "Namespace" => g.namespaces.push(name),
                "ServiceAccount" => g.service_accounts.push((ns, name)),
                "Pod" if o["status"]["phase"] == "Running" => {
                    g.running_pods
                        .push((ns, name, s(&o["spec"]["serviceAccountName"])))
                }
                "Deployment"
                | "DaemonSet"
                | "StatefulSet"
                | "ReplicaSet"
                | "CronJob"
                | "ReplicationController"
                | "Job" => {
                    let resource = format!("{}s", o["kind"].as_str().unwrap().to_lowercase());
                    g.workloads.push((resource, ns, name));
                }
                "Secret" if o["type"] == "kubernetes.io/service-account-token" => {
                    let sa = s(&o["metadata"]["annotations"]["kubernetes.io/service-account.name"]);
                    g.token_secrets.push((ns, name, sa));
                }
                "Role" => g.roles.push((Some(ns), name)),
                "ClusterRole" => g.roles.push((None, name)),
                "RoleBinding" | "ClusterRoleBinding" => {
                    for sub in o["subjects"].as_array().into_iter().flatten() {
                        let n = s(&sub["name"]);
                        match sub["kind"].as_str() {
                            Some("User") if !g.users.contains(&n) => g.users.push(n),
                            Some("Group") if !g.groups.contains(&n) => g.groups.push(n),
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
        g.objects = objects;
        g
    }
}
