//! Least privilege, suggested: for a subject that holds more than it used, a Role per namespace
//! and a ClusterRole for cluster-wide and non-resource requests that cover exactly what it was
//! allowed to do in the window, never wider than what it holds (resource names kept), with the
//! bindings to them, as YAML to review and apply (the pack's `suggested-roles/`, and
//! `kube-evidence usage SUBJECT`).

use super::event::AccessKey;
use super::exercise::{exercises, request_of};
use super::usage::Use;
use crate::rbac::matching::rule_allows;
use crate::rbac::{Grant, SubjectRef};
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

/// (API group, resource[/subresource], resource names: empty for any) -> verbs.
type Rules = BTreeMap<(String, String, Vec<String>), BTreeSet<String>>;

/// What the suggestion covers, by where it applies.
#[derive(Default)]
struct Covered {
    namespaced: BTreeMap<String, Rules>,
    cluster: Rules,
    urls: BTreeMap<String, BTreeSet<String>>,
    /// Allowed uses no grant the subject holds now covers (a binding removed since): not
    /// suggested, since that would give back what was taken away.
    not_held: Vec<String>,
}

/// The roles, and the bindings to them, covering every allowed use in `uses` and never more
/// than `held` (every grant the subject holds now): each use keeps the verb, resource and
/// namespace it was, and the resource names of the grants that allowed it when all of them were
/// limited to names (the log keeps no object names, so those names are the narrowest bound
/// that still allows what the server allowed).
pub fn roles_for(subject: &SubjectRef, uses: &[&Use], held: &[Grant]) -> SuggestedRoles {
    let covered = cover(uses, held);
    let name = format!("suggested-{}", role_name(subject));
    // The subject's name comes from the audit log: quoted, so a line break in it cannot end the
    // comment and write YAML of its own.
    let who = q(&subject.to_string());
    let mut docs = vec![format!(
        "# Roles covering exactly what {who} was allowed to do in the usage window, and bindings\n# to them, made by kube-evidence from the API audit log; never wider than the grants it holds.\n# Review before applying, then remove its other bindings: use that the log did not see (a\n# yearly job, an emergency path) is not in them.\n"
    )];
    for u in &covered.not_held {
        docs[0].push_str(&format!(
            "# Not suggested (used in the window, no longer granted): {}\n",
            q(u)
        ));
    }
    if covered.cluster.is_empty() && covered.urls.is_empty() && covered.namespaced.is_empty() {
        docs[0].push_str(&format!(
            "#\n# {who} made no allowed request in the window: no role is suggested. Remove its\n# bindings if nothing needs its access.\n"
        ));
    }
    if !covered.cluster.is_empty() || !covered.urls.is_empty() {
        docs.push(role_yaml(
            "ClusterRole",
            None,
            &name,
            &covered.cluster,
            &covered.urls,
        ));
        docs.push(binding_yaml(None, &name, subject));
    }
    for (ns, rules) in &covered.namespaced {
        docs.push(role_yaml("Role", Some(ns), &name, rules, &BTreeMap::new()));
        docs.push(binding_yaml(Some(ns), &name, subject));
    }
    SuggestedRoles {
        subject: subject.clone(),
        file: format!("{SUGGESTED_ROLES_DIR}/{}.yaml", file_stem(subject)),
        yaml: docs.join("---\n"),
    }
}

/// Whether a grant allows more than the uses it allowed: a verb, resource or API group (or a
/// wildcard) none of them used, a URL none of them requested, or a cluster-wide grant used only
/// inside namespaces. Such a grant is narrowed by a suggestion even though it was used.
pub fn wider_than_used(g: &Grant, uses: &[&Use]) -> bool {
    let used: Vec<&AccessKey> = uses
        .iter()
        .filter(|u| exercises(u, g))
        .map(|u| &u.access)
        .collect();
    if used.is_empty() {
        return true;
    }
    let r = &g.rule;
    let unused = |values: &[String], of: &dyn Fn(&AccessKey) -> String| {
        values
            .iter()
            .any(|v| v == "*" || !used.iter().any(|a| of(a) == *v))
    };
    if unused(&r.verbs, &|a| a.verb.clone()) {
        return true;
    }
    if !r.non_resource_urls.is_empty()
        && unused(&r.non_resource_urls, &|a| a.non_resource_url.clone())
    {
        return true;
    }
    if r.resources.is_empty() {
        return false;
    }
    let resource = |a: &AccessKey| match a.subresource.as_str() {
        "" => a.resource.clone(),
        sub => format!("{}/{sub}", a.resource),
    };
    unused(&r.resources, &resource)
        || unused(&r.api_groups, &|a| a.api_group.clone())
        || (g.namespace.is_none() && used.iter().all(|a| !a.namespace.is_empty()))
}

fn cover(uses: &[&Use], held: &[Grant]) -> Covered {
    let mut c = Covered::default();
    for u in uses.iter().filter(|u| u.allowed > 0) {
        let a = &u.access;
        let allowing: Vec<&Grant> = held.iter().filter(|g| exercises(u, g)).collect();
        if allowing.is_empty() {
            c.not_held.push(describe(a));
            continue;
        }
        if a.resource.is_empty() {
            c.urls
                .entry(a.non_resource_url.clone())
                .or_default()
                .insert(a.verb.clone());
            continue;
        }
        let resource = match a.subresource.as_str() {
            "" => a.resource.clone(),
            sub => format!("{}/{sub}", a.resource),
        };
        let rules = if a.namespace.is_empty() {
            &mut c.cluster
        } else {
            c.namespaced.entry(a.namespace.clone()).or_default()
        };
        rules
            .entry((a.api_group.clone(), resource, names_allowing(a, &allowing)))
            .or_default()
            .insert(a.verb.clone());
    }
    c.not_held.sort();
    c.not_held.dedup();
    c
}

/// The resource names the allowing grants limit the access to; empty when one of them allows
/// it on any name.
fn names_allowing(a: &AccessKey, allowing: &[&Grant]) -> Vec<String> {
    if allowing
        .iter()
        .any(|g| rule_allows(&request_of(a, ""), &g.rule))
    {
        return Vec::new();
    }
    let names: BTreeSet<String> = allowing
        .iter()
        .flat_map(|g| g.rule.resource_names.iter())
        .filter(|n| {
            allowing
                .iter()
                .any(|g| rule_allows(&request_of(a, n), &g.rule))
        })
        .cloned()
        .collect();
    names.into_iter().collect()
}

fn describe(a: &AccessKey) -> String {
    if a.resource.is_empty() {
        return format!("{} {}", a.verb, a.non_resource_url);
    }
    let mut what = format!("{} {}", a.verb, a.resource);
    if !a.subresource.is_empty() {
        what.push('/');
        what.push_str(&a.subresource);
    }
    if !a.api_group.is_empty() {
        what.push('.');
        what.push_str(&a.api_group);
    }
    if !a.namespace.is_empty() {
        what.push_str(&format!(" in {}", a.namespace));
    }
    what
}

/// A binding of the suggested role to the subject, in the role's namespace.
fn binding_yaml(namespace: Option<&str>, name: &str, subject: &SubjectRef) -> String {
    let (kind, role_kind) = match namespace {
        Some(_) => ("RoleBinding", "Role"),
        None => ("ClusterRoleBinding", "ClusterRole"),
    };
    let mut out = format!(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: {kind}\nmetadata:\n  name: {}\n",
        q(name)
    );
    if let Some(ns) = namespace {
        out.push_str(&format!("  namespace: {}\n", q(ns)));
    }
    out.push_str(&format!(
        "roleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: {role_kind}\n  name: {}\nsubjects:\n",
        q(name)
    ));
    match subject {
        SubjectRef::ServiceAccount { namespace, name } => out.push_str(&format!(
            "- kind: ServiceAccount\n  namespace: {}\n  name: {}\n",
            q(namespace),
            q(name)
        )),
        SubjectRef::User { name } => out.push_str(&format!(
            "- kind: User\n  apiGroup: rbac.authorization.k8s.io\n  name: {}\n",
            q(name)
        )),
        SubjectRef::Group { name } => out.push_str(&format!(
            "- kind: Group\n  apiGroup: rbac.authorization.k8s.io\n  name: {}\n",
            q(name)
        )),
    }
    out
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
    for ((group, resource, names), verbs) in rules {
        out.push_str(&format!(
            "- apiGroups: {}\n  resources: {}\n",
            list([group.clone()]),
            list([resource.clone()]),
        ));
        if !names.is_empty() {
            out.push_str(&format!(
                "  resourceNames: {}\n",
                list(names.iter().cloned())
            ));
        }
        out.push_str(&format!("  verbs: {}\n", list(verbs.iter().cloned())));
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
    use crate::rbac::ObjectRef;
    use crate::snapshot::PolicyRule;
    use std::sync::Arc;

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

    fn rule(verbs: &[&str], resources: &[&str], names: &[&str]) -> PolicyRule {
        let v = |x: &[&str]| x.iter().map(|s| s.to_string()).collect();
        PolicyRule {
            api_groups: vec![String::new()],
            resources: v(resources),
            verbs: v(verbs),
            resource_names: v(names),
            ..PolicyRule::default()
        }
    }

    fn grant(namespace: Option<&str>, rule: PolicyRule) -> Grant {
        let subject = SubjectRef::service_account("monitoring", "agent");
        Grant {
            binding: Arc::new(ObjectRef::new("RoleBinding", namespace, "b")),
            role: Arc::new(ObjectRef::new("ClusterRole", None, "r")),
            source_role: None,
            namespace: namespace.map(Arc::from),
            subject,
            rule: Arc::new(rule),
            rule_index: 0,
        }
    }

    fn everything() -> Vec<Grant> {
        vec![grant(None, rule(&["*"], &["*"], &[]))]
    }

    #[test]
    fn resource_names_of_the_grant_are_kept_and_only_used_verbs_suggested() {
        let held = [grant(
            Some("app"),
            rule(&["get", "update"], &["configmaps"], &["app-config"]),
        )];
        let uses = [used("get", "configmaps", "", "app", 4)];
        let refs: Vec<&Use> = uses.iter().collect();
        let s = roles_for(
            &SubjectRef::service_account("monitoring", "agent"),
            &refs,
            &held,
        );
        assert!(
            s.yaml.contains(
                "resources: [\"configmaps\"]\n  resourceNames: [\"app-config\"]\n  verbs: [\"get\"]"
            ),
            "{}",
            s.yaml
        );
        assert!(s.yaml.contains("kind: RoleBinding\n"), "{}", s.yaml);
        assert!(
            s.yaml
                .contains("- kind: ServiceAccount\n  namespace: \"monitoring\"\n  name: \"agent\""),
            "{}",
            s.yaml
        );
        assert!(
            super::wider_than_used(&held[0], &refs),
            "update was never used"
        );
    }

    #[test]
    fn a_use_no_grant_covers_now_is_not_given_back() {
        let held = [grant(Some("app"), rule(&["get"], &["pods"], &[]))];
        let uses = [
            used("get", "pods", "", "app", 1),
            used("delete", "pods", "", "app", 1),
        ];
        let refs: Vec<&Use> = uses.iter().collect();
        let s = roles_for(
            &SubjectRef::service_account("monitoring", "agent"),
            &refs,
            &held,
        );
        assert!(
            s.yaml.contains(
                "# Not suggested (used in the window, no longer granted): \"delete pods in app\""
            ),
            "{}",
            s.yaml
        );
        assert!(!s.yaml.contains("\"delete\""), "{}", s.yaml);
    }

    #[test]
    fn a_grant_is_wider_than_its_use_on_wildcards_verbs_and_scope() {
        let uses = [used("list", "pods", "", "web", 3)];
        let refs: Vec<&Use> = uses.iter().collect();
        let exact = grant(Some("web"), rule(&["list"], &["pods"], &[]));
        assert!(!super::wider_than_used(&exact, &refs));
        for wider in [
            grant(Some("web"), rule(&["list"], &["*"], &[])),
            grant(Some("web"), rule(&["list", "watch"], &["pods"], &[])),
            grant(None, rule(&["list"], &["pods"], &[])),
        ] {
            assert!(super::wider_than_used(&wider, &refs), "{wider:?}");
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
        let s = roles_for(
            &SubjectRef::service_account("monitoring", "agent"),
            &refs,
            &everything(),
        );
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
        let s = roles_for(&evil, &[], &[]);
        assert!(
            s.yaml.lines().all(|l| l.starts_with('#')),
            "every line is a comment:\n{}",
            s.yaml
        );
    }

    #[test]
    fn an_odd_user_name_gets_a_safe_and_unique_file_name() {
        let s = roles_for(&SubjectRef::user("CI Bot@example.com/x"), &[], &[]);
        assert!(
            s.file
                .starts_with("suggested-roles/user.ci-bot-example.com-x."),
            "{}",
            s.file
        );
        assert!(!s.file[16..].contains('/'));
    }
}
