//! Review before install: what a third party *would* get in a cluster if its manifests (a chart's
//! rendered output) were applied. The manifests are laid over the cluster's snapshot (objects of
//! the same kind and name replace the installed ones, as an upgrade would), and the same engine
//! that judges the cluster says what the vendor's identities could do, whether they reach
//! cluster-admin and how, whether they read Secrets, which webhooks and APIServices it adds, and
//! which existing subjects gain through aggregation labels. Pure: the CLI reads and writes.

use crate::analysis::analyze;
use crate::finding::{Finding, Severity};
use crate::inventory::catalog::VendorCatalog;
use crate::inventory::model::{AccessLevel, DeclaredAccess, Identities, SubProcessor};
use crate::inventory::reconcile::{
    entry_access, grants_of, least_level, match_entry, never_a_sub_processor, observed_access,
};
use crate::rbac::matching::{Request, ResourceRequest, rule_allows, selector_matches};
use crate::rbac::resources::{is_built_in_group, is_kubernetes_group};
use crate::rbac::{RbacIndex, SubjectRef};
use crate::snapshot::{ApiService, Namespace, ObjectMeta, Snapshot, WebhookConfiguration};
use chrono::NaiveDate;
use serde::Serialize;
use std::collections::BTreeSet;

pub struct ReviewInput<'a> {
    /// The cluster as it is (a live collection, a dump or a saved snapshot).
    pub base: &'a Snapshot,
    /// The vendor's rendered manifests, namespaced objects defaulted to `namespace`.
    pub manifests: &'a Snapshot,
    pub namespace: &'a str,
    pub catalog: &'a VendorCatalog,
    pub today: NaiveDate,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VendorReview {
    pub namespace: String,
    /// (catalog id, product, vendor) when the catalog knows it.
    pub product: Option<(String, String, String)>,
    pub identities: Vec<IdentityReview>,
    pub webhooks: Vec<String>,
    pub api_services: Vec<String>,
    pub aggregation: Vec<AggregationGain>,
    /// Objects of the cluster the manifests would overwrite (built-ins above all).
    pub replaced: Vec<Replacement>,
    /// The engine's findings about the vendor's identities and objects, in the merged cluster.
    pub findings: Vec<Finding>,
    /// The highest severity among them, the replacements and the identities' concerns.
    pub worst: Option<Severity>,
    /// The least access level the draft entry can declare without KE-SUB-003 once the manifests
    /// are installed: its identities' grants and their reach of cluster-admin (escalation
    /// included), judged by the function KE-SUB-003 judges declarations with.
    pub level: AccessLevel,
    /// The inventory entry to approve, with `level` declared.
    pub draft: SubProcessor,
    /// The vendor's identities the draft leaves out, and why (`Group:system:authenticated:
    /// ...`): no entry can claim them, or they would not exist.
    pub left_out: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IdentityReview {
    pub subject: String,
    pub level: AccessLevel,
    /// As the register states access: the level, or how it reaches cluster-admin.
    pub access: String,
    pub cluster_admin: Option<String>,
    /// Where it could read Secrets (`cluster-wide`, `namespace x`).
    pub reads_secrets: Vec<String>,
    /// One line per grant: scope, verbs and resources, binding and role.
    pub grants: Vec<String>,
    /// How much this identity's access weighs in the review, and why (`None`: no access).
    pub concern: Option<(Severity, String)>,
}

/// What an identity's access weighs before install: reaching cluster-admin is critical; a user
/// or group (a person or a system of the vendor's, through an identity provider, outside the
/// access-request process) with more than read-only access, or a workload reading Secrets
/// outside its own namespace, is high; a workload reading its own namespace's Secrets, or a user
/// or group with read-only access, is medium; anything else is not a concern of its own.
fn concern_of(
    subject: &SubjectRef,
    level: AccessLevel,
    cluster_admin: bool,
    reads_secrets: &[String],
    namespace: &str,
) -> Option<(Severity, String)> {
    let person = !matches!(subject, SubjectRef::ServiceAccount { .. });
    let own = format!("namespace {namespace}");
    let beyond = reads_secrets.iter().any(|s| *s != own);
    if cluster_admin {
        return Some((Severity::Critical, "reaches cluster-admin".into()));
    }
    if person && (level > AccessLevel::ReadOnlyNoSecrets || !reads_secrets.is_empty()) {
        return Some((
            Severity::High,
            format!(
                "a user or group outside the cluster gets {} access",
                level.as_str()
            ),
        ));
    }
    if beyond {
        return Some((
            Severity::High,
            format!("reads Secrets in {}", reads_secrets.join(", ")),
        ));
    }
    if !reads_secrets.is_empty() {
        return Some((Severity::Medium, format!("reads Secrets in {own}")));
    }
    if person && level > AccessLevel::None {
        return Some((
            Severity::Medium,
            "a user or group outside the cluster gets read access".into(),
        ));
    }
    None
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AggregationGain {
    /// The installed aggregated ClusterRole that would absorb the vendor's rules.
    pub role: String,
    /// The vendor's ClusterRole whose labels it selects.
    pub from: String,
    /// Existing subjects bound to `role`, who would gain those rules.
    pub subjects: Vec<String>,
}

pub fn review(input: &ReviewInput<'_>) -> VendorReview {
    let merged = installed(input.base, input.manifests, input.namespace);
    let rbac = analyze(&merged, None, input.today);
    let identities = vendor_identities(input.manifests, input.namespace);
    let product = input
        .catalog
        .product_of(input.manifests, &identities)
        .map(|e| (e.id.clone(), e.name.clone(), e.vendor.clone()));
    let (draft_ids, left_out) =
        draft_identities(&identities, input.manifests, &rbac.index, input.namespace);
    let (id, name, vendor) = product.clone().unwrap_or_else(|| {
        (
            input.namespace.to_string(),
            input.namespace.to_string(),
            "unknown".to_string(),
        )
    });
    let mut draft = SubProcessor {
        id,
        name,
        vendor,
        purpose: None,
        owner: None,
        data_categories: Vec::new(),
        data_residency: Vec::new(),
        contract: None,
        certifications: Vec::new(),
        last_reviewed: None,
        review_interval_days: 365,
        identities: draft_ids,
        declared_access: DeclaredAccess {
            level: None,
            rules: Vec::new(),
        },
    };
    // The draft's identities matched in the installed cluster as a run matches them, and the
    // least level KE-SUB-003 accepts for what they hold.
    let matched = match_entry(&draft, &merged, &rbac.index);
    let held = entry_access(&matched, &rbac.index, &rbac.privilege);
    let level = held.least_level();
    draft.declared_access.level = Some(level);
    let mut reviews = Vec::new();
    for s in &identities {
        let grants = grants_of(&rbac.index, s);
        let reach = rbac.privilege.get(s);
        let level = least_level(&grants, reach.map(|r| (s, r)), &held.own_namespaces);
        let reads_secrets = secret_scopes(&grants);
        reviews.push(IdentityReview {
            subject: s.to_string(),
            level,
            access: observed_access(level, rbac.privilege.strongest(std::slice::from_ref(s))),
            cluster_admin: reach.map(|r| r.describe_for(s)),
            concern: concern_of(s, level, reach.is_some(), &reads_secrets, input.namespace),
            reads_secrets,
            grants: grants
                .iter()
                .map(|g| {
                    format!(
                        "{}: {} {} via {} -> {}",
                        g.scope(),
                        g.rule.verbs.join(", "),
                        g.rule.resources.join(", "),
                        g.binding,
                        g.role
                    )
                })
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect(),
        });
    }
    let replaced = replacements(input.base, input.manifests);
    let manifest_objects = object_names(input.manifests);
    let mut findings: Vec<Finding> = rbac
        .analysis
        .findings
        .into_iter()
        .filter(|f| {
            // A finding about an object the manifests write counts even when it is about a
            // system component: the vendor's version of a built-in is the vendor's.
            f.objects
                .iter()
                .any(|o| manifest_objects.contains(&o.to_string()))
                || (!f.system && f.subjects.iter().any(|s| identities.contains(s)))
        })
        .collect();
    findings.sort_by(|a, b| (b.severity, &a.id).cmp(&(a.severity, &b.id)));
    VendorReview {
        namespace: input.namespace.to_string(),
        product,
        webhooks: input
            .manifests
            .mutating_webhook_configurations
            .iter()
            .chain(&input.manifests.validating_webhook_configurations)
            .map(|w| w.metadata.name.clone())
            .collect(),
        api_services: input
            .manifests
            .api_services
            .iter()
            .map(|a| a.metadata.name.clone())
            .collect(),
        aggregation: aggregation_gains(input.base, input.manifests),
        worst: findings
            .iter()
            .map(|f| f.severity)
            .chain(replaced.iter().map(|r| r.severity))
            .chain(
                reviews
                    .iter()
                    .filter_map(|i| i.concern.as_ref().map(|c| c.0)),
            )
            .max(),
        replaced,
        findings,
        level,
        draft,
        left_out,
        identities: reviews,
    }
}

/// The cluster as it would be once the manifests are installed in `namespace`: the manifests
/// applied over it ([`merge`]), and the namespace itself (an install creates it or needs it).
pub fn installed(base: &Snapshot, manifests: &Snapshot, namespace: &str) -> Snapshot {
    let mut s = merge(base, manifests);
    if !s.namespaces.iter().any(|n| n.metadata.name == namespace) {
        s.namespaces.push(Namespace {
            metadata: ObjectMeta::named(namespace),
            phase: None,
        });
        s.canonicalize();
    }
    s
}

/// The identities of the draft entry: every ServiceAccount of the vendor's that exists once the
/// manifests are installed, every user and group they bind (a run claims those by their
/// bindings), and the webhook configurations and APIServices they add; the install namespace
/// only when there is nothing else to name. Left out, with the reason: Kubernetes' own subjects
/// and the groups of everyone (no entry claims those; KE-SUB-001 never asks for them), and
/// ServiceAccounts neither the manifests nor the cluster define (declaring them would make the
/// entry stale, KE-SUB-002).
fn draft_identities(
    identities: &BTreeSet<SubjectRef>,
    manifests: &Snapshot,
    index: &RbacIndex,
    namespace: &str,
) -> (Identities, Vec<String>) {
    let mut ids = Identities::default();
    let mut left_out = Vec::new();
    for s in identities {
        if never_a_sub_processor(s) {
            left_out.push(format!(
                "{s}: Kubernetes' own, or a group of everyone of a kind; no entry claims it"
            ));
            continue;
        }
        match s {
            SubjectRef::ServiceAccount { namespace, name } => {
                if index
                    .service_accounts
                    .contains(&(namespace.clone(), name.clone()))
                {
                    ids.service_accounts.push(format!("{namespace}/{name}"));
                } else {
                    left_out.push(format!(
                        "{s}: neither the manifests nor the cluster define it, so nobody holds what it is bound to until it exists"
                    ));
                }
            }
            SubjectRef::User { name } | SubjectRef::Group { name }
                if index.bindings_of(s).is_empty() =>
            {
                left_out.push(format!("{s}: in no binding ({name})"));
            }
            SubjectRef::User { name } => ids.users.push(name.clone()),
            SubjectRef::Group { name } => ids.groups.push(name.clone()),
        }
    }
    ids.webhooks = manifests
        .mutating_webhook_configurations
        .iter()
        .chain(&manifests.validating_webhook_configurations)
        .map(|w| w.metadata.name.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    ids.api_services = manifests
        .api_services
        .iter()
        .map(|a| a.metadata.name.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if ids.is_empty() {
        ids.namespaces.push(namespace.to_string());
    }
    (ids, left_out)
}

/// The cluster with the manifests applied: an object of the same kind, namespace and name is
/// replaced, as `kubectl apply` or a chart upgrade would.
fn merge(base: &Snapshot, manifests: &Snapshot) -> Snapshot {
    fn apply<T: Clone>(into: &mut Vec<T>, from: &[T], meta: impl Fn(&T) -> &ObjectMeta) {
        let names: BTreeSet<(Option<String>, String)> = from
            .iter()
            .map(|o| (meta(o).namespace.clone(), meta(o).name.clone()))
            .collect();
        into.retain(|o| !names.contains(&(meta(o).namespace.clone(), meta(o).name.clone())));
        into.extend(from.iter().cloned());
    }
    let mut s = base.clone();
    apply(&mut s.cluster_roles, &manifests.cluster_roles, |o| {
        &o.metadata
    });
    apply(&mut s.roles, &manifests.roles, |o| &o.metadata);
    apply(
        &mut s.cluster_role_bindings,
        &manifests.cluster_role_bindings,
        |o| &o.metadata,
    );
    apply(&mut s.role_bindings, &manifests.role_bindings, |o| {
        &o.metadata
    });
    apply(&mut s.service_accounts, &manifests.service_accounts, |o| {
        &o.metadata
    });
    apply(
        &mut s.mutating_webhook_configurations,
        &manifests.mutating_webhook_configurations,
        |o| &o.metadata,
    );
    apply(
        &mut s.validating_webhook_configurations,
        &manifests.validating_webhook_configurations,
        |o| &o.metadata,
    );
    apply(&mut s.api_services, &manifests.api_services, |o| {
        &o.metadata
    });
    for n in &manifests.namespaces {
        if !s
            .namespaces
            .iter()
            .any(|x| x.metadata.name == n.metadata.name)
        {
            s.namespaces.push(n.clone());
        }
    }
    s.workloads.retain(|w| {
        !manifests
            .workloads
            .iter()
            .any(|m| (&m.namespace, &m.kind, &m.name) == (&w.namespace, &w.kind, &w.name))
    });
    s.workloads.extend(manifests.workloads.iter().cloned());
    s.canonicalize();
    s
}

/// The vendor's identities: the ServiceAccounts its manifests define or run its workloads as,
/// and every subject its bindings name — users and groups as well as ServiceAccounts (a
/// ServiceAccount without a namespace in a RoleBinding is the binding's namespace's). A chart
/// that gives a User `admin` gives that user access as surely as one that gives it to its own
/// ServiceAccount.
fn vendor_identities(manifests: &Snapshot, namespace: &str) -> BTreeSet<SubjectRef> {
    let mut out: BTreeSet<SubjectRef> = manifests
        .service_accounts
        .iter()
        .map(|s| SubjectRef::service_account(s.metadata.ns(), &s.metadata.name))
        .collect();
    out.extend(
        manifests
            .workloads
            .iter()
            .map(|w| SubjectRef::service_account(&w.namespace, &w.service_account)),
    );
    let bound = manifests
        .role_bindings
        .iter()
        .map(|b| (b.metadata.namespace.as_deref(), &b.subjects))
        .chain(
            manifests
                .cluster_role_bindings
                .iter()
                .map(|b| (None, &b.subjects)),
        );
    for (binding_ns, subjects) in bound {
        for s in subjects {
            let ns = binding_ns.or(Some(namespace));
            out.extend(SubjectRef::from_binding_subject(s, ns));
        }
    }
    out
}

/// An object of the cluster the manifests would overwrite.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Replacement {
    /// `Kind namespace/name`.
    pub object: String,
    /// One of Kubernetes' own: a role or binding of the bootstrap policy or with a `system:`
    /// name, a webhook configuration with a `system:` name, an APIService of a Kubernetes API
    /// group (served by kube-apiserver, or under `k8s.io`/`kubernetes.io` such as
    /// `metrics.k8s.io`).
    pub built_in: bool,
    /// Whether the cluster has it now (a built-in absent from a dump is replaced all the same).
    pub exists: bool,
    /// What it is, in words, for the report.
    pub what: String,
    /// The subjects bound to it now, who would get whatever the vendor's version grants.
    pub bound: Vec<String>,
    /// For an APIService or webhook configuration: what serves it now (`Service ns/name`,
    /// `kube-apiserver itself`, a URL) ...
    pub served_now: Vec<String>,
    /// ... and what would serve the vendor's version.
    pub served_by_vendor: Vec<String>,
    pub severity: Severity,
}

/// Names Kubernetes' bootstrap policy gives its own roles and bindings.
fn built_in_name(name: &str) -> bool {
    name.starts_with("system:") || matches!(name, "cluster-admin" | "admin" | "edit" | "view")
}

/// What serves an APIService: its Service, or kube-apiserver itself.
fn api_server_of(a: &ApiService) -> Vec<String> {
    let by = match &a.service {
        Some(svc) => format!("Service {svc}"),
        None => "kube-apiserver itself".to_string(),
    };
    if a.insecure_skip_tls_verify {
        vec![format!("{by} (TLS not verified)")]
    } else {
        vec![by]
    }
}

/// What each webhook of a configuration calls: `webhook -> Service ns/name` or `-> URL`.
fn webhook_targets(w: &WebhookConfiguration) -> Vec<String> {
    let out: BTreeSet<String> = w
        .webhooks
        .iter()
        .map(|h| {
            let to = match (&h.service, &h.url) {
                (Some(svc), _) => format!("Service {svc}"),
                (None, Some(url)) => url.clone(),
                (None, None) => "nothing".to_string(),
            };
            format!("{} -> {to}", h.name)
        })
        .collect();
    if out.is_empty() {
        vec!["no webhooks".to_string()]
    } else {
        out.into_iter().collect()
    }
}

/// The API group an APIService registers: its `group`, else what its name (`version.group`) says.
fn api_group(a: &ApiService) -> &str {
    if a.group.is_empty() {
        a.metadata
            .name
            .split_once('.')
            .map_or("", |(_, group)| group)
    } else {
        &a.group
    }
}

/// Every object of the manifests that exists in the cluster or is one of Kubernetes' own: an
/// install would overwrite it. RBAC objects: a built-in replaced is critical (a chart that
/// rewrites `cluster-admin` or `system:*` changes what every holder of it can do); another
/// existing object is high (the vendor takes over an object someone else manages). APIServices
/// and webhook configurations are replaced when their name exists (an APIService of a group
/// kube-apiserver serves itself always does): the API server would send the API's requests, or
/// the admission reviews, to the vendor's server instead. Critical when the object is
/// Kubernetes' own (a Kubernetes API group such as `metrics.k8s.io`, a `system:` webhook
/// configuration) and what serves it changes: every client of that API (the autoscaler reading
/// `metrics.k8s.io`, `kubectl top`) trusts the vendor's answers. High otherwise, an upgrade in
/// place by the same Services included.
fn replacements(base: &Snapshot, manifests: &Snapshot) -> Vec<Replacement> {
    let mut out = rbac_replacements(base, manifests);
    out.extend(webhook_replacements(base, manifests));
    out.extend(api_service_replacements(base, manifests));
    out
}

/// The object as findings name it: `ClusterRole view`, `RoleBinding ns/name`.
fn object_ref(kind: &str, meta: &ObjectMeta) -> String {
    crate::rbac::index::ObjectRef::new(kind, meta.namespace.as_deref(), &meta.name).to_string()
}

/// The object of `list` with `m`'s name and namespace.
fn find<'a, T>(list: &'a [T], meta: impl Fn(&T) -> &ObjectMeta, m: &ObjectMeta) -> Option<&'a T> {
    list.iter()
        .find(|o| meta(o).name == m.name && meta(o).namespace == m.namespace)
}

/// Roles and bindings the manifests would replace: one the cluster has, or one of Kubernetes'
/// own (a built-in name, or the bootstrap policy's label), with who is bound to a role now.
fn rbac_replacements(base: &Snapshot, manifests: &Snapshot) -> Vec<Replacement> {
    let index = RbacIndex::build(base);
    let bound_to = |kind: &str, ns: Option<&str>, name: &str| -> Vec<String> {
        index
            .bindings
            .iter()
            .filter(|b| {
                b.role_ref.kind == kind
                    && b.role_ref.name == name
                    && (kind == "ClusterRole" || b.namespace.as_deref() == ns)
            })
            .flat_map(|b| {
                b.resolved
                    .iter()
                    .flatten()
                    .map(|s| format!("{s} ({})", b.object))
            })
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect()
    };
    let labelled = |m: &ObjectMeta| {
        m.labels
            .get("kubernetes.io/bootstrapping")
            .map(String::as_str)
            == Some("rbac-defaults")
    };
    let mut out = Vec::new();
    let mut consider =
        |kind: &str, meta: &ObjectMeta, existing: Option<&ObjectMeta>, bound: Vec<String>| {
            let built_in = built_in_name(&meta.name) || existing.is_some_and(labelled);
            if existing.is_none() && !built_in {
                return;
            }
            out.push(Replacement {
                object: object_ref(kind, meta),
                built_in,
                exists: existing.is_some(),
                what: match (built_in, existing.is_some()) {
                    (true, true) => "a Kubernetes built-in, in the cluster".to_string(),
                    (true, false) => {
                        "a Kubernetes built-in (not in what was reviewed against)".to_string()
                    }
                    _ => "an object already in the cluster".to_string(),
                },
                bound,
                served_now: Vec::new(),
                served_by_vendor: Vec::new(),
                severity: if built_in {
                    Severity::Critical
                } else {
                    Severity::High
                },
            });
        };
    for r in &manifests.cluster_roles {
        let existing = find(&base.cluster_roles, |o| &o.metadata, &r.metadata);
        consider(
            "ClusterRole",
            &r.metadata,
            existing.map(|o| &o.metadata),
            bound_to("ClusterRole", None, &r.metadata.name),
        );
    }
    for r in &manifests.roles {
        let existing = find(&base.roles, |o| &o.metadata, &r.metadata);
        let bound = bound_to("Role", r.metadata.namespace.as_deref(), &r.metadata.name);
        consider("Role", &r.metadata, existing.map(|o| &o.metadata), bound);
    }
    for b in &manifests.cluster_role_bindings {
        let existing = find(&base.cluster_role_bindings, |o| &o.metadata, &b.metadata);
        let existing = existing.map(|o| &o.metadata);
        consider("ClusterRoleBinding", &b.metadata, existing, Vec::new());
    }
    for b in &manifests.role_bindings {
        let existing = find(&base.role_bindings, |o| &o.metadata, &b.metadata);
        let existing = existing.map(|o| &o.metadata);
        consider("RoleBinding", &b.metadata, existing, Vec::new());
    }
    out
}

/// Webhook configurations the manifests would replace (Kubernetes creates none: only one the
/// cluster has), and whether admission reviews would go elsewhere.
fn webhook_replacements(base: &Snapshot, manifests: &Snapshot) -> Vec<Replacement> {
    let mut out = Vec::new();
    for (kind, mine, theirs) in [
        (
            "MutatingWebhookConfiguration",
            &manifests.mutating_webhook_configurations,
            &base.mutating_webhook_configurations,
        ),
        (
            "ValidatingWebhookConfiguration",
            &manifests.validating_webhook_configurations,
            &base.validating_webhook_configurations,
        ),
    ] {
        for w in mine {
            // Kubernetes creates no webhook configuration: only one the cluster has is replaced.
            let Some(existing) = find(theirs, |o| &o.metadata, &w.metadata) else {
                continue;
            };
            let built_in = w.metadata.name.starts_with("system:");
            let (now, vendor) = (webhook_targets(existing), webhook_targets(w));
            let changes = now != vendor;
            out.push(Replacement {
                object: object_ref(kind, &w.metadata),
                built_in,
                exists: true,
                what: format!(
                    "{}, in the cluster; admission reviews {}",
                    if built_in {
                        "a webhook configuration with a name of Kubernetes' own (system:)"
                    } else {
                        "a webhook configuration"
                    },
                    if changes {
                        "would go to the vendor's servers"
                    } else {
                        "would go to the same servers"
                    }
                ),
                bound: Vec::new(),
                severity: if built_in && changes {
                    Severity::Critical
                } else {
                    Severity::High
                },
                served_now: now,
                served_by_vendor: vendor,
            });
        }
    }
    out
}

/// APIServices the manifests would replace (one the cluster has, or a group kube-apiserver
/// serves itself), and whether their requests would be answered elsewhere.
fn api_service_replacements(base: &Snapshot, manifests: &Snapshot) -> Vec<Replacement> {
    let mut out = Vec::new();
    for a in &manifests.api_services {
        let existing = find(&base.api_services, |o| &o.metadata, &a.metadata);
        let group = api_group(a);
        // kube-apiserver serves its own groups in every cluster, whatever the dump holds.
        if existing.is_none() && !is_built_in_group(group) {
            continue;
        }
        let kubernetes = is_kubernetes_group(group);
        let now = existing.map_or_else(
            || vec!["kube-apiserver itself (not in what was reviewed against)".to_string()],
            api_server_of,
        );
        let vendor = api_server_of(a);
        let changes = existing.is_none_or(|e| e.service != a.service)
            || existing.is_some_and(|e| e.insecure_skip_tls_verify != a.insecure_skip_tls_verify);
        let shown = if group.is_empty() { "core" } else { group };
        out.push(Replacement {
            object: object_ref("APIService", &a.metadata),
            built_in: kubernetes,
            exists: existing.is_some(),
            what: format!(
                "{} {shown}, {}; its requests {}",
                if kubernetes {
                    "an API of Kubernetes' own group"
                } else {
                    "an API of group"
                },
                if existing.is_some() {
                    "in the cluster"
                } else {
                    "served by kube-apiserver in every cluster"
                },
                if changes {
                    "would be answered by the vendor's server"
                } else {
                    "would be answered by the same server"
                }
            ),
            bound: Vec::new(),
            severity: if kubernetes && changes {
                Severity::Critical
            } else {
                Severity::High
            },
            served_now: now,
            served_by_vendor: vendor,
        });
    }
    out
}

fn secret_scopes(grants: &[crate::rbac::index::Grant]) -> Vec<String> {
    let mut out = BTreeSet::new();
    for g in grants {
        let reads = ["get", "list", "watch"].iter().any(|verb| {
            rule_allows(
                &Request::Resource(ResourceRequest {
                    verb: verb.to_string(),
                    api_group: String::new(),
                    resource: "secrets".into(),
                    subresource: String::new(),
                    namespace: g.namespace.as_deref().unwrap_or_default().to_string(),
                    name: String::new(),
                }),
                &g.rule,
            )
        });
        if reads {
            out.insert(g.scope());
        }
    }
    out.into_iter().collect()
}

/// `Kind namespace/name` of every object the manifests define, as findings name objects.
fn object_names(m: &Snapshot) -> BTreeSet<String> {
    let named = |kind: &str, meta: &ObjectMeta| {
        crate::rbac::index::ObjectRef::new(kind, meta.namespace.as_deref(), &meta.name).to_string()
    };
    let mut out = BTreeSet::new();
    out.extend(
        m.cluster_roles
            .iter()
            .map(|o| named("ClusterRole", &o.metadata)),
    );
    out.extend(m.roles.iter().map(|o| named("Role", &o.metadata)));
    out.extend(
        m.cluster_role_bindings
            .iter()
            .map(|o| named("ClusterRoleBinding", &o.metadata)),
    );
    out.extend(
        m.role_bindings
            .iter()
            .map(|o| named("RoleBinding", &o.metadata)),
    );
    out.extend(
        m.mutating_webhook_configurations
            .iter()
            .map(|o| named("MutatingWebhookConfiguration", &o.metadata)),
    );
    out.extend(
        m.validating_webhook_configurations
            .iter()
            .map(|o| named("ValidatingWebhookConfiguration", &o.metadata)),
    );
    out.extend(
        m.api_services
            .iter()
            .map(|o| named("APIService", &o.metadata)),
    );
    out
}

/// Installed aggregated ClusterRoles whose selectors pick up one of the vendor's ClusterRoles,
/// with the existing subjects bound to them.
fn aggregation_gains(base: &Snapshot, manifests: &Snapshot) -> Vec<AggregationGain> {
    let index = crate::rbac::RbacIndex::build(base);
    let mut out = Vec::new();
    for aggregated in base
        .cluster_roles
        .iter()
        .filter(|r| r.aggregation_rule.is_some())
    {
        let selectors = &aggregated
            .aggregation_rule
            .as_ref()
            .expect("filtered above")
            .cluster_role_selectors;
        for vendor_role in &manifests.cluster_roles {
            if vendor_role.metadata.name == aggregated.metadata.name
                || !selectors
                    .iter()
                    .any(|sel| selector_matches(sel, &vendor_role.metadata.labels))
            {
                continue;
            }
            let subjects: BTreeSet<String> = index
                .bindings
                .iter()
                .filter(|b| {
                    b.role_ref.kind == "ClusterRole" && b.role_ref.name == aggregated.metadata.name
                })
                .flat_map(|b| {
                    b.resolved
                        .iter()
                        .flatten()
                        .map(|s| format!("{s} ({})", b.object))
                })
                .collect();
            out.push(AggregationGain {
                role: aggregated.metadata.name.clone(),
                from: vendor_role.metadata.name.clone(),
                subjects: subjects.into_iter().collect(),
            });
        }
    }
    out
}

impl VendorReview {
    /// The draft inventory entry: the identities the manifests would add, declaring the least
    /// level that meets no KE-SUB-003 once they are installed, for the vendor-risk assessment to
    /// approve or narrow. Valid for `inventory validate`.
    pub fn draft_entry(&self, today: NaiveDate) -> String {
        let q = |s: &str| serde_json::to_string(s).expect("strings serialise");
        let d = &self.draft;
        let mut out = format!(
            "# Draft sub-processor entry from `kube-evidence vendor review` on {today}: the access\n\
             # below is what the reviewed manifests would grant in namespace {} once installed\n\
             # (escalation to cluster-admin included), the least level a run accepts without\n\
             # KE-SUB-003. Approve it (or narrow the grants) in the vendor-risk assessment, fill\n\
             # in what the tool cannot know, and add the entry to the inventory's subProcessors.\n\
             apiVersion: kube-evidence.io/v1\nkind: SubProcessorInventory\nsubProcessors:\n",
            self.namespace
        );
        out.push_str(&format!(
            "- id: {}\n  name: {}\n  vendor: {}\n",
            q(&d.id),
            q(&d.name),
            q(&d.vendor)
        ));
        out.push_str(
            "  purpose: \"\"\n  owner: \"\"\n  dataCategories: []\n  certifications: []\n",
        );
        out.push_str("  identities:\n");
        let ids = &d.identities;
        for (key, list) in [
            ("namespaces", &ids.namespaces),
            ("serviceAccounts", &ids.service_accounts),
            ("users", &ids.users),
            ("groups", &ids.groups),
            ("webhooks", &ids.webhooks),
            ("apiServices", &ids.api_services),
        ] {
            if !list.is_empty() {
                out.push_str(&format!("    {key}:\n"));
                for v in list {
                    out.push_str(&format!("    - {}\n", q(v)));
                }
            }
        }
        for l in &self.left_out {
            // Quoted, so that no name can end the comment's line.
            out.push_str(&format!("  # not declared: {}\n", q(l)));
        }
        out.push_str(&format!(
            "  declaredAccess:\n    level: {}\n",
            self.level.as_str()
        ));
        out
    }
}
