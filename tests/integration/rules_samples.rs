//! The risk rules on the bundled sample cluster: every deliberate problem is found, with the
//! grants behind it, and system components are kept apart.

use crate::common;
use kube_evidence::rules::RuleId;

use chrono::DateTime;
use kube_evidence::analysis::{Analysis, analyze_rbac};
use kube_evidence::finding::Finding;
use kube_evidence::rbac::SubjectRef;
use kube_evidence::rbac::privilege::AdminReach;
use kube_evidence::source::dump::read_dump;

fn analysis() -> Analysis {
    let s = read_dump(
        &common::samples().join("cluster"),
        "sample",
        DateTime::from_timestamp(0, 0).unwrap(),
        "t".into(),
    )
    .unwrap();
    analyze_rbac(&s).analysis
}

fn find<'a>(a: &'a Analysis, rule: &str, subject: &SubjectRef) -> &'a Finding {
    a.findings
        .iter()
        .find(|f| f.rule_id.as_str() == rule && f.subjects.contains(subject))
        .unwrap_or_else(|| panic!("no {rule} for {subject}"))
}

fn find_object<'a>(a: &'a Analysis, rule: &str, object: &str) -> &'a Finding {
    a.findings
        .iter()
        .find(|f| f.rule_id.as_str() == rule && f.objects.iter().any(|o| o.to_string() == object))
        .unwrap_or_else(|| panic!("no {rule} for {object}"))
}

#[test]
fn cluster_admin_bound_to_a_vendor() {
    let a = analysis();
    let f = find(
        &a,
        "KE-RBAC-001",
        &SubjectRef::service_account("velero", "velero"),
    );
    assert!(!f.system);
    assert_eq!(f.grants.iter().next().unwrap().binding.name, "velero");
    assert_eq!(f.grants.iter().next().unwrap().role.name, "cluster-admin");
    assert!(f.namespaces.is_empty(), "cluster-wide");
}

#[test]
fn wildcard_role() {
    let a = analysis();
    let f = find(
        &a,
        "KE-RBAC-002",
        &SubjectRef::user("oidc:dave@example.com"),
    );
    assert_eq!(
        f.grants.iter().next().unwrap().role.name,
        "platform-superuser"
    );
    // argo-cd's controller holds `*` on `*` cluster-wide: that is cluster-admin (reported once, as such)
    find(
        &a,
        "KE-RBAC-001",
        &SubjectRef::service_account("argocd", "argocd-application-controller"),
    );
}

#[test]
fn default_service_account_bound() {
    let a = analysis();
    let f = find(
        &a,
        "KE-RBAC-021",
        &SubjectRef::service_account("payments", "default"),
    );
    assert_eq!(f.grants.iter().next().unwrap().binding.name, "default-edit");
    assert_eq!(f.namespaces, vec!["payments"]);
}

#[test]
fn unauthenticated_access() {
    let a = analysis();
    let f = find(
        &a,
        "KE-RBAC-018",
        &SubjectRef::group("system:unauthenticated"),
    );
    assert_eq!(
        f.grants.iter().next().unwrap().binding.name,
        "public-status-read"
    );
    assert!(!f.system);
    // the API server's own public-info-viewer binding is not a finding
    assert!(
        !f.grants
            .iter()
            .any(|g| g.binding.name == "system:public-info-viewer")
    );
}

#[test]
fn binding_hygiene() {
    let a = analysis();
    let f = find_object(&a, "KE-RBAC-023", "RoleBinding checkout/legacy-deployer");
    assert_eq!(
        f.subjects,
        vec![SubjectRef::service_account("checkout", "legacy-deployer")]
    );
    find_object(&a, "KE-RBAC-022", "RoleBinding web/web-ops");
    let t = find_object(&a, "KE-RBAC-024", "Secret payments/payments-deployer-token");
    assert_eq!(
        t.subjects,
        vec![SubjectRef::service_account("payments", "payments-deployer")]
    );
    let agg = find_object(&a, "KE-RBAC-025", "ClusterRole kubecost-view");
    assert!(
        agg.subjects.contains(&SubjectRef::group("oidc:auditors")),
        "everyone bound to view is named"
    );
}

#[test]
fn secrets_readers_with_provenance_through_aggregation() {
    let a = analysis();
    // the auditors read Secrets only because kubecost-view aggregates into view
    let f = find(&a, "KE-RBAC-003", &SubjectRef::group("oidc:auditors"));
    assert!(
        f.grants
            .iter()
            .any(|g| g.role.name == "view" && g.source_role.as_deref() == Some("kubecost-view"))
    );
    find(
        &a,
        "KE-RBAC-003",
        &SubjectRef::service_account("sysdig-agent", "sysdig-agent"),
    );
}

#[test]
fn escalation_paths_to_cluster_admin() {
    let a = analysis();
    // datadog's agent reaches cluster-admin through the kubelet API; its path is in the table.
    let datadog = SubjectRef::service_account("datadog", "datadog-agent");
    let entry = a
        .privilege
        .iter()
        .find(|p| p.subject == datadog)
        .expect("datadog reaches cluster-admin");
    let AdminReach::Escalation { path, .. } = &entry.reach else {
        panic!("by escalation")
    };
    assert!(path.len() >= 2);
    assert!(path[0].action.contains("nodes/proxy"), "{:?}", path[0]);
    assert_eq!(path.last().unwrap().to, "cluster-admin");
    assert!(path[0].grant.is_some(), "each step names its grant");
    // ... and its finding is about the binding that gives it the first step.
    let f = find(&a, "KE-RBAC-026", &datadog);
    assert_eq!(
        f.cause.as_deref(),
        Some(path[0].grant.as_ref().unwrap().binding.to_string().as_str())
    );
    assert_eq!(f.cause.as_deref(), Some("ClusterRoleBinding datadog-agent"));
    // argo-cd's server can patch any Deployment that exists, so run one as the application
    // controller: its own way in, through its own binding.
    let server = SubjectRef::service_account("argocd", "argocd-server");
    let g = find(&a, "KE-RBAC-026", &server);
    assert!(
        matches!(&g.path[0].mv, Some(kube_evidence::rbac::reach::Move::RetargetWorkload { resource, .. }) if resource == "deployments"),
        "{:?}",
        g.path[0]
    );
    assert_eq!(g.path[0].from, "ServiceAccount:argocd/argocd-server");
    assert_eq!(
        g.path[0].to,
        "ServiceAccount:argocd/argocd-application-controller"
    );
    // cluster-admins themselves are KE-RBAC-001, not escalation findings
    assert!(!a.findings.iter().any(|f| f.rule_id == RuleId::Rbac026
        && f.subjects == vec![SubjectRef::service_account("velero", "velero")]));
}

#[test]
fn system_components_are_kept_apart() {
    let a = analysis();
    let gc = find(
        &a,
        "KE-RBAC-002",
        &SubjectRef::service_account("kube-system", "generic-garbage-collector"),
    );
    assert!(gc.system);
    let masters = find(&a, "KE-RBAC-001", &SubjectRef::group("system:masters"));
    assert!(masters.system);
    assert!(a.findings.iter().filter(|f| f.system).count() > 5);
    for f in a.findings.iter().filter(|f| !f.system) {
        for s in &f.subjects {
            assert!(
                !kube_evidence::rules::system::is_system_subject(s),
                "{} on a system subject not marked",
                f.id
            );
        }
    }
}

#[test]
fn findings_are_deterministic_and_ids_stable() {
    let a = analysis();
    let b = analysis();
    assert_eq!(
        serde_json::to_string(&a).unwrap(),
        serde_json::to_string(&b).unwrap()
    );
    let f = find(
        &a,
        "KE-RBAC-001",
        &SubjectRef::service_account("velero", "velero"),
    );
    assert_eq!(
        f.id,
        Finding::make_id("KE-RBAC-001", "ServiceAccount:velero/velero")
    );
}

#[test]
fn access_matrix_columns() {
    let a = analysis();
    let row = a
        .matrix
        .iter()
        .find(|r| r.subject == SubjectRef::service_account("datadog", "datadog-agent"))
        .unwrap();
    assert_eq!(
        row.cells.get("nodeProxy").map(String::as_str),
        Some("cluster-wide")
    );
    assert!(row.cells["clusterAdmin"].starts_with("via escalation"));
    let velero = a
        .matrix
        .iter()
        .find(|r| r.subject == SubjectRef::service_account("velero", "velero"))
        .unwrap();
    assert_eq!(velero.cells["clusterAdmin"], "direct");
}
