//! Access review campaigns and their follow-up.

use super::*;
use crate::report::bounds;
use serde::Serialize;

/// The access reviews section: coverage of today's population, and per campaign its progress
/// and what became of its revocations.
#[derive(Debug, Clone, Serialize)]
pub struct ReviewsView {
    pub coverage: String,
    /// Per open campaign with rows undecided: how many, by reviewer, and the days left or
    /// overdue (`reviews.outstanding`).
    pub reminders: Vec<String>,
    pub campaigns: Vec<CampaignView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CampaignView {
    pub heading: String,
    pub reviewers: Vec<String>,
    /// Revocations and reductions, each with what became of it.
    pub revocations: Vec<String>,
    pub files: Vec<String>,
}

pub(super) fn reviews_view(r: &crate::review::assess::ReviewState) -> ReviewsView {
    use crate::review::assess::RowStatus;
    let c = &r.coverage;
    let coverage = format!(
        "Of today's {} privileged grants, {} were reviewed in the last {} days, {} wait in an open campaign, {} appeared after the last campaign, and {} were not reviewed in the period.",
        c.population,
        c.reviewed_in_period,
        c.period_days,
        c.pending,
        c.new_since_last_campaign,
        c.not_reviewed
    );
    let day = |t: &Option<chrono::DateTime<chrono::Utc>>| {
        t.map(|t| t.format("%Y-%m-%d").to_string())
            .unwrap_or_default()
    };
    let campaigns: Vec<CampaignView> = r
        .campaigns
        .iter()
        .map(|k| CampaignView {
            heading: format!(
                "Campaign {} (population of pack {}, started {}, due {}): {} of {} grants decided",
                k.id,
                k.pack_id,
                k.created_at.format("%Y-%m-%d"),
                k.due,
                k.decided,
                k.rows
            ),
            reviewers: bounded(
                k.by_reviewer
                    .iter()
                    .map(|(who, (n, d))| format!("{who}: {d} of {n} grants decided")),
                k.by_reviewer.len(),
                "reviewers",
                crate::files::REVIEWS_CSV,
            ),
            revocations: bounded(
                k.outcomes
                    .iter()
                    .filter(|o| o.verdict.is_some_and(|v| v.removes()))
                    .map(|o| {
                        let what = match o.status {
                            RowStatus::RevokedCarriedOut => {
                                format!("carried out: gone since {}", day(&o.gone_since))
                            }
                            RowStatus::RevocationOverdue => "OUTSTANDING past its deadline".into(),
                            _ => "pending, within its deadline".into(),
                        };
                        format!(
                            "{} {} ({} -> {}), decided {} by {}: {what}",
                            o.subject,
                            o.access,
                            o.binding,
                            o.role,
                            day(&o.decided_at),
                            o.reviewer
                        )
                    }),
                k.outcomes
                    .iter()
                    .filter(|o| o.verdict.is_some_and(|v| v.removes()))
                    .count(),
                "revocations and reductions",
                crate::files::REVIEWS_CSV,
            ),
            files: bounded(
                k.submissions.iter().map(|s| {
                    let standing = match (&s.problem, s.late) {
                        (Some(p), _) => format!("not counted: {p}"),
                        (None, true) => "late".into(),
                        (None, false) => "counted".into(),
                    };
                    format!(
                        "{} by {} at {}: {standing}",
                        s.key,
                        s.reviewer.as_deref().unwrap_or("unknown signer"),
                        s.submitted_at.format("%Y-%m-%d %H:%M UTC")
                    )
                }),
                k.submissions.len(),
                "decision files",
                crate::files::REVIEWS_CSV,
            ),
        })
        .collect();
    let reminders = bounded(
        r.outstanding.iter().map(reminder),
        r.outstanding.len(),
        "open campaigns",
        crate::files::FINDINGS_JSON,
    );
    let (campaigns, left) = bounds::take(campaigns, bounds::CAMPAIGNS);
    let coverage = if left > 0 {
        format!(
            "{coverage} The first {} of {} campaigns are shown; reviews.csv lists every row of each.",
            campaigns.len(),
            campaigns.len() + left
        )
    } else {
        coverage
    };
    ReviewsView {
        coverage,
        reminders,
        campaigns,
    }
}

/// One open campaign's reminder: "Campaign X, due D (3 days overdue): 12 of 40 rows undecided:
/// a@ 10, b@ 2."
pub(super) fn reminder(o: &crate::review::assess::Outstanding) -> String {
    let waiting: Vec<String> = o
        .by_reviewer
        .iter()
        .take(bounds::LIST)
        .map(|(who, n)| format!("{who} {n}"))
        .collect();
    let more = o.by_reviewer.len().saturating_sub(waiting.len());
    format!(
        "Campaign {}, due {} ({}): {} of its {} rows undecided, by reviewer: {}{}.",
        o.campaign,
        o.due,
        if o.overdue() {
            o.time_left().to_uppercase()
        } else {
            o.time_left()
        },
        o.undecided,
        o.rows,
        waiting.join(", "),
        if more > 0 {
            format!(" and {more} more reviewers")
        } else {
            String::new()
        }
    )
}
