//! `kube-evidence run` and `snapshot` end to end, through the real binary: the pack on disk
//! against its manifest, never overwriting, concurrent runs, and bad input.

use crate::common;

use common::{files_under, run, sha256_hex};
use kube_evidence::pack::{LatestPointer, Manifest};
use std::path::Path;

const NOW: &str = "2026-11-20T02:00:00Z";

fn sample_run(out: &Path, now: &str) -> common::Run {
    run(
        &[
            "run",
            "--config",
            "samples/config.yaml",
            "--out",
            out.to_str().unwrap(),
        ],
        &[
            ("KUBE_EVIDENCE_NOW", now),
            ("KUBE_EVIDENCE_LOG_LEVEL", "warn"),
        ],
        &common::repo(),
    )
}

fn latest(out: &Path) -> LatestPointer {
    let bytes = std::fs::read(out.join("sample-prod-eu-1/latest.json")).unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// Checks every file of a pack against its manifest and SHA256SUMS; returns the manifest.
fn check_pack(out: &Path, prefix: &str) -> Manifest {
    let dir = out.join(prefix);
    let manifest_bytes = std::fs::read(dir.join("manifest.json")).unwrap();
    let manifest = Manifest::from_bytes(&manifest_bytes).unwrap();
    let mut expected: Vec<String> = manifest.files.iter().map(|f| f.path.clone()).collect();
    for f in &manifest.files {
        let bytes = std::fs::read(dir.join(&f.path)).unwrap();
        assert_eq!(bytes.len() as u64, f.size, "{}", f.path);
        assert_eq!(sha256_hex(&bytes), f.sha256, "{}", f.path);
    }
    expected.push("SHA256SUMS".into());
    expected.push("manifest.json".into());
    if manifest.signed {
        expected.push("manifest.json.sig".into());
    }
    expected.sort();
    assert_eq!(files_under(&dir), expected, "no file missing, none extra");
    let sums = std::fs::read_to_string(dir.join("SHA256SUMS")).unwrap();
    for line in sums.lines() {
        let (digest, path) = line.split_once("  ").unwrap();
        assert_eq!(
            sha256_hex(&std::fs::read(dir.join(path)).unwrap()),
            digest,
            "{path}"
        );
    }
    assert_eq!(sums.lines().count(), manifest.files.len() + 1);
    manifest
}

#[test]
fn run_on_the_samples_writes_a_pack_that_matches_its_manifest() {
    let out = tempfile::tempdir().unwrap();
    let r = sample_run(out.path(), NOW);
    r.assert_ok();
    let l = latest(out.path());
    assert!(
        r.stdout.contains(&format!("pack {} written to", l.pack_id)),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("baseline"));
    assert!(
        l.path.starts_with("sample-prod-eu-1/packs/2026/11/20/"),
        "{}",
        l.path
    );
    let m = check_pack(out.path(), &l.path);
    assert_eq!(
        sha256_hex(&std::fs::read(out.path().join(&l.path).join("manifest.json")).unwrap()),
        l.manifest_sha256
    );
    assert!(m.previous.is_empty());
    assert_eq!(m.cluster.id, "6f1c2b0e-4d5a-4c3b-9e8f-1a2b3c4d5e6f");
    assert!(m.files.iter().any(|f| f.path == "snapshot.json.gz"));
    if let Ok(out_sha) = std::process::Command::new("sha256sum")
        .arg("-c")
        .arg("SHA256SUMS")
        .current_dir(out.path().join(&l.path))
        .output()
    {
        assert!(
            out_sha.status.success(),
            "sha256sum -c: {}",
            String::from_utf8_lossy(&out_sha.stdout)
        );
    }
}

#[test]
fn a_second_run_makes_a_second_pack_chained_to_the_first() {
    let out = tempfile::tempdir().unwrap();
    sample_run(out.path(), NOW).assert_ok();
    let first = latest(out.path());
    let first_files = files_under(&out.path().join(&first.path));
    let first_bytes: Vec<Vec<u8>> = first_files
        .iter()
        .map(|f| std::fs::read(out.path().join(&first.path).join(f)).unwrap())
        .collect();
    sample_run(out.path(), "2026-11-21T02:00:00Z").assert_ok();
    let second = latest(out.path());
    assert_ne!(first.pack_id, second.pack_id);
    let m = check_pack(out.path(), &second.path);
    assert_eq!(m.previous.pack_id, first.pack_id);
    assert_eq!(m.previous.manifest_sha256, first.manifest_sha256);
    // the first pack is untouched
    for (f, bytes) in first_files.iter().zip(first_bytes) {
        assert_eq!(
            std::fs::read(out.path().join(&first.path).join(f)).unwrap(),
            bytes
        );
    }
}

#[test]
fn the_same_pack_is_never_overwritten() {
    let out = tempfile::tempdir().unwrap();
    sample_run(out.path(), NOW).assert_ok();
    let first = latest(out.path());
    // Same clock, same input: same pack id. With latest.json in place the run stops at the
    // previous pack's time; without it, at the pack latest.json no longer names (the store's
    // create-only writes, the last guard, are pinned in store::local's tests). Either way the
    // pack is never replaced and nothing is written.
    let pointer = out.path().join("sample-prod-eu-1/latest.json");
    let pack = out.path().join(&first.path);
    let before: Vec<(String, Vec<u8>)> = common::files_under(&pack)
        .into_iter()
        .map(|f| (f.clone(), std::fs::read(pack.join(&f)).unwrap()))
        .collect();
    let saved = std::fs::read(&pointer).unwrap();
    for (what, pointer_there) in [
        ("latest.json in place", true),
        ("latest.json removed", false),
    ] {
        if !pointer_there {
            std::fs::remove_file(&pointer).unwrap();
        }
        let listing = common::files_under(out.path());
        let r = sample_run(out.path(), NOW);
        assert_eq!(r.code, 1, "{what}: {}", r.stderr);
        assert!(
            r.stderr.to_lowercase().contains("nothing was published"),
            "{what}: {}",
            r.stderr
        );
        assert_eq!(
            common::files_under(out.path()),
            listing,
            "{what}: nothing written"
        );
        let after: Vec<(String, Vec<u8>)> = common::files_under(&pack)
            .into_iter()
            .map(|f| (f.clone(), std::fs::read(pack.join(&f)).unwrap()))
            .collect();
        assert!(after == before, "{what}: the pack changed");
    }
    std::fs::write(&pointer, saved).unwrap();
    check_pack(out.path(), &first.path);
}

#[test]
fn concurrent_runs_both_succeed_and_chain() {
    let out = tempfile::tempdir().unwrap();
    let o = out.path().to_path_buf();
    let o2 = o.clone();
    let a = std::thread::spawn(move || sample_run(&o, "2026-11-20T02:00:00.001Z"));
    let b = std::thread::spawn(move || sample_run(&o2, "2026-11-20T02:00:00.002Z"));
    let (a, b) = (a.join().unwrap(), b.join().unwrap());
    // Each run's clock is fixed; if the one whose clock is behind gets the lock second, its
    // pack would be collected before its predecessor, and it refuses instead (with a real clock,
    // read once the lock is held, that cannot happen).
    for (r, other) in [(&a, &b), (&b, &a)] {
        if r.code != 0 {
            assert!(
                r.stderr.contains("which is not after the previous pack") && other.code == 0,
                "{}",
                r.stderr
            );
            let l = latest(out.path());
            check_pack(out.path(), &l.path);
            return;
        }
    }
    let packs: Vec<String> = files_under(&out.path().join("sample-prod-eu-1/packs"))
        .into_iter()
        .filter(|f| f.ends_with("manifest.json"))
        .collect();
    assert_eq!(packs.len(), 2, "{packs:?}");
    let l = latest(out.path());
    let m = check_pack(out.path(), &l.path);
    // whichever ran second chained to the other
    assert!(!m.previous.is_empty());
    let other = packs
        .iter()
        .find(|p| !p.starts_with(l.path.trim_start_matches("sample-prod-eu-1/packs/")))
        .unwrap();
    assert!(
        other.contains(&m.previous.pack_id),
        "{other} vs {}",
        m.previous.pack_id
    );
}

#[test]
fn a_run_whose_clock_is_behind_the_previous_pack_publishes_nothing() {
    let out = tempfile::tempdir().unwrap();
    sample_run(out.path(), "2026-11-20T02:00:00Z").assert_ok();
    let before = files_under(out.path());
    let r = sample_run(out.path(), "2026-11-09T02:00:00Z");
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains(
            "this run's clock says 2026-11-09 02:00:00 UTC, which is not after the previous pack"
        ),
        "{}",
        r.stderr
    );
    assert_eq!(files_under(out.path()), before, "nothing was written");
}

#[test]
fn concurrent_identical_runs_one_fails_cleanly() {
    let out = tempfile::tempdir().unwrap();
    let o = out.path().to_path_buf();
    let o2 = o.clone();
    let a = std::thread::spawn(move || sample_run(&o, NOW));
    let b = std::thread::spawn(move || sample_run(&o2, NOW));
    let (a, b) = (a.join().unwrap(), b.join().unwrap());
    let mut codes = [a.code, b.code];
    codes.sort();
    assert_eq!(codes, [0, 1], "a: {}\nb: {}", a.stderr, b.stderr);
    let l = latest(out.path());
    check_pack(out.path(), &l.path);
    assert!(
        files_under(out.path()).iter().all(|f| !f.contains(".tmp-")),
        "no temporary files left"
    );
}

#[test]
fn run_without_a_config_file() {
    let out = tempfile::tempdir().unwrap();
    let r = run(
        &[
            "run",
            "--source",
            "samples/cluster",
            "--out",
            out.path().to_str().unwrap(),
            "--unsigned",
            "--cluster-name",
            "adhoc",
        ],
        &[("KUBE_EVIDENCE_NOW", NOW)],
        &common::repo(),
    );
    r.assert_ok();
    assert!(out.path().join("adhoc/latest.json").exists());
}

#[test]
fn flags_beat_environment_beats_file() {
    let out = tempfile::tempdir().unwrap();
    let env_out = tempfile::tempdir().unwrap();
    // the file names sample-prod-eu-1; the environment renames; the flag wins over both
    let r = run(
        &[
            "run",
            "--config",
            "samples/config.yaml",
            "--unsigned",
            "--cluster-name",
            "from-flag",
        ],
        &[
            ("KUBE_EVIDENCE_NOW", NOW),
            ("KUBE_EVIDENCE_CLUSTER_NAME", "from-env"),
            ("KUBE_EVIDENCE_OUT", env_out.path().to_str().unwrap()),
        ],
        &common::repo(),
    );
    r.assert_ok();
    assert!(env_out.path().join("from-flag/latest.json").exists());
    assert!(files_under(out.path()).is_empty());
}

#[test]
fn a_signing_choice_on_the_command_line_beats_the_files() {
    let keys = tempfile::tempdir().unwrap();
    let key = keys.path().join("key");
    run(
        &["keygen", "--out", key.to_str().unwrap()],
        &[],
        &common::repo(),
    )
    .assert_ok();
    let key_text = std::fs::read_to_string(&key).unwrap();
    let signed = |extra: &[&str], env: &[(&str, &str)]| {
        let out = tempfile::tempdir().unwrap();
        let mut args = vec![
            "run",
            "--config",
            "samples/config.yaml",
            "--out",
            out.path().to_str().unwrap(),
        ];
        args.extend(extra);
        let mut env = env.to_vec();
        env.push(("KUBE_EVIDENCE_NOW", NOW));
        let r = run(&args, &env, &common::repo());
        let manifest = files_under(out.path())
            .into_iter()
            .find(|f| f.ends_with("manifest.json"))
            .map(|m| {
                let v: serde_json::Value =
                    serde_json::from_slice(&std::fs::read(out.path().join(m)).unwrap()).unwrap();
                v["signed"] == true
            });
        (r, manifest)
    };
    // samples/config.yaml says `unsigned: true`: a key given as a flag or in the environment
    // outranks it.
    let (r, was_signed) = signed(&["--signing-key", key.to_str().unwrap()], &[]);
    r.assert_ok();
    assert_eq!(was_signed, Some(true));
    let (r, was_signed) = signed(&[], &[("KUBE_EVIDENCE_SIGNING_KEY", &key_text)]);
    r.assert_ok();
    assert_eq!(was_signed, Some(true));
    // `--unsigned=false` overrides the file and then wants a key
    let (r, was_signed) = signed(&["--unsigned=false"], &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("no signing key"), "{}", r.stderr);
    assert_eq!(was_signed, None);
    // `--unsigned` on the command line outranks a key in the environment
    let (r, was_signed) = signed(&["--unsigned"], &[("KUBE_EVIDENCE_SIGNING_KEY", &key_text)]);
    r.assert_ok();
    assert_eq!(was_signed, Some(false));
    // one layer naming both stays a conflict
    let (r, _) = signed(&["--unsigned", "--signing-key", key.to_str().unwrap()], &[]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("choose one"), "{}", r.stderr);
}

fn assert_no_pack(out: &Path) {
    assert!(
        files_under(out)
            .iter()
            .all(|f| !f.contains("manifest.json")),
        "a pack was written"
    );
}

#[test]
fn bad_input_exits_1_with_file_and_position_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let dump = tmp.path().join("dump");
    std::fs::create_dir(&dump).unwrap();
    let cases: Vec<(&str, String, &str)> = vec![
        ("missing path", "does-not-exist".into(), "cannot read"),
        (
            "empty directory",
            dump.display().to_string(),
            "no Kubernetes objects found",
        ),
    ];
    for (what, source, expect) in cases {
        let r = run(
            &[
                "run",
                "--source",
                &source,
                "--out",
                out.to_str().unwrap(),
                "--unsigned",
                "--cluster-name",
                "x",
            ],
            &[],
            tmp.path(),
        );
        assert_eq!(r.code, 1, "{what}: {}", r.stderr);
        assert!(r.stderr.contains(expect), "{what}: {}", r.stderr);
        assert_no_pack(&out);
    }
    for (name, content, expect) in [
        ("empty.yaml", "", "empty.yaml: the file is empty"),
        ("broken.yaml", "kind: Role\nmetadata: [\n", "broken.yaml:"),
        (
            "nokind.yaml",
            "apiVersion: v1\nmetadata:\n  name: a\n",
            "nokind.yaml:1:1: document 1: object has no `kind`",
        ),
        (
            "noname.yaml",
            "---\nkind: ClusterRole\nmetadata: {}\n",
            "noname.yaml:3:1: document 1: ClusterRole object has no `metadata.name`",
        ),
        (
            "badtype.yaml",
            "kind: ClusterRole\nmetadata: {name: a}\nrules: yes\n",
            "badtype.yaml:3:8: document 1: ClusterRole a at `rules`",
        ),
    ] {
        let d = tmp.path().join(name.replace('.', "-"));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join(name), content).unwrap();
        let r = run(
            &[
                "run",
                "--source",
                d.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
                "--unsigned",
                "--cluster-name",
                "x",
            ],
            &[],
            tmp.path(),
        );
        assert_eq!(r.code, 1, "{name}: {}", r.stderr);
        assert!(
            r.stderr.contains(expect),
            "{name}: expected {expect:?} in\n{}",
            r.stderr
        );
        assert_no_pack(&out);
    }
}

#[test]
fn bad_configuration_reports_every_problem_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("config.yaml");
    std::fs::write(
        &cfg,
        "clusterName: ok\nsource: ./x\nout: ./out\nfailOn: loud\ncolour: blue\nunsigned: 7\n",
    )
    .unwrap();
    let r = run(&["run", "--config", cfg.to_str().unwrap()], &[], tmp.path());
    assert_eq!(r.code, 1);
    let f = cfg.display().to_string();
    assert!(
        r.stderr
            .contains(&format!("{f}:4:9: `failOn`: unknown severity `loud`")),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains(&format!("{f}:5:1: unknown key `colour`")),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains(&format!(
            "{f}:6:11: `unsigned`: expected true or false, found an integer"
        )),
        "{}",
        r.stderr
    );
    assert_no_pack(&tmp.path().join("out"));
    let r = run(&["run", "--config", "nope.yaml"], &[], tmp.path());
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("cannot read configuration file nope.yaml"),
        "{}",
        r.stderr
    );
}

#[test]
fn usage_errors_exit_2() {
    let r = run(&["run", "--no-such-flag"], &[], &common::repo());
    assert_eq!(r.code, 2);
    let r = run(&["snapshot"], &[], &common::repo());
    assert_eq!(r.code, 2);
}

#[test]
fn snapshot_command_writes_gzip_once_and_prints_the_schema() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("s.json.gz");
    let r = run(
        &[
            "snapshot",
            "--source",
            "samples/cluster",
            "--output",
            file.to_str().unwrap(),
        ],
        &[("KUBE_EVIDENCE_NOW", NOW)],
        &common::repo(),
    );
    r.assert_ok();
    let bytes = std::fs::read(&file).unwrap();
    assert_eq!(&bytes[..2], &[0x1f, 0x8b], "gzip");
    let s = kube_evidence::snapshot::snapshot_from_bytes(&bytes, "s").unwrap();
    assert_eq!(s.cluster.name, "cluster");
    assert_eq!(s.schema_version, 1);
    let again = run(
        &[
            "snapshot",
            "--source",
            "samples/cluster",
            "--output",
            file.to_str().unwrap(),
        ],
        &[],
        &common::repo(),
    );
    assert_eq!(again.code, 2, "never overwrites: {}", again.stderr);
    assert!(
        again.stderr.contains("never overwrites"),
        "{}",
        again.stderr
    );
    assert_eq!(std::fs::read(&file).unwrap(), bytes);

    let schema = run(&["snapshot", "--schema"], &[], &common::repo());
    schema.assert_ok();
    let v: serde_json::Value = serde_json::from_str(&schema.stdout).unwrap();
    assert_eq!(v["title"], "Snapshot");
    assert!(v["properties"]["clusterRoleBindings"].is_object());
    assert!(
        v["required"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r == "schemaVersion")
    );
}

#[test]
fn the_schedule_interval_is_a_flag_of_run_as_the_readme_says() {
    let out = tempfile::tempdir().unwrap();
    let r = run(
        &[
            "run",
            "--config",
            "samples/config.yaml",
            "--out",
            out.path().to_str().unwrap(),
            "--schedule-interval-hours",
            "12",
        ],
        &[("KUBE_EVIDENCE_NOW", NOW)],
        &common::repo(),
    );
    r.assert_ok();
    let findings = files_under(out.path())
        .into_iter()
        .find(|f| f.ends_with("findings.json"))
        .unwrap();
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.path().join(findings)).unwrap()).unwrap();
    assert_eq!(doc["assessmentBasis"]["scheduleIntervalHours"], 12);
}
