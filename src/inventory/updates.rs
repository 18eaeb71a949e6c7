//! How often each sub-processor's software is updated, from the chain of packs: a rolling record
//! (`vendor-updates.json`) of every image digest each sub-processor's pods ran, with when it was
//! first and last seen, carried from pack to pack like the usage record; and per sub-processor
//! the updates seen, the age of what runs now, images run by a mutable or `latest` tag, and
//! images not changed in longer than the configured period (KE-UPD-001..003).
//!
//! The record only knows what the packs saw: "running since" is the first pack that saw a digest,
//! and "not updated in 180 days" is claimed only once the record itself covers 180 days.

use super::catalog::{image_repository, normalize_image};
use super::model::{Inventory, SubProcessor};
use super::reconcile::match_entry;
use crate::finding::Finding;
use crate::rbac::index::ObjectRef;
use crate::rbac::{RbacIndex, SubjectRef};
use crate::rules::{RuleId, new_finding};
use crate::snapshot::{Snapshot, Workload};
use chrono::{DateTime, Duration, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The record and this run's view of it, in every pack that had an inventory.
pub const UPDATES_FILE: &str = crate::files::VENDOR_UPDATES_JSON;
/// One row per sub-processor image, for spreadsheets.
pub const UPDATES_CSV: &str = crate::files::VENDOR_UPDATES_CSV;
pub const HISTORY_VERSION: u32 = 1;
/// Images not changed in longer than this are findings (KE-UPD-003) unless configured otherwise.
pub const DEFAULT_MAX_AGE_DAYS: u32 = 180;
/// Digests not seen for this long leave the record, which keeps it bounded however long the
/// chain runs (over a year, so a year's audit period is always covered).
const KEEP_DAYS: i64 = 400;
/// Bounds on what one record holds, whatever a cluster runs.
const MAX_DIGESTS_PER_IMAGE: usize = 64;
const MAX_IMAGES_PER_SUB_PROCESSOR: usize = 256;
const MAX_TAGS_PER_DIGEST: usize = 8;

/// The rolling record: per sub-processor id, per image repository, the digests seen.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImageHistory {
    pub version: u32,
    /// The first run whose source reported Pod status: where the record's evidence begins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<DateTime<Utc>>,
    /// The last run merged into it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_run: Option<DateTime<Utc>>,
    /// Runs merged into it that reported Pod status.
    #[serde(default)]
    pub runs: u32,
    #[serde(default)]
    pub sub_processors: BTreeMap<String, BTreeMap<String, Vec<DigestSeen>>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DigestSeen {
    pub digest: String,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    /// The tags it ran under (`1.2.3`), as the kubelet reported them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
}

/// `vendor-updates.json`: the record, the settings it was judged with, and the rows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdatesDocument {
    pub history: ImageHistory,
    pub max_age_days: u32,
    /// Whole days from the record's start to this run.
    pub days_covered: i64,
    pub rows: Vec<UpdateRow>,
}

/// One sub-processor's software and how it is kept up to date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateRow {
    pub sub_processor: String,
    pub name: String,
    pub images: Vec<ImageRow>,
    /// The register's "Updates" column.
    pub summary: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImageRow {
    /// The repository in full form (`docker.io/datadog/agent`).
    pub repository: String,
    /// The references its workloads' specs name (`datadog/agent:7.59.0`).
    pub references: Vec<String>,
    /// The digests its running pods run now; empty when the source gave no Pod status.
    pub running_digests: Vec<String>,
    /// The first time the record saw what runs now (the oldest of its digests).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub running_since: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age_days: Option<i64>,
    /// Digest changes the record saw for it.
    pub updates: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_update: Option<DateTime<Utc>>,
    /// Every reference names a digest (`@sha256:`): what runs cannot change under it.
    pub pinned: bool,
    /// A tag without a digest: the registry may move it to other content.
    pub mutable_tag: bool,
    /// `latest`, or no tag at all.
    pub latest_tag: bool,
    /// Unchanged for longer than the configured period, within a record that covers it.
    pub not_updated: bool,
}

pub struct UpdatesAssessment {
    pub document: UpdatesDocument,
    pub findings: Vec<Finding>,
}

/// Merges what runs now into the previous record and judges every sub-processor's images.
pub fn assess(
    inventory: &Inventory,
    snapshot: &Snapshot,
    index: &RbacIndex,
    previous: Option<&ImageHistory>,
    max_age_days: u32,
) -> UpdatesAssessment {
    let now = snapshot.taken_at;
    let mut history = previous.cloned().unwrap_or_default();
    history.version = HISTORY_VERSION;
    let status_seen = snapshot.workloads.iter().any(|w| !w.running.is_empty());
    if status_seen {
        history.since.get_or_insert(now);
        history.last_run = Some(now);
        history.runs += 1;
    }
    let entries: Vec<(&SubProcessor, Vec<&Workload>)> = inventory
        .sub_processors
        .iter()
        .map(|e| (e, workloads_of(e, snapshot, index)))
        .collect();
    for (entry, workloads) in &entries {
        record(&mut history, &entry.id, workloads, now);
    }
    prune(&mut history, now);
    let days_covered = history.since.map_or(0, |s| (now - s).num_days());
    let mut rows = Vec::new();
    let mut findings = Vec::new();
    for (entry, workloads) in &entries {
        let images = image_rows(entry, workloads, &history, now, days_covered, max_age_days);
        findings.extend(image_findings(
            entry,
            workloads,
            &images,
            max_age_days,
            days_covered,
        ));
        rows.push(UpdateRow {
            sub_processor: entry.id.clone(),
            name: entry.name.clone(),
            summary: summary(&images, status_seen, days_covered),
            images,
        });
    }
    UpdatesAssessment {
        document: UpdatesDocument {
            history,
            max_age_days,
            days_covered,
            rows,
        },
        findings,
    }
}

/// The workloads an entry accounts for: those its namespaces and images match, and those that
/// run as its ServiceAccounts.
fn workloads_of<'a>(
    entry: &SubProcessor,
    snapshot: &'a Snapshot,
    index: &RbacIndex,
) -> Vec<&'a Workload> {
    let m = match_entry(entry, snapshot, index);
    snapshot
        .workloads
        .iter()
        .filter(|w| {
            m.workloads
                .contains(&(w.namespace.clone(), w.kind.clone(), w.name.clone()))
                || m.subjects.contains(&SubjectRef::service_account(
                    &w.namespace,
                    &w.service_account,
                ))
        })
        .collect()
}

fn tag_of(reference: &str) -> Option<&str> {
    let without_digest = reference.split('@').next().unwrap_or(reference);
    match without_digest.rsplit_once(':') {
        Some((_, tag)) if !tag.contains('/') => Some(tag),
        _ => None,
    }
}

fn record(history: &mut ImageHistory, id: &str, workloads: &[&Workload], now: DateTime<Utc>) {
    for w in workloads {
        for r in &w.running {
            let Some(digest) = &r.digest else { continue };
            let repos = history.sub_processors.entry(id.to_string()).or_default();
            let repo = normalize_image(image_repository(&r.image));
            if !repos.contains_key(&repo) && repos.len() >= MAX_IMAGES_PER_SUB_PROCESSOR {
                continue;
            }
            let seen = repos.entry(repo).or_default();
            let slot = match seen.iter_mut().position(|d| &d.digest == digest) {
                Some(i) => &mut seen[i],
                None => {
                    seen.push(DigestSeen {
                        digest: digest.clone(),
                        first_seen: now,
                        last_seen: now,
                        tags: Vec::new(),
                    });
                    seen.last_mut().expect("just pushed")
                }
            };
            slot.last_seen = slot.last_seen.max(now);
            if let Some(tag) = tag_of(&r.image)
                && !slot.tags.iter().any(|t| t == tag)
                && slot.tags.len() < MAX_TAGS_PER_DIGEST
            {
                slot.tags.push(tag.to_string());
                slot.tags.sort();
            }
        }
    }
}

fn prune(history: &mut ImageHistory, now: DateTime<Utc>) {
    let horizon = now - Duration::days(KEEP_DAYS);
    for repos in history.sub_processors.values_mut() {
        for seen in repos.values_mut() {
            seen.retain(|d| d.last_seen >= horizon);
            seen.sort_by(|a, b| (a.first_seen, &a.digest).cmp(&(b.first_seen, &b.digest)));
            if seen.len() > MAX_DIGESTS_PER_IMAGE {
                let extra = seen.len() - MAX_DIGESTS_PER_IMAGE;
                seen.drain(..extra);
            }
        }
        repos.retain(|_, seen| !seen.is_empty());
    }
    history.sub_processors.retain(|_, repos| !repos.is_empty());
}

fn image_rows(
    entry: &SubProcessor,
    workloads: &[&Workload],
    history: &ImageHistory,
    now: DateTime<Utc>,
    days_covered: i64,
    max_age_days: u32,
) -> Vec<ImageRow> {
    let mut references: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut running: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for w in workloads {
        for i in &w.images {
            references
                .entry(normalize_image(i))
                .or_default()
                .insert(i.clone());
        }
        for r in &w.running {
            let repo = normalize_image(image_repository(&r.image));
            let digests = running.entry(repo).or_default();
            digests.extend(r.digest.iter().cloned());
        }
    }
    let recorded = history.sub_processors.get(&entry.id);
    let repos: BTreeSet<&String> = references.keys().chain(running.keys()).collect();
    repos
        .into_iter()
        .map(|repo| {
            let refs: Vec<String> = references
                .get(repo)
                .map(|r| r.iter().cloned().collect())
                .unwrap_or_default();
            let now_digests: Vec<String> = running
                .get(repo)
                .map(|d| d.iter().cloned().collect())
                .unwrap_or_default();
            let seen = recorded
                .and_then(|r| r.get(repo))
                .cloned()
                .unwrap_or_default();
            let running_since = seen
                .iter()
                .filter(|d| now_digests.contains(&d.digest))
                .map(|d| d.first_seen)
                .min();
            let age_days = running_since.map(|s| (now - s).num_days());
            let pinned = !refs.is_empty() && refs.iter().all(|r| r.contains("@sha256:"));
            let latest_tag = refs
                .iter()
                .any(|r| !r.contains('@') && matches!(tag_of(r), None | Some("latest")));
            let mutable_tag = !latest_tag && refs.iter().any(|r| !r.contains('@'));
            let not_updated = age_days.is_some_and(|a| a >= i64::from(max_age_days))
                && days_covered >= i64::from(max_age_days);
            ImageRow {
                repository: repo.clone(),
                references: refs,
                running_digests: now_digests,
                running_since,
                age_days,
                updates: seen.len().saturating_sub(1),
                last_update: (seen.len() > 1)
                    .then(|| seen.iter().map(|d| d.first_seen).max())
                    .flatten(),
                pinned,
                mutable_tag,
                latest_tag,
                not_updated,
            }
        })
        .collect()
}

/// One finding per sub-processor and rule, naming every image it is about: a vendor with ten
/// images run by tag is one supplier practice to raise, not ten.
fn image_findings(
    entry: &SubProcessor,
    workloads: &[&Workload],
    images: &[ImageRow],
    max_age_days: u32,
    days_covered: i64,
) -> Vec<Finding> {
    let latest: Vec<&ImageRow> = images.iter().filter(|r| r.latest_tag).collect();
    let mutable: Vec<&ImageRow> = images.iter().filter(|r| r.mutable_tag).collect();
    let stale: Vec<&ImageRow> = images.iter().filter(|r| r.not_updated).collect();
    let refs = |rows: &[&ImageRow]| {
        rows.iter()
            .flat_map(|r| r.references.iter().cloned())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut out = Vec::new();
    if !latest.is_empty() {
        out.push(image_finding(
            RuleId::Upd002,
            entry,
            workloads,
            &latest,
            format!(
                "{} runs {} by the `latest` tag (or none): which release runs, and when it changes, is not under anyone's control",
                entry.name,
                refs(&latest)
            ),
        ));
    }
    if !mutable.is_empty() {
        out.push(image_finding(
            RuleId::Upd001,
            entry,
            workloads,
            &mutable,
            format!(
                "{} runs {} by a tag without a digest: the registry can move a tag to other content",
                entry.name,
                refs(&mutable)
            ),
        ));
    }
    if !stale.is_empty() {
        let each: Vec<String> = stale
            .iter()
            .map(|r| {
                format!(
                    "{} for {} days (since {})",
                    r.repository,
                    r.age_days.unwrap_or_default(),
                    r.running_since
                        .map(|s| s.format("%Y-%m-%d").to_string())
                        .unwrap_or_default()
                )
            })
            .collect();
        out.push(image_finding(
            RuleId::Upd003,
            entry,
            workloads,
            &stale,
            format!(
                "{} has run the same build longer than the {max_age_days}-day update period (the record covers {days_covered} days): {}",
                entry.name,
                each.join("; ")
            ),
        ));
    }
    out
}

fn image_finding(
    rule: RuleId,
    entry: &SubProcessor,
    workloads: &[&Workload],
    rows: &[&ImageRow],
    summary: String,
) -> Finding {
    let repos: BTreeSet<&str> = rows.iter().map(|r| r.repository.as_str()).collect();
    let objects: BTreeSet<ObjectRef> = workloads
        .iter()
        .filter(|w| {
            w.images
                .iter()
                .any(|i| repos.contains(normalize_image(i).as_str()))
        })
        .map(|w| ObjectRef::new(&w.kind, Some(&w.namespace), &w.name))
        .collect();
    let mut f = new_finding(rule, &entry.id, summary);
    f.sub_processor = Some(entry.id.clone());
    f.namespaces = objects
        .iter()
        .filter_map(|o| o.namespace.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    f.objects = objects.into_iter().collect();
    f
}

/// The register's "Updates" column for one sub-processor.
fn summary(images: &[ImageRow], status_seen: bool, days_covered: i64) -> String {
    if images.is_empty() {
        return "no workloads".into();
    }
    let mut parts = vec![format!("{} image(s)", images.len())];
    if status_seen {
        let updates: usize = images.iter().map(|i| i.updates).sum();
        parts.push(format!("{updates} update(s) seen in {days_covered} day(s)"));
        if let Some(oldest) = images.iter().filter_map(|i| i.age_days).max() {
            parts.push(format!(
                "oldest running build first seen {oldest} day(s) ago"
            ));
        }
        let stale = images.iter().filter(|i| i.not_updated).count();
        if stale > 0 {
            parts.push(format!("{stale} not updated in the period"));
        }
    } else {
        parts.push("digests unknown (the source gave no Pod status)".into());
    }
    let latest = images.iter().filter(|i| i.latest_tag).count();
    let mutable = images.iter().filter(|i| i.mutable_tag).count();
    if latest > 0 {
        parts.push(format!("{latest} by `latest`"));
    }
    if mutable > 0 {
        parts.push(format!("{mutable} by mutable tag"));
    }
    parts.join("; ")
}

/// `vendor-updates.csv`: one row per sub-processor image.
pub fn csv(document: &UpdatesDocument) -> Vec<u8> {
    let mut w = crate::csv_out::writer(Vec::new());
    crate::csv_out::record(
        &mut w,
        [
            "sub_processor",
            "repository",
            "references",
            "running_digests",
            "running_since",
            "age_days",
            "updates",
            "last_update",
            "pinned",
            "mutable_tag",
            "latest_tag",
            "not_updated",
        ],
    );
    let date = |d: &Option<DateTime<Utc>>| d.map(|d| d.to_rfc3339()).unwrap_or_default();
    for r in &document.rows {
        for i in &r.images {
            crate::csv_out::record(
                &mut w,
                [
                    r.sub_processor.clone(),
                    i.repository.clone(),
                    i.references.join(" "),
                    i.running_digests.join(" "),
                    date(&i.running_since),
                    i.age_days.map(|a| a.to_string()).unwrap_or_default(),
                    i.updates.to_string(),
                    date(&i.last_update),
                    i.pinned.to_string(),
                    i.mutable_tag.to_string(),
                    i.latest_tag.to_string(),
                    i.not_updated.to_string(),
                ],
            );
        }
    }
    w.into_inner().expect("writing to memory")
}
