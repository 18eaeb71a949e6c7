//! A dumped file as JSON: the streaming fast path, and the YAML reader it falls back to.

/// One input.
pub fn run(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let at = chrono::DateTime::from_timestamp(1_780_000_000, 0).unwrap();
        let _ = kube_evidence::source::dump::read_dump_text("fuzz.json", text, "fuzz", at);
    }
}
