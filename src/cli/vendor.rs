//! `kube-evidence vendor review`: what a third party would get in this cluster if its manifests
//! were applied, as an HTML and PDF report and a draft inventory entry, with exit 3 at or above
//! `--fail-on` so a pipeline can block a chart upgrade that widens a vendor's access.

use super::common;
use super::logging::LogArgs;
use super::query::{InputArgs, load};
use super::{CmdResult, Done, Failure};
use clap::{Args, Subcommand};
use kube_evidence::finding::Severity;
use kube_evidence::source::dump::read_dump_in;
use kube_evidence::store::outputs::Output;
use kube_evidence::vendor::{ReviewInput, review};
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct VendorArgs {
    #[command(subcommand)]
    pub command: VendorCommand,
}

#[derive(Subcommand, Debug)]
pub enum VendorCommand {
    /// What a third party's manifests would grant in this cluster, before they are applied
    Review(ReviewArgs),
}

#[derive(Args, Debug)]
pub struct ReviewArgs {
    /// The vendor's rendered manifests (`helm template` output, a directory of YAML)
    #[arg(long, value_name = "DIR")]
    pub manifests: PathBuf,
    /// Where they would be installed (`helm install -n`, `kubectl apply -n`)
    #[arg(long, value_name = "NS")]
    pub namespace: String,
    /// The cluster to review against: a saved snapshot or pack directory
    #[arg(long, value_name = "SNAPSHOT", conflicts_with = "source")]
    pub against: Option<PathBuf>,
    /// Or `cluster` for the live API, or a directory of dumped objects
    #[arg(long, value_name = "cluster|PATH")]
    pub source: Option<String>,
    /// Run configuration file (for the source and cluster settings)
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub cluster: common::ClusterArgs,
    /// Directory for the report and the draft entry (files are never overwritten)
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Exit 3 when a finding about the vendor is at least this severe (low, medium, high, critical)
    #[arg(long, value_name = "SEVERITY")]
    pub fail_on: Option<Severity>,
    #[command(flatten)]
    pub vendor_catalog: common::VendorCatalogArgs,
}

pub fn execute(args: VendorArgs, log: &LogArgs) -> CmdResult {
    match args.command {
        VendorCommand::Review(a) => review_command(a, log),
    }
}

fn review_command(a: ReviewArgs, log: &LogArgs) -> CmdResult {
    kube_evidence::config::validate_namespace_name(&a.namespace)
        .map_err(|m| Failure::usage(format!("--namespace: {m}")))?;
    let stem = format!("vendor-review-{}", a.namespace);
    let planned = [
        format!("{stem}.html"),
        format!("{stem}.pdf"),
        format!("draft-entry-{}.yaml", a.namespace),
    ]
    .map(|name| Output::new(a.out.join(name), Vec::new()));
    common::check_outputs(&planned, &[])?;
    let catalog = common::vendor_catalog(&a.vendor_catalog, a.config.as_deref(), log)?;
    let input = InputArgs {
        source: a.source.clone(),
        default_namespace: None,
        snapshot: a.against.clone(),
        config: a.config.clone(),
        cluster: a.cluster.clone(),
    };
    let base = load(&input, log)?;
    let now = common::clock()?.now();
    let manifests = read_dump_in(
        &a.manifests,
        &base.cluster.name,
        now,
        format!("manifests:{}", a.manifests.display()),
        Some(a.namespace.clone()),
    )?;
    let r = review(&ReviewInput {
        base: &base,
        manifests: &manifests,
        namespace: &a.namespace,
        catalog: &catalog,
        today: now.date_naive(),
    });
    let against = match (&a.against, &a.source) {
        (Some(p), _) => format!("snapshot {}", p.display()),
        _ => format!("cluster {} ({})", base.cluster.name, base.collector.source),
    };
    let doc = kube_evidence::report::vendor::document(
        &r,
        &a.manifests.display().to_string(),
        &against,
        now,
    );
    let written = [
        Output::new(
            a.out.join(format!("{stem}.html")),
            kube_evidence::report::plain::html(&doc),
        ),
        Output::new(
            a.out.join(format!("{stem}.pdf")),
            kube_evidence::report::vendor::pdf(&doc, now),
        ),
        Output::new(
            a.out.join(format!("draft-entry-{}.yaml", a.namespace)),
            r.draft_entry(now.date_naive()),
        ),
    ];
    common::write_outputs(&written, &[])?;
    outln!("{}", doc.sections[0].paragraphs.join("\n"));
    for o in &written {
        outln!("written: {}", o.path.display());
    }
    match (a.fail_on, r.worst) {
        (Some(threshold), Some(worst)) if worst >= threshold => Ok(Done::FindingsAtFailOn),
        _ => Ok(Done::Ok),
    }
}
