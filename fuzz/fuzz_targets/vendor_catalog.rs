//! A user's vendor catalog (`--vendor-catalog`).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = kube_evidence::inventory::catalog::parse(text, "fuzz.yaml");
    }
});
