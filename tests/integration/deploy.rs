//! The shipped deployment says what the code needs, no more: the ClusterRole matches the kinds the
//! collector lists, the Helm chart grants the same, and the pod is hardened. (That the role
//! suffices against a real API server is tests/integration/live_cluster.rs.)

use crate::common;

use common::controlplane::objects_in;
use kube_evidence::snapshot::ResourceKind;
use serde_json::Value;
use std::collections::BTreeSet;

fn grants(role: &Value) -> BTreeSet<(String, String, String)> {
    let mut out = BTreeSet::new();
    for rule in role["rules"].as_array().unwrap() {
        for g in rule["apiGroups"].as_array().unwrap() {
            for r in rule["resources"].as_array().unwrap() {
                for v in rule["verbs"].as_array().unwrap() {
                    out.insert((
                        g.as_str().unwrap().to_string(),
                        r.as_str().unwrap().to_string(),
                        v.as_str().unwrap().to_string(),
                    ));
                }
            }
        }
    }
    out
}

#[test]
fn the_cluster_role_grants_get_and_list_on_exactly_the_collected_kinds() {
    let base = objects_in(&common::repo().join("deploy/base"));
    let role = base.iter().find(|o| o["kind"] == "ClusterRole").unwrap();
    let expected: BTreeSet<(String, String, String)> = ResourceKind::ALL
        .into_iter()
        .filter(|k| *k != ResourceKind::Secret)
        .flat_map(|k| {
            ["get", "list"].map(|v| {
                (
                    k.api_group().to_string(),
                    k.plural().to_string(),
                    v.to_string(),
                )
            })
        })
        .collect();
    assert_eq!(grants(role), expected);
    // Nothing else in the base is bound cluster-wide; the one Role reads one ConfigMap.
    let roles: Vec<&Value> = base.iter().filter(|o| o["kind"] == "Role").collect();
    assert_eq!(roles.len(), 1);
    assert_eq!(
        roles[0]["rules"][0]["resourceNames"][0],
        "kube-evidence-inventory"
    );
    assert_eq!(roles[0]["rules"][0]["verbs"], serde_json::json!(["get"]));
}

#[test]
fn the_helm_chart_grants_the_same_rules() {
    let helm = std::fs::read_to_string(
        common::repo().join("deploy/helm/kube-evidence/templates/rbac.yaml"),
    )
    .unwrap();
    let base =
        std::fs::read_to_string(common::repo().join("deploy/base/clusterrole.yaml")).unwrap();
    let rules = |text: &str| -> String {
        let start = text.find("rules:\n").unwrap() + "rules:\n".len();
        text[start..]
            .lines()
            .take_while(|l| l.starts_with("  ") && !l.contains("{{"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert!(!rules(&base).is_empty());
    assert_eq!(rules(&helm), rules(&base));
    // The secrets rule exists only behind the opt-in.
    let opt_in = helm.find("{{- if .Values.collectTokenSecrets }}").unwrap();
    assert!(helm.find("resources: [\"secrets\"]").unwrap() > opt_in);
}

#[test]
fn the_token_secrets_overlay_adds_list_on_secrets_and_nothing_else() {
    let text = std::fs::read_to_string(
        common::repo().join("deploy/overlays/token-secrets/kustomization.yaml"),
    )
    .unwrap();
    assert!(
        text.contains("resources: [\"secrets\"]\n          verbs: [\"list\"]"),
        "{text}"
    );
    assert!(text.contains("--collect-token-secrets"));
    assert!(text.contains("GRANTS THE COLLECTOR `list` ON ALL SECRETS"));
}

#[test]
fn the_cronjob_pod_is_hardened() {
    let base = objects_in(&common::repo().join("deploy/base"));
    let cron = base.iter().find(|o| o["kind"] == "CronJob").unwrap();
    let spec = &cron["spec"];
    assert_eq!(spec["concurrencyPolicy"], "Forbid");
    for field in [
        "startingDeadlineSeconds",
        "successfulJobsHistoryLimit",
        "failedJobsHistoryLimit",
    ] {
        assert!(spec[field].is_number(), "{field}");
    }
    let job = &spec["jobTemplate"]["spec"];
    assert!(job["backoffLimit"].is_number() && job["activeDeadlineSeconds"].is_number());
    let pod = &job["template"]["spec"];
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(
        pod["securityContext"]["seccompProfile"]["type"],
        "RuntimeDefault"
    );
    assert_eq!(pod["automountServiceAccountToken"], true);
    let c = &pod["containers"][0];
    assert_eq!(c["securityContext"]["allowPrivilegeEscalation"], false);
    assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(
        c["securityContext"]["capabilities"]["drop"],
        serde_json::json!(["ALL"])
    );
    assert!(
        c["resources"]["requests"]["memory"].is_string()
            && c["resources"]["limits"]["memory"].is_string()
    );
    let sa = base.iter().find(|o| o["kind"] == "ServiceAccount").unwrap();
    assert_eq!(
        sa["automountServiceAccountToken"], false,
        "the token is mounted only where needed"
    );
    let key = pod["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "signing-key")
        .unwrap();
    assert_eq!(key["secret"]["defaultMode"], 0o400);
}

#[test]
fn the_shipped_run_configuration_is_one_kube_evidence_accepts() {
    let base = objects_in(&common::repo().join("deploy/base"));
    let cm = base.iter().find(|o| o["kind"] == "ConfigMap").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.yaml");
    std::fs::write(&file, cm["data"]["config.yaml"].as_str().unwrap()).unwrap();
    let c = kube_evidence::config::load(
        Some(&file),
        &kube_evidence::config::Overrides::default(),
        &|_| None,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    c.require_for_run().unwrap();
    assert_eq!(c.source, Some(kube_evidence::source::SourceSpec::Cluster));
    // The key path is where the CronJob mounts the Secret.
    assert_eq!(
        c.signing_key.as_deref(),
        Some(std::path::Path::new("/etc/kube-evidence/signing-key/key"))
    );
}

#[test]
fn the_fleet_overlay_reads_the_bucket_with_no_cluster_access_and_valid_flags() {
    let dir = common::repo().join("deploy/overlays/fleet-report");
    let objects = objects_in(&dir);
    let kinds: BTreeSet<String> = objects
        .iter()
        .map(|o| o["kind"].as_str().unwrap().to_string())
        .collect();
    // No Role, ClusterRole or binding: the job never talks to the API server.
    assert_eq!(
        kinds,
        ["CronJob", "ServiceAccount"]
            .map(String::from)
            .into_iter()
            .collect()
    );
    let sa = objects
        .iter()
        .find(|o| o["kind"] == "ServiceAccount")
        .unwrap();
    assert_eq!(sa["automountServiceAccountToken"], false);
    let cron = objects.iter().find(|o| o["kind"] == "CronJob").unwrap();
    let pod = &cron["spec"]["jobTemplate"]["spec"]["template"]["spec"];
    assert_eq!(pod["automountServiceAccountToken"], false);
    assert_eq!(pod["serviceAccountName"], sa["metadata"]["name"]);
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    let c = &pod["containers"][0];
    assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
    // The arguments parse: the same command with a directory store runs here.
    let args: Vec<String> = c["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect();
    assert_eq!(&args[..2], ["fleet", "report"]);
    let help = common::run(&["fleet", "report", "--help"], &[], &common::repo());
    help.assert_ok();
    for flag in args.iter().filter(|a| a.starts_with("--")) {
        assert!(
            help.stdout.contains(flag.as_str()),
            "{flag} is not a flag of fleet report"
        );
    }
}

/// The review-campaign CronJob (overlay and chart) reads and writes the store only: no token,
/// the hardened pod, the files it names mounted, and the chart runs the overlay's command.
/// (That the command is idempotent over a period is reviews::a_recurring_start_is_idempotent.)
#[test]
fn the_review_campaign_cronjob_needs_no_cluster_access_and_the_chart_runs_the_same_command() {
    let objects = objects_in(&common::repo().join("deploy/overlays/review-campaigns"));
    assert_eq!(objects.len(), 1, "a CronJob and nothing else");
    let cron = &objects[0];
    assert_eq!(cron["kind"], "CronJob");
    assert_eq!(cron["spec"]["concurrencyPolicy"], "Forbid");
    let pod = &cron["spec"]["jobTemplate"]["spec"]["template"]["spec"];
    assert_eq!(pod["automountServiceAccountToken"], false);
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(
        pod["securityContext"]["seccompProfile"]["type"],
        "RuntimeDefault"
    );
    let c = &pod["containers"][0];
    assert_eq!(c["securityContext"]["allowPrivilegeEscalation"], false);
    assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
    let args: Vec<String> = c["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect();
    assert_eq!(&args[..2], ["review", "start"]);
    // Every file it names is mounted.
    let mounts: Vec<&str> = c["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["mountPath"].as_str().unwrap())
        .collect();
    for file in args.iter().filter(|a| a.starts_with('/')) {
        assert!(
            mounts.iter().any(|m| file.starts_with(&format!("{m}/"))),
            "{file} is not mounted"
        );
    }
    let help = common::run(&["review", "start", "--help"], &[], &common::repo());
    help.assert_ok();
    for flag in args.iter().filter(|a| a.starts_with("--")) {
        assert!(help.stdout.contains(flag.as_str()), "{flag}");
    }
    // The chart's CronJob: off unless asked for, and the same flags in the same order.
    let chart = std::fs::read_to_string(
        common::repo().join("deploy/helm/kube-evidence/templates/review-cronjob.yaml"),
    )
    .unwrap();
    assert!(chart.starts_with("{{- if .Values.reviewCampaigns.enabled }}"));
    assert!(chart.contains("automountServiceAccountToken: false"));
    let chart_flags: Vec<&str> = chart
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- --"))
        .filter(|f| *f != "every-binding")
        .collect();
    let overlay_flags: Vec<&str> = args.iter().filter_map(|a| a.strip_prefix("--")).collect();
    assert_eq!(chart_flags, overlay_flags);
    let values =
        std::fs::read_to_string(common::repo().join("deploy/helm/kube-evidence/values.yaml"))
            .unwrap();
    assert!(values.contains("reviewCampaigns:\n  enabled: false\n"));
}

/// The image's build stage sees only what `deploy/Dockerfile` copies: its context is assembled
/// here from the `COPY` lines exactly (every source, to its destination under `WORKDIR`) and the
/// crate is compiled from it with the Dockerfile's command, for this machine's target and checked
/// rather than built (what `include_str!` and the module tree need is read either way). A file
/// the build reads and the image lacks fails here, not in the nightly CronJob's image build.
#[test]
fn the_image_build_context_holds_every_file_the_build_reads() {
    let repo = common::repo();
    let dockerfile = std::fs::read_to_string(repo.join("deploy/Dockerfile")).unwrap();
    let build_stage: Vec<&str> = dockerfile
        .lines()
        .take_while(|l| !l.starts_with("FROM ") || l.contains(" AS build"))
        .collect();
    let workdir = build_stage
        .iter()
        .find_map(|l| l.strip_prefix("WORKDIR "))
        .expect("the build stage sets a WORKDIR")
        .trim();
    let command = build_stage
        .iter()
        .find_map(|l| l.strip_prefix("RUN cargo build "))
        .expect("the build stage runs cargo build");
    let context = tempfile::tempdir().unwrap();
    let root = context.path().join(workdir.trim_start_matches('/'));
    std::fs::create_dir_all(&root).unwrap();
    let mut copies = 0;
    for line in build_stage.iter().filter_map(|l| l.strip_prefix("COPY ")) {
        let parts: Vec<&str> = line.split_whitespace().collect();
        let (dest, sources) = parts.split_last().unwrap();
        let dest = root.join(dest.trim_start_matches("./"));
        for source in sources {
            let from = repo.join(source);
            let to = if sources.len() > 1 || dest.to_string_lossy().ends_with('/') {
                dest.join(source)
            } else {
                dest.clone()
            };
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            let status = std::process::Command::new("cp")
                .arg("-R")
                .arg(&from)
                .arg(&to)
                .status()
                .unwrap();
            assert!(status.success(), "COPY {source}: {}", from.display());
            copies += 1;
        }
    }
    assert!(copies >= 5, "{copies} COPY sources");
    // The Dockerfile's flags, for the target this machine builds, checked.
    let flags: Vec<&str> = command
        .split("&&")
        .next()
        .unwrap()
        .split_whitespace()
        .filter(|f| *f != "\\")
        .collect();
    assert!(
        flags.contains(&"--locked") && flags.contains(&"--bin"),
        "{command}"
    );
    let mut args = vec!["check", "--locked", "--offline"];
    let bin = flags[flags.iter().position(|f| *f == "--bin").unwrap() + 1];
    args.extend(["--bin", bin]);
    // Dependencies are checked once per version and reused (the folder is not a clone's
    // `target-*`, which tests/prune-cache.sh removes); the crate itself is checked anew from the
    // context every time.
    let cache = std::env::var_os("KUBE_EVIDENCE_CACHE")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/kube-evidence")
        });
    let target = cache.join(format!("image-context-check-{}", env!("CARGO_PKG_VERSION")));
    let out = std::process::Command::new(env!("CARGO"))
        .args(&args)
        .current_dir(&root)
        .env("CARGO_TARGET_DIR", &target)
        .env("KUBE_EVIDENCE_REVISION", "image-context-test")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "`cargo {}` from the image's build context failed:\n{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}
