//! The fleet document (`fleet.json`): every number the fleet report shows, computed once from
//! what [`super::read`] verified. Pure and deterministic: the same reads and time give the same
//! bytes. Chain health comes from each cluster's `index.json`, which its runs rebuild from the
//! packs' manifests and sign (an index nothing vouches for describes no chain); the document
//! says so, and `verify --chain` proves a chain pack by pack.

use super::read::{ClusterRead, LatestRead};
use crate::controls::evaluate::counts;
use crate::finding::{FindingClass, Severity};
use crate::pack::index::IndexEntry;
use crate::rules::RuleId;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// 2: a cluster's `problems` are `{kind, detail}` and hold every problem (overdue, incomplete and
/// chain ones included); `latest.timestamp`; `totals.incomplete` and `totals.timestamped`; a
/// sub-processor's `clusters` are names, its `standings` group them.
pub const FLEET_SCHEMA_VERSION: u32 = 2;
/// Gap and break descriptions kept per cluster; the counts are always complete.
const MAX_DETAILS: usize = 20;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FleetDocument {
    pub schema_version: u32,
    pub generated_at: DateTime<Utc>,
    pub store: String,
    pub schedule_interval_hours: u32,
    /// Whether latest packs had to be signed by trusted signers to be used.
    pub signers_checked: bool,
    pub totals: FleetTotals,
    pub clusters: Vec<ClusterStatus>,
    pub sub_processors: Vec<FleetSubProcessor>,
    pub shared_subjects: Vec<SharedSubject>,
    pub repeated_findings: Vec<RepeatedFinding>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FleetTotals {
    pub clusters: usize,
    /// Latest pack verified and collected within the schedule.
    pub current: usize,
    /// Clusters with a problem of kind `overdue`: latest pack verified but older than one and a
    /// half schedule intervals.
    pub overdue: usize,
    /// Clusters with a problem of kind `not-verified`: latest pack present but not verified
    /// (its manifest, time-stamp, signature or findings), so its findings are not counted.
    pub not_verified: usize,
    /// Clusters with a problem of kind `no-pack`: an index but no `latest.json`.
    pub no_pack: usize,
    /// Clusters with a problem of kind `incomplete`: the latest pack's collection was
    /// incomplete.
    #[serde(default)]
    pub incomplete: usize,
    /// Clusters with a problem of kind `chain`: their chain, as their index records it, has a
    /// gap, a break, an unsigned pack or a folder that is not a pack, or is not described.
    pub chain_problems: usize,
    /// Verified latest packs carrying a time-stamp token that verified.
    #[serde(default)]
    pub timestamped: usize,
    /// Open findings of the verified latest packs, by severity.
    pub open_findings: BTreeMap<Severity, usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClusterState {
    Current,
    Overdue,
    NotVerified,
    NoPack,
}

impl ClusterState {
    pub fn as_str(self) -> &'static str {
        match self {
            ClusterState::Current => "current",
            ClusterState::Overdue => "overdue",
            ClusterState::NotVerified => "not verified",
            ClusterState::NoPack => "no pack",
        }
    }
}

/// What the Problems section lists, and the totals count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProblemKind {
    /// The latest pack does not verify (manifest, time-stamp, signature or `findings.json`).
    NotVerified,
    /// No `latest.json`.
    NoPack,
    /// The latest pack is older than the schedule allows.
    Overdue,
    /// The latest pack's collection was incomplete.
    Incomplete,
    /// The chain as `index.json` records it: not described, or a gap, a break, an unsigned
    /// pack, a folder that is not a pack.
    Chain,
}

impl ProblemKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProblemKind::NotVerified => "not verified",
            ProblemKind::NoPack => "no pack",
            ProblemKind::Overdue => "overdue",
            ProblemKind::Incomplete => "incomplete",
            ProblemKind::Chain => "chain",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterProblem {
    pub kind: ProblemKind,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterStatus {
    pub cluster: String,
    pub state: ClusterState,
    /// Everything wrong with the cluster's evidence, in the order the report lists it; the
    /// totals count clusters by these kinds.
    pub problems: Vec<ClusterProblem>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest: Option<LatestSummary>,
    pub chain: ChainHealth,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LatestSummary {
    pub pack_id: String,
    pub path: String,
    pub collected_at: DateTime<Utc>,
    /// Hours between collection and the report.
    pub age_hours: i64,
    /// `trusted signer`, `signature valid, signer not checked`, or `UNSIGNED`.
    pub signature: String,
    pub signing_key_fingerprint: String,
    /// The RFC 3161 time-stamp, verified against `--tsa-certificate`; `null`: not
    /// time-stamped.
    pub timestamp: Option<TimestampSummary>,
    pub collection_complete: bool,
    pub open_findings: BTreeMap<Severity, usize>,
    pub accepted_findings: usize,
    /// Control counts by framework, then status.
    pub controls: BTreeMap<String, BTreeMap<String, usize>>,
}

/// A latest pack's time-stamp token, as it verified.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TimestampSummary {
    /// When the authority saw the manifest (the token's `genTime`).
    pub time: DateTime<Utc>,
    /// The subject of the authority's certificate (`CN=...`).
    pub authority: String,
    /// SHA-256 of the authority's certificate, hex.
    pub authority_certificate_sha256: String,
    /// The authority's policy OID.
    pub policy: String,
}

/// The chain as the cluster's `index.json` records it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChainHealth {
    pub packs: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oldest: Option<DateTime<Utc>>,
    pub gaps: usize,
    pub breaks: usize,
    pub unsigned: usize,
    /// Packs whose collection was incomplete.
    pub incomplete: usize,
    /// Publications interrupted before their manifest (not evidence).
    pub interrupted: usize,
    /// The first gaps and breaks in words (at most 20 of each).
    pub details: Vec<String>,
    /// Why there is no chain to describe (no index, or one that cannot be read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unknown: Option<String>,
}

/// A sub-processor of the clusters' inventories, once, however many clusters list it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FleetSubProcessor {
    pub id: String,
    /// Its name and vendor as the first cluster (by name) lists them.
    pub name: String,
    pub vendor: String,
    /// The clusters whose verified latest pack lists it.
    pub clusters: Vec<String>,
    /// How it stands: one entry per distinct standing, with the clusters that share it (a
    /// single entry when it stands the same everywhere); largest group first.
    pub standings: Vec<SubProcessorStanding>,
    /// What differs between the standings; empty when it stands the same in every cluster.
    pub differences: Vec<StandingField>,
}

/// What a sub-processor's standing in a cluster is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StandingField {
    ObservedAccess,
    DeclaredAccess,
    Review,
    Identities,
    Findings,
}

impl StandingField {
    pub const ALL: [StandingField; 5] = [
        StandingField::ObservedAccess,
        StandingField::DeclaredAccess,
        StandingField::Review,
        StandingField::Identities,
        StandingField::Findings,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            StandingField::ObservedAccess => "observed access",
            StandingField::DeclaredAccess => "declared access",
            StandingField::Review => "review",
            StandingField::Identities => "identities",
            StandingField::Findings => "findings",
        }
    }

    /// The field of `s`, as the report states it.
    pub fn describe(self, s: &SubProcessorStanding) -> String {
        match self {
            StandingField::ObservedAccess => format!("observed {}", s.observed_access),
            StandingField::DeclaredAccess => format!("declared {}", s.declared_access),
            StandingField::Review => format!("review {}", s.review),
            StandingField::Identities => format!(
                "{} identit{}",
                s.identities,
                if s.identities == 1 { "y" } else { "ies" }
            ),
            StandingField::Findings => format!("{} finding(s)", s.findings),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubProcessorStanding {
    pub clusters: Vec<String>,
    pub declared_access: String,
    pub observed_access: String,
    /// Its review as the cluster's inventory records it (`current`, `overdue since DATE`,
    /// `never reviewed`).
    pub review: String,
    /// Identities of it found in the cluster.
    pub identities: usize,
    pub findings: usize,
}

impl SubProcessorStanding {
    /// The same standing, whatever the clusters.
    fn stands_as(&self, other: &SubProcessorStanding) -> bool {
        StandingField::ALL
            .iter()
            .all(|f| f.describe(self) == f.describe(other))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SharedSubject {
    pub subject: String,
    pub clusters: Vec<SubjectInCluster>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubjectInCluster {
    pub cluster: String,
    /// The widest scope of its privileged holdings, or `none`.
    pub widest_scope: String,
    /// How it reaches cluster-admin, or `no`.
    pub cluster_admin: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RepeatedFinding {
    pub id: String,
    pub rule_id: RuleId,
    pub severity: Severity,
    pub title: String,
    pub summary: String,
    pub clusters: Vec<String>,
}

/// The fleet document for what was read, at `generated_at`.
pub fn build(
    reads: &[ClusterRead],
    store: &str,
    generated_at: DateTime<Utc>,
    schedule_interval_hours: u32,
    signers_checked: bool,
) -> FleetDocument {
    let clusters: Vec<ClusterStatus> = reads
        .iter()
        .map(|r| cluster_status(r, generated_at, schedule_interval_hours.max(1)))
        .collect();
    let verified: Vec<(&str, &LatestRead)> = reads
        .iter()
        .filter_map(|r| match &r.latest {
            Ok(Some(l)) => Some((r.cluster.as_str(), l)),
            _ => None,
        })
        .collect();
    FleetDocument {
        schema_version: FLEET_SCHEMA_VERSION,
        generated_at,
        store: store.to_string(),
        schedule_interval_hours,
        signers_checked,
        totals: totals(&clusters),
        sub_processors: sub_processors(&verified),
        shared_subjects: shared_subjects(&verified),
        repeated_findings: repeated_findings(&verified),
        clusters,
    }
}

/// The counts, from the clusters' problems: a cluster counts under a kind exactly when the
/// Problems section lists a problem of that kind for it.
fn totals(clusters: &[ClusterStatus]) -> FleetTotals {
    let with = |kind: ProblemKind| {
        clusters
            .iter()
            .filter(|c| c.problems.iter().any(|p| p.kind == kind))
            .count()
    };
    let mut t = FleetTotals {
        clusters: clusters.len(),
        current: clusters
            .iter()
            .filter(|c| c.state == ClusterState::Current)
            .count(),
        overdue: with(ProblemKind::Overdue),
        not_verified: with(ProblemKind::NotVerified),
        no_pack: with(ProblemKind::NoPack),
        incomplete: with(ProblemKind::Incomplete),
        chain_problems: with(ProblemKind::Chain),
        timestamped: clusters
            .iter()
            .filter(|c| c.latest.as_ref().is_some_and(|l| l.timestamp.is_some()))
            .count(),
        open_findings: BTreeMap::new(),
    };
    for (s, n) in clusters
        .iter()
        .flat_map(|c| c.latest.iter().flat_map(|l| &l.open_findings))
    {
        *t.open_findings.entry(*s).or_default() += n;
    }
    t
}

/// Whether a pack `age_hours` old is overdue on the schedule: older than one and a half
/// intervals.
fn is_overdue(age_hours: i64, interval: Duration) -> bool {
    age_hours * 60 > (interval + interval / 2).num_minutes()
}

/// One and a half schedule intervals, in hours as people write them (`36`, `1.5`).
pub fn overdue_after(schedule_interval_hours: u32) -> String {
    let half_hours = u64::from(schedule_interval_hours) * 3;
    match half_hours % 2 {
        0 => format!("{}", half_hours / 2),
        _ => format!("{}.5", half_hours / 2),
    }
}

/// Why the latest pack's collection is incomplete: its KE-COL-001 findings (one per kind not
/// collected completely), else what its manifest records.
fn incomplete_reason(l: &LatestRead) -> String {
    let kinds: Vec<&str> = l
        .findings
        .findings
        .iter()
        .filter(|f| f.rule_id == RuleId::Col001)
        .map(|f| f.summary.as_str())
        .collect();
    let why = if kinds.is_empty() {
        "its manifest records the collection as incomplete".to_string()
    } else {
        kinds.join("; ")
    };
    format!(
        "the latest pack, {}, is of an incomplete collection ({}): {why}",
        l.manifest.pack_id,
        RuleId::Col001.as_str()
    )
}

/// The chain's problems as the report lists them: why it is not described, or its unsigned
/// packs and the gaps and breaks recorded in its details.
fn chain_problems(h: &ChainHealth) -> Vec<ClusterProblem> {
    let chain = |detail: String| ClusterProblem {
        kind: ProblemKind::Chain,
        detail,
    };
    let mut out: Vec<ClusterProblem> = h.unknown.iter().cloned().map(chain).collect();
    if h.unsigned > 0 {
        out.push(chain(format!(
            "{} of the {} pack(s) in the chain are unsigned",
            h.unsigned, h.packs
        )));
    }
    out.extend(h.details.iter().cloned().map(chain));
    out
}

fn cluster_status(r: &ClusterRead, now: DateTime<Utc>, interval_hours: u32) -> ClusterStatus {
    let interval = Duration::hours(i64::from(interval_hours));
    let mut problems = Vec::new();
    let mut problem = |kind, detail| problems.push(ClusterProblem { kind, detail });
    let latest = match &r.latest {
        Ok(Some(l)) => {
            let s = latest_summary(l, now);
            if is_overdue(s.age_hours, interval) {
                problem(
                    ProblemKind::Overdue,
                    format!(
                        "the latest pack, {}, was collected {} h ago ({}): more than the {} h one and a half schedule intervals allow",
                        s.pack_id,
                        s.age_hours,
                        s.collected_at.format("%Y-%m-%d %H:%M UTC"),
                        overdue_after(interval_hours)
                    ),
                );
            }
            if !s.collection_complete {
                problem(ProblemKind::Incomplete, incomplete_reason(l));
            }
            Some(s)
        }
        Ok(None) => {
            problem(
                ProblemKind::NoPack,
                "no latest.json: no complete pack has been published".into(),
            );
            None
        }
        Err(e) => {
            problem(
                ProblemKind::NotVerified,
                format!("the latest pack is not used: {e}"),
            );
            None
        }
    };
    let chain = match &r.index {
        Ok(Some(index)) => {
            let newest = index.packs.first().map(|p| p.pack_id.as_str());
            match &r.latest {
                // A signed index of an earlier day (replayed, or left by a run that failed after
                // publishing) describes an earlier chain: its gaps are not today's.
                Ok(Some(l)) if newest != Some(l.pointer.pack_id.as_str()) => ChainHealth {
                    unknown: Some(format!(
                        "index.json is behind latest.json: its newest pack is {}, latest.json names {}; the chain it describes is not used",
                        newest.unwrap_or("none"),
                        l.pointer.pack_id
                    )),
                    ..ChainHealth::default()
                },
                _ => chain_health(&index.packs, index.interrupted.len(), interval),
            }
        }
        Ok(None) => ChainHealth {
            unknown: Some("no index.json".into()),
            ..ChainHealth::default()
        },
        Err(e) => ChainHealth {
            unknown: Some(e.clone()),
            ..ChainHealth::default()
        },
    };
    problems.extend(chain_problems(&chain));
    let has = |kind| problems.iter().any(|p: &ClusterProblem| p.kind == kind);
    let state = if has(ProblemKind::NotVerified) {
        ClusterState::NotVerified
    } else if has(ProblemKind::NoPack) {
        ClusterState::NoPack
    } else if has(ProblemKind::Overdue) {
        ClusterState::Overdue
    } else {
        ClusterState::Current
    };
    ClusterStatus {
        cluster: r.cluster.clone(),
        state,
        problems,
        latest,
        chain,
    }
}

fn latest_summary(l: &LatestRead, now: DateTime<Utc>) -> LatestSummary {
    let m = &l.manifest;
    let mut controls: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    for ((framework, status), n) in counts(&l.findings.controls) {
        if n > 0 {
            controls
                .entry(framework)
                .or_default()
                .insert(status.as_str().to_string(), n);
        }
    }
    LatestSummary {
        pack_id: m.pack_id.clone(),
        path: l.pointer.path.clone(),
        collected_at: m.collected_at,
        age_hours: (now - m.collected_at).num_hours(),
        signature: match (m.signed, l.signer_trusted) {
            (true, true) => "trusted signer".into(),
            (true, false) => "signature valid, signer not checked".into(),
            (false, _) => "UNSIGNED".into(),
        },
        signing_key_fingerprint: m.signing_key_fingerprint.clone(),
        timestamp: l.timestamp.as_ref().map(|t| TimestampSummary {
            time: t.gen_time,
            authority: t.tsa_subject.clone(),
            authority_certificate_sha256: t.tsa_certificate_sha256.clone(),
            policy: t.policy.clone(),
        }),
        collection_complete: m.collection_complete,
        open_findings: l.findings.summary.open.clone(),
        accepted_findings: l.findings.summary.accepted,
        controls,
    }
}

/// Gaps (more than one and a half intervals between consecutive packs), breaks (a pack whose
/// recorded predecessor is not the pack before it), unsigned and incomplete packs.
fn chain_health(entries: &[IndexEntry], interrupted: usize, interval: Duration) -> ChainHealth {
    // A folder the index lists with a problem (it does not verify against the keys the run
    // trusted) is not a pack of the chain.
    let (entries, not_packs): (Vec<IndexEntry>, Vec<IndexEntry>) =
        entries.iter().cloned().partition(|e| e.problem.is_none());
    let entries = entries.as_slice();
    let mut oldest_first: Vec<&IndexEntry> = entries.iter().collect();
    oldest_first.sort_by(|a, b| (a.collected_at, &a.pack_id).cmp(&(b.collected_at, &b.pack_id)));
    let mut h = ChainHealth {
        packs: entries.len(),
        oldest: oldest_first.first().map(|e| e.collected_at),
        unsigned: entries.iter().filter(|e| !e.signed).count(),
        incomplete: entries.iter().filter(|e| !e.collection_complete).count(),
        interrupted,
        ..ChainHealth::default()
    };
    let mut details = (Vec::new(), Vec::new());
    for e in &not_packs {
        details.1.push(format!(
            "{} is not counted as a pack of the chain: {}",
            e.path,
            e.problem.as_deref().unwrap_or_default()
        ));
    }
    if let Some(first) = oldest_first.first()
        && !first.previous_pack_id.is_empty()
    {
        h.breaks += 1;
        details.1.push(format!(
            "the oldest pack in the store, {}, names {} as its predecessor, which is not there",
            first.pack_id, first.previous_pack_id
        ));
    }
    for pair in oldest_first.windows(2) {
        let (prev, next) = (pair[0], pair[1]);
        if next.previous_pack_id != prev.pack_id {
            h.breaks += 1;
            details.1.push(format!(
                "{} names {} as its predecessor, but the pack before it is {}",
                next.pack_id,
                if next.previous_pack_id.is_empty() {
                    "none"
                } else {
                    &next.previous_pack_id
                },
                prev.pack_id
            ));
        }
        let elapsed = next.collected_at - prev.collected_at;
        if elapsed > interval + interval / 2 {
            h.gaps += 1;
            details.0.push(format!(
                "{} h between {} and {}",
                elapsed.num_hours(),
                prev.pack_id,
                next.pack_id
            ));
        }
    }
    let left_out =
        details.0.len().saturating_sub(MAX_DETAILS) + details.1.len().saturating_sub(MAX_DETAILS);
    details.0.truncate(MAX_DETAILS);
    details.1.truncate(MAX_DETAILS);
    h.details = details.1.into_iter().chain(details.0).collect();
    if left_out > 0 {
        h.details.push(format!(
            "{left_out} more gap(s) and break(s) not listed (the counts are complete)"
        ));
    }
    h
}

/// Each sub-processor once, its clusters grouped by how it stands in them.
fn sub_processors(verified: &[(&str, &LatestRead)]) -> Vec<FleetSubProcessor> {
    let mut by_id: BTreeMap<&str, FleetSubProcessor> = BTreeMap::new();
    for (cluster, l) in verified {
        for row in &l.findings.register {
            let entry = by_id
                .entry(row.id.as_str())
                .or_insert_with(|| FleetSubProcessor {
                    id: row.id.clone(),
                    name: row.name.clone(),
                    vendor: row.vendor.clone(),
                    clusters: Vec::new(),
                    standings: Vec::new(),
                    differences: Vec::new(),
                });
            if entry.clusters.iter().any(|c| c == cluster) {
                continue; // one row per sub-processor in a register
            }
            entry.clusters.push(cluster.to_string());
            let standing = SubProcessorStanding {
                clusters: vec![cluster.to_string()],
                declared_access: row.declared_access.clone(),
                observed_access: row.observed_access.clone(),
                review: row.review.clone(),
                identities: row.identities_found.len(),
                findings: row.findings.len(),
            };
            match entry.standings.iter_mut().find(|s| s.stands_as(&standing)) {
                Some(same) => same.clusters.push(cluster.to_string()),
                None => entry.standings.push(standing),
            }
        }
    }
    let mut out: Vec<FleetSubProcessor> = by_id.into_values().collect();
    for sp in &mut out {
        sp.clusters.sort();
        for s in &mut sp.standings {
            s.clusters.sort();
        }
        sp.standings.sort_by(|a, b| {
            b.clusters
                .len()
                .cmp(&a.clusters.len())
                .then_with(|| a.clusters.cmp(&b.clusters))
        });
        sp.differences = StandingField::ALL
            .into_iter()
            .filter(|f| {
                sp.standings
                    .iter()
                    .map(|s| f.describe(s))
                    .collect::<BTreeSet<String>>()
                    .len()
                    > 1
            })
            .collect();
    }
    out
}

fn shared_subjects(verified: &[(&str, &LatestRead)]) -> Vec<SharedSubject> {
    let mut by_subject: BTreeMap<String, Vec<SubjectInCluster>> = BTreeMap::new();
    for (cluster, l) in verified {
        let admin: BTreeMap<String, String> = l
            .findings
            .privilege
            .iter()
            .map(|p| (p.subject.to_string(), p.reach.describe_for(&p.subject)))
            .collect();
        for row in l.findings.access_matrix.iter().filter(|r| !r.system) {
            let subject = row.subject.to_string();
            by_subject
                .entry(subject.clone())
                .or_default()
                .push(SubjectInCluster {
                    cluster: cluster.to_string(),
                    widest_scope: row
                        .widest_scope
                        .map_or("none".to_string(), |s| s.as_str().to_string()),
                    cluster_admin: admin.get(&subject).cloned().unwrap_or_else(|| "no".into()),
                });
        }
    }
    by_subject
        .into_iter()
        .filter(|(_, c)| c.len() > 1)
        .map(|(subject, clusters)| SharedSubject { subject, clusters })
        .collect()
}

/// Open findings (not about system components) with the same ID — the same rule about the same
/// objects — in more than one cluster; most widespread first.
fn repeated_findings(verified: &[(&str, &LatestRead)]) -> Vec<RepeatedFinding> {
    let mut by_id: BTreeMap<&str, (RepeatedFinding, BTreeSet<String>)> = BTreeMap::new();
    for (cluster, l) in verified {
        for f in l
            .findings
            .findings
            .iter()
            .filter(|f| f.class() == FindingClass::Open)
        {
            by_id
                .entry(f.id.as_str())
                .or_insert_with(|| {
                    (
                        RepeatedFinding {
                            id: f.id.clone(),
                            rule_id: f.rule_id,
                            severity: f.severity,
                            title: f.title.clone(),
                            summary: f.summary.clone(),
                            clusters: Vec::new(),
                        },
                        BTreeSet::new(),
                    )
                })
                .1
                .insert(cluster.to_string());
        }
    }
    let mut out: Vec<RepeatedFinding> = by_id
        .into_values()
        .filter(|(_, c)| c.len() > 1)
        .map(|(mut f, c)| {
            f.clusters = c.into_iter().collect();
            f
        })
        .collect();
    out.sort_by(|a, b| {
        b.clusters
            .len()
            .cmp(&a.clusters.len())
            .then(b.severity.cmp(&a.severity))
            .then(a.id.cmp(&b.id))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overdue_after_is_one_and_a_half_intervals_as_people_write_hours() {
        assert_eq!(overdue_after(24), "36");
        assert_eq!(overdue_after(1), "1.5");
        assert_eq!(overdue_after(7), "10.5");
        let interval = Duration::hours(24);
        assert!(!is_overdue(36, interval));
        assert!(is_overdue(37, interval));
    }

    #[test]
    fn the_chain_lists_its_unsigned_packs_and_what_it_cannot_describe() {
        let h = ChainHealth {
            packs: 3,
            unsigned: 2,
            details: vec!["72 h between a and b".into()],
            ..ChainHealth::default()
        };
        let listed: Vec<String> = chain_problems(&h).into_iter().map(|p| p.detail).collect();
        assert_eq!(
            listed,
            [
                "2 of the 3 pack(s) in the chain are unsigned",
                "72 h between a and b"
            ]
        );
        let unknown = ChainHealth {
            unknown: Some("no index.json".into()),
            ..ChainHealth::default()
        };
        assert_eq!(chain_problems(&unknown)[0].kind, ProblemKind::Chain);
    }
}
