//! The pack's report as PDF sections: cover, controls, findings, register, usage, reviews,
//! matrix, changes, exceptions, methodology and verification, in that order, each read from the
//! one report model.

use super::layout::*;
use crate::report::chart::{self};
use crate::report::model::ReportModel;
use chrono::{DateTime, Utc};
fn cover(l: &mut Layout, m: &ReportModel) {
    l.bookmarks.push(("Cover".into(), 1));
    l.y -= 20.0;
    l.paragraph_with(&m.title, Weight::Bold, 20.0, ACCENT, 0.0);
    l.y -= 10.0;
    l.paragraph_with("Audit scope and integrity", Weight::Bold, 11.0, ACCENT, 0.0);
    let mut rows = vec![
        ("Cluster", m.cover.cluster.as_str(), false),
        ("Collected", m.cover.collected_at.as_str(), false),
        ("Pack id", m.cover.pack_id.as_str(), false),
    ];
    rows.extend(
        m.cover
            .scope
            .iter()
            .map(|r| (r.label.as_str(), r.value.as_str(), r.alert)),
    );
    let box_top = l.y + 4.0;
    for (label, value, alert) in rows {
        l.y -= 12.5;
        l.text(LEFT + 8.0, l.y, label, Weight::Regular, 8.5, MUTED);
        let (weight, c) = if alert {
            (Weight::Bold, ALERT)
        } else {
            (Weight::Regular, INK)
        };
        let face = match weight {
            Weight::Bold => &l.bold,
            Weight::Regular => &l.regular,
        };
        let lines = face.wrap(value, 8.5, WIDTH - 112.0);
        for (i, line) in lines.iter().enumerate() {
            if i > 0 {
                l.y -= 10.5;
            }
            l.text(LEFT + 104.0, l.y, line, weight, 8.5, c);
        }
    }
    l.y -= 6.0;
    // The box's left rule, as the HTML draws it.
    l.line(&[(LEFT, box_top), (LEFT, l.y)], ACCENT, 2.0);
    l.y -= 14.0;
    l.paragraph(&m.summary, 10.0);
    l.y -= 16.0;
    let severity = chart::severity_chart(m);
    let controls = chart::controls_chart(m);
    l.ensure(severity.height.max(controls.height * 0.85) + 30.0);
    let top = l.y;
    l.chart(&severity, LEFT, top, 1.0);
    l.chart(&controls, LEFT + 260.0, top, 0.85);
    l.y = top - severity.height.max(controls.height * 0.85) - 30.0;
    if let Some(trend) = chart::trend_chart(m) {
        l.ensure(trend.height + 10.0);
        let top = l.y;
        l.chart(&trend, LEFT, top, 1.0);
        l.y = top - trend.height - 10.0;
    }
}

fn controls(l: &mut Layout, m: &ReportModel) {
    l.section("Control status");
    for fw in &m.frameworks {
        l.subheading(&fw.name);
        let counts = fw
            .counts
            .iter()
            .map(|c| format!("{} {}", c.count, c.label))
            .collect::<Vec<_>>()
            .join(" · ");
        l.paragraph_with(&counts, Weight::Regular, 9.0, MUTED, 0.0);
        l.y -= 4.0;
        let rows: Vec<Vec<String>> = fw
            .controls
            .iter()
            .map(|c| {
                vec![
                    c.id.clone(),
                    c.title.clone(),
                    c.status_label.clone(),
                    if c.manual.is_empty() {
                        c.reason.clone()
                    } else {
                        format!("{}\nAttach: {}", c.reason, c.manual)
                    },
                    c.deciding.to_string(),
                ]
            })
            .collect();
        // Each row is a place findings link back to; its control id links to its first
        // deciding (or accepted) finding.
        let links = RowLinks {
            anchors: fw.controls.iter().map(|c| Some(c.anchor.clone())).collect(),
            targets: fw
                .controls
                .iter()
                .map(|c| {
                    c.findings
                        .first()
                        .filter(|f| !f.anchor.is_empty())
                        .map(|f| f.anchor.clone())
                })
                .collect(),
        };
        l.linked_table(
            &[
                Column("Control", 0.7),
                Column("Title", 1.6),
                Column("Status", 1.0),
                Column("Reason", 3.7),
                Column("Deciding", 0.9),
            ],
            &rows,
            7.5,
            &links,
        );
    }
}

fn findings(l: &mut Layout, m: &ReportModel) {
    l.section("Findings");
    if m.open_findings == 0 {
        l.paragraph("No open findings.", 10.0);
    }
    findings_by_rule(l, m);
    causes(l, m);
    for g in &m.finding_groups {
        let heading = if g.severity == "accepted" {
            g.heading.clone()
        } else {
            format!("{}: {}", g.severity.to_uppercase(), g.heading)
        };
        l.subheading(&heading);
        for f in &g.findings {
            l.ensure(60.0);
            l.y -= 4.0;
            l.anchor(&f.id);
            let top = l.y;
            l.paragraph_with(
                &format!("{}  {}", f.id, f.title),
                Weight::Bold,
                9.0,
                chart::severity_color(&f.severity),
                0.0,
            );
            l.paragraph_with(&f.summary, Weight::Regular, 8.5, INK, 0.0);
            l.list("Subjects", &f.subjects, 8.0);
            l.list("Objects", &f.objects, 8.0);
            l.list(
                "Grants (binding -> role: rule [scope; via subject])",
                &f.grants,
                8.0,
            );
            l.list("Escalation path", &f.path, 8.0);
            let mut meta = format!(
                "Rule {} · severity {} · status {}",
                f.rule_id, f.severity, f.status
            );
            if !f.sub_processor.is_empty() {
                meta.push_str(&format!(" · sub-processor {}", f.sub_processor));
            }
            if !f.namespaces.is_empty() {
                meta.push_str(&format!(" · namespaces {}", f.namespaces));
            }
            l.paragraph_with(&meta, Weight::Regular, 8.0, MUTED, 0.0);
            if !f.exception.is_empty() {
                l.paragraph_with(
                    &format!("Exception: {}", f.exception),
                    Weight::Regular,
                    8.0,
                    INK,
                    0.0,
                );
            }
            l.paragraph_with(
                &format!("Remediation: {}", f.remediation),
                Weight::Regular,
                8.0,
                INK,
                0.0,
            );
            // Back to the controls it bears on, each a link to its row.
            l.link_line("Controls:", &f.controls, 8.0);
            if top > l.y && (top - l.y) < (CONTENT_TOP - CONTENT_BOTTOM) {
                let c = chart::severity_color(&f.severity);
                l.rect(LEFT - 8.0, l.y, 2.5, top - l.y, c);
            }
            l.y -= 6.0;
        }
        finding_rows(l, g);
    }
    if !m.system_findings.is_empty() {
        l.subheading(&format!(
            "About Kubernetes system components ({})",
            m.system_findings_total
        ));
        l.paragraph_with(
            "Default bindings of the API server and its controllers. Reported for completeness; they do not decide control status.",
            Weight::Regular,
            8.5,
            MUTED,
            0.0,
        );
        let rows: Vec<Vec<String>> = m
            .system_findings
            .iter()
            .map(|f| vec![f.id.clone(), f.severity.clone(), f.summary.clone()])
            .collect();
        l.table(
            &[
                Column("Finding", 1.8),
                Column("Severity", 0.6),
                Column("Summary", 4.6),
            ],
            &rows,
            7.5,
        );
        note(l, &m.system_findings_note);
    }
}

/// A muted sentence saying what a capped list left to the machine-readable files.
fn note(l: &mut Layout, text: &str) {
    if !text.is_empty() {
        l.paragraph_with(text, Weight::Regular, 8.0, MUTED, 0.0);
    }
}

/// Open and accepted findings per rule: where a reader of any cluster starts.
fn findings_by_rule(l: &mut Layout, m: &ReportModel) {
    if m.rules.is_empty() {
        return;
    }
    l.subheading("Findings by rule");
    let rows: Vec<Vec<String>> = m
        .rules
        .iter()
        .map(|r| {
            vec![
                r.rule_id.to_string(),
                r.severity.clone(),
                r.title.clone(),
                r.open.to_string(),
                r.accepted.to_string(),
                r.subjects.to_string(),
            ]
        })
        .collect();
    l.table(
        &[
            Column("Rule", 0.9),
            Column("Severity", 0.7),
            Column("Title", 3.6),
            Column("Open", 0.6),
            Column("Accepted", 0.7),
            Column("Subjects", 0.7),
        ],
        &rows,
        7.5,
    );
}

/// The bindings behind the most subjects of open findings: where remediation pays most.
fn causes(l: &mut Layout, m: &ReportModel) {
    if m.causes.is_empty() {
        return;
    }
    l.subheading("Bindings behind the most subjects");
    let rows: Vec<Vec<String>> = m
        .causes
        .iter()
        .map(|c| {
            vec![
                c.binding.clone(),
                c.subjects.to_string(),
                c.findings.to_string(),
                c.rules.clone(),
            ]
        })
        .collect();
    l.table(
        &[
            Column("Binding -> role", 3.2),
            Column("Subjects through it", 0.9),
            Column("Findings", 0.7),
            Column("Rules", 2.6),
        ],
        &rows,
        7.5,
    );
    note(l, &m.causes_note);
}

/// A group's findings after those in full, one line each, and what is left to findings.json.
fn finding_rows(l: &mut Layout, g: &crate::report::model::FindingGroup) {
    if !g.rows.is_empty() {
        note(l, &g.rows_heading);
        let rows: Vec<Vec<String>> = g
            .rows
            .iter()
            .map(|r| {
                vec![
                    r.id.clone(),
                    r.rule_id.to_string(),
                    r.subjects.to_string(),
                    r.summary.clone(),
                ]
            })
            .collect();
        let links = RowLinks {
            anchors: g.rows.iter().map(|r| Some(r.id.clone())).collect(),
            targets: Vec::new(),
        };
        l.linked_table(
            &[
                Column("Finding", 1.6),
                Column("Rule", 0.9),
                Column("Subjects", 0.6),
                Column("Summary", 4.1),
            ],
            &rows,
            7.0,
            &links,
        );
    }
    note(l, &g.note);
}

fn register(l: &mut Layout, m: &ReportModel) {
    if !m.has_inventory {
        return;
    }
    l.section("Sub-processor register");
    let rows: Vec<Vec<String>> = m
        .register
        .iter()
        .map(|v| {
            let r = &v.row;
            vec![
                format!("{}\n{} ({})", r.id, r.name, r.vendor),
                format!("{}\n{}", r.owner, r.purpose),
                if r.data_residency.is_empty() {
                    r.data_categories.join(", ")
                } else {
                    format!(
                        "{}\nresidency: {}",
                        r.data_categories.join(", "),
                        r.data_residency.join(", ")
                    )
                },
                format!("{}\n{}", r.contract, r.certifications.join("\n")),
                r.review.clone(),
                format!(
                    "declared: {}\nobserved: {}",
                    r.declared_access, r.observed_access
                ),
                r.updates.replace("; ", "\n"),
                format!(
                    "{}{}",
                    r.identities_found.join(", "),
                    if r.identities_missing.is_empty() {
                        String::new()
                    } else {
                        format!("\nmissing: {}", r.identities_missing.join(", "))
                    }
                ),
                v.rule_counts.clone(),
            ]
        })
        .collect();
    let links = RowLinks {
        anchors: Vec::new(),
        targets: m
            .register
            .iter()
            .map(|r| {
                r.links
                    .first()
                    .filter(|l| !l.anchor.is_empty())
                    .map(|l| l.anchor.clone())
            })
            .collect(),
    };
    l.linked_table(
        &[
            Column("Sub-processor", 1.3),
            Column("Owner, purpose", 1.3),
            Column("Data, residency", 1.0),
            Column("Contract, certifications", 1.5),
            Column("Review", 0.8),
            Column("Access", 1.1),
            Column("Updates", 1.2),
            Column("Identities", 1.3),
            Column("Findings", 0.8),
        ],
        &rows,
        6.5,
        &links,
    );
    note(l, &m.register_note);
}

fn reviews(l: &mut Layout, m: &ReportModel) {
    let Some(r) = &m.reviews else {
        return;
    };
    l.section("Access reviews");
    l.paragraph(&r.coverage, 8.5);
    l.list("Outstanding reviews", &r.reminders, 8.0);
    for c in &r.campaigns {
        l.paragraph_with(&c.heading, Weight::Bold, 9.0, INK, 0.0);
        l.list("Reviewers", &c.reviewers, 8.0);
        l.list("Revocations and reductions", &c.revocations, 8.0);
        l.list("Decision files", &c.files, 7.5);
    }
}

fn usage(l: &mut Layout, m: &ReportModel) {
    let Some(u) = &m.usage else {
        return;
    };
    l.section("Use of access (API audit log)");
    l.paragraph(&u.coverage, 8.5);
    l.paragraph(&u.claim, 8.5);
    if !u.problems.is_empty() {
        l.paragraph(
            &format!("The log is not complete: {}.", u.problems.join("; ")),
            8.0,
        );
    }
    let rows: Vec<Vec<String>> = u
        .rows
        .iter()
        .map(|r| {
            vec![
                r.subject.clone(),
                r.sub_processor.clone(),
                r.held.to_string(),
                r.used.to_string(),
                r.requests.to_string(),
                r.denied.to_string(),
                r.last_request.clone(),
            ]
        })
        .collect();
    l.table(
        &[
            Column("Subject", 3.0),
            Column("Sub-processor", 1.3),
            Column("Rules held", 0.7),
            Column("Rules used", 0.7),
            Column("Requests", 0.8),
            Column("Denied", 0.7),
            Column("Last request", 1.4),
        ],
        &rows,
        6.5,
    );
    note(l, &u.rows_note);
}

fn matrix(l: &mut Layout, m: &ReportModel) {
    l.section("Privileged access matrix");
    l.paragraph_with(&m.population_note, Weight::Regular, 8.5, MUTED, 0.0);
    l.y -= 4.0;
    let rows: Vec<Vec<String>> = m
        .population
        .iter()
        .map(|p| {
            vec![
                p.capability.clone(),
                p.cluster.to_string(),
                p.broad.to_string(),
                p.foreign.to_string(),
                p.local.to_string(),
            ]
        })
        .collect();
    l.table(
        &[
            Column("Capability (subjects holding it)", 2.0),
            Column("cluster-wide", 0.8),
            Column("broad", 0.8),
            Column("foreign namespaces", 0.8),
            Column("own namespace / few", 0.8),
        ],
        &rows,
        7.5,
    );
    l.y -= 6.0;
    let mut columns = vec![Column("Subject", 2.2), Column("Sub-processor", 0.9)];
    columns.extend(m.matrix_columns.iter().map(|c| Column(c.as_str(), 0.85)));
    let rows: Vec<Vec<String>> = m
        .matrix
        .iter()
        .map(|r| {
            let mut row = vec![
                if r.system {
                    format!("{} (system)", r.subject)
                } else {
                    r.subject.clone()
                },
                r.sub_processor.clone(),
            ];
            row.extend(r.cells.iter().cloned());
            row
        })
        .collect();
    let links = RowLinks {
        anchors: Vec::new(),
        targets: m
            .matrix
            .iter()
            .map(|r| (!r.finding.is_empty()).then(|| r.finding.clone()))
            .collect(),
    };
    l.linked_table(&columns, &rows, 6.0, &links);
}

fn changes(l: &mut Layout, m: &ReportModel) {
    let c = &m.changes;
    l.section("Changes since the previous pack");
    l.paragraph(&c.headline, 9.5);
    l.list("Privileged access gained", &c.privileged_gains, 8.0);
    l.list(
        "New critical and high findings",
        &c.new_severe_findings,
        8.0,
    );
    l.list("Other new findings", &c.new_findings, 8.0);
    l.list("Resolved findings", &c.resolved_findings, 8.0);
    l.list(
        "Superseded findings (gone by id, but their subjects still hold what they reported)",
        &c.superseded_findings,
        8.0,
    );
    l.list(
        "Access used again or for the first time in the window",
        &c.newly_used,
        8.0,
    );
    l.list("Access no longer used in the window", &c.newly_unused, 8.0);
    l.list("Control status changes", &c.controls, 8.0);
    if !c.grants.is_empty() {
        l.subheading("Effective grants gained or lost");
        if !c.grants_note.is_empty() {
            l.paragraph_with(&c.grants_note, Weight::Regular, 8.5, MUTED, 0.0);
        }
        let rows: Vec<Vec<String>> = c
            .grants
            .iter()
            .map(|g| {
                vec![
                    g.change.clone(),
                    g.subject.clone(),
                    g.grant.clone(),
                    if g.privileged { "yes" } else { "no" }.into(),
                ]
            })
            .collect();
        l.table(
            &[
                Column("Change", 0.6),
                Column("Subject", 1.8),
                Column("Grant", 4.2),
                Column("Privileged", 0.7),
            ],
            &rows,
            7.0,
        );
    }
    if !c.objects.is_empty() {
        l.subheading("Objects added, removed or modified");
        if !c.objects_note.is_empty() {
            l.paragraph_with(&c.objects_note, Weight::Regular, 8.5, MUTED, 0.0);
        }
        let rows: Vec<Vec<String>> = c
            .objects
            .iter()
            .map(|o| vec![o.change.clone(), o.object.clone(), o.details.clone()])
            .collect();
        l.table(
            &[
                Column("Change", 0.7),
                Column("Object", 2.5),
                Column("Details", 4.0),
            ],
            &rows,
            7.0,
        );
    }
    l.list("Sub-processor changes", &c.sub_processors, 8.0);
    l.list("Collection changes", &c.collection, 8.0);
}

fn exceptions(l: &mut Layout, m: &ReportModel) {
    l.section("Exceptions");
    if m.exceptions.is_empty() {
        l.paragraph("No exceptions were given for this run.", 9.5);
        return;
    }
    let rows: Vec<Vec<String>> = m
        .exceptions
        .iter()
        .map(|e| {
            vec![
                e.id.clone(),
                e.rule.to_string(),
                e.covers.clone(),
                e.state.clone(),
                format!("{}\n{}", e.approver, e.ticket),
                e.expires.clone(),
                e.reason.clone(),
                e.findings.to_string(),
            ]
        })
        .collect();
    l.table(
        &[
            Column("Exception", 1.0),
            Column("Rule", 0.9),
            Column("Covers", 1.5),
            Column("State", 0.8),
            Column("Approver, ticket", 1.3),
            Column("Expires", 0.8),
            Column("Reason", 2.2),
            Column("Findings", 0.6),
        ],
        &rows,
        7.0,
    );
    note(l, &m.exceptions_note);
}

fn methodology(l: &mut Layout, m: &ReportModel) {
    let meth = &m.methodology;
    l.section("Methodology and completeness");
    l.paragraph(
        &format!(
            "Source: {}. Collector identity: {}. {}",
            meth.source,
            meth.identity,
            if meth.complete {
                "Every required kind was collected completely."
            } else {
                "COLLECTION WAS INCOMPLETE: conclusions that depend on the kinds below marked other than complete are not asserted."
            }
        ),
        9.5,
    );
    let rows: Vec<Vec<String>> = meth
        .kinds
        .iter()
        .map(|k| {
            vec![
                k.kind.clone(),
                k.status.clone(),
                k.count.to_string(),
                k.message.clone(),
            ]
        })
        .collect();
    l.table(
        &[
            Column("Kind", 2.0),
            Column("Status", 1.0),
            Column("Objects", 0.7),
            Column("Note", 3.5),
        ],
        &rows,
        8.0,
    );
    if !meth.ignored.is_empty() {
        let ignored = meth
            .ignored
            .iter()
            .map(|k| format!("{} ({})", k.label, k.count))
            .collect::<Vec<_>>()
            .join(", ");
        l.paragraph(
            &format!("Present in the input but not used: {ignored}."),
            8.5,
        );
    }
    l.paragraph(
        &format!(
            "Effective permissions are resolved as the Kubernetes RBAC authorizer resolves them (aggregated ClusterRoles, RoleBindings to ClusterRoles scoped to their namespace, groups including system:serviceaccounts and system:authenticated, wildcards, sub-resources, resource names and non-resource URLs). {} rules with stable IDs turn risks into findings; a finding's ID depends only on the rule and what it is about, so it stays the same from pack to pack.",
            meth.rules
        ),
        9.5,
    );
    l.paragraph(
        &format!(
            "Rule set digest {}; controls digest {}.",
            meth.ruleset_digest, meth.controls_digest
        ),
        8.5,
    );
}

fn verification(l: &mut Layout, m: &ReportModel) {
    l.section("How to verify this pack");
    for (i, v) in m.verification.iter().enumerate() {
        l.paragraph(&format!("{}. {v}", i + 1), 9.5);
    }
}

pub fn render(model: &ReportModel, generated_at: DateTime<Utc>) -> Vec<u8> {
    let mut l = new_layout();
    cover(&mut l, model);
    controls(&mut l, model);
    findings(&mut l, model);
    register(&mut l, model);
    usage(&mut l, model);
    reviews(&mut l, model);
    matrix(&mut l, model);
    changes(&mut l, model);
    exceptions(&mut l, model);
    methodology(&mut l, model);
    verification(&mut l, model);
    let frame = PageFrame {
        header: format!("{} · pack {}", model.cover.cluster, model.cover.pack_id),
        right: if model.cover.signed {
            "kube-evidence report".into()
        } else {
            "UNSIGNED · kube-evidence report".into()
        },
        alert: !model.cover.signed,
        footer: format!("Collected {}", model.cover.collected_at),
    };
    let meta = DocumentMeta {
        title: &model.title,
        subject: format!(
            "SOC 2 / ISO 27001 evidence: RBAC and sub-processors of {}",
            model.cover.cluster
        ),
        identifier: &model.cover.pack_id,
    };
    write_pdf(l, &frame, &meta, generated_at)
}
