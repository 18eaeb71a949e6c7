//! Which subjects are Kubernetes system components. Findings about them are kept apart from the
//! real findings; the rule is explicit so an auditor can check it:
//!
//! - users named `system:...` (control-plane components, nodes `system:node:<name>`), except
//!   `system:anonymous`, which is anyone at all;
//! - the groups `system:masters`, `system:nodes`, `system:monitoring` and `system:bootstrappers:*`
//!   (never `system:authenticated`, `system:unauthenticated` or `system:serviceaccounts`, which
//!   are everyone of a kind);
//! - the ServiceAccounts of the controllers kube-controller-manager runs, in `kube-system`;
//! - any subject, for grants that come only from the API server's own bootstrap bindings (label
//!   `kubernetes.io/bootstrapping: rbac-defaults` and a `system:` or `cluster-admin` name).

use crate::rbac::SubjectRef;

/// ServiceAccounts in kube-system that kube-controller-manager (and the bootstrap token
/// controllers) run as.
pub const CONTROLLER_SERVICE_ACCOUNTS: &[&str] = &[
    "attachdetach-controller",
    "bootstrap-signer",
    "certificate-controller",
    "clusterrole-aggregation-controller",
    "cronjob-controller",
    "daemon-set-controller",
    "deployment-controller",
    "device-taint-eviction-controller",
    "disruption-controller",
    "endpoint-controller",
    "endpointslice-controller",
    "endpointslicemirroring-controller",
    "ephemeral-volume-controller",
    "expand-controller",
    "generic-garbage-collector",
    "horizontal-pod-autoscaler",
    "job-controller",
    "kube-dns",
    "legacy-service-account-token-cleaner",
    "namespace-controller",
    "node-controller",
    "persistent-volume-binder",
    "pod-garbage-collector",
    "pv-protection-controller",
    "pvc-protection-controller",
    "replicaset-controller",
    "replication-controller",
    "resource-claim-controller",
    "resourcequota-controller",
    "root-ca-cert-publisher",
    "route-controller",
    "selinux-warning-controller",
    "service-account-controller",
    "service-cidrs-controller",
    "service-controller",
    "statefulset-controller",
    "token-cleaner",
    "ttl-after-finished-controller",
    "ttl-controller",
    "validatingadmissionpolicy-status-controller",
    "volumeattributesclass-protection-controller",
];

const SYSTEM_GROUPS: &[&str] = &["system:masters", "system:nodes", "system:monitoring"];

pub fn is_system_subject(subject: &SubjectRef) -> bool {
    match subject {
        SubjectRef::User { name } => name.starts_with("system:") && name != "system:anonymous",
        SubjectRef::Group { name } => {
            SYSTEM_GROUPS.contains(&name.as_str()) || name.starts_with("system:bootstrappers:")
        }
        SubjectRef::ServiceAccount { namespace, name } => {
            namespace == "kube-system" && CONTROLLER_SERVICE_ACCOUNTS.contains(&name.as_str())
        }
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
