//! The exceptions register: reviewed risk acceptances. An exception names a rule and what it
//! covers (a subject, an object, a namespace or a sub-processor), why, who approved it, the
//! ticket, and when it expires. A matching finding becomes `accepted` and stops counting against
//! its controls; an expired exception stops applying and is reported, as is one that matches
//! nothing. Every exception is listed in the pack.

use crate::diag::Diagnostics;
use crate::finding::{ExceptionRef, Finding, FindingStatus};
use crate::rbac::SubjectRef;
use crate::rules::RuleId;
use crate::rules::new_finding;
use crate::yaml::Node;
use crate::yaml::decode::Decoder;
use chrono::NaiveDate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Exception {
    pub id: String,
    pub rule: RuleId,
    pub covers: Coverage,
    pub reason: String,
    pub approver: String,
    pub ticket: String,
    pub created: NaiveDate,
    pub expires: NaiveDate,
}

/// What an exception covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum Coverage {
    /// One subject, exactly (`User:NAME`, `Group:NAME`, `ServiceAccount:NS/NAME`).
    Subject(SubjectRef),
    /// One object, exactly as findings name it (`ClusterRoleBinding velero`, `Secret ns/name`).
    Object(String),
    /// Every finding of the rule in a namespace.
    Namespace(String),
    /// Every finding of the rule about a sub-processor.
    SubProcessor(String),
}

/// How much of a finding an exception's coverage takes in.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Overlap {
    None,
    /// All of it.
    Whole,
    /// The grants of the bindings in this namespace, or through this subject, and nothing
    /// else: the finding is split in two.
    Split(SplitBy),
    /// Part of it, in a way the finding cannot be split along (a multi-subject finding, an
    /// escalation path through several namespaces): it stays open, and says so.
    Part(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum SplitBy {
    Namespace(String),
    Subject(SubjectRef),
}

impl SplitBy {
    fn inside(&self, namespace: Option<&str>, via: &SubjectRef) -> bool {
        match self {
            SplitBy::Namespace(ns) => namespace == Some(ns.as_str()),
            SplitBy::Subject(s) => via == s,
        }
    }
}

/// A finding's namespace scope: its namespaces, and whether any grant behind it is cluster-wide.
fn scope_of(f: &Finding) -> (std::collections::BTreeSet<&str>, bool) {
    let namespaces = f.namespaces.iter().map(String::as_str).collect();
    (namespaces, f.grants.has_cluster_wide())
}

fn describe_scope(namespaces: &std::collections::BTreeSet<&str>, cluster: bool) -> String {
    let mut parts: Vec<String> = Vec::new();
    if cluster {
        parts.push("cluster-wide".into());
    }
    if !namespaces.is_empty() {
        parts.push(format!(
            "namespace(s) {}",
            namespaces.iter().copied().collect::<Vec<_>>().join(", ")
        ));
    }
    parts.join(" and ")
}

impl Coverage {
    /// An exception covers exactly the scope it names: a finding reaching beyond it is accepted
    /// only for the part inside it (split off by grant), or, where it cannot be split, not at all.
    fn overlap(&self, f: &Finding) -> Overlap {
        match self {
            Coverage::Subject(s) if f.subjects.as_slice() == std::slice::from_ref(s) => {
                Overlap::Whole
            }
            Coverage::Subject(s) if f.subjects.contains(s) => {
                // A finding grouped by cause (default ServiceAccounts bound to one role, say)
                // splits along its members' grants when every grant names a member.
                let via = f.grants.subjects();
                let grants_are_members = f.path.is_empty()
                    && via.contains(s)
                    && via.iter().all(|v| f.subjects.contains(v));
                if grants_are_members {
                    Overlap::Split(SplitBy::Subject(s.clone()))
                } else {
                    Overlap::Part(format!(
                        "it covers {s}, one of the finding's {} subjects",
                        f.subjects.len()
                    ))
                }
            }
            Coverage::Subject(_) => Overlap::None,
            // The object a finding is about is its cause, or else its first object; the others
            // are members of a group (bindings naming a missing role) or context.
            Coverage::Object(o) => {
                let about = f
                    .cause
                    .clone()
                    .or_else(|| f.objects.first().map(|x| x.to_string()));
                if about.as_deref() == Some(o.as_str()) {
                    Overlap::Whole
                } else if f.objects.iter().any(|x| x.to_string() == *o) {
                    Overlap::Part(format!(
                        "it covers {o}, one of the {} objects of the finding",
                        f.objects.len()
                    ))
                } else {
                    Overlap::None
                }
            }
            Coverage::SubProcessor(id) if f.sub_processor.as_deref() == Some(id) => Overlap::Whole,
            Coverage::SubProcessor(_) => Overlap::None,
            Coverage::Namespace(ns) => {
                let (namespaces, cluster) = scope_of(f);
                if !namespaces.contains(ns.as_str()) {
                    return Overlap::None;
                }
                if namespaces.len() == 1 && !cluster {
                    return Overlap::Whole;
                }
                // Split along grants only when the grants are the whole of the finding's scope.
                let granted = f.grants.namespaces();
                let grants_are_scope = f.path.is_empty()
                    && granted.contains(ns.as_str())
                    && granted.iter().all(|n| namespaces.contains(n.as_str()));
                if grants_are_scope {
                    Overlap::Split(SplitBy::Namespace(ns.clone()))
                } else {
                    Overlap::Part(format!(
                        "it covers namespace {ns}, but the finding reaches {}",
                        describe_scope(&namespaces, cluster)
                    ))
                }
            }
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Coverage::Subject(s) => s.to_string(),
            Coverage::Object(o) => o.clone(),
            Coverage::Namespace(n) => format!("namespace {n}"),
            Coverage::SubProcessor(s) => format!("sub-processor {s}"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ExceptionState {
    /// In force and accepting at least one finding (or the part of one inside its scope).
    InForce,
    /// In force, but covering only part of findings that cannot be split along its scope: they
    /// stay open.
    Partial,
    /// In force but matching no finding.
    Stale,
    /// Past its expiry date.
    Expired,
}

/// An exception and what became of it in this run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExceptionOutcome {
    pub exception: Exception,
    pub state: ExceptionState,
    /// Findings it accepted (in force), or would have (expired).
    pub findings: Vec<String>,
    /// Findings it covers only in part, which stay open, with why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub partial: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ExceptionsError {
    #[error("cannot read exceptions {path}")]
    Read {
        path: String,
        #[source]
        source: crate::input::InputError,
    },
    #[error("invalid exceptions:\n{0}")]
    Invalid(Diagnostics),
}

pub fn load_file(
    path: &std::path::Path,
    today: NaiveDate,
) -> Result<Vec<Exception>, ExceptionsError> {
    let text = crate::input::read_text(path, crate::input::MAX_WRITTEN_FILE).map_err(|e| {
        ExceptionsError::Read {
            path: path.display().to_string(),
            source: e,
        }
    })?;
    parse(&text, &path.display().to_string(), today)
}

/// Parses and validates an exceptions file; every problem at once, with line and column.
pub fn parse(
    text: &str,
    origin: &str,
    today: NaiveDate,
) -> Result<Vec<Exception>, ExceptionsError> {
    let mut d = Decoder::new(origin);
    let Some(root) = d.single_document(
        text,
        "the exceptions file is empty",
        "an exceptions file holds one YAML document",
    ) else {
        return Err(ExceptionsError::Invalid(d.diags));
    };
    let mut out = Vec::new();
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
            && v.as_str() != Some("ExceptionList")
        {
            d.error(v.pos, "`kind` must be `ExceptionList`");
        }
        let mut ids: BTreeMap<String, u32> = BTreeMap::new();
        if let Some(items) = f
            .required(&mut d, "exceptions")
            .and_then(|n| d.seq(n, "exceptions"))
        {
            for item in items {
                // Duplicates are caught on the raw id, even when the rest of the entry is invalid.
                if let Some(id_node) = item.get("id")
                    && let Some(id) = id_node.as_str()
                    && let Some(line) = ids.insert(id.to_string(), item.pos.line)
                {
                    d.error(
                        id_node.pos,
                        format!("duplicate exception id `{id}` (first at line {line})"),
                    );
                }
                if let Some(e) = decode(item, &mut d, today) {
                    out.push(e);
                }
            }
        }
        f.finish(&mut d);
    }
    d.diags.into_result(out).map_err(ExceptionsError::Invalid)
}

fn decode(n: &Node, d: &mut Decoder, today: NaiveDate) -> Option<Exception> {
    let mut f = d.map(n, "exceptions[]")?;
    let id = f.required(d, "id").and_then(|v| d.nonempty_string(v, "id"));
    let rule = f.required(d, "rule").and_then(|v| {
        let s = d.nonempty_string(v, "rule")?;
        let id = RuleId::parse(&s);
        if id.is_none() {
            d.error(
                v.pos,
                format!("unknown rule `{s}`; `kube-evidence rules list` prints the catalog"),
            );
        }
        id
    });
    let mut covers = Vec::new();
    if let Some(v) = f.optional("subject")
        && let Some(s) = d.string(v, "subject")
    {
        match SubjectRef::parse(&s) {
            Ok(subject) => covers.push(Coverage::Subject(subject)),
            Err(e) => d.error(v.pos, format!("`subject`: {e}")),
        }
    }
    if let Some(v) = f
        .optional("object")
        .and_then(|v| d.nonempty_string(v, "object"))
    {
        covers.push(Coverage::Object(v));
    }
    if let Some(v) = f
        .optional("namespace")
        .and_then(|v| d.nonempty_string(v, "namespace"))
    {
        covers.push(Coverage::Namespace(v));
    }
    if let Some(v) = f
        .optional("subProcessor")
        .and_then(|v| d.nonempty_string(v, "subProcessor"))
    {
        covers.push(Coverage::SubProcessor(v));
    }
    let reason = f
        .required(d, "reason")
        .and_then(|v| d.nonempty_string(v, "reason"));
    let approver = f
        .required(d, "approver")
        .and_then(|v| d.nonempty_string(v, "approver"));
    let ticket = f
        .required(d, "ticket")
        .and_then(|v| d.nonempty_string(v, "ticket"));
    let created_node = f.required(d, "created");
    let created = created_node.and_then(|v| d.date(v, "created"));
    let expires_node = f.required(d, "expires");
    let expires = expires_node.and_then(|v| d.date(v, "expires"));
    f.finish(d);
    if covers.len() != 1 {
        d.error(
            n.pos,
            "an exception covers exactly one of `subject`, `object`, `namespace` or `subProcessor`",
        );
    }
    if let (Some(c), Some(node)) = (created, created_node)
        && c > today
    {
        d.error(
            node.pos,
            format!("`created` {c} is in the future (today is {today})"),
        );
    }
    if let (Some(c), Some(e), Some(node)) = (created, expires, expires_node)
        && e <= c
    {
        d.error(
            node.pos,
            format!("`expires` {e} is not after `created` {c}"),
        );
    }
    Some(Exception {
        id: id?,
        rule: rule?,
        covers: covers.into_iter().next()?,
        reason: reason?,
        approver: approver?,
        ticket: ticket?,
        created: created?,
        expires: expires?,
    })
}

/// Applies the exceptions to the findings, marks accepted ones, and adds findings for expired
/// and stale exceptions. An exception is in force through its `expires` date, and covers exactly
/// its scope (see [`Coverage`]): the part of a finding inside it is split off and accepted, the
/// rest stays open; a finding that cannot be split stays open and says what the exception covers.
/// A finding already accepted keeps the first exception that accepted it.
pub fn apply(
    findings: &mut Vec<Finding>,
    exceptions: &[Exception],
    today: NaiveDate,
    present: &dyn Fn(&Coverage) -> bool,
) -> Vec<ExceptionOutcome> {
    let mut outcomes = Vec::new();
    let mut extra = Vec::new();
    for e in exceptions {
        let overlaps: Vec<(usize, Overlap)> = findings
            .iter()
            .enumerate()
            .filter(|(_, f)| f.rule_id == e.rule)
            .map(|(i, f)| (i, e.covers.overlap(f)))
            .filter(|(_, o)| *o != Overlap::None)
            .collect();
        if e.expires < today {
            let ids: Vec<String> = overlaps
                .iter()
                .map(|(i, _)| findings[*i].id.clone())
                .collect();
            let mut f = new_finding(
                RuleId::Exc001,
                &e.id,
                format!(
                    "exception {} ({} for {}) expired on {}; {} finding(s) count again",
                    e.id,
                    e.rule,
                    e.covers.describe(),
                    e.expires,
                    ids.len()
                ),
            );
            f.objects = vec![crate::rbac::ObjectRef::new("Exception", None, &e.id)];
            extra.push(f);
            outcomes.push(ExceptionOutcome {
                exception: e.clone(),
                state: ExceptionState::Expired,
                findings: ids,
                partial: Vec::new(),
            });
            continue;
        }
        let mut accepted = Vec::new();
        let mut partial = Vec::new();
        for (i, overlap) in overlaps {
            match overlap {
                Overlap::None => {}
                Overlap::Whole => {
                    accept(&mut findings[i], e);
                    accepted.push(findings[i].id.clone());
                }
                Overlap::Split(by) => {
                    let part = split_off(&mut findings[i], &by, e);
                    accepted.push(part.id.clone());
                    findings.push(part);
                }
                Overlap::Part(why) => {
                    let f = &mut findings[i];
                    let note = format!(
                        "exception {} covers only part of this finding ({why}); it stays open",
                        e.id
                    );
                    if !f.exception_notes.contains(&note) {
                        f.exception_notes.push(note);
                    }
                    partial.push(f.id.clone());
                }
            }
        }
        let state = if !accepted.is_empty() {
            ExceptionState::InForce
        } else if !partial.is_empty() {
            ExceptionState::Partial
        } else {
            // Why: what it names is not in the cluster at all (a typo, or removed since), or it
            // is, and the rule does not fire for it.
            let why = if present(&e.covers) {
                format!(
                    "{} is in the cluster, but {} does not fire for it",
                    e.covers.describe(),
                    e.rule
                )
            } else {
                match &e.covers {
                    Coverage::Subject(_) => format!(
                        "{} does not exist in the cluster: no binding names it and no such ServiceAccount exists",
                        e.covers.describe()
                    ),
                    Coverage::SubProcessor(_) => {
                        format!("{} is not in the inventory", e.covers.describe())
                    }
                    _ => format!("{} does not exist in the cluster", e.covers.describe()),
                }
            };
            let mut f = new_finding(
                RuleId::Exc002,
                &e.id,
                format!(
                    "exception {} ({} for {}) matches no finding: {why}",
                    e.id,
                    e.rule,
                    e.covers.describe()
                ),
            );
            f.objects = vec![crate::rbac::ObjectRef::new("Exception", None, &e.id)];
            extra.push(f);
            ExceptionState::Stale
        };
        outcomes.push(ExceptionOutcome {
            exception: e.clone(),
            state,
            findings: accepted,
            partial,
        });
    }
    findings.extend(extra);
    crate::finding::sort_findings(findings);
    outcomes
}

fn accept(f: &mut Finding, e: &Exception) {
    if f.status == FindingStatus::Accepted {
        return;
    }
    f.status = FindingStatus::Accepted;
    f.exception = Some(ExceptionRef {
        id: e.id.clone(),
        approver: e.approver.clone(),
        ticket: e.ticket.clone(),
        expires: e.expires.to_string(),
        reason: e.reason.clone(),
    });
}

/// Moves the grants `by` selects out of `f` into a new, accepted finding; `f` keeps its id and
/// the rest of its scope, and stays as it was (open or accepted).
fn split_off(f: &mut Finding, by: &SplitBy, e: &Exception) -> Finding {
    let scope = e.covers.describe();
    // A finding whose subjects are the members its grants name keeps, on each side of the
    // split, the members of that side.
    let members =
        f.subjects.len() > 1 && f.grants.subjects().iter().all(|s| f.subjects.contains(s));
    let (inside, rest) = f.grants.split(|ns, via| by.inside(ns, via));
    let mut part = f.clone();
    part.id = Finding::make_id(f.rule_id.as_str(), &format!("{}\n{scope}", f.id));
    part.grants = inside;
    part.namespaces = part.grants.namespaces().into_iter().collect();
    if members {
        part.subjects = part.grants.subjects().into_iter().collect();
    }
    let whole = f.summary.clone();
    part.summary = format!(
        "{} (the part in {scope}, split off for exception {})",
        crate::rules::grants::restate(&part).unwrap_or_else(|| whole.clone()),
        e.id
    );
    // The carved-out part is no longer where the whole was held (cluster, broad, foreign).
    part.scope = None;
    part.exception_notes.clear();
    part.status = FindingStatus::Open;
    part.exception = None;
    accept(&mut part, e);
    f.grants = rest;
    f.namespaces = f.grants.namespaces().into_iter().collect();
    if members {
        f.subjects = f.grants.subjects().into_iter().collect();
    }
    // The open rest says only where it is still held: said again from its grants, or, for a
    // finding whose words cannot be, with the accepted part named as excepted.
    f.summary = crate::rules::grants::restate(f).unwrap_or_else(|| {
        format!(
            "{whole} (except the part in {scope}, accepted by exception {} as finding {})",
            e.id, part.id
        )
    });
    f.exception_notes.push(format!(
        "the part in {scope} is accepted by exception {} as finding {}; this finding covers the rest",
        e.id, part.id
    ));
    part
}
