//! The sub-processor inventory: validation, matching by every identity type, reconciliation
//! findings and their date boundaries, discovery, and the ConfigMap source.

use crate::common;
use kube_evidence::rules::RuleId;

use chrono::{DateTime, NaiveDate};
use kube_evidence::analysis::{Analysis, analyze};
use kube_evidence::finding::Finding;
use kube_evidence::inventory::{self, InventoryError, InventoryRef};
use kube_evidence::snapshot::Snapshot;
use kube_evidence::source::dump::{DumpSource, read_dump};

const TODAY: &str = "2026-11-20";

fn today() -> NaiveDate {
    NaiveDate::parse_from_str(TODAY, "%Y-%m-%d").unwrap()
}

fn errors(text: &str) -> String {
    match inventory::parse(text, "inv.yaml", today()) {
        Err(InventoryError::Invalid(d)) => d.to_string(),
        other => panic!("expected diagnostics, got {other:?}"),
    }
}

const GOOD_ENTRY: &str = r#"apiVersion: kube-evidence.io/v1
kind: SubProcessorInventory
subProcessors:
- id: acme
  name: Acme agent
  vendor: Acme Ltd
  owner: sre@example.com
  identities: {serviceAccounts: [acme/agent]}
  declaredAccess: {level: read-only}
"#;

#[test]
fn a_valid_inventory_parses() {
    let inv = inventory::parse(GOOD_ENTRY, "inv.yaml", today()).unwrap();
    assert_eq!(inv.sub_processors[0].review_interval_days, 365);
    assert_eq!(inv.settings.expiry_warning_days, 30);
    let samples = inventory::load_file(&common::samples().join("inventory.yaml"), today()).unwrap();
    assert_eq!(samples.sub_processors.len(), 13);
}

#[test]
fn every_validation_error_at_once_with_positions() {
    let text = r#"apiVersion: kube-evidence.io/v1
kind: SubProcessorInventory
subProcessors:
- id: acme
  name: Acme agent
  vendor: Acme Ltd
  colour: red
  reviewIntervalDays: often
  lastReviewed: 2026-13-01
  identities:
    serviceAccounts: [agent, acme/agent]
  declaredAccess: {level: read-mostly}
- id: acme
  name: Second
  vendor: Other
  lastReviewed: 2027-01-01
  certifications:
  - {type: soc2-type2, reportPeriodEnd: 2026-06-30, reviewed: 2026-12-01}
  identities:
    serviceAccounts: [acme/other]
  declaredAccess: {level: none}
- id: other
  name: Third
  vendor: Another
  identities:
    serviceAccounts: [acme/agent]
  declaredAccess: {level: none}
"#;
    let e = errors(text);
    for expected in [
        "inv.yaml:7:3: unknown key `colour` in `subProcessors[]`",
        "inv.yaml:8:23: `reviewIntervalDays`: expected a whole number, found a string",
        "inv.yaml:9:17: `lastReviewed`: `2026-13-01` is not a valid date (expected YYYY-MM-DD)",
        "inv.yaml:11:23: ServiceAccount `agent` needs its namespace: write `NAMESPACE/agent`",
        "inv.yaml:12:27: `level`: unknown value `read-mostly`",
        "inv.yaml:13:7: duplicate sub-processor id `acme`",
        "inv.yaml:16:17: `lastReviewed` 2027-01-01 is in the future (today is 2026-11-20)",
        "inv.yaml:18:63: `reviewed` 2026-12-01 is in the future",
        "inv.yaml:26:23: ServiceAccount `acme/agent` is claimed by both `acme` and `other`",
    ] {
        assert!(e.contains(expected), "missing {expected:?} in:\n{e}");
    }
}

#[test]
fn structural_errors() {
    let e = errors(
        "apiVersion: v1\nkind: Inventory\nsubProcessors:\n- id: Bad_Id\n  name: ''\n  vendor: x\n  identities: {}\n  declaredAccess: {level: none, rules: []}\n",
    );
    assert!(
        e.contains("inv.yaml:1:1: `apiVersion` must be `kube-evidence.io/v1`"),
        "{e}"
    );
    assert!(
        e.contains("inv.yaml:2:1: `kind` must be `SubProcessorInventory`"),
        "{e}"
    );
    assert!(
        e.contains("`id` `Bad_Id` must use lower-case letters"),
        "{e}"
    );
    assert!(e.contains("`name` must not be empty"), "{e}");
    assert!(e.contains("`identities` names nothing"), "{e}");
    assert!(
        e.contains("takes either `level` or `rules`, not both"),
        "{e}"
    );
    let e = errors(
        "apiVersion: kube-evidence.io/v1\nkind: SubProcessorInventory\nsubProcessors:\n- id: a\n  vendor: v\n  identities: {users: [u]}\n",
    );
    assert!(
        e.contains("inv.yaml:4:3: `subProcessors[]`: missing required key `name`"),
        "{e}"
    );
    assert!(e.contains("missing required key `declaredAccess`"), "{e}");
    let e = errors(
        "apiVersion: kube-evidence.io/v1\nkind: SubProcessorInventory\nsubProcessors:\n- id: a\n  name: n\n  vendor: v\n  identities: {users: [u], groups: g}\n  declaredAccess: {}\n",
    );
    assert!(
        e.contains("`groups`: expected a list, found a string"),
        "{e}"
    );
    assert!(e.contains("needs a `level`"), "{e}");
}

const CLUSTER: &str = r#"
apiVersion: v1
kind: List
items:
- {apiVersion: v1, kind: Namespace, metadata: {name: acme}}
- {apiVersion: v1, kind: Namespace, metadata: {name: team}}
- {apiVersion: v1, kind: ServiceAccount, metadata: {name: agent, namespace: acme}}
- {apiVersion: v1, kind: ServiceAccount, metadata: {name: scanner, namespace: team}}
- {apiVersion: v1, kind: ServiceAccount, metadata: {name: rogue, namespace: team}}
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: scanner, namespace: team}
  spec: {template: {spec: {serviceAccountName: scanner, containers: [{image: "registry.scanco.io/scanner:2"}]}}}
- apiVersion: rbac.authorization.k8s.io/v1
  kind: ClusterRole
  metadata: {name: reader}
  rules: [{apiGroups: [""], resources: [pods, nodes], verbs: [get, list, watch]}]
- apiVersion: rbac.authorization.k8s.io/v1
  kind: ClusterRole
  metadata: {name: secret-writer}
  rules: [{apiGroups: [""], resources: [secrets], verbs: [get, create]}]
- apiVersion: rbac.authorization.k8s.io/v1
  kind: ClusterRoleBinding
  metadata: {name: acme-read}
  roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: reader}
  subjects: [{kind: ServiceAccount, name: agent, namespace: acme}, {kind: User, name: acme-bot}, {kind: Group, name: acme-staff}]
- apiVersion: rbac.authorization.k8s.io/v1
  kind: ClusterRoleBinding
  metadata: {name: scanner-secrets}
  roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: secret-writer}
  subjects: [{kind: ServiceAccount, name: scanner, namespace: team}]
- apiVersion: rbac.authorization.k8s.io/v1
  kind: ClusterRoleBinding
  metadata: {name: rogue}
  roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: reader}
  subjects: [{kind: ServiceAccount, name: rogue, namespace: team}]
- apiVersion: admissionregistration.k8s.io/v1
  kind: ValidatingWebhookConfiguration
  metadata: {name: acme-policy}
  webhooks: [{name: v.acme.io, clientConfig: {service: {namespace: acme, name: svc}}}]
- apiVersion: admissionregistration.k8s.io/v1
  kind: MutatingWebhookConfiguration
  metadata: {name: mystery}
  webhooks: [{name: m.mystery.io, clientConfig: {url: "https://hooks.mystery.example/inject"}}]
- apiVersion: apiregistration.k8s.io/v1
  kind: APIService
  metadata: {name: v1.metrics.acme.io}
  spec: {group: metrics.acme.io, version: v1, service: {namespace: acme, name: api}}
"#;

fn snapshot() -> Snapshot {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("c.yaml"), CLUSTER).unwrap();
    read_dump(
        dir.path(),
        "t",
        DateTime::from_timestamp(0, 0).unwrap(),
        "t".into(),
    )
    .unwrap()
}

fn entry(id: &str, extra: &str) -> String {
    format!(
        "- id: {id}\n  name: {id}\n  vendor: V\n  owner: o@example.com\n  contract: {{dpaSigned: 2025-01-01, renewal: 2027-01-01}}\n  lastReviewed: 2026-06-01\n  certifications:\n  - {{type: iso27001, expires: 2027-06-30}}\n{extra}"
    )
}

fn run_inventory(entries: &[String]) -> Analysis {
    let text = format!(
        "apiVersion: kube-evidence.io/v1\nkind: SubProcessorInventory\ninternal: {{namespaces: [kube-system]}}\nsubProcessors:\n{}",
        entries.join("")
    );
    let inv =
        inventory::parse(&text, "inv.yaml", today()).unwrap_or_else(|e| panic!("{e}\n{text}"));
    analyze(&snapshot(), Some(&inv), today()).analysis
}

fn sub_findings<'a>(a: &'a Analysis, id: &str) -> Vec<&'a Finding> {
    a.findings
        .iter()
        .filter(|f| {
            f.sub_processor.as_deref() == Some(id) && f.rule_id.as_str().starts_with("KE-SUB")
        })
        .collect()
}

#[test]
fn matching_by_every_identity_type() {
    let a = run_inventory(&[
        entry(
            "by-sa",
            "  identities: {serviceAccounts: [acme/agent]}\n  declaredAccess: {level: read-only}\n",
        ),
        entry(
            "by-user",
            "  identities: {users: [acme-bot]}\n  declaredAccess: {level: read-only}\n",
        ),
        entry(
            "by-group",
            "  identities: {groups: [acme-staff]}\n  declaredAccess: {level: read-only}\n",
        ),
        entry(
            "by-image",
            "  identities: {images: [\"registry.scanco.io/*\"]}\n  declaredAccess: {level: cluster-admin}\n",
        ),
        entry(
            "by-hooks",
            "  identities: {webhooks: [acme-policy, mystery], apiServices: [v1.metrics.acme.io]}\n  declaredAccess: {level: none}\n",
        ),
        entry(
            "by-ns",
            "  identities: {namespaces: [team]}\n  declaredAccess: {level: cluster-admin}\n",
        ),
    ]);
    let found = |id: &str| {
        a.register
            .iter()
            .find(|r| r.id == id)
            .unwrap()
            .identities_found
            .clone()
    };
    assert!(found("by-sa").contains(&"ServiceAccount:acme/agent".to_string()));
    assert!(found("by-user").contains(&"User:acme-bot".to_string()));
    assert!(found("by-group").contains(&"Group:acme-staff".to_string()));
    assert!(found("by-image").contains(&"ServiceAccount:team/scanner".to_string()));
    assert!(found("by-hooks").contains(&"Webhook acme-policy".to_string()));
    assert!(found("by-hooks").contains(&"APIService v1.metrics.acme.io".to_string()));
    assert!(found("by-ns").contains(&"ServiceAccount:team/rogue".to_string()));
    // everything is claimed: nothing undeclared
    assert!(
        !a.findings.iter().any(|f| f.rule_id == RuleId::Sub001),
        "{:#?}",
        a.findings
            .iter()
            .filter(|f| f.rule_id == RuleId::Sub001)
            .collect::<Vec<_>>()
    );
}

#[test]
fn a_fully_correct_entry_has_no_findings() {
    let a = run_inventory(&[entry(
        "acme",
        "  identities: {serviceAccounts: [acme/agent], users: [acme-bot], groups: [acme-staff], webhooks: [acme-policy], apiServices: [v1.metrics.acme.io]}\n  declaredAccess: {level: read-only-no-secrets}\n",
    )]);
    assert!(
        sub_findings(&a, "acme").is_empty(),
        "{:#?}",
        sub_findings(&a, "acme")
    );
    let row = &a.register[0];
    assert_eq!(row.observed_access, "read-only-no-secrets");
    assert!(row.review.starts_with("current"));
}

#[test]
fn undeclared_third_parties() {
    let a = run_inventory(&[entry(
        "acme",
        "  identities: {namespaces: [acme]}\n  declaredAccess: {level: read-only}\n",
    )]);
    let undeclared: Vec<String> = a
        .findings
        .iter()
        .filter(|f| f.rule_id == RuleId::Sub001)
        .map(|f| f.summary.clone())
        .collect();
    assert!(
        undeclared
            .iter()
            .any(|s| s.starts_with("ServiceAccount:team/scanner holds cluster-wide access")),
        "{undeclared:#?}"
    );
    assert!(
        undeclared
            .iter()
            .any(|s| s.starts_with("ServiceAccount:team/rogue")),
        "{undeclared:#?}"
    );
    assert!(
        undeclared.iter().any(|s| s.starts_with(
            "MutatingWebhookConfiguration mystery (calling https://hooks.mystery.example/inject)"
        )),
        "{undeclared:#?}"
    );
    assert!(
        undeclared.iter().any(|s| s.starts_with("User:acme-bot")),
        "{undeclared:#?}"
    );
    // a namespace claim covers the webhooks and APIServices served from it
    assert!(
        !undeclared
            .iter()
            .any(|s| s.contains("acme-policy") || s.contains("v1.metrics.acme.io")),
        "{undeclared:#?}"
    );
}

#[test]
fn access_beyond_scope_and_secrets() {
    let a = run_inventory(&[entry(
        "scanco",
        "  identities: {images: [\"registry.scanco.io/*\"]}\n  declaredAccess: {level: read-only-no-secrets}\n",
    )]);
    let f = sub_findings(&a, "scanco");
    let beyond = f
        .iter()
        .find(|f| f.rule_id == RuleId::Sub003)
        .expect("beyond scope");
    assert_eq!(beyond.grants.len(), 1);
    assert_eq!(
        beyond.grants.iter().next().unwrap().binding.name,
        "scanner-secrets"
    );
    assert!(
        beyond.summary.contains("verbs create,get exceed read-only"),
        "{}",
        beyond.summary
    );
    let secrets = f
        .iter()
        .find(|f| f.rule_id == RuleId::Sub004)
        .expect("secrets access is always surfaced");
    assert_eq!(
        secrets.subjects[0].to_string(),
        "ServiceAccount:team/scanner"
    );
    // declared rules: exactly the excess atoms are listed
    let a = run_inventory(&[entry(
        "scanco",
        "  identities: {images: [\"registry.scanco.io/*\"]}\n  declaredAccess:\n    rules:\n    - {apiGroups: [\"\"], resources: [secrets], verbs: [get]}\n",
    )]);
    let beyond = sub_findings(&a, "scanco")
        .into_iter()
        .find(|f| f.rule_id == RuleId::Sub003)
        .unwrap();
    assert!(
        beyond
            .summary
            .contains("not declared: create secrets [core]"),
        "{}",
        beyond.summary
    );
    assert!(!beyond.summary.contains("get secrets"));
    // secrets access is reported even when declared
    assert!(
        sub_findings(&a, "scanco")
            .iter()
            .any(|f| f.rule_id == RuleId::Sub004)
    );
}

#[test]
fn declared_but_absent() {
    let a = run_inventory(&[entry(
        "gone",
        "  identities: {namespaces: [gone], serviceAccounts: [gone/agent]}\n  declaredAccess: {level: none}\n",
    )]);
    let f = sub_findings(&a, "gone");
    let stale = f.iter().find(|f| f.rule_id == RuleId::Sub002).unwrap();
    assert!(
        stale
            .summary
            .contains("none of its declared identities exists"),
        "{}",
        stale.summary
    );
}

fn dated(cert: &str, extra: &str) -> Analysis {
    let text = format!(
        "apiVersion: kube-evidence.io/v1\nkind: SubProcessorInventory\nsubProcessors:\n- id: acme\n  name: n\n  vendor: v\n  owner: o\n  contract: {{dpaSigned: 2025-01-01, renewal: 2027-01-01}}\n  lastReviewed: 2026-06-01\n  certifications: [{cert}]\n{extra}  identities: {{serviceAccounts: [acme/agent]}}\n  declaredAccess: {{level: read-only}}\n"
    );
    let inv = inventory::parse(&text, "inv.yaml", today()).unwrap_or_else(|e| panic!("{e}"));
    analyze(&snapshot(), Some(&inv), today()).analysis
}

fn rules_of(a: &Analysis) -> Vec<String> {
    sub_findings(a, "acme")
        .iter()
        .map(|f| f.rule_id.to_string())
        .collect()
}

#[test]
fn certificate_date_boundaries() {
    // valid through its expiry date
    assert_eq!(
        rules_of(&dated("{type: iso27001, expires: 2026-11-20}", "")),
        vec!["KE-SUB-007"],
        "expires today"
    );
    assert_eq!(
        rules_of(&dated("{type: iso27001, expires: 2026-11-19}", "")),
        vec!["KE-SUB-006"],
        "expired yesterday"
    );
    assert_eq!(
        rules_of(&dated("{type: iso27001, expires: 2026-12-20}", "")),
        vec!["KE-SUB-007"],
        "in 30 days"
    );
    assert!(
        rules_of(&dated("{type: iso27001, expires: 2026-12-21}", "")).is_empty(),
        "in 31 days"
    );
    // a SOC 2 report is current for 12 months after its period ends
    assert!(
        rules_of(&dated(
            "{type: soc2-type2, reportPeriodEnd: 2026-01-31, reviewed: 2026-03-01}",
            ""
        ))
        .is_empty()
    );
    assert_eq!(
        rules_of(&dated(
            "{type: soc2-type2, reportPeriodEnd: 2025-11-19, reviewed: 2026-01-01}",
            ""
        )),
        vec!["KE-SUB-006"]
    );
    assert_eq!(
        rules_of(&dated(
            "{type: soc2-type2, reportPeriodEnd: 2025-11-20, reviewed: 2026-01-01}",
            ""
        )),
        vec!["KE-SUB-007"]
    );
    assert_eq!(
        rules_of(&dated(
            "{type: soc2-type2, reportPeriodEnd: 2026-06-30}",
            ""
        )),
        vec!["KE-SUB-010"],
        "review of the report not recorded"
    );
    assert_eq!(
        rules_of(&dated("{type: csa-star, expires: 2030-01-01}", "")),
        vec!["KE-SUB-005"],
        "no SOC 2 or ISO 27001"
    );
}

#[test]
fn reviews_contracts_and_owners() {
    // due on 2026-11-20 exactly: not yet overdue
    assert!(
        rules_of(&dated(
            "{type: iso27001, expires: 2027-06-30}",
            "  reviewIntervalDays: 172\n"
        ))
        .is_empty()
    );
    assert_eq!(
        rules_of(&dated(
            "{type: iso27001, expires: 2027-06-30}",
            "  reviewIntervalDays: 171\n"
        )),
        vec!["KE-SUB-008"]
    );
    let text = "apiVersion: kube-evidence.io/v1\nkind: SubProcessorInventory\nsubProcessors:\n- id: acme\n  name: n\n  vendor: v\n  contract: {renewal: 2026-11-19}\n  certifications: [{type: iso27001, expires: 2027-06-30}]\n  identities: {serviceAccounts: [acme/agent]}\n  declaredAccess: {level: read-only}\n";
    let inv = inventory::parse(text, "inv.yaml", today()).unwrap();
    let a = analyze(&snapshot(), Some(&inv), today()).analysis;
    let mut got = rules_of(&a);
    got.sort();
    assert_eq!(
        got,
        vec!["KE-SUB-008", "KE-SUB-009", "KE-SUB-011", "KE-SUB-012"],
        "never reviewed, renewal passed, no owner, and no DPA: a passed renewal never hides a missing DPA"
    );
}

#[test]
fn discovery_finds_the_undeclared_agent_and_validates() {
    let s = read_dump(
        &common::samples().join("cluster"),
        "sample",
        DateTime::from_timestamp(0, 0).unwrap(),
        "t".into(),
    )
    .unwrap();
    let index = kube_evidence::rbac::RbacIndex::build(&s);
    let reach = kube_evidence::rbac::reach::ReachGraph::build(&index, &s);
    let privilege = kube_evidence::rbac::privilege::PrivilegeTable::compute(&index, &reach);
    let catalog = inventory::catalog::VendorCatalog::shipped();
    let comps = inventory::discover::discover(&s, &index, &privilege, &catalog);
    let sysdig = comps
        .iter()
        .find(|c| c.namespace == "sysdig-agent")
        .expect("the undeclared agent is found");
    assert_eq!(sysdig.vendor, "Sysdig, Inc.");
    assert!(
        sysdig
            .service_accounts
            .contains("sysdig-agent/sysdig-agent")
    );
    assert!(
        !comps
            .iter()
            .any(|c| ["payments", "data"].contains(&c.namespace.as_str())),
        "teams are not third parties, even with a mesh proxy injected"
    );
    // In kube-system, the catalog tells metrics-server (a third party) from the platform.
    let in_kube_system: Vec<&str> = comps
        .iter()
        .filter(|c| c.namespace == "kube-system")
        .map(|c| c.id.as_str())
        .collect();
    assert_eq!(in_kube_system, ["metrics-server"]);
    assert!(
        comps
            .iter()
            .all(|c| !c.owns_namespace || c.namespace != "kube-system")
    );
    for ns in [
        "datadog",
        "argocd",
        "velero",
        "kyverno",
        "istio-system",
        "cert-manager",
    ] {
        assert!(comps.iter().any(|c| c.namespace == ns), "{ns}");
    }
    let yaml = inventory::discover::render(&comps, "sample");
    let inv = inventory::parse(&yaml, "discovered.yaml", today())
        .unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    assert_eq!(inv.sub_processors.len(), comps.len());
    assert!(yaml.contains("# observed access: cluster-admin"));
    // what it cannot know is reported as missing once used
    let a = analyze(&s, Some(&inv), today()).analysis;
    assert!(a.findings.iter().any(|f| f.rule_id == RuleId::Sub011));
    assert!(a.findings.iter().any(|f| f.rule_id == RuleId::Sub005));
}

#[tokio::test]
async fn the_inventory_can_live_in_a_config_map() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("c.yaml"), CLUSTER).unwrap();
    let mut cm = String::from(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: sub-processors, namespace: compliance}\ndata:\n  inventory.yaml: |\n",
    );
    for line in GOOD_ENTRY.lines() {
        cm.push_str("    ");
        cm.push_str(line);
        cm.push('\n');
    }
    std::fs::write(dir.path().join("cm.yaml"), cm).unwrap();
    let source = DumpSource::new(dir.path());
    let r = InventoryRef::parse("configmap:compliance/sub-processors").unwrap();
    let inv = kube_evidence::run::load_inventory(&r, Some(&source), today())
        .await
        .unwrap();
    assert_eq!(inv.sub_processors[0].id, "acme");
    let missing = InventoryRef::parse("configmap:compliance/nope").unwrap();
    let err = kube_evidence::run::load_inventory(&missing, Some(&source), today())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("configmap:compliance/nope") && err.contains("no such ConfigMap"),
        "{err}"
    );
    assert!(InventoryRef::parse("configmap:only-a-name").is_err());
}

#[test]
fn cli_validate_schema_and_discover() {
    let ok = common::run(
        &["inventory", "validate", "samples/inventory.yaml"],
        &[("KUBE_EVIDENCE_NOW", "2026-11-20T00:00:00Z")],
        &common::repo(),
    );
    ok.assert_ok();
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("bad.yaml");
    std::fs::write(&bad, "apiVersion: kube-evidence.io/v1\nkind: SubProcessorInventory\nsubProcessors:\n- id: x\n  nme: typo\n").unwrap();
    let r = common::run(
        &["inventory", "validate", bad.to_str().unwrap()],
        &[],
        &common::repo(),
    );
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("bad.yaml:5:3: unknown key `nme`"),
        "{}",
        r.stderr
    );
    let schema = common::run(&["inventory", "schema"], &[], &common::repo());
    let v: serde_json::Value = serde_json::from_str(&schema.stdout).unwrap();
    assert_eq!(v["title"], "Inventory");
    let d = common::run(
        &["inventory", "discover", "--source", "samples/cluster"],
        &[],
        &common::repo(),
    );
    d.assert_ok();
    assert!(d.stdout.contains("sysdig-agent/sysdig-agent"));
}

#[test]
fn a_run_with_an_invalid_inventory_publishes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("inv.yaml");
    std::fs::write(
        &bad,
        "apiVersion: kube-evidence.io/v1\nkind: SubProcessorInventory\nsubProcessors: 3\n",
    )
    .unwrap();
    let out = tmp.path().join("out");
    let r = common::run(
        &[
            "run",
            "--source",
            "samples/cluster",
            "--out",
            out.to_str().unwrap(),
            "--unsigned",
            "--cluster-name",
            "x",
            "--inventory",
            bad.to_str().unwrap(),
        ],
        &[],
        &common::repo(),
    );
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("inv.yaml:3:16: `subProcessors`: expected a list"),
        "{}",
        r.stderr
    );
    assert!(
        common::files_under(&out)
            .iter()
            .all(|f| !f.contains("manifest.json"))
    );
}
