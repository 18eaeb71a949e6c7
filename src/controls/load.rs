//! Loading and validating control sets: the built-in SOC 2 and ISO 27001 files, or a directory
//! of them. Every problem is reported at once with file, line and column: unknown rule IDs,
//! duplicate control IDs, missing fields, and (for complete frameworks) rules without a primary
//! control or with two.

use super::model::*;
use crate::diag::{Diagnostics, Pos};
use crate::finding::Severity;
use crate::rules::CATALOG;
use crate::rules::RuleId;
use crate::yaml::decode::{Decoder, Fields};
use crate::yaml::{self, Node};
use std::collections::BTreeMap;
use std::path::Path;

/// The control sets shipped with the tool (the same files as `controls/` in the repository).
pub const BUILTIN: &[(&str, &str)] = &[
    (
        "controls/iso27001.yaml",
        include_str!("../../controls/iso27001.yaml"),
    ),
    (
        "controls/soc2.yaml",
        include_str!("../../controls/soc2.yaml"),
    ),
];

#[derive(Debug, thiserror::Error)]
pub enum ControlsError {
    #[error("cannot read controls from {path}: {message}")]
    Read { path: String, message: String },
    #[error("cannot read control definitions {path}")]
    ReadFile {
        path: String,
        #[source]
        source: crate::input::InputError,
    },
    #[error("invalid control definitions:\n{0}")]
    Invalid(Diagnostics),
}

/// Every framework in force, sorted by framework id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Controls {
    pub sets: Vec<ControlSet>,
}

impl Controls {
    pub fn builtin() -> Controls {
        let files: Vec<(String, String)> = BUILTIN
            .iter()
            .map(|(n, t)| (n.to_string(), t.to_string()))
            .collect();
        parse_files(&files).expect("the built-in control definitions are valid (tested)")
    }

    /// The controls with this id, in any case, and for ISO/IEC 27001 Annex A with or without
    /// its `A.` (`A.5.15`, `a.5.15` and `5.15` name the same control).
    pub fn control(&self, id: &str) -> Vec<&Control> {
        let wanted = annex_a_number(id);
        self.sets
            .iter()
            .flat_map(|s| s.controls.iter())
            .filter(|c| annex_a_number(&c.id).eq_ignore_ascii_case(wanted))
            .collect()
    }

    /// SHA-256 of the definitions in force, recorded in every manifest.
    pub fn digest(&self) -> String {
        crate::digest::sha256_hex(&serde_json::to_vec(&self.sets).expect("controls serialise"))
    }
}

/// An id without a leading `A.`/`a.` (ISO/IEC 27001 Annex A numbering), as lookups compare it.
fn annex_a_number(id: &str) -> &str {
    let id = id.trim();
    match id.get(..2) {
        Some(prefix) if prefix.eq_ignore_ascii_case("a.") => &id[2..],
        _ => id,
    }
}

/// Loads every `.yaml`/`.yml` file of a directory.
pub fn load_dir(dir: &Path) -> Result<Controls, ControlsError> {
    let entries = std::fs::read_dir(dir).map_err(|e| ControlsError::Read {
        path: dir.display().to_string(),
        message: e.to_string(),
    })?;
    let mut paths: Vec<std::path::PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
        .collect();
    paths.sort();
    if paths.is_empty() {
        return Err(ControlsError::Read {
            path: dir.display().to_string(),
            message: "no .yaml control definitions in the directory".into(),
        });
    }
    let mut files = Vec::new();
    for p in paths {
        let text = crate::input::read_text(&p, crate::input::MAX_WRITTEN_FILE).map_err(|e| {
            ControlsError::ReadFile {
                path: p.display().to_string(),
                source: e,
            }
        })?;
        files.push((p.display().to_string(), text));
    }
    parse_files(&files)
}

/// Parses and cross-checks a set of control files given as (name, text).
pub fn parse_files(files: &[(String, String)]) -> Result<Controls, ControlsError> {
    let mut diags = Diagnostics::new();
    let mut sets: Vec<(String, ControlSet, Node)> = Vec::new();
    for (name, text) in files {
        let mut d = Decoder::new(name.clone());
        // A second document is refused, never ignored: its controls would silently not apply.
        let root = d.single_document(
            text,
            "the file is empty",
            "a control file holds one framework, in one YAML document",
        );
        if let Some(root) = root
            && let Some(set) = decode_set(&root, &mut d)
        {
            sets.push((name.clone(), set, root));
        }
        diags.extend(d.diags);
    }
    // One file per framework.
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    for (name, set, root) in &sets {
        if let Some(first) = seen.insert(set.framework.id.clone(), name.clone()) {
            let pos = root
                .get("framework")
                .and_then(|f| f.get("id"))
                .map(|n| n.pos);
            diags.push(
                name,
                pos,
                format!(
                    "framework `{}` is already defined in {first}",
                    set.framework.id
                ),
            );
        }
        check_coverage(name, set, root, &mut diags);
    }
    if !diags.is_empty() {
        return Err(ControlsError::Invalid(diags));
    }
    let mut sets: Vec<ControlSet> = sets.into_iter().map(|(_, s, _)| s).collect();
    sets.sort_by(|a, b| a.framework.id.cmp(&b.framework.id));
    Ok(Controls { sets })
}

fn strings(f: &mut Fields<'_>, d: &mut Decoder, key: &'static str) -> Vec<String> {
    f.optional(key)
        .and_then(|n| d.string_list(n, key))
        .unwrap_or_default()
}

fn decode_set(root: &Node, d: &mut Decoder) -> Option<ControlSet> {
    let mut f = d.map(root, "")?;
    if let Some(v) = f.required(d, "apiVersion")
        && v.as_str() != Some(crate::API_VERSION)
    {
        d.error(
            v.pos,
            format!("`apiVersion` must be `{}`", crate::API_VERSION),
        );
    }
    if let Some(v) = f.required(d, "kind")
        && v.as_str() != Some("ControlSet")
    {
        d.error(v.pos, "`kind` must be `ControlSet`");
    }
    let framework = f.required(d, "framework").and_then(|n| {
        let mut ff = d.map(n, "framework")?;
        let id = ff
            .required(d, "id")
            .and_then(|v| d.nonempty_string(v, "id"));
        let name = ff
            .required(d, "name")
            .and_then(|v| d.nonempty_string(v, "name"));
        let version = ff
            .optional("version")
            .and_then(|v| d.string(v, "version"))
            .unwrap_or_default();
        let coverage = match ff.optional("coverage") {
            Some(v) => match d.one_of(v, "coverage", &["complete", "partial"])?.as_str() {
                "complete" => Coverage::Complete,
                _ => Coverage::Partial,
            },
            None => Coverage::Partial,
        };
        ff.finish(d);
        Some(Framework {
            id: id?,
            name: name?,
            version,
            coverage,
        })
    });
    let mut controls = Vec::new();
    if let Some(items) = f.required(d, "controls").and_then(|n| d.seq(n, "controls")) {
        let mut ids: BTreeMap<String, Pos> = BTreeMap::new();
        for item in items {
            // Duplicates are caught on the raw id, even when the rest of the control is invalid.
            if let Some(id_node) = item.get("id")
                && let Some(id) = id_node.as_str()
                && let Some(first) = ids.insert(id.to_string(), id_node.pos)
            {
                d.error(
                    id_node.pos,
                    format!("duplicate control id `{id}` (first at line {})", first.line),
                );
            }
            if let Some(c) = decode_control(item, d, framework.as_ref().map(|fw| fw.id.as_str())) {
                controls.push(c);
            }
        }
    }
    f.finish(d);
    Some(ControlSet {
        framework: framework?,
        controls,
    })
}

fn decode_control(n: &Node, d: &mut Decoder, framework: Option<&str>) -> Option<Control> {
    let mut f = d.map(n, "controls[]")?;
    // Numeric-looking IDs such as 5.9 are read as text.
    let id = f.required(d, "id").and_then(|v| match &v.value {
        yaml::Value::Str(s) if !s.is_empty() => Some(s.clone()),
        yaml::Value::Float(_) | yaml::Value::Int(_) => {
            d.error(
                v.pos,
                "`id`: quote numeric control IDs (\"5.9\"), or 5.10 would read as 5.1",
            );
            None
        }
        _ => d.nonempty_string(v, "id"),
    });
    let fw = f
        .required(d, "framework")
        .and_then(|v| d.nonempty_string(v, "framework"));
    if let (Some(fw), Some(expected)) = (&fw, framework)
        && fw != expected
    {
        d.error(
            f.key_pos("framework"),
            format!("control framework `{fw}` differs from the file's framework `{expected}`"),
        );
    }
    let title = f
        .required(d, "title")
        .and_then(|v| d.nonempty_string(v, "title"));
    let summary = f
        .required(d, "summary")
        .and_then(|v| d.nonempty_string(v, "summary"));
    let mut rules = Vec::new();
    if let Some(items) = f.required(d, "rules").and_then(|v| d.seq(v, "rules")) {
        for item in items {
            let Some(mut rf) = d.map(item, "rules[]") else {
                continue;
            };
            let rid = rf.required(d, "id").and_then(|v| {
                let s = d.nonempty_string(v, "id")?;
                let id = RuleId::parse(&s);
                if id.is_none() {
                    let known: Vec<&str> = CATALOG.iter().map(|r| r.id.as_str()).collect();
                    let hint = crate::diag::did_you_mean(&s, &known).map(|h| format!(" (did you mean `{h}`?)")).unwrap_or_default();
                    d.error(v.pos, format!("unknown rule `{s}`{hint}; `kube-evidence rules list` prints the catalog"));
                }
                id
            });
            let role = rf
                .required(d, "role")
                .and_then(|v| d.one_of(v, "role", &["primary", "related"]));
            let decides = match rf.optional("decides") {
                Some(v) => d.bool(v, "decides"),
                None => Some(true),
            };
            let threshold = match rf.optional("threshold") {
                Some(v) => d
                    .one_of(
                        v,
                        "threshold",
                        &["info", "low", "medium", "high", "critical"],
                    )
                    .and_then(|t| t.parse::<Severity>().ok()),
                None => Some(Severity::Info),
            };
            rf.finish(d);
            if let (Some(id), Some(role), Some(decides), Some(threshold)) =
                (rid, role, decides, threshold)
            {
                rules.push(RuleRef {
                    id,
                    role: if role == "primary" {
                        RuleRole::Primary
                    } else {
                        RuleRole::Related
                    },
                    decides,
                    threshold,
                });
            }
        }
    }
    let evidence = strings(&mut f, d, "evidence");
    for e in &evidence {
        if !EVIDENCE_KINDS.contains(&e.as_str()) {
            d.error(
                f.key_pos("evidence"),
                format!(
                    "unknown evidence `{e}`; expected one of: {}",
                    EVIDENCE_KINDS.join(", ")
                ),
            );
        }
    }
    let requires = strings(&mut f, d, "requires");
    let known = requirement_names();
    for r in &requires {
        if !known.contains(&r.as_str()) {
            d.error(
                f.key_pos("requires"),
                format!(
                    "unknown requirement `{r}`; expected one of: {}",
                    known.join(", ")
                ),
            );
        }
    }
    let manual = f
        .optional("manual")
        .and_then(|v| d.nonempty_string(v, "manual"));
    f.finish(d);
    Some(Control {
        id: id?,
        framework: fw?,
        title: title?,
        summary: summary?,
        rules,
        evidence,
        requires,
        manual,
    })
}

/// In a complete framework, every rule of the catalog has exactly one primary control.
fn check_coverage(name: &str, set: &ControlSet, root: &Node, diags: &mut Diagnostics) {
    if set.framework.coverage != Coverage::Complete {
        return;
    }
    let framework_pos = root.key_pos("framework");
    let mut primary: BTreeMap<RuleId, &str> = BTreeMap::new();
    let mut any: BTreeMap<RuleId, ()> = BTreeMap::new();
    for c in &set.controls {
        for r in &c.rules {
            any.insert(r.id, ());
            if r.role == RuleRole::Primary
                && let Some(first) = primary.insert(r.id, &c.id)
            {
                let pos = rule_pos(root, &c.id, r.id.as_str());
                diags.push(
                    name,
                    pos,
                    format!(
                        "rule {} is primary in both {first} and {} of framework {}",
                        r.id, c.id, set.framework.id
                    ),
                );
            }
        }
    }
    for rule in CATALOG {
        if !primary.contains_key(&rule.id) {
            let what = if any.contains_key(&rule.id) {
                "is only related to controls"
            } else {
                "maps to no control"
            };
            diags.push(
                name,
                framework_pos,
                format!("rule {} {what} in framework {} (coverage: complete needs one primary control per rule)", rule.id, set.framework.id),
            );
        }
    }
}

fn rule_pos(root: &Node, control: &str, rule: &str) -> Option<Pos> {
    let controls = root.get("controls")?.as_seq()?;
    let c = controls
        .iter()
        .find(|c| c.get("id").and_then(Node::as_str) == Some(control))?;
    let rules = c.get("rules")?.as_seq()?;
    rules
        .iter()
        .find(|r| r.get("id").and_then(Node::as_str) == Some(rule))
        .map(|r| r.pos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annex_a_controls_are_found_in_every_spelling_people_use() {
        let controls = Controls::builtin();
        for spelling in ["A.5.15", "a.5.15", "5.15", " A.5.15 "] {
            let found = controls.control(spelling);
            assert_eq!(found.len(), 1, "{spelling:?}");
            assert_eq!(found[0].id, "A.5.15", "{spelling:?}");
        }
        assert_eq!(controls.control("cc6.1")[0].id, "CC6.1");
        assert!(controls.control("A.9.99").is_empty());
    }
}
