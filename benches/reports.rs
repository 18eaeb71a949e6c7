//! Rendering the human reports of a large pack: 2,000 findings and 500 sub-processor rows (the
//! samples' findings and register rows repeated under new ids, so every finding carries real
//! grants, paths and remediation). Targets: HTML <= 0.5 s, PDF <= 2 s and <= 5 MiB; the PDF's size
//! is printed once before the timings.

use chrono::TimeZone;
use criterion::{Criterion, criterion_group, criterion_main};
use kube_evidence::analysis::{AssessmentInput, assess};
use kube_evidence::controls::Controls;
use kube_evidence::report::{FrameworkInfo, ReportInput, html, model, pdf};
use std::hint::black_box;
use std::path::Path;

fn bench(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let now = chrono::Utc.with_ymd_and_hms(2026, 11, 20, 2, 0, 0).unwrap();
    let mut snapshot = kube_evidence::source::dump::read_dump(
        &root.join("samples/cluster"),
        "bench",
        now,
        "dump:samples/cluster".into(),
    )
    .expect("the samples read");
    snapshot.inventory = Some(
        kube_evidence::inventory::load::load_file(
            &root.join("samples/inventory.yaml"),
            now.date_naive(),
        )
        .expect("the sample inventory loads"),
    );
    let controls = Controls::builtin();
    let mut assessment = assess(&AssessmentInput {
        snapshot: &snapshot,
        pack_id: Some("bench"),
        controls: &controls,
        exceptions: &[],
        previous: None,
        schedule_interval_hours: 24,
        image_max_age_days: 180,
        usage: None,
        reviews: None,
        retention: kube_evidence::controls::Retention::not_published(),
    });
    let base = assessment.analysis.findings.clone();
    let mut findings = Vec::with_capacity(2000);
    for i in 0..2000 {
        let mut f = base[i % base.len()].clone();
        f.id = format!("{}-{i:05}", f.id);
        f.system = false;
        findings.push(f);
    }
    assessment.analysis.findings = findings;
    let rows = assessment.analysis.register.clone();
    assessment.analysis.register = (0..500)
        .map(|i| {
            let mut r = rows[i % rows.len()].clone();
            r.id = format!("{}-{i:03}", r.id);
            r
        })
        .collect();
    let input = ReportInput {
        snapshot_gz: kube_evidence::snapshot::snapshot_to_gzip(&snapshot),
        pack_id: "20261120T020000000Z-00000000",
        snapshot: &snapshot,
        assessment: &assessment,
        generated_at: now,
        signing_key_fingerprint: None,
        signer: None,
        controls_digest: controls.digest(),
        controls: &controls,
        previous_manifest_sha256: None,
        inputs: Vec::new(),
        frameworks: FrameworkInfo::of(&controls),
        history: Vec::new(),
        usage: None,
    };
    let m = model::build(&input);
    let bytes = pdf::render(&m, now);
    eprintln!(
        "report.pdf: {} findings, {} register rows: {:.2} MiB; report.html {:.2} MiB",
        m.finding_groups
            .iter()
            .map(|g| g.findings.len())
            .sum::<usize>(),
        m.register.len(),
        bytes.len() as f64 / (1024.0 * 1024.0),
        html::render(&m).len() as f64 / (1024.0 * 1024.0)
    );
    let mut g = c.benchmark_group("reports-2000-findings-500-subprocessors");
    g.sample_size(10);
    g.bench_function("html (model + render)", |b| {
        b.iter(|| black_box(html::render(&model::build(&input))))
    });
    g.bench_function("pdf (model + render)", |b| {
        b.iter(|| black_box(pdf::render(&model::build(&input), now)))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
