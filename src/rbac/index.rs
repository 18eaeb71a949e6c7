//! The permission index: every binding resolved to its role's effective rules, indexed by
//! namespace and by subject, so that `can-i`, `who-can` and `access` are quick, and every
//! answer carries the grants (binding -> role -> rule) behind it.

use super::aggregation::{self, AggregationDrift, SourcedRule};
use super::bootstrap;
use super::matching::{Request, rule_allows};
use super::subject::{Identity, MASTERS, SubjectRef};
use crate::snapshot::{ObjectMeta, PolicyRule, RoleRef, Snapshot, Subject};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

pub type RoleId = usize;
pub type BindingId = usize;

/// A reference to a Kubernetes object, for provenance.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
pub struct ObjectRef {
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
}

impl ObjectRef {
    pub fn new(kind: &str, namespace: Option<&str>, name: &str) -> Self {
        ObjectRef {
            kind: kind.to_string(),
            namespace: namespace.map(str::to_string),
            name: name.to_string(),
        }
    }
}

impl std::fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {ns}/{}", self.kind, self.name),
            None => write!(f, "{} {}", self.kind, self.name),
        }
    }
}

/// One rule reaching one subject, and exactly how: which binding, which role (and for an
/// aggregated ClusterRole the role the rule came from), in which scope.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub struct Grant {
    pub binding: Arc<ObjectRef>,
    pub role: Arc<ObjectRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_role: Option<Arc<str>>,
    /// The namespace the grant applies in; `None` means cluster-wide.
    pub namespace: Option<Arc<str>>,
    /// The binding subject through which the grant applies (a group, for example).
    pub subject: SubjectRef,
    pub rule: Arc<PolicyRule>,
    /// The rule's position (from 0) among the stored rules of `source_role` when there is one,
    /// else of `role`.
    #[serde(default)]
    pub rule_index: u32,
}

impl Grant {
    pub fn scope(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("namespace {ns}"),
            None => "cluster-wide".to_string(),
        }
    }

    /// A stable id of the grant into the snapshot, as findings.json records it: the binding,
    /// the role, the rule by its 1-based position among the stored rules of the role it is
    /// written in, and the binding subject it applies through.
    pub fn reference(&self) -> String {
        let rule = match &self.source_role {
            Some(src) => format!("rule {} of ClusterRole {src}", self.rule_index + 1),
            None => format!("rule {}", self.rule_index + 1),
        };
        format!(
            "{} -> {}, {rule}, via {}",
            self.binding, self.role, self.subject
        )
    }

    /// `binding -> role`, and the ClusterRole an aggregated rule came from.
    pub fn provenance(&self) -> String {
        let mut s = format!("{} -> {}", self.binding, self.role);
        if let Some(src) = &self.source_role {
            s.push_str(&format!(" (from ClusterRole {src})"));
        }
        s
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleKind {
    ClusterRole,
    Role,
}

#[derive(Debug, Clone)]
pub struct RoleEntry {
    pub object: Arc<ObjectRef>,
    pub kind: RoleKind,
    pub namespace: Option<String>,
    pub name: String,
    pub rules: Vec<SourcedRule>,
    pub aggregated: bool,
}

impl RoleEntry {
    pub fn object(&self) -> Arc<ObjectRef> {
        self.object.clone()
    }
}

/// Why a binding grants nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unresolved {
    /// The referenced role does not exist.
    MissingRole,
    /// `roleRef.kind` is neither Role nor ClusterRole (or Role in a ClusterRoleBinding).
    UnsupportedKind,
}

#[derive(Debug, Clone)]
pub struct BindingEntry {
    pub object: Arc<ObjectRef>,
    pub cluster: bool,
    pub namespace: Option<String>,
    pub namespace_arc: Option<Arc<str>>,
    pub name: String,
    pub role_ref: RoleRef,
    pub role: Result<RoleId, Unresolved>,
    /// Subjects as written.
    pub subjects: Vec<Subject>,
    /// Subjects as the tool reports them (None: applies to nobody, e.g. an unknown kind).
    pub resolved: Vec<Option<SubjectRef>>,
    /// One of the API server's bootstrap policy bindings (see `rbac::bootstrap`).
    pub bootstrap: bool,
    pub labels: BTreeMap<String, String>,
}

impl BindingEntry {
    /// The role the binding grants to `identity` and the subject it is granted through, if the
    /// binding names the identity (directly or through a group) and its role exists.
    pub(crate) fn applies_to(&self, identity: &Identity) -> Option<(RoleId, SubjectRef)> {
        let role_id = self.role.as_ref().ok().copied()?;
        let idx = self
            .subjects
            .iter()
            .position(|s| identity.matches(s, self.namespace.as_deref()))?;
        let via = self.resolved[idx]
            .clone()
            .unwrap_or_else(|| identity.subject.clone());
        Some((role_id, via))
    }
}

impl BindingEntry {
    pub fn object(&self) -> Arc<ObjectRef> {
        self.object.clone()
    }
}

/// The answer to one authorization question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    pub allowed: bool,
    /// Why, in words (the privileged group, or the number of grants).
    pub reason: String,
    /// Every grant that allows the request (not only the first).
    pub grants: Vec<Grant>,
}

/// Everything one subject can do.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccessReport {
    pub cluster_wide: Vec<Grant>,
    pub namespaced: BTreeMap<String, Vec<Grant>>,
    /// True when the identity is in `system:masters`, which bypasses RBAC.
    pub bypasses_rbac: bool,
}

impl AccessReport {
    pub fn all(&self) -> impl Iterator<Item = &Grant> {
        self.cluster_wide
            .iter()
            .chain(self.namespaced.values().flatten())
    }
}

pub struct RbacIndex {
    pub roles: Vec<RoleEntry>,
    pub bindings: Vec<BindingEntry>,
    cluster_roles: HashMap<String, RoleId>,
    cluster_bindings: Vec<BindingId>,
    bindings_by_namespace: HashMap<String, Vec<BindingId>>,
    bindings_by_subject: HashMap<SubjectRef, Vec<BindingId>>,
    pub namespaces: BTreeSet<String>,
    pub service_accounts: BTreeSet<(String, String)>,
}

/// The roles of a snapshot as the index holds them, with the lookups bindings resolve through.
struct RoleTables<'s> {
    roles: Vec<RoleEntry>,
    cluster_roles: HashMap<String, RoleId>,
    ns_roles: HashMap<(&'s str, &'s str), RoleId>,
}

fn rules_as_stored(rules: &[PolicyRule]) -> Vec<SourcedRule> {
    rules
        .iter()
        .enumerate()
        .map(|(i, r)| SourcedRule {
            rule: Arc::new(r.clone()),
            source: None,
            index: i as u32,
        })
        .collect()
}

/// Every ClusterRole (with its aggregation resolved) and Role.
fn role_tables(snapshot: &Snapshot) -> RoleTables<'_> {
    let aggregated = aggregation::resolve(&snapshot.cluster_roles);
    let mut roles = Vec::with_capacity(snapshot.cluster_roles.len() + snapshot.roles.len());
    let mut cluster_roles = HashMap::with_capacity(snapshot.cluster_roles.len());
    for cr in &snapshot.cluster_roles {
        let (rules, is_agg) = match aggregated.get(&cr.metadata.name) {
            Some(r) => (r.clone(), true),
            None => (rules_as_stored(&cr.rules), false),
        };
        cluster_roles.insert(cr.metadata.name.clone(), roles.len());
        roles.push(RoleEntry {
            object: Arc::new(ObjectRef::new("ClusterRole", None, &cr.metadata.name)),
            kind: RoleKind::ClusterRole,
            namespace: None,
            name: cr.metadata.name.clone(),
            rules,
            aggregated: is_agg,
        });
    }
    let mut ns_roles = HashMap::with_capacity(snapshot.roles.len());
    for r in &snapshot.roles {
        ns_roles.insert((r.metadata.ns(), r.metadata.name.as_str()), roles.len());
        roles.push(RoleEntry {
            object: Arc::new(ObjectRef::new(
                "Role",
                r.metadata.namespace.as_deref(),
                &r.metadata.name,
            )),
            kind: RoleKind::Role,
            namespace: r.metadata.namespace.clone(),
            name: r.metadata.name.clone(),
            rules: rules_as_stored(&r.rules),
            aggregated: false,
        });
    }
    RoleTables {
        roles,
        cluster_roles,
        ns_roles,
    }
}

/// The bindings as the index holds them, with their lookups by scope and by subject.
#[derive(Default)]
struct BindingTables {
    bindings: Vec<BindingEntry>,
    cluster_bindings: Vec<BindingId>,
    bindings_by_namespace: HashMap<String, Vec<BindingId>>,
    bindings_by_subject: HashMap<SubjectRef, Vec<BindingId>>,
}

impl BindingTables {
    /// Adds a ClusterRoleBinding (`namespace` None) or a RoleBinding, its role resolved as the
    /// authorizer does: a ClusterRoleBinding can only reference a ClusterRole (the API server
    /// looks a Role up in the empty namespace and fails); a RoleBinding a ClusterRole or a Role
    /// of its own namespace.
    fn add(
        &mut self,
        roles: &RoleTables<'_>,
        meta: &ObjectMeta,
        role_ref: &RoleRef,
        subjects: &[Subject],
        namespace: Option<&str>,
    ) {
        let role = match (role_ref.kind.as_str(), namespace) {
            ("ClusterRole", _) => roles
                .cluster_roles
                .get(&role_ref.name)
                .copied()
                .ok_or(Unresolved::MissingRole),
            ("Role", Some(ns)) => roles
                .ns_roles
                .get(&(ns, role_ref.name.as_str()))
                .copied()
                .ok_or(Unresolved::MissingRole),
            _ => Err(Unresolved::UnsupportedKind),
        };
        let id = self.bindings.len();
        match namespace {
            None => self.cluster_bindings.push(id),
            Some(ns) => self
                .bindings_by_namespace
                .entry(ns.to_string())
                .or_default()
                .push(id),
        }
        let resolved: Vec<Option<SubjectRef>> = subjects
            .iter()
            .map(|s| SubjectRef::from_binding_subject(s, namespace))
            .collect();
        for s in resolved.iter().flatten() {
            self.bindings_by_subject
                .entry(s.clone())
                .or_default()
                .push(id);
        }
        let kind = if namespace.is_some() {
            "RoleBinding"
        } else {
            "ClusterRoleBinding"
        };
        let bootstrap = bootstrap::is_policy_binding(meta, namespace, role_ref, &resolved);
        self.bindings.push(BindingEntry {
            object: Arc::new(ObjectRef::new(kind, namespace, &meta.name)),
            cluster: namespace.is_none(),
            namespace: namespace.map(str::to_string),
            namespace_arc: namespace.map(Arc::from),
            name: meta.name.clone(),
            role_ref: role_ref.clone(),
            role,
            subjects: subjects.to_vec(),
            resolved,
            bootstrap,
            labels: meta.labels.clone(),
        });
    }
}

impl RbacIndex {
    pub fn build(snapshot: &Snapshot) -> RbacIndex {
        let roles = role_tables(snapshot);
        let mut b = BindingTables::default();
        b.bindings
            .reserve(snapshot.cluster_role_bindings.len() + snapshot.role_bindings.len());
        for crb in &snapshot.cluster_role_bindings {
            b.add(&roles, &crb.metadata, &crb.role_ref, &crb.subjects, None);
        }
        for rb in &snapshot.role_bindings {
            let ns = rb.metadata.ns();
            b.add(&roles, &rb.metadata, &rb.role_ref, &rb.subjects, Some(ns));
        }
        for ids in b.bindings_by_subject.values_mut() {
            ids.dedup();
        }
        RbacIndex {
            roles: roles.roles,
            bindings: b.bindings,
            cluster_roles: roles.cluster_roles,
            cluster_bindings: b.cluster_bindings,
            bindings_by_namespace: b.bindings_by_namespace,
            bindings_by_subject: b.bindings_by_subject,
            namespaces: snapshot
                .namespaces
                .iter()
                .map(|n| n.metadata.name.clone())
                .collect(),
            service_accounts: snapshot
                .service_accounts
                .iter()
                .map(|s| (s.metadata.ns().to_string(), s.metadata.name.clone()))
                .collect(),
        }
    }

    /// The aggregated ClusterRoles of `snapshot` (the one the index was built from) whose
    /// stored rules differ from their aggregation.
    pub fn aggregation_drift(&self, snapshot: &Snapshot) -> Vec<AggregationDrift> {
        aggregation::drift(&snapshot.cluster_roles, |name| {
            self.cluster_role(name)
                .filter(|r| r.aggregated)
                .map(|r| r.rules.as_slice())
        })
    }

    pub fn cluster_role(&self, name: &str) -> Option<&RoleEntry> {
        self.cluster_roles.get(name).map(|id| &self.roles[*id])
    }

    /// The grants a binding gives through one of its rules, for one subject.
    pub fn grant(
        &self,
        binding: &BindingEntry,
        role: &RoleEntry,
        rule: &SourcedRule,
        subject: &SubjectRef,
    ) -> Grant {
        Grant {
            binding: binding.object(),
            role: role.object(),
            source_role: rule.source.clone(),
            namespace: binding.namespace_arc.clone(),
            subject: subject.clone(),
            rule: rule.rule.clone(),
            rule_index: rule.index,
        }
    }

    /// The grant of rule `rule_idx` of binding `binding_id`'s role to `subject`.
    pub fn grant_of(
        &self,
        binding_id: BindingId,
        rule_idx: usize,
        subject: &SubjectRef,
    ) -> Option<Grant> {
        let b = &self.bindings[binding_id];
        let role = &self.roles[*b.role.as_ref().ok()?];
        Some(self.grant(b, role, role.rules.get(rule_idx)?, subject))
    }

    /// The bindings consulted for a request in `namespace`: every ClusterRoleBinding, plus the
    /// RoleBindings of that namespace when there is one.
    fn bindings_for(&self, namespace: &str) -> impl Iterator<Item = &BindingEntry> {
        let local: &[BindingId] = if namespace.is_empty() {
            &[]
        } else {
            self.bindings_by_namespace
                .get(namespace)
                .map_or(&[], Vec::as_slice)
        };
        self.cluster_bindings
            .iter()
            .chain(local.iter())
            .map(|id| &self.bindings[*id])
    }

    /// `kubectl auth can-i` for an identity: allowed or not, with every grant that allows it.
    pub fn authorize(&self, identity: &Identity, request: &Request) -> Decision {
        if identity.in_group(MASTERS) {
            return Decision {
                allowed: true,
                reason: "member of system:masters, which bypasses RBAC".into(),
                grants: Vec::new(),
            };
        }
        let mut grants = Vec::new();
        for b in self.bindings_for(request.namespace()) {
            let Some((role_id, via)) = b.applies_to(identity) else {
                continue;
            };
            let role = &self.roles[role_id];
            for r in &role.rules {
                if rule_allows(request, &r.rule) {
                    grants.push(self.grant(b, role, r, &via));
                }
            }
        }
        grants.sort();
        grants.dedup();
        let allowed = !grants.is_empty();
        Decision {
            allowed,
            reason: if allowed {
                format!("allowed by {} grant(s)", grants.len())
            } else {
                "no RBAC rule allows it".into()
            },
            grants,
        }
    }

    /// Every binding subject allowed to make the request, each with the grants that allow it.
    /// Groups are reported as groups.
    pub fn who_can(&self, request: &Request) -> BTreeMap<SubjectRef, Vec<Grant>> {
        let mut out: BTreeMap<SubjectRef, Vec<Grant>> = BTreeMap::new();
        let mut role_cache: HashMap<RoleId, Vec<usize>> = HashMap::new();
        for b in self.bindings_for(request.namespace()) {
            let Ok(role_id) = b.role else { continue };
            let role = &self.roles[role_id];
            let allowing = role_cache.entry(role_id).or_insert_with(|| {
                role.rules
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| rule_allows(request, &r.rule))
                    .map(|(i, _)| i)
                    .collect()
            });
            if allowing.is_empty() {
                continue;
            }
            for s in b.resolved.iter().flatten() {
                let entry = out.entry(s.clone()).or_default();
                for i in allowing.iter() {
                    entry.push(self.grant(b, role, &role.rules[*i], s));
                }
            }
        }
        for grants in out.values_mut() {
            grants.sort();
            grants.dedup();
        }
        out
    }

    /// Everything an identity can do: cluster-wide grants and grants per namespace.
    /// The bindings that apply to an identity (naming it or one of its groups), in id order,
    /// each with its role and the subject it names: found through the bindings of each of its
    /// names, never by asking every binding.
    pub fn bindings_applying(&self, identity: &Identity) -> Vec<(BindingId, RoleId, SubjectRef)> {
        let mut keys: Vec<SubjectRef> = vec![identity.subject.clone()];
        keys.extend(identity.groups.iter().map(SubjectRef::group));
        let mut ids: Vec<BindingId> = keys
            .iter()
            .filter_map(|k| self.bindings_by_subject.get(k))
            .flatten()
            .copied()
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids.into_iter()
            .filter_map(|id| {
                let (role, via) = self.bindings[id].applies_to(identity)?;
                Some((id, role, via))
            })
            .collect()
    }

    pub fn access(&self, identity: &Identity) -> AccessReport {
        let mut report = AccessReport {
            bypasses_rbac: identity.in_group(MASTERS),
            ..Default::default()
        };
        for (id, role_id, via) in self.bindings_applying(identity) {
            let b = &self.bindings[id];
            let role = &self.roles[role_id];
            let target = match &b.namespace {
                None => &mut report.cluster_wide,
                Some(ns) => report.namespaced.entry(ns.clone()).or_default(),
            };
            for r in &role.rules {
                target.push(self.grant(b, role, r, &via));
            }
        }
        report.cluster_wide.sort();
        report.cluster_wide.dedup();
        for g in report.namespaced.values_mut() {
            g.sort();
            g.dedup();
        }
        report
    }

    /// The grants an identity holds as its own: through bindings naming it or a group of its own,
    /// not through the groups every user or every ServiceAccount is in (`system:basic-user`,
    /// `system:discovery`, ...). What a sub-processor is judged and reviewed on.
    pub fn own_grants(&self, identity: &Identity) -> Vec<Grant> {
        self.access(identity)
            .all()
            .filter(|g| g.subject.is_own_grant_path())
            .cloned()
            .collect()
    }

    /// Every distinct subject named by a resolvable binding subject, plus every ServiceAccount.
    pub fn all_subjects(&self) -> BTreeSet<SubjectRef> {
        let mut out: BTreeSet<SubjectRef> = self.bindings_by_subject.keys().cloned().collect();
        out.extend(
            self.service_accounts
                .iter()
                .map(|(ns, n)| SubjectRef::service_account(ns, n)),
        );
        out
    }

    /// Bindings naming a subject directly (not through groups).
    pub fn bindings_of(&self, subject: &SubjectRef) -> &[BindingId] {
        self.bindings_by_subject
            .get(subject)
            .map_or(&[], Vec::as_slice)
    }

    pub fn has_namespace(&self, ns: &str) -> bool {
        self.namespaces.contains(ns)
    }
}
