//! Matching inventory entries to what runs in the cluster, and turning the differences into
//! findings: undeclared third parties, stale entries, access beyond the declared scope, Secrets
//! access, and the assurance on file (certifications, reviews, contracts) against the run's date.

use super::model::*;
use crate::finding::Finding;
use crate::rbac::index::{Grant, ObjectRef, RbacIndex};
use crate::rbac::matching::{Request, ResourceRequest, rule_allows};
use crate::rbac::privilege::{AdminReach, PrivilegeTable};
use crate::rbac::reach::is_cluster_admin_rule;
use crate::rbac::subject::{ANONYMOUS, AUTHENTICATED, UNAUTHENTICATED};
use crate::rbac::{Identity, SubjectRef};
use crate::rules::RuleId;
use crate::rules::new_finding;
use crate::rules::system::is_system_subject;
use crate::snapshot::{PolicyRule, Snapshot};
use chrono::{Months, NaiveDate};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// What an inventory entry matched in the cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Matched {
    pub subjects: BTreeSet<SubjectRef>,
    pub namespaces: BTreeSet<String>,
    pub workloads: BTreeSet<(String, String, String)>,
    pub webhooks: BTreeSet<String>,
    pub api_services: BTreeSet<String>,
    /// Declared identities with nothing behind them, described for people.
    pub missing: Vec<String>,
}

impl Matched {
    pub fn found_anything(&self) -> bool {
        !(self.subjects.is_empty()
            && self.namespaces.is_empty()
            && self.webhooks.is_empty()
            && self.api_services.is_empty())
    }

    /// Short descriptions of what was found, for the register.
    pub fn describe(&self) -> Vec<String> {
        let mut out: Vec<String> = self.subjects.iter().map(|s| s.to_string()).collect();
        out.extend(self.namespaces.iter().map(|n| format!("Namespace {n}")));
        out.extend(
            self.workloads
                .iter()
                .map(|(ns, k, n)| format!("{k} {ns}/{n}")),
        );
        out.extend(self.webhooks.iter().map(|w| format!("Webhook {w}")));
        out.extend(self.api_services.iter().map(|a| format!("APIService {a}")));
        out
    }
}

pub fn match_entry(entry: &SubProcessor, snapshot: &Snapshot, index: &RbacIndex) -> Matched {
    let mut m = Matched::default();
    let ids = &entry.identities;
    match_subjects(&mut m, ids, index);
    match_workloads(&mut m, ids, snapshot, index);
    match_webhooks_and_apis(&mut m, ids, snapshot);
    m
}

/// Declared ServiceAccounts that exist; declared users and groups that some binding names.
fn match_subjects(m: &mut Matched, ids: &Identities, index: &RbacIndex) {
    // Declared users and groups count when some binding names them.
    let known = |s: &SubjectRef| !index.bindings_of(s).is_empty();
    for sa in &ids.service_accounts {
        let (ns, name) = sa.split_once('/').unwrap_or(("", sa));
        if index
            .service_accounts
            .contains(&(ns.to_string(), name.to_string()))
        {
            m.subjects.insert(SubjectRef::service_account(ns, name));
        } else {
            m.missing.push(format!("ServiceAccount {sa}"));
        }
    }
    for u in &ids.users {
        let s = SubjectRef::user(u);
        if known(&s) {
            m.subjects.insert(s);
        } else {
            m.missing.push(format!("user {u} (in no binding)"));
        }
    }
    for g in &ids.groups {
        let s = SubjectRef::group(g);
        if known(&s) {
            m.subjects.insert(s);
        } else {
            m.missing.push(format!("group {g} (in no binding)"));
        }
    }
}

/// Declared namespaces (their ServiceAccounts and workloads) and image patterns (the workloads
/// that run them, and their ServiceAccounts).
fn match_workloads(m: &mut Matched, ids: &Identities, snapshot: &Snapshot, index: &RbacIndex) {
    for ns in &ids.namespaces {
        if index.has_namespace(ns) {
            m.namespaces.insert(ns.clone());
            for (sns, sname) in &index.service_accounts {
                if sns == ns && sname != "default" {
                    m.subjects.insert(SubjectRef::service_account(sns, sname));
                }
            }
            for w in snapshot.workloads.iter().filter(|w| &w.namespace == ns) {
                m.workloads
                    .insert((w.namespace.clone(), w.kind.clone(), w.name.clone()));
                m.subjects.insert(SubjectRef::service_account(
                    &w.namespace,
                    &w.service_account,
                ));
            }
        } else {
            m.missing.push(format!("namespace {ns}"));
        }
    }
    for pattern in &ids.images {
        let mut any = false;
        for w in &snapshot.workloads {
            if w.images.iter().any(|i| glob_matches(pattern, i)) {
                any = true;
                m.workloads
                    .insert((w.namespace.clone(), w.kind.clone(), w.name.clone()));
                m.subjects.insert(SubjectRef::service_account(
                    &w.namespace,
                    &w.service_account,
                ));
            }
        }
        if !any {
            m.missing
                .push(format!("image {pattern} (no workload runs it)"));
        }
    }
}

/// Declared webhook configurations and APIServices, and those served from a claimed namespace.
fn match_webhooks_and_apis(m: &mut Matched, ids: &Identities, snapshot: &Snapshot) {
    let webhooks: BTreeSet<&str> = snapshot
        .mutating_webhook_configurations
        .iter()
        .chain(&snapshot.validating_webhook_configurations)
        .map(|w| w.metadata.name.as_str())
        .collect();
    for w in &ids.webhooks {
        if webhooks.contains(w.as_str()) {
            m.webhooks.insert(w.clone());
        } else {
            m.missing.push(format!("webhook configuration {w}"));
        }
    }
    for a in &ids.api_services {
        if snapshot.api_services.iter().any(|x| &x.metadata.name == a) {
            m.api_services.insert(a.clone());
        } else {
            m.missing.push(format!("APIService {a}"));
        }
    }
    // A claimed namespace also claims the webhooks and APIServices served from it.
    let served_from = |svc: Option<&str>| {
        svc.and_then(|s| s.split_once('/'))
            .is_some_and(|(ns, _)| m.namespaces.contains(ns))
    };
    for w in snapshot
        .mutating_webhook_configurations
        .iter()
        .chain(&snapshot.validating_webhook_configurations)
    {
        if !w.webhooks.is_empty() && w.webhooks.iter().all(|h| served_from(h.service.as_deref())) {
            m.webhooks.insert(w.metadata.name.clone());
        }
    }
    for a in &snapshot.api_services {
        if served_from(a.service.as_deref()) {
            m.api_services.insert(a.metadata.name.clone());
        }
    }
}

/// One row of the sub-processor register, as the pack and reports show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegisterRow {
    pub id: String,
    pub name: String,
    pub vendor: String,
    pub owner: String,
    pub purpose: String,
    pub data_categories: Vec<String>,
    pub data_residency: Vec<String>,
    /// The contract as the inventory records it: the DPA's signature date and the renewal date,
    /// with `passed` when it is before the run's day, or what is not recorded.
    #[serde(default)]
    pub contract: String,
    /// Each certification with its status (`current`, `expiring`, `expired`), e.g.
    /// `soc2-type2: current (period ended 2026-06-30)`.
    pub certifications: Vec<String>,
    /// `current`, `overdue since DATE`, or `never reviewed`.
    pub review: String,
    pub identities_found: Vec<String>,
    pub identities_missing: Vec<String>,
    pub declared_access: String,
    /// The least access level that covers what its identities hold (`none` ... `cluster-admin`).
    pub observed_access: String,
    /// How its software is updated, from the packs' image record (`vendor-updates.json`).
    #[serde(default)]
    pub updates: String,
    pub findings: Vec<String>,
}

/// The inventory side of the analysis.
#[derive(Debug, Clone, Default)]
pub struct Reconciliation {
    pub findings: Vec<Finding>,
    pub register: Vec<RegisterRow>,
    /// Which sub-processor claims each subject, for tagging other findings.
    pub owners: BTreeMap<SubjectRef, String>,
}

/// The grants an identity holds beyond the cluster's baseline (the API server's own bootstrap
/// bindings).
pub fn grants_of(index: &RbacIndex, subject: &SubjectRef) -> Vec<Grant> {
    let report = index.access(&Identity::of(subject, &[]));
    let bootstrap: BTreeSet<&ObjectRef> = index
        .bindings
        .iter()
        .filter(|b| b.bootstrap)
        .map(|b| b.object.as_ref())
        .collect();
    report
        .all()
        .filter(|g| !bootstrap.contains(g.binding.as_ref()))
        .cloned()
        .collect()
}

fn probe(verb: &str, group: &str, resource: &str) -> Request {
    Request::Resource(ResourceRequest {
        verb: verb.into(),
        api_group: group.into(),
        resource: resource.into(),
        subresource: String::new(),
        namespace: String::new(),
        name: String::new(),
    })
}

fn read_only_verbs(rule: &PolicyRule) -> bool {
    rule.verbs
        .iter()
        .all(|v| matches!(v.as_str(), "get" | "list" | "watch"))
}

/// Any access to Secrets, named ones included.
pub fn touches_secrets(rule: &PolicyRule) -> bool {
    ["get", "list", "watch"]
        .iter()
        .any(|v| crate::rbac::matching::allows(rule, v, "", "secrets", "").is_some())
}

/// Why a grant exceeds the declared access, or None when it is within it.
pub fn excess(
    grant: &Grant,
    declared: &DeclaredAccess,
    own_namespaces: &BTreeSet<String>,
) -> Option<String> {
    let rule = &grant.rule;
    if let Some(level) = declared.level {
        return match level {
            AccessLevel::ClusterAdmin => None,
            AccessLevel::ClusterWideWrite => (grant.namespace.is_none()
                && is_cluster_admin_rule(rule))
            .then(|| "all verbs on all resources cluster-wide exceed cluster-wide-write".into()),
            AccessLevel::None => Some("declared access is none".into()),
            AccessLevel::ReadOnly => (!read_only_verbs(rule))
                .then(|| format!("verbs {} exceed read-only", rule.verbs.join(","))),
            AccessLevel::ReadOnlyNoSecrets => {
                if !read_only_verbs(rule) {
                    Some(format!("verbs {} exceed read-only", rule.verbs.join(",")))
                } else if touches_secrets(rule) {
                    Some("reads Secrets, declared read-only without Secrets".into())
                } else {
                    None
                }
            }
            AccessLevel::NamespacedWrite => {
                let own = grant
                    .namespace
                    .as_deref()
                    .is_some_and(|ns| own_namespaces.contains(ns));
                if own {
                    None
                } else if !read_only_verbs(rule) {
                    Some(format!(
                        "verbs {} {} exceed namespaced write (own namespaces only)",
                        rule.verbs.join(","),
                        grant.scope()
                    ))
                } else if touches_secrets(rule) {
                    Some(format!(
                        "reads Secrets {}, outside its own namespaces",
                        grant.scope()
                    ))
                } else {
                    None
                }
            }
        };
    }
    // Declared rules: every (verb, group, resource) the grant names must be covered by a declared
    // rule whose namespaces include the grant's scope.
    let covers_scope = |r: &DeclaredRule| {
        r.namespaces.is_empty()
            || r.namespaces.iter().any(|n| n == "*")
            || grant
                .namespace
                .as_deref()
                .is_some_and(|ns| r.namespaces.iter().any(|n| n == ns))
    };
    let as_policy = |r: &DeclaredRule| PolicyRule {
        verbs: r.verbs.clone(),
        api_groups: r.api_groups.clone(),
        resources: r.resources.clone(),
        resource_names: vec![],
        non_resource_urls: r.non_resource_urls.clone(),
    };
    let declared: Vec<PolicyRule> = declared
        .rules
        .iter()
        .filter(|r| covers_scope(r))
        .map(as_policy)
        .collect();
    let mut uncovered = Vec::new();
    for verb in &rule.verbs {
        for url in &rule.non_resource_urls {
            let req = Request::NonResource(crate::rbac::NonResourceRequest {
                verb: verb.clone(),
                path: url.clone(),
            });
            if !declared.iter().any(|d| rule_allows(&req, d)) {
                uncovered.push(format!("{verb} {url}"));
            }
        }
        for group in &rule.api_groups {
            for resource in &rule.resources {
                let (res, sub) = resource.split_once('/').unwrap_or((resource, ""));
                let req = Request::Resource(ResourceRequest {
                    verb: verb.clone(),
                    api_group: group.clone(),
                    resource: res.to_string(),
                    subresource: sub.to_string(),
                    namespace: String::new(),
                    name: String::new(),
                });
                if !declared.iter().any(|d| rule_allows(&req, d)) {
                    let g = if group.is_empty() { "core" } else { group };
                    uncovered.push(format!("{verb} {resource} [{g}]"));
                }
            }
        }
    }
    (!uncovered.is_empty()).then(|| format!("not declared: {}", uncovered.join(", ")))
}

/// What of an entry's access its declaration does not cover: the grants beyond it with the reason
/// for each, and a reach of cluster-admin by escalation unless `cluster-admin` is declared
/// (direct cluster-admin is a grant beyond any other level, so it is among the grants). KE-SUB-003
/// reports exactly this, and [`least_level`] is the least level for which it is empty: a draft
/// entry that declares that level meets no KE-SUB-003.
#[derive(Debug, Clone, Default)]
pub struct Beyond {
    pub grants: Vec<Grant>,
    pub reasons: BTreeSet<String>,
    pub escalation: Option<(SubjectRef, Vec<crate::rbac::reach::PathStep>)>,
}

impl Beyond {
    pub fn is_empty(&self) -> bool {
        self.grants.is_empty() && self.escalation.is_none()
    }
}

/// Judges `grants` and the strongest cluster-admin reach of the identities that hold them
/// against a declaration (see [`Beyond`]).
pub fn beyond_declared(
    declared: &DeclaredAccess,
    grants: &[Grant],
    admin: Option<(&SubjectRef, &AdminReach)>,
    own_namespaces: &BTreeSet<String>,
) -> Beyond {
    let mut out = Beyond::default();
    for g in grants {
        if let Some(why) = excess(g, declared, own_namespaces) {
            out.reasons.insert(why);
            out.grants.push(g.clone());
        }
    }
    out.grants.sort();
    out.grants.dedup();
    if declared.level != Some(AccessLevel::ClusterAdmin)
        && let Some((s, AdminReach::Escalation { path, .. })) = admin
    {
        out.escalation = Some((s.clone(), path.clone()));
    }
    out
}

/// The least level whose declaration leaves nothing beyond it ([`beyond_declared`]): with `admin`,
/// a reach of cluster-admin by escalation makes it `cluster-admin`.
pub fn least_level(
    grants: &[Grant],
    admin: Option<(&SubjectRef, &AdminReach)>,
    own_namespaces: &BTreeSet<String>,
) -> AccessLevel {
    for (_, level) in AccessLevel::ALL {
        let declared = DeclaredAccess {
            level: Some(level),
            rules: vec![],
        };
        if beyond_declared(&declared, grants, admin, own_namespaces).is_empty() {
            return level;
        }
    }
    AccessLevel::ClusterAdmin
}

/// The least level that covers every grant (`cluster-admin` only for a grant of all verbs on all
/// resources cluster-wide): [`least_level`] without the reach of cluster-admin by escalation.
pub fn observed_level(grants: &[Grant], own_namespaces: &BTreeSet<String>) -> AccessLevel {
    least_level(grants, None, own_namespaces)
}

/// What an entry's matched identities hold, as KE-SUB-003 judges it.
pub struct EntryAccess<'p> {
    /// Each matched subject with its grants (bootstrap bindings aside).
    pub grants: Vec<(SubjectRef, Vec<Grant>)>,
    /// The entry's own namespaces: its declared namespaces found in the cluster and those of its
    /// ServiceAccounts (what `namespaced-write` allows writing in).
    pub own_namespaces: BTreeSet<String>,
    /// The strongest reach of cluster-admin among the subjects.
    pub admin: Option<(&'p SubjectRef, &'p AdminReach)>,
}

impl EntryAccess<'_> {
    pub fn all_grants(&self) -> Vec<Grant> {
        self.grants
            .iter()
            .flat_map(|(_, g)| g.iter().cloned())
            .collect()
    }

    /// The least level the entry can declare without KE-SUB-003.
    pub fn least_level(&self) -> AccessLevel {
        least_level(&self.all_grants(), self.admin, &self.own_namespaces)
    }
}

pub fn entry_access<'p>(
    m: &'p Matched,
    index: &RbacIndex,
    privilege: &'p PrivilegeTable,
) -> EntryAccess<'p> {
    let mut own_namespaces: BTreeSet<String> = m.namespaces.clone();
    own_namespaces.extend(
        m.subjects
            .iter()
            .filter_map(|s| s.namespace().map(str::to_string)),
    );
    EntryAccess {
        grants: m
            .subjects
            .iter()
            .map(|s| (s.clone(), grants_of(index, s)))
            .collect(),
        own_namespaces,
        admin: privilege.strongest(&m.subjects),
    }
}

/// The least level `entry` (its `declaredAccess` aside) can declare in this cluster without
/// KE-SUB-003: what its identities would be matched to, judged as a run judges them.
pub fn least_declarable_level(
    entry: &SubProcessor,
    snapshot: &Snapshot,
    index: &RbacIndex,
    privilege: &PrivilegeTable,
) -> AccessLevel {
    let m = match_entry(entry, snapshot, index);
    entry_access(&m, index, privilege).least_level()
}

/// The observed access as the register states it: the privilege table's cluster-admin reach of
/// the strongest identity when one reaches it, else the least level covering the grants.
pub fn observed_access(level: AccessLevel, admin: Option<(&SubjectRef, &AdminReach)>) -> String {
    match admin {
        Some((s, r @ AdminReach::Direct { .. })) => {
            format!("cluster-admin ({}, {s})", r.describe_for(s))
        }
        Some((s, AdminReach::Escalation { steps, .. })) => format!(
            "cluster-admin via escalation ({steps} step{}, {s})",
            if *steps == 1 { "" } else { "s" }
        ),
        None => level.as_str().to_string(),
    }
}

/// `DPA signed 2025-03-01; renewal 2027-01-31`, saying what is missing or passed.
fn describe_contract(contract: Option<&super::model::Contract>, today: NaiveDate) -> String {
    let dpa = match contract.and_then(|c| c.dpa_signed) {
        Some(d) => format!("DPA signed {d}"),
        None => "no signed DPA recorded".to_string(),
    };
    let renewal = match contract.and_then(|c| c.renewal) {
        Some(r) if r < today => format!("renewal {r} (passed)"),
        Some(r) => format!("renewal {r}"),
        None => "no renewal date recorded".to_string(),
    };
    format!("{dpa}; {renewal}")
}

fn is_internal(s: &SubjectRef, internal: &Internal) -> bool {
    match s {
        SubjectRef::User { name } => internal.users.iter().any(|p| glob_matches(p, name)),
        SubjectRef::Group { name } => internal.groups.iter().any(|p| glob_matches(p, name)),
        SubjectRef::ServiceAccount { namespace, name } => {
            internal
                .namespaces
                .iter()
                .any(|p| glob_matches(p, namespace))
                || internal
                    .service_accounts
                    .iter()
                    .any(|p| glob_matches(p, &format!("{namespace}/{name}")))
        }
    }
}

/// Sensitive for the undeclared-access rule: Secrets, exec, workload writes, RBAC and webhook
/// writes.
fn sensitive(rule: &PolicyRule, cluster: bool) -> bool {
    touches_secrets(rule)
        || ["exec", "attach"]
            .iter()
            .any(|s| crate::rbac::matching::allows(rule, "create", "", "pods", s).is_some())
        || rule_allows(&probe("create", "", "pods"), rule)
        || ["deployments", "daemonsets", "statefulsets"]
            .iter()
            .any(|r| {
                rule_allows(&probe("create", "apps", r), rule)
                    || rule_allows(&probe("patch", "apps", r), rule)
            })
        || [
            "roles",
            "rolebindings",
            "clusterroles",
            "clusterrolebindings",
        ]
        .iter()
        .any(|r| {
            ["create", "update", "patch", "bind", "escalate"]
                .iter()
                .any(|v| rule_allows(&probe(v, "rbac.authorization.k8s.io", r), rule))
        })
        || (cluster
            && [
                "mutatingwebhookconfigurations",
                "validatingwebhookconfigurations",
            ]
            .iter()
            .any(|r| {
                ["create", "update", "patch"]
                    .iter()
                    .any(|v| rule_allows(&probe(v, "admissionregistration.k8s.io", r), rule))
            }))
}

pub fn reconcile(
    inventory: &Inventory,
    snapshot: &Snapshot,
    index: &RbacIndex,
    privilege: &PrivilegeTable,
    today: NaiveDate,
) -> Reconciliation {
    let mut out = Reconciliation::default();
    let mut claimed = Claimed::default();
    for entry in &inventory.sub_processors {
        let m = match_entry(entry, snapshot, index);
        claimed.subjects.extend(m.subjects.iter().cloned());
        claimed.webhooks.extend(m.webhooks.iter().cloned());
        claimed.apis.extend(m.api_services.iter().cloned());
        for s in &m.subjects {
            out.owners.insert(s.clone(), entry.id.clone());
        }
        let (row, findings) = reconcile_entry(entry, &m, inventory, index, privilege, today);
        out.register.push(row);
        out.findings.extend(findings);
    }
    out.findings
        .extend(undeclared_subjects(inventory, index, &claimed.subjects));
    out.findings
        .extend(undeclared_webhooks_and_apis(inventory, snapshot, &claimed));
    out
}

/// What the register's entries claim: identities, webhooks and APIServices.
#[derive(Default)]
struct Claimed {
    subjects: BTreeSet<SubjectRef>,
    webhooks: BTreeSet<String>,
    apis: BTreeSet<String>,
}

/// One entry against the cluster: its register row and its findings, each tagged with it.
fn reconcile_entry(
    entry: &SubProcessor,
    m: &Matched,
    inventory: &Inventory,
    index: &RbacIndex,
    privilege: &PrivilegeTable,
    today: NaiveDate,
) -> (RegisterRow, Vec<Finding>) {
    let mut findings = Vec::new();
    if let Some(f) = stale_entry(entry, m) {
        findings.push(f);
    }
    let held = entry_access(m, index, privilege);
    findings.extend(access_findings(entry, m, &held));
    let (assurance, cert_status, review) = assurance_findings(entry, inventory, today);
    findings.extend(assurance);
    for f in &mut findings {
        f.sub_processor = Some(entry.id.clone());
    }
    let contract = entry.contract.as_ref();
    let observed = observed_access(
        observed_level(&held.all_grants(), &held.own_namespaces),
        held.admin,
    );
    let row = RegisterRow {
        id: entry.id.clone(),
        name: entry.name.clone(),
        vendor: entry.vendor.clone(),
        owner: entry.owner.clone().unwrap_or_default(),
        purpose: entry.purpose.clone().unwrap_or_default(),
        data_categories: entry.data_categories.clone(),
        data_residency: entry.data_residency.clone(),
        contract: describe_contract(contract, today),
        certifications: cert_status,
        review,
        identities_found: m.describe(),
        identities_missing: m.missing.clone(),
        declared_access: describe_declared(&entry.declared_access),
        observed_access: observed,
        updates: String::new(),
        findings: findings.iter().map(|f| f.id.clone()).collect(),
    };
    (row, findings)
}

/// KE-SUB-002: declared identities that are not in the cluster.
fn stale_entry(entry: &SubProcessor, m: &Matched) -> Option<Finding> {
    if m.missing.is_empty() {
        return None;
    }
    let summary = if m.found_anything() {
        format!(
            "{}: {} declared identit(ies) not found: {}",
            entry.id,
            m.missing.len(),
            m.missing.join("; ")
        )
    } else {
        format!(
            "{}: none of its declared identities exists in the cluster ({})",
            entry.id,
            m.missing.join("; ")
        )
    };
    Some(new_finding(RuleId::Sub002, &entry.id, summary))
}

/// KE-SUB-003 and KE-SUB-004: effective access beyond the declaration (escalation included,
/// as [`beyond_declared`] judges it), and Secrets read.
fn access_findings(entry: &SubProcessor, m: &Matched, held: &EntryAccess<'_>) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut secret_grants: Vec<Grant> = Vec::new();
    let mut secret_subjects: BTreeSet<SubjectRef> = BTreeSet::new();
    for (s, grants) in &held.grants {
        for g in grants.iter().filter(|g| touches_secrets(&g.rule)) {
            secret_grants.push(g.clone());
            secret_subjects.insert(s.clone());
        }
    }
    let beyond = beyond_declared(
        &entry.declared_access,
        &held.all_grants(),
        held.admin,
        &held.own_namespaces,
    );
    if !beyond.is_empty() {
        let Beyond {
            grants: excess_grants,
            reasons,
            escalation,
        } = beyond;
        let declared = describe_declared(&entry.declared_access);
        let mut summary = if excess_grants.is_empty() {
            format!(
                "{}: grants within the declared access ({declared})",
                entry.id
            )
        } else {
            format!(
                "{}: {} grant(s) beyond the declared access ({declared})",
                entry.id,
                excess_grants.len()
            )
        };
        if let Some((s, p)) = &escalation {
            summary.push_str(&format!(
                ", but {s} reaches cluster-admin in {} step(s)",
                p.len()
            ));
        }
        let mut f = new_finding(RuleId::Sub003, &entry.id, summary);
        f.grants = excess_grants.into();
        f.subjects = m.subjects.iter().cloned().collect();
        if let Some((_, p)) = escalation {
            f.path = p;
        }
        if !reasons.is_empty() {
            f.summary.push_str(&format!(
                ". {}",
                reasons.into_iter().take(6).collect::<Vec<_>>().join("; ")
            ));
        }
        findings.push(f);
    }
    if !secret_grants.is_empty() {
        secret_grants.sort();
        secret_grants.dedup();
        let scopes: BTreeSet<String> = secret_grants.iter().map(|g| g.scope()).collect();
        let mut f = new_finding(
            RuleId::Sub004,
            &entry.id,
            format!(
                "{} can read Secrets ({})",
                entry.id,
                scopes.into_iter().collect::<Vec<_>>().join(", ")
            ),
        );
        f.subjects = std::mem::take(&mut secret_subjects).into_iter().collect();
        f.grants = secret_grants.into();
        findings.push(f);
    }
    findings
}

/// KE-SUB-005..KE-SUB-012 that are about the paperwork: certifications, reviews, contract, DPA,
/// owner. Also the certifications' and the review's status for the register.
fn assurance_findings(
    entry: &SubProcessor,
    inventory: &Inventory,
    today: NaiveDate,
) -> (Vec<Finding>, Vec<String>, String) {
    let mut findings = Vec::new();
    let (cert_findings, cert_status) = certifications(entry, &inventory.settings, today);
    findings.extend(cert_findings);
    let review_due = entry
        .last_reviewed
        .map(|d| d + chrono::Days::new(u64::from(entry.review_interval_days)));
    let review = match (entry.last_reviewed, review_due) {
        (None, _) => {
            findings.push(new_finding(
                RuleId::Sub008,
                &entry.id,
                format!("{}: never reviewed", entry.id),
            ));
            "never reviewed".to_string()
        }
        (Some(last), Some(due)) if due < today => {
            findings.push(new_finding(
                RuleId::Sub008,
                &entry.id,
                format!(
                    "{}: last reviewed {last}, review due {due} (every {} days)",
                    entry.id, entry.review_interval_days
                ),
            ));
            format!("overdue since {due}")
        }
        (Some(last), Some(due)) => format!("current (reviewed {last}, due {due})"),
        (Some(last), None) => format!("reviewed {last}"),
    };
    // The two contract checks are independent: a passed renewal date never hides a missing
    // DPA, nor the other way round.
    let contract = entry.contract.as_ref();
    if let Some(r) = contract.and_then(|c| c.renewal)
        && r < today
    {
        findings.push(new_finding(
            RuleId::Sub009,
            &entry.id,
            format!("{}: contract renewal date {r} has passed", entry.id),
        ));
    }
    if contract.and_then(|c| c.dpa_signed).is_none() {
        findings.push(new_finding(
            RuleId::Sub012,
            &entry.id,
            format!("{}: no signed DPA is recorded", entry.id),
        ));
    }
    if entry.owner.is_none() {
        findings.push(new_finding(
            RuleId::Sub011,
            &entry.id,
            format!("{}: no internal owner", entry.id),
        ));
    }
    (findings, cert_status, review)
}

/// Subjects KE-SUB-001 never asks an entry for: the groups of everyone of a kind, anonymous, and
/// Kubernetes' own components. A draft entry leaves them out too.
pub fn never_a_sub_processor(s: &SubjectRef) -> bool {
    let everyone = matches!(s, SubjectRef::Group { name } if name == AUTHENTICATED || name == UNAUTHENTICATED || name.starts_with("system:serviceaccounts"))
        || matches!(s, SubjectRef::User { name } if name == ANONYMOUS);
    everyone || is_system_subject(s)
}

/// KE-SUB-001 for identities: cluster-wide or sensitive access that no entry claims, outside
/// Kubernetes' own components and the organisation's own identities.
fn undeclared_subjects(
    inventory: &Inventory,
    index: &RbacIndex,
    claimed_subjects: &BTreeSet<SubjectRef>,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut candidates: BTreeMap<SubjectRef, Vec<Grant>> = BTreeMap::new();
    for b in index.bindings.iter().filter(|b| !b.bootstrap) {
        let Ok(role_id) = b.role else { continue };
        let role = &index.roles[role_id];
        for s in b.resolved.iter().flatten() {
            if never_a_sub_processor(s)
                || claimed_subjects.contains(s)
                || is_internal(s, &inventory.internal)
            {
                continue;
            }
            for r in &role.rules {
                if b.cluster || sensitive(&r.rule, b.cluster) {
                    candidates
                        .entry(s.clone())
                        .or_default()
                        .push(index.grant(b, role, r, s));
                }
            }
        }
    }
    for (s, mut grants) in candidates {
        if let SubjectRef::ServiceAccount { namespace, name } = &s
            && !index
                .service_accounts
                .contains(&(namespace.clone(), name.clone()))
        {
            // A binding to a ServiceAccount that does not exist is KE-RBAC-023, not a supplier.
            continue;
        }
        grants.sort();
        grants.dedup();
        let cluster = grants.iter().any(|g| g.namespace.is_none());
        let mut f = new_finding(
            RuleId::Sub001,
            &s.key(),
            format!(
                "{s} holds {} access ({} grant(s)) and no sub-processor entry claims it",
                if cluster { "cluster-wide" } else { "sensitive" },
                grants.len()
            ),
        );
        f.subjects = vec![s];
        f.grants = grants.into();
        findings.push(f);
    }
    findings
}

/// KE-SUB-001 for webhooks and APIServices that no entry claims and that are not served from
/// the organisation's own namespaces.
fn undeclared_webhooks_and_apis(
    inventory: &Inventory,
    snapshot: &Snapshot,
    claimed: &Claimed,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    let all_webhooks = snapshot
        .mutating_webhook_configurations
        .iter()
        .map(|w| ("MutatingWebhookConfiguration", w))
        .chain(
            snapshot
                .validating_webhook_configurations
                .iter()
                .map(|w| ("ValidatingWebhookConfiguration", w)),
        );
    let internal_ns = |svc: Option<&str>| {
        svc.and_then(|s| s.split_once('/')).is_some_and(|(ns, _)| {
            inventory
                .internal
                .namespaces
                .iter()
                .any(|p| glob_matches(p, ns))
        })
    };
    for (kind, w) in all_webhooks {
        let internal =
            !w.webhooks.is_empty() && w.webhooks.iter().all(|h| internal_ns(h.service.as_deref()));
        if claimed.webhooks.contains(&w.metadata.name) || internal {
            continue;
        }
        let object = ObjectRef::new(kind, None, &w.metadata.name);
        let targets: BTreeSet<String> = w
            .webhooks
            .iter()
            .filter_map(|h| h.service.clone().or(h.url.clone()))
            .collect();
        let mut f = new_finding(
            RuleId::Sub001,
            &object.to_string(),
            format!(
                "{object} (calling {}) is claimed by no sub-processor entry",
                targets.into_iter().collect::<Vec<_>>().join(", ")
            ),
        );
        f.objects = vec![object];
        findings.push(f);
    }
    for a in snapshot.api_services.iter().filter(|a| a.service.is_some()) {
        if claimed.apis.contains(&a.metadata.name) || internal_ns(a.service.as_deref()) {
            continue;
        }
        let object = ObjectRef::new("APIService", None, &a.metadata.name);
        let mut f = new_finding(
            RuleId::Sub001,
            &object.to_string(),
            format!(
                "{object} (served by Service {}) is claimed by no sub-processor entry",
                a.service.as_deref().unwrap_or("")
            ),
        );
        f.objects = vec![object];
        findings.push(f);
    }
    findings
}

pub fn describe_declared(d: &DeclaredAccess) -> String {
    match d.level {
        Some(l) => l.as_str().to_string(),
        None => format!("{} declared rule(s)", d.rules.len()),
    }
}

/// Certification findings and a status line per certification.
fn certifications(
    entry: &SubProcessor,
    settings: &Settings,
    today: NaiveDate,
) -> (Vec<Finding>, Vec<String>) {
    let mut findings = Vec::new();
    let mut status = Vec::new();
    let warn_until = today + chrono::Days::new(u64::from(settings.expiry_warning_days));
    let has_assurance = entry
        .certifications
        .iter()
        .any(|c| c.cert_type == "soc2-type2" || c.cert_type == "iso27001");
    if !has_assurance {
        findings.push(new_finding(
            RuleId::Sub005,
            &entry.id,
            format!(
                "{}: no SOC 2 Type II report or ISO 27001 certificate recorded",
                entry.id
            ),
        ));
    }
    for c in &entry.certifications {
        // The last day the assurance counts: a certificate's expiry, or the end of a SOC 2
        // report's currency window after its period.
        let (valid_until, basis) = match (c.expires, c.report_period_end) {
            (Some(e), _) => (Some(e), format!("expires {e}")),
            (None, Some(end)) => (
                end.checked_add_months(Months::new(settings.soc2_report_max_age_months)),
                format!("period ended {end}"),
            ),
            (None, None) => (None, "no date".to_string()),
        };
        let key = format!("{}\n{}", entry.id, c.cert_type);
        let state = match valid_until {
            Some(v) if v < today => {
                findings.push(new_finding(
                    RuleId::Sub006,
                    &key,
                    format!(
                        "{}: {} {basis}, current only until {v}",
                        entry.id, c.cert_type
                    ),
                ));
                "expired"
            }
            Some(v) if v <= warn_until => {
                let days = (v - today).num_days();
                findings.push(new_finding(
                    RuleId::Sub007,
                    &key,
                    format!(
                        "{}: {} {basis}, current until {v} ({days} day(s) left)",
                        entry.id, c.cert_type
                    ),
                ));
                "expiring"
            }
            Some(_) => "current",
            None => "undated",
        };
        if c.cert_type.starts_with("soc2") && c.reviewed.is_none() {
            findings.push(new_finding(
                RuleId::Sub010,
                &key,
                format!(
                    "{}: {} report recorded without the date it was reviewed",
                    entry.id, c.cert_type
                ),
            ));
        }
        status.push(format!("{}: {state} ({basis})", c.cert_type));
    }
    (findings, status)
}
