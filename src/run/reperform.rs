//! Re-performance of a pack's conclusions, for auditors: the pack is verified, then every
//! finding, control result, access-matrix row, register row, exception outcome, usage and review
//! figure and the diff are computed again from the pack's own snapshot, with the control
//! definitions it carries (`controls.json`, checked against the manifest's `controlsDigest`), the
//! exceptions it records, its usage record, the review campaigns of its store, and its verified
//! previous pack, and compared with what the pack states. Any difference means the pack's
//! conclusions do not follow from its data (or were made by another ruleset, which is said).

use crate::analysis::{Assessment, AssessmentInput, assess};
use crate::audit::usage::{USAGE_NIGHT_FILE, UsageDocument, UsageRecord, usage_file_in};
use crate::controls::Controls;
use crate::pack::contents::CONTROLS_FILE;
use crate::pack::previous::{PreviousPackError, Trust, read_verified_link};
use crate::pack::verify::{PackVerdict, VerifyOptions, verify_pack};
use crate::pack::{PackReadError, StoredPack, read_pack};
use crate::report::json::FindingsDocument;
use crate::snapshot::{SNAPSHOT_FILE, Snapshot};
use crate::store::Store;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// One part of a pack's conclusions, compared.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Section {
    /// What was compared (`findings`, `controls`, ...).
    pub name: String,
    /// How many entries were compared.
    pub compared: usize,
    /// Every difference, in words.
    pub differences: Vec<String>,
}

/// The outcome: the pack's verification, and each section.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Reperformance {
    pub pack_id: String,
    pub prefix: String,
    pub verdict: PackVerdict,
    /// The previous pack the diff and period were computed against, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous: Option<String>,
    pub sections: Vec<Section>,
}

impl Reperformance {
    pub fn differences(&self) -> usize {
        self.sections.iter().map(|s| s.differences.len()).sum()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReperformError {
    /// The pack does not verify: nothing in it can be built on.
    #[error("pack {} does not verify; nothing was re-performed", .0.pack_id)]
    NotVerified(Box<PackVerdict>),
    #[error(transparent)]
    Read(#[from] PackReadError),
    #[error("{file} of pack {pack_id} is not valid: {message}")]
    Invalid {
        pack_id: String,
        file: String,
        message: String,
    },
    #[error("the previous pack does not verify, so the diff and the period cannot be re-performed")]
    Previous(#[from] PreviousPackError),
    #[error("cannot read the store's access review campaigns")]
    Reviews(#[from] super::reviews::ReviewError),
}

/// Verifies the pack at `prefix`, recomputes its conclusions and compares them.
pub async fn reperform(
    store: &dyn Store,
    prefix: &str,
    verify: &VerifyOptions,
    trust: Trust<'_>,
) -> Result<Reperformance, ReperformError> {
    let verdict = verify_pack(store, prefix, verify).await;
    if !verdict.ok {
        return Err(ReperformError::NotVerified(Box::new(verdict)));
    }
    let pack = read_pack(store, prefix).await?;
    let m = &pack.manifest;
    let invalid = |name: &str, message: String| ReperformError::Invalid {
        pack_id: m.pack_id.clone(),
        file: name.to_string(),
        message,
    };
    let snapshot =
        crate::snapshot::snapshot_from_bytes(&read(store, &pack, SNAPSHOT_FILE).await?, prefix)
            .map_err(|e| invalid(SNAPSHOT_FILE, e.to_string()))?;
    let stated_bytes = read(store, &pack, crate::files::FINDINGS_JSON).await?;
    let stated: Value = serde_json::from_slice(&stated_bytes)
        .map_err(|e| invalid(crate::files::FINDINGS_JSON, e.to_string()))?;
    let doc: FindingsDocument = serde_json::from_slice(&stated_bytes)
        .map_err(|e| invalid(crate::files::FINDINGS_JSON, e.to_string()))?;
    let stated_diff: Value =
        serde_json::from_slice(&read(store, &pack, crate::files::DIFF_JSON).await?)
            .map_err(|e| invalid(crate::files::DIFF_JSON, e.to_string()))?;
    let mut sections = Vec::new();
    let mut provenance = Section {
        name: "inputs".into(),
        compared: 0,
        differences: Vec::new(),
    };
    let controls = controls_of(store, &pack, &mut provenance).await?;
    let ruleset = crate::rules::catalog::digest();
    provenance.compared += 1;
    if doc.ruleset_digest != ruleset {
        provenance.differences.push(format!(
            "the pack was assessed with ruleset {} ({} {}), this kube-evidence has {ruleset}: re-perform with the version that made it",
            doc.ruleset_digest, m.tool.version, m.tool.revision
        ));
    }
    let previous = match m.previous.pack_id.is_empty() {
        true => None,
        false => Some(read_verified_link(store, &m.cluster.name, &m.previous, trust).await?),
    };
    let usage = usage_of(
        store,
        &pack,
        previous.as_ref().and_then(|p| p.usage.clone()),
        &mut provenance,
    )
    .await?;
    let reviews = match &doc.reviews {
        None => None,
        Some(state) => {
            let cutoff = m.published_at;
            // Campaigns are checked against the keys the auditor trusts for packs: the run
            // trusted its own signing key, which signed this pack and so is among them.
            let read = super::reviews::read_all(
                store,
                &m.cluster.name,
                super::reviews::CampaignTrust {
                    signers: trust.signers,
                },
            )
            .await?;
            // When a refused object was written cannot be known (it is not trusted for anything,
            // its time included): those the pack names are judged again, others are later ones.
            let refused = read
                .refused
                .into_iter()
                .filter(|r| state.refused_campaigns.iter().any(|s| s.key == r.key))
                .collect();
            let campaigns = read
                .campaigns
                .into_iter()
                .filter(|(c, _)| c.created_at <= cutoff)
                .map(|(c, subs)| {
                    let subs = subs
                        .into_iter()
                        .filter(|s| s.submitted_at <= cutoff)
                        .collect();
                    (c, subs)
                })
                .collect();
            Some(crate::review::assess::Reviews {
                campaigns,
                refused,
                period_days: state.coverage.period_days,
                previous: previous.as_ref().and_then(|p| p.info.reviews.clone()),
                previous_at: previous.as_ref().map(|p| p.manifest.collected_at),
            })
        }
    };
    let basis = doc.assessment_basis.clone();
    let exceptions: Vec<_> = doc.exceptions.iter().map(|o| o.exception.clone()).collect();
    let assessment = assess(&AssessmentInput {
        snapshot: &snapshot,
        pack_id: Some(&m.pack_id),
        controls: &controls,
        exceptions: &exceptions,
        previous: previous.as_ref().map(|p| &p.info),
        schedule_interval_hours: basis.as_ref().map_or(24, |b| b.schedule_interval_hours),
        image_max_age_days: basis
            .as_ref()
            .and_then(|b| b.image_history.as_ref())
            .map_or(crate::inventory::updates::DEFAULT_MAX_AGE_DAYS, |h| {
                h.days_required
            }),
        usage: usage.as_ref(),
        reviews: reviews.as_ref(),
        retention: basis.map_or_else(crate::controls::Retention::not_published, |b| b.retention),
    });
    sections.push(provenance);
    sections.extend(compare_document(
        &stated,
        &assessment,
        &snapshot,
        &m.pack_id,
    ));
    sections.push(compare_diff(&stated_diff, &assessment));
    Ok(Reperformance {
        pack_id: m.pack_id.clone(),
        prefix: prefix.to_string(),
        verdict,
        previous: previous.map(|p| p.pointer.pack_id),
        sections,
    })
}

async fn read(store: &dyn Store, pack: &StoredPack, name: &str) -> Result<Vec<u8>, ReperformError> {
    Ok(pack.read_file(store, name).await?)
}

/// The control definitions the pack carries, checked against its manifest; a pack from before
/// `controls.json` existed can be re-performed with the built-in definitions only when those
/// are the ones its digest names.
async fn controls_of(
    store: &dyn Store,
    pack: &StoredPack,
    section: &mut Section,
) -> Result<Controls, ReperformError> {
    let m = &pack.manifest;
    section.compared += 1;
    if pack.lists(CONTROLS_FILE) {
        let bytes = read(store, pack, CONTROLS_FILE).await?;
        let sets = serde_json::from_slice(&bytes).map_err(|e| ReperformError::Invalid {
            pack_id: m.pack_id.clone(),
            file: CONTROLS_FILE.into(),
            message: e.to_string(),
        })?;
        let controls = Controls { sets };
        if controls.digest() != m.controls_digest {
            section.differences.push(format!(
                "{CONTROLS_FILE} has digest {}, but the manifest records controlsDigest {}",
                controls.digest(),
                m.controls_digest
            ));
        }
        return Ok(controls);
    }
    let builtin = Controls::builtin();
    if builtin.digest() != m.controls_digest {
        section.differences.push(format!(
            "the pack carries no {CONTROLS_FILE}, and its controlsDigest {} is not the built-in definitions' {}: its control results cannot be re-performed",
            m.controls_digest,
            builtin.digest()
        ));
    }
    Ok(builtin)
}

/// The usage input of the run, from the pack's record and this run's log alone.
/// The pack's usage input: this night's record as the pack keeps it, and the rolling record
/// made again from the verified previous pack's and this night's, merged and pruned as the run
/// does (a difference from the pack's `usage.json.gz`, or an older pack's `usage.json`, is
/// named).
async fn usage_of(
    store: &dyn Store,
    pack: &StoredPack,
    previous: Option<UsageRecord>,
    section: &mut Section,
) -> Result<Option<crate::audit::UsageInput>, ReperformError> {
    let Some(usage_file) = usage_file_in(|name| pack.lists(name)) else {
        return Ok(None);
    };
    let invalid = |file: &str, message: String| ReperformError::Invalid {
        pack_id: pack.manifest.pack_id.clone(),
        file: file.to_string(),
        message,
    };
    let doc = UsageDocument::from_pack_file(usage_file, &read(store, pack, usage_file).await?)
        .map_err(|e| invalid(usage_file, e.to_string()))?;
    section.compared += 1;
    let current: UsageRecord = if pack.lists(USAGE_NIGHT_FILE) {
        let gz = read(store, pack, USAGE_NIGHT_FILE).await?;
        let json = crate::snapshot::gunzip_bounded(&gz)
            .map_err(|e| invalid(USAGE_NIGHT_FILE, e.to_string()))?;
        serde_json::from_slice(&json).map_err(|e| invalid(USAGE_NIGHT_FILE, e.to_string()))?
    } else {
        section.differences.push(format!(
            "the pack carries no {USAGE_NIGHT_FILE} (packs from before it was kept): its usage anomalies cannot be re-performed"
        ));
        UsageRecord::default()
    };
    let record = match (&doc.log.accepted, pack.lists(USAGE_NIGHT_FILE)) {
        (Some(bounds), true) => {
            let continued = doc.continued.unwrap_or(false);
            let (mut rolling, parts_before) = match (continued, previous) {
                (true, Some(mut p)) => {
                    let parts = std::mem::take(&mut p.parts_read);
                    (crate::audit::UsageBuilder::from_record(p), parts)
                }
                _ => (crate::audit::UsageBuilder::default(), Vec::new()),
            };
            rolling.merge(current.clone());
            let mut again = rolling.finish();
            let today = bounds.run_at.date_naive();
            again.prune_to_window(today, doc.window_days, bounds.until());
            again.parts_read = crate::audit::resume::merge_parts(
                parts_before,
                current.parts_read.clone(),
                crate::audit::usage::window_start(today, doc.window_days),
            );
            if again != doc.record {
                section.differences.push(format!(
                    "{usage_file}: the rolling usage record is not the previous pack's merged with this night's and pruned to the window ({} subject(s) computed, {} in the pack)",
                    again.subjects.len(),
                    doc.record.subjects.len()
                ));
            }
            again
        }
        _ => doc.record,
    };
    Ok(Some(crate::audit::UsageInput {
        record,
        current,
        continued: doc.continued.unwrap_or(false),
        coverage: doc.log,
        options: crate::audit::assess::UsageOptions {
            window_days: doc.window_days,
            rate_multiple: doc.rate_multiple.unwrap_or(10.0),
        },
    }))
}

/// How an entry of a list is known: its id, or its subject.
type KeyOf = fn(&Value) -> String;

/// The parts of `findings.json` whose entries have a key (field, name, key), compared entry by
/// entry.
const KEYED: &[(&str, &str, KeyOf)] = &[
    ("findings", "findings", |v| text(&v["id"])),
    ("controls", "controls", |v| {
        format!("{} {}", text(&v["framework"]), text(&v["id"]))
    }),
    ("accessMatrix", "access matrix", |v| subject(&v["subject"])),
    ("register", "register", |v| text(&v["id"])),
    ("privilege", "privilege table", |v| subject(&v["subject"])),
    ("exceptions", "exception outcomes", |v| {
        text(&v["exception"]["id"])
    }),
];

fn text(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_string)
}

fn subject(v: &Value) -> String {
    match v["namespace"].as_str() {
        Some(ns) => format!("{}:{ns}/{}", text(&v["kind"]), text(&v["name"])),
        None => format!("{}:{}", text(&v["kind"]), text(&v["name"])),
    }
}

/// Compares each part of the pack's `findings.json` with the recomputed document.
fn compare_document(
    stated: &Value,
    assessment: &Assessment,
    snapshot: &Snapshot,
    pack_id: &str,
) -> Vec<Section> {
    let doc = crate::report::json::document(pack_id, snapshot, assessment);
    let recomputed = serde_json::to_value(&doc).expect("the document serialises");
    let mut out = Vec::new();
    for (field, name, key) in KEYED {
        out.push(compare_keyed(
            name,
            &stated[*field],
            &recomputed[*field],
            *key,
        ));
    }
    for (field, name) in [
        ("summary", "summary"),
        ("assessmentBasis", "assessment basis"),
        ("usage", "usage"),
        ("reviews", "access reviews"),
    ] {
        out.push(compare_whole(name, &stated[field], &recomputed[field]));
    }
    out
}

fn compare_keyed(
    name: &str,
    stated: &Value,
    recomputed: &Value,
    key: fn(&Value) -> String,
) -> Section {
    let index = |v: &Value| -> BTreeMap<String, Value> {
        v.as_array()
            .into_iter()
            .flatten()
            .map(|e| (key(e), e.clone()))
            .collect()
    };
    let (a, b) = (index(stated), index(recomputed));
    let mut differences = Vec::new();
    for (k, v) in &a {
        match b.get(k) {
            None => differences.push(format!("{k}: stated by the pack, not found again")),
            Some(w) if w != v => differences.push(format!("{k}: {}", fields_that_differ(v, w))),
            Some(_) => {}
        }
    }
    for k in b.keys().filter(|k| !a.contains_key(*k)) {
        differences.push(format!("{k}: found again, missing from the pack"));
    }
    Section {
        name: name.into(),
        compared: a.len().max(b.len()),
        differences,
    }
}

fn compare_whole(name: &str, stated: &Value, recomputed: &Value) -> Section {
    let differences = if stated == recomputed {
        Vec::new()
    } else {
        vec![fields_that_differ(stated, recomputed)]
    };
    Section {
        name: name.into(),
        compared: usize::from(!stated.is_null() || !recomputed.is_null()),
        differences,
    }
}

/// `field: stated -> recomputed` for each top-level field that differs (values shortened).
fn fields_that_differ(stated: &Value, recomputed: &Value) -> String {
    let short = |v: &Value| {
        let t = v.to_string();
        if t.len() > 160 {
            format!(
                "{}…",
                &t[..t.char_indices().nth(157).map_or(t.len(), |(i, _)| i)]
            )
        } else {
            t
        }
    };
    match (stated.as_object(), recomputed.as_object()) {
        (Some(a), Some(b)) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            keys.into_iter()
                .filter(|k| a.get(*k) != b.get(*k))
                .map(|k| {
                    format!(
                        "{k}: {} -> {}",
                        a.get(k).map_or("absent".into(), short),
                        b.get(k).map_or("absent".into(), short)
                    )
                })
                .collect::<Vec<_>>()
                .join("; ")
        }
        _ => format!("{} -> {}", short(stated), short(recomputed)),
    }
}

/// The pack's `diff.json` against the diff computed again, field by field (finding buckets by
/// id).
fn compare_diff(stated: &Value, assessment: &Assessment) -> Section {
    let recomputed = serde_json::to_value(&assessment.diff).expect("the diff serialises");
    let mut differences = Vec::new();
    let mut compared = 0;
    let keys: std::collections::BTreeSet<&String> = stated
        .as_object()
        .into_iter()
        .flat_map(|o| o.keys())
        .chain(recomputed.as_object().into_iter().flat_map(|o| o.keys()))
        .collect();
    for k in keys {
        compared += 1;
        let (a, b) = (&stated[k.as_str()], &recomputed[k.as_str()]);
        if a == b {
            continue;
        }
        if k == "findings" {
            for bucket in [
                "new",
                "persisting",
                "resolved",
                "superseded",
                "accepted",
                "system",
            ] {
                let ids = |v: &Value| -> std::collections::BTreeSet<String> {
                    v[bucket]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|f| text(&f["id"]))
                        .collect()
                };
                let (x, y) = (ids(a), ids(b));
                for id in x.difference(&y) {
                    differences.push(format!("findings.{bucket}: {id} stated, not found again"));
                }
                for id in y.difference(&x) {
                    differences.push(format!("findings.{bucket}: {id} found again, not stated"));
                }
            }
            for count in ["previousOpen", "currentOpen"] {
                if a[count] != b[count] {
                    differences.push(format!("findings.{count}: {} -> {}", a[count], b[count]));
                }
            }
        } else {
            differences.push(format!("{k}: {}", fields_that_differ(a, b)));
        }
    }
    Section {
        name: "diff".into(),
        compared,
        differences,
    }
}
