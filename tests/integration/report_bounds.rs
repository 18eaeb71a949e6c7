//! The human reports are bounded by construction, whatever the cluster (issue 31): over many
//! generated shapes (tidy and messy RBAC, few or many subjects per binding, subjects from
//! anywhere, aggregation, dangerous rules), report.pdf stays within 300 pages and report.html
//! within 20 MB, every list and text of the report model within `report::bounds`, and what the
//! reports leave out is still complete in findings.json, findings.csv and
//! access-population.csv.gz, with the counts the reports state.

use kube_evidence::analysis::{Assessment, AssessmentInput, assess};
use kube_evidence::controls::Controls;
use kube_evidence::report::{FrameworkInfo, ReportInput, bounds, csv, html, json, model, pdf};
use kube_evidence::rules::RuleId;
use kube_evidence::synthetic::{Knobs, Shape, cluster};
use proptest::prelude::*;

const MAX_PAGES: usize = 300;
const MAX_HTML_BYTES: usize = 20 * 1024 * 1024;

/// A cluster shape with every knob drawn: sizes from a few dozen namespaces to a few hundred,
/// RBAC from tidy to messy.
fn shapes() -> impl Strategy<Value = Shape> {
    (
        (
            20usize..300,
            2usize..14,
            30usize..400,
            1usize..6,
            0usize..400,
        ),
        (0u32..700, 1usize..7, 1usize..5, 5usize..3000, 2usize..400),
        (0u32..900, 0u32..300, any::<bool>(), any::<u64>()),
    )
        .prop_map(
            |(
                (namespaces, rb_per_ns, cluster_roles, sa_per_ns, crbs),
                (dangerous, subjects, cluster_subjects, users, groups),
                (foreign, aggregated, any_role, seed),
            )| Shape {
                namespaces,
                role_bindings: namespaces * rb_per_ns,
                cluster_roles,
                service_accounts: namespaces * sa_per_ns,
                cluster_role_bindings: crbs,
                seed,
                knobs: Knobs {
                    dangerous_rules_per_mille: dangerous,
                    subjects_per_binding: subjects,
                    subjects_per_cluster_binding: cluster_subjects,
                    users,
                    groups,
                    foreign_subjects_per_mille: foreign,
                    aggregated_per_mille: aggregated,
                    cluster_bindings_any_role: any_role,
                },
            },
        )
}

struct Rendered {
    assessment: Assessment,
    model: model::ReportModel,
    html: Vec<u8>,
    pdf: Vec<u8>,
    findings_json: Vec<u8>,
    findings_csv: Vec<u8>,
    population_gz: Vec<u8>,
}

fn render(shape: Shape) -> Rendered {
    let snapshot = cluster(shape);
    let controls = Controls::builtin();
    let assessment = assess(&AssessmentInput::snapshot_alone(&snapshot, &controls, &[]));
    let input = ReportInput {
        snapshot_gz: Vec::new(),
        pack_id: "20260101T000000000Z-00000000",
        snapshot: &snapshot,
        assessment: &assessment,
        generated_at: snapshot.taken_at,
        signing_key_fingerprint: None,
        signer: None,
        controls_digest: controls.digest(),
        controls: &controls,
        previous_manifest_sha256: None,
        inputs: Vec::new(),
        frameworks: FrameworkInfo::of(&controls),
        history: Vec::new(),
        usage: None,
    };
    let model = model::build(&input);
    let html = html::render(&model);
    let pdf = pdf::render(&model, snapshot.taken_at);
    let findings_json = json::findings(&input);
    let findings_csv = csv::findings(&assessment);
    let population_gz = csv::population(&assessment.analysis);
    Rendered {
        model,
        html,
        pdf,
        findings_json,
        findings_csv,
        population_gz,
        assessment,
    }
}

fn pages(pdf: &[u8]) -> usize {
    lopdf::Document::load_mem(pdf)
        .expect("the PDF parses")
        .get_pages()
        .len()
}

/// Every list of the model within [`bounds::MAX_LIST`] and every text within a bound: the
/// property the renderers' size follows from. The framework's controls come from the control
/// files, not the cluster; they are the one list left whole.
fn check_model_bounds(value: &serde_json::Value, path: &str, problems: &mut Vec<String>) {
    match value {
        serde_json::Value::Array(items) => {
            // Only a framework's own controls (`m.frameworks[i].controls`) are exempt, not the
            // control links of a finding (`...findings[j].controls`).
            let framework_controls =
                path.starts_with("m.frameworks[") && path.matches('.').count() == 2;
            if items.len() > bounds::MAX_LIST
                && !(framework_controls && path.ends_with(".controls"))
            {
                problems.push(format!("{path}: {} items", items.len()));
            }
            for (i, v) in items.iter().enumerate() {
                check_model_bounds(v, &format!("{path}[{i}]"), problems);
            }
        }
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                check_model_bounds(v, &format!("{path}.{k}"), problems);
            }
        }
        serde_json::Value::String(s) => {
            // Sentences the model writes itself (the summary, notes) carry counts, never lists
            // drawn from the cluster; they may be longer than one clipped cell, never unbounded.
            let limit = if path.ends_with("summary") && !path.contains("rows")
                || path.ends_with("_note")
                || path.ends_with(".note")
                || path.contains(".verification")
                || path.contains(".coverage")
            {
                4 * bounds::TEXT
            } else {
                bounds::TEXT
            };
            if s.chars().count() > limit {
                problems.push(format!("{path}: {} characters", s.chars().count()));
            }
        }
        _ => {}
    }
}

/// What the reports leave out is in the machine-readable files, and the counts they state are
/// the files' counts.
/// Returns the number of distinct escalation steps findings.json states.
fn check_completeness(r: &Rendered) -> usize {
    let findings = &r.assessment.analysis.findings;
    let doc: serde_json::Value = serde_json::from_slice(&r.findings_json).unwrap();
    let ids: std::collections::BTreeSet<&str> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids.len(),
        findings.len(),
        "findings.json holds every finding"
    );
    let steps = check_steps(r, &doc);
    let csv_rows = ::csv::Reader::from_reader(r.findings_csv.as_slice())
        .records()
        .count();
    assert_eq!(csv_rows, findings.len(), "findings.csv holds every finding");
    // Each group: in full + one line + left out = its count, and every shown id is a finding.
    let mut open = 0;
    for g in &r.model.finding_groups {
        let total: usize = g
            .heading
            .trim_start_matches("Accepted by exceptions in force (")
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let left = if g.note.is_empty() {
            0
        } else {
            g.note.split(' ').next().unwrap().parse().unwrap()
        };
        assert_eq!(
            g.findings.len() + g.rows.len() + left,
            total,
            "{}",
            g.heading
        );
        if g.severity != "accepted" {
            open += total;
        }
        for id in g
            .findings
            .iter()
            .map(|f| f.id.as_str())
            .chain(g.rows.iter().map(|r| r.id.as_str()))
        {
            assert!(ids.contains(id), "{id} shown but not in findings.json");
        }
    }
    assert_eq!(open, r.model.open_findings);
    let open_in_json: u64 = doc["summary"]["open"]
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(open_in_json as usize, open, "findings.json's open count");
    assert_eq!(
        r.model.system_findings_total,
        doc["summary"]["system"].as_u64().unwrap() as usize
    );
    let by_rule: usize = r.model.rules.iter().map(|x| x.open).sum();
    assert_eq!(
        by_rule, open,
        "the rules table adds up to the open findings"
    );
    // Each row of the rules table, recomputed from findings.json: its open findings are all of
    // its rule and of its severity.
    for row in &r.model.rules {
        let recomputed = doc["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| {
                f["ruleId"] == row.rule_id.as_str()
                    && f["severity"] == row.severity.as_str()
                    && f["status"] == "open"
                    && f["system"] != true
            })
            .count();
        assert_eq!(recomputed, row.open, "{} {}", row.rule_id, row.severity);
    }
    // The population file has a row per holding, whatever the matrix shows.
    let mut text = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::GzDecoder::new(r.population_gz.as_slice()),
        &mut text,
    )
    .unwrap();
    let holdings: usize = r
        .assessment
        .analysis
        .population
        .iter()
        .map(|p| p.bindings.len())
        .sum();
    assert_eq!(
        text.lines().count() - 1,
        holdings,
        "access-population.csv.gz holds every holding"
    );
    steps
}

/// findings.json states each escalation step once, and every path it gives as positions
/// (`pathSteps`) is, resolved against `steps`, exactly the path the analysis found.
fn check_steps(r: &Rendered, doc: &serde_json::Value) -> usize {
    let steps = doc["steps"].as_array().cloned().unwrap_or_default();
    let distinct: std::collections::BTreeSet<String> =
        steps.iter().map(|s| s.to_string()).collect();
    assert_eq!(distinct.len(), steps.len(), "each step is stated once");
    let mut used = vec![false; steps.len()];
    let mut resolve = |item: &serde_json::Value| -> Vec<serde_json::Value> {
        assert!(item.get("path").is_none(), "no path is inline in schema 3");
        item["pathSteps"]
            .as_array()
            .map(|positions| {
                positions
                    .iter()
                    .map(|at| {
                        let at = at.as_u64().unwrap() as usize;
                        used[at] = true;
                        steps[at].clone()
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let analysis = &r.assessment.analysis;
    for (stated, found) in doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .zip(&analysis.findings)
    {
        assert_eq!(stated["id"], found.id.as_str());
        assert_eq!(
            resolve(stated),
            serde_json::to_value(&found.path)
                .unwrap()
                .as_array()
                .unwrap()
                .clone(),
            "{}",
            found.id
        );
    }
    let privilege = doc["privilege"].as_array().unwrap();
    assert_eq!(privilege.len(), analysis.privilege.len());
    for (stated, found) in privilege.iter().zip(&analysis.privilege) {
        let path = match &found.reach {
            kube_evidence::rbac::privilege::AdminReach::Escalation { path, .. } => path.clone(),
            _ => Vec::new(),
        };
        assert_eq!(
            resolve(stated),
            serde_json::to_value(&path)
                .unwrap()
                .as_array()
                .unwrap()
                .clone(),
            "{}",
            found.subject
        );
    }
    assert!(used.iter().all(|u| *u), "every stated step is on a path");
    steps.len()
}

/// Findings, PDF pages, HTML bytes and the distinct escalation steps of findings.json.
fn check(shape: Shape) -> (usize, usize, usize, usize) {
    let r = render(shape);
    let pages = pages(&r.pdf);
    assert!(pages <= MAX_PAGES, "{pages} pages for {shape:?}");
    assert!(
        r.html.len() <= MAX_HTML_BYTES,
        "{} bytes of HTML for {shape:?}",
        r.html.len()
    );
    let mut problems = Vec::new();
    check_model_bounds(&serde_json::to_value(&r.model).unwrap(), "m", &mut problems);
    assert!(problems.is_empty(), "{shape:?}: {problems:#?}");
    let steps = check_completeness(&r);
    (
        r.assessment.analysis.findings.len(),
        pages,
        r.html.len(),
        steps,
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]
    #[test]
    fn reports_stay_within_their_bounds_on_any_shape(shape in shapes()) {
        check(shape);
    }
}

/// The messy shape issue 31 measured, at a size a test can afford: thousands of findings, far
/// more than the reports show, and the reports within their bounds.
#[test]
fn a_messy_cluster_with_thousands_of_findings_gives_bounded_reports() {
    let (findings, pages, html, steps) = check(Shape {
        namespaces: 400,
        role_bindings: 4_000,
        cluster_roles: 400,
        service_accounts: 1_600,
        cluster_role_bindings: 200,
        seed: 31,
        knobs: Knobs::MESSY,
    });
    assert!(
        findings > 2_000,
        "the shape is meant to overflow every cap: {findings} findings"
    );
    assert!(
        steps > 0,
        "escalation paths to check against findings.json's steps"
    );
    eprintln!(
        "messy, 400 namespaces: {findings} findings -> {pages} pages, {html} bytes of HTML, {steps} distinct steps"
    );
}

/// Text of `n` characters in words, as a hostile or verbose cluster could write it.
fn words(n: usize) -> String {
    "abcdefghij ".repeat(n / 11 + 1).chars().take(n).collect()
}

/// Every list of the model at its cap and every text at its limit: the largest report the bounds
/// allow, whatever cluster, log and reviews stand behind it. Rendering it within the page and
/// byte bounds is what makes the bounds hold by construction rather than on the shapes tried.
fn fullest(mut m: model::ReportModel) -> model::ReportModel {
    use model::*;
    let name = || words(bounds::NAME);
    let text = || words(bounds::TEXT);
    let line = || words(bounds::LINE);
    let list = |f: &dyn Fn() -> String| (0..=bounds::LIST).map(|_| f()).collect::<Vec<_>>();
    let finding_list =
        |f: &dyn Fn() -> String| (0..=bounds::FINDING_LIST).map(|_| f()).collect::<Vec<_>>();
    let finding = FindingView {
        id: name(),
        rule_id: RuleId::Rbac001,
        severity: "critical".into(),
        title: text(),
        summary: text(),
        subjects: finding_list(&name),
        objects: finding_list(&name),
        grants: finding_list(&line),
        path: finding_list(&line),
        sub_processor: line(),
        namespaces: line(),
        remediation: text(),
        status: "open".into(),
        exception: text(),
        controls: (0..=bounds::FINDING_LIST)
            .map(|_| Link {
                label: name(),
                anchor: String::new(),
            })
            .collect(),
    };
    let row = FindingRow {
        id: name(),
        rule_id: RuleId::Rbac001,
        severity: "high".into(),
        summary: words(bounds::ROW_TEXT),
        subjects: 1,
    };
    m.finding_groups = vec![FindingGroup {
        severity: "critical".into(),
        heading: "many".into(),
        findings: vec![finding.clone(); bounds::FINDINGS_IN_FULL],
        rows: vec![row.clone(); bounds::FINDING_ROWS],
        rows_heading: text(),
        note: text(),
    }];
    m.system_findings = vec![row; bounds::TABLE_ROWS];
    m.rules = (0..bounds::RULES)
        .map(|_| RuleSummary {
            rule_id: RuleId::Rbac001,
            severity: "high".into(),
            title: line(),
            open: 1,
            accepted: 1,
            subjects: 1,
        })
        .collect();
    m.causes = (0..bounds::CAUSES)
        .map(|_| CauseView {
            binding: line(),
            subjects: 1,
            findings: 1,
            rules: line(),
        })
        .collect();
    if let Some(template) = m.matrix.first().cloned() {
        m.matrix = (0..bounds::MATRIX_ROWS)
            .map(|_| MatrixView {
                subject: name(),
                sub_processor: name(),
                ..template.clone()
            })
            .collect();
    }
    m.changes.grants = (0..bounds::TABLE_ROWS)
        .map(|_| GrantChangeView {
            change: "gained".into(),
            subject: name(),
            grant: line(),
            privileged: true,
        })
        .collect();
    m.changes.objects = (0..bounds::TABLE_ROWS)
        .map(|_| ObjectChangeView {
            change: "modified".into(),
            object: name(),
            details: line(),
        })
        .collect();
    for l in [
        &mut m.changes.privileged_gains,
        &mut m.changes.new_severe_findings,
        &mut m.changes.new_findings,
        &mut m.changes.resolved_findings,
        &mut m.changes.superseded_findings,
        &mut m.changes.controls,
        &mut m.changes.sub_processors,
        &mut m.changes.collection,
        &mut m.changes.newly_used,
        &mut m.changes.newly_unused,
    ] {
        *l = list(&line);
    }
    let register_list =
        |f: &dyn Fn() -> String| (0..=bounds::REGISTER_LIST).map(|_| f()).collect::<Vec<_>>();
    m.has_inventory = true;
    m.register = (0..bounds::TABLE_ROWS)
        .map(|_| RegisterView {
            row: kube_evidence::inventory::RegisterRow {
                id: words(bounds::REGISTER_TEXT),
                name: words(bounds::REGISTER_TEXT),
                vendor: words(bounds::REGISTER_TEXT),
                owner: words(bounds::REGISTER_TEXT),
                purpose: words(bounds::REGISTER_TEXT),
                data_categories: register_list(&|| words(bounds::REGISTER_TEXT)),
                data_residency: register_list(&|| words(bounds::REGISTER_TEXT)),
                contract: words(bounds::REGISTER_TEXT),
                certifications: register_list(&|| words(bounds::REGISTER_TEXT)),
                review: words(bounds::REGISTER_TEXT),
                identities_found: register_list(&|| words(bounds::REGISTER_TEXT)),
                identities_missing: register_list(&|| words(bounds::REGISTER_TEXT)),
                declared_access: "cluster-admin".into(),
                observed_access: "cluster-admin".into(),
                updates: words(bounds::REGISTER_TEXT),
                findings: Vec::new(),
            },
            links: (0..=bounds::REGISTER_LIST)
                .map(|_| Link {
                    label: words(bounds::REGISTER_TEXT),
                    anchor: String::new(),
                })
                .collect(),
            rule_counts: words(bounds::REGISTER_TEXT),
        })
        .collect();
    m.exceptions = (0..bounds::TABLE_ROWS)
        .map(|_| ExceptionView {
            id: name(),
            rule: RuleId::Rbac001,
            covers: line(),
            state: "in force".into(),
            approver: name(),
            ticket: name(),
            expires: "2027-01-01".into(),
            reason: line(),
            findings: 1,
        })
        .collect();
    m.usage = Some(UsageView {
        coverage: text(),
        claim: text(),
        window_covered: true,
        problems: list(&line),
        rows: (0..bounds::TABLE_ROWS)
            .map(|_| UsageRowView {
                subject: name(),
                sub_processor: name(),
                held: 1,
                used: 1,
                requests: 1,
                denied: 1,
                last_request: "2026-01-01 00:00 UTC".into(),
            })
            .collect(),
        rows_note: text(),
    });
    m.reviews = Some(ReviewsView {
        coverage: text(),
        reminders: list(&line),
        campaigns: (0..bounds::CAMPAIGNS)
            .map(|_| CampaignView {
                heading: text(),
                reviewers: list(&name),
                revocations: list(&line),
                files: list(&name),
            })
            .collect(),
    });
    m
}

#[test]
fn the_fullest_report_the_bounds_allow_stays_within_300_pages_and_20_mb() {
    let r = render(Shape {
        namespaces: 60,
        role_bindings: 600,
        cluster_roles: 80,
        service_accounts: 120,
        cluster_role_bindings: 40,
        seed: 5,
        knobs: Knobs::MESSY,
    });
    let m = fullest(r.model);
    let html = html::render(&m);
    let pages = pages(&pdf::render(&m, chrono::DateTime::UNIX_EPOCH));
    eprintln!(
        "the fullest report: {pages} pages, {} bytes of HTML",
        html.len()
    );
    assert!(pages <= MAX_PAGES, "{pages} pages");
    assert!(html.len() <= MAX_HTML_BYTES, "{} bytes", html.len());
}
