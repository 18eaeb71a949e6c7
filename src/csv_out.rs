//! CSV for people who open it in a spreadsheet: RFC 4180 with CRLF line ends, and no cell a
//! spreadsheet would take for a formula. Names in a cluster are chosen by whoever can create
//! objects there; a ServiceAccount annotation or a user name that starts with `=` must reach the
//! auditor's spreadsheet as text, not run as `=HYPERLINK(...)` or `=cmd|...`.

use std::borrow::Cow;
use std::io::Write;

/// A CSV writer with the pack's conventions.
pub fn writer<W: Write>(inner: W) -> csv::Writer<W> {
    csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(inner)
}

/// Writes one record, every cell neutralised (see [`neutralise`]).
pub fn record<W: Write, I, T>(w: &mut csv::Writer<W>, cells: I)
where
    I: IntoIterator<Item = T>,
    T: AsRef<str>,
{
    let cells: Vec<String> = cells
        .into_iter()
        .map(|c| neutralise(c.as_ref()).into_owned())
        .collect();
    w.write_record(&cells).expect("writing to memory");
}

/// A cell a spreadsheet would evaluate (it starts with `=`, `+`, `-`, `@`, a tab or a carriage
/// return, as OWASP's CSV injection guidance lists) gets a leading `'`, which spreadsheets show
/// as text. Plain numbers such as `-1` stay as they are.
///
/// Bidirectional overrides and invisible characters are written as visible `\u{..}` escapes
/// (`crate::diag::visible`), so a cell cannot read as another name.
pub fn neutralise(cell: &str) -> Cow<'_, str> {
    let risky = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let shown = crate::diag::visible(cell);
    if risky && cell.parse::<f64>().is_err() {
        Cow::Owned(format!("'{shown}"))
    } else {
        shown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_become_text_and_numbers_stay_numbers() {
        for (cell, want) in [
            ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
            ("+1+1", "'+1+1"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\t=1", "'\t=1"),
            ("\r=1", "'\\u{d}=1"),
            ("admin\u{202e}txt", "admin\\u{202e}txt"),
            ("-1", "-1"),
            ("+3.5", "+3.5"),
            ("alice@example.com", "alice@example.com"),
            ("", ""),
        ] {
            assert_eq!(neutralise(cell), want, "{cell:?}");
        }
    }

    #[test]
    fn records_are_neutralised_and_quoted() {
        let mut w = writer(Vec::new());
        record(&mut w, ["a", "=cmd|' /C calc'!A0", "x,y"]);
        let out = String::from_utf8(w.into_inner().unwrap()).unwrap();
        assert_eq!(out, "a,'=cmd|' /C calc'!A0,\"x,y\"\r\n");
    }
}
