//! Control definitions, their evaluation and the exceptions register.

use crate::common;
use kube_evidence::rules::RuleId;

use chrono::{DateTime, NaiveDate};
use kube_evidence::analysis::{AssessmentInput, PreviousPackInfo, assess};
use kube_evidence::controls::{
    ControlStatus, Controls, ControlsError, RuleRole, load::parse_files, load_dir,
};
use kube_evidence::exceptions::{self, ExceptionState};
use kube_evidence::rules::CATALOG;
use kube_evidence::snapshot::{CollectionStatus, ResourceKind, Snapshot};
use kube_evidence::source::dump::read_dump;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 20).unwrap()
}

#[test]
fn the_shipped_definitions_validate_and_cover_every_rule_once_per_framework() {
    let c = load_dir(&common::repo().join("controls")).unwrap();
    assert_eq!(
        c,
        Controls::builtin(),
        "the embedded copy is the repository's"
    );
    let frameworks: Vec<&str> = c.sets.iter().map(|s| s.framework.id.as_str()).collect();
    assert_eq!(frameworks, vec!["iso27001", "soc2"]);
    for set in &c.sets {
        for rule in CATALOG {
            let primaries: Vec<&str> = set
                .controls
                .iter()
                .filter(|ctl| {
                    ctl.rules
                        .iter()
                        .any(|r| r.id == rule.id && r.role == RuleRole::Primary)
                })
                .map(|ctl| ctl.id.as_str())
                .collect();
            assert_eq!(
                primaries.len(),
                1,
                "{} in {}: {primaries:?}",
                rule.id,
                set.framework.id
            );
        }
    }
    let ids = |f: &str| -> Vec<String> {
        c.sets
            .iter()
            .find(|s| s.framework.id == f)
            .unwrap()
            .controls
            .iter()
            .map(|x| x.id.clone())
            .collect()
    };
    for want in [
        "CC3.2", "CC3.4", "CC4.1", "CC6.1", "CC6.2", "CC6.3", "CC6.6", "CC6.7", "CC6.8", "CC7.1",
        "CC7.2", "CC8.1", "CC9.2",
    ] {
        assert!(ids("soc2").contains(&want.to_string()), "{want}");
    }
    for want in [
        "A.5.9", "A.5.15", "A.5.16", "A.5.17", "A.5.18", "A.5.19", "A.5.20", "A.5.21", "A.5.22",
        "A.5.23", "A.5.28", "A.5.33", "A.8.2", "A.8.3", "A.8.5", "A.8.9", "A.8.15", "A.8.16",
        "A.8.18", "A.8.19", "A.8.24", "A.8.32",
    ] {
        assert!(ids("iso27001").contains(&want.to_string()), "{want}");
    }
}

fn invalid(files: &[(&str, &str)]) -> String {
    let files: Vec<(String, String)> = files
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    match parse_files(&files) {
        Err(ControlsError::Invalid(d)) => d.to_string(),
        other => panic!("expected diagnostics, got {other:?}"),
    }
}

#[test]
fn validation_errors_name_file_and_line() {
    let e = invalid(&[(
        "mine.yaml",
        "apiVersion: kube-evidence.io/v1\nkind: ControlSet\nframework: {id: mine, name: Mine, coverage: complete}\ncontrols:\n- id: P-1\n  framework: mine\n  title: t\n  summary: s\n  rules:\n  - {id: KE-RBAC-999, role: primary}\n  - {id: KE-RBAC-001, role: main}\n  evidence: [snapshot, gossip]\n- id: P-1\n  framework: other\n  title: t\n  rules: []\n  evidence: []\n",
    )]);
    for want in [
        "mine.yaml:10:10: unknown rule `KE-RBAC-999` (did you mean `KE-RBAC-009`?)",
        "mine.yaml:11:29: `role`: unknown value `main`",
        "unknown evidence `gossip`",
        "mine.yaml:13:7: duplicate control id `P-1` (first at line 5)",
        "control framework `other` differs from the file's framework `mine`",
        "mine.yaml:13:3: `controls[]`: missing required key `summary`",
        "mine.yaml:3:1: rule KE-RBAC-002 maps to no control in framework mine",
    ] {
        assert!(e.contains(want), "missing {want:?} in\n{e}");
    }
    let soc2 = std::fs::read_to_string(common::repo().join("controls/soc2.yaml")).unwrap();
    let e = invalid(&[("a.yaml", &soc2), ("b.yaml", &soc2)]);
    assert!(
        e.contains("b.yaml:") && e.contains("framework `soc2` is already defined in a.yaml"),
        "{e}"
    );
    let twice = soc2.replacen(
        "{id: KE-RBAC-001, role: related}",
        "{id: KE-RBAC-001, role: primary}",
        1,
    );
    let e = invalid(&[("soc2.yaml", &twice)]);
    assert!(e.contains("rule KE-RBAC-001 is primary in both"), "{e}");
}

#[test]
fn a_user_framework_directory_works() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("policy.yaml"),
        "apiVersion: kube-evidence.io/v1\nkind: ControlSet\nframework: {id: acme-policy, name: ACME cluster policy, coverage: partial}\ncontrols:\n- id: ACME-1\n  framework: acme-policy\n  title: No vendor holds cluster-admin\n  summary: Vendors get scoped roles.\n  rules: [{id: KE-RBAC-001, role: primary}]\n  evidence: [access-matrix]\n- id: ACME-2\n  framework: acme-policy\n  title: Quarterly access review\n  summary: People review access every quarter.\n  rules: []\n  evidence: []\n  manual: Attach the signed quarterly review.\n",
    )
    .unwrap();
    let c = load_dir(dir.path()).unwrap();
    let a = assess_samples(&c, &[], |_| {});
    let one = a.controls.iter().find(|r| r.id == "ACME-1").unwrap();
    assert_eq!(one.status, ControlStatus::NotSatisfied);
    let two = a.controls.iter().find(|r| r.id == "ACME-2").unwrap();
    assert_eq!(two.status, ControlStatus::ManualEvidenceRequired);
    // through the binary too
    let r = common::run(
        &[
            "controls",
            "list",
            "--controls",
            dir.path().to_str().unwrap(),
        ],
        &[],
        &common::repo(),
    );
    r.assert_ok();
    assert!(r.stdout.contains("ACME-2"));
    let r = common::run(
        &["controls", "validate", dir.path().to_str().unwrap()],
        &[],
        &common::repo(),
    );
    r.assert_ok();
}

fn sample_snapshot() -> Snapshot {
    let mut s = read_dump(
        &common::samples().join("cluster"),
        "sample",
        DateTime::parse_from_rfc3339("2026-11-20T02:00:00Z")
            .unwrap()
            .into(),
        "t".into(),
    )
    .unwrap();
    s.inventory = Some(
        kube_evidence::inventory::load_file(&common::samples().join("inventory.yaml"), today())
            .unwrap(),
    );
    s
}

fn assess_samples(
    controls: &Controls,
    exceptions: &[exceptions::Exception],
    tweak: impl FnOnce(&mut Snapshot),
) -> kube_evidence::analysis::Assessment {
    let mut s = sample_snapshot();
    tweak(&mut s);
    // The same cluster a day earlier: no changes, a complete series.
    let previous = PreviousPackInfo {
        pack_id: "previous".into(),
        collected_at: s.taken_at - chrono::Duration::hours(24),
        snapshot: s.clone(),
        findings: Vec::new(),
        controls: Vec::new(),
        register: Vec::new(),
        usage: None,
        reviews: None,
        image_history: None,
    };
    assess(&AssessmentInput {
        snapshot: &s,
        pack_id: None,
        controls,
        exceptions,
        previous: Some(&previous),
        schedule_interval_hours: 24,
        image_max_age_days: 180,
        usage: None,
        reviews: None,
        retention: kube_evidence::controls::Retention::not_published(),
    })
}

fn status(
    a: &kube_evidence::analysis::Assessment,
    framework: &str,
    id: &str,
) -> (ControlStatus, String) {
    let r = a
        .controls
        .iter()
        .find(|r| r.framework == framework && r.id == id)
        .unwrap();
    (r.status, r.reason.clone())
}

#[test]
fn every_status_is_reachable_and_decided_correctly() {
    let controls = Controls::builtin();
    let a = assess_samples(&controls, &[], |_| {});
    // not-satisfied, with the deciding findings
    let cc92 = a.controls.iter().find(|r| r.id == "CC9.2").unwrap();
    assert_eq!(cc92.status, ControlStatus::NotSatisfied);
    assert!(
        cc92.deciding_findings
            .iter()
            .any(|f| f.starts_with("KE-SUB-001"))
    );
    // satisfied: no open finding of its rules on complete data, nothing to attach by hand
    let custom = framework(
        "- id: BROKEN-REFS\n  framework: t\n  title: No forged role references\n  summary: None.\n  rules: [{id: KE-RBAC-028, role: primary}]\n  evidence: [snapshot]\n",
    );
    let (st, reason) = status(&assess_samples(&custom, &[], |_| {}), "t", "BROKEN-REFS");
    assert_eq!(st, ControlStatus::Satisfied, "{reason}");
    assert!(
        reason.contains("no open finding of KE-RBAC-028 on completely collected data"),
        "{reason}"
    );
    // not-assessed: a control that needs the previous pack, on the baseline
    let mut s = sample_snapshot();
    s.canonicalize();
    let baseline = assess(&AssessmentInput {
        snapshot: &s,
        pack_id: None,
        controls: &controls,
        exceptions: &[],
        previous: None,
        schedule_interval_hours: 24,
        image_max_age_days: 180,
        usage: None,
        reviews: None,
        retention: kube_evidence::controls::Retention::not_published(),
    });
    let (st, reason) = status(&baseline, "iso27001", "A.8.32");
    assert_eq!(st, ControlStatus::NotAssessed, "{reason}");
    assert!(reason.contains("no previous pack"), "{reason}");
    // not-assessed on a snapshot with a forbidden kind
    let a = assess_samples(&controls, &[], |s| {
        let k = s
            .collector
            .kinds
            .get_mut(ResourceKind::Secret.name())
            .unwrap();
        k.status = CollectionStatus::Forbidden;
        k.message = Some("secrets is forbidden".into());
        s.token_secrets.clear();
    });
    let (st, reason) = status(&a, "iso27001", "A.5.17");
    assert_ne!(st, ControlStatus::Satisfied);
    // 5.17's other primary rule (KE-RBAC-009) still has findings: not-satisfied; remove them via a
    // framework of its own to see not-assessed alone
    let _ = reason;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("t.yaml"), "apiVersion: kube-evidence.io/v1\nkind: ControlSet\nframework: {id: t, name: T}\ncontrols:\n- id: TOKENS\n  framework: t\n  title: Legacy tokens\n  summary: None.\n  rules: [{id: KE-RBAC-024, role: primary}]\n  evidence: [snapshot]\n- id: AUDIT\n  framework: t\n  title: Audit logging\n  summary: Needs the audit log.\n  rules: []\n  evidence: [audit-log]\n  requires: [audit-log]\n").unwrap();
    let custom = load_dir(dir.path()).unwrap();
    let a = assess_samples(&custom, &[], |s| {
        let k = s
            .collector
            .kinds
            .get_mut(ResourceKind::Secret.name())
            .unwrap();
        k.status = CollectionStatus::Forbidden;
        s.token_secrets.clear();
    });
    let (st, reason) = status(&a, "t", "TOKENS");
    assert_eq!(st, ControlStatus::NotAssessed);
    assert!(reason.contains("KE-RBAC-024: Secret forbidden"), "{reason}");
    let (st, reason) = status(&a, "t", "AUDIT");
    assert_eq!(
        st,
        ControlStatus::NotAssessed,
        "a requirement that was not met wins over manual"
    );
    assert!(
        reason.contains("no Kubernetes audit log was analysed"),
        "{reason}"
    );
    assert!(
        a.analysis
            .findings
            .iter()
            .any(|f| f.rule_id == RuleId::Col001),
        "the gap is itself a finding"
    );
    let a = assess_samples(&custom, &[], |_| {});
    assert_eq!(
        status(&a, "t", "TOKENS").0,
        ControlStatus::NotSatisfied,
        "with Secrets collected the legacy token is found"
    );
}

fn exceptions_text(body: &str) -> String {
    format!("apiVersion: kube-evidence.io/v1\nkind: ExceptionList\nexceptions:\n{body}")
}

#[test]
fn exceptions_apply_expire_and_go_stale() {
    let text = exceptions_text(
        "- {id: E1, rule: KE-RBAC-001, subject: \"ServiceAccount:velero/velero\", reason: r, approver: a, ticket: T-1, created: 2026-01-01, expires: 2026-11-20}\n\
         - {id: E2, rule: KE-RBAC-018, namespace: kube-public, reason: r, approver: a, ticket: T-2, created: 2026-01-01, expires: 2026-11-19}\n\
         - {id: E3, rule: KE-RBAC-021, subject: \"ServiceAccount:web/default\", reason: r, approver: a, ticket: T-3, created: 2026-01-01, expires: 2027-01-01}\n\
         - {id: E4, rule: KE-SUB-005, subProcessor: external-dns, reason: r, approver: a, ticket: T-4, created: 2026-01-01, expires: 2027-01-01}\n\
         - {id: E5, rule: KE-RBAC-022, object: \"Role web/web-operator\", reason: r, approver: a, ticket: T-5, created: 2026-01-01, expires: 2027-01-01}\n\
         - {id: E6, rule: KE-RBAC-022, object: \"RoleBinding web/web-ops\", reason: r, approver: a, ticket: T-6, created: 2026-01-01, expires: 2027-01-01}\n",
    );
    let list = exceptions::parse(&text, "exc.yaml", today()).unwrap();
    let a = assess_samples(&Controls::builtin(), &list, |_| {});
    let state = |id: &str| a.exceptions.iter().find(|o| o.exception.id == id).unwrap();
    assert_eq!(
        state("E1").state,
        ExceptionState::InForce,
        "in force through its expiry date"
    );
    let velero = a
        .analysis
        .findings
        .iter()
        .find(|f| state("E1").findings.contains(&f.id))
        .unwrap();
    assert!(!velero.is_open());
    assert_eq!(velero.exception.as_ref().unwrap().ticket, "T-1");
    assert_eq!(state("E2").state, ExceptionState::Expired);
    assert!(
        a.analysis
            .findings
            .iter()
            .any(|f| f.rule_id == RuleId::Exc001 && f.summary.contains("E2"))
    );
    let anon = a
        .analysis
        .findings
        .iter()
        .find(|f| f.rule_id == RuleId::Rbac018 && f.namespaces == vec!["kube-public"])
        .unwrap();
    assert!(anon.is_open(), "an expired exception stops applying");
    assert_eq!(state("E3").state, ExceptionState::Stale);
    assert!(
        a.analysis
            .findings
            .iter()
            .any(|f| f.rule_id == RuleId::Exc002 && f.summary.contains("E3"))
    );
    assert_eq!(state("E4").state, ExceptionState::InForce);
    // A finding is about its cause (the missing role); one of the bindings that repeat it is
    // only part of it.
    assert_eq!(state("E5").state, ExceptionState::InForce);
    assert_eq!(state("E6").state, ExceptionState::Partial);
    // an accepted finding does not fail its control
    let only_velero = exceptions_text(
        "- {id: E, rule: KE-RBAC-022, object: \"Role web/web-operator\", reason: r, approver: a, ticket: T, created: 2026-01-01, expires: 2027-01-01}\n- {id: F, rule: KE-RBAC-023, subject: \"ServiceAccount:checkout/legacy-deployer\", reason: r, approver: a, ticket: T, created: 2026-01-01, expires: 2027-01-01}\n",
    );
    let list = exceptions::parse(&only_velero, "exc.yaml", today()).unwrap();
    let stale_bindings = framework(
        "- id: STALE\n  framework: t\n  title: Stale bindings removed\n  summary: None.\n  rules: [{id: KE-RBAC-022, role: primary}, {id: KE-RBAC-023, role: primary}]\n  evidence: [snapshot]\n",
    );
    let before = assess_samples(&stale_bindings, &[], |_| {});
    let after = assess_samples(&stale_bindings, &list, |_| {});
    assert_eq!(status(&before, "t", "STALE").0, ControlStatus::NotSatisfied);
    let (st, reason) = status(&after, "t", "STALE");
    assert_eq!(st, ControlStatus::Satisfied, "{reason}");
    assert!(
        reason.contains("2 finding(s) of deciding rules accepted by exception(s) E, F"),
        "{reason}"
    );
}

/// A one-file framework `t` made of the given controls.
fn framework(controls: &str) -> Controls {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("t.yaml"),
        format!("apiVersion: kube-evidence.io/v1\nkind: ControlSet\nframework: {{id: t, name: T}}\ncontrols:\n{controls}"),
    )
    .unwrap();
    load_dir(dir.path()).unwrap()
}

#[test]
fn exception_validation_errors() {
    let text = exceptions_text(
        "- {id: E1, rule: KE-NOPE-001, subject: \"ServiceAccount:x\", reason: r, approver: a, ticket: T, created: 2026-12-01, expires: 2026-11-01}\n\
         - {id: E1, rule: KE-RBAC-001, subject: \"User:a\", namespace: x, reason: r, approver: a, ticket: T, created: 2026-01-01, expires: 2026-13-01}\n\
         - {id: E3, rule: KE-RBAC-001, reason: r, ticket: T, created: 2026-01-01, expires: 2027-01-01, colour: red}\n",
    );
    let e = exceptions::parse(&text, "exc.yaml", today())
        .unwrap_err()
        .to_string();
    for want in [
        "exc.yaml:4:18: unknown rule `KE-NOPE-001`",
        "exc.yaml:4:40: `subject`: `ServiceAccount:x`: a ServiceAccount is written ServiceAccount:NAMESPACE/NAME",
        "`created` 2026-12-01 is in the future",
        "`expires` 2026-11-01 is not after `created` 2026-12-01",
        "exc.yaml:5:8: duplicate exception id `E1`",
        "covers exactly one of `subject`, `object`, `namespace` or `subProcessor`",
        "`expires`: `2026-13-01` is not a valid date",
        "missing required key `approver`",
        "unknown key `colour`",
    ] {
        assert!(e.contains(want), "missing {want:?} in\n{e}");
    }
    let r = common::run(
        &["exceptions", "validate", "samples/exceptions.yaml"],
        &[("KUBE_EVIDENCE_NOW", "2026-11-20T00:00:00Z")],
        &common::repo(),
    );
    r.assert_ok();
}

#[test]
fn controls_show_reports_status_and_findings() {
    let r = common::run(
        &[
            "controls",
            "show",
            "CC9.2",
            "--source",
            "samples/cluster",
            "--inventory",
            "samples/inventory.yaml",
            "--format",
            "json",
        ],
        &[
            ("KUBE_EVIDENCE_NOW", "2026-11-20T02:00:00Z"),
            ("KUBE_EVIDENCE_LOG_LEVEL", "warn"),
        ],
        &common::repo(),
    );
    r.assert_ok();
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v[0]["definition"]["id"], "CC9.2");
    assert_eq!(v[0]["result"]["status"], "not-satisfied");
    let unknown = common::run(&["controls", "show", "CC99.9"], &[], &common::repo());
    assert_eq!(unknown.code, 2);
}
