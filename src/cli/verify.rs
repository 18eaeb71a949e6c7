//! `kube-evidence verify`: a pack, or a chain of them, as an auditor checks it.

use super::common;
use super::logging::LogArgs;
use super::table::Format;
use super::{CmdResult, Done, Failure};
use anyhow::Context;
use chrono::NaiveDate;
use clap::Args;
use kube_evidence::pack;
use kube_evidence::pack::verify::{VerifyOptions, verify};
use kube_evidence::store::{self, Store, StoreUrl};
use std::path::{Path, PathBuf};

#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// A pack directory, a latest.json, or a store (directory or s3://BUCKET/PREFIX) with --cluster
    pub target: String,
    /// The cluster, when TARGET is a whole store
    #[arg(long, value_name = "NAME")]
    pub cluster: Option<String>,
    /// OpenSSH allowed-signers file naming the keys trusted to sign packs
    #[arg(long, value_name = "FILE")]
    pub allowed_signers: Option<PathBuf>,
    /// Also verify every previous pack, each link of the chain, and gaps in the series
    #[arg(long)]
    pub chain: bool,
    /// With --chain: stop at packs collected before this day (YYYY-MM-DD)
    #[arg(long, value_name = "DATE")]
    pub since: Option<NaiveDate>,
    /// Hours between scheduled runs, to find gaps
    #[arg(long, default_value_t = kube_evidence::analysis::DEFAULT_SCHEDULE_INTERVAL_HOURS)]
    pub schedule_interval_hours: u32,
    /// Accept unsigned packs (reported as UNSIGNED either way)
    #[arg(long)]
    pub allow_unsigned: bool,
    /// Reading from S3: how many minutes a pack's claimed publication time may differ from the
    /// time the store recorded for its manifest
    #[arg(long, value_name = "MINUTES", default_value_t = kube_evidence::pack::verify::DEFAULT_MAX_CLOCK_SKEW_MINUTES)]
    pub max_clock_skew_minutes: i64,
    /// Reading from S3: the day every pack object must be retained until (Object Lock); default
    /// one year after --audit-period-end
    #[arg(long, value_name = "DATE", conflicts_with = "audit_period_end")]
    pub retention_horizon: Option<NaiveDate>,
    /// The last day of the audit period (YYYY-MM-DD); default each pack's own day
    #[arg(long, value_name = "DATE")]
    pub audit_period_end: Option<NaiveDate>,
    /// Fail packs whose retention ends before the horizon (they are flagged either way)
    #[arg(long)]
    pub require_retention: bool,
    /// Count Object Lock in GOVERNANCE mode as retention (by default it is flagged: holders of
    /// s3:BypassGovernanceRetention can delete such objects; attach who holds it)
    #[arg(long)]
    pub accept_governance: bool,
    /// The time-stamping authority's certificate (PEM or DER): checks RFC 3161 tokens, whose time
    /// then decides the signing key's validity
    #[arg(long, value_name = "FILE")]
    pub tsa_certificate: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    #[command(flatten)]
    pub s3: common::S3Args,
}

/// What to verify: a store and the prefix of the pack to start from.
pub async fn resolve(
    target: &str,
    cluster: Option<&str>,
    s3: &store::s3::S3Options,
) -> anyhow::Result<(Box<dyn Store>, String)> {
    if target.starts_with("s3://") {
        return resolve_s3(target, cluster, s3).await;
    }
    let path = PathBuf::from(target);
    if path.file_name().is_some_and(|n| n == pack::LATEST_FILE) {
        return resolve_latest_file(&path, cluster, s3).await;
    }
    if path.join(pack::MANIFEST_FILE).exists() {
        return resolve_pack_dir(&path, s3).await;
    }
    if path.is_dir() {
        return resolve_store_dir(&path, cluster, s3).await;
    }
    anyhow::bail!("{target} is not a pack directory, a latest.json or a store")
}

/// `s3://BUCKET/PREFIX/<cluster>/packs/...` (that pack), `.../<cluster>/latest.json` (the pack it
/// points to), or a store with `--cluster`.
async fn resolve_s3(
    target: &str,
    cluster: Option<&str>,
    s3: &store::s3::S3Options,
) -> anyhow::Result<(Box<dyn Store>, String)> {
    let url = StoreUrl::parse(target).map_err(anyhow::Error::msg)?;
    // s3://BUCKET/PREFIX/<cluster>/packs/YYYY/MM/DD/<id>: that pack.
    if let Some((root, pack)) = store::split_pack_url(&url) {
        return Ok((common::open_store(&root, s3).await?, pack));
    }
    // s3://BUCKET/PREFIX/<cluster>/latest.json: the pack it points to.
    if let StoreUrl::S3 { bucket, prefix } = &url
        && let Some(rest) = prefix.strip_suffix(&format!("/{}", pack::LATEST_FILE))
    {
        let (root, name) = rest.rsplit_once('/').unwrap_or(("", rest));
        let root = StoreUrl::S3 {
            bucket: bucket.clone(),
            prefix: root.to_string(),
        };
        let store = common::open_store(&root, s3).await?;
        let path = pointed_pack(store.as_ref(), name, &url.to_string()).await?;
        return Ok((store, path));
    }
    let store = common::open_store(&url, s3).await?;
    let cluster = cluster.context(
        "verifying a whole store needs --cluster NAME (or give the pack's URL or its latest.json)",
    )?;
    let path = pointed_pack(store.as_ref(), cluster, &url.to_string()).await?;
    Ok((store, path))
}

/// The pack `cluster`'s `latest.json` points to, read through the store (which refuses links)
/// and checked as every reader checks a pointer: one of this cluster's packs, at its place.
async fn pointed_pack(store: &dyn Store, cluster: &str, shown: &str) -> anyhow::Result<String> {
    let latest = pack::read_latest(store, cluster)
        .await?
        .with_context(|| format!("{cluster} has no latest.json in {shown}"))?;
    pack::previous::check_pointer(cluster, &latest).map_err(anyhow::Error::msg)?;
    // A pointer moved back (with an index of its day to match) hides the packs after it; an
    // auditor is told, as the run is.
    let listed = store.list(&pack::packs_prefix(cluster)).await?;
    let beyond = pack::previous::pack_newer_than(
        store,
        &listed,
        Some(&latest.pack_id),
        pack::previous::Trust::default(),
    )
    .await;
    // The pack's own predecessor, newer by its id than the pack itself, is a chain whose time
    // runs backwards: `--chain` names that, pack by pack.
    let predecessor = store
        .get_limited(
            &format!("{}/{}", latest.path, pack::MANIFEST_FILE),
            pack::MAX_MANIFEST_BYTES,
        )
        .await?
        .and_then(|b| pack::Manifest::from_bytes(&b).ok())
        .map(|m| m.previous.pack_id);
    if let Some((newer, path)) = beyond.newer
        && predecessor.as_deref() != Some(newer.as_str())
    {
        anyhow::bail!(
            "{shown} holds pack {newer} ({path}), newer than the pack {} that {cluster}/latest.json names: latest.json was moved back, or a publication stopped before moving it; verify {path} itself, and ask the cluster's owner why the pointer does not name it",
            latest.pack_id
        );
    }
    Ok(latest.path)
}

/// `<root>/<cluster>/latest.json` on disk: the pack it points to.
async fn resolve_latest_file(
    path: &Path,
    asked: Option<&str>,
    s3: &store::s3::S3Options,
) -> anyhow::Result<(Box<dyn Store>, String)> {
    // <root>/<cluster>/latest.json, read through the store like any other pointer.
    let folder = path.parent().filter(|p| !p.as_os_str().is_empty());
    let (Some(root), Some(cluster)) = (
        folder.and_then(Path::parent),
        folder.and_then(Path::file_name),
    ) else {
        anyhow::bail!(
            "{}: latest.json must sit in <store>/<cluster>/",
            path.display()
        );
    };
    let cluster = cluster.to_string_lossy().to_string();
    if let Some(asked) = asked
        && asked != cluster
    {
        anyhow::bail!(
            "{} is cluster {cluster}'s latest.json, not cluster {asked}'s",
            path.display()
        );
    }
    let root = if root.as_os_str().is_empty() {
        Path::new(".")
    } else {
        root
    };
    let store = common::open_store(&StoreUrl::Local(root.to_path_buf()), s3).await?;
    let pack = pointed_pack(store.as_ref(), &cluster, &root.display().to_string()).await?;
    Ok((store, pack))
}

/// A pack directory: inside its store when it sits at its own prefix there (so its chain can be
/// walked), otherwise where it is ([`pack::read::locate_folder`]).
async fn resolve_pack_dir(
    path: &Path,
    _s3: &store::s3::S3Options,
) -> anyhow::Result<(Box<dyn Store>, String)> {
    let (store, prefix) = pack::read::locate_folder(path)?;
    Ok((Box::new(store), prefix))
}

/// A local store: its only cluster, or `--cluster`.
async fn resolve_store_dir(
    path: &Path,
    cluster: Option<&str>,
    s3: &store::s3::S3Options,
) -> anyhow::Result<(Box<dyn Store>, String)> {
    let cluster = match cluster {
        Some(c) => c.to_string(),
        None => {
            let found: Vec<String> = std::fs::read_dir(path)?
                .filter_map(|e| e.ok())
                .filter(|e| e.path().join(pack::LATEST_FILE).exists())
                .map(|e| e.file_name().to_string_lossy().to_string())
                .collect();
            match found.as_slice() {
                [one] => one.clone(),
                [] => anyhow::bail!("{} holds no cluster with a latest.json", path.display()),
                many => anyhow::bail!(
                    "{} holds several clusters ({}); pass --cluster",
                    path.display(),
                    many.join(", ")
                ),
            }
        }
    };
    let store = common::open_store(&StoreUrl::Local(path.to_path_buf()), s3).await?;
    let pack = pointed_pack(store.as_ref(), &cluster, &path.display().to_string()).await?;
    Ok((store, pack))
}

pub fn execute(args: VerifyArgs, log: &LogArgs) -> CmdResult {
    super::common::init_logging_from(log)?;
    let signers = common::allowed_signers(args.allowed_signers.as_deref())?;
    let opts = VerifyOptions {
        allowed_signers: signers,
        allow_unsigned: args.allow_unsigned,
        chain: args.chain,
        since: args.since,
        schedule_interval_hours: args.schedule_interval_hours,
        max_clock_skew: chrono::Duration::minutes(args.max_clock_skew_minutes),
        retention_horizon: args.retention_horizon,
        audit_period_end: args.audit_period_end,
        require_retention: args.require_retention,
        accept_governance: args.accept_governance,
        tsa_certificate: match &args.tsa_certificate {
            Some(p) => Some(
                kube_evidence::run::inputs::load_timestamp_certificate(p)
                    .map_err(|e| Failure::error(e.to_string()))?,
            ),
            None => None,
        },
    };
    let s3 = common::s3_options(&args.s3)?;
    let rt = common::runtime();
    let report = rt.block_on(async {
        let (store, prefix) = resolve(&args.target, args.cluster.as_deref(), &s3).await?;
        anyhow::Ok(verify(store.as_ref(), &prefix, &opts).await)
    });
    let report = report?;
    match args.format {
        Format::Json => outln!(
            "{}",
            serde_json::to_string_pretty(&report).expect("serialises")
        ),
        Format::Table => {
            for p in &report.packs {
                outln!(
                    "{} {}{}",
                    if p.ok { "PASS" } else { "FAIL" },
                    p.pack_id,
                    if p.signed { "" } else { " (UNSIGNED)" }
                );
                for c in &p.checks {
                    outln!(
                        "  {} {}: {}",
                        if c.ok { "ok  " } else { "FAIL" },
                        c.name,
                        c.detail
                    );
                }
                if let Some(r) = p.retention.as_ref().filter(|r| !r.flagged) {
                    outln!("  ok   retention: {}", r.summary);
                }
                if let Some(r) = p
                    .retention
                    .as_ref()
                    .filter(|r| r.flagged && !args.require_retention)
                {
                    outln!("  FLAG retention: {}", r.summary);
                }
            }
            for g in &report.gaps {
                outln!("GAP   {g}");
            }
            for b in &report.breaks {
                outln!("BREAK {b}");
            }
            outln!(
                "{}: {} pack(s) checked, {} gap(s), {} break(s){}",
                if report.ok {
                    "VERIFIED"
                } else {
                    "NOT VERIFIED"
                },
                report.packs.len(),
                report.gaps.len(),
                report.breaks.len(),
                if report.retention_flagged.is_empty() {
                    String::new()
                } else {
                    format!(
                        "; {} pack(s) retained for less than the horizon",
                        report.retention_flagged.len()
                    )
                }
            );
        }
    }
    if report.ok {
        Ok(Done::Ok)
    } else {
        Err(Failure::Reported)
    }
}
