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
    if std::env::args().nth(1).as_deref() == Some("pack") {
        let knobs = std::env::args().nth(2).unwrap_or_else(|| "messy".into());
        let namespaces = std::env::args()
            .nth(3)
            .map_or(5_000, |n| n.parse().expect("a number of namespaces"));
        return pack_pass(&knobs, namespaces);
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

/// The whole analysis and every pack file of a synthetic cluster of `namespaces` namespaces
/// written `tidy` or `messy` (`synthetic::Knobs`), with the target's proportions (10
/// RoleBindings and 4 ServiceAccounts a namespace, 2,000 ClusterRoles and 1,000
/// ClusterRoleBindings at 5,000 namespaces): the findings, each file's size, the PDF's pages.
fn pack_pass(knobs: &str, namespaces: usize) {
    use kube_evidence::analysis::{AssessmentInput, assess};
    use kube_evidence::controls::Controls;
    use kube_evidence::report::{FrameworkInfo, ReportInput};
    use kube_evidence::synthetic::Knobs;
    let shape = Shape {
        namespaces,
        role_bindings: namespaces * 10,
        service_accounts: namespaces * 4,
        cluster_roles: (namespaces * 2 / 5).max(50),
        cluster_role_bindings: (namespaces / 5).max(20),
        seed: 31,
        knobs: match knobs {
            "tidy" => Knobs::TIDY,
            "messy" => Knobs::MESSY,
            other => panic!("knobs are tidy or messy, not {other}"),
        },
    };
    let t = Instant::now();
    let snapshot = cluster(shape);
    println!(
        "generate ({knobs}, {namespaces} namespaces): {:?}",
        t.elapsed()
    );
    let t = Instant::now();
    let controls = Controls::builtin();
    let assessment = assess(&AssessmentInput::snapshot_alone(&snapshot, &controls, &[]));
    let f = &assessment.analysis.findings;
    let severe = |s: &str| f.iter().filter(|x| x.severity.to_string() == s).count();
    println!(
        "assess: {:?} ({} findings: {} critical, {} high)",
        t.elapsed(),
        f.len(),
        severe("critical"),
        severe("high")
    );
    let t = Instant::now();
    let input = ReportInput {
        snapshot_gz: kube_evidence::snapshot::snapshot_to_gzip(&snapshot),
        pack_id: "20260101T000000000Z-00000000",
        snapshot: &snapshot,
        assessment: &assessment,
        generated_at: snapshot.taken_at,
        signing_key_fingerprint: None,
        signer: None,
        controls_digest: controls.digest(),
        controls: &controls,
        previous_manifest_sha256: None,
        inputs: Vec::new(),
        frameworks: FrameworkInfo::of(&controls),
        history: Vec::new(),
        usage: None,
    };
    let files = kube_evidence::pack::content_files(&input);
    println!("render every file: {:?}", t.elapsed());
    for file in &files {
        let mut line = format!(
            "  {:<36} {:>10.2} MB",
            file.path,
            file.bytes.len() as f64 / 1e6
        );
        if file.path == "report.pdf" {
            let pages = lopdf::Document::load_mem(&file.bytes)
                .map(|d| d.get_pages().len())
                .unwrap_or(0);
            line.push_str(&format!(" ({pages} pages)"));
        }
        println!("{line}");
    }
    println!("peak memory: {:.0} MiB", peak_rss_mib());
}
