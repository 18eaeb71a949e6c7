//! A real control plane for the live-cluster tests: the shared one tests/run.sh starts
//! (KUBE_EVIDENCE_TEST_CONTROL_PLANE names its directory), or a private one a test starts (and
//! may break) itself from the binaries tests/controlplane/build.sh built. Objects are applied
//! with server-side apply through raw requests, as `kubectl apply --server-side` does.

use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

pub struct ControlPlane {
    pub dir: PathBuf,
    _tmp: Option<tempfile::TempDir>,
    pub url: String,
    pub token: String,
    pub ca_file: PathBuf,
    pub audit_log: PathBuf,
    pub api_pid: u32,
    pub api_port: u16,
    pub kubeconfig: PathBuf,
    owned: bool,
}

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run the live-cluster tests through tests/run.sh, which builds and starts the control plane")
    })
}

fn read_env(dir: &Path) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(dir.join("env"))
        .unwrap_or_else(|e| panic!("{}/env: {e}", dir.display()));
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

impl ControlPlane {
    fn from_dir(dir: PathBuf, tmp: Option<tempfile::TempDir>, owned: bool) -> ControlPlane {
        let env = read_env(&dir);
        ControlPlane {
            url: env["APISERVER_URL"].clone(),
            token: env["ADMIN_TOKEN"].clone(),
            ca_file: PathBuf::from(&env["CA_FILE"]),
            audit_log: PathBuf::from(&env["AUDIT_LOG"]),
            api_pid: env["APISERVER_PID"].parse().unwrap(),
            api_port: env["API_PORT"].parse().unwrap(),
            kubeconfig: dir.join("admin.kubeconfig"),
            dir,
            _tmp: tmp,
            owned,
        }
    }

    /// The control plane tests/run.sh started.
    pub fn shared() -> ControlPlane {
        ControlPlane::from_dir(
            PathBuf::from(var("KUBE_EVIDENCE_TEST_CONTROL_PLANE")),
            None,
            false,
        )
    }

    /// A control plane of the test's own, stopped when dropped.
    pub fn start() -> ControlPlane {
        let bin = var("KUBE_EVIDENCE_TEST_KUBE_BIN");
        // A port another process took between the check and the bind is tried again elsewhere.
        let mut last = String::new();
        for _ in 0..3 {
            let tmp = tempfile::tempdir().unwrap();
            let dir = tmp.path().join("cp");
            let base = free_ports(3);
            let out = Command::new("bash")
                .arg(super::repo().join("tests/controlplane/start.sh"))
                .arg(&bin)
                .arg(&dir)
                .arg(base.to_string())
                .output()
                .expect("start.sh runs");
            if out.status.success() {
                return ControlPlane::from_dir(dir, Some(tmp), true);
            }
            last = String::from_utf8_lossy(&out.stderr).into_owned();
            if !last.contains("address already in use") {
                break;
            }
        }
        panic!("the test control plane did not start:\n{last}")
    }

    /// SIGKILL the API server, as a crash would.
    pub fn kill_apiserver(&self) {
        let _ = Command::new("kill")
            .args(["-KILL", &self.api_pid.to_string()])
            .status();
    }

    /// A kubeconfig for `server` (default: the API server) authenticating with `token`.
    pub fn kubeconfig_for(&self, token: &str, server: Option<&str>, path: &Path) -> PathBuf {
        let server = server.unwrap_or(&self.url);
        std::fs::write(
            path,
            format!(
                "apiVersion: v1\nkind: Config\nclusters:\n- name: test\n  cluster:\n    server: {server}\n    certificate-authority: {}\nusers:\n- name: u\n  user:\n    token: {token}\ncontexts:\n- name: test\n  context: {{cluster: test, user: u}}\ncurrent-context: test\n",
                self.ca_file.display()
            ),
        )
        .unwrap();
        path.to_path_buf()
    }

    pub async fn client(&self) -> kube::Client {
        client_for(&self.kubeconfig).await
    }

    /// Every audit event, parsed.
    pub fn audit_events(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.audit_log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}

impl Drop for ControlPlane {
    fn drop(&mut self) {
        if self.owned {
            let _ = Command::new("bash")
                .arg(super::repo().join("tests/controlplane/stop.sh"))
                .arg(&self.dir)
                .status();
        }
    }
}

pub async fn client_for(kubeconfig: &Path) -> kube::Client {
    kube_evidence::tls::ensure_crypto_provider();
    let file = kube::config::Kubeconfig::read_from(kubeconfig).unwrap();
    let config = kube::Config::from_custom_kubeconfig(file, &Default::default())
        .await
        .unwrap();
    kube::Client::try_from(config).unwrap()
}

/// `n` consecutive free ports on 127.0.0.1, never handed out twice in this process (control
/// planes start concurrently), and below the kernel's ephemeral range (32768 and up here), where
/// a client's outgoing connection could take one between this check and the server's bind.
pub fn free_ports(n: u16) -> u16 {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64
        ^ (std::process::id() as u64) << 7;
    for attempt in 0..500u64 {
        // 10000-19990: tests/run.sh's own servers take 20000 and up.
        let base = 10_000
            + ((seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(attempt * 131))
                % 1000) as u16
                * 10;
        if given.contains(&base) {
            continue;
        }
        if (0..n).all(|i| std::net::TcpListener::bind(("127.0.0.1", base + i)).is_ok()) {
            given.push(base);
            return base;
        }
    }
    panic!("no free ports for a test control plane")
}

/// A raw request; the error is the API's answer as text (HTTP code first).
pub async fn request(
    client: &kube::Client,
    method: &str,
    path: &str,
    body: Option<&Value>,
    content_type: &str,
) -> Result<Value, String> {
    request_with_headers(client, method, path, body, content_type, &[]).await
}

/// [`request`] with extra headers (a bearer token, impersonation).
pub async fn request_with_headers(
    client: &kube::Client,
    method: &str,
    path: &str,
    body: Option<&Value>,
    content_type: &str,
    headers: &[(String, String)],
) -> Result<Value, String> {
    let mut builder = http::Request::builder()
        .method(method)
        .uri(path)
        .header(http::header::CONTENT_TYPE, content_type);
    for (name, value) in headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    let bytes = body
        .map(|b| serde_json::to_vec(b).unwrap())
        .unwrap_or_default();
    let req = builder.body(bytes).unwrap();
    client.request::<Value>(req).await.map_err(|e| match e {
        kube::Error::Api(s) => format!("{} {}: {}", s.code, s.reason, s.message),
        other => other.to_string(),
    })
}

/// The collection URL and name of an object.
pub fn object_path(obj: &Value) -> (String, String) {
    let api_version = obj["apiVersion"].as_str().expect("apiVersion");
    let kind = obj["kind"].as_str().expect("kind");
    let name = obj["metadata"]["name"]
        .as_str()
        .expect("metadata.name")
        .to_string();
    let (plural, namespaced) = match kind {
        "ConfigMap" => ("configmaps", true),
        other => {
            let k = kube_evidence::snapshot::ResourceKind::from_name(other)
                .unwrap_or_else(|| panic!("no plural known for {other}"));
            (k.plural(), k.is_namespaced())
        }
    };
    let root = if api_version.contains('/') {
        format!("/apis/{api_version}")
    } else {
        format!("/api/{api_version}")
    };
    let path = if namespaced {
        let ns = obj["metadata"]["namespace"].as_str().unwrap_or("default");
        format!("{root}/namespaces/{ns}/{plural}")
    } else {
        format!("{root}/{plural}")
    };
    (path, name)
}

/// Server-side apply of one object (`dry_run`: validated and admitted, not stored).
/// A legacy token Secret names its ServiceAccount's UID; a dump carries the UID of the cluster it
/// was taken from, and the token controller deletes a token whose UID is not the account's. As a
/// real cluster's Secret would, the annotation is given the UID the server gave the account.
async fn with_live_account_uid(client: &kube::Client, obj: &Value) -> Value {
    const NAME: &str = "kubernetes.io/service-account.name";
    const UID: &str = "kubernetes.io/service-account.uid";
    let mut obj = obj.clone();
    let annotations = &obj["metadata"]["annotations"];
    if obj["kind"] != "Secret" || annotations[UID].is_null() {
        return obj;
    }
    let (Some(ns), Some(account)) = (
        obj["metadata"]["namespace"].as_str(),
        annotations[NAME].as_str(),
    ) else {
        return obj;
    };
    let path = format!("/api/v1/namespaces/{ns}/serviceaccounts/{account}");
    if let Ok(live) = request(client, "GET", &path, None, "application/json").await {
        obj["metadata"]["annotations"][UID] = live["metadata"]["uid"].clone();
    }
    obj
}

pub async fn apply(client: &kube::Client, obj: &Value, dry_run: bool) -> Result<Value, String> {
    let (collection, name) = object_path(obj);
    // A dump carries what the server assigned; a new object must not.
    let mut obj = obj.clone();
    if let Some(meta) = obj["metadata"].as_object_mut() {
        for field in [
            "uid",
            "resourceVersion",
            "creationTimestamp",
            "generation",
            "managedFields",
            "selfLink",
        ] {
            meta.remove(field);
        }
    }
    if let Some(map) = obj.as_object_mut() {
        map.remove("status");
    }
    let obj = &obj;
    let mut url = format!("{collection}/{name}?fieldManager=kube-evidence-tests&force=true");
    if dry_run {
        url.push_str("&dryRun=All");
    }
    request(
        client,
        "PATCH",
        &url,
        Some(obj),
        "application/apply-patch+yaml",
    )
    .await
    .map_err(|e| format!("{} {name}: {e}", obj["kind"].as_str().unwrap_or("?")))
}

/// Writes an object's `status` through its status subresource (server-side apply).
async fn apply_status(client: &kube::Client, obj: &Value) -> Result<Value, String> {
    let (collection, name) = object_path(obj);
    let mut status = obj["status"].clone();
    if let Some(cs) = status
        .get_mut("containerStatuses")
        .and_then(Value::as_array_mut)
    {
        for c in cs {
            c["restartCount"] = serde_json::json!(0);
        }
    }
    let body = serde_json::json!({
        "apiVersion": obj["apiVersion"],
        "kind": obj["kind"],
        "metadata": {"name": obj["metadata"]["name"], "namespace": obj["metadata"]["namespace"]},
        "status": status,
    });
    request(
        client,
        "PATCH",
        &format!("{collection}/{name}/status?fieldManager=kube-evidence-tests&force=true"),
        Some(&body),
        "application/apply-patch+yaml",
    )
    .await
    .map_err(|e| format!("status of Pod {name}: {e}"))
}

/// Every object in the YAML/JSON files of `path` (a file or a directory, files sorted), Lists
/// expanded.
pub fn objects_in(path: &Path) -> Vec<Value> {
    let mut files = Vec::new();
    if path.is_dir() {
        for e in std::fs::read_dir(path).unwrap() {
            let p = e.unwrap().path();
            let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("");
            if matches!(ext, "yaml" | "yml" | "json") {
                files.push(p);
            }
        }
        files.sort();
    } else {
        files.push(path.to_path_buf());
    }
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for doc in kube_evidence::yaml::parse_stream(&text).unwrap() {
            let Some(root) = doc.root else { continue };
            let v = root.to_json();
            match v["kind"].as_str() {
                Some(k) if k.ends_with("List") && v["items"].is_array() => {
                    out.extend(v["items"].as_array().cloned().unwrap_or_default())
                }
                // Files such as kustomization.yaml are not objects of the cluster.
                Some(_) if v["metadata"]["name"].is_string() => out.push(v),
                Some(_) => {}
                None => {}
            }
        }
    }
    out
}

/// Applies objects in the order a cluster needs them: namespaces and roles first, webhooks last
/// (so that they cannot intercept the rest).
pub async fn apply_all(
    client: &kube::Client,
    objects: &[Value],
    dry_run: bool,
) -> Result<(), String> {
    let rank = |o: &Value| match o["kind"].as_str().unwrap_or("") {
        "Namespace" => 0,
        "ClusterRole" | "Role" => 1,
        "ServiceAccount" | "ConfigMap" => 2,
        "Secret" => 3,
        "ClusterRoleBinding" | "RoleBinding" => 3,
        "APIService" => 5,
        "MutatingWebhookConfiguration" | "ValidatingWebhookConfiguration" => 6,
        _ => 4,
    };
    let mut sorted: Vec<&Value> = objects.iter().collect();
    sorted.sort_by_key(|o| rank(o));
    let mut errors = Vec::new();
    for o in sorted {
        let o = &with_live_account_uid(client, o).await;
        if let Err(e) = apply(client, o, dry_run).await {
            errors.push(e);
        }
    }
    // No kubelet runs here to report what pods run: a Pod's status in the files (its phase and
    // the image digests of its containers) is written through the status subresource, as a
    // kubelet would.
    if !dry_run {
        for o in objects
            .iter()
            .filter(|o| o["kind"] == "Pod" && o["status"].is_object())
        {
            if let Err(e) = apply_status(client, o).await {
                errors.push(e);
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("\n"))
    }
}

/// A token for a ServiceAccount, from the TokenRequest API.
pub async fn service_account_token(client: &kube::Client, namespace: &str, name: &str) -> String {
    let body = json!({
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenRequest",
        "spec": {"expirationSeconds": 3600}
    });
    let out = request(
        client,
        "POST",
        &format!("/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token"),
        Some(&body),
        "application/json",
    )
    .await
    .unwrap();
    out["status"]["token"].as_str().unwrap().to_string()
}

/// A TCP relay in front of the API server that, once `limit` bytes have come back from the
/// server, runs `trip` (which stops the server) and drops every connection, so a collection
/// is cut off part-way through its lists.
pub struct ByteRelay {
    pub url: String,
    pub tripped: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl ByteRelay {
    pub fn start(upstream_port: u16, limit: usize, trip: Box<dyn FnOnce() + Send>) -> ByteRelay {
        use std::io::{Read, Write};
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
        use std::sync::{Arc, Mutex};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let tripped = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(AtomicUsize::new(0));
        let trip = Arc::new(Mutex::new(Some(trip)));
        let flag = tripped.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(client) = conn else { continue };
                if flag.load(Ordering::SeqCst) {
                    continue; // dropped: the server is gone
                }
                let Ok(server) = std::net::TcpStream::connect(("127.0.0.1", upstream_port)) else {
                    continue;
                };
                let (mut c_read, mut s_write) =
                    (client.try_clone().unwrap(), server.try_clone().unwrap());
                let (mut s_read, mut c_write) = (server, client);
                let (flag_up, flag_down) = (flag.clone(), flag.clone());
                let (seen, trip) = (seen.clone(), trip.clone());
                std::thread::spawn(move || {
                    let mut buf = [0u8; 16 * 1024];
                    loop {
                        let n = match c_read.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        if flag_up.load(Ordering::SeqCst) || s_write.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                    let _ = s_write.shutdown(std::net::Shutdown::Both);
                });
                std::thread::spawn(move || {
                    let mut buf = [0u8; 16 * 1024];
                    loop {
                        let n = match s_read.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        if flag_down.load(Ordering::SeqCst) {
                            break;
                        }
                        if seen.fetch_add(n, Ordering::SeqCst) + n >= limit {
                            if !flag_down.swap(true, Ordering::SeqCst)
                                && let Some(f) = trip.lock().unwrap().take()
                            {
                                f();
                            }
                            break;
                        }
                        if c_write.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                    let _ = c_write.shutdown(std::net::Shutdown::Both);
                });
            }
        });
        ByteRelay {
            url: format!("https://127.0.0.1:{port}"),
            tripped,
        }
    }
}
