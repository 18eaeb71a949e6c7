//! Logging setup: readable lines on a terminal, JSON lines for the CronJob, on stderr only.

use clap::Args;
use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

#[derive(Args, Debug, Clone, Default)]
pub struct LogArgs {
    /// Log format: text or json [env: KUBE_EVIDENCE_LOG_FORMAT]
    #[arg(long, global = true, value_name = "FORMAT")]
    pub log_format: Option<String>,
    /// Log level: error, warn, info, debug, trace [env: KUBE_EVIDENCE_LOG_LEVEL, RUST_LOG]
    #[arg(long, global = true, value_name = "LEVEL")]
    pub log_level: Option<String>,
}

/// Installs the global subscriber. `json` and `level` come from the validated configuration.
pub fn init(json: bool, level: Option<&str>) {
    let filter = match level {
        Some(l) => EnvFilter::new(format!("kube_evidence={l},warn")),
        None => EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| EnvFilter::new("kube_evidence=info,warn")),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        let _ = builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init();
    } else {
        let _ = builder
            .with_ansi(std::io::stderr().is_terminal())
            .with_target(false)
            .compact()
            .try_init();
    }
}
