//! One step of an escalation path, as the API requests that perform it. A `Move` is what a
//! person would do, what `docs/escalation.md` lists with its requests, and what the suite's
//! re-performance executes against a real kube-apiserver: every path the engine reports is a
//! sequence of these, each taken by the identity the previous one gave.

use crate::rbac::SubjectRef;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How a command is run inside a running pod.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub enum ExecVia {
    /// `create pods/exec` (before Kubernetes 1.35 also `get`, over WebSocket).
    PodsExec,
    /// `update` or `patch` of `pods/ephemeralcontainers`: a new container in the pod.
    EphemeralContainer,
    /// `get` or `create` of `nodes/proxy`: the kubelet API of the pod's node.
    NodeProxy,
}

/// One step an identity takes, named by the API requests that take it.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Move {
    /// No request: the identity is a member of the group, so the group's grants are its own.
    #[serde(rename_all = "camelCase")]
    MemberOf { group: String },
    /// `POST` a Pod, or a workload controller (`resource`: deployments, jobs, ...) whose pod
    /// template runs as the ServiceAccount; the pod's mounted token is that ServiceAccount's.
    #[serde(rename_all = "camelCase")]
    RunWorkload {
        resource: String,
        namespace: String,
        service_account: String,
    },
    /// `PATCH` an existing workload controller's pod template to run as the ServiceAccount.
    #[serde(rename_all = "camelCase")]
    RetargetWorkload {
        resource: String,
        namespace: String,
        name: String,
        service_account: String,
    },
    /// `POST serviceaccounts/NAME/token` (TokenRequest).
    #[serde(rename_all = "camelCase")]
    RequestToken {
        namespace: String,
        service_account: String,
    },
    /// `GET` (or list or watch) a legacy service-account token Secret.
    #[serde(rename_all = "camelCase")]
    ReadTokenSecret {
        verb: String,
        namespace: String,
        secret: String,
        service_account: String,
    },
    /// Run a command in a running pod of a workload, which runs as the ServiceAccount.
    #[serde(rename_all = "camelCase")]
    ExecInPod {
        via: ExecVia,
        namespace: String,
        workload_kind: String,
        workload: String,
        service_account: String,
    },
    /// Requests with `Impersonate-User` (a ServiceAccount's username impersonates it) and one
    /// `Impersonate-Group` header per group (none: a user keeps only `system:authenticated`,
    /// a ServiceAccount its own groups).
    #[serde(rename_all = "camelCase")]
    Impersonate { user: String, groups: Vec<String> },
    /// `POST` a CertificateSigningRequest for signer `kubernetes.io/kube-apiserver-client` with
    /// this user (CN) and groups (O), `PUT` its approval, and use the certificate
    /// kube-controller-manager signs.
    #[serde(rename_all = "camelCase")]
    ClientCertificate { user: String, groups: Vec<String> },
    /// `POST` a RoleBinding (`namespace` set) or ClusterRoleBinding of an existing role to
    /// `subject`; with `existing`, `PATCH` that binding instead, adding `subject`.
    #[serde(rename_all = "camelCase")]
    Bind {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        namespace: Option<String>,
        role_kind: String,
        role: String,
        subject: SubjectRef,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        existing: Option<String>,
    },
    /// `PUT` a role with a rule of every verb on every resource (allowed by `escalate`). An
    /// aggregated ClusterRole loses its aggregation rule in the same update.
    #[serde(rename_all = "camelCase")]
    EscalateRole {
        role_kind: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        namespace: Option<String>,
        role: String,
        /// Labels set with it, so that an aggregated ClusterRole takes its rules.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        labels: Vec<(String, String)>,
    },
    /// `POST` a new role with a rule of every verb on every resource (allowed by `escalate`),
    /// labelled (when `labels`) so that an aggregated ClusterRole takes its rules.
    #[serde(rename_all = "camelCase")]
    CreateRole {
        role_kind: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        namespace: Option<String>,
        role: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        labels: Vec<(String, String)>,
    },
    /// No request: the identity holds every verb on every resource cluster-wide (or is in
    /// `system:masters`); a SubjectAccessReview of `*` on `*` is allowed.
    UseClusterAdmin,
}

impl Move {
    /// The move in words, as the reports print it.
    pub fn describe(&self) -> String {
        match self {
            Move::MemberOf { group } => format!("is a member of group {group}"),
            Move::RunWorkload {
                resource,
                namespace,
                service_account,
            } => format!(
                "create {resource} in namespace {namespace} running as ServiceAccount {namespace}/{service_account}"
            ),
            Move::RetargetWorkload {
                resource,
                namespace,
                name,
                service_account,
            } => format!(
                "patch {resource} {namespace}/{name} to run as ServiceAccount {namespace}/{service_account}"
            ),
            Move::RequestToken {
                namespace,
                service_account,
            } => format!("create a token for ServiceAccount {namespace}/{service_account}"),
            Move::ReadTokenSecret {
                verb,
                namespace,
                secret,
                service_account,
            } => format!(
                "{verb} Secret {namespace}/{secret}, the legacy token of ServiceAccount {namespace}/{service_account}"
            ),
            Move::ExecInPod {
                via,
                namespace,
                workload_kind,
                workload,
                service_account,
            } => {
                let how = match via {
                    ExecVia::PodsExec => "run commands (pods/exec) in a pod",
                    ExecVia::EphemeralContainer => "add an ephemeral container to a pod",
                    ExecVia::NodeProxy => {
                        "run commands through the kubelet API (nodes/proxy) in a pod"
                    }
                };
                format!(
                    "{how} of {workload_kind} {namespace}/{workload}, which runs as ServiceAccount {namespace}/{service_account}"
                )
            }
            Move::Impersonate { user, groups } if groups.is_empty() => {
                format!("impersonate {user}")
            }
            Move::Impersonate { user, groups } => {
                format!("impersonate {user} with group(s) {}", groups.join(", "))
            }
            Move::ClientCertificate { user, groups } => format!(
                "create and approve a CSR for a kube-apiserver-client certificate as {user}{}",
                if groups.is_empty() {
                    String::new()
                } else {
                    format!(" in group(s) {}", groups.join(", "))
                }
            ),
            Move::Bind {
                namespace,
                role_kind,
                role,
                subject,
                existing,
            } => {
                let kind = if namespace.is_some() {
                    "RoleBinding"
                } else {
                    "ClusterRoleBinding"
                };
                let where_ = namespace
                    .as_deref()
                    .map(|n| format!(" in namespace {n}"))
                    .unwrap_or_default();
                match existing {
                    Some(b) => format!(
                        "add {subject} to {kind} {b}{where_}, which binds {role_kind} {role}"
                    ),
                    None => {
                        format!("bind {role_kind} {role} to {subject} with a new {kind}{where_}")
                    }
                }
            }
            Move::EscalateRole {
                role_kind,
                namespace,
                role,
                labels,
            } => format!(
                "escalate: give {role_kind} {}every verb on every resource{}",
                qualified(namespace.as_deref(), role),
                aggregation_note(labels)
            ),
            Move::CreateRole {
                role_kind,
                namespace,
                role,
                labels,
            } => format!(
                "escalate: create {role_kind} {}with every verb on every resource{}",
                qualified(namespace.as_deref(), role),
                aggregation_note(labels)
            ),
            Move::UseClusterAdmin => "holds every verb on every resource cluster-wide".into(),
        }
    }

    /// Fills a move that leads into a hub ("every ServiceAccount", "every running workload",
    /// the targets of a cluster-wide grant) with the one the path continues with.
    pub(super) fn filled(&self, with: &Filler) -> Move {
        let mut m = self.clone();
        match (&mut m, with) {
            (
                Move::RunWorkload {
                    namespace,
                    service_account,
                    ..
                }
                | Move::RetargetWorkload {
                    namespace,
                    service_account,
                    ..
                }
                | Move::RequestToken {
                    namespace,
                    service_account,
                },
                Filler::ServiceAccount {
                    namespace: ns,
                    name,
                },
            ) => {
                *namespace = ns.clone();
                *service_account = name.clone();
            }
            (
                Move::ExecInPod {
                    namespace,
                    workload_kind,
                    workload,
                    service_account,
                    ..
                },
                Filler::Running {
                    namespace: ns,
                    kind,
                    name,
                    service_account: sa,
                },
            ) => {
                *namespace = ns.clone();
                *workload_kind = kind.clone();
                *workload = name.clone();
                *service_account = sa.clone();
            }
            (
                Move::RetargetWorkload {
                    namespace, name, ..
                },
                Filler::Workload {
                    namespace: ns,
                    name: workload,
                },
            ) => {
                *namespace = ns.clone();
                *name = workload.clone();
            }
            (
                Move::Impersonate { user, groups } | Move::ClientCertificate { user, groups },
                Filler::Identity { user: u, groups: g },
            ) => {
                *user = u.clone();
                *groups = g.clone();
            }
            _ => {}
        }
        m
    }
}

/// What a hub adds to the move that led into it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Filler {
    ServiceAccount {
        namespace: String,
        name: String,
    },
    Running {
        namespace: String,
        kind: String,
        name: String,
        service_account: String,
    },
    /// An existing workload controller, whose pod template the move changes.
    Workload {
        namespace: String,
        name: String,
    },
    /// The user (a ServiceAccount's username for one) and groups the move acts as.
    Identity {
        user: String,
        groups: Vec<String>,
    },
}

fn qualified(namespace: Option<&str>, name: &str) -> String {
    match namespace {
        Some(ns) => format!("{ns}/{name} "),
        None => format!("{name} "),
    }
}

fn aggregation_note(labels: &[(String, String)]) -> String {
    if labels.is_empty() {
        String::new()
    } else {
        let l: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!(", labelled {} so that it is aggregated", l.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hub_move_is_filled_with_the_identity_the_path_takes() {
        let m = Move::RunWorkload {
            resource: "pods".into(),
            namespace: "ops".into(),
            service_account: String::new(),
        };
        let f = m.filled(&Filler::ServiceAccount {
            namespace: "ops".into(),
            name: "admin".into(),
        });
        assert_eq!(
            f.describe(),
            "create pods in namespace ops running as ServiceAccount ops/admin"
        );
        let json = serde_json::to_value(&f).unwrap();
        assert_eq!(json["kind"], "runWorkload");
        assert_eq!(json["serviceAccount"], "admin");
    }
}
