//! The library's layering, checked: a module may use only modules in lower tiers (the order
//! docs/architecture.md gives), so no import cycle can come back, and the pure stages in the
//! middle of the pipeline do no I/O. A new top-level module must be placed in a tier here.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Lowest first. Modules in one tier are independent of each other.
const TIERS: &[&[&str]] = &[
    &["diag", "files"],
    &[
        "input", "yaml", "clock", "progress", "tls", "csv_out", "digest", "pattern", "rule_id",
    ],
    // Object storage behind the `Store` trait: below everything that reads or writes packs.
    &["store"],
    &["snapshot"],
    &["rbac"],
    &["finding"],
    &["rules"],
    &["inventory", "exceptions", "controls", "audit", "review"],
    &["diff"],
    &["analysis"],
    // Review before install: the analysis of a vendor's manifests laid over a cluster.
    &["vendor"],
    &["report"],
    &["pack"],
    &["fleet"],
    &["source", "synthetic"],
    &["config"],
    &["run"],
];

/// The stages in the middle of the pipeline: data in, data out.
const PURE: &[&str] = &[
    "rbac", "finding", "rules", "diff", "analysis", "vendor", "report",
];
/// What reading or writing outside the process looks like in this code base.
const IO_MARKERS: &[&str] = &[
    "std::fs",
    "tokio::fs",
    "File::open",
    "File::create",
    "crate::input::read",
    "reqwest",
    "kube::",
    "aws_sdk",
    "std::net",
];

fn tier_of(module: &str) -> Option<usize> {
    TIERS.iter().position(|t| t.contains(&module))
}

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every library source file with the top-level module it belongs to (the binary's `main.rs`
/// and `cli/` sit above the library and are left out).
fn library_files() -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    let mut stack = vec![src_dir()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let rel = path.strip_prefix(src_dir()).unwrap().to_path_buf();
            let top = rel
                .components()
                .next()
                .unwrap()
                .as_os_str()
                .to_string_lossy()
                .trim_end_matches(".rs")
                .to_string();
            if matches!(top.as_str(), "main" | "lib" | "cli") {
                continue;
            }
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push((top, path));
            }
        }
    }
    out.sort();
    out
}

/// The line without its comment (doc comments included), so prose that names a module is not
/// an import. A `//` inside a string literal cuts the line short, which can only hide a use.
fn code_of(line: &str) -> &str {
    match line.find("//") {
        Some(i) => &line[..i],
        None => line,
    }
}

/// The top-level modules a line of code names through `crate::`, including inside
/// `use crate::{a, b::c}` groups.
fn modules_named(code: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            for item in top_level_items(group) {
                let name: String = item
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    found.push(name);
                }
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            found.push(name);
        }
    }
    found
}

/// The comma-separated items of a `{...}` group (its opening brace already consumed), nested
/// groups kept whole.
fn top_level_items(group: &str) -> Vec<&str> {
    let mut items = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => {
                items.push(&group[start..i]);
                return items;
            }
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&group[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&group[start..]);
    items
}

#[test]
fn every_library_module_has_a_tier() {
    let lib = std::fs::read_to_string(src_dir().join("lib.rs")).unwrap();
    let missing: Vec<&str> = lib
        .lines()
        .filter_map(|l| l.trim().strip_prefix("pub mod "))
        .map(|m| m.trim_end_matches(';'))
        .filter(|m| tier_of(m).is_none())
        .collect();
    assert!(
        missing.is_empty(),
        "place these modules in a tier of tests/layering.rs and docs/architecture.md: {missing:?}"
    );
}

#[test]
fn no_module_uses_one_in_its_own_or_a_higher_tier() {
    let mut violations = Vec::new();
    for (module, path) in library_files() {
        let own = tier_of(&module).unwrap_or_else(|| panic!("{module} has no tier"));
        let text = std::fs::read_to_string(&path).unwrap();
        for (n, line) in text.lines().enumerate() {
            for used in modules_named(code_of(line)) {
                if used == module {
                    continue;
                }
                // Items of lib.rs itself (TOOL_NAME, ...) are the bottom of every tier.
                let Some(tier) = tier_of(&used) else { continue };
                if tier >= own {
                    violations.push(format!(
                        "{}:{}: `{module}` (tier {own}) uses `{used}` (tier {tier})",
                        path.display(),
                        n + 1
                    ));
                }
            }
        }
    }
    assert!(
        violations.is_empty(),
        "lower layers never import higher ones (docs/architecture.md, Layering):\n{}",
        violations.join("\n")
    );
}

#[test]
fn the_pure_stages_do_no_io() {
    let mut violations = BTreeSet::new();
    for (module, path) in library_files() {
        if !PURE.contains(&module.as_str()) {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for (n, line) in text.lines().enumerate() {
            for marker in IO_MARKERS {
                if code_of(line).contains(marker) {
                    violations.insert(format!("{}:{}: {marker}", path.display(), n + 1));
                }
            }
        }
    }
    assert!(
        violations.is_empty(),
        "the middle of the pipeline takes data and returns data:\n{}",
        violations.into_iter().collect::<Vec<_>>().join("\n")
    );
}

#[test]
fn the_checker_sees_grouped_and_qualified_uses() {
    assert_eq!(
        modules_named("use crate::{pack::{self, Manifest}, store::Store};"),
        ["pack", "store"]
    );
    assert_eq!(
        modules_named("let x = crate::report::json::x(crate::diff::y());"),
        ["report", "diff"]
    );
    assert!(modules_named(code_of("/// see `crate::run`")).is_empty());
}

/// Within a top-level module, no file (or sub-module folder) uses one that uses it, however
/// long the loop: two files that need each other are one thing, or share a third. Test modules
/// are left out (a test may read anything of its module).
#[test]
fn no_file_imports_one_that_imports_it() {
    use std::collections::{BTreeMap, BTreeSet};
    // (top module, part) -> parts of the same top module it names.
    let mut uses: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    let mut parts: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, path) in library_files() {
        let rel = path.strip_prefix(src_dir().join(&module)).ok();
        let Some(part) = rel.and_then(|r| r.components().next()).map(|c| {
            c.as_os_str()
                .to_string_lossy()
                .trim_end_matches(".rs")
                .to_string()
        }) else {
            continue;
        };
        if part == "mod" {
            continue;
        }
        parts
            .entry(module.clone())
            .or_default()
            .insert(part.clone());
        let text = std::fs::read_to_string(&path).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        let slot = uses.entry((module.clone(), part.clone())).or_default();
        for line in code.lines().map(code_of) {
            for prefix in ["super::".to_string(), format!("crate::{module}::")] {
                let mut rest = line;
                while let Some(i) = rest.find(&prefix) {
                    rest = &rest[i + prefix.len()..];
                    let name: String = rest
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    if !name.is_empty() && name != part {
                        slot.insert(name);
                    }
                }
            }
        }
    }
    let mut loops = Vec::new();
    for (module, names) in &parts {
        let edges = |from: &str| -> Vec<String> {
            uses.get(&(module.clone(), from.to_string()))
                .map(|s| s.iter().filter(|n| names.contains(*n)).cloned().collect())
                .unwrap_or_default()
        };
        for start in names {
            // Every part reachable from `start`; a loop when `start` is among them.
            let mut seen = BTreeSet::new();
            let mut todo = edges(start);
            while let Some(next) = todo.pop() {
                if seen.insert(next.clone()) {
                    todo.extend(edges(&next));
                }
            }
            if seen.contains(start) {
                loops.push(format!("{module}::{start}"));
            }
        }
    }
    assert!(
        loops.is_empty(),
        "parts in an import loop (each reaches itself through the files it uses): {loops:?}"
    );
}
