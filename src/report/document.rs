//! A plain document: a title, a heading and sections of paragraphs and one table each. The
//! reports other than a pack's (vendor review, fleet, a reviewer's queue) are written as one and
//! rendered to PDF (`pdf::render_plain`) and HTML (`plain`) alike.

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

impl PlainSection {
    /// A section without links: a title, its paragraphs, and a table of `columns` (title,
    /// share of the page width) and `rows`.
    pub fn new(
        title: &str,
        paragraphs: Vec<String>,
        columns: &[(&str, f32)],
        rows: Vec<Vec<String>>,
    ) -> PlainSection {
        PlainSection {
            title: title.into(),
            paragraphs,
            columns: columns.iter().map(|(t, w)| (t.to_string(), *w)).collect(),
            rows,
            links: Vec::new(),
        }
    }
}
