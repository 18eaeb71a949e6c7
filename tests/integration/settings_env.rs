//! Every setting's environment variable works on every command that says it takes it (issue 30).
//! The commands are found from the binary's own help (each setting flag shows `[env: VAR]`), the
//! page docs/configuration.md lists them ("Where each setting applies", rewritten with
//! `KUBE_EVIDENCE_BLESS=1`), and each pair is run: the variable set to a value that cannot be
//! used must change what the command does, and say so (the value or the variable named). A
//! setting whose help names commands (`inventory discover`, `vendor review`) must be taken by
//! them. Pairs whose effect needs a real bucket are listed by name with the reason.

use crate::common;
use kube_evidence::config::{Setting, SettingType};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Leaf commands as `kube-evidence --help` and each group's help list them.
fn commands() -> Vec<String> {
    fn listed(help: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut inside = false;
        for line in help.lines() {
            if line.starts_with("Commands:") {
                inside = true;
                continue;
            }
            if inside {
                if !line.starts_with("  ") {
                    break;
                }
                // Continuation lines of a wrapped description are indented further.
                if line.starts_with("   ") {
                    continue;
                }
                if let Some(name) = line.split_whitespace().next()
                    && name != "help"
                {
                    out.push(name.to_string());
                }
            }
        }
        out
    }
    let help = |args: &[&str]| {
        let mut a = args.to_vec();
        a.push("--help");
        common::run(&a, &[], &common::repo()).stdout
    };
    let mut out = Vec::new();
    for top in listed(&help(&[])) {
        let subs = listed(&help(&[&top]));
        if subs.is_empty() {
            out.push(top);
        } else {
            out.extend(subs.into_iter().map(|s| format!("{top} {s}")));
        }
    }
    out
}

/// The settings a command takes: those whose variable its help shows.
fn taken_by(command: &str) -> BTreeSet<&'static str> {
    let mut args: Vec<&str> = command.split(' ').collect();
    args.push("--help");
    let help = common::run(&args, &[], &common::repo()).stdout;
    let flat: String = help.split_whitespace().collect::<Vec<_>>().join(" ");
    Setting::ALL
        .iter()
        .map(|s| s.env())
        .filter(|env| flat.contains(&format!("[env: {env}]")))
        .filter(|env| !env.starts_with("KUBE_EVIDENCE_LOG_"))
        .collect()
}

/// Setting variable -> the commands that take it.
fn where_each_applies() -> BTreeMap<&'static str, Vec<String>> {
    let mut map: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    for c in commands() {
        for env in taken_by(&c) {
            map.entry(env).or_default().push(c.clone());
        }
    }
    map
}

fn applies_section(map: &BTreeMap<&'static str, Vec<String>>) -> String {
    let mut out = String::from(
        "| environment | commands that take it (as the flag or the variable) |\n|---|---|\n",
    );
    for s in Setting::ALL {
        let env = s.env();
        let commands = map
            .get(env)
            .map(|c| {
                c.iter()
                    .map(|c| format!("`{c}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_else(|| "(log settings: every command)".into());
        out.push_str(&format!("| `{env}` | {commands} |\n"));
    }
    out
}

/// A value of the setting that cannot be used, and the text the command's answer must hold.
fn sentinel(setting: Setting) -> Option<(String, String)> {
    let env = setting.env().to_string();
    let path = || {
        let p = format!("/nonexistent/ke-sentinel-{}", setting.key());
        (p.clone(), p)
    };
    Some(match (setting, setting.kind()) {
        (_, SettingType::Path) => path(),
        (Setting::Source, _) => path(),
        (_, SettingType::Number) => ("not-a-number".into(), env),
        (_, SettingType::Bool) => ("perhaps".into(), env),
        (_, SettingType::ObjectLock) => ("SOMETIMES:x".into(), env),
        (Setting::ClusterName, _) => ("not a name!".into(), env),
        (Setting::DefaultNamespace, _) => ("Not_A_Namespace".into(), env),
        (Setting::Out, _) => ("ftp://ke-sentinel".into(), env),
        (Setting::Inventory, _) | (Setting::AuditLog, _) => path(),
        (Setting::FailOn, _) => ("severe".into(), env),
        (Setting::ServerSideEncryption, _) => ("rot13".into(), env),
        (Setting::TimestampAuthority, _) => ("ftp://ke-sentinel".into(), env),
        (Setting::Context, _) => ("ke-sentinel-context".into(), "ke-sentinel-context".into()),
        _ => return None,
    })
}

/// Settings whose unusable value only shows where a real bucket is reached: named, not hidden.
const NEEDS_A_BUCKET: &[(Setting, &str)] = &[
    (
        Setting::S3Region,
        "any text is a region name; it is used only when a bucket is reached",
    ),
    (
        Setting::SseKmsKeyId,
        "a key id is checked by the bucket when a pack is written to it",
    ),
    (
        Setting::S3Endpoint,
        "an endpoint is reached only for an s3:// store; tests/integration/s3_publish.rs sets it by the variable",
    ),
];

/// How each command is run so that only the setting under test can make it fail: its arguments,
/// and the variables that stand for the rest.
fn base(command: &str, work: &Path) -> (Vec<String>, Vec<(String, String)>) {
    let w = |p: &str| work.join(p).to_string_lossy().to_string();
    let kubeconfig = w("kubeconfig");
    std::fs::write(
        &kubeconfig,
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: 'https://127.0.0.1:9'}\nusers:\n- name: u\n  user: {token: t}\ncontexts:\n- name: ctx\n  context: {cluster: c, user: u}\ncurrent-context: ctx\n",
    )
    .unwrap();
    let env = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let args = |a: &[&str]| -> Vec<String> { a.iter().map(|s| s.to_string()).collect() };
    match command {
        "run" => (
            args(&["run"]),
            env(&[
                ("KUBE_EVIDENCE_SOURCE", "samples/cluster"),
                ("KUBE_EVIDENCE_OUT", &w("store")),
                ("KUBE_EVIDENCE_CLUSTER_NAME", "c"),
                ("KUBE_EVIDENCE_UNSIGNED", "true"),
            ]),
        ),
        "snapshot" => (
            args(&["snapshot", "-o", &w("s.json.gz")]),
            env(&[("KUBE_EVIDENCE_SOURCE", "samples/cluster")]),
        ),
        "who-can" => (args(&["who-can", "list", "secrets"]), Vec::new()),
        "access" => (args(&["access", "User:x"]), Vec::new()),
        "can-i" => (args(&["can-i", "User:x", "get", "pods"]), Vec::new()),
        // Its cluster settings are read only for a status against a source.
        "controls show" => (
            args(&["controls", "show", "CC6.1", "--source", "cluster"]),
            Vec::new(),
        ),
        "usage" => (
            args(&[
                "usage",
                "User:x",
                "--audit-log",
                "tests/fixtures/audit/sample",
            ]),
            Vec::new(),
        ),
        "inventory discover" => (args(&["inventory", "discover"]), Vec::new()),
        "vendor review" => (
            args(&[
                "vendor",
                "review",
                "--manifests",
                "samples/cluster",
                "--namespace",
                "monitoring",
                "--out",
                &w("vendor"),
            ]),
            Vec::new(),
        ),
        "review start" => (
            args(&[
                "review",
                "start",
                "--store",
                &w("store"),
                "--cluster",
                "c",
                "--reviewer-keys",
                &w("none"),
                "--due",
                "2026-12-31",
            ]),
            Vec::new(),
        ),
        "review submit" => (
            args(&[
                "review",
                "submit",
                "--store",
                &w("store"),
                "--cluster",
                "c",
                "--campaign",
                "x",
                &w("decisions.csv"),
            ]),
            Vec::new(),
        ),
        "review status" => (
            args(&["review", "status", "--store", &w("store"), "--cluster", "c"]),
            Vec::new(),
        ),
        "review queue" => (
            args(&[
                "review",
                "queue",
                "--store",
                &w("store"),
                "--cluster",
                "c",
                "--campaign",
                "x",
                "--output",
                &w("queue.csv"),
            ]),
            Vec::new(),
        ),
        "diff" | "changes" | "verify" | "reperform" | "fleet report" | "share" => {
            // Reached only through an s3:// store: the variables here are the bucket's.
            let target = "s3://ke-sentinel-bucket/p";
            let a = match command {
                "diff" => args(&["diff", target, target]),
                "changes" => args(&[
                    "changes",
                    "--store",
                    target,
                    "--cluster",
                    "c",
                    "--from",
                    "2026-11-01",
                    "--to",
                    "2026-11-02",
                ]),
                "verify" => args(&["verify", target, "--cluster", "c"]),
                "reperform" => args(&["reperform", target, "--cluster", "c"]),
                "fleet report" => args(&["fleet", "report", "--store", target, "--out", &w("f")]),
                _ => args(&["share", target, "--cluster", "c"]),
            };
            (a, Vec::new())
        }
        other => panic!("no base invocation for `{other}`: add one here"),
    }
}

/// What a setting needs beside it to be read: for the cluster connection, the live API as the
/// source (through a kubeconfig that names a server nothing listens on); for the signing key, no
/// `unsigned`; for the time-stamping authority, its certificate, and the reverse.
fn companions(setting: Setting, work: &Path) -> Vec<(String, String)> {
    match setting {
        Setting::SigningKey => vec![("KUBE_EVIDENCE_UNSIGNED".into(), "false".into())],
        Setting::TimestampAuthority => vec![(
            "KUBE_EVIDENCE_TIMESTAMP_AUTHORITY_CERTIFICATE".into(),
            common::repo()
                .join("Cargo.toml")
                .to_string_lossy()
                .to_string(),
        )],
        Setting::TimestampAuthorityCertificate => vec![(
            "KUBE_EVIDENCE_TIMESTAMP_AUTHORITY".into(),
            "http://127.0.0.1:9/tsa".into(),
        )],
        Setting::Kubeconfig | Setting::Context | Setting::CollectTokenSecrets => vec![
            ("KUBE_EVIDENCE_SOURCE".into(), "cluster".into()),
            (
                "KUBE_EVIDENCE_KUBECONFIG".into(),
                work.join("kubeconfig").to_string_lossy().to_string(),
            ),
        ],
        _ => Vec::new(),
    }
}

#[test]
fn every_setting_variable_works_on_every_command_that_takes_it() {
    let map = where_each_applies();

    // The page lists where each setting applies, as the help says.
    let path = common::repo().join("docs/configuration.md");
    let page = std::fs::read_to_string(&path).unwrap();
    let section = applies_section(&map);
    if !page.contains(&section) {
        let header = "| environment | commands that take it";
        match (page.find(header), std::env::var_os("KUBE_EVIDENCE_BLESS")) {
            (Some(start), Some(_)) => {
                let end = page[start..]
                    .find("\n\n")
                    .map_or(page.len(), |i| start + i + 1);
                std::fs::write(
                    &path,
                    format!("{}{section}{}", &page[..start], &page[end..]),
                )
                .unwrap();
            }
            (None, Some(_)) => {
                std::fs::write(
                    &path,
                    format!("{page}\n## Where each setting applies\n\nMade from each command's help by `tests/integration/settings_env.rs`, which also runs every pair with a value that cannot be used and checks the command says so.\n\n{section}"),
                )
                .unwrap();
            }
            _ => panic!(
                "docs/configuration.md does not list where each setting applies as the commands' help says; rerun with KUBE_EVIDENCE_BLESS=1\nexpected:\n{section}"
            ),
        }
    }

    // A setting whose help names a command is taken by it.
    let mut problems = Vec::new();
    for s in Setting::ALL {
        for named in ["inventory discover", "vendor review", "review start"] {
            if s.help().contains(&format!("`{named}`"))
                && !map
                    .get(s.env())
                    .is_some_and(|c| c.iter().any(|c| c == named))
            {
                problems.push(format!(
                    "{}'s help names `{named}`, which does not take it",
                    s.env()
                ));
            }
        }
    }

    // Each pair, run.
    let mut checked = 0;
    let mut named_only = Vec::new();
    for s in Setting::ALL {
        let Some(commands) = map.get(s.env()) else {
            continue;
        };
        for command in commands {
            if let Some((_, why)) = NEEDS_A_BUCKET.iter().find(|(n, _)| *n == s) {
                named_only.push(format!("{} on `{command}`: {why}", s.env()));
                continue;
            }
            let Some((value, expect)) = sentinel(s) else {
                problems.push(format!("{}: no unusable value is known; add one", s.env()));
                continue;
            };
            let work = tempfile::tempdir().unwrap();
            let (args, mut env) = base(command, work.path());
            for (k, v) in companions(s, work.path()) {
                env.retain(|(key, _)| *key != k);
                env.push((k, v));
            }
            env.retain(|(k, _)| k != s.env());
            env.push((s.env().to_string(), value.clone()));
            let argv: Vec<&str> = args.iter().map(String::as_str).collect();
            let vars: Vec<(&str, &str)> =
                env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let r = common::run(&argv, &vars, &common::repo());
            let said = format!("{}{}", r.stdout, r.stderr);
            checked += 1;
            if r.code == 0 || !said.contains(&expect) {
                problems.push(format!(
                    "{}={value} on `{command}`: exit {}, and the answer does not name `{expect}`:\n{}",
                    s.env(),
                    r.code,
                    said.lines().take(6).collect::<Vec<_>>().join("\n")
                ));
            }
        }
    }
    // The key text itself (not a setting of the table: its value is the secret) works where
    // docs/access-reviews.md and docs/auditors.md say.
    for command in ["run", "review start"] {
        let work = tempfile::tempdir().unwrap();
        let (args, mut env) = base(command, work.path());
        env.retain(|(k, _)| k != "KUBE_EVIDENCE_UNSIGNED");
        env.push(("KUBE_EVIDENCE_SIGNING_KEY".into(), "not a key".into()));
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let vars: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let r = common::run(&argv, &vars, &common::repo());
        checked += 1;
        if r.code == 0 || !r.stderr.contains("KUBE_EVIDENCE_SIGNING_KEY") {
            problems.push(format!(
                "KUBE_EVIDENCE_SIGNING_KEY on `{command}`: exit {}: {}",
                r.code, r.stderr
            ));
        }
        assert!(
            !r.stderr.contains("not a key"),
            "the key text is never echoed"
        );
    }
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "settings: {checked} (variable, command) pairs run; named, not run (need a bucket): {named_only:#?}"
    );
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

/// The log settings apply to every command, those that read no configuration file included:
/// an unusable value stops each of them, naming the variable.
#[test]
fn the_log_settings_apply_to_commands_that_read_no_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("k");
    let commands: Vec<Vec<&str>> = vec![
        vec!["verify", "samples"],
        vec!["controls", "validate", "controls"],
        vec!["inventory", "validate", "samples/inventory.yaml"],
        vec!["keygen", "--out", key.to_str().unwrap(), "--identity", "x"],
        vec!["diff", "samples/previous", "samples/cluster"],
        vec![
            "changes",
            "--store",
            "samples",
            "--cluster",
            "c",
            "--from",
            "2026-01-01",
            "--to",
            "2026-02-01",
        ],
        vec!["share", "samples"],
        vec!["reperform", "samples"],
        vec!["fleet", "report", "--store", "samples", "--out", "x"],
    ];
    for (variable, value) in [
        ("KUBE_EVIDENCE_LOG_FORMAT", "xml"),
        ("KUBE_EVIDENCE_LOG_LEVEL", "loud"),
    ] {
        for args in &commands {
            let r = common::run(args, &[(variable, value)], &common::repo());
            assert_ne!(r.code, 0, "{variable}={value} {args:?}: accepted");
            assert!(
                r.stderr.contains(variable) && r.stderr.contains(value),
                "{variable}={value} {args:?}: {}",
                r.stderr
            );
        }
    }
    assert!(!key.exists(), "nothing was written");
}
