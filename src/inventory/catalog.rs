//! The vendor catalog: data, not code, that tells a third party's workloads, webhooks and
//! APIServices from the platform's own components wherever they run. The catalog shipped in
//! `catalog/vendors.yaml` is built in; a user's file in the same format adds entries or replaces
//! shipped ones by id. Every problem in a catalog file is reported at once with its position.

use crate::diag::{Diagnostics, Pos};
use crate::pattern::pattern_matches;
use crate::rbac::SubjectRef;
use crate::snapshot::{Snapshot, Workload};
use crate::yaml::Node;
use crate::yaml::decode::Decoder;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The catalog shipped with the tool.
pub const SHIPPED: &str = include_str!("../../catalog/vendors.yaml");

use crate::API_VERSION;
const KIND: &str = "VendorCatalog";
/// A catalog holds at most this many entries, each list at most this many patterns.
const MAX_ENTRIES: usize = 5_000;
const MAX_PATTERNS: usize = 200;
const MAX_PATTERN_LEN: usize = 256;

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("cannot read the vendor catalog {path}")]
    ReadFile {
        path: String,
        #[source]
        source: crate::input::InputError,
    },
    #[error("invalid vendor catalog:\n{0}")]
    Invalid(Diagnostics),
}

/// Whether an entry is a third party or a part of the platform itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    ThirdParty,
    Platform,
}

/// One product of the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogEntry {
    pub id: String,
    pub name: String,
    /// The vendor's legal name (or the project and its foundation).
    pub vendor: String,
    pub role: Role,
    /// Image patterns in full form (`docker.io/library/nginx*`).
    pub images: Vec<String>,
    pub charts: Vec<String>,
    /// ServiceAccount name patterns, in any namespace.
    pub service_accounts: Vec<String>,
    pub webhooks: Vec<String>,
    pub api_services: Vec<String>,
    /// Where it is usually installed; documentation only.
    pub namespaces: Vec<String>,
    /// Its images also run inside other products' pods (injected proxies, CSI sidecars), so
    /// they say whose a pod is only when nothing else in the pod does.
    pub sidecars: bool,
    /// Where the entry was defined, for messages (`catalog/vendors.yaml:12:3`).
    pub origin: String,
}

impl CatalogEntry {
    pub fn matches_image(&self, image: &str) -> bool {
        let full = normalize_image(image);
        self.images.iter().any(|p| pattern_matches(p, &full))
    }

    pub fn matches_service_account(&self, name: &str) -> bool {
        self.service_accounts
            .iter()
            .any(|p| pattern_matches(p, name))
    }
}

/// An object the catalog can tell the product of, in a cluster or in a vendor's manifests.
#[derive(Debug, Clone, Copy)]
pub enum CatalogObject<'a> {
    /// A controller or pod: by its Helm chart, its ServiceAccount, then its images.
    Workload(&'a Workload),
    /// A ServiceAccount, by its name in any namespace.
    ServiceAccount(&'a str),
    /// A Mutating- or ValidatingWebhookConfiguration, by its name.
    Webhook(&'a str),
    /// An APIService, by its name.
    ApiService(&'a str),
}

/// The catalog in force: the shipped entries, extended or overridden by the user's.
#[derive(Debug, Clone)]
pub struct VendorCatalog {
    entries: Vec<CatalogEntry>,
}

impl VendorCatalog {
    /// The shipped catalog alone.
    pub fn shipped() -> VendorCatalog {
        let entries = parse(SHIPPED, "catalog/vendors.yaml")
            .expect("the shipped vendor catalog is valid (a unit test checks it)");
        VendorCatalog { entries }
    }

    /// The shipped catalog with a user's file added to it; an entry with the id of a shipped one
    /// replaces that one.
    pub fn with_file(path: Option<&Path>) -> Result<VendorCatalog, CatalogError> {
        let mut catalog = VendorCatalog::shipped();
        if let Some(path) = path {
            let text =
                crate::input::read_text(path, crate::input::MAX_WRITTEN_FILE).map_err(|e| {
                    CatalogError::ReadFile {
                        path: path.display().to_string(),
                        source: e,
                    }
                })?;
            catalog.extend(parse(&text, &path.display().to_string())?);
        }
        Ok(catalog)
    }

    pub fn extend(&mut self, extra: Vec<CatalogEntry>) {
        for e in extra {
            match self.entries.iter_mut().find(|x| x.id == e.id) {
                Some(slot) => *slot = e,
                None => self.entries.push(e),
            }
        }
    }

    pub fn entries(&self) -> &[CatalogEntry] {
        &self.entries
    }

    pub fn get(&self, id: &str) -> Option<&CatalogEntry> {
        self.entries.iter().find(|e| e.id == id)
    }

    /// The entry a workload belongs to: by its Helm chart first, then by its ServiceAccount,
    /// then by the entry that claims most of its images (a vendor's pod may carry sidecars
    /// from another project; the chart and the identity say whose pod it is).
    pub fn for_workload(&self, w: &Workload) -> Option<&CatalogEntry> {
        if let Some(chart) = chart_name(w)
            && let Some(e) = self.entries.iter().find(|e| e.charts.contains(&chart))
        {
            return Some(e);
        }
        if let Some(e) = self.for_service_account(&w.service_account) {
            return Some(e);
        }
        self.by_images(&w.images)
    }

    /// The entry that claims most of the images, provided every image is claimed by some entry
    /// (a team's own image beside a vendor's sidecar makes the pod the team's). Sidecar images
    /// are set aside first, and decide only when the pod runs nothing else.
    fn by_images(&self, images: &[String]) -> Option<&CatalogEntry> {
        let is_sidecar = |i: &String| {
            self.entries
                .iter()
                .any(|e| e.sidecars && e.matches_image(i))
        };
        let main: Vec<&String> = images.iter().filter(|i| !is_sidecar(i)).collect();
        let considered: Vec<&String> = if main.is_empty() {
            images.iter().collect()
        } else {
            main
        };
        if considered.is_empty() || !considered.iter().all(|i| self.for_image(i).is_some()) {
            return None;
        }
        let mut best: Option<(&CatalogEntry, usize)> = None;
        for e in &self.entries {
            let n = considered.iter().filter(|i| e.matches_image(i)).count();
            if n > 0 && best.is_none_or(|(_, m)| n > m) {
                best = Some((e, n));
            }
        }
        best.map(|(e, _)| e)
    }

    /// The entry an object belongs to: the one matching function for a cluster's objects
    /// (`inventory discover`) and a vendor's manifests (`vendor review`), so a chart is named
    /// before install as its objects are named once installed.
    pub fn recognise(&self, object: CatalogObject<'_>) -> Option<&CatalogEntry> {
        match object {
            CatalogObject::Workload(w) => self.for_workload(w),
            CatalogObject::ServiceAccount(name) => self.for_service_account(name),
            CatalogObject::Webhook(name) => self.for_webhook(name),
            CatalogObject::ApiService(name) => self.for_api_service(name),
        }
    }

    /// The product a set of objects (a chart's manifests) is, with the identities they bind or
    /// run as: the entry recognised by the most objects of the strongest kind of evidence —
    /// workloads, then ServiceAccounts (defined, run as, or named in a binding), then webhook
    /// configurations, then APIServices (whose names several products serve) — the catalog's
    /// order breaking ties.
    pub fn product_of(
        &self,
        objects: &Snapshot,
        subjects: &BTreeSet<SubjectRef>,
    ) -> Option<&CatalogEntry> {
        let service_accounts: BTreeSet<&str> = objects
            .service_accounts
            .iter()
            .map(|s| s.metadata.name.as_str())
            .chain(subjects.iter().filter_map(|s| match s {
                SubjectRef::ServiceAccount { name, .. } => Some(name.as_str()),
                _ => None,
            }))
            .collect();
        let tiers: [Vec<CatalogObject<'_>>; 4] = [
            objects
                .workloads
                .iter()
                .map(CatalogObject::Workload)
                .collect(),
            service_accounts
                .into_iter()
                .map(CatalogObject::ServiceAccount)
                .collect(),
            objects
                .mutating_webhook_configurations
                .iter()
                .chain(&objects.validating_webhook_configurations)
                .map(|w| CatalogObject::Webhook(&w.metadata.name))
                .collect(),
            objects
                .api_services
                .iter()
                .map(|a| CatalogObject::ApiService(&a.metadata.name))
                .collect(),
        ];
        for tier in tiers {
            let mut votes: BTreeMap<usize, usize> = BTreeMap::new();
            for o in tier {
                if let Some(i) = self
                    .recognise(o)
                    .and_then(|e| self.entries.iter().position(|x| x.id == e.id))
                {
                    *votes.entry(i).or_default() += 1;
                }
            }
            // The most votes; among equals, the entry first in the catalog.
            if let Some((i, _)) = votes
                .into_iter()
                .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(&a.0)))
            {
                return Some(&self.entries[i]);
            }
        }
        None
    }

    /// The entry whose ServiceAccount patterns match `name` (a namespace's `default` is
    /// nobody's in particular).
    pub fn for_service_account(&self, name: &str) -> Option<&CatalogEntry> {
        if name == "default" {
            return None;
        }
        self.entries
            .iter()
            .find(|e| e.matches_service_account(name))
    }

    pub fn for_webhook(&self, name: &str) -> Option<&CatalogEntry> {
        self.entries
            .iter()
            .find(|e| e.webhooks.iter().any(|p| pattern_matches(p, name)))
    }

    pub fn for_api_service(&self, name: &str) -> Option<&CatalogEntry> {
        self.entries
            .iter()
            .find(|e| e.api_services.iter().any(|p| pattern_matches(p, name)))
    }

    pub fn for_image(&self, image: &str) -> Option<&CatalogEntry> {
        self.entries.iter().find(|e| e.matches_image(image))
    }
}

/// The chart a workload was installed from: the `helm.sh/chart` label without its version
/// (`name-1.2.3`: everything before the last `-<digit>` or `-v` segment).
pub fn chart_name(w: &Workload) -> Option<String> {
    let chart = w.labels.get("helm.sh/chart")?;
    let name = match chart.rfind('-') {
        Some(i) if chart[i + 1..].starts_with(|c: char| c.is_ascii_digit() || c == 'v') => {
            &chart[..i]
        }
        _ => chart.as_str(),
    };
    Some(name.to_string())
}

/// An image reference in the full form the catalog's patterns use: registry included
/// (`docker.io` when none is written, `library/` for an official image), tag and digest removed.
pub fn normalize_image(image: &str) -> String {
    let repo = image_repository(image);
    let first = repo.split('/').next().unwrap_or_default();
    let has_registry =
        repo.contains('/') && (first.contains('.') || first.contains(':') || first == "localhost");
    if has_registry {
        repo.to_string()
    } else if repo.contains('/') {
        format!("docker.io/{repo}")
    } else {
        format!("docker.io/library/{repo}")
    }
}

/// The repository part of an image reference: without `@digest` and without `:tag` (a `:` in
/// the registry's host:port is kept).
pub fn image_repository(image: &str) -> &str {
    let without_digest = image.split('@').next().unwrap_or(image);
    match without_digest.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => repo,
        _ => without_digest,
    }
}

/// Parses and validates a catalog file's entries; `origin` names it in messages.
pub fn parse(text: &str, origin: &str) -> Result<Vec<CatalogEntry>, CatalogError> {
    let mut d = Decoder::new(origin);
    let Some(root) = d.single_document(
        text,
        "the vendor catalog is empty",
        "a vendor catalog holds one YAML document",
    ) else {
        return Err(CatalogError::Invalid(d.diags));
    };
    let entries = decode_catalog(&root, &mut d, origin);
    if d.diags.is_empty() {
        Ok(entries)
    } else {
        Err(CatalogError::Invalid(d.diags))
    }
}

fn decode_catalog(root: &Node, d: &mut Decoder, origin: &str) -> Vec<CatalogEntry> {
    let Some(mut f) = d.map(root, "") else {
        return Vec::new();
    };
    for (key, expected) in [("apiVersion", API_VERSION), ("kind", KIND)] {
        if let Some(v) = f.required(d, key).and_then(|n| d.string(n, key))
            && v != expected
        {
            d.error(
                f.key_pos(key),
                format!("`{key}` must be `{expected}`, found `{v}`"),
            );
        }
    }
    let mut entries: Vec<CatalogEntry> = Vec::new();
    if let Some(items) = f.required(d, "vendors").and_then(|n| d.seq(n, "vendors")) {
        if items.len() > MAX_ENTRIES {
            d.error(
                root.pos,
                format!(
                    "{} entries; a catalog holds at most {MAX_ENTRIES}",
                    items.len()
                ),
            );
        }
        let mut seen = BTreeSet::new();
        for item in items.iter().take(MAX_ENTRIES) {
            if let Some(e) = decode_entry(item, d, origin) {
                if !seen.insert(e.id.clone()) {
                    d.error(item.pos, format!("duplicate catalog id `{}`", e.id));
                }
                entries.push(e);
            }
        }
    }
    f.finish(d);
    entries
}

fn decode_entry(item: &Node, d: &mut Decoder, origin: &str) -> Option<CatalogEntry> {
    let mut f = d.map(item, "vendors[]")?;
    let id = f
        .required(d, "id")
        .and_then(|n| d.lowercase_id(n, "id", Some(63)));
    let name = f
        .required(d, "name")
        .and_then(|n| d.nonempty_string(n, "name"));
    let vendor = f
        .required(d, "vendor")
        .and_then(|n| d.nonempty_string(n, "vendor"));
    let role = f
        .required(d, "role")
        .and_then(|n| d.one_of(n, "role", &["third-party", "platform"]));
    let mut list = |key: &'static str| -> Vec<String> {
        let Some(node) = f.optional(key) else {
            return Vec::new();
        };
        let values = d.string_list(node, key).unwrap_or_default();
        if values.len() > MAX_PATTERNS {
            d.error(node.pos, format!("`{key}`: at most {MAX_PATTERNS} items"));
        }
        for (v, n) in values.iter().zip(node.as_seq().unwrap_or_default()) {
            if v.is_empty() || v.len() > MAX_PATTERN_LEN {
                d.error(
                    n.pos,
                    format!("`{key}`: items are 1 to {MAX_PATTERN_LEN} characters"),
                );
            }
        }
        values
    };
    let images = list("images");
    let charts = list("charts");
    let service_accounts = list("serviceAccounts");
    let webhooks = list("webhooks");
    let api_services = list("apiServices");
    let namespaces = list("namespaces");
    let sidecars = f
        .optional("sidecars")
        .and_then(|n| d.bool(n, "sidecars"))
        .unwrap_or(false);
    f.finish(d);
    if images.is_empty()
        && charts.is_empty()
        && service_accounts.is_empty()
        && webhooks.is_empty()
        && api_services.is_empty()
    {
        d.error(
            item.pos,
            "the entry recognises nothing: give images, charts, serviceAccounts, webhooks or apiServices",
        );
    }
    let image_nodes = item
        .get("images")
        .and_then(Node::as_seq)
        .unwrap_or_default();
    for (p, n) in images.iter().zip(image_nodes) {
        if !p.contains('/') {
            d.error(
                n.pos,
                format!(
                    "image pattern `{p}` needs its registry and repository (`docker.io/library/{p}`)"
                ),
            );
        }
    }
    Some(CatalogEntry {
        id: id?,
        name: name?,
        vendor: vendor?,
        role: if role? == "platform" {
            Role::Platform
        } else {
            Role::ThirdParty
        },
        images,
        charts,
        service_accounts,
        webhooks,
        api_services,
        namespaces,
        sidecars,
        origin: position(origin, item.pos),
    })
}

fn position(origin: &str, pos: Pos) -> String {
    format!("{origin}:{}:{}", pos.line, pos.col)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_catalog_is_valid_and_covers_at_least_forty_third_parties() {
        let entries = parse(SHIPPED, "catalog/vendors.yaml").unwrap_or_else(|e| panic!("{e}"));
        let third = entries
            .iter()
            .filter(|e| e.role == Role::ThirdParty)
            .count();
        assert!(third >= 40, "{third} third parties");
        assert!(entries.iter().any(|e| e.role == Role::Platform));
    }

    #[test]
    fn images_are_matched_in_full_form() {
        assert_eq!(
            normalize_image("datadog/agent:7"),
            "docker.io/datadog/agent"
        );
        assert_eq!(normalize_image("nginx"), "docker.io/library/nginx");
        assert_eq!(
            normalize_image("registry:5000/team/app:1@sha256:ab"),
            "registry:5000/team/app"
        );
        assert_eq!(normalize_image("localhost/x/y:latest"), "localhost/x/y");
        let c = VendorCatalog::shipped();
        assert_eq!(c.for_image("datadog/agent:7").unwrap().id, "datadog");
        assert_eq!(
            c.for_image("registry.k8s.io/kube-proxy:v1.35.0")
                .unwrap()
                .role,
            Role::Platform
        );
    }

    #[test]
    fn every_problem_is_reported_with_its_position() {
        let text = "apiVersion: kube-evidence.io/v1\nkind: VendorCatalog\nvendors:\n- id: Bad_Id\n  name: x\n  vendor: y\n  role: vendor\n- id: ok\n  name: x\n  vendor: y\n  role: platform\n  images: [nginx]\n  colour: red\n- id: ok\n  name: x\n  vendor: y\n  role: platform\n";
        let Err(CatalogError::Invalid(d)) = parse(text, "c.yaml") else {
            panic!("accepted")
        };
        let shown = d.to_string();
        for expected in [
            "c.yaml:4:7",
            "unknown value `vendor`",
            "needs its registry",
            "colour",
            "duplicate catalog id `ok`",
            "recognises nothing",
        ] {
            assert!(shown.contains(expected), "{expected}\n{shown}");
        }
    }

    #[test]
    fn a_user_entry_replaces_the_shipped_one_with_its_id() {
        let mut c = VendorCatalog::shipped();
        let n = c.entries().len();
        c.extend(
            parse(
                "apiVersion: kube-evidence.io/v1\nkind: VendorCatalog\nvendors:\n- {id: datadog, name: DD, vendor: Datadog SAS, role: third-party, images: [\"example.com/dd/*\"]}\n- {id: acme, name: Acme agent, vendor: Acme Ltd, role: third-party, charts: [acme]}\n",
                "mine.yaml",
            )
            .unwrap(),
        );
        assert_eq!(c.entries().len(), n + 1);
        assert_eq!(c.get("datadog").unwrap().vendor, "Datadog SAS");
        assert!(c.for_image("gcr.io/datadoghq/agent:7").is_none());
    }

    /// A chart's manifests are named by the function that names a cluster's objects: a
    /// ServiceAccount named only in a binding counts as one defined, a workload's chart first,
    /// and an APIService's name only when nothing stronger speaks.
    #[test]
    fn a_vendor_is_recognised_in_manifests_as_in_a_cluster() {
        let c = VendorCatalog::shipped();
        let empty = Snapshot::empty(
            crate::snapshot::ClusterInfo {
                name: "c".into(),
                id: None,
                server_version: None,
            },
            chrono::DateTime::from_timestamp(0, 0).unwrap(),
            "t".into(),
        );
        let bound: BTreeSet<SubjectRef> = [SubjectRef::service_account(
            "argocd",
            "argocd-application-controller",
        )]
        .into();
        assert_eq!(c.product_of(&empty, &bound).unwrap().id, "argo-cd");
        assert_eq!(
            c.recognise(CatalogObject::ServiceAccount("argocd-server"))
                .unwrap()
                .id,
            "argo-cd"
        );
        assert!(c.for_service_account("default").is_none());
        // The APIService name several products register gives way to the ServiceAccount.
        let mut with_api = empty.clone();
        with_api.api_services.push(crate::snapshot::ApiService {
            metadata: crate::snapshot::ObjectMeta::named("v1beta1.metrics.k8s.io"),
            group: "metrics.k8s.io".into(),
            version: "v1beta1".into(),
            service: Some("monitoring/prometheus-adapter".into()),
            insecure_skip_tls_verify: false,
        });
        assert_eq!(
            c.product_of(&with_api, &BTreeSet::new()).unwrap().id,
            "metrics-server"
        );
        let adapter: BTreeSet<SubjectRef> = [SubjectRef::service_account(
            "monitoring",
            "prometheus-adapter",
        )]
        .into();
        assert_eq!(
            c.product_of(&with_api, &adapter).unwrap().id,
            "prometheus-adapter"
        );
    }
}
