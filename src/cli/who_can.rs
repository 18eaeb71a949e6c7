//! `kube-evidence who-can VERB RESOURCE`: every subject that may make a request, with the grants
//! behind each.

use super::logging::LogArgs;
use super::table::Table;
use super::{CmdResult, Done};
use clap::Args;
use kube_evidence::rbac::index::RbacIndex;
use kube_evidence::source::Needs;

use super::query::*;
use super::table::Format;

#[derive(Args, Debug)]
pub struct WhoCanArgs {
    #[command(flatten)]
    pub request: RequestArgs,
    /// Answer for every namespace of the snapshot, one answer per namespace
    #[arg(long, short = 'A', conflicts_with = "namespace")]
    pub all_namespaces: bool,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    #[command(flatten)]
    pub input: InputArgs,
}

pub fn execute(args: WhoCanArgs, log: &LogArgs) -> CmdResult {
    // From a live cluster, only the bindings and roles the question needs are listed.
    let needs = Needs::Rbac {
        namespace: (!args.all_namespaces)
            .then(|| args.request.namespace.clone())
            .flatten()
            .filter(|_| args.request.non_resource_url.is_none()),
    };
    let snapshot = load_for(&args.input, log, &needs)?;
    let index = RbacIndex::build(&snapshot);
    let namespaces: Vec<Option<String>> = if args.all_namespaces {
        index.namespaces.iter().cloned().map(Some).collect()
    } else {
        warn_unknown_namespace(&index, args.request.namespace.as_deref());
        vec![args.request.namespace.clone()]
    };
    let mut json_per_ns = serde_json::Map::new();
    let mut table = Table::new(&["NAMESPACE", "SUBJECT", "VIA", "SCOPE", "RULE"]);
    let mut warned = false;
    for ns in &namespaces {
        let (request, warnings) = args.request.request(ns.as_deref());
        if !warned {
            print_warnings(warnings);
            warned = true;
        }
        let answer = index.who_can(&request);
        let items: Vec<serde_json::Value> = answer
            .iter()
            .map(|(subject, grants)| serde_json::json!({"subject": subject, "via": grants}))
            .collect();
        for (subject, grants) in &answer {
            for g in grants {
                table.row(vec![
                    ns.clone().unwrap_or_else(|| "(cluster-wide)".into()),
                    subject.to_string(),
                    g.provenance(),
                    g.scope(),
                    g.rule.compact(),
                ]);
            }
        }
        if args.all_namespaces {
            json_per_ns.insert(
                ns.clone().unwrap_or_default(),
                serde_json::Value::Array(items),
            );
        } else if args.format == Format::Json {
            outln!(
                "{}",
                serde_json::to_string_pretty(&items).expect("serialises")
            );
            return Ok(Done::Ok);
        }
    }
    match args.format {
        Format::Json => outln!(
            "{}",
            serde_json::to_string_pretty(&json_per_ns).expect("serialises")
        ),
        Format::Table => {
            if table.is_empty() {
                outln!(
                    "no subject is allowed (members of Group:system:masters always are: they bypass RBAC)"
                );
            } else {
                out!("{}", table.render());
                outln!("(members of Group:system:masters are always allowed: they bypass RBAC)");
            }
        }
    }
    Ok(Done::Ok)
}
