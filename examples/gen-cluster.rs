//! Writes a realistic large cluster (see `kube_evidence::synthetic::realistic`) as dump files,
//! and optionally creates the same objects in an API server with concurrent requests.
//!
//! ```sh
//! cargo run --release --example gen-cluster -- --namespaces 5000 --seed 7 --out DIR
//! cargo run --release --example gen-cluster -- --namespaces 5000 --out DIR --load KUBECONFIG
//! ```
//!
//! `DIR/cluster/` holds the dump (`run --source DIR/cluster`), `DIR/inventory.yaml` its
//! sub-processor inventory and `DIR/planted.json` the risks the analysis must find.
//!
//! `--snapshot FILE` loads the RBAC of a saved snapshot instead (Namespaces, ServiceAccounts,
//! Roles, ClusterRoles and their bindings), for example the messy shape `examples/scale.rs`
//! writes (`SCALE_OUT=DIR scale pack messy 5000`, then `--snapshot DIR/snapshot.json.gz`):
//!
//! ```sh
//! cargo run --release --example gen-cluster -- --snapshot DIR/snapshot.json.gz --load KUBECONFIG
//! ```

use futures::StreamExt;
use kube::api::{Api, PostParams};
use kube::core::{ApiResource, DynamicObject, GroupVersionKind};
use kube_evidence::synthetic::realistic::{Size, generate, write};
use serde_json::Value;
use std::path::PathBuf;
use std::time::Instant;

struct Args {
    namespaces: usize,
    seed: u64,
    out: PathBuf,
    load: Option<PathBuf>,
    concurrency: usize,
    snapshot: Option<PathBuf>,
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        namespaces: 500,
        seed: 7,
        out: PathBuf::from("generated-cluster"),
        load: None,
        concurrency: 48,
        snapshot: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--namespaces" => a.namespaces = value()?.parse().map_err(|e| format!("{e}"))?,
            "--seed" => a.seed = value()?.parse().map_err(|e| format!("{e}"))?,
            "--out" => a.out = PathBuf::from(value()?),
            "--load" => a.load = Some(PathBuf::from(value()?)),
            "--concurrency" => a.concurrency = value()?.parse().map_err(|e| format!("{e}"))?,
            "--snapshot" => a.snapshot = Some(PathBuf::from(value()?)),
            other => return Err(format!("unknown flag {other}")),
        }
    }
    Ok(a)
}

/// The API resource of an object of a dump file.
fn resource(object: &Value) -> (ApiResource, bool) {
    let api_version = object["apiVersion"].as_str().unwrap_or("v1");
    let kind = object["kind"].as_str().unwrap_or("");
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let (plural, namespaced) = match kind {
        "Namespace" => ("namespaces", false),
        "ClusterRole" => ("clusterroles", false),
        "ClusterRoleBinding" => ("clusterrolebindings", false),
        "Role" => ("roles", true),
        "RoleBinding" => ("rolebindings", true),
        "ServiceAccount" => ("serviceaccounts", true),
        "Deployment" => ("deployments", true),
        "Pod" => ("pods", true),
        "ValidatingWebhookConfiguration" => ("validatingwebhookconfigurations", false),
        "APIService" => ("apiservices", false),
        other => panic!("no resource for kind {other}"),
    };
    let gvk = GroupVersionKind::gvk(group, version, kind);
    (ApiResource::from_gvk_with_plural(&gvk, plural), namespaced)
}

async fn load(client: kube::Client, files: &[(String, Value)], concurrency: usize) {
    for (name, list) in files {
        let items = list["items"].as_array().cloned().unwrap_or_default();
        let started = Instant::now();
        let count = items.len();
        let results = futures::stream::iter(items.into_iter().map(|object| {
            let client = client.clone();
            async move {
                let (ar, namespaced) = resource(&object);
                let api: Api<DynamicObject> = if namespaced {
                    let ns = object["metadata"]["namespace"]
                        .as_str()
                        .unwrap_or("default");
                    Api::namespaced_with(client, ns, &ar)
                } else {
                    Api::all_with(client, &ar)
                };
                let obj: DynamicObject = serde_json::from_value(object).expect("a valid object");
                match api.create(&PostParams::default(), &obj).await {
                    Ok(_) => Ok(()),
                    Err(kube::Error::Api(e)) if e.code == 409 => Ok(()),
                    Err(e) => Err(format!("{}: {e}", obj.metadata.name.unwrap_or_default())),
                }
            }
        }))
        .buffer_unordered(concurrency)
        .collect::<Vec<_>>()
        .await;
        let failed: Vec<String> = results.into_iter().filter_map(Result::err).collect();
        eprintln!(
            "{name}: {count} object(s) in {:.1} s{}",
            started.elapsed().as_secs_f64(),
            if failed.is_empty() {
                String::new()
            } else {
                format!(", {} failed, first: {}", failed.len(), failed[0])
            }
        );
    }
}

/// The RBAC objects of a saved snapshot as the lists `load` creates, in an order the API server
/// accepts (namespaces before what lives in them).
fn rbac_of_snapshot(path: &std::path::Path) -> Vec<(String, Value)> {
    let bytes = std::fs::read(path).expect("the snapshot is readable");
    let snapshot =
        kube_evidence::snapshot::snapshot_from_bytes(&bytes, &path.display().to_string())
            .expect("a snapshot");
    let json = serde_json::to_value(&snapshot).expect("serialises");
    let kinds = [
        ("namespaces", "v1", "Namespace"),
        ("serviceAccounts", "v1", "ServiceAccount"),
        ("roles", "rbac.authorization.k8s.io/v1", "Role"),
        (
            "clusterRoles",
            "rbac.authorization.k8s.io/v1",
            "ClusterRole",
        ),
        (
            "roleBindings",
            "rbac.authorization.k8s.io/v1",
            "RoleBinding",
        ),
        (
            "clusterRoleBindings",
            "rbac.authorization.k8s.io/v1",
            "ClusterRoleBinding",
        ),
    ];
    kinds
        .iter()
        .map(|(field, api_version, kind)| {
            let items: Vec<Value> = json[*field]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(|mut o| {
                    o["apiVersion"] = (*api_version).into();
                    o["kind"] = (*kind).into();
                    // A namespace's phase is status, which the API server sets itself.
                    if let Some(map) = o.as_object_mut() {
                        map.remove("phase");
                    }
                    o
                })
                .collect();
            (
                format!("{field}.json"),
                serde_json::json!({ "items": items }),
            )
        })
        .collect()
}

fn main() {
    let a = match args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!(
                "error: {e}\nusage: gen-cluster [--namespaces N] [--seed S] [--out DIR] [--load KUBECONFIG] [--concurrency C]"
            );
            std::process::exit(2);
        }
    };
    let started = Instant::now();
    let files = match &a.snapshot {
        Some(path) => rbac_of_snapshot(path),
        None => {
            let generated = generate(Size {
                namespaces: a.namespaces,
                seed: a.seed,
            });
            write(&generated, &a.out).expect("the output directory is writable");
            eprintln!(
                "{} planted risk(s) written to {}",
                generated.planted.len(),
                a.out.display()
            );
            generated.files
        }
    };
    let objects: usize = files
        .iter()
        .map(|(_, l)| l["items"].as_array().map_or(0, Vec::len))
        .sum();
    eprintln!(
        "{objects} object(s) in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    if let Some(kubeconfig) = a.load {
        let rt = tokio::runtime::Runtime::new().expect("a runtime");
        rt.block_on(async {
            kube_evidence::tls::ensure_crypto_provider();
            let kc = kube::config::Kubeconfig::read_from(&kubeconfig).expect("a kubeconfig");
            let config = kube::Config::from_custom_kubeconfig(kc, &Default::default())
                .await
                .expect("a usable kubeconfig");
            let client = kube::Client::try_from(config).expect("a client");
            let started = Instant::now();
            load(client, &files, a.concurrency).await;
            eprintln!(
                "loaded {objects} object(s) in {:.1} s",
                started.elapsed().as_secs_f64()
            );
        });
    }
}
