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
        &[],
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
