//! An access review campaign and the decisions reviewers return: the frozen population (one row
//! per subject and privileged grant, plus every grant of a sub-processor's identities), who
//! reviews which row, and the decision file a reviewer edits, signs and submits. Parsing a
//! decision file checks it against its campaign and reports every problem at once, by line.

use crate::diag::Diagnostics;
use crate::rbac::SubjectRef;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The SSHSIG namespace of reviewers' signatures (`ssh-keygen -Y sign -n kube-evidence-review`):
/// a pack's signature cannot pass for a decision, nor the reverse.
pub const REVIEW_NAMESPACE: &str = "kube-evidence-review";
pub const CAMPAIGN_FILE: &str = "campaign.json";
/// The signature of `campaign.json` by the key that signs packs (SSHSIG, the packs' namespace),
/// made when the campaign starts: the campaign, its rows and its reviewers' keys are trusted only
/// when it verifies against the keys the reader trusts for packs.
pub const CAMPAIGN_SIGNATURE_FILE: &str = "campaign.json.sig";
pub const POPULATION_FILE: &str = "population.csv";
/// 2: signed campaigns, and decision files that name their campaign on every row.
pub const CAMPAIGN_VERSION: u32 = 2;
/// The columns of the population a reviewer edits; the last three are theirs to fill in. The
/// first names the campaign, so a signed decision file counts for that campaign only.
pub const COLUMNS: &[&str] = &[
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

/// A campaign as published (`campaign.json`): the population it froze and where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Campaign {
    pub version: u32,
    pub id: String,
    pub cluster: String,
    /// The pack the population was taken from, and its manifest's SHA-256 (the population is
    /// traceable to signed evidence and complete as of that pack).
    pub pack_id: String,
    pub pack_path: String,
    pub manifest_sha256: String,
    pub created_at: DateTime<Utc>,
    pub due: NaiveDate,
    /// Days after a decision within which a revocation must be carried out.
    pub remediation_days: u32,
    /// The reviewers' keys, as an OpenSSH allowed-signers file (principal = reviewer).
    pub allowed_signers: String,
    pub rows: Vec<Row>,
}

/// One subject and one grant to keep or revoke.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Row {
    /// Stable across campaigns: a digest of subject, access, binding and role.
    pub id: String,
    pub subject: SubjectRef,
    /// What the grant gives: a capability of the access matrix, or "all rules of the role".
    pub access: String,
    pub scope: String,
    pub binding: String,
    pub role: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_processor: Option<String>,
    pub reviewer: String,
}

impl Row {
    pub fn make_id(subject: &SubjectRef, access: &str, binding: &str, role: &str) -> String {
        let digest =
            crate::digest::sha256_hex(format!("{subject}\n{access}\n{binding}\n{role}").as_bytes());
        format!("R-{}", &digest[..12])
    }
}

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

/// The population as the CSV a reviewer edits in a spreadsheet.
pub fn population_csv(campaign: &Campaign) -> Vec<u8> {
    let mut w = crate::csv_out::writer(Vec::new());
    crate::csv_out::record(&mut w, COLUMNS);
    for r in &campaign.rows {
        crate::csv_out::record(
            &mut w,
            [
                campaign.id.as_str(),
                r.id.as_str(),
                &r.subject.to_string(),
                &r.access,
                &r.scope,
                &r.binding,
                &r.role,
                r.sub_processor.as_deref().unwrap_or(""),
                &r.reviewer,
                "",
                "",
                "",
            ],
        );
    }
    w.into_inner().expect("writing to memory")
}

/// Reads a decision file against its campaign for `reviewer` (the principal whose key signed
/// it): every row of theirs decided once, nothing added or changed, nobody deciding on their own
/// access. Every problem at once, as `origin:line`.
pub fn parse_decisions(
    text: &str,
    origin: &str,
    campaign: &Campaign,
    reviewer: &str,
) -> Result<Vec<Decision>, Diagnostics> {
    let mut diags = Diagnostics::new();
    let rows: BTreeMap<&str, &Row> = campaign.rows.iter().map(|r| (r.id.as_str(), r)).collect();
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
    if header != COLUMNS {
        diags.push(
            origin,
            Some(crate::diag::Pos { line: 1, col: 1 }),
            format!(
                "the header must be the campaign's: {} (found: {})",
                COLUMNS.join(","),
                header.join(",")
            ),
        );
        return Err(diags);
    }
    let mut out = Vec::new();
    let mut seen: BTreeMap<String, u64> = BTreeMap::new();
    let mut foreign: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    let mut other_campaigns: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    let mut rows_read = 0usize;
    let mut lines_of: BTreeMap<String, u64> = BTreeMap::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map(|p| p.line() as u32 + 1);
                diags.push(
                    origin,
                    line.map(|line| crate::diag::Pos { line, col: 1 }),
                    format!("not a CSV row: {e}"),
                );
                continue;
            }
        };
        // The csv crate counts the line terminators before a record: the record's own line in a
        // text editor is one more.
        let line = record.position().map_or(0, |p| p.line()) + 1;
        let at = Some(crate::diag::Pos {
            line: line as u32,
            col: 1,
        });
        let cell = |i: usize| record.get(i).unwrap_or("").trim().to_string();
        let id = cell(1);
        rows_read += 1;
        if cell(0) != campaign.id {
            // A signed file decides for the campaign it names, never for a later one: said once
            // per campaign named, below.
            other_campaigns.entry(cell(0)).or_default().push(line);
            continue;
        }
        let Some(row) = rows.get(id.as_str()) else {
            diags.push(
                origin,
                at,
                format!(
                    "row `{id}` is not in campaign {}: rows cannot be added",
                    campaign.id
                ),
            );
            continue;
        };
        if let Some(first) = seen.insert(id.clone(), line) {
            diags.push(
                origin,
                at,
                format!("row {id} is decided twice (first at line {first})"),
            );
            continue;
        }
        let as_frozen = [
            row.subject.to_string(),
            row.access.clone(),
            row.scope.clone(),
            row.binding.clone(),
            row.role.clone(),
            row.sub_processor.clone().unwrap_or_default(),
            row.reviewer.clone(),
        ];
        for (i, want) in as_frozen.iter().enumerate() {
            if cell(i + 2) != *want {
                diags.push(
                    origin,
                    at,
                    format!(
                        "row {id}: `{}` is `{}` in the file but `{want}` in the campaign; only decision, keep and reason are the reviewer's to fill in",
                        COLUMNS[i + 2],
                        cell(i + 2)
                    ),
                );
            }
        }
        if !same_identity(&row.reviewer, reviewer) {
            // One message per assigned reviewer below, not one per row.
            foreign.entry(row.reviewer.clone()).or_default().push(line);
        }
        if is_own_access(&row.subject, reviewer) {
            diags.push(
                origin,
                at,
                format!("row {id} is {reviewer}'s own access: nobody reviews their own access"),
            );
        }
        if let Some(d) = decision_of(&id, &cell(9), cell(10), cell(11), at, origin, &mut diags) {
            lines_of.insert(id.clone(), line);
            out.push(d);
        }
    }
    contradictions(&out, &rows, &lines_of, origin, &mut diags);
    for (named, lines) in &other_campaigns {
        let shown: Vec<String> = lines.iter().take(10).map(u64::to_string).collect();
        diags.push(
            origin,
            Some(crate::diag::Pos {
                line: lines[0] as u32,
                col: 1,
            }),
            format!(
                "{} row(s) (lines {}{}) were decided for campaign `{named}`, not for campaign {}: decisions are made for one campaign and never carried to another",
                lines.len(),
                shown.join(", "),
                if lines.len() > shown.len() { ", ..." } else { "" },
                campaign.id
            ),
        );
    }
    // A file made for another campaign altogether is that, not a file missing every row.
    if rows_read > 0 && other_campaigns.values().map(Vec::len).sum::<usize>() == rows_read {
        return Err(diags);
    }
    for (assigned, lines) in &foreign {
        let shown: Vec<String> = lines.iter().take(10).map(u64::to_string).collect();
        diags.push(
            origin,
            Some(crate::diag::Pos {
                line: lines[0] as u32,
                col: 1,
            }),
            format!(
                "{} row(s) (lines {}{}) are assigned to {assigned}, not to {reviewer} who signed this file",
                lines.len(),
                shown.join(", "),
                if lines.len() > shown.len() { ", ..." } else { "" }
            ),
        );
    }
    let mine: BTreeSet<&str> = campaign
        .rows
        .iter()
        .filter(|r| same_identity(&r.reviewer, reviewer))
        .map(|r| r.id.as_str())
        .collect();
    let missing: Vec<&str> = mine
        .iter()
        .filter(|id| !seen.contains_key(**id))
        .copied()
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
                        " and {} more (population.csv lists them)",
                        missing.len() - shown.len()
                    )
                } else {
                    String::new()
                }
            ),
        );
    }
    diags.into_result(out)
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

    fn campaign() -> Campaign {
        let row = |subject: SubjectRef, reviewer: &str| {
            let mut r = Row {
                id: String::new(),
                subject,
                access: "read Secrets".into(),
                scope: "cluster-wide".into(),
                binding: "ClusterRoleBinding b".into(),
                role: "ClusterRole r".into(),
                sub_processor: None,
                reviewer: reviewer.into(),
            };
            r.id = Row::make_id(&r.subject, &r.access, &r.binding, &r.role);
            r
        };
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
                    "alice@example.com",
                ),
                row(
                    SubjectRef::service_account("ci", "deployer"),
                    "alice@example.com",
                ),
            ],
        }
    }

    fn filled(c: &Campaign, decisions: &[(&str, &str, &str)]) -> String {
        let mut text = String::from_utf8(population_csv(c)).unwrap();
        for (i, (verdict, keep, reason)) in decisions.iter().enumerate() {
            let id = &c.rows[i].id;
            let line = text
                .lines()
                .find(|l| l.contains(id.as_str()))
                .unwrap()
                .to_string();
            let done = format!(
                "{}{verdict},{keep},{reason}",
                line.trim_end_matches(",,,").to_string() + ","
            );
            text = text.replace(&line, &done);
        }
        text
    }

    #[test]
    fn keeping_and_revoking_rows_of_one_binding_for_one_subject_is_refused() {
        let mut c = campaign();
        // Two capabilities bob holds through the same binding.
        let mut second = c.rows[0].clone();
        second.access = "exec into pods".into();
        second.id = Row::make_id(
            &second.subject,
            &second.access,
            &second.binding,
            &second.role,
        );
        c.rows[1] = second;
        let text = filled(&c, &[("keep", "", "on call"), ("revoke", "", "not needed")]);
        let err = parse_decisions(&text, "d.csv", &c, "alice@example.com")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("keeps the same binding") && err.contains("`reduce`"),
            "{err}"
        );
        // The same verdict for both, or a reduction, is a decision.
        let text = filled(&c, &[("revoke", "", "left"), ("revoke", "", "left")]);
        assert!(parse_decisions(&text, "d.csv", &c, "alice@example.com").is_ok());
        let text = filled(
            &c,
            &[
                ("keep", "", "on call"),
                ("reduce", "read Secrets", "no exec"),
            ],
        );
        assert!(parse_decisions(&text, "d.csv", &c, "alice@example.com").is_ok());
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
        let d = parse_decisions(&text, "d.csv", &c, "alice@example.com").unwrap();
        assert_eq!(d.len(), 2);
        assert_eq!(d[1].verdict, Verdict::Reduce);
    }

    #[test]
    fn problems_are_reported_at_once_by_line() {
        let c = campaign();
        let mut text = filled(&c, &[("maybe", "", ""), ("reduce", "", "x")]);
        text.push_str("c1,R-000000000000,User:x,a,b,c,d,,alice@example.com,keep,,r\n");
        let err = parse_decisions(&text, "d.csv", &c, "alice@example.com")
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
    }

    #[test]
    fn a_decision_file_of_another_campaign_does_not_count_here() {
        let c = campaign();
        let text = filled(&c, &[("keep", "", "ok"), ("keep", "", "ok")]);
        let mut later = c.clone();
        later.id = "c2".into();
        let err = parse_decisions(&text, "d.csv", &later, "alice@example.com")
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
        assert!(parse_decisions(&text, "d.csv", &c, "Alice@Example.COM").is_ok());
    }

    #[test]
    fn the_wrong_reviewer_and_ones_own_access_are_refused() {
        let c = campaign();
        let text = filled(&c, &[("keep", "", "ok"), ("keep", "", "ok")]);
        let err = parse_decisions(&text, "d.csv", &c, "bob@example.com")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(
                "2 row(s) (lines 2, 3) are assigned to alice@example.com, not to bob@example.com"
            ),
            "{err}"
        );
        assert!(err.contains("bob@example.com's own access"), "{err}");
    }
}
