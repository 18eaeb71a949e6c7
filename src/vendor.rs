//! Review before install: what a third party *would* get in a cluster if its manifests (a chart's
//! rendered output) were applied. The manifests are laid over the cluster's snapshot (objects of
//! the same kind and name replace the installed ones, as an upgrade would), and the same engine
//! that judges the cluster says what the vendor's identities could do, whether they reach
//! cluster-admin and how, whether they read Secrets, which webhooks and APIServices it adds, and
//! which existing subjects gain through aggregation labels. Pure: the CLI reads and writes.

use crate::analysis::analyze;
use crate::finding::{Finding, Severity};
use crate::inventory::catalog::VendorCatalog;
use crate::inventory::model::AccessLevel;
use crate::inventory::reconcile::{observed_access, observed_level};
use crate::rbac::matching::{Request, ResourceRequest, rule_allows, selector_matches};
use crate::rbac::{Identity, SubjectRef};
use crate::snapshot::{ObjectMeta, Snapshot};
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
    /// The least access level covering every identity's grants.
    pub level: AccessLevel,
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
    let merged = merge(input.base, input.manifests);
    let rbac = analyze(&merged, None, input.today);
    let identities = vendor_identities(input.manifests, input.namespace);
    let own: BTreeSet<String> = [input.namespace.to_string()].into();
    let mut all_grants = Vec::new();
    let mut reviews = Vec::new();
    for s in &identities {
        let grants: Vec<_> = rbac
            .index
            .access(&Identity::of(s, &[]))
            .all()
            .filter(|g| {
                !rbac
                    .index
                    .bindings
                    .iter()
                    .any(|b| b.bootstrap && *b.object == *g.binding)
            })
            .cloned()
            .collect();
        let level = observed_level(&grants, &own);
        let reach = rbac.privilege.get(s);
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
        all_grants.extend(grants);
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
        product: product(input.manifests, input.catalog),
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
        level: observed_level(&all_grants, &own),
        identities: reviews,
    }
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
    /// One of Kubernetes' own (bootstrap policy, `system:` names, the built-in roles).
    pub built_in: bool,
    /// Whether the cluster has it now (a built-in absent from a dump is replaced all the same).
    pub exists: bool,
    /// The subjects bound to it now, who would get whatever the vendor's version grants.
    pub bound: Vec<String>,
    pub severity: Severity,
}

/// Names Kubernetes' bootstrap policy gives its own roles and bindings.
fn built_in_name(name: &str) -> bool {
    name.starts_with("system:") || matches!(name, "cluster-admin" | "admin" | "edit" | "view")
}

/// Every object of the manifests that exists in the cluster or is one of Kubernetes' own: an
/// install would overwrite it. A built-in replaced is critical (a chart that rewrites
/// `cluster-admin` or `system:*` changes what every holder of it can do); another existing
/// object is high (the vendor takes over an object someone else manages).
fn replacements(base: &Snapshot, manifests: &Snapshot) -> Vec<Replacement> {
    let index = crate::rbac::RbacIndex::build(base);
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
    let mut consider = |kind: &str,
                        meta: &ObjectMeta,
                        existing: Option<&ObjectMeta>,
                        bound: Vec<String>| {
        let built_in = built_in_name(&meta.name) || existing.is_some_and(labelled);
        if existing.is_none() && !built_in {
            return;
        }
        out.push(Replacement {
            object: crate::rbac::index::ObjectRef::new(kind, meta.namespace.as_deref(), &meta.name)
                .to_string(),
            built_in,
            exists: existing.is_some(),
            bound,
            severity: if built_in {
                Severity::Critical
            } else {
                Severity::High
            },
        });
    };
    fn find<'a, T>(
        list: &'a [T],
        meta: impl Fn(&T) -> &ObjectMeta,
        m: &ObjectMeta,
    ) -> Option<&'a ObjectMeta> {
        list.iter()
            .map(&meta)
            .find(|o| o.name == m.name && o.namespace == m.namespace)
    }
    for r in &manifests.cluster_roles {
        let existing = find(&base.cluster_roles, |o| &o.metadata, &r.metadata);
        consider(
            "ClusterRole",
            &r.metadata,
            existing,
            bound_to("ClusterRole", None, &r.metadata.name),
        );
    }
    for r in &manifests.roles {
        let existing = find(&base.roles, |o| &o.metadata, &r.metadata);
        let bound = bound_to("Role", r.metadata.namespace.as_deref(), &r.metadata.name);
        consider("Role", &r.metadata, existing, bound);
    }
    for b in &manifests.cluster_role_bindings {
        let existing = find(&base.cluster_role_bindings, |o| &o.metadata, &b.metadata);
        consider("ClusterRoleBinding", &b.metadata, existing, Vec::new());
    }
    for b in &manifests.role_bindings {
        let existing = find(&base.role_bindings, |o| &o.metadata, &b.metadata);
        consider("RoleBinding", &b.metadata, existing, Vec::new());
    }
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
            let existing = find(theirs, |o| &o.metadata, &w.metadata);
            consider(kind, &w.metadata, existing, Vec::new());
        }
    }
    for a in &manifests.api_services {
        let existing = find(&base.api_services, |o| &o.metadata, &a.metadata);
        consider("APIService", &a.metadata, existing, Vec::new());
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

fn product(manifests: &Snapshot, catalog: &VendorCatalog) -> Option<(String, String, String)> {
    let from_workloads = manifests
        .workloads
        .iter()
        .find_map(|w| catalog.for_workload(w));
    let from_objects = || {
        manifests
            .mutating_webhook_configurations
            .iter()
            .chain(&manifests.validating_webhook_configurations)
            .find_map(|w| catalog.for_webhook(&w.metadata.name))
            .or_else(|| {
                manifests
                    .api_services
                    .iter()
                    .find_map(|a| catalog.for_api_service(&a.metadata.name))
            })
            .or_else(|| {
                manifests.service_accounts.iter().find_map(|s| {
                    catalog
                        .entries()
                        .iter()
                        .find(|e| e.matches_service_account(&s.metadata.name))
                })
            })
    };
    from_workloads
        .or_else(from_objects)
        .map(|e| (e.id.clone(), e.name.clone(), e.vendor.clone()))
}

impl VendorReview {
    /// A draft inventory entry with the observed access filled in as the declared access, for
    /// the vendor-risk assessment to approve or narrow. Valid for `inventory validate`.
    pub fn draft_entry(&self, today: NaiveDate) -> String {
        let q = |s: &str| serde_json::to_string(s).expect("strings serialise");
        let (id, name, vendor) = self.product.clone().unwrap_or_else(|| {
            (
                self.namespace.clone(),
                self.namespace.clone(),
                "unknown".to_string(),
            )
        });
        let mut out = format!(
            "# Draft sub-processor entry from `kube-evidence vendor review` on {today}: the access\n\
             # below is what the reviewed manifests would grant in namespace {}. Approve it (or\n\
             # narrow it) in the vendor-risk assessment, fill in what the tool cannot know, and\n\
             # add the entry to the inventory's subProcessors.\n\
             apiVersion: kube-evidence.io/v1\nkind: SubProcessorInventory\nsubProcessors:\n",
            self.namespace
        );
        out.push_str(&format!(
            "- id: {}\n  name: {}\n  vendor: {}\n",
            q(&id),
            q(&name),
            q(&vendor)
        ));
        out.push_str(
            "  purpose: \"\"\n  owner: \"\"\n  dataCategories: []\n  certifications: []\n",
        );
        out.push_str("  identities:\n");
        let sas: Vec<&str> = self
            .identities
            .iter()
            .filter_map(|i| i.subject.strip_prefix("ServiceAccount:"))
            .collect();
        if !sas.is_empty() {
            out.push_str("    serviceAccounts:\n");
            for s in &sas {
                out.push_str(&format!("    - {}\n", q(s)));
            }
        }
        for (key, list) in [
            ("webhooks", &self.webhooks),
            ("apiServices", &self.api_services),
        ] {
            if !list.is_empty() {
                out.push_str(&format!("    {key}:\n"));
                for v in list {
                    out.push_str(&format!("    - {}\n", q(v)));
                }
            }
        }
        if sas.is_empty() && self.webhooks.is_empty() && self.api_services.is_empty() {
            out.push_str(&format!("    namespaces:\n    - {}\n", q(&self.namespace)));
        }
        out.push_str(&format!(
            "  declaredAccess:\n    level: {}\n",
            self.level.as_str()
        ));
        out
    }
}
