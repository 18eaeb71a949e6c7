//! The sub-processor register.

use super::*;
use crate::inventory::RegisterRow;
use crate::report::bounds;
use serde::Serialize;
use std::collections::BTreeMap;

/// A row of the sub-processor register as the reports show it: the register's row with its
/// lists capped, links to its findings, and the findings in counts per rule.
#[derive(Debug, Clone, Serialize)]
pub struct RegisterView {
    #[serde(flatten)]
    pub row: RegisterRow,
    /// Its findings, the first [`bounds::LIST`] as links.
    pub links: Vec<Link>,
    /// All its findings by rule (`KE-SUB-009 ×2`).
    pub rule_counts: String,
}

pub(super) fn register_views(rows: &[RegisterRow]) -> (Vec<RegisterView>, String) {
    let list = |v: &[String]| {
        bounded_to(
            bounds::REGISTER_LIST,
            bounds::register_text,
            v.iter().cloned(),
            v.len(),
            "items",
            crate::files::SUBPROCESSORS_CSV,
        )
    };
    let (shown, left) = bounds::take(
        rows.iter().map(|r| {
            let mut links: Vec<Link> = r
                .findings
                .iter()
                .map(|id| Link {
                    label: id.clone(),
                    anchor: id.clone(),
                })
                .collect();
            cap_links(&mut links, bounds::REGISTER_LIST);
            let mut row = r.clone();
            row.identities_found = list(&r.identities_found);
            row.identities_missing = list(&r.identities_missing);
            row.certifications = list(&r.certifications);
            row.data_categories = list(&r.data_categories);
            row.data_residency = list(&r.data_residency);
            for text in [
                &mut row.name,
                &mut row.vendor,
                &mut row.owner,
                &mut row.purpose,
                &mut row.contract,
                &mut row.review,
                &mut row.updates,
            ] {
                // The register's columns are narrow.
                *text = bounds::register_text(text);
            }
            row.findings = Vec::new();
            RegisterView {
                rule_counts: bounds::register_text(&rule_counts(&r.findings)),
                links,
                row,
            }
        }),
        bounds::TABLE_ROWS,
    );
    let note = bounds::more_note(
        shown.len(),
        left,
        "sub-processors",
        crate::files::SUBPROCESSORS_CSV,
    );
    (shown, note)
}

/// Findings by rule (`KE-SUB-009 ×2`), not by their hash-like ids (findings.json has those).
pub fn rule_counts(finding_ids: &[String]) -> String {
    let mut by_rule: BTreeMap<&str, usize> = BTreeMap::new();
    for id in finding_ids {
        // `KE-SUB-009-df006e41a8`: the rule id is all but the last part.
        let rule = id.rsplit_once('-').map_or(id.as_str(), |(rule, _)| rule);
        *by_rule.entry(rule).or_default() += 1;
    }
    by_rule
        .into_iter()
        .map(|(rule, n)| {
            if n == 1 {
                rule.to_string()
            } else {
                format!("{rule} ×{n}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}
