//! `kube-evidence diff OLD NEW`.

use super::common;
use super::logging::LogArgs;
use super::{CmdResult, Done};
use anyhow::Context;
use clap::{Args, ValueEnum};
use kube_evidence::analysis::{AssessmentInput, assess};
use kube_evidence::controls::{ControlResult, Controls};
use kube_evidence::diff::{self, Side};
use kube_evidence::finding::Finding;
use kube_evidence::report::json::FindingsDocument;
use kube_evidence::snapshot::{Snapshot, read_snapshot_file};
use kube_evidence::source::dump::read_dump;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, ValueEnum, Default, PartialEq, Eq)]
pub enum DiffFormat {
    #[default]
    Table,
    Json,
    Csv,
}

#[derive(Args, Debug)]
pub struct DiffArgs {
    /// The older side: a snapshot file, a pack directory, a dump directory, or a pack in a
    /// bucket (s3://BUCKET/PREFIX/<cluster>/packs/YYYY/MM/DD/<id> or .../<cluster>/latest.json)
    pub old: PathBuf,
    /// The newer side
    pub new: PathBuf,
    /// Sub-processor inventory for sides that do not carry one (dumps, plain snapshots)
    #[arg(long, value_name = "FILE")]
    pub inventory: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t)]
    pub format: DiffFormat,
    #[command(flatten)]
    pub trust: common::PackTrustArgs,
    #[command(flatten)]
    pub s3: common::S3Args,
}

/// One side as read: the snapshot, the pack's findings document and pack id when it is a pack.
type SideData = (Snapshot, Option<FindingsDocument>, Option<String>);

/// A pack, in a bucket or a directory, read as every pack is ([`kube_evidence::pack::read`]):
/// its manifest and signature judged by the trust given, then its snapshot and findings each
/// checked against the size and SHA-256 its manifest records before it is parsed (a tampered or
/// truncated pack is an error, never half a diff).
async fn read_pack_side(
    target: &str,
    s3: &kube_evidence::store::s3::S3Options,
    trust: &common::PackTrust,
) -> anyhow::Result<SideData> {
    use kube_evidence::pack::{self, read};
    let (store, prefix) = super::verify::resolve(target, None, s3).await?;
    let opened = read::open_whole(store.as_ref(), read::Target::At(&prefix), trust.policy())
        .await
        .map_err(|e| verify_hint(e, target))?;
    let mut checked = Vec::new();
    for name in [pack::SNAPSHOT_FILE, kube_evidence::files::FINDINGS_JSON] {
        let bytes = opened
            .file(name)
            .await
            .map_err(|e| verify_hint(e, target))?;
        checked.push(bytes);
    }
    let snapshot = kube_evidence::snapshot::snapshot_from_bytes(&checked[0], target)?;
    let doc: FindingsDocument =
        serde_json::from_slice(&checked[1]).context("findings.json is not valid")?;
    let id = Some(doc.pack_id.clone());
    Ok((snapshot, Some(doc), id))
}

/// A pack that does not verify, with where to see every problem.
fn verify_hint(e: kube_evidence::pack::read::PackError, target: &str) -> anyhow::Error {
    anyhow::anyhow!("{e} (run `kube-evidence verify {target}` for every problem)")
}

struct Loaded {
    snapshot: Snapshot,
    findings: Vec<Finding>,
    controls: Vec<ControlResult>,
    register: Vec<kube_evidence::inventory::RegisterRow>,
    pack_id: Option<String>,
}

fn load_side(
    path: &Path,
    inventory: Option<&PathBuf>,
    now: chrono::DateTime<chrono::Utc>,
    read_pack: &dyn Fn(&str) -> anyhow::Result<SideData>,
) -> anyhow::Result<Loaded> {
    let is_pack = path.is_dir() && path.join(kube_evidence::files::MANIFEST).exists();
    let text = path.to_string_lossy();
    let (mut snapshot, doc, pack_id) = if text.starts_with("s3://") || is_pack {
        read_pack(&text)?
    } else if path.is_dir() {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_else(|| "dump".into());
        // A dump records no collection time. Files' modification times are the wall clock of
        // whoever copied them (two dumps can come out in the wrong order, and the same input
        // would not give the same output), so a dump is dated by the run's clock
        // (KUBE_EVIDENCE_NOW when injected); packs and snapshots keep the time they record.
        (
            read_dump(path, &name, now, format!("dump:{}", path.display()))?,
            None,
            None,
        )
    } else {
        (read_snapshot_file(path)?, None, None)
    };
    if snapshot.inventory.is_none()
        && let Some(inv) = inventory
    {
        snapshot.inventory = Some(kube_evidence::inventory::load_file(
            inv,
            snapshot.taken_at.date_naive(),
        )?);
    }
    let (findings, controls, register) = match doc {
        Some(d) => (d.findings, d.controls, d.register),
        None => {
            let a = assess(&AssessmentInput::snapshot_alone(
                &snapshot,
                &Controls::builtin(),
                &[],
            ));
            (a.analysis.findings, a.controls, a.analysis.register)
        }
    };
    Ok(Loaded {
        snapshot,
        findings,
        controls,
        register,
        pack_id,
    })
}

pub fn execute(args: DiffArgs, log: &LogArgs) -> CmdResult {
    super::common::init_logging_from(log)?;
    let clock = common::clock()?;
    let now = clock.now();
    let s3 = common::s3_options(&args.s3)?;
    let trust = args.trust.load()?;
    let rt = common::runtime();
    let read_pack = |target: &str| rt.block_on(read_pack_side(target, &s3, &trust));
    let sides = load_side(&args.old, args.inventory.as_ref(), now, &read_pack)
        .with_context(|| format!("cannot read {}", args.old.display()))
        .and_then(|o| {
            load_side(&args.new, args.inventory.as_ref(), now, &read_pack)
                .with_context(|| format!("cannot read {}", args.new.display()))
                .map(|n| (o, n))
        });
    let (old, new) = sides?;
    let mut d = diff::compute(
        &Side {
            snapshot: &old.snapshot,
            findings: &old.findings,
            controls: &old.controls,
            pack_id: old.pack_id.as_deref(),
        },
        &Side {
            snapshot: &new.snapshot,
            findings: &new.findings,
            controls: &new.controls,
            pack_id: new.pack_id.as_deref(),
        },
    );
    diff::add_register_changes(&mut d.sub_processors, &old.register, &new.register);
    match args.format {
        DiffFormat::Table => out!("{}", diff::render::table(&d)),
        DiffFormat::Json => outln!("{}", serde_json::to_string_pretty(&d).expect("serialises")),
        DiffFormat::Csv => {
            super::write_stdout_bytes(&diff::render::changes_csv(&d));
        }
    }
    Ok(Done::Ok)
}
