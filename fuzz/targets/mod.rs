//! The bodies of the fuzz targets, one module per reader of outside input: each `run(data)` is what
//! libFuzzer calls (fuzz/fuzz_targets/, nightly, `fuzz/run.sh`) and what `cargo test` replays over
//! the seeds, the committed regressions and any corpus in the cache (stable,
//! tests/integration/fuzz_replay.rs). A target that needs a fixture made outside (a store of
//! signed packs, a time-stamping authority's certificate) takes its path from a static the
//! replay test sets, or from the variable fuzz/run.sh sets.

pub mod allowed_signers;
pub mod audit_log;
pub mod campaigns;
pub mod config;
pub mod controls;
pub mod dump_json;
pub mod dump_yaml;
pub mod exceptions;
pub mod inventory;
pub mod outputs;
pub mod reviews;
pub mod snapshot;
pub mod timestamp_reply;
pub mod vendor_catalog;
pub mod verify_pack;
