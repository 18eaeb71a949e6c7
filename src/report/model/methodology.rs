//! How the evidence was collected, and how to verify the pack.

use super::*;
use crate::report::ReportInput;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Methodology {
    pub source: String,
    pub identity: String,
    pub complete: bool,
    pub kinds: Vec<KindView>,
    pub ignored: Vec<Count>,
    pub ruleset_digest: String,
    pub controls_digest: String,
    pub rules: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct KindView {
    pub kind: String,
    pub status: String,
    pub count: u64,
    pub message: String,
}

/// How the evidence was collected: source, identity, completeness per kind, digests.
pub(super) fn methodology(input: &ReportInput<'_>) -> Methodology {
    let snapshot = input.snapshot;
    let collector = &snapshot.collector;
    Methodology {
        source: collector.source.clone(),
        identity: match &collector.identity {
            Some(id) if id.groups.is_empty() => id.username.clone(),
            Some(id) => format!("{} (groups: {})", id.username, id.groups.join(", ")),
            None => "not applicable: read from a dump, not from a live cluster".into(),
        },
        complete: collector.is_complete(),
        kinds: collector
            .kinds
            .iter()
            .map(|(k, c)| KindView {
                kind: k.clone(),
                status: c.status.as_str().into(),
                count: c.count,
                message: c.message.clone().unwrap_or_default(),
            })
            .collect(),
        ignored: collector
            .ignored_kinds
            .iter()
            .map(|(k, n)| Count {
                label: k.clone(),
                count: *n as usize,
            })
            .collect(),
        ruleset_digest: crate::rules::catalog::digest(),
        controls_digest: input.controls_digest.clone(),
        rules: crate::rules::catalog::CATALOG.len(),
    }
}

/// How an auditor verifies this pack, with and without the tool.
pub(super) fn verification(input: &ReportInput<'_>) -> Vec<String> {
    let snapshot = input.snapshot;
    let cluster = &snapshot.cluster.name;
    vec![
        format!(
            "kube-evidence verify <store>/{cluster}/packs/{}/{}/{}/{} --allowed-signers allowed_signers",
            snapshot.taken_at.format("%Y"),
            snapshot.taken_at.format("%m"),
            snapshot.taken_at.format("%d"),
            input.pack_id
        ),
        "Every file of the pack is listed in manifest.json with its SHA-256 and size; verify recomputes them, checks the Ed25519 signature (manifest.json.sig) against the allowed signers and follows previous.manifestSha256 back through the chain.".into(),
        "Without the tool, in the pack directory (the full procedure is in kube-evidence's docs/auditors.md): ssh-keygen -Y verify -f allowed_signers -I <identity> -n kube-evidence -s SHA256SUMS.sig < SHA256SUMS, the same for manifest.json.sig < manifest.json, then sha256sum --strict -c SHA256SUMS, and check that no file is present that SHA256SUMS does not list.".into(),
    ]
}
