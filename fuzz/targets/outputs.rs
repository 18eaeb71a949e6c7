//! Where a command may write: any path (relative to a folder holding a store with a pack, links
//! included) is either refused or lands outside every pack and store. The input is the path.
use kube_evidence::store::outputs::{Output, write_all};
use std::path::PathBuf;
use std::sync::OnceLock;

struct Place {
    _dir: tempfile::TempDir,
    root: PathBuf,
    store: PathBuf,
}

fn place() -> &'static Place {
    static P: OnceLock<Place> = OnceLock::new();
    P.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        let store = root.join("store");
        let pack = store.join("c/packs/2026/12/01/P");
        std::fs::create_dir_all(&pack).unwrap();
        std::fs::write(pack.join("manifest.json"), b"{}").unwrap();
        std::fs::write(pack.join("SHA256SUMS"), b"").unwrap();
        std::fs::write(store.join("c/latest.json"), b"{}").unwrap();
        std::fs::create_dir_all(root.join("reports")).unwrap();
        std::os::unix::fs::symlink(&pack, root.join("into-pack")).unwrap();
        std::os::unix::fs::symlink(&store, root.join("into-store")).unwrap();
        Place {
            _dir: dir,
            root,
            store,
        }
    })
}

/// One input.
pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if text.len() > 512 || text.contains('\0') {
        return;
    }
    let p = place();
    let path = p.root.join(text);
    let before = listing(&p.store);
    // The oracle is the operating system: what `write_all` accepts, it writes, and the store
    // must be exactly as it was.
    if write_all(&[Output::new(&path, b"x".to_vec())], &[]).is_ok() {
        let after = listing(&p.store);
        let _ = std::fs::remove_file(&path);
        assert_eq!(
            before,
            after,
            "writing {} changed the store",
            path.display()
        );
    }
}

/// Every entry under `dir`, links not followed.
fn listing(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let path = e.path();
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(path.clone());
            }
            out.push(path);
        }
    }
    out.sort();
    out
}
