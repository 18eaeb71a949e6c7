//! Where packs are kept. A [`Store`] is an object store with one rule that matters: objects are
//! created once and never replaced, except the `latest.json` pointer, which moves only after a
//! pack is complete. The local directory store lives here; S3 fits the same trait.

pub mod local;

use async_trait::async_trait;
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
    #[error("{0}")]
    Other(String),
}

/// Held while a run publishes to one cluster's prefix; dropping it releases the lock.
pub trait PublishLock: Send {}

#[async_trait]
pub trait Store: Send + Sync {
    /// The store's location, for messages and the pack's own record.
    fn location(&self) -> String;

    /// Creates an object; fails with [`StoreError::AlreadyExists`] if one is there.
    async fn put_new(&self, key: &str, bytes: &[u8], media_type: &str) -> Result<(), StoreError>;

    /// Reads an object, or `None` if there is none.
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;

    /// Every key under `prefix`, sorted.
    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError>;

    /// Replaces a pointer object such as `latest.json` atomically: readers see the old or the new
    /// content, never a mixture. No pack object is ever written this way.
    async fn replace_pointer(&self, key: &str, bytes: &[u8]) -> Result<(), StoreError>;

    /// Serialises runs publishing under `scope` (a cluster's prefix), waiting for a run already
    /// in progress. The lock must not outlive a crashed process.
    async fn lock(&self, scope: &str) -> Result<Box<dyn PublishLock>, StoreError>;
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

/// Opens the store a URL names.
pub fn open(url: &StoreUrl) -> Result<Box<dyn Store>, StoreError> {
    match url {
        StoreUrl::Local(p) => Ok(Box::new(local::LocalStore::new(p.clone()))),
        StoreUrl::S3 { .. } => Err(StoreError::Other(format!(
            "{url}: the S3 store is not available in this build"
        ))),
    }
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
    fn rejects_keys_that_escape() {
        for k in ["", "/a", "a/../b", "a//b", "./a", "a/.tmp-x"] {
            assert!(validate_key(k).is_err(), "{k}");
        }
        validate_key("c/packs/2026/01/01/id/manifest.json").unwrap();
    }
}
