//! A finding's id names the cause a remediation removes. Over generated clusters (seeded; the
//! same generator as the re-performance), perturbed the way real dumps and clusters change:
//! - objects reordered, split into other files or merged into one List: the same ids;
//! - an object no finding names renamed: the same ids;
//! - a second, equally short way to cluster-admin added: every id stays, none is resolved;
//! - a binding removed: every finding the diff calls resolved is about subjects that no longer
//!   hold what it reported (the privilege table and the holdings, not the findings, say so).

use crate::common::reperform::generator::{Generated, Knobs, Rng, generate};
use kube_evidence::analysis::{RbacAnalysis, analyze_rbac};
use kube_evidence::diff::findings as finding_changes;
use kube_evidence::finding::{Finding, FindingClass};
use kube_evidence::rules::RuleId;
use kube_evidence::rules::catalog::capability_of;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::Path;

const SEEDS: u64 = 60;

fn taken_at() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(1_796_000_000, 0).unwrap()
}

/// Writes `objects` as `files` files (round robin), JSON Lists or YAML streams, and reads them
/// back as the dump source does.
fn analyse(objects: &[Value], files: usize, dir: &Path) -> RbacAnalysis {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
    let mut chunks: Vec<Vec<Value>> = vec![Vec::new(); files.max(1)];
    let n = chunks.len();
    for (i, o) in objects.iter().enumerate() {
        chunks[i % n].push(o.clone());
    }
    for (i, chunk) in chunks.into_iter().enumerate() {
        if i % 2 == 0 {
            let list = json!({"apiVersion": "v1", "kind": "List", "items": chunk});
            std::fs::write(dir.join(format!("{i:02}.json")), list.to_string()).unwrap();
        } else {
            let text: Vec<String> = chunk
                .iter()
                .map(|o| serde_json::to_string(o).unwrap())
                .collect();
            std::fs::write(dir.join(format!("{i:02}.yaml")), text.join("\n---\n")).unwrap();
        }
    }
    let snapshot = kube_evidence::source::dump::read_dump(dir, "ids", taken_at(), "dump".into())
        .unwrap_or_else(|e| panic!("{e}"));
    analyze_rbac(&snapshot)
}

fn ids(a: &RbacAnalysis) -> BTreeSet<String> {
    a.analysis.findings.iter().map(|f| f.id.clone()).collect()
}

/// Every object name a finding mentions (in its subjects, objects, cause, grants and path).
fn named(findings: &[Finding]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for f in findings {
        let text = serde_json::to_string(f).unwrap();
        for token in text.split(|c: char| !(c.is_alphanumeric() || c == '-' || c == ':')) {
            if !token.is_empty() {
                out.insert(token.to_string());
            }
        }
    }
    out
}

fn cluster(seed: u64) -> Generated {
    let knobs = Knobs {
        standard_roles: true,
        ..Knobs::default()
    };
    generate(seed, &format!("i{seed}"), &knobs)
}

#[test]
fn ids_do_not_depend_on_file_layout_or_order() {
    let dir = tempfile::tempdir().unwrap();
    for seed in 0..SEEDS {
        let g = cluster(seed);
        let base = ids(&analyse(&g.objects, 3, &dir.path().join("a")));
        let mut rng = Rng::new(seed ^ 0xABCD);
        let mut shuffled = g.objects.clone();
        for i in (1..shuffled.len()).rev() {
            shuffled.swap(i, rng.below(i + 1));
        }
        for files in [1, 2, 7] {
            let other = ids(&analyse(&shuffled, files, &dir.path().join("b")));
            assert_eq!(
                base, other,
                "seed {seed}: ids changed with {files} file(s), shuffled"
            );
        }
    }
}

#[test]
fn renaming_an_object_no_finding_names_keeps_every_id() {
    let dir = tempfile::tempdir().unwrap();
    let mut renamed_any = 0;
    for seed in 0..SEEDS {
        let g = cluster(seed);
        let base = analyse(&g.objects, 3, &dir.path().join("a"));
        let mentioned = named(&base.analysis.findings);
        let mut objects = g.objects.clone();
        // Bindings no finding names: renaming one changes nothing a finding is about.
        for o in objects.iter_mut() {
            let kind = o["kind"].as_str().unwrap_or_default().to_string();
            let name = o["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            if kind.ends_with("Binding") && !mentioned.contains(&name) {
                o["metadata"]["name"] = json!(format!("{name}-renamed"));
                renamed_any += 1;
            }
        }
        let after = analyse(&objects, 3, &dir.path().join("b"));
        assert_eq!(ids(&base), ids(&after), "seed {seed}");
    }
    assert!(renamed_any > 10, "the clusters had bindings to rename");
}

/// The binding of the first step of each KE-RBAC-026 finding's path, copied under another name:
/// the same subjects get a second, equally short way in.
fn second_way(objects: &[Value], f: &Finding) -> Option<Vec<Value>> {
    let binding = f.grants.iter().next()?.binding.clone();
    let original = objects.iter().find(|o| {
        o["kind"] == binding.kind.as_str()
            && o["metadata"]["name"] == binding.name.as_str()
            && o["metadata"]["namespace"].as_str() == binding.namespace.as_deref()
    })?;
    let mut copy = original.clone();
    copy["metadata"]["name"] = json!(format!("{}-again", binding.name));
    let mut out = objects.to_vec();
    out.push(copy);
    Some(out)
}

#[test]
fn another_way_to_cluster_admin_changes_no_id_and_resolves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut tried = 0;
    for seed in 0..SEEDS {
        let g = cluster(seed);
        let base = analyse(&g.objects, 3, &dir.path().join("a"));
        let Some(f) = base
            .analysis
            .findings
            .iter()
            .find(|f| f.rule_id == RuleId::Rbac026)
        else {
            continue;
        };
        let Some(objects) = second_way(&g.objects, f) else {
            continue;
        };
        tried += 1;
        let after = analyse(&objects, 3, &dir.path().join("b"));
        let before_ids = ids(&base);
        let after_ids = ids(&after);
        assert!(
            before_ids.is_subset(&after_ids),
            "seed {seed}: ids lost: {:?}",
            before_ids.difference(&after_ids).collect::<Vec<_>>()
        );
        let changes = finding_changes(&base.analysis.findings, &after.analysis.findings);
        assert!(
            changes.resolved.is_empty() && changes.superseded.is_empty(),
            "seed {seed}: {:?} {:?}",
            changes.resolved,
            changes.superseded
        );
        // And back: removing the second way resolves nothing either.
        let changes = finding_changes(&after.analysis.findings, &base.analysis.findings);
        assert!(
            changes.resolved.is_empty(),
            "seed {seed}: {:?}",
            changes.resolved
        );
    }
    assert!(
        tried > 10,
        "only {tried} clusters had an escalation to copy"
    );
}

/// Whether `subject` still holds what a finding of rule `rule` said, by the analysis itself.
/// Holdings in a namespace or a few are the population a review looks at, not a finding
/// (docs/controls.md, Severity and scope): only wider ones are what a finding reports.
fn still_holds(a: &RbacAnalysis, f: &Finding) -> bool {
    let total = a.index.namespaces.len();
    match capability_of(f.rule_id) {
        Some("clusterAdmin") => f.subjects.iter().any(|s| a.privilege.get(s).is_some()),
        Some(_) | None => a.holdings.iter().any(|h| {
            f.subjects.contains(&h.subject)
                && h.scope(total) != kube_evidence::finding::Scope::Local
                && (h.rule_id == f.rule_id
                    || capability_of(h.rule_id) == capability_of(f.rule_id)
                        && capability_of(f.rule_id).is_some())
        }),
    }
}

#[test]
fn a_resolved_finding_is_one_whose_subjects_no_longer_hold_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut resolved = 0;
    let mut superseded = 0;
    for seed in 0..SEEDS {
        let g = cluster(seed);
        let base = analyse(&g.objects, 3, &dir.path().join("a"));
        let bindings: Vec<usize> = g
            .objects
            .iter()
            .enumerate()
            .filter(|(_, o)| o["kind"].as_str().is_some_and(|k| k.ends_with("Binding")))
            .map(|(i, _)| i)
            .collect();
        let mut rng = Rng::new(seed ^ 0x5EED);
        for _ in 0..3 {
            let gone = *rng.pick(&bindings);
            let objects: Vec<Value> = g
                .objects
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != gone)
                .map(|(_, o)| o.clone())
                .collect();
            let after = analyse(&objects, 3, &dir.path().join("b"));
            let changes = finding_changes(&base.analysis.findings, &after.analysis.findings);
            for r in &changes.resolved {
                let f = base
                    .analysis
                    .findings
                    .iter()
                    .find(|f| f.id == r.id)
                    .unwrap();
                if f.class() != FindingClass::Open || r.note.as_deref() != Some("no longer found") {
                    continue;
                }
                resolved += 1;
                assert!(
                    !still_holds(&after, f),
                    "seed {seed}: {} is called resolved, but a subject still holds it: {}",
                    f.id,
                    f.summary
                );
            }
            superseded += changes.superseded.len();
        }
    }
    assert!(resolved > 10, "only {resolved} findings were resolved");
    eprintln!("finding identity: {resolved} resolved and {superseded} superseded findings checked");
}
