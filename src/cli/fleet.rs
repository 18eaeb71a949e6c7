//! `kube-evidence fleet report`: one report across every cluster publishing under a store prefix,
//! read from what the clusters published (never from the clusters), and optionally the fleet's
//! index page at the prefix.

use super::common;
use super::logging::LogArgs;
use super::{CmdResult, Done, Failure};
use clap::{Args, Subcommand};
use kube_evidence::fleet::{self, FleetReadOptions};
use kube_evidence::progress::Progress;
use kube_evidence::store::StoreUrl;
use kube_evidence::store::outputs::Output;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Args, Debug)]
pub struct FleetArgs {
    #[command(subcommand)]
    pub command: FleetCommand,
}

#[derive(Subcommand, Debug)]
pub enum FleetCommand {
    /// Every cluster under a store prefix: latest pack, age, chain, findings, controls, and what
    /// spans clusters
    Report(ReportArgs),
}

#[derive(Args, Debug)]
pub struct ReportArgs {
    /// The store the clusters publish to: s3://BUCKET/PREFIX or a directory
    #[arg(long, value_name = "URL")]
    pub store: String,
    /// Directory for the report files (never overwritten)
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// OpenSSH allowed-signers file: a cluster's latest pack is used only if one of these signed it
    #[arg(long, value_name = "FILE")]
    pub allowed_signers: Option<PathBuf>,
    /// The time-stamping authority's certificate: timestamped packs are judged at its time; without it a timestamped latest pack does not verify, as with `verify`
    #[arg(long, value_name = "FILE")]
    pub tsa_certificate: Option<PathBuf>,
    /// Hours between the clusters' scheduled runs; a latest pack older than 1.5 times this is overdue
    #[arg(long, value_name = "HOURS", default_value_t = kube_evidence::analysis::DEFAULT_SCHEDULE_INTERVAL_HOURS, value_parser = clap::value_parser!(u32).range(1..=8760))]
    pub schedule_interval_hours: u32,
    /// Clusters read at the same time
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u64).range(1..=256))]
    pub concurrency: u64,
    /// Also replace the fleet's index.html and fleet.json at the store prefix
    #[arg(long)]
    pub publish_index: bool,
    #[command(flatten)]
    pub s3: common::S3Args,
}

pub fn execute(args: FleetArgs, log: &LogArgs) -> CmdResult {
    match args.command {
        FleetCommand::Report(a) => report(a, log),
    }
}

/// Progress in the log when stderr is not a terminal (a CronJob): one line per tenth.
struct LoggedProgress {
    last_tenth: AtomicU64,
}

impl Progress for LoggedProgress {
    fn advance(&self, done: u64, total: u64) {
        let tenth = done * 10 / total.max(1);
        if self.last_tenth.swap(tenth, Ordering::Relaxed) != tenth || done == total {
            tracing::info!(done, total, "clusters read");
        }
    }
}

fn report(a: ReportArgs, log: &LogArgs) -> CmdResult {
    super::common::init_logging_from(log)?;
    let url = StoreUrl::parse(&a.store).map_err(Failure::usage)?;
    let options = FleetReadOptions {
        allowed_signers: common::allowed_signers(a.allowed_signers.as_deref())?,
        concurrency: a.concurrency as usize,
        tsa_certificate: match &a.tsa_certificate {
            Some(p) => Some(
                kube_evidence::run::inputs::load_timestamp_certificate(p)
                    .map_err(|e| Failure::error(e.to_string()))?,
            ),
            None => None,
        },
    };
    // Checked before the store is read, so a refused --out publishes nothing either.
    let local_store: Vec<&Path> = match &url {
        StoreUrl::Local(root) => vec![root.as_path()],
        StoreUrl::S3 { .. } => vec![],
    };
    let planned: Vec<Output> = fleet::render::FILE_NAMES
        .iter()
        .map(|name| Output::new(a.out.join(name), Vec::new()))
        .collect();
    common::check_outputs(&planned, &local_store)?;
    let now = common::clock()?.now();
    let s3 = common::s3_options(&a.s3)?;
    let progress: Box<dyn Progress> = if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        common::progress()
    } else {
        Box::new(LoggedProgress {
            last_tenth: AtomicU64::new(0),
        })
    };
    let rt = common::runtime();
    let doc = rt.block_on(async {
        let store = common::open_store(&url, &s3).await?;
        let reads = fleet::read_fleet(store.as_ref(), &options, progress.as_ref()).await?;
        let doc = fleet::build(
            &reads,
            &store.location(),
            now,
            a.schedule_interval_hours,
            options.allowed_signers.is_some(),
        );
        if a.publish_index {
            publish_index(store.as_ref(), &doc).await?;
        }
        anyhow::Ok(doc)
    })?;
    drop(progress);
    let files = fleet::render::files(&doc);
    let outputs: Vec<Output> = files
        .files
        .iter()
        .map(|(name, bytes)| Output::new(a.out.join(name), bytes.clone()))
        .collect();
    common::write_outputs(&outputs, &local_store)?;
    let t = &doc.totals;
    outln!(
        "{} cluster(s): {} current, {} overdue, {} not verified, {} without a pack; {} incomplete, {} with chain problems, {} time-stamped",
        t.clusters,
        t.current,
        t.overdue,
        t.not_verified,
        t.no_pack,
        t.incomplete,
        t.chain_problems,
        t.timestamped
    );
    for (name, _) in &files.files {
        outln!("written: {}", a.out.join(name).display());
    }
    if a.publish_index {
        outln!(
            "published: {}/{} and {}/{}",
            url,
            fleet::FLEET_INDEX_HTML,
            url,
            fleet::FLEET_JSON
        );
    }
    if t.not_verified > 0 {
        return Err(Failure::error(format!(
            "NOT VERIFIED: the latest pack of {} cluster(s) does not verify (see Problems in the report)",
            t.not_verified
        )));
    }
    Ok(Done::Ok)
}

/// The fleet's own objects at the prefix, replaced whole (readers see the old or the new page).
async fn publish_index(
    store: &dyn kube_evidence::store::Store,
    doc: &fleet::FleetDocument,
) -> anyhow::Result<()> {
    store
        .replace_pointer(
            fleet::FLEET_JSON,
            &fleet::render::json(doc),
            "application/json",
        )
        .await?;
    store
        .replace_pointer(
            fleet::FLEET_INDEX_HTML,
            &fleet::render::index_page(doc),
            "text/html; charset=utf-8",
        )
        .await?;
    Ok(())
}
