//! The population a campaign freezes, from the same analysis the pack's access matrix comes
//! from: one row per non-system subject, privileged capability and binding, and one per binding
//! of every grant a sub-processor's identities hold; each with the reviewer it is assigned to.

use super::model::Row;
use super::reviewers::ReviewerMap;
use crate::rbac::index::RbacIndex;
use crate::rbac::{Identity, SubjectRef};
use crate::rules::grants::Holding;
use crate::rules::rule;
use crate::rules::system::is_system_subject;
use crate::snapshot::inventory::Inventory;
use std::collections::{BTreeMap, BTreeSet};

/// What the population is made from (the analysis of the pack's snapshot).
pub struct PopulationInput<'a> {
    pub index: &'a RbacIndex,
    pub holdings: &'a [Holding],
    /// Subject -> the sub-processor it belongs to.
    pub owners: &'a BTreeMap<SubjectRef, String>,
    pub inventory: Option<&'a Inventory>,
    /// Also one row per binding of every non-system subject, privileged or not.
    pub every_binding: bool,
}

/// The rows, sorted, without reviewers (see [`assign`]).
pub fn rows(input: &PopulationInput<'_>) -> Vec<Row> {
    let mut rows: BTreeSet<Row> = BTreeSet::new();
    let mut add =
        |subject: &SubjectRef, access: String, scope: String, binding: String, role: String| {
            rows.insert(Row {
                id: Row::make_id(subject, &access, &binding, &role),
                subject: subject.clone(),
                access,
                scope,
                binding,
                role,
                sub_processor: input.owners.get(subject).cloned(),
                reviewer: String::new(),
            });
        };
    for h in input.holdings {
        if h.system || is_system_subject(&h.subject) {
            continue;
        }
        let access = rule(h.rule_id).title.to_string();
        for (binding, _) in &h.grants {
            let b = &input.index.bindings[*binding];
            let Ok(role) = b.role else { continue };
            add(
                &h.subject,
                access.clone(),
                scope_of(b.namespace.as_deref()),
                b.object().to_string(),
                input.index.roles[role].object().to_string(),
            );
        }
    }
    if input.every_binding {
        for b in input.index.bindings.iter().filter(|b| !b.bootstrap) {
            let Ok(role) = b.role else { continue };
            let role = input.index.roles[role].object().to_string();
            for subject in b.resolved.iter().flatten() {
                if is_system_subject(subject) || !subject.is_own_grant_path() {
                    continue;
                }
                add(
                    subject,
                    format!("every rule of {role}"),
                    scope_of(b.namespace.as_deref()),
                    b.object().to_string(),
                    role.clone(),
                );
            }
        }
    }
    for subject in input.owners.keys() {
        if matches!(subject, SubjectRef::Group { .. }) {
            continue;
        }
        let mut bindings: BTreeSet<(String, String, String)> = BTreeSet::new();
        for g in input.index.own_grants(&Identity::of(subject, &[])) {
            bindings.insert((
                g.binding.to_string(),
                g.role.to_string(),
                scope_of(g.namespace.as_deref()),
            ));
        }
        for (binding, role, scope) in bindings {
            add(
                subject,
                format!("every rule of {role}"),
                scope,
                binding,
                role,
            );
        }
    }
    rows.into_iter().collect()
}

fn scope_of(namespace: Option<&str>) -> String {
    match namespace {
        Some(ns) => format!("namespace {ns}"),
        None => "cluster-wide".into(),
    }
}

/// Gives each row its reviewer: a sub-processor's owner from the inventory, else the first
/// matching entry of the reviewer map, else its default; never the subject itself when another
/// reviewer is possible.
pub fn assign(rows: &mut [Row], map: &ReviewerMap, inventory: Option<&Inventory>) {
    let owners: BTreeMap<&str, &str> = inventory
        .map(|inv| {
            inv.sub_processors
                .iter()
                .filter_map(|s| Some((s.id.as_str(), s.owner.as_deref()?)))
                .collect()
        })
        .unwrap_or_default();
    for row in rows.iter_mut() {
        let by_owner = row
            .sub_processor
            .as_deref()
            .and_then(|sp| owners.get(sp).copied())
            .filter(|o| !super::model::is_own_access(&row.subject, o));
        row.reviewer = match by_owner {
            Some(o) => o.to_string(),
            None => map.reviewer_for(row),
        };
    }
}
