//! Where snapshots come from. A [`Source`] turns a cluster, or files dumped from one, into a
//! canonical [`Snapshot`]; the rest of the pipeline never knows which it was.

pub mod cluster;
pub mod dump;
pub mod objects;

use crate::diag::Diagnostics;
use crate::progress::Progress;
use crate::snapshot::Snapshot;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::path::PathBuf;

/// What every source is given for one collection.
pub struct CollectContext<'a> {
    pub cluster_name: &'a str,
    pub taken_at: DateTime<Utc>,
    pub progress: &'a dyn Progress,
}

#[async_trait]
pub trait Source: Send + Sync {
    /// Where the objects come from, as recorded in the snapshot's collector metadata.
    fn describe(&self) -> String;
    async fn collect(&self, ctx: &CollectContext<'_>) -> Result<Snapshot, SourceError>;

    /// Only the RBAC objects a who-can question in `namespace` needs (every ClusterRole and
    /// ClusterRoleBinding, the namespace's Roles and RoleBindings; all of them without a
    /// namespace). A source that cannot select collects everything.
    async fn collect_rbac(
        &self,
        ctx: &CollectContext<'_>,
        namespace: Option<&str>,
    ) -> Result<Snapshot, SourceError> {
        let _ = namespace;
        self.collect(ctx).await
    }

    /// The data of a ConfigMap (for an inventory kept in the cluster), or None if there is none.
    async fn config_map(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Option<std::collections::BTreeMap<String, String>>, SourceError>;
}

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("cannot read {path}: {message}")]
    Io { path: String, message: String },
    #[error(
        "no Kubernetes objects found in {path} (expected .yaml, .yml or .json files holding objects or Lists)"
    )]
    NoObjects { path: String },
    #[error("the dump has problems:\n{0}")]
    Invalid(Diagnostics),
    #[error("collection from the cluster failed: {0}")]
    Cluster(String),
    #[error("collection from the cluster failed: cannot build a client for {server}")]
    Client {
        server: String,
        #[source]
        source: kube::Error,
    },
    #[error("collection from the cluster failed: cannot use kubeconfig {path}")]
    Kubeconfig {
        path: String,
        #[source]
        source: kube::config::KubeconfigError,
    },
    #[error("collection from the cluster failed: in-cluster configuration failed")]
    InCluster {
        #[source]
        source: kube::config::InClusterError,
    },
    #[error(
        "collection from the cluster failed: no cluster configuration: not running in a cluster, and the kubeconfig (KUBECONFIG or ~/.kube/config) cannot be used"
    )]
    NoConfiguration {
        #[source]
        source: kube::config::KubeconfigError,
    },
    #[error("internal error while collecting: {0}")]
    Internal(String),
}

/// A source as the user names it: the word `cluster`, or a path to dump files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceSpec {
    Cluster,
    Dump(PathBuf),
    /// Rendered manifests: files read like a dump, namespaced objects without a namespace put
    /// in `namespace` (`--default-namespace`).
    Manifests {
        path: PathBuf,
        namespace: String,
    },
}

impl SourceSpec {
    /// `cluster` means the live API; anything else is a path (write `./cluster` for a directory
    /// of that name).
    pub fn parse(text: &str) -> SourceSpec {
        if text == "cluster" {
            SourceSpec::Cluster
        } else {
            SourceSpec::Dump(PathBuf::from(text))
        }
    }
}

impl std::fmt::Display for SourceSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SourceSpec::Cluster => f.write_str("cluster"),
            SourceSpec::Dump(p) => write!(f, "{}", p.display()),
            SourceSpec::Manifests { path, namespace } => {
                write!(f, "{} (default namespace {namespace})", path.display())
            }
        }
    }
}

/// Opens the source a spec names; `cluster` says how to reach a live cluster.
pub async fn open(
    spec: &SourceSpec,
    cluster: &cluster::ClusterOptions,
) -> Result<Box<dyn Source>, SourceError> {
    match spec {
        SourceSpec::Dump(p) => Ok(Box::new(dump::DumpSource::new(p.clone()))),
        SourceSpec::Manifests { path, namespace } => Ok(Box::new(
            dump::DumpSource::new(path.clone()).with_default_namespace(Some(namespace.clone())),
        )),
        SourceSpec::Cluster => Ok(Box::new(
            cluster::ClusterSource::connect(cluster.clone()).await?,
        )),
    }
}

/// Where a query command gets its snapshot: a live or dumped source, or a saved snapshot (a
/// `.json.gz`/`.json` file, or a pack directory holding `snapshot.json.gz`).
#[derive(Debug, Clone)]
pub enum SnapshotInput {
    Source(SourceSpec),
    Saved(PathBuf),
}

#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    Snapshot(#[from] crate::snapshot::SnapshotIoError),
    #[error(transparent)]
    Locate(#[from] crate::pack::read::LocateError),
    #[error(transparent)]
    Pack(#[from] crate::pack::read::PackError),
    #[error("{file} of pack {path}: {message}")]
    PackSnapshot {
        path: String,
        file: String,
        message: String,
    },
}

/// What a query needs of the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Needs {
    /// Everything a run collects.
    Everything,
    /// Only the RBAC objects a who-can question needs, in one namespace or in all.
    Rbac { namespace: Option<String> },
}

/// Loads the snapshot a query command was pointed at; from a source, only what it `needs`.
pub async fn load_snapshot(
    input: &SnapshotInput,
    cluster_name: &str,
    taken_at: DateTime<Utc>,
    progress: &dyn Progress,
    cluster: &cluster::ClusterOptions,
    needs: &Needs,
) -> Result<Snapshot, InputError> {
    match input {
        SnapshotInput::Source(spec) => {
            let source = open(spec, cluster).await?;
            let ctx = CollectContext {
                cluster_name,
                taken_at,
                progress,
            };
            Ok(match needs {
                Needs::Everything => source.collect(&ctx).await?,
                Needs::Rbac { namespace } => {
                    source.collect_rbac(&ctx, namespace.as_deref()).await?
                }
            })
        }
        SnapshotInput::Saved(path) if path.is_dir() => {
            Ok(narrow(read_pack_snapshot(path).await?, needs))
        }
        SnapshotInput::Saved(path) => Ok(narrow(crate::snapshot::read_snapshot_file(path)?, needs)),
    }
}

/// A saved snapshot narrowed to what `needs` asks of it, as a live source lists it: a question
/// in one namespace is decided by the ClusterRoles, the ClusterRoleBindings and that
/// namespace's Roles and RoleBindings alone (the authorizer consults nothing else), so the
/// index is not built over every other namespace's.
pub fn narrow(mut snapshot: Snapshot, needs: &Needs) -> Snapshot {
    if let Needs::Rbac {
        namespace: Some(ns),
    } = needs
    {
        snapshot.roles.retain(|r| r.metadata.ns() == ns);
        snapshot.role_bindings.retain(|b| b.metadata.ns() == ns);
    }
    snapshot
}

/// The snapshot of a pack's folder, read as every pack is read ([`crate::pack::read`]): the
/// manifest and its signature if it has one, then the snapshot only as the manifest records it.
async fn read_pack_snapshot(dir: &std::path::Path) -> Result<Snapshot, InputError> {
    use crate::pack::read::{Policy, Target, locate_folder, open_whole};
    let (store, prefix) = locate_folder(dir)?;
    let pack = open_whole(&store, Target::At(&prefix), Policy::reader(None, None)).await?;
    let bytes = pack.file(crate::snapshot::SNAPSHOT_FILE).await?;
    crate::snapshot::snapshot_from_bytes(&bytes, &dir.display().to_string()).map_err(|e| {
        InputError::PackSnapshot {
            path: dir.display().to_string(),
            file: crate::snapshot::SNAPSHOT_FILE.to_string(),
            message: e.to_string(),
        }
    })
}
