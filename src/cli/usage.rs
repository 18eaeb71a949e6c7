//! `kube-evidence usage SUBJECT`: what a subject holds against what the audit log saw it use,
//! and the roles that would cover exactly that use — the pack's KE-USE findings and
//! suggested-roles/ for one subject, on demand.

use super::common;
use super::logging::LogArgs;
use super::query::InputArgs;
use super::table::Format;
use super::table::Table;
use super::{CmdResult, Done, Failure};
use anyhow::Context;
use clap::Args;
use kube_evidence::audit::{self, AuditLogPlan, ReadOptions, UsageOptions};
use kube_evidence::config::{Overrides, Setting};
use kube_evidence::rbac::{RbacIndex, SubjectRef};

#[derive(Args, Debug)]
pub struct UsageArgs {
    /// User:NAME, Group:NAME or ServiceAccount:NAMESPACE/NAME
    pub subject: String,
    /// The API server's audit log: a file, a directory of rotated files, or s3://BUCKET/PREFIX
    #[arg(long, value_name = "PATH|URL")]
    pub audit_log: String,
    /// The window over which use counts (days)
    #[arg(long, value_name = "DAYS", default_value_t = 90)]
    pub usage_window_days: u32,
    /// Refuse the log above this share of malformed lines (percent)
    #[arg(long, value_name = "PERCENT", default_value_t = 1.0)]
    pub audit_log_max_malformed_percent: f64,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub s3: common::S3Args,
}

pub fn execute(args: UsageArgs, log: &LogArgs) -> CmdResult {
    let subject = SubjectRef::parse(&args.subject).map_err(Failure::usage)?;
    // The same validation as `run`'s settings: one place says what a valid value is.
    let mut flags = Overrides::default();
    flags.set(Setting::AuditLog, args.audit_log.clone());
    flags.set(Setting::UsageWindowDays, args.usage_window_days.to_string());
    flags.set(
        Setting::AuditLogMaxMalformedPercent,
        args.audit_log_max_malformed_percent.to_string(),
    );
    let config = common::load_config(None, flags, log)?;
    let plan = AuditLogPlan {
        location: config.audit_log.clone().expect("set above"),
        read: ReadOptions {
            max_malformed_share: config.audit_log_max_malformed_percent / 100.0,
            ..ReadOptions::default()
        },
        usage: UsageOptions {
            window_days: config.usage_window_days,
            ..UsageOptions::default()
        },
        s3: common::s3_options(&args.s3)?,
    };
    let snapshot = super::query::load(&args.input, log)?;
    let now = common::clock()?.now();
    let today = now.date_naive();
    let input = common::runtime()
        .block_on(audit::read_audit_log(&plan, None, now))
        .context("cannot read the audit log")?;
    let index = RbacIndex::build(&snapshot);
    let grants = audit::assess::grant_uses(&index, &input.record, &subject);
    let uses = audit::assess::uses_of(&input.record, &subject);
    let held = audit::assess::held_grants(&index, &input.record, &subject);
    let suggested = audit::suggest::roles_for(&subject, &uses, &held);
    let days = input.record.days_seen_within(today, plan.usage.window_days);
    let requests: u64 = uses.iter().map(|u| u.count).sum();
    let denied: u64 = uses.iter().map(|u| u.denied).sum();
    match args.format {
        Format::Json => {
            let v = serde_json::json!({
                "subject": subject,
                "windowDays": plan.usage.window_days,
                "eventsNotUsed": {
                    "beforeWindow": input.coverage.before_window,
                    "afterNow": input.coverage.after_run,
                    "clockDisagreements": input.coverage.clock_disagreements,
                },
                "daysSeen": days,
                "requests": requests,
                "denied": denied,
                "grants": grants,
                "suggestedRoles": suggested.yaml,
            });
            outln!("{}", serde_json::to_string_pretty(&v).expect("serialises"));
        }
        Format::Table => {
            outln!(
                "{subject}: {requests} request(s), {denied} denied, on {days} of the {} days of the window the log covers",
                plan.usage.window_days
            );
            for line in audit::assess::events_not_used(&input.coverage) {
                outln!("not used: {line}");
            }
            let mut t = Table::new(&["USED", "LAST USE", "SCOPE", "RULE", "VIA"]);
            for g in &grants {
                t.row(vec![
                    if g.last_used.is_some() {
                        format!("yes ({})", g.requests)
                    } else {
                        "no".into()
                    },
                    g.last_used
                        .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                        .unwrap_or_else(|| "-".into()),
                    g.grant.scope(),
                    g.grant.rule.compact(),
                    g.grant.provenance(),
                ]);
            }
            if t.is_empty() {
                outln!("no RBAC grants");
            } else {
                out!("{}", t.render());
            }
            outln!();
            out!("{}", suggested.yaml);
        }
    }
    Ok(Done::Ok)
}
