//! Who reviews what: a small YAML file (`reviewers:` in the run configuration, `--reviewers` of
//! `review start`) mapping rows to reviewers by namespace, group or subject pattern, first match
//! first, with a default. Sub-processors' rows go to their owner in the inventory before this.
//!
//! ```yaml
//! apiVersion: kube-evidence.io/v1
//! kind: ReviewerMap
//! default: security@example.com
//! reviewers:
//! - {namespace: payments, reviewer: payments-lead@example.com}
//! - {group: "oidc:sre", reviewer: sre-lead@example.com}
//! - {subject: "User:oidc:*", reviewer: it-manager@example.com}
//! ```

use super::model::{Row, is_own_access};
use crate::diag::Diagnostics;
use crate::pattern::pattern_matches;
use crate::rbac::SubjectRef;
use crate::yaml::{self, decode::Decoder};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewerMap {
    pub default: String,
    pub entries: Vec<Entry>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub matcher: Matcher,
    pub reviewer: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Matcher {
    /// The binding's namespace, or a ServiceAccount's own.
    Namespace(String),
    /// A Group subject's name (pattern).
    Group(String),
    /// The subject as `Kind:name` (pattern, `*` and `?`).
    Subject(String),
}

impl ReviewerMap {
    /// Everything to one reviewer.
    pub fn single(reviewer: &str) -> ReviewerMap {
        ReviewerMap {
            default: reviewer.to_string(),
            entries: Vec::new(),
        }
    }

    /// The first entry that matches the row and is not the subject itself, else the default.
    /// The row's reviewer: the first matching entry's, else the default; never the subject
    /// itself while the map names anyone else (its own rows go to the next reviewer the map
    /// names, matching entries first, then the default, then the others in order). Only a map
    /// whose every reviewer is the subject leaves the row with them, which the campaign's
    /// follow-up reports (KE-REV-005).
    pub fn reviewer_for(&self, row: &Row) -> String {
        let matching = self
            .entries
            .iter()
            .filter(|e| e.matcher.matches(row))
            .map(|e| e.reviewer.as_str());
        let others = self.entries.iter().map(|e| e.reviewer.as_str());
        matching
            .chain(std::iter::once(self.default.as_str()))
            .chain(others)
            .find(|r| !is_own_access(&row.subject, r))
            .unwrap_or(&self.default)
            .to_string()
    }
}

impl Matcher {
    fn matches(&self, row: &Row) -> bool {
        match self {
            Matcher::Namespace(ns) => {
                row.scope == format!("namespace {ns}")
                    || matches!(&row.subject, SubjectRef::ServiceAccount { namespace, .. } if namespace == ns)
            }
            Matcher::Group(p) => {
                matches!(&row.subject, SubjectRef::Group { name } if pattern_matches(p, name))
            }
            Matcher::Subject(p) => pattern_matches(p, &row.subject.to_string()),
        }
    }
}

/// Parses a reviewer map; every problem at once, with line and column.
pub fn parse(text: &str, origin: &str) -> Result<ReviewerMap, Diagnostics> {
    let mut d = Decoder::new(origin);
    let Some(root) = d.single_document(
        text,
        "the reviewer map is empty",
        "a reviewer map holds one YAML document",
    ) else {
        return Err(d.diags);
    };
    let mut map = ReviewerMap::single("");
    if let Some(mut f) = d.map(&root, "") {
        if let Some(v) = f.required(&mut d, "apiVersion")
            && v.as_str() != Some(crate::API_VERSION)
        {
            d.error(
                v.pos,
                format!("`apiVersion` must be `{}`", crate::API_VERSION),
            );
        }
        if let Some(v) = f.required(&mut d, "kind")
            && v.as_str() != Some("ReviewerMap")
        {
            d.error(v.pos, "`kind` must be `ReviewerMap`");
        }
        if let Some(v) = f
            .required(&mut d, "default")
            .and_then(|v| d.nonempty_string(v, "default"))
        {
            map.default = v;
        }
        if let Some(items) = f.optional("reviewers").and_then(|n| d.seq(n, "reviewers")) {
            for item in items {
                if let Some(e) = entry(item, &mut d) {
                    map.entries.push(e);
                }
            }
        }
        f.finish(&mut d);
    }
    d.diags.into_result(map)
}

fn entry(n: &yaml::Node, d: &mut Decoder) -> Option<Entry> {
    let mut f = d.map(n, "reviewers[]")?;
    let reviewer = f
        .required(d, "reviewer")
        .and_then(|v| d.nonempty_string(v, "reviewer"));
    let mut matchers = Vec::new();
    for key in ["namespace", "group", "subject"] {
        if let Some(v) = f.optional(key).and_then(|v| d.nonempty_string(v, key)) {
            matchers.push(match key {
                "namespace" => Matcher::Namespace(v),
                "group" => Matcher::Group(v),
                _ => Matcher::Subject(v),
            });
        }
    }
    f.finish(d);
    if matchers.len() != 1 {
        d.error(
            n.pos,
            "each entry names exactly one of `namespace`, `group` or `subject`, and a `reviewer`",
        );
        return None;
    }
    Some(Entry {
        matcher: matchers.pop()?,
        reviewer: reviewer?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rbac::SubjectRef;

    fn row(subject: SubjectRef, scope: &str) -> Row {
        Row {
            id: "R-1".into(),
            subject,
            access: "read Secrets".into(),
            scope: scope.into(),
            binding: "RoleBinding web/b".into(),
            role: "ClusterRole admin".into(),
            sub_processor: None,
            reviewer: String::new(),
        }
    }

    #[test]
    fn nobody_is_assigned_their_own_access_while_the_map_names_someone_else() {
        let map = ReviewerMap {
            default: "alice@example.com".into(),
            entries: vec![Entry {
                matcher: Matcher::Namespace("web".into()),
                reviewer: "bob@example.com".into(),
            }],
        };
        // The default's own row outside web goes to the next reviewer the map names.
        let alice = row(
            SubjectRef::user("oidc:alice@example.com"),
            "namespace payments",
        );
        assert_eq!(map.reviewer_for(&alice), "bob@example.com");
        // The matching entry's own row goes to the default.
        let bob = row(SubjectRef::user("oidc:bob@example.com"), "namespace web");
        assert_eq!(map.reviewer_for(&bob), "alice@example.com");
        // Anyone else's: the matching entry, else the default.
        let carol = row(SubjectRef::user("carol"), "namespace web");
        assert_eq!(map.reviewer_for(&carol), "bob@example.com");
        // A map of one reviewer leaves them their own row (KE-REV-005 reports it).
        let single = ReviewerMap::single("alice@example.com");
        assert_eq!(single.reviewer_for(&alice), "alice@example.com");
    }
}
