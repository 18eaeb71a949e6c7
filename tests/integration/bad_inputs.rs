//! The bad-input catalog: every file under `tests/bad-inputs/<kind>/` is one mistake or attack,
//! and its sidecar `<file>.expect` says which command reads it and exactly what the person who
//! made it is told: the exit code, the position, and the lines of the message. One test walks
//! the whole catalog (see tests/bad-inputs/README.md for the sidecar format).
//!
//! `KUBE_EVIDENCE_BLESS=1 cargo test --test integration bad_inputs::` rewrites the sidecars' `exit`,
//! `position` and `message` from what the binary answers, for authoring; review the diff.

use crate::common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The catalog must cover at least this many mistakes.
const MIN_CASES: usize = 60;

struct Case {
    input: PathBuf,
    sidecar: PathBuf,
    what: String,
    command: String,
    setup_pack: bool,
    /// The store also holds a campaign over its latest pack (`setup: campaign`).
    setup_campaign: bool,
    replace: Option<String>,
    /// Sign the copy of the input (`{input_dir}/<name>`) with the campaign's reviewer key.
    sign_as_reviewer: bool,
    /// Symbolic links to make in the store: (link, target).
    links: Vec<(String, String)>,
    /// The answer is on standard output (`verify` reports there), not standard error.
    stdout: bool,
    exit: Option<i32>,
    position: Option<String>,
    messages: Vec<String>,
}

fn parse_sidecar(input: &Path, sidecar: &Path) -> Case {
    let text = std::fs::read_to_string(sidecar).unwrap();
    let mut case = Case {
        input: input.to_path_buf(),
        sidecar: sidecar.to_path_buf(),
        what: String::new(),
        command: String::new(),
        setup_pack: false,
        setup_campaign: false,
        replace: None,
        sign_as_reviewer: false,
        links: Vec::new(),
        stdout: false,
        exit: None,
        position: None,
        messages: Vec::new(),
    };
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = line
            .split_once(": ")
            .or_else(|| line.split_once(':'))
            .unwrap_or_else(|| panic!("{}:{}: not `key: value`", sidecar.display(), n + 1));
        let value = value.to_string();
        match key {
            "what" => case.what = value,
            "command" => case.command = value,
            "setup" => {
                match value.as_str() {
                    "pack" => {}
                    "campaign" => case.setup_campaign = true,
                    other => panic!("{}: unknown setup `{other}`", sidecar.display()),
                }
                case.setup_pack = true;
            }
            "sign" => {
                assert_eq!(value, "reviewer", "{}: unknown signer", sidecar.display());
                case.sign_as_reviewer = true;
            }
            "link" => {
                let (link, target) = value
                    .split_once(" -> ")
                    .unwrap_or_else(|| panic!("{}: `link: PATH -> TARGET`", sidecar.display()));
                case.links.push((link.to_string(), target.to_string()));
            }
            "replace" => case.replace = Some(value),
            "stream" => {
                assert_eq!(value, "stdout", "{}: unknown stream", sidecar.display());
                case.stdout = true;
            }
            "exit" => case.exit = Some(value.parse().unwrap()),
            "position" => case.position = Some(value),
            "message" => case.messages.push(value),
            other => panic!("{}:{}: unknown key `{other}`", sidecar.display(), n + 1),
        }
    }
    assert!(!case.what.is_empty(), "{}: no `what`", sidecar.display());
    assert!(
        !case.command.is_empty(),
        "{}: no `command`",
        sidecar.display()
    );
    case
}

fn catalog() -> Vec<Case> {
    let root = common::repo().join("tests/bad-inputs");
    let mut cases = Vec::new();
    let mut files = common::files_under(&root);
    files.retain(|f| f.contains('/'));
    for f in &files {
        if f.ends_with(".expect") {
            let input = f.strip_suffix(".expect").unwrap();
            assert!(
                files.iter().any(|g| g == input),
                "{f} has no input file beside it"
            );
            continue;
        }
        let input = root.join(f);
        let sidecar = root.join(format!("{f}.expect"));
        assert!(sidecar.is_file(), "{f} has no sidecar {f}.expect");
        cases.push(parse_sidecar(&input, &sidecar));
    }
    cases
}

/// A store with two signed packs of the samples, its key and allowed signers: made once, copied
/// for every case that tampers with it.
fn seed_store() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("key");
        common::run(
            &[
                "keygen",
                "--out",
                key.to_str().unwrap(),
                "--identity",
                "catalog@kube-evidence",
            ],
            &[],
            &common::repo(),
        )
        .assert_ok();
        for now in ["2026-11-19T02:00:00Z", "2026-11-20T02:00:00Z"] {
            common::run(
                &[
                    "run",
                    "--config",
                    "samples/config.yaml",
                    "--out",
                    dir.path().join("store").to_str().unwrap(),
                    "--signing-key",
                    key.to_str().unwrap(),
                ],
                &[
                    ("KUBE_EVIDENCE_NOW", now),
                    ("KUBE_EVIDENCE_LOG_LEVEL", "error"),
                ],
                &common::repo(),
            )
            .assert_ok();
        }
        dir
    })
    .path()
}

/// The reviewer of the seeded campaign: a key made by ssh-keygen, and its allowed-signers line
/// for the review namespace.
const REVIEWER: &str = "security@example.com";

/// The seeded store with a campaign over its latest pack, signed with the store's key, whose
/// every row goes to [`REVIEWER`]: made once.
fn seed_campaign() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let status = std::process::Command::new("cp")
            .arg("-a")
            .arg(seed_store().join("."))
            .arg(dir.path())
            .status()
            .unwrap();
        assert!(status.success());
        let reviewer = dir.path().join("reviewer");
        let made = std::process::Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", REVIEWER, "-f"])
            .arg(&reviewer)
            .status()
            .unwrap();
        assert!(made.success());
        let public = std::fs::read_to_string(dir.path().join("reviewer.pub")).unwrap();
        let keys = dir.path().join("reviewers.allowed_signers");
        std::fs::write(
            &keys,
            // One key for the default reviewer and the sub-processors' owners the sample's
            // inventory names, who review their vendors' rows.
            format!(
                "{REVIEWER},sre@example.com,platform@example.com,data-platform@example.com,finops@example.com namespaces=\"kube-evidence-review\" {}",
                public.trim()
            ),
        )
        .unwrap();
        let map = dir.path().join("reviewers.yaml");
        std::fs::write(
            &map,
            format!("apiVersion: kube-evidence.io/v1\nkind: ReviewerMap\ndefault: {REVIEWER}\n"),
        )
        .unwrap();
        let store = dir.path().join("store");
        common::run(
            &[
                "review",
                "start",
                "--store",
                store.to_str().unwrap(),
                "--cluster",
                "sample-prod-eu-1",
                "--reviewers",
                map.to_str().unwrap(),
                "--reviewer-keys",
                keys.to_str().unwrap(),
                "--due",
                "2026-12-31",
                "--signing-key",
                dir.path().join("key").to_str().unwrap(),
            ],
            &[("KUBE_EVIDENCE_NOW", "2026-11-20T09:00:00Z")],
            &common::repo(),
        )
        .assert_ok();
        dir
    })
    .path()
}

struct Outcome {
    code: i32,
    stderr_lines: Vec<String>,
    substitutions: Vec<(String, String)>,
}

fn run_case(case: &Case) -> Outcome {
    let repo = common::repo();
    let rel_input = case
        .input
        .strip_prefix(&repo)
        .unwrap()
        .to_string_lossy()
        .to_string();
    let out = tempfile::tempdir().unwrap();
    let input_dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        &case.input,
        input_dir.path().join(case.input.file_name().unwrap()),
    )
    .unwrap();
    let mut subs: Vec<(String, String)> = vec![
        ("{input_dir}".into(), input_dir.path().display().to_string()),
        ("{input}".into(), rel_input),
        ("{out}".into(), out.path().display().to_string()),
    ];
    let work = tempfile::tempdir().unwrap();
    if case.setup_pack {
        let seed = if case.setup_campaign {
            seed_campaign()
        } else {
            seed_store()
        };
        let status = std::process::Command::new("cp")
            .arg("-a")
            .arg(seed.join("."))
            .arg(work.path())
            .status()
            .unwrap();
        assert!(status.success());
        let store = work.path().join("store");
        let latest: serde_json::Value = serde_json::from_slice(
            &std::fs::read(store.join("sample-prod-eu-1/latest.json")).unwrap(),
        )
        .unwrap();
        let pack = store.join(latest["path"].as_str().unwrap());
        // The key is made afresh for every test run: its fingerprint is a placeholder too.
        let manifest: serde_json::Value =
            serde_json::from_slice(&std::fs::read(pack.join("manifest.json")).unwrap()).unwrap();
        subs.push((
            "{fingerprint}".into(),
            manifest["signingKeyFingerprint"]
                .as_str()
                .unwrap()
                .to_string(),
        ));
        subs.push(("{pack}".into(), pack.display().to_string()));
        subs.push(("{store}".into(), store.display().to_string()));
        subs.push((
            "{signers}".into(),
            work.path()
                .join("key.allowed_signers")
                .display()
                .to_string(),
        ));
        subs.push((
            "{key}".into(),
            work.path().join("key").display().to_string(),
        ));
        if case.setup_campaign {
            let reviews = store.join("sample-prod-eu-1/reviews");
            let campaign = std::fs::read_dir(&reviews)
                .unwrap()
                .next()
                .unwrap()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .to_string();
            subs.push((
                "{campaign_dir}".into(),
                reviews.join(&campaign).display().to_string(),
            ));
            subs.push(("{campaign}".into(), campaign));
            subs.push((
                "{reviewer_key}".into(),
                work.path().join("reviewer").display().to_string(),
            ));
        }
        if let Some(target) = &case.replace {
            let target = substitute(target, &subs);
            std::fs::copy(&case.input, &target).unwrap();
        }
        for (link, target) in &case.links {
            std::os::unix::fs::symlink(target, substitute(link, &subs)).unwrap();
        }
    }
    if case.sign_as_reviewer {
        let copy = input_dir.path().join(case.input.file_name().unwrap());
        let signed = std::process::Command::new("ssh-keygen")
            .args(["-q", "-Y", "sign", "-n", "kube-evidence-review", "-f"])
            .arg(substitute("{reviewer_key}", &subs))
            .arg(&copy)
            .output()
            .unwrap();
        assert!(signed.status.success(), "{signed:?}");
    }
    let command = substitute(&case.command, &subs);
    let args: Vec<&str> = command.split_whitespace().collect();
    let r = common::run(
        &args,
        &[
            ("KUBE_EVIDENCE_NOW", "2026-11-21T02:00:00Z"),
            ("KUBE_EVIDENCE_LOG_LEVEL", "error"),
        ],
        &repo,
    );
    // Longest first, so that `{input_dir}` is put back before `{input}` could match inside it.
    subs.sort_by_key(|(_, v)| std::cmp::Reverse(v.len()));
    let answer = if case.stdout { &r.stdout } else { &r.stderr };
    Outcome {
        code: r.code,
        stderr_lines: answer.lines().map(str::to_string).collect(),
        substitutions: subs,
    }
}

fn substitute(text: &str, subs: &[(String, String)]) -> String {
    let mut s = text.to_string();
    for (k, v) in subs {
        s = s.replace(k.as_str(), v);
    }
    s
}

fn unsubstitute(text: &str, subs: &[(String, String)]) -> String {
    let mut s = text.to_string();
    for (k, v) in subs {
        s = s.replace(v.as_str(), k);
    }
    s
}

/// `L:C` of the first message line that names the input with a position.
fn position_in(lines: &[String]) -> String {
    for l in lines {
        // `{input}:L:C:` or `{input_dir}/<name>:L:C:`
        let rest = if let Some(i) = l.find("{input}:") {
            &l[i + "{input}:".len()..]
        } else if let Some(i) = l.find("{input_dir}/") {
            match l[i..].split_once(':') {
                Some((_, r)) => r,
                None => continue,
            }
        } else {
            continue;
        };
        let mut parts = rest.splitn(3, ':');
        if let (Some(line), Some(col)) = (parts.next(), parts.next())
            && line.parse::<u32>().is_ok()
            && col.parse::<u32>().is_ok()
        {
            return format!("{line}:{col}");
        }
    }
    "none".into()
}

fn bless(case: &Case, outcome: &Outcome) {
    let text = std::fs::read_to_string(&case.sidecar).unwrap();
    let mut kept: Vec<&str> = text
        .lines()
        .filter(|l| {
            !(l.starts_with("exit:") || l.starts_with("position:") || l.starts_with("message:"))
        })
        .collect();
    while kept.last().is_some_and(|l| l.trim().is_empty()) {
        kept.pop();
    }
    let lines: Vec<String> = outcome
        .stderr_lines
        .iter()
        .map(|l| unsubstitute(l, &outcome.substitutions))
        .collect();
    let mut out = kept.join("\n");
    out.push_str(&format!("\nexit: {}\n", outcome.code));
    out.push_str(&format!("position: {}\n", position_in(&lines)));
    for l in &lines {
        out.push_str(&format!("message: {l}\n"));
    }
    std::fs::write(&case.sidecar, out).unwrap();
}

#[test]
fn every_bad_input_gets_its_exact_answer() {
    let cases = catalog();
    assert!(
        cases.len() >= MIN_CASES,
        "the catalog holds {} cases; it must cover at least {MIN_CASES}",
        cases.len()
    );
    let blessing = std::env::var_os("KUBE_EVIDENCE_BLESS").is_some();
    let mut failures = Vec::new();
    for case in &cases {
        let outcome = run_case(case);
        if blessing {
            bless(case, &outcome);
            continue;
        }
        let name = case.input.display().to_string();
        let lines: Vec<String> = outcome
            .stderr_lines
            .iter()
            .map(|l| unsubstitute(l, &outcome.substitutions))
            .collect();
        let mut problems = Vec::new();
        if Some(outcome.code) != case.exit {
            problems.push(format!("exit {} (expected {:?})", outcome.code, case.exit));
        }
        if case.exit == Some(0) || case.messages.is_empty() {
            problems.push("a bad input must fail with a message".into());
        }
        if lines != case.messages {
            problems.push(format!(
                "standard error differs:\n  got:\n    {}\n  expected:\n    {}",
                lines.join("\n    "),
                case.messages.join("\n    ")
            ));
        }
        let position = position_in(&lines);
        if case.position.as_deref() != Some(position.as_str()) {
            problems.push(format!(
                "position {position} (expected {:?})",
                case.position
            ));
        }
        // Said once: not a log line and an `error:` line both.
        if lines.iter().filter(|l| l.contains("error")).count() > 1
            && lines.iter().any(|l| l.contains(" ERROR "))
        {
            problems.push("the error is printed twice".into());
        }
        if lines.iter().any(|l| l.contains("panicked")) {
            problems.push("the binary panicked".into());
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{name} ({}):\n  {}",
                case.what,
                problems.join("\n  ")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} bad inputs were not answered as the catalog says:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}
