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
    let shape = match std::env::args().nth(1).as_deref() {
        Some("stages") => {
            let knobs = std::env::args().nth(2).unwrap_or_else(|| "messy".into());
            let namespaces = std::env::args()
                .nth(3)
                .map_or(5_000, |n| n.parse().expect("a number of namespaces"));
            proportional_shape(&knobs, namespaces)
        }
        _ => Shape::TARGET,
    };
    let t = Instant::now();
    let snapshot = cluster(shape);
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
        "  escalation graph: {:?} (peak so far {:.0} MiB; {:?} nodes and edges)",
        t.elapsed(),
        peak_rss_mib(),
        reach.size()
    );
    println!("    edges by move: {:?}", reach.edges_by_move());
    let t_privilege = Instant::now();
    let privilege = PrivilegeTable::compute(&index, &reach);
    println!(
        "  privilege table: {:?} (peak so far {:.0} MiB)",
        t_privilege.elapsed(),
        peak_rss_mib()
    );
    let t_rules = Instant::now();
    let aggregation_drift = index.aggregation_drift(&snapshot);
    let findings = evaluate(&RuleContext {
        snapshot: &snapshot,
        index: &index,
        privilege: &privilege,
        reach: &reach,
        aggregation_drift: &aggregation_drift,
    });
    println!(
        "  rules: {:?} (peak so far {:.0} MiB)",
        t_rules.elapsed(),
        peak_rss_mib()
    );
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
    let shape = proportional_shape(knobs, namespaces);
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
    let mut per_rule = std::collections::BTreeMap::new();
    for finding in f {
        *per_rule.entry(finding.rule_id.as_str()).or_insert(0usize) += 1;
    }
    println!("  per rule: {per_rule:?}");
    render_pass(&snapshot, &assessment, &controls);
}

/// The target's proportions at `namespaces` namespaces (10 RoleBindings and 4 ServiceAccounts a
/// namespace, 2,000 ClusterRoles and 1,000 ClusterRoleBindings at 5,000), written `tidy` or
/// `messy`.
fn proportional_shape(knobs: &str, namespaces: usize) -> Shape {
    use kube_evidence::synthetic::Knobs;
    Shape {
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
    }
}

/// Every pack file of one assessment, with each file's size and the PDF's pages.
fn render_pass(
    snapshot: &kube_evidence::snapshot::Snapshot,
    assessment: &kube_evidence::analysis::Assessment,
    controls: &kube_evidence::controls::Controls,
) {
    use kube_evidence::report::{FrameworkInfo, ReportInput};
    let t = Instant::now();
    let input = ReportInput {
        snapshot_gz: kube_evidence::snapshot::snapshot_to_gzip(snapshot),
        pack_id: "20260101T000000000Z-00000000",
        snapshot,
        assessment,
        generated_at: snapshot.taken_at,
        signing_key_fingerprint: None,
        signer: None,
        controls_digest: controls.digest(),
        controls,
        previous_manifest_sha256: None,
        inputs: Vec::new(),
        frameworks: FrameworkInfo::of(controls),
        history: Vec::new(),
        usage: None,
    };
    let files = kube_evidence::pack::content_files(&input);
    println!("render every file: {:?}", t.elapsed());
    // A directory to write the files into, to read them as a person would.
    let out_dir = std::env::var_os("SCALE_OUT").map(std::path::PathBuf::from);
    for file in &files {
        if let Some(dir) = &out_dir {
            std::fs::create_dir_all(dir).expect("SCALE_OUT is writable");
            std::fs::write(dir.join(&file.path), &file.bytes).expect("SCALE_OUT is writable");
        }
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
