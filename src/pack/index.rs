//! The auditor index of one cluster: `<cluster>/index.json` (the data) and `<cluster>/index.html`
//! (a self-contained page listing every pack with its date, summary counts, control status,
//! signature fingerprint and links to its reports, relative to the index), so that an auditor
//! given read access to the prefix can browse the evidence.
//!
//! The index is rebuilt from the store's listing after every run: packs already described in
//! the previous `index.json` are reused, others are read from their manifest and findings, so a
//! lost or stale index heals itself. Like `latest.json` it is a pointer object, replaced whole;
//! no pack object is ever touched.

use super::{PackReadError, StoredPack, list_packs};
use crate::finding::Severity;
use crate::report::json::FindingsDocument;
use crate::store::{Store, StoreError};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const INDEX_JSON: &str = crate::files::INDEX_JSON;
pub const INDEX_HTML: &str = crate::files::INDEX_HTML;
pub const INDEX_SCHEMA_VERSION: u32 = 1;
/// A year of nightly packs is about 400 KB of index.
pub const MAX_INDEX_BYTES: u64 = 64 * 1024 * 1024;
const TEMPLATE: &str = include_str!("../../templates/index.html");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IndexDocument {
    pub schema_version: u32,
    pub cluster: String,
    /// Newest first.
    pub packs: Vec<IndexEntry>,
    /// Pack folders without a manifest: publications that were interrupted. They are not
    /// evidence and `latest.json` never pointed at them; they are listed so nobody wonders.
    pub interrupted: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IndexEntry {
    pub pack_id: String,
    /// The pack's prefix in the store (`<cluster>/packs/YYYY/MM/DD/<id>`).
    pub path: String,
    pub collected_at: DateTime<Utc>,
    pub published_at: DateTime<Utc>,
    pub collection_complete: bool,
    pub signed: bool,
    pub signing_key_fingerprint: String,
    pub previous_pack_id: String,
    /// Open findings (not about system components) by severity; empty when findings.json
    /// could not be read, in which case `problem` says why.
    pub open_findings: BTreeMap<Severity, usize>,
    pub accepted_findings: usize,
    /// Control counts by framework, then status.
    pub controls: BTreeMap<String, BTreeMap<String, usize>>,
    /// The pack's files an auditor opens, relative to the pack folder.
    pub files: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error(transparent)]
    Read(#[from] PackReadError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot sign the index")]
    Sign(#[source] super::sign::SignError),
}

/// The files linked first, in this order, when the pack has them; every other file of the pack
/// follows by name, then `SHA256SUMS`, the manifest and the signatures.
const LINKED_FIRST: [&str; 8] = [
    crate::files::REPORT_HTML,
    crate::files::REPORT_PDF,
    crate::files::CONTROLS_CSV,
    crate::files::FINDINGS_CSV,
    crate::files::FINDINGS_JSON,
    crate::files::ACCESS_MATRIX_CSV,
    crate::files::SUBPROCESSORS_CSV,
    crate::files::OSCAL,
];

async fn describe(store: &dyn Store, pack: &StoredPack) -> IndexEntry {
    let m = &pack.manifest;
    let mut files: Vec<String> = LINKED_FIRST
        .iter()
        .filter(|f| m.files.iter().any(|e| e.path == **f))
        .map(|f| f.to_string())
        .collect();
    files.extend(
        m.files
            .iter()
            .filter(|e| !LINKED_FIRST.contains(&e.path.as_str()))
            .map(|e| e.path.clone()),
    );
    files.extend(m.envelope_files().into_iter().map(str::to_string));
    let mut entry = IndexEntry {
        pack_id: m.pack_id.clone(),
        path: pack.prefix.clone(),
        collected_at: m.collected_at,
        published_at: m.published_at,
        collection_complete: m.collection_complete,
        signed: m.signed,
        signing_key_fingerprint: m.signing_key_fingerprint.clone(),
        previous_pack_id: m.previous.pack_id.clone(),
        open_findings: BTreeMap::new(),
        accepted_findings: 0,
        controls: BTreeMap::new(),
        files,
        problem: None,
    };
    match pack.read_file(store, crate::files::FINDINGS_JSON).await {
        Ok(bytes) => match serde_json::from_slice::<FindingsDocument>(&bytes) {
            Ok(doc) => {
                entry.open_findings = doc.summary.open;
                entry.accepted_findings = doc.summary.accepted;
                for ((framework, status), n) in crate::controls::evaluate::counts(&doc.controls) {
                    if n > 0 {
                        entry
                            .controls
                            .entry(framework)
                            .or_default()
                            .insert(status.as_str().to_string(), n);
                    }
                }
            }
            Err(e) => entry.problem = Some(format!("findings.json does not parse: {e}")),
        },
        Err(e) => entry.problem = Some(e.to_string()),
    }
    entry
}

/// The signature of `index.json` by the key that signs packs (SSHSIG, the packs' namespace).
pub const INDEX_SIGNATURE: &str = "index.json.sig";

/// Who signs the index and whom its earlier version is trusted from.
#[derive(Clone, Copy, Default)]
pub struct IndexSigning<'a> {
    /// The run's key: the new index is signed with it.
    pub key: Option<&'a super::sign::SigningKey>,
    /// The keys an earlier index must be signed by for its entries to be reused.
    pub trusted: Option<&'a [super::sign::AllowedSigner]>,
}

/// What an index's signature is checked against.
#[derive(Clone, Copy, Debug)]
pub enum IndexAnchor<'a> {
    /// Trusted signers (a run's allowed signers and its own key; a reader's allowed signers).
    Signers(&'a [super::sign::AllowedSigner]),
    /// The key that signed a pack already verified (`SHA256:...`): the index is trusted as far
    /// as that pack is.
    Fingerprint(&'a str),
}

/// A cluster's index as a reader finds it.
#[derive(Debug, Clone)]
pub enum StoredIndex {
    /// There is no `index.json`.
    Missing,
    /// There is one, and this is why it is not believed.
    Untrusted(String),
    /// Signed by the anchor's key, and about this cluster.
    Trusted(IndexDocument),
}

/// The index of `cluster`, believed only if its signature verifies against `anchor` (at `at`).
pub async fn read_signed(
    store: &dyn Store,
    cluster: &str,
    anchor: Option<IndexAnchor<'_>>,
    at: DateTime<Utc>,
) -> Result<StoredIndex, StoreError> {
    Ok(match check_signed(store, cluster, anchor, at).await? {
        None => StoredIndex::Missing,
        Some(Ok(doc)) => StoredIndex::Trusted(doc),
        Some(Err(why)) => StoredIndex::Untrusted(why),
    })
}

async fn check_signed(
    store: &dyn Store,
    cluster: &str,
    anchor: Option<IndexAnchor<'_>>,
    at: DateTime<Utc>,
) -> Result<Option<Result<IndexDocument, String>>, StoreError> {
    let json_key = format!("{cluster}/{INDEX_JSON}");
    let bytes = match store.get_limited(&json_key, MAX_INDEX_BYTES).await {
        Err(StoreError::TooLarge { .. }) => {
            return Ok(Some(Err(format!(
                "{json_key} is larger than {MAX_INDEX_BYTES} bytes"
            ))));
        }
        other => other?,
    };
    let Some(bytes) = bytes else {
        return Ok(None);
    };
    let Some(anchor) = anchor else {
        return Ok(Some(Err(format!(
            "{json_key} cannot be trusted: no key to check its signature against"
        ))));
    };
    let sig = store
        .get_limited(
            &format!("{cluster}/{INDEX_SIGNATURE}"),
            super::MAX_SIGNATURE_BYTES,
        )
        .await?;
    let Some(sig) = sig else {
        return Ok(Some(Err(format!(
            "{json_key} is not signed (written by an unsigned run, or by hand)"
        ))));
    };
    let checked = match anchor {
        IndexAnchor::Signers(signers) => super::sign::verify(&bytes, &sig, Some(signers), at),
        IndexAnchor::Fingerprint(_) => super::sign::verify(&bytes, &sig, None, at),
    };
    match (checked, anchor) {
        (Err(super::sign::SignatureProblem::Mismatch), _) => {
            return Ok(Some(Err(format!(
                "{json_key} does not match {INDEX_SIGNATURE} (rewritten after it was signed, by an unsigned run or by hand)"
            ))));
        }
        (Err(e), _) => return Ok(Some(Err(format!("{json_key}'s signature: {e}")))),
        (Ok(check), IndexAnchor::Fingerprint(expected)) if check.fingerprint != expected => {
            return Ok(Some(Err(format!(
                "{json_key} is signed by {}, not by {expected}, the key of the latest pack",
                check.fingerprint
            ))));
        }
        (Ok(_), _) => {}
    }
    let doc = serde_json::from_slice::<IndexDocument>(&bytes)
        .map_err(|e| format!("{json_key} is not valid: {e}"));
    Ok(Some(doc.and_then(|d| {
        if d.cluster == cluster {
            Ok(d)
        } else {
            Err(format!("{json_key} describes cluster {}", d.cluster))
        }
    })))
}

/// Rebuilds the index of `cluster` from the store and replaces `index.json` (and its signature,
/// when the run signs) and `index.html`. Entries of the earlier index are reused only when it is
/// signed by a trusted key: anyone who can write to the store can write an index, and an entry
/// taken from one unsigned would let them say what a pack holds.
pub async fn update(
    store: &dyn Store,
    cluster: &str,
    generated_at: DateTime<Utc>,
    signing: IndexSigning<'_>,
) -> Result<IndexDocument, IndexError> {
    let json_key = format!("{cluster}/{INDEX_JSON}");
    let anchor = signing.trusted.map(IndexAnchor::Signers);
    // An index not signed by a trusted key is rebuilt from the packs themselves.
    let previous: BTreeMap<String, IndexEntry> =
        match read_signed(store, cluster, anchor, generated_at).await? {
            StoredIndex::Trusted(d) => d.packs.into_iter().map(|e| (e.path.clone(), e)).collect(),
            StoredIndex::Missing | StoredIndex::Untrusted(_) => BTreeMap::new(),
        };
    let (packs, interrupted) = list_packs(store, cluster).await?;
    let mut entries = Vec::with_capacity(packs.len());
    for p in &packs {
        match previous.get(&p.prefix) {
            Some(e) if e.pack_id == p.manifest.pack_id && e.problem.is_none() => {
                entries.push(e.clone())
            }
            _ => {
                let mut entry = describe(store, p).await;
                // The index is signed with the run's key: it vouches only for packs that verify
                // against the keys the run trusts. A folder signed by anyone else is listed
                // with the reason, never as part of the chain.
                if let Some(trusted) = signing.trusted
                    && entry.problem.is_none()
                {
                    let policy = super::read::Policy {
                        signers: Some(trusted),
                        tsa: None,
                        strict: false,
                        allow_unsigned: true,
                        strict_time: false,
                    };
                    if let Err(e) =
                        super::read::open(store, super::read::Target::At(&p.prefix), policy).await
                    {
                        entry.problem = Some(e.to_string());
                    }
                }
                entries.push(entry);
            }
        }
    }
    entries.sort_by(|a, b| (b.collected_at, &b.pack_id).cmp(&(a.collected_at, &a.pack_id)));
    let doc = IndexDocument {
        schema_version: INDEX_SCHEMA_VERSION,
        cluster: cluster.to_string(),
        packs: entries,
        interrupted,
    };
    let json = serde_json::to_vec_pretty(&doc).expect("the index serialises");
    // The signature first: a reader that finds the new index with the old signature refuses it,
    // and rebuilds or says so; never the reverse.
    if let Some(key) = signing.key {
        let sig = key.sign(&json).map_err(IndexError::Sign)?;
        store
            .replace_pointer(
                &format!("{cluster}/{INDEX_SIGNATURE}"),
                &sig,
                "text/plain; charset=utf-8",
            )
            .await?;
    }
    store
        .replace_pointer(&json_key, &json, "application/json")
        .await?;
    store
        .replace_pointer(
            &format!("{cluster}/{INDEX_HTML}"),
            &render_html(&doc, generated_at),
            "text/html; charset=utf-8",
        )
        .await?;
    Ok(doc)
}

#[derive(Serialize)]
struct HtmlRow<'a> {
    e: &'a IndexEntry,
    date: String,
    /// The pack folder relative to the index.
    href: String,
    open: Vec<usize>,
    controls: Vec<FrameworkLine>,
}

#[derive(Serialize)]
struct FrameworkLine {
    framework: String,
    counts: String,
}

/// The page; deterministic for a given index and time.
pub fn render_html(doc: &IndexDocument, generated_at: DateTime<Utc>) -> Vec<u8> {
    let rows: Vec<HtmlRow> = doc
        .packs
        .iter()
        .map(|e| HtmlRow {
            e,
            date: e.collected_at.format("%Y-%m-%d %H:%M UTC").to_string(),
            href: e
                .path
                .strip_prefix(&format!("{}/", doc.cluster))
                .unwrap_or(&e.path)
                .to_string(),
            open: Severity::ALL
                .iter()
                .map(|s| e.open_findings.get(s).copied().unwrap_or(0))
                .collect(),
            controls: e
                .controls
                .iter()
                .map(|(framework, counts)| {
                    let parts: Vec<String> = crate::controls::ControlStatus::ALL
                        .iter()
                        .filter_map(|s| {
                            counts
                                .get(s.as_str())
                                .map(|n| format!("{n} {}", s.as_str()))
                        })
                        .collect();
                    FrameworkLine {
                        framework: framework.clone(),
                        counts: parts.join(", "),
                    }
                })
                .collect(),
        })
        .collect();
    let mut context = tera::Context::new();
    context.insert("cluster", &doc.cluster);
    context.insert("rows", &rows);
    context.insert("interrupted", &doc.interrupted);
    context.insert(
        "generated_at",
        &generated_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
    );
    context.insert(
        "tool",
        &format!("{} {}", crate::TOOL_NAME, crate::TOOL_VERSION),
    );
    crate::report::html::page(INDEX_HTML, TEMPLATE, &context).into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn entry(id: &str, day: u32, signed: bool) -> IndexEntry {
        let at = Utc.with_ymd_and_hms(2026, 11, day, 2, 0, 0).unwrap();
        IndexEntry {
            pack_id: id.into(),
            path: format!("prod/packs/2026/11/{day:02}/{id}"),
            collected_at: at,
            published_at: at,
            collection_complete: day != 21,
            signed,
            signing_key_fingerprint: if signed {
                "SHA256:abc".into()
            } else {
                String::new()
            },
            previous_pack_id: String::new(),
            open_findings: [(Severity::Critical, 2), (Severity::Low, 5)]
                .into_iter()
                .collect(),
            accepted_findings: 1,
            controls: [(
                "SOC 2".to_string(),
                [
                    ("satisfied".to_string(), 7),
                    ("not-satisfied".to_string(), 2),
                ]
                .into_iter()
                .collect(),
            )]
            .into_iter()
            .collect(),
            files: vec!["report.html".into(), super::super::MANIFEST_FILE.into()],
            problem: None,
        }
    }

    #[test]
    fn the_page_lists_every_pack_with_relative_links_and_nothing_remote() {
        let doc = IndexDocument {
            schema_version: INDEX_SCHEMA_VERSION,
            cluster: "prod".into(),
            packs: vec![entry("P2", 21, false), entry("P1", 20, true)],
            interrupted: vec!["prod/packs/2026/11/22/P3".into()],
        };
        let at = Utc.with_ymd_and_hms(2026, 11, 22, 3, 0, 0).unwrap();
        let html = String::from_utf8(render_html(&doc, at)).unwrap();
        assert_eq!(html, String::from_utf8(render_html(&doc, at)).unwrap());
        assert!(
            html.contains(r#"<a href="packs/2026/11/20/P1/report.html">"#),
            "{html}"
        );
        assert!(html.contains(r#"<a href="packs/2026/11/21/P2/manifest.json">"#));
        assert!(html.contains("SHA256:abc") && html.contains("UNSIGNED"));
        assert!(html.contains("INCOMPLETE"));
        assert!(html.contains("<b>SOC 2</b>: 7 satisfied, 2 not-satisfied"));
        assert!(html.contains("Interrupted publications"));
        assert!(html.contains("prod/packs/2026/11/22/P3"));
        assert!(html.find("P2").unwrap() < html.find("P1").unwrap());
        assert!(!html.contains("http://") && !html.contains("https://"));
        assert!(!html.contains("<script"));
    }
}
