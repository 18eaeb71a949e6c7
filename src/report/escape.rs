//! The one HTML escaper of hand-written markup (charts' SVG, plain documents): text and attribute
//! values alike, quotes of both kinds included, so a value can never close the attribute or the
//! element it is written into. Templates are escaped by tera with the same function ([`configure`]).

/// `text` with `&`, `<`, `>`, `"` and `'` escaped, and bidirectional overrides and invisible
/// characters written as visible `\u{..}` escapes (`crate::diag::visible`): a user named
/// `admin\u{202e}txt.exe` must not read as another name. Tera's templates use it too
/// ([`configure`]).
pub fn html(text: &str) -> String {
    let text = crate::diag::visible(text);
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

/// Makes a tera instance escape with [`html`] (its own escaper leaves bidirectional overrides),
/// and gives it the `text` filter: [`html`] with line breaks kept as `<br>`.
pub fn configure(tera: &mut tera::Tera) {
    tera.set_escape_fn(tera_escape);
    tera.register_filter(
        "text",
        |text: std::borrow::Cow<'_, str>, _: tera::Kwargs, _: &tera::State| {
            tera::Value::safe_string(&html(&text).replace('\n', "<br>"))
        },
    );
}

fn tera_escape(text: &str, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    out.write_all(html(text).as_bytes())
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
        assert_eq!(
            super::html("admin\u{202e}txt.exe\u{200b}"),
            "admin\\u{202e}txt.exe\\u{200b}"
        );
    }
}
