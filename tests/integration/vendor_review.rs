//! `vendor review`: real upstream manifests from the corpus reviewed against the sample cluster,
//! checked against what `who-can` answers for the same manifests, with the exit code a pipeline
//! blocks on, the draft entry that must validate, and reports that are never overwritten.

use crate::common;
use chrono::NaiveDate;
use kube_evidence::analysis::analyze;
use kube_evidence::finding::Severity;
use kube_evidence::inventory::catalog::VendorCatalog;
use kube_evidence::inventory::model::{AccessLevel, DeclaredAccess};
use kube_evidence::snapshot::Snapshot;
use kube_evidence::source::dump::read_dump_text;
use kube_evidence::source::dump::{read_dump, read_dump_in};
use kube_evidence::vendor::{ReviewInput, VendorReview, installed};
use std::path::Path;

const NOW: &str = "2026-11-20T02:00:00Z";

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
        r.stdout.contains("1 object(s) of the cluster overwritten (1 of them Kubernetes' own); the highest severity is critical"),
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

fn now() -> chrono::DateTime<chrono::Utc> {
    NOW.parse().unwrap()
}

fn sample_cluster() -> Snapshot {
    read_dump(
        &common::samples().join("cluster"),
        "unnamed",
        now(),
        "dump:samples/cluster".into(),
    )
    .unwrap()
}

/// The corpus's vendors: every directory but Kubernetes' own bootstrap policy, sorted.
fn corpus_charts(corpus: &Path) -> Vec<std::path::PathBuf> {
    let mut out: Vec<_> = std::fs::read_dir(corpus)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir() && !p.ends_with("kubernetes-bootstrap"))
        .collect();
    out.sort();
    out
}

fn review_in(base: &Snapshot, manifests: &Snapshot, ns: &str) -> VendorReview {
    kube_evidence::vendor::review(&ReviewInput {
        base,
        manifests,
        namespace: ns,
        catalog: &VendorCatalog::shipped(),
        today: now().date_naive(),
    })
}

/// The inventory-mismatch findings a run raises about a vendor once its manifests are installed
/// and `inventory` is in force: KE-SUB-002 and KE-SUB-003 of the entry `id`, and KE-SUB-001 about
/// the vendor's identities, webhook configurations or APIServices.
fn mismatches(
    r: &VendorReview,
    after: &Snapshot,
    inventory: &kube_evidence::inventory::Inventory,
    id: &str,
) -> Vec<String> {
    let vendor_objects: Vec<String> = r
        .webhooks
        .iter()
        .flat_map(|w| {
            [
                format!("MutatingWebhookConfiguration {w}"),
                format!("ValidatingWebhookConfiguration {w}"),
            ]
        })
        .chain(r.api_services.iter().map(|a| format!("APIService {a}")))
        .collect();
    let vendor_subjects: Vec<&str> = r.identities.iter().map(|i| i.subject.as_str()).collect();
    analyze(after, Some(inventory), now().date_naive())
        .analysis
        .findings
        .into_iter()
        .filter(|f| match f.rule_id.as_str() {
            "KE-SUB-002" | "KE-SUB-003" => f.sub_processor.as_deref() == Some(id),
            "KE-SUB-001" => {
                f.subjects
                    .iter()
                    .any(|s| vendor_subjects.contains(&s.to_string().as_str()))
                    || f.objects
                        .iter()
                        .any(|o| vendor_objects.contains(&o.to_string()))
            }
            _ => false,
        })
        .map(|f| format!("{} {}", f.rule_id, f.summary))
        .collect()
}

/// Issue 32: the draft entry declares what the run it will meet accepts. For every vendor of the
/// corpus that has RBAC, installed in a namespace of its own and in the shared `kube-system`: the
/// draft, as the only inventory entry, raises no KE-SUB-001/002/003 in a run over the cluster
/// with the manifests applied; and one level less than it declares does raise KE-SUB-003, so the
/// level is the least that passes, escalation to cluster-admin included.
#[test]
fn every_corpus_draft_entry_validates_against_the_run_it_will_meet() {
    let Some(corpus) = common::corpus_or_skip(
        "vendor_review::every_corpus_draft_entry_validates_against_the_run_it_will_meet",
    ) else {
        return;
    };
    let base = sample_cluster();
    let today = now().date_naive();
    let mut checked = Vec::new();
    for chart in corpus_charts(&corpus) {
        let name = chart.file_name().unwrap().to_str().unwrap().to_string();
        for ns in [name.as_str(), "kube-system"] {
            let manifests = read_dump_in(
                &chart,
                "unnamed",
                now(),
                format!("manifests:{name}"),
                Some(ns.to_string()),
            )
            .unwrap();
            let has_rbac = !(manifests.cluster_roles.is_empty()
                && manifests.roles.is_empty()
                && manifests.cluster_role_bindings.is_empty()
                && manifests.role_bindings.is_empty()
                && manifests.service_accounts.is_empty());
            if !has_rbac {
                continue;
            }
            let r = review_in(&base, &manifests, ns);
            let text = r.draft_entry(today);
            let inventory = kube_evidence::inventory::parse(&text, "draft", today)
                .unwrap_or_else(|e| panic!("{name} in {ns}: the draft is refused: {e}\n{text}"));
            let id = inventory.sub_processors[0].id.clone();
            let after = installed(&base, &manifests, ns);
            let found = mismatches(&r, &after, &inventory, &id);
            assert!(
                found.is_empty(),
                "{name} in {ns}: the draft meets {found:#?}\n{text}"
            );
            // The level is the least that passes: one less raises KE-SUB-003.
            if let Some((_, below)) = AccessLevel::ALL.iter().rev().find(|(_, l)| *l < r.level) {
                let mut narrower = inventory.clone();
                narrower.sub_processors[0].declared_access = DeclaredAccess {
                    level: Some(*below),
                    rules: Vec::new(),
                };
                let found = mismatches(&r, &after, &narrower, &id);
                assert!(
                    found.iter().any(|f| f.starts_with("KE-SUB-003")),
                    "{name} in {ns}: {} passes where the draft says {}",
                    below.as_str(),
                    r.level.as_str()
                );
            }
            // The report agrees with the draft: a declared identity that the report says
            // reaches cluster-admin makes the draft declare it.
            let ids = &inventory.sub_processors[0].identities;
            let declared = |subject: &str| match subject.split_once(':') {
                Some(("ServiceAccount", sa)) => ids.service_accounts.iter().any(|x| x == sa),
                Some(("User", u)) => ids.users.iter().any(|x| x == u),
                Some(("Group", g)) => ids.groups.iter().any(|x| x == g),
                _ => false,
            };
            if r.identities
                .iter()
                .any(|i| i.cluster_admin.is_some() && declared(&i.subject))
            {
                assert_eq!(r.level, AccessLevel::ClusterAdmin, "{name} in {ns}");
            }
            checked.push(format!("{name} in {ns}: {}", r.level.as_str()));
        }
    }
    // Escalation is among what is checked (prometheus-operator and local-path-provisioner reach
    // cluster-admin by escalation, argo-cd directly).
    assert!(checked.len() >= 36, "{checked:#?}");
    for expected in [
        "argo-cd in argo-cd: cluster-admin",
        "local-path-provisioner in local-path-provisioner: cluster-admin",
        "prometheus-operator in prometheus-operator: cluster-admin",
    ] {
        assert!(
            checked.iter().any(|c| c == expected),
            "{expected}: {checked:#?}"
        );
    }
}

/// Issue 32: the catalog names a chart from its manifests as it names the same objects in a
/// cluster. argo-cd's cluster RBAC names its ServiceAccount only in a binding; the sample
/// cluster runs Argo CD, and `inventory discover` puts that ServiceAccount in the entry `argo-cd`
/// of vendor Argo Project (CNCF): the review and its draft say the same.
#[test]
fn a_chart_gets_the_vendor_the_catalog_gives_its_objects_in_a_cluster() {
    let Some(corpus) = common::corpus_or_skip(
        "vendor_review::a_chart_gets_the_vendor_the_catalog_gives_its_objects_in_a_cluster",
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r");
    let r = review(&corpus.join("argo-cd"), "argocd", &out, &[]);
    r.assert_ok();
    assert!(
        r.stdout
            .starts_with("What Argo CD (Argo Project (CNCF)) would get"),
        "{}",
        r.stdout
    );
    let draft = std::fs::read_to_string(out.join("draft-entry-argocd.yaml")).unwrap();
    assert!(
        draft.contains("- id: \"argo-cd\"\n  name: \"Argo CD\"\n  vendor: \"Argo Project (CNCF)\""),
        "{draft}"
    );
    ke(&[
        "inventory",
        "validate",
        out.join("draft-entry-argocd.yaml").to_str().unwrap(),
    ])
    .assert_ok();
    // In the cluster, discovery gives the same ServiceAccount the same entry.
    let discovered = ke(&["inventory", "discover", "--source", "samples/cluster"]);
    discovered.assert_ok();
    let entry = discovered
        .stdout
        .split("\n- id: ")
        .find(|e| e.contains("\"argocd/argocd-application-controller\""))
        .expect("discovery names the ServiceAccount");
    assert!(
        entry.starts_with("\"argo-cd\"\n  name: \"Argo CD\"\n  vendor: \"Argo Project (CNCF)\""),
        "{entry}"
    );
    // Every corpus chart the catalog knows by one of its ServiceAccounts is named by it.
    let catalog = VendorCatalog::shipped();
    for chart in corpus_charts(&corpus) {
        let name = chart.file_name().unwrap().to_str().unwrap();
        let manifests =
            read_dump_in(&chart, "unnamed", now(), name.into(), Some("x".into())).unwrap();
        let r = review_in(&sample_cluster(), &manifests, "x");
        let known = r.identities.iter().find_map(|i| {
            let sa = i.subject.strip_prefix("ServiceAccount:")?;
            catalog.for_service_account(sa.split_once('/')?.1)
        });
        if manifests.workloads.is_empty()
            && let Some(e) = known
        {
            assert_eq!(
                r.product.as_ref().map(|p| p.0.as_str()),
                Some(e.id.as_str()),
                "{name}"
            );
        }
    }
}

/// Issue 32: an install that would take over an API or admission webhook served by someone else
/// says so, with what serves it now and what would. kube-prometheus's prometheus-adapter
/// registers `v1beta1.metrics.k8s.io`, which the sample cluster's metrics-server serves: a
/// Kubernetes API group changing hands is critical. metrics-server's own manifests, installed
/// where it runs now, replace it with the same Service: high, and nothing is taken over.
#[test]
fn replaced_apiservices_and_webhooks_say_what_serves_them_now_and_after() {
    let Some(corpus) = common::corpus_or_skip(
        "vendor_review::replaced_apiservices_and_webhooks_say_what_serves_them_now_and_after",
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("adapter");
    let r = review(
        &corpus.join("kube-prometheus"),
        "monitoring",
        &out,
        &["--fail-on", "critical"],
    );
    assert_eq!(r.code, 3, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("It would take over what others serve now: APIService v1beta1.metrics.k8s.io (now Service kube-system/metrics-server; the vendor's Service monitoring/prometheus-adapter (TLS not verified))."),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("(1 of them Kubernetes' own); the highest severity is critical"),
        "{}",
        r.stdout
    );
    let html = std::fs::read_to_string(out.join("vendor-review-monitoring.html")).unwrap();
    assert!(
        html.contains("<tr><td>critical</td><td>APIService v1beta1.metrics.k8s.io</td><td>an API of Kubernetes&#39; own group metrics.k8s.io, in the cluster; its requests would be answered by the vendor&#39;s server</td><td>-</td><td>now: Service kube-system/metrics-server<br>the vendor&#39;s: Service monitoring/prometheus-adapter (TLS not verified)</td></tr>"),
        "{html}"
    );

    let out = dir.path().join("upgrade");
    let r = review(&corpus.join("metrics-server"), "kube-system", &out, &[]);
    // The same Service, but upstream's manifest turns TLS verification off
    // (`insecureSkipTLSVerify: true`) where the sample's APIService verifies: the API's answers
    // could then come from anyone on the path, so the replacement is said.
    assert!(
        r.stdout.contains("It would take over what others serve now: APIService v1beta1.metrics.k8s.io (now Service kube-system/metrics-server; the vendor's Service kube-system/metrics-server (TLS not verified))."),
        "{}",
        r.stdout
    );

    // Webhook configurations: the sample's Kyverno validates resources through its own Service;
    // a vendor's configuration of the same name sends the reviews to the vendor.
    let m = dir.path().join("webhook");
    std::fs::create_dir_all(&m).unwrap();
    std::fs::write(
        m.join("hook.yaml"),
        "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingWebhookConfiguration\nmetadata:\n  name: kyverno-resource-validating-webhook-cfg\nwebhooks:\n- name: validate.acme.example\n  clientConfig:\n    service:\n      name: acme-webhook\n  admissionReviewVersions: [v1]\n  sideEffects: None\n",
    )
    .unwrap();
    let out = dir.path().join("hook");
    let r = review(&m, "acme", &out, &["--fail-on", "high"]);
    assert_eq!(r.code, 3, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("It would take over what others serve now: ValidatingWebhookConfiguration kyverno-resource-validating-webhook-cfg (now "),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("the vendor's validate.acme.example -> Service acme/acme-webhook)"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("the highest severity is high"),
        "{}",
        r.stdout
    );
}

// What the vendor review weighs, from manifests written here (moved from `vendor`'s unit tests:
// reading manifests is a higher layer than the review).
fn vendor_objects(text: &str) -> Snapshot {
    read_dump_text(
        "t.yaml",
        text,
        "c",
        chrono::DateTime::from_timestamp(0, 0).unwrap(),
    )
    .unwrap()
}

fn api_service(name: &str, group: &str, service: &str) -> String {
    let (ns, svc) = service.split_once('/').unwrap();
    format!(
        "apiVersion: apiregistration.k8s.io/v1\nkind: APIService\nmetadata: {{name: {name}}}\nspec:\n  group: {group}\n  version: v1\n  service: {{namespace: {ns}, name: {svc}}}\n---\n"
    )
}

fn hook(kind: &str, name: &str, service: &str) -> String {
    let (ns, svc) = service.split_once('/').unwrap();
    format!(
        "apiVersion: admissionregistration.k8s.io/v1\nkind: {kind}\nmetadata: {{name: {name}}}\nwebhooks:\n- name: w.example.com\n  clientConfig:\n    service: {{namespace: {ns}, name: {svc}}}\n---\n"
    )
}

/// What each replaced APIService or webhook configuration weighs: critical when Kubernetes'
/// own changes hands, high for another existing one or an upgrade in place, nothing for a
/// new name (a group kube-apiserver serves is never new).
#[test]
fn replaced_vendor_apis_and_webhooks_are_weighed_by_whose_they_are() {
    let base = vendor_objects(&format!(
        "{}{}{}{}{}",
        api_service(
            "v1beta1.metrics.k8s.io",
            "metrics.k8s.io",
            "kube-system/metrics-server"
        ),
        api_service(
            "v1.widgets.example.com",
            "widgets.example.com",
            "team/widgets"
        ),
        api_service(
            "v1.custom.metrics.k8s.io",
            "custom.metrics.k8s.io",
            "monitoring/adapter"
        ),
        hook(
            "ValidatingWebhookConfiguration",
            "system:policy",
            "kube-system/policy"
        ),
        hook(
            "MutatingWebhookConfiguration",
            "acme-injector",
            "acme/injector"
        ),
    ));
    let manifests = vendor_objects(&format!(
        "{}{}{}{}{}{}{}",
        api_service(
            "v1beta1.metrics.k8s.io",
            "metrics.k8s.io",
            "monitoring/prometheus-adapter"
        ),
        api_service(
            "v1.widgets.example.com",
            "widgets.example.com",
            "vendor/widgets"
        ),
        api_service(
            "v1.custom.metrics.k8s.io",
            "custom.metrics.k8s.io",
            "monitoring/adapter"
        ),
        api_service("v1.apps", "apps", "vendor/apps"),
        api_service("v1.new.example.com", "new.example.com", "vendor/new"),
        hook(
            "ValidatingWebhookConfiguration",
            "system:policy",
            "vendor/policy"
        ),
        hook(
            "MutatingWebhookConfiguration",
            "acme-injector",
            "acme/injector"
        ),
    ));
    let got: Vec<(String, Severity, String, String)> =
        kube_evidence::vendor::review(&ReviewInput {
            base: &base,
            manifests: &manifests,
            namespace: "vendor",
            catalog: &VendorCatalog::shipped(),
            today: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
        })
        .replaced
        .into_iter()
        .map(|r| {
            (
                r.object,
                r.severity,
                r.served_now.join(";"),
                r.served_by_vendor.join(";"),
            )
        })
        .collect();
    let want = |o: &str, s: Severity, now: &str, vendor: &str| {
        (o.to_string(), s, now.to_string(), vendor.to_string())
    };
    assert_eq!(
        got,
        vec![
            want(
                "MutatingWebhookConfiguration acme-injector",
                Severity::High,
                "w.example.com -> Service acme/injector",
                "w.example.com -> Service acme/injector"
            ),
            want(
                "ValidatingWebhookConfiguration system:policy",
                Severity::Critical,
                "w.example.com -> Service kube-system/policy",
                "w.example.com -> Service vendor/policy"
            ),
            want(
                "APIService v1.apps",
                Severity::Critical,
                "kube-apiserver itself (not in what was reviewed against)",
                "Service vendor/apps"
            ),
            want(
                "APIService v1.custom.metrics.k8s.io",
                Severity::High,
                "Service monitoring/adapter",
                "Service monitoring/adapter"
            ),
            want(
                "APIService v1.widgets.example.com",
                Severity::High,
                "Service team/widgets",
                "Service vendor/widgets"
            ),
            want(
                "APIService v1beta1.metrics.k8s.io",
                Severity::Critical,
                "Service kube-system/metrics-server",
                "Service monitoring/prometheus-adapter"
            ),
        ]
    );
}

/// The draft declares cluster-admin for an identity that reaches it only by escalation (it
/// may create pods in its namespace, where a ServiceAccount holds cluster-admin), as
/// KE-SUB-003 would judge it; the identity's own access says so too.
#[test]
fn a_vendor_draft_declares_cluster_admin_reached_by_escalation() {
    let base = vendor_objects(
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: acme}\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {name: admin-sa, namespace: acme}\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: admin-sa}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}\nsubjects:\n- {kind: ServiceAccount, name: admin-sa, namespace: acme}\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: cluster-admin}\nrules:\n- {apiGroups: ['*'], resources: ['*'], verbs: ['*']}\n- {nonResourceURLs: ['*'], verbs: ['*']}\n",
    );
    let manifests = vendor_objects(
        "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: agent, namespace: acme}\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: agent, namespace: acme}\nrules:\n- {apiGroups: [''], resources: [pods], verbs: [create]}\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: agent, namespace: acme}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: agent}\nsubjects:\n- {kind: ServiceAccount, name: agent, namespace: acme}\n",
    );
    let r = kube_evidence::vendor::review(&ReviewInput {
        base: &base,
        manifests: &manifests,
        namespace: "acme",
        catalog: &VendorCatalog::shipped(),
        today: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
    });
    let agent = &r.identities[0];
    assert!(agent.cluster_admin.is_some(), "{agent:?}");
    assert_eq!(agent.level, AccessLevel::ClusterAdmin);
    assert_eq!(r.level, AccessLevel::ClusterAdmin);
    let draft = r.draft_entry(NaiveDate::from_ymd_opt(2026, 1, 1).unwrap());
    assert!(draft.contains("    - \"acme/agent\"\n"), "{draft}");
    assert!(
        draft.ends_with("  declaredAccess:\n    level: cluster-admin\n"),
        "{draft}"
    );
}
