//! The report model: every statement of the human reports, already worded and ordered, so the HTML
//! and the PDF say exactly the same thing. Built once from the run's data; pure.

use super::ReportInput;
use super::trend::TrendPoint;
use crate::analysis::MATRIX_COLUMNS;
use crate::controls::ControlStatus;
use crate::exceptions::ExceptionState;
use crate::finding::{Finding, FindingClass, Severity};
use crate::inventory::RegisterRow;
use crate::rbac::Grant;
use crate::snapshot::PolicyRule;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct ReportModel {
    pub title: String,
    pub cover: Cover,
    pub summary: String,
    pub severity_counts: Vec<Count>,
    pub frameworks: Vec<FrameworkView>,
    /// Open findings that are not about system components, by severity (most severe first), then
    /// the findings accepted by exceptions (severity `accepted`).
    pub finding_groups: Vec<FindingGroup>,
    pub open_findings: usize,
    pub system_findings: Vec<FindingView>,
    pub has_inventory: bool,
    pub register: Vec<RegisterRow>,
    pub matrix_columns: Vec<String>,
    pub matrix: Vec<MatrixView>,
    pub changes: ChangesView,
    pub exceptions: Vec<ExceptionView>,
    pub methodology: Methodology,
    pub verification: Vec<String>,
    pub trend: Vec<TrendPoint>,
}

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
}

#[derive(Debug, Clone, Serialize)]
pub struct Count {
    pub label: String,
    pub count: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct FrameworkView {
    pub id: String,
    pub name: String,
    pub counts: Vec<Count>,
    pub controls: Vec<ControlView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ControlView {
    pub id: String,
    pub title: String,
    /// The status token (`manual-evidence-required`), for styling.
    pub status: String,
    /// The status in words (`automated checks pass; manual evidence required`).
    pub status_label: String,
    pub reason: String,
    /// When the control is satisfied, from its definition.
    pub criterion: String,
    pub findings: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FindingGroup {
    pub severity: String,
    pub heading: String,
    pub findings: Vec<FindingView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FindingView {
    pub id: String,
    pub rule_id: String,
    pub severity: String,
    pub title: String,
    pub summary: String,
    pub subjects: Vec<String>,
    pub objects: Vec<String>,
    pub grants: Vec<String>,
    pub path: Vec<String>,
    pub sub_processor: String,
    pub namespaces: String,
    pub remediation: String,
    pub status: String,
    pub exception: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct MatrixView {
    pub subject: String,
    pub system: bool,
    pub sub_processor: String,
    pub cells: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ChangesView {
    pub baseline: bool,
    /// The sentence that opens the section: how the open findings reconcile.
    pub headline: String,
    pub previous_pack_id: String,
    pub new_findings: Vec<String>,
    pub resolved_findings: Vec<String>,
    pub persisting_findings: usize,
    pub controls: Vec<String>,
    pub grants: Vec<GrantChangeView>,
    pub objects: Vec<ObjectChangeView>,
    pub sub_processors: Vec<String>,
    pub collection: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct GrantChangeView {
    pub change: String,
    pub subject: String,
    pub grant: String,
    pub privileged: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct ObjectChangeView {
    pub change: String,
    pub object: String,
    pub details: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExceptionView {
    pub id: String,
    pub rule: String,
    pub covers: String,
    pub state: String,
    pub approver: String,
    pub ticket: String,
    pub expires: String,
    pub reason: String,
    pub findings: usize,
}

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

pub fn describe_rule(rule: &PolicyRule) -> String {
    let mut s = format!("[{}]", rule.verbs.join(" "));
    if !rule.non_resource_urls.is_empty() {
        s.push_str(&format!(" on URLs {}", rule.non_resource_urls.join(" ")));
        return s;
    }
    let groups: Vec<String> = rule
        .api_groups
        .iter()
        .map(|g| {
            if g.is_empty() {
                "core".into()
            } else {
                g.clone()
            }
        })
        .collect();
    s.push_str(&format!(
        " on {} ({})",
        rule.resources.join(" "),
        groups.join(" ")
    ));
    if !rule.resource_names.is_empty() {
        s.push_str(&format!(" named {}", rule.resource_names.join(" ")));
    }
    s
}

pub fn describe_grant(g: &Grant) -> String {
    let via = match &g.source_role {
        Some(src) => format!(" (aggregated from {src})"),
        None => String::new(),
    };
    format!(
        "{} -> {}{via}: {} [{}; via {}]",
        g.binding,
        g.role,
        describe_rule(&g.rule),
        g.scope(),
        g.subject
    )
}

fn finding_view(f: &Finding) -> FindingView {
    FindingView {
        id: f.id.clone(),
        rule_id: f.rule_id.clone(),
        severity: f.severity.to_string(),
        title: f.title.clone(),
        summary: f.summary.clone(),
        subjects: f.subjects.iter().map(|s| s.to_string()).collect(),
        objects: f.objects.iter().map(|o| o.to_string()).collect(),
        grants: f.grants.iter().map(describe_grant).collect(),
        path: f
            .path
            .iter()
            .map(|p| format!("{} {} -> {}", p.from, p.action, p.to))
            .collect(),
        sub_processor: f.sub_processor.clone().unwrap_or_default(),
        namespaces: f.namespaces.join(", "),
        remediation: f.remediation.clone(),
        status: match f.status {
            crate::finding::FindingStatus::Open => "open".into(),
            crate::finding::FindingStatus::Accepted => "accepted".into(),
        },
        exception: f
            .exception
            .as_ref()
            .map(|e| {
                format!(
                    "accepted by {} (approved by {}, ticket {}, expires {}): {}",
                    e.id, e.approver, e.ticket, e.expires, e.reason
                )
            })
            .unwrap_or_default(),
    }
}

/// How the open findings of the previous pack and of this one reconcile, in one sentence.
pub fn changes_headline(d: &crate::diff::Diff) -> String {
    let f = &d.findings;
    let tail = format!(
        "{} finding(s) accepted by exceptions and {} about Kubernetes system components are counted apart.",
        f.accepted.len(),
        f.system.len()
    );
    match &d.from {
        None => format!(
            "This pack is the baseline of its chain: there is no previous pack to compare with; its {} open finding(s) are all new. {tail}",
            f.current_open
        ),
        Some(from) => format!(
            "Compared with pack {}: open findings went from {} to {}: {} persisting, {} resolved and {} new ({} = {} + {}; {} = {} + {}). {tail}",
            from.pack_id
                .clone()
                .unwrap_or_else(|| from.collected_at.to_rfc3339()),
            f.previous_open,
            f.current_open,
            f.persisting.len(),
            f.resolved.len(),
            f.new.len(),
            f.previous_open,
            f.persisting.len(),
            f.resolved.len(),
            f.current_open,
            f.persisting.len(),
            f.new.len()
        ),
    }
}

pub fn build(input: &ReportInput<'_>) -> ReportModel {
    let snapshot = input.snapshot;
    let a = input.assessment;
    let findings = &a.analysis.findings;
    let summary_counts = super::json::summary(findings);
    let cover = Cover {
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
    };

    let severity_counts: Vec<Count> = Severity::ALL
        .iter()
        .map(|s| Count {
            label: s.to_string(),
            count: summary_counts.open.get(s).copied().unwrap_or(0),
        })
        .collect();

    let control_counts = crate::controls::evaluate::counts(&a.controls);
    let mut frameworks = Vec::new();
    for fw in &input.frameworks {
        let controls: Vec<ControlView> = a
            .controls
            .iter()
            .filter(|c| c.framework == fw.id)
            .map(|c| ControlView {
                id: c.id.clone(),
                title: c.title.clone(),
                status: c.status.as_str().into(),
                status_label: c.status.label().into(),
                reason: c.reason.clone(),
                criterion: c.criterion.clone(),
                findings: c.deciding_findings.clone(),
            })
            .collect();
        let counts = ControlStatus::ALL
            .iter()
            .map(|s| Count {
                label: s.as_str().into(),
                count: control_counts
                    .get(&(fw.id.clone(), *s))
                    .copied()
                    .unwrap_or(0),
            })
            .collect();
        frameworks.push(FrameworkView {
            id: fw.id.clone(),
            name: fw.name.clone(),
            counts,
            controls,
        });
    }

    let mut finding_groups: Vec<FindingGroup> = Severity::ALL
        .iter()
        .map(|sev| {
            let group: Vec<FindingView> = findings
                .iter()
                .filter(|f| f.class() == FindingClass::Open && f.severity == *sev)
                .map(finding_view)
                .collect();
            FindingGroup {
                severity: sev.to_string(),
                heading: format!("{} open finding(s)", group.len()),
                findings: group,
            }
        })
        .filter(|g| !g.findings.is_empty())
        .collect();
    let open_findings = finding_groups.iter().map(|g| g.findings.len()).sum();
    let accepted: Vec<FindingView> = findings
        .iter()
        .filter(|f| f.class() == FindingClass::Accepted)
        .map(finding_view)
        .collect();
    if !accepted.is_empty() {
        finding_groups.push(FindingGroup {
            severity: "accepted".into(),
            heading: format!("Accepted by exceptions in force ({})", accepted.len()),
            findings: accepted,
        });
    }
    let system_findings = findings
        .iter()
        .filter(|f| f.class() == FindingClass::System)
        .map(finding_view)
        .collect();

    let matrix = a
        .analysis
        .matrix
        .iter()
        .map(|r| MatrixView {
            subject: r.subject.to_string(),
            system: r.system,
            sub_processor: r.sub_processor.clone().unwrap_or_default(),
            cells: MATRIX_COLUMNS
                .iter()
                .map(|(key, _, _)| r.cells.get(*key).cloned().unwrap_or_default())
                .collect(),
        })
        .collect();

    let d = &a.diff;
    let fref = |f: &crate::diff::FindingRef| match &f.note {
        Some(note) => format!("{} ({}): {} [{note}]", f.id, f.severity, f.summary),
        None => format!("{} ({}): {}", f.id, f.severity, f.summary),
    };
    let changes = ChangesView {
        baseline: d.baseline,
        headline: changes_headline(d),
        previous_pack_id: d
            .from
            .as_ref()
            .and_then(|f| f.pack_id.clone())
            .unwrap_or_default(),
        new_findings: d.findings.new.iter().map(fref).collect(),
        resolved_findings: d.findings.resolved.iter().map(fref).collect(),
        persisting_findings: d.findings.persisting.len(),
        controls: d
            .controls
            .iter()
            .map(|c| {
                format!(
                    "{} {}: {} -> {}",
                    c.framework,
                    c.id,
                    c.from.as_str(),
                    c.to.as_str()
                )
            })
            .collect(),
        grants: d
            .grants
            .iter()
            .map(|g| GrantChangeView {
                change: match g.change {
                    crate::diff::GrantChangeKind::Gained => "gained".into(),
                    crate::diff::GrantChangeKind::Lost => "lost".into(),
                },
                subject: g.subject.to_string(),
                grant: describe_grant(&g.grant),
                privileged: g.privileged,
            })
            .collect(),
        objects: d
            .objects
            .iter()
            .map(|o| ObjectChangeView {
                change: o.change.as_str().into(),
                object: match &o.namespace {
                    Some(ns) => format!("{} {ns}/{}", o.kind, o.name),
                    None => format!("{} {}", o.kind, o.name),
                },
                details: o.details.join("; "),
            })
            .collect(),
        sub_processors: d
            .sub_processors
            .iter()
            .map(|s| format!("{} {}: {}", s.id, s.change.as_str(), s.details.join("; ")))
            .collect(),
        collection: d
            .collection
            .iter()
            .map(|c| format!("{}: {} -> {}", c.kind, c.from, c.to))
            .collect(),
    };

    let exceptions = a
        .exceptions
        .iter()
        .map(|o| ExceptionView {
            id: o.exception.id.clone(),
            rule: o.exception.rule.clone(),
            covers: o.exception.covers.describe(),
            state: match o.state {
                ExceptionState::InForce => "in force".into(),
                ExceptionState::Partial => {
                    "in force, covers findings only in part (they stay open)".into()
                }
                ExceptionState::Stale => "in force, matches nothing".into(),
                ExceptionState::Expired => "expired".into(),
            },
            approver: o.exception.approver.clone(),
            ticket: o.exception.ticket.clone(),
            expires: o.exception.expires.to_string(),
            reason: o.exception.reason.clone(),
            findings: o.findings.len(),
        })
        .collect();

    let collector = &snapshot.collector;
    let methodology = Methodology {
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
    };

    let cluster = &snapshot.cluster.name;
    let verification = vec![
        format!(
            "kube-evidence verify <store>/{cluster}/packs/{}/{}/{}/{} --allowed-signers allowed_signers",
            snapshot.taken_at.format("%Y"),
            snapshot.taken_at.format("%m"),
            snapshot.taken_at.format("%d"),
            input.pack_id
        ),
        "Every file of the pack is listed in manifest.json with its SHA-256 and size; verify recomputes them, checks the Ed25519 signature (manifest.json.sig) against the allowed signers and follows previous.manifestSha256 back through the chain.".into(),
        "Without the tool, in the pack directory: ssh-keygen -Y verify -f allowed_signers -I <identity> -n kube-evidence -s manifest.json.sig < manifest.json, then sha256sum -c SHA256SUMS.".into(),
    ];

    let total_open: usize = severity_counts.iter().map(|c| c.count).sum();
    let control_sentence = frameworks
        .iter()
        .map(|fw| {
            let parts: Vec<String> = ControlStatus::ALL
                .iter()
                .filter_map(|s| {
                    let n = control_counts.get(&(fw.id.clone(), *s)).copied()?;
                    (n > 0).then(|| format!("{n} {}", s.as_str().replace('-', " ")))
                })
                .collect();
            format!(
                "{} ({} controls): {}",
                fw.name,
                fw.controls.len(),
                parts.join(", ")
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    let register_len = a.analysis.register.len();
    let summary = format!(
        "On {} kube-evidence collected the RBAC state of cluster {} ({} ClusterRoles, {} Roles, {} bindings, {} ServiceAccounts across {} namespaces){}. It found {} open finding(s) ({}), {} accepted by exceptions in force and {} about Kubernetes system components, reported apart. {}. {} subject(s) hold privileged access ({} more rows of the access matrix are Kubernetes system components, marked as such){}. {}",
        cover.collected_at,
        cover.cluster,
        snapshot.cluster_roles.len(),
        snapshot.roles.len(),
        snapshot.cluster_role_bindings.len() + snapshot.role_bindings.len(),
        snapshot.service_accounts.len(),
        snapshot.namespaces.len(),
        if collector.is_complete() {
            ""
        } else {
            "; COLLECTION WAS INCOMPLETE, see Methodology"
        },
        total_open,
        severity_counts
            .iter()
            .filter(|c| c.count > 0)
            .map(|c| format!("{} {}", c.count, c.label))
            .collect::<Vec<_>>()
            .join(", "),
        summary_counts.accepted,
        summary_counts.system,
        control_sentence,
        a.analysis.matrix.iter().filter(|r| !r.system).count(),
        a.analysis.matrix.iter().filter(|r| r.system).count(),
        if input.snapshot.inventory.is_some() {
            format!("; {register_len} sub-processor(s) are in the register")
        } else {
            "; no sub-processor inventory was given".into()
        },
        if d.baseline {
            "This pack is the baseline of its chain.".to_string()
        } else {
            format!(
                "Since the previous pack: open findings went from {} to {} ({} persisting, {} resolved, {} new), {} grant change(s).",
                d.findings.previous_open,
                d.findings.current_open,
                d.findings.persisting.len(),
                d.findings.resolved.len(),
                d.findings.new.len(),
                d.grants.len()
            )
        }
    );

    ReportModel {
        title: format!("RBAC and sub-processor evidence: {}", cover.cluster),
        cover,
        summary,
        severity_counts,
        frameworks,
        finding_groups,
        open_findings,
        system_findings,
        has_inventory: input.snapshot.inventory.is_some(),
        register: a.analysis.register.clone(),
        matrix_columns: MATRIX_COLUMNS
            .iter()
            .map(|(_, label, _)| label.to_string())
            .collect(),
        matrix,
        changes,
        exceptions,
        methodology,
        verification,
        trend: input.history.to_vec(),
    }
}
