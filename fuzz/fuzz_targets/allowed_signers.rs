//! The `allowed_signers` target for libFuzzer: its body is `fuzz/targets/allowed_signers.rs`, which `cargo test`
//! replays too (tests/integration/fuzz_replay.rs).
#![no_main]

#[path = "../targets/allowed_signers.rs"]
mod target;

libfuzzer_sys::fuzz_target!(|data: &[u8]| target::run(data));
