//! The fields of an `audit.k8s.io/v1` `Event` this tool uses, as the API server's log backend
//! writes them (one JSON object per line), and what an event says about the use of access: who,
//! which verb on what, allowed or denied.

use crate::rbac::SubjectRef;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::collections::BTreeMap;

pub const AUDIT_API_VERSION: &str = "audit.k8s.io/v1";
/// The annotation the RBAC authorizer's decision is recorded under.
pub const DECISION_ANNOTATION: &str = "authorization.k8s.io/decision";

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    // Everything but the kind is optional to the parser, so that a line of some other kind is
    // reported as such, not as a missing field; `check` then requires what an event must have.
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub api_version: String,
    #[serde(default, rename = "auditID")]
    pub audit_id: String,
    #[serde(default)]
    pub stage: String,
    #[serde(default)]
    pub level: Option<String>,
    #[serde(default)]
    pub verb: String,
    #[serde(default)]
    pub user: UserInfo,
    #[serde(default)]
    pub impersonated_user: Option<UserInfo>,
    #[serde(default, rename = "sourceIPs")]
    pub source_ips: Vec<String>,
    #[serde(default)]
    pub user_agent: Option<String>,
    #[serde(default)]
    pub object_ref: Option<ObjectReference>,
    #[serde(default, rename = "requestURI")]
    pub request_uri: Option<String>,
    #[serde(default)]
    pub response_status: Option<ResponseStatus>,
    #[serde(default)]
    pub request_received_timestamp: Option<DateTime<Utc>>,
    #[serde(default)]
    pub stage_timestamp: Option<DateTime<Utc>>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct UserInfo {
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub groups: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectReference {
    #[serde(default)]
    pub resource: String,
    #[serde(default)]
    pub subresource: String,
    #[serde(default)]
    pub namespace: String,
    #[serde(default)]
    pub api_group: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ResponseStatus {
    #[serde(default)]
    pub code: Option<u16>,
}

/// What a request asked to do, as RBAC sees it: a verb on a resource (API group, resource,
/// subresource, namespace), or on a non-resource URL.
#[derive(
    Debug,
    Clone,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "camelCase")]
pub struct AccessKey {
    pub verb: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_group: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub resource: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub subresource: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// For a request that is not about a resource (`/healthz`, `/metrics`): its path.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub non_resource_url: String,
}

impl Event {
    /// Checks that this is an event of the version this reader understands.
    pub fn check(&self) -> Result<(), String> {
        if self.kind != "Event" || self.api_version != AUDIT_API_VERSION {
            return Err(format!(
                "not an {AUDIT_API_VERSION} Event (kind `{}`, apiVersion `{}`)",
                self.kind, self.api_version
            ));
        }
        for (field, missing) in [
            ("auditID", self.audit_id.is_empty()),
            ("stage", self.stage.is_empty()),
            ("verb", self.verb.is_empty()),
            ("stageTimestamp", self.stage_timestamp.is_none()),
        ] {
            if missing {
                return Err(format!("an Event without `{field}`"));
            }
        }
        Ok(())
    }

    /// When the event's stage happened (checked to be there by [`Event::check`]).
    pub fn at(&self) -> DateTime<Utc> {
        self.stage_timestamp.unwrap_or_default()
    }

    /// Whether the requester (or the impersonated user) has no name.
    pub fn nameless(&self) -> bool {
        let user = self.impersonated_user.as_ref().unwrap_or(&self.user);
        user.username.trim().is_empty()
    }

    /// The subject RBAC authorised: the impersonated user when there is one.
    pub fn subject(&self) -> SubjectRef {
        let user = self.impersonated_user.as_ref().unwrap_or(&self.user);
        match crate::rbac::subject::parse_sa_username(&user.username) {
            Some((ns, name)) => SubjectRef::service_account(ns, name),
            None => SubjectRef::user(user.username.clone()),
        }
    }

    /// What impersonating used of the requester's own access, as the API server authorises it
    /// (`filters/impersonation.go`): `impersonate` on the ServiceAccount (in its namespace) or
    /// on the user, and on each group asked for. The groups the server adds to an impersonated
    /// identity itself (`system:authenticated`, a ServiceAccount's groups) are not asked for.
    /// An event only carries `impersonatedUser` once the impersonation was allowed.
    pub fn impersonation(&self) -> Option<(SubjectRef, Vec<AccessKey>)> {
        let target = self.impersonated_user.as_ref()?;
        let requester = match crate::rbac::subject::parse_sa_username(&self.user.username) {
            Some((ns, name)) => SubjectRef::service_account(ns, name),
            None => SubjectRef::user(self.user.username.clone()),
        };
        let impersonate = |resource: &str, namespace: &str| AccessKey {
            verb: "impersonate".into(),
            resource: resource.into(),
            namespace: namespace.into(),
            ..AccessKey::default()
        };
        let mut uses = Vec::new();
        let mut added: Vec<String> = vec!["system:authenticated".into()];
        match crate::rbac::subject::parse_sa_username(&target.username) {
            Some((ns, _)) => {
                uses.push(impersonate("serviceaccounts", ns));
                added.push("system:serviceaccounts".into());
                added.push(format!("system:serviceaccounts:{ns}"));
            }
            None if !target.username.is_empty() => uses.push(impersonate("users", "")),
            None => {}
        }
        if target.groups.iter().any(|g| !added.contains(g)) {
            uses.push(impersonate("groups", ""));
        }
        Some((requester, uses))
    }

    /// Denied when the authorizer says `forbid` (or, without the annotation, on a 403).
    pub fn denied(&self) -> bool {
        match self
            .annotations
            .get(DECISION_ANNOTATION)
            .map(String::as_str)
        {
            Some("forbid") => true,
            Some(_) => false,
            None => self.response_status.as_ref().and_then(|s| s.code) == Some(403),
        }
    }

    pub fn access(&self) -> AccessKey {
        match &self.object_ref {
            Some(o) => AccessKey {
                verb: self.verb.clone(),
                api_group: o.api_group.clone(),
                resource: o.resource.clone(),
                subresource: o.subresource.clone(),
                namespace: o.namespace.clone(),
                non_resource_url: String::new(),
            },
            None => AccessKey {
                verb: self.verb.clone(),
                non_resource_url: self
                    .request_uri
                    .as_deref()
                    .unwrap_or_default()
                    .split('?')
                    .next()
                    .unwrap_or_default()
                    .to_string(),
                ..AccessKey::default()
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(json: &str) -> Event {
        serde_json::from_str(json).unwrap()
    }

    const SA_GET: &str = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a1","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/web/secrets/tls","verb":"get","user":{"username":"system:serviceaccount:monitoring:agent","groups":["system:serviceaccounts"]},"sourceIPs":["10.0.0.7"],"userAgent":"agent/1.0","objectRef":{"resource":"secrets","namespace":"web","name":"tls","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":200},"requestReceivedTimestamp":"2026-12-01T10:00:00.000001Z","stageTimestamp":"2026-12-01T10:00:00.002Z","annotations":{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":""}}"#;

    #[test]
    fn a_service_account_request_is_a_use_of_its_access() {
        let e = event(SA_GET);
        e.check().unwrap();
        assert_eq!(
            e.subject(),
            SubjectRef::service_account("monitoring", "agent")
        );
        assert!(!e.denied());
        let k = e.access();
        assert_eq!(
            (k.verb.as_str(), k.resource.as_str(), k.namespace.as_str()),
            ("get", "secrets", "web")
        );
    }

    #[test]
    fn impersonation_is_attributed_to_the_impersonated_user_and_forbid_is_denied() {
        let json = SA_GET
            .replace(
                r#""sourceIPs""#,
                r#""impersonatedUser":{"username":"alice"},"sourceIPs""#,
            )
            .replace(r#"decision":"allow""#, r#"decision":"forbid""#);
        let e = event(&json);
        assert_eq!(e.subject(), SubjectRef::user("alice"));
        assert!(e.denied());
    }

    #[test]
    fn a_non_resource_request_is_keyed_by_its_path_without_the_query() {
        let json = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"b","stage":"ResponseComplete","requestURI":"/readyz?verbose","verb":"get","user":{"username":"admin"},"responseStatus":{"code":403},"requestReceivedTimestamp":"2026-12-01T10:00:00Z","stageTimestamp":"2026-12-01T10:00:00Z"}"#;
        let e = event(json);
        assert_eq!(e.access().non_resource_url, "/readyz");
        assert!(e.denied(), "a 403 without the annotation is a denial");
    }

    #[test]
    fn another_kind_of_object_is_not_an_event() {
        let json = SA_GET.replace(r#""kind":"Event""#, r#""kind":"EventList""#);
        assert!(
            event(&json)
                .check()
                .unwrap_err()
                .contains("not an audit.k8s.io/v1 Event")
        );
    }
}
