//! Files the tool writes outside a store — reports, keys, snapshots, signatures, population
//! sheets. They are never written over an existing file and never into a local store or a pack:
//! a file added to a pack breaks its verification, and one added to a store's folders is read
//! back as evidence by the next run. Every target is checked before the first byte is written,
//! so a refused command leaves nothing behind, and every refusal names the file.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Directories read when looking for a store around an output (a store root's children).
const MAX_CHILDREN_SCANNED: usize = 10_000;

/// Evidence a path would land in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Evidence {
    /// A published pack: it holds `manifest.json` and its sums or signature.
    Pack(PathBuf),
    /// A cluster's folder in a local store: `latest.json`, or the publish lock beside `packs/`
    /// or `reviews/`.
    ClusterFolder(PathBuf),
    /// A local store's root: `fleet.json`, or a cluster folder among its children.
    StoreRoot(PathBuf),
}

impl std::fmt::Display for Evidence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Evidence::Pack(p) => write!(f, "the evidence pack {}", p.display()),
            Evidence::ClusterFolder(p) => {
                write!(f, "the store folder {} (a cluster's packs)", p.display())
            }
            Evidence::StoreRoot(p) => write!(f, "the evidence store {}", p.display()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("{} exists; kube-evidence never overwrites a file it writes: choose another place", .path.display())]
    Exists { path: PathBuf },
    #[error("{} is inside {evidence}; outputs are never written into evidence: choose a directory outside it", .path.display())]
    InsideEvidence { path: PathBuf, evidence: Evidence },
    #[error("{} is a symbolic link; outputs are never written through a link", .path.display())]
    Link { path: PathBuf },
    #[error("cannot write {}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// One file to write.
#[derive(Debug, Clone)]
pub struct Output {
    pub path: PathBuf,
    pub bytes: Vec<u8>,
    /// Unix permissions of the new file (0o600 for a private key).
    pub mode: u32,
}

impl Output {
    pub fn new(path: impl Into<PathBuf>, bytes: impl Into<Vec<u8>>) -> Output {
        Output {
            path: path.into(),
            bytes: bytes.into(),
            mode: 0o644,
        }
    }

    pub fn private(path: impl Into<PathBuf>, bytes: impl Into<Vec<u8>>) -> Output {
        Output {
            mode: 0o600,
            ..Output::new(path, bytes)
        }
    }
}

/// Every problem with writing `outputs` (existing files, evidence around them, links), found
/// before anything is written. `stores` are local store roots the command works on: an output
/// under one of them is refused even before the store holds anything.
pub fn check(outputs: &[Output], stores: &[&Path]) -> Vec<OutputError> {
    let mut problems = Vec::new();
    for o in outputs {
        if let Err(e) = check_one(&o.path, stores) {
            problems.push(e);
        }
    }
    problems
}

/// Checks every output (see [`check`]), then creates their directories and writes each file
/// create-only. The first problem is returned; nothing is written when any check fails.
pub fn write_all(outputs: &[Output], stores: &[&Path]) -> Result<(), OutputError> {
    if let Some(first) = check(outputs, stores).into_iter().next() {
        return Err(first);
    }
    for o in outputs {
        write_new(o)?;
    }
    Ok(())
}

/// Refuses a directory of outputs that lies inside evidence (before any of its files is known).
pub fn check_directory(dir: &Path, stores: &[&Path]) -> Result<(), OutputError> {
    let resolved = resolve(dir)?;
    if let Some(evidence) = evidence_around(&resolved, stores) {
        return Err(OutputError::InsideEvidence {
            path: dir.to_path_buf(),
            evidence,
        });
    }
    Ok(())
}

fn check_one(path: &Path, stores: &[&Path]) -> Result<(), OutputError> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => {
            return Err(OutputError::Link {
                path: path.to_path_buf(),
            });
        }
        Ok(_) => {
            return Err(OutputError::Exists {
                path: path.to_path_buf(),
            });
        }
        Err(_) => {}
    }
    let resolved = resolve(path)?;
    if let Some(evidence) = evidence_around(&resolved, stores) {
        return Err(OutputError::InsideEvidence {
            path: path.to_path_buf(),
            evidence,
        });
    }
    Ok(())
}

fn write_new(o: &Output) -> Result<(), OutputError> {
    use std::os::unix::fs::OpenOptionsExt;
    let io = |source| OutputError::Io {
        path: o.path.clone(),
        source,
    };
    if let Some(dir) = o.path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(io)?;
    }
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(o.mode)
        .open(&o.path)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => OutputError::Exists {
                path: o.path.clone(),
            },
            _ => io(e),
        })?;
    f.write_all(&o.bytes)
        .and_then(|()| f.sync_all())
        .map_err(io)
}

/// `path` made absolute and resolved as the operating system will resolve it when the output is
/// written: component by component, each existing one through its links (so a link into a pack
/// is seen as the pack), `..` taking the parent of what came before (a folder that does not exist
/// yet is created, then left, exactly so), `.` nothing.
fn resolve(path: &Path) -> Result<PathBuf, OutputError> {
    use std::path::Component;
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map_err(|source| OutputError::Io {
                path: path.to_path_buf(),
                source,
            })?
            .join(path)
    };
    let mut out = PathBuf::new();
    for component in absolute.components() {
        match component {
            Component::Prefix(_) | Component::RootDir => out.push(component.as_os_str()),
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(name) => {
                out.push(name);
                if let Ok(real) = fs::canonicalize(&out) {
                    out = real;
                }
            }
        }
    }
    Ok(out)
}

/// The evidence `path` (absolute, resolved) would be written into, if any: the nearest pack,
/// cluster folder or store root among its ancestors, or one of `stores`.
pub fn evidence_around(path: &Path, stores: &[&Path]) -> Option<Evidence> {
    let roots: Vec<PathBuf> = stores
        .iter()
        .map(|s| fs::canonicalize(s).unwrap_or_else(|_| s.to_path_buf()))
        .collect();
    for dir in path.ancestors() {
        if roots.iter().any(|r| r == dir) {
            return Some(Evidence::StoreRoot(dir.to_path_buf()));
        }
        if is_pack(dir) {
            return Some(Evidence::Pack(dir.to_path_buf()));
        }
        if is_cluster_folder(dir) {
            return Some(Evidence::ClusterFolder(dir.to_path_buf()));
        }
        if is_store_root(dir) {
            return Some(Evidence::StoreRoot(dir.to_path_buf()));
        }
    }
    None
}

/// The files that mark a pack directory: its manifest, with its sums or its signature. The
/// store sits below `pack` and cannot name its constants; `pack`'s tests check these agree.
pub const PACK_MARKERS: [&str; 3] = [
    crate::files::MANIFEST,
    crate::files::SUMS,
    crate::files::MANIFEST_SIGNATURE,
];

/// A published pack directory.
pub fn is_pack(dir: &Path) -> bool {
    let [manifest, sums, signature] = PACK_MARKERS;
    dir.join(manifest).is_file() && (dir.join(sums).is_file() || dir.join(signature).is_file())
}

fn is_cluster_folder(dir: &Path) -> bool {
    dir.join(crate::files::LATEST).is_file()
        || (dir.join(".lock").is_file()
            && (dir.join("packs").is_dir() || dir.join("reviews").is_dir()))
}

pub fn is_store_root(dir: &Path) -> bool {
    if dir.join("fleet.json").is_file() {
        return true;
    }
    let Ok(entries) = fs::read_dir(dir) else {
        return false;
    };
    entries
        .take(MAX_CHILDREN_SCANNED)
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .any(|e| is_cluster_folder(&e.path()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pack_in(root: &Path) -> PathBuf {
        let pack = root.join("c1/packs/2026/12/01/P1");
        fs::create_dir_all(&pack).unwrap();
        fs::write(pack.join("manifest.json"), b"{}").unwrap();
        fs::write(pack.join("SHA256SUMS"), b"").unwrap();
        fs::write(root.join("c1/latest.json"), b"{}").unwrap();
        pack
    }

    #[test]
    fn outputs_inside_a_pack_a_cluster_folder_or_a_store_are_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("store");
        let pack = pack_in(&store);
        let cases = [
            (pack.join("report.html"), "the evidence pack"),
            (pack.join("new/dir/report.html"), "the evidence pack"),
            (store.join("c1/x.csv"), "the store folder"),
            (store.join("fleet/index.html"), "the evidence store"),
            (store.join("index.html"), "the evidence store"),
        ];
        for (path, what) in cases {
            let problems = check(&[Output::new(&path, "x")], &[]);
            assert_eq!(problems.len(), 1, "{}", path.display());
            let text = problems[0].to_string();
            assert!(text.contains(what), "{text}");
            assert!(text.contains(&path.display().to_string()), "{text}");
        }
        let outside = dir.path().join("reports/fleet.html");
        assert!(check(&[Output::new(&outside, "x")], &[]).is_empty());
    }

    #[test]
    fn an_empty_store_named_by_the_command_is_refused_too() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("empty-store");
        fs::create_dir_all(&store).unwrap();
        let out = store.join("report.html");
        assert!(check(&[Output::new(&out, "x")], &[]).is_empty());
        let problems = check(&[Output::new(&out, "x")], &[store.as_path()]);
        assert!(matches!(problems[..], [OutputError::InsideEvidence { .. }]));
        // A store that does not exist yet, named relative to where it will be.
        let later = dir.path().join("later");
        let problems = check(
            &[Output::new(later.join("a/b.html"), "x")],
            &[later.as_path()],
        );
        assert_eq!(problems.len(), 1);
    }

    #[test]
    fn a_link_into_a_pack_is_seen_through_and_nothing_is_written_when_one_output_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let pack = pack_in(&dir.path().join("store"));
        let link = dir.path().join("shortcut");
        std::os::unix::fs::symlink(&pack, &link).unwrap();
        let good = dir.path().join("out/good.html");
        let bad = link.join("bad.html");
        let err = write_all(&[Output::new(&good, "x"), Output::new(&bad, "x")], &[]).unwrap_err();
        assert!(matches!(err, OutputError::InsideEvidence { .. }), "{err}");
        assert!(
            !good.exists(),
            "nothing is written when one output is refused"
        );
        assert!(!pack.join("bad.html").exists());
    }

    #[test]
    fn existing_files_and_links_are_never_written_over() {
        let dir = tempfile::tempdir().unwrap();
        let existing = dir.path().join("key");
        fs::write(&existing, b"old").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(dir.path().join("nowhere"), &link).unwrap();
        let problems = check(
            &[Output::new(&existing, "new"), Output::new(&link, "new")],
            &[],
        );
        assert!(matches!(problems[0], OutputError::Exists { .. }));
        assert!(matches!(problems[1], OutputError::Link { .. }));
        assert_eq!(fs::read(&existing).unwrap(), b"old");
        assert!(!dir.path().join("nowhere").exists());
    }

    #[test]
    fn dot_dot_through_a_folder_not_made_yet_is_followed_as_it_will_be() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("store");
        pack_in(&store);
        // `new` does not exist: creating it and stepping out of it lands in the cluster folder.
        let sneaky = dir.path().join("new/../store/c1/x.html");
        let problems = check(&[Output::new(&sneaky, "x")], &[]);
        assert_eq!(problems.len(), 1, "{sneaky:?} was accepted");
        // Through a link, `..` is the parent of the link's target, as the system resolves it.
        let link = dir.path().join("l");
        std::os::unix::fs::symlink(store.join("c1/packs"), &link).unwrap();
        let through = dir.path().join("l/../y.html");
        assert_eq!(check(&[Output::new(&through, "x")], &[]).len(), 1);
    }

    #[test]
    fn a_private_key_gets_mode_0600() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("k");
        write_all(&[Output::private(&key, "secret")], &[]).unwrap();
        let mode = fs::metadata(&key).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}
