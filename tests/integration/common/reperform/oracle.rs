//! A bounded search for a way to cluster-admin that performs every move for real on the test
//! API server, written without the engine: what the cluster holds is read from the API server,
//! each move is tried as the identity that holds it (dry-run where that is enough to know, for
//! real where the next move depends on it), and the API server decides. It starts from one
//! identity and keeps every identity it obtains (tokens, pods' tokens, impersonation,
//! certificates), and the bindings and roles it writes; it ends when nothing new is obtained,
//! or when one identity is cluster-admin.

use super::actor::{Actor, Plane, Who};
use super::exec::{
    Trail, exec_in, merge, rbac_path, retarget_patch, token_actor, workload_collection,
    workload_object,
};
use super::generator::Generated;
use base64::Engine;
use kube_evidence::rbac::reach::ExecVia;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap};

const JSON: &str = "application/json";
const MERGE: &str = "application/merge-patch+json";
const RBAC: &str = "rbac.authorization.k8s.io";
const WORKLOADS: &[&str] = &[
    "pods",
    "deployments",
    "daemonsets",
    "statefulsets",
    "replicasets",
    "jobs",
    "cronjobs",
    "replicationcontrollers",
];

/// What the search knows of the cluster: read from the API server (bindings' subjects, roles,
/// aggregation rules) and the generated objects it loaded.
pub struct World {
    pub g: Generated,
    /// Usernames to impersonate or name in a certificate: User subjects of every binding, the
    /// generated users and one bound nowhere.
    users: Vec<String>,
    /// ServiceAccounts named by any binding or existing: (namespace, name).
    service_accounts: Vec<(String, String)>,
    /// Group subjects of every binding, and system:masters.
    groups: Vec<String>,
    /// ClusterRoles to bind or rewrite: the generated ones and the standard ones.
    cluster_roles: Vec<String>,
    /// Labels that aggregate a ClusterRole into another (each aggregation selector).
    aggregation_labels: Vec<BTreeMap<String, String>>,
    /// Bindings: (namespace, name) of the generated ones.
    bindings: Vec<(Option<String>, String)>,
}

impl World {
    pub async fn read(plane: &Plane, g: &Generated) -> World {
        let list = |path: &'static str| async move {
            plane
                .admin_call("GET", path, None, JSON)
                .await
                .map(|v| v["items"].as_array().cloned().unwrap_or_default())
                .unwrap_or_default()
        };
        let crbs = list("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings").await;
        let rbs = list("/apis/rbac.authorization.k8s.io/v1/rolebindings").await;
        let crs = list("/apis/rbac.authorization.k8s.io/v1/clusterroles").await;
        let mut users: BTreeSet<String> = g.users.iter().cloned().collect();
        users.insert(format!("{}-fresh", g.tag));
        let mut groups: BTreeSet<String> = ["system:masters".to_string()].into();
        let mut sas: BTreeSet<(String, String)> = g.service_accounts.iter().cloned().collect();
        for b in crbs.iter().chain(rbs.iter()) {
            let bns = b["metadata"]["namespace"].as_str();
            for s in b["subjects"].as_array().into_iter().flatten() {
                let name = s["name"].as_str().unwrap_or_default().to_string();
                match s["kind"].as_str() {
                    Some("User") => match name.strip_prefix("system:serviceaccount:") {
                        Some(rest) => {
                            if let Some((ns, n)) = rest.split_once(':') {
                                sas.insert((ns.into(), n.into()));
                            }
                        }
                        None => {
                            users.insert(name);
                        }
                    },
                    Some("Group") => {
                        groups.insert(name);
                    }
                    Some("ServiceAccount") => {
                        let ns = s["namespace"].as_str().or(bns).unwrap_or_default();
                        sas.insert((ns.into(), name));
                    }
                    _ => {}
                }
            }
        }
        let mut aggregation_labels = Vec::new();
        for cr in &crs {
            for sel in cr["aggregationRule"]["clusterRoleSelectors"]
                .as_array()
                .into_iter()
                .flatten()
            {
                if let Some(m) = sel["matchLabels"].as_object() {
                    let labels: BTreeMap<String, String> = m
                        .iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                        .collect();
                    if !aggregation_labels.contains(&labels) {
                        aggregation_labels.push(labels);
                    }
                }
            }
        }
        let mut cluster_roles: Vec<String> = g
            .roles
            .iter()
            .filter(|(ns, _)| ns.is_none())
            .map(|(_, n)| n.clone())
            .collect();
        cluster_roles.extend(["cluster-admin", "admin", "edit", "view"].map(String::from));
        let bindings = g
            .objects
            .iter()
            .filter(|o| {
                matches!(
                    o["kind"].as_str(),
                    Some("RoleBinding" | "ClusterRoleBinding")
                )
            })
            .map(|o| {
                (
                    o["metadata"]["namespace"].as_str().map(String::from),
                    o["metadata"]["name"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        World {
            g: g.clone(),
            users: users.into_iter().collect(),
            service_accounts: sas.into_iter().collect(),
            groups: groups.into_iter().collect(),
            cluster_roles,
            aggregation_labels,
            bindings,
        }
    }
}

/// What a search found: cluster-admin with the moves that led there, or nothing.
#[derive(Debug)]
pub struct Outcome {
    pub admin: Option<Vec<String>>,
    /// Identities obtained (the start included).
    pub identities: usize,
    /// Requests made.
    pub requests: usize,
    /// Times the search wrote to the cluster and waited for the authorizer to see it.
    pub writes: usize,
}

struct Held {
    actor: Actor,
    who: Who,
    /// How it was obtained: index of the identity it came from, and the move.
    from: Option<(usize, String)>,
}

/// Results of moves that change nothing, per identity, valid while the cluster is as loaded.
#[derive(Default)]
pub struct Memo {
    obtained: HashMap<Who, Vec<(String, Actor)>>,
}

struct Search<'a> {
    plane: &'a Plane,
    world: &'a World,
    held: Vec<Held>,
    requests: usize,
    /// Mutations performed (so each is tried once).
    done: BTreeSet<String>,
    trail: Trail,
    mutated: bool,
    writes: usize,
    /// What was written, by whom (shown with a way found).
    log: Vec<String>,
    /// The rules the API server lists for an identity in a namespace (SelfSubjectRulesReview;
    /// `None` when it says its list is incomplete), valid until the search writes something.
    rules: HashMap<(Actor, String), Option<Vec<Value>>>,
}

/// Searches from `start` (whose identity is `label`) and puts the cluster back afterwards.
pub async fn search(plane: &Plane, world: &World, start: Actor, memo: &mut Memo) -> Outcome {
    let who = plane
        .who(&start)
        .await
        .expect("the start identity authenticates");
    let mut s = Search {
        plane,
        world,
        held: vec![Held {
            actor: start,
            who,
            from: None,
        }],
        requests: 1,
        done: BTreeSet::new(),
        trail: Trail::default(),
        mutated: false,
        writes: 0,
        log: Vec::new(),
        rules: HashMap::new(),
    };
    let admin = s.run(memo).await;
    let identities = s.held.len();
    let requests = s.requests;
    let writes = s.writes;
    s.trail.undo(plane).await;
    Outcome {
        admin,
        identities,
        requests,
        writes,
    }
}

impl Search<'_> {
    async fn run(&mut self, memo: &mut Memo) -> Option<Vec<String>> {
        let mut expanded = 0;
        {
            while expanded < self.held.len() {
                let i = expanded;
                expanded += 1;
                self.requests += 1;
                if self.plane.is_admin(&self.held[i].actor).await {
                    let mut t: Vec<String> =
                        self.log.iter().map(|l| format!("(wrote) {l}")).collect();
                    t.extend(self.trace(i));
                    t.push(format!("{} is allowed * on *", self.held[i].who.username));
                    return Some(t);
                }
                let actor = self.held[i].actor.clone();
                let who = self.held[i].who.clone();
                let obtained = match (self.mutated, memo.obtained.get(&who)) {
                    (false, Some(known)) => known.clone(),
                    _ => {
                        let found = self.obtain(&actor, &who).await;
                        if !self.mutated {
                            memo.obtained.insert(who.clone(), found.clone());
                        }
                        found
                    }
                };
                for (how, next) in obtained {
                    self.add(i, how, next).await;
                }
                if self.mutate(i, &actor, &who).await {
                    // The cluster changed: every identity may do more now, once the API
                    // server's authorizer has seen the change (its caches follow a watch).
                    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                    self.mutated = true;
                    self.writes += 1;
                    self.rules.clear();
                    expanded = 0;
                }
            }
            None
        }
    }

    fn trace(&self, mut i: usize) -> Vec<String> {
        let mut steps = Vec::new();
        while let Some((from, how)) = &self.held[i].from {
            steps.push(format!("{} -> {how}", self.held[*from].who.username));
            i = *from;
        }
        steps.reverse();
        steps
    }

    async fn add(&mut self, from: usize, how: String, actor: Actor) {
        self.requests += 1;
        let Ok(who) = self.plane.who(&actor).await else {
            return;
        };
        if self.held.iter().any(|h| h.who == who) {
            return;
        }
        self.held.push(Held {
            actor,
            who,
            from: Some((from, how)),
        });
    }

    async fn can(
        &mut self,
        a: &Actor,
        verb: &str,
        what: (&str, &str, &str),
        ns: &str,
        name: &str,
    ) -> bool {
        if !self.might(a, &[verb], what, ns).await {
            return false;
        }
        self.requests += 1;
        self.plane.can(a, verb, what, ns, name).await
    }

    /// False only when no rule the API server lists for `a` in `ns` could allow any of `verbs`
    /// on `what` (group, resource, subresource), read loosely (names ignored, any subresource
    /// rule taken for the resource): then asking is skipped. A screen that can only let more
    /// through than RBAC does; the API server still decides everything it lets through.
    async fn might(
        &mut self,
        a: &Actor,
        verbs: &[&str],
        what: (&str, &str, &str),
        ns: &str,
    ) -> bool {
        // KUBE_EVIDENCE_REPERFORM_NO_SCREEN=1 asks about everything (to compare: the same
        // identities must be obtained either way).
        if std::env::var("KUBE_EVIDENCE_REPERFORM_NO_SCREEN").is_ok_and(|v| v == "1") {
            return true;
        }
        // Cluster-wide rules are listed in every namespace; a namespace's own add to them.
        let ns = if ns.is_empty() { "default" } else { ns };
        let key = (a.clone(), ns.to_string());
        if !self.rules.contains_key(&key) {
            self.requests += 1;
            let listed = self.plane.rules(a, ns).await;
            self.rules.insert(key.clone(), listed);
        }
        match &self.rules[&key] {
            None => true,
            Some(rules) => rules.iter().any(|r| loosely_allows(r, verbs, what)),
        }
    }

    async fn call(
        &mut self,
        a: &Actor,
        method: &str,
        path: &str,
        body: Option<&Value>,
        ct: &str,
    ) -> Result<Value, super::actor::Refused> {
        self.requests += 1;
        self.plane.call(a, method, path, body, ct).await
    }

    /// Identities `a` obtains without changing the cluster (dry-run creates and patches, tokens,
    /// Secrets, commands in pods, impersonation, client certificates).
    async fn obtain(&mut self, a: &Actor, who: &Who) -> Vec<(String, Actor)> {
        let mut out: Vec<(String, Actor)> = Vec::new();
        let g = &self.world.g;
        let plane = self.plane;
        // ServiceAccounts this identity was already found to run as: one way to each is enough
        // to know what it obtains (the search is after identities, not every way to them).
        let mut got: BTreeSet<(String, String)> = BTreeSet::new();
        // Pods and workload controllers run as any ServiceAccount of their namespace.
        for ns in g.namespaces.clone() {
            for res in WORKLOADS {
                let group = match *res {
                    "pods" | "replicationcontrollers" => "",
                    "jobs" | "cronjobs" => "batch",
                    _ => "apps",
                };
                let pending = g
                    .service_accounts
                    .iter()
                    .any(|(sns, sa)| *sns == ns && !got.contains(&(sns.clone(), sa.clone())));
                if !pending || !self.can(a, "create", (group, res, ""), &ns, "").await {
                    continue;
                }
                for (sns, sa) in g.service_accounts.clone() {
                    if sns != ns || got.contains(&(sns.clone(), sa.clone())) {
                        continue;
                    }
                    let obj = workload_object(res, &format!("probe-{res}"), &sa);
                    let path = format!("{}?dryRun=All", workload_collection(res, &ns));
                    if self.call(a, "POST", &path, Some(&obj), JSON).await.is_ok()
                        && let Ok(t) = plane.token_for(&ns, &sa).await
                    {
                        got.insert((ns.clone(), sa.clone()));
                        out.push((format!("create {res} in {ns} as {sa}"), t));
                    }
                }
            }
        }
        for (res, ns, name) in g.workloads.clone() {
            let group = if res == "cronjobs" { "batch" } else { "apps" };
            let patch = self.can(a, "patch", (group, &res, ""), &ns, &name).await;
            let update = self.can(a, "update", (group, &res, ""), &ns, &name).await;
            if !patch && !update {
                continue;
            }
            let path = format!("{}/{name}", workload_collection(&res, &ns));
            for (sns, sa) in g.service_accounts.clone() {
                if sns != ns || got.contains(&(sns.clone(), sa.clone())) {
                    continue;
                }
                let ok = if patch {
                    self.call(
                        a,
                        "PATCH",
                        &format!("{path}?dryRun=All"),
                        Some(&retarget_patch(&res, &sa)),
                        MERGE,
                    )
                    .await
                    .is_ok()
                } else {
                    let mut obj = plane.admin_call("GET", &path, None, JSON).await.unwrap();
                    let p = retarget_patch(&res, &sa);
                    merge(&mut obj, &p);
                    self.call(a, "PUT", &format!("{path}?dryRun=All"), Some(&obj), JSON)
                        .await
                        .is_ok()
                };
                if ok && let Ok(t) = plane.token_for(&ns, &sa).await {
                    got.insert((ns.clone(), sa.clone()));
                    out.push((format!("retarget {res} {ns}/{name} to {sa}"), t));
                }
            }
        }
        // TokenRequest.
        for (ns, sa) in g.service_accounts.clone() {
            if got.contains(&(ns.clone(), sa.clone()))
                || !self
                    .can(a, "create", ("", "serviceaccounts", "token"), &ns, &sa)
                    .await
            {
                continue;
            }
            let r = self
                .call(
                    a,
                    "POST",
                    &format!("/api/v1/namespaces/{ns}/serviceaccounts/{sa}/token"),
                    Some(&json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}})),
                    JSON,
                )
                .await;
            if let Ok(v) = r {
                got.insert((ns.clone(), sa.clone()));
                out.push((
                    format!("token for {ns}/{sa}"),
                    token_actor(v["status"]["token"].as_str().unwrap_or_default()),
                ));
            }
        }
        // Legacy token Secrets, by get, list or watch.
        for (ns, secret, sa) in g.token_secrets.clone() {
            if got.contains(&(ns.clone(), sa.clone())) {
                continue;
            }
            let base = format!("/api/v1/namespaces/{ns}/secrets");
            let tries = [
                ("get", format!("{base}/{secret}"), ""),
                (
                    "list",
                    format!("{base}?fieldSelector=metadata.name%3D{secret}"),
                    "items",
                ),
                (
                    "watch",
                    format!(
                        "{base}?watch=1&timeoutSeconds=1&fieldSelector=metadata.name%3D{secret}"
                    ),
                    "object",
                ),
            ];
            for (verb, path, field) in tries {
                if !self.can(a, verb, ("", "secrets", ""), &ns, &secret).await {
                    continue;
                }
                if let Ok(v) = self.call(a, "GET", &path, None, JSON).await {
                    let obj = match field {
                        "items" => v["items"][0].clone(),
                        "object" => v["object"].clone(),
                        _ => v,
                    };
                    if let Some(t) = obj["data"]["token"]
                        .as_str()
                        .and_then(|t| base64::engine::general_purpose::STANDARD.decode(t).ok())
                    {
                        got.insert((ns.clone(), sa.clone()));
                        out.push((
                            format!("{verb} Secret {ns}/{secret}"),
                            token_actor(&String::from_utf8_lossy(&t)),
                        ));
                        break;
                    }
                }
            }
        }
        // Commands in running pods (up to the kubelet).
        for (ns, pod, sa) in g.running_pods.clone() {
            if got.contains(&(ns.clone(), sa.clone())) {
                continue;
            }
            for via in [
                ExecVia::PodsExec,
                ExecVia::EphemeralContainer,
                ExecVia::NodeProxy,
            ] {
                let (verbs, what, scope): (&[&str], _, &str) = match via {
                    ExecVia::PodsExec => (&["create", "get"], ("", "pods", "exec"), &ns),
                    ExecVia::EphemeralContainer => (
                        &["patch", "update"],
                        ("", "pods", "ephemeralcontainers"),
                        &ns,
                    ),
                    ExecVia::NodeProxy => (&["get", "create"], ("", "nodes", "proxy"), ""),
                };
                if !self.might(a, verbs, what, scope).await {
                    continue;
                }
                self.requests += 1;
                if exec_in(plane, a, via, &ns, &pod).await.is_ok()
                    && let Ok(t) = plane.token_for(&ns, &sa).await
                {
                    got.insert((ns.clone(), sa.clone()));
                    out.push((format!("{via:?} in {ns}/{pod}"), t));
                    break;
                }
            }
        }
        if a.impersonating.is_none() {
            out.extend(self.impersonations(a).await);
        }
        out.extend(self.certificates(a, who).await);
        out
    }

    /// Users and ServiceAccounts `a` may impersonate, alone and with every group it may name.
    async fn impersonations(&mut self, a: &Actor) -> Vec<(String, Actor)> {
        let world = self.world;
        let mut users: Vec<String> = world.users.clone();
        users.extend(
            world
                .service_accounts
                .iter()
                .map(|(ns, n)| format!("system:serviceaccount:{ns}:{n}")),
        );
        let mut allowed = Vec::new();
        for u in users {
            let (resource, scope) = match u.strip_prefix("system:serviceaccount:") {
                Some(rest) => (
                    "serviceaccounts",
                    rest.split(':').next().unwrap_or_default(),
                ),
                None => ("users", ""),
            };
            if !self
                .might(a, &["impersonate"], ("", resource, ""), scope)
                .await
            {
                continue;
            }
            let imp = Actor {
                cred: a.cred.clone(),
                impersonating: Some((u.clone(), Vec::new())),
            };
            self.requests += 1;
            if self.plane.who(&imp).await.is_ok() {
                allowed.push((u, imp));
            }
        }
        let mut out: Vec<(String, Actor)> = allowed
            .iter()
            .map(|(u, imp)| (format!("impersonate {u}"), imp.clone()))
            .collect();
        // Groups need a user; the best set is every group it may name.
        let Some((u0, _)) = allowed.first().cloned() else {
            return out;
        };
        let mut groups = Vec::new();
        if !self
            .might(a, &["impersonate"], ("", "groups", ""), "")
            .await
        {
            return out;
        }
        for grp in world.groups.clone() {
            let imp = Actor {
                cred: a.cred.clone(),
                impersonating: Some((u0.clone(), vec![grp.clone()])),
            };
            self.requests += 1;
            if self.plane.who(&imp).await.is_ok() {
                groups.push(grp);
            }
        }
        if !groups.is_empty() {
            for (u, _) in &allowed {
                out.push((
                    format!("impersonate {u} with {}", groups.join(",")),
                    Actor {
                        cred: a.cred.clone(),
                        impersonating: Some((u.clone(), groups.clone())),
                    },
                ));
            }
        }
        out
    }

    /// Client certificates `a` can create and approve: for each username with every group but
    /// system:masters, and one with system:masters (which admission must refuse).
    async fn certificates(&mut self, a: &Actor, _who: &Who) -> Vec<(String, Actor)> {
        if !self
            .can(
                a,
                "create",
                ("certificates.k8s.io", "certificatesigningrequests", ""),
                "",
                "",
            )
            .await
        {
            return Vec::new();
        }
        let mut groups: Vec<String> = self
            .world
            .groups
            .iter()
            .filter(|g| *g != "system:masters")
            .cloned()
            .collect();
        groups.push("system:authenticated".into());
        let mut targets: Vec<(String, Vec<String>)> = vec![(
            format!("{}-fresh", self.world.g.tag),
            vec!["system:masters".to_string()],
        )];
        for u in self.world.users.clone() {
            targets.push((u, groups.clone()));
        }
        for (ns, n) in self.world.service_accounts.clone() {
            let mut gs = groups.clone();
            gs.push("system:serviceaccounts".into());
            gs.push(format!("system:serviceaccounts:{ns}"));
            targets.push((format!("system:serviceaccount:{ns}:{n}"), gs));
        }
        let mut out = Vec::new();
        for (user, gs) in targets {
            let mut trail = Trail::default();
            self.requests += 3;
            let mv = kube_evidence::rbac::reach::Move::ClientCertificate {
                user: user.clone(),
                groups: gs.clone(),
            };
            let r = super::exec::perform(self.plane, a, &mv, &mut trail).await;
            trail.undo(self.plane).await;
            match r {
                Ok(actor) => {
                    out.push((format!("certificate for {user} in {}", gs.join(",")), actor))
                }
                // Creating or approving refused for a user who is not system:masters: it will
                // be refused for every other, too.
                Err(_) if !gs.iter().any(|g| g == "system:masters") => break,
                Err(_) => {}
            }
        }
        out
    }

    /// Bindings and roles `a` may write that give some identity held more: tried by dry-run,
    /// then performed (binding to every identity held). True when the cluster changed.
    async fn mutate(&mut self, _i: usize, a: &Actor, who: &Who) -> bool {
        let before = self.log.len();
        let changed = self.mutations(a, who).await;
        debug_assert!(changed || self.log.len() == before);
        changed
    }

    async fn mutations(&mut self, a: &Actor, who: &Who) -> bool {
        let world = self.world;
        let g = &world.g;
        let mut changed = false;
        let targets: Vec<String> = self.held.iter().map(|h| h.who.username.clone()).collect();
        // Scopes where `a` may create bindings.
        let mut scopes: Vec<Option<String>> = Vec::new();
        if self
            .can(a, "create", (RBAC, "clusterrolebindings", ""), "", "")
            .await
        {
            scopes.push(None);
        }
        for ns in g.namespaces.clone() {
            if self
                .can(a, "create", (RBAC, "rolebindings", ""), &ns, "")
                .await
            {
                scopes.push(Some(ns));
            }
        }
        // Roles to bind: the standard and generated ClusterRoles, the namespace's Roles, and
        // roles this search created.
        let mut created_roles: Vec<(Option<String>, String)> = Vec::new();
        // Roles rewritten to every permission, or new ones, where `escalate` allows.
        let mut candidates: Vec<(Option<String>, String)> = world
            .cluster_roles
            .iter()
            .map(|r| (None, r.clone()))
            .collect();
        candidates.extend(g.roles.iter().filter(|(ns, _)| ns.is_some()).cloned());
        for (ns, role) in candidates.clone() {
            let (kind, res) = if ns.is_some() {
                ("Role", "roles")
            } else {
                ("ClusterRole", "clusterroles")
            };
            let nss = ns.clone().unwrap_or_default();
            if !self.can(a, "escalate", (RBAC, res, ""), &nss, &role).await {
                continue;
            }
            let path = format!("{}/{role}", rbac_path(kind, ns.as_deref()));
            let mut variants: Vec<BTreeMap<String, String>> = vec![BTreeMap::new()];
            if ns.is_none() {
                variants.extend(world.aggregation_labels.iter().cloned());
            }
            for labels in variants {
                let key = format!("escalate {kind} {nss}/{role} {labels:?}");
                if self.done.contains(&key) {
                    continue;
                }
                let patch = json!({"rules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
                    "aggregationRule": null, "metadata": {"labels": labels}});
                if self
                    .call(
                        a,
                        "PATCH",
                        &format!("{path}?dryRun=All"),
                        Some(&patch),
                        MERGE,
                    )
                    .await
                    .is_ok()
                {
                    let mv = kube_evidence::rbac::reach::Move::EscalateRole {
                        role_kind: kind.into(),
                        namespace: ns.clone(),
                        role: role.clone(),
                        labels: labels.clone().into_iter().collect(),
                    };
                    self.done.insert(key);
                    self.requests += 2;
                    if super::exec::perform(self.plane, a, &mv, &mut self.trail)
                        .await
                        .is_ok()
                    {
                        self.log
                            .push(format!("{}: {}", who.username, mv.describe()));
                        changed = true;
                    }
                }
            }
        }
        // New roles with every permission.
        let mut role_scopes: Vec<Option<String>> = vec![None];
        role_scopes.extend(g.namespaces.iter().cloned().map(Some));
        for ns in role_scopes {
            let (kind, res) = if ns.is_some() {
                ("Role", "roles")
            } else {
                ("ClusterRole", "clusterroles")
            };
            let nss = ns.clone().unwrap_or_default();
            if !self.can(a, "create", (RBAC, res, ""), &nss, "").await {
                continue;
            }
            let mut variants: Vec<BTreeMap<String, String>> = vec![BTreeMap::new()];
            if ns.is_none() {
                variants.extend(world.aggregation_labels.iter().cloned());
            }
            for (vi, labels) in variants.into_iter().enumerate() {
                let name = format!("{}-esc{vi}", g.tag);
                let key = format!("create {kind} {nss}/{name}");
                if self.done.contains(&key) {
                    continue;
                }
                let obj = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind,
                    "metadata": {"name": name, "labels": labels},
                    "rules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}]});
                let collection = rbac_path(kind, ns.as_deref());
                if self
                    .call(
                        a,
                        "POST",
                        &format!("{collection}?dryRun=All"),
                        Some(&obj),
                        JSON,
                    )
                    .await
                    .is_ok()
                {
                    let mv = kube_evidence::rbac::reach::Move::CreateRole {
                        role_kind: kind.into(),
                        namespace: ns.clone(),
                        role: name.clone(),
                        labels: labels.into_iter().collect(),
                    };
                    self.done.insert(key);
                    self.requests += 2;
                    if super::exec::perform(self.plane, a, &mv, &mut self.trail)
                        .await
                        .is_ok()
                    {
                        self.log
                            .push(format!("{}: {}", who.username, mv.describe()));
                        created_roles.push((ns.clone(), name));
                        changed = true;
                    }
                }
            }
        }
        let mut roles: Vec<(Option<String>, String)> = world
            .cluster_roles
            .iter()
            .map(|r| (None, r.clone()))
            .collect();
        roles.extend(g.roles.iter().filter(|(ns, _)| ns.is_some()).cloned());
        roles.extend(created_roles);
        for scope in scopes {
            for (rns, role) in roles.clone() {
                if rns.is_some() && rns != scope {
                    continue;
                }
                let role_kind = if rns.is_some() { "Role" } else { "ClusterRole" };
                let kind = if scope.is_some() {
                    "RoleBinding"
                } else {
                    "ClusterRoleBinding"
                };
                let collection = rbac_path(kind, scope.as_deref());
                let probe = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind,
                    "metadata": {"name": "probe"},
                    "roleRef": {"apiGroup": RBAC, "kind": role_kind, "name": role},
                    "subjects": [{"kind": "User", "apiGroup": RBAC, "name": "probe"}]});
                if self
                    .call(
                        a,
                        "POST",
                        &format!("{collection}?dryRun=All"),
                        Some(&probe),
                        JSON,
                    )
                    .await
                    .is_err()
                {
                    continue;
                }
                // Allowed: bind it to every identity held (the subject is the writer's choice).
                for user in &targets {
                    let key = format!("bind {role_kind} {role} in {scope:?} to {user}");
                    if !self.done.insert(key) {
                        continue;
                    }
                    let subject = match user
                        .strip_prefix("system:serviceaccount:")
                        .and_then(|r| r.split_once(':'))
                    {
                        Some((ns, n)) => kube_evidence::rbac::SubjectRef::service_account(ns, n),
                        None => kube_evidence::rbac::SubjectRef::user(user),
                    };
                    let mv = kube_evidence::rbac::reach::Move::Bind {
                        namespace: scope.clone(),
                        role_kind: role_kind.into(),
                        role: role.clone(),
                        subject,
                        existing: None,
                    };
                    self.requests += 1;
                    if super::exec::perform(self.plane, a, &mv, &mut self.trail)
                        .await
                        .is_ok()
                    {
                        self.log
                            .push(format!("{}: {}", who.username, mv.describe()));
                        changed = true;
                    }
                }
            }
        }
        // Existing bindings `a` may update to name more subjects.
        for (ns, name) in world.bindings.clone() {
            let (kind, res) = if ns.is_some() {
                ("RoleBinding", "rolebindings")
            } else {
                ("ClusterRoleBinding", "clusterrolebindings")
            };
            let nss = ns.clone().unwrap_or_default();
            if !self.can(a, "patch", (RBAC, res, ""), &nss, &name).await {
                continue;
            }
            let path = format!("{}/{name}", rbac_path(kind, ns.as_deref()));
            let current = self
                .plane
                .admin_call("GET", &path, None, JSON)
                .await
                .unwrap_or_default();
            for user in &targets {
                let key = format!("add {user} to {kind} {nss}/{name}");
                if self.done.contains(&key) {
                    continue;
                }
                let mut subjects = current["subjects"].as_array().cloned().unwrap_or_default();
                subjects.push(json!({"kind": "User", "apiGroup": RBAC, "name": user}));
                if self
                    .call(
                        a,
                        "PATCH",
                        &format!("{path}?dryRun=All"),
                        Some(&json!({"subjects": subjects})),
                        MERGE,
                    )
                    .await
                    .is_ok()
                {
                    self.done.insert(key);
                    let subject = match user
                        .strip_prefix("system:serviceaccount:")
                        .and_then(|r| r.split_once(':'))
                    {
                        Some((ns, n)) => kube_evidence::rbac::SubjectRef::service_account(ns, n),
                        None => kube_evidence::rbac::SubjectRef::user(user),
                    };
                    let mv = kube_evidence::rbac::reach::Move::Bind {
                        namespace: ns.clone(),
                        role_kind: current["roleRef"]["kind"]
                            .as_str()
                            .unwrap_or_default()
                            .into(),
                        role: current["roleRef"]["name"]
                            .as_str()
                            .unwrap_or_default()
                            .into(),
                        subject,
                        existing: Some(name.clone()),
                    };
                    if super::exec::perform(self.plane, a, &mv, &mut self.trail)
                        .await
                        .is_ok()
                    {
                        self.log
                            .push(format!("{}: {}", who.username, mv.describe()));
                        changed = true;
                    }
                }
            }
        }
        changed
    }
}

/// Whether a rule (as SelfSubjectRulesReview lists it) could allow one of `verbs` on `what`,
/// read more loosely than RBAC reads it: names are ignored, and a rule for any subresource of
/// the resource, or for `*/anything`, counts.
fn loosely_allows(
    rule: &Value,
    verbs: &[&str],
    (group, resource, _sub): (&str, &str, &str),
) -> bool {
    let any = |field: &str, pred: &dyn Fn(&str) -> bool| {
        rule[field]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .any(pred)
    };
    let prefix = format!("{resource}/");
    any("verbs", &|v| v == "*" || verbs.contains(&v))
        && any("apiGroups", &|g| g == "*" || g == group)
        && any("resources", &|r| {
            r == "*" || r == resource || r.starts_with(&prefix) || r.starts_with("*/")
        })
}
