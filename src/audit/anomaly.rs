//! Anomalies of non-human identities (ServiceAccounts and sub-processors' identities) against
//! their own baseline in the usage record: a new source address, a request rate or a count of
//! denials far above the usual, Secret reads by a sub-processor, requests by an identity that
//! holds no grant, and use of exec, attach, node proxy, token minting or impersonation.
//!
//! Every day of this run's log is judged against the record's days before it (the previous
//! packs' days, and the log's own earlier days): a day the log shares with the record, as a log
//! crossing midnight does, is judged again with what is now known of it, never against an empty
//! baseline.

use super::input::{MIN_SPIKE_DENIED, MIN_SPIKE_REQUESTS, UsageContext, UsageInput};
use super::usage::{DayActivity, UsageRecord, Use};
use crate::finding::Finding;
use crate::rbac::{Identity, SubjectRef};
use crate::rules::system::is_system_subject;
use crate::rules::{RuleId, new_finding};
use chrono::NaiveDate;
use std::collections::{BTreeMap, BTreeSet};

pub fn evaluate(input: &UsageInput, ctx: &UsageContext<'_>) -> Vec<Finding> {
    let split = Split::of(input);
    let mut out = Vec::new();
    for (key, uses) in &input.current.subjects {
        let Ok(subject) = SubjectRef::parse(key) else {
            continue;
        };
        let owner = ctx.owners.get(&subject).cloned();
        if !(owner.is_some() || is_non_human(&subject)) {
            continue;
        }
        let mut found = Vec::new();
        if let Some(days) = input.record.activity.get(key) {
            found.extend(baseline_anomalies(&subject, days, &split, &input.options));
        }
        if owner.is_some() {
            found.extend(secret_reads(&subject, uses));
        }
        found.extend(sensitive_uses(&subject, uses));
        found.extend(no_grant(&subject, key, uses, &input.record, ctx));
        for f in &mut found {
            f.sub_processor = owner.clone();
            f.subjects = vec![subject.clone()];
        }
        out.extend(found);
    }
    out
}

/// A ServiceAccount that is not one of Kubernetes' own controllers.
fn is_non_human(subject: &SubjectRef) -> bool {
    matches!(subject, SubjectRef::ServiceAccount { .. }) && !is_system_subject(subject)
}

/// Which days are judged: every day of this run's log, each against the days of the record
/// before it. A day the log shares with the record (a log crossing midnight, or one read again)
/// is judged with everything known of it, against the days before it, never against an empty
/// baseline because it repeats.
struct Split {
    judged: BTreeSet<NaiveDate>,
    /// Every day of log in the record, with or without a given subject's requests: a day's
    /// baseline is those before it, the denominator of its daily means.
    recorded: Vec<NaiveDate>,
}

impl Split {
    fn of(input: &UsageInput) -> Split {
        Split {
            judged: input.current.days_seen.clone(),
            recorded: input.record.days_seen.iter().copied().collect(),
        }
    }

    /// Days of log in the record before `day`.
    fn days_before(&self, day: NaiveDate) -> usize {
        self.recorded.partition_point(|d| *d < day)
    }
}

/// What one subject did on the days before the one judged.
#[derive(Default)]
struct Baseline<'a> {
    requests: u64,
    denied: u64,
    known: BTreeSet<&'a String>,
    capped: bool,
}

impl<'a> Baseline<'a> {
    fn add(&mut self, a: &'a DayActivity) {
        self.requests += a.requests;
        self.denied += a.denied;
        self.known.extend(a.source_ips.iter());
        self.capped |= a.sources_capped;
    }
}

/// New source addresses, and request or denial rates over the multiple of the daily mean, for
/// each judged day against the subject's days before it (walked once, in date order).
fn baseline_anomalies(
    subject: &SubjectRef,
    days: &super::compact::DayMap<DayActivity>,
    split: &Split,
    options: &super::input::UsageOptions,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut before = Baseline::default();
    for (day, a) in days.iter() {
        let baseline_days = split.days_before(*day);
        if split.judged.contains(day) && before.requests > 0 && baseline_days > 0 {
            out.extend(judge_day(subject, *day, a, &before, baseline_days, options));
        }
        before.add(a);
    }
    out
}

fn judge_day(
    subject: &SubjectRef,
    day: NaiveDate,
    a: &DayActivity,
    before: &Baseline<'_>,
    baseline_days: usize,
    options: &super::input::UsageOptions,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let n = baseline_days as f64;
    let mean_requests = before.requests as f64 / n;
    let mean_denied = before.denied as f64 / n;
    if !before.capped {
        for ip in a.source_ips.iter().filter(|ip| !before.known.contains(ip)) {
            out.push(new_address(subject, ip, day, &before.known, baseline_days));
        }
    }
    if a.requests >= MIN_SPIKE_REQUESTS && a.requests as f64 > options.rate_multiple * mean_requests
    {
        out.push(new_finding(
            RuleId::Use004,
            &format!("{subject}|{day}"),
            format!(
                "{subject} made {} requests on {day}, more than {} times its baseline of {:.1} a day over {} day(s) of log",
                a.requests, options.rate_multiple, mean_requests, baseline_days
            ),
        ));
    }
    if a.denied >= MIN_SPIKE_DENIED && a.denied as f64 > options.rate_multiple * mean_denied {
        out.push(new_finding(
            RuleId::Use005,
            &format!("{subject}|{day}"),
            format!(
                "{subject} was denied {} requests on {day}, against a baseline of {:.1} denials a day over {} day(s) of log",
                a.denied, mean_denied, baseline_days
            ),
        ));
    }
    out
}

fn new_address(
    subject: &SubjectRef,
    ip: &str,
    day: NaiveDate,
    known: &BTreeSet<&String>,
    baseline_days: usize,
) -> Finding {
    let known: Vec<&str> = known.iter().map(|s| s.as_str()).collect();
    new_finding(
        RuleId::Use003,
        &format!("{subject}|{ip}"),
        format!(
            "{subject} made requests from {ip} on {day}, an address not seen for it on {baseline_days} earlier day(s) of log (seen before: {})",
            known.join(", ")
        ),
    )
}

/// KE-USE-006: any allowed read of Secrets by a sub-processor's identity; KE-USE-009: any it
/// was denied.
fn secret_reads(subject: &SubjectRef, uses: &[Use]) -> Vec<Finding> {
    let reads: Vec<&Use> = uses
        .iter()
        .filter(|u| {
            u.access.resource == "secrets"
                && u.access.subresource.is_empty()
                && u.access.api_group.is_empty()
                && matches!(u.access.verb.as_str(), "get" | "list" | "watch")
        })
        .collect();
    let mut out = Vec::new();
    let allowed: Vec<(&Use, u64)> = reads.iter().map(|u| (*u, u.allowed)).collect();
    if let Some(f) = secret_finding(subject, RuleId::Use006, "read Secrets", &allowed) {
        out.push(f);
    }
    let denied: Vec<(&Use, u64)> = reads.iter().map(|u| (*u, u.denied)).collect();
    if let Some(f) = secret_finding(
        subject,
        RuleId::Use009,
        "was denied reading Secrets",
        &denied,
    ) {
        out.push(f);
    }
    out
}

/// One finding over the reads with a non-zero count: how many, which verbs, where.
fn secret_finding(
    subject: &SubjectRef,
    rule: RuleId,
    what: &str,
    reads: &[(&Use, u64)],
) -> Option<Finding> {
    let reads: Vec<&(&Use, u64)> = reads.iter().filter(|(_, n)| *n > 0).collect();
    if reads.is_empty() {
        return None;
    }
    let count: u64 = reads.iter().map(|(_, n)| n).sum();
    let namespaces: BTreeSet<String> = reads
        .iter()
        .map(|(u, _)| match u.access.namespace.as_str() {
            "" => "all namespaces".to_string(),
            ns => ns.to_string(),
        })
        .collect();
    let verbs: BTreeSet<&str> = reads.iter().map(|(u, _)| u.access.verb.as_str()).collect();
    let mut f = new_finding(
        rule,
        &subject.to_string(),
        format!(
            "{subject} {what} {count} time(s) ({}) in {}",
            verbs.into_iter().collect::<Vec<_>>().join(", "),
            namespaces.iter().cloned().collect::<Vec<_>>().join(", ")
        ),
    );
    f.namespaces = namespaces
        .into_iter()
        .filter(|n| n != "all namespaces")
        .collect();
    Some(f)
}

/// The kinds of access KE-USE-008 is about.
fn sensitive_kind(u: &Use) -> Option<&'static str> {
    let a = &u.access;
    match (a.resource.as_str(), a.subresource.as_str(), a.verb.as_str()) {
        (_, _, "impersonate") => Some("impersonation"),
        ("pods", "exec", _) => Some("pods/exec"),
        ("pods", "attach", _) => Some("pods/attach"),
        ("nodes", "proxy", _) => Some("nodes/proxy"),
        ("serviceaccounts", "token", "create") => Some("serviceaccounts/token"),
        _ => None,
    }
}

fn sensitive_uses(subject: &SubjectRef, uses: &[Use]) -> Vec<Finding> {
    let mut kinds: BTreeMap<&'static str, (u64, BTreeSet<String>)> = BTreeMap::new();
    for u in uses.iter().filter(|u| u.allowed > 0) {
        if let Some(kind) = sensitive_kind(u) {
            let slot = kinds.entry(kind).or_default();
            slot.0 += u.allowed;
            if !u.access.namespace.is_empty() {
                slot.1.insert(u.access.namespace.clone());
            }
        }
    }
    kinds
        .into_iter()
        .map(|(kind, (count, namespaces))| {
            let mut f = new_finding(
                RuleId::Use008,
                &format!("{subject}|{kind}"),
                format!(
                    "{subject} used {kind} {count} time(s){}",
                    if namespaces.is_empty() {
                        String::new()
                    } else {
                        format!(
                            " in {}",
                            namespaces.iter().cloned().collect::<Vec<_>>().join(", ")
                        )
                    }
                ),
            );
            f.namespaces = namespaces.into_iter().collect();
            f
        })
        .collect()
}

/// KE-USE-007: requests by an identity no binding names, directly or through a group of its own
/// (grants every authenticated user or every ServiceAccount has do not count).
fn no_grant(
    subject: &SubjectRef,
    key: &str,
    uses: &[Use],
    record: &UsageRecord,
    ctx: &UsageContext<'_>,
) -> Option<Finding> {
    let groups: Vec<String> = record
        .groups
        .get(key)
        .map(|g| g.iter().cloned().collect())
        .unwrap_or_default();
    let identity = Identity::of(subject, &groups);
    if identity.in_group(crate::rbac::subject::MASTERS)
        || !ctx.index.own_grants(&identity).is_empty()
    {
        return None;
    }
    let requests: u64 = uses.iter().map(|u| u.count).sum();
    let denied: u64 = uses.iter().map(|u| u.denied).sum();
    Some(new_finding(
        RuleId::Use007,
        &subject.to_string(),
        format!(
            "{subject} made {requests} request(s) ({denied} denied) in this run's log, but no RBAC binding names it or a group of its own"
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::event::Event;
    use crate::audit::input::UsageOptions;
    use crate::audit::usage::UsageBuilder;
    use crate::rbac::RbacIndex;
    use crate::snapshot::{ClusterInfo, Snapshot};

    fn event(n: u32, at: &str, user: &str, ip: &str, decision: &str) -> Event {
        serde_json::from_str(&format!(
            r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"{n}","stage":"ResponseComplete","verb":"list","user":{{"username":"{user}"}},"sourceIPs":["{ip}"],"objectRef":{{"resource":"pods"}},"stageTimestamp":"{at}","annotations":{{"authorization.k8s.io/decision":"{decision}"}}}}"#
        ))
        .unwrap()
    }

    const AGENT: &str = "system:serviceaccount:mon:agent";

    /// `days` of (date, requests, denied, address) for the agent, as one record.
    fn record(days: &[(&str, u32, u32, &str)]) -> UsageRecord {
        let mut b = UsageBuilder::default();
        let mut n = 0;
        for (day, requests, denied, ip) in days {
            for i in 0..*requests {
                n += 1;
                let decision = if i < *denied { "forbid" } else { "allow" };
                let at = format!("{day}T{:02}:{:02}:00Z", (i / 60) % 24, i % 60);
                b.add(&event(n, &at, AGENT, ip, decision));
            }
        }
        b.finish()
    }

    fn findings(input: &UsageInput) -> Vec<(RuleId, String)> {
        let snapshot = Snapshot::empty(
            ClusterInfo {
                name: "t".into(),
                id: None,
                server_version: None,
            },
            chrono::DateTime::UNIX_EPOCH,
            "t".into(),
        );
        let index = RbacIndex::build(&snapshot);
        let ctx = UsageContext {
            index: &index,
            holdings: &[],
            owners: &BTreeMap::new(),
            today: NaiveDate::from_ymd_opt(2026, 11, 25).unwrap(),
        };
        evaluate(input, &ctx)
            .into_iter()
            // Nothing in an empty cluster grants the agent anything: KE-USE-007 always.
            .filter(|f| f.rule_id != RuleId::Use007)
            .map(|f| (f.rule_id, f.summary))
            .collect()
    }

    fn first_run(days: &[(&str, u32, u32, &str)]) -> UsageInput {
        let r = record(days);
        UsageInput {
            record: r.clone(),
            current: r,
            continued: false,
            coverage: Default::default(),
            options: UsageOptions::default(),
        }
    }

    #[test]
    fn on_a_first_run_each_day_is_judged_against_the_earlier_ones() {
        let quiet = first_run(&[
            ("2026-11-23", 20, 0, "10.0.0.1"),
            ("2026-11-24", 20, 0, "10.0.0.1"),
        ]);
        assert_eq!(findings(&quiet), []);
        let busy = first_run(&[
            ("2026-11-23", 20, 0, "10.0.0.1"),
            ("2026-11-24", 300, 12, "10.0.0.9"),
        ]);
        let rules: Vec<RuleId> = findings(&busy).into_iter().map(|(r, _)| r).collect();
        assert_eq!(rules, [RuleId::Use003, RuleId::Use004, RuleId::Use005]);
    }

    #[test]
    fn below_the_floors_or_without_a_baseline_nothing_is_an_anomaly() {
        // 99 requests is 5 times 20 but under the floor of 100; 9 denials under the floor of 10.
        let small = first_run(&[
            ("2026-11-23", 2, 0, "10.0.0.1"),
            ("2026-11-24", 99, 9, "10.0.0.1"),
        ]);
        assert_eq!(findings(&small), []);
        // A single day has no baseline: a new identity is not a new address or a spike.
        let alone = first_run(&[("2026-11-24", 500, 50, "10.0.0.9")]);
        assert_eq!(findings(&alone), []);
    }

    #[test]
    fn a_continued_record_judges_this_runs_days_against_the_previous_ones() {
        let previous = record(&[("2026-11-23", 20, 0, "10.0.0.1")]);
        let tonight = record(&[("2026-11-24", 20, 0, "10.0.0.2")]);
        let mut merged = UsageBuilder::from_record(previous);
        merged.merge(tonight.clone());
        let input = UsageInput {
            record: merged.finish(),
            current: tonight,
            continued: true,
            coverage: Default::default(),
            options: UsageOptions::default(),
        };
        let found = findings(&input);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].1.contains("from 10.0.0.2 on 2026-11-24"),
            "{found:?}"
        );
    }

    fn continued(
        previous: &[(&str, u32, u32, &str)],
        tonight: &[(&str, u32, u32, &str)],
    ) -> UsageInput {
        let tonight = record(tonight);
        let mut merged = UsageBuilder::from_record(record(previous));
        merged.merge(tonight.clone());
        UsageInput {
            record: merged.finish(),
            current: tonight,
            continued: true,
            coverage: Default::default(),
            options: UsageOptions::default(),
        }
    }

    #[test]
    fn a_log_crossing_midnight_is_judged_against_the_days_before_each_of_its_days() {
        // The previous run saw only the 24th; tonight's log has the rest of the 24th and the
        // 25th. The 25th is judged against the 24th (all of it), not against nothing.
        let input = continued(
            &[("2026-11-24", 20, 0, "10.0.0.1")],
            &[
                ("2026-11-24", 5, 0, "10.0.0.1"),
                ("2026-11-25", 300, 12, "10.0.0.9"),
            ],
        );
        let found = findings(&input);
        let rules: Vec<RuleId> = found.iter().map(|(r, _)| *r).collect();
        assert_eq!(
            rules,
            [RuleId::Use003, RuleId::Use004, RuleId::Use005],
            "{found:?}"
        );
        assert!(
            found[1].1.contains("baseline of 25.0 a day over 1 day(s)"),
            "{found:?}"
        );
    }

    #[test]
    fn a_day_the_log_shares_with_the_record_is_judged_with_all_of_it() {
        // The burst came late on the 24th, after the previous run read its log.
        let input = continued(
            &[
                ("2026-11-23", 20, 0, "10.0.0.1"),
                ("2026-11-24", 20, 0, "10.0.0.1"),
            ],
            &[
                ("2026-11-24", 400, 0, "10.0.0.1"),
                ("2026-11-25", 20, 0, "10.0.0.1"),
            ],
        );
        let found = findings(&input);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, RuleId::Use004);
        assert!(
            found[0].1.contains("420 requests on 2026-11-24"),
            "{found:?}"
        );
    }

    #[test]
    fn a_capped_baseline_of_addresses_claims_no_new_address() {
        let mut days = vec![];
        let ips: Vec<String> = (0..20).map(|i| format!("10.0.1.{i}")).collect();
        for ip in &ips {
            days.push(("2026-11-23", 1, 0, ip.as_str()));
        }
        days.push(("2026-11-24", 1, 0, "10.0.9.9"));
        assert_eq!(findings(&first_run(&days)), []);
    }
}
