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
    publish_with(
        store,
        cluster,
        key,
        source,
        now,
        "samples/inventory.yaml",
        &[],
    )
    .assert_ok();
}

/// [`publish`] with another inventory and more arguments, returning the run.
fn publish_with(
    store: &Path,
    cluster: &str,
    key: &Path,
    source: &str,
    now: &str,
    inventory: &str,
    more: &[&str],
) -> common::Run {
    let mut args = vec![
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
        inventory,
        "--exceptions",
        "samples/exceptions.yaml",
    ];
    args.extend_from_slice(more);
    run(
        &args,
        &[
            ("KUBE_EVIDENCE_NOW", now),
            ("KUBE_EVIDENCE_LOG_LEVEL", "warn"),
        ],
        &common::repo(),
    )
}

fn fleet_json(out: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(out.join("fleet.json")).unwrap()).unwrap()
}

fn cluster<'a>(doc: &'a Value, name: &str) -> &'a Value {
    doc["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["cluster"] == name)
        .unwrap_or_else(|| panic!("no cluster {name} in {doc}"))
}

/// The details of `cluster`'s problems of `kind`.
fn problems_of(doc: &Value, name: &str, kind: &str) -> Vec<String> {
    cluster(doc, name)["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["kind"] == kind)
        .map(|p| p["detail"].as_str().unwrap().to_string())
        .collect()
}

/// The clusters with a problem of `kind`, as the Problems list has them.
fn clusters_with(doc: &Value, kind: &str) -> BTreeSet<String> {
    doc["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| {
            c["problems"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["kind"] == kind)
        })
        .map(|c| c["cluster"].as_str().unwrap().to_string())
        .collect()
}

/// The text of the PDF's pages (`pdftotext`), or `None` when it is not installed.
fn pdf_text(pdf: &Path) -> Option<String> {
    let o = std::process::Command::new("pdftotext")
        .args(["-layout"])
        .arg(pdf)
        .arg("-")
        .output()
        .ok()?;
    o.status
        .success()
        .then(|| String::from_utf8_lossy(&o.stdout).into_owned())
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
    let tampered = original.replacen("\"accepted\":3", "\"accepted\":0", 1);
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
    assert_eq!(clusters["ap"]["problems"][0]["kind"], "not-verified");
    assert!(
        clusters["ap"]["problems"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("findings.json does not match the SHA-256"),
        "{}",
        clusters["ap"]
    );
    assert_eq!(clusters["stray"]["state"], "not-verified");
    assert!(
        clusters["stray"]["problems"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("manifest.json.sig"),
        "{}",
        clusters["stray"]
    );
    // us is overdue, and the Problems list says so; the totals count what it lists.
    assert!(
        problems_of(&doc, "us", "overdue")[0].contains("58 h ago"),
        "{}",
        clusters["us"]
    );
    assert_eq!(clusters["eu"]["latest"]["timestamp"], Value::Null);
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
    assert_eq!(sp["clusters"][0], "eu");
    assert_eq!(sp["standings"][0]["clusters"][0], "eu");
    assert_eq!(
        sp["standings"][0]["observedAccess"],
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
    assert_eq!(cells[7], "false", "timestamped");
    assert_eq!(
        cells[12],
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

/// Issue 32: `fleet report` judges a time-stamp as `verify` does, one judgement for both. A
/// time-stamped pack without the authority's certificate to check it, or with another
/// authority's, does not verify and is a problem naming the cluster and why; with the right
/// certificate the report shows who time-stamped it and when, in every format.
#[test]
fn a_time_stamped_pack_is_judged_as_verify_judges_it_and_shown() {
    use common::tsa::{LocalTsa, certificate};
    let tsa = LocalTsa::start();
    let keys = tempfile::tempdir().unwrap();
    let (key, signers) = keygen(keys.path(), "fleet-ci");
    let store = tempfile::tempdir().unwrap();
    let s = store.path();
    publish_with(
        s,
        "stamped",
        &key,
        "samples/cluster",
        "2026-11-20T02:00:00Z",
        "samples/inventory.yaml",
        &[
            "--timestamp-authority",
            &tsa.url,
            "--timestamp-authority-certificate",
            tsa.cert.to_str().unwrap(),
        ],
    )
    .assert_ok();
    publish(s, "plain", &key, "samples/cluster", "2026-11-20T02:00:00Z");
    let out = tempfile::tempdir().unwrap();
    let trusted = ["--allowed-signers", signers.to_str().unwrap()];

    // No certificate: verify fails the pack, and so does the fleet report, with verify's words.
    let stamped_pack = s.join(
        serde_json::from_slice::<Value>(&std::fs::read(s.join("stamped/latest.json")).unwrap())
            .unwrap()["path"]
            .as_str()
            .unwrap(),
    );
    let verify = run(
        &[
            "verify",
            stamped_pack.to_str().unwrap(),
            "--allowed-signers",
            signers.to_str().unwrap(),
        ],
        &[],
        &common::repo(),
    );
    assert_eq!(verify.code, 1, "{}", verify.stdout);
    let why = "manifest.json.tsr cannot be checked: no --tsa-certificate was given";
    assert!(verify.stdout.contains(why), "{}", verify.stdout);
    for (name, more) in [("trusted", &trusted[..]), ("untrusted", &[][..])] {
        let o = out.path().join(format!("unchecked-{name}"));
        let r = fleet(s, &o, more);
        assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
        assert!(r.stderr.contains("NOT VERIFIED"), "{}", r.stderr);
        let doc = fleet_json(&o);
        assert_eq!(cluster(&doc, "stamped")["state"], "not-verified");
        let problems = problems_of(&doc, "stamped", "not-verified");
        assert!(problems[0].contains(why), "{problems:?}");
        assert_eq!(cluster(&doc, "plain")["state"], "current");
        assert_eq!(doc["totals"]["notVerified"], 1);
        assert_eq!(doc["totals"]["timestamped"], 0);
        let html = std::fs::read_to_string(o.join("fleet-report.html")).unwrap();
        assert!(html.contains("no --tsa-certificate was given"), "{html}");
    }

    // Another authority's certificate: the token's signature does not verify.
    let other = certificate(tsa.dir.path(), "other");
    let o = out.path().join("wrong");
    let r = fleet(
        s,
        &o,
        &[
            &trusted[..],
            &["--tsa-certificate", other.to_str().unwrap()],
        ]
        .concat(),
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    let doc = fleet_json(&o);
    let problems = problems_of(&doc, "stamped", "not-verified");
    assert!(
        problems[0].contains("manifest.json.tsr: the token's signature does not verify"),
        "{problems:?}"
    );

    // The authority's certificate: time-stamped, by whom and when, in every format.
    let o = out.path().join("checked");
    let r = fleet(
        s,
        &o,
        &[
            &trusted[..],
            &["--tsa-certificate", tsa.cert.to_str().unwrap()],
        ]
        .concat(),
    );
    r.assert_ok();
    assert!(r.stdout.contains("1 time-stamped"), "{}", r.stdout);
    let doc = fleet_json(&o);
    let stamped = cluster(&doc, "stamped");
    assert_eq!(stamped["state"], "current");
    assert!(
        stamped["problems"].as_array().unwrap().is_empty(),
        "{stamped}"
    );
    let ts = &stamped["latest"]["timestamp"];
    assert_eq!(ts["authority"], "CN=tsa", "{ts}");
    let time = ts["time"].as_str().unwrap().to_string();
    // The authority stamps with its own clock, not the time the pack claims.
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    assert!(time.starts_with(&today), "{time}");
    assert_eq!(ts["authorityCertificateSha256"].as_str().unwrap().len(), 64);
    assert_eq!(cluster(&doc, "plain")["latest"]["timestamp"], Value::Null);
    assert_eq!(doc["totals"]["timestamped"], 1);
    assert_eq!(doc["schemaVersion"], 2);
    let csv = std::fs::read_to_string(o.join("fleet-clusters.csv")).unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let row = |c: &str| -> Vec<String> {
        csv.lines()
            .find(|l| l.starts_with(&format!("{c},")))
            .unwrap()
            .split(',')
            .map(str::to_string)
            .collect()
    };
    assert_eq!(row("stamped")[col("timestamped")], "true");
    assert_eq!(row("stamped")[col("timestamp_authority")], "CN=tsa");
    assert!(row("stamped")[col("timestamped_at")].starts_with(&today));
    assert_eq!(row("plain")[col("timestamped")], "false");
    assert_eq!(row("plain")[col("timestamped_at")], "");
    let html = std::fs::read_to_string(o.join("fleet-report.html")).unwrap();
    assert!(
        html.contains("time-stamped ") && html.contains(" by CN=tsa"),
        "{html}"
    );
    assert!(html.contains("not time-stamped"), "{html}");
    if let Some(text) = pdf_text(&o.join("fleet-report.pdf")) {
        assert!(
            text.contains("CN=tsa") && text.contains("not time-stamped"),
            "{text}"
        );
    }
}

/// Issue 32: the Problems section lists every overdue cluster and every cluster whose latest
/// pack is of an incomplete collection, with the reason, and the summary's counts are those of
/// the list.
#[test]
fn overdue_and_incomplete_clusters_are_listed_among_the_problems_and_counted_from_them() {
    let keys = tempfile::tempdir().unwrap();
    let (key, signers) = keygen(keys.path(), "fleet-ci");
    let store = tempfile::tempdir().unwrap();
    let s = store.path();
    publish(s, "fine", &key, "samples/cluster", "2026-11-20T02:00:00Z");
    publish(s, "late", &key, "samples/cluster", "2026-11-17T02:00:00Z");
    // A dump without the Secrets: published, of an incomplete collection (exit 4).
    let partial = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(common::samples().join("cluster")).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name().unwrap() != "80-secrets.yaml" {
            std::fs::copy(&path, partial.path().join(path.file_name().unwrap())).unwrap();
        }
    }
    let r = publish_with(
        s,
        "partial",
        &key,
        partial.path().to_str().unwrap(),
        "2026-11-20T02:00:00Z",
        "samples/inventory.yaml",
        &[],
    );
    assert_eq!(r.code, 4, "{}\n{}", r.stdout, r.stderr);

    let out = tempfile::tempdir().unwrap();
    let o = out.path().join("r");
    let r = fleet(s, &o, &["--allowed-signers", signers.to_str().unwrap()]);
    r.assert_ok();
    let doc = fleet_json(&o);
    assert_eq!(cluster(&doc, "late")["state"], "overdue");
    let late = problems_of(&doc, "late", "overdue");
    assert_eq!(late.len(), 1);
    assert!(
        late[0].contains("82 h ago") && late[0].contains("more than the 36 h"),
        "{late:?}"
    );
    assert_eq!(cluster(&doc, "partial")["state"], "current");
    let incomplete = problems_of(&doc, "partial", "incomplete");
    assert_eq!(incomplete.len(), 1);
    assert!(
        incomplete[0].contains("incomplete collection (KE-COL-001)")
            && incomplete[0].contains("Secret was not collected completely"),
        "{incomplete:?}"
    );
    assert!(
        cluster(&doc, "fine")["problems"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    // The totals are the Problems list counted.
    let t = &doc["totals"];
    for (kind, total) in [
        ("overdue", "overdue"),
        ("incomplete", "incomplete"),
        ("not-verified", "notVerified"),
        ("no-pack", "noPack"),
        ("chain", "chainProblems"),
    ] {
        assert_eq!(
            t[total].as_u64().unwrap() as usize,
            clusters_with(&doc, kind).len(),
            "{kind}"
        );
    }
    assert_eq!(t["overdue"], 1);
    assert_eq!(t["incomplete"], 1);
    assert_eq!(t["current"], 2);
    // The report lists them under Problems, and its summary says the same counts.
    let html = std::fs::read_to_string(o.join("fleet-report.html")).unwrap();
    let problems = &html[html.find(">Problems<").unwrap()..];
    let problems = &problems[..problems.find("</table>").unwrap()];
    assert!(
        problems.contains(">late<") && problems.contains(">overdue<"),
        "{problems}"
    );
    assert!(
        problems.contains(">partial<") && problems.contains(">incomplete<"),
        "{problems}"
    );
    assert!(!problems.contains(">fine<"), "{problems}");
    assert!(
        html.contains("1 overdue (latest pack older than 36 h on a 24 h schedule)")
            && html.contains("1 whose latest pack is of an incomplete collection"),
        "{html}"
    );
    let csv = std::fs::read_to_string(o.join("fleet-clusters.csv")).unwrap();
    let late_row = csv.lines().find(|l| l.starts_with("late,")).unwrap();
    assert!(late_row.contains("overdue: the latest pack"), "{late_row}");
    if let Some(text) = pdf_text(&o.join("fleet-report.pdf")) {
        assert!(
            text.contains("overdue") && text.contains("incomplete"),
            "{text}"
        );
    }
}

/// Issue 32: a sub-processor in several clusters is one line with the clusters it is in, not
/// one identical line per cluster; where a cluster differs (here, its inventory says the review
/// is long overdue), the difference is stated.
#[test]
fn a_sub_processor_in_three_clusters_is_reported_once_with_its_differences() {
    let keys = tempfile::tempdir().unwrap();
    let (key, signers) = keygen(keys.path(), "fleet-ci");
    let store = tempfile::tempdir().unwrap();
    let s = store.path();
    publish(s, "a", &key, "samples/cluster", "2026-11-20T02:00:00Z");
    publish(s, "b", &key, "samples/cluster", "2026-11-20T02:00:00Z");
    let inventory = tempfile::tempdir().unwrap();
    let stale = inventory.path().join("inventory.yaml");
    let text = std::fs::read_to_string(common::samples().join("inventory.yaml")).unwrap();
    let argo = text.find("- id: argo-cd").unwrap();
    let edited = format!(
        "{}{}",
        &text[..argo],
        text[argo..].replacen("lastReviewed: 2026-08-01", "lastReviewed: 2024-08-01", 1)
    );
    assert_ne!(edited, text);
    std::fs::write(&stale, edited).unwrap();
    publish_with(
        s,
        "c",
        &key,
        "samples/cluster",
        "2026-11-20T02:00:00Z",
        stale.to_str().unwrap(),
        &[],
    )
    .assert_ok();

    let out = tempfile::tempdir().unwrap();
    let o = out.path().join("r");
    fleet(s, &o, &["--allowed-signers", signers.to_str().unwrap()]).assert_ok();
    let doc = fleet_json(&o);
    let sps = doc["subProcessors"].as_array().unwrap();
    let ids: Vec<&str> = sps.iter().map(|sp| sp["id"].as_str().unwrap()).collect();
    let unique: BTreeSet<&str> = ids.iter().copied().collect();
    assert_eq!(ids.len(), unique.len(), "each sub-processor once: {ids:?}");
    let sp = |id: &str| sps.iter().find(|sp| sp["id"] == id).unwrap();
    let datadog = sp("datadog");
    assert_eq!(datadog["clusters"], serde_json::json!(["a", "b", "c"]));
    assert_eq!(datadog["standings"].as_array().unwrap().len(), 1);
    assert_eq!(
        datadog["standings"][0]["clusters"],
        serde_json::json!(["a", "b", "c"])
    );
    assert_eq!(datadog["differences"], serde_json::json!([]));
    let argo = sp("argo-cd");
    assert_eq!(argo["clusters"], serde_json::json!(["a", "b", "c"]));
    // An overdue review is a finding as well.
    assert_eq!(
        argo["differences"],
        serde_json::json!(["review", "findings"])
    );
    let standings = argo["standings"].as_array().unwrap();
    assert_eq!(standings.len(), 2);
    assert_eq!(standings[0]["clusters"], serde_json::json!(["a", "b"]));
    assert_eq!(standings[1]["clusters"], serde_json::json!(["c"]));
    assert!(
        standings[1]["review"]
            .as_str()
            .unwrap()
            .starts_with("overdue since"),
        "{argo}"
    );

    // The page: one row per sub-processor, naming its clusters once.
    let html = std::fs::read_to_string(o.join("fleet-report.html")).unwrap();
    let section = &html[html.find(">Sub-processors across the fleet<").unwrap()..];
    let section = &section[..section.find("</table>").unwrap()];
    let name = datadog["name"].as_str().unwrap();
    assert_eq!(section.matches(name).count(), 1, "{section}");
    assert!(section.contains("the same in all 3: "), "{section}");
    assert!(
        section.contains("differs in review, findings:"),
        "{section}"
    );
    assert!(
        section.contains("a, b: ") && section.contains("c: "),
        "{section}"
    );
    // The CSV: one row per sub-processor and standing.
    let csv = std::fs::read_to_string(o.join("fleet-subprocessors.csv")).unwrap();
    let datadog_rows: Vec<&str> = csv.lines().filter(|l| l.starts_with("datadog,")).collect();
    assert_eq!(datadog_rows.len(), 1, "{csv}");
    assert!(datadog_rows[0].contains(",3,a b c,"), "{}", datadog_rows[0]);
    assert_eq!(
        csv.lines().filter(|l| l.starts_with("argo-cd,")).count(),
        2,
        "{csv}"
    );
    if let Some(text) = pdf_text(&o.join("fleet-report.pdf")) {
        assert_eq!(
            text.matches("the same in all 3").count(),
            unique.len() - 1,
            "{text}"
        );
    }
}
