//! `kube-evidence rules list`: the rule catalog, from the same definitions reports use.

use super::table::Format;
use super::table::Table;
use super::{CmdResult, Done};
use clap::{Args, Subcommand};
use kube_evidence::rules::CATALOG;

#[derive(Args, Debug)]
pub struct RulesArgs {
    #[command(subcommand)]
    pub command: RulesCommand,
}

#[derive(Subcommand, Debug)]
pub enum RulesCommand {
    /// Every rule: ID, severity, title, CIS reference (JSON adds rationale and remediation)
    List {
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
}

pub fn execute(args: RulesArgs) -> CmdResult {
    match args.command {
        RulesCommand::List { format } => match format {
            Format::Json => {
                outln!(
                    "{}",
                    serde_json::to_string_pretty(CATALOG).expect("serialises")
                );
            }
            Format::Table => {
                let mut t = Table::new(&["ID", "SEVERITY", "CIS", "TITLE"]);
                for r in CATALOG {
                    t.row(vec![
                        r.id.to_string(),
                        r.severity.to_string(),
                        r.cis
                            .map(|c| format!("5.1.x {c}").replace("5.1.x ", ""))
                            .unwrap_or_else(|| "-".into()),
                        r.title.to_string(),
                    ]);
                }
                out!("{}", t.render());
            }
        },
    }
    Ok(Done::Ok)
}
