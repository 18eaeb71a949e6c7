//! The report of a review before install (`vendor review`): one model, rendered as a PDF and as
//! a self-contained HTML page with every value escaped.

use super::document::{PlainDocument, PlainSection};
use super::pdf::render_plain;
use crate::vendor::VendorReview;
use chrono::{DateTime, Utc};

/// What the reviewer reads, in order: the verdict, each identity's access, what the install adds
/// to the API server, who gains through aggregation, and the findings.
pub fn document(
    r: &VendorReview,
    manifests: &str,
    against: &str,
    at: DateTime<Utc>,
) -> PlainDocument {
    let product = r
        .product
        .as_ref()
        .map(|(_, name, vendor)| format!("{name} ({vendor})"))
        .unwrap_or_else(|| "a third party the vendor catalog does not know".into());
    PlainDocument {
        title: format!("Vendor review: {product}"),
        heading: "Vendor review before install".into(),
        header: format!("kube-evidence vendor review · namespace {}", r.namespace),
        footer: format!("Reviewed {}", at.format("%Y-%m-%d %H:%M:%S UTC")),
        identifier: format!(
            "vendor-review-{}-{}",
            r.namespace,
            at.format("%Y%m%dT%H%M%SZ")
        ),
        sections: vec![
            PlainSection::new(
                "Verdict",
                verdict(r, &product, manifests, against),
                &[],
                Vec::new(),
            ),
            identities_section(r),
            added_section(r),
            replaced_section(r),
            aggregation_section(r),
            findings_section(r),
        ],
    }
}

/// `text` when there are no rows, nothing otherwise.
fn when_empty(rows: &[Vec<String>], text: &str) -> Vec<String> {
    if rows.is_empty() {
        vec![text.into()]
    } else {
        Vec::new()
    }
}

fn identities_section(r: &VendorReview) -> PlainSection {
    let rows: Vec<Vec<String>> = r
        .identities
        .iter()
        .map(|i| {
            vec![
                i.subject.clone(),
                match &i.concern {
                    Some((severity, why)) => format!("{severity}: {why}"),
                    None => "-".into(),
                },
                i.access.clone(),
                i.cluster_admin.clone().unwrap_or_else(|| "no".into()),
                if i.reads_secrets.is_empty() {
                    "no".into()
                } else {
                    i.reads_secrets.join(", ")
                },
                i.grants.join("\n"),
            ]
        })
        .collect();
    PlainSection::new(
        "Identities and what they could do",
        Vec::new(),
        &[
            ("Identity", 1.3),
            ("Concern", 1.2),
            ("Access", 1.0),
            ("Cluster-admin", 1.0),
            ("Secrets", 0.8),
            ("Grants", 2.7),
        ],
        rows,
    )
}

fn added_section(r: &VendorReview) -> PlainSection {
    let mut rows = Vec::new();
    rows.extend(
        r.webhooks
            .iter()
            .map(|w| vec!["webhook configuration".to_string(), w.clone()]),
    );
    rows.extend(
        r.api_services
            .iter()
            .map(|a| vec!["APIService".to_string(), a.clone()]),
    );
    PlainSection::new(
        "Added to the API server",
        when_empty(&rows, "No webhook configuration or APIService."),
        &[("Kind", 1.0), ("Name", 3.0)],
        rows,
    )
}

fn replaced_section(r: &VendorReview) -> PlainSection {
    let rows: Vec<Vec<String>> = r
        .replaced
        .iter()
        .map(|x| {
            vec![
                x.severity.to_string(),
                x.object.clone(),
                x.what.clone(),
                if x.bound.is_empty() {
                    "-".to_string()
                } else {
                    x.bound.join("\n")
                },
                if x.served_now.is_empty() && x.served_by_vendor.is_empty() {
                    "-".to_string()
                } else {
                    format!(
                        "now: {}\nthe vendor's: {}",
                        x.served_now.join("; "),
                        x.served_by_vendor.join("; ")
                    )
                },
            ]
        })
        .collect();
    let paragraphs = if rows.is_empty() {
        vec!["None: the manifests create only objects the cluster does not have, and none of Kubernetes' own.".into()]
    } else {
        vec!["Applying the manifests replaces these objects: whoever is bound to a replaced role gets what the vendor's version grants, and the API server sends a replaced APIService's requests, or a replaced webhook configuration's admission reviews, to what serves the vendor's version.".into()]
    };
    PlainSection::new(
        "Objects of the cluster it would overwrite",
        paragraphs,
        &[
            ("Severity", 0.7),
            ("Object", 1.5),
            ("What it is", 1.6),
            ("Bound to it now", 1.5),
            ("Served by", 1.9),
        ],
        rows,
    )
}

fn aggregation_section(r: &VendorReview) -> PlainSection {
    let rows: Vec<Vec<String>> = r
        .aggregation
        .iter()
        .map(|g| vec![g.role.clone(), g.from.clone(), g.subjects.join("\n")])
        .collect();
    PlainSection::new(
        "Existing subjects that would gain through aggregation",
        when_empty(
            &rows,
            "None: no installed aggregated ClusterRole selects the vendor's ClusterRoles.",
        ),
        &[
            ("Aggregated role", 1.2),
            ("Vendor's ClusterRole", 1.5),
            ("Subjects who gain", 3.0),
        ],
        rows,
    )
}

fn findings_section(r: &VendorReview) -> PlainSection {
    let rows: Vec<Vec<String>> = r
        .findings
        .iter()
        .map(|f| vec![f.severity.to_string(), f.id.clone(), f.summary.clone()])
        .collect();
    PlainSection::new(
        "Findings",
        when_empty(&rows, "No finding."),
        &[("Severity", 0.7), ("Finding", 1.5), ("What", 4.0)],
        rows,
    )
}

/// The first section: what was reviewed against what, and the answer in three sentences.
fn verdict(r: &VendorReview, product: &str, manifests: &str, against: &str) -> Vec<String> {
    let admin: Vec<&str> = r
        .identities
        .iter()
        .filter(|i| i.cluster_admin.is_some())
        .map(|i| i.subject.as_str())
        .collect();
    let secrets: Vec<&str> = r
        .identities
        .iter()
        .filter(|i| !i.reads_secrets.is_empty())
        .map(|i| i.subject.as_str())
        .collect();
    let mut verdict = vec![
        format!(
            "What {product} would get if the manifests in {manifests} were applied in namespace {}, checked against {against}.",
            r.namespace
        ),
        format!(
            "Overall access: {}. Reaches cluster-admin: {}. Reads Secrets: {}.",
            r.level.as_str(),
            if admin.is_empty() {
                "no".to_string()
            } else {
                admin.join(", ")
            },
            if secrets.is_empty() {
                "no".to_string()
            } else {
                secrets.join(", ")
            }
        ),
        format!(
            "{} finding(s), {} of concern, and {} object(s) of the cluster overwritten ({} of them Kubernetes' own); the highest severity is {}.",
            r.findings.len(),
            match r.identities.iter().filter(|i| i.concern.is_some()).count() {
                1 => "1 identity".to_string(),
                n => format!("{n} identities"),
            },
            r.replaced.len(),
            r.replaced.iter().filter(|x| x.built_in).count(),
            r.worst.map_or("none".to_string(), |s| s.to_string())
        ),
    ];
    let taken_over: Vec<String> = r
        .replaced
        .iter()
        .filter(|x| !x.served_now.is_empty() && x.served_now != x.served_by_vendor)
        .map(|x| {
            format!(
                "{} (now {}; the vendor's {})",
                x.object,
                x.served_now.join("; "),
                x.served_by_vendor.join("; ")
            )
        })
        .collect();
    if !taken_over.is_empty() {
        verdict.push(format!(
            "It would take over what others serve now: {}.",
            taken_over.join(", ")
        ));
    }
    if !r.left_out.is_empty() {
        verdict.push(format!(
            "Not in the draft entry: {}.",
            r.left_out.join("; ")
        ));
    }
    if r.identities.is_empty() {
        verdict.push(
            "The manifests define, bind or run as no identity (ServiceAccount, user or group)."
                .into(),
        );
    }
    verdict
}

pub fn pdf(doc: &PlainDocument, at: DateTime<Utc>) -> Vec<u8> {
    render_plain(doc, at)
}
