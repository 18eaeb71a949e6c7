//! RBAC engine at the target scale (5,000 namespaces, 50,000 RoleBindings, 2,000 ClusterRoles,
//! 20,000 ServiceAccounts): building the permission index, one who-can query, evaluating every
//! risk rule (escalation graph included). Peak memory: `benches/rbac_memory.sh`.

use criterion::{Criterion, criterion_group, criterion_main};
use kube_evidence::rbac::index::RbacIndex;
use kube_evidence::rbac::privilege::PrivilegeTable;
use kube_evidence::rbac::reach::ReachGraph;
use kube_evidence::rbac::resources::resource_request;
use kube_evidence::rules::{RuleContext, evaluate};
use kube_evidence::synthetic::{Shape, cluster};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let snapshot = cluster(Shape::TARGET);
    let mut g = c.benchmark_group("rbac-target-scale");
    g.sample_size(10);
    g.bench_function("build index", |b| {
        b.iter(|| black_box(RbacIndex::build(&snapshot)))
    });
    let index = RbacIndex::build(&snapshot);
    let (request, _) = resource_request("get", "secrets", None, Some("ns-02500"), None);
    g.bench_function("who-can get secrets -n ns-02500", |b| {
        b.iter(|| black_box(index.who_can(&request)))
    });
    let (cluster_wide, _) = resource_request("list", "secrets", None, None, None);
    g.bench_function("who-can list secrets (cluster-wide)", |b| {
        b.iter(|| black_box(index.who_can(&cluster_wide)))
    });
    g.bench_function("evaluate all risk rules", |b| {
        b.iter(|| {
            let reach = ReachGraph::build(&index, &snapshot);
            black_box(evaluate(&RuleContext {
                snapshot: &snapshot,
                index: &index,
                privilege: &PrivilegeTable::compute(&index, &reach),
                reach: &reach,
                aggregation_drift: &index.aggregation_drift(&snapshot),
            }))
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
