//! The edges a capability gives: running or retargeting workloads as a namespace's
//! ServiceAccounts, tokens, token Secrets, commands in running pods, impersonated
//! ServiceAccounts, and the target nodes each lands on.

use super::*;

impl ReachGraph {
    /// The edges one capability in one scope (`ns`; `None`: cluster-wide) gives.
    pub(super) fn add_cap(
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
    pub(super) fn retarget_edges(
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
    pub(super) fn token_edges(
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
    pub(super) fn secret_edges(
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
    pub(super) fn exec_edges(
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
    pub(super) fn impersonated_sa_edges(
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

    /// The hub of a kind of cluster-wide move, made with its ways out the first time it is
    /// asked for.
    pub(super) fn targets(&mut self, targets: Targets, ctx: &Ctx<'_>) -> usize {
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
}
