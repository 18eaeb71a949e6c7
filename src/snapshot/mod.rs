//! The snapshot: one normalised, canonical picture of a cluster's RBAC state and of the
//! identities and workloads around it.
//!
//! Everything here is plain data. Collections are sorted by [`Snapshot::canonicalize`] so that
//! the same cluster state always serialises to the same bytes, which is what makes diffs,
//! digests and signatures meaningful. Secret data never has a field to live in.

pub mod inventory;
mod io;
mod kinds;

pub use io::{
    SnapshotIoError, canonical_json, decompressed_limit, gunzip_bounded, gzip, read_snapshot_file,
    snapshot_from_bytes, snapshot_to_gzip, snapshot_to_json,
};
pub use kinds::ResourceKind;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Version of the snapshot format; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// The snapshot's file name in a pack, and in a directory `--source` may point at.
pub const SNAPSHOT_FILE: &str = crate::files::SNAPSHOT;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Snapshot {
    pub schema_version: u32,
    pub cluster: ClusterInfo,
    /// When collection started (UTC).
    pub taken_at: DateTime<Utc>,
    pub collector: Collector,
    #[serde(default)]
    pub cluster_roles: Vec<ClusterRole>,
    #[serde(default)]
    pub roles: Vec<Role>,
    #[serde(default)]
    pub cluster_role_bindings: Vec<ClusterRoleBinding>,
    #[serde(default)]
    pub role_bindings: Vec<RoleBinding>,
    #[serde(default)]
    pub service_accounts: Vec<ServiceAccount>,
    #[serde(default)]
    pub namespaces: Vec<Namespace>,
    /// Workloads (top-level controllers, or bare pods) and the ServiceAccount each runs as.
    #[serde(default)]
    pub workloads: Vec<Workload>,
    #[serde(default)]
    pub mutating_webhook_configurations: Vec<WebhookConfiguration>,
    #[serde(default)]
    pub validating_webhook_configurations: Vec<WebhookConfiguration>,
    #[serde(default)]
    pub api_services: Vec<ApiService>,
    /// Legacy ServiceAccount token Secrets (`kubernetes.io/service-account-token`), metadata only.
    #[serde(default)]
    pub token_secrets: Vec<TokenSecret>,
    /// The sub-processor inventory in force when the snapshot was taken.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inventory: Option<inventory::Inventory>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClusterInfo {
    /// The name the operator gave the cluster (configuration), used in pack paths.
    pub name: String,
    /// The UID of the `kube-system` namespace: stable for the life of the cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_version: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Collector {
    pub tool: String,
    pub version: String,
    /// Where the objects came from: `cluster` (with the API server URL) or `dump:<path>`.
    pub source: String,
    /// The identity the collector ran as (from a SelfSubjectReview), when collected live.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<CollectorIdentity>,
    /// Per resource kind: how many objects were kept and whether the list was complete.
    pub kinds: BTreeMap<String, KindCollection>,
    /// Kinds present in the input that the snapshot does not use, with their counts.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ignored_kinds: BTreeMap<String, u64>,
}

impl Collector {
    /// True only when every required kind was collected completely.
    pub fn is_complete(&self) -> bool {
        ResourceKind::ALL
            .iter()
            .filter(|k| k.is_required())
            .all(|k| {
                self.kinds
                    .get(k.name())
                    .is_some_and(|c| c.status.counts_as_collected())
            })
    }

    pub fn status_of(&self, kind: ResourceKind) -> CollectionStatus {
        self.kinds
            .get(kind.name())
            .map_or(CollectionStatus::NotCollected, |c| c.status)
    }

    /// The required kinds that are not complete.
    pub fn incomplete_kinds(&self) -> Vec<(ResourceKind, &KindCollection)> {
        self.gaps(true)
    }

    /// Workload controller kinds that are not complete (they only refine workload names).
    pub fn supplementary_gaps(&self) -> Vec<(ResourceKind, &KindCollection)> {
        self.gaps(false)
    }

    fn gaps(&self, required: bool) -> Vec<(ResourceKind, &KindCollection)> {
        ResourceKind::ALL
            .iter()
            .filter(|k| k.is_required() == required)
            .filter_map(|k| {
                let c = self.kinds.get(k.name())?;
                (!c.status.counts_as_collected()).then_some((*k, c))
            })
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CollectorIdentity {
    pub username: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KindCollection {
    pub status: CollectionStatus,
    /// Objects of this kind read from the source (for Secrets, token Secrets are the only ones
    /// kept, by metadata).
    pub count: u64,
    /// Why the kind is not complete, or how it was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum CollectionStatus {
    /// Every object of the kind was read.
    Complete,
    /// The collector was not allowed to list the kind (HTTP 403).
    Forbidden,
    /// Listing failed for another reason.
    Failed,
    /// The kind was not part of the input (for example absent from a dump), so nothing about it
    /// can be asserted.
    NotCollected,
    /// Deliberately not read, by configuration (Secrets without --collect-token-secrets). The
    /// rules that need it are not assessed; the collection is not incomplete because of it.
    Skipped,
}

impl CollectionStatus {
    /// Complete, or left out on purpose: nothing the collector was asked to read is missing.
    pub fn counts_as_collected(self) -> bool {
        matches!(self, CollectionStatus::Complete | CollectionStatus::Skipped)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CollectionStatus::Complete => "complete",
            CollectionStatus::Forbidden => "forbidden",
            CollectionStatus::Failed => "failed",
            CollectionStatus::NotCollected => "not-collected",
            CollectionStatus::Skipped => "skipped",
        }
    }
}

/// The parts of Kubernetes object metadata the analysis and the auditor need.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ObjectMeta {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation_timestamp: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl ObjectMeta {
    pub fn named(name: impl Into<String>) -> Self {
        ObjectMeta {
            name: name.into(),
            ..Default::default()
        }
    }

    pub fn namespaced(namespace: impl Into<String>, name: impl Into<String>) -> Self {
        ObjectMeta {
            name: name.into(),
            namespace: Some(namespace.into()),
            ..Default::default()
        }
    }

    pub fn ns(&self) -> &str {
        self.namespace.as_deref().unwrap_or("")
    }

    fn sort_key(&self) -> (&str, &str) {
        (self.ns(), &self.name)
    }
}

/// One RBAC rule, as in `rbac.authorization.k8s.io/v1` PolicyRule.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PolicyRule {
    #[serde(default)]
    pub verbs: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub api_groups: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resource_names: Vec<String>,
    #[serde(
        default,
        rename = "nonResourceURLs",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub non_resource_urls: Vec<String>,
}

impl PolicyRule {
    /// A rule about resources (no non-resource URLs), as tests and fixtures write one.
    pub fn for_resources(
        verbs: &[&str],
        api_groups: &[&str],
        resources: &[&str],
        resource_names: &[&str],
    ) -> PolicyRule {
        let owned = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
        PolicyRule {
            verbs: owned(verbs),
            api_groups: owned(api_groups),
            resources: owned(resources),
            resource_names: owned(resource_names),
            non_resource_urls: Vec::new(),
        }
    }

    /// One line for tables, diffs and change rows: `verbs resources [groups] names=...`, or
    /// `verbs urls` for non-resource rules.
    pub fn compact(&self) -> String {
        if !self.non_resource_urls.is_empty() {
            return format!(
                "{} {}",
                self.verbs.join(","),
                self.non_resource_urls.join(",")
            );
        }
        let groups: Vec<&str> = self
            .api_groups
            .iter()
            .map(|g| if g.is_empty() { "core" } else { g.as_str() })
            .collect();
        let mut s = format!(
            "{} {} [{}]",
            self.verbs.join(","),
            self.resources.join(","),
            groups.join(",")
        );
        if !self.resource_names.is_empty() {
            s.push_str(&format!(" names={}", self.resource_names.join(",")));
        }
        s
    }

    fn canonicalize(&mut self) {
        for list in [
            &mut self.verbs,
            &mut self.api_groups,
            &mut self.resources,
            &mut self.resource_names,
            &mut self.non_resource_urls,
        ] {
            list.sort();
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LabelSelector {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub match_labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub match_expressions: Vec<LabelSelectorRequirement>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LabelSelectorRequirement {
    pub key: String,
    /// `In`, `NotIn`, `Exists` or `DoesNotExist`.
    pub operator: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
}

impl LabelSelector {
    fn canonicalize(&mut self) {
        for e in &mut self.match_expressions {
            e.values.sort();
        }
        self.match_expressions.sort();
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AggregationRule {
    #[serde(default)]
    pub cluster_role_selectors: Vec<LabelSelector>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClusterRole {
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub rules: Vec<PolicyRule>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aggregation_rule: Option<AggregationRule>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Role {
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub rules: Vec<PolicyRule>,
}

#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RoleRef {
    #[serde(default)]
    pub api_group: String,
    pub kind: String,
    pub name: String,
}

/// A subject of a binding, exactly as written in it.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Subject {
    /// `User`, `Group` or `ServiceAccount`.
    pub kind: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_group: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClusterRoleBinding {
    pub metadata: ObjectMeta,
    pub role_ref: RoleRef,
    #[serde(default)]
    pub subjects: Vec<Subject>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RoleBinding {
    pub metadata: ObjectMeta,
    pub role_ref: RoleRef,
    #[serde(default)]
    pub subjects: Vec<Subject>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceAccount {
    pub metadata: ObjectMeta,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automount_service_account_token: Option<bool>,
    /// Names of Secrets listed in `secrets` (references only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub image_pull_secrets: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Namespace {
    pub metadata: ObjectMeta,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
}

/// A workload and the ServiceAccount it runs as: a top-level controller (Deployment, DaemonSet,
/// StatefulSet, CronJob, Job, ReplicaSet, ReplicationController) or a pod without one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Workload {
    pub namespace: String,
    pub kind: String,
    pub name: String,
    pub service_account: String,
    /// Container images (init and regular containers), sorted and without duplicates.
    #[serde(default)]
    pub images: Vec<String>,
    /// Whether the pod template or pods mount the ServiceAccount token (None: not set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automount_service_account_token: Option<bool>,
    /// Running pods seen for this workload.
    #[serde(default)]
    pub pods: u64,
    /// What its running pods' containers run: each image as the kubelet reports it, with the
    /// digest it was resolved to (from Pod status), sorted and without duplicates. Empty when
    /// the source had no Pod status (manifests, dumps without status).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub running: Vec<RunningImage>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

/// A container image a pod runs, as its status reports it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RunningImage {
    /// The image reference as the kubelet reports it (`docker.io/library/nginx:1.27`).
    pub image: String,
    /// The content digest it resolved to (`sha256:...`); None when the status gave none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebhookConfiguration {
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub webhooks: Vec<Webhook>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Webhook {
    pub name: String,
    /// `namespace/name` of the Service the API server calls, when the webhook is in-cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// The URL the API server calls, when the webhook is outside the cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_policy: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub side_effects: Option<String>,
    #[serde(default)]
    pub rules: Vec<WebhookRule>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebhookRule {
    #[serde(default)]
    pub operations: Vec<String>,
    #[serde(default)]
    pub api_groups: Vec<String>,
    #[serde(default)]
    pub api_versions: Vec<String>,
    #[serde(default)]
    pub resources: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApiService {
    pub metadata: ObjectMeta,
    pub group: String,
    pub version: String,
    /// `namespace/name` of the backing Service; None for APIs served by kube-apiserver itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    #[serde(default)]
    pub insecure_skip_tls_verify: bool,
}

/// A legacy ServiceAccount token Secret, by metadata only: its data is never read or kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TokenSecret {
    pub metadata: ObjectMeta,
    /// The ServiceAccount the token belongs to (`kubernetes.io/service-account.name`).
    pub service_account: String,
}

impl Snapshot {
    /// An empty snapshot with every kind marked not collected.
    pub fn empty(cluster: ClusterInfo, taken_at: DateTime<Utc>, source: String) -> Self {
        Snapshot {
            schema_version: SCHEMA_VERSION,
            cluster,
            taken_at,
            collector: Collector {
                tool: crate::TOOL_NAME.to_string(),
                version: crate::TOOL_VERSION.to_string(),
                source,
                identity: None,
                kinds: BTreeMap::new(),
                ignored_kinds: BTreeMap::new(),
            },
            cluster_roles: Vec::new(),
            roles: Vec::new(),
            cluster_role_bindings: Vec::new(),
            role_bindings: Vec::new(),
            service_accounts: Vec::new(),
            namespaces: Vec::new(),
            workloads: Vec::new(),
            mutating_webhook_configurations: Vec::new(),
            validating_webhook_configurations: Vec::new(),
            api_services: Vec::new(),
            token_secrets: Vec::new(),
            inventory: None,
        }
    }

    /// Sorts every collection (objects by namespace and name, sets inside objects by value), so
    /// that equal cluster states give equal bytes whatever order the objects were read in. A
    /// role's rules are a list, not a set: their order is kept.
    pub fn canonicalize(&mut self) {
        // A role's rules keep the order the API server stores them in: "rule N" in a finding
        // is the Nth rule of `kubectl get -o yaml` (sets inside a rule are sorted).
        for r in &mut self.cluster_roles {
            r.rules.iter_mut().for_each(PolicyRule::canonicalize);
            if let Some(agg) = &mut r.aggregation_rule {
                agg.cluster_role_selectors
                    .iter_mut()
                    .for_each(LabelSelector::canonicalize);
            }
        }
        self.cluster_roles
            .sort_by(|a, b| a.metadata.sort_key().cmp(&b.metadata.sort_key()));
        for r in &mut self.roles {
            r.rules.iter_mut().for_each(PolicyRule::canonicalize);
        }
        self.roles
            .sort_by(|a, b| a.metadata.sort_key().cmp(&b.metadata.sort_key()));
        for b in &mut self.cluster_role_bindings {
            b.subjects.sort();
        }
        self.cluster_role_bindings
            .sort_by(|a, b| a.metadata.sort_key().cmp(&b.metadata.sort_key()));
        for b in &mut self.role_bindings {
            b.subjects.sort();
        }
        self.role_bindings
            .sort_by(|a, b| a.metadata.sort_key().cmp(&b.metadata.sort_key()));
        for sa in &mut self.service_accounts {
            sa.secrets.sort();
            sa.image_pull_secrets.sort();
        }
        self.service_accounts
            .sort_by(|a, b| a.metadata.sort_key().cmp(&b.metadata.sort_key()));
        self.namespaces
            .sort_by(|a, b| a.metadata.sort_key().cmp(&b.metadata.sort_key()));
        for w in &mut self.workloads {
            w.images.sort();
            w.images.dedup();
            w.running.sort();
            w.running.dedup();
        }
        self.workloads.sort_by(|a, b| {
            (&a.namespace, &a.kind, &a.name).cmp(&(&b.namespace, &b.kind, &b.name))
        });
        for list in [
            &mut self.mutating_webhook_configurations,
            &mut self.validating_webhook_configurations,
        ] {
            for c in list.iter_mut() {
                for w in &mut c.webhooks {
                    for r in &mut w.rules {
                        r.operations.sort();
                        r.api_groups.sort();
                        r.api_versions.sort();
                        r.resources.sort();
                    }
                    w.rules.sort();
                }
                c.webhooks.sort_by(|a, b| a.name.cmp(&b.name));
            }
            list.sort_by(|a, b| a.metadata.sort_key().cmp(&b.metadata.sort_key()));
        }
        self.api_services
            .sort_by(|a, b| a.metadata.sort_key().cmp(&b.metadata.sort_key()));
        self.token_secrets
            .sort_by(|a, b| a.metadata.sort_key().cmp(&b.metadata.sort_key()));
    }

    /// Looks up a ServiceAccount by namespace and name.
    pub fn service_account(&self, namespace: &str, name: &str) -> Option<&ServiceAccount> {
        self.service_accounts
            .iter()
            .find(|s| s.metadata.ns() == namespace && s.metadata.name == name)
    }
}

/// The JSON Schema of the snapshot format, as `kube-evidence snapshot --schema` prints it.
pub fn json_schema() -> serde_json::Value {
    let schema = schemars::schema_for!(Snapshot);
    serde_json::to_value(schema).expect("a JSON Schema always serialises")
}
