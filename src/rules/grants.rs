//! Rules about what subjects can do: each role rule is matched once against the risk
//! predicates, then every binding hands its hits to its subjects.

use super::RuleId;
use super::system::{bootstrap_excuses, is_system_subject};
use super::{RuleContext, new_finding};
use crate::finding::{Finding, Scope, Severity};
use crate::rbac::SubjectRef;
use crate::rbac::grant_set::GrantSet;
use crate::rbac::index::{BindingId, Grant, ObjectRef, RoleId};
use crate::rbac::matching::{Names, allows};
use crate::rbac::reach::is_cluster_admin_rule;
use crate::rbac::subject::{
    ALL_SERVICE_ACCOUNTS, ANONYMOUS, AUTHENTICATED, MASTERS, UNAUTHENTICATED,
};
use crate::snapshot::PolicyRule;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

const RBAC_GROUP: &str = "rbac.authorization.k8s.io";
const WRITE: &[&str] = &["create", "update", "patch", "delete"];

pub(crate) fn any_verb(
    rule: &PolicyRule,
    verbs: &[&str],
    group: &str,
    resource: &str,
    sub: &str,
) -> bool {
    verbs
        .iter()
        .any(|v| allows(rule, v, group, resource, sub).is_some())
}

fn any_verb_all_names(
    rule: &PolicyRule,
    verbs: &[&str],
    group: &str,
    resource: &str,
    sub: &str,
) -> bool {
    verbs
        .iter()
        .any(|v| allows(rule, v, group, resource, sub) == Some(Names::All))
}

pub(crate) fn reads_secrets(rule: &PolicyRule) -> bool {
    any_verb_all_names(rule, &["get", "list", "watch"], "", "secrets", "")
}

pub(crate) fn execs(rule: &PolicyRule) -> bool {
    ["exec", "attach", "portforward"]
        .iter()
        .any(|sub| any_verb(rule, &["create", "get"], "", "pods", sub))
        || any_verb(
            rule,
            &["update", "patch"],
            "",
            "pods",
            "ephemeralcontainers",
        )
}

pub(crate) fn writes_workloads(rule: &PolicyRule) -> bool {
    any_verb_all_names(rule, &["create"], "", "pods", "")
        || [
            ("apps", "deployments"),
            ("apps", "daemonsets"),
            ("apps", "statefulsets"),
            ("apps", "replicasets"),
            ("batch", "jobs"),
            ("batch", "cronjobs"),
            ("", "replicationcontrollers"),
        ]
        .iter()
        .any(|(g, r)| any_verb_all_names(rule, &["create", "update", "patch"], g, r, ""))
}

pub(crate) fn writes_rbac(rule: &PolicyRule, cluster: bool) -> bool {
    let mut kinds = vec!["roles", "rolebindings"];
    if cluster {
        kinds.extend(["clusterroles", "clusterrolebindings"]);
    }
    kinds
        .iter()
        .any(|r| any_verb(rule, WRITE, RBAC_GROUP, r, ""))
        || any_verb(rule, &["bind", "escalate"], RBAC_GROUP, "roles", "")
        || (cluster && any_verb(rule, &["bind", "escalate"], RBAC_GROUP, "clusterroles", ""))
}

pub(crate) fn impersonates(rule: &PolicyRule, cluster: bool) -> bool {
    any_verb(rule, &["impersonate"], "", "serviceaccounts", "")
        || (cluster
            && (any_verb(rule, &["impersonate"], "", "users", "")
                || any_verb(rule, &["impersonate"], "", "groups", "")
                || any_verb(
                    rule,
                    &["impersonate"],
                    "authentication.k8s.io",
                    "userextras",
                    "",
                )
                || any_verb(rule, &["impersonate"], "authentication.k8s.io", "uids", "")))
}

pub(crate) fn mints_tokens(rule: &PolicyRule) -> bool {
    any_verb(rule, &["create"], "", "serviceaccounts", "token")
}

pub(crate) fn node_proxy(rule: &PolicyRule, cluster: bool) -> bool {
    cluster && any_verb(rule, &["get", "create"], "", "nodes", "proxy")
}

pub(crate) fn writes_webhooks(rule: &PolicyRule, cluster: bool) -> bool {
    cluster
        && [
            "mutatingwebhookconfigurations",
            "validatingwebhookconfigurations",
        ]
        .iter()
        .any(|r| any_verb(rule, WRITE, "admissionregistration.k8s.io", r, ""))
}

/// The rule IDs a role rule triggers when granted cluster-wide (`cluster`) or in a namespace.
/// All verbs on all resources cluster-wide is KE-RBAC-001, which stands for every capability.
pub fn hits(rule: &PolicyRule, cluster: bool) -> Vec<RuleId> {
    if cluster && is_cluster_admin_rule(rule) {
        return vec![RuleId::Rbac001];
    }
    capability_hits(rule, cluster)
}

/// Every capability rule a role rule grants (a cluster-admin rule grants them all): who holds
/// what, for the population, whatever finding stands for it.
pub fn capability_hits(rule: &PolicyRule, cluster: bool) -> Vec<RuleId> {
    let mut out = Vec::new();
    let star = |v: &Vec<String>| v.iter().any(|x| x == "*");
    if star(&rule.verbs)
        || star(&rule.resources)
        || star(&rule.api_groups)
        || star(&rule.non_resource_urls)
    {
        out.push(RuleId::Rbac002);
    }
    if reads_secrets(rule) {
        out.push(if cluster {
            RuleId::Rbac003
        } else {
            RuleId::Rbac004
        });
    }
    if execs(rule) {
        out.push(RuleId::Rbac005);
    }
    if writes_workloads(rule) {
        out.push(RuleId::Rbac006);
    }
    if writes_rbac(rule, cluster) {
        out.push(RuleId::Rbac007);
    }
    if impersonates(rule, cluster) {
        out.push(RuleId::Rbac008);
    }
    if mints_tokens(rule) {
        out.push(RuleId::Rbac009);
    }
    if node_proxy(rule, cluster) {
        out.push(RuleId::Rbac010);
    }
    if cluster
        && any_verb(
            rule,
            &["update", "patch"],
            "certificates.k8s.io",
            "certificatesigningrequests",
            "approval",
        )
    {
        out.push(RuleId::Rbac011);
    }
    if writes_webhooks(rule, cluster) {
        out.push(RuleId::Rbac012);
    }
    if cluster && any_verb(rule, &["create"], "", "persistentvolumes", "") {
        out.push(RuleId::Rbac013);
    }
    if cluster
        && any_verb(
            rule,
            WRITE,
            "apiextensions.k8s.io",
            "customresourcedefinitions",
            "",
        )
    {
        out.push(RuleId::Rbac014);
    }
    if cluster && any_verb(rule, &["update", "patch"], "", "namespaces", "") {
        out.push(RuleId::Rbac015);
    }
    if (cluster && any_verb(rule, &["update", "patch"], "", "nodes", "status"))
        || any_verb(rule, &["update", "patch"], "", "pods", "status")
        || any_verb(rule, &["update", "patch"], "", "services", "status")
    {
        out.push(RuleId::Rbac016);
    }
    let deletes_collections = rule
        .verbs
        .iter()
        .any(|v| v == "*" || v == "deletecollection")
        && !rule.resources.is_empty();
    if deletes_collections
        || any_verb(rule, &["delete", "deletecollection"], "", "events", "")
        || any_verb(
            rule,
            &["delete", "deletecollection"],
            "events.k8s.io",
            "events",
            "",
        )
    {
        out.push(RuleId::Rbac017);
    }
    out
}

/// Positions of rules in a role, shared by every binding of that role: a holding keeps one per
/// binding, not one entry per (binding, rule), so a role of 200 rules bound in 5,000
/// namespaces costs 5,000 entries, not a million.
pub type RuleSet = Arc<[usize]>;

/// For one role in one scope: per rule ID, the rules (by index) that fire it, and whether they
/// are all cluster-admin rules.
type RuleHits = Vec<(RuleId, (RuleSet, bool))>;

/// Namespaced grants in at least this many namespaces count as broad: ten, or a quarter of the
/// cluster's namespaces when that is more.
pub fn broad_threshold(total_namespaces: usize) -> usize {
    10.max(total_namespaces.div_ceil(4))
}

/// A capability's severity where it is held: the catalog's for cluster-wide and broad grants,
/// one step lower for a ServiceAccount's grants outside its own namespace (never below low).
pub fn severity_for(base: Severity, scope: Scope) -> Severity {
    match scope {
        Scope::Foreign => match base {
            Severity::Critical => Severity::High,
            Severity::High => Severity::Medium,
            Severity::Medium | Severity::Low => Severity::Low,
            Severity::Info => Severity::Info,
        },
        _ => base,
    }
}

/// One subject holding one capability (a grants rule), wherever it holds it: the population
/// the access matrix shows, and, unless local, a finding.
#[derive(Debug, Clone)]
pub struct Holding {
    pub rule_id: RuleId,
    pub subject: SubjectRef,
    /// The bindings behind it, each with the rules of its role that grant it, sorted.
    pub grants: Vec<(BindingId, RuleSet)>,
    pub cluster: bool,
    /// The namespaces it is held in, sorted.
    pub namespaces: Vec<Arc<str>>,
    /// About a system component, or only through the API server's bootstrap bindings.
    pub system: bool,
    /// Held only through all verbs on all resources cluster-wide: KE-RBAC-001 is its finding.
    pub admin_only: bool,
}

impl Holding {
    pub fn scope(&self, total_namespaces: usize) -> Scope {
        if self.cluster {
            return Scope::Cluster;
        }
        if self.namespaces.len() >= broad_threshold(total_namespaces) {
            return Scope::Broad;
        }
        match &self.subject {
            SubjectRef::ServiceAccount { namespace, .. }
                if self.namespaces.iter().any(|n| **n != **namespace) =>
            {
                Scope::Foreign
            }
            _ => Scope::Local,
        }
    }

    /// The namespaces outside a ServiceAccount's own.
    fn foreign_namespaces(&self) -> Vec<&str> {
        match &self.subject {
            SubjectRef::ServiceAccount { namespace, .. } => self
                .namespaces
                .iter()
                .filter(|n| ***n != **namespace)
                .map(|n| &**n)
                .collect(),
            _ => Vec::new(),
        }
    }
}

#[derive(Default)]
struct Acc {
    grants: Vec<(BindingId, RuleSet)>,
    only_bootstrap: bool,
    /// Held only through all verbs on all resources cluster-wide: in the population, and a
    /// finding of its own only as KE-RBAC-001.
    only_admin: bool,
}

/// Rules that are about who a binding names, whatever the scope (anonymous, every user, the
/// masters group, a default ServiceAccount): always findings.
fn named_rule(subject: &SubjectRef) -> Option<RuleId> {
    match subject {
        SubjectRef::User { name } if name == ANONYMOUS => Some(RuleId::Rbac018),
        SubjectRef::Group { name } if name == UNAUTHENTICATED => Some(RuleId::Rbac018),
        SubjectRef::Group { name } if name == AUTHENTICATED || name == ALL_SERVICE_ACCOUNTS => {
            Some(RuleId::Rbac019)
        }
        SubjectRef::Group { name } if name == MASTERS => Some(RuleId::Rbac020),
        SubjectRef::ServiceAccount { name, .. } if name == "default" => Some(RuleId::Rbac021),
        _ => None,
    }
}

/// Every (capability rule, subject) holding, and every (named rule, subject) pair.
fn accumulate<'a>(ctx: &RuleContext<'a>) -> HashMap<(RuleId, &'a SubjectRef), Acc> {
    let index = ctx.index;
    let mut role_hits: HashMap<(RoleId, bool), RuleHits> = HashMap::new();
    let mut all_rules: HashMap<RoleId, RuleSet> = HashMap::new();
    // Keys borrow the subjects held by the index: no clone per grant.
    let mut acc: HashMap<(RuleId, &'a SubjectRef), Acc> = HashMap::new();
    for (binding_id, b) in index.bindings.iter().enumerate() {
        let Ok(role_id) = b.role else { continue };
        let role = &index.roles[role_id];
        let cluster = b.cluster;
        // Computed once per role and scope: a role bound in 5,000 namespaces is matched once.
        let rules_hit = role_hits.entry((role_id, cluster)).or_insert_with(|| {
            // Per capability: the rules granting it, and whether each is a cluster-admin rule.
            let mut by_rule: BTreeMap<RuleId, (Vec<usize>, bool)> = BTreeMap::new();
            for (i, r) in role.rules.iter().enumerate() {
                // KE-RBAC-001 is decided by the privilege table (rules::privilege), which
                // also sees cluster-admin held through groups and system:masters; the
                // capabilities a cluster-admin rule grants are held all the same.
                let admin = cluster && is_cluster_admin_rule(&r.rule);
                for id in capability_hits(&r.rule, cluster) {
                    let e = by_rule.entry(id).or_insert((Vec::new(), true));
                    e.0.push(i);
                    e.1 &= admin;
                }
            }
            by_rule
                .into_iter()
                .map(|(id, (rules, admin))| (id, (RuleSet::from(rules), admin)))
                .collect()
        });
        let grants_anything = !role.rules.is_empty();
        for subject in b.resolved.iter().flatten() {
            let mut add = |rule_id: RuleId, rules: &RuleSet, admin: bool| {
                let a = acc.entry((rule_id, subject)).or_insert_with(|| Acc {
                    only_bootstrap: true,
                    only_admin: true,
                    ..Default::default()
                });
                a.grants.push((binding_id, rules.clone()));
                a.only_bootstrap &= b.bootstrap;
                a.only_admin &= admin;
            };
            for (id, (rules, admin)) in rules_hit.iter() {
                add(*id, rules, *admin);
            }
            if grants_anything
                && !b.bootstrap
                && let Some(id) = named_rule(subject)
            {
                let every_rule = all_rules
                    .entry(role_id)
                    .or_insert_with(|| (0..role.rules.len()).collect());
                add(id, every_rule, false);
            }
        }
    }
    acc
}

/// Every subject's holding of every capability rule (the population), and the findings of
/// the capability and named rules: every holding that is not local, one per (rule, subject);
/// the named rules per subject, but default ServiceAccounts per role they are bound to (one
/// cause, however many namespaces repeat it).
pub fn evaluate(ctx: &RuleContext<'_>) -> (Vec<Holding>, Vec<Finding>) {
    let mut holdings = Vec::new();
    let mut named = Vec::new();
    for ((rule_id, subject), mut a) in accumulate(ctx) {
        a.grants.sort_unstable();
        a.grants.dedup();
        if is_named_rule(rule_id) {
            named.push((rule_id, subject, a));
        } else {
            holdings.push(holding(ctx, rule_id, subject, a));
        }
    }
    holdings.sort_by(|a, b| (a.rule_id, &a.subject).cmp(&(b.rule_id, &b.subject)));
    named.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
    let total = ctx.index.namespaces.len();
    let mut out: Vec<Finding> = holdings
        .iter()
        .filter(|h| h.scope(total) != Scope::Local && !h.admin_only)
        .map(|h| holding_finding(ctx, h, total))
        .collect();
    type Members = Vec<(SubjectRef, Vec<(BindingId, RuleSet)>)>;
    let mut defaults: BTreeMap<Arc<ObjectRef>, Members> = BTreeMap::new();
    for (rule_id, subject, a) in named {
        if rule_id == RuleId::Rbac021 {
            for (b, rules) in a.grants {
                if let Ok(role) = ctx.index.bindings[b].role {
                    defaults
                        .entry(ctx.index.roles[role].object())
                        .or_default()
                        .push((subject.clone(), vec![(b, rules)]));
                }
            }
            continue;
        }
        let (cluster, namespaces) = scope_of(ctx, &a.grants);
        let scope = describe_scope(cluster, &namespaces);
        let mut f = new_finding(rule_id, &subject.key(), summary(rule_id, subject, &scope));
        f.system = is_system_subject(subject) || (a.only_bootstrap && bootstrap_excuses(subject));
        f.grants = GrantSet::from_bindings(ctx.index, &a.grants, subject);
        f.namespaces = namespaces.into_iter().collect();
        f.subjects = vec![subject.clone()];
        out.push(f);
    }
    out.extend(
        defaults
            .into_iter()
            .map(|(role, members)| default_accounts(ctx, &role, members)),
    );
    (holdings, out)
}

fn holding(ctx: &RuleContext<'_>, rule_id: RuleId, subject: &SubjectRef, a: Acc) -> Holding {
    let mut namespaces: Vec<Arc<str>> = Vec::new();
    let mut cluster = false;
    for (b, _) in &a.grants {
        match &ctx.index.bindings[*b].namespace_arc {
            Some(ns) => namespaces.push(ns.clone()),
            None => cluster = true,
        }
    }
    namespaces.sort_unstable();
    namespaces.dedup();
    Holding {
        rule_id,
        system: is_system_subject(subject) || (a.only_bootstrap && bootstrap_excuses(subject)),
        subject: subject.clone(),
        grants: a.grants,
        cluster,
        namespaces,
        admin_only: a.only_admin,
    }
}

fn is_named_rule(rule_id: RuleId) -> bool {
    matches!(
        rule_id,
        RuleId::Rbac018 | RuleId::Rbac019 | RuleId::Rbac020 | RuleId::Rbac021
    )
}

fn scope_of(ctx: &RuleContext<'_>, grants: &[(BindingId, RuleSet)]) -> (bool, BTreeSet<String>) {
    let mut namespaces = BTreeSet::new();
    let mut cluster = false;
    for (b, _) in grants {
        match &ctx.index.bindings[*b].namespace {
            Some(ns) => {
                namespaces.insert(ns.clone());
            }
            None => cluster = true,
        }
    }
    (cluster, namespaces)
}

fn holding_finding(ctx: &RuleContext<'_>, h: &Holding, total: usize) -> Finding {
    let scope = h.scope(total);
    let text = match scope {
        Scope::Foreign => {
            let foreign = h.foreign_namespaces();
            format!(
                "{} outside its own namespace",
                describe_scope(false, &foreign.iter().map(|s| s.to_string()).collect())
            )
        }
        Scope::Broad => format!(
            "in {} of the cluster's {total} namespaces",
            h.namespaces.len()
        ),
        _ => describe_scope(
            h.cluster,
            &h.namespaces.iter().map(|n| n.to_string()).collect(),
        ),
    };
    let mut f = new_finding(
        h.rule_id,
        &h.subject.key(),
        summary(h.rule_id, &h.subject, &text),
    );
    f.severity = severity_for(f.severity, scope);
    f.scope = Some(scope);
    f.system = h.system;
    f.subjects = vec![h.subject.clone()];
    f.namespaces = h.namespaces.iter().map(|n| n.to_string()).collect();
    f.grants = GrantSet::from_bindings(ctx.index, &h.grants, &h.subject);
    f
}

/// KE-RBAC-021 for every default ServiceAccount bound to one role: one cause, one finding.
fn default_accounts(
    ctx: &RuleContext<'_>,
    role: &ObjectRef,
    mut members: Vec<(SubjectRef, Vec<(BindingId, RuleSet)>)>,
) -> Finding {
    members.sort();
    let mut grants: Vec<Grant> = Vec::new();
    let mut namespaces = BTreeSet::new();
    let mut subjects = Vec::new();
    for (subject, gs) in &members {
        if subjects.last() != Some(subject) {
            subjects.push(subject.clone());
        }
        for (b, rules) in gs {
            if let Some(ns) = &ctx.index.bindings[*b].namespace {
                namespaces.insert(ns.clone());
            }
            for i in rules.iter() {
                grants.extend(ctx.index.grant_of(*b, *i, subject));
            }
        }
    }
    grants.sort();
    grants.dedup();
    let what = match subjects.as_slice() {
        [one] => {
            format!("{one} (used by every pod that names no ServiceAccount) is bound to {role}")
        }
        many => format!(
            "the default ServiceAccounts of {} namespace(s) (used by every pod that names no ServiceAccount) are bound to {role}",
            many.len()
        ),
    };
    let mut f = new_finding(RuleId::Rbac021, &format!("{role}"), what);
    f.cause = Some(role.to_string());
    f.objects = vec![role.clone()];
    f.subjects = subjects;
    f.namespaces = namespaces.into_iter().collect();
    f.grants = grants.into();
    f
}

pub(crate) fn describe_scope(cluster: bool, namespaces: &BTreeSet<String>) -> String {
    let mut parts = Vec::new();
    if cluster {
        parts.push("cluster-wide".to_string());
    }
    match namespaces.len() {
        0 => {}
        1 => parts.push(format!(
            "in namespace {}",
            namespaces.iter().next().expect("one")
        )),
        n if n <= 5 => parts.push(format!(
            "in namespaces {}",
            namespaces.iter().cloned().collect::<Vec<_>>().join(", ")
        )),
        n => parts.push(format!("in {n} namespaces")),
    }
    parts.join(" and ")
}

/// A capability finding's summary said again from its own grants (where it holds the
/// capability now), for a finding whose grants changed after it was made (split by an
/// exception). `None` for findings whose words are not "subject can ... scope".
pub fn restate(f: &Finding) -> Option<String> {
    let rule_id = f.rule_id;
    let is_capability = hits_any(rule_id) || is_named_rule(rule_id);
    if !is_capability || f.subjects.len() != 1 || rule_id == RuleId::Rbac001 {
        return None;
    }
    let scope = describe_scope(f.grants.has_cluster_wide(), &f.grants.namespaces());
    Some(summary(rule_id, &f.subjects[0], &scope))
}

/// Whether a rule is one of the capabilities a role's rules grant (KE-RBAC-002 to 017), which
/// all verbs on all resources cluster-wide (KE-RBAC-001) includes.
pub fn is_capability_rule(rule_id: RuleId) -> bool {
    hits_any(rule_id)
}

/// Whether findings of the rule are made per subject from its holding (the capability rules).
fn hits_any(rule_id: RuleId) -> bool {
    matches!(
        rule_id,
        RuleId::Rbac002
            | RuleId::Rbac003
            | RuleId::Rbac004
            | RuleId::Rbac005
            | RuleId::Rbac006
            | RuleId::Rbac007
            | RuleId::Rbac008
            | RuleId::Rbac009
            | RuleId::Rbac010
            | RuleId::Rbac011
            | RuleId::Rbac012
            | RuleId::Rbac013
            | RuleId::Rbac014
            | RuleId::Rbac015
            | RuleId::Rbac016
            | RuleId::Rbac017
    )
}

fn summary(rule_id: RuleId, subject: &SubjectRef, scope: &str) -> String {
    let what = match rule_id {
        RuleId::Rbac001 => "holds all verbs on all resources",
        RuleId::Rbac002 => "holds wildcard permissions",
        RuleId::Rbac003 | RuleId::Rbac004 => "can read Secrets",
        RuleId::Rbac005 => "can exec, attach, port-forward or add ephemeral containers",
        RuleId::Rbac006 => "can create or change workloads",
        RuleId::Rbac007 => "can change roles or bindings (or bind/escalate)",
        RuleId::Rbac008 => "can impersonate other identities",
        RuleId::Rbac009 => "can mint ServiceAccount tokens",
        RuleId::Rbac010 => "can reach the kubelet API through nodes/proxy",
        RuleId::Rbac011 => "can approve CertificateSigningRequests",
        RuleId::Rbac012 => "can change admission webhook configurations",
        RuleId::Rbac013 => "can create PersistentVolumes",
        RuleId::Rbac014 => "can change CustomResourceDefinitions",
        RuleId::Rbac015 => "can change namespaces and their Pod Security labels",
        RuleId::Rbac016 => "can write node, pod or service status",
        RuleId::Rbac017 => "can delete events or whole collections",
        RuleId::Rbac018 => "(anyone who can reach the API server) is granted access",
        RuleId::Rbac019 => "(every member) is granted access",
        RuleId::Rbac020 => "is named in a binding",
        RuleId::Rbac021 => "(used by every pod that names no ServiceAccount) is bound to a role",
        _ => "matches the rule",
    };
    format!("{subject} {what} {scope}").trim_end().to_string()
}
