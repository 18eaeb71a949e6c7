//! `who-can`, `access`, `can-i` and `rules list` through the real binary.

use crate::common;

use common::run;

fn q(args: &[&str]) -> common::Run {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--source", "samples/cluster"]);
    run(
        &all,
        &[("KUBE_EVIDENCE_LOG_LEVEL", "warn")],
        &common::repo(),
    )
}

#[test]
fn who_can_json_names_subjects_and_grants() {
    let r = q(&["who-can", "get", "secrets", "--format", "json"]);
    r.assert_ok();
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let items = v.as_array().unwrap();
    let velero = items
        .iter()
        .find(|i| i["subject"]["kind"] == "ServiceAccount" && i["subject"]["name"] == "velero")
        .unwrap();
    assert_eq!(velero["subject"]["namespace"], "velero");
    assert_eq!(velero["via"][0]["binding"]["kind"], "ClusterRoleBinding");
    assert_eq!(velero["via"][0]["role"]["name"], "cluster-admin");
    // cluster-wide: only ClusterRoleBindings count, so a namespace editor is absent
    assert!(
        !items
            .iter()
            .any(|i| i["subject"]["name"] == "oidc:team-payments")
    );
    let r = q(&[
        "who-can", "get", "secrets", "-n", "payments", "--format", "json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert!(
        v.as_array()
            .unwrap()
            .iter()
            .any(|i| i["subject"]["name"] == "oidc:team-payments")
    );
}

#[test]
fn who_can_all_namespaces_and_non_resource_urls() {
    let r = q(&[
        "who-can",
        "create",
        "pods/exec",
        "--all-namespaces",
        "--format",
        "json",
    ]);
    r.assert_ok();
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert!(
        v["payments"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["subject"]["name"] == "oidc:team-payments")
    );
    assert!(
        !v["web"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["subject"]["name"] == "oidc:team-payments")
    );
    let r = q(&["who-can", "get", "--non-resource-url", "/metrics"]);
    r.assert_ok();
    assert!(
        r.stdout.contains("ServiceAccount:datadog/datadog-agent"),
        "{}",
        r.stdout
    );
}

#[test]
fn can_i_answers_yes_or_no_with_exit_codes() {
    let yes = q(&[
        "can-i",
        "ServiceAccount:payments/default",
        "create",
        "pods",
        "-n",
        "payments",
    ]);
    assert_eq!(yes.code, 0);
    assert!(yes.stdout.starts_with("yes\n"));
    assert!(yes.stdout.contains("RoleBinding payments/default-edit"));
    let no = q(&[
        "can-i",
        "ServiceAccount:payments/default",
        "create",
        "pods",
        "-n",
        "web",
        "--quiet",
    ]);
    assert_eq!(no.code, 1);
    assert!(no.stdout.is_empty());
    let group = q(&[
        "can-i",
        "User:zoe@example.com",
        "get",
        "secrets",
        "-n",
        "payments",
        "--group",
        "oidc:team-payments",
        "-q",
    ]);
    assert_eq!(group.code, 0);
}

#[test]
fn access_lists_grants_by_scope_and_reach() {
    let r = q(&[
        "access",
        "ServiceAccount:datadog/datadog-agent",
        "--reach",
        "--format",
        "json",
    ]);
    r.assert_ok();
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert!(
        v["clusterWide"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["role"]["name"] == "datadog-agent")
    );
    assert_eq!(
        v["reach"]["clusterAdminPath"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()["to"],
        "cluster-admin"
    );
    let t = q(&["access", "Group:oidc:team-payments"]);
    t.assert_ok();
    assert!(t.stdout.contains("namespace payments"), "{}", t.stdout);
}

#[test]
fn bad_input_gives_clear_messages_and_exit_2() {
    let r = q(&["access", "alice"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("write User:NAME, Group:NAME or ServiceAccount:NAMESPACE/NAME"),
        "{}",
        r.stderr
    );
    let r = q(&["can-i", "ServiceAccount:nope", "get", "pods"]);
    assert_eq!(r.code, 2);
    let r = q(&["who-can"]);
    assert_eq!(r.code, 2, "missing verb");
    let r = run(&["who-can", "get", "pods"], &[], &common::repo());
    assert_eq!(r.code, 2, "no input");
    // an unknown namespace is answered, with a warning
    let r = q(&["who-can", "get", "pods", "-n", "no-such-namespace"]);
    assert_eq!(r.code, 0);
    assert!(
        r.stderr
            .contains("namespace no-such-namespace does not exist in the snapshot"),
        "{}",
        r.stderr
    );
}

#[test]
fn rules_list_prints_the_catalog() {
    let r = run(&["rules", "list", "--format", "json"], &[], &common::repo());
    r.assert_ok();
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let rules = v.as_array().unwrap();
    assert_eq!(rules.len(), kube_evidence::rules::CATALOG.len());
    let first = &rules[0];
    for field in [
        "id",
        "severity",
        "title",
        "rationale",
        "remediation",
        "requires",
    ] {
        assert!(first.get(field).is_some(), "{field}");
    }
    let t = run(&["rules", "list"], &[], &common::repo());
    assert!(t.stdout.contains("KE-RBAC-010") && t.stdout.contains("5.1.10"));
}

#[test]
fn a_saved_snapshot_answers_the_same() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("s.json.gz");
    run(
        &[
            "snapshot",
            "--source",
            "samples/cluster",
            "--output",
            file.to_str().unwrap(),
        ],
        &[],
        &common::repo(),
    )
    .assert_ok();
    let from_file = run(
        &[
            "who-can",
            "get",
            "secrets",
            "--format",
            "json",
            "--snapshot",
            file.to_str().unwrap(),
        ],
        &[],
        &common::repo(),
    );
    let from_dump = q(&["who-can", "get", "secrets", "--format", "json"]);
    assert_eq!(from_file.stdout, from_dump.stdout);
}

#[test]
fn output_cut_short_by_its_reader_ends_quietly() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    // As `kube-evidence who-can ... -A | head -1` does: read one line, close the pipe.
    let mut child = Command::new(common::bin())
        .args([
            "who-can",
            "get",
            "configmaps",
            "-A",
            "--source",
            "samples/cluster",
        ])
        .current_dir(common::repo())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.starts_with("NAMESPACE"), "{first}");
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{:?}: {stderr}", out.status);
    assert!(
        !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
        "{stderr}"
    );
}

#[test]
fn mistyped_verbs_resources_and_subjects_get_the_nearest_match() {
    let r = q(&["who-can", "lst", "secrets", "-n", "payments"]);
    assert_eq!(r.code, 0);
    assert!(
        r.stderr
            .contains("`lst` is not a verb of the Kubernetes API; did you mean `list`?"),
        "{}",
        r.stderr
    );
    for empty in ["", "get list"] {
        let r = q(&["who-can", empty, "pods"]);
        assert_eq!(r.code, 2, "{empty:?}: {}", r.stderr);
        assert!(
            r.stderr.contains("is not a verb: give one word"),
            "{}",
            r.stderr
        );
    }
    let r = q(&["who-can", "get", "secretz", "-n", "payments"]);
    assert!(r.stderr.contains("Did you mean `secrets`?"), "{}", r.stderr);
    let r = q(&[
        "can-i",
        "ServiceAccount:payments/defualt",
        "get",
        "secrets",
        "-n",
        "payments",
    ]);
    assert!(
        r.stderr.contains("ServiceAccount:payments/defualt is named by no binding and is no ServiceAccount of the snapshot; did you mean ServiceAccount:payments/default?"),
        "{}",
        r.stderr
    );
    let r = q(&[
        "can-i",
        "ServiceAccount:payments/default",
        "get",
        "secrets",
        "-n",
        "payments",
    ]);
    assert!(!r.stderr.contains("is named by no binding"), "{}", r.stderr);
}

#[test]
fn a_subject_name_longer_than_any_terminal_is_answered_not_a_panic() {
    // Anyone who may create a RoleBinding can name a User this long.
    let tmp = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(common::repo().join("samples/cluster")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), tmp.path().join(entry.file_name())).unwrap();
    }
    let long = "u".repeat(70_000);
    std::fs::write(
        tmp.path().join("90-long.yaml"),
        format!("apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: long\n  namespace: web\nroleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}}\nsubjects:\n- {{kind: User, apiGroup: rbac.authorization.k8s.io, name: {long}}}\n"),
    )
    .unwrap();
    let source = tmp.path().to_str().unwrap();
    for columns in [None, Some("120")] {
        let mut env = vec![("KUBE_EVIDENCE_LOG_LEVEL", "warn")];
        if let Some(c) = columns {
            env.push(("COLUMNS", c));
        }
        let r = run(
            &["who-can", "get", "pods", "-n", "web", "--source", source],
            &env,
            &common::repo(),
        );
        assert_eq!(r.code, 0, "{}", r.stderr);
        let name_chars: usize = r.stdout.matches('u').count();
        assert!(name_chars >= 70_000, "the whole name is printed");
        if columns.is_some() {
            assert!(r.stdout.lines().all(|l| l.chars().count() <= 120));
        }
    }
}
