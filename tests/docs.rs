//! Documentation stays in step with the code it describes.

mod common;

use kube_evidence::config::Setting;

#[test]
fn readme_documents_every_setting() {
    let readme = std::fs::read_to_string(common::repo().join("README.md")).unwrap();
    for s in Setting::ALL {
        let row = format!("| `{}` | `{}` | `{}` |", s.key(), s.flag(), s.env());
        assert!(
            readme.contains(&row),
            "README.md lacks the row for {s:?}: {row}"
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

/// Every `kube-evidence who-can|access|can-i` example of the README that reads the samples runs,
/// and names subjects that exist there (no "did you mean" warning).
#[test]
fn readme_query_examples_run_and_name_real_subjects() {
    let readme = std::fs::read_to_string(common::repo().join("README.md")).unwrap();
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
