//! YAML read into a tree of nodes that remember their line and column.
//!
//! Every file a person writes (configuration, inventory, controls, exceptions) and every dump
//! document goes through here, so that validation can point at the exact spot of each problem.
//! Scalars are resolved with the YAML 1.2 core schema, as Kubernetes tooling does.

pub mod decode;

use crate::diag::Pos;
use saphyr_parser::{Event, Parser, ScalarStyle, ScanError, Tag};
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
        let pos = Pos::new(e.marker().line() as u32, e.marker().col() as u32 + 1);
        // The scanner's own limit on flow nesting (`[[[[`): said as the tree builder says it.
        if e.info().contains("recursion limit") {
            return depth_error(pos);
        }
        SyntaxError {
            pos,
            message: format!("YAML syntax error: {}", e.info()),
        }
    }
}

fn depth_error(pos: Pos) -> SyntaxError {
    SyntaxError {
        pos,
        message: format!(
            "nested more than {MAX_DEPTH} levels deep; no Kubernetes object or kube-evidence file nests this deep"
        ),
    }
}

/// YAML text may not hold control characters other than tab, line feed and carriage return
/// (YAML 1.2, 5.1); the parser would stop at a NUL with a misleading "end of stream".
fn check_characters(text: &str) -> Result<(), SyntaxError> {
    let Some(at) =
        text.find(|c: char| c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\u{85}'))
    else {
        return Ok(());
    };
    let before = &text[..at];
    let line = before.matches('\n').count() as u32 + 1;
    let col = before[before.rfind('\n').map_or(0, |i| i + 1)..]
        .chars()
        .count() as u32
        + 1;
    let c = text[at..].chars().next().unwrap_or_default();
    Err(SyntaxError {
        pos: Pos::new(line, col),
        message: format!(
            "a control character (U+{:04X}) in the text; YAML and JSON files cannot hold one — was a binary file dumped here?",
            c as u32
        ),
    })
}

/// How deep a YAML document may nest. No Kubernetes object and no kube-evidence file comes
/// near it; the limit keeps a crafted document (100,000 nested `- `) from exhausting the stack
/// of whatever walks the tree afterwards.
pub const MAX_DEPTH: usize = 64;

/// How many nodes aliases may add beyond those written out: a document may reuse what it
/// anchors, but a "billion laughs" (aliases of aliases of aliases) stops here instead of taking
/// all memory. The allowance grows with the document, so real reuse is never refused.
pub const ALIAS_ALLOWANCE: u64 = 10_000;

/// Core-schema tags accepted on a value; any other (`!!binary`, `!!set`, `!foo`) is reported,
/// never silently ignored.
const ACCEPTED_TAGS: &[&str] = &["str", "int", "float", "bool", "null", "map", "seq"];

/// What a streaming parse hands over, in document order.
pub enum Part {
    /// An element of the `items` list at the top of document `document` (1-based), handed over
    /// as soon as it is read and then forgotten, so that a large List never exists as a tree.
    Item {
        document: usize,
        index: usize,
        node: Node,
    },
    /// A whole document; with item streaming on, its top-level `items` list holds only the
    /// elements that were not handed over (none).
    Document { number: usize, doc: Document },
}

enum Frame {
    Seq(Vec<Node>, Pos, usize),
    Map(Vec<(Node, Node)>, Option<Node>, Pos, usize),
}

/// Builds nodes from parser events, enforcing the limits above.
struct TreeBuilder<'f> {
    stack: Vec<Frame>,
    anchors: HashMap<usize, (Node, u64)>,
    current: Option<Document>,
    documents: usize,
    written_nodes: u64,
    alias_nodes: u64,
    /// Top-level `items` elements of documents listed here (by number) are streamed.
    stream_items: Option<&'f dyn Fn(usize) -> bool>,
    streamed: usize,
}

/// Parses every document of a YAML stream.
pub fn parse_stream(text: &str) -> Result<Vec<Document>, SyntaxError> {
    let mut docs = Vec::new();
    parse_parts(text, None, &mut |part| {
        if let Part::Document { doc, .. } = part {
            docs.push(doc);
        }
    })?;
    Ok(docs)
}

/// Parses a YAML stream part by part. Documents for which `stream_items` answers true (by
/// 1-based number) have the elements of their top-level `items` list handed over one by one.
pub fn parse_parts(
    text: &str,
    stream_items: Option<&dyn Fn(usize) -> bool>,
    out: &mut dyn FnMut(Part),
) -> Result<(), SyntaxError> {
    check_characters(text)?;
    let mut b = TreeBuilder {
        stack: Vec::new(),
        anchors: HashMap::new(),
        current: None,
        documents: 0,
        written_nodes: 0,
        alias_nodes: 0,
        stream_items,
        streamed: 0,
    };
    for item in Parser::new_from_str(text) {
        let (event, span) = item?;
        let pos = Pos::new(span.start.line() as u32, span.start.col() as u32 + 1);
        b.event(event, pos, out)?;
    }
    if let Some(doc) = b.current.take() {
        out(Part::Document {
            number: b.documents,
            doc,
        });
    }
    Ok(())
}

/// The top-level `kind` of each document (by position, 1-based number = index + 1), read from
/// parser events without building any tree: lets a reader decide which documents are Lists
/// before it reads them.
pub fn top_level_kinds(text: &str) -> Result<Vec<Option<String>>, SyntaxError> {
    check_characters(text)?;
    let mut kinds = Vec::new();
    let mut depth = 0usize;
    let mut root_is_map = false;
    let mut at_key = true;
    let mut value_of_kind = false;
    for item in Parser::new_from_str(text) {
        let (event, _) = item?;
        // Whether this event completes a key or a value of the top-level mapping.
        let completes_child = match &event {
            Event::DocumentStart(_) => {
                kinds.push(None);
                depth = 0;
                false
            }
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                depth += 1;
                if depth == 1 {
                    root_is_map = matches!(event, Event::MappingStart(..));
                    at_key = true;
                }
                false
            }
            Event::MappingEnd | Event::SequenceEnd => {
                depth = depth.saturating_sub(1);
                depth == 1
            }
            Event::Scalar(v, ..) if depth == 1 => {
                if at_key {
                    value_of_kind = v == "kind";
                } else if value_of_kind && let Some(k) = kinds.last_mut() {
                    *k = Some(v.to_string());
                }
                true
            }
            Event::Alias(_) => depth == 1,
            _ => false,
        };
        if completes_child && root_is_map {
            if !at_key {
                value_of_kind = false;
            }
            at_key = !at_key;
        }
    }
    Ok(kinds)
}

impl TreeBuilder<'_> {
    fn event(
        &mut self,
        event: Event<'_>,
        pos: Pos,
        out: &mut dyn FnMut(Part),
    ) -> Result<(), SyntaxError> {
        let finished: Option<(Node, usize)> = match event {
            Event::StreamStart | Event::StreamEnd | Event::Nothing => None,
            Event::DocumentStart(_) => {
                self.documents += 1;
                self.streamed = 0;
                // Anchors belong to their document (YAML 1.2, 3.2.2.2): an alias cannot reach
                // into an earlier one, and nothing anchored is kept past its document.
                self.anchors.clear();
                self.current = Some(Document {
                    root: None,
                    start: pos,
                });
                None
            }
            Event::DocumentEnd => {
                if let Some(mut doc) = self.current.take() {
                    // `---` followed by nothing parses as a null root: an empty document.
                    if doc.root.as_ref().is_some_and(|r| r.value == Value::Null) {
                        doc.root = None;
                    }
                    out(Part::Document {
                        number: self.documents,
                        doc,
                    });
                }
                None
            }
            Event::Alias(id) => Some((self.alias(id, pos)?, 0)),
            Event::Scalar(text, style, anchor, tag) => {
                let value = scalar_value(text, style, tag.as_deref(), pos)?;
                self.written_nodes += 1;
                Some((Node { value, pos }, anchor))
            }
            Event::SequenceStart(anchor, tag) => {
                self.open(pos, tag.as_deref(), "seq")?;
                self.stack.push(Frame::Seq(Vec::new(), pos, anchor));
                None
            }
            Event::MappingStart(anchor, tag) => {
                self.open(pos, tag.as_deref(), "map")?;
                self.stack.push(Frame::Map(Vec::new(), None, pos, anchor));
                None
            }
            Event::SequenceEnd => match self.stack.pop() {
                Some(Frame::Seq(items, p, anchor)) => Some((
                    Node {
                        value: Value::Seq(items),
                        pos: p,
                    },
                    anchor,
                )),
                _ => unreachable_structure(pos)?,
            },
            Event::MappingEnd => match self.stack.pop() {
                Some(Frame::Map(entries, _, p, anchor)) => {
                    check_unique_keys(&entries)?;
                    Some((
                        Node {
                            value: Value::Map(entries),
                            pos: p,
                        },
                        anchor,
                    ))
                }
                _ => unreachable_structure(pos)?,
            },
        };
        if let Some((node, anchor)) = finished {
            self.place(node, anchor, out);
        }
        Ok(())
    }

    /// A collection starts: within the depth limit, with an accepted tag.
    fn open(&mut self, pos: Pos, tag: Option<&Tag>, expected: &str) -> Result<(), SyntaxError> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(depth_error(pos));
        }
        if let Some(t) = tag
            && !(t.is_yaml_core_schema() && t.suffix == expected)
        {
            return Err(unsupported_tag(t, pos));
        }
        self.written_nodes += 1;
        Ok(())
    }

    /// An alias, copied from its anchor while the copies stay within the allowance.
    fn alias(&mut self, id: usize, pos: Pos) -> Result<Node, SyntaxError> {
        let Some((anchored, size)) = self.anchors.get(&id) else {
            return Err(SyntaxError {
                pos,
                message: "YAML alias refers to an unknown anchor".into(),
            });
        };
        self.alias_nodes += size;
        let allowance = ALIAS_ALLOWANCE + self.written_nodes;
        if self.alias_nodes > allowance {
            return Err(SyntaxError {
                pos,
                message: format!(
                    "YAML aliases here expand to more than {allowance} nodes (a \"billion laughs\" document?); write the values out instead of aliasing aliases"
                ),
            });
        }
        Ok(Node {
            value: anchored.value.clone(),
            pos,
        })
    }

    /// A finished node goes into its parent, or is handed over as a streamed item, or becomes
    /// the document's root.
    fn place(&mut self, node: Node, anchor: usize, out: &mut dyn FnMut(Part)) {
        if anchor != 0 {
            let size = count_nodes(&node);
            self.anchors.insert(anchor, (node.clone(), size));
        }
        if self.is_streamed_item() {
            let index = self.streamed;
            self.streamed += 1;
            out(Part::Item {
                document: self.documents,
                index,
                node,
            });
            return;
        }
        match self.stack.last_mut() {
            Some(Frame::Seq(items, _, _)) => items.push(node),
            Some(Frame::Map(entries, pending, _, _)) => match pending.take() {
                None => *pending = Some(node),
                Some(key) => entries.push((key, node)),
            },
            None => {
                if let Some(doc) = self.current.as_mut() {
                    doc.root = Some(node);
                }
            }
        }
    }

    /// Whether the node just finished is an element of the top-level `items` of a document
    /// whose items are streamed.
    fn is_streamed_item(&self) -> bool {
        let [Frame::Map(_, Some(key), _, _), Frame::Seq(..)] = self.stack.as_slice() else {
            return false;
        };
        key.as_str() == Some("items") && self.stream_items.is_some_and(|f| f(self.documents))
    }
}

/// A scalar's value: plain scalars resolved by the core schema unless tagged; quoted and block
/// scalars are strings. A core-schema tag must agree with the value it is on.
fn scalar_value(
    text: std::borrow::Cow<'_, str>,
    style: ScalarStyle,
    tag: Option<&Tag>,
    pos: Pos,
) -> Result<Value, SyntaxError> {
    let Some(tag) = tag else {
        return Ok(if style == ScalarStyle::Plain {
            resolve_plain(&text)
        } else {
            Value::Str(text.into_owned())
        });
    };
    if !tag.is_yaml_core_schema() || !ACCEPTED_TAGS.contains(&tag.suffix.as_str()) {
        return Err(unsupported_tag(tag, pos));
    }
    let value = match tag.suffix.as_str() {
        "str" => return Ok(Value::Str(text.into_owned())),
        _ => resolve_plain(&text),
    };
    let agrees = matches!(
        (tag.suffix.as_str(), &value),
        ("int", Value::Int(_))
            | ("float", Value::Float(_) | Value::Int(_))
            | ("bool", Value::Bool(_))
            | ("null", Value::Null)
    );
    if agrees {
        Ok(value)
    } else {
        Err(SyntaxError {
            pos,
            message: format!(
                "the value `{}` is tagged `!!{}` but is not one",
                crate::diag::shorten(&text, 80),
                tag.suffix
            ),
        })
    }
}

fn unsupported_tag(tag: &Tag, pos: Pos) -> SyntaxError {
    let shown = if tag.is_yaml_core_schema() {
        format!("!!{}", tag.suffix)
    } else {
        format!("{}{}", tag.handle, tag.suffix)
    };
    SyntaxError {
        pos,
        message: format!(
            "the YAML tag `{}` is not supported: kube-evidence reads plain YAML (strings, numbers, booleans, lists and mappings); remove the tag",
            crate::diag::shorten(&shown, 80)
        ),
    }
}

/// YAML requires the keys of a mapping to be unique; a second `kind:` would otherwise decide
/// silently which of two values counts.
fn check_unique_keys(entries: &[(Node, Node)]) -> Result<(), SyntaxError> {
    if entries.len() < 2 {
        return Ok(());
    }
    let mut seen: HashMap<String, Pos> = HashMap::with_capacity(entries.len());
    for (k, _) in entries {
        if matches!(k.value, Value::Seq(_) | Value::Map(_)) {
            continue;
        }
        if let Some(first) = seen.insert(k.key_text(), k.pos) {
            return Err(SyntaxError {
                pos: k.pos,
                message: format!(
                    "duplicate key `{}` (first at line {}, column {}); each key may appear once in a mapping",
                    crate::diag::shorten(&k.key_text(), 80),
                    first.line,
                    first.col
                ),
            });
        }
    }
    Ok(())
}

/// How many nodes a tree holds (bounded depth, so recursion is safe).
fn count_nodes(node: &Node) -> u64 {
    1 + match &node.value {
        Value::Seq(items) => items.iter().map(count_nodes).sum(),
        Value::Map(entries) => entries
            .iter()
            .map(|(k, v)| count_nodes(k) + count_nodes(v))
            .sum(),
        _ => 0,
    }
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

    #[test]
    fn nesting_beyond_the_limit_is_refused_not_a_stack_overflow() {
        let deep = "- ".repeat(100_000) + "x\n";
        let err = parse_stream(&deep).unwrap_err();
        assert_eq!(err.pos, Pos::new(1, 2 * MAX_DEPTH as u32 + 1));
        assert!(
            err.message.starts_with("nested more than 64 levels deep"),
            "{}",
            err.message
        );
        let flow = "[".repeat(100_000);
        assert!(parse_stream(&flow).is_err());
        let ok = "- ".repeat(MAX_DEPTH - 1) + "x\n";
        assert!(parse_stream(&ok).is_ok());
    }

    #[test]
    fn a_billion_laughs_stops_at_the_alias_allowance() {
        let mut bomb = String::from(
            "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
        );
        for (i, c) in ('b'..='i').enumerate() {
            let prev = (b'a' + i as u8) as char;
            let refs = vec![format!("*{prev}"); 9].join(",");
            bomb.push_str(&format!("{c}: &{c} [{refs}]\n"));
        }
        assert!(bomb.len() < 1024);
        let err = parse_stream(&bomb).unwrap_err();
        assert!(err.message.contains("billion laughs"), "{}", err.message);
        // Ordinary reuse is fine.
        let reuse = "labels: &l {app: x, team: y}\na: *l\nb: *l\n";
        assert!(parse_stream(reuse).is_ok());
    }

    #[test]
    fn tags_outside_the_core_schema_are_reported() {
        let err = parse_stream("data: !!binary aGVsbG8=\n").unwrap_err();
        assert_eq!(err.pos, Pos::new(1, 7));
        assert!(
            err.message.contains("`!!binary` is not supported"),
            "{}",
            err.message
        );
        assert!(parse_stream("a: !custom {x: 1}\n").is_err());
        assert!(
            parse_stream("a: !!int nope\n")
                .unwrap_err()
                .message
                .contains("tagged `!!int`")
        );
        let ok = parse_stream("a: !!str 1\nb: !!int 2\nc: !!map {x: 1}\n").unwrap();
        let root = ok[0].root.as_ref().unwrap();
        assert_eq!(root.get("a").unwrap().value, Value::Str("1".into()));
        assert_eq!(root.get("b").unwrap().value, Value::Int(2));
    }

    #[test]
    fn duplicate_keys_are_refused_even_in_large_mappings() {
        let mut text: String = (0..200_000).map(|i| format!("k{i}: {i}\n")).collect();
        assert!(parse_stream(&text).is_ok());
        text.push_str("k7: again\n");
        let err = parse_stream(&text).unwrap_err();
        assert_eq!(err.pos, Pos::new(200_001, 1));
        assert!(
            err.message.contains("first at line 8, column 1"),
            "{}",
            err.message
        );
        let kinds = parse_stream("kind: Role\nmetadata: {name: x}\nkind: ClusterRole\n");
        assert!(
            kinds
                .unwrap_err()
                .message
                .starts_with("duplicate key `kind`")
        );
    }

    #[test]
    fn list_items_are_streamed_and_kinds_found_without_a_tree() {
        let text = "apiVersion: v1\nitems:\n- {kind: Role, n: 1}\n- {kind: Role, n: 2}\nkind: List\n---\nkind: Role\nitems: [a]\n";
        assert_eq!(
            top_level_kinds(text).unwrap(),
            vec![Some("List".to_string()), Some("Role".to_string())]
        );
        let mut seen = Vec::new();
        parse_parts(text, Some(&|n: usize| n == 1), &mut |part| match part {
            Part::Item {
                document,
                index,
                node,
            } => {
                seen.push(format!("item {document}.{index} at {}", node.pos.line));
            }
            Part::Document { number, doc } => {
                let items = doc
                    .root
                    .unwrap()
                    .get("items")
                    .unwrap()
                    .as_seq()
                    .unwrap()
                    .len();
                seen.push(format!("document {number} with {items} items left"));
            }
        })
        .unwrap();
        assert_eq!(
            seen,
            vec![
                "item 1.0 at 3",
                "item 1.1 at 4",
                "document 1 with 0 items left",
                "document 2 with 1 items left"
            ]
        );
    }

    #[test]
    fn anchors_do_not_reach_into_another_document() {
        let err = parse_stream("a: &x 1\n---\nb: *x\n").unwrap_err();
        assert_eq!(err.pos, Pos::new(3, 4));
    }
}
