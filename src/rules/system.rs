//! Which subjects are Kubernetes system components. Findings about them are kept apart from the
//! real findings; the rule is explicit so an auditor can check it:
//!
//! - users named `system:...` (control-plane components, nodes `system:node:<name>`), except
//!   `system:anonymous`, which is anyone at all;
//! - the groups `system:masters`, `system:nodes`, `system:monitoring` and `system:bootstrappers:*`
//!   (never `system:authenticated`, `system:unauthenticated` or `system:serviceaccounts`, which
//!   are everyone of a kind);
//! - the ServiceAccounts of the controllers kube-controller-manager runs, in `kube-system`;
//! - any subject, for grants that come only from the API server's own bootstrap bindings: the
//!   bindings the bootstrap policy creates, with its names, roles and subjects (the label
//!   `kubernetes.io/bootstrapping: rbac-defaults` alone proves nothing; see `rbac::bootstrap`).
//!   Never for the groups of everyone of a kind or anonymous ([`bootstrap_excuses`]).

use crate::rbac::SubjectRef;
use crate::rbac::bootstrap::CONTROLLERS;

/// ServiceAccounts in kube-system that the bootstrap policy binds besides the controllers
/// kube-controller-manager runs ([`CONTROLLERS`]).
const OTHER_SYSTEM_SERVICE_ACCOUNTS: &[&str] = &["bootstrap-signer", "kube-dns", "token-cleaner"];

const SYSTEM_GROUPS: &[&str] = &["system:masters", "system:nodes", "system:monitoring"];

pub fn is_system_subject(subject: &SubjectRef) -> bool {
    match subject {
        SubjectRef::User { name } => name.starts_with("system:") && name != "system:anonymous",
        SubjectRef::Group { name } => {
            SYSTEM_GROUPS.contains(&name.as_str()) || name.starts_with("system:bootstrappers:")
        }
        SubjectRef::ServiceAccount { namespace, name } => {
            namespace == "kube-system"
                && (CONTROLLERS.contains(&name.as_str())
                    || OTHER_SYSTEM_SERVICE_ACCOUNTS.contains(&name.as_str()))
        }
    }
}

/// Whether grants that come only from the bootstrap policy's bindings make a finding about this
/// subject a system one. Never for the groups of everyone of a kind or for anonymous: the policy
/// gives them discovery alone, so whatever a rule flags for them is somebody's change (a role of
/// the policy edited, say), and must show.
pub fn bootstrap_excuses(subject: &SubjectRef) -> bool {
    match subject {
        SubjectRef::Group { name } => {
            !matches!(
                name.as_str(),
                "system:authenticated" | "system:unauthenticated" | "system:serviceaccounts"
            ) && !name.starts_with("system:serviceaccounts:")
        }
        SubjectRef::User { name } => name != "system:anonymous",
        SubjectRef::ServiceAccount { .. } => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_system_rule() {
        for s in [
            SubjectRef::user("system:kube-scheduler"),
            SubjectRef::user("system:node:worker-1"),
            SubjectRef::group("system:masters"),
            SubjectRef::group("system:bootstrappers:kubeadm:default-node-token"),
            SubjectRef::service_account("kube-system", "generic-garbage-collector"),
        ] {
            assert!(is_system_subject(&s), "{s}");
        }
        for s in [
            SubjectRef::user("system:anonymous"),
            SubjectRef::group("system:authenticated"),
            SubjectRef::group("system:unauthenticated"),
            SubjectRef::group("system:serviceaccounts"),
            SubjectRef::user("alice"),
            SubjectRef::service_account("kube-system", "coredns"),
            SubjectRef::service_account("velero", "generic-garbage-collector"),
            SubjectRef::user("oidc:system:admin"),
        ] {
            assert!(!is_system_subject(&s), "{s}");
        }
    }
}
