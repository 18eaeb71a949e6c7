//! Collection from a real kube-apiserver and etcd (built from their Go modules and started by
//! tests/run.sh, or privately by a test that must break its server): the samples round-trip,
//! the shipped ClusterRole suffices and nothing less does, the RBAC engine agrees with the real
//! authorizer, pagination, and the server dying mid-collection.

use crate::common;

use common::controlplane::{self as cp, ByteRelay, ControlPlane};
use kube_evidence::rbac::{Identity, RbacIndex, Request, ResourceRequest, SubjectRef};
use kube_evidence::snapshot::{CollectionStatus, ResourceKind, Snapshot, read_snapshot_file};
use serde_json::{Value, json};
use std::path::Path;
use std::sync::OnceLock;

const CLUSTER: &str = "sample-prod-eu-1";

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn cli(args: &[&str]) -> common::Run {
    common::run(
        args,
        &[("KUBE_EVIDENCE_LOG_LEVEL", "warn")],
        &common::repo(),
    )
}

/// The samples, applied once to the shared control plane; waits until the aggregation
/// controller has filled the aggregated ClusterRoles.
fn shared_with_samples() -> ControlPlane {
    static APPLIED: OnceLock<()> = OnceLock::new();
    let plane = ControlPlane::shared();
    APPLIED.get_or_init(|| {
        rt().block_on(async {
            let client = plane.client().await;
            // No webhook server runs here: with the samples' `failurePolicy: Fail` every
            // request they match would be refused, so they are applied with `Ignore`.
            let mut objects = cp::objects_in(&common::samples().join("cluster"));
            for o in &mut objects {
                if let Some(hooks) = o.get_mut("webhooks").and_then(Value::as_array_mut) {
                    for h in hooks {
                        h["failurePolicy"] = json!("Ignore");
                    }
                }
            }
            cp::apply_all(&client, &objects, false)
                .await
                .unwrap_or_else(|e| panic!("applying the samples failed:\n{e}"));
            // `admin` is aggregated from the bootstrap's aggregate-to-admin roles.
            for _ in 0..100 {
                let admin = cp::request(
                    &client,
                    "GET",
                    "/apis/rbac.authorization.k8s.io/v1/clusterroles/admin",
                    None,
                    "application/json",
                )
                .await
                .unwrap();
                if admin["rules"].as_array().is_some_and(|r| !r.is_empty()) {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
            // Let the controller catch up with the samples' own aggregated roles too.
            tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        });
    });
    plane
}

fn snapshot_of(args: &[&str], dir: &Path, name: &str) -> (Snapshot, common::Run) {
    let out = dir.join(name);
    let mut all = vec!["snapshot", "-o", out.to_str().unwrap()];
    all.extend_from_slice(args);
    let run = cli(&all);
    let snap = read_snapshot_file(&out)
        .unwrap_or_else(|e| panic!("{e}\nstdout:\n{}\nstderr:\n{}", run.stdout, run.stderr));
    (snap, run)
}

/// `live` holds everything `dump` does: every field the dump has is there with the same value
/// (the server may add defaults), apart from server-assigned metadata (a token Secret's account
/// UID among it: the applied Secret names the UID the server gave the account).
fn contains(live: &Value, dump: &Value, path: &str, problems: &mut Vec<String>) {
    match (live, dump) {
        (_, Value::Null) => {}
        (Value::Object(l), Value::Object(d)) => {
            for (k, dv) in d {
                if matches!(
                    k.as_str(),
                    "uid"
                        | "resourceVersion"
                        | "creationTimestamp"
                        | "generation"
                        | "kubernetes.io/service-account.uid"
                ) {
                    continue;
                }
                let empty = matches!(dv, Value::Null)
                    || dv.as_object().is_some_and(|o| o.is_empty())
                    || dv.as_array().is_some_and(|a| a.is_empty());
                match l.get(k) {
                    Some(lv) => contains(lv, dv, &format!("{path}.{k}"), problems),
                    None if empty => {}
                    None => problems.push(format!("{path}.{k}: missing in the live snapshot")),
                }
            }
        }
        (Value::Array(l), Value::Array(d)) if l.len() == d.len() => {
            for (i, (lv, dv)) in l.iter().zip(d).enumerate() {
                contains(lv, dv, &format!("{path}[{i}]"), problems);
            }
        }
        (l, d) if l == d => {}
        (l, d) => problems.push(format!("{path}: live {l} != dump {d}")),
    }
}

fn keyed(items: &Value) -> std::collections::BTreeMap<String, Value> {
    items
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|o| {
            let m = &o["metadata"];
            let key = format!(
                "{}/{}",
                m["namespace"].as_str().unwrap_or(""),
                m["name"].as_str().unwrap_or("")
            );
            (key, o)
        })
        .collect()
}

/// Objects the API server creates by itself in an empty cluster.
fn server_created(collection: &str, key: &str, object: &Value) -> bool {
    let (ns, name) = key.split_once('/').unwrap();
    let bootstrap_name =
        name.starts_with("system:") || matches!(name, "cluster-admin" | "admin" | "edit" | "view");
    match collection {
        "namespaces" => matches!(
            name,
            "default" | "kube-system" | "kube-public" | "kube-node-lease"
        ),
        "apiServices" => object["spec"]["service"].is_null(),
        "roles" | "roleBindings" => {
            matches!(ns, "kube-system" | "kube-public")
                && (bootstrap_name || name.starts_with("extension-"))
        }
        _ => bootstrap_name,
    }
}

#[test]
#[ignore = "needs the control plane tests/run.sh starts"]
fn collecting_the_applied_samples_gives_the_dump_snapshot() {
    let plane = shared_with_samples();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = plane.kubeconfig.to_str().unwrap().to_string();
    let (live, run) = snapshot_of(
        &[
            "--source",
            "cluster",
            "--kubeconfig",
            &kubeconfig,
            "--cluster-name",
            CLUSTER,
            "--collect-token-secrets",
        ],
        dir.path(),
        "live.json.gz",
    );
    run.assert_ok();
    let live_stderr = run.stderr.clone();
    let (dump, run) = snapshot_of(
        &["--source", "samples/cluster", "--cluster-name", CLUSTER],
        dir.path(),
        "dump.json.gz",
    );
    run.assert_ok();

    assert!(live.collector.is_complete(), "{:?}", live.collector.kinds);
    assert!(
        live.collector
            .source
            .starts_with("cluster:https://127.0.0.1:")
    );
    let identity = live
        .collector
        .identity
        .as_ref()
        .unwrap_or_else(|| panic!("no SelfSubjectReview identity:\n{live_stderr}"));
    assert_eq!(identity.username, "admin");
    assert!(identity.groups.contains(&"system:masters".to_string()));
    assert_eq!(
        live.cluster
            .server_version
            .as_deref()
            .map(|v| v.starts_with("v1.")),
        Some(true)
    );
    let runtime = rt();
    let client = runtime.block_on(plane.client());
    let kube_system = runtime
        .block_on(cp::request(
            &client,
            "GET",
            "/api/v1/namespaces/kube-system",
            None,
            "application/json",
        ))
        .unwrap();
    let kube_system_uid = kube_system["metadata"]["uid"].clone();
    assert_eq!(
        live.cluster.id.as_deref(),
        kube_system_uid.as_str(),
        "cluster id = kube-system UID"
    );

    let live_json = serde_json::to_value(&live).unwrap();
    let dump_json = serde_json::to_value(&dump).unwrap();
    let mut problems = Vec::new();
    let mut compared = 0;
    for collection in [
        "namespaces",
        "clusterRoles",
        "roles",
        "clusterRoleBindings",
        "roleBindings",
        "serviceAccounts",
        "mutatingWebhookConfigurations",
        "validatingWebhookConfigurations",
        "apiServices",
        "tokenSecrets",
    ] {
        let (l, d) = (keyed(&live_json[collection]), keyed(&dump_json[collection]));
        assert!(!d.is_empty(), "{collection} empty in the dump");
        for (key, dobj) in &d {
            let mut dobj = dobj.clone();
            // Aggregated rules are written by the aggregation controller, not by the samples.
            if !dobj["aggregationRule"].is_null() {
                dobj.as_object_mut().unwrap().remove("rules");
            }
            if let Some(hooks) = dobj.get_mut("webhooks").and_then(Value::as_array_mut) {
                for h in hooks {
                    h["failurePolicy"] = json!("Ignore");
                }
            }
            match l.get(key) {
                Some(lobj) => contains(lobj, &dobj, &format!("{collection} {key}"), &mut problems),
                None => problems.push(format!("{collection} {key}: not in the live snapshot")),
            }
            compared += 1;
        }
        for (key, lobj) in &l {
            if !d.contains_key(key) && !server_created(collection, key, lobj) {
                problems.push(format!("{collection} {key}: in the live snapshot only"));
            }
        }
    }
    // Workloads are derived from pods and controllers: the same set, the same images and accounts.
    let (lw, dw) = (&live_json["workloads"], &dump_json["workloads"]);
    assert!(dw.as_array().is_some_and(|w| !w.is_empty()));
    contains(lw, dw, "workloads", &mut problems);
    assert!(
        problems.is_empty(),
        "{} differences over {compared} objects:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// A deterministic generator, so a disagreement can be reproduced.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next() % items.len() as u64) as usize]
    }
}

#[test]
#[ignore = "needs the control plane tests/run.sh starts"]
fn the_engine_agrees_with_the_real_authorizer_on_thousands_of_requests() {
    let plane = shared_with_samples();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = plane.kubeconfig.to_str().unwrap().to_string();
    let (live, run) = snapshot_of(
        &[
            "--source",
            "cluster",
            "--kubeconfig",
            &kubeconfig,
            "--cluster-name",
            CLUSTER,
        ],
        dir.path(),
        "live.json.gz",
    );
    run.assert_ok();
    let index = RbacIndex::build(&live);

    // Every subject of the sample cluster, plus a few nobody bound.
    let mut subjects: Vec<SubjectRef> = index.all_subjects().into_iter().collect();
    subjects.push(SubjectRef::user("mallory@example.com"));
    subjects.push(SubjectRef::service_account("default", "nobody"));
    subjects.push(SubjectRef::group("contractors"));
    subjects.push(SubjectRef::user("system:anonymous"));

    // What the rules talk about, and edge cases around it.
    let mut resources: Vec<(String, String, String)> = Vec::new();
    let mut names: Vec<String> = vec![String::new()];
    let mut paths: Vec<String> = vec![
        "/healthz".into(),
        "/metrics".into(),
        "/api".into(),
        "/apis/apps/v1".into(),
        "/logs/kube".into(),
        "/version".into(),
    ];
    let all_rules = live
        .cluster_roles
        .iter()
        .flat_map(|r| r.rules.iter())
        .chain(live.roles.iter().flat_map(|r| r.rules.iter()));
    for rule in all_rules {
        for g in &rule.api_groups {
            for r in &rule.resources {
                let (res, sub) = r.split_once('/').unwrap_or((r, ""));
                let res = if res == "*" { "pods" } else { res };
                let sub = if sub == "*" { "status" } else { sub };
                let g = if g == "*" { "apps" } else { g.as_str() };
                resources.push((g.to_string(), res.to_string(), sub.to_string()));
            }
        }
        names.extend(rule.resource_names.iter().cloned());
        paths.extend(
            rule.non_resource_urls
                .iter()
                .map(|p| p.trim_end_matches('*').to_string() + "x"),
        );
    }
    for (g, r, s) in [
        ("", "pods", "exec"),
        ("", "pods", "log"),
        ("", "secrets", ""),
        ("", "nodes", "proxy"),
        ("", "serviceaccounts", "token"),
        ("rbac.authorization.k8s.io", "clusterroles", ""),
        ("example.com", "widgets", ""),
        ("", "users", ""),
        ("", "groups", ""),
    ] {
        resources.push((g.into(), r.into(), s.into()));
    }
    resources.sort();
    resources.dedup();
    names.sort();
    names.dedup();
    paths.sort();
    paths.dedup();
    let verbs = [
        "get",
        "list",
        "watch",
        "create",
        "update",
        "patch",
        "delete",
        "deletecollection",
        "impersonate",
        "bind",
        "escalate",
        "use",
        "approve",
    ];
    let mut namespaces: Vec<String> = live
        .namespaces
        .iter()
        .map(|n| n.metadata.name.clone())
        .collect();
    namespaces.push(String::new());
    namespaces.push("not-a-namespace".into());

    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let mut requests: Vec<(SubjectRef, Request)> = Vec::new();
    // Every subject, several times; then random requests up to the total.
    for s in &subjects {
        for _ in 0..6 {
            let (g, r, sub) = rng.pick(&resources).clone();
            requests.push((
                s.clone(),
                Request::Resource(ResourceRequest {
                    verb: rng.pick(&verbs).to_string(),
                    api_group: g,
                    resource: r,
                    subresource: sub,
                    namespace: rng.pick(&namespaces).clone(),
                    name: rng.pick(&names).clone(),
                }),
            ));
        }
    }
    while requests.len() < 2_400 {
        let s = rng.pick(&subjects).clone();
        let request = if rng.next().is_multiple_of(10) {
            Request::NonResource(kube_evidence::rbac::NonResourceRequest {
                verb: rng.pick(&["get", "post", "put"]).to_string(),
                path: rng.pick(&paths).clone(),
            })
        } else {
            let (g, r, sub) = rng.pick(&resources).clone();
            Request::Resource(ResourceRequest {
                verb: rng.pick(&verbs).to_string(),
                api_group: g,
                resource: r,
                subresource: sub,
                namespace: rng.pick(&namespaces).clone(),
                name: rng.pick(&names).clone(),
            })
        };
        requests.push((s, request));
    }

    // One runtime for the client and its requests: the client's worker lives on it.
    let runtime = rt();
    let client = runtime.block_on(plane.client());
    let answers: Vec<bool> = runtime.block_on(async {
        use futures::StreamExt;
        futures::stream::iter(requests.iter().map(|(s, r)| {
            let client = client.clone();
            let identity = Identity::of(s, &[]);
            let mut spec = json!({"groups": identity.groups});
            if !identity.username.is_empty() {
                spec["user"] = json!(identity.username);
            }
            match r {
                Request::Resource(rr) => {
                    spec["resourceAttributes"] = json!({
                        "verb": rr.verb, "group": rr.api_group, "resource": rr.resource,
                        "subresource": rr.subresource, "namespace": rr.namespace, "name": rr.name,
                    })
                }
                Request::NonResource(nr) => {
                    spec["nonResourceAttributes"] = json!({"verb": nr.verb, "path": nr.path})
                }
            }
            async move {
                let body = json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview", "spec": spec});
                let out = cp::request(&client, "POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", Some(&body), "application/json")
                    .await
                    .unwrap();
                out["status"]["allowed"].as_bool().unwrap_or(false)
            }
        }))
        .buffered(8)
        .collect()
        .await
    });
    let mut disagreements = Vec::new();
    let mut allowed = 0;
    for ((s, r), server) in requests.iter().zip(&answers) {
        let engine = index.authorize(&Identity::of(s, &[]), r).allowed;
        allowed += usize::from(*server);
        if engine != *server {
            disagreements.push(format!(
                "{} {:?}: engine {engine}, API server {server}",
                s.key(),
                r
            ));
        }
    }
    assert!(requests.len() >= 2_000);
    assert!(
        allowed > 100 && allowed < requests.len() - 100,
        "{allowed} of {} allowed: the sample is one-sided",
        requests.len()
    );
    assert!(
        disagreements.is_empty(),
        "{} disagreements in {} requests:\n{}",
        disagreements.len(),
        requests.len(),
        disagreements.join("\n")
    );
}

#[test]
#[ignore = "needs the control plane binaries tests/run.sh builds"]
fn the_shipped_cluster_role_suffices_and_one_rule_less_is_reported() {
    let plane = ControlPlane::start();
    let rt = rt();
    let client = rt.block_on(plane.client());
    let base = cp::objects_in(&common::repo().join("deploy/base"));
    assert!(base.len() >= 8, "{} objects in deploy/base", base.len());
    // As `kubectl apply --dry-run=server`: the namespace must exist for the rest to be checked.
    let namespace: Vec<Value> = base
        .iter()
        .filter(|o| o["kind"] == "Namespace")
        .cloned()
        .collect();
    rt.block_on(cp::apply_all(&client, &namespace, true))
        .expect("server-side dry run of the namespace");
    rt.block_on(cp::apply_all(&client, &namespace, false))
        .expect("the namespace applies");
    rt.block_on(cp::apply_all(&client, &base, true))
        .expect("server-side dry run of deploy/base");
    rt.block_on(cp::apply_all(&client, &base, false))
        .expect("deploy/base applies");
    // Something to collect beyond the bootstrap policy.
    let mut vendor =
        vec![json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "datadog"}})];
    vendor.extend(cp::objects_in(
        &common::samples().join("cluster/30-vendor-datadog.yaml"),
    ));
    rt.block_on(cp::apply_all(&client, &vendor, false)).unwrap();

    let token = rt.block_on(cp::service_account_token(
        &client,
        "kube-evidence",
        "kube-evidence",
    ));
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = plane.kubeconfig_for(&token, None, &dir.path().join("sa.kubeconfig"));
    let kc = kubeconfig.to_str().unwrap();
    let (snap, run) = snapshot_of(
        &[
            "--source",
            "cluster",
            "--kubeconfig",
            kc,
            "--cluster-name",
            "c",
        ],
        dir.path(),
        "sa.json.gz",
    );
    run.assert_ok();
    assert!(snap.collector.is_complete(), "{:#?}", snap.collector.kinds);
    assert_eq!(
        snap.collector.identity.as_ref().unwrap().username,
        "system:serviceaccount:kube-evidence:kube-evidence"
    );
    assert_eq!(
        snap.collector.status_of(ResourceKind::Secret),
        CollectionStatus::Skipped
    );
    assert!(
        snap.service_accounts
            .iter()
            .any(|s| s.metadata.name == "kube-evidence")
    );

    // The inventory from the one ConfigMap the collector's Role lets it read.
    let inventory = std::fs::read_to_string(common::samples().join("inventory.yaml")).unwrap();
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "kube-evidence-inventory", "namespace": "kube-evidence"},
        "data": {"inventory.yaml": inventory}});
    rt.block_on(cp::apply(&client, &cm, false)).unwrap();
    let first = dir.path().join("first");
    let run = cli(&[
        "run",
        "--source",
        "cluster",
        "--kubeconfig",
        kc,
        "--cluster-name",
        "c",
        "--out",
        first.to_str().unwrap(),
        "--unsigned",
        "--inventory",
        "configmap:kube-evidence/kube-evidence-inventory",
    ]);
    run.assert_ok();
    assert!(
        common::files_under(&first)
            .iter()
            .any(|f| f.ends_with("subprocessors.csv")),
        "no sub-processor register in the pack"
    );

    // One rule less (APIServices): exactly that kind is forbidden, the honest pack is still
    // published, and the run exits non-zero.
    let mut role = base
        .iter()
        .find(|o| o["kind"] == "ClusterRole")
        .unwrap()
        .clone();
    role["rules"]
        .as_array_mut()
        .unwrap()
        .retain(|r| r["apiGroups"][0] != "apiregistration.k8s.io");
    rt.block_on(cp::apply(&client, &role, false)).unwrap();
    let out = dir.path().join("evidence");
    let run = cli(&[
        "run",
        "--source",
        "cluster",
        "--kubeconfig",
        kc,
        "--cluster-name",
        "c",
        "--out",
        out.to_str().unwrap(),
        "--unsigned",
    ]);
    assert_eq!(run.code, 4, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("collection INCOMPLETE"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("APIService: forbidden"),
        "{}",
        run.stdout
    );
    let pack_snapshot = common::files_under(&out)
        .into_iter()
        .find(|f| f.ends_with("snapshot.json.gz"))
        .unwrap();
    let published = read_snapshot_file(&out.join(pack_snapshot)).unwrap();
    let incomplete: Vec<String> = published
        .collector
        .incomplete_kinds()
        .iter()
        .map(|(k, _)| k.name().to_string())
        .collect();
    assert_eq!(incomplete, ["APIService"]);

    // The audit log: the collector never touched a Secret, and wrote nothing.
    let user = "system:serviceaccount:kube-evidence:kube-evidence";
    let events: Vec<Value> = plane
        .audit_events()
        .into_iter()
        .filter(|e| e["user"]["username"] == user)
        .collect();
    assert!(
        events.len() > 10,
        "{} audit events of the collector",
        events.len()
    );
    for e in &events {
        assert_ne!(
            e["objectRef"]["resource"], "secrets",
            "the collector touched a Secret: {e}"
        );
        let verb = e["verb"].as_str().unwrap_or("");
        let resource = e["objectRef"]["resource"].as_str().unwrap_or("");
        assert!(
            matches!(verb, "get" | "list") || resource == "selfsubjectreviews",
            "the collector did {verb} {resource}: {e}"
        );
    }

    // The opt-in: list on secrets, metadata of token Secrets only, the data never stored.
    let secret = json!({
        "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
        "metadata": {"name": "legacy-token", "namespace": "kube-evidence",
            "annotations": {"kubernetes.io/service-account.name": "kube-evidence"}},
        "data": {"token": "VE9QLVNFQ1JFVC1WQUxVRQ=="}
    });
    rt.block_on(cp::apply(&client, &secret, false)).unwrap();
    let other = json!({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
        "metadata": {"name": "db-password", "namespace": "kube-evidence"}, "stringData": {"password": "OTHER-SECRET-VALUE"}});
    rt.block_on(cp::apply(&client, &other, false)).unwrap();
    let mut role = base
        .iter()
        .find(|o| o["kind"] == "ClusterRole")
        .unwrap()
        .clone();
    role["rules"]
        .as_array_mut()
        .unwrap()
        .push(json!({"apiGroups": [""], "resources": ["secrets"], "verbs": ["list"]}));
    rt.block_on(cp::apply(&client, &role, false)).unwrap();
    let (snap, run) = snapshot_of(
        &[
            "--source",
            "cluster",
            "--kubeconfig",
            kc,
            "--cluster-name",
            "c",
            "--collect-token-secrets",
        ],
        dir.path(),
        "secrets.json.gz",
    );
    run.assert_ok();
    assert_eq!(
        snap.collector.status_of(ResourceKind::Secret),
        CollectionStatus::Complete
    );
    assert_eq!(snap.token_secrets.len(), 1);
    assert_eq!(snap.token_secrets[0].metadata.name, "legacy-token");
    let raw = String::from_utf8(kube_evidence::snapshot::snapshot_to_json(&snap)).unwrap();
    assert!(!raw.contains("VE9QLVNFQ1JFVC1WQUxVRQ") && !raw.contains("db-password"));
    let secret_events: Vec<Value> = plane
        .audit_events()
        .into_iter()
        .filter(|e| e["user"]["username"] == user && e["objectRef"]["resource"] == "secrets")
        .collect();
    assert!(!secret_events.is_empty());
    for e in &secret_events {
        assert_eq!(e["verb"], "list", "{e}");
        let uri = e["requestURI"].as_str().unwrap();
        assert!(
            uri.contains("fieldSelector=type%3Dkubernetes.io%2Fservice-account-token"),
            "{uri}"
        );
    }
}

#[test]
#[ignore = "needs the control plane binaries tests/run.sh builds"]
fn twelve_hundred_role_bindings_in_one_namespace_are_all_collected() {
    let plane = ControlPlane::start();
    let rt = rt();
    let client = rt.block_on(plane.client());
    rt.block_on(async {
        cp::apply(&client, &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "paging"}}), false).await.unwrap();
        use futures::StreamExt;
        let results: Vec<Result<Value, String>> = futures::stream::iter((0..1200).map(|i| {
            let client = client.clone();
            async move {
                let rb = json!({
                    "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                    "metadata": {"name": format!("rb-{i:04}"), "namespace": "paging"},
                    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
                    "subjects": [{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": format!("user-{i}")}]
                });
                cp::request(&client, "POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/paging/rolebindings", Some(&rb), "application/json").await
            }
        }))
        .buffer_unordered(16)
        .collect()
        .await;
        assert!(results.iter().all(Result::is_ok));
    });
    let dir = tempfile::tempdir().unwrap();
    let kc = plane.kubeconfig.to_str().unwrap().to_string();
    let (snap, run) = snapshot_of(
        &[
            "--source",
            "cluster",
            "--kubeconfig",
            &kc,
            "--cluster-name",
            "c",
        ],
        dir.path(),
        "s.json.gz",
    );
    run.assert_ok();
    let in_paging = snap
        .role_bindings
        .iter()
        .filter(|b| b.metadata.namespace.as_deref() == Some("paging"))
        .count();
    assert_eq!(in_paging, 1200);
    let mut names: Vec<&str> = snap
        .role_bindings
        .iter()
        .map(|b| b.metadata.name.as_str())
        .collect();
    let before = names.len();
    names.dedup();
    assert_eq!(before, names.len(), "a RoleBinding was collected twice");
    // Pages of the collector's page size: every page after the first asked with a continue
    // token.
    let page_size = kube_evidence::source::cluster::ClusterOptions::default().page_size as usize;
    let pages = 1200usize.div_ceil(page_size);
    assert!(pages >= 2, "1200 RoleBindings no longer need paging");
    let limit = format!("limit={page_size}");
    let continued = plane
        .audit_events()
        .into_iter()
        .filter(|e| {
            e["verb"] == "list"
                && e["objectRef"]["resource"] == "rolebindings"
                && e["requestURI"]
                    .as_str()
                    .is_some_and(|u| u.contains(&limit) && u.contains("continue="))
        })
        .count();
    assert!(
        continued >= pages - 1,
        "{continued} continued list requests for {pages} pages"
    );
}

#[test]
#[ignore = "needs the control plane binaries tests/run.sh builds"]
fn the_api_server_dying_mid_collection_fails_the_run_and_nothing_is_marked_complete() {
    let plane = ControlPlane::start();
    let pid = plane.api_pid;
    // /version and the SelfSubjectReview are a few kB; the bootstrap ClusterRoles alone are far
    // more, so the server dies while the kinds are being listed.
    let relay = ByteRelay::start(
        plane.api_port,
        24 * 1024,
        Box::new(move || {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }),
    );
    let dir = tempfile::tempdir().unwrap();
    let kc = plane.kubeconfig_for(
        &plane.token,
        Some(&relay.url),
        &dir.path().join("relay.kubeconfig"),
    );
    let out = dir.path().join("evidence");
    let started = std::time::Instant::now();
    let run = cli(&[
        "run",
        "--source",
        "cluster",
        "--kubeconfig",
        kc.to_str().unwrap(),
        "--cluster-name",
        "c",
        "--out",
        out.to_str().unwrap(),
        "--unsigned",
    ]);
    assert!(
        relay.tripped.load(std::sync::atomic::Ordering::SeqCst),
        "the relay never fired"
    );
    assert_eq!(run.code, 4, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("collection INCOMPLETE"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains(": failed"), "{}", run.stdout);
    // Retries are bounded.
    assert!(started.elapsed() < std::time::Duration::from_secs(240));
    let manifest = common::files_under(&out)
        .into_iter()
        .find(|f| f.ends_with("manifest.json"))
        .unwrap();
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(out.join(manifest)).unwrap()).unwrap();
    assert_eq!(manifest["collectionComplete"], false);
    let latest: Value =
        serde_json::from_slice(&std::fs::read(out.join("c/latest.json")).unwrap()).unwrap();
    assert_eq!(latest["packId"], manifest["packId"]);

    // With --require-complete nothing is published; with the server gone from the start the run
    // fails at once with a clear message.
    let run = cli(&[
        "run",
        "--source",
        "cluster",
        "--kubeconfig",
        plane.kubeconfig.to_str().unwrap(),
        "--cluster-name",
        "c",
        "--out",
        out.to_str().unwrap(),
        "--unsigned",
        "--require-complete",
    ]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("cannot reach the API server"),
        "{}",
        run.stderr
    );
    let manifests = common::files_under(&out)
        .into_iter()
        .filter(|f| f.ends_with("manifest.json"))
        .count();
    assert_eq!(manifests, 1, "a second pack was published");
}

#[test]
#[ignore = "needs helm and the control plane binaries tests/run.sh installs and builds"]
fn the_helm_chart_renders_what_the_api_server_accepts_and_its_role_suffices() {
    let helm = std::env::var("KUBE_EVIDENCE_TEST_HELM")
        .expect("KUBE_EVIDENCE_TEST_HELM is not set: run this through tests/run.sh");
    let dir = tempfile::tempdir().unwrap();
    let rendered = dir.path().join("chart.yaml");
    let out = std::process::Command::new(&helm)
        .args([
            "template",
            "kube-evidence",
            common::repo().join("deploy/helm/kube-evidence").to_str().unwrap(),
            "--namespace",
            "kube-evidence",
            "--set",
            "clusterName=prod-eu-1,s3.bucket=evidence,s3.objectLock.enabled=true,inventoryConfigMap=kube-evidence-inventory",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(&rendered, &out.stdout).unwrap();
    let objects = cp::objects_in(&rendered);
    let kinds: std::collections::BTreeSet<&str> = objects
        .iter()
        .map(|o| o["kind"].as_str().unwrap())
        .collect();
    let base = cp::objects_in(&common::repo().join("deploy/base"));
    let base_kinds: std::collections::BTreeSet<&str> = base
        .iter()
        .map(|o| o["kind"].as_str().unwrap())
        .filter(|k| *k != "Namespace")
        .collect();
    assert_eq!(
        kinds, base_kinds,
        "the chart renders the objects of deploy/base"
    );

    // The configuration it renders is one kube-evidence accepts.
    let config = objects.iter().find(|o| o["kind"] == "ConfigMap").unwrap();
    let config_file = dir.path().join("config.yaml");
    std::fs::write(
        &config_file,
        config["data"]["config.yaml"].as_str().unwrap(),
    )
    .unwrap();
    let loaded = kube_evidence::config::load(
        Some(&config_file),
        &kube_evidence::config::Overrides::default(),
        &|_| None,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(loaded.cluster_name.as_deref(), Some("prod-eu-1"));
    assert!(loaded.s3.object_lock.is_some());

    let plane = ControlPlane::start();
    let rt = rt();
    let client = rt.block_on(plane.client());
    let ns = vec![
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kube-evidence"}}),
    ];
    rt.block_on(cp::apply_all(&client, &ns, false)).unwrap();
    rt.block_on(cp::apply_all(&client, &objects, true))
        .expect("server-side dry run of the chart");
    rt.block_on(cp::apply_all(&client, &objects, false))
        .expect("the chart applies");
    let token = rt.block_on(cp::service_account_token(
        &client,
        "kube-evidence",
        "kube-evidence",
    ));
    let kc = plane.kubeconfig_for(&token, None, &dir.path().join("sa.kubeconfig"));
    let (snap, run) = snapshot_of(
        &[
            "--source",
            "cluster",
            "--kubeconfig",
            kc.to_str().unwrap(),
            "--cluster-name",
            "c",
        ],
        dir.path(),
        "chart.json.gz",
    );
    run.assert_ok();
    assert!(snap.collector.is_complete(), "{:#?}", snap.collector.kinds);
}

/// What a pack says of a cluster is anchored in the API server's TLS identity: a server whose
/// certificate the configured CA did not sign is not collected from, and a configuration that
/// would not check the certificate (insecure-skip-tls-verify, plain HTTP off this machine) is
/// refused before any request. Nothing is written either way.
#[test]
#[ignore = "needs the control plane tests/run.sh starts"]
fn a_server_the_configured_ca_does_not_vouch_for_is_never_collected_from() {
    let plane = ControlPlane::shared();
    let dir = tempfile::tempdir().unwrap();
    let genuine = std::fs::read_to_string(&plane.kubeconfig).unwrap();
    let ca_line = format!("certificate-authority: {}", plane.ca_file.display());
    assert!(genuine.contains(&ca_line), "{genuine}");
    // Another CA of the control plane (the one that signs client certificates).
    let other_ca = plane.ca_file.with_file_name("client-ca.crt");
    assert!(other_ca.is_file());
    let cases = [
        (
            "a CA that did not sign the server's certificate",
            genuine.replace(
                &ca_line,
                &format!("certificate-authority: {}", other_ca.display()),
            ),
            "certificate",
        ),
        (
            "insecure-skip-tls-verify",
            genuine.replace(&ca_line, "insecure-skip-tls-verify: true"),
            "insecure-skip-tls-verify",
        ),
        (
            "plain HTTP to another machine",
            genuine.replace(&plane.url, "http://192.0.2.10:8080"),
            "not HTTPS",
        ),
    ];
    for (what, kubeconfig, expected) in cases {
        let path = dir.path().join("kubeconfig");
        std::fs::write(&path, kubeconfig).unwrap();
        let out = dir.path().join("out");
        let r = cli(&[
            "run",
            "--source",
            "cluster",
            "--kubeconfig",
            path.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--unsigned",
            "--cluster-name",
            "tls",
        ]);
        assert_ne!(r.code, 0, "{what}: collected:\n{}", r.stdout);
        assert!(r.stderr.contains(expected), "{what}: {}", r.stderr);
        // (The publish lock's file may stay; it holds no evidence.)
        let written: Vec<String> = common::files_under(&out)
            .into_iter()
            .filter(|f| !f.ends_with(".lock"))
            .collect();
        assert!(written.is_empty(), "{what}: {written:?} was written");
    }
}

/// The bootstrap policy `rbac::bootstrap` writes out is the one the API server creates: every
/// binding the server labels as its own is recognised as bootstrap, and the policy's roles that
/// aggregate are the server's (a binding or role the list missed would be reported as a person's).
#[test]
#[ignore = "needs the control plane tests/run.sh starts"]
fn every_binding_the_api_server_bootstraps_is_recognised() {
    let plane = shared_with_samples();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = plane.kubeconfig.to_str().unwrap().to_string();
    let (live, run) = snapshot_of(
        &[
            "--source",
            "cluster",
            "--kubeconfig",
            &kubeconfig,
            "--cluster-name",
            CLUSTER,
        ],
        dir.path(),
        "live.json.gz",
    );
    run.assert_ok();
    let labelled = |m: &kube_evidence::snapshot::ObjectMeta| {
        m.labels
            .get("kubernetes.io/bootstrapping")
            .map(String::as_str)
            == Some("rbac-defaults")
    };
    // The samples' labelled bindings are copies of the policy's (a kubeadm cluster's dump):
    // applying them leaves the server's own in place, so every labelled binding is checked.
    let index = RbacIndex::build(&live);
    let mut server_own = 0;
    let mut missed = Vec::new();
    for b in &index.bindings {
        let meta = live
            .cluster_role_bindings
            .iter()
            .map(|c| &c.metadata)
            .chain(live.role_bindings.iter().map(|r| &r.metadata))
            .find(|m| m.name == b.name && m.namespace == b.namespace)
            .unwrap();
        if labelled(meta) {
            server_own += 1;
            if !b.bootstrap {
                missed.push(b.object.to_string());
            }
        }
    }
    assert!(
        server_own > 40,
        "only {server_own} bootstrap bindings on the server"
    );
    assert!(
        missed.is_empty(),
        "bootstrap bindings not recognised: {missed:?}"
    );
    let aggregating: Vec<&str> = live
        .cluster_roles
        .iter()
        .filter(|r| {
            labelled(&r.metadata)
                && r.metadata
                    .labels
                    .keys()
                    .any(|k| k.starts_with("rbac.authorization.k8s.io/aggregate-to-"))
        })
        .map(|r| r.metadata.name.as_str())
        .collect();
    let unknown: Vec<&&str> = aggregating
        .iter()
        .filter(|n| {
            let r = live
                .cluster_roles
                .iter()
                .find(|r| r.metadata.name == **n)
                .unwrap();
            !kube_evidence::rbac::bootstrap::is_policy_aggregating_role(&r.metadata)
        })
        .collect();
    assert!(aggregating.len() >= 5, "{aggregating:?}");
    assert!(
        unknown.is_empty(),
        "aggregating policy roles not recognised: {unknown:?}"
    );
}
