//! Following campaigns up, run after run (pure): which rows were decided and by whom, which
//! revocations the cluster carried out (and since when the grant is gone), which are outstanding
//! past their deadline, what of today's privileged population was not reviewed in the review
//! period or appeared after the last campaign, overdue campaigns, self-reviews, and decision
//! files that do not count (unsigned, invalid, late).

use super::model::{Campaign, RefusedCampaign, Row, Submission, Verdict, is_own_access};
use super::queue::queue_rows;
use crate::finding::Finding;
use crate::rbac::SubjectRef;
use crate::rules::{RuleId, new_finding};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

pub const REVIEWS_FILE: &str = crate::files::REVIEWS_JSON;

/// The review period (how recent a decision must be to count) unless configured.
pub const DEFAULT_REVIEW_PERIOD_DAYS: u32 = 90;

/// The campaigns a run read from the store, for the follow-up.
#[derive(Debug, Clone)]
pub struct Reviews {
    pub campaigns: Vec<(Campaign, Vec<Submission>)>,
    /// Campaign objects in the store that do not count, with the reason.
    pub refused: Vec<RefusedCampaign>,
    pub period_days: u32,
    /// The previous pack's `reviews.json`.
    pub previous: Option<ReviewState>,
    /// When the previous pack was collected: a decision file it did not record appeared after.
    pub previous_at: Option<DateTime<Utc>>,
}

/// What the follow-up reads.
pub struct ReviewInput<'a> {
    pub campaigns: &'a [(Campaign, Vec<Submission>)],
    pub refused: &'a [RefusedCampaign],
    /// Today's privileged population (the rows a campaign would freeze now).
    pub population: &'a [Row],
    /// The ids of every row that exists today (every binding's): a reviewed grant not among
    /// them is gone.
    pub existing: &'a BTreeSet<String>,
    pub now: DateTime<Utc>,
    pub period_days: u32,
    /// The previous pack's state: when each revoked grant was first seen gone, and when each
    /// decision file was submitted.
    pub previous: Option<&'a ReviewState>,
    /// When the previous pack was collected.
    pub previous_at: Option<DateTime<Utc>>,
}

/// The follow-up state a pack carries (`reviews.json`) and the next run continues.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReviewState {
    pub campaigns: Vec<CampaignStatus>,
    /// Campaign objects in the store that do not count (and whose rows count nowhere).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refused_campaigns: Vec<RefusedCampaign>,
    /// Rows of today's population and how each stands.
    pub coverage: Coverage,
    /// Every decision file any pack of the chain recorded, by content, with the time it counts
    /// from: carried from pack to pack, so a file taken out of the store for a night and put
    /// back (under any name) keeps its time.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recorded_decisions: Vec<RecordedDecision>,
    /// Every open campaign (started within the review period) with rows undecided: what the
    /// reports remind reviewers of.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outstanding: Vec<Outstanding>,
}

/// An open campaign's undecided rows, by reviewer, and its time left: the reminder every report
/// states. Rows are those of the reviewers' queues (one per subject and binding,
/// [`crate::review::queue`]): a queue row is undecided while any grant of it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Outstanding {
    pub campaign: String,
    pub due: NaiveDate,
    /// Days from the run's day to the due date, which is the last day to decide: 0 on the due
    /// date, negative once it has passed (overdue by that many days).
    pub days_left: i64,
    /// The campaign's queue rows, and how many are undecided.
    pub rows: usize,
    pub undecided: usize,
    /// Reviewer -> their undecided queue rows (reviewers with none left out).
    pub by_reviewer: BTreeMap<String, usize>,
}

impl Outstanding {
    pub fn overdue(&self) -> bool {
        self.days_left < 0
    }

    /// "14 days left", "due today", "3 days overdue".
    pub fn time_left(&self) -> String {
        match self.days_left {
            0 => "due today".into(),
            1 => "1 day left".into(),
            -1 => "1 day overdue".into(),
            d if d > 0 => format!("{d} days left"),
            d => format!("{} days overdue", -d),
        }
    }
}

/// What of `campaign` is undecided as `status` stands on `today`, or `None` when nothing is.
pub fn outstanding(
    campaign: &Campaign,
    status: &CampaignStatus,
    today: NaiveDate,
) -> Option<Outstanding> {
    let undecided: BTreeSet<&str> = status
        .outcomes
        .iter()
        .filter(|o| o.status == RowStatus::Undecided)
        .map(|o| o.row.as_str())
        .collect();
    let rows = queue_rows(campaign);
    let mut by_reviewer: BTreeMap<String, usize> = BTreeMap::new();
    for q in rows
        .iter()
        .filter(|q| q.rows.iter().any(|r| undecided.contains(r.as_str())))
    {
        *by_reviewer.entry(q.reviewer.clone()).or_default() += 1;
    }
    let count = by_reviewer.values().sum();
    (count > 0).then(|| Outstanding {
        campaign: campaign.id.clone(),
        due: campaign.due,
        days_left: (campaign.due - today).num_days(),
        rows: rows.len(),
        undecided: count,
        by_reviewer,
    })
}

/// A campaign is open while it started within the review period: its undecided rows wait in it
/// (coverage's "pending") and the reports remind its reviewers of them.
fn is_open(created_at: DateTime<Utc>, input: &ReviewInput<'_>) -> bool {
    created_at >= input.now - Duration::days(i64::from(input.period_days))
}

/// A decision file as the chain first recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecordedDecision {
    pub sha256: String,
    pub campaign: String,
    pub submitted_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Coverage {
    pub period_days: u32,
    pub population: usize,
    pub reviewed_in_period: usize,
    pub pending: usize,
    pub new_since_last_campaign: usize,
    pub not_reviewed: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CampaignStatus {
    pub id: String,
    pub pack_id: String,
    pub created_at: DateTime<Utc>,
    pub due: chrono::NaiveDate,
    pub rows: usize,
    pub decided: usize,
    /// Reviewer -> (rows assigned, rows decided).
    pub by_reviewer: BTreeMap<String, (usize, usize)>,
    pub submissions: Vec<SubmissionStatus>,
    pub outcomes: Vec<RowOutcome>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubmissionStatus {
    pub key: String,
    /// The time the pack chain vouches for (see [`anchor_times`]).
    pub submitted_at: DateTime<Utc>,
    /// The store's claim, when it was not used as the time (not recorded, out of bounds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claimed_at: Option<DateTime<Utc>>,
    /// SHA-256 of the file's bytes: how the next pack knows it again under any name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sha256: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reviewer: Option<String>,
    /// Why it does not count, if it does not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    pub late: bool,
}

/// One row's decision and what became of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RowOutcome {
    pub row: String,
    pub subject: SubjectRef,
    pub access: String,
    pub binding: String,
    pub role: String,
    pub reviewer: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<Verdict>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    pub status: RowStatus,
    /// For a revocation carried out: the first pack that saw the grant gone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gone_since: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RowStatus {
    Undecided,
    Kept,
    RevokedCarriedOut,
    RevocationPending,
    RevocationOverdue,
}

impl RowStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RowStatus::Undecided => "undecided",
            RowStatus::Kept => "kept",
            RowStatus::RevokedCarriedOut => "revocation carried out",
            RowStatus::RevocationPending => "revocation pending",
            RowStatus::RevocationOverdue => "revocation overdue",
        }
    }
}

/// One campaign's progress as `review status` shows it (no cluster state: a revocation is
/// pending or overdue, never carried out).
pub fn progress(
    campaign: &Campaign,
    submissions: &[Submission],
    now: DateTime<Utc>,
) -> CampaignStatus {
    let campaigns = [(campaign.clone(), submissions.to_vec())];
    let existing: BTreeSet<String> = campaign.rows.iter().map(|r| r.id.clone()).collect();
    let input = ReviewInput {
        campaigns: &campaigns,
        refused: &[],
        population: &campaign.rows,
        existing: &existing,
        now,
        period_days: DEFAULT_REVIEW_PERIOD_DAYS,
        previous: None,
        previous_at: None,
    };
    let present: BTreeSet<&str> = campaign.rows.iter().map(|r| r.id.as_str()).collect();
    let anchored = anchor_times(campaign, submissions, &input);
    campaign_status(campaign, &anchored, &present, &input)
}

/// The time each decision file counts from. A file's name and its store's Last-Modified are
/// claims anyone who can write to the store can make (rename, copy), so:
/// - a file the previous pack recorded (the same bytes, by SHA-256) keeps the time that pack
///   recorded, whatever it is called now;
/// - a file it did not record appeared after it: its claim is bounded by the previous pack's
///   collection (or the campaign's start, for the first) and this run's time.
///
/// The claim is kept beside the time when it was not used.
pub fn anchor_times(
    campaign: &Campaign,
    submissions: &[Submission],
    input: &ReviewInput<'_>,
) -> Vec<Submission> {
    let recorded = recorded_times(input.previous);
    let earliest = input
        .previous_at
        .map_or(campaign.created_at, |p| p.max(campaign.created_at));
    let latest = input.now.max(earliest);
    let mut anchored = submissions
        .iter()
        .map(|s| {
            let mut s = s.clone();
            let by_content = (!s.sha256.is_empty())
                .then(|| recorded.by_content.get(s.sha256.as_str()))
                .flatten();
            let by_key = recorded
                .keys_only
                .then(|| recorded.by_key.get(s.key.as_str()))
                .flatten();
            let claimed = s.submitted_at;
            s.submitted_at = match by_content.or(by_key) {
                Some(at) => *at,
                None => claimed.clamp(earliest, latest),
            };
            s.claimed_at = (s.submitted_at != claimed).then_some(claimed);
            s
        })
        .collect::<Vec<_>>();
    // In the order of the anchored times (a later file supersedes an earlier one for the rows
    // it decides): never the order of names or claims.
    anchored.sort_by(|a, b| (a.submitted_at, &a.key).cmp(&(b.submitted_at, &b.key)));
    anchored
}

/// The ledger this pack carries: the previous one's, and every file read now, each content at
/// the earliest time the chain gave it.
fn ledger(
    previous: Option<&ReviewState>,
    campaigns: &[(Campaign, Vec<Submission>)],
) -> Vec<RecordedDecision> {
    let mut by_content: BTreeMap<String, RecordedDecision> = BTreeMap::new();
    let mut add = |r: RecordedDecision| {
        let entry = by_content
            .entry(r.sha256.clone())
            .or_insert_with(|| r.clone());
        if r.submitted_at < entry.submitted_at {
            *entry = r;
        }
    };
    if let Some(p) = previous {
        p.recorded_decisions.iter().cloned().for_each(&mut add);
        for c in &p.campaigns {
            for f in c.submissions.iter().filter(|f| !f.sha256.is_empty()) {
                add(RecordedDecision {
                    sha256: f.sha256.clone(),
                    campaign: c.id.clone(),
                    submitted_at: f.submitted_at,
                });
            }
        }
    }
    for (campaign, files) in campaigns {
        for f in files.iter().filter(|f| !f.sha256.is_empty()) {
            add(RecordedDecision {
                sha256: f.sha256.clone(),
                campaign: campaign.id.clone(),
                submitted_at: f.submitted_at,
            });
        }
    }
    by_content.into_values().collect()
}

/// What the previous pack recorded of every decision file: by content, and by name for a pack
/// from before contents were recorded.
struct Recorded<'a> {
    by_content: BTreeMap<&'a str, DateTime<Utc>>,
    by_key: BTreeMap<&'a str, DateTime<Utc>>,
    /// The previous pack recorded no content at all (an older pack): names are all there is.
    keys_only: bool,
}

fn recorded_times(previous: Option<&ReviewState>) -> Recorded<'_> {
    let mut out = Recorded {
        by_content: BTreeMap::new(),
        by_key: BTreeMap::new(),
        keys_only: true,
    };
    for r in previous.into_iter().flat_map(|p| &p.recorded_decisions) {
        out.keys_only = false;
        let at = out
            .by_content
            .entry(r.sha256.as_str())
            .or_insert(r.submitted_at);
        *at = (*at).min(r.submitted_at);
    }
    let files = previous
        .into_iter()
        .flat_map(|p| &p.campaigns)
        .flat_map(|c| &c.submissions);
    for f in files {
        if !f.sha256.is_empty() {
            out.keys_only = false;
            let at = out
                .by_content
                .entry(f.sha256.as_str())
                .or_insert(f.submitted_at);
            *at = (*at).min(f.submitted_at);
        }
        out.by_key.insert(f.key.as_str(), f.submitted_at);
    }
    out
}

/// The follow-up: the state for the pack and the findings.
pub fn evaluate(input: &ReviewInput<'_>) -> (ReviewState, Vec<Finding>) {
    let present: BTreeSet<&str> = input.existing.iter().map(String::as_str).collect();
    let mut findings = Vec::new();
    let mut campaigns = Vec::new();
    let mut anchored_all = Vec::new();
    let mut reminders = Vec::new();
    for (campaign, submissions) in input.campaigns {
        let anchored = anchor_times(campaign, submissions, input);
        let status = campaign_status(campaign, &anchored, &present, input);
        anchored_all.push((campaign.clone(), anchored));
        findings.extend(campaign_findings(campaign, &status, input.now));
        if is_open(status.created_at, input) {
            reminders.extend(outstanding(campaign, &status, input.now.date_naive()));
        }
        campaigns.push(status);
    }
    let (coverage, coverage_findings) = coverage(input, &campaigns);
    findings.extend(coverage_findings);
    findings.extend(input.refused.iter().map(refused_finding));
    (
        ReviewState {
            campaigns,
            refused_campaigns: input.refused.to_vec(),
            coverage,
            recorded_decisions: ledger(input.previous, &anchored_all),
            outstanding: reminders,
        },
        findings,
    )
}

/// KE-REV-006 for a campaign object that does not count: its rows are not reviewed anywhere.
fn refused_finding(refused: &RefusedCampaign) -> Finding {
    new_finding(
        RuleId::Rev006,
        &refused.key,
        format!(
            "campaign {} does not count: {}; none of its decisions count as reviews",
            refused.key, refused.problem
        ),
    )
}

/// The latest counted decision of each row (a later file supersedes an earlier one), and each
/// file's standing.
/// A row's counted decision.
struct Decided {
    verdict: Verdict,
    at: DateTime<Utc>,
    reviewer: String,
    reason: String,
}

fn decisions_of(
    campaign: &Campaign,
    submissions: &[Submission],
) -> (BTreeMap<String, Decided>, Vec<SubmissionStatus>) {
    let due_end = campaign
        .due
        .and_hms_opt(23, 59, 59)
        .map(|t| t.and_utc())
        .unwrap_or(campaign.created_at);
    let mut latest = BTreeMap::new();
    let mut files = Vec::new();
    for s in submissions {
        let late = s.submitted_at > due_end;
        match &s.decisions {
            Ok(decisions) => {
                for d in decisions {
                    latest.insert(
                        d.row.clone(),
                        Decided {
                            verdict: d.verdict,
                            at: s.submitted_at,
                            reviewer: s.reviewer.clone().unwrap_or_default(),
                            reason: d.reason.clone(),
                        },
                    );
                }
                files.push(SubmissionStatus {
                    key: s.key.clone(),
                    submitted_at: s.submitted_at,
                    claimed_at: s.claimed_at,
                    sha256: s.sha256.clone(),
                    reviewer: s.reviewer.clone(),
                    problem: None,
                    late,
                });
            }
            Err(p) => files.push(SubmissionStatus {
                key: s.key.clone(),
                submitted_at: s.submitted_at,
                claimed_at: s.claimed_at,
                sha256: s.sha256.clone(),
                reviewer: s.reviewer.clone(),
                problem: Some(p.clone()),
                late,
            }),
        }
    }
    (latest, files)
}

fn campaign_status(
    campaign: &Campaign,
    submissions: &[Submission],
    present: &BTreeSet<&str>,
    input: &ReviewInput<'_>,
) -> CampaignStatus {
    let (latest, files) = decisions_of(campaign, submissions);
    let previously_gone: BTreeMap<(&str, &str), DateTime<Utc>> = input
        .previous
        .iter()
        .flat_map(|p| p.campaigns.iter())
        .flat_map(|c| {
            c.outcomes
                .iter()
                .map(move |o| ((c.id.as_str(), o.row.as_str()), o))
        })
        .filter_map(|(k, o)| Some((k, o.gone_since?)))
        .collect();
    let mut by_reviewer: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut outcomes = Vec::new();
    for row in &campaign.rows {
        let decided = latest.get(&row.id);
        let slot = by_reviewer.entry(row.reviewer.clone()).or_default();
        slot.0 += 1;
        slot.1 += usize::from(decided.is_some());
        let (status, gone_since) = match decided {
            None => (RowStatus::Undecided, None),
            Some(d) if d.verdict == Verdict::Keep => (RowStatus::Kept, None),
            Some(_) if !present.contains(row.id.as_str()) => (
                RowStatus::RevokedCarriedOut,
                Some(
                    previously_gone
                        .get(&(campaign.id.as_str(), row.id.as_str()))
                        .copied()
                        .unwrap_or(input.now),
                ),
            ),
            Some(d) => {
                let deadline = d.at + Duration::days(i64::from(campaign.remediation_days));
                if input.now > deadline {
                    (RowStatus::RevocationOverdue, None)
                } else {
                    (RowStatus::RevocationPending, None)
                }
            }
        };
        outcomes.push(RowOutcome {
            row: row.id.clone(),
            subject: row.subject.clone(),
            access: row.access.clone(),
            binding: row.binding.clone(),
            role: row.role.clone(),
            reviewer: decided
                .map(|d| d.reviewer.clone())
                .unwrap_or_else(|| row.reviewer.clone()),
            verdict: decided.map(|d| d.verdict),
            decided_at: decided.map(|d| d.at),
            reason: decided.map(|d| d.reason.clone()).unwrap_or_default(),
            status,
            gone_since,
        });
    }
    CampaignStatus {
        id: campaign.id.clone(),
        pack_id: campaign.pack_id.clone(),
        created_at: campaign.created_at,
        due: campaign.due,
        rows: campaign.rows.len(),
        decided: latest.len(),
        by_reviewer,
        submissions: files,
        outcomes,
    }
}

/// KE-REV-002 (overdue revocations), KE-REV-004 (overdue campaign), KE-REV-005 (self-review
/// assigned), KE-REV-006 (decision files that do not count, or came late).
fn campaign_findings(
    campaign: &Campaign,
    status: &CampaignStatus,
    now: DateTime<Utc>,
) -> Vec<Finding> {
    let mut out = Vec::new();
    for o in status
        .outcomes
        .iter()
        .filter(|o| o.status == RowStatus::RevocationOverdue)
    {
        let mut f = new_finding(
            RuleId::Rev002,
            &format!("{}|{}", campaign.id, o.row),
            format!(
                "campaign {} decided to {} {}'s {} ({} -> {}) on {}, and the grant is still there {} days later (deadline {} days)",
                campaign.id,
                o.verdict.map_or("revoke", Verdict::as_str),
                o.subject,
                o.access,
                o.binding,
                o.role,
                o.decided_at
                    .map(|t| t.format("%Y-%m-%d").to_string())
                    .unwrap_or_default(),
                o.decided_at
                    .map(|t| (now - t).num_days())
                    .unwrap_or_default(),
                campaign.remediation_days
            ),
        );
        f.subjects = vec![o.subject.clone()];
        out.push(f);
    }
    let undecided = status.rows - status.decided;
    if undecided > 0 && now.date_naive() > campaign.due {
        let waiting: Vec<String> = status
            .by_reviewer
            .iter()
            .filter(|(_, (n, d))| d < n)
            .map(|(r, (n, d))| format!("{r} {} of {n}", n - d))
            .collect();
        out.push(new_finding(
            RuleId::Rev004,
            &campaign.id,
            format!(
                "campaign {} was due on {} and {undecided} of its {} rows are not decided ({})",
                campaign.id,
                campaign.due,
                status.rows,
                waiting.join(", ")
            ),
        ));
    }
    for row in campaign
        .rows
        .iter()
        .filter(|r| is_own_access(&r.subject, &r.reviewer))
    {
        let mut f = new_finding(
            RuleId::Rev005,
            &format!("{}|{}", campaign.id, row.id),
            format!(
                "campaign {} assigns {}'s own access ({} -> {}) to {} for review",
                campaign.id, row.subject, row.binding, row.role, row.reviewer
            ),
        );
        f.subjects = vec![row.subject.clone()];
        out.push(f);
    }
    for s in &status.submissions {
        let problem = match (&s.problem, s.late) {
            (Some(p), _) => format!("does not count: {p}"),
            (None, true) => format!("came after the due date {}", campaign.due),
            (None, false) => continue,
        };
        out.push(new_finding(
            RuleId::Rev006,
            &s.key,
            format!(
                "decision file {} of campaign {} (submitted {}) {problem}",
                s.key,
                campaign.id,
                s.submitted_at.format("%Y-%m-%d %H:%M UTC")
            ),
        ));
    }
    out
}

/// Today's population against the decisions of the period: KE-REV-001 (not reviewed in the
/// period) and KE-REV-003 (appeared after the last campaign), one finding per subject.
fn coverage(input: &ReviewInput<'_>, campaigns: &[CampaignStatus]) -> (Coverage, Vec<Finding>) {
    let since = input.now - Duration::days(i64::from(input.period_days));
    let reviewed: BTreeSet<&str> = campaigns
        .iter()
        .flat_map(|c| c.outcomes.iter())
        .filter(|o| o.decided_at.is_some_and(|t| t >= since))
        .map(|o| o.row.as_str())
        .collect();
    let open: BTreeSet<&str> = campaigns
        .iter()
        .filter(|c| is_open(c.created_at, input))
        .flat_map(|c| c.outcomes.iter())
        .filter(|o| o.status == RowStatus::Undecided)
        .map(|o| o.row.as_str())
        .collect();
    let latest = input
        .campaigns
        .iter()
        .map(|(c, _)| c)
        .max_by_key(|c| c.created_at);
    let in_latest: BTreeSet<&str> = latest
        .map(|c| c.rows.iter().map(|r| r.id.as_str()).collect())
        .unwrap_or_default();
    let mut cov = Coverage {
        period_days: input.period_days,
        population: input.population.len(),
        ..Coverage::default()
    };
    let mut new_rows: BTreeMap<&SubjectRef, Vec<&Row>> = BTreeMap::new();
    let mut stale_rows: BTreeMap<&SubjectRef, Vec<&Row>> = BTreeMap::new();
    for row in input.population {
        let id = row.id.as_str();
        if reviewed.contains(id) {
            cov.reviewed_in_period += 1;
        } else if open.contains(id) {
            cov.pending += 1;
        } else if latest.is_some() && !in_latest.contains(id) {
            cov.new_since_last_campaign += 1;
            new_rows.entry(&row.subject).or_default().push(row);
        } else {
            cov.not_reviewed += 1;
            stale_rows.entry(&row.subject).or_default().push(row);
        }
    }
    let mut findings = Vec::new();
    for (rule, rows, what) in [
        (
            RuleId::Rev003,
            &new_rows,
            "appeared after the last campaign",
        ),
        (RuleId::Rev001, &stale_rows, "were not reviewed"),
    ] {
        for (subject, rows) in rows {
            let mut f = new_finding(
                rule,
                &subject.to_string(),
                format!(
                    "{} privileged grant(s) of {subject} {what} in the last {} days: {}",
                    rows.len(),
                    input.period_days,
                    rows.iter()
                        .map(|r| format!("{} ({} -> {})", r.access, r.binding, r.role))
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
            );
            f.subjects = vec![(*subject).clone()];
            f.sub_processor = rows.iter().find_map(|r| r.sub_processor.clone());
            findings.push(f);
        }
    }
    (cov, findings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::review::model::{CAMPAIGN_VERSION, Decision};

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn row(name: &str) -> Row {
        let subject = SubjectRef::user(format!("oidc:{name}@example.com"));
        let binding = format!("ClusterRoleBinding {name}");
        Row {
            id: Row::make_id(&subject, "read Secrets", &binding, "ClusterRole r"),
            subject,
            access: "read Secrets".into(),
            scope: "cluster-wide".into(),
            binding,
            role: "ClusterRole r".into(),
            sub_processor: None,
            reviewer: "lead@example.com".into(),
        }
    }

    fn campaign(rows: Vec<Row>, created: &str, due: &str) -> Campaign {
        Campaign {
            version: CAMPAIGN_VERSION,
            id: format!("c-{created}"),
            cluster: "c".into(),
            pack_id: "p".into(),
            pack_path: "c/packs/p".into(),
            manifest_sha256: "0".into(),
            created_at: at(created),
            due: due.parse().unwrap(),
            remediation_days: 7,
            allowed_signers: String::new(),
            rows,
        }
    }

    fn decided(rows: &[&Row], verdict: Verdict, when: &str) -> Submission {
        Submission {
            key: format!("d-{when}"),
            submitted_at: at(when),
            sha256: format!("content of {when}"),
            claimed_at: None,
            reviewer: Some("lead@example.com".into()),
            decisions: Ok(rows
                .iter()
                .map(|r| Decision {
                    row: r.id.clone(),
                    verdict,
                    keep: String::new(),
                    reason: "r".into(),
                })
                .collect()),
        }
    }

    fn run(
        campaigns: &[(Campaign, Vec<Submission>)],
        population: &[Row],
        now: &str,
    ) -> (ReviewState, Vec<(RuleId, String)>) {
        let existing: BTreeSet<String> = population.iter().map(|r| r.id.clone()).collect();
        let (state, findings) = evaluate(&ReviewInput {
            campaigns,
            refused: &[],
            population,
            existing: &existing,
            now: at(now),
            period_days: 90,
            previous: None,
            previous_at: None,
        });
        let f = findings
            .into_iter()
            .map(|f| (f.rule_id, f.summary))
            .collect();
        (state, f)
    }

    #[test]
    fn coverage_counts_decisions_within_the_period_and_new_grants_since_the_campaign() {
        let (a, b, c) = (row("a"), row("b"), row("c"));
        let camp = campaign(
            vec![a.clone(), b.clone()],
            "2026-09-01T00:00:00Z",
            "2026-09-15",
        );
        let subs = vec![decided(&[&a, &b], Verdict::Keep, "2026-09-10T00:00:00Z")];
        let all = [(camp, subs)];
        // 80 days later: both decisions count; c appeared after the campaign.
        let (state, found) = run(
            &all,
            &[a.clone(), b.clone(), c.clone()],
            "2026-11-29T00:00:00Z",
        );
        assert_eq!(
            (
                state.coverage.reviewed_in_period,
                state.coverage.new_since_last_campaign
            ),
            (2, 1)
        );
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, RuleId::Rev003);
        // 100 days later the decisions are older than the period: not reviewed (KE-REV-001).
        let (state, found) = run(&all, &[a, b, c], "2026-12-19T00:00:00Z");
        assert_eq!(state.coverage.not_reviewed, 2);
        assert!(found.iter().any(|(r, _)| *r == RuleId::Rev001));
    }

    #[test]
    fn a_campaign_past_due_with_rows_undecided_is_overdue_and_a_revocation_past_its_deadline_too() {
        let (a, b) = (row("a"), row("b"));
        let camp = campaign(
            vec![a.clone(), b.clone()],
            "2026-11-01T00:00:00Z",
            "2026-11-15",
        );
        let subs = vec![decided(&[&a], Verdict::Revoke, "2026-11-10T00:00:00Z")];
        let all = [(camp, subs)];
        let (_, before) = run(&all, &[a.clone(), b.clone()], "2026-11-14T00:00:00Z");
        assert!(before.is_empty(), "{before:?}");
        let (state, after) = run(&all, &[a.clone(), b.clone()], "2026-11-20T00:00:00Z");
        let rules: Vec<RuleId> = after.iter().map(|(r, _)| *r).collect();
        assert_eq!(rules, [RuleId::Rev002, RuleId::Rev004], "{after:?}");
        assert_eq!(state.campaigns[0].by_reviewer["lead@example.com"], (2, 1));
        // The grant removed: carried out, since this run.
        let (state, after) = run(&all, &[b], "2026-11-21T00:00:00Z");
        let a_out = &state.campaigns[0].outcomes[0];
        assert_eq!(a_out.status, RowStatus::RevokedCarriedOut);
        assert_eq!(a_out.gone_since, Some(at("2026-11-21T00:00:00Z")));
        assert!(!after.iter().any(|(r, _)| *r == RuleId::Rev002));
    }

    #[test]
    fn open_campaigns_remind_of_their_undecided_queue_rows_by_reviewer_and_time_left() {
        let (a, b) = (row("a"), row("b"));
        // A second grant of a's binding: the same queue row.
        let mut a2 = a.clone();
        a2.access = "exec into pods".into();
        a2.id = Row::make_id(&a2.subject, &a2.access, &a2.binding, &a2.role);
        let mut b = b;
        b.reviewer = "other@example.com".into();
        let camp = campaign(
            vec![a.clone(), a2.clone(), b.clone()],
            "2026-11-01T00:00:00Z",
            "2026-11-15",
        );
        // One grant of a's binding decided (a file of the per-capability layout could): the
        // queue row stays undecided.
        let subs = vec![decided(&[&a], Verdict::Keep, "2026-11-05T00:00:00Z")];
        let all = [(camp, subs)];
        let (state, _) = run(
            &all,
            &[a.clone(), a2.clone(), b.clone()],
            "2026-11-10T12:00:00Z",
        );
        let o = &state.outstanding[0];
        assert_eq!((o.rows, o.undecided, o.days_left), (2, 2, 5));
        assert_eq!(o.time_left(), "5 days left");
        assert_eq!(
            o.by_reviewer,
            BTreeMap::from([
                ("lead@example.com".to_string(), 1),
                ("other@example.com".to_string(), 1)
            ])
        );
        let (state, _) = run(
            &all,
            &[a.clone(), a2.clone(), b.clone()],
            "2026-11-18T00:00:00Z",
        );
        assert!(state.outstanding[0].overdue());
        assert_eq!(state.outstanding[0].time_left(), "3 days overdue");
        // Past the review period the campaign is no longer open: no reminder.
        let (state, _) = run(&all, &[a, a2, b], "2027-02-10T00:00:00Z");
        assert!(state.outstanding.is_empty());
    }

    /// A copy of an old "keep" file named for 2099 does not undo a later revocation: the chain
    /// recorded the copy's bytes earlier, and files supersede each other in the order of the
    /// times the chain gives them, never of their names or claims.
    #[test]
    fn a_file_supersedes_another_by_the_time_the_chain_gave_it_not_by_its_name() {
        let a = row("a");
        let camp = campaign(vec![a.clone()], "2026-11-01T00:00:00Z", "2026-11-30");
        let keep = decided(&[&a], Verdict::Keep, "2026-11-05T00:00:00Z");
        let revoke = decided(&[&a], Verdict::Revoke, "2026-11-06T00:00:00Z");
        let previous = ReviewState {
            recorded_decisions: vec![
                RecordedDecision {
                    sha256: keep.sha256.clone(),
                    campaign: camp.id.clone(),
                    submitted_at: keep.submitted_at,
                },
                RecordedDecision {
                    sha256: revoke.sha256.clone(),
                    campaign: camp.id.clone(),
                    submitted_at: revoke.submitted_at,
                },
            ],
            ..ReviewState::default()
        };
        let mut replayed = keep.clone();
        replayed.key = "d-2099".into();
        replayed.submitted_at = at("2099-01-01T00:00:00Z");
        let all = [(camp, vec![revoke, replayed])];
        let existing: BTreeSet<String> = [a.id.clone()].into();
        let (state, _) = evaluate(&ReviewInput {
            campaigns: &all,
            refused: &[],
            population: std::slice::from_ref(&a),
            existing: &existing,
            now: at("2026-11-08T00:00:00Z"),
            period_days: 90,
            previous: Some(&previous),
            previous_at: Some(at("2026-11-07T00:00:00Z")),
        });
        assert_eq!(
            state.campaigns[0].outcomes[0].verdict,
            Some(Verdict::Revoke)
        );
        let copy = &state.campaigns[0].submissions[0];
        assert_eq!(copy.key, "d-2099");
        assert_eq!(copy.submitted_at, at("2026-11-05T00:00:00Z"));
        assert_eq!(copy.claimed_at, Some(at("2099-01-01T00:00:00Z")));
        assert_eq!(state.recorded_decisions.len(), 2, "the ledger carries both");
    }

    #[test]
    fn a_later_file_supersedes_an_earlier_one_row_by_row_and_a_file_that_does_not_count_is_named() {
        let (a, b) = (row("a"), row("b"));
        let camp = campaign(
            vec![a.clone(), b.clone()],
            "2026-11-01T00:00:00Z",
            "2026-11-15",
        );
        let first = decided(&[&a, &b], Verdict::Keep, "2026-11-05T00:00:00Z");
        let corrected = decided(&[&b], Verdict::Revoke, "2026-11-06T00:00:00Z");
        let unsigned = Submission {
            key: "d-unsigned".into(),
            submitted_at: at("2026-11-07T00:00:00Z"),
            sha256: String::new(),
            claimed_at: None,
            reviewer: None,
            decisions: Err("it is not signed".into()),
        };
        let all = [(camp, vec![first, corrected, unsigned])];
        let (state, found) = run(&all, &[a, b], "2026-11-08T00:00:00Z");
        let outcomes = &state.campaigns[0].outcomes;
        assert_eq!(outcomes[0].verdict, Some(Verdict::Keep));
        assert_eq!(
            outcomes[1].verdict,
            Some(Verdict::Revoke),
            "the correction wins"
        );
        assert_eq!(state.campaigns[0].submissions.len(), 3, "every file stays");
        assert!(
            found.iter().any(|(r, s)| *r == RuleId::Rev006
                && s.contains("d-unsigned")
                && s.contains("not signed")),
            "{found:?}"
        );
    }
}
