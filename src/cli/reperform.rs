//! `kube-evidence reperform TARGET`: verify a pack, compute its conclusions again from its own
//! data, and report every difference from what it states (exit 1 on any).

use super::common;
use super::logging::LogArgs;
use super::table::Format;
use super::{CmdResult, Done, Failure};
use clap::Args;
use kube_evidence::pack::previous::Trust;
use kube_evidence::pack::verify::VerifyOptions;
use kube_evidence::run::reperform::{ReperformError, reperform};
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct ReperformArgs {
    /// The pack: its directory, its s3:// URL, a cluster's latest.json, or a store with --cluster
    pub target: String,
    /// The cluster, when TARGET is a whole store
    #[arg(long, value_name = "NAME")]
    pub cluster: Option<String>,
    /// OpenSSH allowed-signers file naming the keys trusted to sign packs (this pack and the
    /// previous one it is compared with)
    #[arg(long, value_name = "FILE")]
    pub allowed_signers: Option<PathBuf>,
    /// Accept unsigned packs (reported as UNSIGNED either way)
    #[arg(long)]
    pub allow_unsigned: bool,
    /// The time-stamping authority's certificate, for timestamped packs
    #[arg(long, value_name = "FILE")]
    pub tsa_certificate: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    #[command(flatten)]
    pub s3: common::S3Args,
}

pub fn execute(args: ReperformArgs, log: &LogArgs) -> CmdResult {
    super::common::init_logging_from(log)?;
    let signers = common::allowed_signers(args.allowed_signers.as_deref())?;
    let tsa = match &args.tsa_certificate {
        Some(p) => Some(
            kube_evidence::run::inputs::load_timestamp_certificate(p)
                .map_err(|e| Failure::error(e.to_string()))?,
        ),
        None => None,
    };
    let opts = VerifyOptions {
        allowed_signers: signers.clone(),
        allow_unsigned: args.allow_unsigned,
        tsa_certificate: tsa.clone(),
        ..VerifyOptions::default()
    };
    let s3 = common::s3_options(&args.s3)?;
    let rt = common::runtime();
    let outcome = rt.block_on(async {
        let (store, prefix) =
            super::verify::resolve(&args.target, args.cluster.as_deref(), &s3).await?;
        let trust = Trust {
            signers: signers.as_deref(),
            tsa: tsa.as_ref(),
            strict_time: false,
        };
        anyhow::Ok(reperform(store.as_ref(), &prefix, &opts, trust).await)
    })?;
    let r = match outcome {
        Ok(r) => r,
        Err(ReperformError::NotVerified(verdict)) => {
            outln!("NOT VERIFIED {}: nothing was re-performed", verdict.pack_id);
            for c in verdict.checks.iter().filter(|c| !c.ok) {
                outln!("  FAIL {}: {}", c.name, c.detail);
            }
            return Err(Failure::Reported);
        }
        Err(e) => return Err(Failure::Error(e.into())),
    };
    match args.format {
        Format::Json => outln!("{}", serde_json::to_string_pretty(&r).expect("serialises")),
        Format::Table => {
            outln!(
                "pack {} ({}), verified{}; re-performed from its snapshot{}",
                r.pack_id,
                r.prefix,
                if r.verdict.signed { "" } else { " (UNSIGNED)" },
                r.previous
                    .as_ref()
                    .map(|p| format!(" and its previous pack {p}"))
                    .unwrap_or_default()
            );
            for s in &r.sections {
                outln!(
                    "  {} {}: {} compared{}",
                    if s.differences.is_empty() {
                        "same  "
                    } else {
                        "DIFFER"
                    },
                    s.name,
                    s.compared,
                    if s.differences.is_empty() {
                        String::new()
                    } else {
                        format!(", {} difference(s)", s.differences.len())
                    }
                );
                for d in &s.differences {
                    outln!("      {d}");
                }
            }
            if r.differences() == 0 {
                outln!("RE-PERFORMED: every conclusion follows from the pack's own data");
            } else {
                outln!(
                    "DIFFERS: {} conclusion(s) of the pack do not follow from its own data",
                    r.differences()
                );
            }
        }
    }
    if r.differences() == 0 {
        Ok(Done::Ok)
    } else {
        Err(Failure::Reported)
    }
}
