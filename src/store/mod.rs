//! Where packs are kept. A [`Store`] is an object store with one rule that matters: objects are
//! created once and never replaced, except the `latest.json` pointer, which moves only after a
//! pack is complete. The local directory store lives here; S3 fits the same trait.

pub mod local;
pub mod outputs;
mod retention;
pub mod s3;

use async_trait::async_trait;
pub use retention::Retention;

use std::path::PathBuf;

/// A store location as the user writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreUrl {
    Local(PathBuf),
    S3 { bucket: String, prefix: String },
}

impl StoreUrl {
    /// `s3://BUCKET/PREFIX`, `file:///DIR`, or a plain directory path.
    pub fn parse(text: &str) -> Result<StoreUrl, String> {
        if let Some(rest) = text.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(format!(
                    "`{text}` names no bucket; expected s3://BUCKET/PREFIX"
                ));
            }
            return Ok(StoreUrl::S3 {
                bucket: bucket.to_string(),
                prefix: prefix.trim_matches('/').to_string(),
            });
        }
        if let Some(path) = text.strip_prefix("file://") {
            if path.is_empty() {
                return Err(format!("`{text}` names no directory"));
            }
            return Ok(StoreUrl::Local(PathBuf::from(path)));
        }
        if let Some((scheme, _)) = text.split_once("://") {
            return Err(format!(
                "unsupported store scheme `{scheme}://`; use a directory, file://DIR or s3://BUCKET/PREFIX"
            ));
        }
        if text.is_empty() {
            return Err("the store location is empty".into());
        }
        Ok(StoreUrl::Local(PathBuf::from(text)))
    }
}

impl std::fmt::Display for StoreUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreUrl::Local(p) => write!(f, "{}", p.display()),
            StoreUrl::S3 { bucket, prefix } if prefix.is_empty() => write!(f, "s3://{bucket}"),
            StoreUrl::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{key} already exists in {store}; evidence is never overwritten")]
    AlreadyExists { store: String, key: String },
    #[error("{operation} {key} in {store} failed: {message}")]
    Io {
        store: String,
        operation: &'static str,
        key: String,
        message: String,
    },
    #[error("invalid object key `{0}`")]
    InvalidKey(String),
    #[error("{key} in {store} is {size} bytes, more than the {limit} bytes it may have")]
    TooLarge {
        store: String,
        key: String,
        size: u64,
        limit: u64,
    },
    /// A local store never follows symbolic links: one could point anywhere (another pack, the
    /// store itself, outside it), and a listing that followed `x -> .` would never end.
    #[error(
        "{key} in {store} is a symbolic link; the store never follows links (replace it with the file or directory it points to, or remove it)"
    )]
    Link { store: String, key: String },
    #[error("{0}")]
    Other(String),
}

/// What the store enforces for one object: its Object Lock mode and the date until which it
/// cannot be deleted or replaced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRetention {
    /// `COMPLIANCE`, `GOVERNANCE`, or `none` when the object carries no lock.
    pub mode: String,
    pub retain_until: Option<chrono::DateTime<chrono::Utc>>,
}

/// Held while a run publishes to one cluster's prefix. [`PublishLock::release`] gives it back;
/// a lock that is only dropped (a crashed or killed run) ends with its process (local) or when its
/// lease expires (S3), so it never blocks publishing for good.
#[async_trait]
pub trait PublishLock: Send {
    async fn release(self: Box<Self>) -> Result<(), StoreError>;
}

#[async_trait]
pub trait Store: Send + Sync {
    /// The store's location, for messages and the pack's own record.
    fn location(&self) -> String;

    /// Creates an object; fails with [`StoreError::AlreadyExists`] if one is there.
    async fn put_new(&self, key: &str, bytes: &[u8], media_type: &str) -> Result<(), StoreError>;

    /// Reads an object of at most `limit` bytes, or `None` if there is none; a larger one is
    /// [`StoreError::TooLarge`], refused before its body is read when the store announces its
    /// size. Every read names its limit: what a store holds is outside input.
    async fn get_limited(&self, key: &str, limit: u64) -> Result<Option<Vec<u8>>, StoreError>;

    /// Whether an object exists at `key`, without reading it.
    async fn exists(&self, key: &str) -> Result<bool, StoreError>;

    /// The names directly under `prefix` that hold objects (one level of `/`), sorted: the
    /// clusters of a store without listing every pack.
    async fn list_children(&self, prefix: &str) -> Result<Vec<String>, StoreError>;

    /// The retention the store enforces on `key`, or `None` when it cannot tell (a local
    /// directory) or the object does not exist.
    async fn object_retention(&self, key: &str) -> Result<Option<ObjectRetention>, StoreError> {
        let _ = key;
        Ok(None)
    }

    /// When the store itself says `key` was written (S3's `Last-Modified`), if it keeps such a
    /// time apart from the writer's own claims; `None` for a local directory, whose file times
    /// anyone with write access can set.
    async fn modified_at(
        &self,
        key: &str,
    ) -> Result<Option<chrono::DateTime<chrono::Utc>>, StoreError> {
        let _ = key;
        Ok(None)
    }

    /// Every key under `prefix`, sorted.
    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError>;

    /// Replaces a pointer object such as `latest.json` atomically: readers see the old or the new
    /// content, never a mixture. No pack object is ever written this way.
    async fn replace_pointer(
        &self,
        key: &str,
        bytes: &[u8],
        media_type: &str,
    ) -> Result<(), StoreError>;

    /// Serialises runs publishing under `scope` (a cluster's prefix), waiting for a run already
    /// in progress. The lock must not outlive a crashed process.
    async fn lock(&self, scope: &str) -> Result<Box<dyn PublishLock>, StoreError>;

    /// How the store keeps pack objects once written (records protection): what it enforces,
    /// or that the tool cannot see it.
    async fn retention(&self) -> Result<Retention, StoreError>;

    /// A link that lets someone without credentials download `key` until `expires` has passed.
    async fn share_link(
        &self,
        key: &str,
        expires: std::time::Duration,
    ) -> Result<String, StoreError> {
        let _ = expires;
        Err(StoreError::Other(format!(
            "{}: only an s3:// store can make share links (cannot share {key}); copy the pack folder instead",
            self.location()
        )))
    }
}

/// Keys are `/`-separated relative paths without empty, `.` or `..` segments.
pub fn validate_key(key: &str) -> Result<(), StoreError> {
    let bad = key.is_empty()
        || key.starts_with('/')
        || key
            .split('/')
            .any(|seg| seg.is_empty() || seg == "." || seg == ".." || seg.starts_with(".tmp-"));
    if bad {
        Err(StoreError::InvalidKey(key.to_string()))
    } else {
        Ok(())
    }
}

/// Opens the store a URL names; `s3` says how to reach a bucket (ignored for directories).
/// An S3 store is checked up front (bucket reachable, Object Lock enabled when asked for).
pub async fn open(url: &StoreUrl, s3: &s3::S3Options) -> Result<Box<dyn Store>, StoreError> {
    match url {
        StoreUrl::Local(p) => Ok(Box::new(local::LocalStore::new(p.clone()))),
        StoreUrl::S3 { bucket, prefix } => Ok(Box::new(
            s3::S3Store::connect(bucket, prefix, s3.clone()).await?,
        )),
    }
}

/// A pack named by URL, split into the store that holds it and the pack's prefix in that store:
/// `s3://BUCKET/PREFIX/<cluster>/packs/YYYY/MM/DD/<pack-id>` or the same under a directory.
/// Returns `None` when the path does not end in a pack prefix.
pub fn split_pack_url(url: &StoreUrl) -> Option<(StoreUrl, String)> {
    let path = match url {
        StoreUrl::Local(p) => p.to_string_lossy().trim_end_matches('/').to_string(),
        StoreUrl::S3 { prefix, .. } => prefix.clone(),
    };
    let segments: Vec<&str> = path.split('/').collect();
    let n = segments.len();
    if n < 6 || segments[n - 5] != "packs" || segments[n - 6].is_empty() {
        return None;
    }
    let (root, pack) = segments.split_at(n - 6);
    let root = root.join("/");
    let pack = pack.join("/");
    let root_url = match url {
        StoreUrl::Local(_) => StoreUrl::Local(PathBuf::from(if root.is_empty() {
            ".".to_string()
        } else {
            root
        })),
        StoreUrl::S3 { bucket, .. } => StoreUrl::S3 {
            bucket: bucket.clone(),
            prefix: root,
        },
    };
    Some((root_url, pack))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_store_urls() {
        assert_eq!(
            StoreUrl::parse("s3://b/x/y/").unwrap(),
            StoreUrl::S3 {
                bucket: "b".into(),
                prefix: "x/y".into()
            }
        );
        assert_eq!(
            StoreUrl::parse("file:///tmp/e").unwrap(),
            StoreUrl::Local("/tmp/e".into())
        );
        assert_eq!(
            StoreUrl::parse("out").unwrap(),
            StoreUrl::Local("out".into())
        );
        assert!(StoreUrl::parse("gs://b").is_err());
        assert!(StoreUrl::parse("s3://").is_err());
    }

    #[test]
    fn splits_a_pack_url_into_store_and_pack() {
        let url =
            StoreUrl::parse("s3://b/audit/k8s/prod/packs/2026/01/02/20260102T000000Z-abc").unwrap();
        let (root, pack) = split_pack_url(&url).unwrap();
        assert_eq!(
            root,
            StoreUrl::S3 {
                bucket: "b".into(),
                prefix: "audit/k8s".into()
            }
        );
        assert_eq!(pack, "prod/packs/2026/01/02/20260102T000000Z-abc");
        let url = StoreUrl::parse("s3://b/prod/packs/2026/01/02/x").unwrap();
        assert_eq!(
            split_pack_url(&url).unwrap().0,
            StoreUrl::S3 {
                bucket: "b".into(),
                prefix: String::new()
            }
        );
        assert!(split_pack_url(&StoreUrl::parse("s3://b/prod/latest.json").unwrap()).is_none());
    }

    #[test]
    fn rejects_keys_that_escape() {
        for k in ["", "/a", "a/../b", "a//b", "./a", "a/.tmp-x"] {
            assert!(validate_key(k).is_err(), "{k}");
        }
        validate_key("c/packs/2026/01/01/id/manifest.json").unwrap();
    }
}
