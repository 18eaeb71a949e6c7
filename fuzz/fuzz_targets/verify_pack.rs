//! The `verify_pack` target for libFuzzer: its body is `fuzz/targets/verify_pack.rs`, which `cargo test`
//! replays too (tests/integration/fuzz_replay.rs).
#![no_main]

#[path = "../targets/verify_pack.rs"]
mod target;

libfuzzer_sys::fuzz_target!(|data: &[u8]| target::run(data));
