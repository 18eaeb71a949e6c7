//! The `run` pipeline: source -> snapshot -> pack -> store, under the store's publish lock.
//!
//! This is the only place that sequences the stages; each stage stays a plain function. The run
//! takes its clock and progress sink from the caller, so tests pin time and the library never
//! prints.

use crate::analysis::analyze;
use crate::clock::Clock;
use crate::config::{Config, ConfigError};
use crate::diag::Diagnostics;
use crate::finding::Severity;
use crate::inventory::{self, InventoryError, InventoryRef};
use crate::pack::{self, Manifest, PackFile, PreviousPack, ToolInfo};
use crate::progress::Progress;
use crate::report::{self, ReportInput};
use crate::snapshot::{Snapshot, snapshot_to_gzip, snapshot_to_json};
use crate::source::{CollectContext, Source, SourceError, SourceSpec};
use crate::store::{Store, StoreError, StoreUrl};

/// Everything a run needs, validated.
#[derive(Debug, Clone)]
pub struct RunPlan {
    pub cluster_name: String,
    pub source: SourceSpec,
    pub out: StoreUrl,
    pub inventory: Option<InventoryRef>,
    pub fail_on: Option<Severity>,
    pub require_complete: bool,
}

impl RunPlan {
    pub fn from_config(config: &Config) -> Result<RunPlan, ConfigError> {
        config.require_for_run()?;
        Ok(RunPlan {
            cluster_name: config.cluster_name.clone().expect("checked above"),
            source: config.source.clone().expect("checked above"),
            out: config.out.clone().expect("checked above"),
            inventory: config.inventory.clone(),
            fail_on: config.fail_on,
            require_complete: config.require_complete,
        })
    }
}

/// What a finished run produced.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    pub pack_id: String,
    /// Where the pack is, as `<store location>/<prefix>`.
    pub pack_location: String,
    pub previous_pack_id: Option<String>,
    pub collection_complete: bool,
    /// Kinds not collected completely, as `Kind (status: message)`.
    pub incomplete_kinds: Vec<String>,
    /// True when an unaccepted finding reached the `--fail-on` severity.
    pub fail_on_reached: bool,
    pub summary: report::json::Summary,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error("publishing the pack failed: {0}")]
    Store(#[from] StoreError),
    #[error("the previous pack cannot be read: {0}")]
    Previous(#[from] pack::PackReadError),
    #[error(
        "collection is incomplete and --require-complete is set, so nothing was published:\n{0}"
    )]
    Incomplete(Diagnostics),
    #[error(transparent)]
    Inventory(#[from] InventoryError),
}

pub fn tool_info() -> ToolInfo {
    ToolInfo {
        name: crate::TOOL_NAME.to_string(),
        version: crate::TOOL_VERSION.to_string(),
        revision: crate::TOOL_REVISION.to_string(),
    }
}

/// Runs the whole pipeline once.
pub async fn run(
    plan: &RunPlan,
    source: &dyn Source,
    store: &dyn Store,
    clock: &dyn Clock,
    progress: &dyn Progress,
) -> Result<RunOutcome, RunError> {
    let cluster = plan.cluster_name.as_str();
    // One publisher per cluster at a time: a second run waits, then chains to the first.
    let _lock = store.lock(cluster).await?;
    let previous = pack::read_latest(store, cluster).await?;
    if let Some(p) = &previous {
        tracing::info!(pack = %p.pack_id, "previous pack found");
    } else {
        tracing::info!("no previous pack: this pack is the cluster's baseline");
    }

    let taken_at = clock.now();
    // A bad inventory fails the run before anything is collected or published.
    let inventory = match &plan.inventory {
        Some(r) => Some(inventory::load(r, Some(source), taken_at.date_naive()).await?),
        None => None,
    };

    progress.stage("collecting");
    let mut snapshot = source
        .collect(&CollectContext {
            cluster_name: cluster,
            taken_at,
            progress,
        })
        .await?;
    let incomplete = describe_incomplete(&snapshot);
    if plan.require_complete && !incomplete.is_empty() {
        let mut d = Diagnostics::new();
        for line in &incomplete {
            d.push(&source.describe(), None, line.clone());
        }
        return Err(RunError::Incomplete(d));
    }
    for line in &incomplete {
        tracing::warn!(kind = %line, "collection incomplete");
    }
    snapshot.inventory = inventory;

    progress.stage("analysing");
    let analysis = analyze(&snapshot, None, taken_at.date_naive()).analysis;

    progress.stage("assembling the pack");
    let snapshot_json = snapshot_to_json(&snapshot);
    let snapshot_digest = pack::sha256_hex(&snapshot_json);
    let id = pack::pack_id(snapshot.taken_at, &snapshot_digest);
    let input = ReportInput {
        pack_id: &id,
        snapshot: &snapshot,
        analysis: &analysis,
        generated_at: taken_at,
    };
    let mut files = vec![
        PackFile::new(
            pack::SNAPSHOT_FILE,
            snapshot_to_gzip(&snapshot),
            "application/gzip",
        ),
        PackFile::new(
            "findings.json",
            report::json::findings(&input),
            "application/json",
        ),
        PackFile::new(
            "findings.csv",
            report::csv::findings(&analysis),
            "text/csv; charset=utf-8",
        ),
        PackFile::new(
            "access-matrix.csv",
            report::csv::access_matrix(&analysis),
            "text/csv; charset=utf-8",
        ),
    ];
    if snapshot.inventory.is_some() {
        files.push(PackFile::new(
            "subprocessors.csv",
            report::csv::subprocessors(&analysis.register),
            "text/csv; charset=utf-8",
        ));
    }
    let manifest = Manifest {
        manifest_version: pack::manifest::MANIFEST_VERSION,
        pack_id: id.clone(),
        cluster: pack::manifest::ManifestCluster {
            name: cluster.to_string(),
            id: snapshot.cluster.id.clone().unwrap_or_default(),
        },
        collected_at: snapshot.taken_at,
        published_at: clock.now(),
        tool: tool_info(),
        ruleset_digest: crate::rules::catalog::digest(),
        controls_digest: String::new(),
        collection_complete: snapshot.collector.is_complete(),
        signing_key_fingerprint: String::new(),
        signed: false,
        previous: previous
            .as_ref()
            .map(|p| PreviousPack {
                pack_id: p.pack_id.clone(),
                path: p.path.clone(),
                manifest_sha256: p.manifest_sha256.clone(),
            })
            .unwrap_or_default(),
        files: Vec::new(),
    };
    let built = pack::assemble(manifest, files);

    progress.stage("publishing");
    pack::publish(store, &built).await?;
    tracing::info!(pack = %built.id, location = %store.location(), "pack published");

    Ok(RunOutcome {
        pack_id: built.id.clone(),
        pack_location: format!(
            "{}/{}",
            store.location().trim_end_matches('/'),
            built.prefix
        ),
        previous_pack_id: previous.map(|p| p.pack_id),
        collection_complete: snapshot.collector.is_complete(),
        incomplete_kinds: incomplete,
        fail_on_reached: plan.fail_on.is_some_and(|level| {
            analysis
                .findings
                .iter()
                .any(|f| f.is_open() && !f.system && f.severity >= level)
        }),
        summary: report::json::summary(&analysis.findings),
    })
}

fn describe_incomplete(snapshot: &Snapshot) -> Vec<String> {
    snapshot
        .collector
        .incomplete_kinds()
        .into_iter()
        .map(|(kind, c)| match &c.message {
            Some(m) => format!("{kind}: {} ({m})", c.status.as_str()),
            None => format!("{kind}: {}", c.status.as_str()),
        })
        .collect()
}
