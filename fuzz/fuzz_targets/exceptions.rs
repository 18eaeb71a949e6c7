//! The exceptions (risk acceptance) register.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        let _ = kube_evidence::exceptions::parse(text, "fuzz.yaml", today);
    }
});
