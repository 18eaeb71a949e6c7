//! How often each sub-processor is updated, over a series of packs: a vendor's agent whose
//! digest changes once, then stays for longer than the update period; an image pinned by digest;
//! one run by `latest`. The clock is pinned for each night.

use crate::common;
use serde_json::Value;
use std::path::Path;

const INVENTORY: &str = r#"apiVersion: kube-evidence.io/v1
kind: SubProcessorInventory
subProcessors:
- id: acme
  name: Acme monitoring agent
  vendor: Acme Ltd
  purpose: Monitoring
  owner: sre@example.com
  dataCategories: [metrics]
  lastReviewed: 2025-12-10
  contract: {dpaSigned: 2025-01-01}
  identities:
    namespaces: [acme]
  declaredAccess:
    level: none
"#;

/// The cluster on one night: the agent runs `tag` resolved to `digest`.
fn cluster(tag: &str, digest: &str) -> String {
    format!(
        r#"apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Namespace
  metadata: {{name: acme}}
- apiVersion: v1
  kind: ServiceAccount
  metadata: {{name: agent, namespace: acme}}
- apiVersion: rbac.authorization.k8s.io/v1
  kind: ClusterRole
  metadata: {{name: acme-reader}}
  rules:
  - {{apiGroups: [""], resources: [pods], verbs: [get, list]}}
- apiVersion: rbac.authorization.k8s.io/v1
  kind: ClusterRoleBinding
  metadata: {{name: acme-reader}}
  roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: acme-reader}}
  subjects:
  - {{kind: ServiceAccount, name: agent, namespace: acme}}
- apiVersion: v1
  kind: Pod
  metadata: {{name: agent-x1, namespace: acme}}
  spec:
    serviceAccountName: agent
    containers:
    - {{name: agent, image: "registry.acme.example/agent:{tag}"}}
    - {{name: shipper, image: "registry.acme.example/shipper@sha256:{pinned}"}}
    - {{name: helper, image: "registry.acme.example/helper:latest"}}
  status:
    phase: Running
    containerStatuses:
    - {{name: agent, image: "registry.acme.example/agent:{tag}", imageID: "registry.acme.example/agent@sha256:{digest}"}}
    - {{name: shipper, image: "registry.acme.example/shipper@sha256:{pinned}", imageID: "registry.acme.example/shipper@sha256:{pinned}"}}
    - {{name: helper, image: "registry.acme.example/helper:latest", imageID: "registry.acme.example/helper@sha256:{helper}"}}
"#,
        pinned = "1".repeat(64),
        helper = "2".repeat(64),
    )
}

fn night(dir: &Path, out: &Path, now: &str, tag: &str, digest: &str) -> Value {
    let source = dir.join(format!("cluster-{now}"));
    std::fs::create_dir_all(&source).unwrap();
    std::fs::write(source.join("c.yaml"), cluster(tag, digest)).unwrap();
    let r = common::run(
        &[
            "run",
            "--source",
            source.to_str().unwrap(),
            "--inventory",
            dir.join("inventory.yaml").to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--unsigned",
            "--cluster-name",
            "acme-cluster",
        ],
        &[("KUBE_EVIDENCE_NOW", now)],
        &common::repo(),
    );
    assert!([0, 3, 4].contains(&r.code), "{}\n{}", r.stdout, r.stderr);
    let pack = common::pack_dirs(out).last().unwrap().clone();
    let updates: Value =
        serde_json::from_slice(&std::fs::read(pack.join("vendor-updates.json")).unwrap()).unwrap();
    let findings: Value =
        serde_json::from_slice(&std::fs::read(pack.join("findings.json")).unwrap()).unwrap();
    let csv = std::fs::read_to_string(pack.join("vendor-updates.csv")).unwrap();
    serde_json::json!({"updates": updates, "findings": findings, "csv": csv})
}

fn image<'a>(n: &'a Value, repo: &str) -> &'a Value {
    n["updates"]["rows"][0]["images"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["repository"] == repo)
        .unwrap_or_else(|| panic!("{repo} not in {}", n["updates"]))
}

fn rules(n: &Value) -> Vec<String> {
    let mut r: Vec<String> = n["findings"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["ruleId"].as_str().unwrap().starts_with("KE-UPD-"))
        .map(|f| f["ruleId"].as_str().unwrap().to_string())
        .collect();
    r.sort();
    r
}

fn control_reason(n: &Value, id: &str) -> (String, String) {
    let c = n["findings"]["controls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap();
    (c["status"].as_str().unwrap().to_string(), c.to_string())
}

#[test]
fn updates_are_counted_over_the_chain_and_staleness_waits_for_a_covered_period() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    std::fs::write(dir.path().join("inventory.yaml"), INVENTORY).unwrap();
    let a = "a".repeat(64);
    let b = "b".repeat(64);
    let agent = "registry.acme.example/agent";

    // Night 1: the record begins.
    let n1 = night(dir.path(), &out, "2026-01-01T02:00:00Z", "1.0", &a);
    assert_eq!(n1["updates"]["daysCovered"], 0);
    assert_eq!(image(&n1, agent)["updates"], 0);
    assert_eq!(image(&n1, agent)["mutableTag"], true);
    assert_eq!(image(&n1, "registry.acme.example/shipper")["pinned"], true);
    assert_eq!(
        image(&n1, "registry.acme.example/helper")["latestTag"],
        true
    );
    // A tag without a digest, and `latest`; a digest pin is no finding.
    assert_eq!(rules(&n1), ["KE-UPD-001", "KE-UPD-002"]);
    // The control never reads as met on a record that does not cover the period.
    let (status, text) = control_reason(&n1, "A.5.22");
    assert_ne!(status, "satisfied", "{text}");
    assert!(
        text.contains("KE-UPD-003: the image record covers 0 of the 180 days"),
        "{text}"
    );

    // Night 2, a month later: the vendor shipped 1.1, a new digest.
    let n2 = night(dir.path(), &out, "2026-01-31T02:00:00Z", "1.1", &b);
    let row = image(&n2, agent);
    assert_eq!(row["updates"], 1);
    assert_eq!(
        row["runningDigests"],
        serde_json::json!([format!("sha256:{b}")])
    );
    assert_eq!(row["runningSince"], "2026-01-31T02:00:00Z");
    assert_eq!(row["lastUpdate"], "2026-01-31T02:00:00Z");
    let history = &n2["updates"]["history"]["subProcessors"]["acme"][agent];
    assert_eq!(history.as_array().unwrap().len(), 2, "{history}");
    assert_eq!(history[0]["firstSeen"], "2026-01-01T02:00:00Z");
    assert_eq!(history[0]["lastSeen"], "2026-01-01T02:00:00Z");
    assert_eq!(history[0]["tags"], serde_json::json!(["1.0"]));

    // 170 days on 1.1 within a record of 200 days: not yet past the 180-day period.
    let n3 = night(dir.path(), &out, "2026-07-20T02:00:00Z", "1.1", &b);
    assert_eq!(image(&n3, agent)["ageDays"], 170);
    assert_eq!(image(&n3, agent)["notUpdated"], false);
    // The shipper and the helper have run one digest since night 1, 200 days: those are stale.
    let stale_n3: Vec<String> = n3["findings"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["ruleId"] == "KE-UPD-003")
        .map(|f| f["summary"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(stale_n3.len(), 1, "{stale_n3:?}");
    assert!(
        stale_n3[0].contains("registry.acme.example/shipper for 200 days (since 2026-01-01)")
            && stale_n3[0].contains("registry.acme.example/helper for 200 days"),
        "{stale_n3:?}"
    );
    assert!(!stale_n3[0].contains(agent), "{stale_n3:?}");

    // 185 days: not updated in the period, and the record covers it.
    let n4 = night(dir.path(), &out, "2026-08-04T02:00:00Z", "1.1", &b);
    assert_eq!(image(&n4, agent)["ageDays"], 185);
    assert_eq!(n4["updates"]["daysCovered"], 215);
    let upd3: Vec<&Value> = n4["findings"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["ruleId"] == "KE-UPD-003")
        .collect();
    // One finding for the sub-processor, now naming the agent too, beside the shipper and
    // the helper; its id is the one of night 3, so the diff shows it persisting.
    assert_eq!(upd3.len(), 1, "{upd3:?}");
    let agent_finding = upd3[0];
    assert!(
        agent_finding["summary"]
            .as_str()
            .unwrap()
            .contains("registry.acme.example/agent for 185 days (since 2026-01-31)"),
        "{agent_finding}"
    );
    assert_eq!(agent_finding["subProcessor"], "acme");
    // The register's column and the CSV say the same.
    let register = &n4["findings"]["register"][0]["updates"];
    assert!(
        register
            .as_str()
            .unwrap()
            .contains("1 update(s) seen in 215 day(s)"),
        "{register}"
    );
    let csv_row = n4["csv"]
        .as_str()
        .unwrap()
        .lines()
        .find(|l| l.contains(agent))
        .unwrap()
        .to_string();
    assert!(
        csv_row.contains(",185,1,2026-01-31T02:00:00+00:00,false,true,false,true"),
        "{csv_row}"
    );
    let (_, text) = control_reason(&n4, "A.5.22");
    assert!(!text.contains("of the 180 days"), "{text}");
}

#[test]
fn without_pod_status_digests_are_unknown_and_never_claimed() {
    // Rendered manifests have no status: the tags are judged, the cadence is not.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    std::fs::write(dir.path().join("inventory.yaml"), INVENTORY).unwrap();
    let source = dir.path().join("cluster");
    std::fs::create_dir_all(&source).unwrap();
    let text = cluster("1.0", &"a".repeat(64));
    let without_status = text.split("  status:").next().unwrap().to_string();
    std::fs::write(source.join("c.yaml"), without_status).unwrap();
    let r = common::run(
        &[
            "run",
            "--source",
            source.to_str().unwrap(),
            "--inventory",
            dir.path().join("inventory.yaml").to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--unsigned",
            "--cluster-name",
            "acme-cluster",
        ],
        &[("KUBE_EVIDENCE_NOW", "2026-03-01T02:00:00Z")],
        &common::repo(),
    );
    assert!([0, 3, 4].contains(&r.code), "{}", r.stderr);
    let pack = common::pack_dirs(&out).last().unwrap().clone();
    let findings: Value =
        serde_json::from_slice(&std::fs::read(pack.join("findings.json")).unwrap()).unwrap();
    let column = findings["register"][0]["updates"].as_str().unwrap();
    assert!(
        column.contains("digests unknown (the source gave no Pod status)"),
        "{column}"
    );
    assert!(findings["basis"]["imageHistory"]["since"].is_null());
}
