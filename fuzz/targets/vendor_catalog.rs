//! A user's vendor catalog (`--vendor-catalog`).

/// One input.
pub fn run(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = kube_evidence::inventory::catalog::parse(text, "fuzz.yaml");
    }
}
