//! What changed between two snapshots (with their analyses): RBAC objects at the level of rules
//! and subjects, effective grants gained and lost (privileged ones first, with provenance),
//! sub-processors, findings, control statuses and collection completeness.
//!
//! Metadata noise (resourceVersion, uid, timestamps, managed fields, annotations) is never a
//! change; an object deleted and re-created with the same content is reported once, as
//! re-created. Output is sorted and deterministic.

pub mod render;

use crate::controls::{ControlResult, ControlStatus};
use crate::finding::{Finding, Severity};
use crate::inventory::SubProcessor;
use crate::inventory::reconcile::RegisterRow;
use crate::inventory::reconcile::match_entry;
use crate::rbac::SubjectRef;
use crate::rbac::index::{BindingEntry, Grant, RbacIndex};
use crate::rules::RuleId;
use crate::rules::grants::hits;
use crate::rules::new_finding;
use crate::snapshot::{ObjectMeta, PolicyRule, Snapshot};
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// One side of a comparison.
pub struct Side<'a> {
    pub snapshot: &'a Snapshot,
    pub findings: &'a [Finding],
    pub controls: &'a [ControlResult],
    pub pack_id: Option<&'a str>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SideInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pack_id: Option<String>,
    pub cluster: String,
    /// When the snapshot was collected. A dump records no such time: it is dated by the run's
    /// clock (`KUBE_EVIDENCE_NOW` when injected), and `source` says it was a dump.
    pub collected_at: DateTime<Utc>,
    /// Where the snapshot came from (`cluster`, `dump:PATH`), as its collector recorded it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub source: String,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum ChangeKind {
    Added,
    Removed,
    Changed,
    /// Deleted and created again with the same content.
    Recreated,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Added => "added",
            ChangeKind::Removed => "removed",
            ChangeKind::Changed => "changed",
            ChangeKind::Recreated => "re-created",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ObjectChange {
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
    pub change: ChangeKind,
    /// The change spelled out: rules and subjects added or removed, fields changed.
    pub details: Vec<String>,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum GrantChangeKind {
    Gained,
    Lost,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GrantChange {
    pub subject: SubjectRef,
    pub change: GrantChangeKind,
    /// The grant matches a risk rule (listed).
    pub privileged: bool,
    pub risk_rules: Vec<String>,
    /// Provenance on the side where the grant exists (new for gained, old for lost).
    pub grant: Grant,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_processor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubProcessorChange {
    pub id: String,
    pub change: ChangeKind,
    pub details: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FindingRef {
    pub id: String,
    pub rule_id: RuleId,
    pub severity: Severity,
    pub summary: String,
    /// What became of it, where that is not plain (`accepted by EXC-1`, `was accepted by EXC-1`,
    /// `no longer found`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Every finding of this pack in exactly one of `new`, `persisting`, `accepted` and `system`, and
/// every open finding of the previous pack in `persisting`, `superseded` or `resolved`, so that
/// `previousOpen = persisting + superseded + resolved` and `currentOpen = persisting + new`.
/// "Open" is [`crate::finding::FindingClass::Open`]: not accepted, not about a system component.
///
/// A finding is resolved only when none of its subjects holds what it reported any more: one
/// whose id is gone while a subject of it is named by an open finding of the same capability
/// (cluster-admin reach, reading Secrets, ...: [`crate::rules::catalog::CAPABILITIES`]), of the
/// same rule, or, for a capability, KE-RBAC-001 (all verbs on all resources is every capability)
/// is `superseded`, with the findings that report it now.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FindingChanges {
    pub previous_open: usize,
    pub current_open: usize,
    /// Open now and not open in the previous pack (absent, or accepted then).
    pub new: Vec<FindingRef>,
    /// Open in both packs.
    pub persisting: Vec<FindingRef>,
    /// Open in the previous pack and not open now (gone, or accepted by an exception now), and
    /// none of its subjects holds what it reported through another open finding.
    pub resolved: Vec<FindingRef>,
    /// Open in the previous pack, gone now, but some of its subjects still hold what it
    /// reported: the note names them and the open findings that report it now.
    #[serde(default)]
    pub superseded: Vec<FindingRef>,
    /// Accepted by an exception in this pack.
    pub accepted: Vec<FindingRef>,
    /// About Kubernetes system components in this pack, reported apart.
    pub system: Vec<FindingRef>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ControlChange {
    pub framework: String,
    pub id: String,
    pub from: ControlStatus,
    pub to: ControlStatus,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CollectionChange {
    pub kind: String,
    pub from: String,
    pub to: String,
    /// A kind that was readable and no longer is.
    pub degraded: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Diff {
    /// None when there is nothing to compare with: this pack is the baseline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<SideInfo>,
    pub to: SideInfo,
    /// Said plainly in every report: the first pack of a cluster.
    pub baseline: bool,
    pub objects: Vec<ObjectChange>,
    pub grants: Vec<GrantChange>,
    pub sub_processors: Vec<SubProcessorChange>,
    pub findings: FindingChanges,
    pub controls: Vec<ControlChange>,
    pub collection: Vec<CollectionChange>,
    /// Grants whose use changed since the previous pack (both packs read an audit log).
    #[serde(default, skip_serializing_if = "UsageChanges::is_empty")]
    pub usage: UsageChanges,
}

/// Grants (as `subject: binding -> role, rule N`) used now and unused in the previous pack's
/// window, and the reverse.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UsageChanges {
    pub newly_used: Vec<String>,
    pub newly_unused: Vec<String>,
}

impl UsageChanges {
    pub fn is_empty(&self) -> bool {
        self.newly_used.is_empty() && self.newly_unused.is_empty()
    }
}

impl Diff {
    /// The diff of a cluster's first pack.
    pub fn baseline(to: &Snapshot, pack_id: Option<&str>) -> Diff {
        Diff {
            from: None,
            to: info(to, pack_id),
            baseline: true,
            objects: Vec::new(),
            grants: Vec::new(),
            sub_processors: Vec::new(),
            findings: FindingChanges::default(),
            controls: Vec::new(),
            collection: Vec::new(),
            usage: UsageChanges::default(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
            && self.grants.is_empty()
            && self.sub_processors.is_empty()
            && self.findings.new.is_empty()
            && self.findings.resolved.is_empty()
            && self.findings.superseded.is_empty()
            && self.controls.is_empty()
            && self.collection.is_empty()
            && self.usage.is_empty()
    }
}

fn info(s: &Snapshot, pack_id: Option<&str>) -> SideInfo {
    SideInfo {
        pack_id: pack_id.map(str::to_string),
        cluster: s.cluster.name.clone(),
        collected_at: s.taken_at,
        source: s.collector.source.clone(),
    }
}

/// Compares two sides. `old_index` and `new_index` may be passed when already built.
pub fn compute(old: &Side<'_>, new: &Side<'_>) -> Diff {
    let old_index = RbacIndex::build(old.snapshot);
    let new_index = RbacIndex::build(new.snapshot);
    compute_with(old, new, &old_index, &new_index)
}

pub fn compute_with(
    old: &Side<'_>,
    new: &Side<'_>,
    old_index: &RbacIndex,
    new_index: &RbacIndex,
) -> Diff {
    let mut diff = Diff {
        from: Some(info(old.snapshot, old.pack_id)),
        to: info(new.snapshot, new.pack_id),
        baseline: false,
        objects: objects(old.snapshot, new.snapshot),
        grants: grants(old_index, new_index),
        sub_processors: sub_processors(old.snapshot, new.snapshot),
        findings: findings(old.findings, new.findings),
        controls: controls(old.controls, new.controls),
        collection: collection(old.snapshot, new.snapshot),
        usage: UsageChanges::default(),
    };
    // Tag grant changes with the sub-processor that owns the subject.
    let owners = owners(new.snapshot, new_index)
        .into_iter()
        .chain(owners(old.snapshot, old_index))
        .fold(BTreeMap::new(), |mut m, (k, v)| {
            m.entry(k).or_insert(v);
            m
        });
    for g in &mut diff.grants {
        g.sub_processor = owners.get(&g.subject).cloned();
    }
    diff
}

fn owners(s: &Snapshot, index: &RbacIndex) -> BTreeMap<SubjectRef, String> {
    let mut out = BTreeMap::new();
    if let Some(inv) = &s.inventory {
        for e in &inv.sub_processors {
            for subject in match_entry(e, s, index).subjects {
                out.entry(subject).or_insert_with(|| e.id.clone());
            }
        }
    }
    out
}

/// Objects of the snapshot, by their metadata.
trait Meta {
    fn meta(&self) -> &ObjectMeta;
}

macro_rules! meta {
    ($($t:ident),*) => {
        $(impl Meta for crate::snapshot::$t {
            fn meta(&self) -> &ObjectMeta {
                &self.metadata
            }
        })*
    };
}
meta!(
    ClusterRole,
    Role,
    ClusterRoleBinding,
    RoleBinding,
    ServiceAccount,
    Namespace,
    WebhookConfiguration,
    ApiService,
    TokenSecret
);

/// How one kind of object is compared: what changed between two versions, and what an added or
/// removed object is (for a binding: its role and subjects).
struct Comparison<D, S> {
    details: D,
    describe: S,
}

/// Compares keyed objects by content; uid tells a re-creation from an unchanged object.
fn compare<T, D, S>(
    kind: &str,
    old: &[T],
    new: &[T],
    how: Comparison<D, S>,
    out: &mut Vec<ObjectChange>,
) where
    T: Meta,
    D: Fn(&T, &T) -> Vec<String>,
    S: Fn(&T) -> Vec<String>,
{
    let Comparison { details, describe } = how;
    let key = |m: &ObjectMeta| (m.ns().to_string(), m.name.clone());
    let old_map: BTreeMap<_, &T> = old.iter().map(|o| (key(o.meta()), o)).collect();
    let new_map: BTreeMap<_, &T> = new.iter().map(|o| (key(o.meta()), o)).collect();
    let mk = |(ns, name): &(String, String), change, details| ObjectChange {
        kind: kind.to_string(),
        namespace: (!ns.is_empty()).then(|| ns.clone()),
        name: name.clone(),
        change,
        details,
    };
    for (k, o) in &old_map {
        match new_map.get(k) {
            None => out.push(mk(k, ChangeKind::Removed, describe(o))),
            Some(n) => {
                let d = details(o, n);
                let recreated =
                    matches!((&o.meta().uid, &n.meta().uid), (Some(a), Some(b)) if a != b);
                match (d.is_empty(), recreated) {
                    (true, false) => {}
                    (true, true) => out.push(mk(
                        k,
                        ChangeKind::Recreated,
                        vec!["deleted and created again with the same content".into()],
                    )),
                    (false, re) => {
                        let mut d = d;
                        if re {
                            d.insert(0, "re-created (new uid)".into());
                        }
                        out.push(mk(k, ChangeKind::Changed, d));
                    }
                }
            }
        }
    }
    for (k, n) in &new_map {
        if !old_map.contains_key(k) {
            out.push(mk(k, ChangeKind::Added, describe(n)));
        }
    }
}

fn subject_text(s: &crate::snapshot::Subject) -> String {
    match &s.namespace {
        Some(ns) => format!("{}:{ns}/{}", s.kind, s.name),
        None => format!("{}:{}", s.kind, s.name),
    }
}

/// An added or removed binding: the role it grants and to whom.
fn describe_binding(
    subjects: &[crate::snapshot::Subject],
    role: &crate::snapshot::RoleRef,
) -> Vec<String> {
    let mut d = vec![format!("roleRef {} {}", role.kind, role.name)];
    if subjects.is_empty() {
        d.push("no subjects".into());
    } else {
        d.push(format!(
            "subjects {}",
            subjects
                .iter()
                .map(subject_text)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    d
}

/// An added or removed role: its rules.
fn describe_rules(rules: &[PolicyRule]) -> Vec<String> {
    if rules.is_empty() {
        return vec!["no rules".into()];
    }
    rules
        .iter()
        .map(|r| format!("rule {}", r.compact()))
        .collect()
}

fn nothing<T>(_: &T) -> Vec<String> {
    Vec::new()
}

/// What changed in a (Cluster)RoleBinding: subjects added or removed, and its roleRef.
fn binding_changes(
    (old_subjects, old_ref): (&[crate::snapshot::Subject], &crate::snapshot::RoleRef),
    (new_subjects, new_ref): (&[crate::snapshot::Subject], &crate::snapshot::RoleRef),
) -> Vec<String> {
    let mut d = set_changes("subject", old_subjects, new_subjects, subject_text);
    if old_ref != new_ref {
        d.push(format!(
            "roleRef changed: {} {} -> {} {}",
            old_ref.kind, old_ref.name, new_ref.kind, new_ref.name
        ));
    }
    d
}

fn set_changes<T: Ord + Clone>(
    what: &str,
    old: &[T],
    new: &[T],
    show: impl Fn(&T) -> String,
) -> Vec<String> {
    let a: BTreeSet<&T> = old.iter().collect();
    let b: BTreeSet<&T> = new.iter().collect();
    let mut out: Vec<String> = b
        .difference(&a)
        .map(|x| format!("{what} added: {}", show(x)))
        .collect();
    out.extend(
        a.difference(&b)
            .map(|x| format!("{what} removed: {}", show(x))),
    );
    out
}

fn label_changes(old: &ObjectMeta, new: &ObjectMeta) -> Vec<String> {
    let mut out = Vec::new();
    for (k, v) in &new.labels {
        match old.labels.get(k) {
            None => out.push(format!("label added: {k}={v}")),
            Some(o) if o != v => out.push(format!("label changed: {k}={o} -> {v}")),
            _ => {}
        }
    }
    for (k, v) in &old.labels {
        if !new.labels.contains_key(k) {
            out.push(format!("label removed: {k}={v}"));
        }
    }
    out
}

fn objects(old: &Snapshot, new: &Snapshot) -> Vec<ObjectChange> {
    let mut out = Vec::new();
    rbac_object_changes(old, new, &mut out);
    identity_object_changes(old, new, &mut out);
    webhook_changes(old, new, &mut out);
    api_service_and_token_changes(old, new, &mut out);
    out.sort();
    out
}

/// Roles (their rules and aggregation) and bindings (their subjects and role).
fn rbac_object_changes(old: &Snapshot, new: &Snapshot, out: &mut Vec<ObjectChange>) {
    compare(
        "ClusterRole",
        &old.cluster_roles,
        &new.cluster_roles,
        Comparison {
            details: |a: &crate::snapshot::ClusterRole, b: &crate::snapshot::ClusterRole| {
                let mut d = set_changes("rule", &a.rules, &b.rules, PolicyRule::compact);
                if a.aggregation_rule != b.aggregation_rule {
                    d.push("aggregationRule changed".into());
                }
                d.extend(label_changes(&a.metadata, &b.metadata));
                d
            },
            describe: |r: &crate::snapshot::ClusterRole| {
                let mut d = describe_rules(&r.rules);
                if r.aggregation_rule.is_some() {
                    d.insert(0, "aggregated (aggregationRule)".into());
                }
                d
            },
        },
        out,
    );
    compare(
        "Role",
        &old.roles,
        &new.roles,
        Comparison {
            details: |a: &crate::snapshot::Role, b: &crate::snapshot::Role| {
                set_changes("rule", &a.rules, &b.rules, PolicyRule::compact)
            },
            describe: |r: &crate::snapshot::Role| describe_rules(&r.rules),
        },
        out,
    );
    compare(
        "ClusterRoleBinding",
        &old.cluster_role_bindings,
        &new.cluster_role_bindings,
        Comparison {
            details: |a: &crate::snapshot::ClusterRoleBinding,
                      b: &crate::snapshot::ClusterRoleBinding| {
                binding_changes((&a.subjects, &a.role_ref), (&b.subjects, &b.role_ref))
            },
            describe: |b: &crate::snapshot::ClusterRoleBinding| {
                describe_binding(&b.subjects, &b.role_ref)
            },
        },
        out,
    );
    compare(
        "RoleBinding",
        &old.role_bindings,
        &new.role_bindings,
        Comparison {
            details: |a: &crate::snapshot::RoleBinding, b: &crate::snapshot::RoleBinding| {
                binding_changes((&a.subjects, &a.role_ref), (&b.subjects, &b.role_ref))
            },
            describe: |b: &crate::snapshot::RoleBinding| describe_binding(&b.subjects, &b.role_ref),
        },
        out,
    );
}

/// ServiceAccounts (token automounting) and Namespaces (labels).
fn identity_object_changes(old: &Snapshot, new: &Snapshot, out: &mut Vec<ObjectChange>) {
    compare(
        "ServiceAccount",
        &old.service_accounts,
        &new.service_accounts,
        Comparison {
            details: |a: &crate::snapshot::ServiceAccount, b: &crate::snapshot::ServiceAccount| {
                let mut d = Vec::new();
                if a.automount_service_account_token != b.automount_service_account_token {
                    d.push(format!(
                        "automountServiceAccountToken: {:?} -> {:?}",
                        a.automount_service_account_token, b.automount_service_account_token
                    ));
                }
                d
            },
            describe: nothing,
        },
        out,
    );
    compare(
        "Namespace",
        &old.namespaces,
        &new.namespaces,
        Comparison {
            details: |a: &crate::snapshot::Namespace, b: &crate::snapshot::Namespace| {
                label_changes(&a.metadata, &b.metadata)
            },
            describe: nothing,
        },
        out,
    );
}

/// Admission webhook configurations, webhook by webhook.
fn webhook_changes(old: &Snapshot, new: &Snapshot, out: &mut Vec<ObjectChange>) {
    let show_webhook = |w: &crate::snapshot::Webhook| {
        format!(
            "{} -> {} ({} rule(s), failurePolicy {})",
            w.name,
            w.service.clone().or(w.url.clone()).unwrap_or_default(),
            w.rules.len(),
            w.failure_policy.clone().unwrap_or_default()
        )
    };
    for (kind, o, n) in [
        (
            "MutatingWebhookConfiguration",
            &old.mutating_webhook_configurations,
            &new.mutating_webhook_configurations,
        ),
        (
            "ValidatingWebhookConfiguration",
            &old.validating_webhook_configurations,
            &new.validating_webhook_configurations,
        ),
    ] {
        compare(
            kind,
            o,
            n,
            Comparison {
                details: |a: &crate::snapshot::WebhookConfiguration,
                          b: &crate::snapshot::WebhookConfiguration| {
                    if a.webhooks == b.webhooks {
                        return Vec::new();
                    }
                    let mut d: Vec<String> = b
                        .webhooks
                        .iter()
                        .filter(|w| !a.webhooks.contains(w))
                        .map(|w| format!("webhook added or changed: {}", show_webhook(w)))
                        .collect();
                    d.extend(
                        a.webhooks
                            .iter()
                            .filter(|w| !b.webhooks.contains(w))
                            .map(|w| format!("webhook removed or changed: {}", show_webhook(w))),
                    );
                    d
                },
                describe: |w: &crate::snapshot::WebhookConfiguration| {
                    w.webhooks
                        .iter()
                        .map(|h| format!("webhook {}", show_webhook(h)))
                        .collect()
                },
            },
            out,
        );
    }
}

/// APIServices (the Service behind them, TLS verification) and legacy token Secrets.
fn api_service_and_token_changes(old: &Snapshot, new: &Snapshot, out: &mut Vec<ObjectChange>) {
    compare(
        "APIService",
        &old.api_services,
        &new.api_services,
        Comparison {
            details: |a: &crate::snapshot::ApiService, b: &crate::snapshot::ApiService| {
                let mut d = Vec::new();
                if a.service != b.service {
                    d.push(format!("service: {:?} -> {:?}", a.service, b.service));
                }
                if a.insecure_skip_tls_verify != b.insecure_skip_tls_verify {
                    d.push(format!(
                        "insecureSkipTLSVerify: {} -> {}",
                        a.insecure_skip_tls_verify, b.insecure_skip_tls_verify
                    ));
                }
                d
            },
            describe: |a: &crate::snapshot::ApiService| {
                a.service
                    .iter()
                    .map(|s| format!("served by Service {s}"))
                    .collect()
            },
        },
        out,
    );
    compare(
        "Secret",
        &old.token_secrets,
        &new.token_secrets,
        Comparison {
            details: |_: &crate::snapshot::TokenSecret, _: &crate::snapshot::TokenSecret| {
                Vec::new()
            },
            describe: |t: &crate::snapshot::TokenSecret| {
                vec![format!(
                    "legacy token of ServiceAccount {}",
                    t.service_account
                )]
            },
        },
        out,
    );
}

type BindingKey = (bool, String, String);

fn binding_key(b: &BindingEntry) -> BindingKey {
    (
        b.cluster,
        b.namespace.clone().unwrap_or_default(),
        b.name.clone(),
    )
}

fn binding_grants(index: &RbacIndex, b: &BindingEntry) -> BTreeSet<Grant> {
    let mut out = BTreeSet::new();
    let Ok(role_id) = b.role else { return out };
    let role = &index.roles[role_id];
    for s in b.resolved.iter().flatten() {
        for r in &role.rules {
            out.insert(index.grant(b, role, r, s));
        }
    }
    out
}

/// Effective grants gained and lost, computed only for bindings whose subjects, role reference
/// or role rules changed.
fn grants(old: &RbacIndex, new: &RbacIndex) -> Vec<GrantChange> {
    let old_b: BTreeMap<BindingKey, &BindingEntry> =
        old.bindings.iter().map(|b| (binding_key(b), b)).collect();
    let new_b: BTreeMap<BindingKey, &BindingEntry> =
        new.bindings.iter().map(|b| (binding_key(b), b)).collect();
    let keys: BTreeSet<&BindingKey> = old_b.keys().chain(new_b.keys()).collect();
    let mut out = Vec::new();
    for k in keys {
        let (o, n) = (old_b.get(k), new_b.get(k));
        if let (Some(o), Some(n)) = (o, n) {
            let same_role = match (&o.role, &n.role) {
                (Ok(a), Ok(b)) => {
                    old.roles[*a].rules == new.roles[*b].rules
                        && old.roles[*a].object == new.roles[*b].object
                }
                (Err(_), Err(_)) => true,
                _ => false,
            };
            if same_role && o.subjects == n.subjects && o.role_ref == n.role_ref {
                continue;
            }
        }
        let before = o.map(|b| binding_grants(old, b)).unwrap_or_default();
        let after = n.map(|b| binding_grants(new, b)).unwrap_or_default();
        for g in after.difference(&before) {
            out.push(change(g, GrantChangeKind::Gained));
        }
        for g in before.difference(&after) {
            out.push(change(g, GrantChangeKind::Lost));
        }
    }
    // What matters first: privileged grants gained, then privileged grants lost, then the rest
    // in the same order.
    out.sort_by(|a, b| {
        b.privileged
            .cmp(&a.privileged)
            .then_with(|| a.change.cmp(&b.change))
            .then_with(|| a.subject.cmp(&b.subject))
            .then_with(|| a.grant.cmp(&b.grant))
    });
    out
}

fn change(g: &Grant, kind: GrantChangeKind) -> GrantChange {
    let risk: Vec<String> = hits(&g.rule, g.namespace.is_none())
        .into_iter()
        .map(|id| id.as_str().to_string())
        .collect();
    GrantChange {
        subject: g.subject.clone(),
        change: kind,
        privileged: !risk.is_empty(),
        risk_rules: risk,
        grant: g.clone(),
        sub_processor: None,
    }
}

fn sub_processors(old: &Snapshot, new: &Snapshot) -> Vec<SubProcessorChange> {
    let empty = Vec::new();
    let o: BTreeMap<&str, &SubProcessor> = old
        .inventory
        .as_ref()
        .map_or(&empty, |i| &i.sub_processors)
        .iter()
        .map(|e| (e.id.as_str(), e))
        .collect();
    let n: BTreeMap<&str, &SubProcessor> = new
        .inventory
        .as_ref()
        .map_or(&empty, |i| &i.sub_processors)
        .iter()
        .map(|e| (e.id.as_str(), e))
        .collect();
    let mut out = Vec::new();
    for (id, a) in &o {
        match n.get(id) {
            None => out.push(SubProcessorChange {
                id: id.to_string(),
                change: ChangeKind::Removed,
                details: Vec::new(),
            }),
            Some(b) => {
                let mut d = Vec::new();
                let declared = |x: &SubProcessor| match x.declared_access.level {
                    Some(l) => l.as_str().to_string(),
                    None => format!("{:?}", x.declared_access.rules),
                };
                let fields: [(&str, String, String); 8] = [
                    (
                        "identities",
                        format!("{:?}", a.identities),
                        format!("{:?}", b.identities),
                    ),
                    ("declared access", declared(a), declared(b)),
                    ("certifications", cert_text(a), cert_text(b)),
                    (
                        "last reviewed",
                        opt_date(a.last_reviewed),
                        opt_date(b.last_reviewed),
                    ),
                    (
                        "review interval",
                        a.review_interval_days.to_string(),
                        b.review_interval_days.to_string(),
                    ),
                    (
                        "owner",
                        a.owner.clone().unwrap_or_default(),
                        b.owner.clone().unwrap_or_default(),
                    ),
                    (
                        "contract",
                        format!("{:?}", a.contract),
                        format!("{:?}", b.contract),
                    ),
                    (
                        "data categories",
                        a.data_categories.join(", "),
                        b.data_categories.join(", "),
                    ),
                ];
                for (what, x, y) in fields {
                    if x != y {
                        d.push(format!("{what}: {x} -> {y}"));
                    }
                }
                if !d.is_empty() {
                    out.push(SubProcessorChange {
                        id: id.to_string(),
                        change: ChangeKind::Changed,
                        details: d,
                    });
                }
            }
        }
    }
    for id in n.keys() {
        if !o.contains_key(id) {
            out.push(SubProcessorChange {
                id: id.to_string(),
                change: ChangeKind::Added,
                details: Vec::new(),
            });
        }
    }
    out.sort();
    out
}

fn cert_text(e: &SubProcessor) -> String {
    e.certifications
        .iter()
        .map(|c| {
            format!(
                "{} {}{}",
                c.cert_type,
                c.expires
                    .map(|d| format!("expires {d}"))
                    .or(c.report_period_end.map(|d| format!("period end {d}")))
                    .unwrap_or_default(),
                c.reviewed
                    .map(|d| format!(" reviewed {d}"))
                    .unwrap_or_default()
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn opt_date(d: Option<chrono::NaiveDate>) -> String {
    d.map(|d| d.to_string()).unwrap_or_else(|| "never".into())
}

fn finding_ref(f: &Finding, note: Option<String>) -> FindingRef {
    FindingRef {
        id: f.id.clone(),
        rule_id: f.rule_id,
        severity: f.severity,
        summary: f.summary.clone(),
        note,
    }
}

fn exception_of(f: &Finding) -> String {
    f.exception
        .as_ref()
        .map_or_else(|| "an exception".to_string(), |e| e.id.clone())
}

/// Sorts every finding of `new` into its bucket against the open findings of `old` (see
/// [`FindingChanges`]). Change findings (KE-CHG-*) are findings like any other.
pub fn findings(old: &[Finding], new: &[Finding]) -> FindingChanges {
    use crate::finding::FindingClass;
    let old_by_id: BTreeMap<&str, &Finding> = old.iter().map(|f| (f.id.as_str(), f)).collect();
    let new_by_id: BTreeMap<&str, &Finding> = new.iter().map(|f| (f.id.as_str(), f)).collect();
    let was_open = |id: &str| {
        old_by_id
            .get(id)
            .is_some_and(|f| f.class() == FindingClass::Open)
    };
    let mut c = FindingChanges::default();
    for f in new {
        match f.class() {
            FindingClass::System => c.system.push(finding_ref(f, None)),
            FindingClass::Accepted => c.accepted.push(finding_ref(
                f,
                Some(format!("accepted by {}", exception_of(f))),
            )),
            FindingClass::Open if was_open(&f.id) => c.persisting.push(finding_ref(f, None)),
            FindingClass::Open => {
                let note = old_by_id
                    .get(f.id.as_str())
                    .filter(|o| o.class() == FindingClass::Accepted)
                    .map(|o| format!("was accepted by {}", exception_of(o)));
                c.new.push(finding_ref(f, note))
            }
        }
    }
    for f in old.iter().filter(|f| f.class() == FindingClass::Open) {
        let now = new_by_id.get(f.id.as_str());
        if now.is_some_and(|n| n.class() == FindingClass::Open) {
            continue;
        }
        let note = match now {
            Some(n) if n.class() == FindingClass::Accepted => {
                format!("accepted by {}", exception_of(n))
            }
            Some(_) => "now about a system component".to_string(),
            None => match still_held(f, new) {
                Some(note) => {
                    c.superseded.push(finding_ref(f, Some(note)));
                    continue;
                }
                None => "no longer found".to_string(),
            },
        };
        c.resolved.push(finding_ref(f, Some(note)));
    }
    c.previous_open = old
        .iter()
        .filter(|f| f.class() == FindingClass::Open)
        .count();
    c.current_open = new
        .iter()
        .filter(|f| f.class() == FindingClass::Open)
        .count();
    let order =
        |a: &FindingRef, b: &FindingRef| b.severity.cmp(&a.severity).then_with(|| a.id.cmp(&b.id));
    for bucket in [
        &mut c.new,
        &mut c.persisting,
        &mut c.resolved,
        &mut c.superseded,
        &mut c.accepted,
        &mut c.system,
    ] {
        bucket.sort_by(order);
    }
    c
}

/// Which of `old`'s subjects still hold what it reported, through which open findings of
/// `new` (the same rule, or a rule of the same capability), in words; `None` when none does.
fn still_held(old: &Finding, new: &[Finding]) -> Option<String> {
    use crate::finding::FindingClass;
    use crate::rules::catalog::capability_of;
    if old.subjects.is_empty() {
        return None;
    }
    let capability = capability_of(old.rule_id);
    // All verbs on all resources cluster-wide (KE-RBAC-001) is every capability at once.
    let same = |f: &Finding| {
        f.rule_id == old.rule_id
            || (capability.is_some() && capability_of(f.rule_id) == capability)
            || (crate::rules::grants::is_capability_rule(old.rule_id)
                && f.rule_id == RuleId::Rbac001)
    };
    let mut holders: BTreeSet<String> = BTreeSet::new();
    let mut by: BTreeSet<&str> = BTreeSet::new();
    for f in new
        .iter()
        .filter(|f| f.class() == FindingClass::Open && same(f))
    {
        for s in &f.subjects {
            if old.subjects.contains(s) {
                holders.insert(s.to_string());
                by.insert(&f.id);
            }
        }
    }
    if holders.is_empty() {
        return None;
    }
    let list = |xs: Vec<String>| {
        if xs.len() > 5 {
            format!("{} and {} more", xs[..5].join(", "), xs.len() - 5)
        } else {
            xs.join(", ")
        }
    };
    Some(format!(
        "no longer found by this id, but {} of its {} subject(s) still hold it ({}), reported by {}",
        holders.len(),
        old.subjects.len(),
        list(holders.into_iter().collect()),
        list(by.into_iter().map(String::from).collect())
    ))
}

/// What the register says changed of each sub-processor between two packs (observed access,
/// identities found or missing, its findings), added to `changes`: the inventory may be the same
/// while what its identities can do is not.
pub fn add_register_changes(
    changes: &mut Vec<SubProcessorChange>,
    old: &[RegisterRow],
    new: &[RegisterRow],
) {
    let before: BTreeMap<&str, &RegisterRow> = old.iter().map(|r| (r.id.as_str(), r)).collect();
    for row in new {
        let Some(was) = before.get(row.id.as_str()) else {
            continue;
        };
        let list = |v: &[String]| {
            if v.is_empty() {
                "none".to_string()
            } else {
                v.join(", ")
            }
        };
        let fields = [
            (
                "observed access",
                was.observed_access.clone(),
                row.observed_access.clone(),
            ),
            (
                "identities found",
                list(&was.identities_found),
                list(&row.identities_found),
            ),
            (
                "identities missing",
                list(&was.identities_missing),
                list(&row.identities_missing),
            ),
            ("findings", list(&was.findings), list(&row.findings)),
        ];
        let details: Vec<String> = fields
            .into_iter()
            .filter(|(_, a, b)| a != b)
            .map(|(what, a, b)| format!("{what}: {a} -> {b}"))
            .collect();
        if details.is_empty() {
            continue;
        }
        match changes.iter_mut().find(|c| c.id == row.id) {
            Some(c) => c.details.extend(details),
            None => changes.push(SubProcessorChange {
                id: row.id.clone(),
                change: ChangeKind::Changed,
                details,
            }),
        }
    }
    changes.sort();
}

pub fn controls(old: &[ControlResult], new: &[ControlResult]) -> Vec<ControlChange> {
    let o: BTreeMap<(&str, &str), ControlStatus> = old
        .iter()
        .map(|c| ((c.framework.as_str(), c.id.as_str()), c.status))
        .collect();
    let mut out: Vec<ControlChange> = new
        .iter()
        .filter_map(|c| {
            let from = *o.get(&(c.framework.as_str(), c.id.as_str()))?;
            (from != c.status).then(|| ControlChange {
                framework: c.framework.clone(),
                id: c.id.clone(),
                from,
                to: c.status,
            })
        })
        .collect();
    out.sort();
    out
}

fn collection(old: &Snapshot, new: &Snapshot) -> Vec<CollectionChange> {
    let mut out = Vec::new();
    let kinds: BTreeSet<&String> = old
        .collector
        .kinds
        .keys()
        .chain(new.collector.kinds.keys())
        .collect();
    for k in kinds {
        let a = old
            .collector
            .kinds
            .get(k)
            .map(|c| c.status.as_str())
            .unwrap_or("not-collected");
        let b = new
            .collector
            .kinds
            .get(k)
            .map(|c| c.status.as_str())
            .unwrap_or("not-collected");
        if a != b {
            out.push(CollectionChange {
                kind: k.clone(),
                from: a.to_string(),
                to: b.to_string(),
                degraded: a == "complete",
            });
        }
    }
    out
}

/// KE-CHG-001: one finding per subject that gained privileged grants.
pub fn change_findings(diff: &Diff) -> Vec<Finding> {
    let mut by_subject: BTreeMap<&SubjectRef, Vec<&GrantChange>> = BTreeMap::new();
    for g in diff
        .grants
        .iter()
        .filter(|g| g.privileged && g.change == GrantChangeKind::Gained)
    {
        by_subject.entry(&g.subject).or_default().push(g);
    }
    let since = diff
        .from
        .as_ref()
        .map(|f| {
            f.pack_id
                .clone()
                .unwrap_or_else(|| f.collected_at.to_rfc3339())
        })
        .unwrap_or_default();
    by_subject
        .into_iter()
        .map(|(subject, changes)| {
            let key = format!(
                "{subject}\n{}",
                changes
                    .iter()
                    .map(|c| format!("{:?}", c.grant))
                    .collect::<Vec<_>>()
                    .join("\n")
            );
            let rules: BTreeSet<&str> = changes
                .iter()
                .flat_map(|c| c.risk_rules.iter().map(String::as_str))
                .collect();
            let mut f = new_finding(
                RuleId::Chg001,
                &key,
                format!(
                    "{subject} gained {} privileged grant(s) since {since} ({})",
                    changes.len(),
                    rules.into_iter().collect::<Vec<_>>().join(", ")
                ),
            );
            f.subjects = vec![subject.clone()];
            f.grants = changes.iter().map(|c| c.grant.clone()).collect();
            f.namespaces = changes
                .iter()
                .filter_map(|c| c.grant.namespace.as_ref().map(|n| n.to_string()))
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            f.sub_processor = changes.iter().find_map(|c| c.sub_processor.clone());
            f
        })
        .collect()
}
