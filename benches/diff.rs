//! Diffing two 50,000-RoleBinding snapshots that differ in 1% of their bindings. Peak memory:
//! `benches/rbac_memory.sh` (the `diff` pass of `examples/scale.rs`).

use criterion::{Criterion, criterion_group, criterion_main};
use kube_evidence::diff::{Side, compute};
use kube_evidence::synthetic::{Shape, cluster, perturb};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let old = cluster(Shape::TARGET);
    let new = perturb(&old, 10, 3);
    let mut g = c.benchmark_group("diff-target-scale");
    g.sample_size(10);
    g.bench_function("diff 50k bindings, 1% changed", |b| {
        b.iter(|| {
            black_box(compute(
                &Side {
                    snapshot: &old,
                    findings: &[],
                    controls: &[],
                    pack_id: None,
                },
                &Side {
                    snapshot: &new,
                    findings: &[],
                    controls: &[],
                    pack_id: None,
                },
            ))
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
