//! Moves between identities: impersonation (of users, ServiceAccounts and groups, one level
//! deep, as the API server takes it) and client certificates through the CSR API, each judged
//! on a principal's whole identity.

use super::*;

/// The subjects worth reaching by impersonation or a certificate: those whose own grants lead
/// somewhere, or that hold half of a multi-grant move. Fixed while identity moves are added
/// (only bindings give `Own` nodes their edges), so it is worked out once, not per identity
/// (per identity, it was a tenth of the whole analysis at 5,000 messy namespaces).
pub(super) struct Mattering {
    /// `ctx.users` that matter, in their order.
    users: Vec<SubjectRef>,
    /// Names of `ctx.groups` that matter.
    groups: HashSet<String>,
    /// `ctx.named_sas_by_ns`, each name with whether it matters.
    sas_by_ns: BTreeMap<String, Vec<(String, bool)>>,
}

impl Mattering {
    fn of(graph: &ReachGraph, ctx: &Ctx<'_>) -> Mattering {
        let matters = |s: &SubjectRef| {
            graph
                .ids
                .get(&Node::Own(s.clone()))
                .is_some_and(|id| !graph.edges[*id].is_empty())
                || ctx.halves.contains(s)
        };
        Mattering {
            users: ctx.users.iter().filter(|u| matters(u)).cloned().collect(),
            groups: ctx
                .groups
                .iter()
                .filter(|g| matters(g))
                .map(|g| g.name().to_string())
                .collect(),
            sas_by_ns: ctx
                .named_sas_by_ns
                .iter()
                .map(|(ns, names)| {
                    let flagged = names
                        .iter()
                        .map(|n| (n.clone(), matters(&SubjectRef::service_account(ns, n))))
                        .collect();
                    (ns.clone(), flagged)
                })
                .collect(),
        }
    }
}

impl ReachGraph {
    /// Moves judged on a whole identity, for subjects holding half of one (and the composite
    /// identities those moves reach, in turn).
    pub(super) fn add_identity_moves(
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
        let mattering = Mattering::of(self, ctx);
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
            for (composite, id) in self.impersonation_with_groups(node, &perms, ctx, &mattering) {
                queue.push_back((composite, id));
            }
            for (composite, id) in self.client_certificates(node, &perms, ctx, &mattering) {
                queue.push_back((composite, id));
            }
        }
    }

    /// Impersonating groups needs a user (or ServiceAccount) to impersonate as well; the
    /// request then carries exactly the named groups and `system:authenticated`.
    pub(super) fn impersonation_with_groups(
        &mut self,
        from: usize,
        perms: &Perms<'_>,
        ctx: &Ctx<'_>,
        mattering: &Mattering,
    ) -> Vec<(usize, Identity)> {
        let Some(group_names) = perms.names("impersonate", "", "groups", "", At::Cluster) else {
            return Vec::new();
        };
        let targets = impersonable(perms, ctx, mattering);
        let Some((first, first_source)) = targets.first().cloned() else {
            return Vec::new();
        };
        let group_sources = perms.sources("impersonate", "", "groups", "", At::Cluster);
        let group_source = |g: &str| group_sources.source(Some(g));
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
            .filter(|g| mattering.groups.contains(g))
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

    /// Creating a CSR for signer kubernetes.io/kube-apiserver-client, approving it (`update`
    /// of the approval and `approve` on the signer) gives a certificate for any user and groups
    /// but `system:masters` (the CertificateSubjectRestriction admission plugin refuses that).
    pub(super) fn client_certificates(
        &mut self,
        from: usize,
        perms: &Perms<'_>,
        ctx: &Ctx<'_>,
        mattering: &Mattering,
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
            .filter(|g| mattering.groups.contains(g))
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

    /// The edge into a hub of identities to impersonate: it needs a credential of its own and
    /// leaves the actor acting through impersonation headers.
    pub(super) fn impersonation_into(&mut self, from: usize, hub: usize, via: Provenance) {
        let mv = Move::Impersonate {
            user: String::new(),
            groups: Vec::new(),
        };
        self.edge_full(from, hub, Some(mv), via, true, Lands::Impersonated);
    }

    /// Users and ServiceAccounts a client certificate may name that matter: they hold
    /// something (a ServiceAccount's certificate names its groups).
    pub(super) fn certifiable(&self, ctx: &Ctx<'_>) -> Vec<SubjectRef> {
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
}

/// Users and ServiceAccounts the identity may impersonate that matter (they hold something,
/// or are a user bound nowhere, to carry groups), each with the rule that allows it.
fn impersonable<'p>(
    perms: &Perms<'p>,
    ctx: &Ctx<'_>,
    mattering: &Mattering,
) -> Vec<(SubjectRef, Option<Source<'p>>)> {
    let mut out = Vec::new();
    let users = perms.names("impersonate", "", "users", "", At::Cluster);
    if let Some(names) = &users {
        let user_sources = perms.sources("impersonate", "", "users", "", At::Cluster);
        for u in &mattering.users {
            if names.contains(u.name()) {
                out.push((u.clone(), user_sources.source(Some(u.name()))));
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
            let src = user_sources.source(Some(&name));
            out.push((SubjectRef::user(name), src));
        }
    }
    // Namespaces without rules of their own all answer as the cluster-wide rules do.
    let own = perms.namespaces_with_own_rules(&ctx.namespaces);
    let everywhere = perms.sources_everywhere("impersonate", "", "serviceaccounts", "");
    for ns in perms.namespaces(&ctx.namespaces) {
        let Some(sas) = mattering.sas_by_ns.get(ns) else {
            continue;
        };
        let here;
        let sources = if own.binary_search(&ns).is_ok() {
            here = perms.sources("impersonate", "", "serviceaccounts", "", At::Namespace(ns));
            &here
        } else {
            &everywhere
        };
        for (sa, matters) in sas {
            if let Some(src) = sources.source(Some(sa))
                && (*matters || out.is_empty())
            {
                out.push((SubjectRef::service_account(ns, sa), Some(src)));
            }
        }
    }
    out
}
