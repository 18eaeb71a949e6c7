//! A plain document (a title, then sections of paragraphs and tables) as one self-contained HTML
//! page (`templates/plain.html`): no script, no external resource, every value escaped.
//! [`super::pdf::render_plain`] writes the same document as a PDF, so both forms always say the
//! same.

use super::document::PlainDocument;
use serde::Serialize;

const TEMPLATE: &str = include_str!("../../templates/plain.html");

#[derive(Serialize)]
struct SectionView<'a> {
    title: &'a str,
    paragraphs: &'a [String],
    table: bool,
    /// Each column's share of the width in percent, as the PDF's columns; none when the shares
    /// add up to nothing.
    widths: Vec<Option<String>>,
    columns: Vec<&'a str>,
    rows: Vec<RowView<'a>>,
}

#[derive(Serialize)]
struct RowView<'a> {
    cells: &'a [String],
    has_link: bool,
    link: &'a str,
}

/// The same document as one HTML page, no scripts, no external resources.
pub fn html(doc: &PlainDocument) -> String {
    let sections: Vec<SectionView<'_>> = doc
        .sections
        .iter()
        .map(|s| {
            let total: f32 = s.columns.iter().map(|(_, w)| w.max(0.0)).sum();
            SectionView {
                title: &s.title,
                paragraphs: &s.paragraphs,
                table: !s.columns.is_empty() && !s.rows.is_empty(),
                widths: s
                    .columns
                    .iter()
                    .map(|(_, w)| {
                        (total > 0.0).then(|| format!("{:.1}", w.max(0.0) * 100.0 / total))
                    })
                    .collect(),
                columns: s.columns.iter().map(|(c, _)| c.as_str()).collect(),
                rows: s
                    .rows
                    .iter()
                    .enumerate()
                    .map(|(i, cells)| {
                        let link = s.links.get(i).and_then(Option::as_deref);
                        RowView {
                            cells,
                            has_link: link.is_some(),
                            link: link.unwrap_or_default(),
                        }
                    })
                    .collect(),
            }
        })
        .collect();
    let mut context = tera::Context::new();
    context.insert("doc", &Document::of(doc));
    context.insert("sections", &sections);
    super::html::page("plain.html", TEMPLATE, &context)
}

#[derive(Serialize)]
struct Document<'a> {
    title: &'a str,
    header: &'a str,
    footer: &'a str,
}

impl<'a> Document<'a> {
    fn of(doc: &'a PlainDocument) -> Self {
        Document {
            title: &doc.title,
            header: &doc.header,
            footer: &doc.footer,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::document::PlainSection;

    fn section(title: &str, cols: &[(&str, f32)], rows: usize, links: bool) -> PlainSection {
        PlainSection {
            title: title.into(),
            paragraphs: vec!["one <b>\nline & 'two'".into(), "plain".into()],
            columns: cols.iter().map(|(c, w)| (c.to_string(), *w)).collect(),
            rows: (0..rows)
                .map(|i| {
                    cols.iter()
                        .map(|(c, _)| format!("{c}\u{202e}{i}\n\"x\""))
                        .collect()
                })
                .collect(),
            links: (0..rows)
                .map(|i| (links && i % 2 == 0).then(|| format!("p/{i}.html?a=1&b=\"2\"")))
                .collect(),
        }
    }

    /// The page as the hand-built writer before the template wrote it, byte for byte (checked
    /// against it when the template replaced it): escaped text, line breaks, widths, links.
    #[test]
    fn the_page_escapes_every_value_and_keeps_the_pdfs_column_shares() {
        let doc = PlainDocument {
            title: "Title <x> & 'y'".into(),
            heading: "H".into(),
            header: "head\nline".into(),
            footer: "foot \"q\"".into(),
            identifier: "id".into(),
            sections: vec![
                section("T", &[("x", 1.0), ("y", 3.0)], 3, true),
                section("Z", &[("x", 0.0), ("y", 0.0)], 2, false),
                section("E", &[("x", 1.0)], 0, false),
            ],
        };
        insta::assert_snapshot!(html(&doc));
    }
}
