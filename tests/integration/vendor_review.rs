//! `vendor review`: real upstream manifests from the corpus reviewed against the sample cluster,
//! checked against what `who-can` answers for the same manifests, with the exit code a pipeline
//! blocks on, the draft entry that must validate, and reports that are never overwritten.

use crate::common;
use std::path::Path;

fn ke(args: &[&str]) -> common::Run {
    common::run(
        args,
        &[("KUBE_EVIDENCE_NOW", "2026-11-20T02:00:00Z")],
        &common::repo(),
    )
}

fn review(manifests: &Path, ns: &str, out: &Path, more: &[&str]) -> common::Run {
    let mut args = vec![
        "vendor",
        "review",
        "--manifests",
        manifests.to_str().unwrap(),
        "--namespace",
        ns,
        "--source",
        "samples/cluster",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(more);
    ke(&args)
}

#[test]
fn a_real_chart_is_reviewed_as_who_can_sees_it_and_blocks_at_its_severity() {
    let Some(corpus) = common::corpus_or_skip(
        "vendor_review::a_real_chart_is_reviewed_as_who_can_sees_it_and_blocks_at_its_severity",
    ) else {
        return;
    };
    let ksm = corpus.join("kube-state-metrics/examples/standard");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r1");
    let r = review(&ksm, "monitoring", &out, &["--fail-on", "high"]);
    assert_eq!(r.code, 3, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .contains("Reads Secrets: ServiceAccount:kube-system/kube-state-metrics"),
        "{}",
        r.stdout
    );
    // who-can, on the same manifests, names the same identity for reading Secrets, through the
    // bindings the report lists.
    let who = ke(&[
        "who-can",
        "list",
        "secrets",
        "--source",
        ksm.to_str().unwrap(),
        "--default-namespace",
        "monitoring",
    ]);
    who.assert_ok();
    assert!(
        who.stdout
            .contains("ServiceAccount:kube-system/kube-state-metrics"),
        "{}",
        who.stdout
    );
    let html = std::fs::read_to_string(out.join("vendor-review-monitoring.html")).unwrap();
    for line in who
        .stdout
        .lines()
        .filter(|l| l.contains("ServiceAccount:kube-system/kube-state-metrics"))
    {
        let binding = line
            .split_whitespace()
            .skip_while(|w| *w != "ClusterRoleBinding" && *w != "RoleBinding")
            .nth(1)
            .unwrap();
        assert!(html.contains(binding), "{binding} not in the report");
    }
    // Nor can it create pods: who-can and the report agree there too.
    let create = ke(&[
        "who-can",
        "create",
        "pods",
        "-n",
        "monitoring",
        "--source",
        ksm.to_str().unwrap(),
        "--default-namespace",
        "monitoring",
    ]);
    assert!(
        !create.stdout.contains("kube-state-metrics"),
        "{}",
        create.stdout
    );
    assert!(!html.contains("create pods"));
    assert!(
        std::fs::metadata(out.join("vendor-review-monitoring.pdf"))
            .unwrap()
            .len()
            > 1000
    );

    // The draft entry validates, with the observed access as the access to approve.
    let draft = out.join("draft-entry-monitoring.yaml");
    ke(&["inventory", "validate", draft.to_str().unwrap()]).assert_ok();
    let text = std::fs::read_to_string(&draft).unwrap();
    assert!(
        text.contains("\"kube-system/kube-state-metrics\""),
        "{text}"
    );
    assert!(text.contains("level: cluster-wide-write"), "{text}");

    // Below the threshold: exit 0. The same --out again: refused, nothing replaced.
    let out2 = dir.path().join("r2");
    review(&ksm, "monitoring", &out2, &["--fail-on", "critical"]).assert_ok();
    let before = std::fs::read(out.join("vendor-review-monitoring.pdf")).unwrap();
    let again = review(&ksm, "monitoring", &out, &[]);
    assert_eq!(again.code, 2, "{}", again.stderr);
    assert!(
        again.stderr.contains("never overwrites"),
        "{}",
        again.stderr
    );
    assert_eq!(
        std::fs::read(out.join("vendor-review-monitoring.pdf")).unwrap(),
        before
    );
}

#[test]
fn existing_subjects_that_gain_through_aggregation_are_named() {
    let Some(corpus) = common::corpus_or_skip(
        "vendor_review::existing_subjects_that_gain_through_aggregation_are_named",
    ) else {
        return;
    };
    // metrics-server's ClusterRole carries the aggregate-to-admin/edit/view labels: everyone
    // bound to those roles in the sample gains its rules.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r");
    let ms = corpus.join("metrics-server/manifests/base");
    review(&ms, "kube-system", &out, &[]).assert_ok();
    let html = std::fs::read_to_string(out.join("vendor-review-kube-system.html")).unwrap();
    assert!(html.contains("system:aggregated-metrics-reader"), "{html}");
    for role in ["admin", "edit", "view"] {
        let row = format!("<tr><td>{role}</td><td>system:aggregated-metrics-reader</td>");
        assert!(html.contains(&row), "{row} missing");
    }
    // The sample binds `view` to its auditors' group cluster-wide: they gain metrics reads.
    assert!(
        html.contains("<tr><td>view</td><td>system:aggregated-metrics-reader</td><td>Group:oidc:auditors (ClusterRoleBinding oidc:auditors-view)"),
        "{html}"
    );
    assert!(html.contains("v1beta1.metrics.k8s.io"));
}

#[test]
fn manifests_with_problems_are_refused_with_their_position() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("m");
    std::fs::create_dir_all(&m).unwrap();
    std::fs::write(
        m.join("bad.yaml"),
        "kind: ClusterRole\nmetadata: {name: x}\nrules:\n- verbs: get\n",
    )
    .unwrap();
    let r = review(&m, "acme", &dir.path().join("out"), &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("bad.yaml:4:"), "{}", r.stderr);
    assert!(!dir.path().join("out").exists());
    let bad_ns = review(&m, "Not_A_Namespace", &dir.path().join("out"), &[]);
    assert_eq!(bad_ns.code, 2, "{}", bad_ns.stderr);
}

/// Issue 30: a review covers every subject the manifests bind, not only ServiceAccounts, and
/// every object of the cluster they would overwrite, Kubernetes' own above all.
#[test]
fn users_groups_and_replaced_built_ins_are_reviewed() {
    let dir = tempfile::tempdir().unwrap();
    let manifests = dir.path().join("chart");
    std::fs::create_dir_all(&manifests).unwrap();
    std::fs::write(
        manifests.join("user.yaml"),
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: vendor-support\n  namespace: acme\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: admin\nsubjects:\n- apiGroup: rbac.authorization.k8s.io\n  kind: User\n  name: support@acme.example\n- apiGroup: rbac.authorization.k8s.io\n  kind: Group\n  name: acme:engineers\n",
    )
    .unwrap();
    let out = dir.path().join("r-user");
    let r = review(&manifests, "acme", &out, &["--fail-on", "high"]);
    assert_eq!(r.code, 3, "{}\n{}", r.stdout, r.stderr);
    let html = std::fs::read_to_string(out.join("vendor-review-acme.html")).unwrap();
    assert!(
        html.contains("User:support@acme.example"),
        "the user is reviewed"
    );
    assert!(
        html.contains("Group:acme:engineers"),
        "the group is reviewed"
    );
    assert!(
        !r.stdout.contains("Overall access: read-only"),
        "admin in a namespace is not read-only: {}",
        r.stdout
    );

    // A chart that rewrites the built-in cluster-admin.
    let replacing = dir.path().join("replacing");
    std::fs::create_dir_all(&replacing).unwrap();
    std::fs::write(
        replacing.join("role.yaml"),
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: cluster-admin\nrules:\n- apiGroups: ['']\n  resources: [pods]\n  verbs: [get]\n",
    )
    .unwrap();
    let out = dir.path().join("r-replacing");
    let r = review(&replacing, "acme", &out, &["--fail-on", "high"]);
    assert_eq!(r.code, 3, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("1 object(s) of the cluster overwritten (1 of them Kubernetes built-ins); the highest severity is critical"),
        "{}",
        r.stdout
    );
    let html = std::fs::read_to_string(out.join("vendor-review-acme.html")).unwrap();
    assert!(
        html.contains("ClusterRole cluster-admin"),
        "the replaced object is named"
    );
    assert!(html.contains("Objects of the cluster it would overwrite"));
}
