//! Turning spanned YAML nodes into typed values while collecting every problem.
//!
//! Decoders never stop at the first error: each helper reports what is wrong at the node's
//! position and returns `None`, so a caller can carry on and report the rest of the file too.
//! Unknown keys are rejected with a suggestion when one of the known keys is close.

use super::{Node, Value};
use crate::diag::{Diagnostics, Pos, did_you_mean};
use chrono::{DateTime, NaiveDate, Utc};

/// Collects diagnostics for one file.
pub struct Decoder {
    pub file: String,
    pub diags: Diagnostics,
}

impl Decoder {
    pub fn new(file: impl Into<String>) -> Self {
        Decoder {
            file: file.into(),
            diags: Diagnostics::new(),
        }
    }

    pub fn error(&mut self, pos: Pos, message: impl Into<String>) {
        self.diags.push(&self.file, Some(pos), message);
    }

    /// An id people write and files are named after: lower-case letters, digits and `-`, not
    /// starting with `-`, and at most `max_len` characters when there is a limit.
    pub fn lowercase_id(
        &mut self,
        node: &Node,
        field: &str,
        max_len: Option<usize>,
    ) -> Option<String> {
        let id = self.nonempty_string(node, field)?;
        let chars_ok = id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !id.starts_with('-');
        match max_len {
            _ if !chars_ok => self.error(
                node.pos,
                format!("`{field}` `{id}` must use lower-case letters, digits and `-` only"),
            ),
            Some(max) if id.len() > max => self.error(
                node.pos,
                format!("`{field}` `{id}` is longer than {max} characters"),
            ),
            _ => {}
        }
        Some(id)
    }

    /// The root of a file that holds one YAML document. A syntax error, an empty file
    /// (`empty`) and a second document (`one_document`, never silently ignored) are reported;
    /// `None` when there is nothing to decode.
    pub fn single_document(&mut self, text: &str, empty: &str, one_document: &str) -> Option<Node> {
        let docs = match super::parse_stream(text) {
            Ok(docs) => docs,
            Err(e) => {
                self.error(e.pos, e.message);
                return None;
            }
        };
        let mut roots = docs.into_iter().filter_map(|doc| doc.root);
        let Some(root) = roots.next() else {
            self.diags.push(&self.file, None, empty);
            return None;
        };
        if let Some(extra) = roots.next() {
            self.error(extra.pos, one_document);
        }
        Some(root)
    }

    fn wrong_type(&mut self, node: &Node, field: &str, expected: &str) {
        let found = node.value.type_name();
        let message = if field.is_empty() {
            format!("the file must hold {expected} at the top, found {found}")
        } else {
            format!("`{field}`: expected {expected}, found {found}")
        };
        self.error(node.pos, message);
    }

    /// A mapping whose keys are then taken one by one.
    pub fn map<'n>(&mut self, node: &'n Node, field: &str) -> Option<Fields<'n>> {
        match &node.value {
            Value::Map(entries) => {
                // Duplicate keys never get here: the parser refuses them.
                for (k, _) in entries {
                    match k.as_str() {
                        Some(_) => {}
                        None => self.error(
                            k.pos,
                            format!("keys must be strings, found {}", k.value.type_name()),
                        ),
                    }
                }
                Some(Fields {
                    node,
                    entries,
                    used: vec![false; entries.len()],
                    known: Vec::new(),
                    field: field.to_string(),
                })
            }
            _ => {
                self.wrong_type(node, field, "a mapping");
                None
            }
        }
    }

    pub fn string(&mut self, node: &Node, field: &str) -> Option<String> {
        match &node.value {
            Value::Str(s) => Some(s.clone()),
            _ => {
                self.wrong_type(node, field, "a string");
                None
            }
        }
    }

    /// A string that must not be empty or only white space.
    pub fn nonempty_string(&mut self, node: &Node, field: &str) -> Option<String> {
        let s = self.string(node, field)?;
        if s.trim().is_empty() {
            self.error(node.pos, format!("`{field}` must not be empty"));
            return None;
        }
        Some(s)
    }

    pub fn bool(&mut self, node: &Node, field: &str) -> Option<bool> {
        match node.value {
            Value::Bool(b) => Some(b),
            _ => {
                self.wrong_type(node, field, "true or false");
                None
            }
        }
    }

    pub fn u64(&mut self, node: &Node, field: &str) -> Option<u64> {
        match node.value {
            Value::Int(i) if i >= 0 => Some(i as u64),
            Value::Int(_) => {
                self.error(node.pos, format!("`{field}` must not be negative"));
                None
            }
            // A whole number too large for 64 bits is read as a float by the core schema.
            Value::Float(f) if f.is_finite() && f.fract() == 0.0 && f.abs() > i64::MAX as f64 => {
                self.error(
                    node.pos,
                    format!("`{field}`: the number is too large; at most {}", i64::MAX),
                );
                None
            }
            _ => {
                self.wrong_type(node, field, "a whole number");
                None
            }
        }
    }

    /// A calendar date written `YYYY-MM-DD`.
    pub fn date(&mut self, node: &Node, field: &str) -> Option<NaiveDate> {
        let s = match &node.value {
            Value::Str(s) => s.clone(),
            _ => {
                self.wrong_type(node, field, "a date (YYYY-MM-DD)");
                return None;
            }
        };
        match NaiveDate::parse_from_str(&s, "%Y-%m-%d") {
            Ok(d) if s.len() == 10 => Some(d),
            _ => {
                self.error(
                    node.pos,
                    format!("`{field}`: `{s}` is not a valid date (expected YYYY-MM-DD)"),
                );
                None
            }
        }
    }

    /// An RFC 3339 timestamp.
    pub fn datetime(&mut self, node: &Node, field: &str) -> Option<DateTime<Utc>> {
        let s = self.string(node, field)?;
        match DateTime::parse_from_rfc3339(&s) {
            Ok(t) => Some(t.with_timezone(&Utc)),
            Err(_) => {
                self.error(
                    node.pos,
                    format!(
                        "`{field}`: `{s}` is not an RFC 3339 time such as 2026-01-31T02:00:00Z"
                    ),
                );
                None
            }
        }
    }

    pub fn seq<'n>(&mut self, node: &'n Node, field: &str) -> Option<&'n [Node]> {
        match &node.value {
            Value::Seq(items) => Some(items),
            _ => {
                self.wrong_type(node, field, "a list");
                None
            }
        }
    }

    /// A list of strings; a bad item is reported and skipped.
    pub fn string_list(&mut self, node: &Node, field: &str) -> Option<Vec<String>> {
        let items = self.seq(node, field)?;
        let mut out = Vec::with_capacity(items.len());
        let mut ok = true;
        for item in items {
            match self.string(item, field) {
                Some(s) => out.push(s),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    /// One of a fixed set of words.
    pub fn one_of(&mut self, node: &Node, field: &str, allowed: &[&str]) -> Option<String> {
        let s = self.string(node, field)?;
        if allowed.contains(&s.as_str()) {
            return Some(s);
        }
        let hint = did_you_mean(&s, allowed)
            .map(|c| format!(" (did you mean `{c}`?)"))
            .unwrap_or_default();
        self.error(
            node.pos,
            format!(
                "`{field}`: unknown value `{s}`{hint}; expected one of: {}",
                allowed.join(", ")
            ),
        );
        None
    }
}

/// The keys of one mapping, taken by name; whatever is left at the end is an unknown key.
pub struct Fields<'n> {
    pub node: &'n Node,
    entries: &'n [(Node, Node)],
    used: Vec<bool>,
    known: Vec<&'static str>,
    field: String,
}

impl<'n> Fields<'n> {
    /// The value of an optional key; a key written with no value counts as absent.
    pub fn optional(&mut self, key: &'static str) -> Option<&'n Node> {
        self.known.push(key);
        let idx = self
            .entries
            .iter()
            .position(|(k, _)| k.as_str() == Some(key))?;
        self.used[idx] = true;
        let v = &self.entries[idx].1;
        (!matches!(v.value, Value::Null)).then_some(v)
    }

    /// The value of a required key, or a diagnostic at the mapping saying it is missing.
    pub fn required(&mut self, d: &mut Decoder, key: &'static str) -> Option<&'n Node> {
        let had_key = self.entries.iter().any(|(k, _)| k.as_str() == Some(key));
        let v = self.optional(key);
        if v.is_none() {
            let msg = if had_key {
                format!("`{key}` needs a value")
            } else if self.field.is_empty() {
                format!("missing required key `{key}`")
            } else {
                format!("`{}`: missing required key `{key}`", self.field)
            };
            self.error_at_key_or_map(d, key, msg);
        }
        v
    }

    fn error_at_key_or_map(&self, d: &mut Decoder, key: &str, msg: String) {
        let pos = self
            .entries
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map_or(self.node.pos, |(k, _)| k.pos);
        d.error(pos, msg);
    }

    /// Position of a key, for errors about its value as a whole.
    pub fn key_pos(&self, key: &str) -> Pos {
        self.entries
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map_or(self.node.pos, |(k, _)| k.pos)
    }

    /// Every key not yet taken, reported as unknown: the first few one by one with a
    /// suggestion, the rest counted in one line (a file of 200,000 stray keys is one mistake,
    /// and listing each would take longer than reading the file).
    pub fn finish(self, d: &mut Decoder) {
        const LISTED: usize = 20;
        let mut known = self.known.clone();
        known.sort_unstable();
        known.dedup();
        let place = if self.field.is_empty() {
            String::new()
        } else {
            format!(" in `{}`", self.field)
        };
        let unknown = self
            .entries
            .iter()
            .zip(&self.used)
            .filter(|(_, used)| !**used)
            .filter_map(|((k, _), _)| Some((k, k.as_str()?)))
            .filter(|(_, name)| known.binary_search(name).is_err());
        let mut more = 0usize;
        let mut last = None;
        for (i, (k, name)) in unknown.enumerate() {
            if i >= LISTED {
                more += 1;
                last = Some(k.pos);
                continue;
            }
            let hint = did_you_mean(name, &known)
                .map(|c| format!(" (did you mean `{c}`?)"))
                .unwrap_or_default();
            d.error(
                k.pos,
                format!(
                    "unknown key `{}`{place}{hint}; expected one of: {}",
                    crate::diag::shorten(name, 80),
                    known.join(", ")
                ),
            );
        }
        if let Some(pos) = last {
            d.error(
                pos,
                format!("and {more} more unknown keys{place} (the last one here)"),
            );
        }
    }

    /// Every (key, value) pair, for mappings whose keys are data rather than field names.
    pub fn entries(&mut self) -> &'n [(Node, Node)] {
        self.used.iter_mut().for_each(|u| *u = true);
        self.entries
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::parse_stream;

    fn root(text: &str) -> Node {
        parse_stream(text).unwrap().remove(0).root.unwrap()
    }

    #[test]
    fn reports_every_problem_with_positions() {
        let n = root("name: 3\nsoruce: x\ncount: -1\nwhen: 2026-02-30\n");
        let mut d = Decoder::new("c.yaml");
        let mut f = d.map(&n, "").unwrap();
        let name = f.required(&mut d, "name").map(|v| d.string(v, "name"));
        let _ = f.optional("source");
        let count = f.optional("count").and_then(|v| d.u64(v, "count"));
        let when = f.optional("when").and_then(|v| d.date(v, "when"));
        let _ = f.required(&mut d, "out");
        f.finish(&mut d);
        assert_eq!(name, Some(None));
        assert_eq!(count, None);
        assert_eq!(when, None);
        let text = d.diags.to_string();
        assert_eq!(
            text,
            "c.yaml:1:1: missing required key `out`\n\
             c.yaml:1:7: `name`: expected a string, found an integer\n\
             c.yaml:2:1: unknown key `soruce` (did you mean `source`?); expected one of: count, name, out, source, when\n\
             c.yaml:3:8: `count` must not be negative\n\
             c.yaml:4:7: `when`: `2026-02-30` is not a valid date (expected YYYY-MM-DD)"
        );
    }

    #[test]
    fn duplicate_keys_are_refused_by_the_parser() {
        let err = parse_stream("a: 1\na: 2\n").unwrap_err();
        assert_eq!(err.pos, Pos::new(2, 1));
        assert_eq!(
            err.message,
            "duplicate key `a` (first at line 1, column 1); each key may appear once in a mapping"
        );
    }

    #[test]
    fn a_number_too_large_says_so() {
        let n = root("n: 99999999999999999999999\n");
        let mut d = Decoder::new("f");
        let _ = d.u64(n.get("n").unwrap(), "n");
        assert_eq!(
            d.diags.to_string(),
            "f:1:4: `n`: the number is too large; at most 9223372036854775807"
        );
    }

    #[test]
    fn a_flood_of_unknown_keys_is_summarised() {
        let text: String = (0..200_000).map(|i| format!("k{i}: {i}\n")).collect();
        let n = root(&text);
        let mut d = Decoder::new("f");
        let mut f = d.map(&n, "").unwrap();
        let _ = f.optional("name");
        f.finish(&mut d);
        let lines: Vec<String> = d.diags.iter().map(|x| x.to_string()).collect();
        assert_eq!(lines.len(), 21);
        assert_eq!(
            lines[20],
            "f:200000:1: and 199980 more unknown keys (the last one here)"
        );
    }
}
