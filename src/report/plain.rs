//! A plain document (a title, then sections of paragraphs and tables) as one self-contained HTML
//! page: no script, no external resource, every value escaped. [`super::pdf::render_plain`]
//! writes the same document as a PDF, so both forms always say the same.

use super::pdf::PlainDocument;

/// Escaped, with line breaks kept as `<br>`.
fn esc(s: &str) -> String {
    super::escape::html(s).replace('\n', "<br>")
}

/// The same document as one HTML page, no scripts, no external resources.
pub fn html(doc: &PlainDocument) -> String {
    let mut out = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\
<title>{}</title><style>body{{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:70em;color:#1d2430}}\
table{{border-collapse:collapse;width:100%;margin:.5em 0 1.5em}}th,td{{border:1px solid #d0d5dd;padding:.3em .5em;text-align:left;vertical-align:top}}\
th{{background:#f2f4f7}}td{{font-size:13px;overflow-wrap:anywhere}}header,footer{{color:#667085;font-size:12px}}</style></head><body>\n",
        esc(&doc.title)
    );
    out.push_str(&format!(
        "<header>{}</header>\n<h1>{}</h1>\n",
        esc(&doc.header),
        esc(&doc.title)
    ));
    for s in &doc.sections {
        out.push_str(&format!("<h2>{}</h2>\n", esc(&s.title)));
        for p in &s.paragraphs {
            out.push_str(&format!("<p>{}</p>\n", esc(p)));
        }
        if !s.columns.is_empty() && !s.rows.is_empty() {
            // The same shares of the width as the PDF's columns.
            let total: f32 = s.columns.iter().map(|(_, w)| w.max(0.0)).sum();
            out.push_str("<table><colgroup>");
            for (_, w) in &s.columns {
                if total > 0.0 {
                    out.push_str(&format!(
                        "<col style=\"width:{:.1}%\">",
                        w.max(0.0) * 100.0 / total
                    ));
                } else {
                    out.push_str("<col>");
                }
            }
            out.push_str("</colgroup><thead><tr>");
            for (c, _) in &s.columns {
                out.push_str(&format!("<th>{}</th>", esc(c)));
            }
            out.push_str("</tr></thead><tbody>\n");
            for (i, row) in s.rows.iter().enumerate() {
                out.push_str("<tr>");
                for (j, cell) in row.iter().enumerate() {
                    match s.links.get(i).and_then(Option::as_ref) {
                        Some(href) if j == 0 => out.push_str(&format!(
                            "<td><a href=\"{}\">{}</a></td>",
                            esc(href),
                            esc(cell)
                        )),
                        _ => out.push_str(&format!("<td>{}</td>", esc(cell))),
                    }
                }
                out.push_str("</tr>\n");
            }
            out.push_str("</tbody></table>\n");
        }
    }
    out.push_str(&format!(
        "<footer>{}</footer>\n</body></html>\n",
        esc(&doc.footer)
    ));
    out
}
