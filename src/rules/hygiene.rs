//! Rules about RBAC objects themselves (bindings to missing roles or ServiceAccounts, legacy
//! tokens, aggregation labels, drift, malformed role references).

use super::RuleId;
use super::grants::{
    any_verb, execs, impersonates, node_proxy, reads_secrets, writes_rbac, writes_webhooks,
    writes_workloads,
};
use super::{RuleContext, new_finding};
use crate::finding::Finding;
use crate::rbac::SubjectRef;
use crate::rbac::index::{BindingEntry, ObjectRef, Unresolved};
use crate::rbac::matching::allows;
use crate::snapshot::{CollectionStatus, PolicyRule, ResourceKind};
use std::collections::{BTreeMap, BTreeSet};

const AGGREGATE_LABELS: &[(&str, &str)] = &[
    ("rbac.authorization.k8s.io/aggregate-to-admin", "admin"),
    ("rbac.authorization.k8s.io/aggregate-to-edit", "edit"),
    ("rbac.authorization.k8s.io/aggregate-to-view", "view"),
];

pub fn evaluate(ctx: &RuleContext<'_>) -> Vec<Finding> {
    let mut out = broken_bindings(ctx);
    out.extend(incomplete_collection(ctx));
    out.extend(legacy_tokens(ctx));
    out.extend(aggregation_labels(ctx));
    out.extend(aggregation_drift(ctx));
    out
}

/// KE-RBAC-028 for bindings whose roleRef kind cannot be referenced; KE-RBAC-022 and
/// KE-RBAC-023 for bindings to a missing role or ServiceAccount, one finding per missing object
/// however many bindings repeat it.
fn broken_bindings(ctx: &RuleContext<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    let index = ctx.index;
    let sa_known = ctx
        .snapshot
        .collector
        .status_of(ResourceKind::ServiceAccount)
        == CollectionStatus::Complete;

    // Bindings to a missing role, per missing role; bindings to a missing ServiceAccount, per
    // missing ServiceAccount: one cause, one finding, however many bindings repeat it.
    let mut missing_roles: BTreeMap<ObjectRef, Vec<&BindingEntry>> = BTreeMap::new();
    let mut missing_accounts: BTreeMap<SubjectRef, Vec<&BindingEntry>> = BTreeMap::new();
    for b in &index.bindings {
        let object = (*b.object()).clone();
        match &b.role {
            Err(Unresolved::MissingRole) => missing_roles
                .entry(ObjectRef::new(
                    &b.role_ref.kind,
                    b.namespace.as_deref().filter(|_| b.role_ref.kind == "Role"),
                    &b.role_ref.name,
                ))
                .or_default()
                .push(b),
            Err(Unresolved::UnsupportedKind) => {
                let mut f = new_finding(
                    RuleId::Rbac028,
                    &object.to_string(),
                    format!(
                        "{object} has roleRef kind `{}`, which a {} cannot reference; it grants nothing",
                        b.role_ref.kind, object.kind
                    ),
                );
                f.objects = vec![object.clone()];
                f.subjects = b.resolved.iter().flatten().cloned().collect();
                f.namespaces = b.namespace.iter().cloned().collect();
                out.push(f);
            }
            Ok(_) => {}
        }
        if sa_known {
            for s in b.resolved.iter().flatten() {
                if let SubjectRef::ServiceAccount { namespace, name } = s
                    && !index
                        .service_accounts
                        .contains(&(namespace.clone(), name.clone()))
                {
                    missing_accounts.entry(s.clone()).or_default().push(b);
                }
            }
        }
    }
    for (role, bindings) in missing_roles {
        out.push(missing_role(&role, &bindings));
    }
    for (account, bindings) in missing_accounts {
        out.push(missing_account(&account, &bindings));
    }
    out
}

/// KE-COL-001: each required kind not collected completely.
fn incomplete_collection(ctx: &RuleContext<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for (kind, c) in ctx.snapshot.collector.incomplete_kinds() {
        let object = ObjectRef::new("ResourceKind", None, kind.name());
        let mut f = new_finding(
            RuleId::Col001,
            kind.name(),
            format!(
                "{kind} was not collected completely ({}{})",
                c.status.as_str(),
                c.message
                    .as_ref()
                    .map(|m| format!(": {m}"))
                    .unwrap_or_default()
            ),
        );
        f.objects = vec![object];
        out.push(f);
    }
    out
}

/// KE-RBAC-024: legacy ServiceAccount token Secrets, which never expire.
fn legacy_tokens(ctx: &RuleContext<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for t in &ctx.snapshot.token_secrets {
        let object = ObjectRef::new("Secret", t.metadata.namespace.as_deref(), &t.metadata.name);
        let sa = SubjectRef::service_account(t.metadata.ns(), &t.service_account);
        let mut f = new_finding(
            RuleId::Rbac024,
            &object.to_string(),
            format!("{object} holds a non-expiring token for {sa}"),
        );
        f.objects = vec![object];
        f.subjects = vec![sa];
        f.namespaces = vec![t.metadata.ns().to_string()];
        out.push(f);
    }
    out
}

/// KE-RBAC-025: a ClusterRole that adds sensitive rules to admin, edit or view through an
/// aggregation label.
fn aggregation_labels(ctx: &RuleContext<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for cr in &ctx.snapshot.cluster_roles {
        if crate::rbac::bootstrap::is_policy_aggregating_role(&cr.metadata) {
            continue;
        }
        for (label, target) in AGGREGATE_LABELS {
            if cr.metadata.labels.get(*label).map(String::as_str) != Some("true") {
                continue;
            }
            let sensitive: Vec<&PolicyRule> = cr
                .rules
                .iter()
                .filter(|r| sensitive_for(r, target))
                .collect();
            if sensitive.is_empty() {
                continue;
            }
            let object = ObjectRef::new("ClusterRole", None, &cr.metadata.name);
            let mut f = new_finding(
                RuleId::Rbac025,
                &format!("{object}\n{target}"),
                format!(
                    "{object} carries {label}=true and so adds {} sensitive rule(s) to ClusterRole {target} and everyone bound to it",
                    sensitive.len()
                ),
            );
            f.objects = vec![object, ObjectRef::new("ClusterRole", None, target)];
            f.subjects = bound_to(ctx, target);
            out.push(f);
        }
    }
    out
}

/// KE-RBAC-027: aggregated ClusterRoles whose stored rules differ from their aggregation.
fn aggregation_drift(ctx: &RuleContext<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    let index = ctx.index;
    for d in ctx.aggregation_drift {
        let object = ObjectRef::new("ClusterRole", None, &d.cluster_role);
        let mut f = new_finding(
            RuleId::Rbac027,
            &object.to_string(),
            format!(
                "{object}: {} computed rule(s) missing from the stored rules, {} stored rule(s) not produced by aggregation; the computed rules are used",
                d.missing_from_stored.len(),
                d.not_from_aggregation.len()
            ),
        );
        f.system = index
            .cluster_role(&d.cluster_role)
            .is_some_and(|_| ["admin", "edit", "view"].contains(&d.cluster_role.as_str()));
        f.objects = vec![object];
        out.push(f);
    }
    out
}

/// Names up to five bindings, and how many more.
fn name_bindings(bindings: &[&BindingEntry]) -> String {
    let mut names: Vec<String> = bindings
        .iter()
        .take(5)
        .map(|b| b.object.to_string())
        .collect();
    if bindings.len() > 5 {
        names.push(format!("and {} more", bindings.len() - 5));
    }
    names.join(", ")
}

/// KE-RBAC-022: the bindings that reference one role that does not exist.
fn missing_role(role: &ObjectRef, bindings: &[&BindingEntry]) -> Finding {
    let mut f = new_finding(
        RuleId::Rbac022,
        &role.to_string(),
        format!(
            "{} binding(s) reference {role}, which does not exist: {}",
            bindings.len(),
            name_bindings(bindings)
        ),
    );
    f.cause = Some(role.to_string());
    f.objects = std::iter::once(role.clone())
        .chain(bindings.iter().map(|b| (*b.object).clone()))
        .collect();
    let subjects: BTreeSet<SubjectRef> = bindings
        .iter()
        .flat_map(|b| b.resolved.iter().flatten().cloned())
        .collect();
    f.subjects = subjects.into_iter().collect();
    let namespaces: BTreeSet<String> = bindings
        .iter()
        .filter_map(|b| b.namespace.clone())
        .collect();
    f.namespaces = namespaces.into_iter().collect();
    f.system = bindings.iter().all(|b| b.bootstrap);
    f
}

/// KE-RBAC-023: the bindings that name one ServiceAccount that does not exist.
fn missing_account(account: &SubjectRef, bindings: &[&BindingEntry]) -> Finding {
    let mut f = new_finding(
        RuleId::Rbac023,
        &account.key(),
        format!(
            "{} binding(s) name {account}, which does not exist: {}",
            bindings.len(),
            name_bindings(bindings)
        ),
    );
    f.cause = Some(account.to_string());
    f.objects = bindings.iter().map(|b| (*b.object).clone()).collect();
    f.subjects = vec![account.clone()];
    f.namespaces = account
        .namespace()
        .into_iter()
        .map(str::to_string)
        .collect();
    f.system = bindings.iter().all(|b| b.bootstrap);
    f
}

/// Rules that should not reach the built-in role `target` through an aggregation label: `view`
/// must stay read-only without Secrets; `edit` and `admin` must not gain cluster-level powers.
fn sensitive_for(rule: &PolicyRule, target: &str) -> bool {
    let cluster_powers = cluster_rbac_power(rule)
        || impersonates(rule, true)
        || node_proxy(rule, true)
        || writes_webhooks(rule, true)
        || rule.api_groups.iter().any(|g| g == "*")
        || allows(rule, "create", "", "persistentvolumes", "").is_some()
        || allows(
            rule,
            "update",
            "certificates.k8s.io",
            "certificatesigningrequests",
            "approval",
        )
        .is_some();
    match target {
        "view" => {
            cluster_powers
                || reads_secrets(rule)
                || execs(rule)
                || writes_workloads(rule)
                || writes_rbac(rule, false)
        }
        _ => cluster_powers,
    }
}

/// Writes to ClusterRoles or ClusterRoleBindings, or bind/escalate anywhere (admin legitimately
/// writes the Roles and RoleBindings of its namespace).
fn cluster_rbac_power(rule: &PolicyRule) -> bool {
    const RBAC: &str = "rbac.authorization.k8s.io";
    ["clusterroles", "clusterrolebindings"]
        .iter()
        .any(|r| any_verb(rule, &["create", "update", "patch", "delete"], RBAC, r, ""))
        || ["roles", "clusterroles"]
            .iter()
            .any(|r| any_verb(rule, &["bind", "escalate"], RBAC, r, ""))
}

fn bound_to(ctx: &RuleContext<'_>, role: &str) -> Vec<SubjectRef> {
    let mut out: BTreeSet<SubjectRef> = BTreeSet::new();
    for b in &ctx.index.bindings {
        if b.role_ref.kind == "ClusterRole" && b.role_ref.name == role && b.role.is_ok() {
            out.extend(b.resolved.iter().flatten().cloned());
        }
    }
    out.into_iter().collect()
}
