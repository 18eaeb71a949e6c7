//! Command-line definitions and dispatch. Flags are only parsed and validated here, then turned
//! into the library's plans; nothing below this module prints.

/// `println!` for a command's output: when the reader stops reading (`| head`), the command ends
/// quietly with exit 0 instead of panicking with "failed printing to stdout".
macro_rules! outln {
    () => {
        $crate::cli::write_stdout(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::cli::write_stdout(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `print!` for a command's output, as [`outln!`].
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::cli::write_stdout(format_args!($($arg)*))
    };
}

mod access;
mod can_i;
mod changes;
mod common;
mod controls;
mod diff;
mod exceptions;
mod fleet;
mod inventory;
mod keygen;
mod logging;
mod query;
mod reperform;
mod review;
mod rules;
mod run;
mod settings;
mod share;
mod snapshot;
mod table;
mod usage;
mod vendor;
mod verify;
mod who_can;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Exit codes: the contract with the scheduler and with alerting. Every command returns a
/// [`CmdResult`]; [`exit::code`] is the one place a result becomes an exit code and an error
/// reaches standard error.
pub mod exit {
    use super::{CmdResult, Done, Failure};

    pub const OK: u8 = 0;
    pub const ERROR: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const FINDINGS: u8 = 3;
    /// The pack (or snapshot) was written, but some kinds could not be collected.
    pub const INCOMPLETE: u8 = 4;

    /// The exit code of a command's result; an error is printed once, with its chain of causes,
    /// in the form the reader of standard error expects (a JSON log line under `--log-format
    /// json`).
    pub fn code(result: CmdResult) -> u8 {
        let (code, error) = match result {
            Ok(Done::Ok) => return OK,
            Ok(Done::FindingsAtFailOn) => return FINDINGS,
            Ok(Done::Incomplete) => return INCOMPLETE,
            Err(Failure::Usage(e)) => (USAGE, e),
            Err(Failure::Error(e)) => (ERROR, e),
            Err(Failure::Reported) => return ERROR,
        };
        if super::logging::JSON_LOGS.load(std::sync::atomic::Ordering::Relaxed) {
            tracing::error!("{error:#}");
        } else {
            eprintln!("error: {error:#}");
        }
        code
    }

    /// Standard output failed. A reader that closed the pipe (`| head`) got what it wanted:
    /// exit 0, silently. Anything else (a full disk) is an error.
    pub fn output_failed(e: std::io::Error) -> ! {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(OK.into())
        }
        eprintln!("error: cannot write to standard output: {e}");
        std::process::exit(ERROR.into())
    }
}

/// How a command that did its job ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Done {
    Ok,
    /// An unaccepted finding reached `--fail-on` (exit 3).
    FindingsAtFailOn,
    /// Written, but some kinds could not be collected completely (exit 4).
    Incomplete,
}

/// Why a command did not do its job. Causes stay a chain (`anyhow` over the library's
/// `#[source]` chains) until [`exit::code`] prints them.
#[derive(Debug)]
pub enum Failure {
    /// The command line asked for something that cannot be done (exit 2).
    Usage(anyhow::Error),
    /// Anything else (exit 1).
    Error(anyhow::Error),
    /// The command printed its own verdict (for example `verify`'s checks) and failed (exit 1).
    Reported,
}

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(e: E) -> Failure {
        Failure::Error(e.into())
    }
}

impl Failure {
    pub fn usage(message: impl std::fmt::Display) -> Failure {
        Failure::Usage(anyhow::anyhow!("{message}"))
    }

    pub fn error(message: impl std::fmt::Display) -> Failure {
        Failure::Error(anyhow::anyhow!("{message}"))
    }
}

pub type CmdResult = Result<Done, Failure>;

/// Writes a command's output to standard output (see [`outln!`]).
pub(crate) fn write_stdout(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    if let Err(e) = std::io::stdout().lock().write_fmt(args) {
        exit::output_failed(e)
    }
}

/// Writes bytes to standard output, as [`write_stdout`].
pub(crate) fn write_stdout_bytes(bytes: &[u8]) {
    use std::io::Write;
    if let Err(e) = std::io::stdout().lock().write_all(bytes) {
        exit::output_failed(e)
    }
}

#[derive(Parser, Debug)]
#[command(
    name = "kube-evidence",
    version,
    about = "Signed SOC 2 / ISO 27001 evidence packs of Kubernetes RBAC and third-party access",
    long_about = None,
    after_help = "Exit codes: 0 success, 1 error, 2 usage, 3 findings at or above --fail-on, 4 published but collection incomplete."
)]
pub struct Cli {
    #[command(flatten)]
    pub log: logging::LogArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Full pipeline: collect, analyse, render, sign and publish one evidence pack.
    Run(run::RunArgs),
    /// Collect only: write a snapshot file, or print the snapshot JSON Schema.
    Snapshot(snapshot::SnapshotArgs),
    /// Who can do VERB on RESOURCE, and through which binding and role.
    WhoCan(who_can::WhoCanArgs),
    /// Everything a subject can do, and through which binding and role.
    Access(access::AccessArgs),
    /// Can SUBJECT do VERB on RESOURCE? yes or no, and why.
    CanI(can_i::CanIArgs),
    /// What SUBJECT holds against what the audit log saw it use, and the roles covering its use.
    Usage(usage::UsageArgs),
    /// Access review campaigns: start, sign, submit, status.
    Review(review::ReviewArgs),
    /// The risk rule catalog.
    Rules(rules::RulesArgs),
    /// The sub-processor inventory: validate, print its schema, discover third parties.
    Inventory(inventory::InventoryArgs),
    /// Review a third party before it is installed: what its manifests would grant here.
    Vendor(vendor::VendorArgs),
    /// SOC 2, ISO 27001 and your own controls: list, show, validate.
    Controls(controls::ControlsArgs),
    /// The exceptions (risk acceptance) register: validate.
    Exceptions(exceptions::ExceptionsArgs),
    /// What changed between two snapshots or packs.
    Diff(diff::DiffArgs),
    /// Every change across an audit period, from the packs in a store.
    Changes(changes::ChangesArgs),
    /// Verify a pack (or a chain of packs): signature, hashes, links, gaps.
    Verify(verify::VerifyArgs),
    /// Verify a pack, compute its conclusions again from its own data, and report every
    /// difference from what it states.
    Reperform(reperform::ReperformArgs),
    /// Every cluster publishing to one store: one report across the fleet.
    Fleet(fleet::FleetArgs),
    /// Create an Ed25519 signing key pair and its allowed_signers line.
    Keygen(keygen::KeygenArgs),
    /// Presigned download links to a pack in a bucket, for auditors without credentials.
    Share(share::ShareArgs),
}

pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let result = match cli.command {
        Command::Run(args) => run::execute(args, &cli.log),
        Command::Snapshot(args) => snapshot::execute(args, &cli.log),
        Command::WhoCan(args) => who_can::execute(args, &cli.log),
        Command::Access(args) => access::execute(args, &cli.log),
        Command::CanI(args) => can_i::execute(args, &cli.log),
        Command::Usage(args) => usage::execute(args, &cli.log),
        Command::Review(args) => review::execute(args, &cli.log),
        Command::Rules(args) => rules::execute(args),
        Command::Inventory(args) => inventory::execute(args, &cli.log),
        Command::Vendor(args) => vendor::execute(args, &cli.log),
        Command::Controls(args) => controls::execute(args, &cli.log),
        Command::Exceptions(args) => exceptions::execute(args, &cli.log),
        Command::Diff(args) => diff::execute(args, &cli.log),
        Command::Changes(args) => changes::execute(args, &cli.log),
        Command::Verify(args) => verify::execute(args, &cli.log),
        Command::Reperform(args) => reperform::execute(args, &cli.log),
        Command::Fleet(args) => fleet::execute(args, &cli.log),
        Command::Keygen(args) => keygen::execute(args, &cli.log),
        Command::Share(args) => share::execute(args, &cli.log),
    };
    ExitCode::from(exit::code(result))
}
