//! KE-RBAC-001 (cluster-admin held directly, per subject) and KE-RBAC-026 (reached by
//! escalation, per identity the paths go through), both read from the privilege table, so the
//! findings say exactly what the access matrix, the register and `access --reach` say.

use super::RuleId;
use super::system::is_system_subject;
use super::{RuleContext, new_finding};
use crate::finding::Finding;
use crate::rbac::SubjectRef;
use crate::rbac::privilege::AdminReach;
use crate::rbac::reach::PathStep;
use std::collections::{BTreeMap, BTreeSet};

/// The identity that takes the last step into cluster-admin on a path: every subject whose
/// shortest path ends through it is one cause, and one finding.
pub fn pivot(path: &[PathStep]) -> String {
    path.last().map(|s| s.from.clone()).unwrap_or_default()
}

/// KE-RBAC-026 for every subject whose escalation goes through `through`, shortest path first.
fn escalation(through: &str, system: bool, members: &[(&SubjectRef, &Vec<PathStep>)]) -> Finding {
    let (first, path) = members[0];
    let last = path.last().map(|s| s.action.as_str()).unwrap_or_default();
    let summary = if members.len() == 1 && first.to_string() == through {
        format!(
            "{first} reaches cluster-admin in {} step(s): {last}",
            path.len()
        )
    } else {
        format!(
            "{} subject(s) reach cluster-admin through {through} ({last}); shortest: {first} in {} step(s), first: {}",
            members.len(),
            path.len(),
            path[0].action
        )
    };
    let key = if system {
        format!("{through}\nsystem components")
    } else {
        through.to_string()
    };
    let mut f = new_finding(RuleId::Rbac026, &key, summary);
    f.cause = Some(through.to_string());
    f.system = system;
    let mut namespaces = BTreeSet::new();
    let mut grants = BTreeSet::new();
    for (_, p) in members {
        // The grant of each subject's first step is the one to remove to break its path.
        if let Some(g) = p.first().and_then(|s| s.grant.clone()) {
            grants.insert(g);
        }
        for step in p.iter() {
            if let Some(ns) = step.grant.as_ref().and_then(|g| g.namespace.as_ref()) {
                namespaces.insert(ns.to_string());
            }
        }
    }
    f.grants = grants.into_iter().collect();
    f.namespaces = namespaces.into_iter().collect();
    f.subjects = members.iter().map(|(s, _)| (*s).clone()).collect();
    f.path = path.clone();
    f
}

pub fn evaluate(ctx: &RuleContext<'_>) -> Vec<Finding> {
    let bootstrap: BTreeSet<_> = ctx
        .index
        .bindings
        .iter()
        .filter(|b| b.bootstrap)
        .map(|b| b.object.clone())
        .collect();
    let mut out = Vec::new();
    // Grouped by the identity the paths go through, system components apart from the rest.
    type Members<'a> = Vec<(&'a SubjectRef, &'a Vec<PathStep>)>;
    let mut escalations: BTreeMap<(String, bool), Members<'_>> = BTreeMap::new();
    for (subject, reach) in ctx.privilege.iter() {
        let how = reach.describe_for(subject);
        match reach {
            AdminReach::Direct {
                bypasses_rbac,
                grants,
            } => {
                let what = if *bypasses_rbac {
                    "is in system:masters, which bypasses RBAC".to_string()
                } else {
                    format!("holds all verbs on all resources cluster-wide ({how})")
                };
                let mut f =
                    new_finding(RuleId::Rbac001, &subject.key(), format!("{subject} {what}"));
                f.system = is_system_subject(subject)
                    || (!grants.is_empty()
                        && grants.iter().all(|g| bootstrap.contains(&g.binding)));
                f.subjects = vec![subject.clone()];
                f.grants = grants.clone().into();
                out.push(f);
            }
            AdminReach::Escalation { path, .. } => {
                escalations
                    .entry((pivot(path), is_system_subject(subject)))
                    .or_default()
                    .push((subject, path));
            }
        }
    }
    for ((through, system), mut members) in escalations {
        members.sort_by(|a, b| (a.1.len(), a.0).cmp(&(b.1.len(), b.0)));
        out.push(escalation(&through, system, &members));
    }
    out
}
