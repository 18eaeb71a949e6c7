//! YAML read into a tree of nodes that remember their line and column.
//!
//! Every file a person writes (configuration, inventory, controls, exceptions) and every dump
//! document goes through here, so that validation can point at the exact spot of each problem.
//! Scalars are resolved with the YAML 1.2 core schema, as Kubernetes tooling does.

pub mod decode;

use crate::diag::Pos;
use saphyr_parser::{Event, Parser, ScalarStyle, ScanError};
use std::collections::HashMap;

/// A YAML node with the position of its first character.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub pos: Pos,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

impl Value {
    /// What a person would call this kind of value, for "expected X, found Y" messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "nothing (null)",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

impl Node {
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(s) => Some(s),
            _ => None,
        }
    }

    /// The value under `key` in a mapping node.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
    }

    /// Position of `key` itself in a mapping node (where a person looks for it).
    pub fn key_pos(&self, key: &str) -> Option<Pos> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(k, _)| k.pos)
    }

    /// The node converted to JSON, for handing Kubernetes objects to serde.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            Value::Str(s) => J::String(s.clone()),
            Value::Seq(items) => J::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => J::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.key_text(), v.to_json()))
                    .collect(),
            ),
        }
    }

    /// A mapping key as text (YAML allows non-string keys; JSON and Kubernetes do not care).
    pub fn key_text(&self) -> String {
        match &self.value {
            Value::Str(s) => s.clone(),
            Value::Null => "null".into(),
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => f.to_string(),
            Value::Seq(_) | Value::Map(_) => format!("{:?}", self.to_json()),
        }
    }
}

/// One document of a YAML stream: its root node (None for an empty document) and where it starts.
#[derive(Debug, Clone)]
pub struct Document {
    pub root: Option<Node>,
    pub start: Pos,
}

/// A syntax error, with the position the parser stopped at.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SyntaxError {
    pub pos: Pos,
    pub message: String,
}

impl From<ScanError> for SyntaxError {
    fn from(e: ScanError) -> Self {
        SyntaxError {
            pos: Pos::new(e.marker().line() as u32, e.marker().col() as u32 + 1),
            message: format!("YAML syntax error: {}", e.info()),
        }
    }
}

enum Frame {
    Seq(Vec<Node>, Pos, usize),
    Map(Vec<(Node, Node)>, Option<Node>, Pos, usize),
}

/// Parses every document of a YAML stream.
pub fn parse_stream(text: &str) -> Result<Vec<Document>, SyntaxError> {
    let mut docs = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: HashMap<usize, Node> = HashMap::new();
    let mut current: Option<Document> = None;

    for item in Parser::new_from_str(text) {
        let (event, span) = item?;
        let pos = Pos::new(span.start.line() as u32, span.start.col() as u32 + 1);
        let finished: Option<(Node, usize)> = match event {
            Event::StreamStart | Event::StreamEnd | Event::Nothing => None,
            Event::DocumentStart(_) => {
                current = Some(Document {
                    root: None,
                    start: pos,
                });
                None
            }
            Event::DocumentEnd => {
                if let Some(mut doc) = current.take() {
                    // `---` followed by nothing parses as a null root: an empty document.
                    if doc.root.as_ref().is_some_and(|r| r.value == Value::Null) {
                        doc.root = None;
                    }
                    docs.push(doc);
                }
                None
            }
            Event::Alias(id) => match anchors.get(&id) {
                Some(n) => Some((
                    Node {
                        value: n.value.clone(),
                        pos,
                    },
                    0,
                )),
                None => {
                    return Err(SyntaxError {
                        pos,
                        message: "YAML alias refers to an unknown anchor".into(),
                    });
                }
            },
            Event::Scalar(text, style, anchor, tag) => {
                let forced_str = tag
                    .as_ref()
                    .is_some_and(|t| t.is_yaml_core_schema() && t.suffix == "str");
                let value = if style == ScalarStyle::Plain && !forced_str {
                    resolve_plain(&text)
                } else {
                    Value::Str(text.into_owned())
                };
                Some((Node { value, pos }, anchor))
            }
            Event::SequenceStart(anchor, _) => {
                stack.push(Frame::Seq(Vec::new(), pos, anchor));
                None
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Frame::Seq(items, p, anchor)) => Some((
                    Node {
                        value: Value::Seq(items),
                        pos: p,
                    },
                    anchor,
                )),
                _ => unreachable_structure(pos)?,
            },
            Event::MappingStart(anchor, _) => {
                stack.push(Frame::Map(Vec::new(), None, pos, anchor));
                None
            }
            Event::MappingEnd => match stack.pop() {
                Some(Frame::Map(entries, _, p, anchor)) => Some((
                    Node {
                        value: Value::Map(entries),
                        pos: p,
                    },
                    anchor,
                )),
                _ => unreachable_structure(pos)?,
            },
        };
        if let Some((node, anchor)) = finished {
            if anchor != 0 {
                anchors.insert(anchor, node.clone());
            }
            match stack.last_mut() {
                Some(Frame::Seq(items, _, _)) => items.push(node),
                Some(Frame::Map(entries, pending, _, _)) => match pending.take() {
                    None => *pending = Some(node),
                    Some(key) => entries.push((key, node)),
                },
                None => {
                    if let Some(doc) = current.as_mut() {
                        doc.root = Some(node);
                    }
                }
            }
        }
    }
    if let Some(doc) = current.take() {
        docs.push(doc);
    }
    Ok(docs)
}

fn unreachable_structure<T>(pos: Pos) -> Result<T, SyntaxError> {
    Err(SyntaxError {
        pos,
        message: "YAML structure is unbalanced".into(),
    })
}

/// YAML 1.2 core schema resolution of a plain scalar.
fn resolve_plain(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Value::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Value::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Value::Float(f64::NAN),
        _ => {}
    }
    if is_decimal_int(text)
        && let Ok(i) = text.parse::<i64>()
    {
        return Value::Int(i);
    }
    if let Some(hex) = text.strip_prefix("0x")
        && !hex.is_empty()
        && hex.chars().all(|c| c.is_ascii_hexdigit())
        && let Ok(i) = i64::from_str_radix(hex, 16)
    {
        return Value::Int(i);
    }
    if let Some(oct) = text.strip_prefix("0o")
        && !oct.is_empty()
        && oct.chars().all(|c| ('0'..='7').contains(&c))
        && let Ok(i) = i64::from_str_radix(oct, 8)
    {
        return Value::Int(i);
    }
    if is_core_float(text)
        && let Ok(f) = text.parse::<f64>()
    {
        return Value::Float(f);
    }
    Value::Str(text.to_string())
}

fn is_decimal_int(t: &str) -> bool {
    let digits = t.strip_prefix(['-', '+']).unwrap_or(t);
    !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit())
}

/// `[-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?`
fn is_core_float(t: &str) -> bool {
    let s = t.strip_prefix(['-', '+']).unwrap_or(t);
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let mantissa_ok = match mantissa.split_once('.') {
        Some((a, b)) => {
            (!a.is_empty() || !b.is_empty())
                && a.chars().all(|c| c.is_ascii_digit())
                && b.chars().all(|c| c.is_ascii_digit())
        }
        None => !mantissa.is_empty() && mantissa.chars().all(|c| c.is_ascii_digit()),
    };
    let exponent_ok = exponent.is_none_or(|e| {
        let d = e.strip_prefix(['-', '+']).unwrap_or(e);
        !d.is_empty() && d.chars().all(|c| c.is_ascii_digit())
    });
    mantissa_ok && exponent_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based() {
        let docs = parse_stream("a: 1\nb:\n  c: [x, 'y']\n").unwrap();
        let root = docs[0].root.as_ref().unwrap();
        let c = root.get("b").unwrap().get("c").unwrap();
        assert_eq!(c.pos, Pos::new(3, 6));
        let items = c.as_seq().unwrap();
        assert_eq!(items[1].pos, Pos::new(3, 10));
        assert_eq!(items[1].value, Value::Str("y".into()));
    }

    #[test]
    fn core_schema_resolution() {
        let docs = parse_stream("[1, -2, 1.5, '1', true, ~, null, 0x1f, 1e3, v1, '', .5]").unwrap();
        let vals: Vec<_> = docs[0]
            .root
            .as_ref()
            .unwrap()
            .as_seq()
            .unwrap()
            .iter()
            .map(|n| n.value.clone())
            .collect();
        assert_eq!(
            vals,
            vec![
                Value::Int(1),
                Value::Int(-2),
                Value::Float(1.5),
                Value::Str("1".into()),
                Value::Bool(true),
                Value::Null,
                Value::Null,
                Value::Int(31),
                Value::Float(1000.0),
                Value::Str("v1".into()),
                Value::Str(String::new()),
                Value::Float(0.5),
            ]
        );
    }

    #[test]
    fn multiple_documents_and_empty_ones() {
        let docs = parse_stream("---\na: 1\n---\n---\nb: 2\n").unwrap();
        assert_eq!(docs.len(), 3);
        assert!(docs[1].root.is_none());
        assert_eq!(docs[2].start.line, 4);
    }

    #[test]
    fn anchors_and_aliases_are_expanded() {
        let docs = parse_stream("a: &x {k: v}\nb: *x\n").unwrap();
        let root = docs[0].root.as_ref().unwrap();
        assert_eq!(root.get("b").unwrap().get("k").unwrap().as_str(), Some("v"));
    }

    #[test]
    fn syntax_errors_have_positions() {
        let err = parse_stream("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(err.pos.line >= 1);
        assert!(err.message.contains("YAML syntax error"));
    }
}
