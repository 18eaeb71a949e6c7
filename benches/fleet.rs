//! A fleet report over a bucket of 200 clusters with a year of nightly packs each (73,000 packs):
//! generates the bucket on the S3 test server once, then measures `read_fleet` + `build` +
//! rendering, and counts the store requests the report makes. Run with `benches/fleet.sh`, which
//! starts SeaweedFS, builds the sample findings.json this reads, and times the CLI as well.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use futures::StreamExt;
use kube_evidence::fleet::{self, FleetReadOptions};
use kube_evidence::pack::index::{INDEX_SCHEMA_VERSION, IndexDocument, IndexEntry};
use kube_evidence::pack::manifest::{MANIFEST_VERSION, ManifestCluster};
use kube_evidence::pack::sign::{AllowedSigner, SigningKey, parse_allowed_signers};
use kube_evidence::pack::{self, FileEntry, LatestPointer, Manifest, PreviousPack, ToolInfo};
use kube_evidence::progress::NoProgress;
use kube_evidence::store::s3::{S3Options, S3Store};
use kube_evidence::store::{PublishLock, Retention, Store, StoreError};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

const CLUSTERS: usize = 200;
const NIGHTS: usize = 365;
const PREFIX: &str = "fleet-bench";

fn first_night() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2025-11-30T02:00:00Z")
        .unwrap()
        .to_utc()
}

fn manifest(
    cluster: &str,
    night: usize,
    previous: PreviousPack,
    files: Vec<FileEntry>,
) -> Manifest {
    let at = first_night() + Duration::days(night as i64);
    Manifest {
        manifest_version: MANIFEST_VERSION,
        pack_id: pack::pack_id(at, &format!("{:08x}", night)),
        cluster: ManifestCluster {
            name: cluster.into(),
            id: String::new(),
        },
        collected_at: at,
        published_at: at + Duration::minutes(3),
        tool: ToolInfo {
            name: "kube-evidence".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            revision: "bench".into(),
        },
        ruleset_digest: String::new(),
        controls_digest: String::new(),
        collection_complete: true,
        signing_key_fingerprint: String::new(),
        signed: false,
        timestamped: false,
        previous,
        files,
    }
}

/// One cluster: 365 chained packs (a manifest each), the last one complete with a signed
/// manifest and its findings.json, then index.json and latest.json as a run leaves them.
async fn generate_cluster(
    store: &S3Store,
    cluster: &str,
    key: &SigningKey,
    findings: &serde_json::Value,
) {
    let mut previous = PreviousPack::default();
    let mut entries = Vec::with_capacity(NIGHTS);
    for night in 0..NIGHTS {
        let last = night + 1 == NIGHTS;
        let mut m = manifest(cluster, night, previous.clone(), Vec::new());
        let mut doc = findings.clone();
        doc["cluster"] = cluster.into();
        doc["packId"] = m.pack_id.clone().into();
        let findings_bytes = serde_json::to_vec(&doc).unwrap();
        m.files = vec![FileEntry {
            path: "findings.json".into(),
            size: findings_bytes.len() as u64,
            sha256: pack::sha256_hex(&findings_bytes),
            media_type: "application/json".into(),
        }];
        if last {
            m.signed = true;
            m.signing_key_fingerprint = key.fingerprint();
        }
        let prefix = pack::pack_prefix(cluster, m.collected_at, &m.pack_id);
        let bytes = m.to_bytes();
        if last {
            store
                .put_new(
                    &format!("{prefix}/findings.json"),
                    &findings_bytes,
                    "application/json",
                )
                .await
                .unwrap();
            store
                .put_new(
                    &format!("{prefix}/manifest.json.sig"),
                    &key.sign(&bytes).unwrap(),
                    "text/plain",
                )
                .await
                .unwrap();
        }
        store
            .put_new(
                &format!("{prefix}/manifest.json"),
                &bytes,
                "application/json",
            )
            .await
            .unwrap();
        entries.push(IndexEntry {
            pack_id: m.pack_id.clone(),
            path: prefix.clone(),
            collected_at: m.collected_at,
            published_at: m.published_at,
            collection_complete: true,
            signed: m.signed,
            signing_key_fingerprint: m.signing_key_fingerprint.clone(),
            previous_pack_id: previous.pack_id.clone(),
            open_findings: Default::default(),
            accepted_findings: 0,
            controls: Default::default(),
            files: vec!["findings.json".into()],
            problem: None,
        });
        previous = PreviousPack {
            pack_id: m.pack_id.clone(),
            path: prefix.clone(),
            manifest_sha256: pack::sha256_hex(&bytes),
        };
        if last {
            entries.reverse();
            let index = IndexDocument {
                schema_version: INDEX_SCHEMA_VERSION,
                cluster: cluster.into(),
                packs: std::mem::take(&mut entries),
                interrupted: Vec::new(),
            };
            store
                .replace_pointer(
                    &format!("{cluster}/index.json"),
                    &serde_json::to_vec_pretty(&index).unwrap(),
                    "application/json",
                )
                .await
                .unwrap();
            let pointer = LatestPointer {
                cluster: cluster.into(),
                pack_id: m.pack_id.clone(),
                path: prefix,
                manifest_sha256: pack::sha256_hex(&bytes),
                collected_at: m.collected_at,
                published_at: m.published_at,
            };
            store
                .replace_pointer(
                    &format!("{cluster}/latest.json"),
                    &pointer.to_bytes(),
                    "application/json",
                )
                .await
                .unwrap();
        }
    }
}

/// Counts the requests a fleet report makes.
struct Counting<'a> {
    inner: &'a dyn Store,
    gets: AtomicUsize,
    lists: AtomicUsize,
    bytes: AtomicUsize,
}

#[async_trait]
impl Store for Counting<'_> {
    fn location(&self) -> String {
        self.inner.location()
    }
    async fn put_new(&self, key: &str, bytes: &[u8], media_type: &str) -> Result<(), StoreError> {
        self.inner.put_new(key, bytes, media_type).await
    }
    async fn exists(&self, key: &str) -> Result<bool, StoreError> {
        self.inner.exists(key).await
    }
    async fn get_limited(&self, key: &str, limit: u64) -> Result<Option<Vec<u8>>, StoreError> {
        self.gets.fetch_add(1, Ordering::Relaxed);
        let b = self.inner.get_limited(key, limit).await?;
        self.bytes
            .fetch_add(b.as_ref().map_or(0, Vec::len), Ordering::Relaxed);
        Ok(b)
    }
    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        self.lists.fetch_add(1, Ordering::Relaxed);
        self.inner.list(prefix).await
    }
    async fn list_children(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        self.lists.fetch_add(1, Ordering::Relaxed);
        self.inner.list_children(prefix).await
    }
    async fn replace_pointer(
        &self,
        key: &str,
        bytes: &[u8],
        media_type: &str,
    ) -> Result<(), StoreError> {
        self.inner.replace_pointer(key, bytes, media_type).await
    }
    async fn lock(&self, scope: &str) -> Result<Box<dyn PublishLock>, StoreError> {
        self.inner.lock(scope).await
    }
    async fn retention(&self) -> Result<Retention, StoreError> {
        self.inner.retention().await
    }
}

fn main() {
    let Ok(endpoint) = std::env::var("KUBE_EVIDENCE_TEST_S3_ENDPOINT") else {
        eprintln!("fleet: KUBE_EVIDENCE_TEST_S3_ENDPOINT is not set; run benches/fleet.sh");
        return;
    };
    let findings_path =
        std::env::var("FLEET_BENCH_FINDINGS").expect("FLEET_BENCH_FINDINGS names a findings.json");
    let findings: serde_json::Value =
        serde_json::from_slice(&std::fs::read(findings_path).unwrap()).unwrap();
    let bucket =
        std::env::var("KUBE_EVIDENCE_TEST_S3_BUCKET").unwrap_or_else(|_| "evidence".into());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut options = S3Options::defaults();
    options.endpoint = Some(endpoint.clone());
    let store = rt
        .block_on(S3Store::connect(&bucket, PREFIX, options))
        .expect("the bench server answers");
    let key = SigningKey::generate("fleet-bench");
    let signers: Vec<AllowedSigner> =
        parse_allowed_signers(&AllowedSigner::line_for("fleet-bench", &key), "bench").unwrap();

    let started = Instant::now();
    let names: Vec<String> = (0..CLUSTERS).map(|i| format!("cluster-{i:03}")).collect();
    rt.block_on(
        futures::stream::iter(
            names
                .iter()
                .map(|c| generate_cluster(&store, c, &key, &findings)),
        )
        .buffer_unordered(32)
        .collect::<Vec<()>>(),
    );
    println!(
        "generated {CLUSTERS} clusters x {NIGHTS} packs ({} packs) in {:.0} s",
        CLUSTERS * NIGHTS,
        started.elapsed().as_secs_f64()
    );
    if let Ok(url_file) = std::env::var("FLEET_BENCH_SIGNERS_OUT") {
        std::fs::write(
            url_file,
            AllowedSigner::line_for("fleet-bench", &key) + "\n",
        )
        .unwrap();
    }

    let now = first_night() + Duration::days(NIGHTS as i64 - 1) + Duration::hours(6);
    let mut times = Vec::new();
    for round in 0..4 {
        let counting = Counting {
            inner: &store,
            gets: AtomicUsize::new(0),
            lists: AtomicUsize::new(0),
            bytes: AtomicUsize::new(0),
        };
        let started = Instant::now();
        let reads = rt
            .block_on(fleet::read_fleet(
                &counting,
                &FleetReadOptions {
                    allowed_signers: Some(signers.clone()),
                    concurrency: 16,
                    tsa_certificate: None,
                },
                &NoProgress,
            ))
            .unwrap();
        let doc = fleet::build(&reads, &store.location(), now, 24, true);
        let files = fleet::render::files(&doc);
        let secs = started.elapsed().as_secs_f64();
        assert_eq!(
            doc.totals.current, CLUSTERS,
            "every cluster current and verified"
        );
        assert_eq!(doc.clusters[0].chain.packs, NIGHTS);
        println!(
            "round {round}: {:.2} s, {} GETs, {} listings, {:.1} MB read, report {} KB{}",
            secs,
            counting.gets.load(Ordering::Relaxed),
            counting.lists.load(Ordering::Relaxed),
            counting.bytes.load(Ordering::Relaxed) as f64 / 1e6,
            files.files.iter().map(|(_, b)| b.len()).sum::<usize>() / 1024,
            if round == 0 { " (warm-up)" } else { "" }
        );
        if round > 0 {
            times.push(secs);
        }
    }
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "fleet: {CLUSTERS} clusters, {} packs at {endpoint}: median {:.2} s (min {:.2}, max {:.2})",
        CLUSTERS * NIGHTS,
        times[times.len() / 2],
        times[0],
        times[times.len() - 1]
    );
}
