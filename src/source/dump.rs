//! The dump source: Kubernetes objects from files, as `kubectl get ... -o yaml|json` writes them.
//!
//! A path may be one file or a directory tree (files ending in `.yaml`, `.yml` or `.json`, read in
//! sorted order, hidden entries skipped). A file may hold several YAML documents, and a document
//! may be a single object or a `List` (including typed lists such as `ClusterRoleList`). Every
//! problem in every file is reported at once with its file, document index, line and column.

use super::objects::{ObjectError, PathSegment, SnapshotBuilder};
use super::{CollectContext, Source, SourceError};
use crate::diag::{Diagnostics, Pos};
use crate::snapshot::{ResourceKind, Snapshot};
use crate::yaml::{self, Node, Value};
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub struct DumpSource {
    path: PathBuf,
    default_namespace: Option<String>,
}

impl DumpSource {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        DumpSource {
            path: path.into(),
            default_namespace: None,
        }
    }

    /// Namespaced objects that name no namespace go in `namespace` (rendered manifests, as
    /// `kubectl apply -n` reads them).
    pub fn with_default_namespace(mut self, namespace: Option<String>) -> Self {
        self.default_namespace = namespace;
        self
    }
}

#[async_trait]
impl Source for DumpSource {
    fn describe(&self) -> String {
        format!("dump:{}", self.path.display())
    }

    async fn collect(&self, ctx: &CollectContext<'_>) -> Result<Snapshot, SourceError> {
        let path = self.path.clone();
        let cluster = ctx.cluster_name.to_string();
        let taken_at = ctx.taken_at;
        let source = self.describe();
        let default_namespace = self.default_namespace.clone();
        // Parsing is CPU-bound; keep it off the async worker threads.
        tokio::task::spawn_blocking(move || {
            read_dump_in(&path, &cluster, taken_at, source, default_namespace)
        })
        .await
        .map_err(|e| SourceError::Internal(e.to_string()))?
    }

    async fn config_map(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Option<BTreeMap<String, String>>, SourceError> {
        find_config_map(&self.path, namespace, name)
    }
}

/// Looks a ConfigMap up among the dumped objects.
pub fn find_config_map(
    path: &Path,
    namespace: &str,
    name: &str,
) -> Result<Option<BTreeMap<String, String>>, SourceError> {
    for file in list_files(path)? {
        let text = crate::input::read_text(&file, crate::input::MAX_DUMP_FILE).map_err(|e| {
            SourceError::Io {
                path: file.display().to_string(),
                message: e.to_string(),
            }
        })?;
        let Ok(docs) = yaml::parse_stream(&text) else {
            continue;
        };
        for doc in docs {
            let Some(root) = doc.root else { continue };
            let items: Vec<&Node> = match root.get("items").and_then(Node::as_seq) {
                Some(items) => items.iter().collect(),
                None => vec![&root],
            };
            for item in items {
                let is_cm = item.get("kind").and_then(Node::as_str) == Some("ConfigMap")
                    || root.get("kind").and_then(Node::as_str) == Some("ConfigMapList");
                let meta = item.get("metadata");
                let matches = meta.and_then(|m| m.get("name")).and_then(Node::as_str) == Some(name)
                    && meta.and_then(|m| m.get("namespace")).and_then(Node::as_str)
                        == Some(namespace);
                if is_cm && matches {
                    let data = item
                        .get("data")
                        .and_then(Node::as_map)
                        .map(|entries| {
                            entries
                                .iter()
                                .filter_map(|(k, v)| {
                                    Some((k.as_str()?.to_string(), v.as_str()?.to_string()))
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    return Ok(Some(data));
                }
            }
        }
    }
    Ok(None)
}

/// Reads a dump path into a canonical snapshot.
pub fn read_dump(
    path: &Path,
    cluster_name: &str,
    taken_at: chrono::DateTime<chrono::Utc>,
    source: String,
) -> Result<Snapshot, SourceError> {
    read_dump_in(path, cluster_name, taken_at, source, None)
}

/// Reads a dump path, or a directory of rendered manifests whose namespaced objects without a
/// namespace go in `default_namespace`, into a canonical snapshot.
pub fn read_dump_in(
    path: &Path,
    cluster_name: &str,
    taken_at: chrono::DateTime<chrono::Utc>,
    source: String,
    default_namespace: Option<String>,
) -> Result<Snapshot, SourceError> {
    let files = list_files(path)?;
    let mut builder = SnapshotBuilder::new(cluster_name, taken_at, source)
        .with_default_namespace(default_namespace);
    let mut diags = Diagnostics::new();
    let mut objects = 0usize;
    for file in &files {
        let shown = crate::diag::escape(&file.display().to_string());
        let text = match crate::input::read_bounded(file, crate::input::MAX_DUMP_FILE)
            .and_then(crate::input::text_from_bytes)
        {
            Ok(text) => text,
            Err(crate::input::InputError::Io { source }) => {
                return Err(SourceError::Io {
                    path: shown,
                    message: source.to_string(),
                });
            }
            Err(e @ crate::input::InputError::NotUtf8 { pos, .. }) => {
                diags.push(&shown, Some(pos), e.to_string());
                continue;
            }
            Err(e) => {
                diags.push(&shown, None, e.to_string());
                continue;
            }
        };
        objects += read_file_text(&text, &shown, is_json(file), &mut builder, &mut diags);
    }
    finish(
        builder,
        diags,
        objects,
        &crate::diag::escape(&path.display().to_string()),
    )
}

/// Reads one dump file given as text (what `read_dump` does per file), for callers that hold
/// the text already: the fuzz targets, and tests.
pub fn read_dump_text(
    file_name: &str,
    text: &str,
    cluster_name: &str,
    taken_at: chrono::DateTime<chrono::Utc>,
) -> Result<Snapshot, SourceError> {
    let mut builder = SnapshotBuilder::new(cluster_name, taken_at, format!("dump:{file_name}"));
    let mut diags = Diagnostics::new();
    let json = is_json(Path::new(file_name));
    let objects = read_file_text(text, file_name, json, &mut builder, &mut diags);
    finish(builder, diags, objects, file_name)
}

fn is_json(file: &Path) -> bool {
    file.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
}

/// One file's objects into the builder; returns how many it held.
fn read_file_text(
    text: &str,
    shown: &str,
    json: bool,
    builder: &mut SnapshotBuilder,
    diags: &mut Diagnostics,
) -> usize {
    if text.trim().is_empty() {
        diags.push(shown, None, "the file is empty");
        return 0;
    }
    if json {
        // JSON is streamed item by item; if anything is wrong, the YAML reader (JSON is
        // YAML) says exactly where, field by field.
        match json::read(text, builder) {
            Ok(n) => return n,
            Err(json::Problem::Syntax {
                line,
                column,
                message,
            }) => {
                diags.push(shown, Some(Pos::new(line, column)), message);
                return 0;
            }
            Err(json::Problem::Object) => {}
        }
    }
    read_text(text, shown, builder, diags)
}

/// The snapshot, once every file is read: refused if any file had a problem, if nothing was
/// read at all, or if an object is defined twice.
fn finish(
    builder: SnapshotBuilder,
    diags: Diagnostics,
    objects: usize,
    shown_path: &str,
) -> Result<Snapshot, SourceError> {
    if !diags.is_empty() {
        return Err(SourceError::Invalid(diags));
    }
    if objects == 0 {
        return Err(SourceError::NoObjects {
            path: shown_path.to_string(),
        });
    }
    let snapshot = builder.finish();
    let mut problems = Diagnostics::new();
    for duplicate in duplicate_objects(&snapshot) {
        problems.push(
            shown_path,
            None,
            format!("{duplicate} is defined more than once in the dump; keep one definition"),
        );
    }
    if !problems.is_empty() {
        return Err(SourceError::Invalid(problems));
    }
    Ok(snapshot)
}

/// The RBAC objects and ServiceAccounts a dump defines more than once (a cluster has each once,
/// so two definitions mean the dump was assembled wrongly, and which one holds is unknown).
fn duplicate_objects(snapshot: &Snapshot) -> Vec<String> {
    let mut seen = std::collections::BTreeSet::new();
    let mut duplicates = std::collections::BTreeSet::new();
    let mut check = |kind: &str, meta: &crate::snapshot::ObjectMeta| {
        let key = match &meta.namespace {
            Some(ns) => format!("{kind} {ns}/{}", meta.name),
            None => format!("{kind} {}", meta.name),
        };
        if !seen.insert(key.clone()) {
            duplicates.insert(key);
        }
    };
    for o in &snapshot.cluster_roles {
        check("ClusterRole", &o.metadata);
    }
    for o in &snapshot.cluster_role_bindings {
        check("ClusterRoleBinding", &o.metadata);
    }
    for o in &snapshot.roles {
        check("Role", &o.metadata);
    }
    for o in &snapshot.role_bindings {
        check("RoleBinding", &o.metadata);
    }
    for o in &snapshot.service_accounts {
        check("ServiceAccount", &o.metadata);
    }
    duplicates.into_iter().collect()
}

/// Files from this size on are read List item by List item instead of as one tree.
const STREAM_FROM_BYTES: usize = 1024 * 1024;

/// Reads every document of one file; returns how many objects it held. The items of a large
/// List are projected one at a time as they are parsed, so memory follows what the snapshot
/// keeps rather than the size of the file.
fn read_text(
    text: &str,
    file: &str,
    builder: &mut SnapshotBuilder,
    diags: &mut Diagnostics,
) -> usize {
    // Which documents are Lists decides which are streamed; `kind` may follow `items` (kubectl
    // writes keys in alphabetical order), so it is read in a first pass that builds nothing.
    let list_documents: Vec<bool> = if text.len() >= STREAM_FROM_BYTES {
        match yaml::top_level_kinds(text) {
            Ok(kinds) => kinds
                .iter()
                .map(|k| k.as_deref().is_some_and(|k| k.ends_with("List")))
                .collect(),
            Err(e) => {
                diags.push(file, Some(e.pos), e.message);
                return 0;
            }
        }
    } else {
        Vec::new()
    };
    let streamed = |number: usize| list_documents.get(number - 1).copied().unwrap_or(false);
    let mut reader = FileReader {
        file,
        builder,
        diags,
        count: 0,
        kindless: Vec::new(),
    };
    if let Err(e) = yaml::parse_parts(
        text,
        Some(&streamed as &dyn Fn(usize) -> bool),
        &mut |part| match part {
            yaml::Part::Item {
                document,
                index,
                node,
            } => reader.item(document, index, node),
            yaml::Part::Document { number, doc } => reader.document(number, doc),
        },
    ) {
        reader.diags.push(file, Some(e.pos), e.message);
    }
    reader.count
}

/// The documents of one dump file as the parser hands them over.
struct FileReader<'a> {
    file: &'a str,
    builder: &'a mut SnapshotBuilder,
    diags: &'a mut Diagnostics,
    count: usize,
    /// Streamed List items that name no kind, until the list's kind is known.
    kindless: Vec<(usize, Node)>,
}

impl FileReader<'_> {
    fn report(&mut self, document: usize, pos: Pos, msg: String) {
        self.diags
            .push(self.file, Some(pos), format!("document {document}: {msg}"));
    }

    /// One List item, streamed: projected now if it names its kind.
    fn item(&mut self, document: usize, index: usize, mut node: Node) {
        let explicit = node.get("kind").and_then(Node::as_str).map(str::to_string);
        match explicit {
            Some(kind) => self.add(document, &kind, &mut node),
            None => self.kindless.push((index, node)),
        }
    }

    fn add(&mut self, document: usize, kind: &str, node: &mut Node) {
        let (file, diags) = (self.file, &mut *self.diags);
        let mut report = |pos: Pos, msg: String| {
            diags.push(file, Some(pos), format!("document {document}: {msg}"));
        };
        if add_object(kind, node, self.builder, &mut report) {
            self.count += 1;
        }
    }

    fn document(&mut self, number: usize, doc: yaml::Document) {
        let kindless = std::mem::take(&mut self.kindless);
        let Some(mut root) = doc.root else {
            return;
        };
        if root.as_map().is_none() {
            let found = root.value.type_name();
            self.report(
                number,
                root.pos,
                format!("expected a Kubernetes object (a mapping), found {found}"),
            );
            return;
        }
        let kind = root.get("kind").and_then(Node::as_str).map(str::to_string);
        let Some(kind) = kind else {
            self.report(number, root.pos, "object has no `kind`".into());
            return;
        };
        if !(kind == "List" || (kind.ends_with("List") && root.get("items").is_some())) {
            self.add(number, &kind, &mut root);
            return;
        }
        let item_kind = kind
            .strip_suffix("List")
            .filter(|k| !k.is_empty())
            .map(str::to_string);
        if let Some(k) = item_kind.as_deref().and_then(ResourceKind::from_name) {
            self.builder.mark_listed(k);
        }
        let items = match root.get("items") {
            None => Vec::new(),
            Some(n) if matches!(n.value, Value::Null) => Vec::new(),
            Some(n) => match n.as_seq() {
                Some(items) => items.iter().cloned().enumerate().collect(),
                None => {
                    let msg = format!("`items` must be a list, found {}", n.value.type_name());
                    self.report(number, n.pos, msg);
                    return;
                }
            },
        };
        for (i, mut item) in kindless.into_iter().chain(items) {
            let explicit = item.get("kind").and_then(Node::as_str).map(str::to_string);
            let Some(k) = explicit.or_else(|| item_kind.clone()) else {
                self.report(number, item.pos, format!("items[{i}] has no `kind`"));
                continue;
            };
            self.add(number, &k, &mut item);
        }
    }
}

/// Projects one object; reports a problem at the offending field's position.
fn add_object(
    kind: &str,
    node: &mut Node,
    builder: &mut SnapshotBuilder,
    report: &mut impl FnMut(Pos, String),
) -> bool {
    if node.as_map().is_none() {
        report(
            node.pos,
            format!(
                "expected a Kubernetes object (a mapping), found {}",
                node.value.type_name()
            ),
        );
        return false;
    }
    let name = node
        .get("metadata")
        .and_then(|m| m.get("name"))
        .and_then(Node::as_str)
        .filter(|n| !n.is_empty())
        .map(str::to_string);
    let Some(name) = name else {
        let pos = node.key_pos("metadata").unwrap_or(node.pos);
        report(pos, format!("{kind} object has no `metadata.name`"));
        return false;
    };
    let api_version = node
        .get("apiVersion")
        .and_then(Node::as_str)
        .unwrap_or("")
        .to_string();
    let Some(rk) = known_kind(kind, &api_version) else {
        builder.ignore(&api_version, kind);
        return true;
    };
    if rk == ResourceKind::Secret {
        strip_secret_payload(node);
    }
    let json = node.to_json();
    match builder.add(rk, json) {
        Ok(()) => true,
        Err(ObjectError { path, message }) => {
            let pos = position_of(node, &path).unwrap_or(node.pos);
            let field = render_path(&path);
            let at = if field.is_empty() {
                String::new()
            } else {
                format!(" at `{field}`")
            };
            report(pos, format!("{kind} {name}{at}: {message}"));
            false
        }
    }
}

/// The kinds the snapshot uses, recognised by kind and API group so that a CRD that happens to be
/// called `Role` in another group is not mistaken for RBAC.
fn known_kind(kind: &str, api_version: &str) -> Option<ResourceKind> {
    let rk = ResourceKind::from_name(kind)?;
    let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
    (api_version.is_empty() || group == rk.api_group()).then_some(rk)
}

/// Removes Secret values before anything else sees the object.
fn strip_secret_payload(node: &mut Node) {
    if let Value::Map(entries) = &mut node.value {
        entries.retain(|(k, _)| !matches!(k.as_str(), Some("data" | "stringData")));
        for (k, v) in entries.iter_mut() {
            if k.as_str() == Some("metadata")
                && let Value::Map(meta) = &mut v.value
            {
                for (mk, mv) in meta.iter_mut() {
                    if mk.as_str() == Some("annotations")
                        && let Value::Map(ann) = &mut mv.value
                    {
                        ann.retain(|(ak, _)| {
                            ak.as_str() != Some("kubectl.kubernetes.io/last-applied-configuration")
                        });
                    }
                }
            }
        }
    }
}

fn position_of(node: &Node, path: &[PathSegment]) -> Option<Pos> {
    let mut cur = node;
    for seg in path {
        cur = match (seg, &cur.value) {
            (PathSegment::Key(k), Value::Map(_)) => cur.get(k)?,
            (PathSegment::Index(i), Value::Seq(items)) => items.get(*i)?,
            _ => return Some(cur.pos),
        };
    }
    Some(cur.pos)
}

fn render_path(path: &[PathSegment]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            PathSegment::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            PathSegment::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// Whether a file name has a dump extension: `.yaml`, `.yml` or `.json`, in any case.
fn is_dump_file(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "yaml" | "yml" | "json"))
}

/// The files of a dump. A dump is one file, or a directory tree of `.yaml`, `.yml` and `.json`
/// files (any case), read in name order. A `.git` directory is not part of it. Anything else
/// (a hidden entry included) is refused, all at once, rather than skipped: a symbolic link (it
/// could repeat the dump or reach outside it), a file of another type, a special file.
fn list_files(path: &Path) -> Result<Vec<PathBuf>, SourceError> {
    let meta = std::fs::metadata(path).map_err(|e| SourceError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    if meta.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut refused = Diagnostics::new();
    let mut out = Vec::new();
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|e| SourceError::Io {
            path: dir.display().to_string(),
            message: e.to_string(),
        })?;
        for entry in entries {
            let entry = entry.map_err(|e| SourceError::Io {
                path: dir.display().to_string(),
                message: e.to_string(),
            })?;
            let p = entry.path();
            let name = entry.file_name().to_string_lossy().to_string();
            let shown = crate::diag::escape(&p.display().to_string());
            let ft = entry.file_type().map_err(|e| SourceError::Io {
                path: shown.clone(),
                message: e.to_string(),
            })?;
            if name == ".git" && ft.is_dir() {
                // A dump kept in git: the repository's own directory is not part of it.
                continue;
            }
            if name.starts_with('.') {
                refused.push(
                    &shown,
                    None,
                    "a hidden entry: a dump holds no hidden files or directories (only `.git` is passed over); rename it or move it out",
                );
            } else if ft.is_symlink() {
                refused.push(
                    &shown,
                    None,
                    "a symbolic link: links are not followed in a dump (one could repeat the dump or reach outside it); copy the file in instead",
                );
            } else if ft.is_dir() {
                stack.push(p);
            } else if !ft.is_file() {
                refused.push(&shown, None, "not a regular file");
            } else if is_dump_file(&p) {
                out.push(p);
            } else {
                refused.push(
                    &shown,
                    None,
                    "not a dump file: a dump directory holds only .yaml, .yml and .json files; move this one out",
                );
            }
        }
    }
    if !refused.is_empty() {
        return Err(SourceError::Invalid(refused));
    }
    out.sort();
    if out.is_empty() {
        return Err(SourceError::NoObjects {
            path: path.display().to_string(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::{CollectionStatus, snapshot_to_json};
    use chrono::DateTime;

    fn read_str(text: &str) -> Result<Snapshot, SourceError> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("dump.yaml");
        std::fs::write(&p, text).unwrap();
        read_dump(&p, "c", DateTime::from_timestamp(0, 0).unwrap(), "t".into())
    }

    fn errors(text: &str) -> String {
        match read_str(text) {
            Err(SourceError::Invalid(d)) => d.to_string(),
            other => panic!("expected diagnostics, got {other:?}"),
        }
    }

    #[test]
    fn multi_document_yaml() {
        let s = read_str(
            "apiVersion: v1\nkind: Namespace\nmetadata: {name: kube-system, uid: abc}\n---\n\
             apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: r}\nrules: []\n",
        )
        .unwrap();
        assert_eq!(s.cluster.id.as_deref(), Some("abc"));
        assert_eq!(s.cluster_roles.len(), 1);
    }

    #[test]
    fn typed_list_json_marks_kind_listed_even_when_empty() {
        let s = read_str(
            r#"{"apiVersion":"v1","kind":"SecretList","items":[]}
"#,
        );
        // A JSON document with only an empty list still counts as no objects.
        assert!(matches!(s, Err(SourceError::NoObjects { .. })));
        let s = read_str(
            r#"{"apiVersion":"v1","kind":"List","items":[
              {"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"a","namespace":"n"}}]}"#,
        )
        .unwrap();
        assert_eq!(s.service_accounts.len(), 1);
        assert_eq!(
            s.collector.status_of(ResourceKind::ServiceAccount),
            CollectionStatus::Complete
        );
    }

    #[test]
    fn errors_name_document_line_and_field() {
        let text = "kind: ClusterRole\nmetadata: {name: a}\n---\nkind: ClusterRole\nmetadata:\n  name: b\nrules:\n- verbs: get\n---\nmetadata: {name: c}\n---\nkind: Role\nmetadata: {namespace: x}\n";
        let e = errors(text);
        assert!(e.contains("dump.yaml:8:10: document 2: ClusterRole b at `rules[0].verbs`: invalid type: string \"get\", expected a sequence"), "{e}");
        assert!(
            e.contains("dump.yaml:10:1: document 3: object has no `kind`"),
            "{e}"
        );
        assert!(
            e.contains("dump.yaml:13:1: document 4: Role object has no `metadata.name`"),
            "{e}"
        );
    }

    #[test]
    fn syntax_errors_and_empty_files() {
        let e = errors("kind: [\n");
        assert!(e.contains("dump.yaml:"), "{e}");
        assert!(e.contains("YAML syntax error"), "{e}");
        assert!(errors("  \n").contains("the file is empty"));
    }

    #[test]
    fn crds_with_rbac_names_in_other_groups_are_ignored() {
        let s = read_str(
            "apiVersion: example.com/v1\nkind: Role\nmetadata: {name: x}\n---\nkind: Namespace\napiVersion: v1\nmetadata: {name: a}\n",
        )
        .unwrap();
        assert!(s.roles.is_empty());
        assert_eq!(
            s.collector.ignored_kinds.get("Role (example.com/v1)"),
            Some(&1)
        );
    }

    #[test]
    fn secret_payload_never_reaches_errors_or_snapshot() {
        let s = read_str(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: t\n  namespace: n\n  annotations:\n    kubernetes.io/service-account.name: sa\ntype: kubernetes.io/service-account-token\ndata:\n  token: SUPERSECRETVALUE\nstringData:\n  x: ANOTHERSECRET\n",
        )
        .unwrap();
        let json = String::from_utf8(snapshot_to_json(&s)).unwrap();
        assert!(!json.contains("SUPERSECRETVALUE") && !json.contains("ANOTHERSECRET"));
        assert_eq!(s.token_secrets.len(), 1);
    }
}

/// The fast path for `.json` files: the file is streamed, a `List`'s items projected one at a
/// time, so memory follows what the snapshot keeps, not the file's size.
mod json {
    use super::{ResourceKind, SnapshotBuilder, known_kind};
    use serde::de::{
        self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor,
    };
    use serde_json::{Map, Value};
    use std::fmt;

    /// Why the fast path gave up.
    pub enum Problem {
        /// The JSON itself is broken: where and why.
        Syntax {
            line: u32,
            column: u32,
            message: String,
        },
        /// An object is not what the snapshot needs; the YAML reader reports it precisely.
        Object,
    }

    /// Reads one JSON file (a single object or a List); returns how many objects it held.
    pub fn read(text: &str, builder: &mut SnapshotBuilder) -> Result<usize, Problem> {
        let mut de = serde_json::Deserializer::from_str(text);
        let mut file = File {
            builder,
            count: 0,
            failed: false,
            kindless: Vec::new(),
        };
        let rest = match (&mut de).deserialize_map(&mut file) {
            Ok(rest) => rest,
            Err(e) if e.is_syntax() || e.is_eof() => {
                return Err(Problem::Syntax {
                    line: e.line() as u32,
                    column: e.column() as u32,
                    message: format!("not valid JSON: {e}"),
                });
            }
            Err(_) => return Err(Problem::Object),
        };
        if let Err(e) = de.end() {
            return Err(Problem::Syntax {
                line: e.line() as u32,
                column: e.column() as u32,
                message: format!("not valid JSON: {e}"),
            });
        }
        if file.failed {
            return Err(Problem::Object);
        }
        finish(file, rest)
    }

    /// After the top level is read: a List's items without a `kind` of their own take the
    /// list's, which a file may name after its items; anything else is one object.
    fn finish(mut file: File<'_>, rest: Option<Map<String, Value>>) -> Result<usize, Problem> {
        let Some(top) = rest else {
            return Err(Problem::Object);
        };
        let kind = top.get("kind").and_then(Value::as_str).unwrap_or("");
        let is_list = kind == "List" || (kind.ends_with("List") && top.contains_key("items"));
        if !is_list {
            if !file.kindless.is_empty() {
                return Err(Problem::Object);
            }
            file.add(Value::Object(top), None)?;
            return Ok(file.count);
        }
        let item_kind = kind.strip_suffix("List").filter(|k| !k.is_empty());
        if let Some(k) = item_kind.and_then(ResourceKind::from_name) {
            file.builder.mark_listed(k);
        }
        for item in std::mem::take(&mut file.kindless) {
            let Some(k) = item_kind else {
                return Err(Problem::Object);
            };
            file.add(item, Some(k))?;
        }
        Ok(file.count)
    }

    struct File<'a> {
        builder: &'a mut SnapshotBuilder,
        count: usize,
        failed: bool,
        /// List items that name no kind, until the list's kind is known.
        kindless: Vec<Value>,
    }

    impl File<'_> {
        fn add(&mut self, mut object: Value, kind: Option<&str>) -> Result<(), Problem> {
            let kind = match object.get("kind").and_then(Value::as_str) {
                Some(k) => k.to_string(),
                None => kind.ok_or(Problem::Object)?.to_string(),
            };
            let has_name = object
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .is_some_and(|n| !n.is_empty());
            if !has_name {
                return Err(Problem::Object);
            }
            let api_version = object
                .get("apiVersion")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let Some(rk) = known_kind(&kind, &api_version) else {
                self.builder.ignore(&api_version, &kind);
                self.count += 1;
                return Ok(());
            };
            if rk == ResourceKind::Secret {
                strip_secret_payload(&mut object);
            }
            self.builder.add(rk, object).map_err(|_| Problem::Object)?;
            self.count += 1;
            Ok(())
        }
    }

    /// A JSON value that refuses duplicate keys (serde_json keeps the last one silently; the
    /// YAML reader then reports the duplicate with its position).
    struct Strict(Value);

    impl<'de> serde::Deserialize<'de> for Strict {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(StrictVisitor).map(Strict)
        }
    }

    struct StrictVisitor;

    impl<'de> Visitor<'de> for StrictVisitor {
        type Value = Value;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a JSON value")
        }
        fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
            Ok(Value::Bool(v))
        }
        fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
            Ok(Value::from(v))
        }
        fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
            Ok(Value::from(v))
        }
        fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
            Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
        }
        fn visit_str<E>(self, v: &str) -> Result<Value, E> {
            Ok(Value::String(v.to_string()))
        }
        fn visit_string<E>(self, v: String) -> Result<Value, E> {
            Ok(Value::String(v))
        }
        fn visit_unit<E>(self) -> Result<Value, E> {
            Ok(Value::Null)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
            let mut items = Vec::new();
            while let Some(Strict(v)) = seq.next_element()? {
                items.push(v);
            }
            Ok(Value::Array(items))
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
            let mut m = Map::new();
            while let Some(k) = map.next_key::<String>()? {
                if m.contains_key(&k) {
                    return Err(de::Error::custom("duplicate key"));
                }
                let Strict(v) = map.next_value()?;
                m.insert(k, v);
            }
            Ok(Value::Object(m))
        }
    }

    fn strip_secret_payload(object: &mut Value) {
        if let Some(map) = object.as_object_mut() {
            map.remove("data");
            map.remove("stringData");
        }
        if let Some(ann) = object
            .pointer_mut("/metadata/annotations")
            .and_then(Value::as_object_mut)
        {
            ann.remove("kubectl.kubernetes.io/last-applied-configuration");
        }
    }

    /// The top-level object: every field kept but `items`, whose elements are projected as they
    /// are read.
    impl<'de> Visitor<'de> for &mut File<'_> {
        type Value = Option<Map<String, Value>>;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a Kubernetes object or List")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut rest = Map::new();
            while let Some(key) = map.next_key::<String>()? {
                if rest.contains_key(&key) {
                    return Err(de::Error::custom("duplicate key"));
                }
                if key == "items" {
                    map.next_value_seed(Items(self))?;
                    rest.insert(key, Value::Null);
                } else {
                    rest.insert(key, map.next_value::<Strict>()?.0);
                }
            }
            Ok(Some(rest))
        }
    }

    impl<'de> DeserializeSeed<'de> for &mut File<'_> {
        type Value = Option<Map<String, Value>>;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_map(self)
        }
    }

    struct Items<'a, 'b>(&'a mut File<'b>);

    impl<'de> DeserializeSeed<'de> for Items<'_, '_> {
        type Value = ();
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_any(self)
        }
    }

    impl<'de> Visitor<'de> for Items<'_, '_> {
        type Value = ();

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a list of objects")
        }

        fn visit_unit<E>(self) -> Result<(), E> {
            Ok(())
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            while let Some(Strict(item)) = seq.next_element::<Strict>()? {
                if self.0.failed {
                    continue;
                }
                if item.get("kind").and_then(Value::as_str).is_none() {
                    self.0.kindless.push(item);
                } else if self.0.add(item, None).is_err() {
                    self.0.failed = true;
                }
            }
            Ok(())
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            // `items` that is not a list: the YAML reader says so with its position.
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            self.0.failed = true;
            Ok(())
        }
    }
}
