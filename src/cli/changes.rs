//! `kube-evidence changes --store ... --from ... --to ...`: the change population of a period.

use super::common;
use super::logging::LogArgs;
use super::{CmdResult, Done, Failure};
use anyhow::Context;
use chrono::NaiveDate;
use clap::{Args, ValueEnum};
use kube_evidence::pack::period;

#[derive(Debug, Clone, Copy, ValueEnum, Default, PartialEq, Eq)]
pub enum PopulationFormat {
    #[default]
    Csv,
    Json,
}

#[derive(Args, Debug)]
pub struct ChangesArgs {
    /// The store holding the packs: a directory or s3://BUCKET/PREFIX
    #[arg(long, value_name = "URL")]
    pub store: String,
    /// The cluster name
    #[arg(long, value_name = "NAME")]
    pub cluster: String,
    /// First day of the period (UTC, YYYY-MM-DD)
    #[arg(long, value_name = "DATE")]
    pub from: NaiveDate,
    /// Last day of the period (UTC, YYYY-MM-DD), inclusive
    #[arg(long, value_name = "DATE")]
    pub to: NaiveDate,
    /// Hours between scheduled runs, to find missing ones
    #[arg(long, default_value_t = kube_evidence::analysis::DEFAULT_SCHEDULE_INTERVAL_HOURS)]
    pub schedule_interval_hours: u32,
    #[arg(long, value_enum, default_value_t)]
    pub format: PopulationFormat,
    #[command(flatten)]
    pub trust: common::PackTrustArgs,
    #[command(flatten)]
    pub s3: common::S3Args,
}

pub fn execute(args: ChangesArgs, log: &LogArgs) -> CmdResult {
    super::common::init_logging_from(log)?;
    if args.to < args.from {
        return Err(Failure::usage(format!(
            "--to {} is before --from {}",
            args.to, args.from
        )));
    }
    let url = match kube_evidence::store::StoreUrl::parse(&args.store) {
        Ok(u) => u,
        Err(e) => {
            return Err(Failure::usage(format!("--store: {e}")));
        }
    };
    let clock = common::clock()?;
    let s3 = common::s3_options(&args.s3)?;
    let trust = args.trust.load()?;
    let rt = common::runtime();
    let result = rt.block_on(async {
        let store = common::open_store(&url, &s3).await?;
        let p = period::population(
            store.as_ref(),
            &args.cluster,
            args.from,
            args.to,
            args.schedule_interval_hours,
            clock.now(),
            trust.policy(),
        )
        .await
        .with_context(|| format!("cannot read the packs of {} in {url}", args.cluster))?;
        anyhow::Ok(p)
    });
    let p = result?;
    for g in &p.gaps {
        eprintln!("gap: {}", g.description);
    }
    match args.format {
        PopulationFormat::Json => {
            outln!("{}", serde_json::to_string_pretty(&p).expect("serialises"))
        }
        PopulationFormat::Csv => {
            super::write_stdout_bytes(&period::csv(&p));
        }
    }
    Ok(Done::Ok)
}
