//! Signed, hash-chained packs: stock-tool verification, tampering, signers, validity windows,
//! chains with gaps, and the key never leaking.

use crate::common;

use common::{files_under, run};
use kube_evidence::pack::sign::parse_allowed_signers;
use kube_evidence::pack::verify::{VerifyOptions, verify};
use kube_evidence::store::local::LocalStore;
use std::path::{Path, PathBuf};
use std::process::Command;

struct Keys {
    _dir: tempfile::TempDir,
    key: PathBuf,
    signers: PathBuf,
}

fn keygen(identity: &str) -> Keys {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key");
    run(
        &[
            "keygen",
            "--out",
            key.to_str().unwrap(),
            "--identity",
            identity,
        ],
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

fn signed_run(out: &Path, key: &Path, now: &str) -> common::Run {
    run(
        &[
            "run",
            "--source",
            "samples/cluster",
            "--out",
            out.to_str().unwrap(),
            "--cluster-name",
            "c",
            "--signing-key",
            key.to_str().unwrap(),
            "--inventory",
            "samples/inventory.yaml",
        ],
        &[
            ("KUBE_EVIDENCE_NOW", now),
            ("KUBE_EVIDENCE_LOG_LEVEL", "warn"),
        ],
        &common::repo(),
    )
}

fn only_pack(out: &Path) -> PathBuf {
    let m = files_under(out)
        .into_iter()
        .find(|f| f.ends_with("manifest.json"))
        .unwrap();
    out.join(m).parent().unwrap().to_path_buf()
}

#[test]
fn a_fresh_pack_verifies_with_kube_evidence_and_with_stock_tools() {
    let k = keygen("kube-evidence@c");
    let out = tempfile::tempdir().unwrap();
    signed_run(out.path(), &k.key, "2026-11-20T02:00:00Z").assert_ok();
    let pack = only_pack(out.path());
    let manifest = std::fs::read(pack.join("manifest.json")).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&manifest).unwrap();
    assert_eq!(v["signed"], true);
    // Page 1 names the key and the identity its owner gave it.
    let html = std::fs::read_to_string(pack.join("report.html")).unwrap();
    let fingerprint = v["signingKeyFingerprint"].as_str().unwrap();
    assert!(
        html.contains(&format!(
            "signed with Ed25519 key {fingerprint}, named kube-evidence@c by its owner"
        )),
        "page 1 does not name the signer"
    );
    assert!(!html.contains("class=\"banner-unsigned\""));
    assert!(
        v["signingKeyFingerprint"]
            .as_str()
            .unwrap()
            .starts_with("SHA256:")
    );
    // OpenSSH, exactly as the README says
    let out_ssh = Command::new("ssh-keygen")
        .args([
            "-Y",
            "verify",
            "-f",
            k.signers.to_str().unwrap(),
            "-I",
            "kube-evidence@c",
            "-n",
            "kube-evidence",
            "-s",
        ])
        .arg(pack.join("manifest.json.sig"))
        .stdin(std::fs::File::open(pack.join("manifest.json")).unwrap())
        .output()
        .expect("ssh-keygen runs");
    assert!(
        out_ssh.status.success(),
        "ssh-keygen: {}{}",
        String::from_utf8_lossy(&out_ssh.stdout),
        String::from_utf8_lossy(&out_ssh.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out_ssh.stdout)
            .contains("Good \"kube-evidence\" signature for kube-evidence@c")
    );
    let sums = Command::new("sha256sum")
        .args(["-c", "SHA256SUMS"])
        .current_dir(&pack)
        .output()
        .unwrap();
    assert!(
        sums.status.success(),
        "{}",
        String::from_utf8_lossy(&sums.stdout)
    );
    // and kube-evidence verify, on the pack, the latest.json and the store
    for target in [
        pack.to_str().unwrap().to_string(),
        out.path()
            .join("c/latest.json")
            .to_str()
            .unwrap()
            .to_string(),
        out.path().to_str().unwrap().to_string(),
    ] {
        let r = run(
            &[
                "verify",
                &target,
                "--allowed-signers",
                k.signers.to_str().unwrap(),
            ],
            &[],
            &common::repo(),
        );
        assert_eq!(r.code, 0, "{target}: {}{}", r.stdout, r.stderr);
        assert!(r.stdout.contains("VERIFIED"));
    }
    let r = run(
        &[
            "verify",
            pack.to_str().unwrap(),
            "--allowed-signers",
            k.signers.to_str().unwrap(),
            "--format",
            "json",
        ],
        &[],
        &common::repo(),
    );
    let j: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(j["ok"], true);
}

fn verify_in_process(
    out: &Path,
    prefix: &str,
    signers: &Path,
) -> kube_evidence::pack::verify::VerifyReport {
    let store = LocalStore::new(out);
    let opts = VerifyOptions {
        allowed_signers: Some(
            parse_allowed_signers(&std::fs::read_to_string(signers).unwrap(), "s").unwrap(),
        ),
        schedule_interval_hours: 24,
        ..Default::default()
    };
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(verify(&store, prefix, &opts))
}

#[test]
fn flipping_any_byte_of_any_file_is_caught_and_names_the_file() {
    let k = keygen("kube-evidence@c");
    let out = tempfile::tempdir().unwrap();
    signed_run(out.path(), &k.key, "2026-11-20T02:00:00Z").assert_ok();
    let pack = only_pack(out.path());
    let prefix = pack
        .strip_prefix(out.path())
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(verify_in_process(out.path(), &prefix, &k.signers).ok);
    let files = files_under(&pack);
    assert!(files.len() >= 9, "{files:?}");
    for f in &files {
        let path = pack.join(f);
        let original = std::fs::read(&path).unwrap();
        let positions = [
            0,
            original.len() / 3,
            original.len() / 2,
            original.len() - 1,
        ];
        for pos in positions {
            let mut bytes = original.clone();
            bytes[pos] ^= 0x01;
            std::fs::write(&path, &bytes).unwrap();
            let report = verify_in_process(out.path(), &prefix, &k.signers);
            assert!(!report.ok, "{f} byte {pos} flipped but the pack verified");
            let failures: Vec<String> = report.packs[0]
                .checks
                .iter()
                .filter(|c| !c.ok)
                .map(|c| c.detail.clone())
                .collect();
            let named = match f.as_str() {
                "manifest.json" => failures.iter().any(|d| d.contains("manifest.json")),
                "manifest.json.sig" => failures.iter().any(|d| d.contains("manifest.json.sig")),
                other => failures.iter().any(|d| d.contains(other)),
            };
            assert!(
                named,
                "{f} byte {pos}: failures do not name it: {failures:?}"
            );
        }
        std::fs::write(&path, &original).unwrap();
    }
    assert!(
        verify_in_process(out.path(), &prefix, &k.signers).ok,
        "restored"
    );
}

#[test]
fn removing_or_adding_a_file_fails() {
    let k = keygen("kube-evidence@c");
    let out = tempfile::tempdir().unwrap();
    signed_run(out.path(), &k.key, "2026-11-20T02:00:00Z").assert_ok();
    let pack = only_pack(out.path());
    let prefix = pack
        .strip_prefix(out.path())
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    std::fs::write(pack.join("extra.txt"), "planted").unwrap();
    let r = verify_in_process(out.path(), &prefix, &k.signers);
    assert!(!r.ok);
    assert!(
        r.packs[0]
            .checks
            .iter()
            .any(|c| c.detail == "extra.txt is not listed in the manifest")
    );
    std::fs::remove_file(pack.join("extra.txt")).unwrap();
    let csv = std::fs::read(pack.join("findings.csv")).unwrap();
    std::fs::remove_file(pack.join("findings.csv")).unwrap();
    let r = verify_in_process(out.path(), &prefix, &k.signers);
    assert!(!r.ok);
    assert!(
        r.packs[0]
            .checks
            .iter()
            .any(|c| c.detail == "findings.csv is missing")
    );
    std::fs::write(pack.join("findings.csv"), csv).unwrap();
}

#[test]
fn signers_and_validity_windows() {
    let k = keygen("kube-evidence@c");
    let stranger = keygen("someone-else");
    let out = tempfile::tempdir().unwrap();
    signed_run(out.path(), &k.key, "2026-11-20T02:00:00Z").assert_ok();
    let pack = only_pack(out.path());
    let p = pack.to_str().unwrap();
    let r = run(
        &[
            "verify",
            p,
            "--allowed-signers",
            stranger.signers.to_str().unwrap(),
        ],
        &[],
        &common::repo(),
    );
    assert_eq!(r.code, 1);
    assert!(
        r.stdout.contains("which is not in the allowed signers"),
        "{}",
        r.stdout
    );
    let public = std::fs::read_to_string(format!("{}.pub", k.key.display())).unwrap();
    let dir = tempfile::tempdir().unwrap();
    // rotated out before the pack was signed: fails
    let expired = dir.path().join("expired");
    std::fs::write(
        &expired,
        format!("kube-evidence@c namespaces=\"kube-evidence\",valid-before=\"20261101Z\" {public}"),
    )
    .unwrap();
    let r = run(
        &["verify", p, "--allowed-signers", expired.to_str().unwrap()],
        &[],
        &common::repo(),
    );
    assert_eq!(r.code, 1);
    assert!(
        r.stdout.contains("is not valid at 2026-11-20T02:00:"),
        "{}",
        r.stdout
    );
    // rotated out after it signed this pack: old packs keep verifying
    let rotated = dir.path().join("rotated");
    std::fs::write(&rotated, format!("kube-evidence@c namespaces=\"kube-evidence\",valid-after=\"20260101Z\",valid-before=\"20261125Z\" {public}")).unwrap();
    let r = run(
        &["verify", p, "--allowed-signers", rotated.to_str().unwrap()],
        &[],
        &common::repo(),
    );
    assert_eq!(r.code, 0, "{}", r.stdout);
    // no allowed signers: the signature is checked but not trusted
    let r = run(&["verify", p], &[], &common::repo());
    assert_eq!(r.code, 1);
    assert!(
        r.stdout.contains("no --allowed-signers were given"),
        "{}",
        r.stdout
    );
}

#[test]
fn a_chain_of_five_verifies_and_a_missing_middle_pack_is_a_gap() {
    let k = keygen("kube-evidence@c");
    let out = tempfile::tempdir().unwrap();
    for d in 16..=20 {
        signed_run(out.path(), &k.key, &format!("2026-11-{d}T02:00:00Z")).assert_ok();
    }
    let latest = out.path().join("c/latest.json");
    let r = run(
        &[
            "verify",
            latest.to_str().unwrap(),
            "--chain",
            "--allowed-signers",
            k.signers.to_str().unwrap(),
        ],
        &[],
        &common::repo(),
    );
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert_eq!(r.stdout.matches("PASS ").count(), 5);
    let r = run(
        &[
            "verify",
            latest.to_str().unwrap(),
            "--chain",
            "--since",
            "2026-11-19",
            "--allowed-signers",
            k.signers.to_str().unwrap(),
        ],
        &[],
        &common::repo(),
    );
    assert_eq!(r.code, 0);
    assert_eq!(r.stdout.matches("PASS ").count(), 2, "{}", r.stdout);
    std::fs::remove_dir_all(out.path().join("c/packs/2026/11/18")).unwrap();
    let r = run(
        &[
            "verify",
            latest.to_str().unwrap(),
            "--chain",
            "--allowed-signers",
            k.signers.to_str().unwrap(),
            "--format",
            "json",
        ],
        &[],
        &common::repo(),
    );
    assert_eq!(r.code, 1);
    let j: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(j["ok"], false);
    let gaps = j["gaps"].as_array().unwrap();
    assert!(
        gaps.iter()
            .any(|g| g.as_str().unwrap().contains("20261118T020000000Z")
                && g.as_str().unwrap().contains("is missing between")),
        "{gaps:#?}"
    );
    assert_eq!(
        j["packs"].as_array().unwrap().len(),
        4,
        "the packs before the gap are verified too"
    );
    assert!(
        j["breaks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b.as_str().unwrap().contains("missing from the store"))
    );
}

/// `kube-evidence verify --chain` over `latest.json`, with these allowed signers.
fn verify_chain(out: &Path, signers: &Path) -> common::Run {
    let latest = out.join("c/latest.json");
    run(
        &[
            "verify",
            latest.to_str().unwrap(),
            "--chain",
            "--allowed-signers",
            signers.to_str().unwrap(),
        ],
        &[],
        &common::repo(),
    )
}

#[test]
fn rotating_the_key_mid_chain_keeps_every_pack_verifiable() {
    // docs/auditors.md, "Rotating the signing key": the old key's line gets `valid-before`, the
    // new key's `valid-after`, at the moment of the switch; the chain is not broken.
    let old = keygen("kube-evidence@c");
    let new = keygen("kube-evidence@c");
    let public = |k: &Keys| std::fs::read_to_string(format!("{}.pub", k.key.display())).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let signers = dir.path().join("allowed_signers");
    std::fs::write(
        &signers,
        format!(
            "kube-evidence@c namespaces=\"kube-evidence\",valid-before=\"202611181200Z\" {}\
             kube-evidence@c namespaces=\"kube-evidence\",valid-after=\"202611181200Z\" {}",
            public(&old),
            public(&new)
        ),
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    for d in 16..=18 {
        signed_run(out.path(), &old.key, &format!("2026-11-{d}T02:00:00Z")).assert_ok();
    }
    // The run with the new key trusts what the old one signed only because the allowed
    // signers say so (a run that signs carries forward only packs of keys it trusts).
    let mut without = signed_run(out.path(), &new.key, "2026-11-19T02:00:00Z");
    assert_eq!(without.code, 1, "{}", without.stderr);
    for d in 19..=20 {
        without = run(
            &[
                "run",
                "--source",
                "samples/cluster",
                "--out",
                out.path().to_str().unwrap(),
                "--cluster-name",
                "c",
                "--signing-key",
                new.key.to_str().unwrap(),
                "--inventory",
                "samples/inventory.yaml",
                "--allowed-signers",
                signers.to_str().unwrap(),
            ],
            &[
                (
                    "KUBE_EVIDENCE_NOW",
                    format!("2026-11-{d}T02:00:00Z").as_str(),
                ),
                ("KUBE_EVIDENCE_LOG_LEVEL", "warn"),
            ],
            &common::repo(),
        );
        without.assert_ok();
    }
    let r = verify_chain(out.path(), &signers);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert_eq!(r.stdout.matches("PASS ").count(), 5, "{}", r.stdout);

    // The old key retired too early: the pack it signed after its window fails, by name.
    let early = dir.path().join("early");
    std::fs::write(
        &early,
        format!(
            "kube-evidence@c namespaces=\"kube-evidence\",valid-before=\"20261117Z\" {}\
             kube-evidence@c namespaces=\"kube-evidence\",valid-after=\"202611181200Z\" {}",
            public(&old),
            public(&new)
        ),
    )
    .unwrap();
    let r = verify_chain(out.path(), &early);
    assert_eq!(r.code, 1);
    assert!(
        r.stdout.contains("FAIL 20261117T020000000Z"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("FAIL 20261118T020000000Z"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("PASS 20261119T020000000Z"),
        "{}",
        r.stdout
    );

    // A pack signed with the old key after the switch (a leaked or forgotten key, used with the
    // public allowed-signers file) fails.
    run(
        &[
            "run",
            "--source",
            "samples/cluster",
            "--out",
            out.path().to_str().unwrap(),
            "--cluster-name",
            "c",
            "--signing-key",
            old.key.to_str().unwrap(),
            "--inventory",
            "samples/inventory.yaml",
            "--allowed-signers",
            signers.to_str().unwrap(),
        ],
        &[
            ("KUBE_EVIDENCE_NOW", "2026-11-21T02:00:00Z"),
            ("KUBE_EVIDENCE_LOG_LEVEL", "warn"),
        ],
        &common::repo(),
    )
    .assert_ok();
    let r = verify_chain(out.path(), &signers);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stdout.contains("FAIL 20261121T020000000Z"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("is not valid at 2026-11-21T02:00:"),
        "{}",
        r.stdout
    );
}

#[test]
fn the_key_text_never_appears_in_any_output() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("k");
    let made = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "ops", "-f"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(made.status.success(), "keys made by ssh-keygen work too");
    let text = std::fs::read_to_string(&key).unwrap();
    let out = tempfile::tempdir().unwrap();
    let r = run(
        &[
            "run",
            "--source",
            "samples/cluster",
            "--out",
            out.path().to_str().unwrap(),
            "--cluster-name",
            "c",
            "--inventory",
            "samples/inventory.yaml",
        ],
        &[
            ("KUBE_EVIDENCE_SIGNING_KEY", &text),
            ("KUBE_EVIDENCE_LOG_LEVEL", "trace"),
            ("KUBE_EVIDENCE_LOG_FORMAT", "json"),
            ("KUBE_EVIDENCE_NOW", "2026-11-20T02:00:00Z"),
        ],
        &common::repo(),
    );
    r.assert_ok();
    let secret_lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with("-----") && l.len() > 20)
        .collect();
    assert!(!secret_lines.is_empty());
    let mut haystacks = vec![r.stdout.clone(), r.stderr.clone()];
    let pack = only_pack(out.path());
    for f in files_under(&pack) {
        let bytes = std::fs::read(pack.join(&f)).unwrap();
        let bytes = if f.ends_with(".gz") {
            let mut s = String::new();
            std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut s)
                .unwrap();
            s.into_bytes()
        } else {
            bytes
        };
        haystacks.push(String::from_utf8_lossy(&bytes).to_string());
    }
    for h in &haystacks {
        for l in &secret_lines {
            assert!(!h.contains(l), "key material leaked");
        }
    }
    // the public half verifies with OpenSSH
    let public = std::fs::read_to_string(format!("{}.pub", key.display())).unwrap();
    let signers = dir.path().join("allowed");
    std::fs::write(&signers, format!("ops {public}")).unwrap();
    let r = run(
        &[
            "verify",
            pack.to_str().unwrap(),
            "--allowed-signers",
            signers.to_str().unwrap(),
        ],
        &[],
        &common::repo(),
    );
    assert_eq!(r.code, 0, "{}", r.stdout);
    // a bad key in the variable is reported without echoing it
    let r = run(
        &[
            "run",
            "--source",
            "samples/cluster",
            "--out",
            out.path().to_str().unwrap(),
            "--cluster-name",
            "c",
        ],
        &[("KUBE_EVIDENCE_SIGNING_KEY", "TOTALLY-SECRET-NOT-A-KEY")],
        &common::repo(),
    );
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains(
            "the signing key from KUBE_EVIDENCE_SIGNING_KEY is not an OpenSSH private key"
        ),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("TOTALLY-SECRET"));
}

#[test]
fn signing_is_required_or_explicitly_refused() {
    let out = tempfile::tempdir().unwrap();
    // a run configured to sign that cannot read its key fails before collecting anything: the
    // source does not exist either, and the error is about the key
    let r = run(
        &[
            "run",
            "--source",
            "no-such-dump",
            "--out",
            out.path().to_str().unwrap(),
            "--cluster-name",
            "c",
            "--signing-key",
            "no-such-key",
        ],
        &[],
        &common::repo(),
    );
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("cannot read the signing key from no-such-key"),
        "{}",
        r.stderr
    );
    assert!(
        !r.stderr.contains("no-such-dump"),
        "nothing was collected: {}",
        r.stderr
    );
    let r = run(
        &[
            "run",
            "--source",
            "samples/cluster",
            "--out",
            out.path().to_str().unwrap(),
            "--cluster-name",
            "c",
        ],
        &[],
        &common::repo(),
    );
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("no signing key"), "{}", r.stderr);
    assert!(
        files_under(out.path())
            .iter()
            .all(|f| !f.ends_with("manifest.json"))
    );
    let r = run(
        &[
            "run",
            "--source",
            "samples/cluster",
            "--out",
            out.path().to_str().unwrap(),
            "--cluster-name",
            "c",
            "--unsigned",
        ],
        &[],
        &common::repo(),
    );
    r.assert_ok();
    let pack = only_pack(out.path());
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(pack.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m["signed"], false);
    assert!(!pack.join("manifest.json.sig").exists());
    let v = run(&["verify", pack.to_str().unwrap()], &[], &common::repo());
    assert_eq!(v.code, 1);
    assert!(v.stdout.contains("UNSIGNED"));
    let v = run(
        &["verify", pack.to_str().unwrap(), "--allow-unsigned"],
        &[],
        &common::repo(),
    );
    assert_eq!(v.code, 0, "{}", v.stdout);
    assert!(v.stdout.contains("(UNSIGNED)"));
}

#[test]
fn keygen_never_overwrites() {
    let k = keygen("x");
    let r = run(
        &["keygen", "--out", k.key.to_str().unwrap()],
        &[],
        &common::repo(),
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("never overwrites"));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&k.key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(
        std::fs::read_to_string(&k.signers)
            .unwrap()
            .starts_with("x namespaces=\"kube-evidence\" ssh-ed25519 ")
    );
}

/// The auditor's stock-tool steps, exactly as docs/auditors.md gives them (the `sh` block after
/// the `auditor-steps` marker).
fn readme_auditor_steps() -> String {
    let readme = std::fs::read_to_string(common::repo().join("docs/auditors.md")).unwrap();
    let after = readme
        .split_once("<!-- auditor-steps -->")
        .expect("docs/auditors.md marks the auditor's steps")
        .1;
    let block = after.split_once("```sh\n").unwrap().1;
    block.split_once("```").unwrap().0.to_string()
}

/// Runs the README's steps in `pack` with bash (each command must succeed, as the README says).
fn stock_steps_pass(pack: &Path, signers: &Path, identity: &str) -> (bool, String) {
    let out = Command::new("bash")
        .args(["-e", "-o", "pipefail", "-c", &readme_auditor_steps()])
        .current_dir(pack)
        .env("ALLOWED_SIGNERS", signers)
        .env("IDENTITY", identity)
        .output()
        .expect("bash runs");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// What a forger with write access to the pack, but not the key, would do to SHA256SUMS after
/// changing files: recompute it over the files it lists, or over the files now present.
fn regenerate_sums(pack: &Path, over_present_files: bool) {
    let listed: Vec<String> = std::fs::read_to_string(pack.join("SHA256SUMS"))
        .unwrap()
        .lines()
        .map(|l| l[66..].to_string())
        .collect();
    let mut names: Vec<String> = if over_present_files {
        std::fs::read_dir(pack)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| {
                !matches!(
                    n.as_str(),
                    "SHA256SUMS" | "SHA256SUMS.sig" | "manifest.json.sig"
                )
            })
            .collect()
    } else {
        listed
            .into_iter()
            .filter(|n| pack.join(n).exists())
            .collect()
    };
    names.sort();
    let out = Command::new("sha256sum")
        .args(&names)
        .current_dir(pack)
        .output()
        .unwrap();
    assert!(out.status.success());
    std::fs::write(pack.join("SHA256SUMS"), out.stdout).unwrap();
}

/// Signs `file` in `pack` with a key that is not in the allowed signers, as ssh-keygen would.
fn forge_signature(pack: &Path, file: &str, sig: &str) {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("forger");
    let made = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "forger", "-f"])
        .arg(&key)
        .status()
        .unwrap();
    assert!(made.success());
    let signed = Command::new("ssh-keygen")
        .args(["-Y", "sign", "-n", "kube-evidence", "-f"])
        .arg(&key)
        .arg(pack.join(file))
        .output()
        .unwrap();
    assert!(signed.status.success(), "{signed:?}");
    std::fs::rename(pack.join(format!("{file}.sig")), pack.join(sig)).unwrap();
}

/// A copy under the same directory name (the pack id), which `verify` checks too.
fn copy_pack(pack: &Path, to: &Path) -> PathBuf {
    let copy = to.join(pack.file_name().unwrap());
    std::fs::create_dir_all(&copy).unwrap();
    for entry in std::fs::read_dir(pack).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), copy.join(entry.file_name())).unwrap();
    }
    copy
}

#[test]
fn the_readme_auditor_steps_pass_on_a_pack_and_fail_on_every_tampering() {
    let identity = "kube-evidence@c";
    let k = keygen(identity);
    let out = tempfile::tempdir().unwrap();
    signed_run(out.path(), &k.key, "2026-11-20T02:00:00Z").assert_ok();
    let pack = only_pack(out.path());
    assert!(pack.join("SHA256SUMS.sig").exists());

    let (ok, output) = stock_steps_pass(&pack, &k.signers, identity);
    assert!(ok, "the README's steps fail on a genuine pack:\n{output}");
    assert!(output.contains("Good \"kube-evidence\" signature for kube-evidence@c"));
    // An untouched copy verifies both ways, so every failure below is the tampering's.
    let scratch = tempfile::tempdir().unwrap();
    let copy = copy_pack(&pack, scratch.path());
    assert!(stock_steps_pass(&copy, &k.signers, identity).0);
    let r = run(
        &[
            "verify",
            copy.to_str().unwrap(),
            "--allowed-signers",
            k.signers.to_str().unwrap(),
        ],
        &[],
        &common::repo(),
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);

    type Tamper = fn(&Path);
    let tamperings: &[(&str, Tamper)] = &[
        ("a file changed", |p| {
            common::flip_middle_byte(&p.join("report.pdf"))
        }),
        ("a file changed and SHA256SUMS regenerated", |p| {
            common::flip_middle_byte(&p.join("report.pdf"));
            regenerate_sums(p, false);
        }),
        (
            "a file changed, SHA256SUMS regenerated and signed by another key",
            |p| {
                common::flip_middle_byte(&p.join("findings.csv"));
                regenerate_sums(p, false);
                forge_signature(p, "SHA256SUMS", "SHA256SUMS.sig");
            },
        ),
        ("a file added", |p| {
            std::fs::write(p.join("extra.html"), "<p>planted</p>").unwrap()
        }),
        ("a hidden file added", |p| {
            std::fs::write(p.join(".extra"), "planted").unwrap()
        }),
        (
            "a file added and SHA256SUMS regenerated over every file",
            |p| {
                std::fs::write(p.join("extra.html"), "<p>planted</p>").unwrap();
                regenerate_sums(p, true);
            },
        ),
        ("a file removed", |p| {
            std::fs::remove_file(p.join("findings.csv")).unwrap()
        }),
        ("a file removed and SHA256SUMS regenerated", |p| {
            std::fs::remove_file(p.join("findings.csv")).unwrap();
            regenerate_sums(p, false);
        }),
        ("the manifest changed", |p| {
            common::flip_middle_byte(&p.join("manifest.json"))
        }),
        ("the manifest changed and SHA256SUMS regenerated", |p| {
            common::flip_middle_byte(&p.join("manifest.json"));
            regenerate_sums(p, false);
        }),
        ("the manifest changed and signed by another key", |p| {
            common::flip_middle_byte(&p.join("manifest.json"));
            forge_signature(p, "manifest.json", "manifest.json.sig");
        }),
        ("SHA256SUMS.sig removed", |p| {
            std::fs::remove_file(p.join("SHA256SUMS.sig")).unwrap()
        }),
        ("manifest.json.sig removed", |p| {
            std::fs::remove_file(p.join("manifest.json.sig")).unwrap()
        }),
        ("the two signatures swapped", |p| {
            std::fs::rename(p.join("SHA256SUMS.sig"), p.join("tmp.sig")).unwrap();
            std::fs::rename(p.join("manifest.json.sig"), p.join("SHA256SUMS.sig")).unwrap();
            std::fs::rename(p.join("tmp.sig"), p.join("manifest.json.sig")).unwrap();
        }),
    ];
    for (what, tamper) in tamperings {
        let scratch = tempfile::tempdir().unwrap();
        let copy = copy_pack(&pack, scratch.path());
        tamper(&copy);
        let (ok, output) = stock_steps_pass(&copy, &k.signers, identity);
        assert!(
            !ok,
            "{what}: the README's stock steps still pass:\n{output}"
        );
        // and the tool agrees
        let r = run(
            &[
                "verify",
                copy.to_str().unwrap(),
                "--allowed-signers",
                k.signers.to_str().unwrap(),
            ],
            &[],
            &common::repo(),
        );
        assert_ne!(r.code, 0, "{what}: kube-evidence verify passes");
    }
}

/// The pack's attestation as supply-chain tooling sees it: securesystemslib's DSSE verifier
/// (PyPI, installed by tests/run.sh) accepts the envelope with the pack's public key, and the
/// in-toto statement inside names every other file of the pack with the SHA-256 the manifest
/// records, and the cluster, pack and period; `verify` checks the same and fails a changed one.
#[test]
#[ignore = "needs the DSSE verifier tests/run.sh installs (KUBE_EVIDENCE_TEST_DSSE_PYTHON)"]
fn the_attestation_passes_a_stock_dsse_verifier_and_names_every_file() {
    let python = std::env::var("KUBE_EVIDENCE_TEST_DSSE_PYTHON").expect(
        "KUBE_EVIDENCE_TEST_DSSE_PYTHON names the python of tests/attest/install-verifier.sh",
    );
    let k = keygen("kube-evidence@c");
    let out = tempfile::tempdir().unwrap();
    signed_run(out.path(), &k.key, "2026-11-20T02:00:00Z").assert_ok();
    signed_run(out.path(), &k.key, "2026-11-21T02:00:00Z").assert_ok();
    let packs = common::pack_dirs(out.path());
    let pack = packs.last().unwrap();
    let key = kube_evidence::pack::sign::SigningKey::load_file(&k.key).unwrap();
    let public = hex::encode(key.public_key().key_data().ed25519().unwrap().0);
    let envelope = pack.join("attestation.intoto.json");
    let stock = Command::new(&python)
        .arg(common::repo().join("tests/attest/verify_dsse.py"))
        .arg(&envelope)
        .arg(key.fingerprint())
        .arg(&public)
        .output()
        .unwrap();
    assert!(
        stock.status.success(),
        "securesystemslib refused it:\n{}",
        String::from_utf8_lossy(&stock.stderr)
    );
    let statement: serde_json::Value = serde_json::from_slice(&stock.stdout).unwrap();
    assert_eq!(statement["_type"], "https://in-toto.io/Statement/v1");
    assert_eq!(
        statement["predicateType"],
        "https://kube-evidence.dev/attestation/evidence-pack/v1"
    );
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(pack.join("manifest.json")).unwrap()).unwrap();
    let listed: Vec<(String, String)> = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["path"] != "attestation.intoto.json")
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["sha256"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let subjects: Vec<(String, String)> = statement["subject"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_string(),
                s["digest"]["sha256"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(subjects, listed);
    for (name, digest) in &subjects {
        assert_eq!(
            &common::sha256_hex(&std::fs::read(pack.join(name)).unwrap()),
            digest,
            "{name}"
        );
    }
    let p = &statement["predicate"];
    assert_eq!(p["cluster"], "c");
    assert_eq!(p["packId"], manifest["packId"]);
    assert_eq!(p["period"]["start"], "2026-11-20T02:00:00Z");
    assert_eq!(p["period"]["end"], "2026-11-21T02:00:00Z");
    assert_eq!(p["previousPackId"], manifest["previous"]["packId"]);
    let findings: serde_json::Value =
        serde_json::from_slice(&std::fs::read(pack.join("findings.json")).unwrap()).unwrap();
    assert_eq!(p["openFindings"], findings["summary"]["open"]);
    assert_eq!(p["acceptedFindings"], findings["summary"]["accepted"]);

    // kube-evidence's own verify checks it too; an envelope re-signed by another key is refused
    // by both (its digest in the manifest is fixed up, so only the attestation check can tell).
    let prefix = pack
        .strip_prefix(out.path())
        .unwrap()
        .to_string_lossy()
        .to_string();
    let report = verify_in_process(out.path(), &prefix, &k.signers);
    let attestation = report.packs[0]
        .checks
        .iter()
        .find(|c| c.name == kube_evidence::pack::read::CheckKind::Attestation)
        .expect("an attestation check");
    assert!(attestation.ok, "{attestation:?}");
    let stranger = kube_evidence::pack::sign::SigningKey::generate("x");
    let mut env: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&envelope).unwrap()).unwrap();
    let payload = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        env["payload"].as_str().unwrap(),
    )
    .unwrap();
    let sig = stranger.sign_raw(&kube_evidence::pack::attest::pae(
        "application/vnd.in-toto+json",
        &payload,
    ));
    env["signatures"][0]["sig"] =
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, sig).into();
    let forged = tempfile::tempdir().unwrap();
    let forged_path = forged.path().join("attestation.intoto.json");
    std::fs::write(&forged_path, serde_json::to_vec_pretty(&env).unwrap()).unwrap();
    let stock = Command::new(&python)
        .arg(common::repo().join("tests/attest/verify_dsse.py"))
        .arg(&forged_path)
        .arg(key.fingerprint())
        .arg(&public)
        .output()
        .unwrap();
    assert!(
        !stock.status.success(),
        "the stock verifier accepted a forged signature"
    );
    assert!(
        kube_evidence::pack::attest::open(
            &std::fs::read(&forged_path).unwrap(),
            key.public_key(),
            &key.fingerprint()
        )
        .is_err()
    );
}

/// Copies a pack's folder, subfolders included (suggested-roles/).
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Issue 30: the documented stock steps, verbatim, on a pack with every optional part the tool
/// can write — an inventory (vendor updates), an audit log (usage, suggested roles in a
/// subfolder), access reviews, an RFC 3161 time-stamp and the attestation — pass on the genuine
/// pack and fail on every tampering, in the folder and in its subfolders; `verify` agrees.
#[test]
fn the_auditor_steps_hold_on_a_pack_with_every_optional_part() {
    use common::reviews as rv;
    use common::tsa::LocalTsa;
    let identity = "kube-evidence@full";
    let k = keygen(identity);
    let tsa = LocalTsa::start();
    let work = tempfile::tempdir().unwrap();
    let store = work.path().join("store");
    let night = |source: &str, log: &str, now: &str| {
        run(
            &[
                "run",
                "--source",
                source,
                "--out",
                store.to_str().unwrap(),
                "--cluster-name",
                "full",
                "--signing-key",
                k.key.to_str().unwrap(),
                "--inventory",
                "samples/inventory.yaml",
                "--exceptions",
                "samples/exceptions.yaml",
                "--audit-log",
                log,
                "--timestamp-authority",
                &tsa.url,
                "--timestamp-authority-certificate",
                tsa.cert.to_str().unwrap(),
            ],
            &[
                ("KUBE_EVIDENCE_NOW", now),
                ("KUBE_EVIDENCE_LOG_LEVEL", "warn"),
            ],
            &common::repo(),
        )
    };
    night(
        "samples/cluster",
        "tests/fixtures/audit/sample",
        "2026-11-25T02:00:00Z",
    )
    .assert_ok();
    // A campaign over the first pack, decided by security@.
    let keys = rv::reviewer_keys(work.path());
    let map = rv::reviewer_map(work.path(), "security@example.com");
    let population = work.path().join("population.csv");
    let ke = |args: &[&str], now: &str| {
        run(
            args,
            &[
                ("KUBE_EVIDENCE_NOW", now),
                ("KUBE_EVIDENCE_SIGNING_KEY_FILE", k.key.to_str().unwrap()),
            ],
            &common::repo(),
        )
    };
    let started = ke(
        &[
            "review",
            "start",
            "--store",
            store.to_str().unwrap(),
            "--cluster",
            "full",
            "--reviewers",
            map.to_str().unwrap(),
            "--reviewer-keys",
            keys.to_str().unwrap(),
            "--due",
            "2026-12-31",
            "--output",
            population.to_str().unwrap(),
        ],
        "2026-11-25T09:00:00Z",
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
    ke(
        &[
            "review",
            "submit",
            "--store",
            store.to_str().unwrap(),
            "--cluster",
            "full",
            "--campaign",
            &campaign,
            decisions.to_str().unwrap(),
        ],
        "2026-11-25T10:00:00Z",
    )
    .assert_ok();
    night(
        "samples/cluster",
        "tests/fixtures/audit/sample-next",
        "2026-11-26T02:00:00Z",
    )
    .assert_ok();
    let pack = common::pack_dirs(&store).pop().unwrap();
    for part in [
        "vendor-updates.json",
        "usage.json.gz",
        "usage.csv.gz",
        "usage-night.json.gz",
        "reviews.csv",
        "manifest.json.tsr",
        "attestation.intoto.json",
        "SHA256SUMS.sig",
    ] {
        assert!(pack.join(part).exists(), "the pack has {part}");
    }
    let roles: Vec<String> = files_under(&pack.join("suggested-roles"));
    assert!(
        !roles.is_empty(),
        "the pack has suggested roles in their folder"
    );

    let verify_with_tsa = |p: &Path| {
        run(
            &[
                "verify",
                p.to_str().unwrap(),
                "--allowed-signers",
                k.signers.to_str().unwrap(),
                "--tsa-certificate",
                tsa.cert.to_str().unwrap(),
            ],
            &[],
            &common::repo(),
        )
    };
    let (ok, output) = stock_steps_pass(&pack, &k.signers, identity);
    assert!(ok, "the documented steps fail on a genuine pack:\n{output}");
    let r = verify_with_tsa(&pack);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);

    let role = format!("suggested-roles/{}", roles[0]);
    type Tamper = Box<dyn Fn(&Path)>;
    let tamperings: Vec<(&str, bool, Tamper)> = vec![
        ("a suggested role changed", true, {
            let role = role.clone();
            Box::new(move |p: &Path| common::flip_middle_byte(&p.join(&role)))
        }),
        ("a suggested role removed", true, {
            let role = role.clone();
            Box::new(move |p: &Path| std::fs::remove_file(p.join(&role)).unwrap())
        }),
        (
            "a file added in suggested-roles/",
            true,
            Box::new(|p: &Path| {
                std::fs::write(
                    p.join("suggested-roles/User.mallory.yaml"),
                    "kind: ClusterRole\n",
                )
                .unwrap()
            }),
        ),
        (
            "a file added in a new folder",
            true,
            Box::new(|p: &Path| {
                std::fs::create_dir_all(p.join("extra/deep")).unwrap();
                std::fs::write(p.join("extra/deep/note.txt"), "planted").unwrap();
            }),
        ),
        (
            "a link added",
            true,
            Box::new(|p: &Path| {
                std::os::unix::fs::symlink("findings.json", p.join("more.json")).unwrap()
            }),
        ),
        (
            "the access reviews changed",
            true,
            Box::new(|p: &Path| common::flip_middle_byte(&p.join("reviews.csv"))),
        ),
        (
            "the usage record changed",
            true,
            Box::new(|p: &Path| common::flip_middle_byte(&p.join("usage.json.gz"))),
        ),
        (
            "the vendor updates changed",
            true,
            Box::new(|p: &Path| common::flip_middle_byte(&p.join("vendor-updates.json"))),
        ),
        (
            "the attestation changed",
            true,
            Box::new(|p: &Path| common::flip_middle_byte(&p.join("attestation.intoto.json"))),
        ),
        // The stock steps leave the token to `openssl ts -verify`; verify checks it. The byte
        // changed is in what the token attests (the manifest's SHA-256): bytes outside the
        // signed part (the certificates it carries) can change without a forgery.
        (
            "the time-stamp token's imprint changed",
            false,
            Box::new(|p: &Path| {
                let manifest = std::fs::read(p.join("manifest.json")).unwrap();
                let digest = hex_bytes(&common::sha256_hex(&manifest));
                let tsr = p.join("manifest.json.tsr");
                let mut bytes = std::fs::read(&tsr).unwrap();
                let at = bytes
                    .windows(digest.len())
                    .position(|w| w == digest.as_slice())
                    .expect("the token carries the manifest's SHA-256");
                bytes[at + 5] ^= 0x01;
                std::fs::write(&tsr, bytes).unwrap();
            }),
        ),
    ];
    for (what, stock_sees_it, tamper) in &tamperings {
        let scratch = tempfile::tempdir().unwrap();
        let copy = scratch.path().join(pack.file_name().unwrap());
        copy_tree(&pack, &copy);
        assert!(
            stock_steps_pass(&copy, &k.signers, identity).0,
            "the copy is genuine"
        );
        tamper(&copy);
        let (ok, output) = stock_steps_pass(&copy, &k.signers, identity);
        if *stock_sees_it {
            assert!(!ok, "{what}: the documented steps still pass:\n{output}");
        }
        let r = verify_with_tsa(&copy);
        assert_ne!(
            r.code, 0,
            "{what}: kube-evidence verify passes:\n{}",
            r.stdout
        );
    }
}

fn hex_bytes(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}
