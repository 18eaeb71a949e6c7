//! Anomalies of non-human identities (ServiceAccounts and sub-processors' identities) against
//! their own baseline in the usage record: a new source address, a request rate or a count of
//! denials far above the usual, Secret reads by a sub-processor, requests by an identity that
//! holds no grant, and use of exec, attach, node proxy, token minting or impersonation.
//!
//! The baseline is the record before this run's log (the previous packs' days); on a cluster's
//! first run, the log's earlier days are the baseline of its last day.

use super::assess::{MIN_SPIKE_DENIED, MIN_SPIKE_REQUESTS, UsageContext, UsageInput};
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

/// Which days are judged (this run's) and which are the baseline.
struct Split {
    current: BTreeSet<NaiveDate>,
    /// Days of log in the baseline (with or without the subject's requests): the denominator
    /// of a daily mean.
    baseline_days: usize,
}

impl Split {
    fn of(input: &UsageInput) -> Split {
        let current: BTreeSet<NaiveDate> = if input.continued {
            input.current.days_seen.clone()
        } else {
            input
                .current
                .days_seen
                .last()
                .copied()
                .into_iter()
                .collect()
        };
        let baseline_days = input
            .record
            .days_seen
            .iter()
            .filter(|d| !current.contains(d))
            .count();
        Split {
            current,
            baseline_days,
        }
    }
}

/// New source addresses, and request or denial rates over the multiple of the daily mean.
fn baseline_anomalies(
    subject: &SubjectRef,
    days: &super::compact::DayMap<DayActivity>,
    split: &Split,
    options: &super::assess::UsageOptions,
) -> Vec<Finding> {
    let baseline: Vec<&DayActivity> = days
        .iter()
        .filter(|(d, _)| !split.current.contains(d))
        .map(|(_, a)| a)
        .collect();
    let base_requests: u64 = baseline.iter().map(|a| a.requests).sum();
    if base_requests == 0 || split.baseline_days == 0 {
        // No baseline for this identity: nothing to compare with.
        return Vec::new();
    }
    let mut out = Vec::new();
    let known: BTreeSet<&String> = baseline.iter().flat_map(|a| a.source_ips.iter()).collect();
    let capped = baseline.iter().any(|a| a.sources_capped);
    let n = split.baseline_days as f64;
    let mean_requests = base_requests as f64 / n;
    let mean_denied = baseline.iter().map(|a| a.denied).sum::<u64>() as f64 / n;
    for (day, a) in days.iter().filter(|(d, _)| split.current.contains(d)) {
        if !capped {
            for ip in a.source_ips.iter().filter(|ip| !known.contains(ip)) {
                out.push(new_address(subject, ip, *day, &known, split.baseline_days));
            }
        }
        if a.requests >= MIN_SPIKE_REQUESTS
            && a.requests as f64 > options.rate_multiple * mean_requests
        {
            out.push(new_finding(
                RuleId::Use004,
                &format!("{subject}|{day}"),
                format!(
                    "{subject} made {} requests on {day}, more than {} times its baseline of {:.1} a day over {} day(s) of log",
                    a.requests, options.rate_multiple, mean_requests, split.baseline_days
                ),
            ));
        }
        if a.denied >= MIN_SPIKE_DENIED && a.denied as f64 > options.rate_multiple * mean_denied {
            out.push(new_finding(
                RuleId::Use005,
                &format!("{subject}|{day}"),
                format!(
                    "{subject} was denied {} requests on {day}, against a baseline of {:.1} denials a day over {} day(s) of log",
                    a.denied, mean_denied, split.baseline_days
                ),
            ));
        }
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

/// KE-USE-006: any allowed read of Secrets by a sub-processor's identity.
fn secret_reads(subject: &SubjectRef, uses: &[Use]) -> Option<Finding> {
    let reads: Vec<&Use> = uses
        .iter()
        .filter(|u| {
            u.allowed > 0
                && u.access.resource == "secrets"
                && u.access.subresource.is_empty()
                && u.access.api_group.is_empty()
                && matches!(u.access.verb.as_str(), "get" | "list" | "watch")
        })
        .collect();
    if reads.is_empty() {
        return None;
    }
    let count: u64 = reads.iter().map(|u| u.allowed).sum();
    let namespaces: BTreeSet<String> = reads
        .iter()
        .map(|u| match u.access.namespace.as_str() {
            "" => "all namespaces".to_string(),
            ns => ns.to_string(),
        })
        .collect();
    let mut f = new_finding(
        RuleId::Use006,
        &subject.to_string(),
        format!(
            "{subject} read Secrets {count} time(s) ({}) in {}",
            reads
                .iter()
                .map(|u| u.access.verb.as_str())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect::<Vec<_>>()
                .join(", "),
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
    use crate::audit::assess::UsageOptions;
    use crate::audit::event::Event;
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
            .map(|f| (RuleId::parse(&f.rule_id).unwrap(), f.summary))
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
    fn on_a_first_run_the_last_day_is_judged_against_the_earlier_ones() {
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
