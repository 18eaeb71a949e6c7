//! Campaigns and decisions in the store, next to the packs: `<cluster>/reviews/<campaign>/`
//! holds `campaign.json` with its signature `campaign.json.sig`, `population.csv` and
//! `decisions/<time>-<reviewer>.csv` with its `.sig`. Everything is written create-only: a
//! corrected decision file is a new file that supersedes the earlier one, and both stay.
//!
//! Anyone who can write to the store can write these objects, so none is trusted for being
//! there: a campaign counts only when its signature verifies against the keys the reader trusts
//! for packs (it was signed by the key that signs packs when it started), and a decision file only
//! when a reviewer key of that signed campaign signed it, for that campaign.

use crate::pack::MAX_SIGNATURE_BYTES;
use crate::pack::sign::{self, parse_allowed_signers};
use crate::report::queue::{PackUsage, Queue};
use crate::review::model::{
    self, CAMPAIGN_FILE, CAMPAIGN_SIGNATURE_FILE, CAMPAIGN_VERSION, Campaign, Decided, Layouts,
    POPULATION_FILE, REVIEW_NAMESPACE, RefusedCampaign, Submission, same_identity,
};
use crate::store::{Store, StoreError};
use chrono::{DateTime, Utc};

/// A campaign file larger than this is not one this tool wrote.
pub const MAX_CAMPAIGN: usize = 64 * 1024 * 1024;
/// A decision file larger than this is refused.
pub const MAX_DECISIONS: usize = 16 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error("the review store could not be read or written")]
    Store(#[from] StoreError),
    #[error("{key} is not a campaign this tool can read: {problem}")]
    Campaign { key: String, problem: String },
    #[error("campaign {0} does not exist")]
    NoCampaign(String),
    #[error("{0}")]
    Refused(String),
}

pub fn campaign_prefix(cluster: &str, id: &str) -> String {
    format!("{cluster}/reviews/{id}")
}

/// Publishes a new campaign, signed by `key`, with its queue as `population.csv` (create-only:
/// an existing one is never replaced). The signature goes first: a campaign object without one
/// never counts.
pub async fn publish_campaign(
    store: &dyn Store,
    campaign: &Campaign,
    population: &[u8],
    key: &sign::SigningKey,
) -> Result<String, ReviewError> {
    let prefix = campaign_prefix(&campaign.cluster, &campaign.id);
    let mut json = serde_json::to_vec_pretty(campaign).expect("a campaign serialises");
    json.push(b'\n');
    let signature = key
        .sign_in(sign::NAMESPACE, &json)
        .map_err(|e| ReviewError::Refused(format!("cannot sign the campaign: {e}")))?;
    store
        .put_new(
            &format!("{prefix}/{CAMPAIGN_SIGNATURE_FILE}"),
            &signature,
            "text/plain; charset=utf-8",
        )
        .await?;
    store
        .put_new(
            &format!("{prefix}/{CAMPAIGN_FILE}"),
            &json,
            "application/json",
        )
        .await?;
    store
        .put_new(
            &format!("{prefix}/{POPULATION_FILE}"),
            population,
            "text/csv; charset=utf-8",
        )
        .await?;
    Ok(prefix)
}

/// The keys a campaign's signature must verify against: those trusted for packs. `None` when the
/// reader has none (an unsigned run without `allowedSigners`): then no campaign counts.
#[derive(Debug, Clone, Copy)]
pub struct CampaignTrust<'a> {
    pub signers: Option<&'a [sign::AllowedSigner]>,
}

/// Reads one campaign, refused unless it verifies (see [`read_all`]).
pub async fn read_campaign(
    store: &dyn Store,
    cluster: &str,
    id: &str,
    trust: CampaignTrust<'_>,
) -> Result<Campaign, ReviewError> {
    let key = format!("{}/{CAMPAIGN_FILE}", campaign_prefix(cluster, id));
    match read_campaign_object(store, cluster, &key, trust).await? {
        None => Err(ReviewError::NoCampaign(id.to_string())),
        Some(Err(problem)) => Err(ReviewError::Campaign { key, problem }),
        Some(Ok(c)) => Ok(c),
    }
}

/// The campaign object at `key`: `None` when there is none, the reason when it does not count
/// (not signed, not by a trusted key, changed since, unreadable, or not where it says it is).
/// Neither file is read past its limit. Store errors are errors: what cannot be read is not
/// taken for absent.
async fn read_campaign_object(
    store: &dyn Store,
    cluster: &str,
    key: &str,
    trust: CampaignTrust<'_>,
) -> Result<Option<Result<Campaign, String>>, ReviewError> {
    let bytes = match store.get_limited(key, MAX_CAMPAIGN as u64).await {
        Err(StoreError::TooLarge { .. }) => {
            return Ok(Some(Err(format!("larger than {MAX_CAMPAIGN} bytes"))));
        }
        other => other?,
    };
    let Some(bytes) = bytes else {
        return Ok(None);
    };
    let sig_key = key.replace(CAMPAIGN_FILE, CAMPAIGN_SIGNATURE_FILE);
    let signature = match store.get_limited(&sig_key, MAX_SIGNATURE_BYTES).await {
        Err(StoreError::TooLarge { .. }) => {
            return Ok(Some(Err(format!(
                "its signature is larger than {MAX_SIGNATURE_BYTES} bytes"
            ))));
        }
        other => other?,
    };
    Ok(Some(campaign_of(
        cluster,
        key,
        &bytes,
        signature.as_deref(),
        trust,
    )))
}

/// Checks a campaign object against its signature and place, then reads it: what every reader
/// of the store does with `campaign.json` (public for the fuzz target).
pub fn campaign_of(
    cluster: &str,
    key: &str,
    bytes: &[u8],
    signature: Option<&[u8]>,
    trust: CampaignTrust<'_>,
) -> Result<Campaign, String> {
    let Some(signers) = trust.signers else {
        return Err("there is no key to check its signature against: the run neither signs packs nor names allowedSigners, so no campaign can be trusted".into());
    };
    let Some(signature) = signature else {
        return Err(format!(
            "it is not signed ({CAMPAIGN_SIGNATURE_FILE} is missing): a campaign is signed by the key that signs packs when it starts"
        ));
    };
    // The time the key's validity is judged at is the campaign's own claim, read only to pick
    // the key; everything else is read after the signature verifies.
    let claimed = serde_json::from_slice::<serde_json::Value>(bytes)
        .ok()
        .and_then(|v| {
            v.get("createdAt")
                .and_then(|t| t.as_str())
                .map(str::to_string)
        })
        .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
        .map(|t| t.with_timezone(&Utc))
        .ok_or("it has no readable createdAt")?;
    sign::verify(bytes, signature, Some(signers), claimed).map_err(|e| match e {
        sign::SignatureProblem::Mismatch => {
            "its signature does not match it: it was changed after the campaign started".to_string()
        }
        other => {
            format!("its signature does not verify against the keys trusted for packs: {other}")
        }
    })?;
    let c: Campaign = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    if c.version != CAMPAIGN_VERSION {
        return Err(format!(
            "version {} (this tool reads {CAMPAIGN_VERSION})",
            c.version
        ));
    }
    let expected = format!("{}/{CAMPAIGN_FILE}", campaign_prefix(cluster, &c.id));
    if c.cluster != cluster || key != expected {
        return Err(format!(
            "it is campaign {} of cluster {}, signed for {expected}: a campaign copied to another place does not count there",
            c.id, c.cluster
        ));
    }
    Ok(c)
}

/// Verifies a decision file's signature against the campaign's reviewers: the principal.
pub fn signer_of(
    campaign: &Campaign,
    csv: &[u8],
    signature: &[u8],
    at: DateTime<Utc>,
) -> Result<String, String> {
    let signers =
        parse_allowed_signers(&campaign.allowed_signers, "the campaign's allowed signers")
            .map_err(|d| format!("the campaign's allowed signers are invalid: {d}"))?;
    let check = sign::verify_in(REVIEW_NAMESPACE, csv, signature, Some(&signers), at).map_err(
        |e| match e {
            sign::SignatureProblem::Mismatch => {
                "the signature does not match the file: it was changed after signing".to_string()
            }
            other => other.to_string(),
        },
    )?;
    check
        .principal
        .ok_or_else(|| "the signing key's allowed-signers entry names no principal".to_string())
}

/// Publishes a decision file and its signature after checking both against the campaign: the
/// file must be in the queue's layout.
pub async fn submit(
    store: &dyn Store,
    campaign: &Campaign,
    (origin, signature_origin): (&str, &str),
    csv: &[u8],
    signature: &[u8],
    now: DateTime<Utc>,
) -> Result<(String, String, Decided), ReviewError> {
    if csv.len() > MAX_DECISIONS {
        return Err(ReviewError::Refused(format!(
            "{origin} is larger than {MAX_DECISIONS} bytes"
        )));
    }
    let reviewer = signer_of(campaign, csv, signature, now)
        .map_err(|p| ReviewError::Refused(format!("{origin} with {signature_origin}: {p}")))?;
    let text = std::str::from_utf8(csv)
        .map_err(|_| ReviewError::Refused(format!("{origin} is not UTF-8 text")))?;
    let decisions = model::parse_decisions(text, origin, campaign, &reviewer, Layouts::Queue)
        .map_err(|d| {
            ReviewError::Refused(format!(
                "{origin} does not match campaign {}:\n{d}",
                campaign.id
            ))
        })?;
    let key = format!(
        "{}/decisions/{}-{}.csv",
        campaign_prefix(&campaign.cluster, &campaign.id),
        now.format("%Y%m%dT%H%M%SZ"),
        slug(&reviewer)
    );
    store.put_new(&key, csv, "text/csv; charset=utf-8").await?;
    store
        .put_new(
            &format!("{key}.sig"),
            signature,
            "text/plain; charset=utf-8",
        )
        .await?;
    Ok((key, reviewer, decisions))
}

/// A reviewer's principal as a safe piece of an object name.
fn slug(principal: &str) -> String {
    let s: String = principal
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(80)
        .collect();
    s.trim_start_matches('.').to_string()
}

/// The campaigns of a cluster as read from the store.
#[derive(Debug, Clone, Default)]
pub struct CampaignsRead {
    /// Those that verify, each with its submissions (oldest first), each re-verified.
    pub campaigns: Vec<(Campaign, Vec<Submission>)>,
    /// Those that do not count, with the reason.
    pub refused: Vec<RefusedCampaign>,
}

impl CampaignsRead {
    pub fn is_empty(&self) -> bool {
        self.campaigns.is_empty() && self.refused.is_empty()
    }
}

/// Every campaign object of the cluster: those that verify with their submissions, and those
/// that do not count with the reason.
pub async fn read_all(
    store: &dyn Store,
    cluster: &str,
    trust: CampaignTrust<'_>,
) -> Result<CampaignsRead, ReviewError> {
    let keys = store.list(&format!("{cluster}/reviews/")).await?;
    let mut out = CampaignsRead::default();
    for key in keys
        .iter()
        .filter(|k| k.ends_with(&format!("/{CAMPAIGN_FILE}")))
    {
        let campaign = match read_campaign_object(store, cluster, key, trust).await? {
            None => continue,
            Some(Err(problem)) => {
                out.refused.push(RefusedCampaign {
                    key: key.clone(),
                    problem,
                });
                continue;
            }
            Some(Ok(c)) => c,
        };
        let prefix = format!("{}/decisions/", campaign_prefix(cluster, &campaign.id));
        let mut submissions = Vec::new();
        for csv_key in keys
            .iter()
            .filter(|k| k.starts_with(&prefix) && k.ends_with(".csv"))
        {
            submissions.push(read_submission(store, &campaign, csv_key).await?);
        }
        submissions.sort_by(|a, b| (a.submitted_at, &a.key).cmp(&(b.submitted_at, &b.key)));
        out.campaigns.push((campaign, submissions));
    }
    Ok(out)
}

async fn read_submission(
    store: &dyn Store,
    campaign: &Campaign,
    key: &str,
) -> Result<Submission, ReviewError> {
    // The store's own time when it keeps one (S3), else the time the submit wrote in the name:
    // a claim anyone who can write to the store can make, bounded and replaced by what the
    // pack chain recorded before anything is judged by it (review::assess::anchor_times).
    let named = key
        .rsplit('/')
        .next()
        .and_then(|n| n.get(..16))
        .and_then(|t| chrono::NaiveDateTime::parse_from_str(t, "%Y%m%dT%H%M%SZ").ok())
        .map(|t| t.and_utc());
    let submitted_at = match store.modified_at(key).await? {
        Some(t) => t,
        None => named.unwrap_or(campaign.created_at),
    };
    // Neither is read past its limit: an oversized file counts as a problem of the submission.
    let csv = match store.get_limited(key, MAX_DECISIONS as u64).await {
        Err(StoreError::TooLarge { .. }) => Err(format!("larger than {MAX_DECISIONS} bytes")),
        other => Ok(other?.unwrap_or_default()),
    };
    let sig = match store
        .get_limited(&format!("{key}.sig"), MAX_SIGNATURE_BYTES)
        .await
    {
        Err(StoreError::TooLarge { .. }) => Err(format!(
            "its signature is larger than {MAX_SIGNATURE_BYTES} bytes"
        )),
        other => Ok(other?),
    };
    let content_sha256 = match &csv {
        Ok(bytes) if !bytes.is_empty() => crate::digest::sha256_hex(bytes),
        _ => String::new(),
    };
    let (reviewer, decisions) = match (csv, sig) {
        (_, Ok(None)) => (None, Err("it is not signed".to_string())),
        (Err(p), _) | (_, Err(p)) => (None, Err(p)),
        (Ok(csv), Ok(Some(sig))) => match signer_of(campaign, &csv, &sig, submitted_at) {
            Err(p) => (None, Err(p)),
            Ok(reviewer) => {
                let text = String::from_utf8_lossy(&csv);
                // Files submitted before the queue, in the per-capability layout, still count.
                let parsed = model::parse_decisions(
                    &text,
                    key,
                    campaign,
                    &reviewer,
                    Layouts::QueueOrPerCapability,
                )
                .map(|d| d.decisions)
                .map_err(|d| d.to_string());
                (Some(reviewer), parsed)
            }
        },
    };
    Ok(Submission {
        key: key.to_string(),
        submitted_at,
        sha256: content_sha256,
        claimed_at: None,
        reviewer,
        decisions,
    })
}

/// What `review start` needs.
pub struct StartPlan<'a> {
    pub cluster: &'a str,
    /// Keys trusted to have signed the pack the population is taken from, and the campaigns
    /// already in the store.
    pub trusted: Option<&'a [sign::AllowedSigner]>,
    pub reviewers: &'a crate::review::reviewers::ReviewerMap,
    /// The reviewers' keys (an allowed-signers file's text), copied into the campaign.
    pub reviewer_keys: String,
    /// Where they were read from, as messages name it.
    pub reviewer_keys_origin: &'a str,
    pub due: chrono::NaiveDate,
    pub remediation_days: u32,
    /// Also one row per binding of every non-system subject, privileged or not.
    pub every_binding: bool,
    /// Campaigns recur every this many days: nothing is started while the latest campaign that
    /// counts started fewer days ago (a scheduled `review start` runs daily and starts one when
    /// it is time).
    pub every_days: Option<u32>,
    pub now: DateTime<Utc>,
    /// The key that signs packs: it signs the campaign, so that readers trust it as they trust
    /// packs.
    pub key: &'a sign::SigningKey,
}

/// What `review start` did.
#[derive(Debug)]
pub enum StartOutcome {
    /// A campaign was started and published; its queue, with what its pack says of use.
    Started(Box<Queue>),
    /// Campaigns recur and the latest one that counts is this period's: nothing was started.
    Recurring {
        /// The latest campaign and the day it started.
        id: String,
        started: chrono::NaiveDate,
        /// The first day a new one starts.
        next: chrono::NaiveDate,
    },
}

/// The campaign that makes a new one unnecessary: the latest that counts (verified; a campaign
/// object that does not count is no campaign) when it started fewer than `every_days` days before
/// `today`.
pub async fn this_periods_campaign(
    store: &dyn Store,
    cluster: &str,
    trust: CampaignTrust<'_>,
    every_days: u32,
    today: chrono::NaiveDate,
) -> Result<Option<StartOutcome>, ReviewError> {
    let all = read_all(store, cluster, trust).await?;
    let Some(latest) = all
        .campaigns
        .iter()
        .map(|(c, _)| c)
        .max_by_key(|c| (c.created_at, c.id.clone()))
    else {
        return Ok(None);
    };
    let started = latest.created_at.date_naive();
    let next = started + chrono::Days::new(u64::from(every_days.max(1)));
    Ok((today < next).then(|| StartOutcome::Recurring {
        id: latest.id.clone(),
        started,
        next,
    }))
}

/// Freezes the population of the cluster's latest pack (verified first) into a new campaign
/// and publishes it create-only, with its queue as `population.csv`; with `every_days`, only
/// when the period's campaign does not exist yet.
pub async fn start(store: &dyn Store, plan: &StartPlan<'_>) -> Result<StartOutcome, ReviewError> {
    let signers =
        parse_allowed_signers(&plan.reviewer_keys, plan.reviewer_keys_origin).map_err(|d| {
            ReviewError::Refused(format!(
                "the reviewers' keys in {} are invalid:\n{d}",
                plan.reviewer_keys_origin
            ))
        })?;
    if let Some(days) = plan.every_days {
        let trust = CampaignTrust {
            signers: plan.trusted,
        };
        if let Some(existing) =
            this_periods_campaign(store, plan.cluster, trust, days, plan.now.date_naive()).await?
        {
            return Ok(existing);
        }
    }
    // Campaigns judge the signer at the pack's claimed time: `review start` takes no
    // time-stamping authority.
    let trust = crate::pack::previous::Trust {
        signers: plan.trusted,
        tsa: None,
        strict_time: false,
    };
    let latest = crate::pack::previous::read_verified(store, plan.cluster, trust)
        .await
        .map_err(|e| ReviewError::Refused(format!("the latest pack cannot be used: {e}")))?
        .ok_or_else(|| {
            ReviewError::Refused(format!(
                "cluster {} has no pack in this store yet: run `kube-evidence run` first",
                plan.cluster
            ))
        })?;
    let snapshot = &latest.info.snapshot;
    let rbac = crate::analysis::analyze(snapshot, None, snapshot.taken_at.date_naive());
    let mut rows = crate::review::population::rows(&crate::review::population::PopulationInput {
        index: &rbac.index,
        holdings: &rbac.holdings,
        owners: &rbac.owners,
        inventory: snapshot.inventory.as_ref(),
        every_binding: plan.every_binding,
    });
    crate::review::population::assign(&mut rows, plan.reviewers, snapshot.inventory.as_ref());
    let unknown: std::collections::BTreeSet<&str> = rows
        .iter()
        .map(|r| r.reviewer.as_str())
        .filter(|r| {
            !signers
                .iter()
                .any(|s| s.principals.iter().any(|p| same_identity(p, r)))
        })
        .collect();
    if !unknown.is_empty() {
        return Err(ReviewError::Refused(format!(
            "no key in the reviewers' keys for: {} (each reviewer signs with a key listed under their name)",
            unknown.into_iter().collect::<Vec<_>>().join(", ")
        )));
    }
    let digest = crate::digest::sha256_hex(&serde_json::to_vec(&rows).expect("rows serialise"));
    let campaign = Campaign {
        version: CAMPAIGN_VERSION,
        id: format!("{}-{}", plan.now.format("%Y%m%d"), &digest[..8]),
        cluster: plan.cluster.to_string(),
        pack_id: latest.pointer.pack_id.clone(),
        pack_path: latest.pointer.path.clone(),
        manifest_sha256: latest.pointer.manifest_sha256.clone(),
        created_at: plan.now,
        due: plan.due,
        remediation_days: plan.remediation_days,
        allowed_signers: plan.reviewer_keys.clone(),
        rows,
    };
    let queue = pack_queue(campaign, &latest, &rbac.index);
    publish_campaign(store, &queue.campaign, &queue.csv(None), plan.key).await?;
    Ok(StartOutcome::Started(Box::new(queue)))
}

/// A campaign's queue with the use its pack recorded (none when its run read no audit log).
fn pack_queue(
    campaign: Campaign,
    pack: &crate::pack::previous::VerifiedPrevious,
    index: &crate::rbac::index::RbacIndex,
) -> Queue {
    let usage = match (&pack.usage, &pack.info.usage) {
        (Some(record), Some(summary)) => Some(PackUsage {
            index,
            record,
            summary,
            collected_at: pack.info.collected_at,
        }),
        _ => None,
    };
    Queue::build(campaign, usage.as_ref())
}

/// The queue of a campaign that counts, with what the pack it froze (verified against the
/// manifest digest the campaign recorded) says of use.
pub async fn queue(
    store: &dyn Store,
    cluster: &str,
    id: &str,
    trust: CampaignTrust<'_>,
) -> Result<Queue, ReviewError> {
    let campaign = read_campaign(store, cluster, id, trust).await?;
    let link = crate::pack::manifest::PreviousPack {
        pack_id: campaign.pack_id.clone(),
        path: campaign.pack_path.clone(),
        manifest_sha256: campaign.manifest_sha256.clone(),
    };
    let pack_trust = crate::pack::previous::Trust {
        signers: trust.signers,
        tsa: None,
        strict_time: false,
    };
    let pack = crate::pack::previous::read_verified_link(store, cluster, &link, pack_trust)
        .await
        .map_err(|e| {
            ReviewError::Refused(format!("the pack campaign {id} froze cannot be read: {e}"))
        })?;
    let index = crate::rbac::index::RbacIndex::build(&pack.info.snapshot);
    Ok(pack_queue(campaign, &pack, &index))
}
