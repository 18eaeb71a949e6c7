//! `report.pdf`: the same report as the HTML, laid out for A4 with printpdf drawing operations.
//! printpdf draws; this module measures text with the embedded font's advances, wraps it, breaks
//! tables across pages with their header row repeated, and adds the outline, headers, footers
//! ("page X of Y", known after a first layout pass) and metadata from the run's clock. Every id
//! inside the file is fixed so the same report gives the same bytes.

use super::chart::{self, Anchor, Chart, Rgb, Shape};
use super::model::ReportModel;
use chrono::{DateTime, Utc};
use printpdf::{
    Color, FontId, Line, LinePoint, Mm, Op, PageAnnotId, PageAnnotation, PaintMode, ParsedFont,
    PdfDocument, PdfFont, PdfFontHandle, PdfPage, PdfSaveOptions, Point, Pt, Rect, TextItem,
};
use std::cell::RefCell;
use std::collections::HashMap;

const REGULAR: &[u8] = include_bytes!("../../templates/fonts/DejaVuSansCondensed.ttf");
const BOLD: &[u8] = include_bytes!("../../templates/fonts/DejaVuSansCondensed-Bold.ttf");

const PAGE_W: f32 = 595.28;
const PAGE_H: f32 = 841.89;
const LEFT: f32 = 42.0;
const RIGHT: f32 = PAGE_W - 42.0;
const CONTENT_TOP: f32 = PAGE_H - 62.0;
const CONTENT_BOTTOM: f32 = 54.0;
const WIDTH: f32 = RIGHT - LEFT;

const INK: Rgb = chart::INK;
const MUTED: Rgb = chart::MUTED;
const ACCENT: Rgb = Rgb(0x1e, 0x3a, 0x8a);
const ALERT: Rgb = Rgb(0xb9, 0x1c, 0x1c);
const BAND: Rgb = Rgb(0xf3, 0xf4, 0xf6);

struct Face {
    id: FontId,
    parsed: ParsedFont,
    units_per_em: f32,
    advances: RefCell<HashMap<char, f32>>,
}

impl Face {
    fn load(tag: &str, bytes: &[u8]) -> Face {
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
    fn width(&self, text: &str, size: f32) -> f32 {
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

    fn advance(&self, c: char) -> f32 {
        let gid = self.parsed.lookup_glyph_index(c as u32).unwrap_or(0);
        f32::from(self.parsed.get_horizontal_advance(gid))
    }

    /// How a character the page must not show as itself is written: a bidirectional override
    /// or an invisible character (it would make a name read as another), or one the font has no
    /// glyph for (an empty box says nothing), as its `\u{..}` escape.
    fn escaped(&self, c: char) -> Option<String> {
        let no_glyph = !c.is_whitespace()
            && self
                .parsed
                .lookup_glyph_index(c as u32)
                .is_none_or(|g| g == 0);
        (crate::diag::hidden_on_a_page(c) || no_glyph).then(|| format!("\\u{{{:x}}}", c as u32))
    }

    /// `text` as the page shows it (see [`Face::escaped`]).
    fn printable<'t>(&self, text: &'t str) -> std::borrow::Cow<'t, str> {
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
    fn wrap(&self, text: &str, size: f32, width: f32) -> Vec<String> {
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
fn break_pieces(word: &str) -> Vec<&str> {
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

fn color(c: Rgb) -> Color {
    Color::Rgb(printpdf::Rgb::new(
        f32::from(c.0) / 255.0,
        f32::from(c.1) / 255.0,
        f32::from(c.2) / 255.0,
        None,
    ))
}

fn point(x: f32, y: f32) -> Point {
    Point { x: Pt(x), y: Pt(y) }
}

struct Layout {
    regular: Face,
    bold: Face,
    pages: Vec<Vec<Op>>,
    ops: Vec<Op>,
    /// The top of the free space on the current page (PDF coordinates, from the bottom).
    y: f32,
    bookmarks: Vec<(String, usize)>,
    /// Where each named place (a finding, a control's row) starts: page index and top.
    anchors: HashMap<String, (usize, f32)>,
    /// Links to named places: page index, clickable box (x, y, width, height), target name.
    links: Vec<(usize, [f32; 4], String)>,
}

/// Internal links of a table: per row, the name its place gets and the place its first cell
/// links to.
#[derive(Default)]
struct RowLinks {
    anchors: Vec<Option<String>>,
    targets: Vec<Option<String>>,
}

#[derive(Clone, Copy)]
enum Weight {
    Regular,
    Bold,
}

/// What every page repeats: the header line, its right-hand label (in the alert colour when
/// `alert`), and the footer's left-hand text.
struct PageFrame {
    header: String,
    right: String,
    alert: bool,
    footer: String,
}

/// A table column: its title and its share of the page width.
struct Column<'a>(&'a str, f32);

impl Layout {
    fn face(&self, w: Weight) -> &Face {
        match w {
            Weight::Regular => &self.regular,
            Weight::Bold => &self.bold,
        }
    }

    fn text(&mut self, x: f32, y: f32, s: &str, w: Weight, size: f32, c: Rgb) {
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

    fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, c: Rgb) {
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

    fn line(&mut self, points: &[(f32, f32)], c: Rgb, width: f32) {
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

    fn new_page(&mut self) {
        let ops = std::mem::take(&mut self.ops);
        self.pages.push(ops);
        self.y = CONTENT_TOP;
    }

    fn page_is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    fn ensure(&mut self, height: f32) {
        if self.y - height < CONTENT_BOTTOM && !self.page_is_empty() {
            self.new_page();
        }
    }

    /// A section: a new page, an outline entry, a title.
    fn section(&mut self, title: &str) {
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

    fn subheading(&mut self, title: &str) {
        self.ensure(40.0);
        self.y -= 6.0;
        self.paragraph_with(title, Weight::Bold, 11.0, INK, 0.0);
        self.y -= 2.0;
    }

    fn paragraph(&mut self, s: &str, size: f32) {
        self.paragraph_with(s, Weight::Regular, size, INK, 0.0);
        self.y -= size * 0.5;
    }

    fn paragraph_with(&mut self, s: &str, w: Weight, size: f32, c: Rgb, indent: f32) {
        let lh = size * 1.3;
        let lines = self.face(w).wrap(s, size, WIDTH - indent);
        for l in lines {
            self.ensure(lh);
            self.y -= lh;
            self.text(LEFT + indent, self.y + size * 0.25, &l, w, size, c);
        }
    }

    /// A labelled list (label in grey, then one line per item, indented).
    fn list(&mut self, label: &str, items: &[String], size: f32) {
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

    fn table(&mut self, columns: &[Column<'_>], rows: &[Vec<String>], size: f32) {
        self.linked_table(columns, rows, size, &RowLinks::default());
    }

    /// `prefix` and then the labels, comma-separated and wrapped, each label a link.
    fn link_line(&mut self, prefix: &str, items: &[super::model::Link], size: f32) {
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
    fn anchor(&mut self, name: &str) {
        self.anchors
            .insert(name.to_string(), (self.pages.len(), self.y));
    }

    /// Makes a box of the current page link to a named place (resolved when the pages are done).
    fn link(&mut self, bounds: [f32; 4], target: &str) {
        self.links
            .push((self.pages.len(), bounds, target.to_string()));
    }

    fn linked_table(
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
    fn cells(&mut self, lines: &[Vec<String>], widths: &[f32], weight: Weight, size: f32) {
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

    fn table_header(&mut self, lines: &[Vec<String>], widths: &[f32], h: f32, size: f32) {
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
    fn chart(&mut self, c: &Chart, x0: f32, top: f32, scale: f32) {
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

    fn finish(mut self, frame: &PageFrame) -> (Vec<Vec<Op>>, Vec<(String, usize)>) {
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

fn cover(l: &mut Layout, m: &ReportModel) {
    l.bookmarks.push(("Cover".into(), 1));
    l.y -= 20.0;
    l.paragraph_with(&m.title, Weight::Bold, 20.0, ACCENT, 0.0);
    l.y -= 10.0;
    l.paragraph_with("Audit scope and integrity", Weight::Bold, 11.0, ACCENT, 0.0);
    let mut rows = vec![
        ("Cluster", m.cover.cluster.as_str(), false),
        ("Collected", m.cover.collected_at.as_str(), false),
        ("Pack id", m.cover.pack_id.as_str(), false),
    ];
    rows.extend(
        m.cover
            .scope
            .iter()
            .map(|r| (r.label.as_str(), r.value.as_str(), r.alert)),
    );
    let box_top = l.y + 4.0;
    for (label, value, alert) in rows {
        l.y -= 12.5;
        l.text(LEFT + 8.0, l.y, label, Weight::Regular, 8.5, MUTED);
        let (weight, c) = if alert {
            (Weight::Bold, ALERT)
        } else {
            (Weight::Regular, INK)
        };
        let face = match weight {
            Weight::Bold => &l.bold,
            Weight::Regular => &l.regular,
        };
        let lines = face.wrap(value, 8.5, WIDTH - 112.0);
        for (i, line) in lines.iter().enumerate() {
            if i > 0 {
                l.y -= 10.5;
            }
            l.text(LEFT + 104.0, l.y, line, weight, 8.5, c);
        }
    }
    l.y -= 6.0;
    // The box's left rule, as the HTML draws it.
    l.line(&[(LEFT, box_top), (LEFT, l.y)], ACCENT, 2.0);
    l.y -= 14.0;
    l.paragraph(&m.summary, 10.0);
    l.y -= 16.0;
    let severity = chart::severity_chart(m);
    let controls = chart::controls_chart(m);
    l.ensure(severity.height.max(controls.height * 0.85) + 30.0);
    let top = l.y;
    l.chart(&severity, LEFT, top, 1.0);
    l.chart(&controls, LEFT + 260.0, top, 0.85);
    l.y = top - severity.height.max(controls.height * 0.85) - 30.0;
    if let Some(trend) = chart::trend_chart(m) {
        l.ensure(trend.height + 10.0);
        let top = l.y;
        l.chart(&trend, LEFT, top, 1.0);
        l.y = top - trend.height - 10.0;
    }
}

fn controls(l: &mut Layout, m: &ReportModel) {
    l.section("Control status");
    for fw in &m.frameworks {
        l.subheading(&fw.name);
        let counts = fw
            .counts
            .iter()
            .map(|c| format!("{} {}", c.count, c.label))
            .collect::<Vec<_>>()
            .join(" · ");
        l.paragraph_with(&counts, Weight::Regular, 9.0, MUTED, 0.0);
        l.y -= 4.0;
        let rows: Vec<Vec<String>> = fw
            .controls
            .iter()
            .map(|c| {
                vec![
                    c.id.clone(),
                    c.title.clone(),
                    c.status_label.clone(),
                    if c.manual.is_empty() {
                        c.reason.clone()
                    } else {
                        format!("{}\nAttach: {}", c.reason, c.manual)
                    },
                    c.deciding.to_string(),
                ]
            })
            .collect();
        // Each row is a place findings link back to; its control id links to its first
        // deciding (or accepted) finding.
        let links = RowLinks {
            anchors: fw.controls.iter().map(|c| Some(c.anchor.clone())).collect(),
            targets: fw
                .controls
                .iter()
                .map(|c| {
                    c.findings
                        .first()
                        .filter(|f| !f.anchor.is_empty())
                        .map(|f| f.anchor.clone())
                })
                .collect(),
        };
        l.linked_table(
            &[
                Column("Control", 0.7),
                Column("Title", 1.6),
                Column("Status", 1.0),
                Column("Reason", 3.7),
                Column("Deciding", 0.9),
            ],
            &rows,
            7.5,
            &links,
        );
    }
}

fn findings(l: &mut Layout, m: &ReportModel) {
    l.section("Findings");
    if m.open_findings == 0 {
        l.paragraph("No open findings.", 10.0);
    }
    findings_by_rule(l, m);
    causes(l, m);
    for g in &m.finding_groups {
        let heading = if g.severity == "accepted" {
            g.heading.clone()
        } else {
            format!("{}: {}", g.severity.to_uppercase(), g.heading)
        };
        l.subheading(&heading);
        for f in &g.findings {
            l.ensure(60.0);
            l.y -= 4.0;
            l.anchor(&f.id);
            let top = l.y;
            l.paragraph_with(
                &format!("{}  {}", f.id, f.title),
                Weight::Bold,
                9.0,
                chart::severity_color(&f.severity),
                0.0,
            );
            l.paragraph_with(&f.summary, Weight::Regular, 8.5, INK, 0.0);
            l.list("Subjects", &f.subjects, 8.0);
            l.list("Objects", &f.objects, 8.0);
            l.list(
                "Grants (binding -> role: rule [scope; via subject])",
                &f.grants,
                8.0,
            );
            l.list("Escalation path", &f.path, 8.0);
            let mut meta = format!(
                "Rule {} · severity {} · status {}",
                f.rule_id, f.severity, f.status
            );
            if !f.sub_processor.is_empty() {
                meta.push_str(&format!(" · sub-processor {}", f.sub_processor));
            }
            if !f.namespaces.is_empty() {
                meta.push_str(&format!(" · namespaces {}", f.namespaces));
            }
            l.paragraph_with(&meta, Weight::Regular, 8.0, MUTED, 0.0);
            if !f.exception.is_empty() {
                l.paragraph_with(
                    &format!("Exception: {}", f.exception),
                    Weight::Regular,
                    8.0,
                    INK,
                    0.0,
                );
            }
            l.paragraph_with(
                &format!("Remediation: {}", f.remediation),
                Weight::Regular,
                8.0,
                INK,
                0.0,
            );
            // Back to the controls it bears on, each a link to its row.
            l.link_line("Controls:", &f.controls, 8.0);
            if top > l.y && (top - l.y) < (CONTENT_TOP - CONTENT_BOTTOM) {
                let c = chart::severity_color(&f.severity);
                l.rect(LEFT - 8.0, l.y, 2.5, top - l.y, c);
            }
            l.y -= 6.0;
        }
        finding_rows(l, g);
    }
    if !m.system_findings.is_empty() {
        l.subheading(&format!(
            "About Kubernetes system components ({})",
            m.system_findings_total
        ));
        l.paragraph_with(
            "Default bindings of the API server and its controllers. Reported for completeness; they do not decide control status.",
            Weight::Regular,
            8.5,
            MUTED,
            0.0,
        );
        let rows: Vec<Vec<String>> = m
            .system_findings
            .iter()
            .map(|f| vec![f.id.clone(), f.severity.clone(), f.summary.clone()])
            .collect();
        l.table(
            &[
                Column("Finding", 1.8),
                Column("Severity", 0.6),
                Column("Summary", 4.6),
            ],
            &rows,
            7.5,
        );
        note(l, &m.system_findings_note);
    }
}

/// A muted sentence saying what a capped list left to the machine-readable files.
fn note(l: &mut Layout, text: &str) {
    if !text.is_empty() {
        l.paragraph_with(text, Weight::Regular, 8.0, MUTED, 0.0);
    }
}

/// Open and accepted findings per rule: where a reader of any cluster starts.
fn findings_by_rule(l: &mut Layout, m: &ReportModel) {
    if m.rules.is_empty() {
        return;
    }
    l.subheading("Findings by rule");
    let rows: Vec<Vec<String>> = m
        .rules
        .iter()
        .map(|r| {
            vec![
                r.rule_id.to_string(),
                r.severity.clone(),
                r.title.clone(),
                r.open.to_string(),
                r.accepted.to_string(),
                r.subjects.to_string(),
            ]
        })
        .collect();
    l.table(
        &[
            Column("Rule", 0.9),
            Column("Severity", 0.7),
            Column("Title", 3.6),
            Column("Open", 0.6),
            Column("Accepted", 0.7),
            Column("Subjects", 0.7),
        ],
        &rows,
        7.5,
    );
}

/// The bindings behind the most subjects of open findings: where remediation pays most.
fn causes(l: &mut Layout, m: &ReportModel) {
    if m.causes.is_empty() {
        return;
    }
    l.subheading("Bindings behind the most subjects");
    let rows: Vec<Vec<String>> = m
        .causes
        .iter()
        .map(|c| {
            vec![
                c.binding.clone(),
                c.subjects.to_string(),
                c.findings.to_string(),
                c.rules.clone(),
            ]
        })
        .collect();
    l.table(
        &[
            Column("Binding -> role", 3.2),
            Column("Subjects through it", 0.9),
            Column("Findings", 0.7),
            Column("Rules", 2.6),
        ],
        &rows,
        7.5,
    );
    note(l, &m.causes_note);
}

/// A group's findings after those in full, one line each, and what is left to findings.json.
fn finding_rows(l: &mut Layout, g: &super::model::FindingGroup) {
    if !g.rows.is_empty() {
        note(l, &g.rows_heading);
        let rows: Vec<Vec<String>> = g
            .rows
            .iter()
            .map(|r| {
                vec![
                    r.id.clone(),
                    r.rule_id.to_string(),
                    r.subjects.to_string(),
                    r.summary.clone(),
                ]
            })
            .collect();
        let links = RowLinks {
            anchors: g.rows.iter().map(|r| Some(r.id.clone())).collect(),
            targets: Vec::new(),
        };
        l.linked_table(
            &[
                Column("Finding", 1.6),
                Column("Rule", 0.9),
                Column("Subjects", 0.6),
                Column("Summary", 4.1),
            ],
            &rows,
            7.0,
            &links,
        );
    }
    note(l, &g.note);
}

fn register(l: &mut Layout, m: &ReportModel) {
    if !m.has_inventory {
        return;
    }
    l.section("Sub-processor register");
    let rows: Vec<Vec<String>> = m
        .register
        .iter()
        .map(|v| {
            let r = &v.row;
            vec![
                format!("{}\n{} ({})", r.id, r.name, r.vendor),
                format!("{}\n{}", r.owner, r.purpose),
                if r.data_residency.is_empty() {
                    r.data_categories.join(", ")
                } else {
                    format!(
                        "{}\nresidency: {}",
                        r.data_categories.join(", "),
                        r.data_residency.join(", ")
                    )
                },
                format!("{}\n{}", r.contract, r.certifications.join("\n")),
                r.review.clone(),
                format!(
                    "declared: {}\nobserved: {}",
                    r.declared_access, r.observed_access
                ),
                r.updates.replace("; ", "\n"),
                format!(
                    "{}{}",
                    r.identities_found.join(", "),
                    if r.identities_missing.is_empty() {
                        String::new()
                    } else {
                        format!("\nmissing: {}", r.identities_missing.join(", "))
                    }
                ),
                v.rule_counts.clone(),
            ]
        })
        .collect();
    let links = RowLinks {
        anchors: Vec::new(),
        targets: m
            .register
            .iter()
            .map(|r| {
                r.links
                    .first()
                    .filter(|l| !l.anchor.is_empty())
                    .map(|l| l.anchor.clone())
            })
            .collect(),
    };
    l.linked_table(
        &[
            Column("Sub-processor", 1.3),
            Column("Owner, purpose", 1.3),
            Column("Data, residency", 1.0),
            Column("Contract, certifications", 1.5),
            Column("Review", 0.8),
            Column("Access", 1.1),
            Column("Updates", 1.2),
            Column("Identities", 1.3),
            Column("Findings", 0.8),
        ],
        &rows,
        6.5,
        &links,
    );
    note(l, &m.register_note);
}

fn reviews(l: &mut Layout, m: &ReportModel) {
    let Some(r) = &m.reviews else {
        return;
    };
    l.section("Access reviews");
    l.paragraph(&r.coverage, 8.5);
    l.list("Outstanding reviews", &r.reminders, 8.0);
    for c in &r.campaigns {
        l.paragraph_with(&c.heading, Weight::Bold, 9.0, INK, 0.0);
        l.list("Reviewers", &c.reviewers, 8.0);
        l.list("Revocations and reductions", &c.revocations, 8.0);
        l.list("Decision files", &c.files, 7.5);
    }
}

fn usage(l: &mut Layout, m: &ReportModel) {
    let Some(u) = &m.usage else {
        return;
    };
    l.section("Use of access (API audit log)");
    l.paragraph(&u.coverage, 8.5);
    l.paragraph(&u.claim, 8.5);
    if !u.problems.is_empty() {
        l.paragraph(
            &format!("The log is not complete: {}.", u.problems.join("; ")),
            8.0,
        );
    }
    let rows: Vec<Vec<String>> = u
        .rows
        .iter()
        .map(|r| {
            vec![
                r.subject.clone(),
                r.sub_processor.clone(),
                r.held.to_string(),
                r.used.to_string(),
                r.requests.to_string(),
                r.denied.to_string(),
                r.last_request.clone(),
            ]
        })
        .collect();
    l.table(
        &[
            Column("Subject", 3.0),
            Column("Sub-processor", 1.3),
            Column("Rules held", 0.7),
            Column("Rules used", 0.7),
            Column("Requests", 0.8),
            Column("Denied", 0.7),
            Column("Last request", 1.4),
        ],
        &rows,
        6.5,
    );
    note(l, &u.rows_note);
}

fn matrix(l: &mut Layout, m: &ReportModel) {
    l.section("Privileged access matrix");
    l.paragraph_with(&m.population_note, Weight::Regular, 8.5, MUTED, 0.0);
    l.y -= 4.0;
    let rows: Vec<Vec<String>> = m
        .population
        .iter()
        .map(|p| {
            vec![
                p.capability.clone(),
                p.cluster.to_string(),
                p.broad.to_string(),
                p.foreign.to_string(),
                p.local.to_string(),
            ]
        })
        .collect();
    l.table(
        &[
            Column("Capability (subjects holding it)", 2.0),
            Column("cluster-wide", 0.8),
            Column("broad", 0.8),
            Column("foreign namespaces", 0.8),
            Column("own namespace / few", 0.8),
        ],
        &rows,
        7.5,
    );
    l.y -= 6.0;
    let mut columns = vec![Column("Subject", 2.2), Column("Sub-processor", 0.9)];
    columns.extend(m.matrix_columns.iter().map(|c| Column(c.as_str(), 0.85)));
    let rows: Vec<Vec<String>> = m
        .matrix
        .iter()
        .map(|r| {
            let mut row = vec![
                if r.system {
                    format!("{} (system)", r.subject)
                } else {
                    r.subject.clone()
                },
                r.sub_processor.clone(),
            ];
            row.extend(r.cells.iter().cloned());
            row
        })
        .collect();
    let links = RowLinks {
        anchors: Vec::new(),
        targets: m
            .matrix
            .iter()
            .map(|r| (!r.finding.is_empty()).then(|| r.finding.clone()))
            .collect(),
    };
    l.linked_table(&columns, &rows, 6.0, &links);
}

fn changes(l: &mut Layout, m: &ReportModel) {
    let c = &m.changes;
    l.section("Changes since the previous pack");
    l.paragraph(&c.headline, 9.5);
    l.list("Privileged access gained", &c.privileged_gains, 8.0);
    l.list(
        "New critical and high findings",
        &c.new_severe_findings,
        8.0,
    );
    l.list("Other new findings", &c.new_findings, 8.0);
    l.list("Resolved findings", &c.resolved_findings, 8.0);
    l.list(
        "Superseded findings (gone by id, but their subjects still hold what they reported)",
        &c.superseded_findings,
        8.0,
    );
    l.list(
        "Access used again or for the first time in the window",
        &c.newly_used,
        8.0,
    );
    l.list("Access no longer used in the window", &c.newly_unused, 8.0);
    l.list("Control status changes", &c.controls, 8.0);
    if !c.grants.is_empty() {
        l.subheading("Effective grants gained or lost");
        if !c.grants_note.is_empty() {
            l.paragraph_with(&c.grants_note, Weight::Regular, 8.5, MUTED, 0.0);
        }
        let rows: Vec<Vec<String>> = c
            .grants
            .iter()
            .map(|g| {
                vec![
                    g.change.clone(),
                    g.subject.clone(),
                    g.grant.clone(),
                    if g.privileged { "yes" } else { "no" }.into(),
                ]
            })
            .collect();
        l.table(
            &[
                Column("Change", 0.6),
                Column("Subject", 1.8),
                Column("Grant", 4.2),
                Column("Privileged", 0.7),
            ],
            &rows,
            7.0,
        );
    }
    if !c.objects.is_empty() {
        l.subheading("Objects added, removed or modified");
        if !c.objects_note.is_empty() {
            l.paragraph_with(&c.objects_note, Weight::Regular, 8.5, MUTED, 0.0);
        }
        let rows: Vec<Vec<String>> = c
            .objects
            .iter()
            .map(|o| vec![o.change.clone(), o.object.clone(), o.details.clone()])
            .collect();
        l.table(
            &[
                Column("Change", 0.7),
                Column("Object", 2.5),
                Column("Details", 4.0),
            ],
            &rows,
            7.0,
        );
    }
    l.list("Sub-processor changes", &c.sub_processors, 8.0);
    l.list("Collection changes", &c.collection, 8.0);
}

fn exceptions(l: &mut Layout, m: &ReportModel) {
    l.section("Exceptions");
    if m.exceptions.is_empty() {
        l.paragraph("No exceptions were given for this run.", 9.5);
        return;
    }
    let rows: Vec<Vec<String>> = m
        .exceptions
        .iter()
        .map(|e| {
            vec![
                e.id.clone(),
                e.rule.to_string(),
                e.covers.clone(),
                e.state.clone(),
                format!("{}\n{}", e.approver, e.ticket),
                e.expires.clone(),
                e.reason.clone(),
                e.findings.to_string(),
            ]
        })
        .collect();
    l.table(
        &[
            Column("Exception", 1.0),
            Column("Rule", 0.9),
            Column("Covers", 1.5),
            Column("State", 0.8),
            Column("Approver, ticket", 1.3),
            Column("Expires", 0.8),
            Column("Reason", 2.2),
            Column("Findings", 0.6),
        ],
        &rows,
        7.0,
    );
    note(l, &m.exceptions_note);
}

fn methodology(l: &mut Layout, m: &ReportModel) {
    let meth = &m.methodology;
    l.section("Methodology and completeness");
    l.paragraph(
        &format!(
            "Source: {}. Collector identity: {}. {}",
            meth.source,
            meth.identity,
            if meth.complete {
                "Every required kind was collected completely."
            } else {
                "COLLECTION WAS INCOMPLETE: conclusions that depend on the kinds below marked other than complete are not asserted."
            }
        ),
        9.5,
    );
    let rows: Vec<Vec<String>> = meth
        .kinds
        .iter()
        .map(|k| {
            vec![
                k.kind.clone(),
                k.status.clone(),
                k.count.to_string(),
                k.message.clone(),
            ]
        })
        .collect();
    l.table(
        &[
            Column("Kind", 2.0),
            Column("Status", 1.0),
            Column("Objects", 0.7),
            Column("Note", 3.5),
        ],
        &rows,
        8.0,
    );
    if !meth.ignored.is_empty() {
        let ignored = meth
            .ignored
            .iter()
            .map(|k| format!("{} ({})", k.label, k.count))
            .collect::<Vec<_>>()
            .join(", ");
        l.paragraph(
            &format!("Present in the input but not used: {ignored}."),
            8.5,
        );
    }
    l.paragraph(
        &format!(
            "Effective permissions are resolved as the Kubernetes RBAC authorizer resolves them (aggregated ClusterRoles, RoleBindings to ClusterRoles scoped to their namespace, groups including system:serviceaccounts and system:authenticated, wildcards, sub-resources, resource names and non-resource URLs). {} rules with stable IDs turn risks into findings; a finding's ID depends only on the rule and what it is about, so it stays the same from pack to pack.",
            meth.rules
        ),
        9.5,
    );
    l.paragraph(
        &format!(
            "Rule set digest {}; controls digest {}.",
            meth.ruleset_digest, meth.controls_digest
        ),
        8.5,
    );
}

fn verification(l: &mut Layout, m: &ReportModel) {
    l.section("How to verify this pack");
    for (i, v) in m.verification.iter().enumerate() {
        l.paragraph(&format!("{}. {v}", i + 1), 9.5);
    }
}

/// Renders the report as PDF bytes. `generated_at` (the run's clock) dates the document.
fn new_layout() -> Layout {
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

pub fn render(model: &ReportModel, generated_at: DateTime<Utc>) -> Vec<u8> {
    let mut l = new_layout();
    cover(&mut l, model);
    controls(&mut l, model);
    findings(&mut l, model);
    register(&mut l, model);
    usage(&mut l, model);
    reviews(&mut l, model);
    matrix(&mut l, model);
    changes(&mut l, model);
    exceptions(&mut l, model);
    methodology(&mut l, model);
    verification(&mut l, model);
    let frame = PageFrame {
        header: format!("{} · pack {}", model.cover.cluster, model.cover.pack_id),
        right: if model.cover.signed {
            "kube-evidence report".into()
        } else {
            "UNSIGNED · kube-evidence report".into()
        },
        alert: !model.cover.signed,
        footer: format!("Collected {}", model.cover.collected_at),
    };
    let meta = DocumentMeta {
        title: &model.title,
        subject: format!(
            "SOC 2 / ISO 27001 evidence: RBAC and sub-processors of {}",
            model.cover.cluster
        ),
        identifier: &model.cover.pack_id,
    };
    write_pdf(l, &frame, &meta, generated_at)
}

/// A short document of sections (paragraphs, then a table), for reports other than a pack's
/// (`vendor review`).
pub struct PlainDocument {
    pub title: String,
    /// The first page's heading: short enough for one line.
    pub heading: String,
    /// Every page's header line.
    pub header: String,
    /// Every page's footer.
    pub footer: String,
    /// Names the document in its metadata and fixes its file identifier.
    pub identifier: String,
    pub sections: Vec<PlainSection>,
}

pub struct PlainSection {
    pub title: String,
    pub paragraphs: Vec<String>,
    /// Column titles and their shares of the page width; no table when empty.
    pub columns: Vec<(String, f32)>,
    pub rows: Vec<Vec<String>>,
    /// Per row, a link for its first cell (HTML only; relative to the page).
    pub links: Vec<Option<String>>,
}

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

struct DocumentMeta<'a> {
    title: &'a str,
    subject: String,
    identifier: &'a str,
}

/// The laid-out pages as a PDF: fonts, bookmarks, metadata dated by the run, and a file
/// identifier derived from the document's identifier so the same input gives the same bytes.
fn write_pdf(
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
