//! kube-evidence: SOC 2 and ISO/IEC 27001 evidence packs of a Kubernetes cluster's RBAC state and
//! of the third-party sub-processors that hold access to it.
//!
//! The library never prints and never exits: every stage returns data or a typed error, and the
//! binary decides what to show and which exit code to use.
//!
//! Where I/O happens: files a person writes are read by the loaders of the input stage
//! ([`config`], [`controls::load`], [`exceptions`], [`inventory::load`], [`run::inputs`], which
//! also reads the inventory from a ConfigMap) through [`input`], which bounds every read; the
//! cluster and dumps are read by [`source`]; packs are written and read through [`store`]. The
//! stages in the middle ([`rbac`], [`rules`], [`analysis`], [`diff`], [`report`]) take data and
//! return data, deterministically. `tests/integration/layering.rs` checks both this and the module order in
//! `docs/architecture.md`.
#![forbid(unsafe_code)]

pub mod analysis;
pub mod audit;
pub mod clock;
pub mod config;
pub mod controls;
pub mod csv_out;
pub mod diag;
pub mod diff;
pub mod digest;
pub mod exceptions;
pub mod files;
pub mod finding;
pub mod fleet;
pub mod input;
pub mod inventory;
pub mod pack;
pub mod pattern;
pub mod progress;
pub mod rbac;
pub mod report;
pub mod review;
pub mod rule_id;
pub mod rules;
pub mod run;
pub mod snapshot;
pub mod source;
pub mod store;
#[cfg(feature = "synthetic")]
pub mod synthetic;
pub mod tls;
pub mod vendor;
pub mod yaml;

pub const TOOL_NAME: &str = "kube-evidence";
/// The `apiVersion` of every file a person writes for the tool (configuration, inventory,
/// controls, exceptions, reviewer maps, vendor catalogs).
pub const API_VERSION: &str = "kube-evidence.io/v1";
pub const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");
/// The git revision the binary was built from, recorded in every pack.
pub const TOOL_REVISION: &str = match option_env!("KUBE_EVIDENCE_REVISION") {
    Some(r) => r,
    None => "unknown",
};
