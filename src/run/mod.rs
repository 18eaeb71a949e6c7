//! The `run` pipeline: inputs -> source -> snapshot -> assessment -> pack -> store, under the
//! store's publish lock.
//!
//! This is the only place that sequences the stages; each stage stays a plain function. Every
//! input a person wrote (inventory, controls, exceptions) is validated before anything is
//! collected. The run takes its clock and progress sink from the caller, so tests pin time and
//! the library never prints.

use crate::analysis::{AssessmentInput, assess};
use crate::clock::Clock;
use crate::config::{Config, ConfigError};
use crate::controls::ControlsError;
use crate::diag::Diagnostics;
use crate::exceptions::ExceptionsError;
use crate::finding::Severity;
use crate::inventory::{InventoryError, InventoryRef};
use crate::pack::previous::VerifiedPrevious;
use crate::pack::sign::{AllowedSigner, SignError, SigningKey};
use crate::pack::{self, Manifest, PreviousPack, ToolInfo};
use crate::progress::Progress;
use crate::report::{self, ReportInput};
use crate::snapshot::{Snapshot, canonical_json};
use crate::source::{CollectContext, Source, SourceError, SourceSpec};
use crate::store::{Store, StoreError, StoreUrl};
use std::path::PathBuf;
use zeroize::Zeroizing;

pub mod inputs;
pub mod reperform;
pub mod reviews;
pub mod timestamp;

pub use inputs::{Inputs, load_allowed_signers, load_inputs, load_inventory};

/// How the run signs its pack.
#[derive(Clone)]
pub enum Signing {
    /// An OpenSSH Ed25519 private key file (typically a mounted Kubernetes Secret).
    KeyFile(PathBuf),
    /// The key text itself, from `KUBE_EVIDENCE_SIGNING_KEY`.
    KeyText(Zeroizing<String>),
    /// Explicitly unsigned: the pack and every report say UNSIGNED.
    Unsigned,
}

impl std::fmt::Debug for Signing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Signing::KeyFile(p) => write!(f, "KeyFile({})", p.display()),
            Signing::KeyText(_) => f.write_str("KeyText(<redacted>)"),
            Signing::Unsigned => f.write_str("Unsigned"),
        }
    }
}

/// The environment variable that may hold the signing key text.
pub const SIGNING_KEY_ENV: &str = crate::config::SIGNING_KEY_TEXT_ENV;

impl Signing {
    /// Loads the key (before anything is collected, so a run that cannot sign fails at once).
    pub fn load(&self) -> Result<Option<SigningKey>, SignError> {
        match self {
            Signing::KeyFile(p) => SigningKey::load_file(p).map(Some),
            Signing::KeyText(t) => SigningKey::from_openssh(t, SIGNING_KEY_ENV).map(Some),
            Signing::Unsigned => Ok(None),
        }
    }
}

/// Everything a run needs, validated.
#[derive(Debug, Clone)]
pub struct RunPlan {
    pub signing: Signing,
    pub cluster_name: String,
    pub source: SourceSpec,
    pub out: StoreUrl,
    pub inventory: Option<InventoryRef>,
    pub controls_dir: Option<PathBuf>,
    pub exceptions: Option<PathBuf>,
    pub fail_on: Option<Severity>,
    pub require_complete: bool,
    /// Sub-processor images unchanged for longer are findings (KE-UPD-003).
    pub image_max_age_days: u32,
    pub schedule_interval_hours: u32,
    /// Keys trusted to have signed the previous pack.
    pub allowed_signers: Option<PathBuf>,
    /// The API server's audit log, and how use is judged.
    pub audit_log: Option<crate::audit::AuditLogPlan>,
    /// How recent a review decision must be to count.
    pub review_period_days: u32,
    /// An RFC 3161 time-stamping authority and its certificate (both or neither).
    pub timestamp_authority: Option<(String, PathBuf)>,
}

impl RunPlan {
    /// `key_text` is the content of `KUBE_EVIDENCE_SIGNING_KEY`, if set.
    pub fn from_config(
        config: &Config,
        key_text: Option<Zeroizing<String>>,
    ) -> Result<RunPlan, ConfigError> {
        config.require_for_run()?;
        let key_text = key_text.filter(|_| !config.key_text_overridden);
        let signing = match (&config.signing_key, key_text, config.unsigned) {
            (Some(p), None, false) => Signing::KeyFile(p.clone()),
            (None, Some(t), false) => Signing::KeyText(t),
            (None, None, true) => Signing::Unsigned,
            (None, None, false) => {
                let mut d = Diagnostics::new();
                d.push(
                    "configuration",
                    None,
                    format!("no signing key: set `signingKey` (--signing-key, KUBE_EVIDENCE_SIGNING_KEY_FILE), put the key in {SIGNING_KEY_ENV}, or publish explicitly unsigned with --unsigned"),
                );
                return Err(ConfigError::Invalid(d));
            }
            _ => {
                let mut d = Diagnostics::new();
                d.push(
                    "configuration",
                    None,
                    format!("choose one of a signing key file, {SIGNING_KEY_ENV} and --unsigned"),
                );
                return Err(ConfigError::Invalid(d));
            }
        };
        Ok(RunPlan {
            signing,
            cluster_name: config.cluster_name.clone().expect("checked above"),
            source: config.source.clone().expect("checked above"),
            out: config.out.clone().expect("checked above"),
            inventory: config.inventory.clone(),
            controls_dir: config.controls.clone(),
            exceptions: config.exceptions.clone(),
            fail_on: config.fail_on,
            require_complete: config.require_complete,
            schedule_interval_hours: config.schedule_interval_hours,
            allowed_signers: config.allowed_signers.clone(),
            review_period_days: config.review_period_days,
            timestamp_authority: config
                .timestamp_authority
                .clone()
                .zip(config.timestamp_authority_certificate.clone()),
            image_max_age_days: config.image_max_age_days,
            audit_log: config
                .audit_log
                .clone()
                .map(|location| crate::audit::AuditLogPlan {
                    location,
                    read: crate::audit::ReadOptions {
                        max_malformed_share: config.audit_log_max_malformed_percent / 100.0,
                        ..crate::audit::ReadOptions::default()
                    },
                    usage: crate::audit::UsageOptions {
                        window_days: config.usage_window_days,
                        rate_multiple: config.anomaly_rate_multiple,
                    },
                    s3: crate::store::s3::S3Options {
                        object_lock: None,
                        encryption: None,
                        ..config.s3_options()
                    },
                }),
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
    /// Required kinds not collected completely, as `Kind: status (message)`.
    pub incomplete_kinds: Vec<String>,
    /// True when an unaccepted finding reached the `--fail-on` severity.
    pub fail_on_reached: bool,
    pub summary: report::json::Summary,
    /// Control counts by status, per framework (statuses no control has left out).
    pub controls: crate::controls::evaluate::ControlCounts,
    /// Why `<cluster>/index.html` could not be refreshed, if it could not.
    pub index_problem: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Source(#[from] SourceError),
    // The store error is the source, shown by the caller's error chain, not repeated here.
    #[error("publishing the pack failed")]
    Store(#[from] StoreError),
    #[error("the store's packs cannot be listed, so nothing was published")]
    StoreUnreadable(#[source] StoreError),
    #[error(transparent)]
    Previous(#[from] pack::previous::PreviousPackError),
    #[error("cannot make the pack's attestation")]
    Attestation(#[source] pack::attest::StatementError),
    #[error("timestamping the manifest failed, so nothing was published")]
    Timestamp(#[source] timestamp::StampError),
    #[error("the time-stamping authority's certificate {path}: {message}")]
    TimestampCertificate { path: String, message: String },
    #[error("cannot read the allowed signers {path}: {message}")]
    AllowedSigners { path: String, message: String },
    #[error("cannot read the allowed signers {path}")]
    ReadAllowedSigners {
        path: String,
        #[source]
        source: crate::input::InputError,
    },
    #[error(
        "collection is incomplete and --require-complete is set, so nothing was published:\n{0}"
    )]
    Incomplete(Diagnostics),
    #[error("there is no RBAC state to assess, so nothing was published:\n{0}")]
    NoRbac(Diagnostics),
    #[error(
        "this run's clock says {now}, which is not after the previous pack {previous} (collected at {previous_at}); a chain's times only go forward, so nothing was published. Check the clock (or KUBE_EVIDENCE_NOW)"
    )]
    ClockBehind {
        now: chrono::DateTime<chrono::Utc>,
        previous: String,
        previous_at: chrono::DateTime<chrono::Utc>,
    },
    #[error(
        "{store} holds pack {newer}, {}: latest.json was moved back, removed, or a publication stopped before moving it. Nothing was published: chaining past {newer} would leave it out of the chain. Check it with `kube-evidence verify {store}/{path}`: point {latest} at it if it verifies; if it is not this cluster's evidence, move it out of the store",
        .named.as_deref().map_or_else(|| format!("and {latest} names no pack"), |n| format!("newer than the pack {n} that {latest} names"))
    )]
    PointerBehind {
        store: String,
        latest: String,
        named: Option<String>,
        newer: String,
        path: String,
    },
    #[error(transparent)]
    Inventory(#[from] InventoryError),
    #[error(transparent)]
    Controls(#[from] ControlsError),
    #[error(transparent)]
    Exceptions(#[from] ExceptionsError),
    #[error(transparent)]
    Signing(#[from] SignError),
    #[error(transparent)]
    AuditLog(#[from] crate::audit::AuditError),
    #[error("the access review campaigns could not be read")]
    Reviews(#[from] reviews::ReviewError),
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
    // A run that cannot sign fails before it collects anything.
    let key = plan.signing.load()?;
    let taken_at = clock.now();
    // Every input a person wrote fails the run before anything is collected or published.
    let inputs = load_inputs(
        plan.controls_dir.as_deref(),
        plan.exceptions.as_deref(),
        plan.inventory.as_ref(),
        Some(source),
        taken_at.date_naive(),
    )
    .await?;
    let inputs = Inputs {
        trusted_signers: plan
            .allowed_signers
            .as_deref()
            .map(load_allowed_signers)
            .transpose()?,
        timestamp_certificate: plan
            .timestamp_authority
            .as_ref()
            .map(|(_, cert)| inputs::load_timestamp_certificate(cert))
            .transpose()?,
        ..inputs
    };

    // One publisher per cluster at a time: a second run waits, then chains to the first.
    let lock = store.lock(cluster).await?;
    // The collection time is read once the lock is held: a run that waited for another one
    // collects after it, so the chain's times go forward.
    let taken_at = clock.now().max(taken_at);
    let parts = RunParts {
        plan,
        source,
        store,
        clock,
        progress,
        key,
    };
    let result = collect_and_publish(&parts, inputs, taken_at).await;
    if let Err(e) = lock.release().await {
        // The lock ends by itself (process exit, lease expiry); the evidence is already safe.
        tracing::warn!(error = %e, "could not release the publish lock");
    }
    result
}

/// The keys that what the store holds (the previous pack, campaigns, the index) must be signed
/// by to be trusted: those trusted for packs, and the run's own. `None` when the run has neither.
pub fn store_signers(
    trusted: Option<&[AllowedSigner]>,
    own: Option<&SigningKey>,
) -> Option<Vec<AllowedSigner>> {
    let mut signers: Vec<AllowedSigner> = trusted.map(<[_]>::to_vec).unwrap_or_default();
    // The run's own key counts as trusted unless the allowed signers list it themselves: then
    // their lines (a validity window ending at a rotation, say) decide, not a blanket trust.
    if let Some(key) = own
        && !signers
            .iter()
            .any(|s| s.key.key_data() == key.public_key().key_data())
    {
        signers.push(AllowedSigner::of_key("this run's signing key", key));
    }
    (!signers.is_empty()).then_some(signers)
}

/// One run's parts, carried as one value through its stages: its plan, what it reads and writes
/// through, and its signing key.
struct RunParts<'a> {
    plan: &'a RunPlan,
    source: &'a dyn Source,
    store: &'a dyn Store,
    clock: &'a dyn Clock,
    progress: &'a dyn Progress,
    key: Option<SigningKey>,
}

impl RunParts<'_> {
    fn cluster(&self) -> &str {
        self.plan.cluster_name.as_str()
    }
}

/// What the store holds for this cluster, read and verified before anything is collected.
struct StoreState {
    /// The keys what the store holds must be signed by (see [`store_signers`]).
    signers: Option<Vec<AllowedSigner>>,
    previous: Option<VerifiedPrevious>,
    retention: crate::store::Retention,
}

/// What the pack is rendered from: the cluster as collected and the one assessment of it.
struct Assessed {
    id: String,
    taken_at: chrono::DateTime<chrono::Utc>,
    snapshot: Snapshot,
    /// The snapshot's canonical JSON, gzipped: the pack's snapshot file.
    snapshot_gz: Vec<u8>,
    assessment: crate::analysis::Assessment,
    usage: Option<crate::audit::UsageInput>,
    /// Required kinds not collected completely.
    incomplete: Vec<String>,
}

/// Everything a run does while it holds the cluster's publish lock.
async fn collect_and_publish(
    run: &RunParts<'_>,
    mut inputs: Inputs,
    taken_at: chrono::DateTime<chrono::Utc>,
) -> Result<RunOutcome, RunError> {
    let state = read_store_state(run, &inputs, taken_at).await?;
    let assessed = collect_and_assess(run, &mut inputs, &state, taken_at).await?;

    run.progress.stage("rendering");
    let built = render_pack(run, &inputs, &state, &assessed)?;
    let built = timestamp_pack(run.plan, &inputs, built, run.progress).await?;

    run.progress.stage("publishing");
    pack::publish(run.store, &built).await?;
    tracing::info!(pack = %built.id, location = %run.store.location(), "pack published");
    // The pack is evidence from here on; the index is a convenience for auditors, so a failure
    // to refresh it is reported, not fatal (the next run rebuilds it from the packs).
    let signing = pack::index::IndexSigning {
        key: run.key.as_ref(),
        trusted: state.signers.as_deref(),
    };
    let index_problem =
        match pack::index::update(run.store, run.cluster(), run.clock.now(), signing).await {
            Ok(_) => None,
            Err(e) => {
                tracing::warn!(error = %e, "the auditor index was not updated");
                Some(e.to_string())
            }
        };
    Ok(outcome(
        run,
        &built,
        state.previous,
        &assessed,
        index_problem,
    ))
}

/// The store's packs for this cluster: listed whole, the previous one verified, the pointer
/// checked against the listing.
async fn read_store_state(
    run: &RunParts<'_>,
    inputs: &Inputs,
    taken_at: chrono::DateTime<chrono::Utc>,
) -> Result<StoreState, RunError> {
    let (store, cluster) = (run.store, run.cluster());
    // The cluster's packs are listed before anything is read or written: a store that cannot be
    // listed whole (a link planted in a local store, a listing the credentials are denied) fails
    // the run here, not after the pack is published, when the index is rebuilt from this listing.
    let listed = store
        .list(&pack::packs_prefix(cluster))
        .await
        .map_err(RunError::StoreUnreadable)?;
    // What the store holds is trusted from the allowed signers and this run's own key: a run
    // that signs never carries forward a pack someone else signed, unless the allowed signers
    // name that key (a key rotated away from, say).
    let signers = store_signers(inputs.trusted_signers.as_deref(), run.key.as_ref());
    let trust = pack::previous::Trust {
        signers: signers.as_deref(),
        tsa: inputs.timestamp_certificate.as_ref(),
        strict_time: false,
    };
    let (previous, retention) = previous_pack(store, cluster, trust, taken_at).await?;
    refuse_rolled_back_pointer(store, cluster, &listed, previous.as_ref(), trust).await?;
    Ok(StoreState {
        signers,
        previous,
        retention,
    })
}

/// The audit log and the review campaigns (read first: either can fail the run before
/// anything is published), then the cluster, collected and assessed.
async fn collect_and_assess(
    run: &RunParts<'_>,
    inputs: &mut Inputs,
    state: &StoreState,
    taken_at: chrono::DateTime<chrono::Utc>,
) -> Result<Assessed, RunError> {
    let (plan, progress, previous) = (run.plan, run.progress, state.previous.as_ref());
    // The usage record continues the verified previous pack's.
    let usage = match &plan.audit_log {
        Some(audit) => {
            progress.stage("reading the audit log");
            let previous_record = previous.and_then(|p| p.usage.clone());
            Some(crate::audit::read_audit_log(audit, previous_record, taken_at).await?)
        }
        None => None,
    };
    let read = reviews::read_all(
        run.store,
        run.cluster(),
        reviews::CampaignTrust {
            signers: state.signers.as_deref(),
        },
    )
    .await?;
    let reviews = (!read.is_empty()).then(|| crate::review::assess::Reviews {
        campaigns: read.campaigns,
        refused: read.refused,
        period_days: plan.review_period_days,
        previous: previous.and_then(|p| p.info.reviews.clone()),
        previous_at: previous.map(|p| p.manifest.collected_at),
    });
    progress.stage("collecting");
    let mut snapshot = run
        .source
        .collect(&CollectContext {
            cluster_name: run.cluster(),
            taken_at,
            progress,
        })
        .await?;
    let incomplete = check_collected(&snapshot, &run.source.describe(), plan.require_complete)?;
    snapshot.inventory = inputs.inventory.take();
    snapshot.canonicalize();

    progress.stage("assessing");
    // Serialised once: its digest names the pack, its gzip is the pack's snapshot file.
    let snapshot_json = canonical_json(&snapshot);
    let snapshot_digest = pack::sha256_hex(&snapshot_json);
    let snapshot_gz = crate::snapshot::gzip(&snapshot_json);
    drop(snapshot_json);
    let id = pack::pack_id(snapshot.taken_at, &snapshot_digest);
    let assessment = assess(&AssessmentInput {
        snapshot: &snapshot,
        pack_id: Some(&id),
        controls: &inputs.controls,
        exceptions: &inputs.exceptions,
        previous: previous.map(|p| &p.info),
        schedule_interval_hours: plan.schedule_interval_hours,
        image_max_age_days: plan.image_max_age_days,
        usage: usage.as_ref(),
        reviews: reviews.as_ref(),
        retention: state.retention.clone(),
    });
    Ok(Assessed {
        id,
        taken_at,
        snapshot,
        snapshot_gz,
        assessment,
        usage,
        incomplete,
    })
}

/// Renders every file of the pack from the one assessment, assembles its manifest and sums,
/// and signs them.
fn render_pack(
    run: &RunParts<'_>,
    inputs: &Inputs,
    state: &StoreState,
    assessed: &Assessed,
) -> Result<pack::Pack, RunError> {
    let (id, snapshot, key) = (assessed.id.as_str(), &assessed.snapshot, run.key.as_ref());
    let previous = state.previous.as_ref();
    let history = report::trend::extend(
        previous.map(|p| p.trend.as_slice()).unwrap_or_default(),
        report::trend::point(id, snapshot.taken_at, &assessed.assessment),
    );
    let files = pack::content_files(&ReportInput {
        pack_id: id,
        snapshot,
        snapshot_gz: assessed.snapshot_gz.clone(),
        assessment: &assessed.assessment,
        generated_at: assessed.taken_at,
        signing_key_fingerprint: key.map(SigningKey::fingerprint),
        signer: key
            .map(|k| k.comment().to_string())
            .filter(|c| !c.is_empty()),
        controls_digest: inputs.controls.digest(),
        controls: &inputs.controls,
        previous_manifest_sha256: previous.map(|p| p.pointer.manifest_sha256.clone()),
        inputs: inputs.files.clone(),
        frameworks: report::FrameworkInfo::of(&inputs.controls),
        history,
        usage: assessed.usage.as_ref(),
    });
    let mut manifest = manifest_for(
        id,
        run.cluster(),
        snapshot,
        run.clock.now(),
        key,
        &inputs.controls,
        previous,
    );
    // The token is requested once the manifest is final (see `timestamp_pack`); the manifest says
    // beforehand that one belongs to it, so a pack that lost it fails verification.
    manifest.timestamped = inputs.timestamp_certificate.is_some();
    let mut files = files;
    if let Some(k) = key {
        files.push(attestation(&manifest, previous, &files, k)?);
    }
    let mut built = pack::assemble(manifest, files);
    if let Some(k) = key {
        built.signature = Some(k.sign(&built.manifest_bytes)?);
        built.sums_signature = Some(k.sign(&built.sums)?);
    }
    Ok(built)
}

/// The manifest's RFC 3161 token, when the run has a time-stamping authority: requested and
/// checked against the authority's certificate before anything is published.
async fn timestamp_pack(
    plan: &RunPlan,
    inputs: &Inputs,
    mut built: pack::Pack,
    progress: &dyn Progress,
) -> Result<pack::Pack, RunError> {
    let (Some((url, _)), Some(cert)) = (&plan.timestamp_authority, &inputs.timestamp_certificate)
    else {
        return Ok(built);
    };
    progress.stage("timestamping");
    let (reply, token) = timestamp::stamp(url, &built.manifest_bytes, cert)
        .await
        .map_err(RunError::Timestamp)?;
    tracing::info!(authority = %url, time = %token.gen_time, "manifest timestamped");
    built.timestamp = Some(reply);
    Ok(built)
}

/// The previous pack, verified before anything of it is used (one that does not verify stops
/// the run before collection, so nothing is published), and how the store keeps packs.
async fn previous_pack(
    store: &dyn Store,
    cluster: &str,
    trust: pack::previous::Trust<'_>,
    taken_at: chrono::DateTime<chrono::Utc>,
) -> Result<(Option<VerifiedPrevious>, crate::store::Retention), RunError> {
    let previous = pack::previous::read_verified(store, cluster, trust).await?;
    let retention = store.retention().await?;
    match &previous {
        Some(p) if trust.signers.is_some() => tracing::info!(
            pack = %p.pointer.pack_id,
            signer = %p.manifest.signing_key_fingerprint,
            "previous pack verified, signed by a trusted key"
        ),
        Some(p) => tracing::warn!(
            pack = %p.pointer.pack_id,
            signer = %p.manifest.signing_key_fingerprint,
            "previous pack verified against its own signature only: this run has no signing key and no allowed signers to say whose it should be"
        ),
        None => tracing::info!("no previous pack: this pack is the cluster's baseline"),
    }
    // A pack collected before its predecessor would break the chain `verify --chain` checks.
    if let Some(p) = &previous
        && taken_at <= p.manifest.collected_at
    {
        return Err(RunError::ClockBehind {
            now: taken_at,
            previous: p.pointer.pack_id.clone(),
            previous_at: p.manifest.collected_at,
        });
    }
    Ok((previous, retention))
}

/// `latest.json` is trusted to name the newest pack only as far as the packs say so: a complete
/// pack (one with a manifest) newer than the one it names means it was moved back, or a
/// publication stopped before moving it. Chaining past that pack would orphan it, so the run
/// stops and says which. (Pack ids begin with their collection time and sort by it.)
async fn refuse_rolled_back_pointer(
    store: &dyn Store,
    cluster: &str,
    listed: &[String],
    previous: Option<&VerifiedPrevious>,
    trust: pack::previous::Trust<'_>,
) -> Result<(), RunError> {
    let named = previous.map(|p| p.pointer.pack_id.as_str());
    let found = pack::previous::pack_newer_than(store, listed, named, trust).await;
    for (folder, problem) in &found.passed_over {
        tracing::warn!(
            folder = %folder,
            problem = %problem,
            "a folder newer than the pack latest.json names holds no pack of this cluster: it is not evidence, and this run chains past it"
        );
    }
    match found.newer {
        None => Ok(()),
        Some((id, path)) => Err(RunError::PointerBehind {
            store: store.location().trim_end_matches('/').to_string(),
            latest: pack::latest_key(cluster),
            named: named.map(str::to_string),
            newer: id,
            path,
        }),
    }
}

/// Refuses a collection that is not a cluster's RBAC state, or an incomplete one under
/// `--require-complete`; returns the kinds not collected completely.
fn check_collected(
    snapshot: &Snapshot,
    source: &str,
    require_complete: bool,
) -> Result<Vec<String>, RunError> {
    // Every cluster has its built-in ClusterRoles: a source with none is not a cluster's RBAC
    // (a dump of something else, or files that lost them), and a pack of "an empty cluster"
    // would be false evidence.
    // (When listing them failed or was forbidden, the pack says INCOMPLETE instead, below: the
    // cluster has roles the tool could not read.)
    let listing_failed = |kind: crate::snapshot::ResourceKind| {
        matches!(
            snapshot.collector.status_of(kind),
            crate::snapshot::CollectionStatus::Failed
                | crate::snapshot::CollectionStatus::Forbidden
        )
    };
    if snapshot.cluster_roles.is_empty()
        && snapshot.roles.is_empty()
        && !listing_failed(crate::snapshot::ResourceKind::ClusterRole)
        && !listing_failed(crate::snapshot::ResourceKind::Role)
    {
        let mut d = Diagnostics::new();
        d.push(
            source,
            None,
            "no ClusterRole or Role was read: this is not a cluster's RBAC state (a dump needs clusterroles, clusterrolebindings, roles and rolebindings, as the kubectl command in kube-evidence's docs/cli.md lists)",
        );
        return Err(RunError::NoRbac(d));
    }
    let incomplete = describe_incomplete(snapshot);
    if require_complete && !incomplete.is_empty() {
        let mut d = Diagnostics::new();
        for line in &incomplete {
            d.push(source, None, line.clone());
        }
        return Err(RunError::Incomplete(d));
    }
    for line in &incomplete {
        tracing::warn!(kind = %line, "collection incomplete");
    }
    Ok(incomplete)
}

/// The manifest of the pack (its files are added by `pack::assemble`).
/// The in-toto attestation of a signed pack: its files, cluster, period and conclusions, in a
/// DSSE envelope signed with the pack's key.
fn attestation(
    manifest: &Manifest,
    previous: Option<&VerifiedPrevious>,
    files: &[pack::PackFile],
    key: &SigningKey,
) -> Result<pack::PackFile, RunError> {
    use pack::attest;
    let facts = attest::PackFacts {
        cluster: &manifest.cluster.name,
        cluster_id: &manifest.cluster.id,
        pack_id: &manifest.pack_id,
        collected_at: manifest.collected_at,
        previous: previous.map(|p| {
            (
                p.pointer.pack_id.as_str(),
                p.pointer.manifest_sha256.as_str(),
                p.manifest.collected_at,
            )
        }),
        ruleset_digest: &manifest.ruleset_digest,
        tool: format!(
            "{} {} ({})",
            manifest.tool.name, manifest.tool.version, manifest.tool.revision
        ),
    };
    let statement = attest::statement(&facts, files).map_err(RunError::Attestation)?;
    Ok(pack::PackFile::new(
        attest::ATTESTATION_FILE,
        attest::envelope(&statement, key),
        "application/json",
    ))
}

fn manifest_for(
    id: &str,
    cluster: &str,
    snapshot: &Snapshot,
    published_at: chrono::DateTime<chrono::Utc>,
    key: Option<&SigningKey>,
    controls: &crate::controls::Controls,
    previous: Option<&VerifiedPrevious>,
) -> Manifest {
    Manifest {
        manifest_version: pack::manifest::MANIFEST_VERSION,
        pack_id: id.to_string(),
        cluster: pack::manifest::ManifestCluster {
            name: cluster.to_string(),
            id: snapshot.cluster.id.clone().unwrap_or_default(),
        },
        collected_at: snapshot.taken_at,
        published_at,
        tool: tool_info(),
        ruleset_digest: crate::rules::catalog::digest(),
        controls_digest: controls.digest(),
        collection_complete: snapshot.collector.is_complete(),
        signing_key_fingerprint: key.map(SigningKey::fingerprint).unwrap_or_default(),
        signed: key.is_some(),
        timestamped: false,
        previous: previous
            .map(|p| PreviousPack {
                pack_id: p.pointer.pack_id.clone(),
                path: p.pointer.path.clone(),
                manifest_sha256: p.pointer.manifest_sha256.clone(),
            })
            .unwrap_or_default(),
        files: Vec::new(),
    }
}

/// What the run reports to its caller.
fn outcome(
    run: &RunParts<'_>,
    built: &pack::Pack,
    previous: Option<VerifiedPrevious>,
    assessed: &Assessed,
    index_problem: Option<String>,
) -> RunOutcome {
    let (plan, store, snapshot) = (run.plan, run.store, &assessed.snapshot);
    let assessment = &assessed.assessment;
    let findings = &assessment.analysis.findings;
    RunOutcome {
        pack_id: built.id.clone(),
        pack_location: format!(
            "{}/{}",
            store.location().trim_end_matches('/'),
            built.prefix
        ),
        previous_pack_id: previous.map(|p| p.pointer.pack_id),
        collection_complete: snapshot.collector.is_complete(),
        incomplete_kinds: assessed.incomplete.clone(),
        fail_on_reached: plan.fail_on.is_some_and(|level| {
            findings
                .iter()
                .any(|f| f.class() == crate::finding::FindingClass::Open && f.severity >= level)
        }),
        summary: report::json::summary(findings),
        controls: crate::controls::evaluate::counts(&assessment.controls)
            .into_iter()
            .filter(|(_, n)| *n > 0)
            .collect(),
        index_problem,
    }
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
