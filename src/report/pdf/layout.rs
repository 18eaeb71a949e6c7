//! The PDF layout engine: fonts measured by their own advances, text wrapped (names broken after
//! separators first), tables broken across pages with their header row repeated, bookmarks,
//! anchors and links, then the pages framed ("page X of Y", known after a first layout pass) and
//! written with metadata from the run's clock. Every id inside the file is fixed so the same
//! document gives the same bytes. It knows nothing of what a report says: `sections` lays out
//! the pack's report with it, and `render_plain` a [`crate::report::document::PlainDocument`].

use crate::report::chart::{self, Anchor, Chart, Rgb, Shape};
use chrono::{DateTime, Utc};
use printpdf::{
    Color, FontId, Line, LinePoint, Mm, Op, PageAnnotId, PageAnnotation, PaintMode, ParsedFont,
    PdfDocument, PdfFont, PdfFontHandle, PdfPage, PdfSaveOptions, Point, Pt, Rect, TextItem,
};
use std::cell::RefCell;
use std::collections::HashMap;

pub(super) const REGULAR: &[u8] =
    include_bytes!("../../../templates/fonts/DejaVuSansCondensed.ttf");
pub(super) const BOLD: &[u8] =
    include_bytes!("../../../templates/fonts/DejaVuSansCondensed-Bold.ttf");

pub(super) const PAGE_W: f32 = 595.28;
pub(super) const PAGE_H: f32 = 841.89;
pub(super) const LEFT: f32 = 42.0;
pub(super) const RIGHT: f32 = PAGE_W - 42.0;
pub(super) const CONTENT_TOP: f32 = PAGE_H - 62.0;
pub(super) const CONTENT_BOTTOM: f32 = 54.0;
pub(super) const WIDTH: f32 = RIGHT - LEFT;

pub(super) const INK: Rgb = chart::INK;
pub(super) const MUTED: Rgb = chart::MUTED;
pub(super) const ACCENT: Rgb = Rgb(0x1e, 0x3a, 0x8a);
pub(super) const ALERT: Rgb = Rgb(0xb9, 0x1c, 0x1c);
pub(super) const BAND: Rgb = Rgb(0xf3, 0xf4, 0xf6);

pub(super) struct Face {
    pub(super) id: FontId,
    pub(super) parsed: ParsedFont,
    pub(super) units_per_em: f32,
    pub(super) advances: RefCell<HashMap<char, f32>>,
}

impl Face {
    pub(super) fn load(tag: &str, bytes: &[u8]) -> Face {
        let mut warnings = Vec::new();
        // The font is part of the binary: failing to parse it is a bug, not input.
        let parsed =
            ParsedFont::from_bytes(bytes, 0, &mut warnings).expect("the bundled font parses");
        let units_per_em = f32::from(parsed.font_metrics.units_per_em.max(1));
        Face {
            id: FontId(tag.to_string()),
            parsed,
            units_per_em,
            advances: RefCell::new(HashMap::new()),
        }
    }

    /// Width of `text` at `size` points, as [`Face::printable`] shows it.
    pub(super) fn width(&self, text: &str, size: f32) -> f32 {
        let mut cache = self.advances.borrow_mut();
        let units: f32 = text
            .chars()
            .map(|c| {
                *cache.entry(c).or_insert_with(|| match self.escaped(c) {
                    Some(shown) => shown.chars().map(|e| self.advance(e)).sum(),
                    None => self.advance(c),
                })
            })
            .sum();
        units / self.units_per_em * size
    }

    pub(super) fn advance(&self, c: char) -> f32 {
        let gid = self.parsed.lookup_glyph_index(c as u32).unwrap_or(0);
        f32::from(self.parsed.get_horizontal_advance(gid))
    }

    /// How a character the page must not show as itself is written: a bidirectional override
    /// or an invisible character (it would make a name read as another), or one the font has no
    /// glyph for (an empty box says nothing), as its `\u{..}` escape.
    pub(super) fn escaped(&self, c: char) -> Option<String> {
        let no_glyph = !c.is_whitespace()
            && self
                .parsed
                .lookup_glyph_index(c as u32)
                .is_none_or(|g| g == 0);
        (crate::diag::hidden_on_a_page(c) || no_glyph).then(|| format!("\\u{{{:x}}}", c as u32))
    }

    /// `text` as the page shows it (see [`Face::escaped`]).
    pub(super) fn printable<'t>(&self, text: &'t str) -> std::borrow::Cow<'t, str> {
        if text.chars().all(|c| self.escaped(c).is_none()) {
            return std::borrow::Cow::Borrowed(text);
        }
        let mut out = String::with_capacity(text.len() + 8);
        for c in text.chars() {
            match self.escaped(c) {
                Some(e) => out.push_str(&e),
                None => out.push(c),
            }
        }
        std::borrow::Cow::Owned(out)
    }

    /// Splits `text` into lines no wider than `width`: at spaces where possible, inside a word
    /// only when the word alone is wider than the line.
    pub(super) fn wrap(&self, text: &str, size: f32, width: f32) -> Vec<String> {
        let mut lines = Vec::new();
        for paragraph in text.split('\n') {
            let mut line = String::new();
            for word in paragraph.split(' ').filter(|w| !w.is_empty()) {
                let candidate = if line.is_empty() {
                    word.to_string()
                } else {
                    format!("{line} {word}")
                };
                if self.width(&candidate, size) <= width {
                    line = candidate;
                    continue;
                }
                if !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                }
                if self.width(word, size) <= width {
                    line = word.to_string();
                    continue;
                }
                // Too wide for a line: break after `-`, `/`, `.`, `@`, `:` or `_` first
                // (`cluster-` / `admin`, `platform@` / `example.com`), inside a piece only when
                // the piece alone is wider than the line.
                for piece in break_pieces(word) {
                    let next = format!("{line}{piece}");
                    if self.width(&next, size) <= width {
                        line = next;
                        continue;
                    }
                    if !line.is_empty() {
                        lines.push(std::mem::take(&mut line));
                    }
                    if self.width(piece, size) <= width {
                        line = piece.to_string();
                        continue;
                    }
                    for c in piece.chars() {
                        let mut next = line.clone();
                        next.push(c);
                        if self.width(&next, size) > width && !line.is_empty() {
                            lines.push(std::mem::take(&mut line));
                            line.push(c);
                        } else {
                            line = next;
                        }
                    }
                }
            }
            lines.push(line);
        }
        lines
    }
}

/// A word cut after each character a line may break after in names (`-`, `/`, `.`, `@`, `:`,
/// `_`): the pieces, in order, that together are the word.
pub(super) fn break_pieces(word: &str) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut start = 0;
    for (i, c) in word.char_indices() {
        if matches!(c, '-' | '/' | '.' | '@' | ':' | '_') {
            let end = i + c.len_utf8();
            pieces.push(&word[start..end]);
            start = end;
        }
    }
    if start < word.len() {
        pieces.push(&word[start..]);
    }
    pieces
}

pub(super) fn color(c: Rgb) -> Color {
    Color::Rgb(printpdf::Rgb::new(
        f32::from(c.0) / 255.0,
        f32::from(c.1) / 255.0,
        f32::from(c.2) / 255.0,
        None,
    ))
}

pub(super) fn point(x: f32, y: f32) -> Point {
    Point { x: Pt(x), y: Pt(y) }
}

pub(super) struct Layout {
    pub(super) regular: Face,
    pub(super) bold: Face,
    pub(super) pages: Vec<Vec<Op>>,
    pub(super) ops: Vec<Op>,
    /// The top of the free space on the current page (PDF coordinates, from the bottom).
    pub(super) y: f32,
    pub(super) bookmarks: Vec<(String, usize)>,
    /// Where each named place (a finding, a control's row) starts: page index and top.
    pub(super) anchors: HashMap<String, (usize, f32)>,
    /// Links to named places: page index, clickable box (x, y, width, height), target name.
    pub(super) links: Vec<(usize, [f32; 4], String)>,
}

/// Internal links of a table: per row, the name its place gets and the place its first cell
/// links to.
#[derive(Default)]
pub(super) struct RowLinks {
    pub(super) anchors: Vec<Option<String>>,
    pub(super) targets: Vec<Option<String>>,
}

#[derive(Clone, Copy)]
pub(super) enum Weight {
    Regular,
    Bold,
}

/// What every page repeats: the header line, its right-hand label (in the alert colour when
/// `alert`), and the footer's left-hand text.
pub(super) struct PageFrame {
    pub(super) header: String,
    pub(super) right: String,
    pub(super) alert: bool,
    pub(super) footer: String,
}

/// A table column: its title and its share of the page width.
pub(super) struct Column<'a>(pub(super) &'a str, pub(super) f32);

impl Layout {
    pub(super) fn face(&self, w: Weight) -> &Face {
        match w {
            Weight::Regular => &self.regular,
            Weight::Bold => &self.bold,
        }
    }

    pub(super) fn text(&mut self, x: f32, y: f32, s: &str, w: Weight, size: f32, c: Rgb) {
        if s.is_empty() {
            return;
        }
        let face = self.face(w);
        let id = face.id.clone();
        let shown = face.printable(s).into_owned();
        self.ops.extend([
            Op::StartTextSection,
            Op::SetFillColor { col: color(c) },
            Op::SetFont {
                font: PdfFontHandle::External(id),
                size: Pt(size),
            },
            Op::SetTextCursor { pos: point(x, y) },
            Op::ShowText {
                items: vec![TextItem::Text(shown)],
            },
            Op::EndTextSection,
        ]);
    }

    pub(super) fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, c: Rgb) {
        self.ops.push(Op::SetFillColor { col: color(c) });
        self.ops.push(Op::DrawRectangle {
            rectangle: Rect {
                x: Pt(x),
                y: Pt(y),
                width: Pt(w),
                height: Pt(h),
                mode: Some(PaintMode::Fill),
                winding_order: None,
            },
        });
    }

    pub(super) fn line(&mut self, points: &[(f32, f32)], c: Rgb, width: f32) {
        self.ops.push(Op::SetOutlineColor { col: color(c) });
        self.ops.push(Op::SetOutlineThickness { pt: Pt(width) });
        self.ops.push(Op::DrawLine {
            line: Line {
                points: points
                    .iter()
                    .map(|(x, y)| LinePoint {
                        p: point(*x, *y),
                        bezier: false,
                    })
                    .collect(),
                is_closed: false,
            },
        });
    }

    pub(super) fn new_page(&mut self) {
        let ops = std::mem::take(&mut self.ops);
        self.pages.push(ops);
        self.y = CONTENT_TOP;
    }

    pub(super) fn page_is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    pub(super) fn ensure(&mut self, height: f32) {
        if self.y - height < CONTENT_BOTTOM && !self.page_is_empty() {
            self.new_page();
        }
    }

    /// A section: a new page, an outline entry, a title.
    pub(super) fn section(&mut self, title: &str) {
        if !self.page_is_empty() {
            self.new_page();
        }
        self.bookmarks
            .push((title.to_string(), self.pages.len() + 1));
        self.y -= 16.0;
        self.text(LEFT, self.y, title, Weight::Bold, 16.0, ACCENT);
        self.y -= 6.0;
        self.line(&[(LEFT, self.y), (RIGHT, self.y)], ACCENT, 1.2);
        self.y -= 14.0;
    }

    pub(super) fn subheading(&mut self, title: &str) {
        self.ensure(40.0);
        self.y -= 6.0;
        self.paragraph_with(title, Weight::Bold, 11.0, INK, 0.0);
        self.y -= 2.0;
    }

    pub(super) fn paragraph(&mut self, s: &str, size: f32) {
        self.paragraph_with(s, Weight::Regular, size, INK, 0.0);
        self.y -= size * 0.5;
    }

    pub(super) fn paragraph_with(&mut self, s: &str, w: Weight, size: f32, c: Rgb, indent: f32) {
        let lh = size * 1.3;
        let lines = self.face(w).wrap(s, size, WIDTH - indent);
        for l in lines {
            self.ensure(lh);
            self.y -= lh;
            self.text(LEFT + indent, self.y + size * 0.25, &l, w, size, c);
        }
    }

    /// A labelled list (label in grey, then one line per item, indented).
    pub(super) fn list(&mut self, label: &str, items: &[String], size: f32) {
        if items.is_empty() {
            return;
        }
        self.paragraph_with(label, Weight::Regular, size, MUTED, 0.0);
        let lh = size * 1.3;
        let bullet = self.regular.width("- ", size);
        for item in items {
            // A hanging indent: continuation lines align with the text, not the dash.
            let lines = self.regular.wrap(item, size, WIDTH - 10.0 - bullet);
            for (i, l) in lines.iter().enumerate() {
                self.ensure(lh);
                self.y -= lh;
                let y = self.y + size * 0.25;
                if i == 0 {
                    self.text(LEFT + 10.0, y, "-", Weight::Regular, size, INK);
                }
                self.text(LEFT + 10.0 + bullet, y, l, Weight::Regular, size, INK);
            }
        }
    }

    pub(super) fn table(&mut self, columns: &[Column<'_>], rows: &[Vec<String>], size: f32) {
        self.linked_table(columns, rows, size, &RowLinks::default());
    }

    /// `prefix` and then the labels, comma-separated and wrapped, each label a link.
    pub(super) fn link_line(
        &mut self,
        prefix: &str,
        items: &[crate::report::model::Link],
        size: f32,
    ) {
        if items.is_empty() {
            return;
        }
        let lh = size * 1.3;
        self.ensure(lh);
        self.y -= lh;
        let mut x = LEFT;
        self.text(x, self.y, prefix, Weight::Regular, size, MUTED);
        x += self.regular.width(prefix, size) + 4.0;
        for (i, item) in items.iter().enumerate() {
            let text = if i + 1 < items.len() {
                format!("{},", item.label)
            } else {
                item.label.clone()
            };
            let w = self.regular.width(&text, size);
            if x + w > RIGHT {
                self.ensure(lh);
                self.y -= lh;
                x = LEFT;
            }
            self.text(x, self.y, &text, Weight::Regular, size, ACCENT);
            self.link([x, self.y - size * 0.3, w, size * 1.2], &item.anchor);
            x += w + 4.0;
        }
        self.y -= 2.0;
    }

    /// Names the place where the next content starts.
    pub(super) fn anchor(&mut self, name: &str) {
        self.anchors
            .insert(name.to_string(), (self.pages.len(), self.y));
    }

    /// Makes a box of the current page link to a named place (resolved when the pages are done).
    pub(super) fn link(&mut self, bounds: [f32; 4], target: &str) {
        self.links
            .push((self.pages.len(), bounds, target.to_string()));
    }

    pub(super) fn linked_table(
        &mut self,
        columns: &[Column<'_>],
        rows: &[Vec<String>],
        size: f32,
        links: &RowLinks,
    ) {
        let pad = 3.0;
        let lh = size * 1.25;
        let total: f32 = columns.iter().map(|c| c.1).sum();
        let widths: Vec<f32> = columns.iter().map(|c| c.1 / total * WIDTH).collect();
        let header_lines: Vec<Vec<String>> = columns
            .iter()
            .zip(&widths)
            .map(|(c, w)| self.bold.wrap(c.0, size, w - 2.0 * pad))
            .collect();
        let header_h = header_lines.iter().map(Vec::len).max().unwrap_or(1) as f32 * lh + 2.0 * pad;
        self.ensure(header_h + lh + 2.0 * pad);
        self.table_header(&header_lines, &widths, header_h, size);
        for (index, row) in rows.iter().enumerate() {
            let mut cells: Vec<Vec<String>> = row
                .iter()
                .zip(&widths)
                .map(|(text, w)| self.regular.wrap(text, size, w - 2.0 * pad))
                .collect();
            // A row taller than what is left goes on as far as it fits, then continues on the
            // next page under a repeated header.
            loop {
                let needed = cells.iter().map(Vec::len).max().unwrap_or(1).max(1);
                let room = ((self.y - CONTENT_BOTTOM - 2.0 * pad) / lh)
                    .floor()
                    .max(0.0) as usize;
                let whole_row_fits = needed <= room;
                if room < 1 || (!whole_row_fits && needed <= 6) {
                    self.new_page();
                    self.table_header(&header_lines, &widths, header_h, size);
                    continue;
                }
                let take = needed.min(room);
                let h = take as f32 * lh + 2.0 * pad;
                if index % 2 == 1 {
                    self.rect(LEFT, self.y - h, WIDTH, h, Rgb(0xfa, 0xfa, 0xfa));
                }
                // Where the row starts: its name, and its first cell's link.
                if let Some(Some(name)) = links.anchors.get(index)
                    && !self.anchors.contains_key(name)
                {
                    self.anchor(name);
                }
                if let Some(Some(target)) = links.targets.get(index) {
                    self.link([LEFT, self.y - h, widths[0], h], target);
                }
                let parts: Vec<Vec<String>> = cells
                    .iter_mut()
                    .map(|cell| cell.drain(..take.min(cell.len())).collect())
                    .collect();
                self.cells(&parts, &widths, Weight::Regular, size);
                self.line(&[(LEFT, self.y - h), (RIGHT, self.y - h)], chart::RULE, 0.4);
                self.y -= h;
                if cells.iter().all(Vec::is_empty) {
                    break;
                }
                self.new_page();
                self.table_header(&header_lines, &widths, header_h, size);
            }
        }
        self.y -= 8.0;
    }

    /// The lines of one table row, each column's lines from the row's top.
    pub(super) fn cells(
        &mut self,
        lines: &[Vec<String>],
        widths: &[f32],
        weight: Weight,
        size: f32,
    ) {
        let (pad, lh) = (3.0, size * 1.25);
        let mut x = LEFT;
        for (cell, w) in lines.iter().zip(widths) {
            for (i, l) in cell.iter().enumerate() {
                let baseline = self.y - pad - (i as f32 + 1.0) * lh + size * 0.28;
                self.text(x + pad, baseline, l, weight, size, INK);
            }
            x += w;
        }
    }

    pub(super) fn table_header(
        &mut self,
        lines: &[Vec<String>],
        widths: &[f32],
        h: f32,
        size: f32,
    ) {
        self.rect(LEFT, self.y - h, WIDTH, h, BAND);
        self.cells(lines, widths, Weight::Bold, size);
        self.line(
            &[(LEFT, self.y - h), (RIGHT, self.y - h)],
            chart::MUTED,
            0.6,
        );
        self.y -= h;
    }

    /// Draws a chart at the current position, `scale` points per chart unit.
    pub(super) fn chart(&mut self, c: &Chart, x0: f32, top: f32, scale: f32) {
        let tx = |x: f32| x0 + x * scale;
        let ty = |y: f32| top - y * scale;
        self.text(x0, top + 4.0, &c.title, Weight::Regular, 8.0, MUTED);
        for shape in &c.shapes {
            match shape {
                Shape::Rect { x, y, w, h, color } => {
                    self.rect(tx(*x), ty(y + h), w * scale, h * scale, *color)
                }
                Shape::Line {
                    points,
                    color,
                    width,
                } => {
                    let pts: Vec<(f32, f32)> =
                        points.iter().map(|(x, y)| (tx(*x), ty(*y))).collect();
                    self.line(&pts, *color, width * scale);
                }
                Shape::Text {
                    x,
                    y,
                    text,
                    size,
                    anchor,
                    color,
                } => {
                    let size = size * scale;
                    let w = self.regular.width(text, size);
                    let x = match anchor {
                        Anchor::Start => tx(*x),
                        Anchor::Middle => tx(*x) - w / 2.0,
                        Anchor::End => tx(*x) - w,
                    };
                    self.text(x, ty(*y), text, Weight::Regular, size, *color);
                }
            }
        }
    }

    pub(super) fn finish(mut self, frame: &PageFrame) -> (Vec<Vec<Op>>, Vec<(String, usize)>) {
        if !self.page_is_empty() {
            self.new_page();
        }
        let total = self.pages.len();
        let header = frame.header.clone();
        let mut pages = std::mem::take(&mut self.pages);
        // Links whose target exists become GoTo annotations (a target left out of the report,
        // such as a finding only findings.json lists, gets no link).
        for (page, [x, y, w, h], target) in std::mem::take(&mut self.links) {
            let Some(&(to_page, top)) = self.anchors.get(&target) else {
                continue;
            };
            let link = printpdf::LinkAnnotation::new(
                Rect::from_xywh(Pt(x), Pt(y), Pt(w), Pt(h)),
                printpdf::Actions::Goto(printpdf::Destination::Xyz {
                    page: to_page + 1,
                    left: Some(LEFT - 10.0),
                    top: Some(top + 16.0),
                    zoom: None,
                }),
                Some(printpdf::BorderArray::Solid([0.0, 0.0, 0.0])),
                Some(printpdf::ColorArray::Transparent),
                None,
            );
            if let Some(ops) = pages.get_mut(page) {
                ops.push(Op::LinkAnnotation { link });
            }
        }
        for (i, page) in pages.iter_mut().enumerate() {
            self.ops = Vec::new();
            self.text(LEFT, PAGE_H - 34.0, &header, Weight::Regular, 8.0, MUTED);
            // An unsigned pack says so on every page, where a reader of one page sees it.
            let (right, weight, colour) = if frame.alert {
                (frame.right.as_str(), Weight::Bold, ALERT)
            } else {
                (frame.right.as_str(), Weight::Regular, MUTED)
            };
            let w = match weight {
                Weight::Bold => self.bold.width(right, 8.0),
                Weight::Regular => self.regular.width(right, 8.0),
            };
            self.text(RIGHT - w, PAGE_H - 34.0, right, weight, 8.0, colour);
            self.line(
                &[(LEFT, PAGE_H - 40.0), (RIGHT, PAGE_H - 40.0)],
                chart::RULE,
                0.5,
            );
            self.line(&[(LEFT, 40.0), (RIGHT, 40.0)], chart::RULE, 0.5);
            let footer = format!("Page {} of {total}", i + 1);
            let w = self.regular.width(&footer, 8.0);
            self.text(RIGHT - w, 28.0, &footer, Weight::Regular, 8.0, MUTED);
            self.text(LEFT, 28.0, &frame.footer, Weight::Regular, 8.0, MUTED);
            page.extend(std::mem::take(&mut self.ops));
        }
        (pages, self.bookmarks)
    }
}

/// An empty layout: the fonts loaded, the first page not begun.
pub(super) fn new_layout() -> Layout {
    Layout {
        regular: Face::load("KEVREG", REGULAR),
        bold: Face::load("KEVBLD", BOLD),
        pages: Vec::new(),
        ops: Vec::new(),
        y: CONTENT_TOP,
        bookmarks: Vec::new(),
        anchors: HashMap::new(),
        links: Vec::new(),
    }
}

pub(super) struct DocumentMeta<'a> {
    pub(super) title: &'a str,
    pub(super) subject: String,
    pub(super) identifier: &'a str,
}

/// The laid-out pages as a PDF: fonts, bookmarks, metadata dated by the run, and a file
/// identifier derived from the document's identifier so the same input gives the same bytes.
pub(super) fn write_pdf(
    l: Layout,
    frame: &PageFrame,
    meta: &DocumentMeta<'_>,
    generated_at: DateTime<Utc>,
) -> Vec<u8> {
    let mut doc = PdfDocument::new(meta.title);
    for face in [&l.regular, &l.bold] {
        doc.resources
            .fonts
            .map
            .insert(face.id.clone(), PdfFont::new(face.parsed.clone()));
    }
    let (pages, bookmarks) = l.finish(frame);
    for (i, (name, page)) in bookmarks.into_iter().enumerate() {
        doc.bookmarks.map.insert(
            PageAnnotId(format!("outline-{i:03}")),
            PageAnnotation { name, page },
        );
    }
    let pages: Vec<PdfPage> = pages
        .into_iter()
        .map(|ops| PdfPage::new(Mm(210.0), Mm(297.0), ops))
        .collect();
    doc.with_pages(pages);
    let when = printpdf::OffsetDateTime::from_unix_timestamp(generated_at.timestamp())
        .expect("the run's time is a valid timestamp");
    let info = &mut doc.metadata.info;
    info.creation_date = when;
    info.modification_date = when;
    info.metadata_date = when;
    info.author = "kube-evidence".into();
    info.creator = format!("kube-evidence {}", crate::TOOL_VERSION);
    info.producer = "kube-evidence (printpdf)".into();
    info.subject = meta.subject.clone();
    info.identifier = meta.identifier.to_string();
    info.keywords = vec!["kube-evidence".into(), meta.identifier.to_string()];

    let mut warnings = Vec::new();
    let mut lo = doc.to_lopdf_document(&PdfSaveOptions::default(), &mut warnings);
    // printpdf draws the file identifier at random; the document's identifier makes it stable.
    let id = lopdf::Object::String(
        crate::digest::sha256_hex(meta.identifier.as_bytes()).as_bytes()[..32].to_vec(),
        lopdf::StringFormat::Literal,
    );
    lo.trailer
        .set("ID", lopdf::Object::Array(vec![id.clone(), id]));
    lo.compress();
    let mut out = Vec::new();
    lo.save_to(&mut out).expect("writing a PDF to memory");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_break_after_separators_before_they_break_inside_a_word() {
        assert_eq!(
            break_pieces("platform@example.com"),
            ["platform@", "example.", "com"]
        );
        assert_eq!(break_pieces("cluster-admin"), ["cluster-", "admin"]);
        assert_eq!(break_pieces("plain"), ["plain"]);
        let face = Face::load("R", REGULAR);
        let size = 7.5;
        for (text, width_of) in [
            ("read-only-no-secrets", "read-only-no-"),
            ("platform@example.com", "platform@example."),
            ("cluster-admin", "cluster-"),
            (
                "system:serviceaccount:kube-system:replicaset-controller",
                "system:serviceaccount:",
            ),
        ] {
            let width = face.width(width_of, size) + 0.5;
            let lines = face.wrap(text, size, width);
            assert_eq!(lines.concat(), text, "{text}: nothing lost or added");
            for line in &lines {
                assert!(face.width(line, size) <= width, "{text}: {line:?} too wide");
            }
            // Every line but the last ends at a separator: no word was cut in its middle.
            for line in &lines[..lines.len() - 1] {
                assert!(
                    line.ends_with(['-', '/', '.', '@', ':', '_']),
                    "{text}: broke inside a word: {lines:?}"
                );
            }
        }
    }
}
