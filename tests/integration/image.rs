//! The image, built and run as the nightly CronJob runs it: `deploy/Dockerfile`'s run stage built
//! with podman and started against a real API server with the CronJob's arguments, user, mounts
//! and read-only root filesystem, publishing a signed pack that `verify` accepts.
//!
//! What stands in for what cannot be had here (no registry can be pulled from):
//! - `gcr.io/distroless/static-debian12:nonroot` (the run stage's base) is an image of the test's
//!   own made `FROM scratch`: distroless's `nonroot` user and group (65532), the machine's CA
//!   bundle where distroless keeps it, `/tmp`, and the C libraries the binary links;
//! - the build stage (`rust:1.95-bookworm`, musl) is the binary `cargo test` built from the same
//!   sources for this machine's target. That the build stage's context holds every file the build
//!   reads is `deploy::the_image_build_context_holds_every_file_the_build_reads`;
//! - the pod's ServiceAccount token is a TokenRequest's, mounted where the kubelet mounts it, with
//!   `KUBERNETES_SERVICE_HOST`/`PORT` naming the test API server (on 127.0.0.1, host network).

use crate::common;

use common::controlplane::{self as cp, ControlPlane};
use kube_evidence::snapshot::{CollectionStatus, read_snapshot_file};
use serde_json::Value;
use std::os::unix::fs::{PermissionsExt, chown};
use std::path::{Path, PathBuf};
use std::process::Command;

const STAND_IN_BASE: &str = "localhost/kube-evidence-test/distroless-static-stand-in:nonroot";
const IMAGE: &str = "localhost/kube-evidence-test/kube-evidence:test";

fn podman(args: &[&str]) -> std::process::Output {
    Command::new(common::repo().join("tests/image/podman.sh"))
        .args(args)
        .output()
        .expect("tests/image/podman.sh runs (podman is installed by tests/run.sh)")
}

fn assert_success(what: &str, out: &std::process::Output) {
    assert!(
        out.status.success(),
        "{what} failed ({}):\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn write(path: &Path, bytes: impl AsRef<[u8]>, mode: u32) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A directory the container's user can read (tempdirs are 0700 and owned by the test's user).
fn readable_dir(path: &Path) -> PathBuf {
    std::fs::create_dir_all(path).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path.to_path_buf()
}

/// The shared libraries `binary` loads, as `ldd` lists them (absolute paths only).
fn linked_libraries(binary: &Path) -> Vec<PathBuf> {
    let out = Command::new("ldd").arg(binary).output().expect("ldd runs");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter(|t| t.starts_with('/'))
        .map(PathBuf::from)
        .collect()
}

/// The stand-in for distroless static's `nonroot` image, built from a folder `FROM scratch`.
fn build_stand_in_base(work: &Path) {
    let root = work.join("base/rootfs");
    write(
        &root.join("etc/passwd"),
        "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n",
        0o644,
    );
    write(
        &root.join("etc/group"),
        "root:x:0:\nnonroot:x:65532:\n",
        0o644,
    );
    let bundle = Path::new("/etc/ssl/certs/ca-certificates.crt");
    if bundle.exists() {
        write(
            &root.join("etc/ssl/certs/ca-certificates.crt"),
            std::fs::read(bundle).unwrap(),
            0o644,
        );
    }
    for lib in linked_libraries(&common::bin()) {
        let to = root.join(lib.strip_prefix("/").unwrap());
        write(&to, std::fs::read(&lib).unwrap(), 0o755);
    }
    for dir in ["tmp", "home/nonroot"] {
        std::fs::create_dir_all(root.join(dir)).unwrap();
    }
    std::fs::set_permissions(root.join("tmp"), std::fs::Permissions::from_mode(0o1777)).unwrap();
    write(
        &work.join("base/Containerfile"),
        "FROM scratch\nCOPY rootfs/ /\n",
        0o644,
    );
    let context = work.join("base");
    assert_success(
        "building the stand-in base image",
        &podman(&[
            "build",
            "--quiet",
            "-t",
            STAND_IN_BASE,
            context.to_str().unwrap(),
        ]),
    );
}

/// `deploy/Dockerfile`'s run stage, its base and its `COPY --from=build` the only lines changed.
fn run_stage_containerfile() -> String {
    let dockerfile = std::fs::read_to_string(common::repo().join("deploy/Dockerfile")).unwrap();
    let lines: Vec<&str> = dockerfile.lines().collect();
    let last_from = lines
        .iter()
        .rposition(|l| l.starts_with("FROM "))
        .expect("the Dockerfile has a FROM");
    let mut out = Vec::new();
    let (mut bases, mut copies) = (0, 0);
    for line in &lines[last_from..] {
        if line.starts_with("FROM gcr.io/distroless/static-debian12:nonroot") {
            out.push(format!("FROM {STAND_IN_BASE}"));
            bases += 1;
        } else if let Some(rest) = line.strip_prefix("COPY --from=build /kube-evidence ") {
            out.push(format!("COPY kube-evidence {rest}"));
            copies += 1;
        } else {
            assert!(
                !line.contains("--from="),
                "a run-stage line the test does not stand in for: {line}"
            );
            out.push(line.to_string());
        }
    }
    assert_eq!(
        (bases, copies),
        (1, 1),
        "the run stage changed: update the stand-ins above"
    );
    out.join("\n") + "\n"
}

/// The CronJob's container: its arguments, mount paths, user and group.
struct CronJobContainer {
    args: Vec<String>,
    mounts: Vec<String>,
    user: u64,
    group: u64,
    env: Vec<(String, String)>,
}

fn cronjob_container() -> CronJobContainer {
    let cronjob = cp::objects_in(&common::repo().join("deploy/base/cronjob.yaml"))
        .into_iter()
        .find(|o| o["kind"] == "CronJob")
        .expect("deploy/base/cronjob.yaml holds the CronJob");
    let pod = &cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect()
    };
    CronJobContainer {
        args: strings(&container["args"]),
        mounts: container["volumeMounts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["mountPath"].as_str().unwrap().to_string())
            .collect(),
        user: pod["securityContext"]["runAsUser"].as_u64().unwrap(),
        group: pod["securityContext"]["runAsGroup"].as_u64().unwrap(),
        env: container["env"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["name"].as_str().unwrap().to_string(),
                    e["value"].as_str().unwrap().to_string(),
                )
            })
            .collect(),
    }
}

/// The shipped run configuration (deploy/base/configmap.yaml) with the two values its comment
/// says to edit: the cluster's name and where packs go (a local folder mounted for the test).
fn shipped_config(out_in_container: &str) -> String {
    let cm = cp::objects_in(&common::repo().join("deploy/base/configmap.yaml"))
        .into_iter()
        .find(|o| o["kind"] == "ConfigMap")
        .unwrap();
    let text = cm["data"]["config.yaml"].as_str().unwrap();
    let edited: Vec<String> = text
        .lines()
        .map(|l| {
            if l.starts_with("clusterName:") {
                "clusterName: nightly".to_string()
            } else if l.starts_with("out:") {
                format!("out: {out_in_container}")
            } else {
                l.to_string()
            }
        })
        .collect();
    assert_ne!(
        edited.join("\n"),
        text,
        "the shipped configuration has clusterName and out"
    );
    edited.join("\n") + "\n"
}

#[test]
#[ignore = "needs podman (tests/run.sh installs it) and the control plane tests/run.sh builds"]
fn the_image_runs_the_nightly_job_read_only_as_non_root_and_publishes_a_verified_pack() {
    let work = tempfile::tempdir().unwrap();
    let work = work.path();
    build_stand_in_base(work);
    let context = readable_dir(&work.join("image"));
    write(
        &context.join("Containerfile"),
        run_stage_containerfile(),
        0o644,
    );
    write(
        &context.join("kube-evidence"),
        std::fs::read(common::bin()).unwrap(),
        0o755,
    );
    assert_success(
        "building the image from deploy/Dockerfile's run stage",
        &podman(&["build", "--quiet", "-t", IMAGE, context.to_str().unwrap()]),
    );

    // The cluster, with deploy/base applied as an operator would.
    let plane = ControlPlane::start();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let client = rt.block_on(plane.client());
    let base = cp::objects_in(&common::repo().join("deploy/base"));
    let (namespaces, rest): (Vec<Value>, Vec<Value>) =
        base.into_iter().partition(|o| o["kind"] == "Namespace");
    rt.block_on(cp::apply_all(&client, &namespaces, false))
        .expect("the namespace applies");
    rt.block_on(cp::apply_all(&client, &rest, false))
        .expect("deploy/base applies");
    let token = rt.block_on(cp::service_account_token(
        &client,
        "kube-evidence",
        "kube-evidence",
    ));

    // What the kubelet would mount: the ServiceAccount's files, the ConfigMap, the signing key.
    let container = cronjob_container();
    let (uid, gid) = (container.user as u32, container.group as u32);
    let sa = readable_dir(&work.join("serviceaccount"));
    write(&sa.join("token"), &token, 0o644);
    write(
        &sa.join("ca.crt"),
        std::fs::read(&plane.ca_file).unwrap(),
        0o644,
    );
    write(&sa.join("namespace"), "kube-evidence", 0o644);
    let config = readable_dir(&work.join("config"));
    write(
        &config.join("config.yaml"),
        shipped_config("/evidence"),
        0o644,
    );
    let keys = readable_dir(&work.join("keys"));
    let (key, signers) = common::keygen(&keys, "kube-evidence@nightly");
    let signing = readable_dir(&work.join("signing-key"));
    write(&signing.join("key"), std::fs::read(&key).unwrap(), 0o400);
    chown(signing.join("key"), Some(uid), Some(gid)).unwrap();
    let evidence = readable_dir(&work.join("evidence"));
    chown(&evidence, Some(uid), Some(gid)).unwrap();

    let mount_of = |path: &str| -> (PathBuf, &str) {
        match path {
            "/etc/kube-evidence/config" => (config.clone(), "ro"),
            "/etc/kube-evidence/signing-key" => (signing.clone(), "ro"),
            "/tmp" => (PathBuf::new(), "tmpfs"),
            other => panic!("a volume the test does not stand in for: {other}"),
        }
    };
    let user = format!("{uid}:{gid}");
    let mut args: Vec<String> = [
        "run",
        "--rm",
        "--network=host",
        // No resource limit is asserted (see tests/image/podman.sh); the open-files and process
        // limits are set below the machine's hard ones, which podman's defaults exceed.
        "--cgroups=disabled",
        "--ulimit=nofile=4096:4096",
        "--ulimit=nproc=4096:4096",
        // The CronJob's container securityContext.
        "--read-only",
        "--read-only-tmpfs=false",
        "--cap-drop=ALL",
        "--security-opt=no-new-privileges",
        "--user",
        &user,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for path in &container.mounts {
        let (source, mode) = mount_of(path);
        if mode == "tmpfs" {
            args.push(format!("--tmpfs={path}:rw,size=256m,mode=1777"));
        } else {
            args.push(format!("--volume={}:{path}:{mode}", source.display()));
        }
    }
    args.push(format!(
        "--volume={}:/var/run/secrets/kubernetes.io/serviceaccount:ro",
        sa.display()
    ));
    args.push(format!("--volume={}:/evidence:rw", evidence.display()));
    for (name, value) in &container.env {
        args.push(format!("--env={name}={value}"));
    }
    args.push("--env=KUBERNETES_SERVICE_HOST=127.0.0.1".into());
    args.push(format!("--env=KUBERNETES_SERVICE_PORT={}", plane.api_port));
    args.push(IMAGE.into());
    args.extend(container.args.iter().cloned());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = podman(&args);
    // The image holds a debug build (over 100 MB): not kept between runs.
    let _ = podman(&["rmi", "--force", IMAGE]);
    let _ = podman(&["image", "prune", "--force"]);
    assert_success("the nightly job in its container", &run);

    // It logged JSON lines, as logFormat: json asks, and published one pack as its user.
    let stderr = String::from_utf8_lossy(&run.stderr);
    for line in stderr.lines().filter(|l| !l.trim().is_empty()) {
        assert!(
            serde_json::from_str::<Value>(line).is_ok(),
            "a log line that is not JSON: {line}"
        );
    }
    let packs = common::pack_dirs(&evidence);
    assert_eq!(packs.len(), 1, "{:?}", common::files_under(&evidence));
    let pack = &packs[0];
    use std::os::unix::fs::MetadataExt;
    for file in common::files_under(pack) {
        let meta = std::fs::metadata(pack.join(&file)).unwrap();
        assert_eq!(
            (meta.uid(), meta.gid()),
            (uid, gid),
            "{file} written as another user"
        );
    }
    let verified = common::run(
        &[
            "verify",
            pack.to_str().unwrap(),
            "--allowed-signers",
            signers.to_str().unwrap(),
        ],
        &[],
        &common::repo(),
    );
    verified.assert_ok();

    // It collected as the ServiceAccount deploy/ gives it, every kind completely but Secrets
    // (which the shipped ClusterRole does not grant).
    let snapshot = read_snapshot_file(&pack.join("snapshot.json.gz")).unwrap();
    assert_eq!(
        snapshot.collector.identity.as_ref().unwrap().username,
        "system:serviceaccount:kube-evidence:kube-evidence"
    );
    for (kind, status) in &snapshot.collector.kinds {
        assert!(
            status.status == CollectionStatus::Complete || kind == "Secret",
            "{kind}: {:?}",
            status.status
        );
    }
}
