//! The `audit_log` target for libFuzzer: its body is `fuzz/targets/audit_log.rs`, which `cargo test`
//! replays too (tests/integration/fuzz_replay.rs).
#![no_main]

#[path = "../targets/audit_log.rs"]
mod target;

libfuzzer_sys::fuzz_target!(|data: &[u8]| target::run(data));
