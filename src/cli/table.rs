//! Plain-text tables for people at a terminal: columns aligned, and at most as wide as the
//! terminal (long cells wrap inside their column rather than running off the screen).

use clap::ValueEnum;
use std::io::IsTerminal;

/// `--format` of the commands that answer a person or a program: an aligned table, or JSON.
#[derive(Debug, Clone, Copy, ValueEnum, Default, PartialEq, Eq)]
pub enum Format {
    #[default]
    Table,
    Json,
}

pub struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

/// Below this a column is not narrowed further (it wraps into too many lines to read).
const MIN_COLUMN: usize = 12;
const GAP: usize = 2;

impl Table {
    pub fn new(headers: &[&str]) -> Self {
        Table {
            headers: headers.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// For standard output: as wide as `COLUMNS` says, or 120 on a terminal; unbounded into a
    /// pipe without `COLUMNS` (one line per row, for grep).
    pub fn render(&self) -> String {
        let columns = std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.parse::<usize>().ok())
            .filter(|c| *c >= 40);
        let max = match columns {
            Some(c) => Some(c),
            None if std::io::stdout().is_terminal() => Some(120),
            None => None,
        };
        self.render_within(max)
    }

    /// The table in at most `max` columns (when given), wrapping the widest cells.
    pub fn render_within(&self, max: Option<usize>) -> String {
        let n = self.headers.len();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for r in &self.rows {
            for (i, c) in r.iter().enumerate().take(n) {
                widths[i] = widths[i].max(c.chars().count());
            }
        }
        if let Some(max) = max {
            narrow(&mut widths, max);
        }
        let mut out = String::new();
        let mut line = |cells: &[String]| {
            let wrapped: Vec<Vec<String>> = cells
                .iter()
                .take(n)
                .enumerate()
                .map(|(i, c)| wrap(c, widths[i]))
                .collect();
            let height = wrapped.iter().map(Vec::len).max().unwrap_or(1);
            for l in 0..height {
                let mut s = String::new();
                for (i, cell) in wrapped.iter().enumerate() {
                    let text = cell.get(l).map(String::as_str).unwrap_or("");
                    if i + 1 == wrapped.len() {
                        s.push_str(text);
                    } else {
                        let pad = widths[i] + GAP - text.chars().count().min(widths[i]);
                        s.push_str(text);
                        s.push_str(&" ".repeat(pad));
                    }
                }
                out.push_str(s.trim_end());
                out.push('\n');
            }
        };
        line(&self.headers);
        for r in &self.rows {
            line(r);
        }
        out
    }
}

/// Narrows the widest columns until the table fits `max` (or no column can give more).
fn narrow(widths: &mut [usize], max: usize) {
    let total = |w: &[usize]| w.iter().sum::<usize>() + GAP * w.len().saturating_sub(1);
    while total(widths) > max {
        let Some((widest, &w)) = widths.iter().enumerate().max_by_key(|(_, w)| **w) else {
            return;
        };
        if w <= MIN_COLUMN {
            return;
        }
        let excess = total(widths) - max;
        // At most half a column at a time, so the width is shared among the widest ones.
        widths[widest] = w.saturating_sub(excess).max(MIN_COLUMN).max(w - w / 2);
    }
}

/// `text` in lines of at most `width` characters: at spaces, else after `-`, `/`, `:`, `.` or
/// `,`, else anywhere.
fn wrap(text: &str, width: usize) -> Vec<String> {
    if text.chars().count() <= width {
        return vec![text.to_string()];
    }
    let mut lines = Vec::new();
    let mut rest: Vec<char> = text.chars().collect();
    while rest.len() > width {
        let window = &rest[..=width.min(rest.len() - 1)];
        let cut = window
            .iter()
            .rposition(|c| *c == ' ')
            .filter(|p| *p > 0)
            .or_else(|| {
                window[..width]
                    .iter()
                    .rposition(|c| matches!(c, '-' | '/' | ':' | '.' | ','))
                    .map(|p| p + 1)
            })
            .filter(|p| *p > 0)
            .unwrap_or(width);
        let line: String = rest[..cut].iter().collect();
        lines.push(line.trim_end().to_string());
        rest = rest[cut..].to_vec();
        while rest.first() == Some(&' ') {
            rest.remove(0);
        }
    }
    if !rest.is_empty() {
        lines.push(rest.into_iter().collect());
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wide_table_fits_the_width_and_loses_no_text() {
        let mut t = Table::new(&["NAMESPACE", "SUBJECT", "VIA", "RULE"]);
        t.row(vec![
            "payments".into(),
            "ServiceAccount:payments/very-long-service-account-name-for-the-ledger".into(),
            "RoleBinding payments/ledger-writers -> ClusterRole aggregated-ledger-administrator"
                .into(),
            "[get list watch create update patch delete] secrets configmaps pods/exec".into(),
        ]);
        let out = t.render_within(Some(120));
        for line in out.lines() {
            assert!(
                line.chars().count() <= 120,
                "{line:?} is {} wide",
                line.chars().count()
            );
        }
        // Nothing lost, nothing added: the same characters, only laid out on more lines.
        let visible = |s: &str| s.chars().filter(|c| !c.is_whitespace()).count();
        let cells: usize = t.headers.iter().chain(&t.rows[0]).map(|c| visible(c)).sum();
        assert_eq!(visible(&out), cells);
        assert!(out.lines().count() > 2, "long cells wrapped:\n{out}");
    }

    #[test]
    fn a_narrow_table_is_unchanged() {
        let mut t = Table::new(&["A", "B"]);
        t.row(vec!["x".into(), "y".into()]);
        assert_eq!(t.render_within(Some(120)), "A  B\nx  y\n");
        assert_eq!(t.render_within(None), "A  B\nx  y\n");
    }

    #[test]
    fn wrapping_prefers_spaces_then_separators() {
        assert_eq!(wrap("alpha beta gamma", 11), ["alpha beta", "gamma"]);
        assert_eq!(
            wrap("ServiceAccount:payments/ledger", 16),
            ["ServiceAccount:", "payments/ledger"]
        );
        assert_eq!(wrap("abcdefghij", 4), ["abcd", "efgh", "ij"]);
    }
}
