//! Helpers shared by the integration tests: running the real binary, and the repository's paths.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_kube-evidence"))
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn samples() -> PathBuf {
    repo().join("samples")
}

/// The shared reference material beside the project (read-only test input).
pub fn corpus() -> PathBuf {
    repo().join("../shared/reference/rbac-corpus")
}

/// The corpus, or `None` after saying on standard error (past the test harness's capture) that
/// `test` was skipped and why: a clone of the project alone has no `../shared/`.
#[allow(dead_code)]
pub fn corpus_or_skip(test: &str) -> Option<PathBuf> {
    let dir = corpus();
    if dir.is_dir() {
        return Some(dir);
    }
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "skipped {test}: {} is not there (a clone without ../shared/)",
        dir.display()
    );
    None
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn assert_ok(&self) -> &Self {
        assert_eq!(
            self.code, 0,
            "exit {}\nstdout:\n{}\nstderr:\n{}",
            self.code, self.stdout, self.stderr
        );
        self
    }
}

/// Runs the binary with a clean `KUBE_EVIDENCE_*` environment plus `env`.
pub fn run(args: &[&str], env: &[(&str, &str)], cwd: &Path) -> Run {
    let mut cmd = Command::new(bin());
    cmd.args(args).current_dir(cwd);
    for (k, _) in std::env::vars() {
        if k.starts_with("KUBE_EVIDENCE_") || k == "RUST_LOG" {
            cmd.env_remove(k);
        }
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().expect("the binary runs");
    Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

/// A new signing key in `dir` made by `kube-evidence keygen`: the key and its allowed-signers file.
pub fn keygen(dir: &Path, identity: &str) -> (PathBuf, PathBuf) {
    let key = dir.join(identity);
    run(
        &[
            "keygen",
            "--out",
            key.to_str().unwrap(),
            "--identity",
            identity,
        ],
        &[],
        &repo(),
    )
    .assert_ok();
    let signers = dir.join(format!("{identity}.allowed_signers"));
    (key, signers)
}

/// One signing key for packs and campaigns, made once per test process by `keygen` (its
/// directory lives as long as the process): for tests that need signed packs but no particular
/// key. Returns the key and its allowed-signers file.
pub fn pack_key() -> (PathBuf, PathBuf) {
    static KEY: std::sync::OnceLock<(PathBuf, PathBuf)> = std::sync::OnceLock::new();
    KEY.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap().keep();
        keygen(&dir, "packs")
    })
    .clone()
}

/// Every file under `dir`, relative, sorted.
pub fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap().to_string_lossy().to_string());
            }
        }
    }
    out.sort();
    out
}

pub mod controlplane;
pub mod reperform;
pub mod reviews;
pub mod s3;
pub mod tsa;

/// Flips one bit in the middle of a file: same size, different content (a tampering that only a
/// digest catches).
pub fn flip_middle_byte(path: &Path) {
    let mut bytes = std::fs::read(path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(path, bytes).unwrap();
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    kube_evidence::pack::sha256_hex(bytes)
}

/// The sample cluster's two nights: last week's state, then today's.
pub const SAMPLE_NIGHTS: [(&str, &str); 2] = [
    ("samples/previous", "2026-11-19T02:00:00Z"),
    ("samples/cluster", "2026-11-20T02:00:00Z"),
];

/// One unsigned run of a sample source into `out` as cluster `sample-prod-eu-1`, with the sample
/// inventory and exceptions, at `now`; `more` adds flags, `env` variables.
pub fn sample_run(out: &Path, source: &str, now: &str, more: &[&str], env: &[(&str, &str)]) -> Run {
    sample_run_signed(out, source, now, None, more, env)
}

/// [`sample_run`], signed with `key` when one is given.
pub fn sample_run_signed(
    out: &Path,
    source: &str,
    now: &str,
    key: Option<&Path>,
    more: &[&str],
    env: &[(&str, &str)],
) -> Run {
    let signing = match key {
        Some(k) => vec!["--signing-key", k.to_str().unwrap()],
        None => vec!["--unsigned"],
    };
    let mut args = vec!["run", "--source", source, "--out", out.to_str().unwrap()];
    args.extend(signing);
    args.extend([
        "--cluster-name",
        "sample-prod-eu-1",
        "--inventory",
        "samples/inventory.yaml",
        "--exceptions",
        "samples/exceptions.yaml",
    ]);
    args.extend_from_slice(more);
    let mut vars = vec![("KUBE_EVIDENCE_NOW", now)];
    vars.extend_from_slice(env);
    run(&args, &vars, &repo())
}

/// Both sample nights into `out`, chained; the pack directories, oldest first.
pub fn sample_chain(out: &Path) -> Vec<PathBuf> {
    for (source, now) in SAMPLE_NIGHTS {
        sample_run(out, source, now, &[], &[]).assert_ok();
    }
    pack_dirs(out)
}

/// `findings.json` of the pack `cluster`'s `latest.json` names in the local store `store`.
pub fn latest_findings_json(store: &Path, cluster: &str) -> serde_json::Value {
    let latest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(store.join(cluster).join("latest.json")).unwrap())
            .unwrap();
    let path = store
        .join(latest["path"].as_str().unwrap())
        .join("findings.json");
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// Every pack directory under `dir` (those holding a manifest.json), sorted (oldest first).
pub fn pack_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = files_under(dir)
        .into_iter()
        .filter(|f| f.ends_with("manifest.json"))
        .map(|f| dir.join(f).parent().unwrap().to_path_buf())
        .collect();
    dirs.sort();
    dirs
}

/// The escalation path of a finding or privilege entry of a parsed `findings.json`: its
/// `pathSteps` read against the document's `steps` (schema 3), each position checked.
pub fn path_of<'a>(
    doc: &'a serde_json::Value,
    item: &'a serde_json::Value,
) -> Vec<&'a serde_json::Value> {
    let steps = doc["steps"]
        .as_array()
        .expect("findings.json states its steps");
    item["pathSteps"]
        .as_array()
        .expect("a path as positions in `steps`")
        .iter()
        .map(|at| {
            let at = at.as_u64().expect("a position") as usize;
            steps
                .get(at)
                .unwrap_or_else(|| panic!("step {at} of {}", steps.len()))
        })
        .collect()
}

/// Compact JSON text laid out as serde_json's pretty printer lays it out (two spaces, `": "`,
/// empty arrays and objects as `[]` and `{}`), keys in the order written. The pack's large JSON
/// files are compact; snapshots show them this way, so the same content gives the same snapshot.
pub fn indent_json(compact: &str) -> String {
    let mut out = String::with_capacity(compact.len() * 2);
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut chars = compact.chars().peekable();
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        out.push_str(&"  ".repeat(depth));
    };
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '{' | '[' => {
                let close = if c == '{' { '}' } else { ']' };
                out.push(c);
                if chars.peek() == Some(&close) {
                    out.push(chars.next().unwrap());
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            '}' | ']' => {
                depth -= 1;
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            _ => out.push(c),
        }
    }
    out
}
