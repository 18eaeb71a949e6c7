//! Every rule in the catalog is produced by some input (the sample's first night with its audit
//! log, and the `tests/fixtures/rules/next-night/` that follows it), so no rule is dead code that a report
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

#[test]
fn every_rule_in_the_catalog_is_produced_by_a_fixture() {
    let out = tempfile::tempdir().unwrap();
    let out_dir = out.path().to_str().unwrap();
    let repo = common::repo();
    let fixture = repo.join("tests/fixtures/rules/next-night");
    common::run(
        &[
            "run",
            "--config",
            "samples/config.yaml",
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
    // Exit 4: the collection is incomplete, which is what KE-COL-001 is about.
    let next = common::run(
        &[
            "run",
            "--config",
            "samples/config.yaml",
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
