//! A snapshot file (`--snapshot`, `diff`, a previous pack's snapshot.json.gz): gzip or JSON.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = kube_evidence::snapshot::snapshot_from_bytes(data, "fuzz.json.gz");
});
