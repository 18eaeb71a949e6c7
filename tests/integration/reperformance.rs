//! The escalation engine against the real API server. Every path the engine reports is
//! performed move by move, each request made as the identity that takes it, and must end with an
//! identity allowed `*` on `*`; for every subject the engine says reaches nothing, a search that
//! performs moves itself (without the engine) must find no way either. On generated clusters
//! (seeded; `KUBE_EVIDENCE_REPERFORM_CLUSTERS` and `KUBE_EVIDENCE_REPERFORM_SEED` set how many
//! and where to start) and on hand-written ones that pin each move (docs/escalation.md).

use crate::common;

use common::controlplane::ControlPlane;
use common::reperform::actor::{Actor, Plane};
use common::reperform::exec::{Trail, perform};
use common::reperform::generator::{Generated, Knobs, generate};
use common::reperform::oracle::{Memo, World, search};
use common::reperform::{collect, load, start_as, subjects, unload};
use kube_evidence::analysis::analyze_rbac;
use kube_evidence::rbac::privilege::AdminReach;
use kube_evidence::rbac::reach::PathStep;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[derive(Default, Debug)]
struct Tally {
    clusters: u64,
    subjects: u64,
    direct: u64,
    paths: u64,
    steps: u64,
    searches: u64,
    search_requests: u64,
    /// Identities the searches obtained, and times they wrote to the cluster.
    search_identities: u64,
    search_writes: u64,
    false_paths: Vec<String>,
    missed_paths: Vec<String>,
    /// Seconds spent per phase, summed over workers (where the test's time goes).
    load_s: f64,
    collect_s: f64,
    paths_s: f64,
    search_s: f64,
    unload_s: f64,
}

impl Tally {
    fn add(&mut self, other: Tally) {
        self.clusters += other.clusters;
        self.subjects += other.subjects;
        self.direct += other.direct;
        self.paths += other.paths;
        self.steps += other.steps;
        self.searches += other.searches;
        self.search_requests += other.search_requests;
        self.search_identities += other.search_identities;
        self.search_writes += other.search_writes;
        self.false_paths.extend(other.false_paths);
        self.missed_paths.extend(other.missed_paths);
        self.load_s += other.load_s;
        self.collect_s += other.collect_s;
        self.paths_s += other.paths_s;
        self.search_s += other.search_s;
        self.unload_s += other.unload_s;
    }
}

/// Takes seeds from `seeds` (the next one at `next`) until none is left: loads each seed's
/// generated cluster into a control plane of its own, checks every reported path and searches
/// for missed ones, and unloads it.
fn reperform_clusters(seeds: &[u64], next: &std::sync::atomic::AtomicUsize) -> Tally {
    let cp = ControlPlane::start();
    rt().block_on(async {
        let plane = Plane::of(&cp).await;
        let mut tally = Tally::default();
        while let Some(&seed) = seeds.get(next.fetch_add(1, std::sync::atomic::Ordering::SeqCst)) {
            let g = generate(seed, &format!("c{seed}"), &Knobs::for_seed(seed));
            // To look at a cluster: KUBE_EVIDENCE_REPERFORM_DUMP=DIR writes each one's objects.
            if let Ok(dir) = std::env::var("KUBE_EVIDENCE_REPERFORM_DUMP") {
                let text = serde_json::to_string_pretty(&serde_json::json!({
                    "apiVersion": "v1", "kind": "List", "items": g.objects
                }))
                .unwrap();
                std::fs::write(
                    std::path::Path::new(&dir).join(format!("c{seed}.json")),
                    text,
                )
                .unwrap();
            }
            let started = std::time::Instant::now();
            load(&plane, &g).await;
            tally.load_s += started.elapsed().as_secs_f64();
            check_cluster(&cp, &plane, &g, &mut tally).await;
            let started = std::time::Instant::now();
            unload(&plane, &g).await;
            tally.unload_s += started.elapsed().as_secs_f64();
        }
        tally
    })
}

/// Performs `path` from `start`; the step that failed, if one did.
async fn execute(plane: &Plane, start: Actor, path: &[PathStep]) -> Result<usize, String> {
    let mut trail = Trail::default();
    let mut actor = start;
    let mut result = Ok(0);
    for (i, step) in path.iter().enumerate() {
        let Some(mv) = &step.mv else {
            result = Err(format!("step {} has no move: {}", i + 1, step.action));
            break;
        };
        // After a binding or a role was written, the API server's authorizer sees it within
        // moments (its caches follow the watch): a refusal then is retried for a few seconds.
        let mut attempt = 0;
        let outcome = loop {
            match perform(plane, &actor, mv, &mut trail).await {
                Err(_) if !trail.is_empty() && attempt < 30 => {
                    attempt += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
                other => break other,
            }
        };
        match outcome {
            Ok(next) => actor = next,
            Err(e) => {
                result = Err(format!("step {} ({}) refused: {e}", i + 1, step.action));
                break;
            }
        }
        result = Ok(i + 1);
    }
    if result.is_ok() {
        let mut admin = plane.is_admin(&actor).await;
        for _ in 0..30 {
            if admin || trail.is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            admin = plane.is_admin(&actor).await;
        }
        if !admin {
            result = Err("the last identity is not allowed * on *".into());
        }
    }
    trail.undo(plane).await;
    result
}

fn describe(path: &[PathStep]) -> String {
    path.iter()
        .map(|s| format!("  {} -> {} -> {}", s.from, s.action, s.to))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Checks every subject of a loaded cluster; adds to the tally.
async fn check_cluster(cp: &ControlPlane, plane: &Plane, g: &Generated, tally: &mut Tally) {
    let started = std::time::Instant::now();
    let snapshot = collect(cp).await;
    let rbac = analyze_rbac(&snapshot);
    let world = World::read(plane, g).await;
    tally.collect_s += started.elapsed().as_secs_f64();
    let mut memo = Memo::default();
    tally.clusters += 1;
    for subject in subjects(g) {
        tally.subjects += 1;
        let start = start_as(plane, &g.tag, &subject).await;
        match rbac.privilege.get(&subject) {
            Some(AdminReach::Direct { .. }) => {
                tally.direct += 1;
                if !plane.is_admin(&start).await {
                    tally.false_paths.push(format!(
                        "seed {}: {subject} is not cluster-admin directly",
                        g.seed
                    ));
                }
            }
            Some(AdminReach::Escalation { path, .. }) => {
                tally.paths += 1;
                tally.steps += path.len() as u64;
                let started = std::time::Instant::now();
                let executed = execute(plane, start, path).await;
                tally.paths_s += started.elapsed().as_secs_f64();
                if let Err(e) = executed {
                    tally.false_paths.push(format!(
                        "seed {}: {subject}: {e}\n{}",
                        g.seed,
                        describe(path)
                    ));
                }
            }
            None => {
                tally.searches += 1;
                let started = std::time::Instant::now();
                let outcome = search(plane, &world, start, &mut memo).await;
                tally.search_s += started.elapsed().as_secs_f64();
                if std::env::var("KUBE_EVIDENCE_REPERFORM_VERBOSE").is_ok() {
                    eprintln!("{subject}: {outcome:?}");
                }
                tally.search_requests += outcome.requests as u64;
                tally.search_identities += outcome.identities as u64;
                tally.search_writes += outcome.writes as u64;
                if let Some(way) = outcome.admin {
                    tally.missed_paths.push(format!(
                        "seed {}: {subject} reaches cluster-admin:\n  {}",
                        g.seed,
                        way.join("\n  ")
                    ));
                }
            }
        }
    }
}

#[test]
#[ignore = "needs the control plane binaries tests/run.sh builds"]
fn every_reported_path_executes_and_no_path_is_missed_on_generated_clusters() {
    let clusters = env_number("KUBE_EVIDENCE_REPERFORM_CLUSTERS", 100);
    let first = env_number("KUBE_EVIDENCE_REPERFORM_SEED", 1);
    // KUBE_EVIDENCE_REPERFORM_SEEDS=3,17,40 checks those seeds only (to look at failures).
    let seeds: Vec<u64> = match std::env::var("KUBE_EVIDENCE_REPERFORM_SEEDS") {
        Ok(list) => list
            .split(',')
            .filter_map(|s| s.trim().parse().ok())
            .collect(),
        Err(_) => (first..first + clusters).collect(),
    };
    // The clusters are shared among workers, each with a control plane of its own: one cluster
    // at a time leaves two cores about half idle (the API server's caches are waited for after
    // every write), so three planes check the same clusters in about 0.6 of the time
    // (12 clusters: 83 s with one, 49 s with three; KUBE_EVIDENCE_REPERFORM_WORKERS).
    let workers = env_number("KUBE_EVIDENCE_REPERFORM_WORKERS", 3).max(1) as usize;
    // Each worker takes the next seed when it is done with one: clusters differ in cost.
    let next = std::sync::atomic::AtomicUsize::new(0);
    let tally = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| scope.spawn(|| reperform_clusters(&seeds, &next)))
            .collect();
        let mut tally = Tally::default();
        for h in handles {
            tally.add(h.join().expect("a re-performance worker panicked"));
        }
        tally
    });
    let seeds = std::env::var("KUBE_EVIDENCE_REPERFORM_SEEDS")
        .unwrap_or_else(|_| format!("{first}..{}", first + clusters - 1));
    eprintln!(
        "re-performance: {} clusters (seeds {seeds}), {} subjects: {} cluster-admin directly, {} paths ({} steps) executed, {} searches ({} requests, {} identities obtained, {} writes); {} false and {} missed paths; seconds summed over workers: load {:.0}, collect {:.0}, paths {:.0}, searches {:.0}, unload {:.0}",
        tally.clusters,
        tally.subjects,
        tally.direct,
        tally.paths,
        tally.steps,
        tally.searches,
        tally.search_requests,
        tally.search_identities,
        tally.search_writes,
        tally.false_paths.len(),
        tally.missed_paths.len(),
        tally.load_s,
        tally.collect_s,
        tally.paths_s,
        tally.search_s,
        tally.unload_s
    );
    assert!(
        tally.false_paths.is_empty() && tally.missed_paths.is_empty(),
        "false paths (the API server refused a step):\n{}\n\nmissed paths (the engine reports none):\n{}",
        tally.false_paths.join("\n"),
        tally.missed_paths.join("\n")
    );
    assert!(tally.paths > 0 && tally.searches > 0, "{tally:?}");
}

/// What one hand-written subject should show.
enum Expect {
    /// A path whose first move is of this kind (as findings.json writes it).
    Path(&'static str),
    /// No path; and the request a permission's name suggests is refused by the API server.
    Refused(Probe),
}

/// The request that would be the move, if the API server allowed it.
#[derive(Clone, Copy)]
enum Probe {
    /// The search finds nothing; no single request to try.
    None,
    PatchJobServiceAccount,
    ExecWebSocketWithGet,
    ImpersonateGroupAlone,
    ImpersonateUidAlone,
    ClusterRoleBindingOfClusterAdmin,
    RoleBindingOfClusterAdmin,
    RewriteOwnRole,
    MastersCertificate,
}

const RBAC: &str = "rbac.authorization.k8s.io";

/// (verbs, API group, resources, resourceNames)
type RuleSpec<'a> = (&'a [&'a str], &'a str, &'a [&'a str], &'a [&'a str]);

fn rules(list: &[RuleSpec<'_>]) -> serde_json::Value {
    serde_json::Value::Array(
        list.iter()
            .map(|(verbs, group, resources, names)| {
                let mut r = serde_json::json!({"verbs": verbs, "apiGroups": [group], "resources": resources});
                if !names.is_empty() {
                    r["resourceNames"] = serde_json::json!(names);
                }
                r
            })
            .collect(),
    )
}

/// The pinned cluster: namespace `mv` with a cluster-admin ServiceAccount `root` (a running pod,
/// a legacy token Secret), a Deployment, a Job and a CronJob running as `plain`; a namespace
/// `mv2` without either; and one user per move, each holding just that move.
fn pinned() -> (Vec<serde_json::Value>, Vec<(String, Expect)>) {
    use serde_json::json;
    let mut o = vec![
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "mv"}}),
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "mv2"}}),
    ];
    for sa in ["root", "plain"] {
        o.push(json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": sa, "namespace": "mv"}}));
    }
    o.push(json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "plain", "namespace": "mv2"}}));
    o.push(json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": "mv-root"}, "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [{"kind": "ServiceAccount", "name": "root", "namespace": "mv"},
                     {"kind": "User", "apiGroup": RBAC, "name": "mv-root-user"}]}));
    o.push(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "rootpod", "namespace": "mv"},
        "spec": {"serviceAccountName": "root", "nodeName": "mv-node", "containers": [{"name": "c", "image": "registry.invalid/app:1"}]},
        "status": {"phase": "Running", "containerStatuses": [{"name": "c", "image": "registry.invalid/app:1", "imageID": "",
            "ready": true, "state": {"running": {"startedAt": "2026-12-01T00:00:00Z"}}}]}}));
    let template = json!({"metadata": {"labels": {"app": "w"}},
        "spec": {"serviceAccountName": "plain", "restartPolicy": "Never", "containers": [{"name": "c", "image": "registry.invalid/app:1"}]}});
    let mut always = template.clone();
    always["spec"]["restartPolicy"] = json!("Always");
    o.push(json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "mv"},
        "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "w"}}, "template": always}}));
    o.push(json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "batchjob", "namespace": "mv"},
        "spec": {"suspend": true, "template": template}}));
    o.push(json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "nightly", "namespace": "mv"},
        "spec": {"schedule": "0 0 1 1 *", "suspend": true, "jobTemplate": {"spec": {"template": template}}}}));
    o.push(json!({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
        "metadata": {"name": "root-token", "namespace": "mv", "annotations": {"kubernetes.io/service-account.name": "root"}}}));
    // An aggregated ClusterRole nothing is aggregated into yet.
    o.push(json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "mv-agg"},
        "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"mv.example/agg": "true"}}]}, "rules": []}));

    let certs = "certificates.k8s.io";
    type Case = (&'static str, &'static str, serde_json::Value, Expect);
    // (case, where the role is bound: "cluster", "mv", "mv2", or "own" for a Role in mv of the
    // same name bound in mv, rules, expectation)
    let cases: Vec<Case> = vec![
        (
            "pods",
            "mv",
            rules(&[(&["create"], "", &["pods"], &[])]),
            Expect::Path("runWorkload"),
        ),
        (
            "deploy-create",
            "mv",
            rules(&[(&["create"], "apps", &["deployments"], &[])]),
            Expect::Path("runWorkload"),
        ),
        (
            "deploy-update",
            "mv",
            rules(&[(&["update"], "apps", &["deployments"], &["web"])]),
            Expect::Path("retargetWorkload"),
        ),
        (
            "cronjob-patch",
            "mv",
            rules(&[(&["patch"], "batch", &["cronjobs"], &["nightly"])]),
            Expect::Path("retargetWorkload"),
        ),
        (
            "job-update",
            "mv",
            rules(&[(&["update", "patch", "get"], "batch", &["jobs"], &[])]),
            Expect::Refused(Probe::PatchJobServiceAccount),
        ),
        (
            "token",
            "mv",
            rules(&[(&["create"], "", &["serviceaccounts/token"], &["root"])]),
            Expect::Path("requestToken"),
        ),
        (
            "secret-get",
            "mv",
            rules(&[(&["get"], "", &["secrets"], &["root-token"])]),
            Expect::Path("readTokenSecret"),
        ),
        (
            "secret-list",
            "mv",
            rules(&[(&["list"], "", &["secrets"], &["root-token"])]),
            Expect::Path("readTokenSecret"),
        ),
        (
            "exec",
            "mv",
            rules(&[(&["create"], "", &["pods/exec"], &["rootpod"])]),
            Expect::Path("execInPod"),
        ),
        (
            "exec-get",
            "mv",
            rules(&[(&["get"], "", &["pods/exec"], &[])]),
            Expect::Refused(Probe::ExecWebSocketWithGet),
        ),
        (
            "ephemeral",
            "mv",
            rules(&[(&["patch"], "", &["pods/ephemeralcontainers"], &[])]),
            Expect::Path("execInPod"),
        ),
        (
            "nodeproxy",
            "cluster",
            rules(&[(&["get"], "", &["nodes/proxy"], &[])]),
            Expect::Path("execInPod"),
        ),
        (
            "imp-user",
            "cluster",
            rules(&[(&["impersonate"], "", &["users"], &["mv-root-user"])]),
            Expect::Path("impersonate"),
        ),
        (
            "imp-group-alone",
            "cluster",
            rules(&[(&["impersonate"], "", &["groups"], &["system:masters"])]),
            Expect::Refused(Probe::ImpersonateGroupAlone),
        ),
        (
            "imp-group-user",
            "cluster",
            rules(&[
                (&["impersonate"], "", &["groups"], &["system:masters"]),
                (&["impersonate"], "", &["users"], &["nobody"]),
            ]),
            Expect::Path("impersonate"),
        ),
        (
            "imp-sa",
            "mv",
            rules(&[(&["impersonate"], "", &["serviceaccounts"], &["root"])]),
            Expect::Path("impersonate"),
        ),
        (
            "imp-chained",
            "cluster",
            rules(&[(&["impersonate"], "", &["users"], &["mv-imp-group-user"])]),
            Expect::Refused(Probe::None),
        ),
        (
            "imp-uid",
            "cluster",
            rules(&[(
                &["impersonate"],
                "authentication.k8s.io",
                &["uids", "userextras/scopes"],
                &[],
            )]),
            Expect::Refused(Probe::ImpersonateUidAlone),
        ),
        (
            "grantor",
            "mv",
            rules(&[
                (&["bind"], RBAC, &["clusterroles"], &["cluster-admin"]),
                (&["create"], RBAC, &["rolebindings"], &[]),
            ]),
            Expect::Path("bind"),
        ),
        (
            "grantor-elsewhere",
            "mv2",
            rules(&[
                (&["bind"], RBAC, &["clusterroles"], &["cluster-admin"]),
                (&["create"], RBAC, &["rolebindings"], &[]),
            ]),
            Expect::Refused(Probe::ClusterRoleBindingOfClusterAdmin),
        ),
        (
            "bind-cluster",
            "cluster",
            rules(&[
                (&["bind"], RBAC, &["clusterroles"], &["cluster-admin"]),
                (&["create"], RBAC, &["clusterrolebindings"], &[]),
            ]),
            Expect::Path("bind"),
        ),
        (
            "escalate-role",
            "own",
            rules(&[(
                &["escalate", "update"],
                RBAC,
                &["roles"],
                &["mv-escalate-role"],
            )]),
            Expect::Path("escalateRole"),
        ),
        (
            "escalate-clusterrole",
            "cluster",
            rules(&[(
                &["escalate", "update"],
                RBAC,
                &["clusterroles"],
                &["mv-escalate-clusterrole"],
            )]),
            Expect::Path("escalateRole"),
        ),
        (
            "create-role",
            "mv",
            rules(&[
                (&["create", "escalate", "bind"], RBAC, &["roles"], &[]),
                (&["create"], RBAC, &["rolebindings"], &[]),
            ]),
            Expect::Path("createRole"),
        ),
        (
            "update-role",
            "own",
            rules(&[(&["update", "get"], RBAC, &["roles"], &["mv-update-role"])]),
            Expect::Refused(Probe::RewriteOwnRole),
        ),
        (
            "rb-no-bind",
            "mv",
            rules(&[(&["create"], RBAC, &["rolebindings"], &[])]),
            Expect::Refused(Probe::RoleBindingOfClusterAdmin),
        ),
        (
            "csr",
            "cluster",
            rules(&[
                (&["create"], certs, &["certificatesigningrequests"], &[]),
                (
                    &["update"],
                    certs,
                    &["certificatesigningrequests/approval"],
                    &[],
                ),
                (
                    &["approve"],
                    certs,
                    &["signers"],
                    &["kubernetes.io/kube-apiserver-client"],
                ),
            ]),
            Expect::Path("clientCertificate"),
        ),
        (
            "csr-masters-only",
            "cluster",
            rules(&[
                (&["create"], certs, &["certificatesigningrequests"], &[]),
                (
                    &["update"],
                    certs,
                    &["certificatesigningrequests/approval"],
                    &[],
                ),
                (&["approve"], certs, &["signers"], &["example.com/other"]),
            ]),
            Expect::Refused(Probe::MastersCertificate),
        ),
        (
            "aggregate",
            "cluster",
            rules(&[(&["create", "escalate"], RBAC, &["clusterroles"], &[])]),
            Expect::Path("createRole"),
        ),
    ];
    let mut expectations = Vec::new();
    for (case, scope, rule_list, expect) in cases {
        let user = format!("mv-{case}");
        let subject = json!([{"kind": "User", "apiGroup": RBAC, "name": user}]);
        match scope {
            "own" => {
                o.push(
                    json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                    "metadata": {"name": user, "namespace": "mv"}, "rules": rule_list}),
                );
                o.push(json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                    "metadata": {"name": user, "namespace": "mv"},
                    "roleRef": {"apiGroup": RBAC, "kind": "Role", "name": user}, "subjects": subject}));
            }
            _ => {
                o.push(
                    json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                    "metadata": {"name": user}, "rules": rule_list}),
                );
                let binding = if scope == "cluster" {
                    json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": user}})
                } else {
                    json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": user, "namespace": scope}})
                };
                let mut b = binding;
                b["roleRef"] = json!({"apiGroup": RBAC, "kind": "ClusterRole", "name": user});
                b["subjects"] = subject;
                o.push(b);
            }
        }
        if case == "aggregate" {
            o.push(json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                "metadata": {"name": "mv-aggregate-holder"}, "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": "mv-agg"},
                "subjects": [{"kind": "User", "apiGroup": RBAC, "name": user}]}));
        }
        expectations.push((user, expect));
    }
    (o, expectations)
}

/// Performs the request a probe names as `actor`; Ok when the API server refuses it.
async fn refused(plane: &Plane, actor: &Actor, user: &str, probe: Probe) -> Result<(), String> {
    use serde_json::json;
    let json_ct = "application/json";
    let outcome = match probe {
        Probe::None => return Ok(()),
        Probe::PatchJobServiceAccount => plane
            .call(
                actor,
                "PATCH",
                "/apis/batch/v1/namespaces/mv/jobs/batchjob",
                Some(&json!({"spec": {"template": {"spec": {"serviceAccountName": "root"}}}})),
                "application/merge-patch+json",
            )
            .await
            .map(|_| ()),
        Probe::ExecWebSocketWithGet => exec_websocket_get(plane, actor).await,
        Probe::ImpersonateGroupAlone | Probe::ImpersonateUidAlone => {
            // Headers without Impersonate-User: built by hand, since a kubeconfig cannot say it.
            let header = if matches!(probe, Probe::ImpersonateGroupAlone) {
                ("Impersonate-Group", "system:masters")
            } else {
                ("Impersonate-Uid", "some-uid")
            };
            raw_with_header(plane, actor, header).await
        }
        Probe::ClusterRoleBindingOfClusterAdmin => plane
            .call(
                actor,
                "POST",
                "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
                Some(&json!({"metadata": {"name": format!("{user}-probe")},
                    "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": "cluster-admin"},
                    "subjects": [{"kind": "User", "apiGroup": RBAC, "name": user}]})),
                json_ct,
            )
            .await
            .map(|_| ()),
        Probe::RoleBindingOfClusterAdmin => plane
            .call(
                actor,
                "POST",
                "/apis/rbac.authorization.k8s.io/v1/namespaces/mv/rolebindings",
                Some(&json!({"metadata": {"name": format!("{user}-probe")},
                    "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": "cluster-admin"},
                    "subjects": [{"kind": "User", "apiGroup": RBAC, "name": user}]})),
                json_ct,
            )
            .await
            .map(|_| ()),
        Probe::RewriteOwnRole => {
            let path = format!("/apis/rbac.authorization.k8s.io/v1/namespaces/mv/roles/{user}");
            let mut role = plane
                .call(actor, "GET", &path, None, json_ct)
                .await
                .map_err(|e| e.to_string())?;
            role["rules"] = json!([{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}]);
            plane
                .call(actor, "PUT", &path, Some(&role), json_ct)
                .await
                .map(|_| ())
        }
        Probe::MastersCertificate => {
            let mut trail = Trail::default();
            let r = perform(
                plane,
                actor,
                &kube_evidence::rbac::reach::Move::ClientCertificate {
                    user: "anyone".into(),
                    groups: vec!["system:masters".into()],
                },
                &mut trail,
            )
            .await;
            trail.undo(plane).await;
            return match r {
                Err(_) => Ok(()),
                Ok(_) => Err("a certificate in system:masters was issued".into()),
            };
        }
    };
    match outcome {
        Err(_) => Ok(()),
        Ok(()) => Err("the API server allowed it".into()),
    }
}

/// A request (SelfSubjectReview) with one extra header, as the actor.
async fn raw_with_header(
    plane: &Plane,
    actor: &Actor,
    header: (&str, &str),
) -> Result<(), common::reperform::actor::Refused> {
    plane
        .call_with(
            actor,
            "POST",
            "/apis/authentication.k8s.io/v1/selfsubjectreviews",
            Some(&serde_json::json!({"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"})),
            "application/json",
            &[header],
        )
        .await
        .map(|_| ())
}

/// `GET pods/exec` with a WebSocket upgrade, as `kubectl exec` makes it (curl, with the
/// actor's certificate): since 1.35 the API server wants `create` for it too.
async fn exec_websocket_get(
    plane: &Plane,
    actor: &Actor,
) -> Result<(), common::reperform::actor::Refused> {
    let common::reperform::actor::Cred::Cert { cert, key } = &actor.cred else {
        panic!("the pinned users act with certificates");
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("c.pem"), cert).unwrap();
    std::fs::write(dir.path().join("k.pem"), key).unwrap();
    let out = std::process::Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--max-time",
            "10",
            "--http1.1",
            "-k",
        ])
        .arg("--cert")
        .arg(dir.path().join("c.pem"))
        .arg("--key")
        .arg(dir.path().join("k.pem"))
        .args([
            "-H",
            "Connection: Upgrade",
            "-H",
            "Upgrade: websocket",
            "-H",
            "Sec-WebSocket-Version: 13",
            "-H",
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
            "-H",
            "Sec-WebSocket-Protocol: v5.channel.k8s.io",
        ])
        .arg(format!(
            "{}/api/v1/namespaces/mv/pods/rootpod/exec?command=id&stdout=true",
            plane.url
        ))
        .output()
        .unwrap();
    let code: u16 = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0);
    if code == 403 {
        Err(common::reperform::actor::Refused {
            code,
            message: "forbidden".into(),
        })
    } else {
        Ok(())
    }
}

#[test]
#[ignore = "needs the control plane binaries tests/run.sh builds"]
fn every_move_is_what_the_api_server_does() {
    let cp = ControlPlane::start();
    let problems = rt().block_on(async {
        let plane = Plane::of(&cp).await;
        let (objects, expectations) = pinned();
        let g = Generated::from_objects("mv", objects);
        load(&plane, &g).await;
        let snapshot = collect(&cp).await;
        let rbac = analyze_rbac(&snapshot);
        let world = World::read(&plane, &g).await;
        let mut memo = Memo::default();
        let mut problems = Vec::new();
        for (user, expect) in expectations {
            let subject = kube_evidence::rbac::SubjectRef::user(&user);
            let start = plane.certificate(&user, &[]);
            let reach = rbac.privilege.get(&subject);
            match (expect, reach) {
                (Expect::Path(kind), Some(AdminReach::Escalation { path, .. })) => {
                    let first = path
                        .iter()
                        .find_map(|s| s.mv.as_ref())
                        .map(|m| serde_json::to_value(m).unwrap()["kind"].clone());
                    if first != Some(serde_json::json!(kind)) {
                        problems.push(format!(
                            "{user}: the path starts with {first:?}, not {kind}:\n{}",
                            describe(path)
                        ));
                    }
                    if let Err(e) = execute(&plane, start, path).await {
                        problems.push(format!("{user}: {e}\n{}", describe(path)));
                    }
                }
                (Expect::Path(kind), other) => problems.push(format!(
                    "{user}: expected a path through {kind}, the engine says {other:?}"
                )),
                (Expect::Refused(probe), None) => {
                    if let Err(e) = refused(&plane, &start, &user, probe).await {
                        problems.push(format!("{user}: {e}"));
                    }
                    let outcome = search(&plane, &world, start, &mut memo).await;
                    if let Some(way) = outcome.admin {
                        problems.push(format!(
                            "{user}: the search reaches cluster-admin:\n  {}",
                            way.join("\n  ")
                        ));
                    }
                }
                (Expect::Refused(_), Some(r)) => {
                    problems.push(format!("{user}: expected no path, the engine says {r:?}"))
                }
            }
        }
        unload(&plane, &g).await;
        problems
    });
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}
