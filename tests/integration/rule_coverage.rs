//! Every rule in the catalog is produced by some input (the sample's first night with its audit
//! log, an access review campaign over it, the `tests/fixtures/rules/next-night/` that follows,
//! and the sample once more), so no rule is dead code that a report
//! could never show; and the list of IDs is a snapshot, so renaming or retiring one is a visible
//! change in review.

use crate::common;

use kube_evidence::rules::{CATALOG, RuleId};
use std::collections::BTreeSet;
use std::path::Path;

/// The rule IDs of every finding in every `findings.json` under `dir`.
fn rule_ids_under(dir: &Path) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    for file in common::files_under(dir) {
        if !file.ends_with("findings.json") {
            continue;
        }
        let doc: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join(&file)).unwrap()).unwrap();
        for f in doc["findings"].as_array().unwrap() {
            ids.insert(f["ruleId"].as_str().unwrap().to_string());
        }
    }
    ids
}

/// A campaign over the first night (KE-REV-*): carol@ is the map's only reviewer, so her own
/// rows are hers (KE-REV-005: nobody else could take them) and stay undecided past the due date
/// (KE-REV-004); sre@ revokes with no
/// time to carry it out (KE-REV-002); an unsigned file lands in the store (KE-REV-006); the next
/// night's new privileged access is in no campaign (KE-REV-003).
fn access_review_between_the_nights(store: &Path) {
    use common::reviews as rv;
    let work = tempfile::tempdir().unwrap();
    let keys = rv::reviewer_keys(work.path());
    let map = work.path().join("reviewers-carol-alone.yaml");
    std::fs::write(
        &map,
        "apiVersion: kube-evidence.io/v1\nkind: ReviewerMap\ndefault: carol@example.com\n",
    )
    .unwrap();
    let population = work.path().join("population.csv");
    let key = common::pack_key().0;
    let key = key.to_str().unwrap();
    // The packs' key signs the campaign and checks it on every read.
    let now = |t: &'static str| {
        [
            ("KUBE_EVIDENCE_NOW", t),
            ("KUBE_EVIDENCE_SIGNING_KEY_FILE", key),
        ]
    };
    let started = common::run(
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
            "2026-11-27",
            "--remediation-days",
            "0",
            "--output",
            population.to_str().unwrap(),
        ],
        &now("2026-11-26T09:00:00Z"),
        &common::repo(),
    );
    started.assert_ok();
    let id = started
        .stdout
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_string();
    let sre = work.path().join("sre.csv");
    // The first binding's rows are revoked (all of them: a binding goes as a whole), the rest
    // kept.
    let mut revoked: Option<(String, String)> = None;
    std::fs::write(
        &sre,
        rv::decide(&population, "sre@example.com", |subject, binding| {
            let this = (subject.to_string(), binding.to_string());
            if revoked.get_or_insert_with(|| this.clone()) == &this {
                ("revoke", "", "not needed")
            } else {
                ("keep", "", "needed")
            }
        }),
    )
    .unwrap();
    rv::ssh_sign(work.path(), "sre@example.com", &sre);
    common::run(
        &[
            "review",
            "submit",
            "--store",
            store.to_str().unwrap(),
            "--cluster",
            "sample-prod-eu-1",
            "--campaign",
            &id,
            sre.to_str().unwrap(),
        ],
        &now("2026-11-27T09:00:00Z"),
        &common::repo(),
    )
    .assert_ok();
    let decisions = store.join(format!("sample-prod-eu-1/reviews/{id}/decisions"));
    std::fs::copy(&sre, decisions.join("20261127T100000Z-unsigned.csv")).unwrap();
}

#[test]
fn every_rule_in_the_catalog_is_produced_by_a_fixture() {
    let out = tempfile::tempdir().unwrap();
    let out_dir = out.path().to_str().unwrap();
    let repo = common::repo();
    // Signed packs: campaigns count only when they verify against the key that signs packs.
    let key = common::pack_key().0;
    let key = key.to_str().unwrap();
    let fixture = repo.join("tests/fixtures/rules/next-night");
    common::run(
        &[
            "run",
            "--config",
            "samples/config.yaml",
            "--signing-key",
            key,
            "--out",
            out_dir,
            // The usage rules need an audit log: the sample's (tests/fixtures/audit/make.py).
            "--audit-log",
            "tests/fixtures/audit/sample",
        ],
        &[("KUBE_EVIDENCE_NOW", "2026-11-25T02:00:00Z")],
        &repo,
    )
    .assert_ok();
    access_review_between_the_nights(out.path());
    // Exit 4: the collection is incomplete, which is what KE-COL-001 is about.
    let next = common::run(
        &[
            "run",
            "--config",
            "samples/config.yaml",
            "--signing-key",
            key,
            "--out",
            out_dir,
            "--source",
            fixture.join("cluster").to_str().unwrap(),
            "--inventory",
            fixture.join("inventory.yaml").to_str().unwrap(),
        ],
        &[("KUBE_EVIDENCE_NOW", "2026-11-30T02:00:00Z")],
        &repo,
    );
    assert_eq!(next.code, 4, "{}\n{}", next.stdout, next.stderr);
    // The sample cluster again: sre@'s revoked grant is still there past its deadline
    // (KE-REV-002), and decisions of 11-27 are older than a one-day period (KE-REV-001).
    common::run(
        &[
            "run",
            "--config",
            "samples/config.yaml",
            "--signing-key",
            key,
            "--out",
            out_dir,
            "--review-period-days",
            "1",
            // The image record began on the first night, six days before: the digests still
            // running are older than a five-day update period the record covers (KE-UPD-003).
            "--image-max-age-days",
            "5",
        ],
        &[("KUBE_EVIDENCE_NOW", "2026-12-01T02:00:00Z")],
        &repo,
    )
    .assert_ok();

    let produced = rule_ids_under(out.path());
    let never: Vec<&str> = RuleId::ALL
        .iter()
        .map(|id| id.as_str())
        .filter(|id| !produced.contains(*id))
        .collect();
    assert!(
        never.is_empty(),
        "rules no fixture produces (add one to tests/fixtures/rules/, see its README): {never:?}"
    );
    let unknown: Vec<&String> = produced
        .iter()
        .filter(|id| RuleId::parse(id).is_none())
        .collect();
    assert!(
        unknown.is_empty(),
        "findings of rules not in the catalog: {unknown:?}"
    );
}

#[test]
fn the_rule_ids_are_a_visible_list() {
    let list: String = CATALOG
        .iter()
        .map(|r| format!("{} {:?} {}\n", r.id, r.severity, r.title))
        .collect();
    insta::assert_snapshot!("rule_ids", list);
}
