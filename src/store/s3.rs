//! The S3 store: packs in a bucket under a prefix, written create-only (`If-None-Match: *`) with
//! SHA-256 checksums the server checks, optionally under Object Lock retention and server-side
//! encryption. Transient failures are retried by the SDK with exponential backoff and jitter within
//! a bounded time; permanent ones fail at once naming the bucket and the operation.

use super::Retention;
use super::{ObjectRetention, PublishLock, Store, StoreError, validate_key};
use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    ChecksumAlgorithm, CompletedMultipartUpload, CompletedPart, ObjectLockEnabled, ObjectLockMode,
    ObjectLockRetentionMode, ServerSideEncryption,
};
use std::time::Duration;

/// Objects larger than this go up in parts of this size.
pub const MULTIPART_PART_SIZE: usize = 8 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode {
    Governance,
    Compliance,
}

/// Write-once retention for every pack object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectLock {
    pub mode: LockMode,
    pub days: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Encryption {
    Aes256,
    Kms { key_id: Option<String> },
}

/// How to reach the bucket, validated.
#[derive(Debug, Clone, Default)]
pub struct S3Options {
    pub region: Option<String>,
    /// An S3-compatible endpoint (config, `--s3-endpoint`, `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`).
    pub endpoint: Option<String>,
    /// Path-style addressing; `None` chooses it for IP-address and `localhost` endpoints.
    pub path_style: Option<bool>,
    pub object_lock: Option<ObjectLock>,
    pub encryption: Option<Encryption>,
    /// Bound on the whole of one operation, retries included.
    pub operation_timeout: Duration,
    pub max_attempts: u32,
}

impl S3Options {
    pub fn defaults() -> S3Options {
        S3Options {
            operation_timeout: Duration::from_secs(120),
            max_attempts: 6,
            ..Default::default()
        }
    }

    /// Path-style addressing is the only one an IP address or `localhost` can serve.
    pub fn uses_path_style(&self) -> bool {
        if let Some(forced) = self.path_style {
            return forced;
        }
        let Some(endpoint) = &self.endpoint else {
            return false;
        };
        let host = endpoint
            .split("://")
            .nth(1)
            .unwrap_or(endpoint)
            .split('/')
            .next()
            .unwrap_or("");
        let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
        let host = host.trim_start_matches('[').trim_end_matches(']');
        host == "localhost" || host.parse::<std::net::IpAddr>().is_ok()
    }
}

fn retention_of(mode: LockMode, days: u32) -> Retention {
    match mode {
        LockMode::Compliance => Retention::Compliance { days },
        LockMode::Governance => Retention::Governance { days },
    }
}

pub struct S3Store {
    client: Client,
    bucket: String,
    prefix: String,
    options: S3Options,
}

fn describe<E: ProvideErrorMetadata + std::fmt::Debug>(
    err: &SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
) -> String {
    match err {
        SdkError::ServiceError(s) => {
            let e = s.err();
            let status = s.raw().status().as_u16();
            match (e.code(), e.message()) {
                (Some(code), Some(msg)) => format!("{code} (HTTP {status}): {msg}"),
                (Some(code), None) => format!("{code} (HTTP {status})"),
                _ => format!("HTTP {status}"),
            }
        }
        SdkError::TimeoutError(_) => "timed out (retries exhausted)".into(),
        SdkError::DispatchFailure(d) => format!("cannot reach the endpoint: {d:?}"),
        other => format!("{other}"),
    }
}

fn status_of<E>(err: &SdkError<E, aws_sdk_s3::config::http::HttpResponse>) -> Option<u16> {
    match err {
        SdkError::ServiceError(s) => Some(s.raw().status().as_u16()),
        _ => None,
    }
}

impl S3Store {
    /// Builds a client from the standard AWS chain (environment, profile, web identity) and the
    /// options, and checks up front what must hold before anything is published: the bucket is
    /// there and, if retention is asked for, has Object Lock enabled.
    pub async fn connect(
        bucket: &str,
        prefix: &str,
        options: S3Options,
    ) -> Result<S3Store, StoreError> {
        crate::tls::ensure_crypto_provider();
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
        loader = match &options.region {
            Some(region) => loader.region(aws_config::Region::new(region.clone())),
            // The environment, then the profile, then us-east-1; never the instance metadata
            // service, which off EC2 answers nothing and fills the log with two multi-KB
            // warnings per command (S3-compatible stores rarely care about the region; AWS
            // itself needs one and says so).
            None => loader.region(
                aws_config::meta::region::RegionProviderChain::first_try(
                    aws_config::environment::EnvironmentVariableRegionProvider::new(),
                )
                .or_else(aws_config::profile::ProfileFileRegionProvider::new())
                .or_else(aws_config::Region::new("us-east-1")),
            ),
        };
        let shared = loader.load().await;
        let mut builder = aws_sdk_s3::config::Builder::from(&shared)
            .retry_config(
                aws_config::retry::RetryConfig::standard()
                    .with_max_attempts(options.max_attempts)
                    .with_initial_backoff(Duration::from_millis(200)),
            )
            .timeout_config(
                aws_config::timeout::TimeoutConfig::builder()
                    .operation_timeout(options.operation_timeout)
                    .operation_attempt_timeout(options.operation_timeout / 2)
                    .connect_timeout(Duration::from_secs(5))
                    .build(),
            );
        if let Some(endpoint) = &options.endpoint {
            builder = builder.endpoint_url(endpoint);
        }
        builder = builder.force_path_style(options.uses_path_style());
        let store = S3Store {
            client: Client::from_conf(builder.build()),
            bucket: bucket.to_string(),
            prefix: prefix.trim_matches('/').to_string(),
            options,
        };
        store.preflight().await?;
        Ok(store)
    }

    fn key(&self, key: &str) -> String {
        if self.prefix.is_empty() {
            key.to_string()
        } else {
            format!("{}/{key}", self.prefix)
        }
    }

    fn io(&self, operation: &'static str, key: &str, message: String) -> StoreError {
        StoreError::Io {
            store: self.location(),
            operation,
            key: key.to_string(),
            message,
        }
    }

    /// An object's metadata (HEAD), or `None` if there is none.
    async fn head(
        &self,
        key: &str,
        operation: &'static str,
    ) -> Result<Option<aws_sdk_s3::operation::head_object::HeadObjectOutput>, StoreError> {
        validate_key(key)?;
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(self.key(key))
            .send()
            .await
        {
            Ok(out) => Ok(Some(out)),
            Err(e) if status_of(&e) == Some(404) => Ok(None),
            Err(e) => Err(self.io(operation, key, describe(&e))),
        }
    }

    async fn preflight(&self) -> Result<(), StoreError> {
        if let Err(e) = self.client.head_bucket().bucket(&self.bucket).send().await {
            return Err(self.io("opening bucket", &self.bucket, describe(&e)));
        }
        if self.options.object_lock.is_some() {
            let enabled = match self
                .client
                .get_object_lock_configuration()
                .bucket(&self.bucket)
                .send()
                .await
            {
                Ok(out) => {
                    out.object_lock_configuration()
                        .and_then(|c| c.object_lock_enabled())
                        == Some(&ObjectLockEnabled::Enabled)
                }
                Err(e) if status_of(&e) == Some(404) => false,
                Err(e) => {
                    return Err(self.io(
                        "reading the Object Lock configuration of",
                        &self.bucket,
                        describe(&e),
                    ));
                }
            };
            if !enabled {
                return Err(StoreError::Other(format!(
                    "objectLock is configured but bucket {} does not have Object Lock enabled; refusing to publish evidence without the retention asked for",
                    self.bucket
                )));
            }
        }
        Ok(())
    }

    fn retain_until(&self) -> Option<(ObjectLockMode, aws_sdk_s3::primitives::DateTime)> {
        self.options.object_lock.as_ref().map(|l| {
            let until =
                std::time::SystemTime::now() + Duration::from_secs(u64::from(l.days) * 86_400);
            let mode = match l.mode {
                LockMode::Governance => ObjectLockMode::Governance,
                LockMode::Compliance => ObjectLockMode::Compliance,
            };
            (mode, aws_sdk_s3::primitives::DateTime::from(until))
        })
    }

    async fn put_multipart(
        &self,
        full: &str,
        key: &str,
        bytes: &[u8],
        media_type: &str,
    ) -> Result<(), StoreError> {
        let mut create = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(full)
            .content_type(media_type)
            .checksum_algorithm(ChecksumAlgorithm::Sha256);
        if let Some((mode, until)) = self.retain_until() {
            create = create
                .object_lock_mode(mode)
                .object_lock_retain_until_date(until);
        }
        create = self.encrypt_multipart(create);
        let upload = create.send().await.map_err(|e| {
            self.io(
                "starting a multipart upload of",
                key,
                self.with_encryption_note(describe(&e)),
            )
        })?;
        let upload_id = upload.upload_id().unwrap_or_default().to_string();
        let mut parts = Vec::new();
        let result: Result<(), StoreError> = async {
            for (i, chunk) in bytes.chunks(MULTIPART_PART_SIZE).enumerate() {
                let number = i as i32 + 1;
                let out = self
                    .client
                    .upload_part()
                    .bucket(&self.bucket)
                    .key(full)
                    .upload_id(&upload_id)
                    .part_number(number)
                    .checksum_algorithm(ChecksumAlgorithm::Sha256)
                    .body(ByteStream::from(chunk.to_vec()))
                    .send()
                    .await
                    .map_err(|e| self.io("uploading a part of", key, describe(&e)))?;
                parts.push(
                    CompletedPart::builder()
                        .part_number(number)
                        .set_e_tag(out.e_tag().map(str::to_string))
                        .set_checksum_sha256(out.checksum_sha256().map(str::to_string))
                        .build(),
                );
            }
            let done = self
                .client
                .complete_multipart_upload()
                .bucket(&self.bucket)
                .key(full)
                .upload_id(&upload_id)
                .if_none_match("*")
                .multipart_upload(
                    CompletedMultipartUpload::builder()
                        .set_parts(Some(parts))
                        .build(),
                )
                .send()
                .await
                .map_err(|e| {
                    if status_of(&e) == Some(412) {
                        StoreError::AlreadyExists {
                            store: self.location(),
                            key: key.to_string(),
                        }
                    } else {
                        self.io("completing the upload of", key, describe(&e))
                    }
                })?;
            self.confirm_encryption(key, done.server_side_encryption())
        }
        .await;
        if result.is_err() {
            // Leave no orphaned parts behind; the object itself was never created.
            let _ = self
                .client
                .abort_multipart_upload()
                .bucket(&self.bucket)
                .key(full)
                .upload_id(&upload_id)
                .send()
                .await;
        }
        result
    }

    /// A store that was asked to encrypt must say it did: evidence is never left unencrypted
    /// because a server ignored the request.
    fn confirm_encryption(
        &self,
        key: &str,
        applied: Option<&ServerSideEncryption>,
    ) -> Result<(), StoreError> {
        let Some(wanted) = self.encryption_request().0 else {
            return Ok(());
        };
        if applied == Some(&wanted) {
            return Ok(());
        }
        Err(StoreError::Other(format!(
            "{}: the server stored {key} but did not confirm server-side encryption {} (it reported {}); the configured encryption is not in effect, so the run stops",
            self.location(),
            wanted.as_str(),
            applied.map(|a| a.as_str()).unwrap_or("none")
        )))
    }

    /// Failures while encryption is requested say so: a server without KMS support tends to
    /// answer with a bare internal error.
    fn with_encryption_note(&self, message: String) -> String {
        match &self.options.encryption {
            None => message,
            Some(Encryption::Aes256) => {
                format!("{message} (server-side encryption AES256 was requested)")
            }
            Some(Encryption::Kms { .. }) => format!(
                "{message} (server-side encryption aws:kms was requested; check that the store supports SSE-KMS and the key exists)"
            ),
        }
    }

    /// The server-side encryption a write asks for, and the KMS key, as both kinds of write
    /// request (a single PUT and a multipart upload) take them.
    fn encryption_request(&self) -> (Option<ServerSideEncryption>, Option<String>) {
        match &self.options.encryption {
            None => (None, None),
            Some(Encryption::Aes256) => (Some(ServerSideEncryption::Aes256), None),
            Some(Encryption::Kms { key_id }) => {
                (Some(ServerSideEncryption::AwsKms), key_id.clone())
            }
        }
    }

    fn encrypt_put(
        &self,
        b: aws_sdk_s3::operation::put_object::builders::PutObjectFluentBuilder,
    ) -> aws_sdk_s3::operation::put_object::builders::PutObjectFluentBuilder {
        let (sse, kms_key) = self.encryption_request();
        b.set_server_side_encryption(sse).set_ssekms_key_id(kms_key)
    }

    fn encrypt_multipart(
        &self,
        b: aws_sdk_s3::operation::create_multipart_upload::builders::CreateMultipartUploadFluentBuilder,
    ) -> aws_sdk_s3::operation::create_multipart_upload::builders::CreateMultipartUploadFluentBuilder
    {
        let (sse, kms_key) = self.encryption_request();
        b.set_server_side_encryption(sse).set_ssekms_key_id(kms_key)
    }
}

/// How long a publish lease lasts unless renewed. The holder renews it every [`LEASE_RENEW`], so a
/// long publish keeps it, while a run that is killed or loses the store releases it within this
/// time and the next run can go ahead.
pub const LEASE: Duration = Duration::from_secs(60);
pub const LEASE_RENEW: Duration = Duration::from_secs(15);
/// How long a run waits for another run's lease before giving up.
pub const LEASE_WAIT: Duration = Duration::from_secs(15 * 60);

#[derive(serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Lease {
    holder: String,
    expires_at: chrono::DateTime<chrono::Utc>,
}

/// A lease object created with `If-None-Match: *` and renewed in the background with `If-Match`
/// on its ETag. Released, it is deleted only if it is still ours; dropped, renewal stops and it
/// expires.
struct S3Lease {
    client: Client,
    bucket: String,
    key: String,
    etag: std::sync::Arc<std::sync::Mutex<Option<String>>>,
    renewer: tokio::task::JoinHandle<()>,
    location: String,
}

fn lease_body(holder: &str) -> Vec<u8> {
    let lease = Lease {
        holder: holder.to_string(),
        expires_at: chrono::Utc::now()
            + chrono::Duration::from_std(LEASE).expect("a small duration"),
    };
    serde_json::to_vec(&lease).expect("a lease serialises")
}

impl S3Lease {
    fn start(store: &S3Store, key: String, holder: String, etag: Option<String>) -> S3Lease {
        let etag = std::sync::Arc::new(std::sync::Mutex::new(etag));
        let (client, bucket, shared) = (store.client.clone(), store.bucket.clone(), etag.clone());
        let renew_key = key.clone();
        let renewer = tokio::spawn(async move {
            loop {
                tokio::time::sleep(LEASE_RENEW).await;
                let current = shared.lock().map(|g| g.clone()).unwrap_or(None);
                let Some(current) = current else { return };
                let out = client
                    .put_object()
                    .bucket(&bucket)
                    .key(&renew_key)
                    .content_type("application/json")
                    .if_match(current)
                    .body(ByteStream::from(lease_body(&holder)))
                    .send()
                    .await;
                match out {
                    Ok(o) => {
                        if let Ok(mut g) = shared.lock() {
                            *g = o.e_tag().map(str::to_string);
                        }
                    }
                    Err(e) if status_of(&e) == Some(412) => {
                        tracing::warn!(lease = %renew_key, "the publish lease was taken over by another run");
                        return;
                    }
                    // Transient: try again at the next tick, well before the lease runs out.
                    Err(e) => {
                        tracing::warn!(lease = %renew_key, error = %describe(&e), "could not renew the publish lease")
                    }
                }
            }
        });
        S3Lease {
            client: store.client.clone(),
            bucket: store.bucket.clone(),
            key,
            etag,
            renewer,
            location: store.location(),
        }
    }
}

impl Drop for S3Lease {
    fn drop(&mut self) {
        self.renewer.abort();
    }
}

#[async_trait]
impl PublishLock for S3Lease {
    async fn release(self: Box<Self>) -> Result<(), StoreError> {
        self.renewer.abort();
        let etag = self.etag.lock().map(|g| g.clone()).unwrap_or(None);
        let mut delete = self
            .client
            .delete_object()
            .bucket(&self.bucket)
            .key(&self.key);
        if let Some(etag) = etag {
            delete = delete.if_match(etag);
        }
        match delete.send().await {
            Ok(_) => Ok(()),
            // Taken over after it expired: nothing of ours is left to remove.
            Err(e) if matches!(status_of(&e), Some(404 | 412)) => Ok(()),
            Err(e) => Err(StoreError::Io {
                store: self.location.clone(),
                operation: "releasing the publish lease",
                key: self.key.clone(),
                message: describe(&e),
            }),
        }
    }
}

#[async_trait]
impl Store for S3Store {
    fn location(&self) -> String {
        if self.prefix.is_empty() {
            format!("s3://{}", self.bucket)
        } else {
            format!("s3://{}/{}", self.bucket, self.prefix)
        }
    }

    async fn retention(&self) -> Result<Retention, StoreError> {
        // What the run itself sets on every object comes first; otherwise the bucket's default
        // retention, if it has one, applies to every new object.
        if let Some(lock) = &self.options.object_lock {
            return Ok(retention_of(lock.mode, lock.days));
        }
        let out = match self
            .client
            .get_object_lock_configuration()
            .bucket(&self.bucket)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) if status_of(&e) == Some(404) => return Ok(Retention::None),
            Err(e) => {
                return Ok(Retention::Unverifiable {
                    reason: format!(
                        "the bucket's Object Lock configuration cannot be read ({})",
                        describe(&e)
                    ),
                });
            }
        };
        let Some(config) = out.object_lock_configuration() else {
            return Ok(Retention::None);
        };
        let default = config.rule().and_then(|r| r.default_retention());
        Ok(match (config.object_lock_enabled(), default) {
            (Some(ObjectLockEnabled::Enabled), Some(d)) => {
                let days = d
                    .days()
                    .map(|d| d.max(0) as u32)
                    .or_else(|| d.years().map(|y| y.max(0) as u32 * 365))
                    .unwrap_or(0);
                match d.mode() {
                    Some(ObjectLockRetentionMode::Compliance) => {
                        retention_of(LockMode::Compliance, days)
                    }
                    Some(ObjectLockRetentionMode::Governance) => {
                        retention_of(LockMode::Governance, days)
                    }
                    _ => Retention::None,
                }
            }
            _ => Retention::None,
        })
    }

    async fn put_new(&self, key: &str, bytes: &[u8], media_type: &str) -> Result<(), StoreError> {
        validate_key(key)?;
        let full = self.key(key);
        if bytes.len() > MULTIPART_PART_SIZE {
            return self.put_multipart(&full, key, bytes, media_type).await;
        }
        let mut put = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(&full)
            .content_type(media_type)
            .if_none_match("*")
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .body(ByteStream::from(bytes.to_vec()));
        if let Some((mode, until)) = self.retain_until() {
            put = put
                .object_lock_mode(mode)
                .object_lock_retain_until_date(until);
        }
        put = self.encrypt_put(put);
        match put.send().await {
            Ok(out) => self.confirm_encryption(key, out.server_side_encryption()),
            Err(e) if status_of(&e) == Some(412) => Err(StoreError::AlreadyExists {
                store: self.location(),
                key: key.to_string(),
            }),
            Err(e) => Err(self.io("writing", key, self.with_encryption_note(describe(&e)))),
        }
    }

    async fn exists(&self, key: &str) -> Result<bool, StoreError> {
        Ok(self.head(key, "looking for").await?.is_some())
    }

    async fn modified_at(
        &self,
        key: &str,
    ) -> Result<Option<chrono::DateTime<chrono::Utc>>, StoreError> {
        Ok(self
            .head(key, "reading the metadata of")
            .await?
            .and_then(|out| out.last_modified().copied())
            .and_then(|t| chrono::DateTime::from_timestamp(t.secs(), t.subsec_nanos())))
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let full = self.key(prefix);
        let strip = if self.prefix.is_empty() {
            String::new()
        } else {
            format!("{}/", self.prefix)
        };
        let mut keys = Vec::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(full)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| self.io("listing", prefix, describe(&e)))?;
            for o in page.contents() {
                if let Some(k) = o.key() {
                    keys.push(k.strip_prefix(&strip).unwrap_or(k).to_string());
                }
            }
        }
        keys.sort();
        Ok(keys)
    }

    async fn get_limited(&self, key: &str, limit: u64) -> Result<Option<Vec<u8>>, StoreError> {
        validate_key(key)?;
        let out = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(self.key(key))
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) if status_of(&e) == Some(404) => return Ok(None),
            Err(e) => return Err(self.io("reading", key, describe(&e))),
        };
        let too_large = |size: u64| StoreError::TooLarge {
            store: self.location(),
            key: key.to_string(),
            size,
            limit,
        };
        // The announced length decides before any of the body is read.
        if let Some(len) = out.content_length().filter(|l| *l as u64 > limit) {
            return Err(too_large(len as u64));
        }
        let mut body = out.body;
        let mut bytes = Vec::new();
        while let Some(chunk) = body
            .try_next()
            .await
            .map_err(|e| self.io("reading", key, e.to_string()))?
        {
            bytes.extend_from_slice(&chunk);
            if bytes.len() as u64 > limit {
                return Err(too_large(bytes.len() as u64));
            }
        }
        Ok(Some(bytes))
    }

    async fn list_children(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let prefix = prefix.trim_matches('/');
        let full = if prefix.is_empty() {
            if self.prefix.is_empty() {
                String::new()
            } else {
                format!("{}/", self.prefix)
            }
        } else {
            format!("{}/", self.key(prefix))
        };
        let mut names = Vec::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(&full)
            .delimiter("/")
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| self.io("listing", prefix, describe(&e)))?;
            for p in page.common_prefixes() {
                if let Some(name) = p
                    .prefix()
                    .and_then(|p| p.strip_prefix(&full))
                    .map(|n| n.trim_end_matches('/'))
                    .filter(|n| !n.is_empty())
                {
                    names.push(name.to_string());
                }
            }
        }
        names.sort();
        Ok(names)
    }

    async fn object_retention(&self, key: &str) -> Result<Option<ObjectRetention>, StoreError> {
        Ok(self
            .head(key, "reading the retention of")
            .await?
            .map(|out| ObjectRetention {
                mode: out
                    .object_lock_mode()
                    .map_or("none".to_string(), |m| m.as_str().to_string()),
                retain_until: out
                    .object_lock_retain_until_date()
                    .and_then(|t| chrono::DateTime::from_timestamp(t.secs(), t.subsec_nanos())),
            }))
    }

    async fn replace_pointer(
        &self,
        key: &str,
        bytes: &[u8],
        media_type: &str,
    ) -> Result<(), StoreError> {
        validate_key(key)?;
        // A single PUT replaces an object atomically: readers get the old or the new version.
        let put = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(self.key(key))
            .content_type(media_type)
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .body(ByteStream::from(bytes.to_vec()));
        let out = self
            .encrypt_put(put)
            .send()
            .await
            .map_err(|e| self.io("replacing", key, describe(&e)))?;
        self.confirm_encryption(key, out.server_side_encryption())
    }

    async fn share_link(&self, key: &str, expires: Duration) -> Result<String, StoreError> {
        validate_key(key)?;
        let config = aws_sdk_s3::presigning::PresigningConfig::expires_in(expires)
            .map_err(|e| StoreError::Other(format!("invalid expiry: {e}")))?;
        let req = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(self.key(key))
            .presigned(config)
            .await
            .map_err(|e| self.io("presigning", key, describe(&e)))?;
        Ok(req.uri().to_string())
    }

    async fn lock(&self, scope: &str) -> Result<Box<dyn PublishLock>, StoreError> {
        let key = format!("{scope}/.publish-lease");
        validate_key(&key)?;
        let full = self.key(&key);
        let holder = format!(
            "{}@{}-{}",
            std::process::id(),
            hostname(),
            chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
        );
        let started = std::time::Instant::now();
        let mut wait = Duration::from_millis(250);
        // `Some(etag)`: replace that expired lease, and only that one.
        let mut take_over: Option<String> = None;
        loop {
            let body = lease_body(&holder);
            let mut put = self
                .client
                .put_object()
                .bucket(&self.bucket)
                .key(&full)
                .content_type("application/json")
                .body(ByteStream::from(body));
            put = match take_over.take() {
                Some(etag) => put.if_match(etag),
                None => put.if_none_match("*"),
            };
            match put.send().await {
                Ok(out) => {
                    let etag = out.e_tag().map(str::to_string);
                    return Ok(Box::new(S3Lease::start(self, full, holder, etag)));
                }
                // Held by someone, or the expired lease was taken over by someone else first.
                Err(e) if matches!(status_of(&e), Some(412 | 404)) => {}
                Err(e) => return Err(self.io("taking the publish lease", &key, describe(&e))),
            }
            let current = match self
                .client
                .get_object()
                .bucket(&self.bucket)
                .key(&full)
                .send()
                .await
            {
                Ok(out) => {
                    let etag = out.e_tag().map(str::to_string);
                    let body = out
                        .body
                        .collect()
                        .await
                        .map_err(|e| self.io("reading", &key, e.to_string()))?;
                    Some((etag, body.into_bytes()))
                }
                Err(e) if status_of(&e) == Some(404) => None,
                Err(e) => return Err(self.io("reading", &key, describe(&e))),
            };
            let Some((etag, body)) = current else {
                // Released in the meantime: try again at once.
                continue;
            };
            let held = serde_json::from_slice::<Lease>(&body).ok();
            match (&held, etag) {
                // Its run crashed: take it over, conditionally, so that two waiting runs
                // cannot both succeed.
                (Some(l), Some(etag)) if l.expires_at < chrono::Utc::now() => {
                    take_over = Some(etag);
                    continue;
                }
                _ => {}
            }
            if let Some(l) = &held
                && wait == Duration::from_millis(250)
            {
                tracing::info!(holder = %l.holder, until = %l.expires_at, "another run is publishing to this cluster; waiting for its lease");
            }
            if started.elapsed() > LEASE_WAIT {
                let by = held
                    .map(|l| {
                        format!(
                            " (held by {} until {})",
                            l.holder,
                            l.expires_at.to_rfc3339()
                        )
                    })
                    .unwrap_or_default();
                return Err(StoreError::Other(format!(
                    "another run has been publishing to {}/{scope} for over {} minutes{by}; the lease object {key} expires by itself, try again later",
                    self.location(),
                    LEASE_WAIT.as_secs() / 60
                )));
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(Duration::from_secs(5));
        }
    }
}

fn hostname() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown-host".into())
}
