//! `kube-evidence exceptions validate`.

use super::common;
use super::logging::LogArgs;
use super::{CmdResult, Done};
use clap::{Args, Subcommand};
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct ExceptionsArgs {
    #[command(subcommand)]
    pub command: ExceptionsCommand,
}

#[derive(Subcommand, Debug)]
pub enum ExceptionsCommand {
    /// Check an exceptions file; every problem with its line and column
    Validate { file: PathBuf },
}

pub fn execute(args: ExceptionsArgs, log: &LogArgs) -> CmdResult {
    super::common::init_logging_from(log)?;
    let clock = common::clock()?;
    match args.command {
        ExceptionsCommand::Validate { file } => {
            match kube_evidence::exceptions::load_file(&file, clock.now().date_naive()) {
                Ok(list) => {
                    outln!("{}: valid ({} exceptions)", file.display(), list.len());
                    Ok(Done::Ok)
                }
                Err(e) => Err(e.into()),
            }
        }
    }
}
