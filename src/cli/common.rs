//! Pieces every subcommand shares: configuration loading with flag overrides, the clock, the
//! terminal progress display, the async runtime, and error reporting.

use super::Failure;
use super::logging::{self, LogArgs};
use chrono::{DateTime, Utc};
use indicatif::{ProgressBar, ProgressStyle};
use kube_evidence::clock::{Clock, FixedClock, SystemClock};
use kube_evidence::config::{self, Config, LogFormat, Overrides, Setting};
use kube_evidence::progress::{NoProgress, Progress};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

/// Loads the configuration (file, then environment, then flags) and starts logging with it.
pub fn load_config(
    file: Option<&Path>,
    mut flags: Overrides,
    log: &LogArgs,
) -> Result<Config, Failure> {
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
            Err(e.into())
        }
    }
}

/// The log settings alone (flags, then `KUBE_EVIDENCE_LOG_FORMAT` and `KUBE_EVIDENCE_LOG_LEVEL`),
/// validated, for the commands that read no configuration file: every command honours them.
pub fn init_logging_from(log: &LogArgs) -> Result<(), Failure> {
    let mut flags = Overrides::default();
    flags.set_opt(Setting::LogFormat, log.log_format.clone());
    flags.set_opt(Setting::LogLevel, log.log_level.clone());
    let env = |k: &str| std::env::var(k).ok();
    match config::load_settings(&[Setting::LogFormat, Setting::LogLevel], &flags, &env) {
        Ok(c) => {
            init_logging(&c);
            Ok(())
        }
        Err(e) => {
            logging::init(false, None);
            Err(e.into())
        }
    }
}

pub fn init_logging(c: &Config) {
    let json = matches!(c.log_format, Some(LogFormat::Json));
    logging::init(json, c.log_level.as_deref());
}

/// The run's clock: the system clock, or a fixed instant from `KUBE_EVIDENCE_NOW` (RFC 3339)
/// to reproduce a pack byte for byte.
pub fn clock() -> Result<Box<dyn Clock>, Failure> {
    match std::env::var("KUBE_EVIDENCE_NOW") {
        Ok(v) => match DateTime::parse_from_rfc3339(&v) {
            Ok(t) => Ok(Box::new(FixedClock(t.with_timezone(&Utc)))),
            Err(e) => Err(anyhow::Error::new(e)
                .context(format!("KUBE_EVIDENCE_NOW=`{v}` is not an RFC 3339 time"))
                .into()),
        },
        Err(_) => Ok(Box::new(SystemClock)),
    }
}

/// A spinner on stderr when it is a terminal; nothing otherwise.
pub fn progress() -> Box<dyn Progress> {
    if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new_spinner();
        bar.set_style(stage_style(false));
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        // Log lines are written around it (see logging::PROGRESS_BAR).
        let _ = super::logging::PROGRESS_BAR.set(bar.clone());
        Box::new(TerminalProgress(bar))
    } else {
        Box::new(NoProgress)
    }
}

/// A stage's line: its name, and `done/total` only once a total is known (never `0/0`).
fn stage_style(with_count: bool) -> ProgressStyle {
    let template = if with_count {
        "{spinner} {msg} {pos}/{len}"
    } else {
        "{spinner} {msg}"
    };
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_spinner())
}

struct TerminalProgress(ProgressBar);

impl Progress for TerminalProgress {
    fn stage(&self, name: &str) {
        self.0.set_style(stage_style(false));
        self.0.set_message(name.to_string());
        self.0.set_length(0);
        self.0.set_position(0);
    }
    fn advance(&self, done: u64, total: u64) {
        if total == 0 {
            return;
        }
        if self.0.length() != Some(total) {
            self.0.set_style(stage_style(true));
            self.0.set_length(total);
        }
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

/// How to reach an `s3://` store, for the commands that read one.
pub type S3Args = super::settings::SettingFlags<super::settings::S3Settings>;

/// The S3 options for commands without a configuration file: flags, then the environment.
pub fn s3_options(args: &S3Args) -> Result<kube_evidence::store::s3::S3Options, Failure> {
    let mut flags = Overrides::default();
    args.apply(&mut flags);
    let env = |k: &str| std::env::var(k).ok();
    Ok(config::load(None, &flags, &env)?.s3_options())
}

/// Opens a store for reading.
pub async fn open_store(
    url: &kube_evidence::store::StoreUrl,
    s3: &kube_evidence::store::s3::S3Options,
) -> anyhow::Result<Box<dyn kube_evidence::store::Store>> {
    use anyhow::Context;
    kube_evidence::store::open(url, s3)
        .await
        .with_context(|| format!("cannot open store {url}"))
}

/// How to reach a live cluster, for the commands that can collect (`--source cluster`).
pub type ClusterArgs = super::settings::SettingFlags<super::settings::ClusterSettings>;

/// The vendor catalog in force: the shipped one, extended by `vendorCatalog` from the flag, the
/// environment (`KUBE_EVIDENCE_VENDOR_CATALOG`) or the configuration file, in that order. A file
/// named and missing is an error, never the shipped catalog alone.
pub fn vendor_catalog(
    flags: &VendorCatalogArgs,
    config_file: Option<&Path>,
    log: &LogArgs,
) -> Result<kube_evidence::inventory::catalog::VendorCatalog, Failure> {
    let path = load_config(config_file, flags.overrides(), log)?.vendor_catalog;
    Ok(kube_evidence::inventory::catalog::VendorCatalog::with_file(
        path.as_deref(),
    )?)
}

/// `--vendor-catalog`, from the settings table (flag and environment variable).
pub type VendorCatalogArgs = super::settings::SettingFlags<super::settings::VendorCatalogSettings>;

/// The signing key the configuration names: its file (`signingKey`), else the key text in
/// `KUBE_EVIDENCE_SIGNING_KEY`; `None` when neither is set.
pub fn signing_key(
    config: &Config,
) -> Result<Option<kube_evidence::pack::sign::SigningKey>, Failure> {
    use kube_evidence::pack::sign::SigningKey;
    if let Some(path) = &config.signing_key {
        return SigningKey::load_file(path)
            .map(Some)
            .map_err(|e| Failure::error(format!("cannot load the signing key: {e}")));
    }
    let env = config::SIGNING_KEY_TEXT_ENV;
    match std::env::var(env) {
        Ok(text) if !config.key_text_overridden => SigningKey::from_openssh(&text, env)
            .map(Some)
            .map_err(|e| Failure::error(format!("cannot load the signing key: {e}"))),
        _ => Ok(None),
    }
}

/// The allowed-signers file a flag names, parsed, with every problem at once.
pub fn allowed_signers(
    path: Option<&Path>,
) -> Result<Option<Vec<kube_evidence::pack::sign::AllowedSigner>>, Failure> {
    let Some(p) = path else {
        return Ok(None);
    };
    let text = kube_evidence::input::read_text(p, kube_evidence::input::MAX_WRITTEN_FILE)
        .map_err(|e| Failure::error(format!("cannot read {}: {e}", p.display())))?;
    kube_evidence::pack::sign::parse_allowed_signers(&text, &p.display().to_string())
        .map(Some)
        .map_err(|d| Failure::error(format!("invalid allowed signers:\n{d}")))
}

/// Refuses outputs that exist or would land in evidence, naming every one, before the command
/// does its work (so a refused command reads, writes and publishes nothing).
pub fn check_outputs(
    outputs: &[kube_evidence::store::outputs::Output],
    stores: &[&Path],
) -> Result<(), Failure> {
    let problems = kube_evidence::store::outputs::check(outputs, stores);
    match problems.len() {
        0 => Ok(()),
        1 => Err(Failure::usage(&problems[0])),
        n => Err(Failure::usage(format!(
            "{n} outputs cannot be written:\n{}",
            problems
                .iter()
                .map(|p| format!("  {p}"))
                .collect::<Vec<_>>()
                .join("\n")
        ))),
    }
}

/// Writes the command's outputs create-only, outside any store or pack (checked again here:
/// the work between the first check and now may have taken minutes).
pub fn write_outputs(
    outputs: &[kube_evidence::store::outputs::Output],
    stores: &[&Path],
) -> Result<(), Failure> {
    check_outputs(outputs, stores)?;
    kube_evidence::store::outputs::write_all(outputs, stores).map_err(Failure::error)
}

/// The keys and time-stamping authority a command that reads packs trusts: with
/// `--allowed-signers`, only packs they signed are read; without, a pack is read when its
/// signature, if it has one, verifies.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct PackTrustArgs {
    /// OpenSSH allowed-signers file: only packs signed by one of these keys are read
    #[arg(long, value_name = "FILE")]
    pub allowed_signers: Option<PathBuf>,
    /// The time-stamping authority's certificate: time-stamped packs are judged at its time
    #[arg(long, value_name = "FILE")]
    pub tsa_certificate: Option<PathBuf>,
}

/// [`PackTrustArgs`] loaded.
pub struct PackTrust {
    pub signers: Option<Vec<kube_evidence::pack::sign::AllowedSigner>>,
    pub tsa: Option<kube_evidence::pack::timestamp::PinnedCertificate>,
}

impl PackTrustArgs {
    pub fn load(&self) -> Result<PackTrust, Failure> {
        Ok(PackTrust {
            signers: allowed_signers(self.allowed_signers.as_deref())?,
            tsa: match &self.tsa_certificate {
                Some(p) => Some(
                    kube_evidence::run::inputs::load_timestamp_certificate(p)
                        .map_err(|e| Failure::error(e.to_string()))?,
                ),
                None => None,
            },
        })
    }
}

impl PackTrust {
    pub fn policy(&self) -> kube_evidence::pack::read::Policy<'_> {
        kube_evidence::pack::read::Policy::reader(self.signers.as_deref(), self.tsa.as_ref())
    }
}
