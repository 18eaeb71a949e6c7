//! What `who-can`, `access` and `can-i` share: where the snapshot comes from, the request asked
//! about, and the warnings about names the snapshot does not hold. Each command is its own module
//! (`who_can`, `access`, `can_i`); every answer comes with the grants (binding -> role -> rule)
//! behind it.

use super::Failure;
use super::common;
use super::logging::LogArgs;
use anyhow::Context;
use clap::Args;
use kube_evidence::config::{Overrides, Setting};
use kube_evidence::rbac::index::RbacIndex;
use kube_evidence::rbac::resources::resource_request;
use kube_evidence::rbac::{NonResourceRequest, Request, SubjectRef};
use kube_evidence::snapshot::Snapshot;
use kube_evidence::source::{Needs, SnapshotInput, load_snapshot};
use std::path::PathBuf;

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
pub(super) fn verb(text: &str) -> Result<String, String> {
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
    pub(super) fn request(&self, namespace: Option<&str>) -> (Request, Vec<String>) {
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
pub(super) fn warn_unknown_subject(index: &RbacIndex, snapshot: &Snapshot, subject: &SubjectRef) {
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
pub(super) fn subject_question(
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

pub(super) fn print_warnings(warnings: impl IntoIterator<Item = String>) {
    for w in warnings {
        eprintln!("warning: {w}");
    }
}

pub(super) fn warn_unknown_namespace(index: &RbacIndex, ns: Option<&str>) {
    if let Some(ns) = ns
        && !index.has_namespace(ns)
    {
        eprintln!(
            "warning: namespace {ns} does not exist in the snapshot; answering anyway (cluster-wide grants apply there too)"
        );
    }
}

pub(super) fn parse_subject(text: &str) -> Result<SubjectRef, Failure> {
    SubjectRef::parse(text).map_err(Failure::usage)
}
