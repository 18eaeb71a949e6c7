//! The resource kinds a snapshot is built from, with the API coordinates needed to list them.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ResourceKind {
    ClusterRole,
    Role,
    ClusterRoleBinding,
    RoleBinding,
    ServiceAccount,
    Namespace,
    Pod,
    Deployment,
    DaemonSet,
    StatefulSet,
    ReplicaSet,
    Job,
    CronJob,
    ReplicationController,
    MutatingWebhookConfiguration,
    ValidatingWebhookConfiguration,
    ApiService,
    Secret,
}

impl ResourceKind {
    pub const ALL: [ResourceKind; 18] = [
        ResourceKind::ClusterRole,
        ResourceKind::Role,
        ResourceKind::ClusterRoleBinding,
        ResourceKind::RoleBinding,
        ResourceKind::ServiceAccount,
        ResourceKind::Namespace,
        ResourceKind::Pod,
        ResourceKind::Deployment,
        ResourceKind::DaemonSet,
        ResourceKind::StatefulSet,
        ResourceKind::ReplicaSet,
        ResourceKind::Job,
        ResourceKind::CronJob,
        ResourceKind::ReplicationController,
        ResourceKind::MutatingWebhookConfiguration,
        ResourceKind::ValidatingWebhookConfiguration,
        ResourceKind::ApiService,
        ResourceKind::Secret,
    ];

    /// The Kubernetes `kind`.
    pub fn name(self) -> &'static str {
        match self {
            ResourceKind::ClusterRole => "ClusterRole",
            ResourceKind::Role => "Role",
            ResourceKind::ClusterRoleBinding => "ClusterRoleBinding",
            ResourceKind::RoleBinding => "RoleBinding",
            ResourceKind::ServiceAccount => "ServiceAccount",
            ResourceKind::Namespace => "Namespace",
            ResourceKind::Pod => "Pod",
            ResourceKind::Deployment => "Deployment",
            ResourceKind::DaemonSet => "DaemonSet",
            ResourceKind::StatefulSet => "StatefulSet",
            ResourceKind::ReplicaSet => "ReplicaSet",
            ResourceKind::Job => "Job",
            ResourceKind::CronJob => "CronJob",
            ResourceKind::ReplicationController => "ReplicationController",
            ResourceKind::MutatingWebhookConfiguration => "MutatingWebhookConfiguration",
            ResourceKind::ValidatingWebhookConfiguration => "ValidatingWebhookConfiguration",
            ResourceKind::ApiService => "APIService",
            ResourceKind::Secret => "Secret",
        }
    }

    /// The API group (empty for the core group).
    pub fn api_group(self) -> &'static str {
        match self {
            ResourceKind::ClusterRole
            | ResourceKind::Role
            | ResourceKind::ClusterRoleBinding
            | ResourceKind::RoleBinding => "rbac.authorization.k8s.io",
            ResourceKind::ServiceAccount
            | ResourceKind::Namespace
            | ResourceKind::Pod
            | ResourceKind::ReplicationController
            | ResourceKind::Secret => "",
            ResourceKind::Deployment
            | ResourceKind::DaemonSet
            | ResourceKind::StatefulSet
            | ResourceKind::ReplicaSet => "apps",
            ResourceKind::Job | ResourceKind::CronJob => "batch",
            ResourceKind::MutatingWebhookConfiguration
            | ResourceKind::ValidatingWebhookConfiguration => "admissionregistration.k8s.io",
            ResourceKind::ApiService => "apiregistration.k8s.io",
        }
    }

    /// The resource name as it appears in RBAC rules and URLs.
    pub fn plural(self) -> &'static str {
        match self {
            ResourceKind::ClusterRole => "clusterroles",
            ResourceKind::Role => "roles",
            ResourceKind::ClusterRoleBinding => "clusterrolebindings",
            ResourceKind::RoleBinding => "rolebindings",
            ResourceKind::ServiceAccount => "serviceaccounts",
            ResourceKind::Namespace => "namespaces",
            ResourceKind::Pod => "pods",
            ResourceKind::Deployment => "deployments",
            ResourceKind::DaemonSet => "daemonsets",
            ResourceKind::StatefulSet => "statefulsets",
            ResourceKind::ReplicaSet => "replicasets",
            ResourceKind::Job => "jobs",
            ResourceKind::CronJob => "cronjobs",
            ResourceKind::ReplicationController => "replicationcontrollers",
            ResourceKind::MutatingWebhookConfiguration => "mutatingwebhookconfigurations",
            ResourceKind::ValidatingWebhookConfiguration => "validatingwebhookconfigurations",
            ResourceKind::ApiService => "apiservices",
            ResourceKind::Secret => "secrets",
        }
    }

    pub fn is_namespaced(self) -> bool {
        !matches!(
            self,
            ResourceKind::ClusterRole
                | ResourceKind::ClusterRoleBinding
                | ResourceKind::Namespace
                | ResourceKind::MutatingWebhookConfiguration
                | ResourceKind::ValidatingWebhookConfiguration
                | ResourceKind::ApiService
        )
    }

    /// Workload controllers whose pod templates say which ServiceAccount they run as.
    pub fn is_workload_controller(self) -> bool {
        matches!(
            self,
            ResourceKind::Deployment
                | ResourceKind::DaemonSet
                | ResourceKind::StatefulSet
                | ResourceKind::ReplicaSet
                | ResourceKind::Job
                | ResourceKind::CronJob
                | ResourceKind::ReplicationController
        )
    }

    /// Kinds without which the analysis would be wrong. Workload controllers are not among them:
    /// pods say what runs and as whom; controllers only name the pods' owners and add templates
    /// of workloads with no pod running at the time.
    pub fn is_required(self) -> bool {
        !self.is_workload_controller()
    }

    pub fn from_name(kind: &str) -> Option<ResourceKind> {
        ResourceKind::ALL.into_iter().find(|k| k.name() == kind)
    }
}

impl fmt::Display for ResourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
