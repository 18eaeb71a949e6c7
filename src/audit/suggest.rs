//! Least privilege, suggested: for a subject with unused grants, a Role per namespace and a
//! ClusterRole for cluster-wide and non-resource requests that cover exactly what it was allowed
//! to do in the window, as YAML to review and apply (the pack's `suggested-roles/`, and
//! `kube-evidence usage SUBJECT`).

use super::usage::Use;
use crate::rbac::SubjectRef;
use std::collections::{BTreeMap, BTreeSet};

pub const SUGGESTED_ROLES_DIR: &str = "suggested-roles";

/// The suggested roles of one subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuggestedRoles {
    pub subject: SubjectRef,
    /// The file's path in the pack (under [`SUGGESTED_ROLES_DIR`]).
    pub file: String,
    pub yaml: String,
}

/// (API group, resource[/subresource]) -> verbs.
type Rules = BTreeMap<(String, String), BTreeSet<String>>;

/// The roles covering every allowed use in `uses`.
pub fn roles_for(subject: &SubjectRef, uses: &[&Use]) -> SuggestedRoles {
    let mut namespaced: BTreeMap<String, Rules> = BTreeMap::new();
    let mut cluster: Rules = BTreeMap::new();
    let mut urls: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for u in uses.iter().filter(|u| u.allowed > 0) {
        let a = &u.access;
        if a.resource.is_empty() {
            urls.entry(a.non_resource_url.clone())
                .or_default()
                .insert(a.verb.clone());
            continue;
        }
        let resource = match a.subresource.as_str() {
            "" => a.resource.clone(),
            sub => format!("{}/{sub}", a.resource),
        };
        let rules = if a.namespace.is_empty() {
            &mut cluster
        } else {
            namespaced.entry(a.namespace.clone()).or_default()
        };
        rules
            .entry((a.api_group.clone(), resource))
            .or_default()
            .insert(a.verb.clone());
    }
    let name = format!("suggested-{}", role_name(subject));
    // The subject's name comes from the audit log: quoted, so a line break in it cannot end the
    // comment and write YAML of its own.
    let who = q(&subject.to_string());
    let mut docs = vec![format!(
        "# Roles covering exactly what {who} was allowed to do in the usage window, made by\n# kube-evidence from the API audit log. Review before applying: use that the log did not\n# see (a yearly job, an emergency path) is not in them.\n"
    )];
    if cluster.is_empty() && urls.is_empty() && namespaced.is_empty() {
        docs[0].push_str(&format!(
            "#\n# {who} made no allowed request in the window: no role is suggested. Remove its\n# bindings if nothing needs its access.\n"
        ));
    }
    if !cluster.is_empty() || !urls.is_empty() {
        docs.push(role_yaml("ClusterRole", None, &name, &cluster, &urls));
    }
    for (ns, rules) in &namespaced {
        docs.push(role_yaml("Role", Some(ns), &name, rules, &BTreeMap::new()));
    }
    SuggestedRoles {
        subject: subject.clone(),
        file: format!("{SUGGESTED_ROLES_DIR}/{}.yaml", file_stem(subject)),
        yaml: docs.join("---\n"),
    }
}

/// A YAML string scalar that means exactly `s` (a JSON string is a YAML double-quoted one).
fn q(s: &str) -> String {
    serde_json::to_string(s).expect("a string serialises")
}

fn list(items: impl IntoIterator<Item = String>) -> String {
    let items: Vec<String> = items.into_iter().map(|s| q(&s)).collect();
    format!("[{}]", items.join(", "))
}

fn role_yaml(
    kind: &str,
    namespace: Option<&str>,
    name: &str,
    rules: &Rules,
    urls: &BTreeMap<String, BTreeSet<String>>,
) -> String {
    let mut out = format!(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: {kind}\nmetadata:\n  name: {}\n",
        q(name)
    );
    if let Some(ns) = namespace {
        out.push_str(&format!("  namespace: {}\n", q(ns)));
    }
    out.push_str("rules:\n");
    for ((group, resource), verbs) in rules {
        out.push_str(&format!(
            "- apiGroups: {}\n  resources: {}\n  verbs: {}\n",
            list([group.clone()]),
            list([resource.clone()]),
            list(verbs.iter().cloned())
        ));
    }
    for (url, verbs) in urls {
        out.push_str(&format!(
            "- nonResourceURLs: {}\n  verbs: {}\n",
            list([url.clone()]),
            list(verbs.iter().cloned())
        ));
    }
    out
}

/// A Kubernetes object name for the subject's suggested role (lowercase, `.`, `-`, digits).
fn role_name(subject: &SubjectRef) -> String {
    let raw = match subject {
        SubjectRef::ServiceAccount { namespace, name } => format!("{namespace}.{name}"),
        SubjectRef::User { name } | SubjectRef::Group { name } => name.clone(),
    };
    let mut s: String = raw
        .to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    s.truncate(200);
    s.trim_matches(|c| c == '-' || c == '.').to_string()
}

/// A file name for the subject: readable, and unique (a digest of the subject when the name had
/// to change to be a safe file name).
fn file_stem(subject: &SubjectRef) -> String {
    let kind = match subject {
        SubjectRef::ServiceAccount { .. } => "serviceaccount",
        SubjectRef::User { .. } => "user",
        SubjectRef::Group { .. } => "group",
    };
    let name = role_name(subject);
    let exact = match subject {
        SubjectRef::ServiceAccount { namespace, name } => format!("{namespace}.{name}"),
        SubjectRef::User { name } | SubjectRef::Group { name } => name.clone(),
    };
    if name == exact && !name.is_empty() {
        format!("{kind}.{name}")
    } else {
        let digest = crate::digest::sha256_hex(subject.to_string().as_bytes());
        format!("{kind}.{name}.{}", &digest[..8])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::event::AccessKey;

    fn used(verb: &str, resource: &str, sub: &str, ns: &str, allowed: u64) -> Use {
        Use {
            access: AccessKey {
                verb: verb.into(),
                resource: resource.into(),
                subresource: sub.into(),
                namespace: ns.into(),
                ..AccessKey::default()
            },
            first_seen: chrono::DateTime::UNIX_EPOCH,
            last_seen: chrono::DateTime::UNIX_EPOCH,
            count: allowed.max(1),
            allowed,
            denied: u64::from(allowed == 0),
            source_ips: Default::default(),
            user_agents: Default::default(),
            sources_capped: false,
        }
    }

    #[test]
    fn the_suggestion_covers_exactly_the_allowed_uses_per_namespace() {
        let uses = [
            used("list", "pods", "", "web", 3),
            used("get", "pods", "log", "web", 1),
            used("list", "nodes", "", "", 2),
            used("delete", "pods", "", "web", 0),
        ];
        let refs: Vec<&Use> = uses.iter().collect();
        let s = roles_for(&SubjectRef::service_account("monitoring", "agent"), &refs);
        assert_eq!(
            s.file,
            "suggested-roles/serviceaccount.monitoring.agent.yaml"
        );
        assert!(s.yaml.contains("kind: ClusterRole\n"), "{}", s.yaml);
        assert!(
            s.yaml
                .contains("resources: [\"nodes\"]\n  verbs: [\"list\"]")
        );
        assert!(s.yaml.contains("namespace: \"web\""));
        assert!(
            s.yaml
                .contains("resources: [\"pods/log\"]\n  verbs: [\"get\"]")
        );
        assert!(
            !s.yaml.contains("delete"),
            "a denied request is not suggested"
        );
    }

    #[test]
    fn a_user_name_with_a_line_break_cannot_write_yaml() {
        let evil = SubjectRef::user("x\nkind: ClusterRole\nrules: [{verbs: ['*']}]");
        let s = roles_for(&evil, &[]);
        assert!(
            s.yaml.lines().all(|l| l.starts_with('#')),
            "every line is a comment:\n{}",
            s.yaml
        );
    }

    #[test]
    fn an_odd_user_name_gets_a_safe_and_unique_file_name() {
        let s = roles_for(&SubjectRef::user("CI Bot@example.com/x"), &[]);
        assert!(
            s.file
                .starts_with("suggested-roles/user.ci-bot-example.com-x."),
            "{}",
            s.file
        );
        assert!(!s.file[16..].contains('/'));
    }
}
