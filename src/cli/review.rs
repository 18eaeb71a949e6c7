//! `kube-evidence review`: access review campaigns over the pack's population — start one,
//! sign a reviewer's decisions, submit them, and see a campaign's progress. The follow-up
//! (coverage, revocations carried out, overdue, ...) happens in every `run`.

use super::common;
use super::logging::LogArgs;
use super::table::Format;
use super::table::Table;
use super::{CmdResult, Done, Failure};
use anyhow::Context;
use chrono::NaiveDate;
use clap::{Args, Subcommand};
use kube_evidence::pack::sign::{AllowedSigner, SigningKey};
use kube_evidence::review::{REVIEW_NAMESPACE, assess, reviewers};
use kube_evidence::run::reviews;
use kube_evidence::store::outputs::Output;
use kube_evidence::store::{Store, StoreUrl};
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct ReviewArgs {
    #[command(subcommand)]
    pub command: ReviewCommand,
}

/// Where the cluster's packs and campaigns are: flags, or the run configuration's `out` and
/// `clusterName` (and its S3 settings and `reviewers`).
#[derive(Args, Debug)]
pub struct Place {
    /// The store holding the packs: a directory or s3://BUCKET/PREFIX (default: the configuration's `out`)
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
    /// The cluster, its folder in the store (default: the configuration's `clusterName`)
    #[arg(long, value_name = "NAME")]
    pub cluster: Option<String>,
    /// The run configuration
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub s3: common::S3Args,
    /// The key that signs packs (it signs a campaign when it starts) and the keys trusted for
    /// packs (a campaign counts only when it verifies against them, or the signing key)
    #[command(flatten)]
    pub trust: super::settings::SettingFlags<super::settings::ReviewTrustSettings>,
}

/// A [`Place`] resolved against the configuration.
struct Resolved {
    store: StoreUrl,
    cluster: String,
    s3: kube_evidence::store::s3::S3Options,
    reviewers: Option<PathBuf>,
    /// The key that signs packs, when the configuration names one.
    key: Option<SigningKey>,
    /// What the store's objects must be signed by: the allowed signers and the signing key
    /// (campaigns, and the latest pack a campaign starts from).
    store_signers: Option<Vec<AllowedSigner>>,
}

impl Resolved {
    /// The trust every campaign read must meet; refused when there is none to meet.
    fn campaign_trust(&self) -> Result<reviews::CampaignTrust<'_>, Failure> {
        match &self.store_signers {
            Some(signers) => Ok(reviews::CampaignTrust {
                signers: Some(signers),
            }),
            None => Err(Failure::usage(
                "a campaign counts only when it verifies against the keys that sign packs, and none is given: pass --allowed-signers FILE (the packs' allowed signers) or --signing-key FILE (or set them in --config)",
            )),
        }
    }
}

fn resolve(
    place: &Place,
    more: &super::settings::SettingFlags<super::settings::ReviewerSettings>,
    log: &LogArgs,
) -> Result<Resolved, Failure> {
    let mut flags = kube_evidence::config::Overrides::default();
    place.s3.apply(&mut flags);
    more.apply(&mut flags);
    place.trust.apply(&mut flags);
    flags.set_opt(kube_evidence::config::Setting::Out, place.store.clone());
    flags.set_opt(
        kube_evidence::config::Setting::ClusterName,
        place.cluster.clone(),
    );
    let config = common::load_config(place.config.as_deref(), flags, log)?;
    let store = config.out.clone().ok_or_else(|| {
        Failure::usage("say where the packs are: --store URL (or `out` in --config)")
    })?;
    let cluster = config.cluster_name.clone().ok_or_else(|| {
        Failure::usage("say which cluster: --cluster NAME (or `clusterName` in --config)")
    })?;
    let key = common::signing_key(&config)?;
    let trusted = common::allowed_signers(config.allowed_signers.as_deref())?;
    Ok(Resolved {
        s3: config.s3_options(),
        reviewers: config.reviewers.clone(),
        store_signers: kube_evidence::run::store_signers(trusted.as_deref(), key.as_ref()),
        key,
        store,
        cluster,
    })
}

#[derive(Subcommand, Debug)]
pub enum ReviewCommand {
    /// Freeze the latest pack's privileged population into a campaign and publish it.
    Start(StartArgs),
    /// A reviewer's queue of a campaign, grouped by binding with the pack's usage: CSV and HTML.
    Queue(QueueArgs),
    /// Sign a decision file with a reviewer's key (as `ssh-keygen -Y sign -n kube-evidence-review`).
    Sign(SignArgs),
    /// Check a signed decision file against its campaign and publish it.
    Submit(SubmitArgs),
    /// A campaign's progress: decided, outstanding, by reviewer.
    Status(StatusArgs),
}

#[derive(Args, Debug)]
#[command(group = clap::ArgGroup::new("due_date").required(true).args(["due", "due_in_days"]))]
pub struct StartArgs {
    #[command(flatten)]
    pub place: Place,
    #[command(flatten)]
    pub reviewers: super::settings::SettingFlags<super::settings::ReviewerSettings>,
    /// The reviewers' public keys, as an OpenSSH allowed-signers file (principal = reviewer)
    #[arg(long, value_name = "FILE")]
    pub reviewer_keys: PathBuf,
    /// The date by which every row must be decided
    #[arg(long, value_name = "DATE")]
    pub due: Option<NaiveDate>,
    /// Every row must be decided within this many days of the start (for a scheduled start)
    #[arg(long, value_name = "DAYS")]
    pub due_in_days: Option<u32>,
    /// Days after a decision by which a revocation must be carried out
    #[arg(long, value_name = "DAYS", default_value_t = 30)]
    pub remediation_days: u32,
    /// Also one row per binding of every non-system subject, privileged or not
    #[arg(long)]
    pub every_binding: bool,
    /// Campaigns recur every DAYS days: start one only when the latest campaign that counts
    /// started DAYS or more days ago, else say which one this period's is and exit 0 (run it daily
    /// from a CronJob)
    #[arg(long, value_name = "DAYS", value_parser = clap::value_parser!(u32).range(1..))]
    pub every_days: Option<u32>,
    /// Also write the queue CSV of every reviewer here (what reviewers fill in, sign and submit)
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Also write the queue of every reviewer as one HTML page here
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

#[derive(Args, Debug)]
#[command(group = clap::ArgGroup::new("written").required(true).multiple(true).args(["output", "html"]))]
pub struct QueueArgs {
    #[command(flatten)]
    pub place: Place,
    #[arg(long, value_name = "ID")]
    pub campaign: String,
    /// One reviewer's rows (default: every reviewer's)
    #[arg(long, value_name = "EMAIL")]
    pub reviewer: Option<String>,
    /// The queue CSV: the reviewer fills in decision, keep and reason, signs it and submits it
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// The queue as one self-contained HTML page
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct SignArgs {
    /// The reviewer's OpenSSH Ed25519 private key
    #[arg(long, value_name = "FILE")]
    pub key: PathBuf,
    /// The decision file (written beside it as FILE.sig)
    pub file: PathBuf,
}

#[derive(Args, Debug)]
pub struct SubmitArgs {
    #[command(flatten)]
    pub place: Place,
    #[arg(long, value_name = "ID")]
    pub campaign: String,
    /// The decision file
    pub file: PathBuf,
    /// Its signature (default: FILE.sig)
    #[arg(long, value_name = "FILE")]
    pub signature: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct StatusArgs {
    #[command(flatten)]
    pub place: Place,
    /// One campaign (default: every campaign of the cluster)
    #[arg(long, value_name = "ID")]
    pub campaign: Option<String>,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

pub fn execute(args: ReviewArgs, log: &LogArgs) -> CmdResult {
    match args.command {
        ReviewCommand::Start(a) => start(a, log),
        ReviewCommand::Queue(a) => queue(a, log),
        ReviewCommand::Sign(a) => sign(a),
        ReviewCommand::Submit(a) => submit(a, log),
        ReviewCommand::Status(a) => status(a, log),
    }
}

fn read_text(path: &std::path::Path) -> Result<String, Failure> {
    kube_evidence::input::read_text(path, kube_evidence::input::MAX_WRITTEN_FILE)
        .with_context(|| format!("cannot read {}", path.display()))
        .map_err(Failure::from)
}

/// The store's root when it is a directory: outputs are refused under it even while it is empty.
fn local_store(place: &Resolved) -> Vec<&std::path::Path> {
    match &place.store {
        StoreUrl::Local(root) => vec![root.as_path()],
        StoreUrl::S3 { .. } => vec![],
    }
}

fn open(place: &Resolved) -> Result<(tokio::runtime::Runtime, Box<dyn Store>), Failure> {
    let rt = common::runtime();
    let store = rt.block_on(common::open_store(&place.store, &place.s3))?;
    Ok((rt, store))
}

fn start(args: StartArgs, log: &LogArgs) -> CmdResult {
    let place = resolve(&args.place, &args.reviewers, log)?;
    let map_path = place.reviewers.clone().ok_or_else(|| {
        Failure::usage(
            "say who reviews what: --reviewers FILE (or KUBE_EVIDENCE_REVIEWERS, or `reviewers` in --config)",
        )
    })?;
    let map_text = read_text(&map_path)?;
    let map = reviewers::parse(&map_text, &map_path.display().to_string())
        .map_err(|d| Failure::error(format!("invalid reviewer map:\n{d}")))?;
    let keys = read_text(&args.reviewer_keys)?;
    let Some(key) = &place.key else {
        return Err(Failure::usage(
            "a campaign is signed when it starts, by the key that signs packs: pass --signing-key FILE (or `signingKey` in --config, or the key in KUBE_EVIDENCE_SIGNING_KEY)",
        ));
    };
    let outputs: Vec<&PathBuf> = args.output.iter().chain(args.html.iter()).collect();
    let planned: Vec<Output> = outputs.iter().map(|p| Output::new(p, Vec::new())).collect();
    common::check_outputs(&planned, &local_store(&place))?;
    let now = common::clock()?.now();
    let due = match (args.due, args.due_in_days) {
        (Some(due), _) => due,
        (None, Some(days)) => now.date_naive() + chrono::Days::new(u64::from(days)),
        (None, None) => unreachable!("clap requires --due or --due-in-days"),
    };
    let (rt, store) = open(&place)?;
    let outcome = rt
        .block_on(reviews::start(
            store.as_ref(),
            &reviews::StartPlan {
                cluster: &place.cluster,
                trusted: place.store_signers.as_deref(),
                key,
                reviewers: &map,
                reviewer_keys: keys,
                reviewer_keys_origin: &args.reviewer_keys.display().to_string(),
                due,
                remediation_days: args.remediation_days,
                every_binding: args.every_binding,
                every_days: args.every_days,
                now,
            },
        ))
        .context("the campaign was not started")?;
    let queue = match outcome {
        reviews::StartOutcome::Started(queue) => queue,
        reviews::StartOutcome::Recurring { id, started, next } => {
            outln!(
                "campaign {id} (started {started}) is this period's: campaigns recur every {} days, the next starts on or after {next}; nothing started",
                args.every_days.unwrap_or_default()
            );
            return Ok(Done::Ok);
        }
    };
    let campaign = &queue.campaign;
    let mut written = Vec::new();
    if let Some(out) = &args.output {
        written.push(Output::new(out, queue.csv(None)));
    }
    if let Some(out) = &args.html {
        written.push(Output::new(out, queue.html(None).into_bytes()));
    }
    common::write_outputs(&written, &local_store(&place))?;
    outln!(
        "campaign {} started: {} rows ({} grants) from pack {}, due {}",
        campaign.id,
        queue.rows.len(),
        campaign.rows.len(),
        campaign.pack_id,
        campaign.due
    );
    outln!(
        "published at {}/{}",
        store.location().trim_end_matches('/'),
        reviews::campaign_prefix(&campaign.cluster, &campaign.id)
    );
    let mut per: std::collections::BTreeMap<&str, usize> = Default::default();
    for r in &queue.rows {
        *per.entry(r.reviewer.as_str()).or_default() += 1;
    }
    for (reviewer, n) in per {
        outln!("  {reviewer}: {n} row(s)");
    }
    outln!("{}", queue.usage_note);
    Ok(Done::Ok)
}

fn queue(args: QueueArgs, log: &LogArgs) -> CmdResult {
    let place = resolve(&args.place, &Default::default(), log)?;
    let outputs: Vec<&PathBuf> = args.output.iter().chain(args.html.iter()).collect();
    let planned: Vec<Output> = outputs.iter().map(|p| Output::new(p, Vec::new())).collect();
    common::check_outputs(&planned, &local_store(&place))?;
    let trust = place.campaign_trust()?;
    let (rt, store) = open(&place)?;
    let queue = rt
        .block_on(reviews::queue(
            store.as_ref(),
            &place.cluster,
            &args.campaign,
            trust,
        ))
        .context("the queue was not made")?;
    let reviewer = args.reviewer.as_deref();
    let mine = queue.len(reviewer);
    if let Some(who) = reviewer
        && mine == 0
    {
        return Err(Failure::usage(format!(
            "no row of campaign {} is assigned to {who}",
            args.campaign
        )));
    }
    let mut written = Vec::new();
    if let Some(out) = &args.output {
        written.push(Output::new(out, queue.csv(reviewer)));
    }
    if let Some(out) = &args.html {
        written.push(Output::new(out, queue.html(reviewer).into_bytes()));
    }
    common::write_outputs(&written, &local_store(&place))?;
    outln!(
        "{mine} row(s) of campaign {} for {}, due {}",
        args.campaign,
        reviewer.unwrap_or("every reviewer"),
        queue.campaign.due
    );
    outln!("{}", queue.usage_note);
    Ok(Done::Ok)
}

fn sign(args: SignArgs) -> CmdResult {
    let key = SigningKey::load_file(&args.key).context("cannot load the reviewer's key")?;
    let bytes = std::fs::read(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let sig = key
        .sign_in(REVIEW_NAMESPACE, &bytes)
        .context("cannot sign")?;
    let out = PathBuf::from(format!("{}.sig", args.file.display()));
    common::write_outputs(&[Output::new(&out, sig)], &[])?;
    outln!("signed: {}", out.display());
    Ok(Done::Ok)
}

fn submit(args: SubmitArgs, log: &LogArgs) -> CmdResult {
    let place = resolve(&args.place, &Default::default(), log)?;
    let csv = std::fs::read(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let sig_path = args
        .signature
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("{}.sig", args.file.display())));
    let sig = std::fs::read(&sig_path).with_context(|| {
        format!(
            "cannot read the signature {} (sign with `kube-evidence review sign` or `ssh-keygen -Y sign -n {REVIEW_NAMESPACE}`)",
            sig_path.display()
        )
    })?;
    let now = common::clock()?.now();
    let trust = place.campaign_trust()?;
    let (rt, store) = open(&place)?;
    let (key, reviewer, decisions) = rt
        .block_on(async {
            let campaign =
                reviews::read_campaign(store.as_ref(), &place.cluster, &args.campaign, trust)
                    .await?;
            reviews::submit(
                store.as_ref(),
                &campaign,
                (
                    &args.file.display().to_string(),
                    &sig_path.display().to_string(),
                ),
                &csv,
                &sig,
                now,
            )
            .await
        })
        .context("the decisions were not submitted")?;
    outln!(
        "{} decision(s) by {reviewer} submitted ({} revoke or reduce), deciding {} grant(s), as {key}",
        decisions.lines,
        decisions.lines_removing,
        decisions.decisions.len()
    );
    Ok(Done::Ok)
}

fn status(args: StatusArgs, log: &LogArgs) -> CmdResult {
    let place = resolve(&args.place, &Default::default(), log)?;
    let now = common::clock()?.now();
    let (rt, store) = open(&place)?;
    let all = rt
        .block_on(reviews::read_all(
            store.as_ref(),
            &place.cluster,
            place.campaign_trust()?,
        ))
        .context("cannot read the campaigns")?;
    let chosen: Vec<_> = all
        .campaigns
        .into_iter()
        .filter(|(c, _)| args.campaign.as_ref().is_none_or(|id| &c.id == id))
        .collect();
    let refused: Vec<_> = all
        .refused
        .iter()
        .filter(|r| {
            args.campaign
                .as_ref()
                .is_none_or(|id| r.key.contains(&format!("/{id}/")))
        })
        .collect();
    if chosen.is_empty() && !refused.is_empty() {
        let reasons: Vec<String> = refused
            .iter()
            .map(|r| format!("  {} ({})", r.key, r.problem))
            .collect();
        return Err(Failure::error(format!(
            "no campaign of cluster {} counts; these campaign objects in the store do not:\n{}",
            place.cluster,
            reasons.join("\n")
        )));
    }
    if chosen.is_empty() {
        return Err(Failure::usage(match &args.campaign {
            Some(id) => format!("campaign {id} does not exist for cluster {}", place.cluster),
            None => format!("cluster {} has no campaign yet", place.cluster),
        }));
    }
    let statuses: Vec<assess::CampaignStatus> = chosen
        .iter()
        .map(|(c, s)| assess::progress(c, s, now))
        .collect();
    match args.format {
        Format::Json => outln!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "campaigns": statuses,
                "notCounted": refused,
            }))
            .expect("serialises")
        ),
        Format::Table => {
            for s in &statuses {
                let (campaign, _) = chosen
                    .iter()
                    .find(|(c, _)| c.id == s.id)
                    .expect("a status per campaign");
                let left = assess::outstanding(campaign, s, now.date_naive())
                    .map(|o| {
                        format!(
                            "; {} of its {} queue rows undecided, {}",
                            o.undecided,
                            o.rows,
                            o.time_left()
                        )
                    })
                    .unwrap_or_default();
                outln!(
                    "campaign {} (pack {}, due {}): {} of {} grants decided{left}",
                    s.id,
                    s.pack_id,
                    s.due,
                    s.decided,
                    s.rows
                );
                let mut t = Table::new(&["REVIEWER", "ASSIGNED", "DECIDED", "OUTSTANDING"]);
                for (r, (n, d)) in &s.by_reviewer {
                    t.row(vec![
                        r.clone(),
                        n.to_string(),
                        d.to_string(),
                        (n - d).to_string(),
                    ]);
                }
                out!("{}", t.render());
                for f in &s.submissions {
                    if let Some(p) = &f.problem {
                        outln!("  not counted: {} ({p})", f.key);
                    } else if f.late {
                        outln!("  late: {}", f.key);
                    }
                }
            }
            for r in &refused {
                outln!("not counted: campaign {} ({})", r.key, r.problem);
            }
        }
    }
    Ok(Done::Ok)
}
