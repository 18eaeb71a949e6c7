//! Usage re-performed against the API server: a scripted workload runs on the test control
//! plane (ServiceAccount tokens, impersonated users and groups, a watch, exec, a service proxy,
//! denied requests and a refused impersonation), and every count, use, unused grant and
//! anomaly the pack states is checked against what the script did, over two nights: the second
//! reads a rotation directory holding the first night's file again, compressed and grown. The
//! log is the API server's own (`--audit-log-path`, policy `Metadata`, without
//! `RequestReceived`). Crossing midnight is pinned by `audit::anomaly`'s unit tests (the server's
//! clock cannot be moved here).

use crate::common;
use common::controlplane::{self as cp, ControlPlane};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// One request of the script: who (a token), what, and as whom (impersonation headers).
struct Call<'a> {
    token: &'a str,
    method: &'a str,
    path: &'a str,
    impersonate: &'a [(&'a str, &'a str)],
}

/// Makes the request with curl (as a client would, over TLS to 127.0.0.1); the HTTP status.
fn call(plane: &ControlPlane, c: &Call<'_>) -> u16 {
    let mut args: Vec<String> = vec![
        "-s".into(),
        "-o".into(),
        "/dev/null".into(),
        "-w".into(),
        "%{http_code}".into(),
        "-X".into(),
        c.method.into(),
        "--cacert".into(),
        plane.ca_file.to_str().unwrap().into(),
        "-H".into(),
        format!("Authorization: Bearer {}", c.token),
    ];
    for (header, value) in c.impersonate {
        args.push("-H".into());
        args.push(format!("{header}: {value}"));
    }
    args.push(format!("{}{}", plane.url, c.path));
    let out = std::process::Command::new("curl")
        .args(&args)
        .output()
        .expect("curl runs");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0)
}

fn json_file(path: &std::path::Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The pack's rolling usage record (`usage.json.gz`).
fn usage_record(pack: &std::path::Path) -> Value {
    let mut text = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::GzDecoder::new(std::fs::File::open(pack.join("usage.json.gz")).unwrap()),
        &mut text,
    )
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

/// (verb, resource[/subresource], namespace) -> (count, allowed, denied) of one subject.
fn uses_of(usage: &Value, subject: &str) -> BTreeMap<(String, String, String), (u64, u64, u64)> {
    let mut out = BTreeMap::new();
    for u in usage["subjects"][subject]
        .as_array()
        .cloned()
        .unwrap_or_default()
    {
        let s = |k: &str| u[k].as_str().unwrap_or("").to_string();
        let resource = match s("subresource").as_str() {
            "" => s("resource"),
            sub => format!("{}/{sub}", s("resource")),
        };
        let n = |k: &str| u[k].as_u64().unwrap();
        out.insert(
            (s("verb"), resource, s("namespace")),
            (n("count"), n("allowed"), n("denied")),
        );
    }
    out
}

fn key(verb: &str, resource: &str, namespace: &str) -> (String, String, String) {
    (verb.into(), resource.into(), namespace.into())
}

#[test]
#[ignore = "needs the control plane binaries tests/run.sh builds"]
fn a_scripted_workload_is_counted_as_the_api_server_saw_it() {
    let plane = ControlPlane::start();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let client = rt.block_on(plane.client());
    let rbac = "rbac.authorization.k8s.io/v1";
    let sa = |name: &str| json!({"kind": "ServiceAccount", "name": name, "namespace": "work"});
    let objects = vec![
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "work"}}),
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "runner", "namespace": "work"}}),
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "idle", "namespace": "work"}}),
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "impersonator", "namespace": "work"}}),
        json!({"apiVersion": rbac, "kind": "Role", "metadata": {"name": "runner", "namespace": "work"},
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]},
                      {"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["create", "get"]},
                      {"apiGroups": [""], "resources": ["services/proxy"], "verbs": ["get"]},
                      {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}]}),
        json!({"apiVersion": rbac, "kind": "RoleBinding", "metadata": {"name": "runner", "namespace": "work"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "runner"}, "subjects": [sa("runner")]}),
        // Never used: a Secret reader (privileged, so judged).
        json!({"apiVersion": rbac, "kind": "Role", "metadata": {"name": "idle", "namespace": "work"},
            "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}]}),
        json!({"apiVersion": rbac, "kind": "RoleBinding", "metadata": {"name": "idle", "namespace": "work"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "idle"}, "subjects": [sa("idle")]}),
        // The impersonator may be alice, and bob in group ops; never carol.
        json!({"apiVersion": rbac, "kind": "ClusterRole", "metadata": {"name": "impersonator"},
            "rules": [{"apiGroups": [""], "resources": ["users"], "verbs": ["impersonate"], "resourceNames": ["alice", "bob"]},
                      {"apiGroups": [""], "resources": ["groups"], "verbs": ["impersonate"], "resourceNames": ["ops"]}]}),
        json!({"apiVersion": rbac, "kind": "ClusterRoleBinding", "metadata": {"name": "impersonator"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "impersonator"}, "subjects": [sa("impersonator")]}),
        json!({"apiVersion": rbac, "kind": "ClusterRole", "metadata": {"name": "namespace-lister"},
            "rules": [{"apiGroups": [""], "resources": ["namespaces"], "verbs": ["list"]}]}),
        json!({"apiVersion": rbac, "kind": "ClusterRoleBinding", "metadata": {"name": "alice"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "namespace-lister"},
            "subjects": [{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "alice"}]}),
        json!({"apiVersion": rbac, "kind": "ClusterRole", "metadata": {"name": "node-lister"},
            "rules": [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["list"]}]}),
        json!({"apiVersion": rbac, "kind": "ClusterRoleBinding", "metadata": {"name": "ops"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "node-lister"},
            "subjects": [{"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": "ops"}]}),
    ];
    rt.block_on(cp::apply_all(&client, &objects, false))
        .unwrap();
    let runner = rt.block_on(cp::service_account_token(&client, "work", "runner"));
    let impersonator = rt.block_on(cp::service_account_token(&client, "work", "impersonator"));

    let get = |token, path| Call {
        token,
        method: "GET",
        path,
        impersonate: &[],
    };
    // The script, with the status the API server must answer (what it authorised).
    let script: Vec<(Call<'_>, &[u16])> = vec![
        (get(&runner, "/api/v1/namespaces/work/pods"), &[200]),
        (get(&runner, "/api/v1/namespaces/work/pods"), &[200]),
        (get(&runner, "/api/v1/namespaces/work/pods"), &[200]),
        // A watch: written at ResponseStarted and again at ResponseComplete.
        (
            get(
                &runner,
                "/api/v1/namespaces/work/pods?watch=1&timeoutSeconds=1",
            ),
            &[200],
        ),
        // Exec and a service proxy: authorised, then nothing there to reach.
        (
            Call {
                token: &runner,
                method: "POST",
                path: "/api/v1/namespaces/work/pods/nothing/exec?command=ls&stdout=true",
                impersonate: &[],
            },
            &[400, 404],
        ),
        (
            get(&runner, "/api/v1/namespaces/work/services/nothing/proxy/"),
            &[404, 503],
        ),
        // Denied: Secrets.
        (get(&runner, "/api/v1/namespaces/work/secrets"), &[403]),
        (get(&runner, "/api/v1/namespaces/work/secrets"), &[403]),
        // Impersonation: alice lists namespaces; bob, in ops, lists nodes.
        (
            Call {
                token: &impersonator,
                method: "GET",
                path: "/api/v1/namespaces",
                impersonate: &[("Impersonate-User", "alice")],
            },
            &[200],
        ),
        (
            Call {
                token: &impersonator,
                method: "GET",
                path: "/api/v1/nodes",
                impersonate: &[("Impersonate-User", "bob"), ("Impersonate-Group", "ops")],
            },
            &[200],
        ),
        // Refused: carol is not among the users it may be.
        (
            Call {
                token: &impersonator,
                method: "GET",
                path: "/api/v1/namespaces",
                impersonate: &[("Impersonate-User", "carol")],
            },
            &[403],
        ),
    ];
    let perform = |part: &[(Call<'_>, &[u16])]| {
        for (c, expected) in part {
            let status = call(&plane, c);
            assert!(
                expected.contains(&status),
                "{} {} answered {status}, not {expected:?}",
                c.method,
                c.path
            );
        }
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    let night = || {
        common::run(
            &[
                "run",
                "--source",
                "cluster",
                "--kubeconfig",
                plane.kubeconfig.to_str().unwrap(),
                "--cluster-name",
                "live",
                "--audit-log",
                logs.to_str().unwrap(),
                "--unsigned",
                "--out",
                out.to_str().unwrap(),
            ],
            &[("KUBE_EVIDENCE_LOG_LEVEL", "warn")],
            &common::repo(),
        )
        .assert_ok();
    };
    // The first night: the runner's part of the script, and the server's log as it is then
    // (its last line may be half written: the control plane's own traffic goes on).
    let (first, second) = script.split_at(8);
    perform(first);
    std::fs::copy(&plane.audit_log, logs.join("audit.log")).unwrap();
    night();
    // The second night: the rest; by then the active file was rotated, compressed under a new
    // name with everything the server wrote since, and a new active file begun.
    perform(second);
    let whole = std::fs::read(&plane.audit_log).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &whole).unwrap();
    std::fs::write(logs.join("audit-1.log.gz"), gz.finish().unwrap()).unwrap();
    std::fs::write(logs.join("audit.log"), b"").unwrap();
    night();
    let packs = common::pack_dirs(&out);
    assert_eq!(packs.len(), 2);
    let pack = &packs[1];
    let usage = usage_record(pack);
    let findings = json_file(&pack.join("findings.json"));

    // Counts, use by use, as the script made them: each request once whatever its stages.
    let runner_uses = uses_of(&usage, "ServiceAccount:work/runner");
    let expect = BTreeMap::from([
        (key("list", "pods", "work"), (3, 3, 0)),
        (key("watch", "pods", "work"), (1, 1, 0)),
        (key("create", "pods/exec", "work"), (1, 1, 0)),
        (key("get", "services/proxy", "work"), (1, 1, 0)),
        (key("list", "secrets", "work"), (2, 0, 2)),
    ]);
    assert_eq!(
        runner_uses, expect,
        "{:#}",
        usage["subjects"]["ServiceAccount:work/runner"]
    );
    assert_eq!(
        uses_of(&usage, "User:alice"),
        BTreeMap::from([(key("list", "namespaces", ""), (1, 1, 0))])
    );
    assert_eq!(
        uses_of(&usage, "User:bob"),
        BTreeMap::from([(key("list", "nodes", ""), (1, 1, 0))])
    );
    assert!(
        usage["groups"]["User:bob"]
            .as_array()
            .is_some_and(|g| g.iter().any(|g| g == "ops")),
        "{:#}",
        usage["groups"]
    );
    // The impersonator: its grant used for both users and the group, as the server authorised;
    // carol refused (the server writes the refusal as the impersonator's own request).
    let imp = uses_of(&usage, "ServiceAccount:work/impersonator");
    assert_eq!(
        imp.get(&key("impersonate", "users", "")),
        Some(&(2, 2, 0)),
        "{imp:?}"
    );
    assert_eq!(
        imp.get(&key("impersonate", "groups", "")),
        Some(&(1, 1, 0)),
        "{imp:?}"
    );
    let refused: u64 = imp.values().map(|(_, _, denied)| denied).sum();
    assert_eq!(refused, 1, "{imp:?}");
    // Its own days count its requests (three: two impersonations and the refusal), so its
    // baseline sees what a token that impersonates people does.
    let own_days: u64 = usage["activity"]["ServiceAccount:work/impersonator"]
        .as_object()
        .map(|days| days.values().map(|d| d["requests"].as_u64().unwrap()).sum())
        .unwrap_or(0);
    assert_eq!(own_days, 3, "{:#}", usage["activity"]);
    // The rotated file was last night's active file: read from where that run stopped.
    assert_eq!(usage["log"]["resumedParts"], 1, "{:#}", usage["log"]);
    // The watch was written twice (ResponseStarted, then ResponseComplete) and counted once
    // (above); the first night's log holds its ResponseStarted.
    let first_log = usage_record(&packs[0]);
    let stages = &first_log["log"]["stages"];
    assert!(
        stages["ResponseStarted"].as_u64().unwrap_or(0) >= 1,
        "{stages}"
    );

    // What the findings say, against the script. Uses of a night (exec, impersonation) are
    // findings of the night they were made; grants judged unused, of the rolling record.
    let first_findings = json_file(&packs[0].join("findings.json"));
    let summaries_in = |doc: &Value, rule: &str| -> Vec<String> {
        doc["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["ruleId"] == rule)
            .map(|f| f["summary"].as_str().unwrap().to_string())
            .collect()
    };
    let exec = summaries_in(&first_findings, "KE-USE-008");
    assert!(
        exec.iter().any(|s| s.contains("ServiceAccount:work/runner")
            && s.contains("pods/exec 1 time(s) in work")),
        "{exec:#?}"
    );
    let summaries = |rule: &str| -> Vec<String> {
        findings["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["ruleId"] == rule)
            .map(|f| f["summary"].as_str().unwrap().to_string())
            .collect()
    };
    let sensitive = summaries("KE-USE-008");
    assert!(
        sensitive
            .iter()
            .any(|s| s.contains("ServiceAccount:work/impersonator")
                && s.contains("impersonation 3 time(s)")),
        "{sensitive:#?}"
    );
    let unused = summaries("KE-USE-001");
    assert!(
        unused.iter().any(|s| s.contains("ServiceAccount:work/idle")
            && s.contains("did not use 1 of the 1 rule(s)")),
        "{unused:#?}"
    );
    // The impersonator used its grant: never reported unused, never told to remove it.
    assert!(
        !unused.iter().any(|s| s.contains("work/impersonator")),
        "{unused:#?}"
    );
    let row = findings["usage"]["subjects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["subject"]["name"] == "runner")
        .cloned()
        .expect("runner holds pods/exec, a privileged capability: its grants are judged");
    assert_eq!(
        (row["requests"].as_u64(), row["denied"].as_u64()),
        (Some(8), Some(2)),
        "{row:#}"
    );
    // Its configmaps rule was never used; the others were.
    assert_eq!(
        (row["grantsHeld"].as_u64(), row["grantsUsed"].as_u64()),
        (Some(4), Some(3)),
        "{row:#}"
    );
}
