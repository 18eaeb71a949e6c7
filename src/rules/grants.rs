//! Rules about what subjects can do: each role rule is matched once against the risk
//! predicates, then every binding hands its hits to its subjects.

use super::system::is_system_subject;
use super::{RuleContext, new_finding};
use crate::finding::Finding;
use crate::rbac::SubjectRef;
use crate::rbac::index::{BindingId, Grant, RoleId};
use crate::rbac::matching::{Names, allows};
use crate::rbac::reach::is_cluster_admin_rule;
use crate::rbac::subject::{
    ALL_SERVICE_ACCOUNTS, ANONYMOUS, AUTHENTICATED, MASTERS, UNAUTHENTICATED,
};
use crate::snapshot::PolicyRule;
use std::collections::{BTreeSet, HashMap};

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
pub fn hits(rule: &PolicyRule, cluster: bool) -> Vec<&'static str> {
    if cluster && is_cluster_admin_rule(rule) {
        return vec!["KE-RBAC-001"];
    }
    let mut out = Vec::new();
    let star = |v: &Vec<String>| v.iter().any(|x| x == "*");
    if star(&rule.verbs)
        || star(&rule.resources)
        || star(&rule.api_groups)
        || star(&rule.non_resource_urls)
    {
        out.push("KE-RBAC-002");
    }
    if reads_secrets(rule) {
        out.push(if cluster {
            "KE-RBAC-003"
        } else {
            "KE-RBAC-004"
        });
    }
    if execs(rule) {
        out.push("KE-RBAC-005");
    }
    if writes_workloads(rule) {
        out.push("KE-RBAC-006");
    }
    if writes_rbac(rule, cluster) {
        out.push("KE-RBAC-007");
    }
    if impersonates(rule, cluster) {
        out.push("KE-RBAC-008");
    }
    if mints_tokens(rule) {
        out.push("KE-RBAC-009");
    }
    if node_proxy(rule, cluster) {
        out.push("KE-RBAC-010");
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
        out.push("KE-RBAC-011");
    }
    if writes_webhooks(rule, cluster) {
        out.push("KE-RBAC-012");
    }
    if cluster && any_verb(rule, &["create"], "", "persistentvolumes", "") {
        out.push("KE-RBAC-013");
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
        out.push("KE-RBAC-014");
    }
    if cluster && any_verb(rule, &["update", "patch"], "", "namespaces", "") {
        out.push("KE-RBAC-015");
    }
    if (cluster && any_verb(rule, &["update", "patch"], "", "nodes", "status"))
        || any_verb(rule, &["update", "patch"], "", "pods", "status")
        || any_verb(rule, &["update", "patch"], "", "services", "status")
    {
        out.push("KE-RBAC-016");
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
        out.push("KE-RBAC-017");
    }
    out
}

/// For one role in one scope: the rules (by index) that fire, and which rule IDs each fires.
type RuleHits = Vec<(usize, Vec<&'static str>)>;

#[derive(Default)]
struct Acc {
    /// (binding, rule of its role) pairs behind the finding.
    grants: Vec<(BindingId, usize)>,
    only_bootstrap: bool,
}

pub fn evaluate(ctx: &RuleContext<'_>) -> Vec<Finding> {
    let index = ctx.index;
    let mut role_hits: HashMap<(RoleId, bool), RuleHits> = HashMap::new();
    // Keys borrow the subjects held by the index: no clone per grant.
    let mut acc: HashMap<(&'static str, &SubjectRef), Acc> = HashMap::new();

    for (binding_id, b) in index.bindings.iter().enumerate() {
        let Ok(role_id) = b.role else { continue };
        let role = &index.roles[role_id];
        let cluster = b.cluster;
        let rules_hit = role_hits.entry((role_id, cluster)).or_insert_with(|| {
            role.rules
                .iter()
                .enumerate()
                .map(|(i, r)| (i, hits(&r.rule, cluster)))
                .filter(|(_, h)| !h.is_empty())
                .collect()
        });
        let grants_anything = !role.rules.is_empty();
        for subject in b.resolved.iter().flatten() {
            let mut add = |rule_id: &'static str, i: usize| {
                let a = acc.entry((rule_id, subject)).or_insert_with(|| Acc {
                    only_bootstrap: true,
                    ..Default::default()
                });
                a.grants.push((binding_id, i));
                a.only_bootstrap &= b.bootstrap;
            };
            for (i, ids) in rules_hit.iter() {
                // KE-RBAC-001 is decided by the privilege table (rules::privilege), which also
                // sees cluster-admin held through groups and system:masters.
                for id in ids.iter().filter(|id| **id != "KE-RBAC-001") {
                    add(id, *i);
                }
            }
            // Who the binding names, whatever it grants.
            if grants_anything && !b.bootstrap {
                let special = match subject {
                    SubjectRef::User { name } if name == ANONYMOUS => Some("KE-RBAC-018"),
                    SubjectRef::Group { name } if name == UNAUTHENTICATED => Some("KE-RBAC-018"),
                    SubjectRef::Group { name }
                        if name == AUTHENTICATED || name == ALL_SERVICE_ACCOUNTS =>
                    {
                        Some("KE-RBAC-019")
                    }
                    SubjectRef::Group { name } if name == MASTERS => Some("KE-RBAC-020"),
                    SubjectRef::ServiceAccount { name, .. } if name == "default" => {
                        Some("KE-RBAC-021")
                    }
                    _ => None,
                };
                if let Some(id) = special {
                    for i in 0..role.rules.len() {
                        add(id, i);
                    }
                }
            }
        }
    }

    acc.into_iter()
        .map(|((rule_id, subject), mut a)| {
            a.grants.sort_unstable();
            a.grants.dedup();
            let mut namespaces = BTreeSet::new();
            let mut cluster = false;
            let grants: Vec<Grant> = a
                .grants
                .iter()
                .filter_map(|(b, i)| index.grant_of(*b, *i, subject))
                .collect();
            for g in &grants {
                match &g.namespace {
                    Some(ns) => {
                        namespaces.insert(ns.to_string());
                    }
                    None => cluster = true,
                }
            }
            let scope = describe_scope(cluster, &namespaces);
            let mut f = new_finding(rule_id, &subject.key(), summary(rule_id, subject, &scope));
            f.system = is_system_subject(subject) || a.only_bootstrap;
            f.subjects = vec![subject.clone()];
            f.namespaces = namespaces.into_iter().collect();
            f.grants = grants;
            f.grants.sort();
            f
        })
        .collect()
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

fn summary(rule_id: &str, subject: &SubjectRef, scope: &str) -> String {
    let what = match rule_id {
        "KE-RBAC-001" => "holds all verbs on all resources",
        "KE-RBAC-002" => "holds wildcard permissions",
        "KE-RBAC-003" | "KE-RBAC-004" => "can read Secrets",
        "KE-RBAC-005" => "can exec, attach, port-forward or add ephemeral containers",
        "KE-RBAC-006" => "can create or change workloads",
        "KE-RBAC-007" => "can change roles or bindings (or bind/escalate)",
        "KE-RBAC-008" => "can impersonate other identities",
        "KE-RBAC-009" => "can mint ServiceAccount tokens",
        "KE-RBAC-010" => "can reach the kubelet API through nodes/proxy",
        "KE-RBAC-011" => "can approve CertificateSigningRequests",
        "KE-RBAC-012" => "can change admission webhook configurations",
        "KE-RBAC-013" => "can create PersistentVolumes",
        "KE-RBAC-014" => "can change CustomResourceDefinitions",
        "KE-RBAC-015" => "can change namespaces and their Pod Security labels",
        "KE-RBAC-016" => "can write node, pod or service status",
        "KE-RBAC-017" => "can delete events or whole collections",
        "KE-RBAC-018" => "(anyone who can reach the API server) is granted access",
        "KE-RBAC-019" => "(every member) is granted access",
        "KE-RBAC-020" => "is named in a binding",
        "KE-RBAC-021" => "(used by every pod that names no ServiceAccount) is bound to a role",
        _ => "matches the rule",
    };
    format!("{subject} {what} {scope}").trim_end().to_string()
}
