//! The cover: the cluster, the pack, the tool, whether it is signed, and what was in scope.

use crate::report::ReportInput;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Cover {
    pub cluster: String,
    pub cluster_id: String,
    pub collected_at: String,
    pub pack_id: String,
    pub previous_pack_id: String,
    pub tool: String,
    pub signing: String,
    pub signed: bool,
    /// "Audit scope and integrity": what the pack rests on, in the order page 1 states it.
    pub scope: Vec<ScopeRow>,
}

/// One line of the audit scope and integrity box; `alert` lines are what an auditor must not
/// miss (files rather than the live API, incomplete collection, no signature).
#[derive(Debug, Clone, Serialize)]
pub struct ScopeRow {
    pub label: String,
    pub value: String,
    pub alert: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Count {
    pub label: String,
    pub count: usize,
}

/// The audit scope and integrity box, read from the snapshot, the assessment and the run's
/// inputs (never recomputed elsewhere).
/// The cover's scope table: where the evidence came from, what it covers, and what proves it.
pub(super) fn scope_rows(input: &ReportInput<'_>) -> Vec<ScopeRow> {
    let mut rows = source_rows(input);
    rows.extend(coverage_rows(input));
    rows.extend(proof_rows(input));
    rows
}

/// Where the evidence came from: a live API server or files, as whom, which cluster.
pub(super) fn source_rows(input: &ReportInput<'_>) -> Vec<ScopeRow> {
    let snapshot = input.snapshot;
    let collector = &snapshot.collector;
    let mut rows = Vec::new();
    let mut row = |label: &str, value: String, alert: bool| {
        rows.push(ScopeRow {
            label: label.into(),
            value,
            alert,
        })
    };
    let live = collector.identity.is_some() || collector.source.starts_with("cluster");
    row(
        "Data source",
        if live {
            format!(
                "read by the tool from the cluster's API server ({})",
                collector.source
            )
        } else {
            format!(
                "files supplied to the tool ({}): not system-generated evidence; whoever supplied them could have edited them",
                collector.source
            )
        },
        !live,
    );
    row(
        "Collector identity",
        match &collector.identity {
            Some(id) if id.groups.is_empty() => id.username.clone(),
            Some(id) => format!("{} (groups: {})", id.username, id.groups.join(", ")),
            None => "not applicable: files, not a live collection".into(),
        },
        false,
    );
    row(
        "API server version",
        snapshot
            .cluster
            .server_version
            .clone()
            .unwrap_or_else(|| "not known (not collected from a live API server)".into()),
        false,
    );
    row(
        "Cluster id",
        snapshot
            .cluster
            .id
            .clone()
            .unwrap_or_else(|| "unknown (kube-system namespace not collected)".into()),
        false,
    );
    rows
}

/// What the evidence covers: completeness, the kinds read, the period and the chain.
pub(super) fn coverage_rows(input: &ReportInput<'_>) -> Vec<ScopeRow> {
    let snapshot = input.snapshot;
    let collector = &snapshot.collector;
    let mut rows = Vec::new();
    let mut row = |label: &str, value: String, alert: bool| {
        rows.push(ScopeRow {
            label: label.into(),
            value,
            alert,
        })
    };
    // The required kinds, as `Collector::is_complete` judges them.
    let incomplete: Vec<String> = crate::snapshot::ResourceKind::ALL
        .iter()
        .filter(|k| k.is_required())
        .filter_map(|k| match collector.kinds.get(k.name()) {
            Some(c) if c.status.counts_as_collected() => None,
            Some(c) => Some(format!("{} {}", k.name(), c.status.as_str())),
            None => Some(format!("{} not-collected", k.name())),
        })
        .collect();
    // What was not read on purpose (out of scope by configuration) and what was not read but
    // only refines the picture, told apart from what is missing.
    let skipped: Vec<&String> = collector
        .kinds
        .iter()
        .filter(|(_, c)| c.status == crate::snapshot::CollectionStatus::Skipped)
        .map(|(k, _)| k)
        .collect();
    let supplementary: Vec<String> = collector
        .supplementary_gaps()
        .iter()
        .map(|(k, c)| format!("{} {}", k.name(), c.status.as_str()))
        .collect();
    let mut completeness = if incomplete.is_empty() {
        let complete = collector
            .kinds
            .values()
            .filter(|c| c.status == crate::snapshot::CollectionStatus::Complete)
            .count();
        format!(
            "complete: every kind the analysis requires was read in full ({complete} of {} kinds read in full; Methodology lists each)",
            collector.kinds.len()
        )
    } else {
        format!(
            "INCOMPLETE: {}; controls that need them are not assessed",
            incomplete.join(", ")
        )
    };
    if !skipped.is_empty() {
        completeness.push_str(&format!(
            "; out of scope by configuration, not read: {} (the rules that need them are not assessed)",
            skipped
                .iter()
                .map(|k| k.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if !supplementary.is_empty() {
        completeness.push_str(&format!(
            "; not read, and only used to name workloads: {}",
            supplementary.join(", ")
        ));
    }
    row("Completeness", completeness, !incomplete.is_empty());
    row(
        "Kinds read",
        collector
            .kinds
            .iter()
            .map(|(kind, c)| match c.status {
                crate::snapshot::CollectionStatus::Complete => format!("{kind} {}", c.count),
                other => format!("{kind} {} ({})", c.count, other.as_str()),
            })
            .collect::<Vec<_>>()
            .join(", "),
        false,
    );
    let collected = snapshot.taken_at.format("%Y-%m-%d %H:%M:%S UTC");
    row(
        "Period covered",
        match &input.assessment.basis.previous_pack {
            Some(p) => format!(
                "{} (previous pack) to {collected}",
                p.collected_at.format("%Y-%m-%d %H:%M:%S UTC")
            ),
            None => {
                format!("the state at {collected} only: this pack is the baseline of its chain")
            }
        },
        false,
    );
    row(
        "Chain",
        match (
            &input.assessment.basis.previous_pack,
            &input.previous_manifest_sha256,
        ) {
            (Some(p), Some(digest)) => format!(
                "follows pack {}, whose manifest.json has SHA-256 {digest}",
                p.pack_id
            ),
            _ => "first pack of its chain".into(),
        },
        false,
    );
    rows
}

/// What proves it: the signature, the digests of the inputs and the rule catalog, the tool.
pub(super) fn proof_rows(input: &ReportInput<'_>) -> Vec<ScopeRow> {
    let mut rows = Vec::new();
    let mut row = |label: &str, value: String, alert: bool| {
        rows.push(ScopeRow {
            label: label.into(),
            value,
            alert,
        })
    };
    row(
        "Signature",
        match &input.signing_key_fingerprint {
            Some(fp) => format!(
                "signed with Ed25519 key {fp}{} (manifest.json.sig, SHA256SUMS.sig); verify against the allowed-signers line the cluster's owner gave you",
                input
                    .signer
                    .as_ref()
                    .map(|s| format!(", named {s} by its owner"))
                    .unwrap_or_default()
            ),
            None => "UNSIGNED: nothing proves who produced this pack".into(),
        },
        input.signing_key_fingerprint.is_none(),
    );
    for what in ["inventory", "exceptions", "controls"] {
        let label = format!("Input: {what}");
        let value = match input.inputs.iter().find(|f| f.what == what) {
            Some(f) => format!("{}, SHA-256 {}", f.origin, f.sha256),
            None if what == "controls" => format!("SHA-256 {}", input.controls_digest),
            None => "none given".into(),
        };
        row(&label, value, false);
    }
    row(
        "Rule catalog",
        format!("SHA-256 {}", crate::rules::catalog::digest()),
        false,
    );
    row(
        "Tool",
        format!(
            "{} {} ({})",
            crate::TOOL_NAME,
            crate::TOOL_VERSION,
            crate::TOOL_REVISION
        ),
        false,
    );
    rows
}

/// The cover: which cluster, when, which pack, which tool, signed or not, and the scope.
pub(super) fn cover(input: &ReportInput<'_>) -> Cover {
    let snapshot = input.snapshot;
    let a = input.assessment;
    Cover {
        cluster: snapshot.cluster.name.clone(),
        cluster_id: snapshot
            .cluster
            .id
            .clone()
            .unwrap_or_else(|| "unknown (kube-system namespace not collected)".into()),
        collected_at: snapshot
            .taken_at
            .format("%Y-%m-%d %H:%M:%S UTC")
            .to_string(),
        pack_id: input.pack_id.to_string(),
        previous_pack_id: a
            .diff
            .from
            .as_ref()
            .and_then(|f| f.pack_id.clone())
            .unwrap_or_else(|| "none: this pack is the baseline".into()),
        tool: format!(
            "{} {} ({})",
            crate::TOOL_NAME,
            crate::TOOL_VERSION,
            crate::TOOL_REVISION
        ),
        signing: match &input.signing_key_fingerprint {
            Some(fp) => format!("signed, Ed25519 key {fp}"),
            None => "UNSIGNED: this pack carries no signature and cannot be verified as authentic"
                .into(),
        },
        signed: input.signing_key_fingerprint.is_some(),
        scope: scope_rows(input),
    }
}
