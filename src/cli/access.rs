//! `kube-evidence access SUBJECT`: everything a subject may do, with the grants behind it.

use super::logging::LogArgs;
use super::table::Table;
use super::{CmdResult, Done};
use clap::Args;
use kube_evidence::rbac::Identity;
use kube_evidence::rbac::privilege::{AdminReach, admin_reach};
use kube_evidence::rbac::reach::ReachGraph;

use super::query::*;
use super::table::Format;

#[derive(Args, Debug)]
pub struct AccessArgs {
    /// User:NAME, Group:NAME or ServiceAccount:NAMESPACE/NAME
    pub subject: String,
    /// A group the user is in (repeatable); ServiceAccounts get their implicit groups anyway
    #[arg(long = "group", value_name = "GROUP")]
    pub groups: Vec<String>,
    /// Also print what the subject can reach by escalation, and the shortest path to cluster-admin
    #[arg(long)]
    pub reach: bool,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    #[command(flatten)]
    pub input: InputArgs,
}

pub fn execute(args: AccessArgs, log: &LogArgs) -> CmdResult {
    let (subject, snapshot, index) = subject_question(&args.subject, &args.input, log, true)?;
    let identity = Identity::of(&subject, &args.groups);
    let report = index.access(&identity);
    // The privilege level comes from the same function the pack's rules, matrix and register
    // use (rbac::privilege), so this answer and the pack cannot disagree.
    let reach = args.reach.then(|| {
        let graph = ReachGraph::build(&index, &snapshot);
        let (reached, _) = graph.reachable_from(&index, &subject);
        (reached, admin_reach(&index, &graph, &identity))
    });
    match args.format {
        Format::Json => {
            let mut v = serde_json::json!({
                "subject": subject,
                "groups": identity.groups,
                "bypassesRbac": report.bypasses_rbac,
                "clusterWide": report.cluster_wide,
                "namespaced": report.namespaced,
            });
            if let Some((reached, admin)) = &reach {
                let path = match admin {
                    Some(AdminReach::Escalation { path, .. }) => Some(path.clone()),
                    _ => None,
                };
                v["reach"] = serde_json::json!({
                    "reached": reached,
                    "clusterAdmin": admin.as_ref().map(|a| a.describe_for(&subject)).unwrap_or_else(|| "none".into()),
                    "clusterAdminReach": admin,
                    "clusterAdminPath": path,
                });
            }
            outln!("{}", serde_json::to_string_pretty(&v).expect("serialises"));
        }
        Format::Table => {
            outln!("{subject} (groups: {})", identity.groups.join(", "));
            if report.bypasses_rbac {
                outln!("member of system:masters: bypasses RBAC, every request is allowed");
            }
            let mut t = Table::new(&["SCOPE", "RULE", "VIA", "AS"]);
            for g in report.all() {
                t.row(vec![
                    g.scope(),
                    g.rule.compact(),
                    g.provenance(),
                    g.subject.to_string(),
                ]);
            }
            if t.is_empty() {
                outln!("no RBAC grants");
            } else {
                out!("{}", t.render());
            }
            if let Some((reached, admin)) = &reach {
                outln!();
                match admin {
                    Some(direct @ AdminReach::Direct { grants, .. }) => {
                        outln!("holds cluster-admin: {}", direct.describe_for(&subject));
                        for g in grants {
                            outln!("  [{}] as {}", g.provenance(), g.subject);
                        }
                    }
                    Some(AdminReach::Escalation { path, .. }) => {
                        outln!(
                            "reaches cluster-admin via escalation in {} step(s):",
                            path.len()
                        );
                        for (i, s) in path.iter().enumerate() {
                            let by = s
                                .grant
                                .as_ref()
                                .map(|g| format!(" [{}]", g.provenance()))
                                .unwrap_or_default();
                            outln!("  {}. {} {} -> {}{by}", i + 1, s.from, s.action, s.to);
                        }
                    }
                    None => outln!("does not reach cluster-admin"),
                }
                if !reached.is_empty() {
                    outln!("reaches {} other identit(ies):", reached.len());
                    for r in reached {
                        let how: Vec<String> = r.path.iter().map(|s| s.action.clone()).collect();
                        outln!("  {}: {}", r.subject, how.join("; "));
                    }
                }
            }
        }
    }
    Ok(Done::Ok)
}
