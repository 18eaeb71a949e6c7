//! The live source: every kind the snapshot needs, listed from the API server.
//!
//! Lists are paginated (`limit` and `continue`), kinds are listed a few at a time in parallel, a
//! page that fails with 410 Gone restarts that kind's list from the beginning so the kind stays
//! consistent, throttling (429), 5xx answers and dropped connections are retried with exponential
//! backoff and jitter within a bounded time, and every request has a timeout. A kind the collector
//! may not list (403) or that keeps failing is recorded as forbidden or failed, never silently
//! left out. Secrets are not read at all unless asked for; then only the metadata of
//! ServiceAccount token Secrets is requested (PartialObjectMetadata, field selector on the type).
//! Objects are reduced to what the snapshot keeps as each page arrives.

use super::objects::SnapshotBuilder;
use super::{CollectContext, Source, SourceError};
use crate::snapshot::{CollectionStatus, CollectorIdentity, ResourceKind, Snapshot};
use async_trait::async_trait;
use futures::StreamExt;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// How to reach the cluster and what to read, validated.
#[derive(Debug, Clone)]
pub struct ClusterOptions {
    /// A kubeconfig file; without one, in-cluster configuration, then `KUBECONFIG`, then
    /// `~/.kube/config`.
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
    /// List the metadata of ServiceAccount token Secrets (needs `list` on secrets).
    pub collect_token_secrets: bool,
    /// Objects per page.
    pub page_size: u32,
    /// Bound on one HTTP request.
    pub request_timeout: Duration,
    /// Bound on the retries of one page (transient errors only).
    pub retry_budget: Duration,
    /// Kinds listed at the same time.
    pub parallel_kinds: usize,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        ClusterOptions {
            kubeconfig: None,
            context: None,
            collect_token_secrets: false,
            page_size: 1000,
            request_timeout: Duration::from_secs(30),
            retry_budget: Duration::from_secs(60),
            parallel_kinds: 4,
        }
    }
}

/// Why the Secret kind is not read by default, as the report states it.
pub const SECRETS_SKIPPED: &str = "not read: legacy ServiceAccount token Secrets are only listed with --collect-token-secrets, which needs list on secrets (RBAC cannot restrict that to metadata)";

const SA_TOKEN_TYPE: &str = "kubernetes.io/service-account-token";

/// Objects per page when a query lists only RBAC objects.
const QUERY_PAGE_SIZE: u32 = 5000;

pub struct ClusterSource {
    client: kube::Client,
    server: String,
    options: ClusterOptions,
    /// Since when requests have been failing transiently, shared by all kinds: once the server
    /// has been unreachable for the retry budget, every list gives up instead of each kind
    /// waiting out a budget of its own.
    outage: std::sync::Mutex<Option<std::time::Instant>>,
}

impl ClusterSource {
    /// Builds the client from the options; nothing is requested yet.
    pub async fn connect(options: ClusterOptions) -> Result<ClusterSource, SourceError> {
        crate::tls::ensure_crypto_provider();
        let mut config = load_config(&options).await?;
        check_server_identity(&config)?;
        config.read_timeout = Some(options.request_timeout);
        config.write_timeout = Some(options.request_timeout);
        config.connect_timeout = Some(Duration::from_secs(10));
        let server = config.cluster_url.to_string();
        let client = kube::Client::try_from(config).map_err(|source| SourceError::Client {
            server: server.clone(),
            source,
        })?;
        Ok(ClusterSource {
            client,
            server,
            options,
            outage: std::sync::Mutex::new(None),
        })
    }
}

/// Everything a pack says of the cluster is anchored in the API server's TLS identity: a
/// configuration that does not check it (`insecure-skip-tls-verify`, or plain HTTP beyond this
/// machine, where `kubectl proxy` may listen) would let whoever sits on the path write the
/// evidence, so it is refused rather than recorded.
fn check_server_identity(config: &kube::Config) -> Result<(), SourceError> {
    let server = &config.cluster_url;
    if config.accept_invalid_certs {
        return Err(SourceError::Cluster(format!(
            "the cluster configuration for {server} sets insecure-skip-tls-verify: the API server's certificate would not be checked, so whoever can intercept the connection could write the evidence; give the cluster's CA (certificate-authority or certificate-authority-data) instead"
        )));
    }
    let loopback = match server.host() {
        Some(host) => {
            let host = host.trim_start_matches('[').trim_end_matches(']');
            host == "localhost"
                || host
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        }
        None => false,
    };
    if server.scheme_str() != Some("https") && !loopback {
        return Err(SourceError::Cluster(format!(
            "the cluster configuration names {server}, which is not HTTPS: the API server's identity could not be checked; use its https:// address (plain HTTP is accepted only on this machine, as kubectl proxy serves it)"
        )));
    }
    Ok(())
}

async fn load_config(options: &ClusterOptions) -> Result<kube::Config, SourceError> {
    let kube_options = kube::config::KubeConfigOptions {
        context: options.context.clone(),
        ..Default::default()
    };
    if let Some(path) = &options.kubeconfig {
        let kubeconfig = |source| SourceError::Kubeconfig {
            path: path.display().to_string(),
            source,
        };
        let file = kube::config::Kubeconfig::read_from(path).map_err(kubeconfig)?;
        return kube::Config::from_custom_kubeconfig(file, &kube_options)
            .await
            .map_err(kubeconfig);
    }
    if options.context.is_none() && std::env::var_os("KUBERNETES_SERVICE_HOST").is_some() {
        return kube::Config::incluster().map_err(|source| SourceError::InCluster { source });
    }
    kube::Config::from_kubeconfig(&kube_options)
        .await
        .map_err(|source| SourceError::NoConfiguration { source })
}

/// One request's failure, classified.
#[derive(Debug)]
enum Failure {
    /// 403: not allowed.
    Forbidden(String),
    /// 404: the object (a namespace, a ConfigMap) does not exist.
    NotFound(String),
    /// 410: the continue token expired; the list must restart.
    Gone,
    /// Worth retrying: 429, 5xx, timeouts, connection errors.
    Transient(String),
    /// Anything else.
    Permanent(String),
}

/// A TLS failure somewhere in the error's causes (the server's certificate not signed by the
/// configured CA, a name it does not hold): no retry changes that, and the operator must hear
/// it is about the certificate, not a "connection" that failed.
fn tls_failure(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        if let Some(tls) = c.downcast_ref::<rustls::Error>() {
            return Some(tls.to_string());
        }
        // An io::Error's `source` skips the error it wraps; the wrapped one is the next cause.
        cause = match c.downcast_ref::<std::io::Error>() {
            Some(io) => io
                .get_ref()
                .map(|inner| inner as &(dyn std::error::Error + 'static)),
            None => c.source(),
        };
    }
    None
}

fn classify(e: kube::Error) -> Failure {
    if let Some(tls) = tls_failure(&e) {
        return Failure::Permanent(format!(
            "the API server's TLS identity was not accepted ({tls}): check the cluster's CA (certificate-authority) and the server name in the configuration"
        ));
    }
    match e {
        kube::Error::Api(status) => {
            let text = format!("HTTP {} {}: {}", status.code, status.reason, status.message);
            match status.code {
                403 => Failure::Forbidden(text),
                404 => Failure::NotFound(text),
                410 => Failure::Gone,
                429 | 500..=599 => Failure::Transient(text),
                _ => Failure::Permanent(text),
            }
        }
        kube::Error::HyperError(e) => Failure::Transient(format!("connection failed: {e}")),
        kube::Error::Service(e) => Failure::Transient(format!("request failed: {e}")),
        other => Failure::Permanent(other.to_string()),
    }
}

/// A small pseudo-random jitter without a dependency: the clock's nanoseconds.
fn jitter(max: Duration) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    max.mul_f64(f64::from(nanos % 1000) / 1000.0)
}

impl ClusterSource {
    /// One GET, retried on transient failures within the retry budget, parsed as JSON.
    async fn get_json(&self, path_and_query: &str, accept: Option<&str>) -> Result<Value, Failure> {
        let text = self.get_text(path_and_query, accept).await?;
        serde_json::from_str(&text)
            .map_err(|e| Failure::Permanent(format!("{path_and_query}: not JSON: {e}")))
    }

    /// One GET, retried on transient failures within the retry budget; the body as text.
    async fn get_text(
        &self,
        path_and_query: &str,
        accept: Option<&str>,
    ) -> Result<String, Failure> {
        let mut backoff = Duration::from_millis(250);
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            let mut request = http::Request::get(path_and_query);
            if let Some(a) = accept {
                request = request.header(http::header::ACCEPT, a);
            }
            let request = request
                .body(Vec::new())
                .map_err(|e| Failure::Permanent(format!("bad request {path_and_query}: {e}")))?;
            match self.client.request_text(request).await.map_err(classify) {
                Ok(v) => {
                    if let Ok(mut o) = self.outage.lock() {
                        *o = None;
                    }
                    return Ok(v);
                }
                Err(Failure::Transient(m)) => {
                    let failing_for = self
                        .outage
                        .lock()
                        .map(|mut o| o.get_or_insert_with(std::time::Instant::now).elapsed())
                        .unwrap_or_default();
                    if failing_for + backoff > self.options.retry_budget {
                        return Err(Failure::Transient(format!(
                            "{m} (gave up after {attempts} attempt(s); the API server has been failing for {} s)",
                            failing_for.as_secs()
                        )));
                    }
                    tracing::debug!(path = path_and_query, error = %m, "retrying");
                    tokio::time::sleep(backoff + jitter(backoff / 2)).await;
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                }
                Err(other) => return Err(other),
            }
        }
    }

    /// Every object of one kind, projected into the builder page by page as it arrives (no
    /// page is kept once read). A 410 Gone on a later page restarts the list, forgetting what
    /// was read of the kind (a kind is never a mixture of two points in time); twice is enough
    /// to give up.
    async fn list_kind(
        &self,
        kind: ResourceKind,
        base: &str,
        page_size: u32,
        builder: &std::sync::Mutex<SnapshotBuilder>,
    ) -> Result<(), Failure> {
        #[derive(serde::Deserialize)]
        struct Page<'a> {
            #[serde(borrow, default)]
            items: Option<Vec<&'a serde_json::value::RawValue>>,
            #[serde(default)]
            metadata: PageMeta,
        }
        #[derive(serde::Deserialize, Default)]
        struct PageMeta {
            #[serde(rename = "continue", default)]
            token: Option<String>,
        }
        let mut restarts = 0;
        'list: loop {
            let mut token: Option<String> = None;
            loop {
                let mut query = vec![format!("limit={page_size}")];
                if kind == ResourceKind::Secret {
                    query.push(format!(
                        "fieldSelector=type%3D{}",
                        SA_TOKEN_TYPE.replace('/', "%2F")
                    ));
                }
                if let Some(t) = &token {
                    query.push(format!("continue={}", urlencode(t)));
                }
                let url = format!("{base}?{}", query.join("&"));
                // Secrets: metadata only, so no Secret data is ever on the wire.
                let accept = (kind == ResourceKind::Secret)
                    .then_some("application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1");
                let text = match self.get_text(&url, accept).await {
                    Ok(t) => t,
                    Err(Failure::Gone) if restarts < 2 => {
                        restarts += 1;
                        tracing::info!(kind = %kind, "list continuation expired (410 Gone); restarting the list");
                        builder.lock().expect("not poisoned").clear_kind(kind);
                        continue 'list;
                    }
                    Err(e) => return Err(e),
                };
                let page: Page<'_> = serde_json::from_str(&text)
                    .map_err(|e| Failure::Permanent(format!("{url}: not a list: {e}")))?;
                {
                    let mut b = builder.lock().expect("not poisoned");
                    for item in page.items.unwrap_or_default() {
                        // Most kinds are projected straight from the page's text; a Secret and
                        // a Pod are reduced first, so nothing else of them is ever held.
                        let added = match kind {
                            ResourceKind::Secret | ResourceKind::Pod => {
                                serde_json::from_str(item.get())
                                    .map_err(|e| super::objects::ObjectError {
                                        path: Vec::new(),
                                        message: e.to_string(),
                                    })
                                    .and_then(|v| b.add(kind, reduce(kind, v)))
                            }
                            _ => b.add_json(kind, item.get()),
                        };
                        if let Err(e) = added {
                            // The API server's own objects are well-formed; one that is not is
                            // recorded against its kind rather than dropped.
                            b.mark_incomplete(
                                kind,
                                CollectionStatus::Failed,
                                format!("an object could not be read: {}", e.message),
                            );
                        }
                    }
                }
                token = page.metadata.token.filter(|t| !t.is_empty());
                if token.is_none() {
                    return Ok(());
                }
            }
        }
    }

    /// Lists the given kinds at the given paths, a few at a time, into the builder: what could
    /// not be listed is marked forbidden or failed, never left out silently.
    async fn list_into(
        &self,
        builder: SnapshotBuilder,
        lists: Vec<(ResourceKind, String)>,
        page_size: u32,
        parallel: usize,
        ctx: &CollectContext<'_>,
    ) -> SnapshotBuilder {
        let total = lists.len() as u64;
        let shared = std::sync::Mutex::new(builder);
        let mut listings = Vec::with_capacity(lists.len());
        for (kind, path) in lists {
            let shared = &shared;
            let listing: std::pin::Pin<Box<dyn std::future::Future<Output = _> + Send + '_>> =
                Box::pin(
                    async move { (kind, self.list_kind(kind, &path, page_size, shared).await) },
                );
            listings.push(listing);
        }
        let mut done = 0u64;
        let mut results = BTreeMap::new();
        let mut stream = futures::stream::iter(listings).buffer_unordered(parallel.max(1));
        while let Some((kind, result)) = stream.next().await {
            done += 1;
            ctx.progress.advance(done, total);
            results.insert(kind, result);
        }
        drop(stream);
        let mut builder = shared.into_inner().expect("not poisoned");
        for (kind, result) in results {
            match result {
                Ok(()) => builder.mark_listed(kind),
                Err(f) => {
                    let status = match f {
                        Failure::Forbidden(_) => CollectionStatus::Forbidden,
                        _ => CollectionStatus::Failed,
                    };
                    let message = match &f {
                        Failure::Forbidden(m) => format!(
                            "the collector may not list {} ({m}); grant get and list on {} in group `{}`",
                            kind.plural(),
                            kind.plural(),
                            kind.api_group()
                        ),
                        other => failure_text(other),
                    };
                    tracing::warn!(kind = %kind, status = status.as_str(), %message, "kind not collected");
                    // A kind that failed part-way holds none of what was read of it.
                    builder.clear_kind(kind);
                    builder.mark_incomplete(kind, status, message);
                }
            }
        }
        builder
    }

    async fn identity(&self) -> Option<CollectorIdentity> {
        let body = serde_json::json!({
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "SelfSubjectReview",
        });
        let request = http::Request::post("/apis/authentication.k8s.io/v1/selfsubjectreviews")
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(serde_json::to_vec(&body).ok()?)
            .ok()?;
        match self.client.request::<Value>(request).await {
            Ok(v) => {
                let user = v.pointer("/status/userInfo")?;
                let mut groups: Vec<String> = user
                    .get("groups")
                    .and_then(Value::as_array)
                    .map(|g| {
                        g.iter()
                            .filter_map(|s| s.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default();
                groups.sort();
                Some(CollectorIdentity {
                    username: user.get("username")?.as_str()?.to_string(),
                    uid: user
                        .get("uid")
                        .and_then(Value::as_str)
                        .filter(|u| !u.is_empty())
                        .map(str::to_string),
                    groups,
                })
            }
            Err(e) => {
                tracing::warn!(error = %e, "SelfSubjectReview failed; the collector's identity is not recorded");
                None
            }
        }
    }
}

fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The URL path listing a kind across all namespaces.
pub fn list_path(kind: ResourceKind) -> String {
    // Every kind the snapshot reads is served at v1 of its group.
    match kind.api_group() {
        "" => format!("/api/v1/{}", kind.plural()),
        group => format!("/apis/{group}/v1/{}", kind.plural()),
    }
}

/// `[{image, imageID}]` of a Pod status's containers.
fn container_images(status: Option<&Value>) -> Value {
    let statuses = status
        .and_then(|st| st.get("containerStatuses"))
        .and_then(Value::as_array);
    match statuses {
        Some(cs) => Value::Array(
            cs.iter()
                .map(|c| serde_json::json!({"image": c.get("image"), "imageID": c.get("imageID")}))
                .collect(),
        ),
        None => Value::Null,
    }
}

/// Drops what the snapshot never keeps before an object is held in memory: server bookkeeping
/// (`managedFields`), `status` but its phase, and for pods everything but identity, owner,
/// labels, ServiceAccount, images and phase.
fn reduce(kind: ResourceKind, mut object: Value) -> Value {
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
    }
    // Of all statuses the snapshot keeps one field: the phase of a Namespace (Terminating
    // matters) and of a Pod (a finished pod runs nothing anyone could exec into).
    // A Pod also keeps, per running container, the image and the digest the node resolved it
    // to: the evidence of which build of a vendor's software runs.
    let mut phase = None;
    let mut running = Value::Null;
    if let Some(map) = object.as_object_mut() {
        let status = map.remove("status");
        phase = status
            .as_ref()
            .and_then(|st| st.get("phase").cloned())
            .filter(|_| matches!(kind, ResourceKind::Namespace | ResourceKind::Pod));
        if kind == ResourceKind::Pod {
            running = container_images(status.as_ref());
        }
        if let Some(phase) = &phase {
            map.insert("status".into(), serde_json::json!({ "phase": phase }));
        }
    }
    match kind {
        ResourceKind::Pod => {
            let meta = object.get("metadata").cloned().unwrap_or(Value::Null);
            let spec = object.get("spec").cloned().unwrap_or(Value::Null);
            let images = |field: &str| -> Value {
                Value::Array(
                    spec.get(field)
                        .and_then(Value::as_array)
                        .map(|cs| {
                            cs.iter()
                                .map(|c| serde_json::json!({"image": c.get("image").cloned().unwrap_or(Value::Null)}))
                                .collect()
                        })
                        .unwrap_or_default(),
                )
            };
            serde_json::json!({
                "metadata": {
                    "name": meta.get("name"),
                    "namespace": meta.get("namespace"),
                    "uid": meta.get("uid"),
                    "labels": meta.get("labels"),
                    "ownerReferences": meta.get("ownerReferences"),
                },
                "spec": {
                    "serviceAccountName": spec.get("serviceAccountName"),
                    "serviceAccount": spec.get("serviceAccount"),
                    "automountServiceAccountToken": spec.get("automountServiceAccountToken"),
                    "containers": images("containers"),
                    "initContainers": images("initContainers"),
                    "ephemeralContainers": images("ephemeralContainers"),
                },
                "status": if running.is_null() {
                    serde_json::json!({"phase": phase})
                } else {
                    serde_json::json!({"phase": phase, "containerStatuses": running})
                },
            })
        }
        // PartialObjectMetadata carries no type; the field selector guaranteed it.
        ResourceKind::Secret => {
            if let Some(map) = object.as_object_mut() {
                map.remove("data");
                map.remove("stringData");
                map.insert("type".into(), Value::String(SA_TOKEN_TYPE.into()));
            }
            object
        }
        _ => object,
    }
}

#[async_trait]
impl Source for ClusterSource {
    fn describe(&self) -> String {
        format!("cluster:{}", self.server.trim_end_matches('/'))
    }

    async fn collect(&self, ctx: &CollectContext<'_>) -> Result<Snapshot, SourceError> {
        // The first request says whether the server is there at all; if it is not, nothing
        // about the cluster can be asserted and the run fails rather than publish an empty pack.
        let version = self.get_json("/version", None).await.map_err(|f| {
            SourceError::Cluster(format!(
                "cannot reach the API server at {}: {}",
                self.server,
                failure_text(&f)
            ))
        })?;
        let mut builder = SnapshotBuilder::new(ctx.cluster_name, ctx.taken_at, self.describe());
        builder.set_server_version(
            version
                .get("gitVersion")
                .and_then(Value::as_str)
                .map(str::to_string),
        );
        builder.set_identity(self.identity().await);

        let lists: Vec<(ResourceKind, String)> = ResourceKind::ALL
            .into_iter()
            .filter(|k| *k != ResourceKind::Secret || self.options.collect_token_secrets)
            .map(|k| (k, list_path(k)))
            .collect();
        let mut builder = self
            .list_into(
                builder,
                lists,
                self.options.page_size,
                self.options.parallel_kinds,
                ctx,
            )
            .await;
        if !self.options.collect_token_secrets {
            builder.mark_incomplete(
                ResourceKind::Secret,
                CollectionStatus::Skipped,
                SECRETS_SKIPPED.to_string(),
            );
        }
        Ok(builder.finish())
    }

    /// Only what a who-can question needs: every ClusterRole and ClusterRoleBinding, and the
    /// namespace's Roles and RoleBindings (all of them without a namespace), and the namespace.
    async fn collect_rbac(
        &self,
        ctx: &CollectContext<'_>,
        namespace: Option<&str>,
    ) -> Result<Snapshot, SourceError> {
        let builder = SnapshotBuilder::new(ctx.cluster_name, ctx.taken_at, self.describe());
        let rbac = "/apis/rbac.authorization.k8s.io/v1";
        let mut lists = vec![
            (
                ResourceKind::ClusterRole,
                list_path(ResourceKind::ClusterRole),
            ),
            (
                ResourceKind::ClusterRoleBinding,
                list_path(ResourceKind::ClusterRoleBinding),
            ),
        ];
        let ns = namespace.map(urlencode);
        match &ns {
            Some(ns) => {
                lists.push((ResourceKind::Role, format!("{rbac}/namespaces/{ns}/roles")));
                lists.push((
                    ResourceKind::RoleBinding,
                    format!("{rbac}/namespaces/{ns}/rolebindings"),
                ));
            }
            None => {
                for kind in [
                    ResourceKind::Role,
                    ResourceKind::RoleBinding,
                    ResourceKind::Namespace,
                ] {
                    lists.push((kind, list_path(kind)));
                }
            }
        }
        // The namespace is looked up while the lists are read: one round trip, not two.
        let namespace_lookup = async {
            match &ns {
                Some(ns) => match self
                    .get_json(&format!("/api/v1/namespaces/{ns}"), None)
                    .await
                {
                    Ok(object) => Ok(Some(object)),
                    Err(Failure::NotFound(_)) => Ok(None),
                    Err(f) => Err(f),
                },
                None => Ok(None),
            }
        };
        // RBAC objects are small: a question's lists come in one page each, all at once.
        let page_size = self.options.page_size.max(QUERY_PAGE_SIZE);
        let lists_parallel = lists.len();
        let (mut builder, found) = futures::join!(
            self.list_into(builder, lists, page_size, lists_parallel, ctx),
            namespace_lookup
        );
        match found {
            Ok(Some(object)) => {
                let _ = builder.add(
                    ResourceKind::Namespace,
                    reduce(ResourceKind::Namespace, object),
                );
            }
            Ok(None) => {}
            Err(f) => {
                return Err(SourceError::Cluster(format!(
                    "cannot reach the API server at {}: {}",
                    self.server,
                    failure_text(&f)
                )));
            }
        }
        Ok(builder.finish())
    }

    async fn config_map(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Option<BTreeMap<String, String>>, SourceError> {
        let path = format!("/api/v1/namespaces/{namespace}/configmaps/{name}");
        match self.get_json(&path, None).await {
            Ok(v) => Ok(Some(
                v.get("data")
                    .and_then(Value::as_object)
                    .map(|m| {
                        m.iter()
                            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                            .collect()
                    })
                    .unwrap_or_default(),
            )),
            Err(Failure::NotFound(_)) => Ok(None),
            Err(f) => Err(SourceError::Cluster(format!(
                "cannot read ConfigMap {namespace}/{name}: {}",
                failure_text(&f)
            ))),
        }
    }
}

fn failure_text(f: &Failure) -> String {
    match f {
        Failure::Forbidden(m)
        | Failure::NotFound(m)
        | Failure::Transient(m)
        | Failure::Permanent(m) => m.clone(),
        Failure::Gone => "the list kept expiring (410 Gone) while it was read".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_paths() {
        assert_eq!(list_path(ResourceKind::Pod), "/api/v1/pods");
        assert_eq!(
            list_path(ResourceKind::RoleBinding),
            "/apis/rbac.authorization.k8s.io/v1/rolebindings"
        );
        assert_eq!(
            list_path(ResourceKind::ApiService),
            "/apis/apiregistration.k8s.io/v1/apiservices"
        );
    }

    #[test]
    fn pods_are_reduced_to_what_the_snapshot_keeps() {
        let pod = serde_json::json!({
            "metadata": {"name": "p", "namespace": "n", "uid": "u", "labels": {"a": "b"},
                "managedFields": [{"big": true}], "annotations": {"x": "y"}},
            "spec": {"serviceAccountName": "sa", "containers": [{"image": "i:1", "env": [{"name": "SECRET", "value": "v"}]}],
                "volumes": [{"name": "v"}]},
            "status": {"phase": "Running", "podIP": "10.0.0.1", "containerStatuses": [
                {"name": "c", "image": "docker.io/library/i:1", "imageID": "docker.io/library/i@sha256:ab",
                 "state": {"running": {}}, "lastState": {"terminated": {"message": "secret-ish"}}}]}
        });
        let r = reduce(ResourceKind::Pod, pod);
        let text = r.to_string();
        assert!(text.contains("\"i:1\"") && text.contains("\"sa\""));
        assert!(!text.contains("SECRET") && !text.contains("managedFields"));
        // Of the status: the phase, and per container the image and its resolved digest.
        assert_eq!(
            r["status"],
            serde_json::json!({"phase": "Running", "containerStatuses": [
                {"image": "docker.io/library/i:1", "imageID": "docker.io/library/i@sha256:ab"}]})
        );
        assert!(!text.contains("volumes") && !text.contains("annotations"));
    }

    #[test]
    fn a_namespace_keeps_its_phase_and_nothing_else_of_its_status() {
        let ns = serde_json::json!({"metadata": {"name": "n"}, "status": {"phase": "Terminating", "conditions": [{"type": "x"}]}});
        let r = reduce(ResourceKind::Namespace, ns);
        assert_eq!(r["status"], serde_json::json!({"phase": "Terminating"}));
        let role = serde_json::json!({"metadata": {"name": "r"}, "status": {"phase": "x"}});
        assert!(
            reduce(ResourceKind::ClusterRole, role)
                .get("status")
                .is_none()
        );
    }

    #[test]
    fn secrets_never_keep_data() {
        let s = serde_json::json!({"metadata": {"name": "t", "namespace": "n"}, "data": {"token": "c2VjcmV0"}});
        let r = reduce(ResourceKind::Secret, s);
        assert!(r.get("data").is_none());
        assert_eq!(r["type"], SA_TOKEN_TYPE);
    }

    #[test]
    fn continue_tokens_are_escaped() {
        assert_eq!(urlencode("a b/c=+"), "a%20b%2Fc%3D%2B");
    }
}
