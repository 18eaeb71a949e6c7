//! `oscal-assessment-results.json`: the run as an OSCAL 1.1.2 assessment-results document. One
//! result per run; an observation per collected kind and per finding; an OSCAL finding per control
//! with its determination, linked to the observations that decided it; the Kubernetes subjects of
//! the findings as users. UUIDs are version 5, derived from the pack id, so the same pack always
//! gives the same document.

use super::ReportInput;
use crate::controls::ControlStatus;
use crate::finding::Finding;
use serde::Serialize;
use serde_json::{Value, json};
use std::borrow::Cow;
use std::collections::BTreeMap;
use uuid::Uuid;

pub const OSCAL_VERSION: &str = "1.1.2";
pub const FILE: &str = crate::files::OSCAL;
/// The namespace of the document's own property names.
const NS: &str = "urn:kube-evidence:oscal";

fn namespace() -> Uuid {
    Uuid::new_v5(&Uuid::NAMESPACE_URL, b"urn:kube-evidence")
}

struct Ids<'a> {
    ns: Uuid,
    pack_id: &'a str,
}

impl Ids<'_> {
    fn of(&self, what: &str, key: &str) -> String {
        Uuid::new_v5(
            &self.ns,
            format!("{}/{what}/{key}", self.pack_id).as_bytes(),
        )
        .to_string()
    }
}

/// An OSCAL token for a control ID: lower case, as OSCAL catalogs write them (`cc6.1`, `a.5.9`).
/// A token must start with a letter or `_`: ISO/IEC 27001:2022 Annex A controls (`5.9`) are
/// written as their Annex A reference (`a.5.9`); any other ID starting with a digit gets `_`.
pub fn control_token(framework: &str, id: &str) -> String {
    let token = id.trim().to_lowercase().replace(' ', "-");
    match token.chars().next() {
        Some(c) if c.is_alphabetic() || c == '_' => token,
        _ if framework.to_lowercase().starts_with("iso") => format!("a.{token}"),
        _ => format!("_{token}"),
    }
}

fn prop(name: &str, value: impl Into<String>) -> Value {
    json!({ "name": name, "ns": NS, "value": value.into() })
}

/// An OSCAL property written by this tool (typed where there is one per finding, so a large run
/// does not hold a JSON tree of them). Fields are declared in the order `json!` writes keys
/// (alphabetical), so the document reads the same either way.
#[derive(Serialize)]
struct Prop<'a> {
    name: &'static str,
    ns: &'static str,
    value: Cow<'a, str>,
}

fn typed_prop<'a>(name: &'static str, value: impl Into<Cow<'a, str>>) -> Prop<'a> {
    Prop {
        name,
        ns: NS,
        value: value.into(),
    }
}

#[derive(Serialize)]
struct Evidence {
    description: &'static str,
    href: String,
}

#[derive(Serialize)]
struct ObservedSubject<'a> {
    #[serde(rename = "subject-uuid")]
    subject_uuid: &'a str,
    title: String,
    #[serde(rename = "type")]
    kind: &'static str,
}

/// An OSCAL observation: one per collected kind and one per finding.
#[derive(Serialize)]
struct Observation<'a> {
    collected: &'a str,
    description: String,
    methods: [&'static str; 1],
    props: Vec<Prop<'a>>,
    #[serde(rename = "relevant-evidence")]
    relevant_evidence: [Evidence; 1],
    #[serde(skip_serializing_if = "Option::is_none")]
    remarks: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    subjects: Vec<ObservedSubject<'a>>,
    title: String,
    types: [&'static str; 1],
    uuid: String,
}

/// The run's one OSCAL result; the small parts stay JSON values.
#[derive(Serialize)]
struct RunResult<'a> {
    description: String,
    end: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    findings: Vec<Value>,
    #[serde(rename = "local-definitions", skip_serializing_if = "Option::is_none")]
    local_definitions: Option<Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    observations: Vec<Observation<'a>>,
    props: Vec<Value>,
    #[serde(rename = "reviewed-controls")]
    reviewed_controls: Value,
    start: &'a str,
    title: String,
    uuid: String,
}

#[derive(Serialize)]
struct AssessmentResults<'a> {
    #[serde(rename = "back-matter")]
    back_matter: Value,
    #[serde(rename = "import-ap")]
    import_ap: Value,
    metadata: Value,
    results: [RunResult<'a>; 1],
    uuid: String,
}

#[derive(Serialize)]
struct Document<'a> {
    #[serde(rename = "assessment-results")]
    assessment_results: AssessmentResults<'a>,
}

fn timestamp(t: chrono::DateTime<chrono::Utc>) -> String {
    // Whole seconds: the 1.1.2 schema's date-time pattern rejects fractional seconds.
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The finding's words and how much evidence stands behind it; the evidence itself is referenced
/// (`findings.json#ID`), not repeated.
fn finding_description(f: &Finding) -> String {
    let mut s = f.summary.clone();
    if !f.grants.is_empty() {
        s.push_str(&format!(
            " {} grant(s) behind it, each named in findings.json.",
            f.grants.len()
        ));
    }
    s
}

pub fn render(input: &ReportInput<'_>) -> Vec<u8> {
    let ids = Ids {
        ns: namespace(),
        pack_id: input.pack_id,
    };
    let snapshot = input.snapshot;
    let a = input.assessment;
    let collected = timestamp(snapshot.taken_at);
    let users = finding_subjects(input, &ids);
    let mut observations = collection_observations(input, &ids, &collected);
    let (finding_observations, finding_obs) = finding_observations(input, &ids, &collected, &users);
    observations.extend(finding_observations);
    let findings = control_findings(input, &ids, &finding_obs);

    let controls: Vec<Value> = a
        .controls
        .iter()
        .map(|c| json!({ "control-id": control_token(&c.framework, &c.id) }))
        .collect();

    let method_uuid = ids.of("resource", "method");
    let mut props = vec![
        prop("pack-id", input.pack_id),
        prop("cluster", snapshot.cluster.name.clone()),
        prop(
            "collection-complete",
            if snapshot.collector.is_complete() {
                "true"
            } else {
                "false"
            },
        ),
    ];
    if let Some(id) = &snapshot.cluster.id {
        props.push(prop("cluster-id", id.clone()));
    }
    let local_definitions = (!users.is_empty()).then(|| {
        json!({
            "users": users.iter().map(|(name, uuid)| json!({
                "uuid": uuid,
                "title": name,
                "description": "A Kubernetes subject named by a finding.",
            })).collect::<Vec<_>>()
        })
    });
    let result = RunResult {
        uuid: ids.of("result", "run"),
        title: format!("kube-evidence run {}", input.pack_id),
        description: format!(
            "Automated assessment of the RBAC state and sub-processor inventory of cluster {}.",
            snapshot.cluster.name
        ),
        start: &collected,
        end: timestamp(input.generated_at),
        props,
        reviewed_controls: json!({
            "control-selections": [{
                "description": "The controls of controls/*.yaml this run evaluated.",
                "include-controls": controls,
            }]
        }),
        local_definitions,
        observations,
        findings,
    };

    let doc = Document {
        assessment_results: AssessmentResults {
            uuid: ids.of("document", "assessment-results"),
            metadata: json!({
                "title": format!("kube-evidence assessment results: {}", snapshot.cluster.name),
                "last-modified": timestamp(input.generated_at),
                "version": input.pack_id,
                "oscal-version": OSCAL_VERSION,
                "props": [prop("tool-version", crate::TOOL_VERSION)],
            }),
            import_ap: json!({ "href": format!("#{method_uuid}") }),
            results: [result],
            back_matter: json!({
                "resources": [{
                    "uuid": method_uuid,
                    "title": "Assessment method",
                    "description": format!(
                        "kube-evidence {}: rule set {}, controls {}. The pack's manifest.json lists every file with its SHA-256.",
                        crate::TOOL_VERSION,
                        crate::rules::catalog::digest(),
                        input.controls_digest
                    ),
                    "rlinks": [{ "href": crate::files::FINDINGS_JSON, "media-type": "application/json" }],
                }]
            }),
        },
    };
    let mut out = serde_json::to_vec(&doc).expect("OSCAL serialises");
    out.push(b'\n');
    out
}

/// The subjects of findings, as users of the system, each with its UUID.
fn finding_subjects(input: &ReportInput<'_>, ids: &Ids<'_>) -> BTreeMap<String, String> {
    let a = input.assessment;
    let mut users: BTreeMap<String, String> = BTreeMap::new();
    for f in &a.analysis.findings {
        for s in &f.subjects {
            users
                .entry(s.to_string())
                .or_insert_with(|| ids.of("subject", &s.to_string()));
        }
    }

    users
}

/// One observation per collected kind: how many objects, from where, and whether complete.
fn collection_observations<'a>(
    input: &'a ReportInput<'_>,
    ids: &Ids<'_>,
    collected: &'a str,
) -> Vec<Observation<'a>> {
    let snapshot = input.snapshot;
    snapshot
        .collector
        .kinds
        .iter()
        .map(|(kind, c)| Observation {
            uuid: ids.of("collection", kind),
            title: format!("Collection of {kind}"),
            description: format!(
                "{} {kind} object(s) read from {}; collection {}{}.",
                c.count,
                snapshot.collector.source,
                c.status.as_str(),
                c.message
                    .as_ref()
                    .map(|m| format!(" ({m})"))
                    .unwrap_or_default()
            ),
            methods: ["AUTOMATED"],
            types: ["historic"],
            collected,
            relevant_evidence: [Evidence {
                href: crate::snapshot::SNAPSHOT_FILE.to_string(),
                description: "The canonical snapshot of the cluster's RBAC state in this pack.",
            }],
            props: vec![typed_prop("collection-status", c.status.as_str())],
            remarks: None,
            subjects: Vec::new(),
        })
        .collect()
}

/// One observation per finding, with its subjects; and each finding's observation UUID.
fn finding_observations<'a>(
    input: &'a ReportInput<'_>,
    ids: &Ids<'_>,
    collected: &'a str,
    users: &'a BTreeMap<String, String>,
) -> (Vec<Observation<'a>>, BTreeMap<&'a str, String>) {
    let a = input.assessment;
    let mut observations = Vec::new();
    let mut finding_obs: BTreeMap<&str, String> = BTreeMap::new();
    for f in &a.analysis.findings {
        let uuid = ids.of("finding", &f.id);
        finding_obs.insert(&f.id, uuid.clone());
        observations.push(Observation {
            uuid,
            title: format!("{}: {}", f.id, f.title),
            description: finding_description(f),
            props: vec![
                typed_prop("finding-id", f.id.as_str()),
                typed_prop("rule-id", f.rule_id.as_str()),
                typed_prop("severity", f.severity.as_str()),
                typed_prop("status", if f.is_open() { "open" } else { "accepted" }),
                typed_prop("system-component", if f.system { "true" } else { "false" }),
            ],
            methods: ["AUTOMATED"],
            types: ["finding"],
            collected,
            relevant_evidence: [Evidence {
                href: format!("findings.json#{}", f.id),
                description: "The finding with its grants and provenance.",
            }],
            remarks: Some(format!("Remediation: {}", f.remediation)),
            subjects: f
                .subjects
                .iter()
                .map(|s| {
                    let title = s.to_string();
                    ObservedSubject {
                        subject_uuid: users[&title].as_str(),
                        title,
                        kind: "user",
                    }
                })
                .collect(),
        });
    }

    (observations, finding_obs)
}

/// One OSCAL finding per control: its state (OSCAL has two, so not-assessed and manual evidence
/// are `not-satisfied` for `other` reasons, said in the remarks) and the observations behind it.
fn control_findings(
    input: &ReportInput<'_>,
    ids: &Ids<'_>,
    finding_obs: &BTreeMap<&str, String>,
) -> Vec<Value> {
    let a = input.assessment;
    let mut findings = Vec::new();
    for c in &a.controls {
        let (state, reason) = match c.status {
            ControlStatus::Satisfied => ("satisfied", "pass"),
            ControlStatus::NotSatisfied => ("not-satisfied", "fail"),
            // OSCAL has two states; a control the run could not decide is not satisfied for
            // lack of evidence, which `other` and the remarks say.
            ControlStatus::NotAssessed | ControlStatus::ManualEvidenceRequired => {
                ("not-satisfied", "other")
            }
        };
        let mut finding = json!({
            "uuid": ids.of("control", &format!("{}/{}", c.framework, c.id)),
            "title": format!("{} {}: {}", c.framework, c.id, c.title),
            "description": c.reason,
            "props": [
                prop("framework", c.framework.clone()),
                prop("control-status", c.status.as_str()),
            ],
            "target": {
                "type": "objective-id",
                "target-id": control_token(&c.framework, &c.id),
                "status": { "state": state, "reason": reason },
            },
        });
        if matches!(
            c.status,
            ControlStatus::NotAssessed | ControlStatus::ManualEvidenceRequired
        ) {
            // The reason, then what it does not already say (the gaps and the manual evidence
            // are often part of it): each thing said once.
            let mut remarks = vec![format!("{}: {}", c.status.as_str(), c.reason)];
            for extra in c.not_assessed.iter().chain(c.manual.iter()) {
                if !remarks.iter().any(|r| r.contains(extra.as_str())) {
                    remarks.push(extra.clone());
                }
            }
            finding["target"]["status"]["remarks"] = json!(remarks.join(" "));
        }
        let related: Vec<Value> = c
            .deciding_findings
            .iter()
            .chain(&c.related_findings)
            .chain(&c.accepted_findings)
            .filter_map(|id| finding_obs.get(id.as_str()))
            .map(|u| json!({ "observation-uuid": u }))
            .collect();
        if !related.is_empty() {
            finding["related-observations"] = Value::Array(related);
        }
        findings.push(finding);
    }

    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_ids_become_oscal_tokens() {
        assert_eq!(control_token("soc2", "CC6.1"), "cc6.1");
        assert_eq!(control_token("iso27001", "5.9"), "a.5.9");
        assert_eq!(control_token("iso27001", "A.5.9"), "a.5.9");
        assert_eq!(control_token("internal", "7 b"), "_7-b");
    }
}
