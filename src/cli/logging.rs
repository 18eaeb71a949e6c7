//! Logging setup: readable lines on a terminal, JSON lines for the CronJob, on stderr only.

use super::settings::help_of;
use clap::Args;
use kube_evidence::config::Setting;
use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

#[derive(Args, Debug, Clone, Default)]
pub struct LogArgs {
    // Global flags (accepted before or after the subcommand), so written here rather than
    // made by `settings`; their help still comes from the settings table.
    #[arg(long, global = true, value_name = Setting::LogFormat.row().value, help = help_of(Setting::LogFormat))]
    pub log_format: Option<String>,
    #[arg(long, global = true, value_name = Setting::LogLevel.row().value, help = help_of(Setting::LogLevel))]
    pub log_level: Option<String>,
}

/// Installs the global subscriber. `json` and `level` come from the validated configuration.
/// The progress display, while one is drawn on the terminal. Log lines are written with it
/// suspended (cleared, then redrawn below), so the two never overlap.
pub static PROGRESS_BAR: std::sync::OnceLock<indicatif::ProgressBar> = std::sync::OnceLock::new();

/// Standard error, written around the progress display.
struct AroundProgress;

impl std::io::Write for AroundProgress {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match PROGRESS_BAR.get() {
            Some(bar) => bar.suspend(|| std::io::stderr().write(buf)),
            None => std::io::stderr().write(buf),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        match PROGRESS_BAR.get() {
            Some(bar) => bar.suspend(|| std::io::stderr().write_all(buf)),
            None => std::io::stderr().write_all(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// Whether log lines are JSON: then a command's final error is a log line too (one JSON stream
/// for the log collector), otherwise a plain `error:` line for a person.
pub static JSON_LOGS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

pub fn init(json: bool, level: Option<&str>) {
    JSON_LOGS.store(json, std::sync::atomic::Ordering::Relaxed);
    let filter = match level {
        Some(l) => EnvFilter::new(format!("kube_evidence={l},warn")),
        None => EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| EnvFilter::new("kube_evidence=info,warn")),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| AroundProgress);
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
