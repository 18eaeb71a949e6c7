//! Discovery of third parties on a cluster built from the upstream corpus: each project's real
//! RBAC manifests installed as a Helm release (chart labels on every object, a workload per
//! ServiceAccount running the project's real image), several of them in kube-system beside the
//! platform's own components. Every third party must be found, the platform and the teams'
//! workloads must not be, and the starter inventory must validate as written.

use crate::common;
use kube_evidence::inventory;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::Path;

/// A corpus project as a Helm release: its chart, where it is installed when its manifests do
/// not say, and the image its workloads run.
struct Release {
    dir: &'static str,
    chart: &'static str,
    namespace: &'static str,
    images: &'static [&'static str],
}

const RELEASES: &[Release] = &[
    Release {
        dir: "metrics-server",
        chart: "metrics-server-3.12.2",
        namespace: "kube-system",
        images: &["registry.k8s.io/metrics-server/metrics-server:v0.7.2"],
    },
    Release {
        dir: "cluster-autoscaler",
        chart: "cluster-autoscaler-9.43.2",
        namespace: "kube-system",
        images: &["registry.k8s.io/autoscaling/cluster-autoscaler:v1.31.0"],
    },
    Release {
        dir: "kube-state-metrics",
        chart: "kube-state-metrics-5.27.0",
        namespace: "kube-system",
        images: &["registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.13.0"],
    },
    Release {
        dir: "secrets-store-csi-driver",
        chart: "secrets-store-csi-driver-1.4.7",
        namespace: "kube-system",
        images: &[
            "registry.k8s.io/csi-secrets-store/driver:v1.4.7",
            "registry.k8s.io/sig-storage/csi-node-driver-registrar:v2.11.1",
            "registry.k8s.io/sig-storage/livenessprobe:v2.13.1",
        ],
    },
    Release {
        dir: "fluentd-kubernetes-daemonset",
        chart: "fluentd-0.5.2",
        namespace: "kube-system",
        images: &["fluent/fluentd-kubernetes-daemonset:v1.17-debian-elasticsearch8-1"],
    },
    Release {
        dir: "descheduler",
        chart: "descheduler-0.31.0",
        namespace: "kube-system",
        images: &["registry.k8s.io/descheduler/descheduler:v0.31.0"],
    },
    Release {
        dir: "aws-load-balancer-controller",
        chart: "aws-load-balancer-controller-1.10.0",
        namespace: "kube-system",
        images: &["public.ecr.aws/eks/aws-load-balancer-controller:v2.10.0"],
    },
    Release {
        dir: "argo-cd",
        chart: "argo-cd-7.7.5",
        namespace: "argocd",
        images: &["quay.io/argoproj/argocd:v2.13.1"],
    },
    Release {
        dir: "datadog-agent",
        chart: "datadog-3.80.0",
        namespace: "datadog",
        images: &["gcr.io/datadoghq/agent:7.59.0"],
    },
    Release {
        dir: "external-dns",
        chart: "external-dns-1.15.0",
        namespace: "external-dns",
        images: &["registry.k8s.io/external-dns/external-dns:v0.15.0"],
    },
    Release {
        dir: "ingress-nginx",
        chart: "ingress-nginx-4.11.3",
        namespace: "ingress-nginx",
        images: &["registry.k8s.io/ingress-nginx/controller:v1.11.3"],
    },
    Release {
        dir: "kubernetes-dashboard",
        chart: "kubernetes-dashboard-7.10.0",
        namespace: "kubernetes-dashboard",
        images: &["kubernetesui/dashboard:v2.7.0"],
    },
    Release {
        dir: "local-path-provisioner",
        chart: "local-path-provisioner-0.0.30",
        namespace: "local-path-storage",
        images: &["rancher/local-path-provisioner:v0.0.30"],
    },
    Release {
        dir: "prometheus-operator",
        chart: "kube-prometheus-stack-66.2.1",
        namespace: "monitoring",
        images: &["quay.io/prometheus-operator/prometheus-operator:v0.78.2"],
    },
    Release {
        dir: "sysdig-cloud-scripts",
        chart: "sysdig-deploy-1.67.0",
        namespace: "sysdig-agent",
        images: &["quay.io/sysdig/agent:13.6.0"],
    },
    Release {
        dir: "vault-k8s",
        chart: "vault-0.29.1",
        namespace: "vault",
        images: &["hashicorp/vault-k8s:1.5.0"],
    },
    Release {
        dir: "flannel",
        chart: "flannel-v0.26.1",
        namespace: "kube-flannel",
        images: &["docker.io/flannel/flannel:v0.26.1"],
    },
    Release {
        dir: "external-provisioner",
        chart: "csi-driver-host-path-1.15.0",
        namespace: "csi-hostpath",
        images: &["registry.k8s.io/sig-storage/csi-provisioner:v5.1.0"],
    },
];

fn yaml_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            yaml_files(&p, out);
        } else if p
            .extension()
            .is_some_and(|e| e == "yaml" || e == "yml" || e == "json")
        {
            out.push(p);
        }
    }
}

/// The project's objects, as a Helm release of `chart` would install them.
fn release_objects(corpus: &Path, r: &Release) -> (Vec<Value>, BTreeSet<String>) {
    let mut files = Vec::new();
    yaml_files(&corpus.join(r.dir), &mut files);
    let mut objects = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap().replace("\r\n", "\n");
        for doc in kube_evidence::yaml::parse_stream(&text).unwrap() {
            let Some(root) = doc.root else { continue };
            let v = root.to_json();
            if v.get("kind").and_then(Value::as_str).is_some() {
                objects.push(v);
            }
        }
    }
    let labels = helm_labels(r.chart);
    let mut accounts = BTreeSet::new();
    for o in &mut objects {
        let kind = o["kind"].as_str().unwrap().to_string();
        let namespaced = matches!(kind.as_str(), "Role" | "RoleBinding" | "ServiceAccount");
        let meta = o["metadata"].as_object_mut().unwrap();
        if namespaced && !meta.contains_key("namespace") {
            meta.insert("namespace".into(), json!(r.namespace));
        }
        let l = meta.entry("labels").or_insert(json!({}));
        if let Some(l) = l.as_object_mut() {
            for (k, v) in labels.as_object().unwrap() {
                l.insert(k.clone(), v.clone());
            }
        }
        if kind == "ServiceAccount" {
            accounts.insert(format!(
                "{}/{}",
                meta["namespace"].as_str().unwrap(),
                meta["name"].as_str().unwrap()
            ));
        }
        if kind.ends_with("Binding") {
            let binding_ns = meta
                .get("namespace")
                .and_then(Value::as_str)
                .map(str::to_string);
            for s in o["subjects"].as_array().cloned().unwrap_or_default() {
                if s["kind"] == "ServiceAccount" {
                    let ns = s["namespace"]
                        .as_str()
                        .map(str::to_string)
                        .or(binding_ns.clone())
                        .unwrap_or_else(|| r.namespace.to_string());
                    accounts.insert(format!("{ns}/{}", s["name"].as_str().unwrap()));
                }
            }
        }
    }
    if accounts.is_empty() {
        let name = r.chart.rsplit_once('-').unwrap().0;
        accounts.insert(format!("{}/{name}", r.namespace));
    }
    let defined: BTreeSet<String> = objects
        .iter()
        .filter(|o| o["kind"] == "ServiceAccount")
        .map(|o| {
            format!(
                "{}/{}",
                o["metadata"]["namespace"].as_str().unwrap(),
                o["metadata"]["name"].as_str().unwrap()
            )
        })
        .collect();
    for sa in &accounts {
        let (ns, name) = sa.split_once('/').unwrap();
        if !defined.contains(sa) {
            objects.push(json!({"apiVersion": "v1", "kind": "ServiceAccount",
                "metadata": {"name": name, "namespace": ns, "labels": labels}}));
        }
        objects.push(deployment(ns, name, name, r.images, Some(r.chart)));
    }
    (objects, accounts)
}

fn helm_labels(chart: &str) -> Value {
    json!({"helm.sh/chart": chart, "app.kubernetes.io/managed-by": "Helm",
           "app.kubernetes.io/instance": chart.rsplit_once('-').unwrap().0})
}

fn deployment(ns: &str, name: &str, sa: &str, images: &[&str], chart: Option<&str>) -> Value {
    let labels = chart.map(helm_labels).unwrap_or(json!({"app": name}));
    let containers: Vec<Value> = images
        .iter()
        .enumerate()
        .map(|(i, image)| json!({"name": format!("c{i}"), "image": image}))
        .collect();
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": format!("{name}-workload"), "namespace": ns, "labels": labels},
        "spec": {"template": {"metadata": {"labels": labels},
            "spec": {"serviceAccountName": sa, "containers": containers}}}})
}

/// The platform and the teams, beside the releases: none of them is a third party.
fn platform_and_teams(corpus: &Path) -> Vec<Value> {
    let mut objects = vec![
        deployment(
            "kube-system",
            "kube-proxy",
            "kube-proxy",
            &["registry.k8s.io/kube-proxy:v1.35.0"],
            None,
        ),
        // CoreDNS installed with its own chart is still the platform's DNS.
        deployment(
            "kube-system",
            "coredns",
            "coredns",
            &["registry.k8s.io/coredns/coredns:v1.12.0"],
            Some("coredns-1.36.1"),
        ),
        // A team's service with an injected mesh proxy is the team's.
        deployment(
            "shop",
            "web",
            "web",
            &[
                "registry.example.com/shop/web:4.2",
                "docker.io/istio/proxyv2:1.24.0",
            ],
            None,
        ),
        deployment(
            "kube-system",
            "etcd-backup",
            "default",
            &["registry.example.com/platform/etcd-backup:1"],
            None,
        ),
    ];
    let mut files = Vec::new();
    yaml_files(&corpus.join("kubernetes-bootstrap"), &mut files);
    yaml_files(&corpus.join("coredns-deployment"), &mut files);
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for doc in kube_evidence::yaml::parse_stream(&text).unwrap() {
            if let Some(root) = doc.root {
                let v = root.to_json();
                match v.get("items").and_then(Value::as_array) {
                    Some(items) => objects.extend(items.iter().cloned()),
                    None if v.get("kind").is_some() => objects.push(v),
                    None => {}
                }
            }
        }
    }
    objects
}

fn ke(args: &[&str]) -> common::Run {
    common::run(args, &[], &common::repo())
}

#[test]
fn every_third_party_is_found_wherever_it_runs_and_the_starter_validates() {
    let Some(corpus) = common::corpus_or_skip(
        "discovery::every_third_party_is_found_wherever_it_runs_and_the_starter_validates",
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut expected = Vec::new();
    for (i, r) in RELEASES.iter().enumerate() {
        let (objects, accounts) = release_objects(&corpus, r);
        let list = json!({"apiVersion": "v1", "kind": "List", "items": objects});
        std::fs::write(
            dir.path().join(format!("{i:02}-{}.json", r.dir)),
            list.to_string(),
        )
        .unwrap();
        expected.push((r, accounts));
    }
    let platform =
        json!({"apiVersion": "v1", "kind": "List", "items": platform_and_teams(&corpus)});
    std::fs::write(dir.path().join("99-platform.json"), platform.to_string()).unwrap();

    let out = ke(&[
        "inventory",
        "discover",
        "--source",
        dir.path().to_str().unwrap(),
    ]);
    out.assert_ok();
    // Written after discovery read the directory, so it is not part of the source.
    let starter = dir.path().join("starter.yaml");
    std::fs::write(&starter, &out.stdout).unwrap();
    let validated = ke(&["inventory", "validate", starter.to_str().unwrap()]);
    validated.assert_ok();
    let inv = inventory::parse(
        &out.stdout,
        "starter.yaml",
        chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
    )
    .unwrap_or_else(|e| panic!("{e}\n{}", out.stdout));

    for (r, accounts) in &expected {
        let found = inv.sub_processors.iter().find(|e| {
            e.identities
                .service_accounts
                .iter()
                .any(|s| accounts.contains(s))
                || accounts.iter().all(|a| {
                    e.identities
                        .namespaces
                        .iter()
                        .any(|n| a.starts_with(&format!("{n}/")))
                })
        });
        let Some(entry) = found else {
            panic!("{} ({accounts:?}) not found:\n{}", r.dir, out.stdout)
        };
        assert!(!entry.id.is_empty() && !entry.name.is_empty(), "{entry:?}");
        assert!(
            !entry
                .identities
                .namespaces
                .iter()
                .any(|n| n == "kube-system"),
            "{} claims all of kube-system",
            entry.id
        );
    }
    // The catalog names the vendors of those it knows.
    let vendor_of = |sa: &str| {
        inv.sub_processors
            .iter()
            .find(|e| e.identities.service_accounts.iter().any(|s| s == sa))
            .map(|e| e.vendor.clone())
    };
    assert_eq!(
        vendor_of("kube-system/metrics-server").as_deref(),
        Some("Kubernetes SIG Instrumentation")
    );
    assert_eq!(
        vendor_of("kube-system/fluentd").as_deref(),
        Some("Fluentd (CNCF)")
    );
    // The platform's own components and the teams' services are not third parties.
    for not_third in [
        "kube-system/kube-proxy",
        "kube-system/coredns",
        "shop/web",
        "kube-system/default",
    ] {
        assert!(
            vendor_of(not_third).is_none(),
            "{not_third} listed:\n{}",
            out.stdout
        );
    }
    assert!(
        !inv.sub_processors
            .iter()
            .any(|e| e.identities.namespaces.iter().any(|n| n == "shop")),
        "{}",
        out.stdout
    );
    // The metrics APIService goes with metrics-server, whose Service serves it.
    let ms = inv
        .sub_processors
        .iter()
        .find(|e| {
            e.identities
                .service_accounts
                .iter()
                .any(|s| s == "kube-system/metrics-server")
        })
        .unwrap();
    assert!(
        ms.identities
            .api_services
            .iter()
            .any(|a| a == "v1beta1.metrics.k8s.io"),
        "{ms:?}"
    );
}

#[test]
fn an_api_service_without_a_service_namespace_still_gives_a_valid_entry() {
    // The trial's case: an APIService whose Service names no namespace, nothing else around it.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("a.yaml"),
        "apiVersion: apiregistration.k8s.io/v1\nkind: APIService\nmetadata: {name: v1beta1.acme.example.com}\nspec:\n  group: acme.example.com\n  version: v1beta1\n  service: {name: acme-api}\n---\napiVersion: apiregistration.k8s.io/v1\nkind: APIService\nmetadata: {name: v1.custom.example.com}\nspec:\n  group: custom.example.com\n  version: v1\n  service: {name: '---'}\n",
    )
    .unwrap();
    let out = ke(&[
        "inventory",
        "discover",
        "--source",
        dir.path().to_str().unwrap(),
    ]);
    out.assert_ok();
    let inv = inventory::parse(
        &out.stdout,
        "starter.yaml",
        chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
    )
    .unwrap_or_else(|e| panic!("{e}\n{}", out.stdout));
    assert_eq!(inv.sub_processors.len(), 2, "{}", out.stdout);
    for e in &inv.sub_processors {
        assert!(!e.id.is_empty() && !e.name.is_empty());
    }
}

#[test]
fn rendered_manifests_take_the_default_namespace() {
    let Some(corpus) =
        common::corpus_or_skip("discovery::rendered_manifests_take_the_default_namespace")
    else {
        return;
    };
    // vault-k8s's injector manifests leave the namespace of its ServiceAccount, Role and
    // RoleBinding to `kubectl apply -n`.
    let dir = corpus.join("vault-k8s/deploy");
    let refused = ke(&[
        "who-can",
        "create",
        "secrets",
        "-n",
        "vault",
        "--source",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("--default-namespace"),
        "{}",
        refused.stderr
    );
    let read = ke(&[
        "who-can",
        "create",
        "secrets",
        "-n",
        "vault",
        "--source",
        dir.to_str().unwrap(),
        "--default-namespace",
        "vault",
    ]);
    read.assert_ok();
    assert!(
        read.stdout.contains("ServiceAccount:vault/vault-injector")
            && read
                .stdout
                .contains("RoleBinding vault/vault-injector-rolebinding"),
        "{}",
        read.stdout
    );
    // Elsewhere the Role does not apply.
    let elsewhere = ke(&[
        "who-can",
        "create",
        "secrets",
        "-n",
        "default",
        "--source",
        dir.to_str().unwrap(),
        "--default-namespace",
        "vault",
    ]);
    elsewhere.assert_ok();
    assert!(
        !elsewhere.stdout.contains("vault-injector"),
        "{}",
        elsewhere.stdout
    );
}
