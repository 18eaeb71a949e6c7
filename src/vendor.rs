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
    /// The engine's findings about the vendor's identities and objects, in the merged cluster.
    pub findings: Vec<Finding>,
    /// The highest severity among them.
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
        reviews.push(IdentityReview {
            subject: s.to_string(),
            level,
            access: observed_access(level, rbac.privilege.strongest(std::slice::from_ref(s))),
            cluster_admin: reach.map(|r| r.describe_for(s)),
            reads_secrets: secret_scopes(&grants),
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
    let manifest_objects = object_names(input.manifests);
    let mut findings: Vec<Finding> = rbac
        .analysis
        .findings
        .into_iter()
        .filter(|f| {
            !f.system
                && (f.subjects.iter().any(|s| identities.contains(s))
                    || f.objects
                        .iter()
                        .any(|o| manifest_objects.contains(&o.to_string())))
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
        worst: findings.iter().map(|f| f.severity).max(),
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

/// The vendor's identities: the ServiceAccounts its manifests define, run its workloads as, or
/// bind (a subject without a namespace in a RoleBinding is the binding's namespace's).
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
        for s in subjects.iter().filter(|s| s.kind == "ServiceAccount") {
            let ns = s.namespace.as_deref().or(binding_ns).unwrap_or(namespace);
            out.insert(SubjectRef::service_account(ns, &s.name));
        }
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
