//! Documentation stays in step with the code it describes.

use crate::common;

use kube_evidence::config::settings_reference;

/// The settings reference is the settings table itself (`config::settings_reference`), as the
/// page shows it; `KUBE_EVIDENCE_BLESS=1` rewrites the page's table after a change to the table.
#[test]
fn the_configuration_page_shows_the_settings_table() {
    let path = common::repo().join("docs/configuration.md");
    let page = std::fs::read_to_string(&path).unwrap();
    let table = settings_reference();
    if page.contains(&table) {
        return;
    }
    let start = page
        .find("| key | flag | environment | meaning |")
        .expect("the table's header");
    let end = page[start..]
        .find("\n\n")
        .map_or(page.len(), |i| start + i + 1);
    if std::env::var_os("KUBE_EVIDENCE_BLESS").is_some() {
        std::fs::write(&path, format!("{}{table}{}", &page[..start], &page[end..])).unwrap();
        return;
    }
    panic!(
        "docs/configuration.md's settings table differs from the settings table in src/config.rs; rerun with KUBE_EVIDENCE_BLESS=1\nexpected:\n{table}\nfound:\n{}",
        &page[start..end]
    );
}

/// The README is the front door: short, and every page it links to exists.
#[test]
fn the_readme_is_a_front_door_whose_links_resolve() {
    let readme = std::fs::read_to_string(common::repo().join("README.md")).unwrap();
    assert!(
        readme.len() <= 12 * 1024,
        "README.md is {} bytes",
        readme.len()
    );
    let links: Vec<&str> = readme
        .split("](")
        .skip(1)
        .filter_map(|rest| rest.split_once(')').map(|(l, _)| l))
        .filter(|l| !l.starts_with("http"))
        .collect();
    assert!(links.len() >= 8, "{links:?}");
    for l in links {
        let path = l.split('#').next().unwrap();
        assert!(
            common::repo().join(path).exists(),
            "README links to {l}, which is not there"
        );
    }
}

#[test]
fn ci_runs_the_readme_test_command() {
    let readme = std::fs::read_to_string(common::repo().join("README.md")).unwrap();
    assert!(readme.contains("```sh\ntests/run.sh\n```"));
    let ci = std::fs::read_to_string(common::repo().join(".ci/run")).unwrap();
    assert!(ci.contains("exec tests/run.sh"));
}

/// Every `kube-evidence who-can|access|can-i` example of the README and the command-line page
/// that reads the samples runs, and names subjects that exist there (no "did you mean" warning).
#[test]
fn query_examples_run_and_name_real_subjects() {
    let readme = ["README.md", "docs/cli.md"]
        .map(|f| std::fs::read_to_string(common::repo().join(f)).unwrap())
        .join("\n");
    let examples: Vec<&str> = readme
        .lines()
        .filter(|l| {
            ["who-can", "access", "can-i"]
                .iter()
                .any(|c| l.starts_with(&format!("kube-evidence {c} ")))
        })
        // the examples that read the bundled samples (others ask a live cluster)
        .filter(|l| l.contains("--source samples/"))
        .collect();
    assert!(examples.len() >= 4, "{examples:?}");
    for example in examples {
        let command = example.split('#').next().unwrap().trim();
        let args: Vec<&str> = command.split_whitespace().skip(1).collect();
        let r = common::run(
            &args,
            &[("KUBE_EVIDENCE_LOG_LEVEL", "warn")],
            &common::repo(),
        );
        assert!(r.code == 0, "{command}: exit {}: {}", r.code, r.stderr);
        assert!(!r.stderr.contains("warning"), "{command}: {}", r.stderr);
    }
}

/// The words of a documented command line that name the command: `kube-evidence review start
/// --x` is `review start` (a word is a subcommand while it has no `-` and the command before it
/// has subcommands).
fn command_words<'l>(
    words: &[&'l str],
    has_subcommands: &mut dyn FnMut(&[&str]) -> bool,
) -> Vec<&'l str> {
    let mut command = Vec::new();
    for w in words {
        if w.starts_with('-') || !has_subcommands(&command) {
            break;
        }
        command.push(*w);
    }
    command
}

/// Every flag a documented command line uses (README.md and docs/*.md, in code blocks) is one
/// that command takes: its `--help` lists it (or the global options do). A page that shows
/// `--reviewers` on `run` fails here.
#[test]
fn every_flag_in_a_documented_command_line_is_one_that_command_takes() {
    use std::collections::BTreeMap;
    let repo = common::repo();
    let mut helps: BTreeMap<Vec<String>, String> = BTreeMap::new();
    let mut help = |command: &[&str]| -> String {
        let key: Vec<String> = command.iter().map(|s| s.to_string()).collect();
        helps
            .entry(key)
            .or_insert_with(|| {
                let mut args: Vec<&str> = command.to_vec();
                args.push("--help");
                common::run(&args, &[], &common::repo()).stdout
            })
            .clone()
    };
    let global = help(&[]);
    let mut pages = vec![repo.join("README.md")];
    for e in std::fs::read_dir(repo.join("docs")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "md") {
            pages.push(p);
        }
    }
    pages.sort();
    let mut checked = 0;
    let mut wrong = Vec::new();
    for page in &pages {
        let text = std::fs::read_to_string(page).unwrap();
        let mut in_code = false;
        // A command may go on over `\` continuations.
        let mut pending = String::new();
        for (n, line) in text.lines().enumerate() {
            if line.trim_start().starts_with("```") {
                in_code = !in_code;
                continue;
            }
            if !in_code {
                continue;
            }
            let line = line.trim().trim_start_matches("$ ");
            if pending.is_empty() && !line.starts_with("kube-evidence ") {
                continue;
            }
            pending.push_str(line.trim_end_matches('\\'));
            pending.push(' ');
            if line.ends_with('\\') {
                continue;
            }
            let whole = std::mem::take(&mut pending);
            // The command line alone: not what a pipe or a comment adds.
            let cut = whole.split(['|', '#', '>']).next().unwrap_or_default();
            let words: Vec<&str> = cut.split_whitespace().skip(1).collect();
            let command =
                command_words(&words, &mut |c: &[&str]| help(c).contains("\nCommands:\n"));
            let own = help(&command);
            if !own.contains("Usage:") {
                wrong.push(format!(
                    "{}:{}: `kube-evidence {}` is not a command",
                    page.display(),
                    n + 1,
                    command.join(" ")
                ));
                continue;
            }
            for flag in words.iter().filter(|w| w.starts_with("--")) {
                let flag = flag.split('=').next().unwrap();
                checked += 1;
                let listed = |h: &str| {
                    h.contains(&format!("{flag} "))
                        || h.contains(&format!("{flag}\n"))
                        || h.contains(&format!("{flag}[="))
                        || h.contains(&format!("{flag}="))
                        || h.contains(&format!("{flag},"))
                };
                if !listed(&own) && !listed(&global) {
                    wrong.push(format!(
                        "{}:{}: `kube-evidence {}` takes no {flag}",
                        page.display(),
                        n + 1,
                        command.join(" ")
                    ));
                }
            }
        }
    }
    assert!(checked > 50, "only {checked} documented flags found");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
