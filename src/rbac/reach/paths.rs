//! Searching the graph: the cheapest way from each principal to cluster-admin (weights,
//! the credential state impersonation leaves), and the paths, entries and reach it reports.

use super::*;

impl ReachGraph {
    /// How many steps an edge shows: none for a hub's way out and for unseen steps, one for a
    /// move, plus the steps an earlier binding took to allow it. Paths are shortest in these.
    pub(super) fn weight(&self, from: usize, e: &Edge) -> u32 {
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
    pub(super) fn solve(&mut self, admin: usize) {
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
    pub(super) fn after(&self, from_state: usize, e: &Edge) -> Option<usize> {
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

    pub(super) fn label(&self, st: usize) -> String {
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

    pub(super) fn is_hub(&self, id: usize) -> bool {
        matches!(
            self.nodes[id],
            Node::NamespaceServiceAccounts(_)
                | Node::AllServiceAccounts
                | Node::RunningWorkloads(_)
                | Node::AllRunningWorkloads
                | Node::Targets(_)
        )
    }

    pub(super) fn grant_of(
        &self,
        index: &RbacIndex,
        from: usize,
        via: &Provenance,
    ) -> Option<Grant> {
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
    pub(super) fn render(
        &self,
        index: &RbacIndex,
        start: usize,
        edges: &[(usize, usize)],
    ) -> Vec<PathStep> {
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

    pub(super) fn path_from(&self, index: &RbacIndex, start: usize) -> Option<Vec<PathStep>> {
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
    pub(super) fn first_grant(
        &self,
        index: &RbacIndex,
        from: usize,
        via: &Provenance,
    ) -> Option<Grant> {
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
