//! Statements a pack makes that must not mislead, each pinned as a class: what changed of a
//! sub-processor, the words of a finding split by an exception, sub-processors of a finding about
//! several vendors, the population per capability, rule positions as stored, counts that agree
//! with their lists, completeness, the role-grantor question, verify by manifest, exceptions
//! naming what does not exist, OSCAL remarks, and the diff's times.

use crate::common;
use kube_evidence::rules::RuleId;

use chrono::{DateTime, NaiveDate, Utc};
use kube_evidence::analysis::{Assessment, AssessmentInput, PreviousPackInfo, assess};
use kube_evidence::controls::Controls;
use kube_evidence::exceptions::{self, Exception};
use kube_evidence::finding::Severity;
use kube_evidence::rbac::SubjectRef;
use kube_evidence::snapshot::{
    ClusterRole, ClusterRoleBinding, ObjectMeta, PolicyRule, RoleBinding, RoleRef, Snapshot,
    Subject,
};
use kube_evidence::source::dump::read_dump;
use serde_json::Value;
use std::path::Path;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 20).unwrap()
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().into()
}

fn sample() -> Snapshot {
    let mut s = read_dump(
        &common::samples().join("cluster"),
        "sample",
        at("2026-11-20T02:00:00Z"),
        "t".into(),
    )
    .unwrap();
    s.inventory = Some(
        kube_evidence::inventory::load_file(&common::samples().join("inventory.yaml"), today())
            .unwrap(),
    );
    s
}

fn assess_with(
    s: &Snapshot,
    exceptions: &[Exception],
    previous: Option<&PreviousPackInfo>,
) -> Assessment {
    assess(&AssessmentInput {
        snapshot: s,
        pack_id: None,
        controls: &Controls::builtin(),
        exceptions,
        previous,
        schedule_interval_hours: 24,
        image_max_age_days: 180,
        usage: None,
        reviews: None,
        retention: kube_evidence::controls::Retention::not_published(),
    })
}

fn subject(kind: &str, name: &str, ns: Option<&str>) -> Subject {
    Subject {
        kind: kind.into(),
        name: name.into(),
        namespace: ns.map(Into::into),
        api_group: None,
    }
}

fn cluster_role(name: &str, rules: Vec<PolicyRule>) -> ClusterRole {
    ClusterRole {
        metadata: ObjectMeta::named(name),
        rules,
        aggregation_rule: None,
    }
}

fn crb(name: &str, role: &str, subjects: Vec<Subject>) -> ClusterRoleBinding {
    ClusterRoleBinding {
        metadata: ObjectMeta::named(name),
        role_ref: RoleRef {
            api_group: "rbac.authorization.k8s.io".into(),
            kind: "ClusterRole".into(),
            name: role.into(),
        },
        subjects,
    }
}

fn rb(ns: &str, name: &str, role: &str, subjects: Vec<Subject>) -> RoleBinding {
    RoleBinding {
        metadata: ObjectMeta::namespaced(ns, name),
        role_ref: RoleRef {
            api_group: "rbac.authorization.k8s.io".into(),
            kind: "ClusterRole".into(),
            name: role.into(),
        },
        subjects,
    }
}

/// A register row with read-only observed access, and a ServiceAccount of it.
fn read_only_vendor(a: &Assessment, s: &Snapshot) -> (String, SubjectRef) {
    let row = a
        .analysis
        .register
        .iter()
        .find(|r| r.observed_access.starts_with("read") && !r.identities_found.is_empty())
        .unwrap_or_else(|| {
            panic!(
                "{:#?}",
                a.analysis
                    .register
                    .iter()
                    .map(|r| (&r.id, &r.observed_access))
                    .collect::<Vec<_>>()
            )
        });
    let sa = s
        .service_accounts
        .iter()
        .map(|x| SubjectRef::service_account(x.metadata.ns(), &x.metadata.name))
        .find(|x| {
            row.identities_found
                .iter()
                .any(|i| i.contains(&x.to_string()))
        })
        .expect("a ServiceAccount of the row");
    (row.id.clone(), sa)
}

#[test]
fn the_diff_says_when_a_sub_processors_observed_access_changes() {
    let before = sample();
    let first = assess_with(&before, &[], None);
    let (id, sa) = read_only_vendor(&first, &before);
    // The same inventory; its identity may now impersonate a cluster-admin user.
    let mut after = before.clone();
    after.taken_at = at("2026-11-21T02:00:00Z");
    after.cluster_roles.push(cluster_role(
        "impersonate-alice",
        vec![PolicyRule::for_resources(
            &["impersonate"],
            &[""],
            &["users"],
            &["oidc:alice@example.com"],
        )],
    ));
    let SubjectRef::ServiceAccount { namespace, name } = &sa else {
        unreachable!()
    };
    after.cluster_role_bindings.push(crb(
        "vendor-impersonates",
        "impersonate-alice",
        vec![subject("ServiceAccount", name, Some(namespace))],
    ));
    let previous = PreviousPackInfo {
        pack_id: "previous".into(),
        collected_at: before.taken_at,
        snapshot: before.clone(),
        findings: first.analysis.findings.clone(),
        controls: first.controls.clone(),
        register: first.analysis.register.clone(),
        usage: None,
        reviews: None,
        image_history: None,
    };
    let second = assess_with(&after, &[], Some(&previous));
    let change = second
        .diff
        .sub_processors
        .iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("{id} changed: {:#?}", second.diff.sub_processors));
    assert!(
        change
            .details
            .iter()
            .any(|d| d.starts_with("observed access:") && d.contains("cluster-admin")),
        "{change:#?}"
    );
}

#[test]
fn the_open_rest_of_a_split_finding_names_only_where_it_is_still_held() {
    let mut s = sample();
    // A user reads Secrets in four namespaces; an exception accepts one of them.
    s.cluster_roles.push(cluster_role(
        "secret-reader",
        vec![PolicyRule::for_resources(
            &["get", "list"],
            &[""],
            &["secrets"],
            &[],
        )],
    ));
    let namespaces: Vec<String> = s
        .namespaces
        .iter()
        .take(12)
        .map(|n| n.metadata.name.clone())
        .collect();
    for ns in &namespaces {
        s.role_bindings.push(rb(
            ns,
            "reader",
            "secret-reader",
            vec![subject("User", "reader@example.com", None)],
        ));
    }
    let accepted = namespaces[0].clone();
    let exception = Exception {
        id: "EXC-SPLIT".into(),
        rule: RuleId::Rbac004,
        covers: exceptions::Coverage::Namespace(accepted.clone()),
        reason: "r".into(),
        approver: "a".into(),
        ticket: "t".into(),
        created: today(),
        expires: NaiveDate::from_ymd_opt(2027, 1, 1).unwrap(),
    };
    let a = assess_with(&s, &[exception], None);
    let of_reader: Vec<_> = a
        .analysis
        .findings
        .iter()
        .filter(|f| {
            f.rule_id == RuleId::Rbac004
                && f.subjects == vec![SubjectRef::user("reader@example.com")]
        })
        .collect();
    assert_eq!(of_reader.len(), 2, "{of_reader:#?}");
    let open = of_reader.iter().find(|f| f.exception.is_none()).unwrap();
    let part = of_reader.iter().find(|f| f.exception.is_some()).unwrap();
    assert!(!open.namespaces.contains(&accepted));
    assert!(
        !open.summary.contains(&format!(" {accepted}"))
            && !open.summary.contains(&format!("{accepted},")),
        "the open rest names the accepted namespace: {}",
        open.summary
    );
    assert!(part.summary.contains(&accepted), "{}", part.summary);
}

#[test]
fn a_finding_about_several_vendors_identities_names_each() {
    let mut s = sample();
    let a = assess_with(&s, &[], None);
    // Two ServiceAccounts of two different sub-processors, bound together to one role.
    let owners = &a.analysis.register;
    let privileged: std::collections::BTreeSet<&SubjectRef> =
        a.analysis.privilege.iter().map(|p| &p.subject).collect();
    let mut picked: Vec<(String, SubjectRef)> = Vec::new();
    for row in owners {
        if let Some(sa) = s
            .service_accounts
            .iter()
            .map(|x| SubjectRef::service_account(x.metadata.ns(), &x.metadata.name))
            .filter(|x| !privileged.contains(x))
            .find(|x| {
                row.identities_found
                    .iter()
                    .any(|i| i.contains(&x.to_string()))
            })
            && !picked.iter().any(|(id, _)| id == &row.id)
        {
            picked.push((row.id.clone(), sa));
        }
        if picked.len() == 2 {
            break;
        }
    }
    assert_eq!(picked.len(), 2);
    s.cluster_roles.push(cluster_role(
        "pod-maker",
        vec![PolicyRule::for_resources(
            &["create"],
            &[""],
            &["pods"],
            &[],
        )],
    ));
    // A cluster-admin ServiceAccount in the namespace they can create pods in: one KE-RBAC-026
    // finding with both as subjects.
    s.service_accounts
        .push(kube_evidence::snapshot::ServiceAccount {
            metadata: ObjectMeta::namespaced("shared-ns", "root"),
            automount_service_account_token: None,
            secrets: vec![],
            image_pull_secrets: vec![],
        });
    s.cluster_role_bindings.push(crb(
        "root",
        "cluster-admin",
        vec![subject("ServiceAccount", "root", Some("shared-ns"))],
    ));
    let subjects: Vec<Subject> = picked
        .iter()
        .map(|(_, sa)| subject("ServiceAccount", sa.name(), sa.namespace()))
        .collect();
    s.role_bindings
        .push(rb("shared-ns", "vendors-make-pods", "pod-maker", subjects));
    let a = assess_with(&s, &[], None);
    let f = a
        .analysis
        .findings
        .iter()
        .find(|f| {
            f.rule_id == RuleId::Rbac026
                && f.cause.as_deref() == Some("RoleBinding shared-ns/vendors-make-pods")
        })
        .expect("one finding for the binding");
    assert_eq!(
        f.subjects.len(),
        2,
        "{picked:?}\n{f:#?}\n{:?}",
        a.analysis
            .privilege
            .iter()
            .filter(|p| picked.iter().any(|(_, s)| s == &p.subject))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        f.sub_processor, None,
        "two vendors: the finding names neither alone"
    );
    let named: Vec<&str> = f
        .sub_processor_of
        .iter()
        .map(|o| o.sub_processor.as_str())
        .collect();
    assert!(
        named.contains(&picked[0].0.as_str()) && named.contains(&picked[1].0.as_str()),
        "{named:?}"
    );
    assert!(f.sub_processor_text().contains(&picked[0].0));
}

#[test]
fn cluster_admin_holders_are_in_the_population_of_every_capability() {
    let s = sample();
    let a = assess_with(&s, &[], None);
    let alice = SubjectRef::user("oidc:alice@example.com");
    assert!(
        a.analysis.privilege.iter().any(|p| p.subject == alice),
        "alice is cluster-admin"
    );
    let held: std::collections::BTreeSet<&str> = a
        .analysis
        .population
        .iter()
        .filter(|p| p.subject == alice)
        .map(|p| p.rule_id.as_str())
        .collect();
    for rule in [
        "KE-RBAC-003",
        "KE-RBAC-005",
        "KE-RBAC-006",
        "KE-RBAC-007",
        "KE-RBAC-008",
        "KE-RBAC-009",
    ] {
        assert!(
            held.contains(rule),
            "alice is missing from the population of {rule}: {held:?}"
        );
    }
    // ... and KE-RBAC-001 is her finding, not one per capability.
    let hers: Vec<&str> = a
        .analysis
        .findings
        .iter()
        .filter(|f| f.subjects.contains(&alice))
        .map(|f| f.rule_id.as_str())
        .collect();
    assert!(hers.contains(&"KE-RBAC-001"));
    assert!(!hers.contains(&"KE-RBAC-003"), "{hers:?}");
}

#[test]
fn rule_numbers_count_the_rules_as_the_api_server_stores_them() {
    let mut s = sample();
    // Stored in this order: the Secrets rule second, though it sorts first.
    s.cluster_roles.push(cluster_role(
        "zz-order",
        vec![
            PolicyRule::for_resources(&["get"], &["apps"], &["deployments"], &[]),
            PolicyRule::for_resources(&["get", "list"], &[""], &["secrets"], &[]),
        ],
    ));
    s.cluster_role_bindings.push(crb(
        "zz-order",
        "zz-order",
        vec![subject("User", "orderly@example.com", None)],
    ));
    let mut bytes = kube_evidence::snapshot::snapshot_to_json(&s);
    let back = kube_evidence::snapshot::snapshot_from_bytes(&bytes, "t").unwrap();
    let role = back
        .cluster_roles
        .iter()
        .find(|r| r.metadata.name == "zz-order")
        .unwrap();
    assert_eq!(
        role.rules[1].resources,
        vec!["secrets".to_string()],
        "the snapshot keeps the order"
    );
    let a = assess_with(&back, &[], None);
    let f = a
        .analysis
        .findings
        .iter()
        .find(|f| {
            f.rule_id == RuleId::Rbac003
                && f.subjects == vec![SubjectRef::user("orderly@example.com")]
        })
        .unwrap();
    let g = f.grants.iter().next().unwrap();
    assert!(g.reference().contains("rule 2"), "{}", g.reference());
    bytes.clear();
}

#[test]
fn controls_count_their_deciding_findings_and_label_the_accepted_ones() {
    let out = tempfile::tempdir().unwrap();
    let dirs = common::sample_chain(out.path());
    let html = std::fs::read_to_string(dirs[1].join("report.html")).unwrap();
    let doc: Value =
        serde_json::from_slice(&std::fs::read(dirs[1].join("findings.json")).unwrap()).unwrap();
    let with_accepted = doc["controls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| {
            !c["acceptedFindings"]
                .as_array()
                .is_none_or(|a| a.is_empty())
        })
        .expect("a control citing an accepted finding");
    let deciding = with_accepted["decidingFindings"]
        .as_array()
        .map_or(0, Vec::len);
    let accepted = with_accepted["acceptedFindings"].as_array().unwrap();
    let row_start = html
        .find(&format!(
            "<td class=\"mono\">{}</td>",
            with_accepted["id"].as_str().unwrap()
        ))
        .unwrap();
    let row = &html[row_start..row_start + html[row_start..].find("</tr>").unwrap()];
    assert!(
        row.contains(&format!(
            "<summary>{deciding} (and {} accepted)</summary>",
            accepted.len()
        )),
        "{row}"
    );
    // The first links of the cell (deciding findings first), then how many more: a control
    // cites what the report can hold, findings.json all of it.
    let cap = kube_evidence::report::bounds::LIST;
    let listed = accepted.len() + deciding;
    if listed > cap {
        assert!(row.contains(&format!("and {} more", listed - cap)), "{row}");
    }
    for (i, id) in accepted.iter().enumerate() {
        if deciding + i < cap {
            assert!(
                row.contains(&format!("{} (accepted)", id.as_str().unwrap())),
                "{row}"
            );
        }
    }
}

#[test]
fn completeness_tells_what_was_left_out_from_what_is_missing() {
    let out = tempfile::tempdir().unwrap();
    let dirs = common::sample_chain(out.path());
    let html = std::fs::read_to_string(dirs[1].join("report.html")).unwrap();
    let at = html.find("<dt>Completeness</dt>").unwrap();
    let dd = &html[at..at + html[at..].find("</dd>").unwrap()];
    // Every kind not read in full is named on page 1, beside the word "complete".
    let snapshot =
        kube_evidence::snapshot::read_snapshot_file(&dirs[1].join("snapshot.json.gz")).unwrap();
    let mut not_full = 0;
    for (kind, c) in &snapshot.collector.kinds {
        if c.status != kube_evidence::snapshot::CollectionStatus::Complete {
            not_full += 1;
            assert!(
                dd.contains(&format!("{kind} ")),
                "{kind} ({:?}) is not named: {dd}",
                c.status
            );
        }
    }
    assert!(not_full > 0, "the samples leave kinds out");
    assert!(
        !dd.contains("every kind the analysis uses was read in full"),
        "{dd}"
    );
    // A kind left out by configuration (Secrets without --collect-token-secrets) is said so.
    let mut s = snapshot.clone();
    if let Some(c) = s.collector.kinds.get_mut("Secret") {
        c.status = kube_evidence::snapshot::CollectionStatus::Skipped;
    }
    assert_eq!(
        s.collector
            .status_of(kube_evidence::snapshot::ResourceKind::Secret),
        kube_evidence::snapshot::CollectionStatus::Skipped
    );
}

#[test]
fn who_can_bind_cluster_roles_in_a_namespace_answers_the_role_grantor() {
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("cluster");
    std::fs::create_dir_all(&dump).unwrap();
    std::fs::write(
        dump.join("rbac.yaml"),
        r#"apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: role-grantor}
rules:
- {apiGroups: [rbac.authorization.k8s.io], resources: [clusterroles], verbs: [bind], resourceNames: [admin]}
- {apiGroups: [rbac.authorization.k8s.io], resources: [rolebindings], verbs: [create]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: grantor, namespace: team-a}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: role-grantor}
subjects: [{kind: User, apiGroup: rbac.authorization.k8s.io, name: lead@example.com}]
"#,
    )
    .unwrap();
    let r = common::run(
        &[
            "who-can",
            "bind",
            "clusterroles",
            "-n",
            "team-a",
            "--name",
            "admin",
            "--format",
            "json",
            "--source",
            dump.to_str().unwrap(),
        ],
        &[("KUBE_EVIDENCE_LOG_LEVEL", "warn")],
        &common::repo(),
    );
    r.assert_ok();
    assert!(!r.stderr.contains("can never grant"), "{}", r.stderr);
    assert!(r.stdout.contains("lead@example.com"), "{}", r.stdout);
    // Elsewhere, or for roles other than admin, nobody.
    let elsewhere = common::run(
        &[
            "who-can",
            "bind",
            "clusterroles",
            "-n",
            "team-b",
            "--name",
            "admin",
            "--format",
            "json",
            "--source",
            dump.to_str().unwrap(),
        ],
        &[("KUBE_EVIDENCE_LOG_LEVEL", "warn")],
        &common::repo(),
    );
    assert!(
        !elsewhere.stdout.contains("lead@example.com"),
        "{}",
        elsewhere.stdout
    );
}

#[test]
fn verify_knows_a_copied_pack_by_its_manifest_not_its_folder() {
    let out = tempfile::tempdir().unwrap();
    let dirs = common::sample_chain(out.path());
    let copy = out.path().join("evidence-for-the-auditor");
    copy_dir(&dirs[1], &copy);
    let r = common::run(
        &["verify", copy.to_str().unwrap(), "--allow-unsigned"],
        &[("KUBE_EVIDENCE_LOG_LEVEL", "warn")],
        &common::repo(),
    );
    r.assert_ok();
    assert!(
        r.stdout
            .contains("a copy outside its store (folder evidence-for-the-auditor)"),
        "{}",
        r.stdout
    );
    // Tampered, the copy still fails.
    common::flip_middle_byte(&copy.join("findings.json"));
    let bad = common::run(
        &["verify", copy.to_str().unwrap(), "--allow-unsigned"],
        &[("KUBE_EVIDENCE_LOG_LEVEL", "warn")],
        &common::repo(),
    );
    assert_ne!(bad.code, 0, "{}", bad.stdout);
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

#[test]
fn an_exception_for_what_does_not_exist_says_so() {
    let s = sample();
    let ghost = Exception {
        id: "EXC-GHOST".into(),
        rule: RuleId::Rbac003,
        covers: exceptions::Coverage::Subject(SubjectRef::user("nobody-here@example.com")),
        reason: "r".into(),
        approver: "a".into(),
        ticket: "t".into(),
        created: today(),
        expires: NaiveDate::from_ymd_opt(2027, 1, 1).unwrap(),
    };
    let present = Exception {
        id: "EXC-PRESENT".into(),
        covers: exceptions::Coverage::Subject(SubjectRef::user("oidc:alice@example.com")),
        rule: RuleId::Rbac021,
        ..ghost.clone()
    };
    let a = assess_with(&s, &[ghost, present], None);
    let stale = |id: &str| {
        a.analysis
            .findings
            .iter()
            .find(|f| {
                f.rule_id == RuleId::Exc002 && f.summary.starts_with(&format!("exception {id} "))
            })
            .unwrap()
            .summary
            .clone()
    };
    assert!(
        stale("EXC-GHOST").contains("does not exist in the cluster"),
        "{}",
        stale("EXC-GHOST")
    );
    assert!(
        stale("EXC-PRESENT").contains("is in the cluster, but KE-RBAC-021 does not fire"),
        "{}",
        stale("EXC-PRESENT")
    );
}

#[test]
fn oscal_remarks_say_each_thing_once() {
    let out = tempfile::tempdir().unwrap();
    let dirs = common::sample_chain(out.path());
    let oscal: Value = serde_json::from_slice(
        &std::fs::read(dirs[1].join("oscal-assessment-results.json")).unwrap(),
    )
    .unwrap();
    let mut checked = 0;
    for f in oscal["assessment-results"]["results"][0]["findings"]
        .as_array()
        .unwrap()
    {
        let Some(remarks) = f["target"]["status"]["remarks"].as_str() else {
            continue;
        };
        checked += 1;
        let sentences: Vec<&str> = remarks
            .split("; ")
            .flat_map(|s| s.split(". "))
            .map(str::trim)
            .filter(|s| s.len() > 20)
            .collect();
        let mut seen = std::collections::BTreeSet::new();
        for s in &sentences {
            assert!(seen.insert(*s), "said twice in {remarks}");
        }
    }
    assert!(checked > 0);
}

#[test]
fn diff_of_two_dumps_dates_them_by_the_injected_clock() {
    let r = common::run(
        &[
            "diff",
            "samples/previous",
            "samples/cluster",
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
    let d: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(d["from"]["collectedAt"], "2026-11-20T02:00:00Z");
    assert_eq!(d["to"]["collectedAt"], "2026-11-20T02:00:00Z");
    // The same input gives the same bytes, whenever the files were copied.
    let again = common::run(
        &[
            "diff",
            "samples/previous",
            "samples/cluster",
            "--format",
            "json",
        ],
        &[
            ("KUBE_EVIDENCE_NOW", "2026-11-20T02:00:00Z"),
            ("KUBE_EVIDENCE_LOG_LEVEL", "warn"),
        ],
        &common::repo(),
    );
    assert_eq!(r.stdout, again.stdout);
}

/// A binding is the API server's own only when the bootstrap policy creates it: its label and a
/// `system:` name are written by whoever creates a binding, so a person's cluster-admin behind
/// them is a real finding, never a system one (and shows in the matrix and the controls).
#[test]
fn a_bootstrap_label_and_a_system_name_do_not_hide_a_persons_access() {
    let mut s = sample();
    let labelled = |mut m: ObjectMeta| {
        m.labels
            .insert("kubernetes.io/bootstrapping".into(), "rbac-defaults".into());
        m
    };
    let people = [
        ("system:controller:x", false, "alice-name-only@corp.example"),
        ("plain-binding", true, "bob-label-only@corp.example"),
        ("system:controller:y", true, "carol-both@corp.example"),
        (
            "system:kube-scheduler",
            true,
            "dave-policy-name@corp.example",
        ),
    ];
    for (name, label, user) in people {
        let mut b = crb(name, "cluster-admin", vec![subject("User", user, None)]);
        if label {
            b.metadata = labelled(b.metadata);
        }
        // The policy's own name is taken: replace it, as a person with `bind` could.
        s.cluster_role_bindings.retain(|c| c.metadata.name != name);
        s.cluster_role_bindings.push(b);
    }
    // A labelled role aggregating secret reads into `view` under a policy-like name.
    let mut agg = cluster_role(
        "system:aggregate-to-view-extra",
        vec![PolicyRule {
            api_groups: vec!["".into()],
            resources: vec!["secrets".into()],
            verbs: vec!["get".into(), "list".into()],
            ..Default::default()
        }],
    );
    agg.metadata = labelled(agg.metadata);
    agg.metadata.labels.insert(
        "rbac.authorization.k8s.io/aggregate-to-view".into(),
        "true".into(),
    );
    s.cluster_roles.push(agg);

    // A role of the policy edited to give everyone Secrets (the API server's reconciliation
    // keeps extra rules): its binding is the policy's, the grant is not.
    let basic = s
        .cluster_roles
        .iter_mut()
        .find(|r| r.metadata.name == "system:basic-user")
        .expect("the sample has the policy's system:basic-user");
    basic.rules.push(PolicyRule {
        api_groups: vec!["".into()],
        resources: vec!["secrets".into()],
        verbs: vec!["get".into(), "list".into()],
        ..Default::default()
    });

    let a = assess_with(&s, &[], None);
    let everyone = SubjectRef::group("system:authenticated");
    let secrets: Vec<_> = a
        .analysis
        .findings
        .iter()
        .filter(|f| f.subjects.contains(&everyone) && f.rule_id == RuleId::Rbac003)
        .collect();
    assert!(
        !secrets.is_empty() && secrets.iter().all(|f| !f.system),
        "system:authenticated reads Secrets through an edited policy role: {secrets:#?}"
    );
    for (_, _, user) in people {
        let who = SubjectRef::user(user);
        let admin: Vec<_> = a
            .analysis
            .findings
            .iter()
            .filter(|f| f.subjects.contains(&who) && f.severity == Severity::Critical)
            .collect();
        assert!(
            !admin.is_empty(),
            "{user} holds cluster-admin and no critical finding says so"
        );
        assert!(admin.iter().all(|f| !f.system), "{user}: {admin:#?}");
        let row = a.analysis.matrix.iter().find(|r| r.subject == who);
        assert!(row.is_some_and(|r| !r.system), "{user}: {row:?}");
    }
    assert!(
        a.analysis
            .findings
            .iter()
            .any(|f| f.rule_id == RuleId::Rbac025
                && f.objects
                    .iter()
                    .any(|o| o.name == "system:aggregate-to-view-extra")),
        "the labelled aggregating role is not reported"
    );
}
