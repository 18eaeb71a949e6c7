//! Use against grants, pure and deterministic: which privileged and sub-processor grants were
//! exercised within the usage window, which were not (KE-USE-001, KE-USE-002), what the
//! non-human identities did that their own baseline does not explain (KE-USE-003 to 008), and
//! what the log itself failed to cover (KE-COL-003). Every conclusion states the days of log it
//! rests on.

use super::read::Coverage;
use super::usage::{UsageRecord, Use, window_start};
use crate::finding::Finding;
use crate::rbac::grant_set::GrantSet;
use crate::rbac::index::{BindingId, Grant, RbacIndex};
use crate::rbac::{Identity, SubjectRef};
use crate::rules::system::is_system_subject;
use crate::rules::{RuleId, new_finding};
use chrono::{DateTime, NaiveDate, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

pub use super::exercise::{exercises, request_of};
pub use super::input::{
    MIN_SPIKE_DENIED, MIN_SPIKE_REQUESTS, UsageContext, UsageInput, UsageOptions,
};

/// The usage part of `findings.json`: the window, what the log covered, and per subject of
/// interest what it holds against what it used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UsageSummary {
    pub window_days: u32,
    pub window_start: NaiveDate,
    /// Days of audit log within the window (the claim of non-use rests on these).
    pub days_seen: u32,
    pub days_required: u32,
    /// This run's log.
    pub log: LogSummary,
    pub subjects: Vec<SubjectUsage>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LogSummary {
    pub files: usize,
    pub events: u64,
    pub duplicates: u64,
    pub malformed: u64,
    pub first_event: Option<DateTime<Utc>>,
    pub last_event: Option<DateTime<Utc>>,
    pub gaps: usize,
    pub not_response_complete: u64,
    /// Requests counted (one per request, at its outcome).
    #[serde(default)]
    pub requests: u64,
    /// Long-running requests still open at the end of the log, counted when they complete.
    #[serde(default)]
    pub open_at_end: u64,
    pub levels: BTreeMap<String, u64>,
    /// Events read and not used because of their time: before the window, after the run.
    #[serde(default)]
    pub before_window: u64,
    #[serde(default)]
    pub after_run: u64,
    /// Those, said in words (with the files or objects whose clock disagrees with the run's).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_used: Vec<String>,
}

/// One privileged or sub-processor subject: its grants in scope and how many it used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubjectUsage {
    pub subject: SubjectRef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_processor: Option<String>,
    /// Grants (binding, role, rule) in scope: privileged ones, or all of a sub-processor's.
    pub grants_held: usize,
    pub grants_used: usize,
    /// Requests in the window, and how many were denied.
    pub requests: u64,
    pub denied: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_request: Option<DateTime<Utc>>,
    /// The grants not used, as `binding -> role, rule N`.
    pub unused: Vec<String>,
    /// The grants used, the same way.
    #[serde(default)]
    pub used: Vec<String>,
}

/// What the usage analysis concludes.
#[derive(Debug, Clone)]
pub struct UsageAnalysis {
    pub summary: UsageSummary,
    pub findings: Vec<Finding>,
    /// Per subject with unused grants: the roles that cover exactly what it used.
    pub suggested: Vec<super::suggest::SuggestedRoles>,
}

pub fn evaluate(input: &UsageInput, ctx: &UsageContext<'_>) -> UsageAnalysis {
    let window = input.options.window_days;
    let days_seen = input.record.days_seen_within(ctx.today, window) as u32;
    let required = days_required(window);
    let qualifier = Qualifier {
        days_seen,
        window,
        required,
    };
    let mut findings = Vec::new();
    let mut subjects = Vec::new();
    let mut suggested = Vec::new();
    for scoped in subjects_in_scope(ctx) {
        let uses = uses_of(&input.record, &scoped.subject);
        let (row, unused) = judge_grants(&scoped, &uses);
        // Without a single day of log in the window there is no evidence of non-use at all.
        if days_seen > 0 {
            findings.extend(unused_findings(&scoped, &unused, &qualifier));
        }
        let narrower = !unused.is_empty()
            || scoped
                .grants
                .iter()
                .any(|g| super::suggest::wider_than_used(g, &uses));
        if days_seen > 0 && narrower {
            let held = held_grants(ctx.index, &input.record, &scoped.subject);
            suggested.push(super::suggest::roles_for(&scoped.subject, &uses, &held));
        }
        subjects.push(row);
    }
    findings.extend(super::anomaly::evaluate(input, ctx));
    findings.extend(coverage_finding(&input.coverage));
    UsageAnalysis {
        summary: UsageSummary {
            window_days: window,
            window_start: window_start(ctx.today, window),
            days_seen,
            days_required: required,
            log: log_summary(&input.coverage),
            subjects,
        },
        findings,
        suggested,
    }
}

/// Share of the window's days that may lack log before conclusions over the window still stand
/// (a day or two of a lost log in 90): the same slack a pack's period gets.
pub const WINDOW_TOLERANCE_PERCENT: u32 = 5;

/// Days of log the window needs before conclusions over it stand.
pub fn days_required(window_days: u32) -> u32 {
    (window_days - window_days * WINDOW_TOLERANCE_PERCENT / 100).max(1)
}

/// How many days of log a conclusion rests on, in words every finding repeats.
struct Qualifier {
    days_seen: u32,
    window: u32,
    required: u32,
}

impl Qualifier {
    fn text(&self) -> String {
        if self.days_seen >= self.required {
            format!(
                "on any of the {} days of audit log seen in the {}-day window",
                self.days_seen, self.window
            )
        } else {
            format!(
                "on any of the {} day(s) of audit log seen so far; the {}-day window is not yet covered, so this is not yet evidence of {} days without use",
                self.days_seen, self.window, self.window
            )
        }
    }
}

/// A subject whose grants are judged, and the grants that are.
struct Scoped {
    subject: SubjectRef,
    sub_processor: Option<String>,
    /// True when the grants are privileged ones (KE-USE-001), false for a sub-processor's
    /// grants (KE-USE-002).
    privileged: bool,
    grants: Vec<Grant>,
}

/// Non-system subjects with privileged holdings, then the sub-processors' identities not among
/// them (with every grant they hold through bindings that name them or a group of their own).
fn subjects_in_scope(ctx: &UsageContext<'_>) -> Vec<Scoped> {
    let mut privileged: BTreeMap<SubjectRef, BTreeSet<Grant>> = BTreeMap::new();
    for h in ctx.holdings {
        if h.system || is_system_subject(&h.subject) {
            continue;
        }
        // Every rule of a binding that grants a privileged capability is judged: the
        // capability may come from several of them together (and a rule the subject never
        // uses is worth removing either way).
        let slot = privileged.entry(h.subject.clone()).or_default();
        for (binding, _) in &h.grants {
            let rules = match &ctx.index.bindings[*binding].role {
                Ok(role) => ctx.index.roles[*role].rules.len(),
                Err(_) => 0,
            };
            slot.extend((0..rules).filter_map(|i| ctx.index.grant_of(*binding, i, &h.subject)));
        }
    }
    let mut out: Vec<Scoped> = privileged
        .into_iter()
        .map(|(subject, grants)| Scoped {
            sub_processor: ctx.owners.get(&subject).cloned(),
            subject,
            privileged: true,
            grants: grants.into_iter().collect(),
        })
        .collect();
    let covered: BTreeSet<SubjectRef> = out.iter().map(|s| s.subject.clone()).collect();
    for (subject, owner) in ctx.owners {
        if covered.contains(subject) || matches!(subject, SubjectRef::Group { .. }) {
            continue;
        }
        let grants = ctx.index.own_grants(&Identity::of(subject, &[]));
        out.push(Scoped {
            subject: subject.clone(),
            sub_processor: Some(owner.clone()),
            privileged: false,
            grants,
        });
    }
    out
}

/// The uses that count for `subject`: its own, or for a group every member's the log saw.
pub fn uses_of<'r>(record: &'r UsageRecord, subject: &SubjectRef) -> Vec<&'r Use> {
    match subject {
        SubjectRef::Group { name } => record
            .subjects
            .iter()
            .filter(|(key, _)| member_groups(record, key).contains(name))
            .flat_map(|(_, uses)| uses.iter())
            .collect(),
        other => record
            .subjects
            .get(&other.key())
            .map(|u| u.iter().collect())
            .unwrap_or_default(),
    }
}

/// The groups a recorded subject was authenticated with, and the ones a ServiceAccount is
/// always in.
fn member_groups(record: &UsageRecord, key: &str) -> BTreeSet<String> {
    let mut groups: BTreeSet<String> = record
        .groups
        .get(key)
        .map(|g| g.iter().cloned().collect())
        .unwrap_or_default();
    if let Ok(subject) = SubjectRef::parse(key) {
        groups.extend(Identity::of(&subject, &[]).groups);
    }
    groups
}

/// Which of the subject's grants its uses exercised; the row of the usage table and the unused
/// grants.
fn judge_grants(scoped: &Scoped, uses: &[&Use]) -> (SubjectUsage, Vec<Grant>) {
    let (mut used, mut unused) = (Vec::new(), Vec::new());
    for g in &scoped.grants {
        if uses.iter().any(|u| exercises(u, g)) {
            used.push(g.reference());
        } else {
            unused.push(g.clone());
        }
    }
    let row = SubjectUsage {
        subject: scoped.subject.clone(),
        sub_processor: scoped.sub_processor.clone(),
        grants_held: scoped.grants.len(),
        grants_used: used.len(),
        requests: uses.iter().map(|u| u.count).sum(),
        denied: uses.iter().map(|u| u.denied).sum(),
        last_request: uses.iter().map(|u| u.last_seen).max(),
        unused: unused.iter().map(Grant::reference).collect(),
        used,
    };
    (row, unused)
}

/// One grant of a subject and when the record last saw it exercised (`kube-evidence usage`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GrantUse {
    pub grant: Grant,
    pub last_used: Option<DateTime<Utc>>,
    pub requests: u64,
}

/// Every grant the subject holds (through the groups the log saw it in, too), each with the
/// uses that exercised it.
pub fn grant_uses(index: &RbacIndex, record: &UsageRecord, subject: &SubjectRef) -> Vec<GrantUse> {
    let uses = uses_of(record, subject);
    held_grants(index, record, subject)
        .into_iter()
        .map(|g| grant_use(g, &uses))
        .collect()
}

/// Every rule of one binding as `subject` holds it, each with the uses that exercised it: what an
/// access review decides for the subject and binding, judged as KE-USE-001 and 002 judge it.
pub fn binding_uses(
    index: &RbacIndex,
    record: &UsageRecord,
    subject: &SubjectRef,
    binding: BindingId,
) -> Vec<GrantUse> {
    let uses = uses_of(record, subject);
    let rules = match index.bindings[binding].role {
        Ok(role) => index.roles[role].rules.len(),
        Err(_) => 0,
    };
    (0..rules)
        .filter_map(|i| index.grant_of(binding, i, subject))
        .map(|g| grant_use(g, &uses))
        .collect()
}

/// A grant with when and how often `uses` exercised it.
fn grant_use(grant: Grant, uses: &[&Use]) -> GrantUse {
    let exercising: Vec<&&Use> = uses.iter().filter(|u| exercises(u, &grant)).collect();
    GrantUse {
        grant,
        last_used: exercising.iter().map(|u| u.last_seen).max(),
        requests: exercising.iter().map(|u| u.allowed).sum(),
    }
}

/// Every grant the subject holds now, through its bindings and the groups the log saw it in.
pub fn held_grants(index: &RbacIndex, record: &UsageRecord, subject: &SubjectRef) -> Vec<Grant> {
    let groups: Vec<String> = record
        .groups
        .get(&subject.key())
        .map(|g| g.iter().cloned().collect())
        .unwrap_or_default();
    index
        .access(&Identity::of(subject, &groups))
        .all()
        .cloned()
        .collect()
}

/// One finding per (subject, binding): the rules of the binding's role it did not use.
fn unused_findings(scoped: &Scoped, unused: &[Grant], q: &Qualifier) -> Vec<Finding> {
    let mut by_binding: BTreeMap<(String, String), Vec<Grant>> = BTreeMap::new();
    for g in unused {
        by_binding
            .entry((g.binding.to_string(), g.role.to_string()))
            .or_default()
            .push(g.clone());
    }
    let rule_id = if scoped.privileged {
        RuleId::Use001
    } else {
        RuleId::Use002
    };
    by_binding
        .into_iter()
        .map(|((binding, role), grants)| {
            let held = scoped
                .grants
                .iter()
                .filter(|g| g.binding.to_string() == binding)
                .count();
            let mut f = new_finding(
                rule_id,
                &format!("{}|{binding}|{role}", scoped.subject),
                format!(
                    "{} did not use {} of the {held} rule(s) it holds through {binding} -> {role} {}",
                    scoped.subject,
                    grants.len(),
                    q.text()
                ),
            );
            f.subjects = vec![scoped.subject.clone()];
            f.objects = vec![(*grants[0].binding).clone(), (*grants[0].role).clone()];
            f.namespaces = grants
                .iter()
                .filter_map(|g| g.namespace.as_deref().map(str::to_string))
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            f.sub_processor = scoped.sub_processor.clone();
            f.grants = GrantSet::from_grants(grants);
            f
        })
        .collect()
}

/// The events the run read and did not use because of their time, said once for the report,
/// the command line and the coverage finding.
pub fn events_not_used(c: &Coverage) -> Vec<String> {
    let mut out = Vec::new();
    let when = |t: DateTime<Utc>| t.format("%Y-%m-%d %H:%M UTC").to_string();
    if c.after_run > 0 {
        let parts: Vec<String> = c
            .clock_disagreements
            .iter()
            .map(|d| {
                format!(
                    "{} ({} event(s), the latest {})",
                    d.part,
                    d.events,
                    when(d.latest)
                )
            })
            .collect();
        let allowance = c
            .accepted
            .map_or(0, |b| b.clock_skew_allowance_seconds / 60);
        out.push(format!(
            "{} event(s) dated after the run (more than {allowance} minute(s) ahead of its clock), so their clock and the run's disagree: {}",
            c.after_run,
            parts.join(", ")
        ));
    }
    if c.without_user > 0 {
        out.push(format!(
            "{} event(s) with no user name (the API server names every requester): an anomaly of the log, not a subject",
            c.without_user
        ));
    }
    if c.before_window > 0 {
        out.push(format!(
            "{} event(s) dated before the usage window (the earliest {}), older than what the window is about",
            c.before_window,
            c.earliest_before_window.map(when).unwrap_or_default()
        ));
    }
    out
}

/// KE-COL-003 when the log shows hours with no event, unreadable lines, no request's outcome
/// at all, or events dated after the run.
fn coverage_finding(c: &Coverage) -> Option<Finding> {
    let mut problems = Vec::new();
    let not_used = events_not_used(c);
    if c.after_run > 0 {
        problems.push(format!("{}, not used", not_used[0]));
    }
    if let Some(nameless) = not_used.iter().find(|l| l.contains("with no user name")) {
        problems.push(format!("{nameless}, not used"));
    }
    if c.events == 0 {
        problems.push(format!(
            "no audit event at all in {} file(s) or object(s)",
            c.files.len()
        ));
    }
    if !c.gaps.is_empty() {
        let first = &c.gaps[0];
        problems.push(format!(
            "{} gap(s) of more than an hour without any event (the first from {} to {})",
            c.gaps.len(),
            first.from.format("%Y-%m-%d %H:%M UTC"),
            first.to.format("%Y-%m-%d %H:%M UTC")
        ));
    }
    if c.malformed > 0 {
        problems.push(format!(
            "{} malformed line(s) (the first: {})",
            c.malformed,
            c.malformed_examples.first().cloned().unwrap_or_default()
        ));
    }
    // Events at other stages are normal (a watch is written when it starts and again when it
    // ends, and may still be open when the log is cut); a log with no outcome at all is not:
    // its policy records no request's result, so no use can be counted from it.
    if c.events > 0 && c.requests == 0 {
        problems.push(format!(
            "{} event(s) and not one at ResponseComplete or Panic: the audit policy omits the stage requests are counted at",
            c.events
        ));
    }
    if problems.is_empty() {
        return None;
    }
    let key = format!(
        "{}|{}",
        c.first_event.map(|t| t.to_rfc3339()).unwrap_or_default(),
        c.last_event.map(|t| t.to_rfc3339()).unwrap_or_default()
    );
    Some(new_finding(
        RuleId::Col003,
        &key,
        format!("the audit log read by this run has {}", problems.join("; ")),
    ))
}

fn log_summary(c: &Coverage) -> LogSummary {
    LogSummary {
        files: c.files.len(),
        events: c.events,
        duplicates: c.duplicates,
        malformed: c.malformed,
        first_event: c.first_event,
        last_event: c.last_event,
        gaps: c.gaps.len(),
        not_response_complete: c.not_response_complete,
        requests: c.requests,
        open_at_end: c.open_at_end,
        levels: c.levels.clone(),
        before_window: c.before_window,
        after_run: c.after_run,
        not_used: events_not_used(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::event::AccessKey;
    use crate::snapshot::PolicyRule;
    use std::sync::Arc;

    #[test]
    fn a_use_exercises_a_grant_only_in_its_scope_and_when_allowed() {
        let u = Use {
            access: AccessKey {
                verb: "get".into(),
                resource: "pods".into(),
                namespace: "web".into(),
                ..AccessKey::default()
            },
            first_seen: chrono::DateTime::UNIX_EPOCH,
            last_seen: chrono::DateTime::UNIX_EPOCH,
            count: 1,
            allowed: 1,
            denied: 0,
            source_ips: Default::default(),
            user_agents: Default::default(),
            sources_capped: false,
        };
        let g = Grant {
            binding: Arc::new(crate::rbac::ObjectRef::new("ClusterRoleBinding", None, "b")),
            role: Arc::new(crate::rbac::ObjectRef::new("ClusterRole", None, "r")),
            source_role: None,
            namespace: None,
            subject: SubjectRef::user("a"),
            rule: Arc::new(PolicyRule::for_resources(&["*"], &["*"], &["*"], &[])),
            rule_index: 0,
        };
        assert!(exercises(&u, &g));
        let elsewhere = Grant {
            namespace: Some(Arc::from("payments")),
            ..g.clone()
        };
        assert!(
            !exercises(&u, &elsewhere),
            "a RoleBinding elsewhere is not used"
        );
        let denied = Use {
            allowed: 0,
            denied: 1,
            ..u.clone()
        };
        assert!(!exercises(&denied, &g), "a denied request uses nothing");
        let named = Grant {
            rule: Arc::new(PolicyRule::for_resources(
                &["get"],
                &[""],
                &["pods"],
                &["web-1"],
            )),
            ..g
        };
        assert!(
            exercises(&u, &named),
            "the record has no names: a rule limited to names counts as used, never as unused"
        );
    }
}
