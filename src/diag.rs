//! Diagnostics for input a person wrote: each problem names the file, line and column, and
//! validators collect every problem before giving up, so one run shows all of them.

use std::fmt;

/// A position in a text file, both parts 1-based as editors show them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Pos {
    pub line: u32,
    pub col: u32,
}

impl Pos {
    pub fn new(line: u32, col: u32) -> Self {
        Pos { line, col }
    }
}

/// One problem found in one input file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Diagnostic {
    pub file: String,
    pub pos: Option<Pos>,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.pos {
            Some(p) => write!(
                f,
                "{}:{}:{}: {}",
                escape(&self.file),
                p.line,
                p.col,
                shorten(&escape(&self.message), MAX_MESSAGE_CHARS)
            ),
            None => write!(
                f,
                "{}: {}",
                escape(&self.file),
                shorten(&escape(&self.message), MAX_MESSAGE_CHARS)
            ),
        }
    }
}

/// Every problem found while validating one or more input files, in file and position order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, file: &str, pos: Option<Pos>, message: impl Into<String>) {
        self.items.push(Diagnostic {
            file: file.to_string(),
            pos,
            message: message.into(),
        });
    }

    pub fn extend(&mut self, other: Diagnostics) {
        self.items.extend(other.items);
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items.iter()
    }

    /// Sorted by file and position so that output is stable and reads top to bottom.
    pub fn into_sorted(mut self) -> Vec<Diagnostic> {
        self.items.sort();
        self.items.dedup();
        self.items
    }

    /// `Ok(value)` when nothing was reported, otherwise every problem.
    pub fn into_result<T>(self, value: T) -> Result<T, Diagnostics> {
        if self.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sorted = self.clone().into_sorted();
        for (i, d) in sorted.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

/// The longest message a diagnostic prints; values quoted in messages are cut well before, this
/// only keeps a message that quotes too much from flooding a terminal or a log.
const MAX_MESSAGE_CHARS: usize = 2_000;

/// Text from input, made safe to print on one line: control characters (a newline in a file
/// name would forge a diagnostic line), bidirectional overrides (which reorder what a reader
/// sees) and other invisible format characters are written as `\u{..}` escapes.
pub fn escape(text: &str) -> String {
    if !text.chars().any(needs_escape) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if needs_escape(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// Text from input, made safe for a page a person reads (HTML, PDF, a spreadsheet): like
/// [`escape`], but line breaks and tabs stay (a page lays them out; they forge nothing there).
/// Bidirectional overrides and invisible characters would make a name read as another.
pub fn visible(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(hidden_on_a_page) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if hidden_on_a_page(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Whether a character is shown as an escape on a page (see [`visible`]).
pub fn hidden_on_a_page(c: char) -> bool {
    needs_escape(c) && c != '\n' && c != '\t'
}

fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            // Invisible or blank in most fonts: soft hyphen, combining grapheme joiner, Arabic
            // letter mark, Hangul fillers, Khmer inherent vowels, Mongolian vowel separator,
            // zero-width and directional marks, invisible operators, variation selectors, the
            // byte order mark, tag characters, and musical-symbol format characters.
            '\u{00ad}'
                | '\u{034f}'
                | '\u{061c}'
                | '\u{115f}'..='\u{1160}'
                | '\u{17b4}'..='\u{17b5}'
                | '\u{180b}'..='\u{180f}'
                | '\u{200b}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{206f}'
                | '\u{3164}'
                | '\u{fe00}'..='\u{fe0f}'
                | '\u{feff}'
                | '\u{ffa0}'
                | '\u{fff0}'..='\u{fffb}'
                | '\u{1d173}'..='\u{1d17a}'
                | '\u{e0000}'..='\u{e0fff}'
        )
}

/// A value quoted in a message, cut to `max` characters with a note of how much was left out
/// (a 20 MB cluster name is reported, not echoed).
pub fn shorten(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_string(),
        Some((cut, _)) => {
            let rest = text[cut..].chars().count();
            format!("{}… ({rest} more characters)", &text[..cut])
        }
    }
}

/// Where in `bytes` the first invalid UTF-8 sequence starts, as a 1-based line and column
/// (columns count characters), for "not UTF-8" messages that say where.
pub fn utf8_error_pos(bytes: &[u8], error: &std::str::Utf8Error) -> Pos {
    let valid = &bytes[..error.valid_up_to()];
    // The prefix is valid UTF-8 by definition of `valid_up_to`.
    let text = std::str::from_utf8(valid).unwrap_or_default();
    let line = text.matches('\n').count() as u32 + 1;
    let line_start = text.rfind('\n').map_or(0, |i| i + 1);
    let col = text[line_start..].chars().count() as u32 + 1;
    Pos::new(line, col)
}

/// The closest of `candidates` to `word`, if it is close enough to be a likely typo.
pub fn did_you_mean<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    // Candidates are short names; a long word is no typo of one (and would cost n*m to compare).
    if word.len() > 128 {
        return None;
    }
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        let d = levenshtein(&word.to_ascii_lowercase(), &c.to_ascii_lowercase());
        if d <= 2.max(c.len() / 4) && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_file_line_and_column() {
        let mut d = Diagnostics::new();
        d.push("b.yaml", Some(Pos::new(3, 5)), "second");
        d.push("a.yaml", Some(Pos::new(10, 1)), "first");
        assert_eq!(d.to_string(), "a.yaml:10:1: first\nb.yaml:3:5: second");
    }

    #[test]
    fn suggests_close_keys_only() {
        assert_eq!(
            did_you_mean("inventroy", &["inventory", "source"]),
            Some("inventory")
        );
        assert_eq!(did_you_mean("colour", &["inventory", "source"]), None);
    }
}
