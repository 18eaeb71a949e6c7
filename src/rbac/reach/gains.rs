//! What an identity can give itself, as the API server's RBAC storage allows it
//! (`pkg/registry/rbac`): a binding of a role it may `bind` (checked in the binding's namespace,
//! so a RoleBinding granting `bind` on ClusterRoles lets them be bound there only: the
//! role-grantor pattern), a role it may `escalate` rewritten to every permission, a new role with
//! every permission (`escalate` on the kind, then `bind` on its name), or a new or rewritten
//! ClusterRole labelled into an aggregated ClusterRole it is bound to. A role or binding written
//! without `bind` or `escalate` may hold only what the writer already holds, so it gains
//! nothing. Computed to a fixpoint, since a bound role may allow the next binding.

use super::caps::RBAC_GROUP;
use super::moves::Move;
use super::perms::{At, Gain, GainStep, Perms, Source};
use crate::rbac::index::{AccessReport, BindingId, RbacIndex, RoleId, RoleKind};
use crate::rbac::matching::Names;
use crate::rbac::subject::{Identity, SubjectRef};
use crate::snapshot::PolicyRule;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

/// What the gains are judged against, computed once per snapshot.
pub struct GainContext<'a> {
    pub index: &'a RbacIndex,
    /// Every namespace the snapshot knows.
    pub namespaces: &'a [String],
    /// Roles with a rule of every verb on every resource.
    pub admin_roles: &'a [RoleId],
    /// The bindings of each role.
    pub bindings_of_role: &'a HashMap<RoleId, Vec<BindingId>>,
    /// Roles with a rule that matters to escalation: whether it matters cluster-wide, and in
    /// a namespace.
    pub relevance: &'a HashMap<RoleId, (bool, bool)>,
    /// Aggregated ClusterRoles and labels a new ClusterRole needs to be aggregated into them.
    pub aggregated: &'a [(RoleId, Vec<(String, String)>)],
    /// Every role by where it lives: ClusterRoles under `None`, Roles under their namespace,
    /// each list in index order.
    pub roles_by_scope: &'a BTreeMap<Scope, Vec<RoleId>>,
    /// Every role by where it lives and its name.
    pub role_named: &'a HashMap<(Scope, String), RoleId>,
}

/// Every verb on every resource: what an escalated or new role holds.
pub fn everything() -> Arc<PolicyRule> {
    Arc::new(PolicyRule::for_resources(&["*"], &["*"], &["*"], &[]))
}

type Scope = Option<String>;

/// A gain found in a round: where, the steps, and the role bound (`None`: everything).
type Found = (Scope, Arc<Vec<GainStep>>, Option<RoleId>);

/// Labels that aggregate into a role bound to the identity, where it is bound, and the role.
type AggregationTarget<'a> = (&'a Vec<(String, String)>, Scope, RoleId);

struct State<'a> {
    gains: Vec<Gain>,
    /// Scopes where the identity has given itself every permission.
    full: BTreeSet<Scope>,
    /// Roles it has bound to itself, per scope.
    bound: HashSet<(RoleId, Scope)>,
    ctx: &'a GainContext<'a>,
}

/// The rules `identity` can give itself, each with the steps that give it. `subject` is who
/// the new bindings name (the identity's user or ServiceAccount, or its group).
pub fn self_gains(
    ctx: &GainContext<'_>,
    identity: &Identity,
    subject: &SubjectRef,
    report: &AccessReport,
) -> Vec<Gain> {
    let mut st = State {
        gains: Vec::new(),
        full: BTreeSet::new(),
        bound: HashSet::new(),
        ctx,
    };
    // Each round adds at least one gain, and there are finitely many (roles x scopes).
    loop {
        let mut new: Vec<Found> = Vec::new();
        {
            let perms = Perms {
                report,
                gains: &st.gains,
            };
            let scopes = without_barren_namespaces(writable_scopes(ctx, &perms), &perms);
            escalations(&st, identity, subject, &perms, &scopes, &mut new);
            for scope in scopes {
                if st.full.contains(&scope) {
                    continue;
                }
                let bindable = Bindable::at(&perms, &scope);
                if let Some(steps) = bind_everything(&st, subject, &perms, &scope, &bindable) {
                    new.push((scope, steps, None));
                    continue;
                }
                bind_relevant_roles(&st, subject, &perms, &scope, &bindable, &mut new);
            }
        }
        let before = st.gains.len();
        for (scope, steps, role) in new {
            st.add(scope, steps, role);
        }
        if st.gains.len() == before || st.full.contains(&None) {
            return st.gains;
        }
    }
}

impl State<'_> {
    fn add(&mut self, scope: Scope, steps: Arc<Vec<GainStep>>, role: Option<RoleId>) {
        if self.full.contains(&scope) || self.full.contains(&None) {
            return;
        }
        match role {
            None => {
                self.full.insert(scope.clone());
                self.gains.push(Gain {
                    rule: everything(),
                    namespace: scope,
                    steps,
                });
            }
            Some(r) => {
                if !self.bound.insert((r, scope.clone())) {
                    return;
                }
                for rule in &self.ctx.index.roles[r].rules {
                    self.gains.push(Gain {
                        rule: rule.rule.clone(),
                        namespace: scope.clone(),
                        steps: steps.clone(),
                    });
                }
            }
        }
    }
}

/// The steps before `mv` (those of the gains among `sources`) and `mv` with its grants.
fn steps(sources: &[Source<'_>], mv: Move) -> Arc<Vec<GainStep>> {
    let mut out: Vec<GainStep> = Vec::new();
    let mut grants = Vec::new();
    for s in sources {
        let (before, grant) = s.parts();
        for b in before {
            if !out.contains(&b) {
                out.push(b);
            }
        }
        grants.extend(grant);
    }
    out.push(GainStep { mv, grants });
    Arc::new(out)
}

fn at(scope: &Scope) -> At<'_> {
    match scope {
        Some(ns) => At::Namespace(ns),
        None => At::Cluster,
    }
}

fn role_resource(kind: RoleKind) -> &'static str {
    match kind {
        RoleKind::ClusterRole => "clusterroles",
        RoleKind::Role => "roles",
    }
}

fn kind_name(kind: RoleKind) -> &'static str {
    match kind {
        RoleKind::ClusterRole => "ClusterRole",
        RoleKind::Role => "Role",
    }
}

/// Scopes where the identity may create bindings: the cluster (ClusterRoleBindings) and
/// namespaces (RoleBindings). A create names no object, so resourceNames never allow it.
fn writable_scopes(ctx: &GainContext<'_>, perms: &Perms<'_>) -> Vec<Scope> {
    let mut out = Vec::new();
    if perms
        .source(
            "create",
            RBAC_GROUP,
            "clusterrolebindings",
            "",
            At::Cluster,
            None,
        )
        .is_some()
    {
        out.push(None);
    }
    // A cluster-wide rule lets it create them in every namespace: no namespace is asked.
    if perms
        .everywhere("create", RBAC_GROUP, "rolebindings", "")
        .is_some()
    {
        out.extend(ctx.namespaces.iter().cloned().map(Some));
        return out;
    }
    for ns in perms.namespaces_with_own_rules(ctx.namespaces) {
        if perms
            .source(
                "create",
                RBAC_GROUP,
                "rolebindings",
                "",
                At::Namespace(ns),
                None,
            )
            .is_some()
        {
            out.push(Some(ns.to_string()));
        }
    }
    out
}

/// The writable scopes less the namespaces where nothing can be bound. Namespaces without
/// rules of their own are all alike (only the cluster-wide grants and gains apply there): when
/// `bind` allows no role there, no binding, new role or escalated role can be bound in any of
/// them, so an identity that may write RoleBindings everywhere is not asked about each one.
fn without_barren_namespaces(scopes: Vec<Scope>, perms: &Perms<'_>) -> Vec<Scope> {
    let bind_anywhere = ["clusterroles", "roles"]
        .iter()
        .any(|r| perms.names_everywhere("bind", RBAC_GROUP, r, "").is_some());
    if bind_anywhere {
        return scopes;
    }
    let own: HashSet<&str> = perms
        .report
        .namespaced
        .keys()
        .map(String::as_str)
        .chain(perms.gains.iter().filter_map(|g| g.namespace.as_deref()))
        .collect();
    scopes
        .into_iter()
        .filter(|scope| scope.as_deref().is_none_or(|ns| own.contains(ns)))
        .collect()
}

/// Whether `role` may be bound in `scope` (`bind` on it there), and how to write the binding:
/// a new one, or an existing binding of the role the identity may update.
fn binding_of<'p>(
    st: &State<'_>,
    subject: &SubjectRef,
    perms: &Perms<'p>,
    role: RoleId,
    scope: &Scope,
) -> Option<(Move, Vec<Source<'p>>)> {
    let index = st.ctx.index;
    let r = &index.roles[role];
    if r.kind == RoleKind::Role && r.namespace != *scope {
        return None;
    }
    let bind = perms.source(
        "bind",
        RBAC_GROUP,
        role_resource(r.kind),
        "",
        at(scope),
        Some(&r.name),
    )?;
    let (resource, create_at) = match scope {
        None => ("clusterrolebindings", At::Cluster),
        Some(ns) => ("rolebindings", At::Namespace(ns)),
    };
    let mv = |existing: Option<String>| Move::Bind {
        namespace: scope.clone(),
        role_kind: kind_name(r.kind).into(),
        role: r.name.clone(),
        subject: subject.clone(),
        existing,
    };
    if let Some(create) = perms.source("create", RBAC_GROUP, resource, "", create_at, None) {
        return Some((mv(None), vec![bind, create]));
    }
    // An existing binding of the role in that scope, updated to name the identity too.
    for bid in st.ctx.bindings_of_role.get(&role).into_iter().flatten() {
        let b = &index.bindings[*bid];
        if b.namespace != *scope {
            continue;
        }
        if let Some(update) = perms.source_any(
            &["update", "patch"],
            RBAC_GROUP,
            resource,
            "",
            create_at,
            Some(&b.name),
        ) {
            return Some((mv(Some(b.name.clone())), vec![bind, update]));
        }
    }
    None
}

/// The names `bind` allows in one scope, asked once: the roles [`binding_of`] may accept
/// there are among them, so the others are never asked about.
struct Bindable {
    cluster_roles: Option<Names>,
    roles: Option<Names>,
}

impl Bindable {
    fn at(perms: &Perms<'_>, scope: &Scope) -> Bindable {
        Bindable {
            cluster_roles: perms.names("bind", RBAC_GROUP, "clusterroles", "", at(scope)),
            roles: match scope {
                Some(_) => perms.names("bind", RBAC_GROUP, "roles", "", at(scope)),
                None => None,
            },
        }
    }

    fn is_empty(&self) -> bool {
        self.cluster_roles.is_none() && self.roles.is_none()
    }

    /// Whether `bind` may allow `role` here (a Role only in its own namespace, which
    /// [`binding_of`] checks).
    fn may(&self, ctx: &GainContext<'_>, role: RoleId) -> bool {
        let r = &ctx.index.roles[role];
        let names = match r.kind {
            RoleKind::ClusterRole => &self.cluster_roles,
            RoleKind::Role => &self.roles,
        };
        match names {
            None => false,
            Some(Names::All) => true,
            Some(Names::Some(list)) => list.contains(&r.name),
        }
    }

    /// The roles `bind` may allow here, in index order, each once: by name when the rules
    /// name them, else every role of the kind that lives here.
    fn candidates(&self, ctx: &GainContext<'_>, scope: &Scope) -> Vec<RoleId> {
        let mut out = Vec::new();
        let mut add = |names: &Option<Names>, home: &Scope| match names {
            None => {}
            Some(Names::All) => {
                out.extend(ctx.roles_by_scope.get(home).into_iter().flatten().copied())
            }
            Some(Names::Some(list)) => out.extend(
                list.iter()
                    .filter_map(|n| ctx.role_named.get(&(home.clone(), n.clone())).copied()),
            ),
        };
        add(&self.cluster_roles, &None);
        if scope.is_some() {
            add(&self.roles, scope);
        }
        out.sort_unstable();
        out.dedup();
        out
    }
}

/// Every permission in `scope` in one go: bind a role holding them all, or create one.
fn bind_everything(
    st: &State<'_>,
    subject: &SubjectRef,
    perms: &Perms<'_>,
    scope: &Scope,
    bindable: &Bindable,
) -> Option<Arc<Vec<GainStep>>> {
    for role in st.ctx.admin_roles {
        if !bindable.may(st.ctx, *role) {
            continue;
        }
        if let Some((mv, sources)) = binding_of(st, subject, perms, *role, scope) {
            return Some(steps(&sources, mv));
        }
    }
    create_and_bind(st, subject, perms, scope)
}

/// A new role with every permission (`escalate` on the kind allows a create with rules the
/// creator does not hold), bound in `scope` under a name `bind` allows.
fn create_and_bind(
    st: &State<'_>,
    subject: &SubjectRef,
    perms: &Perms<'_>,
    scope: &Scope,
) -> Option<Arc<Vec<GainStep>>> {
    let index = st.ctx.index;
    // A Role in the binding's namespace, or a ClusterRole.
    let mut kinds = vec![(RoleKind::ClusterRole, None)];
    if let Some(ns) = scope {
        kinds.push((RoleKind::Role, Some(ns.clone())));
    }
    for (kind, role_ns) in kinds {
        let resource = role_resource(kind);
        let role_at = at(&role_ns);
        let Some(create) = perms.source("create", RBAC_GROUP, resource, "", role_at, None) else {
            continue;
        };
        let Some(escalate) = perms.source("escalate", RBAC_GROUP, resource, "", role_at, None)
        else {
            continue;
        };
        let taken = |name: &str| match kind {
            RoleKind::ClusterRole => index.cluster_role(name).is_some(),
            RoleKind::Role => index
                .roles
                .iter()
                .any(|r| r.kind == RoleKind::Role && r.namespace == role_ns && r.name == name),
        };
        let name = match perms.names("bind", RBAC_GROUP, resource, "", at(scope)) {
            Some(Names::All) => {
                let mut n = "kube-evidence-escalation".to_string();
                while taken(&n) {
                    n.push('x');
                }
                n
            }
            Some(Names::Some(list)) => match list.into_iter().find(|n| !taken(n)) {
                Some(n) => n,
                None => continue,
            },
            None => continue,
        };
        let Some(bind) = perms.source("bind", RBAC_GROUP, resource, "", at(scope), Some(&name))
        else {
            continue;
        };
        let (bresource, bat) = match scope {
            None => ("clusterrolebindings", At::Cluster),
            Some(ns) => ("rolebindings", At::Namespace(ns)),
        };
        let Some(write) = perms.source("create", RBAC_GROUP, bresource, "", bat, None) else {
            continue;
        };
        let created = steps(
            &[create, escalate],
            Move::CreateRole {
                role_kind: kind_name(kind).into(),
                namespace: role_ns.clone(),
                role: name.clone(),
                labels: Vec::new(),
            },
        );
        let bound = steps(
            &[bind, write],
            Move::Bind {
                namespace: scope.clone(),
                role_kind: kind_name(kind).into(),
                role: name,
                subject: subject.clone(),
                existing: None,
            },
        );
        let mut all = created.as_ref().clone();
        all.extend(bound.iter().cloned());
        return Some(Arc::new(all));
    }
    None
}

/// Roles (other than ones holding everything) the identity may bind in `scope`, each a gain
/// of its rules there. Only roles with a rule that matters to escalation are considered.
fn bind_relevant_roles(
    st: &State<'_>,
    subject: &SubjectRef,
    perms: &Perms<'_>,
    scope: &Scope,
    bindable: &Bindable,
    new: &mut Vec<Found>,
) {
    if bindable.is_empty() {
        return;
    }
    for role in bindable.candidates(st.ctx, scope) {
        let Some((cluster_relevant, ns_relevant)) = st.ctx.relevance.get(&role) else {
            continue;
        };
        let relevant = if scope.is_none() {
            *cluster_relevant
        } else {
            *ns_relevant
        };
        if !relevant || st.bound.contains(&(role, scope.clone())) {
            continue;
        }
        if let Some((mv, sources)) = binding_of(st, subject, perms, role, scope) {
            new.push((scope.clone(), steps(&sources, mv), Some(role)));
        }
    }
}

/// Roles the identity may `escalate` and update: rewritten to every permission, they give it
/// everything wherever they are bound to it (or wherever it may bind them); and ClusterRoles,
/// new or rewritten, labelled into an aggregated ClusterRole bound to it.
fn escalations(
    st: &State<'_>,
    identity: &Identity,
    subject: &SubjectRef,
    perms: &Perms<'_>,
    writable: &[Scope],
    new: &mut Vec<Found>,
) {
    let index = st.ctx.index;
    // The roles it may `escalate`, found from the names its rules allow rather than by asking
    // about every role (a Role is asked about in its own namespace, a ClusterRole cluster-wide).
    let candidates = escalatable_roles(st.ctx, perms);
    if candidates.is_empty() {
        return;
    }
    // Where each role is bound to this identity (in binding order), from the bindings that
    // apply to it, found once.
    let mut bound: HashMap<RoleId, Vec<Scope>> = HashMap::new();
    for (binding, role, _) in index.bindings_applying(identity) {
        bound
            .entry(role)
            .or_default()
            .push(index.bindings[binding].namespace.clone());
    }
    let bound_at = |role: RoleId| -> Vec<Scope> { bound.get(&role).cloned().unwrap_or_default() };
    let editable = |role: RoleId| -> Option<Vec<Source<'_>>> {
        let r = &index.roles[role];
        let role_at = at(&r.namespace);
        let resource = role_resource(r.kind);
        let escalate =
            perms.source("escalate", RBAC_GROUP, resource, "", role_at, Some(&r.name))?;
        let update = perms.source_any(
            &["update", "patch"],
            RBAC_GROUP,
            resource,
            "",
            role_at,
            Some(&r.name),
        )?;
        Some(vec![escalate, update])
    };
    // The labels that would aggregate a ClusterRole into one bound to the identity.
    let aggregation_targets: Vec<AggregationTarget<'_>> = st
        .ctx
        .aggregated
        .iter()
        .flat_map(|(agg, labels)| bound_at(*agg).into_iter().map(move |s| (labels, s, *agg)))
        .collect();
    for role in candidates {
        let entry = &index.roles[role];
        let Some(sources) = editable(role) else {
            continue;
        };
        let escalate = |labels: Vec<(String, String)>| {
            steps(
                &sources,
                Move::EscalateRole {
                    role_kind: kind_name(entry.kind).into(),
                    namespace: entry.namespace.clone(),
                    role: entry.name.clone(),
                    labels,
                },
            )
        };
        for scope in bound_at(role) {
            new.push((scope, escalate(Vec::new()), None));
        }
        // Or bound to it now, wherever it may bind the role.
        for scope in writable {
            if let Some((mv, bind)) = binding_of(st, subject, perms, role, scope) {
                let mut all = escalate(Vec::new()).as_ref().clone();
                all.extend(steps(&bind, mv).iter().cloned());
                new.push((scope.clone(), Arc::new(all), None));
            }
        }
        if entry.kind == RoleKind::ClusterRole {
            for (labels, scope, agg) in &aggregation_targets {
                if *agg != role {
                    new.push((scope.clone(), escalate((*labels).clone()), None));
                }
            }
        }
    }
    // A new ClusterRole with every permission, aggregated into one bound to the identity.
    if let (Some(create), Some(esc)) = (
        perms.source("create", RBAC_GROUP, "clusterroles", "", At::Cluster, None),
        perms.source(
            "escalate",
            RBAC_GROUP,
            "clusterroles",
            "",
            At::Cluster,
            None,
        ),
    ) {
        for (labels, scope, _) in aggregation_targets {
            let mut name = "kube-evidence-escalation".to_string();
            while index.cluster_role(&name).is_some() {
                name.push('x');
            }
            new.push((
                scope,
                steps(
                    &[create, esc],
                    Move::CreateRole {
                        role_kind: "ClusterRole".into(),
                        namespace: None,
                        role: name,
                        labels: labels.clone(),
                    },
                ),
                None,
            ));
        }
    }
}

/// The roles `escalate` may apply to, in index order: ClusterRoles by the names rules allow
/// cluster-wide, Roles by the names rules allow in their namespace. Every role whose
/// `escalate` check ([`Perms::source`] with its name) could pass is among them.
fn escalatable_roles(ctx: &GainContext<'_>, perms: &Perms<'_>) -> Vec<RoleId> {
    let mut out = Vec::new();
    let named = |names: Option<Names>, roles: &[RoleId], out: &mut Vec<RoleId>| match names {
        None => {}
        Some(Names::All) => out.extend_from_slice(roles),
        Some(Names::Some(list)) => out.extend(
            roles
                .iter()
                .filter(|r| list.iter().any(|n| *n == ctx.index.roles[**r].name)),
        ),
    };
    let empty = Vec::new();
    let roles_in = |scope: &Scope| ctx.roles_by_scope.get(scope).unwrap_or(&empty);
    named(
        perms.names("escalate", RBAC_GROUP, "clusterroles", "", At::Cluster),
        roles_in(&None),
        &mut out,
    );
    // Roles: what cluster-wide rules allow in every namespace, then what each namespace's own
    // rules add there.
    if let Some(names) = perms.names_everywhere("escalate", RBAC_GROUP, "roles", "") {
        let every_role: Vec<RoleId> = ctx
            .roles_by_scope
            .iter()
            .filter(|(scope, _)| scope.is_some())
            .flat_map(|(_, roles)| roles.iter().copied())
            .collect();
        named(Some(names), &every_role, &mut out);
    }
    for ns in perms.namespaces_with_own_rules(ctx.namespaces) {
        let roles = roles_in(&Some(ns.to_string()));
        if !roles.is_empty() {
            named(
                perms.names("escalate", RBAC_GROUP, "roles", "", At::Namespace(ns)),
                roles,
                &mut out,
            );
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}
