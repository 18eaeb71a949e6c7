//! RFC 3161 timestamps against a real local authority (OpenSSL `ts` behind HTTP): the run stores
//! the token, OpenSSL's own `ts -verify` accepts it, and `verify` checks it against the pinned
//! authority certificate and then judges the signing key at the authority's time, not at the time
//! the pack claims for itself.

use crate::common;

use common::run;
use common::tsa::{LocalTsa, certificate};
use std::path::Path;
use std::process::Command;

fn stamped_run(out: &Path, key: &Path, tsa_url: &str, tsa_cert: &Path) -> common::Run {
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
            "--timestamp-authority",
            tsa_url,
            "--timestamp-authority-certificate",
            tsa_cert.to_str().unwrap(),
        ],
        // The pack claims November; the authority stamps it with today.
        &[
            ("KUBE_EVIDENCE_NOW", "2026-11-20T02:00:00Z"),
            ("KUBE_EVIDENCE_LOG_LEVEL", "warn"),
        ],
        &common::repo(),
    )
}

fn verify(pack: &Path, signers: &Path, more: &[&str]) -> common::Run {
    let mut args = vec![
        "verify",
        pack.to_str().unwrap(),
        "--allowed-signers",
        signers.to_str().unwrap(),
    ];
    args.extend_from_slice(more);
    run(&args, &[], &common::repo())
}

#[test]
fn the_authoritys_time_decides_the_keys_validity_and_openssl_accepts_the_token() {
    let tsa = LocalTsa::start();
    let keys = tempfile::tempdir().unwrap();
    let (key, _) = common::keygen(keys.path(), "ke@c");
    let out = tempfile::tempdir().unwrap();
    stamped_run(out.path(), &key, &tsa.url, &tsa.cert).assert_ok();
    let pack = common::pack_dirs(out.path()).pop().unwrap();
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(pack.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["timestamped"], true);
    assert!(pack.join("manifest.json.tsr").is_file());

    // OpenSSL, as an auditor would run it, accepts the token for this manifest.
    let ossl = Command::new("openssl")
        .args(["ts", "-verify", "-data"])
        .arg(pack.join("manifest.json"))
        .arg("-in")
        .arg(pack.join("manifest.json.tsr"))
        .arg("-CAfile")
        .arg(&tsa.cert)
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&ossl.stdout).contains("Verification: OK"),
        "{}{}",
        String::from_utf8_lossy(&ossl.stdout),
        String::from_utf8_lossy(&ossl.stderr)
    );

    let public = std::fs::read_to_string(keys.path().join("ke@c.pub")).unwrap();
    let signers = keys.path().join("signers");
    let cert = tsa.cert.to_str().unwrap();
    // Valid with no window, and the check names the authority's time.
    std::fs::write(
        &signers,
        format!("ke@c namespaces=\"kube-evidence\" {public}"),
    )
    .unwrap();
    let ok = verify(&pack, &signers, &["--tsa-certificate", cert]);
    ok.assert_ok();
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    assert!(
        ok.stdout.contains("ok   timestamp: RFC 3161 token")
            && ok
                .stdout
                .contains(&format!("manifest.json existed at {today}")),
        "{}",
        ok.stdout
    );
    // A key retired on 25 November: the pack claims the 20th, but the authority saw the manifest
    // only after the retirement, so the signature does not count.
    std::fs::write(
        &signers,
        format!("ke@c namespaces=\"kube-evidence\",valid-before=\"20261125\" {public}"),
    )
    .unwrap();
    let late = verify(&pack, &signers, &["--tsa-certificate", cert]);
    assert_eq!(late.code, 1, "{}", late.stdout);
    assert!(
        late.stdout
            .contains("FAIL signature: manifest.json.sig: signed by")
            && late.stdout.contains("is not valid at"),
        "{}",
        late.stdout
    );
    // The next run judges the pack it chains to the same way: it refuses to build on it.
    let next = run(
        &[
            "run",
            "--source",
            "samples/cluster",
            "--out",
            out.path().to_str().unwrap(),
            "--cluster-name",
            "c",
            "--signing-key",
            key.to_str().unwrap(),
            "--allowed-signers",
            signers.to_str().unwrap(),
            "--timestamp-authority",
            &tsa.url,
            "--timestamp-authority-certificate",
            cert,
        ],
        &[("KUBE_EVIDENCE_NOW", "2026-11-21T02:00:00Z")],
        &common::repo(),
    );
    assert_eq!(next.code, 1, "{}", next.stderr);
    assert!(
        next.stderr.contains("does not verify") && next.stderr.contains("is not valid at"),
        "{}",
        next.stderr
    );
    assert_eq!(
        common::pack_dirs(out.path()).len(),
        1,
        "nothing was published"
    );
    // So does the fleet report given the authority's certificate.
    let fleet_out = tempfile::tempdir().unwrap();
    let fleet = run(
        &[
            "fleet",
            "report",
            "--store",
            out.path().to_str().unwrap(),
            "--out",
            fleet_out.path().join("r").to_str().unwrap(),
            "--allowed-signers",
            signers.to_str().unwrap(),
            "--tsa-certificate",
            cert,
        ],
        &[],
        &common::repo(),
    );
    assert_eq!(fleet.code, 1, "{}", fleet.stderr);
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fleet_out.path().join("r/fleet.json")).unwrap())
            .unwrap();
    assert_eq!(doc["clusters"][0]["state"], "not-verified");
    // Without the authority's certificate the token proves nothing, and verify says so.
    std::fs::write(
        &signers,
        format!("ke@c namespaces=\"kube-evidence\" {public}"),
    )
    .unwrap();
    let unchecked = verify(&pack, &signers, &[]);
    assert_eq!(unchecked.code, 1);
    assert!(
        unchecked.stdout.contains("no --tsa-certificate was given"),
        "{}",
        unchecked.stdout
    );
    // Another authority's certificate does not vouch for this token.
    let other = certificate(tsa.dir.path(), "other");
    let wrong = verify(
        &pack,
        &signers,
        &["--tsa-certificate", other.to_str().unwrap()],
    );
    assert_eq!(wrong.code, 1);
    assert!(
        wrong
            .stdout
            .contains("FAIL timestamp: manifest.json.tsr: the token's signature does not verify"),
        "{}",
        wrong.stdout
    );
    // A genuine token of the same authority for the same manifest, but not the one the run asked
    // for (no nonce): refused.
    let d = tsa.dir.path();
    let query = d.join("replayed.tsq");
    let replayed = d.join("replayed.tsr");
    let manifest_path = pack.join("manifest.json");
    for args in [
        vec![
            "ts",
            "-query",
            "-data",
            manifest_path.to_str().unwrap(),
            "-sha256",
            "-no_nonce",
            "-cert",
            "-out",
            query.to_str().unwrap(),
        ],
        vec![
            "ts",
            "-reply",
            "-config",
            "tsa.cnf",
            "-queryfile",
            query.to_str().unwrap(),
            "-out",
            replayed.to_str().unwrap(),
        ],
    ] {
        let o = Command::new("openssl")
            .args(&args)
            .current_dir(d)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let tsr = pack.join("manifest.json.tsr");
    let mut perms = std::fs::metadata(&tsr).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&tsr, perms).unwrap();
    std::fs::copy(&replayed, &tsr).unwrap();
    let replay = verify(&pack, &signers, &["--tsa-certificate", cert]);
    assert_eq!(replay.code, 1);
    assert!(
        replay.stdout.contains("its nonce is not the one requested"),
        "{}",
        replay.stdout
    );
}

#[test]
fn a_run_whose_authority_fails_publishes_nothing() {
    let tsa = LocalTsa::start();
    let keys = tempfile::tempdir().unwrap();
    let (key, _) = common::keygen(keys.path(), "ke@c");
    let out = tempfile::tempdir().unwrap();
    // Nobody listens here.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/tsa", closed.local_addr().unwrap());
    drop(closed);
    let r = stamped_run(out.path(), &key, &url, &tsa.cert);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("timestamping the manifest failed"),
        "{}",
        r.stderr
    );
    let published = |dir: &Path| -> Vec<String> {
        // The publish lock's file is not evidence.
        common::files_under(dir)
            .into_iter()
            .filter(|f| !f.ends_with("/.lock"))
            .collect()
    };
    assert!(
        published(out.path()).is_empty(),
        "{:?}",
        published(out.path())
    );
    // A token signed by an authority other than the pinned one is refused the same way.
    let other = certificate(tsa.dir.path(), "other");
    let r = stamped_run(out.path(), &key, &tsa.url, &other);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("does not verify"), "{}", r.stderr);
    assert!(published(out.path()).is_empty());
}
