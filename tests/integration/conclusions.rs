//! Conclusions an auditor can defend: one computation of each subject's cluster-admin reach,
//! control results that never overstate, a diff that reconciles, exceptions that cover exactly
//! their scope, a previous pack verified before use, and the smaller facts that must not mislead
//! (finished pods, contracts, the cover's counts, time along the chain).

use crate::common;

use serde_json::Value;
use std::path::{Path, PathBuf};

fn run(args: &[&str], now: &str) -> common::Run {
    common::run(
        args,
        &[
            ("KUBE_EVIDENCE_NOW", now),
            ("KUBE_EVIDENCE_LOG_LEVEL", "warn"),
        ],
        &common::repo(),
    )
}

fn sample_run(out: &Path, source: &str, now: &str, more: &[&str]) -> common::Run {
    common::sample_run(
        out,
        source,
        now,
        more,
        &[("KUBE_EVIDENCE_LOG_LEVEL", "warn")],
    )
}

fn packs(out: &Path) -> Vec<PathBuf> {
    common::pack_dirs(out)
}

trait Published {
    fn assert_published(&self);
}

impl Published for common::Run {
    /// A small dump lacks kinds it does not need: the run publishes and exits 4 (incomplete).
    fn assert_published(&self) {
        assert!(
            self.code == 0 || self.code == 4,
            "exit {}\n{}\n{}",
            self.code,
            self.stdout,
            self.stderr
        );
    }
}

fn json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// The sample week: the previous state, then today's.
fn sample_chain(out: &Path) -> (Value, Value, PathBuf) {
    sample_run(out, "samples/previous", "2026-11-19T02:00:00Z", &[]).assert_ok();
    sample_run(out, "samples/cluster", "2026-11-20T02:00:00Z", &[]).assert_ok();
    let dirs = packs(out);
    (
        json(&dirs[1].join("findings.json")),
        json(&dirs[1].join("diff.json")),
        dirs[1].clone(),
    )
}

fn control<'a>(doc: &'a Value, framework: &str, id: &str) -> &'a Value {
    doc["controls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["framework"] == framework && c["id"] == id)
        .unwrap()
}

fn findings_of<'a>(doc: &'a Value, rule: &str) -> Vec<&'a Value> {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["ruleId"] == rule)
        .collect()
}

fn about(f: &Value, subject: &str) -> bool {
    f["subjects"]
        .as_array()
        .is_some_and(|s| s.iter().any(|x| x["name"] == subject))
}

// 1. cluster-admin reach is one fact.

#[test]
fn cluster_admin_reach_is_one_fact_in_rules_matrix_register_and_access() {
    let out = tempfile::tempdir().unwrap();
    let (doc, _, pack) = sample_chain(out.path());
    // dave impersonates system:masters: one escalation step, said everywhere.
    let dave = "oidc:dave@example.com";
    let f = findings_of(&doc, "KE-RBAC-026")
        .into_iter()
        .find(|f| about(f, dave))
        .expect("KE-RBAC-026 for dave");
    assert!(f["summary"].as_str().unwrap().contains("in 1 step(s)"));
    // With `*` on every core resource he may impersonate any user, and with it system:masters
    // (a group alone is refused: the move takes a user too).
    let first = common::path_of(&doc, f)[0];
    assert!(
        first["action"]
            .as_str()
            .unwrap()
            .contains("with group(s) system:masters"),
        "{}",
        first["action"]
    );
    assert_eq!(first["move"]["kind"], "impersonate");
    assert!(
        findings_of(&doc, "KE-RBAC-001")
            .iter()
            .all(|f| !about(f, dave))
    );
    let row = doc["accessMatrix"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["subject"]["name"] == dave)
        .unwrap();
    assert_eq!(row["cells"]["clusterAdmin"], "via escalation (1 step)");
    let r = run(
        &[
            "access",
            &format!("User:{dave}"),
            "--reach",
            "--snapshot",
            pack.to_str().unwrap(),
        ],
        "2026-11-20T03:00:00Z",
    );
    r.assert_ok();
    assert!(
        r.stdout
            .contains("reaches cluster-admin via escalation in 1 step(s)"),
        "{}",
        r.stdout
    );
    // trivy-operator and cert-manager write cluster-wide but reach no cluster-admin.
    let register = doc["register"].as_array().unwrap();
    let observed = |id: &str| {
        register.iter().find(|r| r["id"] == id).unwrap()["observedAccess"]
            .as_str()
            .unwrap()
            .to_string()
    };
    for (id, sa) in [
        (
            "trivy-operator",
            "ServiceAccount:trivy-system/trivy-operator",
        ),
        ("cert-manager", "ServiceAccount:cert-manager/cert-manager"),
    ] {
        assert_eq!(observed(id), "cluster-wide-write", "{id}");
        let r = run(
            &[
                "access",
                sa,
                "--reach",
                "--snapshot",
                pack.to_str().unwrap(),
            ],
            "2026-11-20T03:00:00Z",
        );
        assert!(r.stdout.contains("does not reach cluster-admin"), "{sa}");
    }
    assert_eq!(
        observed("velero"),
        "cluster-admin (direct, ServiceAccount:velero/velero)"
    );
    assert!(observed("datadog").starts_with("cluster-admin via escalation (2 steps"));
}

// 2. Controls are never satisfied against the evidence.

#[test]
fn a_control_with_open_findings_of_any_mapped_rule_is_not_satisfied() {
    let out = tempfile::tempdir().unwrap();
    let (doc, _, _) = sample_chain(out.path());
    let a515 = control(&doc, "iso27001", "A.5.15");
    assert_eq!(a515["status"], "not-satisfied");
    let reason = a515["reason"].as_str().unwrap();
    assert!(reason.contains("KE-RBAC-001 (3 critical)"), "{reason}");
    assert!(reason.contains("KE-RBAC-026 ("), "{reason}");
    // It cites the exceptions of its own rules, never those of another rule.
    assert!(reason.contains("EXC-2026-001, EXC-2026-002"), "{reason}");
    assert!(!reason.contains("EXC-2026-003"), "{reason}");
    assert_eq!(
        a515["exceptions"],
        serde_json::json!(["EXC-2026-001", "EXC-2026-002"])
    );
    // CC7.1 decides on unknown components and new privileged grants too.
    let cc71 = control(&doc, "soc2", "CC7.1");
    assert_eq!(cc71["status"], "not-satisfied");
    let deciding = cc71["decidingFindings"].as_array().unwrap();
    for rule in ["KE-SUB-001", "KE-CHG-001"] {
        assert!(
            deciding
                .iter()
                .any(|f| f.as_str().unwrap().starts_with(rule)),
            "CC7.1 is decided by {rule}"
        );
    }
}

#[test]
fn records_protection_depends_on_the_stores_real_retention() {
    let out = tempfile::tempdir().unwrap();
    let (doc, _, _) = sample_chain(out.path());
    assert_eq!(
        doc["assessmentBasis"]["retention"]["mode"], "unverifiable",
        "a local directory's retention is outside what the tool can see"
    );
    let a533 = control(&doc, "iso27001", "A.5.33");
    assert_eq!(a533["status"], "not-assessed");
    assert!(
        a533["reason"]
            .as_str()
            .unwrap()
            .contains("retention of the store cannot be verified"),
        "{}",
        a533["reason"]
    );
}

#[test]
fn change_management_needs_a_period_of_one_schedule_interval() {
    let out = tempfile::tempdir().unwrap();
    sample_run(out.path(), "samples/cluster", "2026-11-20T02:00:00Z", &[]).assert_ok();
    sample_run(out.path(), "samples/cluster", "2026-11-20T02:00:03Z", &[]).assert_ok();
    let doc = json(&packs(out.path())[1].join("findings.json"));
    for (framework, id) in [("iso27001", "A.8.32"), ("soc2", "CC8.1")] {
        let c = control(&doc, framework, id);
        assert_ne!(c["status"], "satisfied", "{framework} {id}");
        let text = c.to_string();
        assert!(
            text.contains("the period since the previous pack")
                && text.contains("is 3 s, shorter than one schedule interval (24 h)"),
            "{framework} {id}: {text}"
        );
    }
    assert_eq!(
        control(&doc, "iso27001", "A.8.32")["status"],
        "not-assessed"
    );
}

// 3. The diff reconciles.

#[test]
fn the_diff_reconciles_and_leads_with_privileged_gains() {
    let out = tempfile::tempdir().unwrap();
    let (doc, diff, _) = sample_chain(out.path());
    let f = &diff["findings"];
    let n = |k: &str| f[k].as_array().unwrap().len() as u64;
    assert_eq!(
        f["previousOpen"],
        n("persisting") + n("superseded") + n("resolved")
    );
    assert_eq!(f["currentOpen"], n("persisting") + n("new"));
    assert_eq!(
        n("new") + n("persisting") + n("accepted") + n("system"),
        doc["findings"].as_array().unwrap().len() as u64,
        "every finding of the pack is in one bucket"
    );
    let open: u64 = doc["summary"]["open"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(f["currentOpen"], open);
    // The change findings are in it too.
    let chg = findings_of(&doc, "KE-CHG-001");
    assert!(!chg.is_empty());
    for c in chg {
        assert!(
            f["new"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["id"] == c["id"])
        );
    }
    // Privileged gains first.
    let grants = diff["grants"].as_array().unwrap();
    assert_eq!(grants[0]["privileged"], true);
    assert_eq!(grants[0]["change"], "gained");
    let first_loss = grants.iter().position(|g| g["change"] == "lost");
    let last_privileged_gain = grants
        .iter()
        .rposition(|g| g["change"] == "gained" && g["privileged"] == true);
    if let (Some(l), Some(g)) = (first_loss, last_privileged_gain) {
        assert!(g < l, "privileged gains come before any loss");
    }
    // An added binding names its role and subjects.
    let added = diff["objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["kind"] == "ClusterRoleBinding" && o["name"] == "oidc:sre-oncall-admin")
        .unwrap();
    assert_eq!(added["change"], "added");
    let details = added["details"].to_string();
    assert!(
        details.contains("roleRef ClusterRole cluster-admin")
            && details.contains("subjects Group:oidc:sre"),
        "{details}"
    );
}

// 4. Exceptions cover exactly their scope.

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

/// A cluster where `alice` may exec in `dev`, in `prod` and cluster-wide, and three subjects are
/// bound to a role with an aggregation label.
fn scoped_cluster(dir: &Path) {
    let mut text = String::new();
    for ns in ["dev", "prod"] {
        text.push_str(&format!("apiVersion: v1\nkind: Namespace\nmetadata: {{name: {ns}}}\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {{name: alice-exec, namespace: {ns}}}\nroleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: exec}}\nsubjects: [{{kind: User, name: alice, apiGroup: rbac.authorization.k8s.io}}]\n---\n"));
    }
    text.push_str("apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: exec}\nrules: [{apiGroups: [''], resources: [pods/exec], verbs: [create]}]\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: alice-exec-everywhere}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: exec}\nsubjects: [{kind: User, name: alice, apiGroup: rbac.authorization.k8s.io}]\n---\n");
    text.push_str("apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: bob-exec, namespace: dev}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: exec}\nsubjects: [{kind: User, name: bob, apiGroup: rbac.authorization.k8s.io}]\n");
    write(dir, "cluster.yaml", &text);
}

fn exceptions_file(dir: &Path, body: &str) -> PathBuf {
    let p = dir.join("exceptions.yaml");
    write(
        dir,
        "exceptions.yaml",
        &format!("apiVersion: kube-evidence.io/v1\nkind: ExceptionList\nexceptions:\n{body}"),
    );
    p
}

fn scoped_run(body: &str) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let cluster = dir.path().join("cluster");
    std::fs::create_dir(&cluster).unwrap();
    scoped_cluster(&cluster);
    let exceptions = exceptions_file(dir.path(), body);
    let out = dir.path().join("out");
    run(
        &[
            "run",
            "--source",
            cluster.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--unsigned",
            "--cluster-name",
            "c",
            "--exceptions",
            exceptions.to_str().unwrap(),
        ],
        "2026-11-20T02:00:00Z",
    )
    .assert_published();
    json(&packs(&out)[0].join("findings.json"))
}

#[test]
fn a_namespace_exception_accepts_only_that_namespace() {
    let doc = scoped_run(
        "- {id: EXC-DEV, rule: KE-RBAC-005, namespace: dev, reason: r, approver: a, ticket: T, created: 2026-01-01, expires: 2027-01-01}\n",
    );
    let alice: Vec<&Value> = findings_of(&doc, "KE-RBAC-005")
        .into_iter()
        .filter(|f| about(f, "alice"))
        .collect();
    assert_eq!(alice.len(), 2, "split in two: {alice:#?}");
    let accepted = alice.iter().find(|f| f["status"] == "accepted").unwrap();
    assert_eq!(accepted["namespaces"], serde_json::json!(["dev"]));
    let bindings = |f: &Value| -> Vec<String> {
        f["grants"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|g| g["bindings"].as_array().unwrap().clone())
            .map(|b| b.as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(bindings(accepted), vec!["RoleBinding dev/alice-exec"]);
    assert_eq!(accepted["exception"]["id"], "EXC-DEV");
    let open = alice.iter().find(|f| f["status"] == "open").unwrap();
    assert_eq!(open["namespaces"], serde_json::json!(["prod"]));
    assert_eq!(
        bindings(open),
        vec![
            "ClusterRoleBinding alice-exec-everywhere",
            "RoleBinding prod/alice-exec"
        ],
        "cluster-wide stays open"
    );
    assert!(
        open["exceptionNotes"][0]
            .as_str()
            .unwrap()
            .contains("the part in namespace dev is accepted by exception EXC-DEV")
    );
    // bob holds it in one namespace only: population (the access matrix), not a finding.
    assert!(
        findings_of(&doc, "KE-RBAC-005")
            .iter()
            .all(|f| !about(f, "bob"))
    );
    let bob = doc["accessMatrix"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["subject"]["name"] == "bob")
        .unwrap();
    assert_eq!(bob["cells"]["execAttach"], "dev");
    let outcome = &doc["exceptions"][0];
    assert_eq!(outcome["state"], "in-force");
    assert_eq!(outcome["findings"].as_array().unwrap().len(), 1);
}

#[test]
fn an_exception_never_accepts_a_finding_it_covers_only_in_part() {
    // KE-RBAC-026-like findings cannot be split; a multi-subject finding is not one subject's.
    let doc = scoped_run(
        "- {id: EXC-PROD, rule: KE-RBAC-005, namespace: prod, reason: r, approver: a, ticket: T, created: 2026-01-01, expires: 2027-01-01}\n\
         - {id: EXC-NONE, rule: KE-RBAC-005, namespace: staging, reason: r, approver: a, ticket: T, created: 2026-01-01, expires: 2027-01-01}\n",
    );
    let open: Vec<&Value> = findings_of(&doc, "KE-RBAC-005")
        .into_iter()
        .filter(|f| f["status"] == "open")
        .collect();
    // alice's dev and cluster-wide part stays open.
    assert_eq!(open.len(), 1);
    let alice = open.iter().find(|f| about(f, "alice")).unwrap();
    assert_eq!(alice["namespaces"], serde_json::json!(["dev"]));
    let states: Vec<&str> = doc["exceptions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, vec!["in-force", "stale"]);
}

#[test]
fn a_subject_exception_on_a_finding_about_several_subjects_keeps_it_open() {
    // KE-RBAC-025 (an aggregation label reaching everyone bound to `view`) names several subjects.
    let dir = tempfile::tempdir().unwrap();
    let text = "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: view}\naggregationRule: {clusterRoleSelectors: [{matchLabels: {rbac.authorization.k8s.io/aggregate-to-view: 'true'}}]}\nrules: []\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: leaky, labels: {rbac.authorization.k8s.io/aggregate-to-view: 'true'}}\nrules: [{apiGroups: [''], resources: [secrets], verbs: [get, list]}]\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: viewers}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}\nsubjects: [{kind: User, name: ann, apiGroup: rbac.authorization.k8s.io}, {kind: User, name: ben, apiGroup: rbac.authorization.k8s.io}]\n";
    let cluster = dir.path().join("cluster");
    std::fs::create_dir(&cluster).unwrap();
    write(&cluster, "c.yaml", text);
    let exceptions = exceptions_file(
        dir.path(),
        "- {id: EXC-ANN, rule: KE-RBAC-025, subject: 'User:ann', reason: r, approver: a, ticket: T, created: 2026-01-01, expires: 2027-01-01}\n",
    );
    let out = dir.path().join("out");
    run(
        &[
            "run",
            "--source",
            cluster.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--unsigned",
            "--cluster-name",
            "c",
            "--exceptions",
            exceptions.to_str().unwrap(),
        ],
        "2026-11-20T02:00:00Z",
    )
    .assert_published();
    let doc = json(&packs(&out)[0].join("findings.json"));
    let f = findings_of(&doc, "KE-RBAC-025")[0];
    assert_eq!(f["status"], "open");
    assert!(
        f["exceptionNotes"][0].as_str().unwrap().contains(
            "covers only part of this finding (it covers User:ann, one of the finding's 2 subjects)"
        ),
        "{f:#}"
    );
    assert_eq!(doc["exceptions"][0]["state"], "partial");
}

// 5. The previous pack is verified before use.

#[test]
fn a_tampered_previous_pack_stops_the_run_and_nothing_is_published() {
    for (file, expect) in [
        (
            "snapshot.json.gz",
            "snapshot.json.gz does not match the SHA-256 its manifest records",
        ),
        (
            "findings.json",
            "findings.json does not match the SHA-256 its manifest records",
        ),
        (
            "trend.json",
            "trend.json does not match the SHA-256 its manifest records",
        ),
        (
            "manifest.json",
            "manifest.json does not match the SHA-256 latest.json recorded",
        ),
    ] {
        let out = tempfile::tempdir().unwrap();
        sample_run(out.path(), "samples/previous", "2026-11-19T02:00:00Z", &[]).assert_ok();
        let first = packs(out.path())[0].clone();
        common::flip_middle_byte(&first.join(file));
        let latest = std::fs::read(out.path().join("sample-prod-eu-1/latest.json")).unwrap();
        let r = sample_run(out.path(), "samples/cluster", "2026-11-20T02:00:00Z", &[]);
        assert_eq!(r.code, 1, "{file}: {}", r.stderr);
        assert!(r.stderr.contains(expect), "{file}: {}", r.stderr);
        assert!(r.stderr.contains("Nothing was published"), "{}", r.stderr);
        assert_eq!(packs(out.path()).len(), 1, "{file}: no new pack");
        assert_eq!(
            std::fs::read(out.path().join("sample-prod-eu-1/latest.json")).unwrap(),
            latest
        );
    }
}

#[test]
fn a_pointer_to_elsewhere_is_never_followed() {
    let out = tempfile::tempdir().unwrap();
    sample_run(out.path(), "samples/previous", "2026-11-19T02:00:00Z", &[]).assert_ok();
    let latest_path = out.path().join("sample-prod-eu-1/latest.json");
    let mut latest = json(&latest_path);
    latest["path"] = "../../etc".into();
    std::fs::write(&latest_path, serde_json::to_vec_pretty(&latest).unwrap()).unwrap();
    let r = sample_run(out.path(), "samples/cluster", "2026-11-20T02:00:00Z", &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("latest.json names path `../../etc`"),
        "{}",
        r.stderr
    );
    assert_eq!(packs(out.path()).len(), 1);
}

#[test]
fn a_previous_pack_signed_by_an_untrusted_key_stops_the_run() {
    let keys = tempfile::tempdir().unwrap();
    let keygen = |name: &str| {
        let key = keys.path().join(name);
        run(
            &["keygen", "--out", key.to_str().unwrap(), "--identity", name],
            "2026-11-19T00:00:00Z",
        )
        .assert_ok();
        key
    };
    let (ours, theirs) = (keygen("ours"), keygen("theirs"));
    let signed = |out: &Path, source: &str, now: &str, key: &Path, trusted: &Path| {
        run(
            &[
                "run",
                "--source",
                source,
                "--out",
                out.to_str().unwrap(),
                "--cluster-name",
                "c",
                "--signing-key",
                key.to_str().unwrap(),
                "--allowed-signers",
                trusted.to_str().unwrap(),
            ],
            now,
        )
    };
    let trusted = keys.path().join("ours.allowed_signers");
    let out = tempfile::tempdir().unwrap();
    signed(
        out.path(),
        "samples/previous",
        "2026-11-19T02:00:00Z",
        &theirs,
        &trusted,
    )
    .assert_ok();
    let r = signed(
        out.path(),
        "samples/cluster",
        "2026-11-20T02:00:00Z",
        &ours,
        &trusted,
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("manifest.json.sig") && r.stderr.contains("not in the allowed signers"),
        "{}",
        r.stderr
    );
    // Signed by a trusted key, the chain goes on.
    let out = tempfile::tempdir().unwrap();
    signed(
        out.path(),
        "samples/previous",
        "2026-11-19T02:00:00Z",
        &ours,
        &trusted,
    )
    .assert_ok();
    signed(
        out.path(),
        "samples/cluster",
        "2026-11-20T02:00:00Z",
        &ours,
        &trusted,
    )
    .assert_ok();
}

// 6. Smaller facts of the same family.

#[test]
fn a_finished_pod_is_not_a_target_for_exec() {
    let dir = tempfile::tempdir().unwrap();
    // `ci` runs a Job as `deployer`, which is cluster-admin; `eve` may exec in `ci`.
    let text = "apiVersion: v1\nkind: Namespace\nmetadata: {name: ci}\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {name: deployer, namespace: ci}\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: cluster-admin}\nrules: [{apiGroups: ['*'], resources: ['*'], verbs: ['*']}]\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: deployer}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}\nsubjects: [{kind: ServiceAccount, name: deployer, namespace: ci}]\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: eve, namespace: ci}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: exec}\nsubjects: [{kind: User, name: eve, apiGroup: rbac.authorization.k8s.io}]\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: exec}\nrules: [{apiGroups: [''], resources: [pods/exec], verbs: [create]}]\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: deploy-1-abcde, namespace: ci, ownerReferences: [{apiVersion: batch/v1, kind: Job, name: deploy-1, controller: true, uid: u}]}\nspec: {serviceAccountName: deployer, containers: [{name: c, image: 'ci.example.com/deploy:1'}]}\nstatus: {phase: PHASE}\n";
    for (phase, reaches) in [("Succeeded", false), ("Failed", false), ("Running", true)] {
        let cluster = dir.path().join(phase);
        std::fs::create_dir(&cluster).unwrap();
        write(&cluster, "c.yaml", &text.replace("PHASE", phase));
        let r = run(
            &[
                "access",
                "User:eve",
                "--reach",
                "--format",
                "json",
                "--source",
                cluster.to_str().unwrap(),
            ],
            "2026-11-20T02:00:00Z",
        );
        r.assert_ok();
        let v: Value = serde_json::from_str(&r.stdout).unwrap();
        assert_eq!(
            v["reach"]["clusterAdmin"] != "none",
            reaches,
            "{phase}: {}",
            v["reach"]
        );
    }
}

#[test]
fn the_cover_says_how_many_matrix_rows_are_system_components() {
    let out = tempfile::tempdir().unwrap();
    let (doc, _, pack) = sample_chain(out.path());
    let matrix = doc["accessMatrix"].as_array().unwrap();
    let system = matrix.iter().filter(|r| r["system"] == true).count();
    let people = matrix.len() - system;
    assert!(system > 0);
    let html = std::fs::read_to_string(pack.join("report.html")).unwrap();
    assert!(
        html.contains(&format!(
            "{people} subject(s) hold privileged access ({system} more rows of the access matrix are Kubernetes system components"
        )),
        "the summary accounts for every row of the matrix"
    );
}

#[test]
fn verify_chain_reports_time_running_backwards() {
    let out = tempfile::tempdir().unwrap();
    sample_run(out.path(), "samples/previous", "2026-11-20T02:00:00Z", &[]).assert_ok();
    // A run refuses to collect before its predecessor, so the chain is forged here: a pack
    // collected 11 days earlier, in another store, is re-assembled naming the newer pack as its
    // predecessor and published after it.
    let other = tempfile::tempdir().unwrap();
    sample_run(other.path(), "samples/cluster", "2026-11-09T02:00:00Z", &[]).assert_ok();
    publish_after(other.path(), out.path());
    let r = run(
        &[
            "verify",
            out.path().to_str().unwrap(),
            "--cluster",
            "sample-prod-eu-1",
            "--chain",
            "--allow-unsigned",
        ],
        "2026-11-21T00:00:00Z",
    );
    assert_ne!(r.code, 0, "{}", r.stdout);
    for what in ["collected", "published"] {
        assert!(
            r.stdout.contains(&format!(
                "was {what} at 2026-11-09T02:00:00Z, before its predecessor"
            )),
            "{what}: {}",
            r.stdout
        );
    }
}

/// Re-publishes the newest pack of `from` into `to`, chained to `to`'s newest pack.
fn publish_after(from: &Path, to: &Path) {
    use kube_evidence::pack::{self, LatestPointer, Manifest, PackFile, PreviousPack};
    let cluster = "sample-prod-eu-1";
    let pointer = |root: &Path| -> LatestPointer {
        serde_json::from_slice(&std::fs::read(root.join(cluster).join("latest.json")).unwrap())
            .unwrap()
    };
    let (source, target) = (pointer(from), pointer(to));
    let dir = from.join(&source.path);
    let mut manifest =
        Manifest::from_bytes(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    let files: Vec<PackFile> = manifest
        .files
        .iter()
        .map(|f| {
            let media: &'static str = Box::leak(f.media_type.clone().into_boxed_str());
            PackFile::new(
                f.path.clone(),
                std::fs::read(dir.join(&f.path)).unwrap(),
                media,
            )
        })
        .collect();
    manifest.previous = PreviousPack {
        pack_id: target.pack_id.clone(),
        path: target.path.clone(),
        manifest_sha256: target.manifest_sha256.clone(),
    };
    let forged = pack::assemble(manifest, files);
    let store = kube_evidence::store::local::LocalStore::new(to);
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(pack::publish(&store, &forged))
        .unwrap();
}
