//! A snapshot file (`--snapshot`, `diff`, a previous pack's snapshot.json.gz): gzip or JSON.

/// One input.
pub fn run(data: &[u8]) {
    let _ = kube_evidence::snapshot::snapshot_from_bytes(data, "fuzz.json.gz");
}
