//! What a run's control results rest on besides the findings: the data it had (inventory,
//! previous pack, audit log), the period it covers, and how the store keeps the packs. Recorded in
//! `findings.json` so that every control status can be recomputed from the pack alone.
//!
//! A control's `requires` names facts from here; each is met, not met (the control is
//! `not-satisfied`), not assessable (`not-assessed`), or needs a person's evidence
//! (`manual-evidence-required`), always with the reason.

pub use crate::store::Retention;
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Analyses and facts a control can require (the `requires` of a control definition).
pub const REQUIREMENTS: &[(&str, &str)] = &[
    ("audit-log", "a Kubernetes API audit log was analysed"),
    ("inventory", "a sub-processor inventory was given"),
    (
        "previous-pack",
        "the previous pack of the chain was read and verified",
    ),
    (
        "period",
        "the pack covers a period of at least one schedule interval since the previous pack",
    ),
    (
        "access-review",
        "an access review campaign of the cluster was read from the store",
    ),
    (
        "image-history",
        "the packs' record of the images sub-processors run covers the update period",
    ),
    (
        "retention",
        "the store keeps packs under a retention lock that nobody can lift (Object Lock in compliance mode)",
    ),
];

/// Packs closer together than this share of the schedule interval do not cover "a period": the
/// rest is left for a scheduler's jitter (72 minutes of a 24-hour schedule).
pub const PERIOD_TOLERANCE_PERCENT: i64 = 5;

/// How far the packs' record of sub-processor images reaches back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImageHistoryBasis {
    /// The first run that saw Pod status; none when no source has reported any yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<DateTime<Utc>>,
    pub days_covered: i64,
    /// The update period the record must cover before "not updated" can be claimed.
    pub days_required: u32,
}

/// The previous pack of the chain, as this run verified and used it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PreviousBasis {
    pub pack_id: String,
    pub collected_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssessmentBasis {
    /// When this pack's snapshot was collected: the end of the period.
    pub collected_at: DateTime<Utc>,
    /// A sub-processor inventory was given.
    pub inventory: bool,
    /// The verified previous pack (the start of the period), if there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_pack: Option<PreviousBasis>,
    /// The schedule the series is judged against.
    pub schedule_interval_hours: u32,
    /// The packs' record of sub-processor images, when there was an inventory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_history: Option<ImageHistoryBasis>,
    /// A Kubernetes API audit log was analysed.
    pub audit_log: bool,
    /// How much of the usage window the audit log's record covers (with an audit log).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_window: Option<AuditWindow>,
    /// How the store keeps the packs.
    pub retention: Retention,
    /// Access review campaigns read from the store (absent when none was).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_reviews: Option<ReviewBasis>,
}

/// The access review campaigns a run read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReviewBasis {
    pub campaigns: usize,
    pub latest: DateTime<Utc>,
}

/// The usage window and the days of audit log the usage record has within it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditWindow {
    pub window_days: u32,
    pub days_seen: u32,
    /// Days of log the window needs before conclusions over it stand.
    pub days_required: u32,
    /// The first day of the window with audit log, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_day: Option<chrono::NaiveDate>,
}

/// Whether one requirement holds, and why not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequirementState {
    Met(String),
    /// The data shows the requirement is not met: the control is not satisfied.
    NotMet(String),
    /// The tool cannot tell: the control is not assessed.
    NotAssessed(String),
    /// Only a person's evidence can settle it.
    Manual(String),
}

fn hours_and_minutes(d: chrono::Duration) -> String {
    let minutes = d.num_minutes();
    if minutes < 1 {
        format!("{} s", d.num_seconds().max(0))
    } else if minutes < 60 {
        format!("{minutes} min")
    } else {
        format!("{} h {} min", minutes / 60, minutes % 60)
    }
}

impl AssessmentBasis {
    /// The shortest period that counts as one schedule interval.
    pub fn minimum_period(&self) -> chrono::Duration {
        let interval = chrono::Duration::hours(i64::from(self.schedule_interval_hours.max(1)));
        interval - interval * PERIOD_TOLERANCE_PERCENT as i32 / 100
    }

    /// How long since the previous pack, if there is one.
    pub fn period(&self) -> Option<chrono::Duration> {
        self.previous_pack
            .as_ref()
            .map(|p| self.collected_at - p.collected_at)
    }

    fn audit_log_state(&self) -> RequirementState {
        use RequirementState::*;
        match (&self.audit_window, self.audit_log) {
            (_, false) | (None, true) => NotAssessed("no Kubernetes audit log was analysed".into()),
            (Some(w), true) if w.days_seen >= w.days_required => Met(format!(
                "the API audit log covers {} of the {} days of the usage window",
                w.days_seen, w.window_days
            )),
            (Some(w), true) => NotAssessed(format!(
                "the API audit log covers {} of the {} days of the usage window{}: use over the window cannot be judged until the record covers at least {} days",
                w.days_seen,
                w.window_days,
                w.first_day
                    .map(|d| format!(" (from {d})"))
                    .unwrap_or_default(),
                w.days_required
            )),
        }
    }

    pub fn requirement(&self, name: &str) -> RequirementState {
        use RequirementState::*;
        match name {
            "inventory" if self.inventory => Met("a sub-processor inventory was given".into()),
            "inventory" => NotAssessed("no sub-processor inventory was given".into()),
            "audit-log" => self.audit_log_state(),
            "access-review" => match &self.access_reviews {
                Some(r) => Met(format!(
                    "{} access review campaign(s) read, the latest created {}",
                    r.campaigns,
                    r.latest.format("%Y-%m-%d")
                )),
                None => Manual(
                    "no access review campaign of this cluster is in the store: attach the evidence of the periodic access review (or run one with `kube-evidence review start`)".into(),
                ),
            },
            "image-history" => match &self.image_history {
                Some(h) if h.since.is_some() && h.days_covered >= i64::from(h.days_required) => Met(format!(
                    "the image record covers {} days (since {}), the {}-day update period",
                    h.days_covered,
                    h.since.map(|s| s.format("%Y-%m-%d").to_string()).unwrap_or_default(),
                    h.days_required
                )),
                Some(h) if h.since.is_some() => NotAssessed(format!(
                    "the image record covers {} of the {} days of the update period (since {}): whether software was updated in the period cannot be judged yet",
                    h.days_covered,
                    h.days_required,
                    h.since.map(|s| s.format("%Y-%m-%d").to_string()).unwrap_or_default()
                )),
                Some(_) => NotAssessed(
                    "no source has reported Pod status (image digests) yet, so which builds of sub-processors' software ran is unknown".into(),
                ),
                None => NotAssessed("no sub-processor inventory was given".into()),
            },
            "previous-pack" => match &self.previous_pack {
                Some(p) => Met(format!("previous pack {} verified", p.pack_id)),
                None => NotAssessed("no previous pack: this pack is the baseline of its chain".into()),
            },
            "period" => match (self.period(), &self.previous_pack) {
                (Some(d), Some(p)) if d >= self.minimum_period() => Met(format!(
                    "the period since pack {} is {}",
                    p.pack_id,
                    hours_and_minutes(d)
                )),
                (Some(d), Some(p)) => NotAssessed(format!(
                    "the period since the previous pack {} is {}, shorter than one schedule interval ({} h): change over a period cannot be judged from it",
                    p.pack_id,
                    hours_and_minutes(d),
                    self.schedule_interval_hours
                )),
                _ => NotAssessed(
                    "no previous pack: there is no period to judge change over (this pack is the baseline)"
                        .into(),
                ),
            },
            "retention" => match &self.retention {
                Retention::Compliance { days } => Met(format!(
                    "packs are under Object Lock in compliance mode for {days} day(s)"
                )),
                Retention::Governance { days } => Manual(format!(
                    "packs are under Object Lock in governance mode for {days} day(s), which holders of s3:BypassGovernanceRetention can lift: attach who holds it"
                )),
                Retention::None => NotMet(
                    "the store keeps packs without a retention lock: whoever may write to it may delete or replace them"
                        .into(),
                ),
                Retention::Unverifiable { reason } => NotAssessed(format!(
                    "the retention of the store cannot be verified by the tool: {reason}"
                )),
            },
            other => NotAssessed(format!("unknown requirement `{other}`")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn basis(previous_hours_ago: Option<i64>, retention: Retention) -> AssessmentBasis {
        let now = Utc.with_ymd_and_hms(2026, 11, 20, 2, 0, 0).unwrap();
        AssessmentBasis {
            collected_at: now,
            inventory: true,
            previous_pack: previous_hours_ago.map(|h| PreviousBasis {
                pack_id: "p".into(),
                collected_at: now - chrono::Duration::seconds((h as f64 * 3600.0) as i64),
            }),
            schedule_interval_hours: 24,
            audit_log: false,
            audit_window: None,
            retention,
            access_reviews: None,
            image_history: None,
        }
    }

    #[test]
    fn a_period_needs_one_schedule_interval_less_the_jitter_allowance() {
        let state = |h: f64| {
            let mut b = basis(None, Retention::None);
            b.previous_pack = Some(PreviousBasis {
                pack_id: "p".into(),
                collected_at: b.collected_at - chrono::Duration::seconds((h * 3600.0) as i64),
            });
            b.requirement("period")
        };
        assert!(matches!(state(24.0), RequirementState::Met(_)));
        assert!(matches!(state(22.9), RequirementState::Met(_)));
        assert!(matches!(state(22.7), RequirementState::NotAssessed(_)));
        let three_seconds = state(3.0 / 3600.0);
        match three_seconds {
            RequirementState::NotAssessed(why) => assert!(why.contains("is 3 s"), "{why}"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            basis(None, Retention::None).requirement("period"),
            RequirementState::NotAssessed(_)
        ));
    }

    #[test]
    fn records_protection_follows_the_real_retention() {
        let r = |ret| basis(Some(24), ret).requirement("retention");
        assert!(matches!(
            r(Retention::Compliance { days: 400 }),
            RequirementState::Met(_)
        ));
        assert!(matches!(
            r(Retention::Governance { days: 400 }),
            RequirementState::Manual(_)
        ));
        assert!(matches!(r(Retention::None), RequirementState::NotMet(_)));
        assert!(matches!(
            r(Retention::Unverifiable {
                reason: "a local directory".into()
            }),
            RequirementState::NotAssessed(_)
        ));
    }
}
