//! Re-performance on a real API server: random clusters ([`generator`]) loaded into the test
//! kube-apiserver, identities to act as ([`actor`]), the engine's paths performed move by move
//! ([`exec`]), and a search that performs moves itself, without the engine ([`oracle`]).

pub mod actor;
pub mod exec;
pub mod generator;
pub mod oracle;

use crate::common::controlplane::{self as cp, ControlPlane};
use actor::{Actor, Plane};
use generator::Generated;
use kube_evidence::rbac::SubjectRef;
use kube_evidence::snapshot::Snapshot;

/// Loads a generated cluster as the admin, and waits until kube-controller-manager has
/// aggregated its aggregated ClusterRoles and filled its legacy token Secrets.
pub async fn load(plane: &Plane, g: &Generated) {
    cp::apply_all(&plane.admin, &g.objects, false)
        .await
        .unwrap_or_else(|e| panic!("seed {}: loading failed:\n{e}", g.seed));
    exec::aggregation_settled(plane).await;
    for (ns, secret, _) in &g.token_secrets {
        let path = format!("/api/v1/namespaces/{ns}/secrets/{secret}");
        wait(|| async {
            let v = plane
                .admin_call("GET", &path, None, "application/json")
                .await
                .ok()?;
            v["data"]["token"].is_string().then_some(())
        })
        .await;
    }
}

/// Deletes a generated cluster's objects (its namespaces stay, empty: no namespace controller
/// runs here to finish deleting them, and every cluster's names are its own).
pub async fn unload(plane: &Plane, g: &Generated) {
    for o in g.objects.iter().rev() {
        if o["kind"] == "Namespace" {
            continue;
        }
        let (collection, name) = cp::object_path(o);
        let _ = plane
            .admin_call(
                "DELETE",
                &format!("{collection}/{name}?gracePeriodSeconds=0"),
                None,
                "application/json",
            )
            .await;
    }
    exec::aggregation_settled(plane).await;
}

async fn wait<F, Fut>(mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<()>>,
{
    for _ in 0..200 {
        if f().await.is_some() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// A snapshot of the live cluster through the tool's own collection (token Secrets included).
pub async fn collect(plane_dir: &ControlPlane) -> Snapshot {
    use kube_evidence::source::cluster::{ClusterOptions, ClusterSource};
    use kube_evidence::source::{CollectContext, Source};
    let source = ClusterSource::connect(ClusterOptions {
        kubeconfig: Some(plane_dir.kubeconfig.clone()),
        collect_token_secrets: true,
        ..Default::default()
    })
    .await
    .unwrap();
    source
        .collect(&CollectContext {
            cluster_name: "reperform",
            taken_at: chrono::Utc::now(),
            progress: &kube_evidence::progress::NoProgress,
        })
        .await
        .unwrap()
}

/// A credential for a subject to start from: a certificate for a user (in no group but
/// `system:authenticated`), a certificate of a user bound nowhere in the group, a token for a
/// ServiceAccount.
pub async fn start_as(plane: &Plane, tag: &str, s: &SubjectRef) -> Actor {
    match s {
        SubjectRef::User { name } => plane.certificate(name, &[]),
        SubjectRef::Group { name } => {
            plane.certificate(&format!("{tag}-member"), std::slice::from_ref(name))
        }
        SubjectRef::ServiceAccount { namespace, name } => plane
            .token_for(namespace, name)
            .await
            .unwrap_or_else(|e| panic!("token for {namespace}/{name}: {e}")),
    }
}

/// Every subject a generated cluster names.
pub fn subjects(g: &Generated) -> Vec<SubjectRef> {
    let mut out: Vec<SubjectRef> = g.users.iter().map(SubjectRef::user).collect();
    out.extend(g.groups.iter().map(SubjectRef::group));
    out.extend(
        g.service_accounts
            .iter()
            .map(|(ns, n)| SubjectRef::service_account(ns, n)),
    );
    out
}
