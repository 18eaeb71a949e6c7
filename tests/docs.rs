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
