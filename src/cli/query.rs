//! `who-can`, `access` and `can-i`: questions compliance staff ask of a snapshot, answered with
//! the grants (binding -> role -> rule) behind every answer.

use super::common;
use super::logging::LogArgs;
use super::table::Table;
use super::{CmdResult, Done, Failure};
use anyhow::Context;
use clap::Args;
use kube_evidence::config::{Overrides, Setting};
use kube_evidence::rbac::index::RbacIndex;
use kube_evidence::rbac::privilege::{AdminReach, admin_reach};
use kube_evidence::rbac::reach::ReachGraph;
use kube_evidence::rbac::resources::resource_request;
use kube_evidence::rbac::{Identity, NonResourceRequest, Request, SubjectRef};
use kube_evidence::snapshot::Snapshot;
use kube_evidence::source::{Needs, SnapshotInput, load_snapshot};
use std::path::PathBuf;

use super::table::Format;

/// Where the snapshot comes from.
#[derive(Args, Debug, Clone)]
pub struct InputArgs {
    /// `cluster`, or a file or directory of dumped objects
    #[arg(long, value_name = "cluster|PATH", conflicts_with = "snapshot")]
    pub source: Option<String>,
    /// Read the source as rendered manifests: namespaced objects without a namespace go in NS
    #[arg(long, value_name = "NS", requires = "source")]
    pub default_namespace: Option<String>,
    /// A saved snapshot (`.json.gz`) or a pack directory
    #[arg(long, value_name = "FILE|PACK")]
    pub snapshot: Option<PathBuf>,
    /// Run configuration file (for the source and cluster name)
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub cluster: common::ClusterArgs,
}

/// Loads the snapshot a query is about; prints problems and returns the exit code on failure.
pub fn load(input: &InputArgs, log: &LogArgs) -> Result<Snapshot, Failure> {
    load_for(input, log, &Needs::Everything)
}

/// Loads what a query needs of the snapshot (from a live cluster, only that is listed).
pub fn load_for(input: &InputArgs, log: &LogArgs, needs: &Needs) -> Result<Snapshot, Failure> {
    let mut flags = Overrides::default();
    flags.set_opt(Setting::Source, input.source.clone());
    flags.set_opt(Setting::DefaultNamespace, input.default_namespace.clone());
    input.cluster.apply(&mut flags);
    let config = common::load_config(input.config.as_deref(), flags, log)?;
    let what = match (&input.snapshot, &config.source) {
        (Some(p), _) => SnapshotInput::Saved(p.clone()),
        (None, Some(s)) => SnapshotInput::Source(s.clone()),
        (None, None) => {
            return Err(Failure::usage(
                "say what to ask about: --source cluster|PATH or --snapshot FILE",
            ));
        }
    };
    let clock = common::clock()?;
    let name = config
        .cluster_name
        .clone()
        .unwrap_or_else(|| "unnamed".into());
    let rt = common::runtime();
    rt.block_on(async {
        let progress = common::progress();
        load_snapshot(
            &what,
            &name,
            clock.now(),
            progress.as_ref(),
            &config.cluster_options(),
            needs,
        )
        .await
        .context("cannot load the snapshot")
    })
    .map_err(Failure::from)
}

/// A verb is one word: an empty or spaced one can match no rule and would answer nothing
/// as if that were the truth.
fn verb(text: &str) -> Result<String, String> {
    if text.is_empty() || text.chars().any(char::is_whitespace) {
        return Err(format!(
            "`{text}` is not a verb: give one word such as get, list, create or delete"
        ));
    }
    Ok(text.to_string())
}

/// The request arguments shared by `who-can` and `can-i`.
#[derive(Args, Debug, Clone)]
pub struct RequestArgs {
    /// The verb: get, list, watch, create, update, patch, delete, deletecollection, impersonate, bind, escalate...
    #[arg(value_parser = verb)]
    pub verb: String,
    /// RESOURCE[.GROUP][/SUBRESOURCE], for example `secrets`, `deployments.apps`, `pods/exec`
    #[arg(required_unless_present = "non_resource_url")]
    pub resource: Option<String>,
    /// The namespace of the request; without it the request is cluster-wide
    #[arg(long, short = 'n', value_name = "NAMESPACE")]
    pub namespace: Option<String>,
    /// The API group (default: the group of a known built-in resource, else the core group)
    #[arg(long, value_name = "GROUP")]
    pub api_group: Option<String>,
    /// The name of the object (requests such as list and create name none)
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// A non-resource URL such as /metrics or /healthz instead of a resource
    #[arg(long, value_name = "URL", conflicts_with_all = ["resource", "namespace", "api_group", "name"])]
    pub non_resource_url: Option<String>,
}

impl RequestArgs {
    fn request(&self, namespace: Option<&str>) -> (Request, Vec<String>) {
        match &self.non_resource_url {
            Some(url) => (
                Request::NonResource(NonResourceRequest {
                    verb: self.verb.clone(),
                    path: url.clone(),
                }),
                Vec::new(),
            ),
            None => resource_request(
                &self.verb,
                self.resource.as_deref().unwrap_or_default(),
                self.api_group.as_deref(),
                namespace,
                self.name.as_deref(),
            ),
        }
    }
}

/// A subject no binding names and no ServiceAccount of the snapshot is (often a typo) gets
/// only what every authenticated user gets: say so, with the nearest subject that exists.
fn warn_unknown_subject(index: &RbacIndex, snapshot: &Snapshot, subject: &SubjectRef) {
    let mut known: std::collections::BTreeSet<String> = index
        .bindings
        .iter()
        .flat_map(|b| b.resolved.iter().flatten())
        .map(|s| s.to_string())
        .collect();
    known.extend(snapshot.service_accounts.iter().map(|sa| {
        SubjectRef::ServiceAccount {
            namespace: sa.metadata.namespace.clone().unwrap_or_default(),
            name: sa.metadata.name.clone(),
        }
        .to_string()
    }));
    let wanted = subject.to_string();
    if known.contains(&wanted) {
        return;
    }
    let candidates: Vec<&str> = known.iter().map(String::as_str).collect();
    let hint = kube_evidence::diag::did_you_mean(&wanted, &candidates)
        .map(|c| format!("; did you mean {c}?"))
        .unwrap_or_default();
    eprintln!(
        "warning: {wanted} is named by no binding and is no ServiceAccount of the snapshot{hint} (answering anyway: it gets what its groups get)"
    );
}

/// What a question about one subject starts from: the subject, the snapshot and its index; with
/// `warn`, a warning when the snapshot does not know the subject.
fn subject_question(
    text: &str,
    input: &InputArgs,
    log: &LogArgs,
    warn: bool,
) -> Result<(SubjectRef, Snapshot, RbacIndex), Failure> {
    let subject = parse_subject(text)?;
    let snapshot = load(input, log)?;
    let index = RbacIndex::build(&snapshot);
    if warn {
        warn_unknown_subject(&index, &snapshot, &subject);
    }
    Ok((subject, snapshot, index))
}

fn print_warnings(warnings: impl IntoIterator<Item = String>) {
    for w in warnings {
        eprintln!("warning: {w}");
    }
}

fn warn_unknown_namespace(index: &RbacIndex, ns: Option<&str>) {
    if let Some(ns) = ns
        && !index.has_namespace(ns)
    {
        eprintln!(
            "warning: namespace {ns} does not exist in the snapshot; answering anyway (cluster-wide grants apply there too)"
        );
    }
}

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

pub fn who_can(args: WhoCanArgs, log: &LogArgs) -> CmdResult {
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

fn parse_subject(text: &str) -> Result<SubjectRef, Failure> {
    SubjectRef::parse(text).map_err(Failure::usage)
}

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

pub fn access(args: AccessArgs, log: &LogArgs) -> CmdResult {
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

pub fn can_i(args: CanIArgs, log: &LogArgs) -> CmdResult {
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
