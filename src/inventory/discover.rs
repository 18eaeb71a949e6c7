//! Discovery of third-party components, for a starter inventory. Every namespace is searched;
//! the vendor catalog (`catalog.rs`), not the namespace, tells a third party's workloads, webhooks
//! and APIServices from the platform's own, and Helm-installed workloads the catalog does not
//! know are third parties too. The output is an inventory that `inventory validate` accepts as
//! it stands; what the tool cannot know (owner, certifications, review dates, the access the
//! contract allows) is left for a person to fill in.

use super::catalog::{
    CatalogEntry, CatalogObject, Role, VendorCatalog, chart_name, image_repository,
};
use super::model::AccessLevel;
use super::reconcile::{describe_declared, observed_access, observed_level};
use crate::rbac::index::{Grant, RbacIndex};
use crate::rbac::privilege::PrivilegeTable;
use crate::rbac::{Identity, SubjectRef};
use crate::snapshot::{ResourceKind, Snapshot, Workload};
use std::collections::{BTreeMap, BTreeSet};

/// Namespaces that hold many parties' components: an entry never claims one of them whole.
const SHARED_NAMESPACES: &[&str] = &["kube-system", "kube-public", "kube-node-lease", "default"];

/// One discovered third-party component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Component {
    pub id: String,
    pub name: String,
    pub vendor: String,
    /// The catalog entry that recognised it; `None` for a Helm release the catalog does not know.
    pub catalog_id: Option<String>,
    /// Where it runs; empty for a webhook or APIService whose Service names no namespace.
    pub namespace: String,
    /// Whether it is the only thing in its namespace, so the entry may claim the namespace.
    pub owns_namespace: bool,
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

/// A component as it is gathered, before its access is looked up.
#[derive(Default)]
struct Group<'a> {
    name: String,
    vendor: String,
    entry: Option<&'a CatalogEntry>,
    workloads: Vec<&'a Workload>,
    webhooks: BTreeSet<String>,
    api_services: BTreeSet<String>,
}

/// (catalog id or release name, namespace)
type GroupKey = (String, String);

fn is_controller_or_pod(w: &Workload) -> bool {
    // Pods an operator runs for a custom resource (a database cluster, say) belong to whoever
    // created the resource, not to the operator's vendor.
    ResourceKind::from_name(&w.kind)
        .is_some_and(|k| k.is_workload_controller() || k == ResourceKind::Pod)
}

fn helm_installed(w: &Workload) -> bool {
    w.labels.contains_key("helm.sh/chart")
        || w.labels
            .get("app.kubernetes.io/managed-by")
            .map(String::as_str)
            == Some("Helm")
}

/// The release a Helm-installed workload the catalog does not know belongs to.
fn release_name(w: &Workload) -> String {
    chart_name(w)
        .or_else(|| w.labels.get("app.kubernetes.io/name").cloned())
        .or_else(|| w.labels.get("app.kubernetes.io/instance").cloned())
        .unwrap_or_else(|| w.name.clone())
}

pub fn discover(
    snapshot: &Snapshot,
    index: &RbacIndex,
    privilege: &PrivilegeTable,
    catalog: &VendorCatalog,
) -> Vec<Component> {
    let (mut groups, others) = group_workloads(snapshot, catalog);
    attach_webhooks_and_apis(snapshot, catalog, &mut groups);
    let mut per_namespace: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, ns) in groups.keys() {
        *per_namespace.entry(ns.as_str()).or_default() += 1;
    }
    let mut out: Vec<Component> = groups
        .iter()
        .map(|((_, ns), g)| {
            let owns = !ns.is_empty()
                && !SHARED_NAMESPACES.contains(&ns.as_str())
                && per_namespace[ns.as_str()] == 1
                && !others.contains(ns);
            component(ns, owns, g, index, privilege)
        })
        .collect();
    make_ids_unique(&mut out);
    out
}

/// The third-party workloads grouped per product and namespace, and the namespaces that also
/// run something that is not a third party's (which no entry may then claim whole).
fn group_workloads<'a>(
    snapshot: &'a Snapshot,
    catalog: &'a VendorCatalog,
) -> (BTreeMap<GroupKey, Group<'a>>, BTreeSet<String>) {
    let mut groups: BTreeMap<GroupKey, Group<'a>> = BTreeMap::new();
    let mut others = BTreeSet::new();
    for w in snapshot
        .workloads
        .iter()
        .filter(|w| is_controller_or_pod(w))
    {
        let (key, name, vendor, entry) = match catalog.recognise(CatalogObject::Workload(w)) {
            Some(e) if e.role == Role::Platform => {
                others.insert(w.namespace.clone());
                continue;
            }
            Some(e) => (e.id.clone(), e.name.clone(), e.vendor.clone(), Some(e)),
            None if helm_installed(w) => {
                let release = release_name(w);
                (release.clone(), release, String::new(), None)
            }
            None => {
                others.insert(w.namespace.clone());
                continue;
            }
        };
        let g = groups.entry((key, w.namespace.clone())).or_default();
        g.name = name;
        g.vendor = vendor;
        g.entry = entry;
        g.workloads.push(w);
    }
    (groups, others)
}

/// Webhook configurations and APIServices go to the component the catalog names for them, else
/// to the one component in the namespace of the Service that serves them (the one whose name
/// the Service's starts with, when there are several), else to a component of their own.
fn attach_webhooks_and_apis<'a>(
    snapshot: &Snapshot,
    catalog: &'a VendorCatalog,
    groups: &mut BTreeMap<GroupKey, Group<'a>>,
) {
    let webhooks = snapshot
        .mutating_webhook_configurations
        .iter()
        .chain(&snapshot.validating_webhook_configurations)
        .map(|w| {
            let service = w.webhooks.iter().find_map(|h| h.service.clone());
            (w.metadata.name.clone(), service, true)
        });
    let apis = snapshot
        .api_services
        .iter()
        .filter_map(|a| Some((a.metadata.name.clone(), Some(a.service.clone()?), false)));
    for (name, service, is_webhook) in webhooks.chain(apis) {
        let entry = catalog.recognise(if is_webhook {
            CatalogObject::Webhook(&name)
        } else {
            CatalogObject::ApiService(&name)
        });
        let (ns, svc) = service
            .as_deref()
            .and_then(|s| s.split_once('/'))
            .map(|(n, s)| (n.to_string(), s.to_string()))
            .unwrap_or_default();
        let owner = owner_of(groups, entry, &ns, &svc);
        if owner.is_none() && entry.is_some_and(|e| e.role == Role::Platform) {
            continue;
        }
        // Named after what the catalog says, else the Service, else the object itself.
        let own_name = if svc.is_empty() {
            name.clone()
        } else {
            svc.clone()
        };
        let key = owner.unwrap_or_else(|| {
            (
                entry.map_or_else(|| own_name.clone(), |e| e.id.clone()),
                ns.clone(),
            )
        });
        let g = groups.entry(key).or_insert_with(|| Group {
            name: entry.map_or_else(|| own_name.clone(), |e| e.name.clone()),
            vendor: entry.map(|e| e.vendor.clone()).unwrap_or_default(),
            entry,
            ..Group::default()
        });
        if is_webhook {
            g.webhooks.insert(name);
        } else {
            g.api_services.insert(name);
        }
    }
}

/// The component a webhook or APIService belongs to: the one in the Service's namespace that
/// runs the Service's workload (by name), else the catalog's product for the object's name (in
/// that namespace, then anywhere: a manifest may leave the Service's namespace out), else the
/// only component in the namespace.
fn owner_of(
    groups: &BTreeMap<GroupKey, Group<'_>>,
    entry: Option<&CatalogEntry>,
    ns: &str,
    service: &str,
) -> Option<GroupKey> {
    let here: Vec<(&GroupKey, &Group<'_>)> = groups.iter().filter(|((_, n), _)| n == ns).collect();
    let by_service = here.iter().find(|((id, _), g)| {
        !service.is_empty()
            && (service.starts_with(id.as_str())
                || g.workloads.iter().any(|w| service.starts_with(&w.name)))
    });
    if let Some((k, _)) = by_service {
        return Some((*k).clone());
    }
    if let Some(e) = entry {
        let in_ns = (e.id.clone(), ns.to_string());
        if groups.contains_key(&in_ns) {
            return Some(in_ns);
        }
        if let Some(k) = groups.keys().find(|(id, _)| *id == e.id) {
            return Some(k.clone());
        }
        return None;
    }
    match here.as_slice() {
        // An unknown namespace (a Service that names none) is nobody's in particular.
        [(only, _)] if !ns.is_empty() && !SHARED_NAMESPACES.contains(&ns) => Some((*only).clone()),
        _ => None,
    }
}

fn component(
    ns: &str,
    owns_namespace: bool,
    g: &Group<'_>,
    index: &RbacIndex,
    privilege: &PrivilegeTable,
) -> Component {
    let mut sas: BTreeSet<String> = g
        .workloads
        .iter()
        // A namespace's `default` ServiceAccount is the namespace's, not the vendor's, unless the
        // vendor owns the namespace.
        .filter(|w| owns_namespace || w.service_account != "default")
        .map(|w| format!("{}/{}", w.namespace, w.service_account))
        .collect();
    for (sns, sname) in &index.service_accounts {
        let bound = !index
            .bindings_of(&SubjectRef::service_account(sns, sname))
            .is_empty();
        let theirs = owns_namespace || g.entry.is_some_and(|e| e.matches_service_account(sname));
        if sns == ns && bound && theirs {
            sas.insert(format!("{sns}/{sname}"));
        }
    }
    let images: BTreeSet<String> = g
        .workloads
        .iter()
        .flat_map(|w| w.images.iter())
        .map(|i| format!("{}*", image_repository(i)))
        .collect();
    let subjects: Vec<SubjectRef> = sas
        .iter()
        .filter_map(|s| s.split_once('/'))
        .map(|(a, b)| SubjectRef::service_account(a, b))
        .collect();
    let (grants, notes) = current_access(&subjects, index, privilege);
    let own: BTreeSet<String> = [ns.to_string()].into();
    let observed = observed_level(&grants, &own);
    Component {
        id: slug(g.entry.map_or(g.name.as_str(), |e| e.id.as_str())),
        name: g.name.clone(),
        vendor: g.vendor.clone(),
        catalog_id: g.entry.map(|e| e.id.clone()),
        namespace: ns.to_string(),
        owns_namespace,
        service_accounts: sas,
        images,
        webhooks: g.webhooks.clone(),
        api_services: g.api_services.clone(),
        observed,
        observed_access: observed_access(observed, privilege.strongest(&subjects)),
        access_notes: notes.into_iter().collect(),
    }
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
    let out = out.trim_matches('-');
    // An id is never empty (a name of symbols only) and never longer than an entry allows.
    let out: String = out.chars().take(50).collect();
    let out = out.trim_end_matches('-');
    if out.is_empty() {
        "component".into()
    } else {
        out.to_string()
    }
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

/// Ids must be unique: the namespace is added where two components share one, then a number.
fn make_ids_unique(out: &mut [Component]) {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for c in out.iter() {
        *seen.entry(c.id.clone()).or_default() += 1;
    }
    for c in out.iter_mut() {
        if seen[&c.id] > 1 && !c.namespace.is_empty() {
            c.id = slug(&format!("{}-{}", c.id, c.namespace));
        }
    }
    let mut taken: BTreeSet<String> = BTreeSet::new();
    for c in out.iter_mut() {
        let base = c.id.clone();
        let mut n = 2;
        while !taken.insert(c.id.clone()) {
            c.id = format!("{base}-{n}");
            n += 1;
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

/// Image patterns more than one component runs: claimed by none, since an identity belongs to
/// one entry.
fn shared_images(components: &[Component]) -> BTreeSet<String> {
    let mut count: BTreeMap<&str, usize> = BTreeMap::new();
    for c in components {
        for i in &c.images {
            *count.entry(i).or_default() += 1;
        }
    }
    count
        .into_iter()
        .filter(|(_, n)| *n > 1)
        .map(|(i, _)| i.to_string())
        .collect()
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
    let shared = shared_images(components);
    let mut entries = String::new();
    let mut left_out = Vec::new();
    for c in components {
        match render_entry(c, &shared) {
            Some(e) => entries.push_str(&e),
            None => left_out.push(c),
        }
    }
    if entries.is_empty() {
        out.push_str("subProcessors: []\n");
    } else {
        out.push_str("subProcessors:\n");
        out.push_str(&entries);
    }
    for c in left_out {
        out.push_str(&format!(
            "# Not listed: {} in namespace {} runs only as the namespace's default ServiceAccount and\n\
             # only images other components run too, so no identity tells it apart; give it its own\n\
             # ServiceAccount, or add an entry by hand.\n",
            one_line(&c.name),
            one_line(&c.namespace)
        ));
    }
    out
}

/// A comment never spans lines, whatever a name holds.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

fn render_entry(c: &Component, shared: &BTreeSet<String>) -> Option<String> {
    let namespaces: BTreeSet<String> = if c.owns_namespace {
        [c.namespace.clone()].into()
    } else {
        BTreeSet::new()
    };
    let images: BTreeSet<String> = c.images.difference(shared).cloned().collect();
    if namespaces.is_empty()
        && c.service_accounts.is_empty()
        && images.is_empty()
        && c.webhooks.is_empty()
        && c.api_services.is_empty()
    {
        return None;
    }
    let mut out = String::new();
    out.push_str(&format!("- id: {}\n", quote(&c.id)));
    out.push_str(&format!("  name: {}\n", quote(&c.name)));
    let vendor = if c.vendor.is_empty() {
        "unknown"
    } else {
        &c.vendor
    };
    out.push_str(&format!("  vendor: {}\n", quote(vendor)));
    out.push_str("  purpose: \"\"\n  owner: \"\"\n  dataCategories: []\n  certifications: []\n");
    out.push_str("  identities:\n");
    list(&mut out, "    ", "namespaces", &namespaces);
    list(&mut out, "    ", "serviceAccounts", &c.service_accounts);
    list(&mut out, "    ", "images", &images);
    list(&mut out, "    ", "webhooks", &c.webhooks);
    list(&mut out, "    ", "apiServices", &c.api_services);
    if !c.namespace.is_empty() && !c.owns_namespace {
        out.push_str(&format!(
            "  # runs in {}, which it shares, so the entry names its identities, not the namespace\n",
            one_line(&c.namespace)
        ));
    }
    out.push_str(&format!(
        "  # observed access: {}\n",
        one_line(&c.observed_access)
    ));
    for n in &c.access_notes {
        out.push_str(&format!("  #   {}\n", one_line(n)));
    }
    out.push_str(&format!(
        "  # review: declare what the contract allows (observed: {})\n",
        describe_declared(&super::model::DeclaredAccess {
            level: Some(c.observed),
            rules: vec![]
        })
    ));
    out.push_str("  declaredAccess:\n    level: none\n");
    Some(out)
}
