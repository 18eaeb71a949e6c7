//! An access review campaign and the decisions reviewers return: the frozen population (one row
//! per subject and privileged grant, plus every grant of a sub-processor's identities), who
//! reviews which row, and the decision file a reviewer edits, signs and submits. Parsing a
//! decision file checks it against its campaign and reports every problem at once, by line.

use super::queue::{
    COLUMNS as QUEUE_COLUMNS, DECISION_COLUMN, PER_CAPABILITY_COLUMNS, QueueRow, queue_rows,
};
use crate::diag::Diagnostics;
use crate::rbac::SubjectRef;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

pub use super::campaign::{
    CAMPAIGN_FILE, CAMPAIGN_SIGNATURE_FILE, CAMPAIGN_VERSION, Campaign, POPULATION_FILE,
    REVIEW_NAMESPACE, Row,
};

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Keep,
    Revoke,
    /// Keep part of it (what, in `keep`); the grant as reviewed must go.
    Reduce,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Keep => "keep",
            Verdict::Revoke => "revoke",
            Verdict::Reduce => "reduce",
        }
    }

    /// The reviewed grant must be gone after the remediation deadline.
    pub fn removes(self) -> bool {
        self != Verdict::Keep
    }
}

/// One decision of a submitted file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    pub row: String,
    pub verdict: Verdict,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub keep: String,
    pub reason: String,
}

/// One submitted decision file, checked again as it is read back.
#[derive(Debug, Clone)]
pub struct Submission {
    pub key: String,
    /// As read, the store's claim (its Last-Modified, or the time in the file's name); once
    /// anchored ([`crate::review::assess`]), the time the pack chain vouches for.
    pub submitted_at: DateTime<Utc>,
    /// SHA-256 of the decision file's bytes: what a pack records, so that the same decisions
    /// under another name or time are known for what they are.
    pub sha256: String,
    /// The store's claim, once anchoring replaced it with another time.
    pub claimed_at: Option<DateTime<Utc>>,
    /// The principal whose key signed it, when the signature verifies.
    pub reviewer: Option<String>,
    /// The decisions, or why the file does not count.
    pub decisions: Result<Vec<Decision>, String>,
}

/// A campaign object in the store that does not count, and why (unsigned, not by a trusted key,
/// changed after it started, copied to another place, unreadable). Its rows count as reviewed
/// nowhere.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RefusedCampaign {
    pub key: String,
    pub problem: String,
}

/// The layouts a decision file may come in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layouts {
    /// The queue ([`super::queue::COLUMNS`]): one decision per subject and binding. What
    /// `review submit` takes.
    Queue,
    /// The queue, or the per-capability layout before it: what a run reads back from the store,
    /// where decision files submitted before the queue stay and still count.
    QueueOrPerCapability,
}

/// A decision file read against its campaign.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Decided {
    /// One decision per campaign row decided (a queue row decides every row of its binding).
    pub decisions: Vec<Decision>,
    /// The file's rows decided, and how many of them revoke or reduce.
    pub lines: usize,
    pub lines_removing: usize,
}

/// One row of a decision file's layout: what it decides and what must stay as it is.
struct Unit<'a> {
    reviewer: &'a str,
    subject: &'a SubjectRef,
    /// The campaign rows it decides, with their `access`.
    rows: Vec<(&'a str, &'a str)>,
    /// The campaign's cells, with their columns.
    frozen: Vec<(usize, String)>,
    /// A queue row (`reduce` may name capabilities to keep), or one per capability.
    queue: bool,
}

/// The rows of the campaign as a layout has them: by the id of its `row` column.
/// `queue`: the campaign's queue, for a file in its layout; `None` for the per-capability one.
fn units<'a>(campaign: &'a Campaign, queue: Option<&'a [QueueRow]>) -> BTreeMap<String, Unit<'a>> {
    if let Some(queue) = queue {
        let by_id: BTreeMap<&str, &Row> =
            campaign.rows.iter().map(|r| (r.id.as_str(), r)).collect();
        return queue
            .iter()
            .map(|q| {
                let unit = Unit {
                    reviewer: &q.reviewer,
                    subject: &q.subject,
                    rows: q
                        .rows
                        .iter()
                        .filter_map(|id| by_id.get(id.as_str()))
                        .map(|r| (r.id.as_str(), r.access.as_str()))
                        .collect(),
                    frozen: q
                        .frozen()
                        .into_iter()
                        .zip(2..)
                        .map(|(v, i)| (i, v))
                        .collect(),
                    queue: true,
                };
                (q.id.clone(), unit)
            })
            .collect();
    }
    campaign
        .rows
        .iter()
        .map(|r| {
            let frozen = [
                r.subject.to_string(),
                r.access.clone(),
                r.scope.clone(),
                r.binding.clone(),
                r.role.clone(),
                r.sub_processor.clone().unwrap_or_default(),
                r.reviewer.clone(),
            ];
            let unit = Unit {
                reviewer: &r.reviewer,
                subject: &r.subject,
                rows: vec![(r.id.as_str(), r.access.as_str())],
                frozen: frozen.into_iter().zip(2..).map(|(v, i)| (i, v)).collect(),
                queue: false,
            };
            (r.id.clone(), unit)
        })
        .collect()
}

/// Reads a decision file against its campaign for `reviewer` (the principal whose key signed
/// it): every row of theirs decided once, nothing added or changed, nobody deciding on their own
/// access. A queue row's decision is every campaign row of its binding's (see
/// [`expand`]). Every problem at once, as `origin:line`.
pub fn parse_decisions(
    text: &str,
    origin: &str,
    campaign: &Campaign,
    reviewer: &str,
    layouts: Layouts,
) -> Result<Decided, Diagnostics> {
    let mut diags = Diagnostics::new();
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(text.as_bytes());
    let header: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(str::to_string).collect(),
        Err(e) => {
            diags.push(origin, None, format!("not a CSV file: {e}"));
            return Err(diags);
        }
    };
    let queue_rows = queue_rows(campaign);
    let Some((units, decision_column)) = layout_of(
        &header,
        &queue_rows,
        LayoutQuestion {
            origin,
            campaign,
            reviewer,
            layouts,
        },
        &mut diags,
    ) else {
        return Err(diags);
    };
    let file = DecisionFile {
        text,
        origin,
        campaign,
        reviewer,
        header: &header,
        units: &units,
        decision_column,
    };
    let mut read = RowsRead::default();
    for record in reader.records() {
        file.read_row(record, &mut read, &mut diags);
    }
    let by_row: BTreeMap<&str, &Row> = campaign.rows.iter().map(|r| (r.id.as_str(), r)).collect();
    contradictions(
        &read.out.decisions,
        &by_row,
        &read.lines_of,
        origin,
        &mut diags,
    );
    if !file.whole_file_problems(&read, &mut diags) {
        return Err(diags);
    }
    diags.into_result(read.out)
}

/// What a decision file's layout is judged against.
struct LayoutQuestion<'a> {
    origin: &'a str,
    campaign: &'a Campaign,
    reviewer: &'a str,
    layouts: Layouts,
}

/// The rows a file of this header decides and the column its decision is in; `None` (with the
/// reason) for a header that is not the campaign's queue (nor, where still counted, the
/// per-capability layout before it).
fn layout_of<'a>(
    header: &[String],
    queue_rows: &'a [QueueRow],
    q: LayoutQuestion<'a>,
    diags: &mut Diagnostics,
) -> Option<(BTreeMap<String, Unit<'a>>, usize)> {
    let first_line = Some(crate::diag::Pos { line: 1, col: 1 });
    let campaign = q.campaign;
    if header == QUEUE_COLUMNS {
        return Some((units(campaign, Some(queue_rows)), DECISION_COLUMN));
    }
    if header == PER_CAPABILITY_COLUMNS && q.layouts == Layouts::QueueOrPerCapability {
        return Some((units(campaign, None), 9));
    }
    let message = if header == PER_CAPABILITY_COLUMNS {
        format!(
            "this file is in population.csv's layout before the reviewer's queue (one row per capability, column `access`): decisions are now made once per subject and binding, for every capability the binding gives. Get your queue of campaign {} (`kube-evidence review queue --campaign {} --reviewer {} --output queue.csv`), decide each of its rows, sign it and submit it",
            campaign.id, campaign.id, q.reviewer
        )
    } else {
        format!(
            "the header must be the campaign's queue: {} (found: {})",
            QUEUE_COLUMNS.join(","),
            header.join(",")
        )
    };
    diags.push(q.origin, first_line, message);
    None
}

/// A decision file being read: its text, what it is judged against, and its layout.
struct DecisionFile<'a> {
    text: &'a str,
    origin: &'a str,
    campaign: &'a Campaign,
    reviewer: &'a str,
    header: &'a [String],
    units: &'a BTreeMap<String, Unit<'a>>,
    decision_column: usize,
}

/// What the rows of a file gave, and what they said about the file as a whole.
#[derive(Default)]
struct RowsRead {
    out: Decided,
    /// Each row decided, with its line.
    seen: BTreeMap<String, u64>,
    /// Lines of rows assigned to another reviewer, by that reviewer.
    foreign: BTreeMap<String, Vec<u64>>,
    /// Lines of rows of another campaign, by that campaign.
    other_campaigns: BTreeMap<String, Vec<u64>>,
    rows_read: usize,
    /// The line each campaign row's decision came from.
    lines_of: BTreeMap<String, u64>,
}

impl DecisionFile<'_> {
    /// One row: of this campaign, in it, decided once, its frozen cells unchanged, not the
    /// reviewer's own access; its decision expanded to the campaign rows it decides.
    fn read_row(
        &self,
        record: Result<csv::StringRecord, csv::Error>,
        read: &mut RowsRead,
        diags: &mut Diagnostics,
    ) {
        let (origin, campaign, reviewer) = (self.origin, self.campaign, self.reviewer);
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map(|p| line_of(self.text, p) as u32);
                diags.push(
                    origin,
                    line.map(|line| crate::diag::Pos { line, col: 1 }),
                    format!("not a CSV row: {e}"),
                );
                return;
            }
        };
        let line = record.position().map_or(0, |p| line_of(self.text, p));
        let at = Some(crate::diag::Pos {
            line: line as u32,
            col: 1,
        });
        let cell = |i: usize| record.get(i).unwrap_or("").trim().to_string();
        let id = cell(1);
        read.rows_read += 1;
        if cell(0) != campaign.id {
            // A signed file decides for the campaign it names, never for a later one: said once
            // per campaign named, after the rows.
            read.other_campaigns.entry(cell(0)).or_default().push(line);
            return;
        }
        let Some(unit) = self.units.get(id.as_str()) else {
            diags.push(
                origin,
                at,
                format!(
                    "row `{id}` is not in campaign {}: rows cannot be added",
                    campaign.id
                ),
            );
            return;
        };
        if let Some(first) = read.seen.insert(id.clone(), line) {
            diags.push(
                origin,
                at,
                format!("row {id} is decided twice (first at line {first})"),
            );
            return;
        }
        for (i, want) in &unit.frozen {
            // As written (formula-safe: a leading `'` before `=`, `+`, `-`, `@`), or as a
            // spreadsheet saves the text it showed.
            let found = cell(*i);
            if found != *want && found != crate::csv_out::neutralise(want) {
                diags.push(
                    origin,
                    at,
                    format!(
                        "row {id}: `{}` is `{found}` in the file but `{want}` in the campaign; only decision, keep and reason are the reviewer's to fill in",
                        self.header[*i],
                    ),
                );
            }
        }
        if !same_identity(unit.reviewer, reviewer) {
            // One message per assigned reviewer after the rows, not one per row.
            read.foreign
                .entry(unit.reviewer.to_string())
                .or_default()
                .push(line);
        }
        if is_own_access(unit.subject, reviewer) {
            diags.push(
                origin,
                at,
                format!("row {id} is {reviewer}'s own access: nobody reviews their own access"),
            );
        }
        let column = self.decision_column;
        let decided = decision_of(
            &id,
            &cell(column),
            cell(column + 1),
            cell(column + 2),
            at,
            origin,
            diags,
        );
        if let Some(d) = decided {
            read.out.lines += 1;
            read.out.lines_removing += usize::from(d.verdict.removes());
            for d in expand(&id, unit, d, at, origin, diags) {
                read.lines_of.insert(d.row.clone(), line);
                read.out.decisions.push(d);
            }
        }
    }

    /// What the rows say about the file as a whole: rows of other campaigns, rows of other
    /// reviewers, rows of the reviewer's left undecided. `false` when the file is another
    /// campaign's altogether (that, not every row missing, is its problem).
    fn whole_file_problems(&self, read: &RowsRead, diags: &mut Diagnostics) -> bool {
        let (origin, reviewer) = (self.origin, self.reviewer);
        let first_of = |lines: &[u64]| {
            Some(crate::diag::Pos {
                line: lines[0] as u32,
                col: 1,
            })
        };
        for (named, lines) in &read.other_campaigns {
            diags.push(
                origin,
                first_of(lines),
                format!(
                    "{} row(s) (lines {}) were decided for campaign `{named}`, not for campaign {}: decisions are made for one campaign and never carried to another",
                    lines.len(),
                    some_lines(lines),
                    self.campaign.id
                ),
            );
        }
        let of_other_campaigns: usize = read.other_campaigns.values().map(Vec::len).sum();
        if read.rows_read > 0 && of_other_campaigns == read.rows_read {
            return false;
        }
        for (assigned, lines) in &read.foreign {
            diags.push(
                origin,
                first_of(lines),
                format!(
                    "{} row(s) (lines {}) are assigned to {assigned}, not to {reviewer} who signed this file",
                    lines.len(),
                    some_lines(lines),
                ),
            );
        }
        let missing: Vec<&str> = self
            .units
            .iter()
            .filter(|(id, u)| same_identity(u.reviewer, reviewer) && !read.seen.contains_key(*id))
            .map(|(id, _)| id.as_str())
            .collect();
        if !missing.is_empty() {
            let shown: Vec<&str> = missing.iter().take(10).copied().collect();
            diags.push(
                origin,
                None,
                format!(
                    "{} row(s) assigned to {reviewer} are not decided: {}{}",
                    missing.len(),
                    shown.join(", "),
                    if missing.len() > shown.len() {
                        format!(
                            " and {} more (the reviewer's queue lists them)",
                            missing.len() - shown.len()
                        )
                    } else {
                        String::new()
                    }
                ),
            );
        }
        true
    }
}

/// The first ten of `lines`, and `...` when there are more.
fn some_lines(lines: &[u64]) -> String {
    let shown: Vec<String> = lines.iter().take(10).map(u64::to_string).collect();
    let more = if lines.len() > shown.len() {
        ", ..."
    } else {
        ""
    };
    format!("{}{more}", shown.join(", "))
}

/// The line a record starts on, as a text editor numbers it. The csv crate's own count is one
/// short after a CRLF line end (it counts the `\n` when it reads the next record), and files come
/// with either.
fn line_of(text: &str, p: &csv::Position) -> u64 {
    let at = usize::try_from(p.byte()).map_or(text.len(), |b| b.min(text.len()));
    let start = at
        + text.as_bytes()[at..]
            .iter()
            .take_while(|b| matches!(b, b'\r' | b'\n'))
            .count();
    1 + text.as_bytes()[..start]
        .iter()
        .filter(|b| **b == b'\n')
        .count() as u64
}

/// A file row's decision as the decisions of the campaign rows it covers. A queue row decides
/// every capability of its binding alike, except that `reduce` keeps the capabilities its `keep`
/// names as the `capabilities` cell spells them (separated by `;`; anything else in `keep` says
/// what else stays): those rows are kept, every other must go. A reduction that names every
/// capability keeps the binding whole, which is `keep`.
fn expand(
    id: &str,
    unit: &Unit<'_>,
    d: Decision,
    at: Option<crate::diag::Pos>,
    origin: &str,
    diags: &mut Diagnostics,
) -> Vec<Decision> {
    let named: BTreeSet<&str> = if unit.queue && d.verdict == Verdict::Reduce {
        d.keep
            .split(';')
            .map(str::trim)
            .filter(|k| unit.rows.iter().any(|(_, access)| access == k))
            .collect()
    } else {
        BTreeSet::new()
    };
    if !named.is_empty() && unit.rows.iter().all(|(_, a)| named.contains(a)) {
        diags.push(
            origin,
            at,
            format!(
                "row {id}: `reduce` keeps every capability of the binding ({}): that is `keep`; a reduction names what stays and removes the rest",
                d.keep
            ),
        );
    }
    unit.rows
        .iter()
        .map(|(row, access)| {
            if named.contains(access) {
                Decision {
                    row: row.to_string(),
                    verdict: Verdict::Keep,
                    keep: String::new(),
                    reason: d.reason.clone(),
                }
            } else {
                Decision {
                    row: row.to_string(),
                    ..d.clone()
                }
            }
        })
        .collect()
}

/// A binding is kept or removed as a whole: a file that keeps one of its rows for a subject and
/// revokes another of the same binding contradicts itself (the revocation removes what the keep
/// keeps). The reviewer means `reduce` (keep part of it) or one verdict for all of them.
fn contradictions(
    decisions: &[Decision],
    rows: &BTreeMap<&str, &Row>,
    lines_of: &BTreeMap<String, u64>,
    origin: &str,
    diags: &mut Diagnostics,
) {
    let mut by_binding: BTreeMap<(String, &str, &str), Vec<&Decision>> = BTreeMap::new();
    for d in decisions {
        if let Some(row) = rows.get(d.row.as_str()) {
            by_binding
                .entry((
                    row.subject.to_string(),
                    row.binding.as_str(),
                    row.role.as_str(),
                ))
                .or_default()
                .push(d);
        }
    }
    for ((subject, binding, _), group) in &by_binding {
        let kept = group.iter().find(|d| d.verdict == Verdict::Keep);
        let revoked = group.iter().find(|d| d.verdict == Verdict::Revoke);
        if let (Some(k), Some(r)) = (kept, revoked) {
            let line = |d: &Decision| lines_of.get(&d.row).copied().unwrap_or(0);
            diags.push(
                origin,
                Some(crate::diag::Pos {
                    line: line(r) as u32,
                    col: 1,
                }),
                format!(
                    "row {} revokes {binding} for {subject}, and row {} (line {}) keeps the same binding: revoking it removes what the other keeps; decide `reduce` with what to keep, or the same decision for every row of the binding",
                    r.row,
                    k.row,
                    line(k)
                ),
            );
        }
    }
}

fn decision_of(
    id: &str,
    verdict: &str,
    keep: String,
    reason: String,
    at: Option<crate::diag::Pos>,
    origin: &str,
    diags: &mut Diagnostics,
) -> Option<Decision> {
    let verdict = match verdict {
        "keep" => Verdict::Keep,
        "revoke" => Verdict::Revoke,
        "reduce" => Verdict::Reduce,
        "" => {
            diags.push(
                origin,
                at,
                format!("row {id} has no decision (keep, revoke or reduce)"),
            );
            return None;
        }
        other => {
            diags.push(
                origin,
                at,
                format!("row {id}: unknown decision `{other}`; expected keep, revoke or reduce"),
            );
            return None;
        }
    };
    if verdict == Verdict::Reduce && keep.is_empty() {
        diags.push(
            origin,
            at,
            format!("row {id}: `reduce` needs `keep`: what is to stay"),
        );
    }
    if reason.is_empty() {
        diags.push(origin, at, format!("row {id}: a decision needs its reason"));
    }
    Some(Decision {
        row: id.to_string(),
        verdict,
        keep,
        reason,
    })
}

/// Whether `subject` is the reviewer's own identity: a user whose name is the reviewer's
/// principal, with or without an identity provider's prefix (`oidc:alice@example.com`).
pub fn is_own_access(subject: &SubjectRef, reviewer: &str) -> bool {
    match subject {
        SubjectRef::User { name } => {
            same_identity(name, reviewer)
                || name
                    .rsplit_once(':')
                    .is_some_and(|(_, n)| same_identity(n, reviewer))
        }
        _ => false,
    }
}

/// Whether two reviewer identities (e-mail addresses, a reviewer map's names, allowed-signers
/// principals, user names from an identity provider) are one person. Identity providers match
/// addresses without regard to case (`Carol@Example.com` signs in as `carol@example.com`), so the
/// comparison does too: case-sensitive, a reviewer could keep their own access by changing case.
pub fn same_identity(a: &str, b: &str) -> bool {
    let (a, b) = (a.trim(), b.trim());
    a == b || a.to_lowercase() == b.to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn row(subject: SubjectRef, access: &str, reviewer: &str) -> Row {
        let mut r = Row {
            id: String::new(),
            subject,
            access: access.into(),
            scope: "cluster-wide".into(),
            binding: "ClusterRoleBinding b".into(),
            role: "ClusterRole r".into(),
            sub_processor: None,
            reviewer: reviewer.into(),
        };
        r.id = Row::make_id(&r.subject, &r.access, &r.binding, &r.role);
        r
    }

    fn campaign() -> Campaign {
        Campaign {
            version: CAMPAIGN_VERSION,
            id: "c1".into(),
            cluster: "c".into(),
            pack_id: "p".into(),
            pack_path: "c/packs/p".into(),
            manifest_sha256: "0".into(),
            created_at: chrono::DateTime::UNIX_EPOCH,
            due: NaiveDate::from_ymd_opt(2026, 12, 10).unwrap(),
            remediation_days: 30,
            allowed_signers: String::new(),
            rows: vec![
                row(
                    SubjectRef::user("oidc:bob@example.com"),
                    "read Secrets",
                    "alice@example.com",
                ),
                row(
                    SubjectRef::service_account("ci", "deployer"),
                    "read Secrets",
                    "alice@example.com",
                ),
            ],
        }
    }

    /// The campaign's queue with its rows decided in the queue's order (reviewer, subject,
    /// binding): here the ServiceAccount's row, then bob's.
    fn filled(c: &Campaign, decisions: &[(&str, &str, &str)]) -> String {
        let rows = super::super::queue::queue_rows(c);
        let text = String::from_utf8(super::super::queue::queue_csv(c, &rows, &[])).unwrap();
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        for (i, (verdict, keep, reason)) in decisions.iter().enumerate() {
            let line = &mut lines[i + 1];
            *line = format!("{}{verdict},{keep},{reason}", line.trim_end_matches(",,"));
        }
        lines.join("\n") + "\n"
    }

    fn parse(text: &str, c: &Campaign, reviewer: &str) -> Result<Decided, Diagnostics> {
        parse_decisions(text, "d.csv", c, reviewer, Layouts::Queue)
    }

    /// bob's binding giving two capabilities.
    fn two_capabilities() -> Campaign {
        let mut c = campaign();
        c.rows[1] = row(
            SubjectRef::user("oidc:bob@example.com"),
            "exec into pods",
            "alice@example.com",
        );
        c
    }

    #[test]
    fn one_decision_decides_every_capability_of_the_binding() {
        let c = two_capabilities();
        let text = filled(&c, &[("revoke", "", "left")]);
        assert_eq!(text.lines().count(), 2, "one row for the binding");
        assert!(text.contains(",exec into pods; read Secrets,"), "{text}");
        let d = parse(&text, &c, "alice@example.com").unwrap();
        assert_eq!((d.lines, d.lines_removing), (1, 1));
        assert_eq!(d.decisions.len(), 2);
        assert!(d.decisions.iter().all(|d| d.verdict == Verdict::Revoke));
    }

    #[test]
    fn a_reduction_keeps_the_capabilities_it_names_and_removes_the_rest() {
        let c = two_capabilities();
        let text = filled(&c, &[("reduce", "read Secrets; get pods", "no exec")]);
        let d = parse(&text, &c, "alice@example.com").unwrap();
        let verdict = |access: &str| {
            let id = &c.rows.iter().find(|r| r.access == access).unwrap().id;
            d.decisions.iter().find(|d| &d.row == id).unwrap().verdict
        };
        assert_eq!(verdict("read Secrets"), Verdict::Keep);
        assert_eq!(verdict("exec into pods"), Verdict::Reduce);
        // Keeping every capability is not a reduction.
        let text = filled(
            &c,
            &[("reduce", "read Secrets;exec into pods", "nothing goes")],
        );
        let err = parse(&text, &c, "alice@example.com")
            .unwrap_err()
            .to_string();
        assert!(err.contains("that is `keep`"), "{err}");
    }

    #[test]
    fn keeping_and_revoking_rows_of_one_binding_in_the_per_capability_layout_is_refused() {
        let c = two_capabilities();
        let line = |r: &Row, verdict: &str| {
            format!(
                "c1,{},{},{},{},{},{},,{},{verdict},,because\n",
                r.id, r.subject, r.access, r.scope, r.binding, r.role, r.reviewer
            )
        };
        let header = PER_CAPABILITY_COLUMNS.join(",") + "\n";
        let text = header.clone() + &line(&c.rows[0], "keep") + &line(&c.rows[1], "revoke");
        let read = |text: &str| {
            parse_decisions(
                text,
                "d.csv",
                &c,
                "alice@example.com",
                Layouts::QueueOrPerCapability,
            )
        };
        let err = read(&text).unwrap_err().to_string();
        assert!(
            err.contains("keeps the same binding") && err.contains("`reduce`"),
            "{err}"
        );
        // The same verdict for both is a decision, read back from the store as before.
        let text = header + &line(&c.rows[0], "revoke") + &line(&c.rows[1], "revoke");
        assert_eq!(read(&text).unwrap().decisions.len(), 2);
        // `review submit` takes the queue only, and says what to do instead.
        let err = parse(&text, &c, "alice@example.com")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("d.csv:1:1:")
                && err.contains("population.csv's layout before the reviewer's queue")
                && err.contains("kube-evidence review queue --campaign c1"),
            "{err}"
        );
    }

    #[test]
    fn every_row_decided_once_with_a_reason_is_accepted() {
        let c = campaign();
        let text = filled(
            &c,
            &[
                ("keep", "", "on call"),
                ("reduce", "get pods", "deploys only"),
            ],
        );
        let d = parse(&text, &c, "alice@example.com").unwrap();
        assert_eq!(d.decisions.len(), 2);
        let bob = &c.rows[0].id;
        let bobs = d.decisions.iter().find(|d| &d.row == bob).unwrap();
        assert_eq!(bobs.verdict, Verdict::Reduce);
    }

    #[test]
    fn problems_are_reported_at_once_by_line() {
        let c = campaign();
        let mut text = filled(&c, &[("maybe", "", ""), ("reduce", "", "x")]);
        text.push_str(
            "c1,B-000000000000,alice@example.com,User:x,b,c,d,,e,no audit log,no audit log,keep,,r\n",
        );
        let err = parse(&text, &c, "alice@example.com")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("d.csv:2:1:") && err.contains("unknown decision `maybe`"),
            "{err}"
        );
        assert!(
            err.contains("d.csv:3:1:") && err.contains("`reduce` needs `keep`"),
            "{err}"
        );
        assert!(
            err.contains("d.csv:4:1:") && err.contains("rows cannot be added"),
            "{err}"
        );
        // A frozen cell changed, and the old header of the first layout.
        let changed = filled(&c, &[("keep", "", "ok"), ("keep", "", "ok")])
            .replace("cluster-wide", "namespace web");
        let err = parse(&changed, &c, "alice@example.com")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`scope` is `namespace web` in the file but `cluster-wide`"),
            "{err}"
        );
    }

    #[test]
    fn a_decision_file_of_another_campaign_does_not_count_here() {
        let c = campaign();
        let text = filled(&c, &[("keep", "", "ok"), ("keep", "", "ok")]);
        let mut later = c.clone();
        later.id = "c2".into();
        let err = parse(&text, &later, "alice@example.com")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(
                "2 row(s) (lines 2, 3) were decided for campaign `c1`, not for campaign c2"
            ) && err.contains("d.csv:2:1:")
                && !err.contains("not decided"),
            "{err}"
        );
    }

    #[test]
    fn identities_compare_as_identity_providers_compare_them() {
        let bob = SubjectRef::user("oidc:bob@example.com");
        for reviewer in ["bob@example.com", "Bob@Example.com", "BOB@EXAMPLE.COM"] {
            assert!(is_own_access(&bob, reviewer), "{reviewer}");
        }
        assert!(is_own_access(
            &SubjectRef::user("Bob@example.com"),
            "bob@example.com"
        ));
        assert!(!is_own_access(&bob, "bobby@example.com"));
        let c = campaign();
        let text = filled(&c, &[("keep", "", "ok"), ("keep", "", "ok")]);
        // The reviewer's key names them with other capitals: still their rows.
        assert!(parse(&text, &c, "Alice@Example.COM").is_ok());
    }

    #[test]
    fn the_wrong_reviewer_and_ones_own_access_are_refused() {
        let c = campaign();
        let text = filled(&c, &[("keep", "", "ok"), ("keep", "", "ok")]);
        let err = parse(&text, &c, "bob@example.com").unwrap_err().to_string();
        assert!(
            err.contains(
                "2 row(s) (lines 2, 3) are assigned to alice@example.com, not to bob@example.com"
            ),
            "{err}"
        );
        assert!(err.contains("bob@example.com's own access"), "{err}");
    }

    #[test]
    fn a_cell_written_formula_safe_reads_back_as_the_campaigns() {
        let mut c = campaign();
        // An inventory's sub-processor id is written by whoever edits the inventory.
        c.rows[0].sub_processor = Some("=HYPERLINK(\"x\")".into());
        let text = filled(&c, &[("keep", "", "ok"), ("keep", "", "ok")]);
        assert!(text.contains("'=HYPERLINK"), "{text}");
        assert!(parse(&text, &c, "alice@example.com").is_ok());
    }
}
