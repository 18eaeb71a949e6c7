//! What the store and the outputs may be trusted with (issue 30; docs/threat-model.md): a local
//! store never follows a link, listing included, and no command writes its output into a store
//! or a pack — each refusal names the file, and nothing is written or published first.

use crate::common::{self, Run};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Runs the binary like [`common::run`], but kills it after `limit`: a hang is a failure here,
/// not a stuck test run.
fn run_within(limit: Duration, args: &[&str], env: &[(&str, &str)]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let (out, err) = (dir.path().join("out"), dir.path().join("err"));
    let mut cmd = Command::new(common::bin());
    cmd.args(args)
        .current_dir(common::repo())
        .stdout(Stdio::from(std::fs::File::create(&out).unwrap()))
        .stderr(Stdio::from(std::fs::File::create(&err).unwrap()));
    for (k, _) in std::env::vars() {
        if k.starts_with("KUBE_EVIDENCE_") {
            cmd.env_remove(k);
        }
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "`kube-evidence {}` did not finish within {limit:?}",
                args.join(" ")
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Run {
        code: status.code().unwrap_or(-1),
        stdout: std::fs::read_to_string(out).unwrap(),
        stderr: std::fs::read_to_string(err).unwrap(),
    }
}

fn verify(pack: &Path) -> Run {
    common::run(
        &["verify", pack.to_str().unwrap(), "--allow-unsigned"],
        &[],
        &common::repo(),
    )
}

#[test]
fn links_in_a_local_store_are_refused_by_name_and_never_walked() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    common::sample_run(&store, "samples/previous", "2026-11-19T02:00:00Z", &[], &[]).assert_ok();
    let cluster = store.join("sample-prod-eu-1");
    // Two links to their own directory: walking them never ends.
    std::os::unix::fs::symlink(".", cluster.join("packs/x")).unwrap();
    std::os::unix::fs::symlink(".", cluster.join("packs/2026/y")).unwrap();
    let before = common::files_under(&store);

    let store_arg = store.to_str().unwrap();
    let publish = run_within(
        Duration::from_secs(120),
        &[
            "run",
            "--source",
            "samples/cluster",
            "--out",
            store_arg,
            "--unsigned",
            "--cluster-name",
            "sample-prod-eu-1",
        ],
        &[("KUBE_EVIDENCE_NOW", "2026-11-20T02:00:00Z")],
    );
    assert_ne!(publish.code, 0, "{}", publish.stdout);
    assert!(
        publish.stderr.contains("symbolic link") && publish.stderr.contains("packs/x")
            || publish.stderr.contains("packs/2026/y"),
        "the refusal names the link: {}",
        publish.stderr
    );
    assert!(
        publish.stderr.contains("never follows links")
            && publish.stderr.contains("nothing was published"),
        "{}",
        publish.stderr
    );
    assert_eq!(
        common::files_under(&store),
        before,
        "a failed run leaves the store as it was"
    );

    // Under reviews/, the campaigns' folder.
    std::fs::create_dir_all(cluster.join("reviews")).unwrap();
    std::os::unix::fs::symlink(".", cluster.join("reviews/loop")).unwrap();
    let status = run_within(
        Duration::from_secs(60),
        &[
            "review",
            "status",
            "--store",
            store_arg,
            "--cluster",
            "sample-prod-eu-1",
        ],
        &[(
            "KUBE_EVIDENCE_SIGNING_KEY_FILE",
            common::pack_key().0.to_str().unwrap(),
        )],
    );
    assert_ne!(status.code, 0, "{}", status.stdout);
    assert!(
        status.stderr.contains("reviews/loop") && status.stderr.contains("symbolic link"),
        "{}",
        status.stderr
    );

    // A link that leads out of the store is not read through either.
    let outside = dir.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::remove_file(cluster.join("packs/x")).unwrap();
    std::fs::remove_file(cluster.join("packs/2026/y")).unwrap();
    std::fs::remove_file(cluster.join("reviews/loop")).unwrap();
    let latest = cluster.join("latest.json");
    std::fs::rename(&latest, outside.join("latest.json")).unwrap();
    std::os::unix::fs::symlink(outside.join("latest.json"), &latest).unwrap();
    let v = run_within(
        Duration::from_secs(60),
        &["verify", store_arg, "--cluster", "sample-prod-eu-1"],
        &[],
    );
    assert_ne!(v.code, 0, "{}", v.stdout);
    assert!(
        v.stderr.contains("latest.json") || v.stdout.contains("latest.json"),
        "{}{}",
        v.stdout,
        v.stderr
    );
}

#[test]
fn no_command_writes_its_output_into_a_store_or_a_pack() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let packs = common::sample_chain(&store);
    let pack = packs.last().unwrap();
    let store_arg = store.to_str().unwrap();
    let before = common::files_under(&store);
    let now = [("KUBE_EVIDENCE_NOW", "2026-11-20T12:00:00Z")];
    let refused = |r: &Run, path: &Path, what: &str| {
        assert_eq!(r.code, 2, "stdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
        assert!(
            r.stderr.contains(&path.display().to_string()) && r.stderr.contains(what),
            "the refusal names {} and {what}: {}",
            path.display(),
            r.stderr
        );
    };

    // fleet report into a pack, and into the store it reads with --publish-index: refused
    // before anything is read or published.
    let into_pack = common::run(
        &[
            "fleet",
            "report",
            "--store",
            store_arg,
            "--out",
            pack.to_str().unwrap(),
        ],
        &now,
        &common::repo(),
    );
    refused(
        &into_pack,
        &pack.join("fleet-report.html"),
        "the evidence pack",
    );
    let into_store = common::run(
        &[
            "fleet",
            "report",
            "--store",
            store_arg,
            "--out",
            store_arg,
            "--publish-index",
        ],
        &now,
        &common::repo(),
    );
    refused(
        &into_store,
        &store.join("fleet-report.html"),
        "the evidence store",
    );
    // Vendor review, keygen, snapshot, review start's population sheet.
    let vendor = common::run(
        &[
            "vendor",
            "review",
            "--manifests",
            "samples/cluster",
            "--namespace",
            "monitoring",
            "--source",
            "samples/cluster",
            "--out",
            store.join("sample-prod-eu-1/vendor").to_str().unwrap(),
        ],
        &now,
        &common::repo(),
    );
    refused(
        &vendor,
        &store.join("sample-prod-eu-1/vendor/vendor-review-monitoring.html"),
        "the store folder",
    );
    let key = pack.join("signing-key");
    let keygen = common::run(
        &["keygen", "--out", key.to_str().unwrap()],
        &[],
        &common::repo(),
    );
    refused(&keygen, &key, "the evidence pack");
    let snapshot_file = pack.join("again.json.gz");
    let snapshot = common::run(
        &[
            "snapshot",
            "--source",
            "samples/cluster",
            "-o",
            snapshot_file.to_str().unwrap(),
        ],
        &[],
        &common::repo(),
    );
    refused(&snapshot, &snapshot_file, "the evidence pack");

    assert_eq!(common::files_under(&store), before, "nothing was written");
    verify(pack).assert_ok();

    // Outside, the same commands write; and never over what is there.
    let reports = dir.path().join("reports");
    let fleet = common::run(
        &[
            "fleet",
            "report",
            "--store",
            store_arg,
            "--out",
            reports.to_str().unwrap(),
        ],
        &now,
        &common::repo(),
    );
    fleet.assert_ok();
    let again = common::run(
        &[
            "fleet",
            "report",
            "--store",
            store_arg,
            "--out",
            reports.to_str().unwrap(),
        ],
        &now,
        &common::repo(),
    );
    refused(
        &again,
        &reports.join("fleet-report.html"),
        "never overwrites",
    );
}

/// The access review forgeries of issue 30, each as one with write access to the store would try
/// it: last quarter's signed decisions submitted to (or dropped into) this quarter's campaign, a
/// stranger's key added under a reviewer's name, a campaign rewritten to give every row to one
/// reviewer, a campaign copied to another place, signed by a stranger, or unsigned. Each is
/// refused with its reason, and the pack's coverage counts none of it.
#[test]
fn campaigns_and_decisions_count_only_when_signed_for_their_campaign() {
    use crate::common::reviews as rv;
    let work = tempfile::tempdir().unwrap();
    let store = work.path().join("store");
    let (key, signers) = common::pack_key();
    let store_arg = store.to_str().unwrap().to_string();
    let cluster = "sample-prod-eu-1";
    let ke = |args: &[&str], now: &str| {
        common::run(
            args,
            &[
                ("KUBE_EVIDENCE_NOW", now),
                ("KUBE_EVIDENCE_ALLOWED_SIGNERS", signers.to_str().unwrap()),
                ("KUBE_EVIDENCE_SIGNING_KEY_FILE", key.to_str().unwrap()),
            ],
            &common::repo(),
        )
    };
    common::sample_run_signed(
        &store,
        "samples/cluster",
        "2026-11-25T02:00:00Z",
        Some(&key),
        &[],
        &[],
    )
    .assert_ok();
    let keys = rv::reviewer_keys(work.path());
    let map = rv::reviewer_map(work.path(), "security@example.com");
    let start = |now: &str, population: &Path| -> String {
        let r = ke(
            &[
                "review",
                "start",
                "--store",
                &store_arg,
                "--cluster",
                cluster,
                "--reviewers",
                map.to_str().unwrap(),
                "--reviewer-keys",
                keys.to_str().unwrap(),
                "--due",
                "2026-12-31",
                "--output",
                population.to_str().unwrap(),
            ],
            now,
        );
        r.assert_ok();
        r.stdout.split_whitespace().nth(1).unwrap().to_string()
    };
    let submit = |campaign: &str, file: &Path, now: &str| {
        ke(
            &[
                "review",
                "submit",
                "--store",
                &store_arg,
                "--cluster",
                cluster,
                "--campaign",
                campaign,
                file.to_str().unwrap(),
            ],
            now,
        )
    };
    let q3_population = work.path().join("q3.csv");
    let q3 = start("2026-11-26T09:00:00Z", &q3_population);
    let q3_decisions = work.path().join("q3-decisions.csv");
    std::fs::write(
        &q3_decisions,
        rv::decide(&q3_population, "security@example.com", |_, _| {
            ("keep", "", "needed")
        }),
    )
    .unwrap();
    rv::ssh_sign(work.path(), "security@example.com", &q3_decisions);
    submit(&q3, &q3_decisions, "2026-11-26T10:00:00Z").assert_ok();

    // An auditor checks a campaign with OpenSSH and the packs' allowed signers, as
    // docs/access-reviews.md says.
    let q3_dir = store.join(format!("{cluster}/reviews/{q3}"));
    let verified = std::process::Command::new("ssh-keygen")
        .args(["-Y", "verify", "-f"])
        .arg(&signers)
        .args(["-I", "packs", "-n", "kube-evidence", "-s"])
        .arg(q3_dir.join("campaign.json.sig"))
        .stdin(std::fs::File::open(q3_dir.join("campaign.json")).unwrap())
        .output()
        .unwrap();
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );

    // A later campaign over the same pack: same rows, same row ids.
    let q4_population = work.path().join("q4.csv");
    let q4 = start("2026-11-27T09:00:00Z", &q4_population);
    assert_ne!(q3, q4);
    // 1. Last campaign's signed file, submitted unchanged.
    let replay = submit(&q4, &q3_decisions, "2026-11-27T10:00:00Z");
    assert_eq!(replay.code, 1, "{}", replay.stdout);
    assert!(
        replay.stderr.contains(&format!(
            "decided for campaign `{q3}`, not for campaign {q4}"
        )),
        "{}",
        replay.stderr
    );
    // ... or dropped into the store beside the campaign: it does not count there.
    let q4_dir = store.join(format!("{cluster}/reviews/{q4}"));
    std::fs::create_dir_all(q4_dir.join("decisions")).unwrap();
    let planted = q4_dir.join("decisions/20261127T100000Z-security_example.com.csv");
    std::fs::copy(&q3_decisions, &planted).unwrap();
    std::fs::copy(
        format!("{}.sig", q3_decisions.display()),
        format!("{}.sig", planted.display()),
    )
    .unwrap();

    // 2. A stranger's key added under the reviewer's name, in the campaign itself.
    let stranger_dir = work.path().join("stranger");
    std::fs::create_dir_all(&stranger_dir).unwrap();
    let out = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "stranger", "-f"])
        .arg(stranger_dir.join("security@example.com"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let stranger_pub =
        std::fs::read_to_string(stranger_dir.join("security@example.com.pub")).unwrap();
    let campaign_file = q4_dir.join("campaign.json");
    let genuine = std::fs::read(&campaign_file).unwrap();
    let mut doc: serde_json::Value = serde_json::from_slice(&genuine).unwrap();
    let with_stranger = format!(
        "{}security@example.com namespaces=\"kube-evidence-review\" {}",
        doc["allowedSigners"].as_str().unwrap(),
        stranger_pub.trim()
    );
    doc["allowedSigners"] = with_stranger.into();
    std::fs::write(&campaign_file, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
    let forged = work.path().join("forged.csv");
    std::fs::write(
        &forged,
        rv::decide(&q4_population, "security@example.com", |_, _| {
            ("keep", "", "fine")
        }),
    )
    .unwrap();
    rv::ssh_sign(&stranger_dir, "security@example.com", &forged);
    let r = submit(&q4, &forged, "2026-11-27T11:00:00Z");
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stderr.contains("changed after the campaign started"),
        "{}",
        r.stderr
    );

    // 3. Rewritten to give every row to one reviewer: the same answer.
    let mut doc: serde_json::Value = serde_json::from_slice(&genuine).unwrap();
    for row in doc["rows"].as_array_mut().unwrap() {
        row["reviewer"] = "security@example.com".into();
    }
    std::fs::write(&campaign_file, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
    let status = ke(
        &[
            "review",
            "status",
            "--store",
            &store_arg,
            "--cluster",
            cluster,
        ],
        "2026-11-27T12:00:00Z",
    );
    status.assert_ok();
    assert!(
        status.stdout.contains(&format!(
            "not counted: campaign {cluster}/reviews/{q4}/campaign.json (its signature does not match it: it was changed after the campaign started)"
        )),
        "{}",
        status.stdout
    );

    // 4. Copied to another place: the genuine, signed q3 campaign under a new id.
    std::fs::write(&campaign_file, &genuine).unwrap();
    let copy = store.join(format!("{cluster}/reviews/20261128-copy"));
    std::fs::create_dir_all(&copy).unwrap();
    for f in ["campaign.json", "campaign.json.sig"] {
        std::fs::copy(
            store.join(format!("{cluster}/reviews/{q3}/{f}")),
            copy.join(f),
        )
        .unwrap();
    }
    // 5. Unsigned, and 6. signed by a stranger's key.
    let unsigned = store.join(format!("{cluster}/reviews/20261128-unsigned"));
    std::fs::create_dir_all(&unsigned).unwrap();
    std::fs::write(unsigned.join("campaign.json"), &genuine).unwrap();
    let strangers = store.join(format!("{cluster}/reviews/20261128-stranger"));
    std::fs::create_dir_all(&strangers).unwrap();
    std::fs::write(strangers.join("campaign.json"), &genuine).unwrap();
    let (other_key, _) = common::keygen(work.path(), "other");
    let sig = std::process::Command::new("ssh-keygen")
        .args(["-q", "-Y", "sign", "-n", "kube-evidence", "-f"])
        .arg(&other_key)
        .arg(strangers.join("campaign.json"))
        .output()
        .unwrap();
    assert!(
        sig.status.success(),
        "{}",
        String::from_utf8_lossy(&sig.stderr)
    );

    // The next night: the genuine q3 and q4 count; nothing else does, and says why.
    common::sample_run_signed(
        &store,
        "samples/cluster",
        "2026-11-28T02:00:00Z",
        Some(&key),
        &[],
        &[],
    )
    .assert_ok();
    let pack = common::pack_dirs(&store).pop().unwrap();
    let findings: serde_json::Value =
        serde_json::from_slice(&std::fs::read(pack.join("findings.json")).unwrap()).unwrap();
    let reviews = &findings["reviews"];
    let counted: Vec<&str> = reviews["campaigns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(counted, [q3.as_str(), q4.as_str()]);
    let refused: Vec<(String, String)> = reviews["refusedCampaigns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["key"].as_str().unwrap().to_string(),
                r["problem"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let reason = |folder: &str| {
        refused
            .iter()
            .find(|(k, _)| k.contains(folder))
            .map(|(_, p)| p.clone())
            .unwrap_or_else(|| panic!("{folder} is not refused: {refused:?}"))
    };
    assert!(reason("20261128-copy").contains("copied to another place"));
    assert!(reason("20261128-unsigned").contains("it is not signed"));
    assert!(
        reason("20261128-stranger").contains("does not verify against the keys trusted for packs")
    );
    assert_eq!(refused.len(), 3, "{refused:?}");
    // The replayed file does not count in q4: no row of q4 is decided.
    let q4_status = reviews["campaigns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == q4.as_str())
        .unwrap();
    assert_eq!(q4_status["decided"], 0);
    let replayed = &q4_status["submissions"][0];
    assert!(
        replayed["problem"]
            .as_str()
            .unwrap()
            .contains(&format!("decided for campaign `{q3}`")),
        "{replayed}"
    );
    // Each refusal is a finding, and coverage counts the q3 decisions only.
    let rev006: Vec<&str> = findings["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["ruleId"] == "KE-REV-006")
        .map(|f| f["summary"].as_str().unwrap())
        .collect();
    assert_eq!(
        rev006
            .iter()
            .filter(|s| s.contains("does not count:") && s.starts_with("campaign "))
            .count(),
        3,
        "{rev006:#?}"
    );
    let q3_decided = reviews["campaigns"][0]["decided"].as_u64().unwrap();
    assert_eq!(
        reviews["coverage"]["reviewedInPeriod"].as_u64().unwrap(),
        q3_decided,
        "only q3's decisions are reviews"
    );

    // An unsigned run has nothing to check campaigns against: none counts, and it says so.
    common::sample_run(&store, "samples/cluster", "2026-11-29T02:00:00Z", &[], &[]).assert_ok();
    let pack = common::pack_dirs(&store).pop().unwrap();
    let findings: serde_json::Value =
        serde_json::from_slice(&std::fs::read(pack.join("findings.json")).unwrap()).unwrap();
    assert_eq!(
        findings["reviews"]["campaigns"].as_array().unwrap().len(),
        0
    );
    assert_eq!(findings["reviews"]["coverage"]["reviewedInPeriod"], 0);
    assert!(
        findings["reviews"]["refusedCampaigns"][0]["problem"]
            .as_str()
            .unwrap()
            .contains("no key to check its signature against")
    );
}

/// Issue 30: one verified way to read a pack. A pack whose snapshot was changed after it was
/// signed is refused by every command that reads packs, each naming the file; a consistent
/// pack re-signed by a stranger is refused by every reader given the allowed signers.
#[test]
fn every_reader_refuses_a_pack_that_does_not_verify() {
    let work = tempfile::tempdir().unwrap();
    let store = work.path().join("store");
    let (key, signers) = common::pack_key();
    for (source, now) in common::SAMPLE_NIGHTS {
        common::sample_run_signed(&store, source, now, Some(&key), &[], &[]).assert_ok();
    }
    let packs = common::pack_dirs(&store);
    let (old, new) = (&packs[0], &packs[1]);
    let ke = |args: &[&str]| {
        common::run(
            args,
            &[("KUBE_EVIDENCE_NOW", "2026-11-21T00:00:00Z")],
            &common::repo(),
        )
    };
    let store_arg = store.to_str().unwrap();
    let signers_arg = signers.to_str().unwrap();
    let (old_arg, new_arg) = (old.to_str().unwrap(), new.to_str().unwrap());
    let readers: Vec<(&str, Vec<&str>)> = vec![
        ("diff", vec!["diff", old_arg, new_arg]),
        (
            "who-can --snapshot",
            vec!["who-can", "list", "secrets", "--snapshot", new_arg],
        ),
        (
            "changes",
            vec![
                "changes",
                "--store",
                store_arg,
                "--cluster",
                "sample-prod-eu-1",
                "--from",
                "2026-11-19",
                "--to",
                "2026-11-20",
            ],
        ),
        (
            "reperform",
            vec!["reperform", new_arg, "--allowed-signers", signers_arg],
        ),
        (
            "verify",
            vec!["verify", new_arg, "--allowed-signers", signers_arg],
        ),
    ];
    for (name, args) in &readers {
        ke(args).assert_ok();
        let _ = name;
    }

    // The snapshot changed after signing (same size, one bit).
    let snapshot = new.join("snapshot.json.gz");
    let genuine = std::fs::read(&snapshot).unwrap();
    common::flip_middle_byte(&snapshot);
    for (name, args) in &readers {
        let r = ke(args);
        assert_ne!(r.code, 0, "{name} read a tampered pack:\n{}", r.stdout);
        assert!(
            format!("{}{}", r.stdout, r.stderr).contains("snapshot.json.gz"),
            "{name} names the file: {}{}",
            r.stdout,
            r.stderr
        );
    }
    std::fs::write(&snapshot, &genuine).unwrap();

    // A consistent pack re-signed by a stranger: readers given the allowed signers refuse it.
    let (stranger, _) = common::keygen(work.path(), "stranger");
    let manifest = new.join("manifest.json");
    let sig = new.join("manifest.json.sig");
    std::fs::remove_file(&sig).unwrap();
    let out = std::process::Command::new("ssh-keygen")
        .args(["-q", "-Y", "sign", "-n", "kube-evidence", "-f"])
        .arg(&stranger)
        .arg(&manifest)
        .output()
        .unwrap();
    assert!(out.status.success());
    for args in [
        vec!["diff", old_arg, new_arg, "--allowed-signers", signers_arg],
        vec![
            "changes",
            "--store",
            store_arg,
            "--cluster",
            "sample-prod-eu-1",
            "--from",
            "2026-11-19",
            "--to",
            "2026-11-20",
            "--allowed-signers",
            signers_arg,
        ],
        vec!["verify", new_arg, "--allowed-signers", signers_arg],
    ] {
        let r = ke(&args);
        assert_ne!(r.code, 0, "{args:?} read a stranger's pack:\n{}", r.stdout);
        let text = format!("{}{}", r.stdout, r.stderr);
        assert!(text.contains("manifest.json.sig"), "{args:?}: {text}");
    }
}

/// Issue 30: `--require-retention` on a store that cannot show retention fails, and says why;
/// without it, verify still says retention was not checked.
#[test]
fn require_retention_fails_where_retention_cannot_be_read() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    common::sample_run(&store, "samples/cluster", "2026-11-20T02:00:00Z", &[], &[]).assert_ok();
    let pack = common::pack_dirs(&store).pop().unwrap();
    let pack_arg = pack.to_str().unwrap();
    let plain = common::run(
        &["verify", pack_arg, "--allow-unsigned"],
        &[],
        &common::repo(),
    );
    plain.assert_ok();
    assert!(
        plain.stdout.contains("retention:") && plain.stdout.contains("not checked"),
        "{}",
        plain.stdout
    );
    let required = common::run(
        &[
            "verify",
            pack_arg,
            "--allow-unsigned",
            "--require-retention",
        ],
        &[],
        &common::repo(),
    );
    assert_eq!(required.code, 1, "{}", required.stdout);
    assert!(
        required
            .stdout
            .contains("--require-retention cannot be met"),
        "{}",
        required.stdout
    );
    assert!(
        required.stdout.contains("NOT VERIFIED"),
        "{}",
        required.stdout
    );
}

/// Issue 30: `latest.json` is trusted to name the newest pack only as far as the packs agree. A
/// pointer moved back to an older genuine pack, or removed, stops the next run before anything
/// is published, naming the newer pack (so no pack is ever left out of the chain).
#[test]
fn a_pointer_moved_back_or_removed_stops_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let packs = common::sample_chain(&store);
    let latest = store.join("sample-prod-eu-1/latest.json");
    let older = &packs[0];
    let manifest = std::fs::read(older.join("manifest.json")).unwrap();
    let m: serde_json::Value = serde_json::from_slice(&manifest).unwrap();
    let back = serde_json::json!({
        "cluster": "sample-prod-eu-1",
        "packId": m["packId"],
        "path": older.strip_prefix(&store).unwrap().to_string_lossy(),
        "manifestSha256": common::sha256_hex(&manifest),
        "collectedAt": m["collectedAt"],
        "publishedAt": m["publishedAt"],
    });
    let newer_id = packs[1].file_name().unwrap().to_string_lossy().to_string();
    for (what, change) in [("moved back", Some(back.to_string())), ("removed", None)] {
        match &change {
            Some(text) => std::fs::write(&latest, text).unwrap(),
            None => {
                let _ = std::fs::remove_file(&latest);
            }
        }
        let before = common::files_under(&store);
        let r = common::sample_run(&store, "samples/cluster", "2026-11-21T02:00:00Z", &[], &[]);
        assert_ne!(r.code, 0, "{what}: the run went on:\n{}", r.stdout);
        assert!(
            r.stderr.contains(&format!("holds pack {newer_id}"))
                && r.stderr.contains("Nothing was published"),
            "{what}: {}",
            r.stderr
        );
        assert_eq!(
            common::files_under(&store),
            before,
            "{what}: nothing written"
        );
    }
}

/// The chain a fleet report describes for `store`'s one cluster: `(packs, why not described)`.
fn fleet_chain(store: &Path, out: &Path, more: &[&str]) -> (u64, Option<String>) {
    let mut args = vec![
        "fleet",
        "report",
        "--store",
        store.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(more);
    let r = common::run(
        &args,
        &[("KUBE_EVIDENCE_NOW", "2026-11-22T12:00:00Z")],
        &common::repo(),
    );
    assert!(r.code == 0 || r.code == 1, "{}\n{}", r.stdout, r.stderr);
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("fleet.json")).unwrap()).unwrap();
    let chain = &doc["clusters"][0]["chain"];
    (
        chain["packs"].as_u64().unwrap(),
        chain["unknown"].as_str().map(str::to_string),
    )
}

/// `index.json` is written by every run and by anyone who can write to the store; what the fleet
/// report says of a chain is read from it only when the key that signs the packs signed it.
#[test]
fn an_index_describes_a_chain_only_when_the_packs_key_signed_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let (key, signers) = common::pack_key();
    for (source, now) in common::SAMPLE_NIGHTS {
        common::sample_run_signed(&store, source, now, Some(&key), &[], &[]).assert_ok();
    }
    let index = store.join("sample-prod-eu-1/index.json");
    let signature = store.join("sample-prod-eu-1/index.json.sig");
    assert!(signature.is_file(), "a signed run signs the index");
    let outs = dir.path().join("fleet");
    let mut n = 0;
    let mut chain = |more: &[&str]| {
        n += 1;
        fleet_chain(&store, &outs.join(n.to_string()), more)
    };
    let trusted = ["--allowed-signers", signers.to_str().unwrap()];
    assert_eq!(chain(&[]), (2, None), "anchored by the latest pack's key");
    assert_eq!(
        chain(&trusted),
        (2, None),
        "anchored by the allowed signers"
    );

    // One pack left out of the index: the signature no longer matches it.
    let genuine = std::fs::read(&index).unwrap();
    let mut doc: serde_json::Value = serde_json::from_slice(&genuine).unwrap();
    doc["packs"].as_array_mut().unwrap().truncate(1);
    std::fs::write(&index, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
    for more in [&[][..], &trusted[..]] {
        let (packs, why) = chain(more);
        assert_eq!(packs, 0);
        assert!(
            why.as_deref()
                .is_some_and(|w| w.contains("does not match index.json.sig")),
            "{why:?}"
        );
    }
    // The signature removed.
    let genuine_signature = std::fs::read(&signature).unwrap();
    std::fs::remove_file(&signature).unwrap();
    let (_, why) = chain(&[]);
    assert!(why.is_some_and(|w| w.contains("is not signed")));

    // An index and its signature made by another key (another store of the same cluster name).
    let other_store = dir.path().join("other");
    let other = common::keygen(dir.path(), "someone-else");
    common::sample_run_signed(
        &other_store,
        "samples/cluster",
        "2026-11-20T02:00:00Z",
        Some(&other.0),
        &[],
        &[],
    )
    .assert_ok();
    for name in ["index.json", "index.json.sig"] {
        std::fs::copy(
            other_store.join("sample-prod-eu-1").join(name),
            store.join("sample-prod-eu-1").join(name),
        )
        .unwrap();
    }
    let (packs, why) = chain(&[]);
    assert_eq!(packs, 0);
    assert!(
        why.as_deref()
            .is_some_and(|w| w.contains("not by") && w.contains("the key of the latest pack")),
        "{why:?}"
    );
    let (packs, why) = chain(&trusted);
    assert_eq!(packs, 0);
    assert!(why.is_some_and(|w| w.contains("signature")));

    // The next signed run does not take entries from an index it cannot trust: it rebuilds the
    // index from the packs and signs it, and the fleet report reads the chain again.
    std::fs::write(&index, &genuine).unwrap();
    std::fs::write(&signature, &genuine_signature).unwrap();
    // Unsigned over a signed index (by a run without a key, or by hand), with the oldest pack's
    // count rewritten.
    let mut doc: serde_json::Value = serde_json::from_slice(&genuine).unwrap();
    let forged = serde_json::json!({"critical": 999});
    doc["packs"][1]["openFindings"] = forged.clone();
    std::fs::write(&index, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
    common::sample_run_signed(
        &store,
        "samples/cluster",
        "2026-11-22T02:00:00Z",
        Some(&key),
        &[],
        &[],
    )
    .assert_ok();
    assert_eq!(chain(&trusted), (3, None));
    let rebuilt: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&index).unwrap()).unwrap();
    assert_eq!(rebuilt["packs"].as_array().unwrap().len(), 3);
    assert_ne!(rebuilt["packs"][2]["openFindings"], forged);
}

/// A decision file's name (and a store's Last-Modified) is a claim anyone who can write to the
/// store can make: renamed, a file keeps the time the pack chain recorded for its bytes, and a
/// file no pack recorded yet counts from no earlier than the previous pack and no later than the
/// run.
#[test]
fn a_decisions_time_is_what_the_chain_recorded_not_what_its_name_says() {
    use crate::common::reviews as rv;
    let work = tempfile::tempdir().unwrap();
    let store = work.path().join("store");
    let (key, signers) = common::pack_key();
    let cluster = "sample-prod-eu-1";
    let env = |now: &'static str| {
        [
            ("KUBE_EVIDENCE_NOW", now),
            ("KUBE_EVIDENCE_ALLOWED_SIGNERS", signers.to_str().unwrap()),
            ("KUBE_EVIDENCE_SIGNING_KEY_FILE", key.to_str().unwrap()),
        ]
    };
    let night = |now: &'static str| {
        common::sample_run_signed(&store, "samples/cluster", now, Some(&key), &[], &[]).assert_ok();
    };
    night("2026-11-25T02:00:00Z");
    let keys = rv::reviewer_keys(work.path());
    let map = rv::reviewer_map(work.path(), "security@example.com");
    let population = work.path().join("population.csv");
    let started = common::run(
        &[
            "review",
            "start",
            "--store",
            store.to_str().unwrap(),
            "--cluster",
            cluster,
            "--reviewers",
            map.to_str().unwrap(),
            "--reviewer-keys",
            keys.to_str().unwrap(),
            "--due",
            "2026-12-01",
            "--output",
            population.to_str().unwrap(),
        ],
        &env("2026-11-25T09:00:00Z"),
        &common::repo(),
    );
    started.assert_ok();
    let campaign = started
        .stdout
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_string();
    let decisions = work.path().join("decisions.csv");
    std::fs::write(
        &decisions,
        rv::decide(&population, "security@example.com", |_, _| {
            ("keep", "", "needed")
        }),
    )
    .unwrap();
    rv::ssh_sign(work.path(), "security@example.com", &decisions);
    common::run(
        &[
            "review",
            "submit",
            "--store",
            store.to_str().unwrap(),
            "--cluster",
            cluster,
            "--campaign",
            &campaign,
            decisions.to_str().unwrap(),
        ],
        &env("2026-11-25T10:00:00Z"),
        &common::repo(),
    )
    .assert_ok();
    night("2026-11-26T02:00:00Z");

    let folder = store.join(format!("{cluster}/reviews/{campaign}/decisions"));
    let submitted = |name: &str| folder.join(name);
    let genuine = "20261125T100000Z-security_example.com.csv";
    assert!(submitted(genuine).is_file());
    let submissions = |now: &str| -> Vec<serde_json::Value> {
        let doc = common::latest_findings_json(&store, cluster);
        assert_eq!(doc["collectedAt"], now, "the run of {now} published");
        doc["reviews"]["campaigns"][0]["submissions"]
            .as_array()
            .unwrap()
            .clone()
    };
    let first = submissions("2026-11-26T02:00:00Z");
    assert_eq!(first.len(), 1);
    assert_eq!(first[0]["submittedAt"], "2026-11-25T10:00:00Z");
    assert!(first[0]["sha256"].as_str().is_some_and(|s| s.len() == 64));
    assert_eq!(first[0]["late"], false);

    // Renamed to a later day (into a later review period, or past the due date): the bytes are
    // the ones the chain recorded, so the recorded time stands and the claim is shown beside it.
    for (from, to) in [
        (genuine, "20261230T235900Z-security_example.com.csv"),
        (
            "20261230T235900Z-security_example.com.csv",
            "20200101T000000Z-security_example.com.csv",
        ),
    ] {
        std::fs::rename(submitted(from), submitted(to)).unwrap();
        std::fs::rename(
            submitted(&format!("{from}.sig")),
            submitted(&format!("{to}.sig")),
        )
        .unwrap();
    }
    night("2026-11-27T02:00:00Z");
    let renamed = submissions("2026-11-27T02:00:00Z");
    assert_eq!(renamed.len(), 1);
    assert_eq!(renamed[0]["submittedAt"], "2026-11-25T10:00:00Z");
    assert_eq!(renamed[0]["claimedAt"], "2020-01-01T00:00:00Z");
    assert_eq!(renamed[0]["late"], false);

    // A file no pack has seen, named for 2099: it counts from no later than this run.
    let copy = "20991231T000000Z-security_example.com.csv";
    let fresh = work.path().join("fresh.csv");
    let mut text = std::fs::read_to_string(&decisions).unwrap();
    text = text.replacen("needed", "still needed", 1);
    std::fs::write(&fresh, text).unwrap();
    rv::ssh_sign(work.path(), "security@example.com", &fresh);
    std::fs::copy(&fresh, submitted(copy)).unwrap();
    std::fs::copy(
        format!("{}.sig", fresh.display()),
        submitted(&format!("{copy}.sig")),
    )
    .unwrap();
    night("2026-11-28T02:00:00Z");
    let later = submissions("2026-11-28T02:00:00Z");
    let planted = later
        .iter()
        .find(|s| s["key"].as_str().is_some_and(|k| k.ends_with(copy)))
        .expect("the new file is read");
    assert_eq!(planted["submittedAt"], "2026-11-28T02:00:00Z");
    assert_eq!(planted["claimedAt"], "2099-12-31T00:00:00Z");

    // Taken out of the store for a night and put back: the chain's ledger still knows its bytes.
    let original = "20200101T000000Z-security_example.com.csv";
    let aside = work.path().join("aside");
    std::fs::create_dir_all(&aside).unwrap();
    for name in [original.to_string(), format!("{original}.sig")] {
        std::fs::rename(submitted(&name), aside.join(&name)).unwrap();
    }
    night("2026-11-29T02:00:00Z");
    for name in [original.to_string(), format!("{original}.sig")] {
        std::fs::rename(aside.join(&name), submitted(&name)).unwrap();
    }
    night("2026-11-30T02:00:00Z");
    let back = submissions("2026-11-30T02:00:00Z");
    let returned = back
        .iter()
        .find(|s| s["key"].as_str().is_some_and(|k| k.ends_with(original)))
        .expect("the file is read again");
    assert_eq!(returned["submittedAt"], "2026-11-25T10:00:00Z");
}

/// A run that signs trusts what it carries forward as it trusts campaigns: from its own key and
/// the allowed signers. A previous pack another key signed (consistent, re-signed by whoever
/// could write to the store) stops it, unless the allowed signers name that key.
#[test]
fn a_run_that_signs_never_chains_to_a_pack_another_key_signed() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let stranger = common::keygen(dir.path(), "stranger@example.com");
    common::sample_run_signed(
        &store,
        "samples/previous",
        "2026-11-19T02:00:00Z",
        Some(&stranger.0),
        &[],
        &[],
    )
    .assert_ok();
    let (key, signers) = common::pack_key();
    let before = common::files_under(&store);
    let r = common::sample_run_signed(
        &store,
        "samples/cluster",
        "2026-11-20T02:00:00Z",
        Some(&key),
        &[],
        &[],
    );
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("does not verify") && r.stderr.contains("Nothing was published"),
        "{}",
        r.stderr
    );
    assert_eq!(common::files_under(&store), before, "nothing written");
    // The allowed signers name the other key (a key rotated away from): the run chains.
    let both = dir.path().join("both.allowed_signers");
    std::fs::write(
        &both,
        format!(
            "{}{}",
            std::fs::read_to_string(&signers).unwrap(),
            std::fs::read_to_string(&stranger.1).unwrap()
        ),
    )
    .unwrap();
    common::sample_run_signed(
        &store,
        "samples/cluster",
        "2026-11-20T02:00:00Z",
        Some(&key),
        &["--allowed-signers", both.to_str().unwrap()],
        &[],
    )
    .assert_ok();
}

/// `verify` and `reperform` read a cluster's `latest.json` as every reader does: it must name
/// one of that cluster's packs, at its place; another cluster's pointer is refused by name, and
/// a pack moved inside a store to another's place fails where it is.
#[test]
fn verify_reads_a_clusters_pointer_as_the_run_does() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let (key, signers) = common::pack_key();
    for cluster in ["dev", "prod"] {
        common::run(
            &[
                "run",
                "--source",
                "samples/cluster",
                "--out",
                store.to_str().unwrap(),
                "--cluster-name",
                cluster,
                "--signing-key",
                key.to_str().unwrap(),
            ],
            &[("KUBE_EVIDENCE_NOW", "2026-11-20T02:00:00Z")],
            &common::repo(),
        )
        .assert_ok();
    }
    std::fs::copy(
        store.join("dev/latest.json"),
        store.join("prod/latest.json"),
    )
    .unwrap();
    let signers = signers.to_str().unwrap();
    let prod_latest = store.join("prod/latest.json");
    for args in [
        vec![
            "verify",
            store.to_str().unwrap(),
            "--cluster",
            "prod",
            "--allowed-signers",
            signers,
        ],
        vec![
            "verify",
            prod_latest.to_str().unwrap(),
            "--allowed-signers",
            signers,
        ],
        vec![
            "reperform",
            prod_latest.to_str().unwrap(),
            "--allowed-signers",
            signers,
        ],
    ] {
        let r = common::run(&args, &[], &common::repo());
        assert_ne!(r.code, 0, "{args:?} passed:\n{}", r.stdout);
        assert!(
            r.stderr.contains("prod/latest.json names pack")
                && r.stderr.contains("of cluster `dev`"),
            "{args:?}: {}",
            r.stderr
        );
    }
    // dev's pack moved under prod's packs, at a place that is not its own.
    let dev_pack = common::pack_dirs(&store.join("dev")).pop().unwrap();
    let moved = store.join("prod/packs/2026/11/26/20261126T020000000Z-00000000");
    std::fs::create_dir_all(moved.parent().unwrap()).unwrap();
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(&dev_pack)
        .arg(&moved)
        .status()
        .unwrap();
    assert!(status.success());
    let r = common::run(
        &[
            "verify",
            moved.to_str().unwrap(),
            "--allowed-signers",
            signers,
        ],
        &[],
        &common::repo(),
    );
    assert_ne!(r.code, 0, "a misplaced pack passed:\n{}", r.stdout);
    assert!(
        r.stdout.contains("FAIL manifest: pack") && r.stdout.contains("belongs at `dev/packs/"),
        "{}\n{}",
        r.stdout,
        r.stderr
    );
}

/// A signed index of an earlier day (replayed by a store writer) does not describe today's
/// chain: the fleet report says it is behind and describes none.
#[test]
fn a_replayed_older_index_describes_no_chain() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let (key, signers) = common::pack_key();
    let index = store.join("sample-prod-eu-1/index.json");
    let signature = store.join("sample-prod-eu-1/index.json.sig");
    let [(first_source, first_now), (second_source, second_now)] = common::SAMPLE_NIGHTS;
    common::sample_run_signed(&store, first_source, first_now, Some(&key), &[], &[]).assert_ok();
    let (old_index, old_signature) = (
        std::fs::read(&index).unwrap(),
        std::fs::read(&signature).unwrap(),
    );
    common::sample_run_signed(&store, second_source, second_now, Some(&key), &[], &[]).assert_ok();
    std::fs::write(&index, old_index).unwrap();
    std::fs::write(&signature, old_signature).unwrap();
    let (packs, why) = fleet_chain(
        &store,
        &dir.path().join("fleet"),
        &["--allowed-signers", signers.to_str().unwrap()],
    );
    assert_eq!(packs, 0);
    assert!(
        why.as_deref()
            .is_some_and(|w| w.contains("behind latest.json")),
        "{why:?}"
    );
}

/// A run's store is never inside other evidence: a cluster's folder, its packs, or a pack. And a
/// folder planted among the packs with a manifest of its own does not stop the cluster's runs.
#[test]
fn a_store_inside_evidence_is_refused_and_a_planted_folder_is_passed_over() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let (key, _) = common::pack_key();
    common::sample_run_signed(
        &store,
        "samples/previous",
        "2026-11-19T02:00:00Z",
        Some(&key),
        &[],
        &[],
    )
    .assert_ok();
    let before = common::files_under(&store);
    for inside in [
        "sample-prod-eu-1",
        "sample-prod-eu-1/packs",
        "sample-prod-eu-1/packs/2026",
    ] {
        let out = store.join(inside);
        let r = common::run(
            &[
                "run",
                "--source",
                "samples/cluster",
                "--out",
                out.to_str().unwrap(),
                "--cluster-name",
                "x",
                "--unsigned",
            ],
            &[("KUBE_EVIDENCE_NOW", "2026-11-20T02:00:00Z")],
            &common::repo(),
        );
        assert_ne!(r.code, 0, "{inside}: published:\n{}", r.stdout);
        assert!(r.stderr.contains("is inside"), "{inside}: {}", r.stderr);
        assert_eq!(common::files_under(&store), before, "{inside}: written");
    }
    // A folder newer than the latest pack, holding a manifest that is not a pack's.
    let planted = store.join("sample-prod-eu-1/packs/2099/01/01/20990101T000000000Z-deadbeef");
    std::fs::create_dir_all(&planted).unwrap();
    std::fs::write(planted.join("manifest.json"), b"{\"not\": \"a manifest\"}").unwrap();
    let r = common::sample_run_signed(
        &store,
        "samples/cluster",
        "2026-11-20T02:00:00Z",
        Some(&key),
        &[],
        &[("KUBE_EVIDENCE_LOG_LEVEL", "warn")],
    );
    r.assert_ok();
    assert!(
        r.stderr.contains("20990101T000000000Z-deadbeef") && r.stderr.contains("not evidence"),
        "{}",
        r.stderr
    );
}

/// Refusals name the file at fault: the reviewers' keys file, and a decision file's signature.
#[test]
fn review_refusals_name_the_file_at_fault() {
    use crate::common::reviews as rv;
    let work = tempfile::tempdir().unwrap();
    let store = work.path().join("store");
    let (key, signers) = common::pack_key();
    let env = [
        ("KUBE_EVIDENCE_NOW", "2026-11-25T09:00:00Z"),
        ("KUBE_EVIDENCE_ALLOWED_SIGNERS", signers.to_str().unwrap()),
        ("KUBE_EVIDENCE_SIGNING_KEY_FILE", key.to_str().unwrap()),
    ];
    common::sample_run_signed(
        &store,
        "samples/cluster",
        "2026-11-25T02:00:00Z",
        Some(&key),
        &[],
        &[],
    )
    .assert_ok();
    let map = rv::reviewer_map(work.path(), "security@example.com");
    let bad_keys = work.path().join("bad-reviewer-keys");
    std::fs::write(&bad_keys, "security@example.com PRIVATE KEY\n").unwrap();
    let start = |keys: &Path| {
        common::run(
            &[
                "review",
                "start",
                "--store",
                store.to_str().unwrap(),
                "--cluster",
                "sample-prod-eu-1",
                "--reviewers",
                map.to_str().unwrap(),
                "--reviewer-keys",
                keys.to_str().unwrap(),
                "--due",
                "2026-12-31",
            ],
            &env,
            &common::repo(),
        )
    };
    let r = start(&bad_keys);
    assert_ne!(r.code, 0);
    assert!(
        r.stderr.contains(&format!("{}:1:", bad_keys.display())),
        "{}",
        r.stderr
    );
    let started = start(&rv::reviewer_keys(work.path()));
    started.assert_ok();
    let campaign = started
        .stdout
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_string();
    let decisions = work.path().join("decisions.csv");
    std::fs::write(&decisions, "campaign,row,decision\n").unwrap();
    let bad_signature = work.path().join("not-a-signature.sig");
    std::fs::write(&bad_signature, "not a signature").unwrap();
    let r = common::run(
        &[
            "review",
            "submit",
            "--store",
            store.to_str().unwrap(),
            "--cluster",
            "sample-prod-eu-1",
            "--campaign",
            &campaign,
            decisions.to_str().unwrap(),
            "--signature",
            bad_signature.to_str().unwrap(),
        ],
        &env,
        &common::repo(),
    );
    assert_ne!(r.code, 0);
    assert!(
        r.stderr.contains(&bad_signature.display().to_string()),
        "{}",
        r.stderr
    );
}

/// The second round of an independent tester's forgeries: a genuine newer pack whose signature
/// is hidden while latest.json is moved back stops the run and fails verify; verify refuses a
/// cluster's pointer asked for as another's; a cluster's folder is never an existing store; a
/// folder another key signed among the packs is listed by the index with its reason and is no
/// pack of the chain the fleet report describes.
#[test]
fn a_hidden_signature_a_foreign_folder_and_a_store_as_a_cluster_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let (key, signers) = common::pack_key();
    for (source, now) in common::SAMPLE_NIGHTS {
        common::sample_run_signed(&store, source, now, Some(&key), &[], &[]).assert_ok();
    }
    let cluster = store.join("sample-prod-eu-1");
    let packs = common::pack_dirs(&cluster);
    let (older, newer) = (&packs[0], &packs[1]);
    // latest.json moved back to the older pack, the newer pack's signature hidden.
    let older_manifest = std::fs::read(older.join("manifest.json")).unwrap();
    let m: serde_json::Value = serde_json::from_slice(&older_manifest).unwrap();
    let genuine_latest = std::fs::read(cluster.join("latest.json")).unwrap();
    let back = serde_json::json!({
        "cluster": "sample-prod-eu-1",
        "packId": m["packId"],
        "path": older.strip_prefix(&store).unwrap().to_string_lossy(),
        "manifestSha256": common::sha256_hex(&older_manifest),
        "collectedAt": m["collectedAt"],
        "publishedAt": m["publishedAt"],
    });
    std::fs::write(cluster.join("latest.json"), back.to_string()).unwrap();
    let hidden = dir.path().join("hidden.sig");
    std::fs::rename(newer.join("manifest.json.sig"), &hidden).unwrap();
    let newer_id = newer.file_name().unwrap().to_string_lossy().to_string();
    let r = common::sample_run_signed(
        &store,
        "samples/cluster",
        "2026-11-22T02:00:00Z",
        Some(&key),
        &[],
        &[],
    );
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stderr.contains(&format!("holds pack {newer_id}")),
        "{}",
        r.stderr
    );
    let v = common::run(
        &[
            "verify",
            store.to_str().unwrap(),
            "--cluster",
            "sample-prod-eu-1",
            "--allowed-signers",
            signers.to_str().unwrap(),
        ],
        &[],
        &common::repo(),
    );
    assert_ne!(v.code, 0, "{}", v.stdout);
    assert!(
        v.stderr.contains(&format!("holds pack {newer_id}")),
        "{}",
        v.stderr
    );
    std::fs::rename(&hidden, newer.join("manifest.json.sig")).unwrap();
    std::fs::write(cluster.join("latest.json"), genuine_latest).unwrap();

    // A pointer asked for as another cluster's.
    let v = common::run(
        &[
            "verify",
            cluster.join("latest.json").to_str().unwrap(),
            "--cluster",
            "prod",
        ],
        &[],
        &common::repo(),
    );
    assert_ne!(v.code, 0);
    assert!(v.stderr.contains("not cluster prod's"), "{}", v.stderr);

    // A cluster's folder that is an existing store.
    let parent = dir.path().join("parent");
    std::fs::create_dir_all(&parent).unwrap();
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(&store)
        .arg(parent.join("st"))
        .status()
        .unwrap();
    assert!(status.success());
    let before = common::files_under(&parent);
    let r = common::run(
        &[
            "run",
            "--source",
            "samples/cluster",
            "--out",
            parent.to_str().unwrap(),
            "--cluster-name",
            "st",
            "--unsigned",
        ],
        &[("KUBE_EVIDENCE_NOW", "2026-11-22T02:00:00Z")],
        &common::repo(),
    );
    assert_ne!(r.code, 0, "{}", r.stdout);
    assert!(
        r.stderr.contains("already an evidence store"),
        "{}",
        r.stderr
    );
    assert_eq!(common::files_under(&parent), before);

    // A pack signed by another key, copied among the packs at its own place.
    let other_store = dir.path().join("other");
    let stranger = common::keygen(dir.path(), "stranger@example.com");
    common::sample_run_signed(
        &other_store,
        "samples/previous",
        "2026-11-10T02:00:00Z",
        Some(&stranger.0),
        &[],
        &[],
    )
    .assert_ok();
    let foreign = common::pack_dirs(&other_store).pop().unwrap();
    let place = store.join(foreign.strip_prefix(&other_store).unwrap());
    std::fs::create_dir_all(place.parent().unwrap()).unwrap();
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(&foreign)
        .arg(&place)
        .status()
        .unwrap();
    assert!(status.success());
    common::sample_run_signed(
        &store,
        "samples/cluster",
        "2026-11-22T02:00:00Z",
        Some(&key),
        &[],
        &[],
    )
    .assert_ok();
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(cluster.join("index.json")).unwrap()).unwrap();
    let listed = index["packs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["path"].as_str().is_some_and(|p| p.contains("2026/11/10")))
        .expect("the folder is listed");
    assert!(listed["problem"].as_str().is_some(), "{listed}");
    let (packs, why) = fleet_chain(
        &store,
        &dir.path().join("fleet"),
        &["--allowed-signers", signers.to_str().unwrap()],
    );
    assert_eq!((packs, why), (3, None));
}
