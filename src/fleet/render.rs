//! The fleet document as people read it: one [`PlainDocument`] rendered as a self-contained HTML
//! page and as a PDF, plus CSV files and `fleet.json`. Every figure is read from the
//! [`FleetDocument`]; nothing is counted here.

use super::model::{
    ClusterStatus, FleetDocument, FleetSubProcessor, LatestSummary, StandingField,
    SubProcessorStanding, overdue_after,
};
use crate::csv_out;
use crate::finding::Severity;
use crate::report::document::{PlainDocument, PlainSection};
use crate::report::pdf::render_plain;
use std::collections::BTreeMap;

/// The names of the files [`files`] returns, in that order.
pub const FILE_NAMES: [&str; 7] = [
    "fleet-report.html",
    "fleet-report.pdf",
    super::FLEET_JSON,
    "fleet-clusters.csv",
    "fleet-subprocessors.csv",
    "fleet-subjects.csv",
    "fleet-repeated-findings.csv",
];

/// The fleet report's files, by name.
pub struct FleetFiles {
    pub files: Vec<(String, Vec<u8>)>,
}

/// Every file of the report: `fleet-report.html`, `fleet-report.pdf`, `fleet.json` and the CSVs.
pub fn files(doc: &FleetDocument) -> FleetFiles {
    let plain = document(doc, false);
    let contents = [
        crate::report::plain::html(&plain).into_bytes(),
        render_plain(&plain, doc.generated_at),
        json(doc),
        clusters_csv(doc),
        subprocessors_csv(doc),
        subjects_csv(doc),
        repeated_csv(doc),
    ];
    FleetFiles {
        files: FILE_NAMES
            .iter()
            .map(|n| n.to_string())
            .zip(contents)
            .collect(),
    }
}

/// The page published at the store prefix: the same report, each cluster linking to its own
/// `index.html`.
pub fn index_page(doc: &FleetDocument) -> Vec<u8> {
    crate::report::plain::html(&document(doc, true)).into_bytes()
}

pub fn json(doc: &FleetDocument) -> Vec<u8> {
    let mut b = serde_json::to_vec_pretty(doc).expect("the fleet document serialises");
    b.push(b'\n');
    b
}

/// The report, in the order an auditor asks: how many clusters are covered and current, each
/// cluster's evidence, what is wrong with it, then what spans clusters.
pub fn document(doc: &FleetDocument, link_clusters: bool) -> PlainDocument {
    let mut clusters = PlainSection::new(
        "Clusters",
        Vec::new(),
        &[
            ("Cluster", 1.3),
            ("State", 0.8),
            ("Latest pack", 1.5),
            ("Signature, time-stamp", 1.4),
            ("Open findings", 1.3),
            ("Controls", 2.0),
            ("Chain (index.json)", 1.5),
        ],
        doc.clusters.iter().map(cluster_row).collect(),
    );
    if link_clusters {
        clusters.links = doc
            .clusters
            .iter()
            .map(|c| Some(format!("{}/index.html", c.cluster)))
            .collect();
    }
    // The clusters' problems as the model lists them (and the summary counts them).
    let problems: Vec<Vec<String>> = doc
        .clusters
        .iter()
        .flat_map(|c| {
            c.problems.iter().map(|p| {
                vec![
                    c.cluster.clone(),
                    p.kind.as_str().to_string(),
                    p.detail.clone(),
                ]
            })
        })
        .collect();
    PlainDocument {
        title: "Fleet evidence report".into(),
        heading: "Fleet evidence report".into(),
        header: format!("kube-evidence fleet report · {}", doc.store),
        footer: format!(
            "Generated {}",
            doc.generated_at.format("%Y-%m-%d %H:%M:%S UTC")
        ),
        identifier: format!("fleet-{}", doc.generated_at.format("%Y%m%dT%H%M%SZ")),
        sections: vec![
            PlainSection::new("Summary", summary(doc), &[], Vec::new()),
            clusters,
            PlainSection::new(
                "Problems",
                if problems.is_empty() {
                    vec!["None: every latest pack verified and is current and complete, every index agrees with its latest.json, no gap, break or unsigned pack.".into()]
                } else {
                    vec!["Every cluster whose latest pack does not verify (manifest, time-stamp, signature or findings), is missing, is overdue or is of an incomplete collection, and every problem of a chain as its index records it.".into()]
                },
                &[("Cluster", 1.2), ("Problem", 0.9), ("Detail", 5.1)],
                problems,
            ),
            sub_processor_section(doc),
            shared_subject_section(doc),
            repeated_section(doc),
        ],
    }
}

fn summary(doc: &FleetDocument) -> Vec<String> {
    let t = &doc.totals;
    vec![
        format!(
            "{} cluster(s) publish to {}: {} current, {} overdue (latest pack older than {} h on a {} h schedule), {} whose latest pack does not verify, {} without a published pack; {} whose latest pack is of an incomplete collection.",
            t.clusters,
            doc.store,
            t.current,
            t.overdue,
            overdue_after(doc.schedule_interval_hours),
            doc.schedule_interval_hours,
            t.not_verified,
            t.no_pack,
            t.incomplete
        ),
        format!(
            "Open findings in the verified latest packs: {}.",
            severities(&t.open_findings)
        ),
        if doc.signers_checked {
            "Every latest pack used here is signed by a trusted signer (--allowed-signers) and its findings match its manifest.".into()
        } else {
            "Signatures were checked, but not who made them: no --allowed-signers were given. Findings match their manifests.".into()
        },
        format!(
            "{} of the {} verified latest pack(s) are time-stamped, each token verified against the authority's certificate (--tsa-certificate). Time-stamps are judged as `kube-evidence verify` judges them: a time-stamped pack whose token does not verify, or cannot be checked because no --tsa-certificate was given, is not verified.",
            t.timestamped,
            t.current + t.overdue
        ),
        format!(
            "{} cluster(s) have a gap, a break, an unsigned pack or a folder that is not a pack in their chain, or no readable index. Chain health is as each cluster's index.json records it (rebuilt from the pack manifests at every run); `kube-evidence verify --chain` proves a chain pack by pack.",
            t.chain_problems
        ),
        "Nothing here was read from the clusters themselves: only what each published to the store.".into(),
    ]
}

fn severities(counts: &BTreeMap<Severity, usize>) -> String {
    [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
    ]
    .iter()
    .map(|s| format!("{} {s}", counts.get(s).copied().unwrap_or(0)))
    .collect::<Vec<_>>()
    .join(", ")
}

fn cluster_row(c: &ClusterStatus) -> Vec<String> {
    let (latest, signature, open, controls) = match &c.latest {
        Some(l) => (
            format!(
                "{}\n{} ({} h ago){}",
                l.pack_id,
                l.collected_at.format("%Y-%m-%d %H:%M UTC"),
                l.age_hours,
                if l.collection_complete {
                    ""
                } else {
                    "\ncollection incomplete"
                }
            ),
            format!("{}\n{}", l.signature, timestamp_text(l)),
            severities(&l.open_findings),
            l.controls
                .iter()
                .map(|(framework, by_status)| {
                    format!(
                        "{framework}: {}",
                        by_status
                            .iter()
                            .map(|(s, n)| format!("{n} {s}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                })
                .collect::<Vec<_>>()
                .join("\n"),
        ),
        None => ("none".into(), "-".into(), "-".into(), "-".into()),
    };
    let h = &c.chain;
    let chain = match &h.unknown {
        Some(why) => format!("unknown: {why}"),
        None => format!(
            "{} pack(s) since {}\n{} gap(s), {} break(s), {} unsigned, {} incomplete",
            h.packs,
            h.oldest
                .map_or("-".to_string(), |o| o.format("%Y-%m-%d").to_string()),
            h.gaps,
            h.breaks,
            h.unsigned,
            h.incomplete
        ),
    };
    vec![
        c.cluster.clone(),
        c.state.as_str().into(),
        latest,
        signature,
        open,
        controls,
        chain,
    ]
}

/// Whether and by whom the latest pack is time-stamped.
fn timestamp_text(l: &LatestSummary) -> String {
    match &l.timestamp {
        Some(t) => format!(
            "time-stamped {} by {}",
            t.time.format("%Y-%m-%d %H:%M:%S UTC"),
            t.authority
        ),
        None => "not time-stamped".into(),
    }
}

/// How a sub-processor stands: what is the same everywhere once, then, where clusters differ,
/// each group of clusters with what differs.
fn standings_text(s: &FleetSubProcessor) -> String {
    let describe = |g: &SubProcessorStanding, same: bool| {
        StandingField::ALL
            .into_iter()
            .filter(|f| s.differences.contains(f) != same)
            .map(|f| f.describe(g))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let Some(first) = s.standings.first() else {
        return String::new();
    };
    let mut lines = Vec::new();
    let common = describe(first, true);
    match (s.clusters.len(), common.is_empty()) {
        (1, _) => lines.push(common),
        (_, false) if s.differences.is_empty() => {
            lines.push(format!("the same in all {}: {common}", s.clusters.len()))
        }
        (_, false) => lines.push(format!("in all {}: {common}", s.clusters.len())),
        (_, true) => {}
    }
    if !s.differences.is_empty() {
        lines.push(format!(
            "differs in {}:",
            s.differences
                .iter()
                .map(|f| f.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
        for g in &s.standings {
            lines.push(format!("{}: {}", g.clusters.join(", "), describe(g, false)));
        }
    }
    lines.join("\n")
}

fn sub_processor_section(doc: &FleetDocument) -> PlainSection {
    let rows = doc
        .sub_processors
        .iter()
        .map(|s| {
            vec![
                format!("{} ({})", s.name, s.id),
                s.vendor.clone(),
                s.clusters.join(", "),
                standings_text(s),
            ]
        })
        .collect::<Vec<Vec<String>>>();
    PlainSection::new(
        "Sub-processors across the fleet",
        if rows.is_empty() {
            vec!["No verified latest pack has a sub-processor inventory.".into()]
        } else {
            vec!["Each sub-processor of the clusters' inventories once, with the clusters that list it: the access its identities hold (observed, and declared in the inventory), its review, and how many identities and findings it has; where clusters differ, each group of clusters is stated.".into()]
        },
        &[
            ("Sub-processor", 1.6),
            ("Vendor", 1.1),
            ("Clusters", 1.3),
            ("Access, review, identities, findings", 3.4),
        ],
        rows,
    )
}

fn shared_subject_section(doc: &FleetDocument) -> PlainSection {
    let rows = doc
        .shared_subjects
        .iter()
        .map(|s| {
            vec![
                s.subject.clone(),
                s.clusters.len().to_string(),
                s.clusters
                    .iter()
                    .map(|c| {
                        format!(
                            "{}: scope {}, cluster-admin {}",
                            c.cluster, c.widest_scope, c.cluster_admin
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n"),
            ]
        })
        .collect::<Vec<Vec<String>>>();
    PlainSection::new(
        "Subjects privileged in several clusters",
        if rows.is_empty() {
            vec!["No subject outside the Kubernetes system components is privileged in more than one cluster.".into()]
        } else {
            vec!["People, groups and ServiceAccounts in the privileged-access matrix of more than one cluster (system components left out).".into()]
        },
        &[
            ("Subject", 2.0),
            ("Clusters", 0.6),
            ("In each cluster", 4.5),
        ],
        rows,
    )
}

fn repeated_section(doc: &FleetDocument) -> PlainSection {
    let rows = doc
        .repeated_findings
        .iter()
        .map(|f| {
            vec![
                f.severity.to_string(),
                f.id.clone(),
                f.summary.clone(),
                format!("{}: {}", f.clusters.len(), f.clusters.join(", ")),
            ]
        })
        .collect::<Vec<Vec<String>>>();
    PlainSection::new(
        "Findings repeated across the fleet",
        if rows.is_empty() {
            vec!["No open finding is found in more than one cluster.".into()]
        } else {
            vec!["Open findings with the same ID (the same rule about the same objects) in more than one cluster: one fix, applied everywhere.".into()]
        },
        &[
            ("Severity", 0.7),
            ("Finding", 1.4),
            ("What", 3.4),
            ("Clusters", 1.8),
        ],
        rows,
    )
}

fn csv_bytes(header: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> Vec<u8> {
    let mut w = csv_out::writer(Vec::new());
    csv_out::record(&mut w, header);
    for r in rows {
        csv_out::record(&mut w, r);
    }
    w.into_inner().expect("writing to memory")
}

fn clusters_csv(doc: &FleetDocument) -> Vec<u8> {
    let rows = doc.clusters.iter().map(|c| {
        let l = c.latest.as_ref();
        let open = |s: Severity| {
            l.map_or(String::new(), |l| {
                l.open_findings.get(&s).copied().unwrap_or(0).to_string()
            })
        };
        let h = &c.chain;
        vec![
            c.cluster.clone(),
            c.state.as_str().into(),
            l.map_or(String::new(), |l| l.pack_id.clone()),
            l.map_or(String::new(), |l| l.collected_at.to_rfc3339()),
            l.map_or(String::new(), |l| l.age_hours.to_string()),
            l.map_or(String::new(), |l| l.signature.clone()),
            l.map_or(String::new(), |l| l.signing_key_fingerprint.clone()),
            l.map_or(String::new(), |l| l.timestamp.is_some().to_string()),
            l.and_then(|l| l.timestamp.as_ref())
                .map_or(String::new(), |t| t.time.to_rfc3339()),
            l.and_then(|l| l.timestamp.as_ref())
                .map_or(String::new(), |t| t.authority.clone()),
            l.map_or(String::new(), |l| l.collection_complete.to_string()),
            open(Severity::Critical),
            open(Severity::High),
            open(Severity::Medium),
            open(Severity::Low),
            l.map_or(String::new(), |l| l.accepted_findings.to_string()),
            h.packs.to_string(),
            h.gaps.to_string(),
            h.breaks.to_string(),
            h.unsigned.to_string(),
            h.incomplete.to_string(),
            h.interrupted.to_string(),
            c.problems
                .iter()
                .map(|p| format!("{}: {}", p.kind.as_str(), p.detail))
                .collect::<Vec<_>>()
                .join("; "),
        ]
    });
    csv_bytes(
        &[
            "cluster",
            "state",
            "latest_pack",
            "collected_at",
            "age_hours",
            "signature",
            "signing_key_fingerprint",
            "timestamped",
            "timestamped_at",
            "timestamp_authority",
            "collection_complete",
            "open_critical",
            "open_high",
            "open_medium",
            "open_low",
            "accepted",
            "chain_packs",
            "chain_gaps",
            "chain_breaks",
            "chain_unsigned",
            "chain_incomplete",
            "chain_interrupted",
            "problems",
        ],
        rows,
    )
}

/// One row per sub-processor and standing: the clusters where it stands the same way share a
/// row.
fn subprocessors_csv(doc: &FleetDocument) -> Vec<u8> {
    let rows = doc.sub_processors.iter().flat_map(|s| {
        s.standings.iter().map(|g| {
            vec![
                s.id.clone(),
                s.name.clone(),
                s.vendor.clone(),
                g.clusters.len().to_string(),
                g.clusters.join(" "),
                g.declared_access.clone(),
                g.observed_access.clone(),
                g.review.clone(),
                g.identities.to_string(),
                g.findings.to_string(),
                s.differences
                    .iter()
                    .map(|f| f.as_str())
                    .collect::<Vec<_>>()
                    .join("; "),
            ]
        })
    });
    csv_bytes(
        &[
            "sub_processor",
            "name",
            "vendor",
            "clusters",
            "cluster_names",
            "declared_access",
            "observed_access",
            "review",
            "identities",
            "findings",
            "differs_in",
        ],
        rows,
    )
}

fn subjects_csv(doc: &FleetDocument) -> Vec<u8> {
    let rows = doc.shared_subjects.iter().flat_map(|s| {
        s.clusters.iter().map(|c| {
            vec![
                s.subject.clone(),
                c.cluster.clone(),
                c.widest_scope.clone(),
                c.cluster_admin.clone(),
            ]
        })
    });
    csv_bytes(
        &["subject", "cluster", "widest_scope", "cluster_admin"],
        rows,
    )
}

fn repeated_csv(doc: &FleetDocument) -> Vec<u8> {
    let rows = doc.repeated_findings.iter().map(|f| {
        vec![
            f.id.clone(),
            f.rule_id.to_string(),
            f.severity.to_string(),
            f.title.clone(),
            f.clusters.len().to_string(),
            f.clusters.join(" "),
        ]
    });
    csv_bytes(
        &[
            "finding",
            "rule",
            "severity",
            "title",
            "clusters",
            "cluster_names",
        ],
        rows,
    )
}
