//! The `exceptions` target for libFuzzer: its body is `fuzz/targets/exceptions.rs`, which `cargo test`
//! replays too (tests/integration/fuzz_replay.rs).
#![no_main]

#[path = "../targets/exceptions.rs"]
mod target;

libfuzzer_sys::fuzz_target!(|data: &[u8]| target::run(data));
