//! `report.pdf` and the other PDF documents, laid out for A4 with printpdf drawing operations:
//! the layout engine (`layout`), the pack's report in sections (`sections`), and any
//! [`PlainDocument`] (`render_plain`).

mod layout;
mod sections;

use super::document::PlainDocument;
use chrono::{DateTime, Utc};
use layout::{Column, DocumentMeta, PageFrame, new_layout, write_pdf};
pub use sections::render;

/// A plain document as PDF bytes. `generated_at` (the run's clock) dates the document.
pub fn render_plain(doc: &PlainDocument, generated_at: DateTime<Utc>) -> Vec<u8> {
    let mut l = new_layout();
    l.section(&doc.heading);
    for s in &doc.sections {
        l.subheading(&s.title);
        for p in &s.paragraphs {
            l.paragraph(p, 9.0);
        }
        if !s.columns.is_empty() && !s.rows.is_empty() {
            let columns: Vec<Column<'_>> = s
                .columns
                .iter()
                .map(|(t, w)| Column(t.as_str(), *w))
                .collect();
            l.table(&columns, &s.rows, 7.5);
        }
    }
    let frame = PageFrame {
        header: doc.header.clone(),
        right: "kube-evidence".into(),
        alert: false,
        footer: doc.footer.clone(),
    };
    let meta = DocumentMeta {
        title: &doc.title,
        subject: doc.title.clone(),
        identifier: &doc.identifier,
    };
    write_pdf(l, &frame, &meta, generated_at)
}
