//! Acting as an identity on the test API server: its credential (a token, a client certificate
//! from the control plane's client CA, or the admin's impersonation of it where only that is
//! possible), requests made with it, and what the API server says it is.

use crate::common::controlplane::{ControlPlane, request, request_with_headers};
use base64::Engine;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// A credential of its own.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Cred {
    Token(String),
    Cert { cert: String, key: String },
}

/// Who requests are made as: a credential, maybe with impersonation headers.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Actor {
    pub cred: Cred,
    /// (user, groups) impersonated with the credential's own rights.
    pub impersonating: Option<(String, Vec<String>)>,
}

/// What the API server says an actor is (SelfSubjectReview).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Who {
    pub username: String,
    pub groups: Vec<String>,
    pub impersonated: bool,
}

/// An API answer that is not a success: the HTTP code and the message.
#[derive(Debug, Clone)]
pub struct Refused {
    pub code: u16,
    pub message: String,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.code, self.message)
    }
}

/// A certificate's subject: (CN, every O).
type Subject = (String, Vec<String>);
/// A private key and a certificate signing request for it (PEM).
type KeyAndCsr = (String, String);

/// The test API server, its admin, and the client CA that mints users' certificates.
pub struct Plane {
    pub url: String,
    ca_pem: String,
    client_ca_cert: PathBuf,
    client_ca_key: PathBuf,
    pub admin: kube::Client,
    /// Connections by client certificate (`None`: the one tokens share).
    clients: Mutex<HashMap<Option<(String, String)>, kube::Client>>,
    work: tempfile::TempDir,
    /// Certificates issued and keys with CSRs made, by (user, groups): an identity is its
    /// subject, so one of each is enough (openssl's start-up was a sixth of the oracle's time).
    issued: Mutex<HashMap<Subject, Actor>>,
    requests_made: Mutex<HashMap<Subject, KeyAndCsr>>,
}

fn env_of(dir: &Path) -> BTreeMap<String, String> {
    std::fs::read_to_string(dir.join("env"))
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

impl Plane {
    pub async fn of(cp: &ControlPlane) -> Plane {
        let env = env_of(&cp.dir);
        Plane {
            url: cp.url.clone(),
            ca_pem: std::fs::read_to_string(&cp.ca_file).unwrap(),
            client_ca_cert: PathBuf::from(&env["CLIENT_CA_CERT"]),
            client_ca_key: PathBuf::from(&env["CLIENT_CA_KEY"]),
            admin: cp.client().await,
            clients: Mutex::new(HashMap::new()),
            work: tempfile::tempdir().unwrap(),
            issued: Mutex::new(HashMap::new()),
            requests_made: Mutex::new(HashMap::new()),
        }
    }

    /// The connection `actor`'s requests travel on: one per client certificate (the
    /// certificate is presented in the TLS handshake), and one without any credential that every
    /// token shares (a token is a header). Built once each: a new TLS connection per identity
    /// was most of the oracle's time (a handshake for every token and every impersonation).
    async fn transport(&self, actor: &Actor) -> kube::Client {
        let key = match &actor.cred {
            Cred::Token(_) => None,
            Cred::Cert { cert, key } => Some((cert.clone(), key.clone())),
        };
        if let Some(c) = self.clients.lock().unwrap().get(&key) {
            return c.clone();
        }
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let user = match &key {
            None => json!({}),
            Some((cert, key)) => {
                json!({"client-certificate-data": b64(cert), "client-key-data": b64(key)})
            }
        };
        let kubeconfig = json!({
            "apiVersion": "v1", "kind": "Config",
            "clusters": [{"name": "t", "cluster": {"server": self.url, "certificate-authority-data": b64(&self.ca_pem)}}],
            "users": [{"name": "u", "user": user}],
            "contexts": [{"name": "t", "context": {"cluster": "t", "user": "u"}}],
            "current-context": "t",
        });
        kube_evidence::tls::ensure_crypto_provider();
        let file = kube::config::Kubeconfig::from_yaml(&kubeconfig.to_string()).unwrap();
        let config = kube::Config::from_custom_kubeconfig(file, &Default::default())
            .await
            .unwrap();
        let client = kube::Client::try_from(config).unwrap();
        self.clients.lock().unwrap().insert(key, client.clone());
        client
    }

    /// A request as `actor`: the JSON answer, or the code and message of a refusal.
    pub async fn call(
        &self,
        actor: &Actor,
        method: &str,
        path: &str,
        body: Option<&Value>,
        content_type: &str,
    ) -> Result<Value, Refused> {
        self.call_with(actor, method, path, body, content_type, &[])
            .await
    }

    /// [`Plane::call`] with extra headers. The credential's token and the impersonation are
    /// headers too, as kubectl sends them (`Authorization: Bearer`, `Impersonate-User`, one
    /// `Impersonate-Group` per group).
    pub async fn call_with(
        &self,
        actor: &Actor,
        method: &str,
        path: &str,
        body: Option<&Value>,
        content_type: &str,
        extra: &[(&str, &str)],
    ) -> Result<Value, Refused> {
        let mut headers: Vec<(String, String)> = Vec::new();
        if let Cred::Token(t) = &actor.cred {
            headers.push(("Authorization".into(), format!("Bearer {t}")));
        }
        if let Some((user, groups)) = &actor.impersonating {
            headers.push(("Impersonate-User".into(), user.clone()));
            for g in groups {
                headers.push(("Impersonate-Group".into(), g.clone()));
            }
        }
        headers.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let client = self.transport(actor).await;
        request_with_headers(&client, method, path, body, content_type, &headers)
            .await
            .map_err(refused)
    }

    pub async fn admin_call(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        content_type: &str,
    ) -> Result<Value, Refused> {
        raw(&self.admin, method, path, body, content_type).await
    }

    /// Who the API server takes `actor` for.
    pub async fn who(&self, actor: &Actor) -> Result<Who, Refused> {
        let v = self
            .call(
                actor,
                "POST",
                "/apis/authentication.k8s.io/v1/selfsubjectreviews",
                Some(
                    &json!({"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}),
                ),
                "application/json",
            )
            .await?;
        let info = &v["status"]["userInfo"];
        let mut groups: Vec<String> = info["groups"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|g| g.as_str().map(String::from))
            .collect();
        groups.sort();
        Ok(Who {
            username: info["username"].as_str().unwrap_or_default().to_string(),
            groups,
            impersonated: actor.impersonating.is_some(),
        })
    }

    /// Whether `actor` may do `verb` on `group/resource[/sub]` (SelfSubjectAccessReview).
    /// `what` is (API group, resource, subresource).
    pub async fn can(
        &self,
        actor: &Actor,
        verb: &str,
        what: (&str, &str, &str),
        namespace: &str,
        name: &str,
    ) -> bool {
        let (group, resource, sub) = what;
        let body = json!({
            "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": {"verb": verb, "group": group, "resource": resource,
                     "subresource": sub, "namespace": namespace, "name": name}}
        });
        self.call(
            actor,
            "POST",
            "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
            Some(&body),
            "application/json",
        )
        .await
        .map(|v| v["status"]["allowed"] == json!(true))
        .unwrap_or(false)
    }

    /// The resource rules the API server lists for `actor` in `namespace`
    /// (SelfSubjectRulesReview); `None` when it says the list is incomplete, or refuses.
    pub async fn rules(&self, actor: &Actor, namespace: &str) -> Option<Vec<Value>> {
        let body = json!({
            "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectRulesReview",
            "spec": {"namespace": namespace}
        });
        let v = self
            .call(
                actor,
                "POST",
                "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
                Some(&body),
                "application/json",
            )
            .await
            .ok()?;
        if v["status"]["incomplete"] == json!(true) {
            return None;
        }
        Some(
            v["status"]["resourceRules"]
                .as_array()
                .cloned()
                .unwrap_or_default(),
        )
    }

    /// Cluster-admin: every verb on every resource in every group, cluster-wide.
    pub async fn is_admin(&self, actor: &Actor) -> bool {
        self.can(actor, "*", ("*", "*", ""), "", "").await
    }

    /// A token for a ServiceAccount, minted by the admin (what a kubelet mounts in a pod).
    pub async fn token_for(&self, namespace: &str, name: &str) -> Result<Actor, Refused> {
        let v = self
            .admin_call(
                "POST",
                &format!("/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token"),
                Some(
                    &json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                             "spec": {"expirationSeconds": 3600}}),
                ),
                "application/json",
            )
            .await?;
        Ok(Actor {
            cred: Cred::Token(v["status"]["token"].as_str().unwrap_or_default().into()),
            impersonating: None,
        })
    }

    /// A client certificate from the control plane's client CA (as its administrator would
    /// issue one to a person): CN `user`, O each of `groups`.
    pub fn certificate(&self, user: &str, groups: &[String]) -> Actor {
        let subject = (user.to_string(), groups.to_vec());
        if let Some(actor) = self.issued.lock().unwrap().get(&subject) {
            return actor.clone();
        }
        let actor = self.issue(user, groups);
        self.issued.lock().unwrap().insert(subject, actor.clone());
        actor
    }

    fn issue(&self, user: &str, groups: &[String]) -> Actor {
        let (key, csr) = self.key_and_csr(user, groups);
        let dir = self.work.path();
        let n = unique();
        let csr_file = dir.join(format!("c{n}.csr"));
        let crt_file = dir.join(format!("c{n}.crt"));
        std::fs::write(&csr_file, &csr).unwrap();
        // Extensions make it an X.509 v3 certificate, which TLS clients require.
        let ext = dir.join(format!("c{n}.ext"));
        std::fs::write(
            &ext,
            "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n",
        )
        .unwrap();
        let out = Command::new("openssl")
            .args(["x509", "-req", "-days", "1", "-CAcreateserial"])
            .arg("-extfile")
            .arg(&ext)
            .arg("-in")
            .arg(&csr_file)
            .arg("-CA")
            .arg(&self.client_ca_cert)
            .arg("-CAkey")
            .arg(&self.client_ca_key)
            .arg("-out")
            .arg(&crt_file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Actor {
            cred: Cred::Cert {
                cert: std::fs::read_to_string(&crt_file).unwrap(),
                key,
            },
            impersonating: None,
        }
    }

    /// A new EC key and a CSR for CN `user`, O `groups` (PEM).
    pub fn key_and_csr(&self, user: &str, groups: &[String]) -> (String, String) {
        let subject = (user.to_string(), groups.to_vec());
        if let Some(made) = self.requests_made.lock().unwrap().get(&subject) {
            return made.clone();
        }
        let made = self.new_key_and_csr(user, groups);
        self.requests_made
            .lock()
            .unwrap()
            .insert(subject, made.clone());
        made
    }

    fn new_key_and_csr(&self, user: &str, groups: &[String]) -> (String, String) {
        let dir = self.work.path();
        let n = unique();
        let key = dir.join(format!("k{n}.pem"));
        let csr = dir.join(format!("k{n}.csr"));
        let mut subj = format!("/CN={}", escape_dn(user));
        for g in groups {
            subj.push_str(&format!("/O={}", escape_dn(g)));
        }
        let out = Command::new("openssl")
            .args([
                "req",
                "-new",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
            ])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&csr)
            .args(["-subj", &subj])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        (
            std::fs::read_to_string(&key).unwrap(),
            std::fs::read_to_string(&csr).unwrap(),
        )
    }
}

fn escape_dn(s: &str) -> String {
    s.replace('\\', "\\\\").replace('/', "\\/")
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::SeqCst)
}

/// A raw request; a refusal keeps its HTTP code.
pub async fn raw(
    client: &kube::Client,
    method: &str,
    path: &str,
    body: Option<&Value>,
    content_type: &str,
) -> Result<Value, Refused> {
    request(client, method, path, body, content_type)
        .await
        .map_err(refused)
}

/// A refusal from the message `request` gives, which starts with the HTTP code.
fn refused(e: String) -> Refused {
    let code = e
        .split_whitespace()
        .next()
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    Refused { code, message: e }
}
