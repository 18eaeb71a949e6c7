//! A local directory as a store. Objects are written to a temporary file and then hard-linked to
//! their final name, which fails if the name exists: create-only without a race. Pointers are
//! replaced by rename. An OS file lock serialises publishers and dies with its process.

use super::{PublishLock, Store, StoreError, validate_key};
use async_trait::async_trait;
use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

pub struct LocalStore {
    root: PathBuf,
}

impl LocalStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        LocalStore { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The path of `key`, after checking that no part of it under the root is a symbolic link
    /// (the root itself may be one: it is where the user pointed).
    fn path(&self, key: &str) -> Result<PathBuf, StoreError> {
        validate_key(key)?;
        let mut p = self.root.clone();
        for part in key.split('/') {
            p.push(part);
            match fs::symlink_metadata(&p) {
                Ok(m) if m.file_type().is_symlink() => return Err(self.link(&p)),
                Ok(_) => {}
                Err(_) => break,
            }
        }
        Ok(self.root.join(key))
    }

    fn link(&self, path: &Path) -> StoreError {
        let key = path
            .strip_prefix(&self.root)
            .map(|r| r.display().to_string())
            .unwrap_or_else(|_| path.display().to_string());
        StoreError::Link {
            store: self.location(),
            key,
        }
    }

    fn io(&self, operation: &'static str, key: &str, e: std::io::Error) -> StoreError {
        StoreError::Io {
            store: self.location(),
            operation,
            key: key.to_string(),
            message: e.to_string(),
        }
    }

    /// A store rooted inside other evidence would add files to it: inside a pack, it breaks the
    /// pack's verification; inside a cluster's folder or another store, its packs look like that
    /// cluster's (interrupted publications, a newer pack latest.json does not name) and stop its
    /// runs. Publishing is refused where the root is a pack or a cluster's folder, or where a
    /// directory above it is a pack, a cluster's folder or a store.
    fn refuse_inside_evidence(&self) -> Result<(), StoreError> {
        use super::outputs::{Evidence, evidence_around, is_pack};
        let root = fs::canonicalize(&self.root).unwrap_or_else(|_| self.root.clone());
        let around = if is_pack(&root) {
            Some(Evidence::Pack(root.clone()))
        } else {
            match evidence_around(&root, &[]) {
                // The root being a store is what is asked for; only what holds it matters.
                Some(Evidence::StoreRoot(r)) if r == root => {
                    root.parent().and_then(|p| evidence_around(p, &[]))
                }
                other => other,
            }
        };
        match around {
            None => Ok(()),
            Some(evidence) => Err(StoreError::Other(format!(
                "{} is inside {evidence}; evidence is never written into. Give the store's root instead (the directory that holds <cluster>/latest.json), outside any other store",
                self.root.display(),
            ))),
        }
    }

    /// Writes `bytes` to a fresh temporary file beside `dest`, flushed to disk.
    fn write_temp(&self, dest: &Path, key: &str, bytes: &[u8]) -> Result<PathBuf, StoreError> {
        let dir = dest
            .parent()
            .expect("keys have a parent directory under the root");
        fs::create_dir_all(dir).map_err(|e| self.io("create directory for", key, e))?;
        let name = dest
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let tmp = dir.join(format!(
            ".tmp-{name}-{}-{}",
            std::process::id(),
            TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(|e| self.io("write", key, e))?;
        let result = f.write_all(bytes).and_then(|()| f.sync_all());
        if let Err(e) = result {
            let _ = fs::remove_file(&tmp);
            return Err(self.io("write", key, e));
        }
        Ok(tmp)
    }
}

struct FileLock(#[allow(dead_code)] File);
#[async_trait]
impl PublishLock for FileLock {
    async fn release(self: Box<Self>) -> Result<(), StoreError> {
        // Closing the file releases the OS lock.
        drop(self);
        Ok(())
    }
}

#[async_trait]
impl Store for LocalStore {
    fn location(&self) -> String {
        self.root.display().to_string()
    }

    async fn retention(&self) -> Result<super::Retention, StoreError> {
        // No path here: the pack states it, and the same inputs must give the same pack
        // wherever the directory is.
        Ok(super::Retention::Unverifiable {
            reason: "packs are files in a local directory; whether its file system or a copy keeps them write-once is outside what the tool can see".into(),
        })
    }

    async fn put_new(&self, key: &str, bytes: &[u8], _media_type: &str) -> Result<(), StoreError> {
        let dest = self.path(key)?;
        if dest.exists() {
            return Err(StoreError::AlreadyExists {
                store: self.location(),
                key: key.to_string(),
            });
        }
        let tmp = self.write_temp(&dest, key, bytes)?;
        let linked = fs::hard_link(&tmp, &dest);
        let _ = fs::remove_file(&tmp);
        match linked {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => Err(StoreError::AlreadyExists {
                store: self.location(),
                key: key.to_string(),
            }),
            Err(e) => Err(self.io("write", key, e)),
        }
    }

    async fn exists(&self, key: &str) -> Result<bool, StoreError> {
        match fs::metadata(self.path(key)?) {
            Ok(m) => Ok(m.is_file()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(self.io("look for", key, e)),
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let prefix = prefix.trim_matches('/');
        let start = if prefix.is_empty() {
            self.root.clone()
        } else {
            self.path(prefix)?
        };
        let mut out = Vec::new();
        let mut stack = vec![start];
        while let Some(dir) = stack.pop() {
            let entries = match fs::read_dir(&dir) {
                Ok(e) => e,
                Err(e)
                    if e.kind() == ErrorKind::NotFound || e.kind() == ErrorKind::NotADirectory =>
                {
                    continue;
                }
                Err(e) => return Err(self.io("list", prefix, e)),
            };
            for entry in entries {
                let entry = entry.map_err(|e| self.io("list", prefix, e))?;
                let name = entry.file_name().to_string_lossy().to_string();
                if name.starts_with(".tmp-") || name == ".lock" {
                    continue;
                }
                let p = entry.path();
                // The entry's own type, not its target's: a link is refused, never walked.
                let kind = entry.file_type().map_err(|e| self.io("list", prefix, e))?;
                if kind.is_symlink() {
                    return Err(self.link(&p));
                }
                if kind.is_dir() {
                    stack.push(p);
                } else if let Ok(rel) = p.strip_prefix(&self.root) {
                    let key = rel
                        .components()
                        .map(|c| c.as_os_str().to_string_lossy().to_string())
                        .collect::<Vec<_>>()
                        .join("/");
                    out.push(key);
                }
            }
        }
        out.sort();
        Ok(out)
    }

    async fn get_limited(&self, key: &str, limit: u64) -> Result<Option<Vec<u8>>, StoreError> {
        let p = self.path(key)?;
        let file = match File::open(&p) {
            Ok(f) => f,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.io("read", key, e)),
        };
        let size = file.metadata().map_err(|e| self.io("read", key, e))?.len();
        if size > limit {
            return Err(StoreError::TooLarge {
                store: self.location(),
                key: key.to_string(),
                size,
                limit,
            });
        }
        let mut bytes = Vec::with_capacity(size as usize);
        // Read no more than the limit even if the file grew since its size was taken.
        std::io::Read::read_to_end(
            &mut std::io::Read::take(file, limit.saturating_add(1)),
            &mut bytes,
        )
        .map_err(|e| self.io("read", key, e))?;
        if bytes.len() as u64 > limit {
            return Err(StoreError::TooLarge {
                store: self.location(),
                key: key.to_string(),
                size: bytes.len() as u64,
                limit,
            });
        }
        Ok(Some(bytes))
    }

    async fn list_children(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let prefix = prefix.trim_matches('/');
        let dir = if prefix.is_empty() {
            self.root.clone()
        } else {
            self.path(prefix)?
        };
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == ErrorKind::NotFound || e.kind() == ErrorKind::NotADirectory => {
                return Ok(Vec::new());
            }
            Err(e) => return Err(self.io("list", prefix, e)),
        };
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| self.io("list", prefix, e))?;
            let name = entry.file_name().to_string_lossy().to_string();
            if name.starts_with('.') {
                continue;
            }
            let kind = entry.file_type().map_err(|e| self.io("list", prefix, e))?;
            if kind.is_symlink() {
                return Err(self.link(&entry.path()));
            }
            if kind.is_dir() {
                out.push(name);
            }
        }
        out.sort();
        Ok(out)
    }

    async fn replace_pointer(
        &self,
        key: &str,
        bytes: &[u8],
        _media_type: &str,
    ) -> Result<(), StoreError> {
        let dest = self.path(key)?;
        let tmp = self.write_temp(&dest, key, bytes)?;
        fs::rename(&tmp, &dest).map_err(|e| {
            let _ = fs::remove_file(&tmp);
            self.io("replace", key, e)
        })?;
        if let Some(dir) = dest.parent() {
            // Make the rename itself durable.
            if let Ok(d) = File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    }

    async fn lock(&self, scope: &str) -> Result<Box<dyn PublishLock>, StoreError> {
        self.refuse_inside_evidence()?;
        let key = format!("{}/.lock", scope.trim_matches('/'));
        let dir = self.path(scope.trim_matches('/'))?;
        // A cluster's folder that is itself a store (or a pack) would mix its packs with
        // another's.
        if super::outputs::is_store_root(&dir) || super::outputs::is_pack(&dir) {
            return Err(StoreError::Other(format!(
                "{} is already an evidence store or pack, so it cannot be the folder of cluster `{}`: choose another cluster name or store",
                dir.display(),
                scope.trim_matches('/')
            )));
        }
        fs::create_dir_all(&dir).map_err(|e| self.io("create directory for", &key, e))?;
        let path = dir.join(".lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| self.io("lock", &key, e))?;
        let store = self.location();
        let locked = tokio::task::spawn_blocking(move || file.lock().map(|()| file))
            .await
            .map_err(|e| StoreError::Other(format!("lock task failed: {e}")))?;
        let file = locked.map_err(|e| StoreError::Io {
            store,
            operation: "lock",
            key,
            message: e.to_string(),
        })?;
        Ok(Box::new(FileLock(file)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn links_are_refused_never_followed() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), b"outside").unwrap();
        let s = LocalStore::new(dir.path());
        s.put_new("c/packs/p1/manifest.json", b"{}", "application/json")
            .await
            .unwrap();
        // Two `x -> .` links used to make a listing walk forever.
        std::os::unix::fs::symlink(".", dir.path().join("c/packs/x")).unwrap();
        std::os::unix::fs::symlink(".", dir.path().join("c/packs/p1/y")).unwrap();
        let err = s.list("c/").await.unwrap_err();
        assert!(
            matches!(&err, StoreError::Link { key, .. } if key.starts_with("c/packs/")),
            "{err}"
        );
        assert!(err.to_string().contains("never follows links"));
        assert!(matches!(
            s.list_children("c/packs/").await.unwrap_err(),
            StoreError::Link { .. }
        ));
        // Reading or writing through a link, to a file or a directory, is refused too.
        std::fs::remove_file(dir.path().join("c/packs/x")).unwrap();
        std::fs::remove_file(dir.path().join("c/packs/p1/y")).unwrap();
        std::os::unix::fs::symlink(
            outside.path().join("secret"),
            dir.path().join("c/latest.json"),
        )
        .unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("d")).unwrap();
        assert!(matches!(
            s.get_limited("c/latest.json", 100).await.unwrap_err(),
            StoreError::Link { .. }
        ));
        assert!(matches!(
            s.get_limited("d/secret", 100).await.unwrap_err(),
            StoreError::Link { .. }
        ));
        assert!(matches!(
            s.put_new("d/new", b"x", "text/plain").await.unwrap_err(),
            StoreError::Link { .. }
        ));
        assert!(matches!(
            s.replace_pointer("c/latest.json", b"x", "application/json")
                .await
                .unwrap_err(),
            StoreError::Link { .. }
        ));
        assert!(!outside.path().join("new").exists());
        assert_eq!(
            std::fs::read(outside.path().join("secret")).unwrap(),
            b"outside"
        );
    }

    #[tokio::test]
    async fn create_only_and_pointer_replacement() {
        let dir = tempfile::tempdir().unwrap();
        let s = LocalStore::new(dir.path());
        s.put_new("c/a.txt", b"one", "text/plain").await.unwrap();
        let err = s
            .put_new("c/a.txt", b"two", "text/plain")
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::AlreadyExists { .. }));
        assert_eq!(s.get_limited("c/a.txt", 3).await.unwrap().unwrap(), b"one");
        assert!(matches!(
            s.get_limited("c/a.txt", 2).await.unwrap_err(),
            StoreError::TooLarge {
                size: 3,
                limit: 2,
                ..
            }
        ));
        assert!(s.exists("c/a.txt").await.unwrap());
        assert!(!s.exists("c/none").await.unwrap());
        assert!(!s.exists("c").await.unwrap(), "a folder is not an object");
        s.replace_pointer("c/latest.json", b"1", "application/json")
            .await
            .unwrap();
        s.replace_pointer("c/latest.json", b"2", "application/json")
            .await
            .unwrap();
        let all = u64::MAX; // no overflow at the top of the range
        assert_eq!(
            s.get_limited("c/latest.json", all).await.unwrap().unwrap(),
            b"2"
        );
        assert_eq!(s.get_limited("c/none", all).await.unwrap(), None);
        assert_eq!(s.list("c").await.unwrap(), vec!["c/a.txt", "c/latest.json"]);
        assert_eq!(s.list("nothing").await.unwrap(), Vec::<String>::new());
    }

    #[tokio::test]
    async fn concurrent_creates_of_one_key_leave_exactly_one_winner() {
        let dir = tempfile::tempdir().unwrap();
        let s = std::sync::Arc::new(LocalStore::new(dir.path()));
        let mut tasks = Vec::new();
        for i in 0..16u8 {
            let s = s.clone();
            tasks.push(tokio::spawn(async move {
                s.put_new("k/x", &[i; 1000], "x").await.is_ok()
            }));
        }
        let mut wins = 0;
        for t in tasks {
            wins += usize::from(t.await.unwrap());
        }
        assert_eq!(wins, 1);
        let stored = s.get_limited("k/x", 1000).await.unwrap().unwrap();
        assert_eq!(stored.len(), 1000);
        assert!(stored.iter().all(|b| *b == stored[0]));
        assert_eq!(
            s.list("k").await.unwrap(),
            vec!["k/x"],
            "no temporary files left behind"
        );
    }

    #[tokio::test]
    async fn publishing_inside_a_pack_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let pack = dir.path().join("c1/2026/12/01/p1");
        fs::create_dir_all(pack.join("reports")).unwrap();
        fs::write(pack.join("manifest.json"), "{}").unwrap();
        fs::write(pack.join("SHA256SUMS"), "").unwrap();
        for root in [pack.clone(), pack.join("reports")] {
            let err = match LocalStore::new(&root).lock("c1").await {
                Err(e) => e.to_string(),
                Ok(_) => panic!("a lock inside a pack was granted"),
            };
            assert!(err.contains("is inside the evidence pack"), "{err}");
        }
        assert!(!pack.join("c1").exists());
        assert!(LocalStore::new(dir.path()).lock("c1").await.is_ok());
    }
}
