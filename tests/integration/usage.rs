//! The audit log in the pack, end to end through the binary: the hand-made logs of the sample
//! cluster (tests/fixtures/audit/make.py says what each holds) produce every usage finding and
//! every coverage rule; the record rolls over from the verified previous pack; the numbers of the
//! report are recomputed from the log and usage.json.gz; a log that cannot be used stops the run.

use crate::common;

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const FIRST_NIGHT: &str = "2026-11-25T02:00:00Z";
const NEXT_NIGHT: &str = "2026-11-26T02:00:00Z";

fn fixture(name: &str) -> PathBuf {
    common::repo().join("tests/fixtures/audit").join(name)
}

fn run_with_log(out: &Path, log: &Path, now: &str, more: &[&str]) -> common::Run {
    let mut args = vec!["--audit-log", log.to_str().unwrap()];
    args.extend_from_slice(more);
    common::sample_run(out, "samples/cluster", now, &args, &[])
}

fn json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A gzip-compressed file, decompressed.
fn gunzip(path: &Path) -> Vec<u8> {
    let gz = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut out)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    out
}

/// The pack's rolling usage record (`usage.json.gz`).
fn usage_json(pack: &Path) -> Value {
    let path = pack.join("usage.json.gz");
    serde_json::from_slice(&gunzip(&path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn findings_of<'a>(doc: &'a Value, rule: &str) -> Vec<&'a Value> {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["ruleId"] == rule)
        .collect()
}

fn summaries(doc: &Value, rule: &str) -> Vec<String> {
    findings_of(doc, rule)
        .iter()
        .map(|f| f["summary"].as_str().unwrap().to_string())
        .collect()
}

fn one_with<'a>(doc: &'a Value, rule: &str, needle: &str) -> &'a Value {
    let hits: Vec<&Value> = findings_of(doc, rule)
        .into_iter()
        .filter(|f| f["summary"].as_str().unwrap().contains(needle))
        .collect();
    assert_eq!(
        hits.len(),
        1,
        "{rule} with `{needle}`: {:#?}",
        summaries(doc, rule)
    );
    hits[0]
}

#[test]
fn the_first_night_finds_every_kind_of_use_and_says_what_the_log_covers() {
    let out = tempfile::tempdir().unwrap();
    run_with_log(out.path(), &fixture("sample"), FIRST_NIGHT, &[]).assert_ok();
    let pack = &common::pack_dirs(out.path())[0];
    let doc = json(&pack.join("findings.json"));

    // Anomalies against the baseline of 2026-11-23 (the log's earlier day: a first run).
    one_with(
        &doc,
        "KE-USE-003",
        "ServiceAccount:datadog/datadog-agent made requests from 10.0.9.99",
    );
    one_with(
        &doc,
        "KE-USE-004",
        "ServiceAccount:logging/fluent-bit made 624 requests on 2026-11-24",
    );
    one_with(
        &doc,
        "KE-USE-005",
        "ServiceAccount:kyverno/kyverno-reports-controller was denied 15",
    );
    let secrets = one_with(
        &doc,
        "KE-USE-006",
        "ServiceAccount:external-secrets/external-secrets",
    );
    assert_eq!(secrets["subProcessor"], "external-secrets");
    let refused = one_with(
        &doc,
        "KE-USE-009",
        "ServiceAccount:datadog/datadog-agent was denied reading Secrets 1 time(s) (get) in payments",
    );
    assert_eq!(refused["subProcessor"], "datadog");
    one_with(
        &doc,
        "KE-USE-007",
        "ServiceAccount:web/batch-runner made 3 request(s) (3 denied)",
    );
    one_with(
        &doc,
        "KE-USE-008",
        "legacy-deployer used pods/exec 1 time(s) in checkout",
    );
    one_with(
        &doc,
        "KE-USE-008",
        "external-secrets used serviceaccounts/token",
    );
    // Coverage: the gap of 11-23, the malformed line by file:line. The event in flight (a
    // request at ResponseStarted with no outcome yet) is normal and no problem of the log.
    let col = one_with(&doc, "KE-COL-003", "1 gap(s)");
    let text = col["summary"].as_str().unwrap();
    assert!(
        text.contains("from 2026-11-23 11:51 UTC to 2026-11-23 15:00 UTC"),
        "{text}"
    );
    let bad_line = std::fs::read_to_string(fixture("sample/audit.log"))
        .unwrap()
        .lines()
        .position(|l| l.contains("truncated"))
        .unwrap()
        + 1;
    assert!(text.contains(&format!("audit.log:{bad_line}:")), "{text}");
    assert!(!text.contains("ResponseComplete"), "{text}");

    // Unused access, qualified by the two days of log: alice used pods (the `*` rule of
    // cluster-admin) but not the non-resource rule; the claim is not one of 90 days.
    let alice = one_with(
        &doc,
        "KE-USE-001",
        "User:oidc:alice@example.com did not use 1 of the 2",
    );
    let text = alice["summary"].as_str().unwrap();
    assert!(text.contains("breakglass-alice"), "{text}");
    assert!(
        text.contains("2 day(s) of audit log seen so far")
            && text.contains("not yet evidence of 90 days"),
        "{text}"
    );
    // A used rule is never reported unused: datadog's nodes/proxy and pods rules were used.
    let datadog = one_with(
        &doc,
        "KE-USE-001",
        "ServiceAccount:datadog/datadog-agent did not use 3 of the 5",
    );
    assert_eq!(datadog["subProcessor"], "datadog");
    let basis = &doc["assessmentBasis"]["auditWindow"];
    assert_eq!(
        (basis["daysSeen"].as_u64(), basis["daysRequired"].as_u64()),
        (Some(2), Some(86))
    );
    // The controls that rest on the log say why they cannot conclude over the window yet.
    let cc72 = doc["controls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "CC7.2")
        .unwrap();
    assert!(
        cc72.to_string()
            .contains("covers 2 of the 90 days of the usage window"),
        "{cc72:#}"
    );

    check_numbers_against_the_log_and_usage_json(pack, &doc);
    let html = std::fs::read_to_string(pack.join("report.html")).unwrap();
    let start = html
        .find("<section id=\"usage\">")
        .expect("a usage section");
    let end = start + html[start..].find("</section>").unwrap() + "</section>".len();
    insta::assert_snapshot!("usage_section", &html[start..end]);
    let roles: Vec<String> = common::files_under(pack)
        .into_iter()
        .filter(|f| f.starts_with("suggested-roles/user.oidc-alice"))
        .collect();
    assert_eq!(roles.len(), 1, "{roles:?}");
    let yaml = std::fs::read_to_string(pack.join(&roles[0])).unwrap();
    assert!(
        yaml.contains("kind: Role\n")
            && yaml.contains("namespace: \"web\"")
            && yaml.contains("resources: [\"pods\"]\n  verbs: [\"get\"]"),
        "{yaml}"
    );
    common::run(
        &["verify", "--allow-unsigned", pack.to_str().unwrap()],
        &[],
        &common::repo(),
    )
    .assert_ok();
}

/// Every number the usage section states comes from usage.json.gz, and that from the log.
fn check_numbers_against_the_log_and_usage_json(pack: &Path, doc: &Value) {
    // The log, counted here independently: distinct (auditID, stage) of the lines that parse.
    let text = std::fs::read_to_string(fixture("sample/audit.log")).unwrap();
    let mut seen = BTreeSet::new();
    let (mut malformed, mut duplicates) = (0, 0);
    for line in text.lines() {
        match serde_json::from_str::<Value>(line) {
            Ok(e) => {
                if !seen.insert((e["auditID"].to_string(), e["stage"].to_string())) {
                    duplicates += 1;
                }
            }
            Err(_) => malformed += 1,
        }
    }
    let log = &doc["usage"]["log"];
    assert_eq!(log["events"].as_u64().unwrap(), seen.len() as u64);
    assert_eq!(log["malformed"].as_u64().unwrap(), malformed);
    assert_eq!(log["duplicates"].as_u64().unwrap(), duplicates);

    let usage = usage_json(pack);
    let mut per_subject: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut uses = 0;
    for (subject, list) in usage["subjects"].as_object().unwrap() {
        for u in list.as_array().unwrap() {
            let slot = per_subject.entry(subject.clone()).or_default();
            slot.0 += u["count"].as_u64().unwrap();
            slot.1 += u["denied"].as_u64().unwrap();
            uses += 1;
        }
    }
    // A request is one use, counted at its outcome: the events at ResponseComplete or Panic.
    let outcomes = seen
        .iter()
        .filter(|(_, stage)| stage == "\"ResponseComplete\"" || stage == "\"Panic\"")
        .count() as u64;
    assert_eq!(log["requests"].as_u64().unwrap(), outcomes);
    let all: u64 = per_subject.values().map(|(c, _)| c).sum();
    assert_eq!(all, outcomes, "every request is one use");
    for row in doc["usage"]["subjects"].as_array().unwrap() {
        let subject: kube_evidence::rbac::SubjectRef =
            serde_json::from_value(row["subject"].clone()).unwrap();
        if matches!(subject, kube_evidence::rbac::SubjectRef::Group { .. }) {
            continue;
        }
        let (count, denied) = per_subject.get(&subject.key()).copied().unwrap_or_default();
        assert_eq!(row["requests"].as_u64().unwrap(), count, "{subject}");
        assert_eq!(row["denied"].as_u64().unwrap(), denied, "{subject}");
        let unused = row["unused"].as_array().unwrap().len() as u64;
        assert_eq!(
            row["grantsHeld"].as_u64().unwrap() - row["grantsUsed"].as_u64().unwrap(),
            unused,
            "{subject}"
        );
    }
    // Unused grants in the table are exactly the grants of the unused-access findings.
    let in_rows: usize = doc["usage"]["subjects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["unused"].as_array().unwrap().len())
        .sum();
    let in_findings: usize = ["KE-USE-001", "KE-USE-002"]
        .iter()
        .flat_map(|r| findings_of(doc, r))
        .map(|f| {
            f["grants"]
                .as_array()
                .unwrap()
                .iter()
                .map(|g| {
                    g["rules"].as_array().unwrap().len() * g["bindings"].as_array().unwrap().len()
                })
                .sum::<usize>()
        })
        .sum();
    assert_eq!(in_rows, in_findings);
    let csv = String::from_utf8(gunzip(&pack.join("usage.csv.gz"))).unwrap();
    assert_eq!(
        csv.lines().count() - 1,
        uses,
        "usage.csv.gz has a row per use"
    );
}

#[test]
fn the_next_night_continues_the_verified_record_and_a_tampered_one_stops_the_run() {
    let out = tempfile::tempdir().unwrap();
    run_with_log(out.path(), &fixture("sample"), FIRST_NIGHT, &[]).assert_ok();
    run_with_log(out.path(), &fixture("sample-next"), NEXT_NIGHT, &[]).assert_ok();
    let packs = common::pack_dirs(out.path());
    let (first, next) = (usage_json(&packs[0]), usage_json(&packs[1]));
    assert_eq!(next["daysSeen"].as_array().unwrap().len(), 3);
    let count = |doc: &Value| -> u64 {
        doc["subjects"]["ServiceAccount:datadog/datadog-agent"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|u| u["verb"] == "list" && u["resource"] == "pods")
            .map(|u| u["count"].as_u64().unwrap())
            .sum()
    };
    // 24 hours of six lists, and the one from the new address.
    assert_eq!(count(&next), count(&first) + 24 * 6 + 1);
    let doc = json(&packs[1].join("findings.json"));
    assert!(
        summaries(&doc, "KE-USE-003").is_empty(),
        "10.0.9.99 is in the baseline now: {:?}",
        summaries(&doc, "KE-USE-003")
    );
    let diff = json(&packs[1].join("diff.json"));
    assert!(
        diff.to_string().contains("KE-USE-003"),
        "the resolved anomaly shows in the diff"
    );

    let changes = &diff["usage"];
    let used: Vec<&str> = changes["newlyUsed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        used.iter().any(|g| g.starts_with("ServiceAccount:cert-manager/cert-manager: ClusterRoleBinding cert-manager-controller-issuers")),
        "{used:#?}"
    );
    assert!(
        changes
            .get("newlyUnused")
            .is_none_or(|v| v.as_array().unwrap().is_empty()),
        "{changes:#}"
    );

    // The previous pack's usage.json.gz changed after publishing: the next run refuses to build
    // on it.
    common::flip_middle_byte(&packs[1].join("usage.json.gz"));
    let r = run_with_log(
        out.path(),
        &fixture("sample-next"),
        "2026-11-27T02:00:00Z",
        &[],
    );
    assert_ne!(r.code, 0, "{}", r.stdout);
    assert!(
        r.stderr
            .contains("usage.json.gz does not match the SHA-256"),
        "{}",
        r.stderr
    );
    assert_eq!(
        common::pack_dirs(out.path()).len(),
        2,
        "nothing was published"
    );
}

#[test]
fn the_pack_carries_the_record_and_its_rows_compressed() {
    let out = tempfile::tempdir().unwrap();
    run_with_log(out.path(), &fixture("sample"), FIRST_NIGHT, &[]).assert_ok();
    let pack = &common::pack_dirs(out.path())[0];
    let manifest = json(&pack.join("manifest.json"));
    let listed: BTreeMap<&str, &str> = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap(),
                f["mediaType"].as_str().unwrap(),
            )
        })
        .collect();
    for name in ["usage.json.gz", "usage.csv.gz", "usage-night.json.gz"] {
        assert_eq!(listed.get(name), Some(&"application/gzip"), "{listed:#?}");
    }
    for name in ["usage.json", "usage.csv"] {
        assert!(!listed.contains_key(name), "{name} is no longer written");
        assert!(!pack.join(name).exists(), "{name}");
    }
    // The header names no file and no time: the same record gives the same bytes.
    let gz = std::fs::read(pack.join("usage.json.gz")).unwrap();
    assert_eq!(&gz[..2], &[0x1f, 0x8b]);
    assert_eq!(gz[3] & 0x08, 0, "no file name in the gzip header");
    assert_eq!(&gz[4..8], &[0, 0, 0, 0], "no time in the gzip header");
    // They decompress to the record (JSON) and its rows (CSV, a row per use).
    let record = usage_json(pack);
    let uses: usize = record["subjects"]
        .as_object()
        .unwrap()
        .values()
        .map(|l| l.as_array().unwrap().len())
        .sum();
    assert!(uses > 0);
    let rows = gunzip(&pack.join("usage.csv.gz"));
    let mut reader = csv::Reader::from_reader(&rows[..]);
    assert_eq!(&reader.headers().unwrap()[0], "subject");
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), uses);
    assert!(
        records
            .iter()
            .any(|r| &r[0] == "ServiceAccount:datadog/datadog-agent"),
        "the rows name the record's subjects"
    );
    // Another run of the same night writes the same bytes.
    let again = tempfile::tempdir().unwrap();
    run_with_log(again.path(), &fixture("sample"), FIRST_NIGHT, &[]).assert_ok();
    let pack_again = &common::pack_dirs(again.path())[0];
    for name in ["usage.json.gz", "usage.csv.gz"] {
        assert_eq!(
            std::fs::read(pack.join(name)).unwrap(),
            std::fs::read(pack_again.join(name)).unwrap(),
            "{name} is deterministic"
        );
    }
}

/// Re-publishes the pack `dir` into the store `to` as a kube-evidence from before the usage
/// record was compressed wrote it: `usage.json` and `usage.csv`, uncompressed, in its manifest.
fn publish_as_before_compression(dir: &Path, to: &Path) {
    use kube_evidence::pack::{self, Manifest, PackFile};
    let manifest =
        Manifest::from_bytes(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    let files: Vec<PackFile> = manifest
        .files
        .iter()
        .map(|f| {
            let bytes = std::fs::read(dir.join(&f.path)).unwrap();
            match f.path.as_str() {
                "usage.json.gz" => {
                    PackFile::new("usage.json", gunzip(&dir.join(&f.path)), "application/json")
                }
                "usage.csv.gz" => PackFile::new(
                    "usage.csv",
                    gunzip(&dir.join(&f.path)),
                    "text/csv; charset=utf-8",
                ),
                _ => {
                    let media: &'static str = Box::leak(f.media_type.clone().into_boxed_str());
                    PackFile::new(f.path.clone(), bytes, media)
                }
            }
        })
        .collect();
    let old = pack::assemble(manifest, files);
    let store = kube_evidence::store::local::LocalStore::new(to);
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(pack::publish(&store, &old))
        .unwrap();
}

#[test]
fn a_run_continues_the_record_of_a_pack_from_before_it_was_compressed() {
    let (now, older) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    run_with_log(now.path(), &fixture("sample"), FIRST_NIGHT, &[]).assert_ok();
    let first = common::pack_dirs(now.path()).remove(0);
    publish_as_before_compression(&first, older.path());
    let old = common::pack_dirs(older.path()).remove(0);
    assert!(old.join("usage.json").exists() && !old.join("usage.json.gz").exists());
    assert_eq!(
        json(&old.join("usage.json")),
        usage_json(&first),
        "the same record, uncompressed"
    );
    // Each store's next night: the one over the older pack continues its record exactly as the
    // one over the current pack does.
    for store in [now.path(), older.path()] {
        run_with_log(store, &fixture("sample-next"), NEXT_NIGHT, &[]).assert_ok();
    }
    let (next, next_over_old) = (
        common::pack_dirs(now.path()).remove(1),
        common::pack_dirs(older.path()).remove(1),
    );
    let continued = usage_json(&next_over_old);
    assert_eq!(continued["continued"], true, "{}", continued["log"]);
    assert_eq!(continued["daysSeen"].as_array().unwrap().len(), 3);
    assert_eq!(continued, usage_json(&next));
    assert!(next_over_old.join("usage.json.gz").exists());
    // The chain verifies across the upgrade, and both packs re-perform: the older one from its
    // usage.json, the newer one from its usage.json.gz and the older one's usage.json.
    let cli = |args: &[&str]| {
        common::run(
            args,
            &[("KUBE_EVIDENCE_NOW", "2026-11-27T00:00:00Z")],
            &common::repo(),
        )
    };
    let store = older.path().to_str().unwrap();
    cli(&[
        "verify",
        store,
        "--cluster",
        "sample-prod-eu-1",
        "--chain",
        "--allow-unsigned",
    ])
    .assert_ok();
    for pack in [&old, &next_over_old] {
        let r = cli(&["reperform", pack.to_str().unwrap(), "--allow-unsigned"]);
        r.assert_ok();
        assert!(r.stdout.contains("RE-PERFORMED"), "{}", r.stdout);
    }
}

#[test]
fn access_that_falls_out_of_the_window_is_newly_unused_in_the_diff() {
    let out = tempfile::tempdir().unwrap();
    run_with_log(out.path(), &fixture("sample"), FIRST_NIGHT, &[]).assert_ok();
    // A two-day window on 11-26 keeps 11-25 and drops the first night's 11-24, when
    // external-secrets minted a token and read a Secret.
    run_with_log(
        out.path(),
        &fixture("sample-next"),
        NEXT_NIGHT,
        &["--usage-window-days", "2"],
    )
    .assert_ok();
    let packs = common::pack_dirs(out.path());
    let diff = json(&packs[1].join("diff.json"));
    let unused: Vec<&str> = diff["usage"]["newlyUnused"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        unused
            .iter()
            .any(|g| g.starts_with("ServiceAccount:external-secrets/external-secrets: ")),
        "{unused:#?}"
    );
    let html = std::fs::read_to_string(packs[1].join("report.html")).unwrap();
    assert!(html.contains("Access no longer used in the window"));
}

#[test]
fn a_covered_window_claims_non_use_over_the_window() {
    let out = tempfile::tempdir().unwrap();
    // The window ends on the day of the run: a run at the end of 11-24 has both days of log in a
    // two-day window (one at 02:00 on 11-25 would have one of two).
    run_with_log(
        out.path(),
        &fixture("sample"),
        "2026-11-24T23:59:00Z",
        &["--usage-window-days", "2"],
    )
    .assert_ok();
    let doc = json(&common::pack_dirs(out.path())[0].join("findings.json"));
    let alice = one_with(&doc, "KE-USE-001", "User:oidc:alice@example.com");
    assert!(
        alice["summary"]
            .as_str()
            .unwrap()
            .ends_with("on any of the 2 days of audit log seen in the 2-day window"),
        "{alice:#}"
    );
}

#[test]
fn without_an_audit_log_the_controls_that_need_one_say_why() {
    let out = tempfile::tempdir().unwrap();
    common::sample_run(out.path(), "samples/cluster", FIRST_NIGHT, &[], &[]).assert_ok();
    let pack = &common::pack_dirs(out.path())[0];
    let doc = json(&pack.join("findings.json"));
    assert!(doc.get("usage").is_none());
    assert!(
        !doc["findings"].to_string().contains("KE-USE-"),
        "no usage finding without a log"
    );
    assert!(!pack.join("usage.json.gz").exists());
    for id in ["CC7.2", "A.8.16"] {
        let c = doc["controls"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap();
        // Other findings may already decide the control against; it is never satisfied.
        assert_ne!(c["status"], "satisfied", "{c:#}");
        assert!(
            c.to_string()
                .contains("no Kubernetes audit log was analysed"),
            "{c:#}"
        );
    }
}

#[test]
fn a_log_of_mostly_bad_lines_stops_the_run_with_where_they_are() {
    let out = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read_to_string(fixture("sample/audit.log")).unwrap();
    let mut lines: Vec<&str> = good.lines().take(50).collect();
    lines.insert(3, "not an event");
    lines.insert(7, "{\"kind\":\"Pod\",\"apiVersion\":\"v1\"}");
    let log = dir.path().join("audit.log");
    std::fs::write(&log, lines.join("\n")).unwrap();
    let r = run_with_log(out.path(), &log, FIRST_NIGHT, &[]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("2 of 52 lines"), "{}", r.stderr);
    assert!(
        r.stderr.contains("audit.log:4:") && r.stderr.contains("audit.log:8:"),
        "{}",
        r.stderr
    );
    assert!(
        common::pack_dirs(out.path()).is_empty(),
        "nothing was published"
    );
    // The share is a setting: allowed, the run goes on and names them in the pack.
    run_with_log(
        out.path(),
        &log,
        FIRST_NIGHT,
        &["--audit-log-max-malformed-percent", "5"],
    )
    .assert_ok();
    let doc = json(&common::pack_dirs(out.path())[0].join("findings.json"));
    assert_eq!(doc["usage"]["log"]["malformed"], 2);
}

#[test]
fn an_empty_log_concludes_nothing_about_use_and_says_so() {
    let out = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.log");
    std::fs::write(&log, "").unwrap();
    run_with_log(out.path(), &log, FIRST_NIGHT, &[]).assert_ok();
    let pack = &common::pack_dirs(out.path())[0];
    let doc = json(&pack.join("findings.json"));
    for rule in ["KE-USE-001", "KE-USE-002"] {
        assert!(
            summaries(&doc, rule).is_empty(),
            "{rule}: {:?}",
            summaries(&doc, rule)
        );
    }
    one_with(&doc, "KE-COL-003", "no audit event at all in 1 file(s)");
    let html = std::fs::read_to_string(pack.join("report.html")).unwrap();
    assert!(html.contains("The log has no event in the window"));
}

#[test]
fn usage_answers_for_one_subject_on_demand() {
    let r = common::run(
        &[
            "usage",
            "ServiceAccount:datadog/datadog-agent",
            "--audit-log",
            fixture("sample").to_str().unwrap(),
            "--source",
            "samples/cluster",
        ],
        &[("KUBE_EVIDENCE_NOW", FIRST_NIGHT)],
        &common::repo(),
    );
    r.assert_ok();
    assert!(
        r.stdout
            .contains("317 request(s), 1 denied, on 2 of the 90 days"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("yes (45)"), "{}", r.stdout);
    assert!(
        r.stdout.contains("resources: [\"nodes/proxy\"]"),
        "{}",
        r.stdout
    );
}

/// A request as the vendor's agent would make it, with its token, from `source` (a loopback
/// address: the API server listens on 127.0.0.1 and Linux routes all of 127/8 to it).
fn agent_request(
    plane: &common::controlplane::ControlPlane,
    token: &str,
    path: &str,
    source: &str,
) -> u16 {
    let out = std::process::Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--interface",
            source,
            "--cacert",
            plane.ca_file.to_str().unwrap(),
            "-H",
            &format!("Authorization: Bearer {token}"),
            &format!("{}{path}", plane.url),
        ])
        .output()
        .expect("curl runs");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0)
}

#[test]
#[ignore = "needs the control plane binaries tests/run.sh builds"]
fn a_real_audit_log_shows_what_a_sub_processor_used_and_what_it_did_not() {
    use common::controlplane::{self as cp, ControlPlane};
    use serde_json::json;
    let plane = ControlPlane::start();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let client = rt.block_on(plane.client());
    // A vendor's agent: it reads pods and one Secret, and holds nodes and configmaps it never uses.
    let objects = vec![
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "acme"}}),
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "acme-agent", "namespace": "acme"}}),
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "acme-license", "namespace": "acme"}, "stringData": {"key": "k"}}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "acme-agent"},
        "rules": [
            {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]},
            {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]},
            {"apiGroups": [""], "resources": ["nodes"], "verbs": ["list"]},
            {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}
        ]}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "acme-agent"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "acme-agent"},
            "subjects": [{"kind": "ServiceAccount", "name": "acme-agent", "namespace": "acme"}]}),
    ];
    rt.block_on(cp::apply_all(&client, &objects, false))
        .unwrap();
    let token = rt.block_on(cp::service_account_token(&client, "acme", "acme-agent"));
    assert_eq!(
        agent_request(&plane, &token, "/api/v1/pods", "127.0.0.1"),
        200
    );
    assert_eq!(
        agent_request(
            &plane,
            &token,
            "/api/v1/namespaces/acme/secrets/acme-license",
            "127.0.0.1"
        ),
        200
    );
    // Denied: the role has no deployments.
    assert_eq!(
        agent_request(&plane, &token, "/apis/apps/v1/deployments", "127.0.0.1"),
        403
    );
    // Denied: a list of Secrets (its role gets Secrets, it never lists them).
    assert_eq!(
        agent_request(
            &plane,
            &token,
            "/api/v1/namespaces/kube-system/secrets",
            "127.0.0.1"
        ),
        403
    );
    // The same list from a second address.
    assert_eq!(
        agent_request(&plane, &token, "/api/v1/pods", "127.0.0.2"),
        200
    );

    let dir = tempfile::tempdir().unwrap();
    let inventory = dir.path().join("inventory.yaml");
    std::fs::write(
        &inventory,
        "apiVersion: kube-evidence.io/v1\nkind: SubProcessorInventory\nsubProcessors:\n- id: acme\n  name: Acme Agent\n  vendor: Acme, Inc.\n  purpose: Monitoring\n  owner: sre@example.com\n  dataCategories: [metrics]\n  contract: {dpaSigned: 2026-01-01, renewal: 2027-12-31}\n  identities:\n    namespaces: [acme]\n    serviceAccounts: [acme/acme-agent]\n  declaredAccess:\n    level: read-only\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    let r = common::run(
        &[
            "run",
            "--source",
            "cluster",
            "--kubeconfig",
            plane.kubeconfig.to_str().unwrap(),
            "--cluster-name",
            "live",
            "--inventory",
            inventory.to_str().unwrap(),
            "--audit-log",
            plane.audit_log.to_str().unwrap(),
            "--unsigned",
            "--out",
            out.to_str().unwrap(),
        ],
        &[("KUBE_EVIDENCE_LOG_LEVEL", "warn")],
        &common::repo(),
    );
    r.assert_ok();
    let pack = &common::pack_dirs(&out)[0];
    let doc = json(&pack.join("findings.json"));
    let secrets = one_with(
        &doc,
        "KE-USE-006",
        "ServiceAccount:acme/acme-agent read Secrets 1 time(s) (get) in acme",
    );
    assert_eq!(secrets["subProcessor"], "acme");
    let denied = one_with(
        &doc,
        "KE-USE-009",
        "ServiceAccount:acme/acme-agent was denied reading Secrets 1 time(s) (list) in kube-system",
    );
    assert_eq!(denied["subProcessor"], "acme");
    // It holds Secret reads, so its binding is privileged: the unused rules are KE-USE-001.
    let unused = one_with(
        &doc,
        "KE-USE-001",
        "ServiceAccount:acme/acme-agent did not use 2 of the 4 rule(s)",
    );
    // The rules named (by position in the snapshot's stored ClusterRole) are the unused ones.
    let snapshot =
        kube_evidence::snapshot::read_snapshot_file(&pack.join("snapshot.json.gz")).unwrap();
    let role = snapshot
        .cluster_roles
        .iter()
        .find(|r| r.metadata.name == "acme-agent")
        .unwrap();
    let named: BTreeSet<String> = unused["grants"][0]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let n: usize = r
                .as_str()
                .unwrap()
                .trim_start_matches("rule ")
                .parse()
                .unwrap();
            role.rules[n - 1].resources.join(",")
        })
        .collect();
    assert_eq!(named, BTreeSet::from(["configmaps".into(), "nodes".into()]));
    let row = doc["usage"]["subjects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["subject"]["name"] == "acme-agent")
        .unwrap();
    assert_eq!(
        (row["grantsHeld"].as_u64(), row["grantsUsed"].as_u64()),
        (Some(4), Some(2))
    );
    assert_eq!(
        (row["requests"].as_u64(), row["denied"].as_u64()),
        (Some(5), Some(2))
    );
    let usage = usage_json(pack);
    let pods = usage["subjects"]["ServiceAccount:acme/acme-agent"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["resource"] == "pods" && u["verb"] == "list")
        .unwrap()
        .clone();
    assert_eq!(pods["count"], 2);
    assert_eq!(pods["sourceIps"], json!(["127.0.0.1", "127.0.0.2"]));
    assert!(
        doc["usage"]["log"]["events"].as_u64().unwrap() > 4,
        "the control plane's own requests too"
    );
}

#[test]
#[ignore = "needs the S3 server tests/run.sh starts"]
fn an_exported_log_in_a_bucket_reads_as_the_same_log() {
    use common::s3;
    use std::io::Write;
    let env = s3::shared();
    let prefix = s3::unique_prefix("audit-export");
    let text = std::fs::read(fixture("sample/audit.log")).unwrap();
    // As exports write it: the log split into gzip objects, and an upload still in progress.
    let half = text.len() / 2
        + text[text.len() / 2..]
            .iter()
            .position(|b| *b == b'\n')
            .unwrap()
        + 1;
    let client = s3::client(&env);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for (name, part) in [
        ("2026/11/24/part-1.json.gz", &text[..half]),
        ("2026/11/24/part-2.json.gz", &text[half..]),
    ] {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(part).unwrap();
        let body = gz.finish().unwrap();
        rt.block_on(
            client
                .put_object()
                .bucket(&env.bucket)
                .key(format!("{prefix}/{name}"))
                .body(body.into())
                .send(),
        )
        .unwrap();
    }
    rt.block_on(
        client
            .put_object()
            .bucket(&env.bucket)
            .key(format!("{prefix}/2026/11/24/.part-3.json.gz"))
            .body(b"partial".to_vec().into())
            .send(),
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    let url = format!("s3://{}/{prefix}", env.bucket);
    let vars = s3::cli_env(&env);
    let mut env_refs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    env_refs.push(("KUBE_EVIDENCE_S3_ENDPOINT", &env.endpoint));
    common::sample_run(
        out.path(),
        "samples/cluster",
        FIRST_NIGHT,
        &["--audit-log", &url],
        &env_refs,
    )
    .assert_ok();
    let from_bucket = json(&common::pack_dirs(out.path())[0].join("findings.json"));
    let local = tempfile::tempdir().unwrap();
    run_with_log(local.path(), &fixture("sample"), FIRST_NIGHT, &[]).assert_ok();
    let from_file = json(&common::pack_dirs(local.path())[0].join("findings.json"));
    let ids = |doc: &Value| -> Vec<String> {
        doc["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["ruleId"].as_str().unwrap().starts_with("KE-USE-"))
            .map(|f| f["id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(ids(&from_bucket), ids(&from_file));
    assert_eq!(
        from_bucket["usage"]["log"]["events"],
        from_file["usage"]["log"]["events"]
    );
    assert_eq!(from_bucket["usage"]["log"]["files"], 2);
}

/// One event of `user` reading Secrets in `namespace` at `at`, as the API server writes it.
fn secret_read(id: &str, user: &str, namespace: &str, at: &str) -> String {
    serde_json::json!({
        "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata",
        "auditID": id, "stage": "ResponseComplete", "verb": "get",
        "requestURI": format!("/api/v1/namespaces/{namespace}/secrets/db"),
        "user": {"username": user, "groups": ["system:authenticated"]},
        "sourceIPs": ["10.0.3.3"], "userAgent": "kubectl/1.35",
        "objectRef": {"resource": "secrets", "namespace": namespace, "name": "db", "apiVersion": "v1"},
        "responseStatus": {"code": 200, "metadata": {}},
        "requestReceivedTimestamp": at, "stageTimestamp": at,
        "annotations": {"authorization.k8s.io/decision": "allow"}
    })
    .to_string()
}

/// Issue 30: an event dated in the future (a forged line, or an API server whose clock is
/// ahead) never marks a grant used, and one from before the window says nothing about it; both
/// are counted, the files they came from are named, and the record is trimmed at both ends, so
/// 120 days on nothing of them is left.
#[test]
fn events_dated_after_the_run_or_before_the_window_are_counted_never_used() {
    let out = tempfile::tempdir().unwrap();
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("log");
    std::fs::create_dir_all(&log).unwrap();
    std::fs::copy(fixture("sample/audit.log"), log.join("audit.log")).unwrap();
    // carol holds admin in `web` and uses none of it in the sample log.
    let carol = "oidc:carol@example.com";
    std::fs::write(
        log.join("audit-ahead.log"),
        format!(
            "{}\n{}\n",
            secret_read("f-1", carol, "web", "2099-01-01T00:00:00Z"),
            // Within the five-minute allowance: used.
            secret_read(
                "f-2",
                "oidc:alice@example.com",
                "web",
                "2026-11-25T02:04:00Z"
            )
        ),
    )
    .unwrap();
    std::fs::write(
        log.join("audit-old.log"),
        format!(
            "{}\n{}\n",
            secret_read("o-1", carol, "web", "2026-01-01T00:00:00Z"),
            // No user name: an anomaly of the log, never a subject `User:`.
            secret_read("n-1", "", "web", "2026-11-24T12:00:00Z")
        ),
    )
    .unwrap();
    run_with_log(out.path(), &log, FIRST_NIGHT, &[]).assert_ok();
    let pack = &common::pack_dirs(out.path())[0];
    let doc = json(&pack.join("findings.json"));
    let carol_usage = doc["usage"]["subjects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["subject"]["kind"] == "User" && s["subject"]["name"] == carol)
        .unwrap_or_else(|| panic!("carol is not in usage: {:#}", doc["usage"]["subjects"]));
    assert_eq!(carol_usage["requests"], 0, "{carol_usage:#}");
    assert_eq!(carol_usage["grantsUsed"], 0, "{carol_usage:#}");
    assert!(carol_usage.get("lastRequest").is_none(), "{carol_usage:#}");
    let log_summary = &doc["usage"]["log"];
    assert_eq!(log_summary["afterRun"], 1);
    assert_eq!(log_summary["beforeWindow"], 1);
    assert!(
        log_summary["notUsed"]
            .to_string()
            .contains("1 event(s) with no user name"),
        "{log_summary:#}"
    );
    let usage = usage_json(pack);
    let ahead = &usage["log"]["clockDisagreements"];
    assert_eq!(ahead.as_array().unwrap().len(), 1, "{ahead:#}");
    assert!(
        ahead[0]["part"]
            .as_str()
            .unwrap()
            .ends_with("audit-ahead.log")
    );
    assert_eq!(ahead[0]["latest"], "2099-01-01T00:00:00Z");
    assert_eq!(usage["log"]["accepted"]["runAt"], FIRST_NIGHT);
    assert!(
        !usage.to_string().contains("\"lastSeen\":\"2099"),
        "never in the record"
    );
    assert_eq!(usage["log"]["withoutUser"], 1);
    assert!(
        usage["subjects"].get("User:").is_none(),
        "a nameless requester is not a subject"
    );
    // The allowance: alice's event four minutes after the run is used.
    assert!(
        usage["subjects"]["User:oidc:alice@example.com"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["lastSeen"] == "2026-11-25T02:04:00Z")
    );
    let col = one_with(&doc, "KE-COL-003", "dated after the run");
    assert!(
        col["summary"].as_str().unwrap().contains("audit-ahead.log"),
        "the file whose clock disagrees is named: {col:#}"
    );
    let html = std::fs::read_to_string(pack.join("report.html")).unwrap();
    assert!(
        html.contains("1 event(s) dated after the run"),
        "the report says it"
    );

    // 120 days on, with a log of that night only: nothing of 2099 or of the old event is left.
    let later = logs.path().join("later.log");
    std::fs::write(
        &later,
        secret_read(
            "l-1",
            "oidc:alice@example.com",
            "web",
            "2027-03-25T01:00:00Z",
        ) + "\n",
    )
    .unwrap();
    run_with_log(out.path(), &later, "2027-03-25T02:00:00Z", &[]).assert_ok();
    let pack = common::pack_dirs(out.path()).pop().unwrap();
    let usage = usage_json(&pack);
    assert!(!usage.to_string().contains("2099"), "{usage:#}");
    let doc = json(&pack.join("findings.json"));
    let carol_usage = doc["usage"]["subjects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["subject"]["kind"] == "User" && s["subject"]["name"] == carol)
        .unwrap();
    assert_eq!(carol_usage["grantsUsed"], 0, "{carol_usage:#}");
}

/// Issue 32: an impersonated request is the impersonated identity's request, as RBAC decided
/// it, and a use of the requester's own `impersonate` grant, as the API server authorised it
/// first: the requester's grant is used (never suggested for removal) and KE-USE-008 names the
/// impersonation, which real logs never write as a verb of its own.
#[test]
fn an_impersonated_request_credits_the_impersonator_and_the_impersonated() {
    let out = tempfile::tempdir().unwrap();
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("log");
    std::fs::create_dir_all(&log).unwrap();
    std::fs::copy(fixture("sample/audit.log"), log.join("audit.log")).unwrap();
    let mut lines = String::new();
    for (i, at) in ["2026-11-24T10:00:00Z", "2026-11-24T11:00:00Z"]
        .iter()
        .enumerate()
    {
        let event = serde_json::json!({
            "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata",
            "auditID": format!("imp-{i}"), "stage": "ResponseComplete", "verb": "list",
            "requestURI": "/api/v1/namespaces/web/pods",
            "user": {"username": "system:serviceaccount:velero:velero",
                     "groups": ["system:serviceaccounts", "system:serviceaccounts:velero", "system:authenticated"]},
            "impersonatedUser": {"username": "oidc:carol@example.com", "groups": ["system:authenticated"]},
            "sourceIPs": ["10.0.9.9"], "userAgent": "velero/1.15",
            "objectRef": {"resource": "pods", "namespace": "web", "apiVersion": "v1"},
            "responseStatus": {"code": 200, "metadata": {}},
            "requestReceivedTimestamp": at, "stageTimestamp": at,
            "annotations": {"authorization.k8s.io/decision": "allow"}
        });
        lines.push_str(&format!("{event}\n"));
    }
    std::fs::write(log.join("audit-impersonation.log"), lines).unwrap();
    run_with_log(out.path(), &log, FIRST_NIGHT, &[]).assert_ok();
    let pack = &common::pack_dirs(out.path())[0];
    let doc = json(&pack.join("findings.json"));
    one_with(&doc, "KE-USE-008", "velero used impersonation 2 time(s)");
    let usage = usage_json(pack);
    let velero = usage["subjects"]["ServiceAccount:velero/velero"]
        .as_array()
        .unwrap_or_else(|| panic!("{:#}", usage["subjects"]));
    assert!(
        velero
            .iter()
            .any(|u| u["verb"] == "impersonate" && u["resource"] == "users"),
        "{velero:#?}"
    );
    // carol's own request: a list of pods in web, allowed through her admin grant there.
    let carol = usage["subjects"]["User:oidc:carol@example.com"]
        .as_array()
        .unwrap();
    assert!(
        carol
            .iter()
            .any(|u| u["verb"] == "list" && u["resource"] == "pods")
    );
    // velero's cluster-admin resource rule (`*` on `*`, which grants impersonation) is used;
    // only its non-resource rule is left unused.
    let row = doc["usage"]["subjects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["subject"]["name"] == "velero" && s["subject"]["namespace"] == "velero")
        .unwrap();
    assert_eq!(row["grantsUsed"], 1, "{row:#}");
    one_with(
        &doc,
        "KE-USE-001",
        "velero/velero did not use 1 of the 2 rule(s)",
    );
}

/// A SubjectAccessReview of `user` (a ServiceAccount's username) for a resource request.
fn review(
    rt: &tokio::runtime::Runtime,
    client: &kube::Client,
    user: &str,
    (verb, group, resource, namespace, name): (&str, &str, &str, &str, &str),
) -> bool {
    use common::controlplane as cp;
    let ns = user.split(':').nth(2).unwrap_or_default();
    let body = serde_json::json!({
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SubjectAccessReview",
        "spec": {
            "user": user,
            "groups": ["system:serviceaccounts", format!("system:serviceaccounts:{ns}"), "system:authenticated"],
            "resourceAttributes": {"verb": verb, "group": group, "resource": resource, "namespace": namespace, "name": name}
        }
    });
    let answer = rt
        .block_on(cp::request(
            client,
            "POST",
            "/apis/authorization.k8s.io/v1/subjectaccessreviews",
            Some(&body),
            "application/json",
        ))
        .unwrap();
    answer["status"]["allowed"] == true
}

/// The suggested roles, applied in place of the grants they narrow, still allow every request the
/// log allowed (SubjectAccessReview on the real API server) and deny what the grants allowed
/// beyond it: other names than the grant's resourceNames, verbs never used, resources a wildcard
/// covered, namespaces a cluster-wide grant reached.
#[test]
#[ignore = "needs the control plane binaries tests/run.sh builds"]
fn suggested_roles_allow_what_the_log_allowed_and_nothing_wider_than_the_grants() {
    use common::controlplane::{self as cp, ControlPlane};
    use serde_json::json;
    let plane = ControlPlane::start();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let client = rt.block_on(plane.client());
    let rbac = "rbac.authorization.k8s.io/v1";
    let objects = vec![
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}),
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "app", "namespace": "shop"}}),
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "app-config", "namespace": "shop"}, "data": {"a": "1"}}),
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "other-config", "namespace": "shop"}, "data": {"a": "1"}}),
        // Names kept: get and update of one ConfigMap; only get is used.
        json!({"apiVersion": rbac, "kind": "Role", "metadata": {"name": "app-config", "namespace": "shop"},
            "rules": [{"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["app-config"], "verbs": ["get", "update"]}]}),
        json!({"apiVersion": rbac, "kind": "RoleBinding", "metadata": {"name": "app-config", "namespace": "shop"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "app-config"},
            "subjects": [{"kind": "ServiceAccount", "name": "app", "namespace": "shop"}]}),
        // A wildcard of the apps group, cluster-wide, used to list deployments in shop alone; and
        // pods read everywhere, used in shop alone.
        json!({"apiVersion": rbac, "kind": "ClusterRole", "metadata": {"name": "app-wide"},
            "rules": [{"apiGroups": ["apps"], "resources": ["*"], "verbs": ["*"]},
                      {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}]}),
        json!({"apiVersion": rbac, "kind": "ClusterRoleBinding", "metadata": {"name": "app-wide"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "app-wide"},
            "subjects": [{"kind": "ServiceAccount", "name": "app", "namespace": "shop"}]}),
    ];
    rt.block_on(cp::apply_all(&client, &objects, false))
        .unwrap();
    let token = rt.block_on(cp::service_account_token(&client, "shop", "app"));
    // The workload: what it does, and what the server answered.
    let script = [
        ("/api/v1/namespaces/shop/configmaps/app-config", 200),
        ("/apis/apps/v1/namespaces/shop/deployments", 200),
        ("/api/v1/namespaces/shop/pods", 200),
        ("/api/v1/namespaces/kube-system/secrets", 403),
    ];
    for (path, code) in script {
        assert_eq!(
            agent_request(&plane, &token, path, "127.0.0.1"),
            code,
            "{path}"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let inventory = dir.path().join("inventory.yaml");
    std::fs::write(
        &inventory,
        "apiVersion: kube-evidence.io/v1\nkind: SubProcessorInventory\nsubProcessors:\n- id: shop\n  name: Shop App\n  vendor: Shop, Inc.\n  purpose: Orders\n  owner: sre@example.com\n  dataCategories: [orders]\n  contract: {dpaSigned: 2026-01-01, renewal: 2027-12-31}\n  identities:\n    namespaces: [shop]\n    serviceAccounts: [shop/app]\n  declaredAccess:\n    level: cluster-wide-write\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    let r = common::run(
        &[
            "run",
            "--source",
            "cluster",
            "--kubeconfig",
            plane.kubeconfig.to_str().unwrap(),
            "--cluster-name",
            "live",
            "--inventory",
            inventory.to_str().unwrap(),
            "--audit-log",
            plane.audit_log.to_str().unwrap(),
            "--unsigned",
            "--out",
            out.to_str().unwrap(),
        ],
        &[("KUBE_EVIDENCE_LOG_LEVEL", "warn")],
        &common::repo(),
    );
    r.assert_ok();
    let pack = &common::pack_dirs(&out)[0];
    let file = pack.join("suggested-roles/serviceaccount.shop.app.yaml");
    let text = std::fs::read_to_string(&file)
        .unwrap_or_else(|e| panic!("{e}: {:?}", common::files_under(pack)));
    assert!(text.contains("resourceNames: [\"app-config\"]"), "{text}");
    let suggested = cp::objects_in(&file);
    let kinds: BTreeSet<&str> = suggested
        .iter()
        .filter_map(|o| o["kind"].as_str())
        .collect();
    // Everything was used inside shop: a Role there, bound, and no cluster-wide role at all.
    assert_eq!(kinds, BTreeSet::from(["Role", "RoleBinding"]), "{text}");

    // The suggestion in place of the grants it narrows.
    rt.block_on(cp::apply_all(&client, &suggested, false))
        .unwrap();
    for path in [
        "/apis/rbac.authorization.k8s.io/v1/namespaces/shop/rolebindings/app-config",
        "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/app-wide",
    ] {
        rt.block_on(cp::request(
            &client,
            "DELETE",
            path,
            None,
            "application/json",
        ))
        .unwrap();
    }
    let user = "system:serviceaccount:shop:app";
    let allowed_by_the_log = [
        ("get", "", "configmaps", "shop", "app-config"),
        ("list", "apps", "deployments", "shop", ""),
        ("list", "", "pods", "shop", ""),
    ];
    for request in allowed_by_the_log {
        assert!(
            review(&rt, &client, user, request),
            "denied under the suggestion: {request:?}\n{text}"
        );
    }
    let wider_than_the_use = [
        ("get", "", "configmaps", "shop", "other-config"),
        ("update", "", "configmaps", "shop", "app-config"),
        ("update", "", "configmaps", "shop", "other-config"),
        ("delete", "apps", "deployments", "shop", "web"),
        ("list", "apps", "statefulsets", "shop", ""),
        ("list", "apps", "deployments", "kube-system", ""),
        ("list", "", "pods", "kube-system", ""),
        ("watch", "", "pods", "shop", ""),
        ("list", "", "secrets", "kube-system", ""),
    ];
    for request in wider_than_the_use {
        assert!(
            !review(&rt, &client, user, request),
            "allowed under the suggestion: {request:?}\n{text}"
        );
    }
}

/// The rolling record of a chain, without what only says how it was read.
fn record_of(pack: &Path) -> Value {
    let doc = usage_json(pack);
    serde_json::json!({
        "daysSeen": doc["daysSeen"],
        "subjects": doc["subjects"],
        "activity": doc["activity"],
    })
}

/// A rotation directory read night after night, as docs/deploy.md has the CronJob do: last
/// night's active file is there again tonight, renamed and compressed, with the lines written
/// after last night's run; each request still counts once. The record equals the chain that was
/// given each night's new lines alone, and the run says what it skipped.
#[test]
fn a_rotation_directory_read_every_night_counts_each_request_once() {
    use std::io::Write;
    let night1 = std::fs::read(fixture("sample").join("audit.log")).unwrap();
    let night2 = std::fs::read(fixture("sample-next").join("audit.log")).unwrap();
    // Last night's run saw the file up to a line being written.
    let cut = 40;
    // Rotation happens between lines.
    let half = night2[..night2.len() / 2]
        .iter()
        .rposition(|b| *b == b'\n')
        .unwrap()
        + 1;
    let (late, tonight) = night2.split_at(half);
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    std::fs::write(
        logs.join("audit.log"),
        [night1.as_slice(), &night2[..cut]].concat(),
    )
    .unwrap();
    let rotated = dir.path().join("rotated");
    run_with_log(&rotated, &logs, FIRST_NIGHT, &[]).assert_ok();
    // Rotated at some point of the day: the old file, with what was written after the run,
    // compressed under a new name; a new active file.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&[night1.as_slice(), late].concat()).unwrap();
    std::fs::write(
        logs.join("audit-2026-11-25T12-00-00.000.log.gz"),
        gz.finish().unwrap(),
    )
    .unwrap();
    std::fs::write(logs.join("audit.log"), tonight).unwrap();
    run_with_log(&rotated, &logs, NEXT_NIGHT, &[]).assert_ok();

    let apart = dir.path().join("apart");
    run_with_log(&apart, &fixture("sample"), FIRST_NIGHT, &[]).assert_ok();
    run_with_log(&apart, &fixture("sample-next"), NEXT_NIGHT, &[]).assert_ok();
    let (rotated_packs, apart_packs) = (common::pack_dirs(&rotated), common::pack_dirs(&apart));
    assert_eq!(record_of(&rotated_packs[1]), record_of(&apart_packs[1]));
    let log = &usage_json(&rotated_packs[1])["log"];
    assert_eq!(log["resumedParts"], 1, "{log:#}");
    assert_eq!(
        log["resumedBytes"].as_u64(),
        Some(night1.len() as u64),
        "{log:#}"
    );
    // The findings agree too (the anomalies judged on the same record).
    let ids = |pack: &Path| -> BTreeSet<String> {
        json(&pack.join("findings.json"))["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["ruleId"].as_str().unwrap().starts_with("KE-USE"))
            .map(|f| f["id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(ids(&rotated_packs[1]), ids(&apart_packs[1]));
}
