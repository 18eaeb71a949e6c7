//! One pass of the RBAC engine at the target scale, with wall-clock times and peak memory
//! (Linux VmHWM). Used by `benches/rbac_memory.sh`; build with --release.

use kube_evidence::rbac::index::RbacIndex;
use kube_evidence::rbac::privilege::PrivilegeTable;
use kube_evidence::rbac::reach::ReachGraph;
use kube_evidence::rbac::resources::resource_request;
use kube_evidence::rules::{RuleContext, evaluate};
use kube_evidence::synthetic::{Shape, cluster};
use std::time::Instant;

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn main() {
    if std::env::args().nth(1).as_deref() == Some("diff") {
        return diff_pass();
    }
    let t = Instant::now();
    let snapshot = cluster(Shape::TARGET);
    println!(
        "generate: {:?} ({} RoleBindings, {} ClusterRoles, {} ServiceAccounts, {} namespaces)",
        t.elapsed(),
        snapshot.role_bindings.len(),
        snapshot.cluster_roles.len(),
        snapshot.service_accounts.len(),
        snapshot.namespaces.len()
    );
    let t = Instant::now();
    let index = RbacIndex::build(&snapshot);
    println!(
        "build index: {:?} (peak so far {:.0} MiB)",
        t.elapsed(),
        peak_rss_mib()
    );
    let (request, _) = resource_request("get", "secrets", None, Some("ns-02500"), None);
    let t = Instant::now();
    let who = index.who_can(&request);
    println!("who-can: {:?} ({} subjects)", t.elapsed(), who.len());
    let t = Instant::now();
    let reach = ReachGraph::build(&index, &snapshot);
    println!(
        "  escalation graph: {:?} (peak so far {:.0} MiB)",
        t.elapsed(),
        peak_rss_mib()
    );
    let findings = evaluate(&RuleContext {
        snapshot: &snapshot,
        index: &index,
        privilege: &PrivilegeTable::compute(&index, &reach),
        reach: &reach,
    });
    let findings = findings.findings;
    println!(
        "all risk rules: {:?} ({} findings)",
        t.elapsed(),
        findings.len()
    );
    let mut per_rule = std::collections::BTreeMap::new();
    for f in &findings {
        *per_rule.entry(f.rule_id.as_str()).or_insert(0usize) += 1;
    }
    println!("  per rule: {per_rule:?}");
    println!("peak memory: {:.0} MiB", peak_rss_mib());
}

/// Two target-size snapshots differing in 1% of their RoleBindings.
fn diff_pass() {
    use kube_evidence::diff::{Side, compute};
    let old = cluster(Shape::TARGET);
    let new = kube_evidence::synthetic::perturb(&old, 10, 3);
    let t = Instant::now();
    let d = compute(
        &Side {
            snapshot: &old,
            findings: &[],
            controls: &[],
            pack_id: None,
        },
        &Side {
            snapshot: &new,
            findings: &[],
            controls: &[],
            pack_id: None,
        },
    );
    println!(
        "diff: {:?} ({} object changes, {} grant changes)",
        t.elapsed(),
        d.objects.len(),
        d.grants.len()
    );
    println!("peak memory: {:.0} MiB", peak_rss_mib());
}
