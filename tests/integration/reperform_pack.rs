//! `kube-evidence reperform`: a genuine signed pack re-performs to the same conclusions; a pack
//! whose findings, control results and diff were rewritten consistently and signed again (so
//! that `verify` passes) fails, naming each conclusion that does not follow from its data.

use crate::common;

use kube_evidence::pack::attest::{self, PackFacts};
use kube_evidence::pack::manifest::Manifest;
use kube_evidence::pack::sign::SigningKey;
use kube_evidence::pack::{PackFile, assemble};
use serde_json::Value;
use std::path::Path;

fn cli(args: &[&str], now: &str) -> common::Run {
    common::run(
        args,
        &[
            ("KUBE_EVIDENCE_NOW", now),
            ("KUBE_EVIDENCE_LOG_LEVEL", "warn"),
        ],
        &common::repo(),
    )
}

fn signed_sample_chain(out: &Path, key: &Path, signers: &Path) -> Vec<std::path::PathBuf> {
    for (source, now) in [
        ("samples/previous", "2026-11-19T02:00:00Z"),
        ("samples/cluster", "2026-11-20T02:00:00Z"),
    ] {
        cli(
            &[
                "run",
                "--source",
                source,
                "--out",
                out.to_str().unwrap(),
                "--cluster-name",
                "sample-prod-eu-1",
                "--inventory",
                "samples/inventory.yaml",
                "--exceptions",
                "samples/exceptions.yaml",
                "--signing-key",
                key.to_str().unwrap(),
                "--allowed-signers",
                signers.to_str().unwrap(),
            ],
            now,
        )
        .assert_ok();
    }
    common::pack_dirs(out)
}

/// Signs a pack directory again after its files were changed, as someone holding the key
/// would: the manifest, sums, attestation and both signatures made anew.
fn sign_again(pack: &Path, previous: &Path, key: &SigningKey) {
    let manifest =
        Manifest::from_bytes(&std::fs::read(pack.join("manifest.json")).unwrap()).unwrap();
    let previous_manifest =
        Manifest::from_bytes(&std::fs::read(previous.join("manifest.json")).unwrap()).unwrap();
    let files: Vec<PackFile> = manifest
        .files
        .iter()
        .filter(|f| f.path != attest::ATTESTATION_FILE)
        .map(|f| {
            let media: &'static str = Box::leak(f.media_type.clone().into_boxed_str());
            PackFile::new(&f.path, std::fs::read(pack.join(&f.path)).unwrap(), media)
        })
        .collect();
    let facts = PackFacts {
        cluster: &manifest.cluster.name,
        cluster_id: &manifest.cluster.id,
        pack_id: &manifest.pack_id,
        collected_at: manifest.collected_at,
        previous: Some((
            manifest.previous.pack_id.as_str(),
            manifest.previous.manifest_sha256.as_str(),
            previous_manifest.collected_at,
        )),
        ruleset_digest: &manifest.ruleset_digest,
        tool: format!(
            "{} {} ({})",
            manifest.tool.name, manifest.tool.version, manifest.tool.revision
        ),
    };
    let mut all = files.clone();
    let statement = attest::statement(&facts, &files).unwrap();
    all.push(PackFile::new(
        attest::ATTESTATION_FILE,
        attest::envelope(&statement, key),
        "application/json",
    ));
    let built = assemble(manifest, all);
    for f in &built.files {
        std::fs::write(pack.join(&f.path), &f.bytes).unwrap();
    }
    std::fs::write(pack.join("manifest.json"), &built.manifest_bytes).unwrap();
    std::fs::write(pack.join("SHA256SUMS"), &built.sums).unwrap();
    std::fs::write(
        pack.join("manifest.json.sig"),
        key.sign(&built.manifest_bytes).unwrap(),
    )
    .unwrap();
    std::fs::write(pack.join("SHA256SUMS.sig"), key.sign(&built.sums).unwrap()).unwrap();
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn write_json(path: &Path, v: &Value) {
    let mut bytes = serde_json::to_vec_pretty(v).unwrap();
    bytes.push(b'\n');
    std::fs::write(path, bytes).unwrap();
}

fn remove_id(list: &mut Value, id: &str) -> bool {
    let Some(a) = list.as_array_mut() else {
        return false;
    };
    let before = a.len();
    a.retain(|x| x.as_str() != Some(id) && x["id"].as_str() != Some(id));
    a.len() != before
}

/// Removes one open critical finding from findings.json, from every control and register row
/// that cites it (a control left with no deciding finding turns `satisfied`), and from the diff.
fn forge(pack: &Path) -> (String, Vec<String>) {
    let mut doc = read_json(&pack.join("findings.json"));
    let victim = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["severity"] == "critical" && f["status"] == "open" && f["system"] == false)
        .unwrap()
        .clone();
    let id = victim["id"].as_str().unwrap().to_string();
    remove_id(&mut doc["findings"], &id);
    let crit = doc["summary"]["open"]["critical"].as_u64().unwrap();
    doc["summary"]["open"]["critical"] = (crit - 1).into();
    let total = doc["summary"]["total"].as_u64().unwrap();
    doc["summary"]["total"] = (total - 1).into();
    let mut flipped = Vec::new();
    for c in doc["controls"].as_array_mut().unwrap() {
        let decided = remove_id(&mut c["decidingFindings"], &id);
        remove_id(&mut c["relatedFindings"], &id);
        if decided
            && c["decidingFindings"]
                .as_array()
                .is_some_and(|a| a.is_empty())
        {
            c["status"] = "satisfied".into();
            c["reason"] = "no open finding of its deciding rules".into();
            flipped.push(format!(
                "{} {}",
                c["framework"].as_str().unwrap(),
                c["id"].as_str().unwrap()
            ));
        }
    }
    for r in doc["register"].as_array_mut().unwrap() {
        remove_id(&mut r["findings"], &id);
    }
    write_json(&pack.join("findings.json"), &doc);
    let mut diff = read_json(&pack.join("diff.json"));
    for bucket in ["new", "persisting"] {
        remove_id(&mut diff["findings"][bucket], &id);
    }
    let open = diff["findings"]["currentOpen"].as_u64().unwrap();
    diff["findings"]["currentOpen"] = (open - 1).into();
    write_json(&pack.join("diff.json"), &diff);
    (id, flipped)
}

#[test]
fn reperform_confirms_a_genuine_pack_and_fails_one_whose_conclusions_were_rewritten() {
    let dir = tempfile::tempdir().unwrap();
    let (key_path, signers) = common::keygen(dir.path(), "evidence@example.com");
    let out = dir.path().join("store");
    let packs = signed_sample_chain(&out, &key_path, &signers);
    let latest = packs.last().unwrap().clone();
    let now = "2026-11-21T00:00:00Z";
    let args = |pack: &Path| {
        vec![
            "reperform".to_string(),
            pack.to_str().unwrap().to_string(),
            "--allowed-signers".into(),
            signers.to_str().unwrap().to_string(),
        ]
    };
    let genuine = cli(
        &args(&latest).iter().map(String::as_str).collect::<Vec<_>>(),
        now,
    );
    genuine.assert_ok();
    assert!(
        genuine.stdout.contains("RE-PERFORMED"),
        "{}",
        genuine.stdout
    );
    assert!(
        genuine.stdout.contains("and its previous pack"),
        "{}",
        genuine.stdout
    );

    let (id, flipped) = forge(&latest);
    let key = SigningKey::load_file(&key_path).unwrap();
    sign_again(&latest, &packs[0], &key);
    // The forgery is consistent and signed by the trusted key: verify cannot tell.
    cli(
        &[
            "verify",
            latest.to_str().unwrap(),
            "--allowed-signers",
            signers.to_str().unwrap(),
        ],
        now,
    )
    .assert_ok();
    let forged = cli(
        &args(&latest).iter().map(String::as_str).collect::<Vec<_>>(),
        now,
    );
    assert_eq!(forged.code, 1, "{}\n{}", forged.stdout, forged.stderr);
    assert!(forged.stdout.contains("DIFFERS"), "{}", forged.stdout);
    assert!(
        forged
            .stdout
            .contains(&format!("{id}: found again, missing from the pack")),
        "{}",
        forged.stdout
    );
    assert!(
        forged
            .stdout
            .contains(&format!("findings.new: {id} found again, not stated"))
            || forged.stdout.contains(&format!(
                "findings.persisting: {id} found again, not stated"
            )),
        "{}",
        forged.stdout
    );
    for c in &flipped {
        assert!(
            forged.stdout.contains(&format!("{c}: ")),
            "{c} not named:\n{}",
            forged.stdout
        );
    }
    // A pack that does not verify is not re-performed at all.
    common::flip_middle_byte(&latest.join("controls.json"));
    let broken = cli(
        &args(&latest).iter().map(String::as_str).collect::<Vec<_>>(),
        now,
    );
    assert_eq!(broken.code, 1);
    assert!(broken.stdout.contains("NOT VERIFIED"), "{}", broken.stdout);
}
