//! The one HTML escaper of hand-written markup (charts' SVG, plain documents): text and attribute
//! values alike, quotes of both kinds included, so a value can never close the attribute or the
//! element it is written into. (Templates are escaped by tera's autoescape.)

/// `text` with `&`, `<`, `>`, `"` and `'` escaped.
pub fn html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_character_that_ends_text_or_an_attribute_is_escaped() {
        assert_eq!(
            super::html(r#"<a href='x' title="y">&</a>"#),
            "&lt;a href=&#39;x&#39; title=&quot;y&quot;&gt;&amp;&lt;/a&gt;"
        );
        assert_eq!(super::html("plain text"), "plain text");
    }
}
