//! A reviewer's queue: a campaign's rows grouped by binding. One row per subject and binding,
//! with every capability the binding gives the subject in one cell (a RoleBinding to `admin` is
//! one decision, not one per capability), sorted by reviewer, then subject, then binding; and the
//! CSV reviewers fill in (`population.csv`), with what the pack's audit log says of each row's
//! use beside it. The grouping here is the one computation the CSV, the HTML queue,
//! `review submit` and the follow-up's reminders all read.

use super::campaign::{Campaign, Row};
use crate::rbac::SubjectRef;
use std::collections::BTreeMap;

/// The columns of the queue CSV. `reviewer` to `capabilities` are the campaign's and are checked
/// on submit; `last_used` and `unused_grants` say what the pack's audit log showed and are not;
/// the last three are the reviewer's to fill in.
pub const COLUMNS: &[&str] = &[
    "campaign",
    "row",
    "reviewer",
    "subject",
    "binding",
    "role",
    "scope",
    "sub_processor",
    "capabilities",
    "last_used",
    "unused_grants",
    "decision",
    "keep",
    "reason",
];

/// The column of `decision` in [`COLUMNS`] (`keep` and `reason` follow it).
pub const DECISION_COLUMN: usize = 11;

/// The layout of `population.csv` before the queue: one row per capability, each decided on its
/// own. Decision files in it that are already in the store still count when a run reads them
/// back; `review submit` refuses new ones (see [`super::model::Layouts`]).
pub const PER_CAPABILITY_COLUMNS: &[&str] = &[
    "campaign",
    "row",
    "subject",
    "access",
    "scope",
    "binding",
    "role",
    "sub_processor",
    "reviewer",
    "decision",
    "keep",
    "reason",
];

/// Between the capabilities of one cell (no capability's title contains it).
pub const CAPABILITY_SEPARATOR: &str = "; ";

/// One row of a reviewer's queue: a subject, a binding and everything the binding gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueRow {
    /// `B-` and a digest of the ids of the campaign rows it decides: unique within the campaign.
    pub id: String,
    pub reviewer: String,
    pub subject: SubjectRef,
    pub binding: String,
    pub role: String,
    pub scope: String,
    pub sub_processor: Option<String>,
    /// What the binding gives the subject (the campaign rows' `access`), sorted.
    pub capabilities: Vec<String>,
    /// The ids of the campaign rows it decides, in the order of `capabilities`.
    pub rows: Vec<String>,
}

impl QueueRow {
    pub fn capabilities_cell(&self) -> String {
        self.capabilities.join(CAPABILITY_SEPARATOR)
    }

    /// The campaign's cells of the row, in the order of [`COLUMNS`] from `reviewer` to
    /// `capabilities`: what a decision file must leave as it is.
    pub fn frozen(&self) -> [String; 7] {
        [
            self.reviewer.clone(),
            self.subject.to_string(),
            self.binding.clone(),
            self.role.clone(),
            self.scope.clone(),
            self.sub_processor.clone().unwrap_or_default(),
            self.capabilities_cell(),
        ]
    }
}

/// The campaign's rows grouped by reviewer, subject, binding and role (a binding has one role,
/// and one reviewer for all it gives a subject), sorted by reviewer, then subject, then binding.
pub fn queue_rows(campaign: &Campaign) -> Vec<QueueRow> {
    type Key<'a> = (&'a str, String, &'a str, &'a str, &'a str, Option<&'a str>);
    let mut groups: BTreeMap<Key<'_>, Vec<&Row>> = BTreeMap::new();
    for r in &campaign.rows {
        groups
            .entry((
                r.reviewer.as_str(),
                r.subject.to_string(),
                r.binding.as_str(),
                r.role.as_str(),
                r.scope.as_str(),
                r.sub_processor.as_deref(),
            ))
            .or_default()
            .push(r);
    }
    groups
        .into_values()
        .map(|mut rows| {
            rows.sort_by_cached_key(|r| (r.access.to_lowercase(), r.id.clone()));
            let first = rows[0];
            let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
            let mut sorted = ids.clone();
            sorted.sort();
            let digest = crate::digest::sha256_hex(sorted.join("\n").as_bytes());
            QueueRow {
                id: format!("B-{}", &digest[..12]),
                reviewer: first.reviewer.clone(),
                subject: first.subject.clone(),
                binding: first.binding.clone(),
                role: first.role.clone(),
                scope: first.scope.clone(),
                sub_processor: first.sub_processor.clone(),
                capabilities: rows.iter().map(|r| r.access.clone()).collect(),
                rows: ids,
            }
        })
        .collect()
}

/// What the pack's audit log says of a queue row's use, as the reviewer reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowUse {
    pub last_used: String,
    pub unused_grants: String,
}

/// What both usage cells say when the pack read no audit log: never blank, never "unused".
pub const NO_AUDIT_LOG: &str = "no audit log";

impl RowUse {
    pub fn no_audit_log() -> RowUse {
        RowUse {
            last_used: NO_AUDIT_LOG.into(),
            unused_grants: NO_AUDIT_LOG.into(),
        }
    }
}

/// The queue as the CSV a reviewer edits in a spreadsheet: `rows` with their `uses` (one each,
/// in the same order), every cell formula-safe.
pub fn queue_csv(campaign: &Campaign, rows: &[QueueRow], uses: &[RowUse]) -> Vec<u8> {
    let mut w = crate::csv_out::writer(Vec::new());
    crate::csv_out::record(&mut w, COLUMNS);
    let none = RowUse::no_audit_log();
    for (i, r) in rows.iter().enumerate() {
        let u = uses.get(i).unwrap_or(&none);
        let mut cells = vec![campaign.id.clone(), r.id.clone()];
        cells.extend(r.frozen());
        cells.extend([
            u.last_used.clone(),
            u.unused_grants.clone(),
            String::new(),
            String::new(),
            String::new(),
        ]);
        crate::csv_out::record(&mut w, cells);
    }
    w.into_inner().expect("writing to memory")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::review::model::CAMPAIGN_VERSION;

    fn row(subject: &str, access: &str, binding: &str, reviewer: &str) -> Row {
        let subject = SubjectRef::user(subject);
        Row {
            id: Row::make_id(&subject, access, binding, "ClusterRole admin"),
            subject,
            access: access.into(),
            scope: "namespace web".into(),
            binding: binding.into(),
            role: "ClusterRole admin".into(),
            sub_processor: None,
            reviewer: reviewer.into(),
        }
    }

    #[test]
    fn rows_are_grouped_by_binding_and_sorted_by_reviewer_subject_and_binding() {
        let mut rows = vec![
            row("zoe", "read Secrets", "RoleBinding web/z", "a@example.com"),
            row(
                "carol",
                "read Secrets",
                "RoleBinding web/c",
                "b@example.com",
            ),
            row(
                "carol",
                "exec into pods",
                "RoleBinding web/c",
                "b@example.com",
            ),
            row("bob", "read Secrets", "RoleBinding web/b2", "b@example.com"),
            row("bob", "read Secrets", "RoleBinding web/b1", "b@example.com"),
        ];
        // The campaign's own order (by row id) is not the queue's.
        rows.sort();
        let c = Campaign {
            version: CAMPAIGN_VERSION,
            id: "c".into(),
            cluster: "c".into(),
            pack_id: "p".into(),
            pack_path: "p".into(),
            manifest_sha256: "0".into(),
            created_at: chrono::DateTime::UNIX_EPOCH,
            due: chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
            remediation_days: 30,
            allowed_signers: String::new(),
            rows,
        };
        let q = queue_rows(&c);
        let order: Vec<(&str, String, &str)> = q
            .iter()
            .map(|r| {
                (
                    r.reviewer.as_str(),
                    r.subject.to_string(),
                    r.binding.as_str(),
                )
            })
            .collect();
        assert_eq!(
            order,
            [
                ("a@example.com", "User:zoe".into(), "RoleBinding web/z"),
                ("b@example.com", "User:bob".into(), "RoleBinding web/b1"),
                ("b@example.com", "User:bob".into(), "RoleBinding web/b2"),
                ("b@example.com", "User:carol".into(), "RoleBinding web/c"),
            ]
        );
        assert_eq!(q[3].capabilities_cell(), "exec into pods; read Secrets");
        assert_eq!(q[3].rows.len(), 2);
        let ids: std::collections::BTreeSet<&str> = q.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids.len(), 4, "ids are unique");
        let csv = String::from_utf8(queue_csv(&c, &q, &[])).unwrap();
        assert_eq!(csv.lines().count(), 5);
        assert!(
            csv.lines()
                .skip(1)
                .all(|l| l.contains(",no audit log,no audit log,,,"))
        );
    }
}
