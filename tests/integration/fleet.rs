//! `fleet report`: clusters publishing to one store, read from what they published. Every figure
//! of the report is recomputed here from the clusters' own findings.json; a tampered latest pack
//! and one signed by an untrusted key are reported and contribute nothing.

use crate::common;

use common::{keygen, run};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// A signed run of the samples as `cluster` into the store at `now`.
fn publish(store: &Path, cluster: &str, key: &Path, source: &str, now: &str) {
    run(
        &[
            "run",
            "--source",
            source,
            "--out",
            store.to_str().unwrap(),
            "--cluster-name",
            cluster,
            "--signing-key",
            key.to_str().unwrap(),
            "--inventory",
            "samples/inventory.yaml",
            "--exceptions",
            "samples/exceptions.yaml",
        ],
        &[
            ("KUBE_EVIDENCE_NOW", now),
            ("KUBE_EVIDENCE_LOG_LEVEL", "warn"),
        ],
        &common::repo(),
    )
    .assert_ok();
}

fn latest_findings(store: &Path, cluster: &str) -> Value {
    let latest: Value =
        serde_json::from_slice(&std::fs::read(store.join(cluster).join("latest.json")).unwrap())
            .unwrap();
    let path = store
        .join(latest["path"].as_str().unwrap())
        .join("findings.json");
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn fleet(store: &Path, out: &Path, more: &[&str]) -> common::Run {
    let mut args = vec![
        "fleet",
        "report",
        "--store",
        store.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(more);
    run(
        &args,
        &[("KUBE_EVIDENCE_NOW", "2026-11-20T12:00:00Z")],
        &common::repo(),
    )
}

fn open_ids(findings: &Value) -> BTreeSet<String> {
    findings["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["status"] == "open" && f["system"] == false)
        .map(|f| f["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_fleet_report_is_recomputable_from_each_clusters_verified_findings() {
    let keys = tempfile::tempdir().unwrap();
    let (trusted, signers) = keygen(keys.path(), "fleet-ci");
    let (stranger, _) = keygen(keys.path(), "stranger");
    let store = tempfile::tempdir().unwrap();
    let s = store.path();
    // eu: three nights in a row; us: a night missed, and nothing since the 18th; ap: its latest
    // findings.json altered after publication; stray: signed by a key nobody trusts.
    publish(
        s,
        "eu",
        &trusted,
        "samples/previous",
        "2026-11-18T02:00:00Z",
    );
    publish(s, "eu", &trusted, "samples/cluster", "2026-11-19T02:00:00Z");
    publish(s, "eu", &trusted, "samples/cluster", "2026-11-20T02:00:00Z");
    publish(
        s,
        "us",
        &trusted,
        "samples/previous",
        "2026-11-15T02:00:00Z",
    );
    publish(s, "us", &trusted, "samples/cluster", "2026-11-18T02:00:00Z");
    publish(s, "ap", &trusted, "samples/cluster", "2026-11-20T02:00:00Z");
    publish(
        s,
        "stray",
        &stranger,
        "samples/cluster",
        "2026-11-20T02:00:00Z",
    );
    let ap_latest: Value =
        serde_json::from_slice(&std::fs::read(s.join("ap/latest.json")).unwrap()).unwrap();
    let ap_findings = s
        .join(ap_latest["path"].as_str().unwrap())
        .join("findings.json");
    // Same size, one count raised: only the SHA-256 tells.
    let original = std::fs::read_to_string(&ap_findings).unwrap();
    let tampered = original.replacen("\"accepted\": 3", "\"accepted\": 0", 1);
    assert_ne!(tampered, original);
    let mut perms = std::fs::metadata(&ap_findings).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&ap_findings, perms).unwrap();
    std::fs::write(&ap_findings, tampered).unwrap();
    // A folder that is not a cluster is not one in the report.
    std::fs::create_dir_all(s.join("notes")).unwrap();
    std::fs::write(s.join("notes/readme.txt"), "not evidence").unwrap();

    let out = tempfile::tempdir().unwrap();
    let o = out.path().join("report");
    let r = fleet(
        s,
        &o,
        &[
            "--allowed-signers",
            signers.to_str().unwrap(),
            "--publish-index",
        ],
    );
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("NOT VERIFIED"), "{}", r.stderr);
    let doc: Value = serde_json::from_slice(&std::fs::read(o.join("fleet.json")).unwrap()).unwrap();
    let clusters: BTreeMap<&str, &Value> = doc["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["cluster"].as_str().unwrap(), c))
        .collect();
    assert_eq!(
        clusters.keys().copied().collect::<Vec<_>>(),
        ["ap", "eu", "stray", "us"]
    );
    assert_eq!(clusters["eu"]["state"], "current");
    assert_eq!(clusters["us"]["state"], "overdue");
    assert_eq!(clusters["us"]["latest"]["ageHours"], 58);
    assert_eq!(clusters["ap"]["state"], "not-verified");
    assert!(
        clusters["ap"]["problems"][0]
            .as_str()
            .unwrap()
            .contains("findings.json does not match the SHA-256"),
        "{}",
        clusters["ap"]
    );
    assert_eq!(clusters["stray"]["state"], "not-verified");
    assert!(
        clusters["stray"]["problems"][0]
            .as_str()
            .unwrap()
            .contains("manifest.json.sig"),
        "{}",
        clusters["stray"]
    );
    // Chains as the indexes record them.
    assert_eq!(clusters["eu"]["chain"]["packs"], 3);
    assert_eq!(clusters["eu"]["chain"]["gaps"], 0);
    assert_eq!(clusters["eu"]["chain"]["breaks"], 0);
    assert_eq!(clusters["eu"]["chain"]["unsigned"], 0);
    assert_eq!(clusters["us"]["chain"]["gaps"], 1);
    assert!(
        clusters["us"]["chain"]["details"][0]
            .as_str()
            .unwrap()
            .starts_with("72 h between"),
        "{}",
        clusters["us"]["chain"]
    );

    // Every figure again from the verified clusters' own findings.json.
    let verified = ["eu", "us"].map(|c| latest_findings(s, c));
    let mut open: BTreeMap<String, u64> = BTreeMap::new();
    for f in &verified {
        for (sev, n) in f["summary"]["open"].as_object().unwrap() {
            *open.entry(sev.clone()).or_default() += n.as_u64().unwrap();
        }
    }
    let totals: BTreeMap<String, u64> = doc["totals"]["openFindings"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
        .collect();
    assert_eq!(totals, open, "open findings are the verified clusters' sum");
    assert_eq!(doc["totals"]["current"], 1);
    assert_eq!(doc["totals"]["overdue"], 1);
    assert_eq!(doc["totals"]["notVerified"], 2);
    let repeated: BTreeSet<String> = doc["repeatedFindings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_string())
        .collect();
    let both: BTreeSet<String> = open_ids(&verified[0])
        .intersection(&open_ids(&verified[1]))
        .cloned()
        .collect();
    assert!(!both.is_empty());
    assert_eq!(repeated, both);
    for f in doc["repeatedFindings"].as_array().unwrap() {
        assert_eq!(f["clusters"], serde_json::json!(["eu", "us"]));
    }
    let register: BTreeSet<String> = verified
        .iter()
        .flat_map(|f| f["register"].as_array().unwrap().clone())
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    let fleet_sps: BTreeSet<String> = doc["subProcessors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    assert!(!register.is_empty());
    assert_eq!(fleet_sps, register);
    let eu_row = verified[0]["register"][0].clone();
    let sp = doc["subProcessors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == eu_row["id"])
        .unwrap();
    assert_eq!(sp["clusters"][0]["cluster"], "eu");
    assert_eq!(
        sp["clusters"][0]["observedAccess"],
        eu_row["observedAccess"]
    );
    let shared: BTreeSet<String> = doc["sharedSubjects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            s.as_object().unwrap()["subject"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let privileged = |f: &Value| -> BTreeSet<String> {
        f["accessMatrix"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["system"] == false)
            .map(|r| {
                let s = &r["subject"];
                match s["namespace"].as_str() {
                    Some(ns) => format!(
                        "{}:{ns}/{}",
                        s["kind"].as_str().unwrap(),
                        s["name"].as_str().unwrap()
                    ),
                    None => format!(
                        "{}:{}",
                        s["kind"].as_str().unwrap(),
                        s["name"].as_str().unwrap()
                    ),
                }
            })
            .collect()
    };
    assert_eq!(
        shared.len(),
        privileged(&verified[0])
            .intersection(&privileged(&verified[1]))
            .count()
    );

    // The CSV says what fleet.json says.
    let csv = std::fs::read_to_string(o.join("fleet-clusters.csv")).unwrap();
    let mut rows = csv.lines().skip(1);
    let eu_line = rows.find(|l| l.starts_with("eu,")).unwrap();
    let cells: Vec<&str> = eu_line.split(',').collect();
    assert_eq!(cells[1], "current");
    assert_eq!(
        cells[9],
        verified[0]["summary"]["open"]["high"].to_string(),
        "open_high"
    );
    // The pages: escaped, self-contained, and the index at the prefix links each cluster.
    let html = std::fs::read_to_string(o.join("fleet-report.html")).unwrap();
    assert!(html.contains("Fleet evidence report") && !html.contains("<script"));
    let index = std::fs::read_to_string(s.join("index.html")).unwrap();
    assert!(index.contains("<a href=\"eu/index.html\">eu</a>"));
    assert_eq!(
        std::fs::read(s.join("fleet.json")).unwrap(),
        std::fs::read(o.join("fleet.json")).unwrap()
    );
    assert!(
        std::fs::read(o.join("fleet-report.pdf"))
            .unwrap()
            .starts_with(b"%PDF-")
    );

    // Never over an earlier report; and without trusted signers the stranger's pack is read,
    // shown as checked for validity only.
    let again = fleet(s, &o, &[]);
    assert_eq!(again.code, 2, "{}", again.stderr);
    assert!(
        again.stderr.contains("never overwrites"),
        "{}",
        again.stderr
    );
    let o2 = out.path().join("untrusted");
    fleet(s, &o2, &[]);
    let doc2: Value =
        serde_json::from_slice(&std::fs::read(o2.join("fleet.json")).unwrap()).unwrap();
    let stray = doc2["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["cluster"] == "stray")
        .unwrap();
    assert_eq!(stray["state"], "current");
    assert_eq!(
        stray["latest"]["signature"],
        "signature valid, signer not checked"
    );
}

#[test]
fn a_store_without_clusters_is_an_error_not_an_empty_report() {
    let store = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(store.path().join("notes")).unwrap();
    let out = tempfile::tempdir().unwrap();
    let r = fleet(store.path(), &out.path().join("r"), &[]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("holds no cluster"), "{}", r.stderr);
    assert!(!out.path().join("r").exists());
}
