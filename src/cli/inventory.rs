//! `kube-evidence inventory validate | schema | discover`.

use super::common;
use super::exit;
use super::logging::LogArgs;
use super::query::{InputArgs, load};
use clap::{Args, Subcommand};
use kube_evidence::inventory::{self, discover};
use kube_evidence::rbac::index::RbacIndex;
use kube_evidence::rbac::privilege::PrivilegeTable;
use kube_evidence::rbac::reach::ReachGraph;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct InventoryArgs {
    #[command(subcommand)]
    pub command: InventoryCommand,
}

#[derive(Subcommand, Debug)]
pub enum InventoryCommand {
    /// Check an inventory file; every problem is reported with its line and column
    Validate {
        /// The inventory file
        file: PathBuf,
    },
    /// Print the JSON Schema of the inventory format
    Schema,
    /// Print a starter inventory listing the third-party components found in the cluster
    Discover {
        #[command(flatten)]
        input: InputArgs,
    },
}

pub fn execute(args: InventoryArgs, log: &LogArgs) -> u8 {
    match args.command {
        InventoryCommand::Schema => {
            outln!(
                "{}",
                serde_json::to_string_pretty(&inventory::json_schema()).expect("serialises")
            );
            exit::OK
        }
        InventoryCommand::Validate { file } => {
            super::logging::init(false, log.log_level.as_deref());
            let clock = match common::clock() {
                Ok(c) => c,
                Err(code) => return code,
            };
            match inventory::load_file(&file, clock.now().date_naive()) {
                Ok(inv) => {
                    outln!(
                        "{}: valid ({} sub-processors)",
                        file.display(),
                        inv.sub_processors.len()
                    );
                    exit::OK
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    exit::ERROR
                }
            }
        }
        InventoryCommand::Discover { input } => {
            let snapshot = match load(&input, log) {
                Ok(s) => s,
                Err(code) => return code,
            };
            let index = RbacIndex::build(&snapshot);
            let reach = ReachGraph::build(&index, &snapshot);
            let privilege = PrivilegeTable::compute(&index, &reach);
            let components = discover::discover(&snapshot, &index, &privilege);
            out!("{}", discover::render(&components, &snapshot.cluster.name));
            eprintln!("{} third-party component(s) found", components.len());
            exit::OK
        }
    }
}
