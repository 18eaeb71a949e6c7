//! The `timestamp_reply` target for libFuzzer: its body is `fuzz/targets/timestamp_reply.rs`, which `cargo test`
//! replays too (tests/integration/fuzz_replay.rs).
#![no_main]

#[path = "../targets/timestamp_reply.rs"]
mod target;

libfuzzer_sys::fuzz_target!(|data: &[u8]| target::run(data));
