//! kube-evidence: SOC 2 and ISO/IEC 27001 evidence packs of a Kubernetes cluster's RBAC state and
//! of the third-party sub-processors that hold access to it.
//!
//! The library never prints and never exits: every stage returns data or a typed error, and the
//! binary decides what to show and which exit code to use. Stages in the middle of the pipeline
//! (analysis, controls, diff, rendering) are pure and deterministic; I/O lives in [`source`] and
//! [`store`].
#![forbid(unsafe_code)]

pub mod analysis;
pub mod clock;
pub mod config;
pub mod controls;
pub mod csv_out;
pub mod diag;
pub mod diff;
pub mod exceptions;
pub mod finding;
pub mod input;
pub mod inventory;
pub mod pack;
pub mod progress;
pub mod rbac;
pub mod report;
pub mod rules;
pub mod run;
pub mod snapshot;
pub mod source;
pub mod store;
pub mod synthetic;
pub mod tls;
pub mod yaml;

pub const TOOL_NAME: &str = "kube-evidence";
pub const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");
/// The git revision the binary was built from, recorded in every pack.
pub const TOOL_REVISION: &str = match option_env!("KUBE_EVIDENCE_REVISION") {
    Some(r) => r,
    None => "unknown",
};
