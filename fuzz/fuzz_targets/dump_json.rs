//! The `dump_json` target for libFuzzer: its body is `fuzz/targets/dump_json.rs`, which `cargo test`
//! replays too (tests/integration/fuzz_replay.rs).
#![no_main]

#[path = "../targets/dump_json.rs"]
mod target;

libfuzzer_sys::fuzz_target!(|data: &[u8]| target::run(data));
