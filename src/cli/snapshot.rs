//! `kube-evidence snapshot`: collect only, or print the snapshot JSON Schema.

use super::common;
use super::logging::LogArgs;
use super::{CmdResult, Done, Failure};
use anyhow::Context;
use clap::Args;
use kube_evidence::config::{Overrides, Setting};
use kube_evidence::snapshot::{json_schema, snapshot_to_gzip};
use kube_evidence::source::{CollectContext, SourceSpec};
use kube_evidence::store::outputs::Output;
use std::path::PathBuf;

#[derive(Args, Debug)]
#[command(group = clap::ArgGroup::new("what").required(true).args(["schema", "output"]))]
pub struct SnapshotArgs {
    /// Print the JSON Schema of the snapshot format and exit
    #[arg(long, conflicts_with_all = ["output", "source"])]
    pub schema: bool,
    /// `cluster`, or a file or directory of dumped objects [env: KUBE_EVIDENCE_SOURCE]
    #[arg(long, value_name = "cluster|PATH")]
    pub source: Option<String>,
    /// Read the source as rendered manifests: namespaced objects without a namespace go in NS
    #[arg(long, value_name = "NS")]
    pub default_namespace: Option<String>,
    /// The snapshot file to write (gzip-compressed canonical JSON); never overwritten
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Cluster name recorded in the snapshot (default: the dump's file or directory name)
    #[arg(long, value_name = "NAME")]
    pub cluster_name: Option<String>,
    /// Run configuration file (for source settings)
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub cluster: common::ClusterArgs,
}

pub fn execute(args: SnapshotArgs, log: &LogArgs) -> CmdResult {
    if args.schema {
        let schema = serde_json::to_string_pretty(&json_schema()).expect("schema serialises");
        outln!("{schema}");
        return Ok(Done::Ok);
    }
    let mut flags = Overrides::default();
    flags.set_opt(Setting::Source, args.source.clone());
    flags.set_opt(Setting::DefaultNamespace, args.default_namespace.clone());
    flags.set_opt(Setting::ClusterName, args.cluster_name.clone());
    args.cluster.apply(&mut flags);
    let config = common::load_config(args.config.as_deref(), flags, log)?;
    let Some(source_spec) = config.source.clone() else {
        return Err(Failure::usage(
            "missing setting `source`: pass --source cluster|PATH",
        ));
    };
    let output = args
        .output
        .expect("clap requires --output without --schema");
    common::check_outputs(&[Output::new(&output, Vec::new())], &[])?;
    let cluster_name = config
        .cluster_name
        .clone()
        .unwrap_or_else(|| default_cluster_name(&source_spec));
    let clock = common::clock()?;
    let rt = common::runtime();
    let result = rt.block_on(async {
        let source = kube_evidence::source::open(&source_spec, &config.cluster_options())
            .await
            .with_context(|| format!("cannot open source {source_spec}"))?;
        let progress = common::progress();
        progress.stage("collecting");
        let snapshot = source
            .collect(&CollectContext {
                cluster_name: &cluster_name,
                taken_at: clock.now(),
                progress: progress.as_ref(),
            })
            .await?;
        anyhow::Ok(snapshot)
    });
    let snapshot = result?;
    common::write_outputs(&[Output::new(&output, snapshot_to_gzip(&snapshot))], &[])?;
    outln!(
        "snapshot of {} written to {} ({} ClusterRoles, {} Roles, {} ClusterRoleBindings, {} RoleBindings, {} ServiceAccounts, {} workloads)",
        cluster_name,
        output.display(),
        snapshot.cluster_roles.len(),
        snapshot.roles.len(),
        snapshot.cluster_role_bindings.len(),
        snapshot.role_bindings.len(),
        snapshot.service_accounts.len(),
        snapshot.workloads.len()
    );
    let incomplete = snapshot.collector.incomplete_kinds();
    if !incomplete.is_empty() {
        outln!("collection INCOMPLETE:");
    }
    for (kind, c) in &incomplete {
        outln!(
            "  {kind}: {}{}",
            c.status.as_str(),
            c.message
                .as_ref()
                .map(|m| format!(" ({m})"))
                .unwrap_or_default()
        );
    }
    if incomplete.is_empty() {
        Ok(Done::Ok)
    } else {
        Ok(Done::Incomplete)
    }
}

fn default_cluster_name(spec: &SourceSpec) -> String {
    let stem = match spec {
        SourceSpec::Cluster => None,
        SourceSpec::Dump(p) | SourceSpec::Manifests { path: p, .. } => p
            .canonicalize()
            .ok()
            .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().to_string())),
    };
    stem.filter(|s| kube_evidence::config::validate_cluster_name(s).is_ok())
        .unwrap_or_else(|| "unnamed".to_string())
}
