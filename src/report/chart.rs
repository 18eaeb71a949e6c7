//! Charts drawn by the project itself: each chart is laid out once as shapes in its own coordinate
//! space (points, y downwards), then written as inline SVG for the HTML or as vector drawing
//! operations for the PDF, so both reports show the same picture.

use super::model::ReportModel;
use std::fmt::Write as _;

#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    Rect {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        color: Rgb,
    },
    Line {
        points: Vec<(f32, f32)>,
        color: Rgb,
        width: f32,
    },
    Text {
        x: f32,
        y: f32,
        text: String,
        size: f32,
        anchor: Anchor,
        color: Rgb,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    Start,
    Middle,
    End,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    pub fn hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }
}

pub const INK: Rgb = Rgb(0x1f, 0x29, 0x37);
pub const MUTED: Rgb = Rgb(0x6b, 0x72, 0x80);
pub const RULE: Rgb = Rgb(0xd1, 0xd5, 0xdb);

pub fn severity_color(severity: &str) -> Rgb {
    match severity {
        "critical" => Rgb(0x99, 0x1b, 0x1b),
        "high" => Rgb(0xdc, 0x26, 0x26),
        "medium" => Rgb(0xd9, 0x77, 0x06),
        "low" => Rgb(0x25, 0x63, 0xeb),
        _ => Rgb(0x6b, 0x72, 0x80),
    }
}

pub fn status_color(status: &str) -> Rgb {
    match status {
        "satisfied" => Rgb(0x15, 0x80, 0x3d),
        "not-satisfied" => Rgb(0xdc, 0x26, 0x26),
        "not-assessed" => Rgb(0x9c, 0xa3, 0xaf),
        _ => Rgb(0x25, 0x63, 0xeb),
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    pub title: String,
    pub width: f32,
    pub height: f32,
    pub shapes: Vec<Shape>,
}

fn text(x: f32, y: f32, s: impl Into<String>, size: f32, anchor: Anchor, color: Rgb) -> Shape {
    Shape::Text {
        x,
        y,
        text: s.into(),
        size,
        anchor,
        color,
    }
}

/// Open findings per severity, one bar each.
pub fn severity_chart(model: &ReportModel) -> Chart {
    let (width, row, label_w) = (240.0, 18.0, 60.0);
    let max = model
        .severity_counts
        .iter()
        .map(|c| c.count)
        .max()
        .unwrap_or(0)
        .max(1) as f32;
    let bar_w = width - label_w - 40.0;
    let mut shapes = Vec::new();
    for (i, c) in model.severity_counts.iter().enumerate() {
        let y = 6.0 + i as f32 * row;
        shapes.push(text(
            label_w - 6.0,
            y + 10.0,
            &c.label,
            8.0,
            Anchor::End,
            INK,
        ));
        let w = (c.count as f32 / max * bar_w).max(if c.count > 0 { 2.0 } else { 0.0 });
        shapes.push(Shape::Rect {
            x: label_w,
            y,
            w,
            h: row - 6.0,
            color: severity_color(&c.label),
        });
        shapes.push(text(
            label_w + w + 4.0,
            y + 10.0,
            c.count.to_string(),
            8.0,
            Anchor::Start,
            INK,
        ));
    }
    Chart {
        title: "Open findings by severity".into(),
        width,
        height: 6.0 + model.severity_counts.len() as f32 * row,
        shapes,
    }
}

/// Controls per status, one stacked bar per framework, with a legend.
pub fn controls_chart(model: &ReportModel) -> Chart {
    let (width, row, label_w) = (300.0, 22.0, 60.0);
    let bar_w = width - label_w - 10.0;
    let mut shapes = Vec::new();
    for (i, fw) in model.frameworks.iter().enumerate() {
        let y = 6.0 + i as f32 * row;
        shapes.push(text(label_w - 6.0, y + 11.0, &fw.id, 8.0, Anchor::End, INK));
        let total = fw.controls.len().max(1) as f32;
        let mut x = label_w;
        for c in &fw.counts {
            if c.count == 0 {
                continue;
            }
            let w = c.count as f32 / total * bar_w;
            shapes.push(Shape::Rect {
                x,
                y,
                w,
                h: row - 8.0,
                color: status_color(&c.label),
            });
            if w >= 14.0 {
                shapes.push(text(
                    x + w / 2.0,
                    y + 10.5,
                    c.count.to_string(),
                    7.5,
                    Anchor::Middle,
                    Rgb(0xff, 0xff, 0xff),
                ));
            }
            x += w;
        }
    }
    let legend_top = 6.0 + model.frameworks.len() as f32 * row + 4.0;
    // Two entries a line: the four statuses in one line are wider than the chart.
    let mut legend_y = legend_top;
    for (i, status) in crate::controls::ControlStatus::ALL.iter().enumerate() {
        let label = status.as_str();
        let x = label_w + (i % 2) as f32 * 115.0;
        legend_y = legend_top + (i / 2) as f32 * 11.0;
        shapes.push(Shape::Rect {
            x,
            y: legend_y,
            w: 7.0,
            h: 7.0,
            color: status_color(label),
        });
        shapes.push(text(
            x + 9.0,
            legend_y + 6.5,
            label,
            6.5,
            Anchor::Start,
            MUTED,
        ));
    }
    Chart {
        title: "Controls by status".into(),
        width,
        height: legend_y + 12.0,
        shapes,
    }
}

pub const TREND_SERIES: [(&str, Rgb); 3] = [
    ("open findings", Rgb(0xdc, 0x26, 0x26)),
    ("privileged subjects", Rgb(0x7c, 0x3a, 0xed)),
    ("sub-processors", Rgb(0x0f, 0x76, 0x6e)),
];

/// Findings, privileged subjects and sub-processors over the packs of the trend; `None` with fewer
/// than two points, where there is no trend to draw.
pub fn trend_chart(model: &ReportModel) -> Option<Chart> {
    let points = &model.trend;
    if points.len() < 2 {
        return None;
    }
    let (width, height) = (500.0, 170.0);
    let (left, right, top, bottom) = (34.0, 10.0, 8.0, 40.0);
    let plot_w = width - left - right;
    let plot_h = height - top - bottom;
    let values =
        |p: &super::trend::TrendPoint| [p.open_findings, p.privileged_subjects, p.sub_processors];
    let max = points.iter().flat_map(&values).max().unwrap_or(0).max(1);
    // A round top for the axis: 1, 2 or 5 times a power of ten.
    let mut step = 1usize;
    while max.div_ceil(step) > 5 {
        step = match step.to_string().chars().next() {
            Some('1') => step * 2,
            Some('2') => step / 2 * 5,
            _ => step * 2,
        };
    }
    let top_value = max.div_ceil(step) * step;
    let mut shapes = Vec::new();
    let y_of = |v: usize| top + plot_h - v as f32 / top_value as f32 * plot_h;
    let x_of = |i: usize| left + i as f32 / (points.len() - 1) as f32 * plot_w;
    let mut v = 0;
    while v <= top_value {
        let y = y_of(v);
        shapes.push(Shape::Line {
            points: vec![(left, y), (left + plot_w, y)],
            color: RULE,
            width: 0.5,
        });
        shapes.push(text(
            left - 4.0,
            y + 3.0,
            v.to_string(),
            7.0,
            Anchor::End,
            MUTED,
        ));
        v += step;
    }
    for (s, (_, color)) in TREND_SERIES.iter().enumerate() {
        let line: Vec<(f32, f32)> = points
            .iter()
            .enumerate()
            .map(|(i, p)| (x_of(i), y_of(values(p)[s])))
            .collect();
        shapes.push(Shape::Line {
            points: line,
            color: *color,
            width: 1.5,
        });
    }
    let first = points.first().expect("two points");
    let last = points.last().expect("two points");
    shapes.push(text(
        left,
        top + plot_h + 11.0,
        first.collected_at.format("%Y-%m-%d").to_string(),
        7.0,
        Anchor::Start,
        MUTED,
    ));
    shapes.push(text(
        left + plot_w,
        top + plot_h + 11.0,
        last.collected_at.format("%Y-%m-%d").to_string(),
        7.0,
        Anchor::End,
        MUTED,
    ));
    let mut x = left;
    let legend_y = height - 12.0;
    for (label, color) in TREND_SERIES {
        shapes.push(Shape::Rect {
            x,
            y: legend_y - 6.0,
            w: 10.0,
            h: 3.0,
            color,
        });
        shapes.push(text(
            x + 13.0,
            legend_y - 2.5,
            label,
            7.0,
            Anchor::Start,
            MUTED,
        ));
        x += 22.0 + label.len() as f32 * 4.0;
    }
    Some(Chart {
        title: format!("Trend over the last {} packs", points.len()),
        width,
        height,
        shapes,
    })
}

fn esc(s: &str) -> String {
    super::escape::html(s)
}

/// The chart as an inline `<svg>` element (no external references).
pub fn to_svg(chart: &Chart) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg viewBox="0 0 {w} {h}" width="{w2}" height="{h2}" role="img" aria-label="{title}"><title>{title}</title>"#,
        w = chart.width,
        h = chart.height,
        w2 = chart.width * 1.5,
        h2 = chart.height * 1.5,
        title = esc(&chart.title)
    );
    for shape in &chart.shapes {
        match shape {
            Shape::Rect { x, y, w, h, color } => {
                let _ = write!(
                    out,
                    r#"<rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" fill="{}"/>"#,
                    color.hex()
                );
            }
            Shape::Line {
                points,
                color,
                width,
            } => {
                let pts = points
                    .iter()
                    .map(|(x, y)| format!("{x:.1},{y:.1}"))
                    .collect::<Vec<_>>()
                    .join(" ");
                let _ = write!(
                    out,
                    r#"<polyline points="{pts}" fill="none" stroke="{}" stroke-width="{width}"/>"#,
                    color.hex()
                );
            }
            Shape::Text {
                x,
                y,
                text,
                size,
                anchor,
                color,
            } => {
                let anchor = match anchor {
                    Anchor::Start => "start",
                    Anchor::Middle => "middle",
                    Anchor::End => "end",
                };
                let _ = write!(
                    out,
                    r#"<text x="{x:.1}" y="{y:.1}" font-size="{size}" text-anchor="{anchor}" fill="{}">{}</text>"#,
                    color.hex(),
                    esc(text)
                );
            }
        }
    }
    out.push_str("</svg>");
    out
}
