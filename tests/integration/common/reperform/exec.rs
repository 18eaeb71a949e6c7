//! Performing an escalation path's moves for real, as the identity each step names: every
//! request is made with that identity's own credential (or its impersonation), so the API
//! server decides each one. Where a move ends at a kubelet (a pod's mounted token, a command in
//! a running pod), which the test control plane does not run, the admin mints the token the
//! kubelet would have mounted; everything before that is the API server's decision.

use super::actor::{Actor, Cred, Plane, Refused};
use base64::Engine;
use kube_evidence::rbac::SubjectRef;
use kube_evidence::rbac::reach::{ExecVia, Move};
use serde_json::{Value, json};

const JSON: &str = "application/json";
const MERGE: &str = "application/merge-patch+json";

/// What a run of moves changed, to put back afterwards.
#[derive(Default)]
pub struct Trail {
    /// Paths of objects created.
    created: Vec<String>,
    /// (path of the object, the object as it was) of objects changed.
    changed: Vec<(String, Value)>,
}

impl Trail {
    /// Deletes what was created and puts back what was changed, as the admin, then waits until
    /// kube-controller-manager has aggregated ClusterRoles again.
    pub async fn undo(self, plane: &Plane) {
        let roles = self
            .created
            .iter()
            .chain(self.changed.iter().map(|(p, _)| p))
            .any(|p| p.contains("/clusterroles/"));
        for path in self.created.into_iter().rev() {
            let _ = plane.admin_call("DELETE", &path, None, JSON).await;
        }
        for (path, original) in self.changed.into_iter().rev() {
            let mut o = original;
            if let Some(m) = o["metadata"].as_object_mut() {
                m.remove("resourceVersion");
                m.remove("managedFields");
            }
            // Replace wholesale (rules, labels and the aggregation rule as they were).
            let current = plane.admin_call("GET", &path, None, JSON).await;
            if let Ok(cur) = current {
                o["metadata"]["resourceVersion"] = cur["metadata"]["resourceVersion"].clone();
            }
            let _ = plane.admin_call("PUT", &path, Some(&o), JSON).await;
        }
        if roles {
            aggregation_settled(plane).await;
        }
    }

    pub fn is_empty(&self) -> bool {
        self.created.is_empty() && self.changed.is_empty()
    }
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::SeqCst)
}

fn group_of(resource: &str) -> (&'static str, &'static str, &'static str) {
    // (apiVersion prefix, apiVersion, kind)
    match resource {
        "pods" => ("/api/v1", "v1", "Pod"),
        "replicationcontrollers" => ("/api/v1", "v1", "ReplicationController"),
        "deployments" => ("/apis/apps/v1", "apps/v1", "Deployment"),
        "daemonsets" => ("/apis/apps/v1", "apps/v1", "DaemonSet"),
        "statefulsets" => ("/apis/apps/v1", "apps/v1", "StatefulSet"),
        "replicasets" => ("/apis/apps/v1", "apps/v1", "ReplicaSet"),
        "jobs" => ("/apis/batch/v1", "batch/v1", "Job"),
        "cronjobs" => ("/apis/batch/v1", "batch/v1", "CronJob"),
        other => panic!("no workload resource {other}"),
    }
}

/// A minimal valid object of a workload resource whose pods run as `sa`.
pub fn workload_object(resource: &str, name: &str, sa: &str) -> Value {
    let (_, api_version, kind) = group_of(resource);
    let pod_spec = json!({"serviceAccountName": sa, "restartPolicy": "Always",
        "containers": [{"name": "c", "image": "registry.invalid/probe:1"}]});
    let template = |restart: &str| {
        let mut s = pod_spec.clone();
        s["restartPolicy"] = json!(restart);
        json!({"metadata": {"labels": {"probe": name}}, "spec": s})
    };
    let selector = json!({"matchLabels": {"probe": name}});
    let spec = match resource {
        "pods" => pod_spec.clone(),
        "replicationcontrollers" => {
            json!({"replicas": 0, "selector": {"probe": name}, "template": template("Always")})
        }
        "deployments" | "replicasets" => {
            json!({"replicas": 0, "selector": selector, "template": template("Always")})
        }
        "statefulsets" => {
            json!({"replicas": 0, "serviceName": name, "selector": selector, "template": template("Always")})
        }
        "daemonsets" => json!({"selector": selector, "template": template("Always")}),
        "jobs" => json!({"suspend": true, "template": template("Never")}),
        "cronjobs" => {
            json!({"schedule": "0 0 1 1 *", "suspend": true, "jobTemplate": {"spec": {"template": template("Never")}}})
        }
        _ => unreachable!(),
    };
    json!({"apiVersion": api_version, "kind": kind, "metadata": {"name": name}, "spec": spec})
}

pub fn workload_collection(resource: &str, ns: &str) -> String {
    let (prefix, _, _) = group_of(resource);
    format!("{prefix}/namespaces/{ns}/{resource}")
}

/// The merge patch that makes an existing workload's pods run as `sa`.
pub fn retarget_patch(resource: &str, sa: &str) -> Value {
    match resource {
        "cronjobs" => {
            json!({"spec": {"jobTemplate": {"spec": {"template": {"spec": {"serviceAccountName": sa}}}}}})
        }
        _ => json!({"spec": {"template": {"spec": {"serviceAccountName": sa}}}}),
    }
}

fn binding_subject(s: &SubjectRef) -> Value {
    match s {
        SubjectRef::ServiceAccount { namespace, name } => {
            json!({"kind": "ServiceAccount", "name": name, "namespace": namespace})
        }
        SubjectRef::User { name } => {
            json!({"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": name})
        }
        SubjectRef::Group { name } => {
            json!({"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": name})
        }
    }
}

pub fn rbac_path(kind: &str, namespace: Option<&str>) -> String {
    let resource = match kind {
        "Role" => "roles",
        "ClusterRole" => "clusterroles",
        "RoleBinding" => "rolebindings",
        "ClusterRoleBinding" => "clusterrolebindings",
        other => panic!("no RBAC kind {other}"),
    };
    match namespace {
        Some(ns) => format!("/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/{resource}"),
        None => format!("/apis/rbac.authorization.k8s.io/v1/{resource}"),
    }
}

fn everything_rule() -> Value {
    json!([{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}])
}

fn why(r: Refused) -> String {
    r.to_string()
}

/// Performs one move as `actor`; returns who the actor is afterwards.
pub async fn perform(
    plane: &Plane,
    actor: &Actor,
    mv: &Move,
    trail: &mut Trail,
) -> Result<Actor, String> {
    match mv {
        Move::MemberOf { .. } => Ok(actor.clone()),
        Move::RunWorkload {
            resource,
            namespace,
            service_account,
        } => {
            let name = format!("ke-probe-{}", unique());
            let collection = workload_collection(resource, namespace);
            let obj = workload_object(resource, &name, service_account);
            plane
                .call(actor, "POST", &collection, Some(&obj), JSON)
                .await
                .map_err(why)?;
            trail.created.push(format!("{collection}/{name}"));
            plane
                .token_for(namespace, service_account)
                .await
                .map_err(why)
        }
        Move::RetargetWorkload {
            resource,
            namespace,
            name,
            service_account,
        } => {
            let path = format!("{}/{name}", workload_collection(resource, namespace));
            let original = plane
                .admin_call("GET", &path, None, JSON)
                .await
                .map_err(why)?;
            let patch = retarget_patch(resource, service_account);
            // A patch, or an update (PUT) of the whole object, whichever the identity holds.
            match plane.call(actor, "PATCH", &path, Some(&patch), MERGE).await {
                Ok(_) => {}
                Err(e) if e.code == 403 => {
                    let mut obj = original.clone();
                    merge(&mut obj, &patch);
                    plane
                        .call(actor, "PUT", &path, Some(&obj), JSON)
                        .await
                        .map_err(why)?;
                }
                Err(e) => return Err(why(e)),
            }
            trail.changed.push((path, original));
            plane
                .token_for(namespace, service_account)
                .await
                .map_err(why)
        }
        Move::RequestToken {
            namespace,
            service_account,
        } => {
            let v = plane
                .call(
                    actor,
                    "POST",
                    &format!("/api/v1/namespaces/{namespace}/serviceaccounts/{service_account}/token"),
                    Some(&json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}})),
                    JSON,
                )
                .await
                .map_err(why)?;
            Ok(token_actor(
                v["status"]["token"].as_str().unwrap_or_default(),
            ))
        }
        Move::ReadTokenSecret {
            verb,
            namespace,
            secret,
            ..
        } => read_token_secret(plane, actor, verb, namespace, secret).await,
        Move::ExecInPod {
            via,
            namespace,
            workload_kind,
            workload,
            service_account,
        } => {
            if workload_kind != "Pod" {
                return Err(format!(
                    "cannot name a pod of {workload_kind} {namespace}/{workload}"
                ));
            }
            exec_in(plane, actor, *via, namespace, workload).await?;
            plane
                .token_for(namespace, service_account)
                .await
                .map_err(why)
        }
        Move::Impersonate { user, groups } => {
            if actor.impersonating.is_some() {
                return Err("already acting through impersonation".into());
            }
            let next = Actor {
                cred: actor.cred.clone(),
                impersonating: Some((user.clone(), groups.clone())),
            };
            plane.who(&next).await.map_err(why)?;
            Ok(next)
        }
        Move::ClientCertificate { user, groups } => {
            client_certificate(plane, actor, user, groups, trail).await
        }
        Move::Bind {
            namespace,
            role_kind,
            role,
            subject,
            existing,
        } => {
            let kind = if namespace.is_some() {
                "RoleBinding"
            } else {
                "ClusterRoleBinding"
            };
            let collection = rbac_path(kind, namespace.as_deref());
            match existing {
                None => {
                    let name = format!("ke-probe-{}", unique());
                    let obj = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind,
                        "metadata": {"name": name},
                        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role},
                        "subjects": [binding_subject(subject)]});
                    plane
                        .call(actor, "POST", &collection, Some(&obj), JSON)
                        .await
                        .map_err(why)?;
                    trail.created.push(format!("{collection}/{name}"));
                }
                Some(b) => {
                    let path = format!("{collection}/{b}");
                    let original = plane
                        .admin_call("GET", &path, None, JSON)
                        .await
                        .map_err(why)?;
                    let mut subjects = original["subjects"].as_array().cloned().unwrap_or_default();
                    subjects.push(binding_subject(subject));
                    plane
                        .call(
                            actor,
                            "PATCH",
                            &path,
                            Some(&json!({"subjects": subjects})),
                            MERGE,
                        )
                        .await
                        .map_err(why)?;
                    trail.changed.push((path, original));
                }
            }
            Ok(actor.clone())
        }
        Move::EscalateRole {
            role_kind,
            namespace,
            role,
            labels,
        } => {
            let path = format!("{}/{role}", rbac_path(role_kind, namespace.as_deref()));
            let original = plane
                .admin_call("GET", &path, None, JSON)
                .await
                .map_err(why)?;
            let mut label_map = serde_json::Map::new();
            for (k, v) in labels {
                label_map.insert(k.clone(), json!(v));
            }
            let patch = json!({"rules": everything_rule(), "aggregationRule": null,
                               "metadata": {"labels": label_map}});
            // An update (PUT) or a patch, whichever the identity holds.
            let mut put = original.clone();
            put["rules"] = everything_rule();
            if let Some(o) = put.as_object_mut() {
                o.remove("aggregationRule");
            }
            for (k, v) in labels {
                put["metadata"]["labels"][k] = json!(v);
            }
            let done = match plane.call(actor, "PUT", &path, Some(&put), JSON).await {
                Ok(_) => Ok(()),
                Err(e) if e.code == 403 => plane
                    .call(actor, "PATCH", &path, Some(&patch), MERGE)
                    .await
                    .map(|_| ())
                    .map_err(why),
                Err(e) => Err(why(e)),
            };
            done?;
            trail.changed.push((path, original));
            if !labels.is_empty() {
                wait_for_aggregation(plane, labels).await;
            }
            Ok(actor.clone())
        }
        Move::CreateRole {
            role_kind,
            namespace,
            role,
            labels,
        } => {
            let collection = rbac_path(role_kind, namespace.as_deref());
            let mut label_map = serde_json::Map::new();
            for (k, v) in labels {
                label_map.insert(k.clone(), json!(v));
            }
            let obj = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": role_kind,
                "metadata": {"name": role, "labels": label_map}, "rules": everything_rule()});
            plane
                .call(actor, "POST", &collection, Some(&obj), JSON)
                .await
                .map_err(why)?;
            trail.created.push(format!("{collection}/{role}"));
            if !labels.is_empty() {
                wait_for_aggregation(plane, labels).await;
            }
            Ok(actor.clone())
        }
        Move::UseClusterAdmin => {
            if plane.is_admin(actor).await {
                Ok(actor.clone())
            } else {
                Err("a SelfSubjectAccessReview of * on * is not allowed".into())
            }
        }
    }
}

pub fn token_actor(token: &str) -> Actor {
    Actor {
        cred: Cred::Token(token.to_string()),
        impersonating: None,
    }
}

async fn read_token_secret(
    plane: &Plane,
    actor: &Actor,
    verb: &str,
    namespace: &str,
    secret: &str,
) -> Result<Actor, String> {
    let base = format!("/api/v1/namespaces/{namespace}/secrets");
    let v = match verb {
        "get" => {
            plane
                .call(actor, "GET", &format!("{base}/{secret}"), None, JSON)
                .await
        }
        "list" => plane
            .call(
                actor,
                "GET",
                &format!("{base}?fieldSelector=metadata.name%3D{secret}"),
                None,
                JSON,
            )
            .await
            .map(|l| l["items"][0].clone()),
        _ => plane
            .call(
                actor,
                "GET",
                &format!("{base}?watch=1&timeoutSeconds=1&fieldSelector=metadata.name%3D{secret}"),
                None,
                JSON,
            )
            .await
            .map(|e| e["object"].clone()),
    }
    .map_err(why)?;
    let token = v["data"]["token"]
        .as_str()
        .and_then(|t| base64::engine::general_purpose::STANDARD.decode(t).ok())
        .ok_or_else(|| format!("Secret {namespace}/{secret} holds no token"))?;
    Ok(token_actor(&String::from_utf8_lossy(&token)))
}

/// A command in a running pod, performed up to the kubelet (which does not run here): the API
/// server must not refuse it (403). An ephemeral container is a dry-run patch.
pub async fn exec_in(
    plane: &Plane,
    actor: &Actor,
    via: ExecVia,
    namespace: &str,
    pod: &str,
) -> Result<(), String> {
    let path = format!("/api/v1/namespaces/{namespace}/pods/{pod}");
    let r = match via {
        ExecVia::PodsExec => plane
            .call(
                actor,
                "POST",
                &format!("{path}/exec?command=id&stdout=true"),
                None,
                JSON,
            )
            .await
            .map(|_| ()),
        ExecVia::EphemeralContainer => plane
            .call(
                actor,
                "PATCH",
                &format!("{path}/ephemeralcontainers?dryRun=All"),
                Some(
                    &json!({"spec": {"ephemeralContainers": [{"name": format!("probe{}", unique()),
                    "image": "registry.invalid/probe:1"}]}}),
                ),
                "application/strategic-merge-patch+json",
            )
            .await
            .map(|_| ()),
        ExecVia::NodeProxy => {
            // The kubelet's exec through the proxy is a GET (WebSocket) or a POST (SPDY): the
            // API server asks `get` or `create` on nodes/proxy.
            let p = plane
                .admin_call("GET", &path, None, JSON)
                .await
                .map_err(why)?;
            let node = p["spec"]["nodeName"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let url = format!("/api/v1/nodes/{node}/proxy/exec/{namespace}/{pod}/c?command=id");
            match plane.call(actor, "GET", &url, None, JSON).await {
                Err(e) if e.code == 403 => plane
                    .call(actor, "POST", &url, None, JSON)
                    .await
                    .map(|_| ()),
                other => other.map(|_| ()),
            }
        }
    };
    match r {
        Ok(()) => Ok(()),
        Err(e) if e.code == 403 || e.code == 401 => Err(e.to_string()),
        // Past authorization: the kubelet (absent here) or the pod's node would answer.
        Err(_) => Ok(()),
    }
}

async fn client_certificate(
    plane: &Plane,
    actor: &Actor,
    user: &str,
    groups: &[String],
    trail: &mut Trail,
) -> Result<Actor, String> {
    let (key, csr) = plane.key_and_csr(user, groups);
    let name = format!("ke-probe-{}", unique());
    let obj = json!({"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
        "metadata": {"name": name},
        "spec": {"request": base64::engine::general_purpose::STANDARD.encode(csr),
                 "signerName": "kubernetes.io/kube-apiserver-client",
                 "expirationSeconds": 3600, "usages": ["client auth"]}});
    let collection = "/apis/certificates.k8s.io/v1/certificatesigningrequests";
    let mut created = plane
        .call(actor, "POST", collection, Some(&obj), JSON)
        .await
        .map_err(why)?;
    trail.created.push(format!("{collection}/{name}"));
    created["status"] = json!({"conditions": [{"type": "Approved", "status": "True",
        "reason": "Probe", "message": "re-performance"}]});
    plane
        .call(
            actor,
            "PUT",
            &format!("{collection}/{name}/approval"),
            Some(&created),
            JSON,
        )
        .await
        .map_err(why)?;
    for _ in 0..200 {
        let v = plane
            .admin_call("GET", &format!("{collection}/{name}"), None, JSON)
            .await
            .map_err(why)?;
        if let Some(c) = v["status"]["certificate"]
            .as_str()
            .filter(|c| !c.is_empty())
        {
            let pem = base64::engine::general_purpose::STANDARD
                .decode(c)
                .map_err(|e| e.to_string())?;
            return Ok(Actor {
                cred: Cred::Cert {
                    cert: String::from_utf8_lossy(&pem).into_owned(),
                    key,
                },
                impersonating: None,
            });
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    Err(format!("CSR {name} was approved but never signed"))
}

/// Waits until kube-controller-manager has aggregated a ClusterRole labelled `labels` into the
/// ClusterRoles whose selectors match them.
async fn wait_for_aggregation(plane: &Plane, labels: &[(String, String)]) {
    for _ in 0..100 {
        let all = plane
            .admin_call(
                "GET",
                "/apis/rbac.authorization.k8s.io/v1/clusterroles",
                None,
                JSON,
            )
            .await
            .unwrap_or_default();
        let pending = all["items"].as_array().into_iter().flatten().any(|cr| {
            let selects = cr["aggregationRule"]["clusterRoleSelectors"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|s| {
                    s["matchLabels"].as_object().is_some_and(|m| {
                        m.iter()
                            .all(|(k, v)| labels.iter().any(|(a, b)| a == k && v == b))
                    })
                });
            selects
                && !cr["rules"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|r| r["verbs"] == json!(["*"]) && r["resources"] == json!(["*"]))
        });
        if !pending {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// A JSON merge patch applied to an object.
pub fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                merge(t.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
        (t, p) => *t = p.clone(),
    }
}

/// Waits until every aggregated ClusterRole holds exactly the rules of the ClusterRoles its
/// selectors match (matchLabels), as kube-controller-manager writes them.
pub async fn aggregation_settled(plane: &Plane) {
    for _ in 0..200 {
        let all = plane
            .admin_call(
                "GET",
                "/apis/rbac.authorization.k8s.io/v1/clusterroles",
                None,
                JSON,
            )
            .await
            .unwrap_or_default();
        let items = all["items"].as_array().cloned().unwrap_or_default();
        let settled = items
            .iter()
            .filter(|cr| cr["aggregationRule"].is_object())
            .all(|agg| {
                let selectors = agg["aggregationRule"]["clusterRoleSelectors"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                let mut expected: Vec<Value> = Vec::new();
                for cr in &items {
                    if cr["metadata"]["name"] == agg["metadata"]["name"] {
                        continue;
                    }
                    let labels = cr["metadata"]["labels"].as_object();
                    let matched = selectors.iter().any(|s| {
                        s["matchExpressions"].is_null()
                            && s["matchLabels"].as_object().is_some_and(|m| {
                                m.iter()
                                    .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
                            })
                    });
                    if matched {
                        for r in cr["rules"].as_array().into_iter().flatten() {
                            if !expected.contains(r) {
                                expected.push(r.clone());
                            }
                        }
                    }
                }
                let stored: Vec<Value> = agg["rules"].as_array().cloned().unwrap_or_default();
                stored.len() == expected.len() && expected.iter().all(|r| stored.contains(r))
            });
        if settled {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
