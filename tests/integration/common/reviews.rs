//! Access review campaigns as their people run them: reviewers' keys made and files signed with
//! `ssh-keygen` (OpenSSH's own tool), decision files filled in as a spreadsheet would, and the
//! binary for start and submit.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The reviewers of the sample cluster: its sub-processors' owners, the default reviewer and a
/// team lead.
pub const REVIEWERS: &[&str] = &[
    "security@example.com",
    "sre@example.com",
    "platform@example.com",
    "data-platform@example.com",
    "finops@example.com",
    "payments-lead@example.com",
    "carol@example.com",
];

/// An Ed25519 key per reviewer (`dir/<name>` and `.pub`), and the allowed-signers file naming
/// each for the review namespace.
pub fn reviewer_keys(dir: &Path) -> PathBuf {
    let mut lines = String::new();
    for who in REVIEWERS {
        let key = dir.join(who);
        let out = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", who, "-f"])
            .arg(&key)
            .output()
            .expect("ssh-keygen runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let public = std::fs::read_to_string(format!("{}.pub", key.display())).unwrap();
        lines.push_str(&format!(
            "{who} namespaces=\"kube-evidence-review\" {}",
            public.trim()
        ));
        lines.push('\n');
    }
    let file = dir.join("reviewers.allowed_signers");
    std::fs::write(&file, lines).unwrap();
    file
}

/// A reviewer map: the default reviewer, and payments to its lead.
pub fn reviewer_map(dir: &Path, default: &str) -> PathBuf {
    let file = dir.join(format!("reviewers-{default}.yaml"));
    std::fs::write(
        &file,
        format!(
            "apiVersion: kube-evidence.io/v1\nkind: ReviewerMap\ndefault: {default}\nreviewers:\n- {{namespace: payments, reviewer: payments-lead@example.com}}\n"
        ),
    )
    .unwrap();
    file
}

/// `reviewer`'s rows of a queue CSV (`review start --output`, `review queue --output`), decided
/// by `decide(subject, binding)` as (decision, keep, reason); the other reviewers' rows left out.
pub fn decide(
    population: &Path,
    reviewer: &str,
    mut decide: impl FnMut(&str, &str) -> (&'static str, &'static str, &'static str),
) -> String {
    let mut reader = csv::Reader::from_path(population).unwrap();
    let header = reader.headers().unwrap().clone();
    let column = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (who, subject, binding, decision) = (
        column("reviewer"),
        column("subject"),
        column("binding"),
        column("decision"),
    );
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(&header).unwrap();
    for record in reader.records() {
        let r = record.unwrap();
        if &r[who] != reviewer {
            continue;
        }
        let (verdict, keep, reason) = decide(&r[subject], &r[binding]);
        let mut cells: Vec<&str> = r.iter().take(decision).collect();
        cells.extend([verdict, keep, reason]);
        writer.write_record(&cells).unwrap();
    }
    String::from_utf8(writer.into_inner().unwrap()).unwrap()
}

/// Signs `file` as `ssh-keygen -Y sign -n kube-evidence-review` does, with `reviewer`'s key.
pub fn ssh_sign(keys: &Path, reviewer: &str, file: &Path) {
    let _ = std::fs::remove_file(format!("{}.sig", file.display()));
    let out = Command::new("ssh-keygen")
        .args(["-q", "-Y", "sign", "-n", "kube-evidence-review", "-f"])
        .arg(keys.join(reviewer))
        .arg(file)
        .output()
        .expect("ssh-keygen runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
