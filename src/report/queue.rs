//! A reviewer's queue as they receive it: the campaign's rows grouped by binding
//! ([`crate::review::queue`]), each with what the campaign's pack says of its use (the audit
//! log's record, judged as KE-USE-001 and 002 judge it), as the CSV they fill in and as one
//! self-contained HTML page (no script, nothing fetched, every value escaped). Pure.

use super::document::{PlainDocument, PlainSection};
use crate::audit::UsageSummary;
use crate::audit::assess::binding_uses;
use crate::audit::usage::UsageRecord;
use crate::rbac::index::{BindingId, RbacIndex};
use crate::review::model::{Campaign, same_identity};
use crate::review::queue::{NO_AUDIT_LOG, QueueRow, RowUse, queue_csv, queue_rows};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// Unused rules named in a cell before "and N more".
const RULES_NAMED: usize = 10;

/// What the campaign's pack holds of use: the snapshot's grants, its audit log's rolling record,
/// and what it concluded of the log's coverage.
pub struct PackUsage<'a> {
    pub index: &'a RbacIndex,
    pub record: &'a UsageRecord,
    pub summary: &'a UsageSummary,
    pub collected_at: DateTime<Utc>,
}

/// A campaign's queue with what its pack says of each row's use.
#[derive(Debug, Clone)]
pub struct Queue {
    pub campaign: Campaign,
    pub rows: Vec<QueueRow>,
    /// One per row, in the same order.
    pub uses: Vec<RowUse>,
    /// What the usage cells rest on, in a sentence.
    pub usage_note: String,
}

impl Queue {
    /// The queue of `campaign`; `usage` is `None` when its pack read no audit log.
    pub fn build(campaign: Campaign, usage: Option<&PackUsage<'_>>) -> Queue {
        let rows = queue_rows(&campaign);
        let (uses, usage_note) = match usage {
            None => (
                vec![RowUse::no_audit_log(); rows.len()],
                format!(
                    "Pack {} read no API audit log: the usage columns say \"{NO_AUDIT_LOG}\", and nothing here says whether a grant was used.",
                    campaign.pack_id
                ),
            ),
            Some(u) => (row_uses(&rows, u), usage_note(&campaign, u)),
        };
        Queue {
            campaign,
            rows,
            uses,
            usage_note,
        }
    }

    /// The rows (and their uses) assigned to `reviewer`, or every row.
    fn selected(&self, reviewer: Option<&str>) -> (Vec<QueueRow>, Vec<RowUse>) {
        self.rows
            .iter()
            .zip(&self.uses)
            .filter(|(r, _)| reviewer.is_none_or(|who| same_identity(&r.reviewer, who)))
            .map(|(r, u)| (r.clone(), u.clone()))
            .unzip()
    }

    /// The rows of `reviewer` (or every row).
    pub fn len(&self, reviewer: Option<&str>) -> usize {
        self.selected(reviewer).0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The CSV the reviewer fills in, signs and submits.
    pub fn csv(&self, reviewer: Option<&str>) -> Vec<u8> {
        let (rows, uses) = self.selected(reviewer);
        queue_csv(&self.campaign, &rows, &uses)
    }

    /// The page the reviewer reads.
    pub fn html(&self, reviewer: Option<&str>) -> String {
        super::plain::html(&self.document(reviewer))
    }

    fn document(&self, reviewer: Option<&str>) -> PlainDocument {
        let c = &self.campaign;
        let (rows, uses) = self.selected(reviewer);
        let whose = reviewer.unwrap_or("every reviewer");
        let mut sections = vec![PlainSection {
            title: "The campaign".into(),
            paragraphs: vec![
                format!(
                    "Campaign {} of cluster {}: the privileged access of pack {}, started {}, to be decided by {}. A revocation or reduction is to be carried out within {} days of its decision.",
                    c.id,
                    c.cluster,
                    c.pack_id,
                    c.created_at.format("%Y-%m-%d"),
                    c.due,
                    c.remediation_days
                ),
                "One row per subject and binding, with every capability the binding gives the subject: one decision covers them all. In the CSV of this queue, fill in `decision` (keep, revoke, or reduce), `keep` for a reduction (the capabilities that stay, as the capabilities column spells them, separated by `;`, and anything else that stays), and `reason`; leave every other column as it is. Then sign it with your key (kube-evidence review sign, or ssh-keygen -Y sign -n kube-evidence-review) and submit it (kube-evidence review submit).".into(),
                self.usage_note.clone(),
            ],
            columns: Vec::new(),
            rows: Vec::new(),
            links: Vec::new(),
        }];
        let mut by_reviewer: BTreeMap<&str, Vec<Vec<String>>> = BTreeMap::new();
        for (r, u) in rows.iter().zip(&uses) {
            let subject = match &r.sub_processor {
                Some(sp) => format!("{}\nsub-processor {sp}", r.subject),
                None => r.subject.to_string(),
            };
            by_reviewer.entry(&r.reviewer).or_default().push(vec![
                r.id.clone(),
                subject,
                format!("{}\n-> {}\n{}", r.binding, r.role, r.scope),
                r.capabilities.join("\n"),
                u.last_used.clone(),
                u.unused_grants.clone(),
            ]);
        }
        if by_reviewer.is_empty() {
            sections.push(PlainSection {
                title: format!("{whose}: nothing to decide"),
                paragraphs: vec![format!(
                    "No row of campaign {} is assigned to {whose}.",
                    c.id
                )],
                columns: Vec::new(),
                rows: Vec::new(),
                links: Vec::new(),
            });
        }
        for (who, table) in by_reviewer {
            sections.push(PlainSection {
                title: format!("{who}: {} row(s) to decide", table.len()),
                paragraphs: Vec::new(),
                columns: vec![
                    ("Row".into(), 0.9),
                    ("Subject".into(), 1.4),
                    ("Binding, role, scope".into(), 1.6),
                    ("Capabilities it gives".into(), 2.0),
                    ("Last used".into(), 1.0),
                    ("Unused grants".into(), 1.6),
                ],
                links: vec![None; table.len()],
                rows: table,
            });
        }
        PlainDocument {
            title: format!("Access review queue of {whose}: campaign {}", c.id),
            heading: format!("Access review queue: {whose}"),
            header: format!(
                "kube-evidence access review · cluster {} · campaign {} · due {}",
                c.cluster, c.id, c.due
            ),
            footer: format!(
                "Campaign {} froze {} grant(s) of pack {} (manifest SHA-256 {}); this queue groups them by subject and binding.",
                c.id,
                c.rows.len(),
                c.pack_id,
                c.manifest_sha256
            ),
            identifier: format!("review-queue-{}-{whose}", c.id),
            sections,
        }
    }
}

/// How many days of log the cells rest on, and whether they cover the window.
fn seen(s: &UsageSummary) -> String {
    if s.days_seen >= s.days_required {
        format!(
            "in the {} days of log of the {}-day window",
            s.days_seen, s.window_days
        )
    } else {
        format!(
            "in {} day(s) of log (not yet the {}-day window)",
            s.days_seen, s.window_days
        )
    }
}

fn usage_note(c: &Campaign, u: &PackUsage<'_>) -> String {
    let s = u.summary;
    format!(
        "Use as pack {} (collected {}) recorded it: {} day(s) of API audit log in its {}-day window, of the {} a claim of non-use over the window needs. \"Last used\" is the latest request that any rule of the binding allowed the subject; \"unused grants\" are the binding's rules no request used{}.",
        c.pack_id,
        u.collected_at.format("%Y-%m-%d"),
        s.days_seen,
        s.window_days,
        s.days_required,
        if s.days_seen == 0 {
            "; with no day of log in the window, neither is said"
        } else {
            ""
        }
    )
}

/// Each row's usage cells: never blank, never "unused" without a day of log behind it.
fn row_uses(rows: &[QueueRow], u: &PackUsage<'_>) -> Vec<RowUse> {
    let s = u.summary;
    if s.days_seen == 0 {
        let none = format!("{NO_AUDIT_LOG} in the {}-day window", s.window_days);
        return vec![
            RowUse {
                last_used: none.clone(),
                unused_grants: none,
            };
            rows.len()
        ];
    }
    let bindings: BTreeMap<String, BindingId> = u
        .index
        .bindings
        .iter()
        .enumerate()
        .map(|(i, b)| (b.object().to_string(), i))
        .collect();
    let qualifier = seen(s);
    rows.iter()
        .map(|r| {
            let Some(binding) = bindings.get(&r.binding) else {
                let gone = "the binding is not in the pack's snapshot".to_string();
                return RowUse {
                    last_used: gone.clone(),
                    unused_grants: gone,
                };
            };
            let grants = binding_uses(u.index, u.record, &r.subject, *binding);
            let last = grants.iter().filter_map(|g| g.last_used).max();
            let unused: Vec<String> = grants
                .iter()
                .filter(|g| g.last_used.is_none())
                .map(|g| g.grant.rule.compact())
                .collect();
            let last_used = match last {
                Some(t) => t.format("%Y-%m-%d").to_string(),
                None => format!("not used {qualifier}"),
            };
            // Said only when the log does not cover the window yet.
            let window = if s.days_seen >= s.days_required {
                String::new()
            } else {
                format!(", {qualifier}")
            };
            let unused_grants = if unused.is_empty() {
                "none".to_string()
            } else if unused.len() == 1 && grants.len() == 1 {
                format!("its one rule{window}: {}", unused[0])
            } else if unused.len() == grants.len() {
                format!("all {} rules{window}", grants.len())
            } else {
                let named: Vec<&str> = unused
                    .iter()
                    .take(RULES_NAMED)
                    .map(String::as_str)
                    .collect();
                format!(
                    "{} of {} rules{window}: {}{}",
                    unused.len(),
                    grants.len(),
                    named.join("; "),
                    if unused.len() > named.len() {
                        format!("; and {} more", unused.len() - named.len())
                    } else {
                        String::new()
                    }
                )
            };
            RowUse {
                last_used,
                unused_grants,
            }
        })
        .collect()
}
