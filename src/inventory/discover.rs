//! Discovery of third-party components, for a starter inventory: workloads that carry Helm chart
//! labels or run only images from well-known vendor registries, grouped per namespace with the
//! webhook configurations and APIServices served from there. The output is an inventory that
//! `inventory validate` accepts as it stands; what the tool cannot know (owner, certifications,
//! review dates, the access the contract allows) is left for a person to fill in.

use super::model::AccessLevel;
use super::reconcile::{describe_declared, observed_access, observed_level};
use crate::rbac::index::{Grant, RbacIndex};
use crate::rbac::privilege::PrivilegeTable;
use crate::rbac::{Identity, SubjectRef};
use crate::snapshot::{ResourceKind, Snapshot, Workload};
use std::collections::{BTreeMap, BTreeSet};

/// Registry prefixes of well-known vendors and projects.
const VENDOR_REGISTRIES: &[(&str, &str)] = &[
    ("gcr.io/datadoghq/", "Datadog, Inc."),
    ("docker.io/datadog/", "Datadog, Inc."),
    ("quay.io/argoproj/", "Argo Project (CNCF)"),
    ("ghcr.io/cloudnative-pg/", "CloudNativePG (CNCF)"),
    ("cr.fluentbit.io/", "Fluent Bit (CNCF)"),
    ("velero/", "Velero (Broadcom)"),
    ("docker.io/velero/", "Velero (Broadcom)"),
    ("ghcr.io/aquasecurity/", "Aqua Security"),
    ("ghcr.io/kyverno/", "Kyverno (Nirmata)"),
    (
        "registry.k8s.io/external-dns/",
        "Kubernetes SIG Network (external-dns)",
    ),
    ("quay.io/jetstack/", "cert-manager (CNCF)"),
    ("docker.io/istio/", "Istio (CNCF)"),
    ("gcr.io/istio-release/", "Istio (CNCF)"),
    ("ghcr.io/external-secrets/", "External Secrets (CNCF)"),
    ("gcr.io/kubecost1/", "Kubecost (IBM)"),
    ("quay.io/sysdig/", "Sysdig, Inc."),
    ("docker.io/newrelic/", "New Relic, Inc."),
    ("newrelic/", "New Relic, Inc."),
    ("docker.io/grafana/", "Grafana Labs"),
    ("grafana/", "Grafana Labs"),
    ("quay.io/prometheus/", "Prometheus (CNCF)"),
    ("quay.io/prometheus-operator/", "Prometheus Operator (CNCF)"),
    ("docker.elastic.co/", "Elastic N.V."),
    ("public.ecr.aws/aws-observability/", "Amazon Web Services"),
    ("mcr.microsoft.com/", "Microsoft"),
    ("gcr.io/gke-release/", "Google Cloud"),
    ("docker.io/bitnami/", "Bitnami (Broadcom)"),
    ("ghcr.io/fluxcd/", "Flux (CNCF)"),
    ("docker.io/hashicorp/", "HashiCorp"),
    ("hashicorp/", "HashiCorp"),
    ("docker.io/falcosecurity/", "Falco (CNCF)"),
    ("quay.io/cilium/", "Cilium (CNCF)"),
];

const PLATFORM_NAMESPACES: &[&str] = &["kube-system", "kube-public", "kube-node-lease", "default"];

fn vendor_of(image: &str) -> Option<(&'static str, &'static str)> {
    VENDOR_REGISTRIES
        .iter()
        .find(|(prefix, _)| image.starts_with(prefix))
        .copied()
}

fn chart_of(w: &Workload) -> Option<String> {
    let chart = w.labels.get("helm.sh/chart")?;
    // `name-1.2.3`: the name is everything before the last `-<digit>` segment.
    let name = match chart.rfind('-') {
        Some(i) if chart[i + 1..].starts_with(|c: char| c.is_ascii_digit() || c == 'v') => {
            &chart[..i]
        }
        _ => chart.as_str(),
    };
    Some(name.to_string())
}

fn is_third_party(w: &Workload) -> bool {
    // Pods an operator runs for a custom resource (a database cluster, say) belong to whoever
    // created the resource, not to the operator's vendor.
    let builtin = ResourceKind::from_name(&w.kind)
        .is_some_and(|k| k.is_workload_controller() || k == ResourceKind::Pod);
    builtin && is_vendor_software(w)
}

fn is_vendor_software(w: &Workload) -> bool {
    w.labels.contains_key("helm.sh/chart")
        || w.labels
            .get("app.kubernetes.io/managed-by")
            .map(String::as_str)
            == Some("Helm")
        || (!w.images.is_empty() && w.images.iter().all(|i| vendor_of(i).is_some()))
}

/// One discovered third-party component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Component {
    pub id: String,
    pub name: String,
    pub vendor: String,
    pub namespace: String,
    pub service_accounts: BTreeSet<String>,
    pub images: BTreeSet<String>,
    pub webhooks: BTreeSet<String>,
    pub api_services: BTreeSet<String>,
    /// The least level covering its grants.
    pub observed: AccessLevel,
    /// As the register states it: the level, or its cluster-admin reach from the privilege table.
    pub observed_access: String,
    /// Cluster-wide grants and escalation, for the comment beside the entry.
    pub access_notes: Vec<String>,
}

fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

/// Image pattern for an entry: the repository without tag or digest, then `*`.
fn image_pattern(image: &str) -> String {
    let without_digest = image.split('@').next().unwrap_or(image);
    let repo = match without_digest.rsplit_once(':') {
        Some((r, tag)) if !tag.contains('/') => r,
        _ => without_digest,
    };
    format!("{repo}*")
}

pub fn discover(
    snapshot: &Snapshot,
    index: &RbacIndex,
    privilege: &PrivilegeTable,
) -> Vec<Component> {
    let mut by_ns: BTreeMap<&str, Vec<&Workload>> = BTreeMap::new();
    for w in &snapshot.workloads {
        if PLATFORM_NAMESPACES.contains(&w.namespace.as_str()) || !is_third_party(w) {
            continue;
        }
        by_ns.entry(&w.namespace).or_default().push(w);
    }
    // Webhooks and APIServices served from a namespace belong with it.
    let (webhooks, apis) = webhooks_and_apis_by_namespace(snapshot);
    let mut namespaces: BTreeSet<String> = by_ns.keys().map(|s| s.to_string()).collect();
    namespaces.extend(
        webhooks
            .keys()
            .filter(|n| !PLATFORM_NAMESPACES.contains(&n.as_str()))
            .cloned(),
    );
    namespaces.extend(
        apis.keys()
            .filter(|n| !PLATFORM_NAMESPACES.contains(&n.as_str()))
            .cloned(),
    );

    let mut out = Vec::new();
    for ns in namespaces {
        let workloads = by_ns.get(ns.as_str()).cloned().unwrap_or_default();
        let charts: BTreeSet<String> = workloads.iter().filter_map(|w| chart_of(w)).collect();
        let vendors: BTreeSet<&str> = workloads
            .iter()
            .flat_map(|w| w.images.iter())
            .filter_map(|i| vendor_of(i))
            .map(|(_, v)| v)
            .collect();
        let name = if charts.len() == 1 {
            charts.iter().next().cloned().unwrap_or_default()
        } else if let Some(p) = workloads
            .iter()
            .find_map(|w| w.labels.get("app.kubernetes.io/part-of"))
        {
            p.clone()
        } else {
            ns.clone()
        };
        let mut sas: BTreeSet<String> = workloads
            .iter()
            .map(|w| format!("{}/{}", w.namespace, w.service_account))
            .collect();
        for (sns, sname) in &index.service_accounts {
            if *sns == ns
                && !index
                    .bindings_of(&SubjectRef::service_account(sns, sname))
                    .is_empty()
            {
                sas.insert(format!("{sns}/{sname}"));
            }
        }
        let images: BTreeSet<String> = workloads
            .iter()
            .flat_map(|w| w.images.iter())
            .map(|i| image_pattern(i))
            .collect();
        // Access they hold now.
        let subjects: Vec<SubjectRef> = sas
            .iter()
            .filter_map(|s| s.split_once('/'))
            .map(|(a, b)| SubjectRef::service_account(a, b))
            .collect();
        let (grants, notes) = current_access(&subjects, index, privilege);
        let own: BTreeSet<String> = [ns.clone()].into();
        let observed = observed_level(&grants, &own);
        let observed_access = observed_access(observed, privilege.strongest(&subjects));
        out.push(Component {
            id: slug(&name),
            name,
            vendor: vendors
                .iter()
                .next()
                .map(|v| v.to_string())
                .unwrap_or_default(),
            namespace: ns.clone(),
            service_accounts: sas,
            images,
            webhooks: webhooks.get(&ns).cloned().unwrap_or_default(),
            api_services: apis.get(&ns).cloned().unwrap_or_default(),
            observed,
            observed_access,
            access_notes: notes.into_iter().collect(),
        });
    }
    make_ids_unique(&mut out);
    out
}

type NamesByNamespace = BTreeMap<String, BTreeSet<String>>;

/// The webhook configurations and the APIServices, by the namespace of the Service that serves
/// them (`(external)` for a webhook called by URL).
fn webhooks_and_apis_by_namespace(snapshot: &Snapshot) -> (NamesByNamespace, NamesByNamespace) {
    let mut webhooks: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for w in snapshot
        .mutating_webhook_configurations
        .iter()
        .chain(&snapshot.validating_webhook_configurations)
    {
        for h in &w.webhooks {
            let ns = h
                .service
                .as_deref()
                .and_then(|s| s.split_once('/'))
                .map(|(ns, _)| ns.to_string());
            webhooks
                .entry(ns.unwrap_or_else(|| "(external)".into()))
                .or_default()
                .insert(w.metadata.name.clone());
        }
    }
    let mut apis: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for a in &snapshot.api_services {
        if let Some((ns, _)) = a.service.as_deref().and_then(|s| s.split_once('/')) {
            apis.entry(ns.to_string())
                .or_default()
                .insert(a.metadata.name.clone());
        }
    }
    (webhooks, apis)
}

/// What the subjects hold now, apart from Kubernetes' bootstrap bindings, with a note for each
/// cluster-wide grant and each reach of cluster-admin.
fn current_access(
    subjects: &[SubjectRef],
    index: &RbacIndex,
    privilege: &PrivilegeTable,
) -> (Vec<Grant>, BTreeSet<String>) {
    let mut grants: Vec<Grant> = Vec::new();
    let mut notes = BTreeSet::new();
    for s in subjects {
        let report = index.access(&Identity::of(s, &[]));
        for g in report.all() {
            let bootstrap = index
                .bindings
                .iter()
                .any(|b| b.bootstrap && *b.object == *g.binding);
            if bootstrap {
                continue;
            }
            if g.namespace.is_none() {
                notes.insert(format!("{} -> {}", g.binding, g.role));
            }
            grants.push(g.clone());
        }
        if let Some(reach) = privilege.get(s) {
            notes.insert(format!(
                "{s} reaches cluster-admin: {}",
                reach.describe_for(s)
            ));
        }
    }
    (grants, notes)
}

/// Ids must be unique: the namespace is added where two components share a name.
fn make_ids_unique(out: &mut [Component]) {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for c in out.iter() {
        *seen.entry(c.id.clone()).or_default() += 1;
    }
    for c in out.iter_mut() {
        if seen[&c.id] > 1 {
            c.id = slug(&format!("{}-{}", c.id, c.namespace));
        }
    }
}

fn quote(s: &str) -> String {
    serde_json::to_string(s).expect("strings serialise")
}

fn list(out: &mut String, indent: &str, key: &str, values: &BTreeSet<String>) {
    if values.is_empty() {
        return;
    }
    out.push_str(&format!("{indent}{key}:\n"));
    for v in values {
        out.push_str(&format!("{indent}- {}\n", quote(v)));
    }
}

/// The starter inventory as YAML, with the access each component holds as comments.
pub fn render(components: &[Component], cluster: &str) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "# Starter sub-processor inventory discovered by kube-evidence in cluster {cluster}.\n\
         # Fill in what the tool cannot know: owner, purpose, data categories and residency, the\n\
         # contract, certifications, the last review, and the access the contract allows\n\
         # (declaredAccess). Until then, reconciliation reports those as missing.\n"
    ));
    out.push_str("apiVersion: kube-evidence.io/v1\nkind: SubProcessorInventory\n");
    out.push_str("internal:\n  namespaces: []\n  users: []\n  groups: []\n");
    out.push_str("subProcessors:");
    if components.is_empty() {
        out.push_str(" []\n");
        return out;
    }
    out.push('\n');
    for c in components {
        out.push_str(&format!("- id: {}\n", quote(&c.id)));
        out.push_str(&format!("  name: {}\n", quote(&c.name)));
        let vendor = if c.vendor.is_empty() {
            "unknown"
        } else {
            &c.vendor
        };
        out.push_str(&format!("  vendor: {}\n", quote(vendor)));
        out.push_str(
            "  purpose: \"\"\n  owner: \"\"\n  dataCategories: []\n  certifications: []\n",
        );
        out.push_str("  identities:\n");
        list(
            &mut out,
            "    ",
            "namespaces",
            &[c.namespace.clone()].into(),
        );
        list(&mut out, "    ", "serviceAccounts", &c.service_accounts);
        list(&mut out, "    ", "images", &c.images);
        list(&mut out, "    ", "webhooks", &c.webhooks);
        list(&mut out, "    ", "apiServices", &c.api_services);
        out.push_str(&format!("  # observed access: {}\n", c.observed_access));
        for n in &c.access_notes {
            out.push_str(&format!("  #   {n}\n"));
        }
        out.push_str(&format!(
            "  # review: declare what the contract allows (observed: {})\n",
            describe_declared(&super::model::DeclaredAccess {
                level: Some(c.observed),
                rules: vec![]
            })
        ));
        out.push_str("  declaredAccess:\n    level: none\n");
    }
    out
}
