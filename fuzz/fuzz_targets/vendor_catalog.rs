//! The `vendor_catalog` target for libFuzzer: its body is `fuzz/targets/vendor_catalog.rs`, which `cargo test`
//! replays too (tests/integration/fuzz_replay.rs).
#![no_main]

#[path = "../targets/vendor_catalog.rs"]
mod target;

libfuzzer_sys::fuzz_target!(|data: &[u8]| target::run(data));
