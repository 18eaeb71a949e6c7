//! Escalation paths: what each subject can reach beyond its direct grants, and the shortest way
//! from a subject to cluster-admin equivalence.
//!
//! The graph's nodes are identities (users, groups, ServiceAccounts), a few hubs ("every
//! ServiceAccount in namespace N", "every running workload"), and cluster-admin. An edge is one
//! capability, with the grant that gives it:
//! - create pods, or create/update/patch a workload controller, in N: every ServiceAccount in N;
//! - `create pods/exec` in N: the ServiceAccount of every running workload in N; `get
//!   nodes/proxy` (kubelet API) does the same for every running workload in the cluster;
//! - read Secrets in N: the ServiceAccounts whose legacy token Secrets are there;
//! - `create serviceaccounts/token`: those ServiceAccounts;
//! - `impersonate` users, groups or ServiceAccounts: those identities (any group includes
//!   `system:masters`);
//! - `bind` on a cluster-admin-equivalent ClusterRole with write access to ClusterRoleBindings
//!   (or RoleBindings: every ServiceAccount of that namespace); `escalate` with write access to a
//!   ClusterRole the subject is already bound to;
//! - approving CSRs for the `kubernetes.io/kube-apiserver-client` signer (a client certificate
//!   in group `system:masters`).
//!
//! Write access to roles or bindings without `bind`/`escalate` is not an edge: the API server
//! refuses to let anyone grant permissions they do not already hold.

use super::index::{AccessReport, BindingId, Grant, RbacIndex};
use super::matching::{Names, allows};
use super::subject::{Identity, MASTERS, SubjectRef};
use crate::snapshot::{PolicyRule, Snapshot};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Node {
    Subject(SubjectRef),
    NamespaceServiceAccounts(String),
    AllServiceAccounts,
    RunningWorkloads(String),
    AllRunningWorkloads,
    ClusterAdmin,
}

/// Where an edge comes from: a rule of a binding's role (resolved to a grant only when a path
/// is shown), a grant found by a whole-subject check, or nothing (hubs, group membership).
#[derive(Debug, Clone)]
enum Provenance {
    None,
    Rule(BindingId, usize),
    Grant(Box<Grant>),
}

#[derive(Debug, Clone)]
struct Edge {
    to: usize,
    action: String,
    via: Provenance,
}

/// One step of an escalation path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PathStep {
    /// Who takes the step.
    pub from: String,
    /// What they do, in words.
    pub action: String,
    /// What it gives them: an identity, or `cluster-admin`.
    pub to: String,
    /// The grant that makes the step possible (none for implicit steps such as group
    /// membership).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant: Option<Grant>,
}

/// A subject reachable from another, with the path.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Reached {
    pub subject: SubjectRef,
    pub path: Vec<PathStep>,
}

pub struct ReachGraph {
    nodes: Vec<Node>,
    ids: HashMap<Node, usize>,
    edges: Vec<Vec<Edge>>,
    edge_set: HashSet<(usize, usize)>,
    /// Subjects that hold all verbs on all resources cluster-wide through a binding of their own
    /// (not through escalation): the node and the grant.
    direct_admin: HashMap<usize, Provenance>,
    /// For every node, the next edge on a shortest path to cluster-admin.
    next_to_admin: Vec<Option<usize>>,
    dist_to_admin: Vec<Option<u32>>,
}

/// All verbs on all resources in all groups, for any object.
pub fn is_cluster_admin_rule(rule: &PolicyRule) -> bool {
    rule.verbs.iter().any(|v| v == "*")
        && rule.api_groups.iter().any(|g| g == "*")
        && rule.resources.iter().any(|r| r == "*")
        && rule.resource_names.is_empty()
}

const WORKLOAD_WRITES: &[(&str, &str, &[&str])] = &[
    ("", "pods", &["create"]),
    ("apps", "deployments", &["create", "update", "patch"]),
    ("apps", "daemonsets", &["create", "update", "patch"]),
    ("apps", "statefulsets", &["create", "update", "patch"]),
    ("apps", "replicasets", &["create", "update", "patch"]),
    ("batch", "jobs", &["create", "update", "patch"]),
    ("batch", "cronjobs", &["create", "update", "patch"]),
    ("", "replicationcontrollers", &["create", "update", "patch"]),
];

const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

/// What one rule lets its holder do towards other identities, in one scope.
#[derive(Debug, Clone)]
enum Cap {
    Admin,
    WriteWorkloads(String),
    Exec,
    NodeProxy,
    ReadSecrets(&'static str, Names),
    ServiceAccounts(&'static str, Names),
    ImpersonateUsers(Names),
    ImpersonateGroups(Names),
    /// Half of a two-grant escalation (bind, escalate, CSR approval): checked per subject.
    Partial,
}

fn capabilities(rule: &PolicyRule, cluster: bool) -> Vec<Cap> {
    if cluster && is_cluster_admin_rule(rule) {
        return vec![Cap::Admin];
    }
    let mut out = Vec::new();
    for (group, resource, verbs) in WORKLOAD_WRITES {
        for verb in *verbs {
            if allows(rule, verb, group, resource, "") == Some(Names::All) {
                out.push(Cap::WriteWorkloads(format!("{verb} {resource}")));
            }
        }
    }
    if allows(rule, "create", "", "pods", "exec").is_some() {
        out.push(Cap::Exec);
    }
    if cluster && allows(rule, "get", "", "nodes", "proxy").is_some() {
        out.push(Cap::NodeProxy);
    }
    for verb in ["get", "list", "watch"] {
        if let Some(names) = allows(rule, verb, "", "secrets", "") {
            out.push(Cap::ReadSecrets(verb, names));
        }
    }
    if let Some(names) = allows(rule, "create", "", "serviceaccounts", "token") {
        out.push(Cap::ServiceAccounts("create a token for", names));
    }
    if let Some(names) = allows(rule, "impersonate", "", "serviceaccounts", "") {
        out.push(Cap::ServiceAccounts("impersonate", names));
    }
    if cluster {
        if let Some(names) = allows(rule, "impersonate", "", "users", "") {
            out.push(Cap::ImpersonateUsers(names));
        }
        if let Some(names) = allows(rule, "impersonate", "", "groups", "") {
            out.push(Cap::ImpersonateGroups(names));
        }
    }
    let partial = allows(rule, "bind", RBAC_GROUP, "clusterroles", "").is_some()
        || (cluster
            && (allows(rule, "escalate", RBAC_GROUP, "clusterroles", "").is_some()
                || allows(rule, "approve", "certificates.k8s.io", "signers", "").is_some()));
    if partial {
        out.push(Cap::Partial);
    }
    out
}

struct Ctx<'a> {
    admin: usize,
    all_sas: usize,
    all_running: usize,
    tokens_by_ns: &'a BTreeMap<&'a str, Vec<(&'a str, &'a str)>>,
    sas_by_ns: &'a BTreeMap<&'a str, Vec<&'a str>>,
    users: &'a [SubjectRef],
    groups: &'a [SubjectRef],
    admin_roles: &'a [String],
}

impl ReachGraph {
    pub fn build(index: &RbacIndex, snapshot: &Snapshot) -> ReachGraph {
        let mut g = ReachGraph {
            nodes: Vec::new(),
            ids: HashMap::new(),
            edges: Vec::new(),
            edge_set: HashSet::new(),
            direct_admin: HashMap::new(),
            next_to_admin: Vec::new(),
            dist_to_admin: Vec::new(),
        };
        let admin = g.node(Node::ClusterAdmin);

        // Hubs: ServiceAccounts by namespace, running workloads by namespace.
        let (all_sas, sas_by_ns) = g.add_service_account_hubs(index);
        let all_running = g.add_running_workload_hubs(snapshot);
        let mut tokens_by_ns: BTreeMap<&str, Vec<(&str, &str)>> = BTreeMap::new();
        for t in &snapshot.token_secrets {
            tokens_by_ns
                .entry(t.metadata.ns())
                .or_default()
                .push((t.metadata.name.as_str(), t.service_account.as_str()));
        }
        let subjects = index.all_subjects();
        let users: Vec<SubjectRef> = subjects
            .iter()
            .filter(|s| matches!(s, SubjectRef::User { .. }))
            .cloned()
            .collect();
        let groups: Vec<SubjectRef> = subjects
            .iter()
            .filter(|s| matches!(s, SubjectRef::Group { .. }))
            .cloned()
            .collect();
        let admin_roles: Vec<String> = index
            .roles
            .iter()
            .filter(|r| {
                r.namespace.is_none() && r.rules.iter().any(|x| is_cluster_admin_rule(&x.rule))
            })
            .map(|r| r.name.clone())
            .collect();
        let ctx = Ctx {
            admin,
            all_sas,
            all_running,
            tokens_by_ns: &tokens_by_ns,
            sas_by_ns: &sas_by_ns,
            users: &users,
            groups: &groups,
            admin_roles: &admin_roles,
        };

        // `system:masters` bypasses RBAC.
        let masters = g.node(Node::Subject(SubjectRef::group(MASTERS)));
        g.edge(
            masters,
            admin,
            "is in system:masters, which bypasses RBAC".into(),
            Provenance::None,
        );

        let partial = g.add_binding_capabilities(index, &ctx);

        // Members take their implicit groups' capabilities.
        g.add_group_memberships(&subjects, &groups);

        // Two-grant escalations, checked on the subject's whole access.
        for subject in partial {
            let from = g.node(Node::Subject(subject.clone()));
            let report = index.access(&Identity::of(&subject, &[]));
            g.add_conjunctions(from, &report, &ctx);
        }
        g.solve(admin);
        g
    }

    /// Every ServiceAccount, under its namespace's hub and the hub of all ServiceAccounts (who
    /// may create pods in a namespace may run them as any of its ServiceAccounts).
    fn add_service_account_hubs<'i>(
        &mut self,
        index: &'i RbacIndex,
    ) -> (usize, BTreeMap<&'i str, Vec<&'i str>>) {
        let g = self;
        let mut sas_by_ns: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (ns, name) in &index.service_accounts {
            sas_by_ns.entry(ns).or_default().push(name);
        }
        let all_sas = g.node(Node::AllServiceAccounts);
        for (ns, names) in &sas_by_ns {
            let hub = g.node(Node::NamespaceServiceAccounts(ns.to_string()));
            g.edge(all_sas, hub, String::new(), Provenance::None);
            for n in names {
                let sa = g.node(Node::Subject(SubjectRef::service_account(*ns, *n)));
                g.edge(
                    hub,
                    sa,
                    format!("use ServiceAccount {ns}/{n}"),
                    Provenance::None,
                );
            }
        }
        (all_sas, sas_by_ns)
    }

    /// Every running workload, under its namespace's hub and the hub of all of them (who may
    /// exec into a pod acts as its ServiceAccount).
    fn add_running_workload_hubs(&mut self, snapshot: &Snapshot) -> usize {
        let g = self;
        let all_running = g.node(Node::AllRunningWorkloads);
        let mut running: BTreeMap<&str, BTreeSet<(&str, &str, &str)>> = BTreeMap::new();
        for w in snapshot.workloads.iter().filter(|w| w.pods > 0) {
            running
                .entry(&w.namespace)
                .or_default()
                .insert((&w.kind, &w.name, &w.service_account));
        }
        for (ns, ws) in &running {
            let hub = g.node(Node::RunningWorkloads(ns.to_string()));
            g.edge(all_running, hub, String::new(), Provenance::None);
            for (kind, name, sa) in ws {
                let to = g.node(Node::Subject(SubjectRef::service_account(*ns, *sa)));
                g.edge(
                    hub,
                    to,
                    format!("run commands in a pod of {kind} {ns}/{name}, which runs as ServiceAccount {ns}/{sa}"),
                    Provenance::None,
                );
            }
        }
        all_running
    }

    /// Every binding hands its role's capabilities (computed once per role and scope) to each of
    /// its subjects. Returns the subjects holding part of a two-grant escalation.
    fn add_binding_capabilities(
        &mut self,
        index: &RbacIndex,
        ctx: &Ctx<'_>,
    ) -> BTreeSet<SubjectRef> {
        let g = self;
        let mut cache: HashMap<(usize, bool), Vec<(usize, Cap)>> = HashMap::new();
        let mut partial: BTreeSet<SubjectRef> = BTreeSet::new();
        for (bid, b) in index.bindings.iter().enumerate() {
            let Ok(role_id) = b.role else { continue };
            let role = &index.roles[role_id];
            let caps = cache.entry((role_id, b.cluster)).or_insert_with(|| {
                role.rules
                    .iter()
                    .enumerate()
                    .flat_map(|(i, r)| {
                        capabilities(&r.rule, b.cluster)
                            .into_iter()
                            .map(move |c| (i, c))
                    })
                    .collect()
            });
            if caps.is_empty() {
                continue;
            }
            for subject in b.resolved.iter().flatten() {
                let from = g.node(Node::Subject(subject.clone()));
                for (rule_idx, cap) in caps.iter() {
                    if matches!(cap, Cap::Partial) {
                        partial.insert(subject.clone());
                        continue;
                    }
                    g.add_cap(
                        from,
                        cap,
                        b.namespace.as_deref(),
                        Provenance::Rule(bid, *rule_idx),
                        ctx,
                    );
                }
            }
        }
        partial
    }

    /// Members take their implicit groups' capabilities (only groups that have any).
    fn add_group_memberships(&mut self, subjects: &BTreeSet<SubjectRef>, groups: &[SubjectRef]) {
        let g = self;
        let with_edges: BTreeSet<String> = groups
            .iter()
            .filter(|gr| {
                g.ids
                    .get(&Node::Subject((*gr).clone()))
                    .is_some_and(|id| !g.edges[*id].is_empty())
            })
            .map(|gr| gr.name().to_string())
            .collect();
        if !with_edges.is_empty() {
            let members: Vec<SubjectRef> = subjects
                .iter()
                .filter(|s| !matches!(s, SubjectRef::Group { .. }))
                .cloned()
                .collect();
            for m in members {
                let identity = Identity::of(&m, &[]);
                for group in identity.groups.iter().filter(|gr| with_edges.contains(*gr)) {
                    let from = g.node(Node::Subject(m.clone()));
                    let to = g.node(Node::Subject(SubjectRef::group(group)));
                    g.edge(
                        from,
                        to,
                        format!("is a member of group {group}"),
                        Provenance::None,
                    );
                }
            }
        }
    }

    fn node(&mut self, n: Node) -> usize {
        if let Some(id) = self.ids.get(&n) {
            return *id;
        }
        let id = self.nodes.len();
        self.nodes.push(n.clone());
        self.ids.insert(n, id);
        self.edges.push(Vec::new());
        id
    }

    fn edge(&mut self, from: usize, to: usize, action: String, via: Provenance) {
        if from != to && self.edge_set.insert((from, to)) {
            self.edges[from].push(Edge { to, action, via });
        }
    }

    fn add_cap(
        &mut self,
        from: usize,
        cap: &Cap,
        ns: Option<&str>,
        via: Provenance,
        ctx: &Ctx<'_>,
    ) {
        let scope = ns.map_or_else(
            || "cluster-wide".to_string(),
            |n| format!("in namespace {n}"),
        );
        match cap {
            Cap::Admin => {
                self.direct_admin.entry(from).or_insert_with(|| via.clone());
                self.edge(
                    from,
                    ctx.admin,
                    "holds all verbs on all resources cluster-wide".into(),
                    via,
                )
            }
            Cap::WriteWorkloads(what) => {
                let target = match ns {
                    None => ctx.all_sas,
                    Some(n) => self.node(Node::NamespaceServiceAccounts(n.to_string())),
                };
                self.edge(from, target, format!("{what} {scope}"), via);
            }
            Cap::Exec => {
                let target = match ns {
                    None => ctx.all_running,
                    Some(n) => self.node(Node::RunningWorkloads(n.to_string())),
                };
                self.edge(from, target, format!("create pods/exec {scope}"), via);
            }
            Cap::NodeProxy => self.edge(
                from,
                ctx.all_running,
                "get nodes/proxy (the kubelet API runs commands in any pod on the node)".into(),
                via,
            ),
            Cap::ReadSecrets(verb, names) => {
                let in_scope: Vec<(&str, &str, &str)> = match ns {
                    Some(n) => ctx
                        .tokens_by_ns
                        .get(n)
                        .into_iter()
                        .flatten()
                        .map(|(t, sa)| (n, *t, *sa))
                        .collect(),
                    None => ctx
                        .tokens_by_ns
                        .iter()
                        .flat_map(|(n, v)| v.iter().map(move |(t, sa)| (*n, *t, *sa)))
                        .collect(),
                };
                for (tns, tname, sa) in in_scope {
                    if names.contains(tname) && !sa.is_empty() {
                        let to = self.node(Node::Subject(SubjectRef::service_account(tns, sa)));
                        self.edge(from, to, format!("{verb} Secret {tns}/{tname}, the legacy token of ServiceAccount {tns}/{sa}"), via.clone());
                    }
                }
            }
            Cap::ServiceAccounts(what, names) => match (names, ns) {
                (Names::All, None) => {
                    self.edge(from, ctx.all_sas, format!("{what} any ServiceAccount"), via)
                }
                (Names::All, Some(n)) => {
                    let to = self.node(Node::NamespaceServiceAccounts(n.to_string()));
                    self.edge(
                        from,
                        to,
                        format!("{what} any ServiceAccount in namespace {n}"),
                        via,
                    );
                }
                (Names::Some(list), _) => {
                    let namespaces: Vec<&str> = match ns {
                        Some(n) => vec![n],
                        None => ctx.sas_by_ns.keys().copied().collect(),
                    };
                    for sns in namespaces {
                        for sname in list {
                            if ctx
                                .sas_by_ns
                                .get(sns)
                                .is_some_and(|v| v.contains(&sname.as_str()))
                            {
                                let to = self
                                    .node(Node::Subject(SubjectRef::service_account(sns, sname)));
                                self.edge(
                                    from,
                                    to,
                                    format!("{what} ServiceAccount {sns}/{sname}"),
                                    via.clone(),
                                );
                            }
                        }
                    }
                }
            },
            Cap::ImpersonateUsers(names) => {
                for u in ctx.users {
                    if names.contains(u.name()) {
                        let to = self.node(Node::Subject(u.clone()));
                        self.edge(
                            from,
                            to,
                            format!("impersonate user {}", u.name()),
                            via.clone(),
                        );
                    }
                }
            }
            Cap::ImpersonateGroups(names) => {
                if names.contains(MASTERS) {
                    self.edge(
                        from,
                        ctx.admin,
                        "impersonate group system:masters".into(),
                        via.clone(),
                    );
                }
                for gr in ctx.groups {
                    if names.contains(gr.name()) {
                        let to = self.node(Node::Subject(gr.clone()));
                        self.edge(
                            from,
                            to,
                            format!("impersonate group {}", gr.name()),
                            via.clone(),
                        );
                    }
                }
            }
            Cap::Partial => {}
        }
    }

    /// Escalations that need two grants at once: `bind` on a cluster-admin-equivalent role with
    /// write access to bindings; `escalate` with write access to a ClusterRole the subject is
    /// bound to; approving and creating client-certificate CSRs.
    fn add_conjunctions(&mut self, from: usize, report: &AccessReport, ctx: &Ctx<'_>) {
        for grant in report.all() {
            let rule = &grant.rule;
            let cluster = grant.namespace.is_none();
            let via = || Provenance::Grant(Box::new(grant.clone()));
            if let Some(names) = allows(rule, "bind", RBAC_GROUP, "clusterroles", "")
                && let Some(role) = ctx.admin_roles.iter().find(|r| names.contains(r))
            {
                if cluster && can_write_cluster(report, "clusterrolebindings") {
                    self.edge(
                        from,
                        ctx.admin,
                        format!("bind ClusterRole {role} with a new ClusterRoleBinding"),
                        via(),
                    );
                }
                for target_ns in
                    namespaces_writable(report, "rolebindings", grant.namespace.as_deref())
                {
                    let to = self.node(Node::NamespaceServiceAccounts(target_ns.clone()));
                    self.edge(from, to, format!("bind ClusterRole {role} in namespace {target_ns} with a new RoleBinding"), via());
                }
            }
            if !cluster {
                continue;
            }
            if let Some(names) = allows(rule, "escalate", RBAC_GROUP, "clusterroles", "") {
                let bound: BTreeSet<&str> = report
                    .cluster_wide
                    .iter()
                    .filter(|g| g.role.kind == "ClusterRole")
                    .map(|g| g.role.name.as_str())
                    .collect();
                if let Some(role) = bound
                    .iter()
                    .find(|r| names.contains(r) && can_update_cluster_role(report, r))
                {
                    self.edge(from, ctx.admin, format!("escalate: add every permission to ClusterRole {role}, which it is bound to"), via());
                }
            }
            let signer_ok = allows(rule, "approve", "certificates.k8s.io", "signers", "")
                .is_some_and(|n| {
                    n.contains("kubernetes.io/kube-apiserver-client")
                        || n.contains("kubernetes.io/*")
                });
            if signer_ok
                && report_allows_cluster(
                    report,
                    "update",
                    "certificates.k8s.io",
                    "certificatesigningrequests",
                    "approval",
                )
                && report_allows_cluster(
                    report,
                    "create",
                    "certificates.k8s.io",
                    "certificatesigningrequests",
                    "",
                )
            {
                self.edge(from, ctx.admin, "create and approve a CSR for a kube-apiserver-client certificate in group system:masters".into(), via());
            }
        }
    }

    /// Multi-source BFS backwards from cluster-admin: every node's distance and next step.
    fn solve(&mut self, admin: usize) {
        let n = self.nodes.len();
        let mut reverse: Vec<Vec<(usize, usize)>> = vec![Vec::new(); n];
        for (from, es) in self.edges.iter().enumerate() {
            for (i, e) in es.iter().enumerate() {
                reverse[e.to].push((from, i));
            }
        }
        self.next_to_admin = vec![None; n];
        self.dist_to_admin = vec![None; n];
        self.dist_to_admin[admin] = Some(0);
        let mut queue = VecDeque::from([admin]);
        while let Some(cur) = queue.pop_front() {
            let d = self.dist_to_admin[cur].expect("queued nodes have a distance");
            // Sorted predecessors keep the chosen path independent of insertion order.
            let mut preds = std::mem::take(&mut reverse[cur]);
            preds.sort_by(|a, b| self.nodes[a.0].cmp(&self.nodes[b.0]).then(a.1.cmp(&b.1)));
            for (from, edge_idx) in preds {
                if self.dist_to_admin[from].is_none() {
                    self.dist_to_admin[from] = Some(d + 1);
                    self.next_to_admin[from] = Some(edge_idx);
                    queue.push_back(from);
                }
            }
        }
    }

    fn label(&self, id: usize) -> String {
        match &self.nodes[id] {
            Node::Subject(s) => s.to_string(),
            Node::NamespaceServiceAccounts(ns) => format!("every ServiceAccount in namespace {ns}"),
            Node::AllServiceAccounts => "every ServiceAccount".into(),
            Node::RunningWorkloads(ns) => format!("every running workload in namespace {ns}"),
            Node::AllRunningWorkloads => "every running workload".into(),
            Node::ClusterAdmin => "cluster-admin".into(),
        }
    }

    fn is_hub(&self, id: usize) -> bool {
        !matches!(self.nodes[id], Node::Subject(_) | Node::ClusterAdmin)
    }

    fn grant_of(&self, index: &RbacIndex, from: usize, via: &Provenance) -> Option<Grant> {
        match via {
            Provenance::None => None,
            Provenance::Grant(g) => Some((**g).clone()),
            Provenance::Rule(b, i) => match &self.nodes[from] {
                Node::Subject(s) => index.grant_of(*b, *i, s),
                _ => None,
            },
        }
    }

    /// Renders a sequence of edges as steps between identities, folding hubs into the action.
    fn render(&self, index: &RbacIndex, start: usize, edges: &[(usize, usize)]) -> Vec<PathStep> {
        let mut steps = Vec::new();
        let mut from = start;
        let mut action = String::new();
        let mut grant = None;
        for (node, idx) in edges {
            let e = &self.edges[*node][*idx];
            if action.is_empty() {
                action = e.action.clone();
                grant = self.grant_of(index, *node, &e.via);
            } else if !e.action.is_empty() {
                action = format!("{action}, then {}", e.action);
            }
            if !self.is_hub(e.to) {
                steps.push(PathStep {
                    from: self.label(from),
                    action: std::mem::take(&mut action),
                    to: self.label(e.to),
                    grant: grant.take(),
                });
                from = e.to;
            }
        }
        steps
    }

    /// True when a binding naming `subject` itself (not one of its groups, not an escalation)
    /// grants all verbs on all resources cluster-wide.
    pub(crate) fn binds_admin(&self, subject: &SubjectRef) -> bool {
        self.ids
            .get(&Node::Subject(subject.clone()))
            .is_some_and(|id| self.direct_admin.contains_key(id))
    }

    /// The shortest escalation path from a subject to cluster-admin, if there is one.
    pub fn path_to_admin(&self, index: &RbacIndex, subject: &SubjectRef) -> Option<Vec<PathStep>> {
        let start = *self.ids.get(&Node::Subject(subject.clone()))?;
        self.dist_to_admin[start]?;
        let mut edges = Vec::new();
        let mut cur = start;
        while let Some(idx) = self.next_to_admin[cur] {
            edges.push((cur, idx));
            cur = self.edges[cur][idx].to;
        }
        Some(self.render(index, start, &edges))
    }

    /// Every identity reachable from a subject (not the subject itself), each with its shortest
    /// path, in order of distance; and the shortest path to cluster-admin, if any.
    pub fn reachable_from(
        &self,
        index: &RbacIndex,
        subject: &SubjectRef,
    ) -> (Vec<Reached>, Option<Vec<PathStep>>) {
        let Some(&start) = self.ids.get(&Node::Subject(subject.clone())) else {
            return (Vec::new(), None);
        };
        let mut prev: HashMap<usize, (usize, usize)> = HashMap::new();
        let mut seen = vec![false; self.nodes.len()];
        seen[start] = true;
        let mut queue = VecDeque::from([start]);
        let mut order = Vec::new();
        while let Some(cur) = queue.pop_front() {
            order.push(cur);
            for (i, e) in self.edges[cur].iter().enumerate() {
                if !seen[e.to] {
                    seen[e.to] = true;
                    prev.insert(e.to, (cur, i));
                    queue.push_back(e.to);
                }
            }
        }
        let path_to = |target: usize| {
            let mut edges = Vec::new();
            let mut cur = target;
            while let Some(&(p, i)) = prev.get(&cur) {
                edges.push((p, i));
                cur = p;
            }
            edges.reverse();
            self.render(index, start, &edges)
        };
        let mut reached = Vec::new();
        let mut admin_path = None;
        for id in order.into_iter().skip(1) {
            match &self.nodes[id] {
                Node::Subject(s) => reached.push(Reached {
                    subject: s.clone(),
                    path: path_to(id),
                }),
                Node::ClusterAdmin => admin_path = Some(path_to(id)),
                _ => {}
            }
        }
        (reached, admin_path)
    }
}

fn report_allows_cluster(
    report: &AccessReport,
    verb: &str,
    group: &str,
    resource: &str,
    sub: &str,
) -> bool {
    report
        .cluster_wide
        .iter()
        .any(|g| allows(&g.rule, verb, group, resource, sub).is_some())
}

fn can_write_cluster(report: &AccessReport, resource: &str) -> bool {
    ["create", "update", "patch"].iter().any(|v| {
        report
            .cluster_wide
            .iter()
            .any(|g| allows(&g.rule, v, RBAC_GROUP, resource, "") == Some(Names::All))
    })
}

fn can_update_cluster_role(report: &AccessReport, name: &str) -> bool {
    ["update", "patch"].iter().any(|v| {
        report.cluster_wide.iter().any(|g| {
            allows(&g.rule, v, RBAC_GROUP, "clusterroles", "").is_some_and(|n| n.contains(name))
        })
    })
}

/// Namespaces where the subject may create RoleBindings (limited to `only` when given).
fn namespaces_writable(report: &AccessReport, resource: &str, only: Option<&str>) -> Vec<String> {
    let writes = |g: &Grant| {
        ["create", "update", "patch"]
            .iter()
            .any(|v| allows(&g.rule, v, RBAC_GROUP, resource, "") == Some(Names::All))
    };
    let cluster = report.cluster_wide.iter().any(writes);
    let mut out: BTreeSet<String> = report
        .namespaced
        .iter()
        .filter(|(_, gs)| gs.iter().any(writes))
        .map(|(ns, _)| ns.clone())
        .collect();
    if cluster {
        out.extend(report.namespaced.keys().cloned());
    }
    match only {
        Some(ns) => out.into_iter().filter(|n| n == ns).collect(),
        None => out.into_iter().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::*;

    fn rule(verbs: &[&str], groups: &[&str], resources: &[&str], names: &[&str]) -> PolicyRule {
        PolicyRule::for_resources(verbs, groups, resources, names)
    }

    fn snapshot() -> Snapshot {
        let mut s = Snapshot::empty(
            ClusterInfo {
                name: "t".into(),
                id: None,
                server_version: None,
            },
            chrono::DateTime::from_timestamp(0, 0).unwrap(),
            "t".into(),
        );
        let cr = |name: &str, rules: Vec<PolicyRule>| ClusterRole {
            metadata: ObjectMeta::named(name),
            rules,
            aggregation_rule: None,
        };
        s.cluster_roles = vec![
            cr("cluster-admin", vec![rule(&["*"], &["*"], &["*"], &[])]),
            cr("pod-maker", vec![rule(&["create"], &[""], &["pods"], &[])]),
            cr(
                "token-reader",
                vec![rule(&["get"], &[""], &["secrets"], &["admin-token"])],
            ),
        ];
        let sa = |ns: &str, n: &str| ServiceAccount {
            metadata: ObjectMeta::namespaced(ns, n),
            automount_service_account_token: None,
            secrets: vec![],
            image_pull_secrets: vec![],
        };
        s.service_accounts = vec![sa("ops", "admin"), sa("ops", "dev"), sa("web", "app")];
        let subj = |kind: &str, name: &str, ns: Option<&str>| Subject {
            kind: kind.into(),
            name: name.into(),
            namespace: ns.map(Into::into),
            api_group: None,
        };
        s.cluster_role_bindings = vec![ClusterRoleBinding {
            metadata: ObjectMeta::named("ops-admin"),
            role_ref: RoleRef {
                api_group: "rbac.authorization.k8s.io".into(),
                kind: "ClusterRole".into(),
                name: "cluster-admin".into(),
            },
            subjects: vec![subj("ServiceAccount", "admin", Some("ops"))],
        }];
        s.role_bindings = vec![
            RoleBinding {
                metadata: ObjectMeta::namespaced("ops", "dev-pods"),
                role_ref: RoleRef {
                    api_group: "".into(),
                    kind: "ClusterRole".into(),
                    name: "pod-maker".into(),
                },
                subjects: vec![subj("ServiceAccount", "dev", None)],
            },
            RoleBinding {
                metadata: ObjectMeta::namespaced("ops", "tokens"),
                role_ref: RoleRef {
                    api_group: "".into(),
                    kind: "ClusterRole".into(),
                    name: "token-reader".into(),
                },
                subjects: vec![subj("User", "mallory", None)],
            },
        ];
        s.token_secrets = vec![TokenSecret {
            metadata: ObjectMeta::namespaced("ops", "admin-token"),
            service_account: "admin".into(),
        }];
        s
    }

    #[test]
    fn shortest_paths_through_pods_and_tokens() {
        let s = snapshot();
        let idx = RbacIndex::build(&s);
        let g = ReachGraph::build(&idx, &s);
        assert!(g.binds_admin(&SubjectRef::service_account("ops", "admin")));
        let dev = g
            .path_to_admin(&idx, &SubjectRef::service_account("ops", "dev"))
            .unwrap();
        assert_eq!(dev.len(), 2, "{dev:#?}");
        assert_eq!(
            dev[0].action,
            "create pods in namespace ops, then use ServiceAccount ops/admin"
        );
        assert_eq!(dev[0].to, "ServiceAccount:ops/admin");
        assert_eq!(dev[0].grant.as_ref().unwrap().binding.name, "dev-pods");
        assert_eq!(dev[1].to, "cluster-admin");
        let mallory = g.path_to_admin(&idx, &SubjectRef::user("mallory")).unwrap();
        assert!(
            mallory[0].action.contains("Secret ops/admin-token"),
            "{mallory:#?}"
        );
        assert!(
            g.path_to_admin(&idx, &SubjectRef::service_account("web", "app"))
                .is_none()
        );
        let (reached, admin) = g.reachable_from(&idx, &SubjectRef::service_account("ops", "dev"));
        assert!(
            reached
                .iter()
                .any(|r| r.subject == SubjectRef::service_account("ops", "admin"))
        );
        assert!(admin.is_some());
    }
}
