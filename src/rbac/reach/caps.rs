//! What one rule, in one scope, lets its holder do towards other identities on its own (a
//! capability), and whether it is half of a move that needs other rules too (bind, escalate,
//! impersonating groups, approving client certificates), which is judged on the holder's
//! whole identity.

use super::moves::ExecVia;
use crate::rbac::matching::{Names, allows};
use crate::snapshot::PolicyRule;

pub const RBAC_GROUP: &str = "rbac.authorization.k8s.io";
pub const CERTIFICATES_GROUP: &str = "certificates.k8s.io";
pub const CLIENT_SIGNER: &str = "kubernetes.io/kube-apiserver-client";

/// Workload controllers whose pod template names the ServiceAccount the pods run as. Jobs'
/// templates are immutable, so an existing Job cannot be retargeted; a Pod's
/// `serviceAccountName` cannot change either.
pub const WORKLOADS: &[(&str, &str, &str, bool)] = &[
    // (API group, resource, kind, template can be changed on an existing object)
    ("", "pods", "Pod", false),
    ("apps", "deployments", "Deployment", true),
    ("apps", "daemonsets", "DaemonSet", true),
    ("apps", "statefulsets", "StatefulSet", true),
    ("apps", "replicasets", "ReplicaSet", true),
    ("batch", "jobs", "Job", false),
    ("batch", "cronjobs", "CronJob", true),
    ("", "replicationcontrollers", "ReplicationController", true),
];

/// All verbs on all resources in all groups, for any object.
pub fn is_cluster_admin_rule(rule: &PolicyRule) -> bool {
    rule.verbs.iter().any(|v| v == "*")
        && rule.api_groups.iter().any(|g| g == "*")
        && rule.resources.iter().any(|r| r == "*")
        && rule.resource_names.is_empty()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cap {
    /// Every verb on every resource, cluster-wide.
    Admin,
    /// Create pods or a workload controller (no name: only a rule without resourceNames).
    RunWorkload(&'static str),
    /// Update or patch existing workload controllers of a resource.
    RetargetWorkload(&'static str, Names),
    /// `create serviceaccounts/token`.
    Token(Names),
    /// Read Secrets (legacy ServiceAccount tokens).
    ReadSecrets(&'static str, Names),
    /// Run commands in running pods (names: of pods, or of nodes for `nodes/proxy`).
    Exec(ExecVia, Names),
    /// `impersonate serviceaccounts`.
    ImpersonateServiceAccounts(Names),
    /// `impersonate users` (cluster-scoped, so only cluster-wide).
    ImpersonateUsers(Names),
}

/// The capabilities of `rule` granted cluster-wide (`cluster`) or in a namespace, on an API
/// server of minor version `minor` (1.x; `None` when unknown).
pub fn capabilities(rule: &PolicyRule, cluster: bool, minor: Option<u32>) -> Vec<Cap> {
    if cluster && is_cluster_admin_rule(rule) {
        return vec![Cap::Admin];
    }
    let mut out = Vec::new();
    for (group, resource, _, mutable) in WORKLOADS {
        if allows(rule, "create", group, resource, "") == Some(Names::All) {
            out.push(Cap::RunWorkload(resource));
        }
        if *mutable {
            let names = union(
                allows(rule, "update", group, resource, ""),
                allows(rule, "patch", group, resource, ""),
            );
            if let Some(n) = names {
                out.push(Cap::RetargetWorkload(resource, n));
            }
        }
    }
    if let Some(n) = allows(rule, "create", "", "serviceaccounts", "token") {
        out.push(Cap::Token(n));
    }
    for verb in ["get", "list", "watch"] {
        if let Some(n) = allows(rule, verb, "", "secrets", "") {
            out.push(Cap::ReadSecrets(verb, n));
        }
    }
    // Since 1.35 a WebSocket exec needs `create` too (AuthorizePodWebsocketUpgradeCreatePermission).
    let mut exec = allows(rule, "create", "", "pods", "exec");
    if minor.is_some_and(|m| m < 35) {
        exec = union(exec, allows(rule, "get", "", "pods", "exec"));
    }
    if let Some(n) = exec {
        out.push(Cap::Exec(ExecVia::PodsExec, n));
    }
    if let Some(n) = union(
        allows(rule, "update", "", "pods", "ephemeralcontainers"),
        allows(rule, "patch", "", "pods", "ephemeralcontainers"),
    ) {
        out.push(Cap::Exec(ExecVia::EphemeralContainer, n));
    }
    if cluster
        && let Some(n) = union(
            allows(rule, "get", "", "nodes", "proxy"),
            allows(rule, "create", "", "nodes", "proxy"),
        )
    {
        out.push(Cap::Exec(ExecVia::NodeProxy, n));
    }
    if let Some(n) = allows(rule, "impersonate", "", "serviceaccounts", "") {
        out.push(Cap::ImpersonateServiceAccounts(n));
    }
    if cluster && let Some(n) = allows(rule, "impersonate", "", "users", "") {
        out.push(Cap::ImpersonateUsers(n));
    }
    out
}

/// Whether `rule` is part of a move that needs more than one permission, judged on the whole
/// identity: binding or escalating roles, impersonating groups (only with a user), or issuing
/// itself a client certificate (create, approve, and the signer's `approve`).
pub fn is_half(rule: &PolicyRule) -> bool {
    let any = |verb: &str, group: &str, resource: &str, sub: &str| {
        allows(rule, verb, group, resource, sub).is_some()
    };
    ["roles", "clusterroles"]
        .iter()
        .any(|r| any("bind", RBAC_GROUP, r, "") || any("escalate", RBAC_GROUP, r, ""))
        || any("impersonate", "", "groups", "")
        || any("approve", CERTIFICATES_GROUP, "signers", "")
        || any(
            "create",
            CERTIFICATES_GROUP,
            "certificatesigningrequests",
            "",
        )
        || any(
            "update",
            CERTIFICATES_GROUP,
            "certificatesigningrequests",
            "approval",
        )
        || any(
            "patch",
            CERTIFICATES_GROUP,
            "certificatesigningrequests",
            "approval",
        )
}

/// Whether a rule matters to escalation at all (a capability or a half).
pub fn matters(rule: &PolicyRule, cluster: bool, minor: Option<u32>) -> bool {
    is_half(rule) || !capabilities(rule, cluster, minor).is_empty()
}

pub fn union(a: Option<Names>, b: Option<Names>) -> Option<Names> {
    match (a, b) {
        (None, x) | (x, None) => x,
        (Some(Names::All), _) | (_, Some(Names::All)) => Some(Names::All),
        (Some(Names::Some(mut x)), Some(Names::Some(y))) => {
            for n in y {
                if !x.contains(&n) {
                    x.push(n);
                }
            }
            x.sort();
            Some(Names::Some(x))
        }
    }
}

/// The API server's minor version from `v1.35.4` (or `v1.35.4-gke.1`), if it reads.
pub fn server_minor(version: Option<&str>) -> Option<u32> {
    let v = version?.trim_start_matches('v');
    let mut parts = v.split('.');
    (parts.next()? == "1").then_some(())?;
    let minor: String = parts
        .next()?
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    minor.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(verbs: &[&str], groups: &[&str], resources: &[&str], names: &[&str]) -> PolicyRule {
        PolicyRule::for_resources(verbs, groups, resources, names)
    }

    #[test]
    fn a_create_needs_a_rule_without_resource_names_and_an_update_an_object() {
        let named = rule(&["create", "update"], &["apps"], &["deployments"], &["web"]);
        let caps = capabilities(&named, false, Some(35));
        assert!(!caps.contains(&Cap::RunWorkload("deployments")));
        assert!(caps.contains(&Cap::RetargetWorkload(
            "deployments",
            Names::Some(vec!["web".into()])
        )));
        // Jobs and Pods cannot be retargeted.
        let jobs = rule(&["update", "patch"], &["batch", ""], &["jobs", "pods"], &[]);
        assert!(capabilities(&jobs, false, Some(35)).is_empty());
    }

    #[test]
    fn exec_over_websocket_needs_create_from_1_35() {
        let get = rule(&["get"], &[""], &["pods/exec"], &[]);
        assert!(capabilities(&get, false, Some(35)).is_empty());
        assert!(capabilities(&get, false, None).is_empty());
        assert_eq!(
            capabilities(&get, false, Some(34)),
            vec![Cap::Exec(ExecVia::PodsExec, Names::All)]
        );
    }

    #[test]
    fn impersonating_groups_alone_is_only_half_a_move() {
        let groups = rule(&["impersonate"], &[""], &["groups"], &["system:masters"]);
        assert!(capabilities(&groups, true, Some(35)).is_empty());
        assert!(is_half(&groups));
    }

    #[test]
    fn server_minor_reads_release_and_vendor_versions() {
        assert_eq!(server_minor(Some("v1.35.4")), Some(35));
        assert_eq!(server_minor(Some("v1.29.3-gke.1282000")), Some(29));
        assert_eq!(server_minor(Some("2.0")), None);
        assert_eq!(server_minor(None), None);
    }
}
