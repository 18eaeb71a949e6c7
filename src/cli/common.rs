//! Pieces every subcommand shares: configuration loading with flag overrides, the clock, the
//! terminal progress display, the async runtime, and error reporting.

use super::exit;
use super::logging::{self, LogArgs};
use chrono::{DateTime, Utc};
use indicatif::{ProgressBar, ProgressStyle};
use kube_evidence::clock::{Clock, FixedClock, SystemClock};
use kube_evidence::config::{self, Config, LogFormat, Overrides, Setting};
use kube_evidence::progress::{NoProgress, Progress};
use std::io::IsTerminal;
use std::path::Path;

/// Loads the configuration (file, then environment, then flags) and starts logging with it.
/// On failure the problems are printed and the exit code returned.
pub fn load_config(file: Option<&Path>, mut flags: Overrides, log: &LogArgs) -> Result<Config, u8> {
    flags.set_opt(Setting::LogFormat, log.log_format.clone());
    flags.set_opt(Setting::LogLevel, log.log_level.clone());
    let env = |k: &str| std::env::var(k).ok();
    match config::load(file, &flags, &env) {
        Ok(c) => {
            init_logging(&c);
            Ok(c)
        }
        Err(e) => {
            logging::init(false, None);
            eprintln!("error: {e}");
            Err(exit::ERROR)
        }
    }
}

pub fn init_logging(c: &Config) {
    let json = matches!(c.log_format, Some(LogFormat::Json));
    logging::init(json, c.log_level.as_deref());
}

/// The run's clock: the system clock, or a fixed instant from `KUBE_EVIDENCE_NOW` (RFC 3339)
/// to reproduce a pack byte for byte.
pub fn clock() -> Result<Box<dyn Clock>, u8> {
    match std::env::var("KUBE_EVIDENCE_NOW") {
        Ok(v) => match DateTime::parse_from_rfc3339(&v) {
            Ok(t) => Ok(Box::new(FixedClock(t.with_timezone(&Utc)))),
            Err(e) => {
                eprintln!("error: KUBE_EVIDENCE_NOW=`{v}` is not an RFC 3339 time: {e}");
                Err(exit::ERROR)
            }
        },
        Err(_) => Ok(Box::new(SystemClock)),
    }
}

/// A spinner on stderr when it is a terminal; nothing otherwise.
pub fn progress() -> Box<dyn Progress> {
    if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} {pos}/{len}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        Box::new(TerminalProgress(bar))
    } else {
        Box::new(NoProgress)
    }
}

struct TerminalProgress(ProgressBar);

impl Progress for TerminalProgress {
    fn stage(&self, name: &str) {
        self.0.set_message(name.to_string());
        self.0.set_length(0);
        self.0.set_position(0);
    }
    fn advance(&self, done: u64, total: u64) {
        self.0.set_length(total);
        self.0.set_position(done);
    }
}

impl Drop for TerminalProgress {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("the async runtime starts")
}

/// Prints an error with its chain of causes and returns the error exit code.
pub fn fail(e: anyhow::Error) -> u8 {
    tracing::error!("{e:#}");
    eprintln!("error: {e:#}");
    exit::ERROR
}
