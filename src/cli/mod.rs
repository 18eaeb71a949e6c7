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

mod common;
mod controls;
mod diff;
mod inventory;
mod keys;
mod logging;
mod query;
mod rules;
mod run;
mod settings;
mod share;
mod snapshot;
mod table;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Exit codes: the contract with the scheduler and with alerting.
pub mod exit {
    pub const OK: u8 = 0;
    pub const ERROR: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const FINDINGS: u8 = 3;
    /// The pack (or snapshot) was written, but some kinds could not be collected.
    pub const INCOMPLETE: u8 = 4;

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
    WhoCan(query::WhoCanArgs),
    /// Everything a subject can do, and through which binding and role.
    Access(query::AccessArgs),
    /// Can SUBJECT do VERB on RESOURCE? yes or no, and why.
    CanI(query::CanIArgs),
    /// The risk rule catalog.
    Rules(rules::RulesArgs),
    /// The sub-processor inventory: validate, print its schema, discover third parties.
    Inventory(inventory::InventoryArgs),
    /// SOC 2, ISO 27001 and your own controls: list, show, validate.
    Controls(controls::ControlsArgs),
    /// The exceptions (risk acceptance) register: validate.
    Exceptions(controls::ExceptionsArgs),
    /// What changed between two snapshots or packs.
    Diff(diff::DiffArgs),
    /// Every change across an audit period, from the packs in a store.
    Changes(diff::ChangesArgs),
    /// Verify a pack (or a chain of packs): signature, hashes, links, gaps.
    Verify(keys::VerifyArgs),
    /// Create an Ed25519 signing key pair and its allowed_signers line.
    Keygen(keys::KeygenArgs),
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
    let code = match cli.command {
        Command::Run(args) => run::execute(args, &cli.log),
        Command::Snapshot(args) => snapshot::execute(args, &cli.log),
        Command::WhoCan(args) => query::who_can(args, &cli.log),
        Command::Access(args) => query::access(args, &cli.log),
        Command::CanI(args) => query::can_i(args, &cli.log),
        Command::Rules(args) => rules::execute(args),
        Command::Inventory(args) => inventory::execute(args, &cli.log),
        Command::Controls(args) => controls::execute(args, &cli.log),
        Command::Exceptions(args) => controls::execute_exceptions(args, &cli.log),
        Command::Diff(args) => diff::diff(args, &cli.log),
        Command::Changes(args) => diff::changes(args, &cli.log),
        Command::Verify(args) => keys::verify_cmd(args, &cli.log),
        Command::Keygen(args) => keys::keygen(args, &cli.log),
        Command::Share(args) => share::execute(args, &cli.log),
    };
    ExitCode::from(code)
}
