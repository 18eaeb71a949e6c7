//! `kube-evidence controls list | show | validate`.

use super::common;
use super::logging::LogArgs;
use super::query::{InputArgs, load};
use super::table::Format;
use super::table::Table;
use super::{CmdResult, Done, Failure};
use clap::{Args, Subcommand};
use kube_evidence::analysis::{AssessmentInput, assess};
use kube_evidence::config::Setting;
use kube_evidence::controls::{Controls, RuleRole, load_dir};
use kube_evidence::inventory::InventoryRef;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct ControlsArgs {
    #[command(subcommand)]
    pub command: ControlsCommand,
}

#[derive(Subcommand, Debug)]
pub enum ControlsCommand {
    /// List the controls in force
    List {
        /// Only this framework (soc2, iso27001, or one of yours)
        #[arg(long)]
        framework: Option<String>,
        /// A directory of control definitions (default: the built-in ones)
        #[arg(long, value_name = "DIR")]
        controls: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Show one control: definition and rules; with --source or --snapshot, its status and the
    /// findings that decide it
    Show {
        /// The control ID, e.g. CC6.1 or 8.2
        id: String,
        #[arg(long)]
        framework: Option<String>,
        #[arg(long, value_name = "DIR")]
        controls: Option<PathBuf>,
        /// Sub-processor inventory (FILE or configmap:NS/NAME)
        #[arg(long, value_name = "FILE")]
        inventory: Option<String>,
        /// Exceptions file
        #[arg(long, value_name = "FILE")]
        exceptions: Option<PathBuf>,
        #[command(flatten)]
        input: InputArgs,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Check control definitions (default: the built-in ones); every problem with file and line
    Validate {
        /// A directory of control definitions
        dir: Option<PathBuf>,
    },
}

fn controls_from(dir: Option<&PathBuf>) -> Result<Controls, Failure> {
    match dir {
        Some(d) => Ok(load_dir(d)?),
        None => Ok(Controls::builtin()),
    }
}

pub fn execute(args: ControlsArgs, log: &LogArgs) -> CmdResult {
    super::common::init_logging_from(log)?;
    match args.command {
        ControlsCommand::Validate { dir } => validate(dir.as_deref()),
        ControlsCommand::List {
            framework,
            controls,
            format,
        } => list(framework.as_deref(), controls.as_ref(), format),
        ControlsCommand::Show {
            id,
            framework,
            controls,
            inventory,
            exceptions,
            input,
            format,
        } => {
            let set = controls_from(controls.as_ref())?;
            let found: Vec<_> = set
                .control(&id)
                .into_iter()
                .filter(|c| framework.as_deref().is_none_or(|f| f == c.framework))
                .collect();
            if found.is_empty() {
                return Err(Failure::usage(format!(
                    "no control {id}; `kube-evidence controls list` shows them"
                )));
            }
            let wants_status =
                input.source.is_some() || input.snapshot.is_some() || input.config.is_some();
            let results = if wants_status {
                Some(assess_for_show(
                    &input,
                    log,
                    controls.as_deref(),
                    inventory.as_deref(),
                    exceptions.as_deref(),
                )?)
            } else {
                None
            };
            show(&found, results.as_ref(), format);
            Ok(Done::Ok)
        }
    }
}

fn validate(dir: Option<&std::path::Path>) -> CmdResult {
    match dir {
        Some(d) => {
            let c = load_dir(d)?;
            let n: usize = c.sets.iter().map(|s| s.controls.len()).sum();
            outln!(
                "{}: valid ({} framework(s), {n} controls)",
                d.display(),
                c.sets.len()
            );
        }
        None => {
            let c = Controls::builtin();
            outln!("built-in controls: valid ({} frameworks)", c.sets.len());
        }
    }
    Ok(Done::Ok)
}

fn list(framework: Option<&str>, controls: Option<&PathBuf>, format: Format) -> CmdResult {
    let framework = framework.map(str::to_string);
    let controls = controls.cloned();
    let set = controls_from(controls.as_ref())?;
    let items: Vec<_> = set
        .sets
        .iter()
        .filter(|s| framework.as_deref().is_none_or(|f| f == s.framework.id))
        .flat_map(|s| s.controls.iter())
        .collect();
    if items.is_empty() {
        return Err(Failure::error(format!(
            "no controls{}",
            framework
                .map(|f| format!(" in framework {f}"))
                .unwrap_or_default()
        )));
    }
    match format {
        Format::Json => outln!(
            "{}",
            serde_json::to_string_pretty(&items).expect("serialises")
        ),
        Format::Table => {
            let mut t = Table::new(&["FRAMEWORK", "ID", "TITLE", "PRIMARY RULES"]);
            for c in items {
                let primary = c
                    .rules
                    .iter()
                    .filter(|r| r.role == RuleRole::Primary)
                    .count();
                t.row(vec![
                    c.framework.clone(),
                    c.id.clone(),
                    c.title.clone(),
                    primary.to_string(),
                ]);
            }
            out!("{}", t.render());
        }
    }
    Ok(Done::Ok)
}

/// The control statuses `controls show` reports alongside the definitions: the snapshot (or
/// source) assessed with the given controls, inventory and exceptions, on demand.
fn assess_for_show(
    input: &InputArgs,
    log: &LogArgs,
    controls: Option<&std::path::Path>,
    inventory: Option<&str>,
    exceptions: Option<&std::path::Path>,
) -> Result<kube_evidence::analysis::Assessment, Failure> {
    let mut snapshot = load(input, log)?;
    let today = snapshot.taken_at.date_naive();
    let inv_ref = match inventory.map(InventoryRef::parse).transpose() {
        Ok(r) => r,
        Err(e) => {
            return Err(Failure::usage(e));
        }
    };
    let rt = common::runtime();
    let cluster_options = kube_evidence::source::cluster::ClusterOptions {
        kubeconfig: input
            .cluster
            .overrides()
            .get(Setting::Kubeconfig)
            .map(Into::into),
        context: input
            .cluster
            .overrides()
            .get(Setting::Context)
            .map(str::to_string),
        ..Default::default()
    };
    let inputs = rt.block_on(async {
        let source = match input.source.as_deref() {
            Some(s) => Some(
                kube_evidence::source::open(
                    &kube_evidence::source::SourceSpec::parse(s),
                    &cluster_options,
                )
                .await?,
            ),
            None => None,
        };
        kube_evidence::run::load_inputs(
            controls,
            exceptions,
            inv_ref.as_ref(),
            source.as_deref(),
            today,
        )
        .await
        .map_err(anyhow::Error::from)
    });
    let inputs = inputs?;
    if inputs.inventory.is_some() {
        snapshot.inventory = inputs.inventory;
    }
    let a = assess(&AssessmentInput::snapshot_alone(
        &snapshot,
        &inputs.controls,
        &inputs.exceptions,
    ));
    Ok(a)
}

/// `controls show`'s output: each definition, with its status when one was assessed.
fn show(
    found: &[&kube_evidence::controls::Control],
    results: Option<&kube_evidence::analysis::Assessment>,
    format: Format,
) {
    match format {
        Format::Json => {
            let v: Vec<serde_json::Value> = found
                .iter()
                .map(|c| {
                    let status = results.as_ref().and_then(|a| {
                        a.controls
                            .iter()
                            .find(|r| r.id == c.id && r.framework == c.framework)
                    });
                    serde_json::json!({"definition": c, "result": status})
                })
                .collect();
            outln!("{}", serde_json::to_string_pretty(&v).expect("serialises"));
        }
        Format::Table => {
            for c in found {
                outln!("{} {} ({}): {}", c.framework, c.id, c.title, c.summary);
                for r in &c.rules {
                    let title = kube_evidence::rules::rule(r.id).title;
                    let decides = match (r.decides, r.threshold) {
                        (false, _) => "context only".to_string(),
                        (true, kube_evidence::finding::Severity::Info) => "decides".to_string(),
                        (true, t) => format!("decides at {t} or above"),
                    };
                    outln!(
                        "  {:8} {} {} [{decides}]",
                        format!("{:?}", r.role).to_lowercase(),
                        r.id,
                        title
                    );
                }
                if !c.requires.is_empty() {
                    outln!("  requires: {}", c.requires.join(", "));
                }
                outln!("  evidence: {}", c.evidence.join(", "));
                outln!(
                    "  criterion: {}",
                    kube_evidence::controls::evaluate::criterion(c)
                );
                if let Some(m) = &c.manual {
                    outln!("  attach: {m}");
                }
                if let Some(a) = &results
                    && let Some(r) = a
                        .controls
                        .iter()
                        .find(|r| r.id == c.id && r.framework == c.framework)
                {
                    outln!("  status: {} ({})", r.status.label(), r.reason);
                    for id in &r.deciding_findings {
                        if let Some(f) = a.analysis.findings.iter().find(|f| &f.id == id) {
                            outln!("    {} {}: {}", f.id, f.severity, f.summary);
                        }
                    }
                }
            }
        }
    }
}
