//! Diffs between snapshots and the change population of a period.

use crate::common;
use kube_evidence::rules::RuleId;

use chrono::{DateTime, Utc};
use kube_evidence::controls::Controls;
use kube_evidence::diff::{self, ChangeKind, Diff, GrantChangeKind, Side};
use kube_evidence::snapshot::Snapshot;
use kube_evidence::source::dump::read_dump;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().into()
}

fn dump(dir: &str, when: &str) -> Snapshot {
    read_dump(&common::samples().join(dir), "sample", at(when), "t".into()).unwrap()
}

fn diff_of(old: &Snapshot, new: &Snapshot) -> Diff {
    let assess = |s: &Snapshot| {
        kube_evidence::analysis::assess(&kube_evidence::analysis::AssessmentInput {
            snapshot: s,
            pack_id: None,
            controls: &Controls::builtin(),
            exceptions: &[],
            previous: None,
            schedule_interval_hours: 24,
            image_max_age_days: 180,
            usage: None,
            reviews: None,
            retention: kube_evidence::controls::Retention::not_published(),
        })
    };
    let (a, b) = (assess(old), assess(new));
    diff::compute(
        &Side {
            snapshot: old,
            findings: &a.analysis.findings,
            controls: &a.controls,
            pack_id: Some("old"),
        },
        &Side {
            snapshot: new,
            findings: &b.analysis.findings,
            controls: &b.controls,
            pack_id: Some("new"),
        },
    )
}

#[test]
fn the_samples_week_gives_exactly_the_expected_changes() {
    let d = diff_of(
        &dump("previous", "2026-11-13T02:00:00Z"),
        &dump("cluster", "2026-11-20T02:00:00Z"),
    );
    let objects: Vec<String> = d
        .objects
        .iter()
        .map(|o| {
            format!(
                "{} {} {}{}",
                o.change.as_str(),
                o.kind,
                o.namespace
                    .as_ref()
                    .map(|n| format!("{n}/"))
                    .unwrap_or_default(),
                o.name
            )
        })
        .collect();
    assert_eq!(
        objects,
        vec![
            "changed ClusterRole admin",
            "changed ClusterRole edit",
            "added ClusterRole kubecost-view",
            "added ClusterRole sysdig-agent",
            "changed ClusterRole view",
            "added ClusterRoleBinding oidc:sre-oncall-admin",
            "added ClusterRoleBinding sysdig-agent",
            "added Namespace sysdig-agent",
            "changed Role data/db-reader",
            "removed RoleBinding checkout/checkout-admin-bob",
            "added RoleBinding payments/default-edit",
            "re-created RoleBinding web/web-viewers",
            "added ServiceAccount sysdig-agent/sysdig-agent",
        ]
    );
    let db = d.objects.iter().find(|o| o.name == "db-reader").unwrap();
    assert_eq!(
        db.details,
        vec!["rule added: get secrets [core] names=pg-main-app"]
    );
    let view = d.objects.iter().find(|o| o.name == "view").unwrap();
    assert!(
        view.details
            .contains(&"rule added: get,list secrets [core]".to_string())
    );
    // grants: privileged first, provenance on the side where the grant exists
    assert!(d.grants.first().unwrap().privileged);
    let first_unprivileged = d.grants.iter().position(|g| !g.privileged).unwrap();
    assert!(d.grants[first_unprivileged..].iter().all(|g| !g.privileged));
    let sre = d
        .grants
        .iter()
        .find(|g| {
            g.subject.to_string() == "Group:oidc:sre"
                && g.change == GrantChangeKind::Gained
                && g.risk_rules.contains(&"KE-RBAC-001".to_string())
        })
        .unwrap();
    assert_eq!(sre.grant.binding.name, "oidc:sre-oncall-admin");
    assert!(sre.risk_rules.contains(&"KE-RBAC-001".to_string()));
    let bob = d
        .grants
        .iter()
        .find(|g| g.subject.to_string() == "User:oidc:bob@example.com")
        .unwrap();
    assert_eq!(bob.change, GrantChangeKind::Lost);
    assert_eq!(
        bob.grant.binding.name, "checkout-admin-bob",
        "a lost grant keeps its old provenance"
    );
    // everyone bound to view gained Secret reads through the aggregation
    let auditors = d
        .grants
        .iter()
        .find(|g| {
            g.subject.to_string() == "Group:oidc:auditors"
                && g.grant.rule.resources == vec!["secrets"]
        })
        .unwrap();
    assert_eq!(auditors.grant.source_role.as_deref(), Some("kubecost-view"));
    // re-creating the binding changes nothing; its grants change only with the view role
    assert!(
        d.grants
            .iter()
            .filter(|g| g.grant.binding.name == "web-viewers")
            .all(|g| g.change == GrantChangeKind::Gained
                && g.grant.source_role.as_deref() == Some("kubecost-view"))
    );
    // findings and controls
    assert!(
        d.findings
            .new
            .iter()
            .any(|f| f.rule_id == RuleId::Rbac001 && f.summary.contains("oidc:sre"))
    );
    // bob's admin in one namespace was population, never a finding: its loss is a grant
    // change (above), not a resolved finding.
    assert!(
        !d.findings
            .resolved
            .iter()
            .any(|f| f.summary.contains("oidc:bob@example.com"))
    );
    assert!(d.collection.is_empty());
    assert!(d.sub_processors.is_empty());
    // new privileged grants become change findings
    let chg = diff::change_findings(&d);
    assert!(
        chg.iter()
            .any(|f| f.subjects[0].to_string() == "Group:oidc:sre")
    );
    assert!(
        !chg.iter()
            .any(|f| f.subjects[0].to_string() == "User:oidc:bob@example.com"),
        "losing access is not a new privileged grant"
    );
}

#[test]
fn identical_snapshots_and_metadata_noise_give_an_empty_diff() {
    let a = dump("cluster", "2026-11-20T02:00:00Z");
    assert!(diff_of(&a, &a).is_empty());
    let mut b = a.clone();
    for r in &mut b.cluster_roles {
        r.metadata.resource_version = Some("99999".into());
        r.metadata.creation_timestamp = Some("2030-01-01T00:00:00Z".into());
        r.metadata
            .annotations
            .insert("deployment.kubernetes.io/revision".into(), "7".into());
    }
    for rb in &mut b.role_bindings {
        rb.metadata.resource_version = None;
    }
    b.taken_at = at("2026-11-21T02:00:00Z");
    assert!(diff_of(&a, &b).is_empty(), "{:#?}", diff_of(&a, &b).objects);
}

#[test]
fn recreated_objects_are_reported_once_as_recreated() {
    let a = dump("cluster", "2026-11-20T02:00:00Z");
    let mut b = a.clone();
    b.cluster_role_bindings
        .iter_mut()
        .find(|x| x.metadata.name == "velero")
        .unwrap()
        .metadata
        .uid = Some("new-uid".into());
    let d = diff_of(&a, &b);
    assert_eq!(d.objects.len(), 1);
    assert_eq!(d.objects[0].change, ChangeKind::Recreated);
    assert!(d.grants.is_empty());
    assert!(d.findings.new.is_empty() && d.findings.resolved.is_empty());
}

#[test]
fn a_role_edit_changes_the_grants_of_every_subject_bound_to_it() {
    let a = dump("cluster", "2026-11-20T02:00:00Z");
    let mut b = a.clone();
    let role = b
        .cluster_roles
        .iter_mut()
        .find(|r| r.metadata.name == "node-debugger")
        .unwrap();
    role.rules.push(kube_evidence::snapshot::PolicyRule {
        verbs: vec!["get".into()],
        api_groups: vec!["".into()],
        resources: vec!["secrets".into()],
        ..Default::default()
    });
    let d = diff_of(&a, &b);
    let gained: Vec<String> = d
        .grants
        .iter()
        .filter(|g| g.change == GrantChangeKind::Gained)
        .map(|g| g.subject.to_string())
        .collect();
    assert_eq!(
        gained,
        vec!["Group:oidc:sre"],
        "every subject bound to node-debugger"
    );
    assert!(d.grants[0].privileged);
    let mut c = a.clone();
    let view = c
        .cluster_roles
        .iter_mut()
        .find(|r| r.metadata.name == "system:aggregate-to-view")
        .unwrap();
    view.rules
        .retain(|r| !r.resources.contains(&"pods".to_string()));
    let d = diff_of(&a, &c);
    let lost: std::collections::BTreeSet<String> = d
        .grants
        .iter()
        .filter(|g| g.change == GrantChangeKind::Lost)
        .map(|g| g.subject.to_string())
        .collect();
    for s in [
        "Group:oidc:auditors",
        "Group:oidc:team-web-readonly",
        "Group:oidc:team-payments",
        "User:oidc:carol@example.com",
    ] {
        assert!(
            lost.contains(s),
            "{s} is bound to view, edit or admin, which aggregate the edited role: {lost:?}"
        );
    }
}

#[test]
fn collection_and_sub_processor_changes() {
    let a = dump("cluster", "2026-11-20T02:00:00Z");
    let mut b = a.clone();
    let k = b.collector.kinds.get_mut("Secret").unwrap();
    k.status = kube_evidence::snapshot::CollectionStatus::Forbidden;
    let mut inv = kube_evidence::inventory::load_file(
        &common::samples().join("inventory.yaml"),
        a.taken_at.date_naive(),
    )
    .unwrap();
    let mut a2 = a.clone();
    a2.inventory = Some(inv.clone());
    inv.sub_processors.retain(|e| e.id != "newrelic");
    inv.sub_processors
        .iter_mut()
        .find(|e| e.id == "datadog")
        .unwrap()
        .last_reviewed = Some(chrono::NaiveDate::from_ymd_opt(2026, 11, 19).unwrap());
    b.inventory = Some(inv);
    let d = diff_of(&a2, &b);
    assert_eq!(d.collection.len(), 1);
    assert!(d.collection[0].degraded, "readable before, forbidden now");
    let sp: Vec<String> = d
        .sub_processors
        .iter()
        .map(|s| format!("{} {}", s.change.as_str(), s.id))
        .collect();
    assert_eq!(sp, vec!["changed datadog", "removed newrelic"]);
    assert!(
        d.sub_processors[0].details[0].starts_with("last reviewed: 2026-09-15 -> 2026-11-19"),
        "{:?}",
        d.sub_processors[0].details
    );
}

fn run_day(out: &std::path::Path, day: &str) {
    common::run(
        &[
            "run",
            "--config",
            "samples/config.yaml",
            "--out",
            out.to_str().unwrap(),
        ],
        &[
            ("KUBE_EVIDENCE_NOW", &format!("{day}T02:00:00Z")),
            ("KUBE_EVIDENCE_LOG_LEVEL", "warn"),
        ],
        &common::repo(),
    )
    .assert_ok();
}

/// `changes` over the sample cluster's week of 16 to 20 November, the morning after.
fn sample_week_changes(store: &std::path::Path, extra: &[&str]) -> common::Run {
    let mut args = vec![
        "changes",
        "--store",
        store.to_str().unwrap(),
        "--cluster",
        "sample-prod-eu-1",
        "--from",
        "2026-11-16",
        "--to",
        "2026-11-20",
    ];
    args.extend_from_slice(extra);
    common::run(
        &args,
        &[("KUBE_EVIDENCE_NOW", "2026-11-21T01:00:00Z")],
        &common::repo(),
    )
}

#[test]
fn packs_carry_their_diff_and_the_period_population_reports_gaps() {
    let out = tempfile::tempdir().unwrap();
    for day in ["2026-11-16", "2026-11-17", "2026-11-19", "2026-11-20"] {
        run_day(out.path(), day);
    }
    // the first pack says plainly that it is the baseline
    let first = common::files_under(out.path())
        .into_iter()
        .find(|f| f.contains("/2026/11/16/") && f.ends_with("diff.json"))
        .unwrap();
    let d: Diff = serde_json::from_slice(&std::fs::read(out.path().join(&first)).unwrap()).unwrap();
    assert!(d.baseline && d.from.is_none());
    let r = sample_week_changes(out.path(), &["--format", "json"]);
    r.assert_ok();
    let p: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(p["packs"].as_array().unwrap().len(), 4);
    let gaps = p["gaps"].as_array().unwrap();
    assert_eq!(gaps.len(), 1, "{gaps:#?}");
    assert_eq!(gaps[0]["kind"], "missing-runs");
    assert!(
        gaps[0]["description"]
            .as_str()
            .unwrap()
            .contains("about 1 scheduled run(s) missing")
    );
    assert!(r.stderr.contains("gap: "), "gaps are shown, not hidden");
    // the same cluster every night: no object or grant changes; only verdicts move (controls
    // that need a previous pack, the gap finding and its resolution), each exactly once
    let changes = p["changes"].as_array().unwrap();
    assert!(
        changes
            .iter()
            .all(|c| ["control-status", "finding-new", "finding-resolved"]
                .contains(&c["changeType"].as_str().unwrap())),
        "{changes:#?}"
    );
    let gap_new: Vec<&serde_json::Value> = changes
        .iter()
        .filter(|c| {
            c["permissionOrObject"]
                .as_str()
                .unwrap()
                .contains("KE-COL-002")
        })
        .collect();
    assert_eq!(
        gap_new.len(),
        2,
        "the gap finding appears on the 19th and is resolved on the 20th: {gap_new:#?}"
    );
    let keys: std::collections::BTreeSet<String> = changes
        .iter()
        .map(|c| {
            format!(
                "{}|{}|{}",
                c["firstSeenPack"], c["changeType"], c["permissionOrObject"]
            )
        })
        .collect();
    assert_eq!(keys.len(), changes.len(), "no change counted twice");

    // deleting the middle pack breaks the chain and is reported
    let day19 = out.path().join("sample-prod-eu-1/packs/2026/11/19");
    std::fs::remove_dir_all(&day19).unwrap();
    let r = sample_week_changes(out.path(), &[]);
    r.assert_ok();
    assert!(
        r.stdout
            .starts_with("first_seen_pack,window_from,window_to,change_type,")
    );
    assert!(r.stdout.contains("gap-broken-link"), "{}", r.stdout);
    assert!(
        r.stdout.contains("which is not in the store"),
        "{}",
        r.stdout
    );

    // What is read back from an older pack is checked against its manifest: a recorded diff or
    // findings.json altered in place (same size) is named, never used and never skipped.
    let day17 = common::pack_dirs(&out.path().join("sample-prod-eu-1/packs/2026/11/17"));
    assert_eq!(day17.len(), 1);
    common::flip_middle_byte(&day17[0].join("diff.json"));
    let r = sample_week_changes(out.path(), &[]);
    assert_ne!(r.code, 0, "{}", r.stdout);
    assert!(
        r.stderr
            .contains("diff.json does not match the SHA-256 its manifest records"),
        "{}",
        r.stderr
    );
    // An index rebuilt from the packs (here because it was lost; the nightly update describes
    // only packs it has not described before) says which pack's findings it could not trust.
    common::flip_middle_byte(&day17[0].join("findings.json"));
    std::fs::remove_file(out.path().join("sample-prod-eu-1/index.json")).unwrap();
    run_day(out.path(), "2026-11-21");
    let index: serde_json::Value = serde_json::from_slice(
        &std::fs::read(out.path().join("sample-prod-eu-1/index.json")).unwrap(),
    )
    .unwrap();
    let entry = index["packs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["path"].as_str().unwrap().contains("/2026/11/17/"))
        .expect("the altered pack is still listed");
    assert!(
        entry["problem"]
            .as_str()
            .unwrap()
            .contains("findings.json does not match the SHA-256 its manifest records"),
        "{entry:#}"
    );
    assert_eq!(entry["openFindings"], serde_json::json!({}), "{entry:#}");
}

#[test]
fn a_change_is_attributed_to_the_pack_that_first_saw_it() {
    let out = tempfile::tempdir().unwrap();
    // week one: the previous state; week two: today's
    common::run(
        &[
            "run",
            "--source",
            "samples/previous",
            "--out",
            out.path().to_str().unwrap(),
            "--unsigned",
            "--cluster-name",
            "c",
            "--inventory",
            "samples/inventory.yaml",
        ],
        &[("KUBE_EVIDENCE_NOW", "2026-11-19T02:00:00Z")],
        &common::repo(),
    )
    .assert_ok();
    common::run(
        &[
            "run",
            "--source",
            "samples/cluster",
            "--out",
            out.path().to_str().unwrap(),
            "--unsigned",
            "--cluster-name",
            "c",
            "--inventory",
            "samples/inventory.yaml",
        ],
        &[("KUBE_EVIDENCE_NOW", "2026-11-20T02:00:00Z")],
        &common::repo(),
    )
    .assert_ok();
    let r = common::run(
        &[
            "changes",
            "--store",
            out.path().to_str().unwrap(),
            "--cluster",
            "c",
            "--from",
            "2026-11-19",
            "--to",
            "2026-11-20",
        ],
        &[("KUBE_EVIDENCE_NOW", "2026-11-20T03:00:00Z")],
        &common::repo(),
    );
    r.assert_ok();
    let mut rdr = csv::Reader::from_reader(r.stdout.as_bytes());
    let rows: Vec<csv::StringRecord> = rdr.records().map(|x| x.unwrap()).collect();
    let sre: Vec<&csv::StringRecord> = rows
        .iter()
        .filter(|r| &r[3] == "grant-gained" && &r[4] == "Group:oidc:sre")
        .collect();
    assert!(!sre.is_empty());
    assert!(
        sre.iter().all(|r| r[0].starts_with("20261120T020000000Z")),
        "first seen in the second pack"
    );
    assert!(rows.iter().any(|r| &r[3] == "object-re-created"));
    // the pack's own changes.csv has the same rows
    let pack_csv = common::files_under(out.path())
        .into_iter()
        .find(|f| f.contains("/2026/11/20/") && f.ends_with("changes.csv"))
        .unwrap();
    let own = std::fs::read_to_string(out.path().join(pack_csv)).unwrap();
    assert_eq!(own.lines().count() - 1, rows.len());
}

#[test]
fn the_diff_command_prints_table_json_and_csv() {
    for (format, check) in [
        ("table", "Effective grants"),
        ("json", "\"grants\""),
        ("csv", "window_from,window_to,change_type"),
    ] {
        let r = common::run(
            &[
                "diff",
                "samples/previous",
                "samples/cluster",
                "--format",
                format,
            ],
            &[("KUBE_EVIDENCE_NOW", "2026-11-20T02:00:00Z")],
            &common::repo(),
        );
        r.assert_ok();
        assert!(
            r.stdout.contains(check),
            "{format}: {}",
            &r.stdout[..r.stdout.len().min(400)]
        );
    }
    let same = common::run(
        &["diff", "samples/cluster", "samples/cluster"],
        &[],
        &common::repo(),
    );
    same.assert_ok();
    assert!(same.stdout.contains("no changes"));
}

/// A dump records no collection time. Its files' modification times are the wall clock of
/// whoever copied them (two dumps came out "to" before "from", and the same input gave other
/// bytes), so a diff of dumps dates both by the run's clock (`KUBE_EVIDENCE_NOW`) and says so.
#[test]
fn a_diff_of_dumps_is_dated_by_the_runs_clock_and_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    for (sample, side, when) in [
        ("previous", "old", "2026-11-08 10:00:00 UTC"),
        ("cluster", "new", "2026-11-01 10:00:00 UTC"),
    ] {
        let dir = tmp.path().join(side);
        std::fs::create_dir(&dir).unwrap();
        for entry in std::fs::read_dir(common::repo().join("samples").join(sample)).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), dir.join(entry.file_name())).unwrap();
        }
        let touched = std::process::Command::new("find")
            .arg(&dir)
            .args(["-type", "f", "-exec", "touch", "-d", when, "{}", "+"])
            .status()
            .unwrap();
        assert!(touched.success());
    }
    let diff = |format: &str| {
        common::run(
            &[
                "diff",
                tmp.path().join("old").to_str().unwrap(),
                tmp.path().join("new").to_str().unwrap(),
                "--format",
                format,
            ],
            &[("KUBE_EVIDENCE_NOW", "2026-12-01T00:00:00Z")],
            &common::repo(),
        )
    };
    let r = diff("table");
    r.assert_ok();
    let first = r.stdout.lines().next().unwrap();
    assert!(
        first.contains("(no collection time; dated 2026-12-01T00:00:00+00:00 by the run's clock)"),
        "{first}"
    );
    assert!(
        !r.stdout.contains("2026-11-0"),
        "file times leaked: {}",
        r.stdout
    );
    let json: serde_json::Value = serde_json::from_str(&diff("json").stdout).unwrap();
    assert_eq!(json["from"]["collectedAt"], json["to"]["collectedAt"]);
    assert!(
        json["from"]["source"]
            .as_str()
            .unwrap()
            .starts_with("dump:")
    );
}
