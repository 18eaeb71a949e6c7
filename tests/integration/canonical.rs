//! Canonical JSON: the same objects in any order, split over any files, give identical bytes.

use crate::common;

use chrono::DateTime;
use kube_evidence::snapshot::snapshot_to_json;
use kube_evidence::source::dump::read_dump;
use kube_evidence::yaml::parse_stream;
use proptest::prelude::*;
use serde_json::Value;
use std::path::Path;

fn objects_of(dir: &Path) -> Vec<Value> {
    let mut out = Vec::new();
    for f in common::files_under(dir) {
        let text = std::fs::read_to_string(dir.join(&f)).unwrap();
        for doc in parse_stream(&text).unwrap() {
            let Some(root) = doc.root else { continue };
            let v = root.to_json();
            if v["kind"] == "List" {
                out.extend(v["items"].as_array().unwrap().iter().cloned());
            } else {
                out.push(v);
            }
        }
    }
    out
}

fn bytes_of(dir: &Path) -> Vec<u8> {
    let s = read_dump(
        dir,
        "c",
        DateTime::from_timestamp(0, 0).unwrap(),
        "dump:same".into(),
    )
    .unwrap();
    snapshot_to_json(&s)
}

/// Reverses every list inside an object (subjects, verbs, containers...) but a role's rules,
/// which are an ordered list: "rule N" is the Nth rule as the API server stores it.
fn reverse_lists(v: &mut Value) {
    match v {
        Value::Array(items) => {
            items.reverse();
            items.iter_mut().for_each(reverse_lists);
        }
        Value::Object(map) => {
            for (k, x) in map.iter_mut() {
                match x {
                    Value::Array(rules) if k == "rules" => rules.iter_mut().for_each(reverse_lists),
                    _ => reverse_lists(x),
                }
            }
        }
        _ => {}
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]
    #[test]
    fn shuffled_samples_give_identical_bytes(seed in any::<u64>(), files in 1usize..7, reverse in any::<bool>()) {
        let original = common::samples().join("cluster");
        let expected = bytes_of(&original);
        let mut objects = objects_of(&original);
        // Fisher-Yates with a small deterministic generator seeded by proptest.
        let mut state = seed | 1;
        for i in (1..objects.len()).rev() {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17;
            objects.swap(i, (state % (i as u64 + 1)) as usize);
        }
        if reverse {
            objects.iter_mut().for_each(reverse_lists);
        }
        let dir = tempfile::tempdir().unwrap();
        let chunk = objects.len().div_ceil(files);
        for (i, part) in objects.chunks(chunk).enumerate() {
            let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": part});
            std::fs::write(dir.path().join(format!("part-{i}.json")), serde_json::to_vec(&list).unwrap()).unwrap();
        }
        prop_assert!(bytes_of(dir.path()) == expected, "shuffled input gave different bytes");
    }
}

#[test]
fn same_input_twice_gives_identical_gzip() {
    let dir = common::samples().join("cluster");
    let a = read_dump(
        &dir,
        "c",
        DateTime::from_timestamp(0, 0).unwrap(),
        "x".into(),
    )
    .unwrap();
    let b = read_dump(
        &dir,
        "c",
        DateTime::from_timestamp(0, 0).unwrap(),
        "x".into(),
    )
    .unwrap();
    assert_eq!(
        kube_evidence::snapshot::snapshot_to_gzip(&a),
        kube_evidence::snapshot::snapshot_to_gzip(&b)
    );
}
