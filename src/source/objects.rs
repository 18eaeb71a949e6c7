//! Projection of raw Kubernetes objects onto the snapshot model.
//!
//! Both sources (dump files and the live API) hand each object here as JSON as soon as it is
//! read, so memory grows with the snapshot, not with the raw objects. Only the fields the model
//! keeps are ever deserialised: a Secret's `data` and `stringData` have nowhere to go, and its
//! annotations are reduced to the ServiceAccount reference.

use crate::snapshot::{
    AggregationRule, ApiService, ClusterInfo, ClusterRole, ClusterRoleBinding, CollectionStatus,
    KindCollection, LabelSelector, LabelSelectorRequirement, Namespace, ObjectMeta, PolicyRule,
    ResourceKind, Role, RoleBinding, RoleRef, RunningImage, ServiceAccount, Snapshot, Subject,
    TokenSecret, Webhook, WebhookConfiguration, WebhookRule, Workload,
};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};

/// Annotations never kept: large, noisy, and on a Secret they hold its data.
const DROPPED_ANNOTATIONS: &[&str] = &["kubectl.kubernetes.io/last-applied-configuration"];

const SA_TOKEN_TYPE: &str = "kubernetes.io/service-account-token";
const SA_NAME_ANNOTATION: &str = "kubernetes.io/service-account.name";
const SA_UID_ANNOTATION: &str = "kubernetes.io/service-account.uid";

/// Why one object could not be projected; `path` is the JSON path of the offending field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectError {
    pub path: Vec<PathSegment>,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathSegment {
    Key(String),
    Index(usize),
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct RawMeta {
    name: Option<String>,
    namespace: Option<String>,
    uid: Option<String>,
    resource_version: Option<String>,
    creation_timestamp: Option<String>,
    labels: Option<BTreeMap<String, String>>,
    annotations: Option<BTreeMap<String, String>>,
    owner_references: Option<Vec<RawOwnerRef>>,
}

#[derive(Deserialize, Default, Clone)]
#[serde(rename_all = "camelCase", default)]
struct RawOwnerRef {
    kind: String,
    name: String,
    controller: Option<bool>,
}

impl RawMeta {
    fn into_meta(self) -> ObjectMeta {
        let mut annotations = self.annotations.unwrap_or_default();
        for a in DROPPED_ANNOTATIONS {
            annotations.remove(*a);
        }
        ObjectMeta {
            name: self.name.unwrap_or_default(),
            namespace: self.namespace.filter(|n| !n.is_empty()),
            uid: self.uid,
            resource_version: self.resource_version,
            creation_timestamp: self.creation_timestamp,
            labels: self.labels.unwrap_or_default(),
            annotations,
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct RawRule {
    verbs: Option<Vec<String>>,
    api_groups: Option<Vec<String>>,
    resources: Option<Vec<String>>,
    resource_names: Option<Vec<String>>,
    #[serde(rename = "nonResourceURLs")]
    non_resource_urls: Option<Vec<String>>,
}

impl From<RawRule> for PolicyRule {
    fn from(r: RawRule) -> Self {
        PolicyRule {
            verbs: r.verbs.unwrap_or_default(),
            api_groups: r.api_groups.unwrap_or_default(),
            resources: r.resources.unwrap_or_default(),
            resource_names: r.resource_names.unwrap_or_default(),
            non_resource_urls: r.non_resource_urls.unwrap_or_default(),
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct RawSelector {
    match_labels: Option<BTreeMap<String, String>>,
    match_expressions: Option<Vec<RawRequirement>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct RawRequirement {
    key: String,
    operator: String,
    values: Option<Vec<String>>,
}

impl From<RawSelector> for LabelSelector {
    fn from(s: RawSelector) -> Self {
        LabelSelector {
            match_labels: s.match_labels.unwrap_or_default(),
            match_expressions: s
                .match_expressions
                .unwrap_or_default()
                .into_iter()
                .map(|r| LabelSelectorRequirement {
                    key: r.key,
                    operator: r.operator,
                    values: r.values.unwrap_or_default(),
                })
                .collect(),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawClusterRole {
    #[serde(default)]
    metadata: RawMeta,
    #[serde(default)]
    rules: Option<Vec<RawRule>>,
    #[serde(default)]
    aggregation_rule: Option<RawAggregation>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct RawAggregation {
    cluster_role_selectors: Option<Vec<RawSelector>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawRole {
    #[serde(default)]
    metadata: RawMeta,
    #[serde(default)]
    rules: Option<Vec<RawRule>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawBinding {
    #[serde(default)]
    metadata: RawMeta,
    role_ref: RawRoleRef,
    #[serde(default)]
    subjects: Option<Vec<RawSubject>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawRoleRef {
    #[serde(default)]
    api_group: String,
    kind: String,
    name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawSubject {
    kind: String,
    name: String,
    #[serde(default)]
    namespace: Option<String>,
    #[serde(default)]
    api_group: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawServiceAccount {
    #[serde(default)]
    metadata: RawMeta,
    #[serde(default)]
    automount_service_account_token: Option<bool>,
    #[serde(default)]
    secrets: Option<Vec<RawNameRef>>,
    #[serde(default)]
    image_pull_secrets: Option<Vec<RawNameRef>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawNameRef {
    name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawNamespace {
    #[serde(default)]
    metadata: RawMeta,
    #[serde(default)]
    status: Option<RawNamespaceStatus>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawNamespaceStatus {
    phase: Option<String>,
}

#[derive(Deserialize, Default, Clone)]
#[serde(rename_all = "camelCase", default)]
struct RawPodSpec {
    service_account_name: Option<String>,
    /// Deprecated alias of `serviceAccountName`, still honoured by the API server.
    service_account: Option<String>,
    automount_service_account_token: Option<bool>,
    containers: Option<Vec<RawContainer>>,
    init_containers: Option<Vec<RawContainer>>,
    ephemeral_containers: Option<Vec<RawContainer>>,
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
struct RawContainer {
    image: Option<String>,
}

impl RawPodSpec {
    fn service_account(&self) -> String {
        self.service_account_name
            .clone()
            .filter(|s| !s.is_empty())
            .or_else(|| self.service_account.clone().filter(|s| !s.is_empty()))
            .unwrap_or_else(|| "default".to_string())
    }

    fn images(&self) -> Vec<String> {
        [
            &self.init_containers,
            &self.containers,
            &self.ephemeral_containers,
        ]
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|c| c.image.clone())
        .collect()
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawPod {
    #[serde(default)]
    metadata: RawMeta,
    #[serde(default)]
    spec: RawPodSpec,
    #[serde(default)]
    status: RawPodStatus,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawPodStatus {
    phase: Option<String>,
    #[serde(rename = "containerStatuses")]
    container_statuses: Option<Vec<RawContainerStatus>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawContainerStatus {
    image: Option<String>,
    #[serde(rename = "imageID")]
    image_id: Option<String>,
}

impl RawContainerStatus {
    /// The image as the kubelet reports it and the digest it resolved: the part after `@` of
    /// `imageID` (`repo@sha256:...`), or the whole ID when the runtime reports a bare
    /// `sha256:` image ID.
    fn running(&self) -> Option<RunningImage> {
        let image = self.image.clone().filter(|i| !i.is_empty())?;
        let id = self.image_id.as_deref().unwrap_or_default();
        let digest = match id.rsplit_once('@') {
            Some((_, d)) => d,
            None => id.strip_prefix("docker-pullable://").unwrap_or(id),
        };
        let digest =
            (digest.starts_with("sha256:") && digest.len() <= 100).then(|| digest.to_string());
        Some(RunningImage { image, digest })
    }
}

impl RawPodStatus {
    /// A pod whose containers have all ended (Succeeded, Failed) runs nothing: it is not a
    /// target for exec, and does not count as a running pod of its workload. Pending and
    /// Unknown pods may run, so they count.
    fn finished(&self) -> bool {
        matches!(self.phase.as_deref(), Some("Succeeded" | "Failed"))
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawTemplate {
    spec: RawPodSpec,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct RawControllerSpec {
    template: Option<RawTemplate>,
    job_template: Option<Box<RawJobTemplate>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawJobTemplate {
    spec: RawControllerSpec,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawController {
    #[serde(default)]
    metadata: RawMeta,
    #[serde(default)]
    spec: RawControllerSpec,
}

impl RawControllerSpec {
    fn pod_template(self) -> Option<RawTemplate> {
        match self.template {
            Some(t) => Some(t),
            None => self.job_template.and_then(|j| j.spec.template),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawWebhookConfiguration {
    #[serde(default)]
    metadata: RawMeta,
    #[serde(default)]
    webhooks: Option<Vec<RawWebhook>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawWebhook {
    name: String,
    #[serde(default)]
    client_config: RawClientConfig,
    #[serde(default)]
    failure_policy: Option<String>,
    #[serde(default)]
    side_effects: Option<String>,
    #[serde(default)]
    rules: Option<Vec<RawWebhookRule>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawClientConfig {
    url: Option<String>,
    service: Option<RawServiceRef>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawServiceRef {
    namespace: String,
    name: String,
}

impl RawServiceRef {
    /// `namespace/name`; rendered manifests that leave the namespace out (kustomize fills it
    /// in) mean the namespace they are installed in.
    fn reference(&self, default_namespace: Option<&str>) -> String {
        let ns = match (self.namespace.as_str(), default_namespace) {
            ("", Some(d)) => d,
            (ns, _) => ns,
        };
        format!("{ns}/{}", self.name)
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct RawWebhookRule {
    operations: Option<Vec<String>>,
    api_groups: Option<Vec<String>>,
    api_versions: Option<Vec<String>>,
    resources: Option<Vec<String>>,
    scope: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawApiService {
    #[serde(default)]
    metadata: RawMeta,
    #[serde(default)]
    spec: RawApiServiceSpec,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct RawApiServiceSpec {
    group: String,
    version: String,
    service: Option<RawServiceRef>,
    // Kubernetes spells it `insecureSkipTLSVerify`, which camelCase does not give.
    #[serde(rename = "insecureSkipTLSVerify")]
    insecure_skip_tls_verify: Option<bool>,
}

/// Secrets: only metadata and `type` are ever deserialised.
#[derive(Deserialize)]
struct RawSecret {
    #[serde(default)]
    metadata: RawMeta,
    #[serde(default, rename = "type")]
    secret_type: Option<String>,
}

/// A pod template or running pod, waiting to be attributed to its top-level workload.
struct PodInfo {
    namespace: String,
    name: String,
    owner: Option<RawOwnerRef>,
    pod_template_hash: Option<String>,
    service_account: String,
    images: Vec<String>,
    /// What its containers run, from its status; empty once it has finished.
    running: Vec<RunningImage>,
    automount: Option<bool>,
    labels: BTreeMap<String, String>,
    /// Succeeded or Failed: nothing runs in it any more.
    finished: bool,
}

struct ControllerInfo {
    owner: Option<RawOwnerRef>,
    template: Option<RawTemplate>,
    labels: BTreeMap<String, String>,
}

/// Accumulates projected objects and produces a canonical [`Snapshot`].
pub struct SnapshotBuilder {
    snapshot: Snapshot,
    seen_kinds: BTreeSet<ResourceKind>,
    read_counts: BTreeMap<ResourceKind, u64>,
    kind_notes: BTreeMap<ResourceKind, KindCollection>,
    ignored: BTreeMap<String, u64>,
    controllers: BTreeMap<(String, String, String), ControllerInfo>,
    pods: Vec<PodInfo>,
    kube_system_uid: Option<String>,
    /// The namespace of namespaced objects that name none (rendered manifests).
    default_namespace: Option<String>,
}

impl SnapshotBuilder {
    pub fn new(cluster_name: &str, taken_at: DateTime<Utc>, source: String) -> Self {
        SnapshotBuilder {
            snapshot: Snapshot::empty(
                ClusterInfo {
                    name: cluster_name.to_string(),
                    id: None,
                    server_version: None,
                },
                taken_at,
                source,
            ),
            seen_kinds: BTreeSet::new(),
            read_counts: BTreeMap::new(),
            kind_notes: BTreeMap::new(),
            ignored: BTreeMap::new(),
            controllers: BTreeMap::new(),
            pods: Vec::new(),
            kube_system_uid: None,
            default_namespace: None,
        }
    }

    /// Namespaced objects that name no namespace are put in `namespace`, as `kubectl apply -n`
    /// does with rendered manifests.
    pub fn with_default_namespace(mut self, namespace: Option<String>) -> Self {
        self.default_namespace = namespace;
        self
    }

    /// Forgets every object of a kind read so far: its list is being read again from the
    /// start (a continuation that expired), and a kind is never a mixture of two points in time.
    pub fn clear_kind(&mut self, kind: ResourceKind) {
        self.read_counts.remove(&kind);
        let s = &mut self.snapshot;
        match kind {
            ResourceKind::ClusterRole => s.cluster_roles.clear(),
            ResourceKind::Role => s.roles.clear(),
            ResourceKind::ClusterRoleBinding => s.cluster_role_bindings.clear(),
            ResourceKind::RoleBinding => s.role_bindings.clear(),
            ResourceKind::ServiceAccount => s.service_accounts.clear(),
            ResourceKind::Namespace => {
                s.namespaces.clear();
                self.kube_system_uid = None;
            }
            ResourceKind::Pod => self.pods.clear(),
            ResourceKind::MutatingWebhookConfiguration => s.mutating_webhook_configurations.clear(),
            ResourceKind::ValidatingWebhookConfiguration => {
                s.validating_webhook_configurations.clear()
            }
            ResourceKind::ApiService => s.api_services.clear(),
            ResourceKind::Secret => s.token_secrets.clear(),
            k => self.controllers.retain(|(_, kind, _), _| kind != k.name()),
        }
    }

    /// Records that a kind was listed (even if it had no objects), so it counts as collected.
    pub fn mark_listed(&mut self, kind: ResourceKind) {
        self.seen_kinds.insert(kind);
    }

    /// Records that a kind could not be listed, and why.
    pub fn mark_incomplete(
        &mut self,
        kind: ResourceKind,
        status: CollectionStatus,
        message: String,
    ) {
        self.kind_notes.insert(
            kind,
            KindCollection {
                status,
                count: 0,
                message: Some(message),
            },
        );
    }

    pub fn set_server_version(&mut self, v: Option<String>) {
        self.snapshot.cluster.server_version = v;
    }

    pub fn set_identity(&mut self, identity: Option<crate::snapshot::CollectorIdentity>) {
        self.snapshot.collector.identity = identity;
    }

    /// Counts an object of a kind the snapshot does not use.
    pub fn ignore(&mut self, api_version: &str, kind: &str) {
        let key = if api_version.is_empty() {
            kind.to_string()
        } else {
            format!("{kind} ({api_version})")
        };
        *self.ignored.entry(key).or_default() += 1;
    }

    /// Projects one object of a kind the snapshot uses.
    pub fn add(
        &mut self,
        kind: ResourceKind,
        object: serde_json::Value,
    ) -> Result<(), ObjectError> {
        self.add_from(kind, object)
    }

    /// Projects one object given as JSON text (an item of an API list page), without building
    /// a JSON value first.
    pub fn add_json(&mut self, kind: ResourceKind, json: &str) -> Result<(), ObjectError> {
        let mut de = serde_json::Deserializer::from_str(json);
        self.add_from(kind, &mut de)
    }

    fn add_from<'de, D: serde::Deserializer<'de>>(
        &mut self,
        kind: ResourceKind,
        object: D,
    ) -> Result<(), ObjectError> {
        self.seen_kinds.insert(kind);
        *self.read_counts.entry(kind).or_default() += 1;
        match kind {
            ResourceKind::ClusterRole => {
                let r: RawClusterRole = parse(object)?;
                self.snapshot.cluster_roles.push(ClusterRole {
                    metadata: cluster_scoped(r.metadata.into_meta()),
                    rules: rules(r.rules),
                    aggregation_rule: r.aggregation_rule.map(|a| AggregationRule {
                        cluster_role_selectors: a
                            .cluster_role_selectors
                            .unwrap_or_default()
                            .into_iter()
                            .map(LabelSelector::from)
                            .collect(),
                    }),
                });
            }
            ResourceKind::Role => {
                let r: RawRole = parse(object)?;
                self.snapshot.roles.push(Role {
                    metadata: namespaced(
                        r.metadata.into_meta(),
                        self.default_namespace.as_deref(),
                    )?,
                    rules: rules(r.rules),
                });
            }
            ResourceKind::ClusterRoleBinding => {
                let b: RawBinding = parse(object)?;
                self.snapshot
                    .cluster_role_bindings
                    .push(ClusterRoleBinding {
                        metadata: cluster_scoped(b.metadata.into_meta()),
                        role_ref: role_ref(b.role_ref),
                        subjects: subjects(b.subjects)?,
                    });
            }
            ResourceKind::RoleBinding => {
                let b: RawBinding = parse(object)?;
                self.snapshot.role_bindings.push(RoleBinding {
                    metadata: namespaced(
                        b.metadata.into_meta(),
                        self.default_namespace.as_deref(),
                    )?,
                    role_ref: role_ref(b.role_ref),
                    subjects: subjects(b.subjects)?,
                });
            }
            ResourceKind::ServiceAccount => {
                let s: RawServiceAccount = parse(object)?;
                self.snapshot.service_accounts.push(ServiceAccount {
                    metadata: namespaced(
                        s.metadata.into_meta(),
                        self.default_namespace.as_deref(),
                    )?,
                    automount_service_account_token: s.automount_service_account_token,
                    secrets: names(s.secrets),
                    image_pull_secrets: names(s.image_pull_secrets),
                });
            }
            ResourceKind::Namespace => {
                let n: RawNamespace = parse(object)?;
                let meta = cluster_scoped(n.metadata.into_meta());
                if meta.name == "kube-system" {
                    self.kube_system_uid = meta.uid.clone();
                }
                self.snapshot.namespaces.push(Namespace {
                    metadata: meta,
                    phase: n.status.and_then(|s| s.phase),
                });
            }
            ResourceKind::Pod => {
                let pod = pod_info(parse(object)?, self.default_namespace.as_deref())?;
                self.pods.push(pod);
            }
            k if k.is_workload_controller() => {
                let c: RawController = parse(object)?;
                let owner = controller_owner(&c.metadata);
                let meta = namespaced(c.metadata.into_meta(), self.default_namespace.as_deref())?;
                self.controllers.insert(
                    (
                        meta.ns().to_string(),
                        k.name().to_string(),
                        meta.name.clone(),
                    ),
                    ControllerInfo {
                        owner,
                        template: c.spec.pod_template(),
                        labels: meta.labels,
                    },
                );
            }
            ResourceKind::MutatingWebhookConfiguration
            | ResourceKind::ValidatingWebhookConfiguration => {
                let conf = webhook_configuration(parse(object)?, self.default_namespace.as_deref());
                if kind == ResourceKind::MutatingWebhookConfiguration {
                    self.snapshot.mutating_webhook_configurations.push(conf);
                } else {
                    self.snapshot.validating_webhook_configurations.push(conf);
                }
            }
            ResourceKind::ApiService => {
                let a: RawApiService = parse(object)?;
                self.snapshot.api_services.push(ApiService {
                    metadata: cluster_scoped(a.metadata.into_meta()),
                    group: a.spec.group,
                    version: a.spec.version,
                    service: a
                        .spec
                        .service
                        .map(|s| s.reference(self.default_namespace.as_deref())),
                    insecure_skip_tls_verify: a.spec.insecure_skip_tls_verify.unwrap_or(false),
                });
            }
            ResourceKind::Secret => {
                if let Some(t) = token_secret(parse(object)?, self.default_namespace.as_deref())? {
                    self.snapshot.token_secrets.push(t);
                }
            }
            _ => unreachable!("every workload controller kind is handled above"),
        }
        Ok(())
    }

    /// Resolves workloads, records per-kind completeness, and returns the canonical snapshot.
    pub fn finish(mut self) -> Snapshot {
        self.snapshot.workloads = self.resolve_workloads();
        self.snapshot.cluster.id = self.kube_system_uid.take();
        self.snapshot.collector.ignored_kinds = std::mem::take(&mut self.ignored);
        for kind in ResourceKind::ALL {
            // The population read from the source, which auditors compare with the cluster.
            let count = self.read_counts.get(&kind).copied().unwrap_or(0);
            let entry = if let Some(mut note) = self.kind_notes.remove(&kind) {
                note.count = count;
                note
            } else if self.seen_kinds.contains(&kind) {
                KindCollection {
                    status: CollectionStatus::Complete,
                    count,
                    message: (kind == ResourceKind::Secret).then(|| {
                        format!(
                            "metadata only; {} legacy ServiceAccount token Secret(s) kept",
                            self.snapshot.token_secrets.len()
                        )
                    }),
                }
            } else {
                KindCollection {
                    status: CollectionStatus::NotCollected,
                    count,
                    message: Some(format!("no {kind} objects or lists in the input")),
                }
            };
            self.snapshot
                .collector
                .kinds
                .insert(kind.name().to_string(), entry);
        }
        self.snapshot.canonicalize();
        self.snapshot
    }

    /// Follows owner references up to the top-level controller of every pod and pod template.
    /// The workload a pod belongs to, as (kind, name): its controller's top-level owner; a
    /// Deployment named from the pod's ReplicaSet when the ReplicaSet is not in the input; the
    /// pod itself when it is bare or a static pod.
    fn workload_of(&self, pod: &PodInfo) -> (String, String) {
        let owner = pod.owner.clone().unwrap_or_default();
        let (mut kind, mut name) = (owner.kind.clone(), owner.name.clone());
        if kind == "ReplicaSet"
            && !self
                .controllers
                .contains_key(&(pod.namespace.clone(), kind.clone(), name.clone()))
        {
            // The ReplicaSet is not in the input: `<deployment>-<pod-template-hash>`.
            if let Some(hash) = &pod.pod_template_hash
                && let Some(dep) = name.strip_suffix(&format!("-{hash}"))
            {
                kind = "Deployment".into();
                name = dep.to_string();
            }
        } else if kind != "Pod" && kind != "Node" {
            let info_owner = self
                .controllers
                .get(&(pod.namespace.clone(), kind.clone(), name.clone()))
                .and_then(|c| c.owner.clone());
            (kind, name) = top_level(
                &self.controllers,
                &pod.namespace,
                &kind,
                &name,
                info_owner.as_ref(),
            );
        }
        if kind == "Node" {
            // Static pods mirrored by the kubelet: the pod is the workload.
            kind = "Pod".into();
            name = pod.name.clone();
        }
        (kind, name)
    }

    fn resolve_workloads(&mut self) -> Vec<Workload> {
        type Key = (String, String, String, String);
        let mut out: BTreeMap<Key, Workload> = BTreeMap::new();
        let mut add = |ns: &str,
                       kind: &str,
                       name: &str,
                       sa: &str,
                       images: Vec<String>,
                       running: &[RunningImage],
                       automount: Option<bool>,
                       labels: &BTreeMap<String, String>,
                       pods: u64| {
            let w = out
                .entry((ns.into(), kind.into(), name.into(), sa.into()))
                .or_insert_with(|| Workload {
                    namespace: ns.into(),
                    kind: kind.into(),
                    name: name.into(),
                    service_account: sa.into(),
                    images: Vec::new(),
                    running: Vec::new(),
                    automount_service_account_token: automount,
                    pods: 0,
                    labels: labels.clone(),
                });
            w.images.extend(images);
            w.running.extend(running.iter().cloned());
            w.pods += pods;
            if w.automount_service_account_token.is_none() {
                w.automount_service_account_token = automount;
            }
        };

        // Controllers whose pod template is known, attributed to their top-level owner.
        for ((ns, kind, name), info) in &self.controllers {
            let Some(template) = &info.template else {
                continue;
            };
            let (top_kind, top_name) =
                top_level(&self.controllers, ns, kind, name, info.owner.as_ref());
            let labels = if (top_kind.as_str(), top_name.as_str()) == (kind.as_str(), name.as_str())
            {
                &info.labels
            } else {
                self.controllers
                    .get(&(ns.clone(), top_kind.clone(), top_name.clone()))
                    .map_or(&info.labels, |c| &c.labels)
            };
            // An old ReplicaSet of a Deployment describes a past rollout, not what runs now.
            if top_kind != *kind
                && kind == "ReplicaSet"
                && self
                    .controllers
                    .contains_key(&(ns.clone(), top_kind.clone(), top_name.clone()))
            {
                continue;
            }
            add(
                ns,
                &top_kind,
                &top_name,
                &template.spec.service_account(),
                template.spec.images(),
                &[],
                template.spec.automount_service_account_token,
                labels,
                0,
            );
        }

        // Running pods, in name order so that the first pod of a workload (whose labels stand
        // for it when no controller is known) does not depend on input order.
        self.pods
            .sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
        for pod in &self.pods {
            let (kind, name) = self.workload_of(pod);
            let labels = self
                .controllers
                .get(&(pod.namespace.clone(), kind.clone(), name.clone()))
                .map_or(&pod.labels, |c| &c.labels);
            add(
                &pod.namespace,
                &kind,
                &name,
                &pod.service_account,
                pod.images.clone(),
                &pod.running,
                pod.automount,
                labels,
                // A finished pod still ties its workload to its ServiceAccount and images.
                u64::from(!pod.finished),
            );
        }
        out.into_values().collect()
    }
}

fn top_level(
    controllers: &BTreeMap<(String, String, String), ControllerInfo>,
    ns: &str,
    kind: &str,
    name: &str,
    owner: Option<&RawOwnerRef>,
) -> (String, String) {
    let (mut kind, mut name) = (kind.to_string(), name.to_string());
    let mut owner = owner.cloned();
    // Owner chains are short (Pod -> ReplicaSet -> Deployment, Pod -> Job -> CronJob); the bound
    // guards against a malformed dump with an ownership cycle.
    for _ in 0..8 {
        let Some(o) = owner.take() else { break };
        let is_controller =
            ResourceKind::from_name(&o.kind).is_some_and(|k| k.is_workload_controller());
        if !is_controller {
            break;
        }
        kind = o.kind.clone();
        name = o.name.clone();
        owner = controllers
            .get(&(ns.to_string(), kind.clone(), name.clone()))
            .and_then(|c| c.owner.clone());
    }
    (kind, name)
}

fn controller_owner(meta: &RawMeta) -> Option<RawOwnerRef> {
    let refs = meta.owner_references.as_ref()?;
    refs.iter()
        .find(|r| r.controller == Some(true))
        .or_else(|| refs.first())
        .cloned()
}

fn parse<'de, T: serde::Deserialize<'de>, D: serde::Deserializer<'de>>(
    object: D,
) -> Result<T, ObjectError> {
    serde_path_to_error::deserialize(object).map_err(|e| {
        let path = e
            .path()
            .iter()
            .filter_map(|seg| match seg {
                serde_path_to_error::Segment::Map { key } => Some(PathSegment::Key(key.clone())),
                serde_path_to_error::Segment::Seq { index } => Some(PathSegment::Index(*index)),
                _ => None,
            })
            .collect();
        ObjectError {
            path,
            message: e.into_inner().to_string(),
        }
    })
}

fn cluster_scoped(mut meta: ObjectMeta) -> ObjectMeta {
    meta.namespace = None;
    meta
}

/// The object's metadata, with the default namespace (as `kubectl apply -n` would give it) when
/// it names none; refused when it names none and there is no default.
fn namespaced(mut meta: ObjectMeta, default: Option<&str>) -> Result<ObjectMeta, ObjectError> {
    if meta.namespace.is_none()
        && let Some(ns) = default
    {
        meta.namespace = Some(ns.to_string());
    }
    if meta.namespace.is_none() {
        return Err(ObjectError {
            path: vec![PathSegment::Key("metadata".into())],
            message: "`metadata.namespace` is missing; this kind lives in a namespace (dump with `kubectl get ... -A -o yaml` to keep it, or give rendered manifests their namespace with --default-namespace)".into(),
        });
    }
    Ok(meta)
}

fn rules(raw: Option<Vec<RawRule>>) -> Vec<PolicyRule> {
    raw.unwrap_or_default()
        .into_iter()
        .map(PolicyRule::from)
        .collect()
}

fn role_ref(r: RawRoleRef) -> RoleRef {
    RoleRef {
        api_group: r.api_group,
        kind: r.kind,
        name: r.name,
    }
}

/// A binding's subjects. One without a name is refused: the API server never stores one
/// (`subjects[i].name: Required value`), so it is an edited dump, not a subject; taken as
/// written it would name a user called "".
fn subjects(raw: Option<Vec<RawSubject>>) -> Result<Vec<Subject>, ObjectError> {
    raw.unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, s)| {
            if s.name.trim().is_empty() {
                return Err(ObjectError {
                    path: vec![
                        PathSegment::Key("subjects".into()),
                        PathSegment::Index(i),
                        PathSegment::Key("name".into()),
                    ],
                    message: format!(
                        "a {} subject without a name: the API server refuses it (Required value), so this binding is not one a cluster holds",
                        if s.kind.is_empty() { "binding" } else { s.kind.as_str() }
                    ),
                });
            }
            Ok(Subject {
                kind: s.kind,
                name: s.name,
                namespace: s.namespace.filter(|n| !n.is_empty()),
                api_group: s.api_group.filter(|g| !g.is_empty()),
            })
        })
        .collect()
}

fn names(raw: Option<Vec<RawNameRef>>) -> Vec<String> {
    raw.unwrap_or_default()
        .into_iter()
        .map(|r| r.name)
        .collect()
}

/// An admission webhook configuration as the snapshot keeps it.
fn webhook_configuration(
    w: RawWebhookConfiguration,
    default_namespace: Option<&str>,
) -> WebhookConfiguration {
    WebhookConfiguration {
        metadata: cluster_scoped(w.metadata.into_meta()),
        webhooks: w
            .webhooks
            .unwrap_or_default()
            .into_iter()
            .map(|h| Webhook {
                name: h.name,
                service: h
                    .client_config
                    .service
                    .map(|s| s.reference(default_namespace)),
                url: h.client_config.url,
                failure_policy: h.failure_policy,
                side_effects: h.side_effects,
                rules: h
                    .rules
                    .unwrap_or_default()
                    .into_iter()
                    .map(|r| WebhookRule {
                        operations: r.operations.unwrap_or_default(),
                        api_groups: r.api_groups.unwrap_or_default(),
                        api_versions: r.api_versions.unwrap_or_default(),
                        resources: r.resources.unwrap_or_default(),
                        scope: r.scope,
                    })
                    .collect(),
            })
            .collect(),
    }
}

/// What the snapshot needs of a Pod: where it runs, as whom, owned by what, and whether it is
/// still running.
fn pod_info(p: RawPod, default_namespace: Option<&str>) -> Result<PodInfo, ObjectError> {
    let owner = controller_owner(&p.metadata);
    let labels = p.metadata.labels.clone().unwrap_or_default();
    let meta = namespaced(p.metadata.into_meta(), default_namespace)?;
    let owner = owner.or_else(|| {
        Some(RawOwnerRef {
            kind: "Pod".into(),
            name: meta.name.clone(),
            controller: Some(true),
        })
    });
    Ok(PodInfo {
        namespace: meta.ns().to_string(),
        name: meta.name.clone(),
        owner,
        pod_template_hash: labels.get("pod-template-hash").cloned(),
        service_account: p.spec.service_account(),
        images: p.spec.images(),
        running: if p.status.finished() {
            Vec::new()
        } else {
            p.status
                .container_statuses
                .iter()
                .flatten()
                .filter_map(RawContainerStatus::running)
                .collect()
        },
        automount: p.spec.automount_service_account_token,
        labels,
        finished: p.status.finished(),
    })
}

/// A legacy ServiceAccount token Secret, by metadata only; `None` for any other Secret.
fn token_secret(
    s: RawSecret,
    default_namespace: Option<&str>,
) -> Result<Option<TokenSecret>, ObjectError> {
    if s.secret_type.as_deref() == Some(SA_TOKEN_TYPE) {
        let mut meta = namespaced(s.metadata.into_meta(), default_namespace)?;
        let sa = meta
            .annotations
            .get(SA_NAME_ANNOTATION)
            .cloned()
            .unwrap_or_default();
        // Keep only the annotations that tie the token to its ServiceAccount.
        meta.annotations
            .retain(|k, _| k == SA_NAME_ANNOTATION || k == SA_UID_ANNOTATION);
        return Ok(Some(TokenSecret {
            metadata: meta,
            service_account: sa,
        }));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn builder() -> SnapshotBuilder {
        SnapshotBuilder::new("t", DateTime::from_timestamp(0, 0).unwrap(), "test".into())
    }

    #[test]
    fn secret_data_is_never_kept() {
        let mut b = builder();
        b.add(
            ResourceKind::Secret,
            json!({
                "metadata": {"name": "ci-token", "namespace": "ci",
                  "annotations": {"kubernetes.io/service-account.name": "deployer",
                    "kubectl.kubernetes.io/last-applied-configuration": "{\"data\":{\"token\":\"c2VjcmV0\"}}",
                    "note": "c2VjcmV0"}},
                "type": "kubernetes.io/service-account-token",
                "data": {"token": "c2VjcmV0"},
                "stringData": {"token": "secret"}
            }),
        )
        .unwrap();
        b.add(
            ResourceKind::Secret,
            json!({"metadata": {"name": "db", "namespace": "ci"}, "type": "Opaque", "data": {"password": "c2VjcmV0"}}),
        )
        .unwrap();
        let s = b.finish();
        let text = String::from_utf8(crate::snapshot::snapshot_to_json(&s)).unwrap();
        assert!(!text.contains("c2VjcmV0"));
        assert!(!text.contains("secret\""));
        assert_eq!(s.token_secrets.len(), 1);
        assert_eq!(s.token_secrets[0].service_account, "deployer");
    }

    #[test]
    fn pods_are_attributed_to_their_deployment_even_without_replicasets() {
        let mut b = builder();
        b.add(
            ResourceKind::Pod,
            json!({
                "metadata": {"name": "web-7d9f8-abcde", "namespace": "shop",
                  "labels": {"pod-template-hash": "7d9f8", "app": "web"},
                  "ownerReferences": [{"kind": "ReplicaSet", "name": "web-7d9f8", "controller": true}]},
                "spec": {"serviceAccountName": "web", "containers": [{"image": "nginx:1.27"}],
                  "initContainers": [{"image": "busybox:1"}]}
            }),
        )
        .unwrap();
        let s = b.finish();
        assert_eq!(s.workloads.len(), 1);
        let w = &s.workloads[0];
        assert_eq!(
            (w.kind.as_str(), w.name.as_str(), w.service_account.as_str()),
            ("Deployment", "web", "web")
        );
        assert_eq!(w.images, vec!["busybox:1", "nginx:1.27"]);
        assert_eq!(w.pods, 1);
    }

    #[test]
    fn controller_templates_and_owner_chains() {
        let mut b = builder();
        b.add(
            ResourceKind::CronJob,
            json!({"metadata": {"name": "backup", "namespace": "ops"},
                   "spec": {"jobTemplate": {"spec": {"template": {"spec": {"serviceAccount": "velero", "containers": [{"image": "velero:1"}]}}}}}}),
        )
        .unwrap();
        b.add(
            ResourceKind::Job,
            json!({"metadata": {"name": "backup-123", "namespace": "ops",
                   "ownerReferences": [{"kind": "CronJob", "name": "backup", "controller": true}]},
                   "spec": {"template": {"spec": {"serviceAccount": "velero", "containers": [{"image": "velero:1"}]}}}}),
        )
        .unwrap();
        b.add(
            ResourceKind::Pod,
            json!({"metadata": {"name": "backup-123-x", "namespace": "ops",
                   "ownerReferences": [{"kind": "Job", "name": "backup-123", "controller": true}]},
                   "spec": {"serviceAccountName": "velero", "containers": [{"image": "velero:1"}]}}),
        )
        .unwrap();
        let s = b.finish();
        assert_eq!(s.workloads.len(), 1, "{:?}", s.workloads);
        assert_eq!(s.workloads[0].kind, "CronJob");
        assert_eq!(s.workloads[0].pods, 1);
        assert_eq!(s.workloads[0].service_account, "velero");
    }

    #[test]
    fn type_errors_name_the_field_path() {
        let mut b = builder();
        let err = b
            .add(
                ResourceKind::ClusterRole,
                json!({"metadata": {"name": "x"}, "rules": [{"verbs": "get"}]}),
            )
            .unwrap_err();
        assert_eq!(
            err.path,
            vec![
                PathSegment::Key("rules".into()),
                PathSegment::Index(0),
                PathSegment::Key("verbs".into())
            ]
        );
        assert!(
            err.message.contains("expected a sequence"),
            "{}",
            err.message
        );
    }

    #[test]
    fn unlisted_kinds_are_not_collected_and_listed_ones_complete() {
        let mut b = builder();
        b.mark_listed(ResourceKind::Secret);
        let s = b.finish();
        assert_eq!(
            s.collector.status_of(ResourceKind::Secret),
            CollectionStatus::Complete
        );
        assert_eq!(
            s.collector.status_of(ResourceKind::Role),
            CollectionStatus::NotCollected
        );
        assert!(!s.collector.is_complete());
    }
}
