//! `kube-evidence inventory validate | schema | discover`.

use super::common;
use super::logging::LogArgs;
use super::query::{InputArgs, load};
use super::{CmdResult, Done};
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
        #[command(flatten)]
        vendor_catalog: common::VendorCatalogArgs,
    },
}

pub fn execute(args: InventoryArgs, log: &LogArgs) -> CmdResult {
    match args.command {
        InventoryCommand::Schema => {
            outln!(
                "{}",
                serde_json::to_string_pretty(&inventory::json_schema()).expect("serialises")
            );
            Ok(Done::Ok)
        }
        InventoryCommand::Validate { file } => {
            super::common::init_logging_from(log)?;
            let clock = common::clock()?;
            match inventory::load_file(&file, clock.now().date_naive()) {
                Ok(inv) => {
                    outln!(
                        "{}: valid ({} sub-processors)",
                        file.display(),
                        inv.sub_processors.len()
                    );
                    Ok(Done::Ok)
                }
                Err(e) => Err(e.into()),
            }
        }
        InventoryCommand::Discover {
            input,
            vendor_catalog,
        } => {
            let catalog = common::vendor_catalog(&vendor_catalog, input.config.as_deref(), log)?;
            let snapshot = load(&input, log)?;
            let index = RbacIndex::build(&snapshot);
            let reach = ReachGraph::build(&index, &snapshot);
            let privilege = PrivilegeTable::compute(&index, &reach);
            let components = discover::discover(&snapshot, &index, &privilege, &catalog);
            out!("{}", discover::render(&components, &snapshot.cluster.name));
            eprintln!("{} third-party component(s) found", components.len());
            Ok(Done::Ok)
        }
    }
}
