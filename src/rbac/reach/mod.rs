//! Escalation paths: what each subject can reach beyond its direct grants, and the shortest way
//! from a subject to cluster-admin equivalence, by moves the API server accepts. Every move is
//! listed, with the requests that perform it, in `docs/escalation.md`, and the suite performs
//! them on a real kube-apiserver (`tests/integration/reperformance.rs`).
//!
//! The graph's nodes are identities as the API server sees them, a few hubs ("every
//! ServiceAccount in namespace N", "every running workload in N") and cluster-admin:
//! - `Principal(s)`: a subject acting with its whole identity (a user or ServiceAccount with its
//!   implicit groups; a group on its own), where moves that need several grants at once are
//!   judged (binding, escalating, impersonating groups, client certificates);
//! - `Own(s)`: the grants of bindings that name `s` itself, one edge per capability;
//! - `Composite`: a user with chosen groups, reached by impersonation or a client certificate.
//!
//! The search runs over (node, credential): an identity reached by impersonation acts only
//! through the impersonator's headers, and the API server takes one level of impersonation, so
//! from there no impersonation edge is followed; a token, a pod's mounted token or a
//! certificate is a credential of its own again.
//!
//! Write access to roles or bindings without `bind` or `escalate` is not an edge: the API
//! server refuses to let anyone grant permissions they do not already hold (see [`gains`]).

mod caps;
mod edges;
mod gains;
mod identity;
mod moves;
mod paths;
mod perms;

pub use caps::{is_cluster_admin_rule, server_minor};
pub use moves::{ExecVia, Move};

use crate::rbac::index::{BindingId, Grant, RbacIndex, RoleId};
use crate::rbac::matching::{Names, selector_matches};
use crate::rbac::subject::{AUTHENTICATED, Identity, MASTERS, SA_USER_PREFIX, SubjectRef};
use crate::snapshot::Snapshot;
use caps::{CERTIFICATES_GROUP, CLIENT_SIGNER, Cap, capabilities, is_half, matters};
use gains::{GainContext, self_gains};
use moves::Filler;
use perms::{At, GainStep, Perms, Source};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::Arc;

/// A user acting with chosen groups.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Composite {
    user: SubjectRef,
    groups: Vec<String>,
    /// Through a client certificate (a credential of its own), else impersonated.
    certificate: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Node {
    Principal(SubjectRef),
    Own(SubjectRef),
    Composite(Composite),
    NamespaceServiceAccounts(String),
    AllServiceAccounts,
    RunningWorkloads(String),
    AllRunningWorkloads,
    Targets(Targets),
    ClusterAdmin,
}

/// Everyone one kind of move reaches when it is granted cluster-wide, shared by every holder:
/// the move is on the edge in (a template) and each way out fills in its target, so a grant
/// held by many subjects costs an edge each, not one per subject and target.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Targets {
    /// ServiceAccounts (of these names) whose tokens may be requested.
    Tokens(Names),
    /// ServiceAccounts (of these names) that may be impersonated.
    ImpersonatedServiceAccounts(Names),
    /// Users (of these names) that may be impersonated.
    ImpersonatedUsers(Names),
    /// Existing workload controllers of a resource (of these names) whose pod template may be
    /// changed.
    Retargeted(&'static str, Names),
    /// Users and ServiceAccounts holding anything, as a client certificate may name them.
    Certified,
}

/// The credential a step leaves the actor with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lands {
    /// Unchanged (group membership, a hub).
    Same,
    /// A credential of its own: a token, a pod's token, a certificate.
    Own,
    /// Only through impersonation headers.
    Impersonated,
}

/// Where an edge comes from: a rule of a binding's role (resolved to a grant only when a path
/// is shown), a grant, gains (steps before the move), or nothing (hubs, membership).
#[derive(Debug, Clone)]
enum Provenance {
    None,
    Rule(BindingId, usize),
    Grant(Box<Grant>),
    Steps(Arc<Vec<GainStep>>, Option<Box<Grant>>),
}

impl Provenance {
    /// A move that needs several rules at once: the steps that gave any of them come first
    /// (each once), and the first rule that is a grant names the move's grant.
    fn all(sources: &[Source<'_>]) -> Provenance {
        let mut before: Vec<GainStep> = Vec::new();
        let mut grant = None;
        for s in sources {
            let (steps, g) = s.parts();
            for step in steps {
                if !before.contains(&step) {
                    before.push(step);
                }
            }
            if grant.is_none() {
                grant = g;
            }
        }
        match (before.is_empty(), grant) {
            (true, Some(g)) => Provenance::Grant(Box::new(g)),
            (true, None) => Provenance::None,
            (false, g) => Provenance::Steps(Arc::new(before), g.map(Box::new)),
        }
    }
}

#[derive(Debug, Clone)]
struct Edge {
    to: usize,
    /// The move (a template when `to` is a hub); `None` for a step nobody sees (a subject to
    /// its own grants, a composite to its members' grants).
    mv: Option<Move>,
    /// For an edge out of a hub: what it adds to the move that led into the hub.
    filler: Option<Filler>,
    via: Provenance,
    /// Only with a credential of its own (impersonation).
    needs_own: bool,
    lands: Lands,
}

/// A way from a subject through steps without a grant: the state reached, the (state, edge)
/// steps taken, and the steps they show.
type Prefix = (usize, Vec<(usize, usize)>, u32);

/// One step of an escalation path.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PathStep {
    /// Who takes the step.
    pub from: String,
    /// What they do, in words.
    pub action: String,
    /// What it gives them: an identity, or `cluster-admin`.
    pub to: String,
    /// The grant that makes the step possible (none for implicit steps such as group
    /// membership, and for steps allowed by what an earlier step bound).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant: Option<Grant>,
    /// The step as API requests (see docs/escalation.md), for re-performance.
    #[serde(default, rename = "move", skip_serializing_if = "Option::is_none")]
    pub mv: Option<Move>,
}

/// A subject reachable from another, with the path.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Reached {
    pub subject: SubjectRef,
    pub path: Vec<PathStep>,
}

/// One way into a subject's escalation: the grant of its first step (what a remediation removes
/// to close this way) and the shortest path that starts with it.
#[derive(Debug, Clone)]
pub struct Entry {
    pub grant: Grant,
    pub path: Vec<PathStep>,
}

pub struct ReachGraph {
    nodes: Vec<Node>,
    ids: HashMap<Node, usize>,
    edges: Vec<Vec<Edge>>,
    edge_set: HashSet<(usize, usize, u8)>,
    /// `Own` nodes holding all verbs on all resources cluster-wide through a binding.
    direct_admin: HashSet<usize>,
    /// Per search state (node * 2 + credential, 0 own, 1 impersonated): the next edge on a
    /// shortest path to cluster-admin, and the distance.
    next_to_admin: Vec<Option<usize>>,
    dist_to_admin: Vec<Option<u32>>,
}

/// Lookups over the snapshot the graph is built from.
struct Ctx<'a> {
    admin: usize,
    all_sas: usize,
    all_running: usize,
    minor: Option<u32>,
    namespaces: Vec<String>,
    tokens_by_ns: BTreeMap<&'a str, Vec<(&'a str, &'a str)>>,
    sas_by_ns: BTreeMap<&'a str, Vec<&'a str>>,
    /// ServiceAccounts that exist or that a binding names: impersonation and certificates need
    /// only the username (a token or a pod needs the object).
    named_sas_by_ns: BTreeMap<String, Vec<String>>,
    /// (resource, namespace) -> names of existing workload controllers.
    workloads: BTreeMap<(&'static str, &'a str), Vec<&'a str>>,
    /// Running pods that are their own workload: namespace -> (name, ServiceAccount).
    running_pods: BTreeMap<&'a str, Vec<(&'a str, &'a str)>>,
    users: Vec<SubjectRef>,
    groups: Vec<SubjectRef>,
    /// Subjects whose own grants hold half of a multi-grant move.
    halves: HashSet<SubjectRef>,
    admin_roles: Vec<RoleId>,
    bindings_of_role: HashMap<RoleId, Vec<BindingId>>,
    relevance: HashMap<RoleId, (bool, bool)>,
    roles_by_scope: BTreeMap<Option<String>, Vec<RoleId>>,
    role_named: HashMap<(Option<String>, String), RoleId>,
    aggregated: Vec<(RoleId, Vec<(String, String)>)>,
}

fn state(node: usize, impersonated: bool) -> usize {
    node * 2 + usize::from(impersonated)
}

fn username(s: &SubjectRef) -> String {
    match s {
        SubjectRef::ServiceAccount { namespace, name } => {
            format!("{SA_USER_PREFIX}{namespace}:{name}")
        }
        other => other.name().to_string(),
    }
}

impl ReachGraph {
    pub fn build(index: &RbacIndex, snapshot: &Snapshot) -> ReachGraph {
        let mut g = ReachGraph {
            nodes: Vec::new(),
            ids: HashMap::new(),
            edges: Vec::new(),
            edge_set: HashSet::new(),
            direct_admin: HashSet::new(),
            next_to_admin: Vec::new(),
            dist_to_admin: Vec::new(),
        };
        let mut ctx = g.context(index, snapshot);
        g.add_service_account_hubs(&ctx);
        g.add_running_workload_hubs(snapshot);
        // `system:masters` bypasses RBAC.
        let masters = g.node(Node::Own(SubjectRef::group(MASTERS)));
        g.edge(
            masters,
            ctx.admin,
            Some(Move::UseClusterAdmin),
            Provenance::None,
            Lands::Same,
        );
        g.add_binding_capabilities(index, &mut ctx);
        let subjects = index.all_subjects();
        g.add_principals(&subjects);
        g.add_identity_moves(index, &ctx, &subjects);
        g.solve(ctx.admin);
        g
    }

    fn context<'s>(&mut self, index: &RbacIndex, snapshot: &'s Snapshot) -> Ctx<'s> {
        let admin = self.node(Node::ClusterAdmin);
        let all_sas = self.node(Node::AllServiceAccounts);
        let all_running = self.node(Node::AllRunningWorkloads);
        let mut tokens_by_ns: BTreeMap<&str, Vec<(&str, &str)>> = BTreeMap::new();
        for t in &snapshot.token_secrets {
            tokens_by_ns
                .entry(t.metadata.ns())
                .or_default()
                .push((t.metadata.name.as_str(), t.service_account.as_str()));
        }
        let mut sas_by_ns: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for s in &snapshot.service_accounts {
            sas_by_ns
                .entry(s.metadata.ns())
                .or_default()
                .push(s.metadata.name.as_str());
        }
        let mut workloads: BTreeMap<(&'static str, &str), Vec<&str>> = BTreeMap::new();
        let mut running_pods: BTreeMap<&str, Vec<(&str, &str)>> = BTreeMap::new();
        for w in &snapshot.workloads {
            if let Some((_, resource, _, _)) = caps::WORKLOADS
                .iter()
                .find(|(_, _, kind, _)| *kind == w.kind)
            {
                workloads
                    .entry((resource, w.namespace.as_str()))
                    .or_default()
                    .push(w.name.as_str());
            }
            if w.kind == "Pod" && w.pods > 0 {
                running_pods
                    .entry(w.namespace.as_str())
                    .or_default()
                    .push((w.name.as_str(), w.service_account.as_str()));
            }
        }
        let mut namespaces: BTreeSet<String> = index.namespaces.iter().cloned().collect();
        namespaces.extend(sas_by_ns.keys().map(|n| n.to_string()));
        namespaces.extend(index.bindings.iter().filter_map(|b| b.namespace.clone()));
        namespaces.extend(index.roles.iter().filter_map(|r| r.namespace.clone()));
        namespaces.extend(snapshot.workloads.iter().map(|w| w.namespace.clone()));
        let subjects = index.all_subjects();
        let mut named_sas_by_ns: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for s in &subjects {
            if let SubjectRef::ServiceAccount { namespace, name } = s {
                named_sas_by_ns
                    .entry(namespace.clone())
                    .or_default()
                    .push(name.clone());
            }
        }
        let minor = caps::server_minor(snapshot.cluster.server_version.as_deref());
        let mut bindings_of_role: HashMap<RoleId, Vec<BindingId>> = HashMap::new();
        for (bid, b) in index.bindings.iter().enumerate() {
            if let Ok(r) = b.role {
                bindings_of_role.entry(r).or_default().push(bid);
            }
        }
        let relevance = index
            .roles
            .iter()
            .enumerate()
            .map(|(id, r)| {
                let cluster = r.rules.iter().any(|x| matters(&x.rule, true, minor));
                let ns = r.rules.iter().any(|x| matters(&x.rule, false, minor));
                (id, (cluster, ns))
            })
            .filter(|(_, (c, n))| *c || *n)
            .collect();
        let mut roles_by_scope: BTreeMap<Option<String>, Vec<RoleId>> = BTreeMap::new();
        let mut role_named = HashMap::new();
        for (id, r) in index.roles.iter().enumerate() {
            roles_by_scope
                .entry(r.namespace.clone())
                .or_default()
                .push(id);
            role_named.insert((r.namespace.clone(), r.name.clone()), id);
        }
        Ctx {
            admin,
            all_sas,
            all_running,
            minor,
            namespaces: namespaces.into_iter().collect(),
            tokens_by_ns,
            sas_by_ns,
            named_sas_by_ns,
            workloads,
            running_pods,
            users: subjects
                .iter()
                .filter(|s| matches!(s, SubjectRef::User { .. }))
                .cloned()
                .collect(),
            groups: subjects
                .iter()
                .filter(|s| matches!(s, SubjectRef::Group { .. }))
                .cloned()
                .collect(),
            halves: HashSet::new(),
            admin_roles: index
                .roles
                .iter()
                .enumerate()
                .filter(|(_, r)| r.rules.iter().any(|x| is_cluster_admin_rule(&x.rule)))
                .map(|(id, _)| id)
                .collect(),
            bindings_of_role,
            relevance,
            roles_by_scope,
            role_named,
            aggregated: aggregation_labels(index, snapshot),
        }
    }

    /// Every ServiceAccount, under its namespace's hub and the hub of all ServiceAccounts (who
    /// may run a pod in a namespace may run it as any of its ServiceAccounts).
    fn add_service_account_hubs(&mut self, ctx: &Ctx<'_>) {
        for (ns, names) in &ctx.sas_by_ns {
            let hub = self.node(Node::NamespaceServiceAccounts(ns.to_string()));
            self.edge(ctx.all_sas, hub, None, Provenance::None, Lands::Same);
            for n in names {
                let sa = self.node(Node::Principal(SubjectRef::service_account(*ns, *n)));
                let e = self.edge(hub, sa, None, Provenance::None, Lands::Own);
                if let Some(e) = e {
                    self.edges[hub][e].filler = Some(Filler::ServiceAccount {
                        namespace: ns.to_string(),
                        name: n.to_string(),
                    });
                }
            }
        }
    }

    /// Every running workload, under its namespace's hub and the hub of all of them (who may run
    /// a command in a pod acts as its ServiceAccount).
    fn add_running_workload_hubs(&mut self, snapshot: &Snapshot) {
        let all_running = self.node(Node::AllRunningWorkloads);
        let mut running: BTreeMap<&str, BTreeSet<(&str, &str, &str)>> = BTreeMap::new();
        for w in snapshot.workloads.iter().filter(|w| w.pods > 0) {
            running
                .entry(&w.namespace)
                .or_default()
                .insert((&w.kind, &w.name, &w.service_account));
        }
        for (ns, ws) in &running {
            let hub = self.node(Node::RunningWorkloads(ns.to_string()));
            self.edge(all_running, hub, None, Provenance::None, Lands::Same);
            for (kind, name, sa) in ws {
                let to = self.node(Node::Principal(SubjectRef::service_account(*ns, *sa)));
                if let Some(e) = self.edge(hub, to, None, Provenance::None, Lands::Own) {
                    self.edges[hub][e].filler = Some(Filler::Running {
                        namespace: ns.to_string(),
                        kind: kind.to_string(),
                        name: name.to_string(),
                        service_account: sa.to_string(),
                    });
                }
            }
        }
    }

    /// Every binding hands its role's capabilities (computed once per role and scope) to each
    /// of its subjects' `Own` node, and marks subjects holding half of a multi-grant move.
    fn add_binding_capabilities(&mut self, index: &RbacIndex, ctx: &mut Ctx<'_>) {
        // Per (role, cluster-wide): its capabilities with their rule, and whether it holds a half.
        type RoleCaps = (Vec<(usize, Cap)>, bool);
        let mut cache: HashMap<(usize, bool), RoleCaps> = HashMap::new();
        for (bid, b) in index.bindings.iter().enumerate() {
            let Ok(role_id) = b.role else { continue };
            let role = &index.roles[role_id];
            let minor = ctx.minor;
            let (caps, half) = cache.entry((role_id, b.cluster)).or_insert_with(|| {
                let caps = role
                    .rules
                    .iter()
                    .enumerate()
                    .flat_map(|(i, r)| {
                        capabilities(&r.rule, b.cluster, minor)
                            .into_iter()
                            .map(move |c| (i, c))
                    })
                    .collect();
                (caps, role.rules.iter().any(|r| is_half(&r.rule)))
            });
            let (caps, half) = (caps.clone(), *half);
            for subject in b.resolved.iter().flatten() {
                if half {
                    ctx.halves.insert(subject.clone());
                }
                if caps.is_empty() {
                    continue;
                }
                let from = self.node(Node::Own(subject.clone()));
                for (rule_idx, cap) in &caps {
                    let via = Provenance::Rule(bid, *rule_idx);
                    if matches!(cap, Cap::Admin) {
                        self.direct_admin.insert(from);
                    }
                    self.add_cap(from, cap, b.namespace.as_deref(), via, ctx);
                }
            }
        }
    }

    /// A subject acts with its own grants and its implicit groups' (only groups with edges).
    fn add_principals(&mut self, subjects: &BTreeSet<SubjectRef>) {
        for s in subjects {
            let p = self.node(Node::Principal(s.clone()));
            if let Some(own) = self.ids.get(&Node::Own(s.clone())).copied() {
                self.edge(p, own, None, Provenance::None, Lands::Same);
            }
            if matches!(s, SubjectRef::Group { .. }) {
                continue;
            }
            for group in Identity::of(s, &[]).groups {
                if let Some(own) = self.ids.get(&Node::Own(SubjectRef::group(&group))).copied()
                    && !self.edges[own].is_empty()
                {
                    self.edge(
                        p,
                        own,
                        Some(Move::MemberOf { group }),
                        Provenance::None,
                        Lands::Same,
                    );
                }
            }
        }
    }

    /// The node of `user` acting with `groups` (and `system:authenticated`), linked to their
    /// grants.
    fn composite(
        &mut self,
        user: &SubjectRef,
        groups: &[String],
        certificate: bool,
    ) -> (usize, Identity) {
        let mut all: Vec<String> = groups.to_vec();
        if !all.iter().any(|g| g == AUTHENTICATED) {
            all.push(AUTHENTICATED.to_string());
        }
        all.sort();
        all.dedup();
        let node = self.node(Node::Composite(Composite {
            user: user.clone(),
            groups: groups.to_vec(),
            certificate,
        }));
        let mut members = vec![user.clone()];
        members.extend(all.iter().map(SubjectRef::group));
        for m in members {
            if let Some(own) = self.ids.get(&Node::Own(m)).copied() {
                self.edge(node, own, None, Provenance::None, Lands::Same);
            }
        }
        let identity = Identity {
            subject: user.clone(),
            username: username(user),
            groups: all,
        };
        (node, identity)
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

    fn edge(
        &mut self,
        from: usize,
        to: usize,
        mv: Option<Move>,
        via: Provenance,
        lands: Lands,
    ) -> Option<usize> {
        self.edge_full(from, to, mv, via, false, lands)
    }

    /// Adds an edge unless one like it is there; returns its position.
    fn edge_full(
        &mut self,
        from: usize,
        to: usize,
        mv: Option<Move>,
        via: Provenance,
        needs_own: bool,
        lands: Lands,
    ) -> Option<usize> {
        let kind = match (needs_own, lands) {
            (false, Lands::Same) => 0,
            (false, Lands::Own) => 1,
            (false, Lands::Impersonated) => 2,
            (true, Lands::Same) => 3,
            (true, Lands::Own) => 4,
            (true, Lands::Impersonated) => 5,
        };
        if from == to || !self.edge_set.insert((from, to, kind)) {
            return None;
        }
        self.edges[from].push(Edge {
            to,
            mv,
            filler: None,
            via,
            needs_own,
            lands,
        });
        Some(self.edges[from].len() - 1)
    }
}

/// Aggregated ClusterRoles, each with labels that make another ClusterRole part of it (the
/// first selector without expressions: its `matchLabels`, which may be empty and then match
/// every ClusterRole).
fn aggregation_labels(
    index: &RbacIndex,
    snapshot: &Snapshot,
) -> Vec<(RoleId, Vec<(String, String)>)> {
    let mut out = Vec::new();
    for cr in &snapshot.cluster_roles {
        let Some(rule) = &cr.aggregation_rule else {
            continue;
        };
        let Some(sel) = rule
            .cluster_role_selectors
            .iter()
            .find(|s| s.match_expressions.is_empty())
        else {
            continue;
        };
        let labels: BTreeMap<String, String> = sel.match_labels.clone();
        debug_assert!(selector_matches(sel, &labels));
        if let Some(id) = index
            .roles
            .iter()
            .position(|r| r.namespace.is_none() && r.name == cr.metadata.name)
        {
            out.push((id, labels.into_iter().collect()));
        }
    }
    out
}

/// The namespaces (of a lookup) a namespaced capability applies in.
fn in_scope<V>(ns: Option<&str>, m: &BTreeMap<&str, V>) -> Vec<String> {
    match ns {
        Some(n) => vec![n.to_string()],
        None => m.keys().map(|k| k.to_string()).collect(),
    }
}

#[cfg(test)]
mod tests;
