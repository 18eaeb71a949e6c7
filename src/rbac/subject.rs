//! Identities: who a request is made as, and which binding subjects apply to them.
//!
//! A ServiceAccount is the user `system:serviceaccount:<ns>:<name>` and a member of
//! `system:serviceaccounts`, `system:serviceaccounts:<ns>` and `system:authenticated`. A user is a
//! member of `system:authenticated` (`system:anonymous` of `system:unauthenticated` instead) plus
//! the groups the caller names. Groups are never expanded to guessed members.

use crate::snapshot::Subject;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt;

pub const SA_USER_PREFIX: &str = "system:serviceaccount:";
pub const ALL_SERVICE_ACCOUNTS: &str = "system:serviceaccounts";
pub const AUTHENTICATED: &str = "system:authenticated";
pub const UNAUTHENTICATED: &str = "system:unauthenticated";
pub const ANONYMOUS: &str = "system:anonymous";
/// Members bypass RBAC entirely (the API server's privileged-group authorizer).
pub const MASTERS: &str = "system:masters";

/// Groups every user, or every ServiceAccount, is in: a grant through them is nobody's own.
pub fn is_everyone_group(name: &str) -> bool {
    matches!(name, AUTHENTICATED | UNAUTHENTICATED | ALL_SERVICE_ACCOUNTS)
}

impl SubjectRef {
    /// A grant "through" this binding subject is the holder's own: the holder itself, or a
    /// group other than the ones everybody is in.
    pub fn is_own_grant_path(&self) -> bool {
        !matches!(self, SubjectRef::Group { name } if is_everyone_group(name))
    }
}

/// A subject as the tool reports it: a user, a group, or a ServiceAccount.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(tag = "kind")]
pub enum SubjectRef {
    User { name: String },
    Group { name: String },
    ServiceAccount { namespace: String, name: String },
}

impl SubjectRef {
    pub fn user(name: impl Into<String>) -> Self {
        SubjectRef::User { name: name.into() }
    }

    pub fn group(name: impl Into<String>) -> Self {
        SubjectRef::Group { name: name.into() }
    }

    pub fn service_account(namespace: impl Into<String>, name: impl Into<String>) -> Self {
        SubjectRef::ServiceAccount {
            namespace: namespace.into(),
            name: name.into(),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            SubjectRef::User { .. } => "User",
            SubjectRef::Group { .. } => "Group",
            SubjectRef::ServiceAccount { .. } => "ServiceAccount",
        }
    }

    pub fn name(&self) -> &str {
        match self {
            SubjectRef::User { name }
            | SubjectRef::Group { name }
            | SubjectRef::ServiceAccount { name, .. } => name,
        }
    }

    pub fn namespace(&self) -> Option<&str> {
        match self {
            SubjectRef::ServiceAccount { namespace, .. } => Some(namespace),
            _ => None,
        }
    }

    /// The subject a binding names, resolved as the authorizer does: a ServiceAccount without a
    /// namespace takes the RoleBinding's namespace (and names nobody in a ClusterRoleBinding); a
    /// User named `system:serviceaccount:<ns>:<name>` is that ServiceAccount.
    pub fn from_binding_subject(
        s: &Subject,
        binding_namespace: Option<&str>,
    ) -> Option<SubjectRef> {
        // A subject without a name applies to nobody (the loaders refuse one; this is the
        // backstop for snapshots from elsewhere).
        if s.name.trim().is_empty() {
            return None;
        }
        match s.kind.as_str() {
            "User" => Some(match parse_sa_username(&s.name) {
                Some((ns, name)) => SubjectRef::service_account(ns, name),
                None => SubjectRef::user(&s.name),
            }),
            "Group" => Some(SubjectRef::group(&s.name)),
            "ServiceAccount" => {
                let ns = s
                    .namespace
                    .as_deref()
                    .filter(|n| !n.is_empty())
                    .or(binding_namespace)?;
                Some(SubjectRef::service_account(ns, &s.name))
            }
            _ => None,
        }
    }

    /// Parses `User:NAME`, `Group:NAME` or `ServiceAccount:NS/NAME` (also `sa:` and the username
    /// form `system:serviceaccount:NS:NAME`).
    pub fn parse(text: &str) -> Result<SubjectRef, String> {
        if let Some((ns, name)) = parse_sa_username(text) {
            return Ok(SubjectRef::service_account(ns, name));
        }
        let (kind, rest) = text.split_once(':').ok_or_else(|| {
            format!("`{text}` is not a subject; write User:NAME, Group:NAME or ServiceAccount:NAMESPACE/NAME")
        })?;
        if rest.is_empty() {
            return Err(format!("`{text}` names no subject after `{kind}:`"));
        }
        match kind.to_ascii_lowercase().as_str() {
            "user" => Ok(SubjectRef::user(rest)),
            "group" => Ok(SubjectRef::group(rest)),
            "serviceaccount" | "sa" => match rest.split_once('/') {
                Some((ns, name)) if !ns.is_empty() && !name.is_empty() && !name.contains('/') => {
                    Ok(SubjectRef::service_account(ns, name))
                }
                _ => Err(format!(
                    "`{text}`: a ServiceAccount is written ServiceAccount:NAMESPACE/NAME"
                )),
            },
            _ => Err(format!(
                "`{text}`: unknown subject kind `{kind}`; expected User, Group or ServiceAccount"
            )),
        }
    }

    /// A stable key for maps and finding IDs.
    pub fn key(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for SubjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubjectRef::User { name } => write!(f, "User:{name}"),
            SubjectRef::Group { name } => write!(f, "Group:{name}"),
            SubjectRef::ServiceAccount { namespace, name } => {
                write!(f, "ServiceAccount:{namespace}/{name}")
            }
        }
    }
}

/// `system:serviceaccount:<ns>:<name>` -> (ns, name).
pub fn parse_sa_username(username: &str) -> Option<(&str, &str)> {
    let rest = username.strip_prefix(SA_USER_PREFIX)?;
    let (ns, name) = rest.split_once(':')?;
    (!ns.is_empty() && !name.is_empty() && !name.contains(':')).then_some((ns, name))
}

/// Who a request is made as: a username and the groups the user is in. A Group subject is
/// modelled as a nameless identity that is a member of just that group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub subject: SubjectRef,
    /// The username the authorizer compares User subjects with (empty for a Group).
    pub username: String,
    pub groups: Vec<String>,
}

impl Identity {
    /// The identity of a subject, with its implicit groups and any extra groups asked about.
    pub fn of(subject: &SubjectRef, extra_groups: &[String]) -> Identity {
        let (username, mut groups) = match subject {
            SubjectRef::User { name } if name == ANONYMOUS => {
                (name.clone(), vec![UNAUTHENTICATED.to_string()])
            }
            SubjectRef::User { name } => (name.clone(), vec![AUTHENTICATED.to_string()]),
            SubjectRef::Group { name } => (String::new(), vec![name.clone()]),
            SubjectRef::ServiceAccount { namespace, name } => (
                format!("{SA_USER_PREFIX}{namespace}:{name}"),
                vec![
                    ALL_SERVICE_ACCOUNTS.to_string(),
                    format!("{ALL_SERVICE_ACCOUNTS}:{namespace}"),
                    AUTHENTICATED.to_string(),
                ],
            ),
        };
        for g in extra_groups {
            if !groups.contains(g) {
                groups.push(g.clone());
            }
        }
        Identity {
            subject: subject.clone(),
            username,
            groups,
        }
    }

    pub fn in_group(&self, group: &str) -> bool {
        self.groups.iter().any(|g| g == group)
    }

    /// `appliesToUser` of the Kubernetes RBAC authorizer.
    pub fn matches(&self, s: &Subject, binding_namespace: Option<&str>) -> bool {
        match s.kind.as_str() {
            "User" => !self.username.is_empty() && self.username == s.name,
            "Group" => self.in_group(&s.name),
            "ServiceAccount" => {
                let ns = s
                    .namespace
                    .as_deref()
                    .filter(|n| !n.is_empty())
                    .or(binding_namespace.filter(|n| !n.is_empty()));
                match ns {
                    Some(ns) => self.username == format!("{SA_USER_PREFIX}{ns}:{}", s.name),
                    None => false,
                }
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject(kind: &str, name: &str, ns: Option<&str>) -> Subject {
        Subject {
            kind: kind.into(),
            name: name.into(),
            namespace: ns.map(Into::into),
            api_group: None,
        }
    }

    #[test]
    fn parses_subject_strings() {
        assert_eq!(
            SubjectRef::parse("User:alice@example.com").unwrap(),
            SubjectRef::user("alice@example.com")
        );
        assert_eq!(
            SubjectRef::parse("Group:oidc:sre").unwrap(),
            SubjectRef::group("oidc:sre")
        );
        assert_eq!(
            SubjectRef::parse("ServiceAccount:ns/sa").unwrap(),
            SubjectRef::service_account("ns", "sa")
        );
        assert_eq!(
            SubjectRef::parse("system:serviceaccount:ns:sa").unwrap(),
            SubjectRef::service_account("ns", "sa")
        );
        for bad in [
            "alice",
            "User:",
            "ServiceAccount:sa",
            "ServiceAccount:/sa",
            "Robot:x",
            "ServiceAccount:a/b/c",
        ] {
            assert!(SubjectRef::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn service_account_identity_and_implicit_groups() {
        let id = Identity::of(&SubjectRef::service_account("ci", "deployer"), &[]);
        assert_eq!(id.username, "system:serviceaccount:ci:deployer");
        assert!(id.in_group("system:serviceaccounts"));
        assert!(id.in_group("system:serviceaccounts:ci"));
        assert!(id.in_group("system:authenticated"));
        // namespace-less SA subject: the RoleBinding's namespace, nothing in a ClusterRoleBinding
        assert!(id.matches(&subject("ServiceAccount", "deployer", None), Some("ci")));
        assert!(!id.matches(&subject("ServiceAccount", "deployer", None), Some("other")));
        assert!(!id.matches(&subject("ServiceAccount", "deployer", None), None));
        // the username form in a User subject names the same identity
        assert!(id.matches(
            &subject("User", "system:serviceaccount:ci:deployer", None),
            None
        ));
    }

    #[test]
    fn users_anonymous_and_groups() {
        let alice = Identity::of(&SubjectRef::user("alice"), &["oidc:sre".into()]);
        assert!(alice.in_group("system:authenticated") && alice.in_group("oidc:sre"));
        let anon = Identity::of(&SubjectRef::user("system:anonymous"), &[]);
        assert!(anon.in_group("system:unauthenticated") && !anon.in_group("system:authenticated"));
        let g = Identity::of(&SubjectRef::group("oidc:sre"), &[]);
        assert!(
            !g.matches(&subject("User", "", None), None),
            "a group identity has no username"
        );
        assert!(g.matches(&subject("Group", "oidc:sre", None), None));
    }
}
