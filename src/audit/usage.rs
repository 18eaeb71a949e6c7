//! The usage record (`usage.json.gz`): per subject, per access (verb, API group, resource,
//! subresource, namespace, or non-resource URL), when it was first and last seen, how often,
//! allowed and denied, and from where. A nightly run sees one night of log; the record is merged
//! run after run, and says which days of log it was built from, so "unused for 90 days" is only
//! ever claimed over days actually seen.

use super::compact::{DayMap, StringSet};
use super::event::{AccessKey, Event};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

pub const USAGE_FILE: &str = crate::files::USAGE_RECORD;
/// The record as packs from before it was compressed carry it (`usage.json`): still read, so the
/// chain continues from such a pack, never written.
pub const USAGE_FILE_PLAIN: &str = crate::files::USAGE_RECORD_PLAIN;
/// This run's log alone (gzip of a [`UsageRecord`]): what anomalies are judged on, so a pack
/// can be re-performed.
pub const USAGE_NIGHT_FILE: &str = crate::files::USAGE_NIGHT;
pub const USAGE_VERSION: u32 = 1;
/// Source addresses and user agents kept per access: enough to tell a new one from the usual,
/// bounded so one noisy subject cannot grow the record without end.
pub const MAX_SOURCES: usize = 16;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageRecord {
    pub version: u32,
    /// The UTC days on which the log had events: the record's own coverage.
    pub days_seen: BTreeSet<NaiveDate>,
    /// Subject (as `kind:namespace/name`, see `SubjectRef::key`) -> its uses.
    pub subjects: BTreeMap<String, Vec<Use>>,
    /// Subject -> its requests per UTC day: the baseline that anomalies are judged against.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub activity: BTreeMap<String, DayMap<DayActivity>>,
    /// Subject -> the groups the API server authenticated it with (RBAC grants through groups
    /// count as its grants).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub groups: BTreeMap<String, StringSet>,
    /// The parts of the log read so far over the chain, so that each is read once
    /// (`audit::resume`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parts_read: Vec<super::resume::PartRead>,
}

/// One subject's requests on one day.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DayActivity {
    pub requests: u64,
    pub denied: u64,
    pub source_ips: StringSet,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sources_capped: bool,
}

/// `usage.json.gz` in a pack: the rolling record, the window it is pruned to, and what this
/// run's log covered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageDocument {
    pub window_days: u32,
    pub window_start: NaiveDate,
    /// The anomaly threshold the run used (absent in packs from before it was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_multiple: Option<f64>,
    /// Whether the record continued the previous pack's (absent in older packs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub continued: Option<bool>,
    pub log: super::read::Coverage,
    #[serde(flatten)]
    pub record: UsageRecord,
}

/// A pack's record file that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum UsageFileError {
    #[error("{0}")]
    Gzip(String),
    #[error("{0}")]
    Json(#[from] serde_json::Error),
}

/// The name under which a pack carries its record, given whether its manifest lists a name:
/// `usage.json.gz`, or `usage.json` in a pack from before it was compressed; `None` when the
/// pack has none (its run read no audit log).
pub fn usage_file_in(lists: impl Fn(&str) -> bool) -> Option<&'static str> {
    [USAGE_FILE, USAGE_FILE_PLAIN]
        .into_iter()
        .find(|name| lists(name))
}

impl UsageDocument {
    /// The bytes of `usage.json.gz`: the document as compact JSON (unindented: half the bytes
    /// to decompress, and further from the hundredfold expansion [`Self::from_pack_file`]
    /// refuses), gzip-compressed with no time or name in the header, so equal documents give
    /// equal bytes.
    pub fn to_pack_file(&self) -> Vec<u8> {
        let mut json = serde_json::to_vec(self).expect("the usage record serialises");
        json.push(b'\n');
        crate::snapshot::gzip(&json)
    }

    /// The document in a pack's record file named `file` (see [`usage_file_in`]):
    /// `usage.json.gz` decompressed no further than [`crate::snapshot::decompressed_limit`]
    /// (a gzip bomb is an error), or an older pack's `usage.json` as it is.
    pub fn from_pack_file(file: &str, bytes: &[u8]) -> Result<Self, UsageFileError> {
        if file == USAGE_FILE_PLAIN {
            return Ok(serde_json::from_slice(bytes)?);
        }
        let json = crate::snapshot::gunzip_bounded(bytes).map_err(UsageFileError::Gzip)?;
        Ok(serde_json::from_slice(&json)?)
    }
}

/// One access of one subject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Use {
    #[serde(flatten)]
    pub access: AccessKey,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub count: u64,
    pub allowed: u64,
    pub denied: u64,
    pub source_ips: StringSet,
    pub user_agents: StringSet,
    /// More addresses or user agents were seen than [`MAX_SOURCES`] keeps.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sources_capped: bool,
}

impl Default for UsageRecord {
    fn default() -> Self {
        UsageRecord {
            version: USAGE_VERSION,
            days_seen: BTreeSet::new(),
            subjects: BTreeMap::new(),
            activity: BTreeMap::new(),
            groups: BTreeMap::new(),
            parts_read: Vec::new(),
        }
    }
}

/// Groups kept per subject (a user in more groups than this is rare; the rest are dropped).
pub const MAX_GROUPS: usize = 64;

/// The record while it is built: uses keyed for merging.
#[derive(Debug, Default)]
pub struct UsageBuilder {
    days_seen: BTreeSet<NaiveDate>,
    /// Per subject, its uses sorted by access: a sorted vector, not a map, because most subjects
    /// have a handful of accesses and a map's node costs kilobytes (a log of a million users
    /// with one request each is a million one-entry slots).
    uses: BTreeMap<String, Vec<Use>>,
    activity: BTreeMap<String, DayMap<DayActivity>>,
    groups: BTreeMap<String, StringSet>,
}

impl UsageBuilder {
    /// Starts from an earlier record (the previous pack's, verified against its manifest).
    pub fn from_record(record: UsageRecord) -> Self {
        let mut b = UsageBuilder::default();
        b.merge(record);
        b
    }

    pub fn add(&mut self, e: &Event) {
        let at = e.at();
        self.days_seen.insert(at.date_naive());
        let subject = e.subject().key();
        self.note_activity(&subject, at.date_naive(), e);
        self.record(subject, e.access(), e.denied(), e);
        // The requester of an impersonated request used its own `impersonate` grant (allowed:
        // the event names the impersonated user only once the server allowed it).
        if let Some((requester, uses)) = e.impersonation() {
            let requester = requester.key();
            // Its own day too: the request came from it, and a token that impersonates people
            // is judged against its own baseline (rates, addresses) like any other.
            self.note_groups(&requester, &e.user.groups);
            self.count_day(&requester, at.date_naive(), e);
            for access in uses {
                self.record(requester.clone(), access, false, e);
            }
        }
    }

    /// One use of `access` by `subject` at the event's time, from its sources.
    fn record(&mut self, subject: String, access: AccessKey, denied: bool, e: &Event) {
        let at = e.at();
        let slot = self.uses.entry(subject).or_default();
        let i = match slot.binary_search_by(|u| u.access.cmp(&access)) {
            Ok(i) => i,
            Err(i) => {
                super::compact::reserve_small(slot);
                slot.insert(
                    i,
                    Use {
                        access,
                        first_seen: at,
                        last_seen: at,
                        count: 0,
                        allowed: 0,
                        denied: 0,
                        source_ips: StringSet::new(),
                        user_agents: StringSet::new(),
                        sources_capped: false,
                    },
                );
                i
            }
        };
        let u = &mut slot[i];
        u.first_seen = u.first_seen.min(at);
        u.last_seen = u.last_seen.max(at);
        u.count += 1;
        if denied {
            u.denied += 1;
        } else {
            u.allowed += 1;
        }
        for ip in &e.source_ips {
            u.sources_capped |= !insert_capped(&mut u.source_ips, ip);
        }
        if let Some(agent) = &e.user_agent {
            u.sources_capped |= !insert_capped(&mut u.user_agents, agent);
        }
    }

    /// The day's request count, denials, addresses and groups of the event's subject.
    fn note_activity(&mut self, subject: &str, day: NaiveDate, e: &Event) {
        let user = e.impersonated_user.as_ref().unwrap_or(&e.user);
        self.note_groups(subject, &user.groups);
        self.count_day(subject, day, e);
    }

    fn note_groups(&mut self, subject: &str, groups: &[String]) {
        if !groups.is_empty() {
            let slot = self.groups.entry(subject.to_string()).or_default();
            for g in groups {
                insert_capped_to(slot, g, MAX_GROUPS);
            }
        }
    }

    /// One request of `subject` on `day`, from the event's addresses.
    fn count_day(&mut self, subject: &str, day: NaiveDate, e: &Event) {
        let a = self
            .activity
            .entry(subject.to_string())
            .or_default()
            .entry(day);
        a.requests += 1;
        if e.denied() {
            a.denied += 1;
        }
        for ip in &e.source_ips {
            a.sources_capped |= !insert_capped(&mut a.source_ips, ip);
        }
    }

    /// Merges another record (a window read separately) into this one.
    pub fn merge(&mut self, other: UsageRecord) {
        self.days_seen.extend(other.days_seen);
        for (subject, uses) in other.subjects {
            let slot = self.uses.entry(subject).or_default();
            for u in uses {
                merge_use(slot, u);
            }
        }
        for (subject, days) in other.activity {
            let slot = self.activity.entry(subject).or_default();
            for (day, a) in days {
                let have = slot.entry(day);
                have.requests += a.requests;
                have.denied += a.denied;
                have.sources_capped |= a.sources_capped;
                for ip in &a.source_ips {
                    have.sources_capped |= !insert_capped(&mut have.source_ips, ip);
                }
            }
        }
        for (subject, groups) in other.groups {
            let slot = self.groups.entry(subject).or_default();
            for g in &groups {
                insert_capped_to(slot, g, MAX_GROUPS);
            }
        }
    }

    pub fn finish(self) -> UsageRecord {
        UsageRecord {
            version: USAGE_VERSION,
            days_seen: self.days_seen,
            subjects: self
                .uses
                .into_iter()
                .map(|(s, mut uses)| {
                    uses.shrink_to_fit();
                    (s, uses)
                })
                .collect(),
            activity: self.activity,
            groups: self.groups,
            parts_read: Vec::new(),
        }
    }
}

/// Inserts unless the set is full; false when the value was new and did not fit.
fn insert_capped(set: &mut StringSet, value: &str) -> bool {
    insert_capped_to(set, value, MAX_SOURCES)
}

fn insert_capped_to(set: &mut StringSet, value: &str, cap: usize) -> bool {
    if set.contains(value) {
        return true;
    }
    if set.len() >= cap {
        return false;
    }
    set.insert(value);
    true
}

fn merge_use(slot: &mut Vec<Use>, u: Use) {
    match slot.binary_search_by(|have| have.access.cmp(&u.access)) {
        Err(i) => {
            super::compact::reserve_small(slot);
            slot.insert(i, u)
        }
        Ok(i) => {
            let have = &mut slot[i];
            have.first_seen = have.first_seen.min(u.first_seen);
            have.last_seen = have.last_seen.max(u.last_seen);
            have.count += u.count;
            have.allowed += u.allowed;
            have.denied += u.denied;
            have.sources_capped |= u.sources_capped;
            for ip in &u.source_ips {
                have.sources_capped |= !insert_capped(&mut have.source_ips, ip);
            }
            for agent in &u.user_agents {
                have.sources_capped |= !insert_capped(&mut have.user_agents, agent);
            }
        }
    }
}

impl UsageRecord {
    /// Keeps only what falls within the `window_days` ending on `today`, trimmed at both ends:
    /// the record is the window, so it stays bounded however long the chain runs, a subject or
    /// access not seen in the window drops out of it, and a use last seen after `not_after` (the
    /// run's time and its clock-skew allowance: an earlier record written by a run or a log whose
    /// clock was ahead) is dropped whole, since its count and its times cannot be told apart
    /// from that one event.
    pub fn prune_to_window(
        &mut self,
        today: NaiveDate,
        window_days: u32,
        not_after: DateTime<Utc>,
    ) {
        let start = window_start(today, window_days);
        self.days_seen.retain(|d| *d >= start && *d <= today);
        for uses in self.subjects.values_mut() {
            uses.retain(|u| u.last_seen.date_naive() >= start && u.last_seen <= not_after);
        }
        self.subjects.retain(|_, uses| !uses.is_empty());
        for days in self.activity.values_mut() {
            days.retain(|d, _| *d >= start && *d <= today);
        }
        self.activity.retain(|_, days| !days.is_empty());
        let subjects = &self.subjects;
        self.groups.retain(|s, _| subjects.contains_key(s));
    }

    /// How many days of log the record rests on within `window_days` before `today`
    /// (inclusive): a claim of non-use over the window holds only as far as this goes.
    pub fn days_seen_within(&self, today: NaiveDate, window_days: u32) -> usize {
        self.days_seen
            .range(window_start(today, window_days)..=today)
            .count()
    }
}

/// The first day of the `window_days` ending on `today` (inclusive).
pub fn window_start(today: NaiveDate, window_days: u32) -> NaiveDate {
    today - chrono::Days::new(u64::from(window_days.max(1) - 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: &str, at: &str, ip: &str, decision: &str) -> Event {
        serde_json::from_str(&format!(
            r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"{id}","stage":"ResponseComplete","verb":"get","user":{{"username":"system:serviceaccount:monitoring:agent"}},"sourceIPs":["{ip}"],"userAgent":"agent/1.0","objectRef":{{"resource":"secrets","namespace":"web"}},"requestReceivedTimestamp":"{at}","stageTimestamp":"{at}","annotations":{{"authorization.k8s.io/decision":"{decision}"}}}}"#
        ))
        .unwrap()
    }

    #[test]
    fn uses_are_counted_per_subject_and_access_with_their_window_and_sources() {
        let mut b = UsageBuilder::default();
        b.add(&event("1", "2026-12-01T10:00:00Z", "10.0.0.7", "allow"));
        b.add(&event("2", "2026-12-02T09:00:00Z", "10.0.0.8", "forbid"));
        let r = b.finish();
        let uses = &r.subjects["ServiceAccount:monitoring/agent"];
        assert_eq!(uses.len(), 1);
        let u = &uses[0];
        assert_eq!((u.count, u.allowed, u.denied), (2, 1, 1));
        assert_eq!(u.first_seen.to_rfc3339(), "2026-12-01T10:00:00+00:00");
        assert_eq!(u.last_seen.to_rfc3339(), "2026-12-02T09:00:00+00:00");
        assert_eq!(u.source_ips.len(), 2);
        assert_eq!(r.days_seen.len(), 2);
    }

    fn impersonated(id: &str, target: &str, groups: &str) -> Event {
        serde_json::from_str(&format!(
            r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"{id}","stage":"ResponseComplete","verb":"list","user":{{"username":"system:serviceaccount:ci:deployer"}},"impersonatedUser":{{"username":"{target}","groups":[{groups}]}},"sourceIPs":["10.0.0.9"],"objectRef":{{"resource":"pods","namespace":"web"}},"requestReceivedTimestamp":"2026-12-01T10:00:00Z","stageTimestamp":"2026-12-01T10:00:00Z","annotations":{{"authorization.k8s.io/decision":"forbid"}}}}"#
        ))
        .unwrap()
    }

    #[test]
    fn an_impersonated_request_uses_the_requesters_impersonate_grant_and_the_targets_access() {
        let mut b = UsageBuilder::default();
        // A user with a group asked for, and the group the server adds itself.
        b.add(&impersonated(
            "1",
            "alice",
            r#""oidc:sre","system:authenticated""#,
        ));
        // A ServiceAccount, with only the groups the server adds to it.
        b.add(&impersonated(
            "2",
            "system:serviceaccount:kube-system:admin",
            r#""system:serviceaccounts","system:serviceaccounts:kube-system","system:authenticated""#,
        ));
        let r = b.finish();
        let requester: Vec<(String, String, String, u64)> =
            r.subjects["ServiceAccount:ci/deployer"]
                .iter()
                .map(|u| {
                    (
                        u.access.verb.clone(),
                        u.access.resource.clone(),
                        u.access.namespace.clone(),
                        u.allowed,
                    )
                })
                .collect();
        assert_eq!(
            requester,
            [
                ("impersonate", "groups", "", 1),
                ("impersonate", "serviceaccounts", "kube-system", 1),
                ("impersonate", "users", "", 1),
            ]
            .map(|(v, r, n, a)| (v.to_string(), r.to_string(), n.to_string(), a))
        );
        // The request itself is the target's, as RBAC decided it (here: denied).
        let alice = &r.subjects["User:alice"][0];
        assert_eq!((alice.access.verb.as_str(), alice.denied), ("list", 1));
    }

    fn document() -> UsageDocument {
        let mut b = UsageBuilder::default();
        b.add(&event("1", "2026-12-01T10:00:00Z", "10.0.0.7", "allow"));
        UsageDocument {
            window_days: 90,
            window_start: window_start("2026-12-01".parse().unwrap(), 90),
            rate_multiple: Some(10.0),
            continued: Some(false),
            log: super::super::read::Coverage::default(),
            record: b.finish(),
        }
    }

    #[test]
    fn the_record_file_is_compressed_deterministically_and_older_packs_plain_file_still_reads() {
        let doc = document();
        let gz = doc.to_pack_file();
        // A gzip header with no name and no time: equal documents, equal bytes.
        assert_eq!(&gz[..4], &[0x1f, 0x8b, 8, 0]);
        assert_eq!(&gz[4..8], &[0, 0, 0, 0]);
        assert_eq!(gz, document().to_pack_file());
        assert_eq!(
            usage_file_in(|n| n == USAGE_FILE || n == USAGE_FILE_PLAIN),
            Some("usage.json.gz")
        );
        assert_eq!(UsageDocument::from_pack_file(USAGE_FILE, &gz).unwrap(), doc);
        // A pack from before the record was compressed: usage.json, as it is.
        assert_eq!(usage_file_in(|n| n == "usage.json"), Some("usage.json"));
        assert_eq!(usage_file_in(|_| false), None);
        let plain = crate::snapshot::gunzip_bounded(&gz).unwrap();
        assert_eq!(
            UsageDocument::from_pack_file(USAGE_FILE_PLAIN, &plain).unwrap(),
            doc
        );
        // Each name is read as what it is.
        assert!(matches!(
            UsageDocument::from_pack_file(USAGE_FILE, &plain),
            Err(UsageFileError::Gzip(_))
        ));
        assert!(matches!(
            UsageDocument::from_pack_file(USAGE_FILE_PLAIN, &gz),
            Err(UsageFileError::Json(_))
        ));
    }

    #[test]
    fn a_record_file_that_expands_past_the_limit_is_refused() {
        let limit = crate::snapshot::decompressed_limit(0) as usize;
        let bomb = crate::snapshot::gzip(&vec![b' '; limit + 1]);
        let err = UsageDocument::from_pack_file(USAGE_FILE, &bomb).unwrap_err();
        assert!(err.to_string().contains("a gzip bomb?"), "{err}");
    }

    #[test]
    fn a_merged_record_is_the_record_of_both_windows() {
        let mut night1 = UsageBuilder::default();
        night1.add(&event("1", "2026-12-01T10:00:00Z", "10.0.0.7", "allow"));
        let mut night2 = UsageBuilder::default();
        night2.add(&event("2", "2026-12-02T10:00:00Z", "10.0.0.7", "allow"));
        let mut both = UsageBuilder::default();
        both.add(&event("1", "2026-12-01T10:00:00Z", "10.0.0.7", "allow"));
        both.add(&event("2", "2026-12-02T10:00:00Z", "10.0.0.7", "allow"));
        let mut merged = UsageBuilder::from_record(night1.finish());
        merged.merge(night2.finish());
        assert_eq!(merged.finish(), both.finish());
    }

    #[test]
    fn sources_are_bounded_and_say_so() {
        let mut b = UsageBuilder::default();
        for i in 0..(MAX_SOURCES + 5) {
            b.add(&event(
                &i.to_string(),
                "2026-12-01T10:00:00Z",
                &format!("10.0.0.{i}"),
                "allow",
            ));
        }
        let r = b.finish();
        let u = &r.subjects["ServiceAccount:monitoring/agent"][0];
        assert_eq!(u.source_ips.len(), MAX_SOURCES);
        assert!(u.sources_capped);
    }

    #[test]
    fn coverage_within_a_window_counts_only_days_seen() {
        let mut b = UsageBuilder::default();
        b.add(&event("1", "2026-11-29T10:00:00Z", "10.0.0.7", "allow"));
        b.add(&event("2", "2026-12-01T10:00:00Z", "10.0.0.7", "allow"));
        let r = b.finish();
        let today = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        assert_eq!(
            r.days_seen_within(today, 90),
            2,
            "a 3-day-old log never claims 90 days"
        );
        assert_eq!(r.days_seen_within(today, 1), 1);
    }

    #[test]
    fn pruning_keeps_exactly_the_window() {
        let mut b = UsageBuilder::default();
        b.add(&event("1", "2026-08-01T10:00:00Z", "10.0.0.7", "allow"));
        b.add(&event("2", "2026-11-30T10:00:00Z", "10.0.0.8", "allow"));
        let mut r = b.finish();
        r.subjects.insert("User:gone".into(), {
            let mut old = r.subjects["ServiceAccount:monitoring/agent"].clone();
            old[0].last_seen = "2026-08-01T10:00:00Z".parse().unwrap();
            old
        });
        r.prune_to_window(
            NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
            90,
            "2026-12-01T02:05:00Z".parse().unwrap(),
        );
        assert_eq!(
            r.days_seen
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>(),
            ["2026-11-30"]
        );
        assert!(
            !r.subjects.contains_key("User:gone"),
            "a subject unseen in the window drops out"
        );
        let agent = &r.activity["ServiceAccount:monitoring/agent"];
        assert_eq!(agent.len(), 1, "only the window's days of activity");
        // A use seen in the window keeps its whole history (first seen before the window).
        assert_eq!(
            r.subjects["ServiceAccount:monitoring/agent"][0]
                .first_seen
                .to_rfc3339(),
            "2026-08-01T10:00:00+00:00"
        );
    }

    #[test]
    fn pruning_trims_the_later_end_too() {
        // A record from a run whose clock, or whose log's, was ahead: a use last seen after the
        // run is dropped whole, and days after today with it.
        let mut b = UsageBuilder::default();
        b.add(&event("1", "2026-11-30T10:00:00Z", "10.0.0.7", "allow"));
        let mut r = b.finish();
        let mut future = r.subjects["ServiceAccount:monitoring/agent"].clone();
        future[0].last_seen = "2099-01-01T00:00:00Z".parse().unwrap();
        r.subjects.insert("User:clock-ahead".into(), future);
        r.days_seen
            .insert(NaiveDate::from_ymd_opt(2099, 1, 1).unwrap());
        r.prune_to_window(
            NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
            90,
            "2026-12-01T02:05:00Z".parse().unwrap(),
        );
        assert!(!r.subjects.contains_key("User:clock-ahead"));
        assert!(r.subjects.contains_key("ServiceAccount:monitoring/agent"));
        assert_eq!(r.days_seen.len(), 1);
    }

    #[test]
    fn the_record_round_trips_through_json() {
        let mut b = UsageBuilder::default();
        b.add(&event("1", "2026-12-01T10:00:00Z", "10.0.0.7", "allow"));
        let r = b.finish();
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(serde_json::from_str::<UsageRecord>(&json).unwrap(), r);
    }
}
