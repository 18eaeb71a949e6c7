//! KE-RBAC-001 (cluster-admin held directly, per subject) and KE-RBAC-026 (reached by
//! escalation, per cause), both read from the privilege table, so the findings say exactly what
//! the access matrix, the register and `access --reach` say.
//!
//! A KE-RBAC-026 finding is about one binding: the one whose grant takes the first step of a way
//! to cluster-admin (what a remediation removes to close that way), with every subject that
//! enters through it as its population. A subject with several ways in is in several findings;
//! adding another way never changes an existing finding's id, and removing a binding closes its
//! finding and only it.

use super::RuleId;
use super::system::{bootstrap_excuses, is_system_subject};
use super::{RuleContext, new_finding};
use crate::finding::Finding;
use crate::rbac::SubjectRef;
use crate::rbac::index::{Grant, ObjectRef};
use crate::rbac::privilege::AdminReach;
use crate::rbac::reach::PathStep;
use std::collections::{BTreeMap, BTreeSet};

/// One way into cluster-admin: a subject, and its shortest path through the cause.
type Member<'a> = (&'a SubjectRef, Vec<PathStep>, Grant);

/// KE-RBAC-026 for every subject entering through `binding`, shortest path first.
fn escalation(binding: &ObjectRef, system: bool, members: &mut [Member<'_>]) -> Finding {
    members.sort_by(|a, b| (a.1.len(), a.0).cmp(&(b.1.len(), b.0)));
    let (first, path, grant) = &members[0];
    let cause = format!("{binding} -> {}", grant.role);
    let summary = if members.len() == 1 {
        format!(
            "{first} reaches cluster-admin in {} step(s) through {cause}: {}",
            path.len(),
            path[0].action
        )
    } else {
        format!(
            "{} subject(s) reach cluster-admin through {cause}; shortest: {first} in {} step(s), first: {}",
            members.len(),
            path.len(),
            path[0].action
        )
    };
    let key = if system {
        format!("{binding}\nsystem components")
    } else {
        binding.to_string()
    };
    let mut f = new_finding(RuleId::Rbac026, &key, summary);
    f.cause = Some(binding.to_string());
    f.system = system;
    let mut namespaces = BTreeSet::new();
    let mut grants = BTreeSet::new();
    for (_, p, g) in members.iter() {
        // The grant of each subject's first step through this binding: the one to remove.
        grants.insert(g.clone());
        for step in p.iter() {
            if let Some(ns) = step.grant.as_ref().and_then(|g| g.namespace.as_ref()) {
                namespaces.insert(ns.to_string());
            }
        }
    }
    f.grants = grants.into_iter().collect();
    f.namespaces = namespaces.into_iter().collect();
    f.subjects = members.iter().map(|(s, _, _)| (*s).clone()).collect();
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
    // Grouped by the binding each way in starts with, system components apart from the rest.
    let mut escalations: BTreeMap<(ObjectRef, bool), Vec<Member<'_>>> = BTreeMap::new();
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
                        && grants.iter().all(|g| bootstrap.contains(&g.binding))
                        && bootstrap_excuses(subject));
                f.subjects = vec![subject.clone()];
                f.grants = grants.clone().into();
                out.push(f);
            }
            AdminReach::Escalation { .. } => {
                for entry in ctx.reach.entries(ctx.index, subject) {
                    escalations
                        .entry(((*entry.grant.binding).clone(), is_system_subject(subject)))
                        .or_default()
                        .push((subject, entry.path, entry.grant));
                }
            }
        }
    }
    for ((binding, system), mut members) in escalations {
        out.push(escalation(&binding, system, &mut members));
    }
    out
}
