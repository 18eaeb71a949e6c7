//! Publishing to a real S3-compatible server (SeaweedFS, started by tests/run.sh; private
//! instances are started here where a test must stop the server). Everything goes through the
//! binary, as a CronJob or an engineer would run it; the bucket is inspected with the SDK.

use crate::common;

use common::s3::{self, PrivateServer, S3Env, TrippingRelay};
use std::path::{Path, PathBuf};

const CLUSTER: &str = "sample-prod-eu-1";

struct Keys {
    _dir: tempfile::TempDir,
    key: PathBuf,
    signers: PathBuf,
}

fn keygen() -> Keys {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key");
    common::run(
        &["keygen", "--out", key.to_str().unwrap()],
        &[],
        &common::repo(),
    )
    .assert_ok();
    let signers = dir.path().join("key.allowed_signers");
    Keys {
        _dir: dir,
        key,
        signers,
    }
}

fn env_refs<'a>(pairs: &'a [(&'static str, String)]) -> Vec<(&'a str, &'a str)> {
    pairs.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// `kube-evidence ARGS` against `env`'s server (with `extra` environment).
fn cli(env: &S3Env, args: &[&str], extra: &[(&'static str, String)]) -> common::Run {
    let mut vars = s3::cli_env(env);
    vars.extend(extra.iter().cloned());
    common::run(args, &env_refs(&vars), &common::repo())
}

fn out_url(env: &S3Env, prefix: &str) -> String {
    format!("s3://{}/{prefix}", env.bucket)
}

/// A signed run of the samples to `s3://BUCKET/prefix`, at `now`.
fn run_to(env: &S3Env, prefix: &str, key: &Path, now: &str, more: &[&str]) -> common::Run {
    let url = out_url(env, prefix);
    let mut args = vec![
        "run",
        "--source",
        "samples/cluster",
        "--inventory",
        "samples/inventory.yaml",
        "--exceptions",
        "samples/exceptions.yaml",
        "--cluster-name",
        CLUSTER,
        "--out",
        &url,
        "--s3-endpoint",
        &env.endpoint,
        "--signing-key",
        key.to_str().unwrap(),
    ];
    args.extend_from_slice(more);
    cli(env, &args, &[("KUBE_EVIDENCE_NOW", now.to_string())])
}

/// Runs here pin their clock to dates in November 2026, while the S3 server stamps objects with
/// the real time: verifying them needs a tolerance that covers the difference.
const PINNED_CLOCK_SKEW: &str = "52560000";

fn pack_id_of(run: &common::Run) -> String {
    run.stdout
        .lines()
        .find_map(|l| l.strip_prefix("pack "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("no pack line in:\n{}", run.stdout))
        .to_string()
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
#[ignore = "needs the S3 server tests/run.sh starts"]
fn run_verify_chain_index_diff_and_changes_on_s3() {
    let env = s3::shared();
    let keys = keygen();
    let prefix = s3::unique_prefix("chain");
    let first = run_to(&env, &prefix, &keys.key, "2026-11-20T02:00:00Z", &[]);
    first.assert_ok();
    let first_id = pack_id_of(&first);
    assert!(
        first.stdout.contains("first pack of this cluster"),
        "{}",
        first.stdout
    );

    let url = out_url(&env, &prefix);
    let signers = keys.signers.to_str().unwrap();
    let verify = |chain: bool| {
        let mut args = vec![
            "verify",
            url.as_str(),
            "--cluster",
            CLUSTER,
            "--allowed-signers",
            signers,
            "--s3-endpoint",
            &env.endpoint,
            // The runs' clock is pinned to November; the server stamps objects with today.
            "--max-clock-skew-minutes",
            PINNED_CLOCK_SKEW,
        ];
        if chain {
            args.push("--chain");
        }
        cli(&env, &args, &[])
    };
    let v = verify(false);
    v.assert_ok();
    assert!(
        v.stdout.contains(&format!("PASS {first_id}")),
        "{}",
        v.stdout
    );

    let second = run_to(&env, &prefix, &keys.key, "2026-11-21T02:00:00Z", &[]);
    second.assert_ok();
    let second_id = pack_id_of(&second);
    assert!(
        second
            .stdout
            .contains(&format!("previous pack: {first_id}")),
        "{}",
        second.stdout
    );
    let v = verify(true);
    v.assert_ok();
    assert!(
        v.stdout.contains(&format!("PASS {first_id}")),
        "{}",
        v.stdout
    );
    assert!(
        v.stdout.contains(&format!("PASS {second_id}")),
        "{}",
        v.stdout
    );
    assert!(
        v.stdout.contains("2 pack(s) checked, 0 gap(s), 0 break(s)"),
        "{}",
        v.stdout
    );

    // Every object of both packs, the pointer, the index; no lease left behind.
    let rt = rt();
    let keys_now = rt.block_on(s3::keys(&env, &format!("{prefix}/")));
    assert!(
        !keys_now.iter().any(|k| k.ends_with(".publish-lease")),
        "the publish lease was not released: {keys_now:?}"
    );
    for file in ["latest.json", "index.html", "index.json"] {
        assert!(
            keys_now.contains(&format!("{prefix}/{CLUSTER}/{file}")),
            "{file} missing: {keys_now:?}"
        );
    }
    let latest: serde_json::Value = serde_json::from_slice(
        &rt.block_on(s3::get(&env, &format!("{prefix}/{CLUSTER}/latest.json")))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(latest["packId"], second_id.as_str());

    // The auditor index lists both packs, newest first, with relative links that resolve.
    let html = String::from_utf8(
        rt.block_on(s3::get(&env, &format!("{prefix}/{CLUSTER}/index.html")))
            .unwrap(),
    )
    .unwrap();
    let (a, b) = (
        html.find(&second_id).unwrap(),
        html.find(&first_id).unwrap(),
    );
    assert!(a < b, "newest pack first");
    assert!(!html.contains("http://") && !html.contains("https://"));
    let mut links = 0;
    for href in html
        .split("href=\"")
        .skip(1)
        .map(|s| &s[..s.find('"').unwrap()])
    {
        let key = format!("{prefix}/{CLUSTER}/{href}");
        assert!(
            keys_now.contains(&key),
            "index links to {href}, which is not stored"
        );
        links += 1;
    }
    assert!(links >= 2 * 8, "{links} links");

    // diff and changes read packs straight from the bucket.
    let first_path = latest["path"]
        .as_str()
        .unwrap()
        .replace(&second_id, &first_id);
    let _ = first_path; // the first pack's path is found through the index below
    let index: serde_json::Value = serde_json::from_slice(
        &rt.block_on(s3::get(&env, &format!("{prefix}/{CLUSTER}/index.json")))
            .unwrap(),
    )
    .unwrap();
    let paths: Vec<String> = index["packs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["path"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(paths.len(), 2);
    let old = format!("{url}/{}", paths[1]);
    let new = format!("{url}/{CLUSTER}/latest.json");
    let d = cli(
        &env,
        &[
            "diff",
            &old,
            &new,
            "--format",
            "json",
            "--s3-endpoint",
            &env.endpoint,
        ],
        &[],
    );
    d.assert_ok();
    let diff: serde_json::Value = serde_json::from_str(&d.stdout).unwrap();
    assert_eq!(diff["from"]["packId"], first_id.as_str(), "{}", d.stdout);
    assert_eq!(diff["to"]["packId"], second_id.as_str());
    let c = cli(
        &env,
        &[
            "changes",
            "--store",
            &url,
            "--cluster",
            CLUSTER,
            "--from",
            "2026-11-01",
            "--to",
            "2026-11-30",
            "--format",
            "json",
            "--s3-endpoint",
            &env.endpoint,
        ],
        &[],
    );
    c.assert_ok();
    let population: serde_json::Value = serde_json::from_str(&c.stdout).unwrap();
    assert_eq!(
        population["packs"].as_array().map(Vec::len),
        Some(2),
        "{}",
        c.stdout
    );
}

#[test]
#[ignore = "needs the S3 server tests/run.sh starts"]
fn an_existing_object_at_a_pack_path_is_never_replaced() {
    let env = s3::shared();
    let keys = keygen();
    let now = "2026-11-22T02:00:00Z";
    // The pack id depends only on the snapshot and the clock: learn it from a scratch prefix.
    let scratch = s3::unique_prefix("scratch");
    let r = run_to(&env, &scratch, &keys.key, now, &[]);
    r.assert_ok();
    let id = pack_id_of(&r);
    let pack_path = format!("{CLUSTER}/packs/2026/11/22/{id}");

    let prefix = s3::unique_prefix("create-only");
    let squatter = format!("{prefix}/{pack_path}/report.html");
    let rt = rt();
    rt.block_on(
        s3::client(&env)
            .put_object()
            .bucket(&env.bucket)
            .key(&squatter)
            .body(b"already here".to_vec().into())
            .send(),
    )
    .unwrap();
    let r = run_to(&env, &prefix, &keys.key, now, &[]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("already exists") && r.stderr.contains("never overwritten"),
        "{}",
        r.stderr
    );
    assert_eq!(
        rt.block_on(s3::get(&env, &squatter)).unwrap(),
        b"already here",
        "the existing object was replaced"
    );
    let stored = rt.block_on(s3::keys(&env, &format!("{prefix}/")));
    assert!(
        !stored
            .iter()
            .any(|k| k.ends_with("latest.json") || k.ends_with("manifest.json")),
        "a failed publication left a pointer or a manifest: {stored:?}"
    );
}

#[test]
#[ignore = "needs the S3 server tests/run.sh starts"]
fn bad_credentials_and_a_missing_bucket_fail_at_once_with_clear_messages() {
    let env = s3::shared();
    let keys = keygen();
    let wrong = S3Env {
        secret_key: "not-the-secret".into(),
        ..s3::shared()
    };
    let started = std::time::Instant::now();
    let r = run_to(
        &wrong,
        &s3::unique_prefix("badkey"),
        &keys.key,
        "2026-11-22T02:00:00Z",
        &[],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!("s3://{}", env.bucket)),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("opening bucket"), "{}", r.stderr);
    // The credentials themselves never reach a message, even the refused ones.
    assert!(
        !r.stderr.contains("not-the-secret") && !r.stdout.contains("not-the-secret"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("SignatureDoesNotMatch")
            || r.stderr.contains("AccessDenied")
            || r.stderr.contains("HTTP 403"),
        "{}",
        r.stderr
    );
    // Permanent errors are not retried for minutes.
    assert!(started.elapsed() < std::time::Duration::from_secs(60));

    let missing = S3Env {
        bucket: "no-such-bucket-kube-evidence".into(),
        ..s3::shared()
    };
    let r = run_to(&missing, "x", &keys.key, "2026-11-22T02:00:00Z", &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("s3://no-such-bucket-kube-evidence"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("NoSuchBucket") || r.stderr.contains("HTTP 404"),
        "{}",
        r.stderr
    );
}

#[test]
#[ignore = "needs the S3 server tests/run.sh starts"]
fn share_links_download_with_a_plain_http_client() {
    let env = s3::shared();
    let keys = keygen();
    let prefix = s3::unique_prefix("share");
    let r = run_to(&env, &prefix, &keys.key, "2026-11-23T02:00:00Z", &[]);
    r.assert_ok();
    let id = pack_id_of(&r);
    let url = out_url(&env, &prefix);
    let s = cli(
        &env,
        &[
            "share",
            &url,
            "--cluster",
            CLUSTER,
            "--expires",
            "2h",
            "--s3-endpoint",
            &env.endpoint,
        ],
        &[("KUBE_EVIDENCE_NOW", "2026-11-23T03:00:00Z".into())],
    );
    s.assert_ok();
    assert!(
        s.stdout.contains(&format!(
            "# pack {id}: links valid until 2026-11-23T05:00:00Z"
        )),
        "{}",
        s.stdout
    );
    let links: Vec<(&str, &str)> = s
        .stdout
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let mut parts = l.split_whitespace();
            (parts.next().unwrap(), parts.next().unwrap())
        })
        .collect();
    let names: Vec<&str> = links.iter().map(|(n, _)| *n).collect();
    for expected in [
        "index.html",
        "report.html",
        "report.pdf",
        "manifest.json",
        "manifest.json.sig",
        "SHA256SUMS",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} not shared: {names:?}"
        );
    }
    let rt = rt();
    let dir = tempfile::tempdir().unwrap();
    for (name, link) in &links {
        assert!(link.contains("X-Amz-Signature="), "{link}");
        assert!(link.contains("X-Amz-Expires=7200"), "{link}");
        // No credentials: curl sends the presigned URL as it is.
        let file = dir.path().join(name.replace('/', "_"));
        let status = std::process::Command::new("curl")
            .args(["-fsS", "-o", file.to_str().unwrap(), link])
            .status()
            .unwrap();
        assert!(status.success(), "downloading {name} failed");
        let key = if *name == "index.html" {
            format!("{prefix}/{CLUSTER}/index.html")
        } else {
            format!("{prefix}/{CLUSTER}/packs/2026/11/23/{id}/{name}")
        };
        assert_eq!(
            std::fs::read(&file).unwrap(),
            rt.block_on(s3::get(&env, &key)).unwrap(),
            "{name}"
        );
    }
    // A link whose signature was tampered with is refused.
    let (_, link) = links.iter().find(|(n, _)| *n == "report.html").unwrap();
    let forged = link.replace("report.html", "findings.json");
    let status = std::process::Command::new("curl")
        .args(["-fsS", "-o", "/dev/null", &forged])
        .status()
        .unwrap();
    assert!(!status.success(), "a link reused for another object worked");

    let r = cli(
        &env,
        &["share", &url, "--cluster", CLUSTER, "--expires", "8d"],
        &[],
    );
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("longer than S3 allows"), "{}", r.stderr);
}

#[test]
#[ignore = "needs the S3 server tests/run.sh starts"]
fn object_lock_retention_is_set_and_required() {
    let env = s3::shared();
    let keys = keygen();
    let rt = rt();
    // On a bucket without Object Lock the run refuses before publishing anything.
    let prefix = s3::unique_prefix("nolock");
    let r = run_to(
        &env,
        &prefix,
        &keys.key,
        "2026-11-24T02:00:00Z",
        &["--object-lock", "GOVERNANCE:1"],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("does not have Object Lock enabled"),
        "{}",
        r.stderr
    );
    assert!(
        rt.block_on(s3::keys(&env, &format!("{prefix}/")))
            .is_empty()
    );

    // A bucket created with Object Lock: every pack object carries the retention asked for.
    for (mode, bucket_suffix) in [("GOVERNANCE", "gov"), ("COMPLIANCE", "comp")] {
        let locked = S3Env {
            bucket: format!("locked-{bucket_suffix}-{}", std::process::id()),
            ..s3::shared()
        };
        rt.block_on(
            s3::client(&locked)
                .create_bucket()
                .bucket(&locked.bucket)
                .object_lock_enabled_for_bucket(true)
                .send(),
        )
        .unwrap();
        let r = run_to(
            &locked,
            "audit",
            &keys.key,
            "2026-11-24T02:00:00Z",
            &["--object-lock", &format!("{mode}:1")],
        );
        r.assert_ok();
        let stored = rt.block_on(s3::keys(&locked, "audit/"));
        let pack_objects: Vec<&String> = stored.iter().filter(|k| k.contains("/packs/")).collect();
        assert!(pack_objects.len() >= 10, "{stored:?}");
        let client = s3::client(&locked);
        for key in &pack_objects {
            let head = rt
                .block_on(client.head_object().bucket(&locked.bucket).key(*key).send())
                .unwrap();
            assert_eq!(
                head.object_lock_mode().map(|m| m.as_str()),
                Some(mode),
                "{key}"
            );
            let until = head
                .object_lock_retain_until_date()
                .expect("a retention date");
            let now = aws_sdk_s3::primitives::DateTime::from(std::time::SystemTime::now());
            assert!(
                until.secs() > now.secs() + 23 * 3600,
                "{key}: retained until {until}"
            );
        }
        // Deleting a retained version is refused.
        let key = pack_objects[0];
        let version = rt
            .block_on(client.head_object().bucket(&locked.bucket).key(key).send())
            .unwrap()
            .version_id()
            .map(str::to_string);
        let deleted = rt.block_on(
            client
                .delete_object()
                .bucket(&locked.bucket)
                .key(key)
                .set_version_id(version)
                .send(),
        );
        assert!(
            deleted.is_err(),
            "{mode}: a retained object version was deleted"
        );
        assert!(rt.block_on(s3::get(&locked, key)).is_some());
        // The pack records the retention it is kept under, for records protection (ISO 5.33).
        let findings = pack_objects
            .iter()
            .find(|k| k.ends_with("/findings.json"))
            .unwrap();
        let doc: serde_json::Value =
            serde_json::from_slice(&rt.block_on(s3::get(&locked, findings)).unwrap()).unwrap();
        assert_eq!(
            doc["assessmentBasis"]["retention"],
            serde_json::json!({"mode": mode.to_lowercase(), "days": 1}),
            "{mode}"
        );
        verify_reports_retention_against_the_horizon(&locked, &keys, mode);
    }
}

/// `verify` reads each pack object's lock: one day is flagged against the default horizon (a
/// year after the pack's period), fails with --require-retention, and holds for a horizon the
/// lock reaches.
fn verify_reports_retention_against_the_horizon(locked: &S3Env, keys: &Keys, mode: &str) {
    let url = format!("s3://{}/audit", locked.bucket);
    let verify = |more: &[&str]| {
        let mut args = vec![
            "verify",
            url.as_str(),
            "--cluster",
            CLUSTER,
            "--allowed-signers",
            keys.signers.to_str().unwrap(),
            "--s3-endpoint",
            &locked.endpoint,
            "--max-clock-skew-minutes",
            PINNED_CLOCK_SKEW,
        ];
        args.extend_from_slice(more);
        cli(locked, &args, &[])
    };
    let flagged = verify(&["--format", "json"]);
    flagged.assert_ok();
    let report: serde_json::Value = serde_json::from_str(&flagged.stdout).unwrap();
    let retention = &report["packs"][0]["retention"];
    assert_eq!(retention["flagged"], true, "{retention}");
    assert_eq!(
        retention["horizon"], "2027-11-24",
        "a year after the pack's day"
    );
    let objects = retention["objects"].as_array().unwrap();
    assert!(objects.len() >= 10);
    for o in objects {
        assert_eq!(o["mode"], mode, "{o}");
        assert!(o["retainUntil"].is_string(), "{o}");
    }
    assert_eq!(report["retentionFlagged"].as_array().unwrap().len(), 1);
    let required = verify(&["--require-retention"]);
    assert_eq!(required.code, 1, "{}", required.stdout);
    assert!(
        required.stdout.contains("FAIL retention"),
        "{}",
        required.stdout
    );
    // The lock (one day from the server's now) reaches a horizon of today; a governance lock
    // only when the auditor accepts governance mode (its bypass permission lifts it).
    let today = chrono::Utc::now().date_naive().to_string();
    if mode == "GOVERNANCE" {
        let bypassable = verify(&["--retention-horizon", &today, "--require-retention"]);
        assert_eq!(bypassable.code, 1, "{}", bypassable.stdout);
        assert!(
            bypassable.stdout.contains("s3:BypassGovernanceRetention"),
            "{}",
            bypassable.stdout
        );
    }
    let held = if mode == "GOVERNANCE" {
        verify(&["--retention-horizon", &today, "--accept-governance"])
    } else {
        verify(&["--retention-horizon", &today])
    };
    held.assert_ok();
    assert!(
        held.stdout.contains("ok   retention: ") && held.stdout.contains(&format!("({mode})")),
        "{}",
        held.stdout
    );
}

#[test]
#[ignore = "needs the S3 server tests/run.sh starts"]
fn server_side_encryption_is_applied_or_the_run_stops() {
    let env = s3::shared();
    let keys = keygen();
    let rt = rt();
    for (sse, extra) in [
        ("AES256", vec![]),
        ("aws:kms", vec!["--sse-kms-key-id", "alias/kube-evidence"]),
    ] {
        let prefix = s3::unique_prefix("sse");
        let mut more = vec!["--sse", sse];
        more.extend(extra);
        let r = run_to(&env, &prefix, &keys.key, "2026-11-25T02:00:00Z", &more);
        let stored = rt.block_on(s3::keys(&env, &format!("{prefix}/")));
        if r.code == 0 {
            for key in stored.iter().filter(|k| k.contains("/packs/")) {
                let head = rt
                    .block_on(
                        s3::client(&env)
                            .head_object()
                            .bucket(&env.bucket)
                            .key(key)
                            .send(),
                    )
                    .unwrap();
                assert_eq!(
                    head.server_side_encryption().map(|s| s.as_str()),
                    Some(sse),
                    "{key}"
                );
            }
            eprintln!("SSE {sse}: exercised; the server encrypted and reported every pack object");
        } else {
            // The server refused or ignored the encryption: the run must say so and publish
            // nothing that latest.json points to.
            assert_eq!(r.code, 1, "{}", r.stderr);
            assert!(
                r.stderr.contains("server-side encryption")
                    || r.stderr.contains("KMS")
                    || r.stderr.contains("kms"),
                "{}",
                r.stderr
            );
            assert!(
                !stored.iter().any(|k| k.ends_with("latest.json")),
                "{stored:?}"
            );
            eprintln!(
                "SSE {sse}: NOT EXERCISED: this SeaweedFS does not provide it; the run stopped with: {}",
                r.stderr.lines().last().unwrap_or_default()
            );
        }
    }
}

#[test]
#[ignore = "needs the SeaweedFS binary tests/run.sh installs"]
fn the_server_dying_mid_publish_leaves_latest_json_on_the_previous_pack() {
    let mut server = PrivateServer::start("evidence");
    let keys = keygen();
    let first = run_to(&server.env, "audit", &keys.key, "2026-11-20T02:00:00Z", &[]);
    first.assert_ok();
    let first_id = pack_id_of(&first);

    // A relay in front of the server kills it as the fourth pack object starts to upload.
    let pid = server.pid();
    let relay = TrippingRelay::start(
        server.base,
        "/packs/",
        3,
        Box::new(move || {
            let status = std::process::Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status()
                .unwrap();
            assert!(status.success(), "could not kill the server");
        }),
    );
    let via_relay = S3Env {
        endpoint: relay.endpoint.clone(),
        bucket: server.env.bucket.clone(),
        access_key: server.env.access_key.clone(),
        secret_key: server.env.secret_key.clone(),
    };
    let second = run_to(&via_relay, "audit", &keys.key, "2026-11-21T02:00:00Z", &[]);
    assert!(
        relay.tripped.load(std::sync::atomic::Ordering::SeqCst),
        "the relay never fired"
    );
    assert_eq!(second.code, 1, "{}\n{}", second.stdout, second.stderr);
    assert!(
        second.stderr.contains("publishing the pack failed"),
        "{}",
        second.stderr
    );
    assert!(
        !second.stdout.contains("written to"),
        "a failed run reported a pack: {}",
        second.stdout
    );

    server.restart();
    let rt = rt();
    let latest: serde_json::Value = serde_json::from_slice(&rt.block_on(s3::get_after_restart(
        &server.env,
        &format!("audit/{CLUSTER}/latest.json"),
    )))
    .unwrap();
    assert_eq!(latest["packId"], first_id.as_str(), "latest.json moved");
    let stored = rt.block_on(s3::keys(&server.env, "audit/"));
    let manifests = stored
        .iter()
        .filter(|k| k.ends_with("/manifest.json"))
        .count();
    assert_eq!(
        manifests, 1,
        "the interrupted pack has a manifest: {stored:?}"
    );
    let partial = stored
        .iter()
        .filter(|k| k.contains("/packs/2026/11/21/"))
        .count();
    assert_eq!(
        partial, 3,
        "exactly the objects before the crash: {stored:?}"
    );

    // The next run (once the dead run's lease has expired) succeeds and chains to the first pack.
    let third = run_to(&server.env, "audit", &keys.key, "2026-11-22T02:00:00Z", &[]);
    third.assert_ok();
    assert!(
        third.stdout.contains(&format!("previous pack: {first_id}")),
        "{}",
        third.stdout
    );
    let v = cli(
        &server.env,
        &[
            "verify",
            &format!("s3://{}/audit", server.env.bucket),
            "--cluster",
            CLUSTER,
            "--chain",
            "--allowed-signers",
            keys.signers.to_str().unwrap(),
            "--s3-endpoint",
            &server.env.endpoint,
            "--max-clock-skew-minutes",
            PINNED_CLOCK_SKEW,
        ],
        &[],
    );
    // Two packs a day apart with one scheduled run missing between them: a gap, no break.
    assert!(
        v.stdout.contains(&format!("PASS {first_id}")),
        "{}",
        v.stdout
    );
    assert!(v.stdout.contains("0 break(s)"), "{}", v.stdout);
    let index = String::from_utf8(
        rt.block_on(s3::get(&server.env, &format!("audit/{CLUSTER}/index.html")))
            .unwrap(),
    )
    .unwrap();
    assert!(
        index.contains("Interrupted publications"),
        "the index hides the interrupted upload"
    );
}

#[test]
#[ignore = "needs the S3 server tests/run.sh starts"]
fn large_objects_go_up_in_parts_and_stay_create_only() {
    use kube_evidence::store::s3::{MULTIPART_PART_SIZE, S3Options, S3Store};
    use kube_evidence::store::{Store, StoreError};
    let env = s3::shared();
    let rt = rt();
    let prefix = s3::unique_prefix("multipart");
    let mut options = S3Options::defaults();
    options.endpoint = Some(env.endpoint.clone());
    // The test process has the server's keys in AWS_* (tests/run.sh exports them).
    let store = rt
        .block_on(S3Store::connect(&env.bucket, &prefix, options))
        .unwrap();
    let big: Vec<u8> = (0..MULTIPART_PART_SIZE * 2 + 12_345)
        .map(|i| (i * 7 % 251) as u8)
        .collect();
    rt.block_on(store.put_new("c/packs/big.bin", &big, "application/octet-stream"))
        .unwrap();
    let whole = big.len() as u64;
    assert_eq!(
        rt.block_on(store.get_limited("c/packs/big.bin", whole))
            .unwrap()
            .unwrap(),
        big
    );
    // One byte under its size is refused on the announced length.
    let short = rt.block_on(store.get_limited("c/packs/big.bin", whole - 1));
    assert!(
        matches!(short, Err(StoreError::TooLarge { size, .. }) if size == whole),
        "{short:?}"
    );
    // A second multipart upload to the same key is refused when it completes, and aborted.
    let again =
        rt.block_on(store.put_new("c/packs/big.bin", &big[1..], "application/octet-stream"));
    assert!(
        matches!(again, Err(StoreError::AlreadyExists { .. })),
        "{again:?}"
    );
    assert_eq!(
        rt.block_on(store.get_limited("c/packs/big.bin", whole))
            .unwrap()
            .unwrap(),
        big
    );
    let uploads = rt
        .block_on(
            s3::client(&env)
                .list_multipart_uploads()
                .bucket(&env.bucket)
                .prefix(&prefix)
                .send(),
        )
        .unwrap();
    assert!(
        uploads.uploads().is_empty(),
        "an aborted upload was left behind"
    );
    assert_eq!(
        rt.block_on(store.list("c/packs/")).unwrap(),
        ["c/packs/big.bin"]
    );
}

#[test]
#[ignore = "needs the S3 server tests/run.sh starts"]
fn verify_checks_the_claimed_time_against_the_servers_last_modified() {
    let env = s3::shared();
    let keys = keygen();
    let verify = |prefix: &str| {
        cli(
            &env,
            &[
                "verify",
                &out_url(&env, prefix),
                "--cluster",
                CLUSTER,
                "--allowed-signers",
                keys.signers.to_str().unwrap(),
                "--s3-endpoint",
                &env.endpoint,
            ],
            &[],
        )
    };
    // A pack that claims a time ten years from now was not published when it says.
    let prefix = s3::unique_prefix("time-claimed");
    run_to(&env, &prefix, &keys.key, "2036-11-20T02:00:00Z", &[]).assert_ok();
    let v = verify(&prefix);
    assert_ne!(v.code, 0, "{}", v.stdout);
    assert!(
        v.stdout.contains("the pack was not published when it says"),
        "{}",
        v.stdout
    );
    // A pack published on the real clock agrees with the server's time.
    let prefix = s3::unique_prefix("time-real");
    let mut args = vec![
        "run",
        "--source",
        "samples/cluster",
        "--cluster-name",
        CLUSTER,
        "--s3-endpoint",
        &env.endpoint,
        "--signing-key",
        keys.key.to_str().unwrap(),
    ];
    let url = out_url(&env, &prefix);
    args.extend(["--out", url.as_str()]);
    cli(&env, &args, &[]).assert_ok();
    let v = verify(&prefix);
    v.assert_ok();
    assert!(v.stdout.contains("min apart"), "{}", v.stdout);
}

#[test]
#[ignore = "needs the S3 server tests/run.sh starts"]
fn fleet_report_reads_a_bucket_of_clusters_and_publishes_the_fleet_index() {
    let env = s3::shared();
    let keys = keygen();
    let prefix = s3::unique_prefix("fleet");
    let url = out_url(&env, &prefix);
    for (cluster, now) in [
        ("eu", "2026-11-19T02:00:00Z"),
        ("eu", "2026-11-20T02:00:00Z"),
        ("us", "2026-11-20T02:00:00Z"),
    ] {
        cli(
            &env,
            &[
                "run",
                "--source",
                "samples/cluster",
                "--inventory",
                "samples/inventory.yaml",
                "--cluster-name",
                cluster,
                "--out",
                &url,
                "--s3-endpoint",
                &env.endpoint,
                "--signing-key",
                keys.key.to_str().unwrap(),
            ],
            &[("KUBE_EVIDENCE_NOW", now.to_string())],
        )
        .assert_ok();
    }
    let out = tempfile::tempdir().unwrap();
    let r = cli(
        &env,
        &[
            "fleet",
            "report",
            "--store",
            &url,
            "--out",
            out.path().join("r").to_str().unwrap(),
            "--allowed-signers",
            keys.signers.to_str().unwrap(),
            "--s3-endpoint",
            &env.endpoint,
            "--publish-index",
        ],
        &[("KUBE_EVIDENCE_NOW", "2026-11-20T06:00:00Z".to_string())],
    );
    r.assert_ok();
    assert!(r.stdout.contains("2 cluster(s): 2 current"), "{}", r.stdout);
    let local = std::fs::read(out.path().join("r/fleet.json")).unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&local).unwrap();
    assert_eq!(doc["clusters"][0]["chain"]["packs"], 2);
    assert_eq!(doc["clusters"][0]["latest"]["signature"], "trusted signer");
    // The fleet's own objects sit at the prefix, beside the clusters' folders.
    let client = s3::client(&env);
    let published = rt().block_on(async {
        let get = |key: String| {
            let client = client.clone();
            let bucket = env.bucket.clone();
            async move {
                let o = client
                    .get_object()
                    .bucket(bucket)
                    .key(key)
                    .send()
                    .await
                    .unwrap();
                o.body.collect().await.unwrap().into_bytes().to_vec()
            }
        };
        (
            get(format!("{prefix}/fleet.json")).await,
            get(format!("{prefix}/index.html")).await,
        )
    });
    assert_eq!(published.0, local);
    let page = String::from_utf8(published.1).unwrap();
    assert!(page.contains("<a href=\"us/index.html\">us</a>"), "{page}");
    // This bucket has no Object Lock: verify says so for every object of the pack.
    let v = cli(
        &env,
        &[
            "verify",
            &url,
            "--cluster",
            "us",
            "--allowed-signers",
            keys.signers.to_str().unwrap(),
            "--s3-endpoint",
            &env.endpoint,
            "--max-clock-skew-minutes",
            PINNED_CLOCK_SKEW,
        ],
        &[],
    );
    v.assert_ok();
    assert!(
        v.stdout.contains("FLAG retention: ")
            && v.stdout.contains("(none, no retention date)")
            && v.stdout.contains("retained for less than the horizon"),
        "{}",
        v.stdout
    );
}

/// Issue 32: a command against a bucket with no region configured anywhere (no flag, variable
/// or profile) uses us-east-1 without asking the EC2 instance metadata service, which off EC2
/// answered with two multi-KB warnings per command.
#[test]
#[ignore = "needs the S3 server tests/run.sh starts"]
fn no_region_configured_means_us_east_1_and_no_instance_metadata_lookup() {
    let env = s3::shared();
    let home = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let mut cmd = std::process::Command::new(common::bin());
    cmd.args([
        "fleet",
        "report",
        "--store",
        &format!("{}/", out_url(&env, &s3::unique_prefix("noregion"))),
        "--out",
        out.path().join("fleet").to_str().unwrap(),
    ]);
    for (k, _) in std::env::vars() {
        if k.starts_with("KUBE_EVIDENCE_") || k.starts_with("AWS_") || k == "RUST_LOG" {
            cmd.env_remove(k);
        }
    }
    cmd.env("HOME", home.path())
        .env("AWS_ACCESS_KEY_ID", &env.access_key)
        .env("AWS_SECRET_ACCESS_KEY", &env.secret_key)
        .env("KUBE_EVIDENCE_S3_ENDPOINT", &env.endpoint);
    let output = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    // The empty prefix holds no cluster: the bucket was reached and answered.
    assert!(stderr.contains("holds no cluster"), "{stderr}");
    assert!(!stderr.contains("IMDS"), "{stderr}");
    assert!(stderr.len() < 1_000, "{stderr}");
}
