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
mod gains;
mod moves;
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

    /// Moves judged on a whole identity, for subjects holding half of one (and the composite
    /// identities those moves reach, in turn).
    fn add_identity_moves(
        &mut self,
        index: &RbacIndex,
        ctx: &Ctx<'_>,
        subjects: &BTreeSet<SubjectRef>,
    ) {
        let gctx = GainContext {
            index,
            namespaces: &ctx.namespaces,
            admin_roles: &ctx.admin_roles,
            bindings_of_role: &ctx.bindings_of_role,
            relevance: &ctx.relevance,
            aggregated: &ctx.aggregated,
            roles_by_scope: &ctx.roles_by_scope,
            role_named: &ctx.role_named,
        };
        let mut queue: VecDeque<(usize, Identity)> = VecDeque::new();
        for s in subjects {
            let identity = Identity::of(s, &[]);
            let half = ctx.halves.contains(s)
                || identity
                    .groups
                    .iter()
                    .any(|g| ctx.halves.contains(&SubjectRef::group(g)));
            if half {
                let p = self.node(Node::Principal(s.clone()));
                queue.push_back((p, identity));
            }
        }
        let mut done: HashSet<usize> = HashSet::new();
        while let Some((node, identity)) = queue.pop_front() {
            if !done.insert(node) {
                continue;
            }
            let report = index.access(&identity);
            // Already cluster-admin: nothing to gain.
            if report.bypasses_rbac
                || report
                    .cluster_wide
                    .iter()
                    .any(|g| is_cluster_admin_rule(&g.rule))
            {
                continue;
            }
            let binds_as = match &self.nodes[node] {
                Node::Composite(c) => c.user.clone(),
                _ => identity.subject.clone(),
            };
            let gained = self_gains(&gctx, &identity, &binds_as, &report);
            for gain in &gained {
                let via = Provenance::Steps(gain.steps.clone(), None);
                for cap in capabilities(&gain.rule, gain.namespace.is_none(), ctx.minor) {
                    self.add_cap(node, &cap, gain.namespace.as_deref(), via.clone(), ctx);
                }
            }
            let perms = Perms {
                report: &report,
                gains: &gained,
            };
            for (composite, id) in self.impersonation_with_groups(node, &perms, ctx) {
                queue.push_back((composite, id));
            }
            for (composite, id) in self.client_certificates(node, &perms, ctx) {
                queue.push_back((composite, id));
            }
        }
    }

    /// Impersonating groups needs a user (or ServiceAccount) to impersonate as well; the
    /// request then carries exactly the named groups and `system:authenticated`.
    fn impersonation_with_groups(
        &mut self,
        from: usize,
        perms: &Perms<'_>,
        ctx: &Ctx<'_>,
    ) -> Vec<(usize, Identity)> {
        let Some(group_names) = perms.names("impersonate", "", "groups", "", At::Cluster) else {
            return Vec::new();
        };
        let targets = self.impersonable(perms, ctx);
        let Some((first, first_source)) = targets.first().cloned() else {
            return Vec::new();
        };
        let group_source =
            |g: &str| perms.source("impersonate", "", "groups", "", At::Cluster, Some(g));
        if let Some(src) = group_source(MASTERS) {
            // Both halves: the group's rule names the move, and whatever gave either comes first.
            let mut sources = vec![src];
            sources.extend(first_source);
            let via = Provenance::all(&sources);
            self.edge_full(
                from,
                ctx.admin,
                Some(Move::Impersonate {
                    user: username(&first),
                    groups: vec![MASTERS.to_string()],
                }),
                via,
                true,
                Lands::Impersonated,
            );
            return Vec::new();
        }
        let groups: Vec<String> = ctx
            .groups
            .iter()
            .map(|g| g.name().to_string())
            .filter(|g| group_names.contains(g) && g != MASTERS)
            .filter(|g| {
                self.ids
                    .get(&Node::Own(SubjectRef::group(g)))
                    .is_some_and(|id| !self.edges[*id].is_empty())
                    || ctx.halves.contains(&SubjectRef::group(g))
            })
            .collect();
        if groups.is_empty() {
            return Vec::new();
        }
        let mut out = Vec::new();
        for (target, user_source) in targets {
            let mut sources: Vec<Source<'_>> =
                groups.iter().filter_map(|g| group_source(g)).collect();
            sources.extend(user_source);
            let via = Provenance::all(&sources);
            let (node, identity) = self.composite(&target, &groups, false);
            self.edge_full(
                from,
                node,
                Some(Move::Impersonate {
                    user: username(&target),
                    groups: groups.clone(),
                }),
                via.clone(),
                true,
                Lands::Impersonated,
            );
            out.push((node, identity));
        }
        out
    }

    /// Users and ServiceAccounts the identity may impersonate that matter (they hold something,
    /// or are a user bound nowhere, to carry groups), each with the rule that allows it.
    fn impersonable<'p>(
        &self,
        perms: &Perms<'p>,
        ctx: &Ctx<'_>,
    ) -> Vec<(SubjectRef, Option<Source<'p>>)> {
        let matters = |s: &SubjectRef| {
            self.ids
                .get(&Node::Own(s.clone()))
                .is_some_and(|id| !self.edges[*id].is_empty())
                || ctx.halves.contains(s)
        };
        let mut out = Vec::new();
        let users = perms.names("impersonate", "", "users", "", At::Cluster);
        if let Some(names) = &users {
            for u in &ctx.users {
                if names.contains(u.name()) && matters(u) {
                    let src =
                        perms.source("impersonate", "", "users", "", At::Cluster, Some(u.name()));
                    out.push((u.clone(), src));
                }
            }
            // A user bound nowhere, to carry the groups: any name `impersonate` allows.
            let free = match names {
                Names::All => Some("kube-evidence-impersonated".to_string()),
                Names::Some(list) => list
                    .iter()
                    .find(|n| !ctx.users.iter().any(|u| u.name() == n.as_str()))
                    .cloned()
                    .or_else(|| list.first().cloned()),
            };
            if let Some(name) = free {
                let src = perms.source("impersonate", "", "users", "", At::Cluster, Some(&name));
                out.push((SubjectRef::user(name), src));
            }
        }
        for ns in perms.namespaces(&ctx.namespaces) {
            for sa in ctx.named_sas_by_ns.get(ns).into_iter().flatten() {
                if let Some(src) = perms.source(
                    "impersonate",
                    "",
                    "serviceaccounts",
                    "",
                    At::Namespace(ns),
                    Some(sa),
                ) {
                    let s = SubjectRef::service_account(ns, sa);
                    if matters(&s) || out.is_empty() {
                        out.push((s, Some(src)));
                    }
                }
            }
        }
        out
    }

    /// Creating a CSR for signer kubernetes.io/kube-apiserver-client, approving it (`update`
    /// of the approval and `approve` on the signer) gives a certificate for any user and groups
    /// but `system:masters` (the CertificateSubjectRestriction admission plugin refuses that).
    fn client_certificates(
        &mut self,
        from: usize,
        perms: &Perms<'_>,
        ctx: &Ctx<'_>,
    ) -> Vec<(usize, Identity)> {
        let create = perms.source(
            "create",
            CERTIFICATES_GROUP,
            "certificatesigningrequests",
            "",
            At::Cluster,
            None,
        );
        // The approval of a CSR the identity names itself: any name its rule allows.
        let approval = ["update", "patch"].iter().find_map(|v| {
            let name = match perms.names(
                v,
                CERTIFICATES_GROUP,
                "certificatesigningrequests",
                "approval",
                At::Cluster,
            )? {
                Names::All => None,
                Names::Some(list) => list.first().cloned(),
            };
            perms.source(
                v,
                CERTIFICATES_GROUP,
                "certificatesigningrequests",
                "approval",
                At::Cluster,
                name.as_deref(),
            )
        });
        let signer = perms
            .source(
                "approve",
                CERTIFICATES_GROUP,
                "signers",
                "",
                At::Cluster,
                Some(CLIENT_SIGNER),
            )
            .or_else(|| {
                perms.source(
                    "approve",
                    CERTIFICATES_GROUP,
                    "signers",
                    "",
                    At::Cluster,
                    Some("kubernetes.io/*"),
                )
            });
        let (Some(create), Some(approval), Some(signer)) = (create, approval, signer) else {
            return Vec::new();
        };
        let via = Provenance::all(&[signer, create, approval]);
        // As each user or ServiceAccount that holds anything (through the hub all certificate
        // holders share), and as a user bound nowhere in every group that holds anything.
        let hub = self.targets(Targets::Certified, ctx);
        self.edge(
            from,
            hub,
            Some(Move::ClientCertificate {
                user: String::new(),
                groups: Vec::new(),
            }),
            via.clone(),
            Lands::Same,
        );
        let groups: Vec<String> = ctx
            .groups
            .iter()
            .map(|g| g.name().to_string())
            .filter(|g| g != MASTERS)
            .filter(|g| {
                self.ids
                    .get(&Node::Own(SubjectRef::group(g)))
                    .is_some_and(|id| !self.edges[*id].is_empty())
                    || ctx.halves.contains(&SubjectRef::group(g))
            })
            .collect();
        if groups.is_empty() {
            return Vec::new();
        }
        let user = SubjectRef::user("kube-evidence-certificate");
        let (node, identity) = self.composite(&user, &groups, true);
        self.edge_full(
            from,
            node,
            Some(Move::ClientCertificate {
                user: user.name().to_string(),
                groups,
            }),
            via,
            false,
            Lands::Own,
        );
        vec![(node, identity)]
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

    /// The edges one capability in one scope (`ns`; `None`: cluster-wide) gives.
    fn add_cap(
        &mut self,
        from: usize,
        cap: &Cap,
        ns: Option<&str>,
        via: Provenance,
        ctx: &Ctx<'_>,
    ) {
        match cap {
            Cap::Admin => {
                self.edge(
                    from,
                    ctx.admin,
                    Some(Move::UseClusterAdmin),
                    via,
                    Lands::Same,
                );
            }
            Cap::RunWorkload(resource) => {
                let target = match ns {
                    None => ctx.all_sas,
                    Some(n) => self.node(Node::NamespaceServiceAccounts(n.to_string())),
                };
                let mv = Move::RunWorkload {
                    resource: resource.to_string(),
                    namespace: ns.unwrap_or_default().to_string(),
                    service_account: String::new(),
                };
                self.edge(from, target, Some(mv), via, Lands::Same);
            }
            Cap::RetargetWorkload(resource, names) if ns.is_none() => {
                let hub = self.targets(Targets::Retargeted(resource, names.clone()), ctx);
                let mv = Move::RetargetWorkload {
                    resource: resource.to_string(),
                    namespace: String::new(),
                    name: String::new(),
                    service_account: String::new(),
                };
                self.edge(from, hub, Some(mv), via, Lands::Same);
            }
            Cap::RetargetWorkload(resource, names) => {
                self.retarget_edges(from, resource, names, ns, via, ctx);
            }
            Cap::Token(names) if ns.is_none() => {
                let hub = self.targets(Targets::Tokens(names.clone()), ctx);
                let mv = Move::RequestToken {
                    namespace: String::new(),
                    service_account: String::new(),
                };
                self.edge(from, hub, Some(mv), via, Lands::Same);
            }
            Cap::Token(names) => self.token_edges(from, names, ns, via, ctx),
            Cap::ReadSecrets(verb, names) => self.secret_edges(from, verb, names, ns, via, ctx),
            Cap::Exec(how, names) => self.exec_edges(from, *how, names, ns, via, ctx),
            Cap::ImpersonateServiceAccounts(names) if ns.is_none() => {
                let hub = self.targets(Targets::ImpersonatedServiceAccounts(names.clone()), ctx);
                self.impersonation_into(from, hub, via);
            }
            Cap::ImpersonateServiceAccounts(names) => {
                self.impersonated_sa_edges(from, names, ns, via, ctx);
            }
            Cap::ImpersonateUsers(names) => {
                let hub = self.targets(Targets::ImpersonatedUsers(names.clone()), ctx);
                self.impersonation_into(from, hub, via);
            }
        }
    }

    /// A namespaced grant of updating workloads: an edge into each namespace where one of the
    /// named workloads exists and has ServiceAccounts to run as.
    fn retarget_edges(
        &mut self,
        from: usize,
        resource: &'static str,
        names: &Names,
        ns: Option<&str>,
        via: Provenance,
        ctx: &Ctx<'_>,
    ) {
        let namespaces: Vec<&str> = match ns {
            Some(n) => vec![n],
            None => ctx.namespaces.iter().map(String::as_str).collect(),
        };
        for n in namespaces {
            let Some(existing) = ctx.workloads.get(&(resource, n)) else {
                continue;
            };
            let Some(name) = existing.iter().find(|w| names.contains(w)) else {
                continue;
            };
            if !ctx.sas_by_ns.contains_key(n) {
                continue;
            }
            let target = self.node(Node::NamespaceServiceAccounts(n.to_string()));
            let mv = Move::RetargetWorkload {
                resource: resource.to_string(),
                namespace: n.to_string(),
                name: name.to_string(),
                service_account: String::new(),
            };
            self.edge(from, target, Some(mv), via.clone(), Lands::Same);
        }
    }

    /// A namespaced grant of `serviceaccounts/token`: an edge to each named ServiceAccount.
    fn token_edges(
        &mut self,
        from: usize,
        names: &Names,
        ns: Option<&str>,
        via: Provenance,
        ctx: &Ctx<'_>,
    ) {
        for n in in_scope(ns, &ctx.sas_by_ns) {
            for sa in ctx.sas_by_ns.get(n.as_str()).into_iter().flatten() {
                if names.contains(sa) {
                    let to = self.node(Node::Principal(SubjectRef::service_account(&n, *sa)));
                    let mv = Move::RequestToken {
                        namespace: n.clone(),
                        service_account: sa.to_string(),
                    };
                    self.edge(from, to, Some(mv), via.clone(), Lands::Own);
                }
            }
        }
    }

    /// Reading Secrets: an edge to the ServiceAccount of each named legacy token Secret.
    fn secret_edges(
        &mut self,
        from: usize,
        verb: &'static str,
        names: &Names,
        ns: Option<&str>,
        via: Provenance,
        ctx: &Ctx<'_>,
    ) {
        for n in in_scope(ns, &ctx.tokens_by_ns) {
            for (secret, sa) in ctx.tokens_by_ns.get(n.as_str()).into_iter().flatten() {
                if names.contains(secret) && !sa.is_empty() {
                    let to = self.node(Node::Principal(SubjectRef::service_account(&n, *sa)));
                    let mv = Move::ReadTokenSecret {
                        verb: verb.to_string(),
                        namespace: n.clone(),
                        secret: secret.to_string(),
                        service_account: sa.to_string(),
                    };
                    self.edge(from, to, Some(mv), via.clone(), Lands::Own);
                }
            }
        }
    }

    /// Running commands in pods: into the running workloads' hub, or to the ServiceAccount of
    /// each named pod.
    fn exec_edges(
        &mut self,
        from: usize,
        how: ExecVia,
        names: &Names,
        ns: Option<&str>,
        via: Provenance,
        ctx: &Ctx<'_>,
    ) {
        let template = Move::ExecInPod {
            via: how,
            namespace: String::new(),
            workload_kind: String::new(),
            workload: String::new(),
            service_account: String::new(),
        };
        match (names, ns) {
            (Names::All, None) => {
                self.edge(from, ctx.all_running, Some(template), via, Lands::Same);
            }
            (Names::All, Some(n)) => {
                let hub = self.node(Node::RunningWorkloads(n.to_string()));
                self.edge(from, hub, Some(template), via, Lands::Same);
            }
            // Named pods (of nodes/proxy, named nodes: the snapshot has no node names).
            (Names::Some(list), _) if how != ExecVia::NodeProxy => {
                for n in in_scope(ns, &ctx.running_pods) {
                    for (pod, sa) in ctx.running_pods.get(n.as_str()).into_iter().flatten() {
                        if list.iter().any(|x| x == pod) {
                            let to =
                                self.node(Node::Principal(SubjectRef::service_account(&n, *sa)));
                            let mv = template.filled(&Filler::Running {
                                namespace: n.clone(),
                                kind: "Pod".into(),
                                name: pod.to_string(),
                                service_account: sa.to_string(),
                            });
                            self.edge(from, to, Some(mv), via.clone(), Lands::Own);
                        }
                    }
                }
            }
            _ => {}
        }
    }

    /// A namespaced grant of impersonating ServiceAccounts: an edge to each named one.
    fn impersonated_sa_edges(
        &mut self,
        from: usize,
        names: &Names,
        ns: Option<&str>,
        via: Provenance,
        ctx: &Ctx<'_>,
    ) {
        let namespaces: Vec<String> = match ns {
            Some(n) => vec![n.to_string()],
            None => ctx.named_sas_by_ns.keys().cloned().collect(),
        };
        for n in namespaces {
            for sa in ctx.named_sas_by_ns.get(n.as_str()).into_iter().flatten() {
                if names.contains(sa) {
                    let s = SubjectRef::service_account(&n, sa);
                    let to = self.node(Node::Principal(s.clone()));
                    let mv = Move::Impersonate {
                        user: username(&s),
                        groups: Vec::new(),
                    };
                    self.edge_full(from, to, Some(mv), via.clone(), true, Lands::Impersonated);
                }
            }
        }
    }

    /// The edge into a hub of identities to impersonate: it needs a credential of its own and
    /// leaves the actor acting through impersonation headers.
    fn impersonation_into(&mut self, from: usize, hub: usize, via: Provenance) {
        let mv = Move::Impersonate {
            user: String::new(),
            groups: Vec::new(),
        };
        self.edge_full(from, hub, Some(mv), via, true, Lands::Impersonated);
    }

    /// The hub of a kind of cluster-wide move, made with its ways out the first time it is
    /// asked for.
    fn targets(&mut self, targets: Targets, ctx: &Ctx<'_>) -> usize {
        if let Some(id) = self.ids.get(&Node::Targets(targets.clone())) {
            return *id;
        }
        let hub = self.node(Node::Targets(targets.clone()));
        // (target node, what it fills in, the credential it leaves)
        let mut out: Vec<(Node, Filler, Lands)> = Vec::new();
        match &targets {
            Targets::Tokens(names) => {
                for (ns, sas) in &ctx.sas_by_ns {
                    for sa in sas.iter().filter(|sa| names.contains(sa)) {
                        out.push((
                            Node::Principal(SubjectRef::service_account(*ns, *sa)),
                            Filler::ServiceAccount {
                                namespace: ns.to_string(),
                                name: sa.to_string(),
                            },
                            Lands::Own,
                        ));
                    }
                }
            }
            Targets::ImpersonatedServiceAccounts(names) => {
                for (ns, sas) in &ctx.named_sas_by_ns {
                    for sa in sas.iter().filter(|sa| names.contains(sa)) {
                        let s = SubjectRef::service_account(ns, sa);
                        let user = username(&s);
                        out.push((
                            Node::Principal(s),
                            Filler::Identity {
                                user,
                                groups: Vec::new(),
                            },
                            Lands::Same,
                        ));
                    }
                }
            }
            Targets::ImpersonatedUsers(names) => {
                for u in ctx.users.iter().filter(|u| names.contains(u.name())) {
                    out.push((
                        Node::Principal(u.clone()),
                        Filler::Identity {
                            user: u.name().to_string(),
                            groups: Vec::new(),
                        },
                        Lands::Same,
                    ));
                }
            }
            Targets::Retargeted(resource, names) => {
                for n in &ctx.namespaces {
                    let Some(existing) = ctx.workloads.get(&(*resource, n.as_str())) else {
                        continue;
                    };
                    let Some(name) = existing.iter().find(|w| names.contains(w)) else {
                        continue;
                    };
                    if !ctx.sas_by_ns.contains_key(n.as_str()) {
                        continue;
                    }
                    out.push((
                        Node::NamespaceServiceAccounts(n.clone()),
                        Filler::Workload {
                            namespace: n.clone(),
                            name: name.to_string(),
                        },
                        Lands::Same,
                    ));
                }
            }
            Targets::Certified => {
                for t in self.certifiable(ctx) {
                    let groups = match &t {
                        SubjectRef::ServiceAccount { .. } => Identity::of(&t, &[])
                            .groups
                            .into_iter()
                            .filter(|g| g != AUTHENTICATED)
                            .collect(),
                        _ => Vec::new(),
                    };
                    let user = username(&t);
                    out.push((
                        Node::Principal(t),
                        Filler::Identity { user, groups },
                        Lands::Own,
                    ));
                }
            }
        }
        for (node, filler, lands) in out {
            let to = self.node(node);
            if let Some(e) = self.edge(hub, to, None, Provenance::None, lands) {
                self.edges[hub][e].filler = Some(filler);
            }
        }
        hub
    }

    /// Users and ServiceAccounts a client certificate may name that matter: they hold
    /// something (a ServiceAccount's certificate names its groups).
    fn certifiable(&self, ctx: &Ctx<'_>) -> Vec<SubjectRef> {
        let mut targets: Vec<SubjectRef> = ctx.users.clone();
        for (ns, names) in &ctx.named_sas_by_ns {
            targets.extend(names.iter().map(|n| SubjectRef::service_account(ns, n)));
        }
        targets.retain(|t| {
            self.ids
                .get(&Node::Own(t.clone()))
                .is_some_and(|own| !self.edges[*own].is_empty() || ctx.halves.contains(t))
        });
        targets
    }

    /// How many steps an edge shows: none for a hub's way out and for unseen steps, one for a
    /// move, plus the steps an earlier binding took to allow it. Paths are shortest in these.
    fn weight(&self, from: usize, e: &Edge) -> u32 {
        if self.is_hub(from) || e.mv.is_none() {
            return 0;
        }
        match &e.via {
            Provenance::Steps(before, _) => 1 + before.len() as u32,
            _ => 1,
        }
    }

    /// Shortest paths backwards from cluster-admin over (node, credential), in steps: every
    /// state's distance and next edge. States are settled in order of distance, ties broken by
    /// node, so the chosen path does not depend on the order objects were read in.
    fn solve(&mut self, admin: usize) {
        let n = self.nodes.len() * 2;
        let mut reverse: Vec<Vec<(usize, usize)>> = vec![Vec::new(); n];
        for (from, es) in self.edges.iter().enumerate() {
            for (i, e) in es.iter().enumerate() {
                for imp in [false, true] {
                    if let Some(to) = self.after(state(from, imp), e) {
                        reverse[to].push((state(from, imp), i));
                    }
                }
            }
        }
        for preds in &mut reverse {
            preds.sort_by(|a, b| {
                self.nodes[a.0 / 2]
                    .cmp(&self.nodes[b.0 / 2])
                    .then(a.0.cmp(&b.0))
                    .then(a.1.cmp(&b.1))
            });
        }
        self.next_to_admin = vec![None; n];
        self.dist_to_admin = vec![None; n];
        let mut settled = vec![false; n];
        let mut buckets: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
        for imp in [false, true] {
            self.dist_to_admin[state(admin, imp)] = Some(0);
            buckets.entry(0).or_default().push(state(admin, imp));
        }
        while let Some((d, mut work)) = buckets.pop_first() {
            let mut i = 0;
            while i < work.len() {
                let cur = work[i];
                i += 1;
                if settled[cur] || self.dist_to_admin[cur] != Some(d) {
                    continue;
                }
                settled[cur] = true;
                for &(from, edge_idx) in &reverse[cur] {
                    let w = self.weight(from / 2, &self.edges[from / 2][edge_idx]);
                    let nd = d + w;
                    if self.dist_to_admin[from].is_none_or(|x| nd < x) {
                        self.dist_to_admin[from] = Some(nd);
                        self.next_to_admin[from] = Some(edge_idx);
                        if w == 0 {
                            work.push(from);
                        } else {
                            buckets.entry(nd).or_default().push(from);
                        }
                    }
                }
            }
        }
    }

    /// The state an edge leads to from a state.
    fn after(&self, from_state: usize, e: &Edge) -> Option<usize> {
        let imp = from_state % 2 == 1;
        if e.needs_own && imp {
            return None;
        }
        let lands = match e.lands {
            Lands::Same => imp,
            Lands::Own => false,
            Lands::Impersonated => true,
        };
        Some(state(e.to, lands))
    }

    fn label(&self, st: usize) -> String {
        let imp = st % 2 == 1;
        let base = match &self.nodes[st / 2] {
            Node::Principal(s) | Node::Own(s) => s.to_string(),
            Node::Composite(c) => {
                format!("{} with group(s) {}", c.user, c.groups.join(", "))
            }
            Node::NamespaceServiceAccounts(ns) => format!("every ServiceAccount in namespace {ns}"),
            Node::AllServiceAccounts => "every ServiceAccount".into(),
            Node::RunningWorkloads(ns) => format!("every running workload in namespace {ns}"),
            Node::AllRunningWorkloads => "every running workload".into(),
            Node::Targets(t) => format!("every target of {t:?}"),
            Node::ClusterAdmin => return "cluster-admin".into(),
        };
        match (&self.nodes[st / 2], imp) {
            (Node::Composite(c), false) if c.certificate => format!("{base} (client certificate)"),
            (_, true) => format!("{base} (impersonated)"),
            _ => base,
        }
    }

    fn is_hub(&self, id: usize) -> bool {
        matches!(
            self.nodes[id],
            Node::NamespaceServiceAccounts(_)
                | Node::AllServiceAccounts
                | Node::RunningWorkloads(_)
                | Node::AllRunningWorkloads
                | Node::Targets(_)
        )
    }

    fn grant_of(&self, index: &RbacIndex, from: usize, via: &Provenance) -> Option<Grant> {
        match via {
            Provenance::None => None,
            Provenance::Grant(g) => Some((**g).clone()),
            Provenance::Steps(_, g) => g.as_deref().cloned(),
            Provenance::Rule(b, i) => match &self.nodes[from] {
                Node::Own(s) | Node::Principal(s) => index.grant_of(*b, *i, s),
                _ => None,
            },
        }
    }

    /// Renders a sequence of (state, edge) as steps between identities: hubs fold into the
    /// move that led into them, unseen steps are skipped, and steps an earlier binding allowed
    /// come first.
    fn render(&self, index: &RbacIndex, start: usize, edges: &[(usize, usize)]) -> Vec<PathStep> {
        let mut steps = Vec::new();
        let mut from_label = self.label(start);
        let mut pending: Option<(Move, Option<Grant>)> = None;
        for (st, idx) in edges {
            let node = st / 2;
            let e = &self.edges[node][*idx];
            let next = self.after(*st, e).expect("path edges apply");
            if self.is_hub(node) {
                if let (Some((mv, _)), Some(f)) = (&mut pending, &e.filler) {
                    *mv = mv.filled(f);
                }
            } else {
                let Some(mv) = &e.mv else {
                    continue; // a subject to its own grants, a composite to its members'
                };
                if let Provenance::Steps(before, _) = &e.via {
                    for s in before.iter() {
                        steps.push(PathStep {
                            from: from_label.clone(),
                            action: s.mv.describe(),
                            to: from_label.clone(),
                            grant: s.grants.first().cloned(),
                            mv: Some(s.mv.clone()),
                        });
                    }
                }
                pending = Some((mv.clone(), self.grant_of(index, node, &e.via)));
            }
            if !self.is_hub(e.to)
                && let Some((mv, grant)) = pending.take()
            {
                {
                    let to = self.label(next);
                    steps.push(PathStep {
                        from: std::mem::replace(&mut from_label, to.clone()),
                        action: mv.describe(),
                        to,
                        grant,
                        mv: Some(mv),
                    });
                }
            }
        }
        steps
    }

    /// The graph's size: nodes and edges (for the scale benchmarks).
    pub fn size(&self) -> (usize, usize) {
        (self.nodes.len(), self.edges.iter().map(Vec::len).sum())
    }

    /// Edges per kind of move (`unseen` for steps nobody sees), for the scale benchmarks.
    pub fn edges_by_move(&self) -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        for e in self.edges.iter().flatten() {
            let kind = match &e.mv {
                None => "unseen".to_string(),
                Some(mv) => format!("{mv:?}")
                    .split([' ', '{'])
                    .next()
                    .unwrap_or_default()
                    .to_string(),
            };
            *out.entry(kind).or_insert(0) += 1;
        }
        out
    }

    /// True when a binding naming `subject` itself (not one of its groups, not an escalation)
    /// grants all verbs on all resources cluster-wide.
    pub(crate) fn binds_admin(&self, subject: &SubjectRef) -> bool {
        self.ids
            .get(&Node::Own(subject.clone()))
            .is_some_and(|id| self.direct_admin.contains(id))
    }

    fn path_from(&self, index: &RbacIndex, start: usize) -> Option<Vec<PathStep>> {
        self.dist_to_admin[start]?;
        let mut edges = Vec::new();
        let mut cur = start;
        while let Some(idx) = self.next_to_admin[cur] {
            edges.push((cur, idx));
            cur = self
                .after(cur, &self.edges[cur / 2][idx])
                .expect("the chosen edge applies");
        }
        Some(self.render(index, start, &edges))
    }

    /// The shortest escalation path from a subject to cluster-admin, if there is one.
    pub fn path_to_admin(&self, index: &RbacIndex, subject: &SubjectRef) -> Option<Vec<PathStep>> {
        let start = *self.ids.get(&Node::Principal(subject.clone()))?;
        self.path_from(index, state(start, false))
    }

    /// Every way into a subject's escalation: each first step that carries a grant and leads on
    /// to cluster-admin, with the shortest path through it. Adding another way never changes
    /// these; removing the grant of one closes it, and only it.
    pub fn entries(&self, index: &RbacIndex, subject: &SubjectRef) -> Vec<Entry> {
        let Some(&p) = self.ids.get(&Node::Principal(subject.clone())) else {
            return Vec::new();
        };
        // The subject's own node and its groups' (steps without a grant), then the first
        // edge with one.
        // Each prefix carries the steps it shows (its weight): a path shows exactly the sum of
        // its edges' weights, so the shortest way through each grant is chosen before any path
        // is rendered, and only the chosen ones are.
        let mut prefix: Vec<Prefix> = vec![(state(p, false), Vec::new(), 0)];
        let mut seen = HashSet::from([state(p, false)]);
        let mut best: BTreeMap<Grant, (u32, Vec<(usize, usize)>)> = BTreeMap::new();
        while let Some((st, via, shown)) = prefix.pop() {
            for (i, e) in self.edges[st / 2].iter().enumerate() {
                let Some(next) = self.after(st, e) else {
                    continue;
                };
                let weight = shown + self.weight(st / 2, e);
                if matches!(e.via, Provenance::None) && e.filler.is_none() {
                    if seen.insert(next) {
                        let mut path = via.clone();
                        path.push((st, i));
                        prefix.push((next, path, weight));
                    }
                    continue;
                }
                let Some(rest) = self.dist_to_admin[next] else {
                    continue;
                };
                let Some(grant) = self.first_grant(index, st / 2, &e.via) else {
                    continue;
                };
                let length = weight + rest;
                if best.get(&grant).is_some_and(|(old, _)| *old <= length) {
                    continue;
                }
                let mut path = via.clone();
                path.push((st, i));
                let mut cur = next;
                while let Some(idx) = self.next_to_admin[cur] {
                    path.push((cur, idx));
                    cur = self
                        .after(cur, &self.edges[cur / 2][idx])
                        .expect("the chosen edge applies");
                }
                best.insert(grant, (length, path));
            }
        }
        best.into_iter()
            .map(|(grant, (length, edges))| {
                let path = self.render(index, state(p, false), &edges);
                debug_assert_eq!(path.len(), length as usize, "a path shows its weight");
                Entry { grant, path }
            })
            .collect()
    }

    /// The grant of the first request of an edge (the first gain step's, if it has any).
    fn first_grant(&self, index: &RbacIndex, from: usize, via: &Provenance) -> Option<Grant> {
        match via {
            Provenance::Steps(before, g) => before
                .first()
                .and_then(|s| s.grants.first().cloned())
                .or_else(|| g.as_deref().cloned()),
            other => self.grant_of(index, from, other),
        }
    }

    /// Every identity reachable from a subject (not the subject itself), each with its shortest
    /// path, in order of distance; and the shortest path to cluster-admin, if any.
    pub fn reachable_from(
        &self,
        index: &RbacIndex,
        subject: &SubjectRef,
    ) -> (Vec<Reached>, Option<Vec<PathStep>>) {
        let Some(&p) = self.ids.get(&Node::Principal(subject.clone())) else {
            return (Vec::new(), None);
        };
        let start = state(p, false);
        // Shortest in steps, settled in order of distance (as `solve`, forwards).
        let mut prev: HashMap<usize, (usize, usize)> = HashMap::new();
        let mut dist: HashMap<usize, u32> = HashMap::from([(start, 0)]);
        let mut settled: HashSet<usize> = HashSet::new();
        let mut buckets: BTreeMap<u32, Vec<usize>> = BTreeMap::from([(0, vec![start])]);
        let mut order = Vec::new();
        while let Some((d, mut work)) = buckets.pop_first() {
            let mut i = 0;
            while i < work.len() {
                let cur = work[i];
                i += 1;
                if dist.get(&cur) != Some(&d) || !settled.insert(cur) {
                    continue;
                }
                order.push(cur);
                for (idx, e) in self.edges[cur / 2].iter().enumerate() {
                    let Some(next) = self.after(cur, e) else {
                        continue;
                    };
                    let w = self.weight(cur / 2, e);
                    let nd = d + w;
                    if dist.get(&next).is_none_or(|x| nd < *x) {
                        dist.insert(next, nd);
                        prev.insert(next, (cur, idx));
                        if w == 0 {
                            work.push(next);
                        } else {
                            buckets.entry(nd).or_default().push(next);
                        }
                    }
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
        let mut reached: Vec<Reached> = Vec::new();
        let mut listed: HashSet<SubjectRef> = HashSet::from([subject.clone()]);
        let mut admin_path = None;
        for st in order.into_iter().filter(|s| *s != start) {
            match &self.nodes[st / 2] {
                Node::Principal(s) if listed.insert(s.clone()) => reached.push(Reached {
                    subject: s.clone(),
                    path: path_to(st),
                }),
                Node::ClusterAdmin if admin_path.is_none() => admin_path = Some(path_to(st)),
                _ => {}
            }
        }
        (reached, admin_path)
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
