//! Publishing a 50 MiB pack to a real S3-compatible server: throughput in MiB/s.
//! Run with `benches/s3_publish.sh`, which starts a local SeaweedFS and sets the
//! KUBE_EVIDENCE_TEST_S3_* variables and the AWS keys this reads.

use kube_evidence::pack::{self, Manifest, PackFile, PreviousPack, ToolInfo};
use kube_evidence::store::s3::{S3Options, S3Store};
use std::time::Instant;

const MIB: usize = 1024 * 1024;

/// Incompressible bytes (gzip output looks like this), deterministic.
fn noise(len: usize, mut seed: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        out.extend_from_slice(&seed.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// A pack shaped like a large cluster's: the snapshot dominates, then the reports.
fn files() -> Vec<PackFile> {
    let sizes = [
        ("snapshot.json.gz", 38 * MIB, "application/gzip"),
        ("report.html", 5 * MIB, "text/html; charset=utf-8"),
        ("report.pdf", 3 * MIB, "application/pdf"),
        ("findings.json", 2 * MIB, "application/json"),
        ("findings.csv", MIB, "text/csv; charset=utf-8"),
        ("access-matrix.csv", MIB / 2, "text/csv; charset=utf-8"),
        ("oscal-assessment-results.json", MIB / 2, "application/json"),
    ];
    sizes
        .iter()
        .enumerate()
        .map(|(i, (name, size, media))| PackFile::new(*name, noise(*size, i as u64 + 1), media))
        .collect()
}

fn manifest(id: &str) -> Manifest {
    let at = chrono::DateTime::parse_from_rfc3339("2026-11-27T02:00:00Z")
        .unwrap()
        .to_utc();
    Manifest {
        manifest_version: pack::manifest::MANIFEST_VERSION,
        pack_id: id.to_string(),
        cluster: pack::manifest::ManifestCluster {
            name: "bench".into(),
            id: String::new(),
        },
        collected_at: at,
        published_at: at,
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
        previous: PreviousPack::default(),
        files: Vec::new(),
    }
}

fn main() {
    let Ok(endpoint) = std::env::var("KUBE_EVIDENCE_TEST_S3_ENDPOINT") else {
        eprintln!(
            "s3_publish: KUBE_EVIDENCE_TEST_S3_ENDPOINT is not set; run benches/s3_publish.sh"
        );
        return;
    };
    let bucket =
        std::env::var("KUBE_EVIDENCE_TEST_S3_BUCKET").unwrap_or_else(|_| "evidence".into());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let run = std::process::id();
    let mut rates = Vec::new();
    for i in 0..6 {
        let built = pack::assemble(manifest(&format!("bench-{run}-{i}")), files());
        let bytes: usize = built.files.iter().map(|f| f.bytes.len()).sum::<usize>()
            + built.manifest_bytes.len()
            + built.sums.len();
        let mut options = S3Options::defaults();
        options.endpoint = Some(endpoint.clone());
        let store = rt
            .block_on(S3Store::connect(
                &bucket,
                &format!("bench-{run}-{i}"),
                options,
            ))
            .expect("the bench server answers");
        let started = Instant::now();
        rt.block_on(pack::publish(&store, &built))
            .expect("publishes");
        let secs = started.elapsed().as_secs_f64();
        let rate = bytes as f64 / MIB as f64 / secs;
        // The first round warms connections and the server's volumes; it is not counted.
        if i > 0 {
            rates.push(rate);
        }
        println!(
            "round {i}: {:.1} MiB in {:.3} s = {:.1} MiB/s{}",
            bytes as f64 / MIB as f64,
            secs,
            rate,
            if i == 0 { " (warm-up)" } else { "" }
        );
    }
    rates.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "s3_publish: 50 MiB pack to {endpoint}: median {:.1} MiB/s (min {:.1}, max {:.1}, {} rounds)",
        rates[rates.len() / 2],
        rates[0],
        rates[rates.len() - 1],
        rates.len()
    );
}
