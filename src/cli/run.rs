//! `kube-evidence run`: the full pipeline.

use super::common;
use super::logging::LogArgs;
use super::settings::{RunSettings, SettingFlags};
use super::{CmdResult, Done};
use anyhow::Context;
use clap::Args;
use kube_evidence::config::Overrides;
use kube_evidence::run::{RunPlan, run};
use std::path::PathBuf;

#[derive(Args, Debug, Default)]
pub struct RunArgs {
    /// Run configuration file (YAML)
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub settings: SettingFlags<RunSettings>,
}

impl RunArgs {
    fn overrides(&self) -> Overrides {
        self.settings.overrides()
    }
}

pub fn execute(args: RunArgs, log: &LogArgs) -> CmdResult {
    let config = common::load_config(args.config.as_deref(), args.overrides(), log)?;
    // The key text is read here and handed over zeroized; it is never logged or echoed.
    let key_text = std::env::var(kube_evidence::run::SIGNING_KEY_ENV)
        .ok()
        .filter(|t| !t.trim().is_empty())
        .map(zeroize::Zeroizing::new);
    let plan = RunPlan::from_config(&config, key_text)?;
    let clock = common::clock()?;
    let s3 = config.s3_options();
    let cluster = config.cluster_options();
    let rt = common::runtime();
    let result = rt.block_on(async {
        let source = kube_evidence::source::open(&plan.source, &cluster)
            .await
            .with_context(|| format!("cannot open source {}", plan.source))?;
        let store = kube_evidence::store::open(&plan.out, &s3)
            .await
            .with_context(|| format!("cannot open store {}", plan.out))?;
        let progress = common::progress();
        let outcome = run(
            &plan,
            source.as_ref(),
            store.as_ref(),
            clock.as_ref(),
            progress.as_ref(),
        )
        .await
        .with_context(|| format!("run for cluster {} failed", plan.cluster_name))?;
        anyhow::Ok(outcome)
    });
    let outcome = result?;
    outln!(
        "pack {} written to {}",
        outcome.pack_id,
        outcome.pack_location
    );
    match &outcome.previous_pack_id {
        Some(p) => outln!("previous pack: {p}"),
        None => outln!("first pack of this cluster: it is the baseline"),
    }
    if !outcome.collection_complete {
        outln!("collection INCOMPLETE:");
        for k in &outcome.incomplete_kinds {
            outln!("  {k}");
        }
    }
    let open: Vec<String> = outcome
        .summary
        .open
        .iter()
        .rev()
        .map(|(sev, n)| format!("{n} {sev}"))
        .collect();
    outln!(
        "findings: {} open ({}), {} accepted, {} about system components",
        outcome.summary.open.values().sum::<usize>(),
        open.join(", "),
        outcome.summary.accepted,
        outcome.summary.system
    );
    let mut by_framework: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
    for ((framework, status), n) in &outcome.controls {
        by_framework
            .entry(framework)
            .or_default()
            .push(format!("{n} {}", status.as_str()));
    }
    for (framework, parts) in by_framework {
        outln!("controls {framework}: {}", parts.join(", "));
    }
    if let Some(problem) = &outcome.index_problem {
        eprintln!(
            "warning: the pack is published, but the auditor index was not updated: {problem}"
        );
    }
    if !outcome.collection_complete {
        // The honest, incomplete pack is published; the job still fails so somebody looks.
        Ok(Done::Incomplete)
    } else if outcome.fail_on_reached {
        Ok(Done::FindingsAtFailOn)
    } else {
        Ok(Done::Ok)
    }
}
