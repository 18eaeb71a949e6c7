//! The dump source against files in every format kubectl writes, and the Secret-data guarantee.

use crate::common;

use chrono::DateTime;
use kube_evidence::snapshot::{CollectionStatus, ResourceKind, Snapshot, snapshot_to_json};
use kube_evidence::source::SourceError;
use kube_evidence::source::dump::read_dump;
use std::path::Path;

fn read(path: &Path) -> Result<Snapshot, SourceError> {
    read_dump(
        path,
        "test",
        DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
        "dump:test".into(),
    )
}

#[test]
fn every_format_in_one_tree() {
    let s = read(&common::repo().join("tests/fixtures/dumps")).unwrap();
    // multi-document YAML
    assert_eq!(s.namespaces.len(), 2);
    assert_eq!(
        s.cluster.id.as_deref(),
        Some("11111111-2222-3333-4444-555555555555")
    );
    let role = &s.cluster_roles[0];
    assert_eq!(role.metadata.name, "reader");
    assert_eq!(
        role.rules[0].verbs,
        vec!["get", "list"],
        "sets inside rules are sorted"
    );
    // a ServiceAccount subject without a namespace is kept exactly as written
    let rb = &s.role_bindings[0];
    assert!(
        rb.subjects
            .iter()
            .any(|sub| sub.kind == "ServiceAccount" && sub.namespace.is_none())
    );
    // kind: List
    assert_eq!(s.service_accounts.len(), 1);
    // a typed list whose items carry no kind
    assert_eq!(
        s.cluster_role_bindings[0].metadata.name,
        "readers-everywhere"
    );
    // a single JSON object: a pod attributed to the Deployment from the List
    let api = s.workloads.iter().find(|w| w.name == "api").unwrap();
    assert_eq!(api.kind, "Deployment");
    assert_eq!(api.pods, 1);
    assert_eq!(
        api.images,
        vec![
            "registry.example.com/api:1.0",
            "registry.example.com/migrate:1.0"
        ]
    );
    // a nested .yml file with a kind the snapshot does not use
    assert_eq!(
        s.collector
            .ignored_kinds
            .get("CustomResourceDefinition (apiextensions.k8s.io/v1)"),
        Some(&1)
    );
    // kinds never seen are marked, not silently complete
    assert_eq!(
        s.collector.status_of(ResourceKind::ApiService),
        CollectionStatus::NotCollected
    );
    assert_eq!(
        s.collector.status_of(ResourceKind::Secret),
        CollectionStatus::Complete
    );
    assert!(!s.collector.is_complete());
}

#[test]
fn secret_data_never_survives_a_read() {
    let s = read(&common::repo().join("tests/fixtures/dumps")).unwrap();
    let bytes = String::from_utf8(snapshot_to_json(&s)).unwrap();
    for secret in [
        "VE9LRU5fREFUQV9NVVNUX05PVF9MRUFL",
        "STRINGDATA_MUST_NOT_LEAK",
        "TEFBS0VEX0xBU1RfQVBQTElFRA==",
    ] {
        assert!(!bytes.contains(secret), "{secret} leaked into the snapshot");
    }
    assert_eq!(s.token_secrets.len(), 1);
    assert_eq!(s.token_secrets[0].service_account, "app");
    assert!(!bytes.contains("last-applied-configuration"));
}

#[test]
fn the_samples_secret_values_never_reach_the_snapshot() {
    let s = read(&common::samples().join("cluster")).unwrap();
    let bytes = String::from_utf8(snapshot_to_json(&s)).unwrap();
    // values of `data` in samples/cluster/80-secrets.yaml
    for value in [
        "czNjcjN0LWRiLXBhc3N3b3Jk",
        "YW5vdGhlci1zM2NyM3Q=",
        "JDJhJDEwJGZha2VoYXNo",
        "ZXlKaGJHY2lPaUpTVXpJMU5pSXNJbXRwWkNJNkltWmhhMlVpZlEuZmFrZS10b2tlbi1ib2R5",
    ] {
        assert!(!bytes.contains(value));
    }
    assert_eq!(s.token_secrets.len(), 1);
    assert!(
        s.collector.is_complete(),
        "{:?}",
        s.collector.incomplete_kinds()
    );
}

#[test]
fn bad_input_is_reported_with_file_document_and_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("a.yaml"),
        "kind: Role\nmetadata:\n  namespace: x\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("b.yaml"), "apiVersion: v1\nkind: [\n").unwrap();
    std::fs::write(dir.path().join("c.json"), "").unwrap();
    std::fs::write(
        dir.path().join("d.yaml"),
        "apiVersion: v1\nmetadata: {name: x}\n",
    )
    .unwrap();
    let Err(SourceError::Invalid(d)) = read(dir.path()) else {
        panic!("expected diagnostics")
    };
    let text = d.to_string();
    let a = dir.path().join("a.yaml").display().to_string();
    let c = dir.path().join("c.json").display().to_string();
    let d_ = dir.path().join("d.yaml").display().to_string();
    assert!(
        text.contains(&format!(
            "{a}:2:1: document 1: Role object has no `metadata.name`"
        )),
        "{text}"
    );
    assert!(
        text.contains("b.yaml:") && text.contains("YAML syntax error"),
        "{text}"
    );
    assert!(text.contains(&format!("{c}: the file is empty")), "{text}");
    assert!(
        text.contains(&format!("{d_}:1:1: document 1: object has no `kind`")),
        "{text}"
    );
    assert_eq!(d.len(), 4, "all problems at once:\n{text}");
}

#[test]
fn missing_paths_and_empty_directories() {
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        read(&dir.path().join("nope")),
        Err(SourceError::Io { .. })
    ));
    assert!(matches!(
        read(dir.path()),
        Err(SourceError::NoObjects { .. })
    ));
    // Another file in a dump directory is refused, not skipped.
    std::fs::write(dir.path().join("notes.txt"), "not a dump").unwrap();
    match read(dir.path()) {
        Err(SourceError::Invalid(d)) => assert!(
            d.iter()
                .any(|x| x.file.ends_with("notes.txt") && x.message.starts_with("not a dump file")),
            "{d}"
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_real_corpus_reads_cleanly() {
    // Upstream manifests (CRLF endings, v1beta1 RBAC, comments, webhooks, APIServices), one
    // project at a time.
    let mut roles = 0;
    let mut webhooks = 0;
    let mut apiservices = 0;
    let Some(corpus) = common::corpus_or_skip("the_real_corpus_reads_cleanly") else {
        return;
    };
    for project in std::fs::read_dir(corpus).unwrap() {
        let dir = project.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        match read(&dir) {
            Ok(s) => {
                roles += s.cluster_roles.len();
                webhooks += s.validating_webhook_configurations.len()
                    + s.mutating_webhook_configurations.len();
                apiservices += s.api_services.len();
            }
            // vault-k8s ships namespaced objects without a namespace (applied with `-n`): the
            // dump source refuses to guess one, and says so at each object.
            Err(SourceError::Invalid(d)) if dir.ends_with("vault-k8s") => {
                assert_eq!(d.len(), 3, "{d}");
                assert!(
                    d.iter()
                        .all(|x| x.message.contains("`metadata.namespace` is missing")),
                    "{d}"
                );
            }
            Err(e) => panic!("{}: {e}", dir.display()),
        }
    }
    assert!(roles > 80, "{roles}");
    assert!(webhooks >= 3, "{webhooks}");
    assert!(apiservices >= 2, "{apiservices}");
}

const VIEW: &str = "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: view\nrules:\n- apiGroups: ['']\n  resources: [pods]\n  verbs: [get]\n";

fn problems(result: Result<Snapshot, SourceError>) -> Vec<String> {
    match result {
        Err(SourceError::Invalid(d)) => d
            .iter()
            .map(|x| format!("{}: {}", x.file, x.message))
            .collect(),
        other => panic!("expected problems, got {other:?}"),
    }
}

#[test]
fn a_symbolic_link_in_a_dump_is_refused_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("10-roles.yaml"), VIEW).unwrap();
    // a link to the dump itself would count every object again
    std::os::unix::fs::symlink(".", dir.path().join("again")).unwrap();
    std::os::unix::fs::symlink("10-roles.yaml", dir.path().join("20-copy.yaml")).unwrap();
    let p = problems(read(dir.path()));
    assert_eq!(p.len(), 2, "{p:?}");
    assert!(
        p.iter()
            .all(|m| m.contains("a symbolic link: links are not followed")),
        "{p:?}"
    );
}

#[test]
fn dump_files_are_recognised_in_any_case_and_other_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("10-roles.yaml"), VIEW).unwrap();
    std::fs::write(
        dir.path().join("99-admin.YAML"),
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: sneaky-admin\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}\nsubjects:\n- {kind: User, apiGroup: rbac.authorization.k8s.io, name: mallory}\n",
    )
    .unwrap();
    let s = read(dir.path()).unwrap();
    assert_eq!(s.cluster_role_bindings.len(), 1, "the .YAML file is read");
    std::fs::write(dir.path().join("README.md"), "notes").unwrap();
    let p = problems(read(dir.path()));
    assert!(
        p.len() == 1 && p[0].contains("README.md: not a dump file"),
        "{p:?}"
    );
}

#[test]
fn hidden_entries_are_refused_and_only_git_is_passed_over() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("10-roles.yaml"), VIEW).unwrap();
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    std::fs::write(dir.path().join(".git/config"), "[core]").unwrap();
    assert!(
        read(dir.path()).is_ok(),
        "a .git directory is not part of the dump"
    );
    std::fs::write(
        dir.path().join(".admin.yaml"),
        VIEW.replace("view", "hidden"),
    )
    .unwrap();
    let p = problems(read(dir.path()));
    assert!(
        p.len() == 1 && p[0].contains(".admin.yaml: a hidden entry"),
        "{p:?}"
    );
}

#[test]
fn file_names_cannot_forge_diagnostic_lines() {
    let dir = tempfile::tempdir().unwrap();
    let forged = "a\nerror: all clear\u{202e}lmth.yaml";
    std::fs::write(dir.path().join(forged), "kind: [").unwrap();
    let err = read(dir.path()).unwrap_err().to_string();
    assert_eq!(err.lines().count(), 2, "{err}");
    assert!(
        err.contains("a\\u{a}error: all clear\\u{202e}lmth.yaml:"),
        "{err}"
    );
}

#[test]
fn an_object_defined_twice_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("10-view.yaml"), VIEW).unwrap();
    std::fs::write(
        dir.path().join("20-view-again.yaml"),
        VIEW.replace("verbs: [get]", "verbs: ['*']"),
    )
    .unwrap();
    let p = problems(read(dir.path()));
    assert!(
        p.iter()
            .any(|m| m.contains("ClusterRole view is defined more than once in the dump")),
        "{p:?}"
    );
}

#[test]
fn a_dump_without_rbac_publishes_no_pack() {
    let tmp = tempfile::tempdir().unwrap();
    let dump = tmp.path().join("dump");
    std::fs::create_dir(&dump).unwrap();
    std::fs::write(
        dump.join("ns.yaml"),
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: default\n",
    )
    .unwrap();
    let out = tmp.path().join("out");
    let r = common::run(
        &[
            "run",
            "--source",
            dump.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--unsigned",
            "--cluster-name",
            "c",
        ],
        &[],
        &common::repo(),
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("no ClusterRole or Role was read"),
        "{}",
        r.stderr
    );
    assert!(!out.join("c/latest.json").exists());
}
