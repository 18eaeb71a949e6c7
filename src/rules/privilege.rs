//! KE-RBAC-001 (cluster-admin held directly) and KE-RBAC-026 (reached by escalation), both read
//! from the privilege table, so the findings say exactly what the access matrix, the register
//! and `access --reach` say.

use super::system::is_system_subject;
use super::{RuleContext, new_finding};
use crate::finding::Finding;
use crate::rbac::privilege::AdminReach;
use std::collections::BTreeSet;

pub fn evaluate(ctx: &RuleContext<'_>) -> Vec<Finding> {
    let bootstrap: BTreeSet<_> = ctx
        .index
        .bindings
        .iter()
        .filter(|b| b.bootstrap)
        .map(|b| b.object.clone())
        .collect();
    let mut out = Vec::new();
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
                let mut f = new_finding("KE-RBAC-001", &subject.key(), format!("{subject} {what}"));
                f.system = is_system_subject(subject)
                    || (!grants.is_empty()
                        && grants.iter().all(|g| bootstrap.contains(&g.binding)));
                f.subjects = vec![subject.clone()];
                f.grants = grants.clone();
                out.push(f);
            }
            AdminReach::Escalation { steps, path } => {
                let first = &path[0];
                let mut f = new_finding(
                    "KE-RBAC-026",
                    &subject.key(),
                    format!(
                        "{subject} reaches cluster-admin in {steps} step(s); first: {}",
                        first.action
                    ),
                );
                f.system = is_system_subject(subject);
                let mut namespaces = BTreeSet::new();
                for step in path {
                    if let Some(g) = &step.grant {
                        if let Some(ns) = &g.namespace {
                            namespaces.insert(ns.to_string());
                        }
                        f.grants.push(g.clone());
                    }
                }
                f.namespaces = namespaces.into_iter().collect();
                f.subjects = vec![subject.clone()];
                f.path = path.clone();
                out.push(f);
            }
        }
    }
    out
}
