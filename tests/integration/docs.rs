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
