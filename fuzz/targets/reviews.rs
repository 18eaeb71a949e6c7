//! The access review inputs a person writes: a reviewer map, and a decision file checked against
//! a campaign (the input split at the first NUL byte: map, then decisions).
use kube_evidence::rbac::SubjectRef;
use kube_evidence::review::model::{CAMPAIGN_VERSION, Campaign, Layouts, Row, parse_decisions};
use kube_evidence::review::reviewers;

fn campaign() -> Campaign {
    let rows = ["oidc:bob@example.com", "oidc:alice@example.com"]
        .iter()
        .map(|u| {
            let subject = SubjectRef::user(*u);
            Row {
                id: Row::make_id(
                    &subject,
                    "read Secrets",
                    "ClusterRoleBinding b",
                    "ClusterRole r",
                ),
                subject,
                access: "read Secrets".into(),
                scope: "cluster-wide".into(),
                binding: "ClusterRoleBinding b".into(),
                role: "ClusterRole r".into(),
                sub_processor: None,
                reviewer: "alice@example.com".into(),
            }
        })
        .collect();
    Campaign {
        version: CAMPAIGN_VERSION,
        id: "c".into(),
        cluster: "c".into(),
        pack_id: "p".into(),
        pack_path: "c/packs/p".into(),
        manifest_sha256: String::new(),
        created_at: chrono::DateTime::UNIX_EPOCH,
        due: chrono::NaiveDate::from_ymd_opt(2026, 12, 10).unwrap(),
        remediation_days: 30,
        allowed_signers: String::new(),
        rows,
    }
}

/// One input.
pub fn run(data: &[u8]) {
    let (map, decisions) = match data.iter().position(|b| *b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &data[..0]),
    };
    if let Ok(text) = std::str::from_utf8(map) {
        let _ = reviewers::parse(text, "fuzz.yaml");
    }
    if let Ok(text) = std::str::from_utf8(decisions) {
        for layouts in [Layouts::Queue, Layouts::QueueOrPerCapability] {
            let _ = parse_decisions(text, "fuzz.csv", &campaign(), "alice@example.com", layouts);
        }
    }
}
