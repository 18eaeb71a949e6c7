//! The change population of an audit period: every change once, with the pack in which it was
//! first seen, walking the packs of the window in order and following each pack's link to the
//! one before it. Gaps (a missing night, a pack whose predecessor is not the previous one) are
//! listed first, never hidden.

use crate::diff::render::{ChangeRow, rows};
use crate::diff::{Diff, Side, compute};
use crate::pack::{self, PackReadError, StoredPack};
use crate::report::json::FindingsDocument;
use crate::snapshot::snapshot_from_bytes;
use crate::store::Store;
use chrono::{DateTime, NaiveDate, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Gap {
    /// `missing-runs`, `broken-link`, `incomplete-pack`.
    pub kind: String,
    pub description: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PopulationRow {
    pub first_seen_pack: String,
    pub window_from: String,
    pub window_to: String,
    pub change_type: String,
    pub subject: String,
    pub permission_or_object: String,
    pub privileged: bool,
    pub provenance: String,
    pub sub_processor: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Population {
    pub cluster: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub packs: Vec<String>,
    pub gaps: Vec<Gap>,
    pub changes: Vec<PopulationRow>,
}

#[derive(Debug, thiserror::Error)]
pub enum PeriodError {
    #[error(transparent)]
    Pack(#[from] PackReadError),
    #[error(transparent)]
    Unverified(#[from] crate::pack::read::PackError),
    #[error("pack {pack}: {message}")]
    Unreadable { pack: String, message: String },
}

/// The diff a pack recorded against its predecessor, or one recomputed from the two snapshots
/// when the pack holds none.
async fn diff_of(
    store: &dyn Store,
    pack: &StoredPack,
    previous: Option<&StoredPack>,
) -> Result<Diff, PeriodError> {
    // A pack without a recorded diff has its diff recomputed; one whose recorded diff does not
    // match its manifest is an error, never silently replaced.
    if pack.lists(crate::files::DIFF_JSON) {
        let bytes = pack.read_file(store, crate::files::DIFF_JSON).await?;
        return serde_json::from_slice(&bytes).map_err(|e| PeriodError::Unreadable {
            pack: pack.manifest.pack_id.clone(),
            message: format!("diff.json: {e}"),
        });
    }
    let load = |p: &StoredPack| {
        let p = p.clone();
        async move {
            let snap = p.read_file(store, pack::SNAPSHOT_FILE).await?;
            let snapshot =
                snapshot_from_bytes(&snap, &p.prefix).map_err(|e| PeriodError::Unreadable {
                    pack: p.manifest.pack_id.clone(),
                    message: e.to_string(),
                })?;
            let doc: Option<FindingsDocument> = if p.lists(crate::files::FINDINGS_JSON) {
                let bytes = p.read_file(store, crate::files::FINDINGS_JSON).await?;
                Some(
                    serde_json::from_slice(&bytes).map_err(|e| PeriodError::Unreadable {
                        pack: p.manifest.pack_id.clone(),
                        message: format!("findings.json: {e}"),
                    })?,
                )
            } else {
                None
            };
            Ok::<_, PeriodError>((snapshot, doc))
        }
    };
    let (new_snap, new_doc) = load(pack).await?;
    let Some(prev) = previous else {
        return Ok(Diff::baseline(&new_snap, Some(&pack.manifest.pack_id)));
    };
    let (old_snap, old_doc) = load(prev).await?;
    let empty_f = Vec::new();
    let empty_c = Vec::new();
    let mut diff = compute(
        &Side {
            snapshot: &old_snap,
            findings: old_doc.as_ref().map_or(&empty_f, |d| &d.findings),
            controls: old_doc.as_ref().map_or(&empty_c, |d| &d.controls),
            pack_id: Some(&prev.manifest.pack_id),
        },
        &Side {
            snapshot: &new_snap,
            findings: new_doc.as_ref().map_or(&empty_f, |d| &d.findings),
            controls: new_doc.as_ref().map_or(&empty_c, |d| &d.controls),
            pack_id: Some(&pack.manifest.pack_id),
        },
    );
    if let (Some(o), Some(n)) = (&old_doc, &new_doc) {
        crate::diff::add_register_changes(&mut diff.sub_processors, &o.register, &n.register);
    }
    Ok(diff)
}

fn day_start(d: NaiveDate) -> DateTime<Utc> {
    d.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc()
}

/// What is wrong with a pack's place in the series: a link to a pack not in the store, to a
/// manifest that does not match, to a pack other than the one before it in time, a first pack
/// that is not first; and too long since the pack before it.
fn link_gaps(
    p: &StoredPack,
    linked: Option<&StoredPack>,
    previous_in_store: Option<&StoredPack>,
    interval: chrono::Duration,
) -> Vec<Gap> {
    let mut gaps = Vec::new();
    let link = &p.manifest.previous;
    if !link.is_empty() {
        match linked {
            None => gaps.push(Gap {
                kind: "broken-link".into(),
                description: format!("{} names {} as its predecessor, which is not in the store", p.manifest.pack_id, link.pack_id),
            }),
            Some(q) if q.manifest_sha256() != link.manifest_sha256 => gaps.push(Gap {
                kind: "broken-link".into(),
                description: format!("{} names {} as its predecessor, but that pack's manifest does not match the recorded SHA-256", p.manifest.pack_id, link.pack_id),
            }),
            Some(q) if previous_in_store.is_some_and(|prev| prev.manifest.pack_id != q.manifest.pack_id) => gaps.push(Gap {
                kind: "broken-link".into(),
                description: format!(
                    "{} follows {} in time but names {} as its predecessor",
                    p.manifest.pack_id,
                    previous_in_store.map(|x| x.manifest.pack_id.clone()).unwrap_or_default(),
                    q.manifest.pack_id
                ),
            }),
            _ => {}
        }
    } else if let Some(prev) = previous_in_store {
        gaps.push(Gap {
            kind: "broken-link".into(),
            description: format!(
                "{} claims to be the first pack, but {} came before it",
                p.manifest.pack_id, prev.manifest.pack_id
            ),
        });
    }
    if let Some(prev) = previous_in_store {
        let elapsed = p.manifest.collected_at - prev.manifest.collected_at;
        if elapsed > interval + interval / 2 {
            let missed = (elapsed.num_minutes() / interval.num_minutes().max(1)).saturating_sub(1);
            gaps.push(Gap {
                kind: "missing-runs".into(),
                description: format!(
                    "{} h between {} and {}: about {missed} scheduled run(s) missing",
                    elapsed.num_hours(),
                    prev.manifest.pack_id,
                    p.manifest.pack_id
                ),
            });
        }
    }
    gaps
}

/// Every change in the packs collected from `from` to `to` (inclusive, UTC days); `now` is the
/// run's clock, so a window that has not ended is not reported as missing its last nights.
pub async fn population(
    store: &dyn Store,
    cluster: &str,
    from: NaiveDate,
    to: NaiveDate,
    interval_hours: u32,
    now: DateTime<Utc>,
    policy: crate::pack::read::Policy<'_>,
) -> Result<Population, PeriodError> {
    let (all, incomplete) = pack::list_packs(store, cluster).await?;
    let start = day_start(from);
    let end = day_start(to) + chrono::Duration::days(1);
    let mut gaps = Vec::new();
    for p in incomplete {
        gaps.push(Gap {
            kind: "incomplete-pack".into(),
            description: format!(
                "{p} has no manifest: a publication was interrupted; it is not part of the series"
            ),
        });
    }
    let in_window: Vec<usize> = all
        .iter()
        .enumerate()
        .filter(|(_, p)| p.manifest.collected_at >= start && p.manifest.collected_at < end)
        .map(|(i, _)| i)
        .collect();
    let interval = chrono::Duration::hours(i64::from(interval_hours));
    // The window starts on time, and ends on time.
    if let Some(first) = in_window.first() {
        let lead = all[*first].manifest.collected_at - start;
        if lead > interval + interval / 2 {
            gaps.push(Gap {
                kind: "missing-runs".into(),
                description: format!(
                    "no pack from {} until {}",
                    from,
                    all[*first]
                        .manifest
                        .collected_at
                        .format("%Y-%m-%d %H:%M UTC")
                ),
            });
        }
    } else {
        gaps.push(Gap {
            kind: "missing-runs".into(),
            description: format!("no pack at all between {from} and {to}"),
        });
    }
    let mut changes = Vec::new();
    let mut packs = Vec::new();
    for idx in &in_window {
        let p = &all[*idx];
        // Each pack of the period is opened as every pack is (manifest, place, time-stamp,
        // signature) before anything of it is counted; its files are then read by its manifest.
        crate::pack::read::open_whole(store, crate::pack::read::Target::At(&p.prefix), policy)
            .await?;
        packs.push(p.manifest.pack_id.clone());
        let previous_in_store = idx.checked_sub(1).map(|i| &all[i]);
        // The manifest's own link decides which pack it follows.
        let linked = all
            .iter()
            .find(|q| q.manifest.pack_id == p.manifest.previous.pack_id);
        gaps.extend(link_gaps(p, linked, previous_in_store, interval));
        // Compare with the linked predecessor, or with the pack before it in time when the link
        // is broken, so that no change is hidden behind a gap.
        let diff = diff_of(store, p, linked.or(previous_in_store)).await?;
        for r in rows(&diff) {
            changes.push(population_row(&p.manifest.pack_id, r));
        }
    }
    if let Some(last) = in_window.last() {
        // Up to the end of the window, or up to now for a window that has not ended yet.
        let until = end.min(now);
        let tail = until - all[*last].manifest.collected_at;
        if tail > interval + interval / 2 {
            gaps.push(Gap {
                kind: "missing-runs".into(),
                description: format!(
                    "no pack after {} until the end of {to}",
                    all[*last].manifest.pack_id
                ),
            });
        }
    }
    Ok(Population {
        cluster: cluster.to_string(),
        from,
        to,
        packs,
        gaps,
        changes,
    })
}

fn population_row(pack: &str, r: ChangeRow) -> PopulationRow {
    PopulationRow {
        first_seen_pack: pack.to_string(),
        window_from: r.window_from,
        window_to: r.window_to,
        change_type: r.change_type,
        subject: r.subject,
        permission_or_object: r.what,
        privileged: r.privileged,
        provenance: r.provenance,
        sub_processor: r.sub_processor,
    }
}

/// The population as CSV: gaps first as comment-free rows of type `gap`, then every change.
pub fn csv(p: &Population) -> Vec<u8> {
    let mut w = crate::csv_out::writer(Vec::new());
    // The columns of changes.csv, after the pack a change was first seen in.
    let mut header = vec!["first_seen_pack"];
    header.extend(crate::diff::render::CHANGE_HEADER);
    crate::csv_out::record(&mut w, &header);
    for g in &p.gaps {
        crate::csv_out::record(
            &mut w,
            [
                "",
                "",
                "",
                &format!("gap-{}", g.kind),
                "",
                &g.description,
                "",
                "",
                "",
            ],
        );
    }
    for r in &p.changes {
        crate::csv_out::record(
            &mut w,
            [
                r.first_seen_pack.as_str(),
                &r.window_from,
                &r.window_to,
                &r.change_type,
                &r.subject,
                &r.permission_or_object,
                if r.privileged { "yes" } else { "no" },
                &r.provenance,
                &r.sub_processor,
            ],
        );
    }
    w.into_inner().expect("writing to memory")
}
