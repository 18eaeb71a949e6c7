//! Control definitions, alone and beside the built-in ones (references across files).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = kube_evidence::controls::load::parse_files(&[("fuzz.yaml".into(), text.into())]);
    }
});
