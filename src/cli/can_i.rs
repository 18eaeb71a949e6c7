//! `kube-evidence can-i VERB RESOURCE --as SUBJECT`: one yes or no, with the grants behind it.

use super::logging::LogArgs;
use super::{CmdResult, Done, Failure};
use clap::Args;
use kube_evidence::rbac::Identity;

use super::query::*;
use super::table::Format;

#[derive(Args, Debug)]
pub struct CanIArgs {
    /// User:NAME, Group:NAME or ServiceAccount:NAMESPACE/NAME
    pub subject: String,
    #[command(flatten)]
    pub request: RequestArgs,
    /// A group the user is in (repeatable)
    #[arg(long = "group", value_name = "GROUP")]
    pub groups: Vec<String>,
    /// Print nothing; the exit code says yes (0) or no (1)
    #[arg(long, short = 'q')]
    pub quiet: bool,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    #[command(flatten)]
    pub input: InputArgs,
}

pub fn execute(args: CanIArgs, log: &LogArgs) -> CmdResult {
    let (subject, _snapshot, index) =
        subject_question(&args.subject, &args.input, log, !args.quiet)?;
    let (request, warnings) = args.request.request(args.request.namespace.as_deref());
    if !args.quiet {
        warn_unknown_namespace(&index, args.request.namespace.as_deref());
        print_warnings(warnings);
    }
    let decision = index.authorize(&Identity::of(&subject, &args.groups), &request);
    if !args.quiet {
        match args.format {
            Format::Json => outln!(
                "{}",
                serde_json::to_string_pretty(&serde_json::json!({
                    "subject": subject,
                    "request": request.to_string(),
                    "allowed": decision.allowed,
                    "reason": decision.reason,
                    "grants": decision.grants,
                }))
                .expect("serialises")
            ),
            Format::Table => {
                outln!("{}", if decision.allowed { "yes" } else { "no" });
                outln!("{subject}: {request}: {}", decision.reason);
                for g in &decision.grants {
                    outln!(
                        "  {} [{}] as {}: {}",
                        g.provenance(),
                        g.scope(),
                        g.subject,
                        g.rule.compact()
                    );
                }
            }
        }
    }
    // "no" is an answer, printed above, with exit 1 for scripts.
    if decision.allowed {
        Ok(Done::Ok)
    } else {
        Err(Failure::Reported)
    }
}
