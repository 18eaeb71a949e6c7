//! An allowed-signers file, and a signature checked against it (namespaces patterns, validity
//! times, principals).

/// One input.
pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // The first line, if it looks like one, is a signature; the rest the allowed signers.
    let (sig, signers) = match text.split_once("-----END SSH SIGNATURE-----") {
        Some((s, rest)) => (format!("{s}-----END SSH SIGNATURE-----\n"), rest),
        None => (String::new(), text),
    };
    if let Ok(list) = kube_evidence::pack::sign::parse_allowed_signers(signers, "fuzz") {
        let at = chrono::DateTime::from_timestamp(1_780_000_000, 0).unwrap();
        let _ = kube_evidence::pack::sign::verify(b"message", sig.as_bytes(), Some(&list), at);
    }
}
