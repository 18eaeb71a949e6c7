//! The integration tests, as one test binary (each file a module) so the dependency tree is
//! linked once rather than once per file. `tests/run.sh` runs them with the real servers they
//! need; `cargo test --test integration MODULE::` runs one file's tests.

mod common;

mod audit_log;
mod bad_inputs;
mod canonical;
mod cli_query;
mod cli_run;
mod conclusions;
mod consistency;
mod controls;
mod deploy;
mod diff;
mod discovery;
mod docs;
mod dump_source;
mod finding_identity;
mod fleet;
mod fuzz_replay;
mod image;
mod inventory;
mod layering;
mod live_cluster;
mod privilege_property;
mod rbac_property;
mod rbac_semantics;
mod reperform_pack;
mod reperformance;
mod report_bounds;
mod reports;
mod reviews;
mod rule_coverage;
mod rules_samples;
mod s3_publish;
mod scale;
mod settings_env;
mod signing;
mod statements;
mod timestamps;
mod trust;
mod updates;
mod usage;
mod vendor_review;
mod workload;
