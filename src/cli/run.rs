//! `kube-evidence run`: the full pipeline.

use super::common;
use super::exit;
use super::logging::LogArgs;
use anyhow::Context;
use clap::Args;
use kube_evidence::config::{Overrides, Setting};
use kube_evidence::run::{RunPlan, run};
use std::path::PathBuf;

#[derive(Args, Debug, Default)]
pub struct RunArgs {
    /// Run configuration file (YAML)
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// `cluster`, or a file or directory of dumped objects [env: KUBE_EVIDENCE_SOURCE]
    #[arg(long, value_name = "cluster|PATH")]
    pub source: Option<String>,
    /// Where packs go: DIR, file://DIR or s3://BUCKET/PREFIX [env: KUBE_EVIDENCE_OUT]
    #[arg(long, value_name = "URL")]
    pub out: Option<String>,
    /// Cluster name, used in pack paths [env: KUBE_EVIDENCE_CLUSTER_NAME]
    #[arg(long, value_name = "NAME")]
    pub cluster_name: Option<String>,
    /// Sub-processor inventory: FILE or configmap:NS/NAME [env: KUBE_EVIDENCE_INVENTORY]
    #[arg(long, value_name = "FILE")]
    pub inventory: Option<String>,
    /// Directory of control definitions [env: KUBE_EVIDENCE_CONTROLS]
    #[arg(long, value_name = "DIR")]
    pub controls: Option<String>,
    /// Exceptions (risk acceptance) file [env: KUBE_EVIDENCE_EXCEPTIONS]
    #[arg(long, value_name = "FILE")]
    pub exceptions: Option<String>,
    /// Exit 3 when an unaccepted finding has at least this severity [env: KUBE_EVIDENCE_FAIL_ON]
    #[arg(long, value_name = "SEVERITY")]
    pub fail_on: Option<String>,
    /// Ed25519 signing key file [env: KUBE_EVIDENCE_SIGNING_KEY_FILE]
    #[arg(long, value_name = "FILE")]
    pub signing_key: Option<String>,
    /// Publish without a signature (the pack says UNSIGNED); `--unsigned=false` overrides the
    /// file's `unsigned: true` [env: KUBE_EVIDENCE_UNSIGNED]
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = clap::builder::BoolishValueParser::new())]
    pub unsigned: Option<bool>,
    /// Allowed-signers file of the keys trusted to have signed earlier packs; the previous pack's
    /// signature must verify against it before the run chains to it [env: KUBE_EVIDENCE_ALLOWED_SIGNERS]
    #[arg(long, value_name = "FILE")]
    pub allowed_signers: Option<String>,
    /// Refuse to publish when collection is incomplete; `=false` overrides the file [env:
    /// KUBE_EVIDENCE_REQUIRE_COMPLETE]
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = clap::builder::BoolishValueParser::new())]
    pub require_complete: Option<bool>,
    #[command(flatten)]
    pub cluster: common::ClusterArgs,
    #[command(flatten)]
    pub s3: common::S3Args,
    /// Object Lock retention on every pack object, MODE:DAYS (GOVERNANCE or COMPLIANCE) [env: KUBE_EVIDENCE_OBJECT_LOCK]
    #[arg(long, value_name = "MODE:DAYS")]
    pub object_lock: Option<String>,
    /// Server-side encryption: AES256 or aws:kms [env: KUBE_EVIDENCE_SSE]
    #[arg(long, value_name = "ALGORITHM")]
    pub sse: Option<String>,
    /// KMS key id or ARN for --sse aws:kms [env: KUBE_EVIDENCE_SSE_KMS_KEY_ID]
    #[arg(long, value_name = "KEY")]
    pub sse_kms_key_id: Option<String>,
    /// Hours between scheduled runs: the period change management is judged over, and the
    /// gaps of the series (default 24) [env: KUBE_EVIDENCE_SCHEDULE_INTERVAL_HOURS]
    #[arg(long, value_name = "HOURS")]
    pub schedule_interval_hours: Option<String>,
}

impl RunArgs {
    fn overrides(&self) -> Overrides {
        let mut o = Overrides::default();
        o.set_opt(Setting::Source, self.source.clone());
        o.set_opt(Setting::Out, self.out.clone());
        o.set_opt(Setting::ClusterName, self.cluster_name.clone());
        o.set_opt(Setting::Inventory, self.inventory.clone());
        o.set_opt(Setting::Controls, self.controls.clone());
        o.set_opt(Setting::Exceptions, self.exceptions.clone());
        o.set_opt(Setting::FailOn, self.fail_on.clone());
        o.set_opt(Setting::SigningKey, self.signing_key.clone());
        o.set_opt(Setting::Unsigned, self.unsigned.map(|b| b.to_string()));
        o.set_opt(Setting::AllowedSigners, self.allowed_signers.clone());
        o.set_opt(
            Setting::RequireComplete,
            self.require_complete.map(|b| b.to_string()),
        );
        self.cluster.apply(&mut o);
        self.s3.apply(&mut o);
        o.set_opt(Setting::ObjectLock, self.object_lock.clone());
        o.set_opt(Setting::ServerSideEncryption, self.sse.clone());
        o.set_opt(Setting::SseKmsKeyId, self.sse_kms_key_id.clone());
        o.set_opt(
            Setting::ScheduleIntervalHours,
            self.schedule_interval_hours.clone(),
        );
        o
    }
}

pub fn execute(args: RunArgs, log: &LogArgs) -> u8 {
    let config = match common::load_config(args.config.as_deref(), args.overrides(), log) {
        Ok(c) => c,
        Err(code) => return code,
    };
    // The key text is read here and handed over zeroized; it is never logged or echoed.
    let key_text = std::env::var(kube_evidence::run::SIGNING_KEY_ENV)
        .ok()
        .filter(|t| !t.trim().is_empty())
        .map(zeroize::Zeroizing::new);
    let plan = match RunPlan::from_config(&config, key_text) {
        Ok(p) => p,
        Err(e) => return common::fail(e.into()),
    };
    let clock = match common::clock() {
        Ok(c) => c,
        Err(code) => return code,
    };
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
    let outcome = match result {
        Ok(o) => o,
        Err(e) => return common::fail(e),
    };
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
    for (framework, status, n) in &outcome.controls {
        by_framework
            .entry(framework)
            .or_default()
            .push(format!("{n} {status}"));
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
        exit::INCOMPLETE
    } else if outcome.fail_on_reached {
        exit::FINDINGS
    } else {
        exit::OK
    }
}
