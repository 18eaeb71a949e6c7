//! An independent checker of what a pack states. From `findings.json`, the snapshot and the
//! control definitions alone it recomputes every count, every control status, the diff's
//! reconciliation and every subject's cluster-admin reach, and checks that the HTML, the PDF, the
//! CSVs, `diff.json`, `index.json`, `trend.json`, OSCAL and `access --reach` all say the same.
//!
//! It reads the pack as plain JSON and text, never through the library's own types, and decides
//! control statuses with its own code: a disagreement between the two is a bug in one of them.
//! It runs on the sample chain and on a generated cluster.

use crate::common;

use chrono::{DateTime, Utc};
use kube_evidence::controls::Controls;
use kube_evidence::rules::CATALOG;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

// ---------------------------------------------------------------------------------------------
// Reading a pack as plain data.

struct Pack {
    dir: PathBuf,
    findings_doc: Value,
    snapshot: Value,
}

impl Pack {
    fn open(dir: &Path) -> Pack {
        let findings_doc = json_file(&dir.join("findings.json"));
        let gz = std::fs::read(dir.join("snapshot.json.gz")).unwrap();
        let mut text = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&gz[..]), &mut text)
            .unwrap();
        Pack {
            dir: dir.to_path_buf(),
            findings_doc,
            snapshot: serde_json::from_str(&text).unwrap(),
        }
    }

    fn findings(&self) -> &Vec<Value> {
        self.findings_doc["findings"].as_array().unwrap()
    }

    fn text(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    fn json(&self, name: &str) -> Value {
        json_file(&self.dir.join(name))
    }

    fn csv(&self, name: &str) -> Vec<BTreeMap<String, String>> {
        let mut r = csv::Reader::from_path(self.dir.join(name)).unwrap();
        let header: Vec<String> = r.headers().unwrap().iter().map(str::to_string).collect();
        r.records()
            .map(|rec| {
                let rec = rec.unwrap();
                header
                    .iter()
                    .cloned()
                    .zip(rec.iter().map(str::to_string))
                    .collect()
            })
            .collect()
    }
}

fn json_file(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap_or_else(|e| panic!("{path:?}: {e}")))
        .unwrap()
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

/// open, accepted or system: the three disjoint counts.
fn class(f: &Value) -> &'static str {
    if f["system"] == true {
        "system"
    } else if f["status"] == "open" {
        "open"
    } else {
        "accepted"
    }
}

const SEVERITIES: [&str; 5] = ["info", "low", "medium", "high", "critical"];

fn rank(sev: &str) -> usize {
    SEVERITIES.iter().position(|s| *s == sev).unwrap()
}

/// Open findings by severity, accepted, system, total.
fn counts(findings: &[Value]) -> (BTreeMap<String, usize>, usize, usize, usize) {
    let mut open: BTreeMap<String, usize> = SEVERITIES.iter().map(|s| (s.to_string(), 0)).collect();
    let (mut accepted, mut system) = (0, 0);
    for f in findings {
        match class(f) {
            "open" => *open.get_mut(s(&f["severity"])).unwrap() += 1,
            "accepted" => accepted += 1,
            _ => system += 1,
        }
    }
    (open, accepted, system, findings.len())
}

// ---------------------------------------------------------------------------------------------
// Control statuses, decided independently of the library.

fn subject_text(v: &Value) -> String {
    match s(&v["kind"]) {
        "ServiceAccount" => format!("ServiceAccount:{}/{}", s(&v["namespace"]), s(&v["name"])),
        kind => format!("{kind}:{}", s(&v["name"])),
    }
}

/// Whether a required fact holds: Ok(true) met, Ok(false) the control is not satisfied, Err
/// with "assess" or "manual" otherwise.
fn requirement(name: &str, basis: &Value) -> Result<bool, &'static str> {
    let previous = &basis["previousPack"];
    match name {
        "inventory" => basis["inventory"]
            .as_bool()
            .unwrap()
            .then_some(true)
            .ok_or("assess"),
        // A log, and enough of the usage window's days of it.
        "audit-log" => {
            let w = &basis["auditWindow"];
            (basis["auditLog"].as_bool().unwrap()
                && w["daysSeen"].as_u64() >= w["daysRequired"].as_u64()
                && !w.is_null())
            .then_some(true)
            .ok_or("assess")
        }
        "access-review" => (!basis["accessReviews"].is_null())
            .then_some(true)
            .ok_or("manual"),
        "previous-pack" => (!previous.is_null()).then_some(true).ok_or("assess"),
        // A record of image digests that covers the update period.
        "image-history" => {
            let h = &basis["imageHistory"];
            (!h.is_null()
                && !h["since"].is_null()
                && h["daysCovered"].as_i64() >= h["daysRequired"].as_i64())
            .then_some(true)
            .ok_or("assess")
        }
        "period" => {
            if previous.is_null() {
                return Err("assess");
            }
            let at = |v: &Value| s(v).parse::<DateTime<Utc>>().unwrap();
            let elapsed = at(&basis["collectedAt"]) - at(&previous["collectedAt"]);
            let hours = basis["scheduleIntervalHours"].as_i64().unwrap();
            // One schedule interval, less 5% for a scheduler's jitter.
            let minimum = chrono::Duration::minutes(hours * 60 * 95 / 100);
            (elapsed >= minimum).then_some(true).ok_or("assess")
        }
        "retention" => match s(&basis["retention"]["mode"]) {
            "compliance" => Ok(true),
            "governance" => Err("manual"),
            "none" => Ok(false),
            _ => Err("assess"),
        },
        other => panic!("unknown requirement {other}"),
    }
}

/// (status, deciding finding ids) per (framework, control id).
fn expected_controls(
    controls: &Controls,
    findings: &[Value],
    basis: &Value,
    collector: &Value,
) -> BTreeMap<(String, String), (String, BTreeSet<String>)> {
    let mut out = BTreeMap::new();
    for set in &controls.sets {
        for c in &set.controls {
            let deciding: BTreeMap<&str, usize> = c
                .rules
                .iter()
                .filter(|r| r.decides)
                .map(|r| (r.id.as_str(), rank(r.threshold.as_str())))
                .collect();
            let ids: BTreeSet<String> = findings
                .iter()
                .filter(|f| class(f) == "open")
                .filter(|f| {
                    deciding
                        .get(s(&f["ruleId"]))
                        .is_some_and(|t| rank(s(&f["severity"])) >= *t)
                })
                .map(|f| s(&f["id"]).to_string())
                .collect();
            let mut not_met = false;
            let mut unknown = false;
            let mut manual = c.manual.is_some();
            for rule in deciding.keys() {
                let def = CATALOG.iter().find(|d| d.id.as_str() == *rule).unwrap();
                for kind in def.requires {
                    if s(&collector["kinds"][kind.name()]["status"]) != "complete" {
                        unknown = true;
                    }
                }
                for need in def.needs {
                    if requirement(need, basis).is_err() {
                        unknown = true;
                    }
                }
            }
            for r in &c.requires {
                match requirement(r, basis) {
                    Ok(true) => {}
                    Ok(false) => not_met = true,
                    Err("manual") => manual = true,
                    Err(_) => unknown = true,
                }
            }
            if deciding.is_empty() && c.requires.is_empty() {
                manual = true;
            }
            let status = if !ids.is_empty() || not_met {
                "not-satisfied"
            } else if unknown {
                "not-assessed"
            } else if manual {
                "manual-evidence-required"
            } else {
                "satisfied"
            };
            out.insert(
                (c.framework.clone(), c.id.clone()),
                (status.to_string(), ids),
            );
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The checks, one per statement the pack makes.

/// The same escaping the HTML report applies to text.
fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;")
        .replace('/', "&#x2F;")
}

fn squash(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

struct Expected {
    open: BTreeMap<String, usize>,
    total_open: usize,
    accepted: usize,
    system: usize,
    controls: BTreeMap<(String, String), (String, BTreeSet<String>)>,
    /// (framework, status) -> count
    control_counts: BTreeMap<(String, String), usize>,
    privileged: usize,
    privileged_system: usize,
}

fn expected(pack: &Pack, controls: &Controls) -> Expected {
    let doc = &pack.findings_doc;
    let (open, accepted, system, _) = counts(pack.findings());
    let controls = expected_controls(
        controls,
        pack.findings(),
        &doc["assessmentBasis"],
        &pack.snapshot["collector"],
    );
    let mut control_counts = BTreeMap::new();
    for ((fw, _), (status, _)) in &controls {
        *control_counts
            .entry((fw.clone(), status.clone()))
            .or_default() += 1;
    }
    let matrix = doc["accessMatrix"].as_array().unwrap();
    Expected {
        total_open: open.values().sum(),
        open,
        accepted,
        system,
        controls,
        control_counts,
        privileged: matrix.iter().filter(|r| r["system"] == false).count(),
        privileged_system: matrix.iter().filter(|r| r["system"] == true).count(),
    }
}

fn check_findings_json(pack: &Pack, e: &Expected) {
    let summary = &pack.findings_doc["summary"];
    for (sev, n) in &e.open {
        assert_eq!(summary["open"][sev], *n as u64, "summary.open.{sev}");
    }
    assert_eq!(summary["accepted"], e.accepted as u64);
    assert_eq!(summary["system"], e.system as u64);
    assert_eq!(summary["total"], pack.findings().len() as u64);
    for c in pack.findings_doc["controls"].as_array().unwrap() {
        let key = (s(&c["framework"]).to_string(), s(&c["id"]).to_string());
        let (status, deciding) = &e.controls[&key];
        assert_eq!(
            s(&c["status"]),
            status,
            "{key:?}: findings.json says {}, the checker {status} ({})",
            c["status"],
            c["reason"]
        );
        let stated: BTreeSet<String> = c["decidingFindings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| s(v).to_string())
            .collect();
        assert_eq!(&stated, deciding, "{key:?}: deciding findings");
    }
    assert_eq!(
        pack.findings_doc["controls"].as_array().unwrap().len(),
        e.controls.len()
    );
}

fn framework_counts_line(e: &Expected, framework: &str, sep: &str) -> String {
    [
        "satisfied",
        "not-satisfied",
        "not-assessed",
        "manual-evidence-required",
    ]
    .iter()
    .map(|st| {
        format!(
            "{} {st}",
            e.control_counts
                .get(&(framework.to_string(), st.to_string()))
                .copied()
                .unwrap_or(0)
        )
    })
    .collect::<Vec<_>>()
    .join(sep)
}

fn frameworks(e: &Expected) -> BTreeSet<String> {
    e.controls.keys().map(|(fw, _)| fw.clone()).collect()
}

fn check_html(pack: &Pack, e: &Expected, diff: &Value) {
    let html = pack.text("report.html");
    let text = squash(&html);
    assert!(
        text.contains(&format!("It found {} open finding(s)", e.total_open)),
        "HTML summary: open findings"
    );
    assert!(text.contains(&format!(
        "{} accepted by exceptions in force and {} about Kubernetes system components",
        e.accepted, e.system
    )));
    assert!(text.contains(&format!(
        "{} subject(s) hold privileged access ({} more rows of the access matrix are Kubernetes system components",
        e.privileged, e.privileged_system
    )));
    for fw in frameworks(e) {
        let line = framework_counts_line(e, &fw, " &middot; ");
        assert!(html.contains(&line), "HTML control counts of {fw}: {line}");
    }
    for ((fw, id), (status, _)) in &e.controls {
        let cell = format!("<td class=\"mono\">{}</td><td>", html_escape(id));
        let row = html
            .lines()
            .find(|l| l.contains(&cell) && l.contains("class=\"st-"))
            .unwrap_or_else(|| panic!("HTML row of {fw} {id}"));
        assert!(
            row.contains(&format!("class=\"st-{status}\"")),
            "HTML status of {fw} {id}: expected {status} in {row}"
        );
    }
    // Every open and accepted finding is in the findings section: in full, in one line, or
    // counted in the note that sends the reader to findings.json (the report is bounded).
    let section = html.split("<section id=\"findings\">").nth(1).unwrap();
    let section = section.split("</section>").next().unwrap();
    let in_full = section.matches("<div class=\"finding ").count();
    let one_line = section.matches("<tr id=\"").count();
    let left: usize = section
        .split("<p class=\"note\">")
        .skip(1)
        .filter(|n| n.contains(" finding(s) are not listed here"))
        .map(|n| n.split(' ').next().unwrap().parse::<usize>().unwrap())
        .sum();
    assert!(in_full <= kube_evidence::report::bounds::FINDINGS_IN_FULL);
    assert_eq!(
        in_full + one_line + left,
        e.total_open + e.accepted,
        "HTML shows or counts every open and accepted finding ({in_full} in full, {one_line} in one line, {left} left to findings.json)"
    );
    let matrix = html.split("id=\"access-matrix\"").nth(1).unwrap();
    let matrix = matrix.split("</table>").next().unwrap();
    let shown = pack.findings_doc["accessMatrix"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["widestScope"] != "local" || !r["cells"]["clusterAdmin"].is_null())
        .count();
    assert_eq!(
        matrix.matches("<tr><td").count(),
        shown,
        "HTML matrix rows: every subject beyond its own namespace, or reaching cluster-admin"
    );
    assert!(text.contains(&format!(
        "access-matrix.csv ({} subjects)",
        e.privileged + e.privileged_system
    )));
    assert!(text.contains(&squash(&html_escape(&headline_numbers(diff)))));
}

/// The part of the changes headline that carries numbers.
fn headline_numbers(diff: &Value) -> String {
    let f = &diff["findings"];
    let n = |k: &str| f[k].as_array().unwrap().len();
    if diff["baseline"] == true {
        format!("its {} open finding(s) are all new", n("new"))
    } else {
        format!(
            "open findings went from {} to {}: {} persisting, {} superseded (gone by id, but their subjects still hold what they reported), {} resolved and {} new",
            f["previousOpen"],
            f["currentOpen"],
            n("persisting"),
            n("superseded"),
            n("resolved"),
            n("new")
        )
    }
}

fn check_pdf(pack: &Pack, e: &Expected, diff: &Value) {
    let out = std::process::Command::new("pdftotext")
        .arg(pack.dir.join("report.pdf"))
        .arg("-")
        .output()
        .expect("pdftotext runs (poppler-utils, installed by tests/run.sh)");
    assert!(out.status.success());
    let text = squash(&String::from_utf8_lossy(&out.stdout));
    for want in [
        format!("It found {} open finding(s)", e.total_open),
        format!(
            "{} accepted by exceptions in force and {} about Kubernetes system components",
            e.accepted, e.system
        ),
        format!("{} subject(s) hold privileged access", e.privileged),
        headline_numbers(diff),
    ] {
        assert!(text.contains(&want), "PDF lacks {want:?}");
    }
    for fw in frameworks(e) {
        let line = framework_counts_line(e, &fw, " · ");
        assert!(text.contains(&line), "PDF control counts of {fw}: {line}");
    }
}

fn check_csvs(pack: &Pack) {
    let doc = &pack.findings_doc;
    let rows = pack.csv("findings.csv");
    assert_eq!(rows.len(), pack.findings().len(), "findings.csv rows");
    let by_id: BTreeMap<&str, &Value> = pack.findings().iter().map(|f| (s(&f["id"]), f)).collect();
    for r in &rows {
        let f = by_id[r["id"].as_str()];
        assert_eq!(r["status"], s(&f["status"]), "{}", r["id"]);
        assert_eq!(r["system"] == "yes", f["system"] == true, "{}", r["id"]);
        assert_eq!(r["severity"], s(&f["severity"]));
        let exception = &f["exception"];
        assert_eq!(r["exception"], exception["id"].as_str().unwrap_or(""));
        assert_eq!(
            r["exception_approver"],
            exception["approver"].as_str().unwrap_or("")
        );
        assert_eq!(
            r["exception_expires"],
            exception["expires"].as_str().unwrap_or("")
        );
    }
    // Every control that cites a finding, and only those, in its row of findings.csv.
    let controls = doc["controls"].as_array().unwrap();
    let mut citing: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for c in controls {
        for list in ["decidingFindings", "relatedFindings", "acceptedFindings"] {
            for id in c[list].as_array().unwrap() {
                citing.entry(s(id)).or_default().push(format!(
                    "{} {}",
                    s(&c["framework"]),
                    s(&c["id"])
                ));
            }
        }
    }
    for r in &rows {
        let want = citing
            .get(r["id"].as_str())
            .map(|v| v.join("; "))
            .unwrap_or_default();
        assert_eq!(r["controls"], want, "controls of {}", r["id"]);
    }
    // controls.csv: one row per control, its counts recomputed from findings.json.
    let rows = pack.csv("controls.csv");
    assert_eq!(rows.len(), controls.len(), "controls.csv rows");
    for (r, c) in rows.iter().zip(controls) {
        assert_eq!(r["control_id"], s(&c["id"]));
        assert_eq!(r["status"], s(&c["status"]), "{}", r["control_id"]);
        assert_eq!(r["reason"], s(&c["reason"]), "{}", r["control_id"]);
        for sev in ["critical", "high", "medium", "low", "info"] {
            let n = c["decidingFindings"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|id| s(&by_id[s(id)]["severity"]) == sev)
                .count();
            assert_eq!(
                r[&format!("deciding_{sev}")],
                n.to_string(),
                "{} {sev}",
                r["control_id"]
            );
        }
        assert_eq!(
            r["accepted"],
            c["acceptedFindings"].as_array().unwrap().len().to_string()
        );
    }
    let matrix = doc["accessMatrix"].as_array().unwrap();
    let rows = pack.csv("access-matrix.csv");
    assert_eq!(rows.len(), matrix.len(), "access-matrix.csv rows");
    for (r, m) in rows.iter().zip(matrix) {
        assert_eq!(
            r["clusterAdmin"],
            s(&m["cells"]["clusterAdmin"]),
            "access-matrix.csv clusterAdmin of {}",
            subject_text(&m["subject"])
        );
    }
    let register = doc["register"].as_array().unwrap();
    if !register.is_empty() {
        let rows = pack.csv("subprocessors.csv");
        assert_eq!(rows.len(), register.len());
        for (r, g) in rows.iter().zip(register) {
            assert_eq!(r["id"], s(&g["id"]));
            assert_eq!(r["observed_access"], s(&g["observedAccess"]));
            assert_eq!(r["updates"], s(&g["updates"]));
        }
        // The Updates column is the image record's summary, and every update finding of a
        // sub-processor is listed in its row; vendor-updates.csv has a row per image.
        let updates = pack.json("vendor-updates.json");
        let mut images = 0;
        for u in updates["rows"].as_array().unwrap() {
            let row = register
                .iter()
                .find(|g| g["id"] == u["subProcessor"])
                .unwrap();
            assert_eq!(row["updates"], u["summary"]);
            images += u["images"].as_array().unwrap().len();
        }
        assert_eq!(pack.csv("vendor-updates.csv").len(), images);
        for f in doc["findings"].as_array().unwrap() {
            if s(&f["ruleId"]).starts_with("KE-UPD-") {
                let row = register
                    .iter()
                    .find(|g| g["id"] == f["subProcessor"])
                    .unwrap();
                assert!(
                    row["findings"].as_array().unwrap().contains(&f["id"]),
                    "{} not in the register row of {}",
                    f["id"],
                    f["subProcessor"]
                );
            }
        }
    }
}

fn check_diff(pack: &Pack, previous: Option<&Pack>) -> Value {
    let diff = pack.json("diff.json");
    let f = &diff["findings"];
    let ids = |k: &str| -> BTreeSet<String> {
        f[k].as_array()
            .unwrap()
            .iter()
            .map(|r| s(&r["id"]).to_string())
            .collect()
    };
    let (new, persisting, resolved, superseded, accepted, system) = (
        ids("new"),
        ids("persisting"),
        ids("resolved"),
        ids("superseded"),
        ids("accepted"),
        ids("system"),
    );
    // Every finding of the pack in exactly one bucket.
    let all: Vec<&str> = pack.findings().iter().map(|f| s(&f["id"])).collect();
    for id in &all {
        let n = [&new, &persisting, &accepted, &system]
            .iter()
            .filter(|b| b.contains(*id))
            .count();
        assert_eq!(n, 1, "{id} is in {n} buckets");
    }
    assert_eq!(
        new.len() + persisting.len() + accepted.len() + system.len(),
        all.len()
    );
    let open_now: BTreeSet<String> = pack
        .findings()
        .iter()
        .filter(|f| class(f) == "open")
        .map(|f| s(&f["id"]).to_string())
        .collect();
    assert_eq!(f["currentOpen"], open_now.len() as u64);
    assert_eq!(open_now.len(), persisting.len() + new.len());
    let open_before: BTreeSet<String> = previous
        .map(|p| {
            p.findings()
                .iter()
                .filter(|f| class(f) == "open")
                .map(|f| s(&f["id"]).to_string())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(f["previousOpen"], open_before.len() as u64);
    assert_eq!(
        open_before.len(),
        persisting.len() + superseded.len() + resolved.len()
    );
    assert_eq!(
        persisting,
        open_now.intersection(&open_before).cloned().collect()
    );
    // Gone by id: resolved, or superseded when a subject still holds what it reported through
    // an open finding of now (of the same rule or capability, or KE-RBAC-001).
    assert_eq!(
        resolved
            .union(&superseded)
            .cloned()
            .collect::<BTreeSet<String>>(),
        open_before.difference(&open_now).cloned().collect()
    );
    assert!(resolved.is_disjoint(&superseded));
    for id in &superseded {
        let before = previous
            .unwrap()
            .findings()
            .iter()
            .find(|f| s(&f["id"]) == id.as_str())
            .unwrap();
        let subjects = before["subjects"].as_array().unwrap();
        assert!(
            pack.findings().iter().any(|f| class(f) == "open"
                && f["subjects"]
                    .as_array()
                    .is_some_and(|now| now.iter().any(|x| subjects.contains(x)))),
            "{id} is superseded, but none of its subjects is in an open finding now"
        );
    }
    // Privileged gains come first.
    let grants = diff["grants"].as_array().unwrap();
    let order: Vec<(bool, bool)> = grants
        .iter()
        .map(|g| (g["privileged"] == true, g["change"] == "gained"))
        .collect();
    let mut sorted = order.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(order, sorted, "privileged first, gains before losses");
    // changes.csv carries the same finding changes (a baseline lists none).
    let rows = pack.csv("changes.csv");
    let count = |t: &str| rows.iter().filter(|r| r["change_type"] == t).count();
    let baseline = diff["baseline"] == true;
    assert_eq!(count("finding-new"), if baseline { 0 } else { new.len() });
    assert_eq!(count("finding-resolved"), resolved.len());
    diff
}

fn check_oscal(pack: &Pack, e: &Expected) {
    let doc = pack.json("oscal-assessment-results.json");
    let result = &doc["assessment-results"]["results"][0];
    let prop = |v: &Value, name: &str| -> String {
        v["props"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .map(|p| s(&p["value"]).to_string())
            .unwrap_or_default()
    };
    let findings = result["findings"].as_array().unwrap();
    assert_eq!(findings.len(), e.controls.len());
    for f in findings {
        let key = (prop(f, "framework"), {
            let title = s(&f["title"]);
            title
                .split_once(' ')
                .unwrap()
                .1
                .split_once(':')
                .unwrap()
                .0
                .to_string()
        });
        let (status, _) = &e.controls[&key];
        assert_eq!(&prop(f, "control-status"), status, "OSCAL {key:?}");
        let state = s(&f["target"]["status"]["state"]);
        assert_eq!(
            state,
            if status == "satisfied" {
                "satisfied"
            } else {
                "not-satisfied"
            },
            "OSCAL state of {key:?}"
        );
    }
    let finding_observations = result["observations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| !prop(o, "finding-id").is_empty())
        .count();
    assert_eq!(finding_observations, pack.findings().len());
}

fn check_trend(pack: &Pack, e: &Expected) {
    let trend = pack.json("trend.json");
    let last = trend["points"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["packId"], pack.findings_doc["packId"]);
    assert_eq!(last["openFindings"], e.total_open as u64);
    assert_eq!(last["privilegedSubjects"], e.privileged as u64);
    assert_eq!(
        last["subProcessors"],
        pack.findings_doc["register"].as_array().unwrap().len() as u64
    );
}

fn check_index(cluster_dir: &Path, pack: &Pack, e: &Expected) {
    let index = json_file(&cluster_dir.join("index.json"));
    let entry = index["packs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["packId"] == pack.findings_doc["packId"])
        .expect("the pack is in index.json");
    for (sev, n) in &e.open {
        assert_eq!(
            entry["openFindings"][sev], *n as u64,
            "index.json open {sev}"
        );
    }
    assert_eq!(entry["acceptedFindings"], e.accepted as u64);
    for ((fw, status), n) in &e.control_counts {
        assert_eq!(
            entry["controls"][fw][status], *n as u64,
            "index.json {fw} {status}"
        );
    }
}

/// Every subject's cluster-admin reach says the same in the privilege table, the rules, the
/// matrix and the register; `reach` answers what `access --reach` says for a subject.
fn check_privilege(pack: &Pack, reach: &dyn Fn(&str) -> String) {
    let doc = &pack.findings_doc;
    let table: BTreeMap<String, &Value> = doc["privilege"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (subject_text(&p["subject"]), p))
        .collect();
    let describe = |p: &Value| -> String {
        match s(&p["level"]) {
            "direct" => "direct".to_string(),
            _ => {
                let n = p["steps"].as_u64().unwrap();
                format!("via escalation ({n} step{})", if n == 1 { "" } else { "s" })
            }
        }
    };
    let mut by_rule: BTreeMap<(String, String), Vec<&Value>> = BTreeMap::new();
    for f in pack.findings() {
        if let Some(subjects) = f["subjects"].as_array() {
            for subj in subjects {
                by_rule
                    .entry((s(&f["ruleId"]).to_string(), subject_text(subj)))
                    .or_default()
                    .push(f);
            }
        }
    }
    let matrix: BTreeMap<String, &Value> = doc["accessMatrix"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (subject_text(&r["subject"]), r))
        .collect();
    let mut subjects: BTreeSet<String> = table.keys().cloned().collect();
    subjects.extend(matrix.keys().cloned());
    for subject in &subjects {
        let entry = table.get(subject);
        let cell = matrix
            .get(subject)
            .map(|r| s(&r["cells"]["clusterAdmin"]).to_string())
            .unwrap_or_default();
        let direct = by_rule.contains_key(&("KE-RBAC-001".into(), subject.clone()));
        let escalation = by_rule.get(&("KE-RBAC-026".into(), subject.clone()));
        match entry {
            Some(p) if p["level"] == "direct" => {
                assert!(
                    cell.starts_with("direct"),
                    "{subject}: matrix says {cell:?}"
                );
                assert!(direct && escalation.is_none(), "{subject}: rules");
                assert!(
                    reach(subject).starts_with("direct"),
                    "{subject}: access --reach"
                );
            }
            Some(p) => {
                let words = describe(p);
                assert_eq!(cell, words, "{subject}: matrix");
                assert!(!direct, "{subject}: no KE-RBAC-001 for an escalation");
                let f = escalation.unwrap_or_else(|| panic!("{subject}: KE-RBAC-026"));
                // One finding per binding that gives a first step (a way in): the binding of
                // the first step of its shortest path is the cause of one of them, and each
                // finding shows its group's shortest path through its own cause.
                let path = common::path_of(doc, p);
                assert_eq!(path.len() as u64, p["steps"].as_u64().unwrap());
                let binding_text = |b: &Value| match b["namespace"].as_str() {
                    Some(ns) => format!("{} {ns}/{}", s(&b["kind"]), s(&b["name"])),
                    None => format!("{} {}", s(&b["kind"]), s(&b["name"])),
                };
                let first = path
                    .iter()
                    .find(|step| step["grant"].is_object())
                    .map(|step| binding_text(&step["grant"]["binding"]))
                    .unwrap_or_else(|| panic!("{subject}: a step with a grant"));
                let causes: Vec<String> = f.iter().map(|x| s(&x["cause"]).to_string()).collect();
                assert!(
                    causes.contains(&first),
                    "{subject}: its shortest path enters through {first}, findings are about {causes:?}"
                );
                for x in f {
                    let bindings: Vec<&Value> = x["grants"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .flat_map(|g| g["bindings"].as_array().into_iter().flatten())
                        .collect();
                    assert!(
                        bindings.iter().all(|b| *b == &x["cause"]),
                        "{subject}: {} lists the grants of its cause only: {bindings:?}",
                        x["id"]
                    );
                }
                assert_eq!(reach(subject), words, "{subject}: access --reach");
            }
            None => {
                assert!(cell.is_empty(), "{subject}: matrix says {cell:?}, no reach");
                assert!(!direct && escalation.is_none(), "{subject}: rules");
            }
        }
    }
    // The register's observed access names the strongest reach of the entry's identities.
    for row in doc["register"].as_array().unwrap() {
        let identities: Vec<&str> = row["identitiesFound"]
            .as_array()
            .unwrap()
            .iter()
            .map(s)
            .collect();
        let strongest = identities
            .iter()
            .filter_map(|i| table.get(*i))
            .map(|p| match s(&p["level"]) {
                "direct" => 0,
                _ => p["steps"].as_u64().unwrap(),
            })
            .min();
        let observed = s(&row["observedAccess"]);
        match strongest {
            Some(0) => assert!(
                observed.starts_with("cluster-admin (direct"),
                "{}: {observed}",
                row["id"]
            ),
            Some(n) => assert!(
                observed.starts_with(&format!(
                    "cluster-admin via escalation ({n} step{}",
                    if n == 1 { "" } else { "s" }
                )),
                "{}: {observed}",
                row["id"]
            ),
            None => assert!(
                !observed.contains("cluster-admin"),
                "{}: {observed}",
                row["id"]
            ),
        }
    }
}

/// Everything, for one pack of a chain.
fn check_pack(
    cluster_dir: &Path,
    pack: &Pack,
    previous: Option<&Pack>,
    controls: &Controls,
    reach: &dyn Fn(&str) -> String,
    with_pdf: bool,
) {
    let e = expected(pack, controls);
    check_findings_json(pack, &e);
    let diff = check_diff(pack, previous);
    check_html(pack, &e, &diff);
    if with_pdf {
        check_pdf(pack, &e, &diff);
    }
    check_csvs(pack);
    check_oscal(pack, &e);
    check_trend(pack, &e);
    check_index(cluster_dir, pack, &e);
    check_privilege(pack, reach);
}

// ---------------------------------------------------------------------------------------------
// The sample chain, through the binary.

fn cli_reach(pack_dir: &Path) -> impl Fn(&str) -> String + '_ {
    move |subject: &str| {
        let r = common::run(
            &[
                "access",
                subject,
                "--reach",
                "--format",
                "json",
                "--snapshot",
                pack_dir.to_str().unwrap(),
            ],
            &[],
            &common::repo(),
        );
        r.assert_ok();
        let v: Value = serde_json::from_str(&r.stdout).unwrap();
        s(&v["reach"]["clusterAdmin"]).to_string()
    }
}

fn sample_chain_agrees(with_pdf: bool) {
    let out = tempfile::tempdir().unwrap();
    let dirs = common::sample_chain(out.path());
    assert_eq!(dirs.len(), 2);
    let packs: Vec<Pack> = dirs.iter().map(|d| Pack::open(d)).collect();
    let controls = Controls::builtin();
    for (i, pack) in packs.iter().enumerate() {
        let reach = cli_reach(&pack.dir);
        check_pack(
            &out.path().join("sample-prod-eu-1"),
            pack,
            i.checked_sub(1).map(|p| &packs[p]),
            &controls,
            &reach,
            with_pdf,
        );
    }
}

#[test]
fn every_statement_of_the_sample_packs_follows_from_findings_and_snapshot() {
    sample_chain_agrees(false);
}

#[test]
#[ignore = "needs pdftotext (poppler-utils), which tests/run.sh installs"]
fn the_pdf_of_the_sample_packs_states_the_same_numbers() {
    sample_chain_agrees(true);
}

// ---------------------------------------------------------------------------------------------
// A generated cluster, through the library's own pipeline.

struct Fixed(kube_evidence::snapshot::Snapshot);

#[async_trait::async_trait]
impl kube_evidence::source::Source for Fixed {
    fn describe(&self) -> String {
        "generated".into()
    }
    async fn collect(
        &self,
        ctx: &kube_evidence::source::CollectContext<'_>,
    ) -> Result<kube_evidence::snapshot::Snapshot, kube_evidence::source::SourceError> {
        let mut s = self.0.clone();
        s.taken_at = ctx.taken_at;
        Ok(s)
    }
    async fn config_map(
        &self,
        _: &str,
        _: &str,
    ) -> Result<Option<BTreeMap<String, String>>, kube_evidence::source::SourceError> {
        Ok(None)
    }
}

fn generated(seed: u64, perturb: bool) -> kube_evidence::snapshot::Snapshot {
    use kube_evidence::snapshot::{CollectionStatus, KindCollection, ResourceKind};
    let base = kube_evidence::synthetic::cluster(kube_evidence::synthetic::Shape {
        namespaces: 60,
        role_bindings: 600,
        cluster_roles: 120,
        service_accounts: 240,
        cluster_role_bindings: 40,
        seed,
        knobs: kube_evidence::synthetic::Knobs::TIDY,
    });
    let mut s = if perturb {
        kube_evidence::synthetic::perturb(&base, 30, seed + 1)
    } else {
        base
    };
    plant_risks(&mut s);
    for kind in ResourceKind::ALL {
        s.collector.kinds.insert(
            kind.name().to_string(),
            KindCollection {
                status: CollectionStatus::Complete,
                count: 0,
                message: None,
            },
        );
    }
    s.canonicalize();
    s
}

/// Grants that reach cluster-admin directly and by escalation, so the privilege checks bite.
fn plant_risks(s: &mut kube_evidence::snapshot::Snapshot) {
    use kube_evidence::snapshot::{
        ClusterRole, ClusterRoleBinding, ObjectMeta, PolicyRule, RoleRef, Subject,
    };
    let user = |name: &str| Subject {
        kind: "User".into(),
        name: name.into(),
        namespace: None,
        api_group: Some("rbac.authorization.k8s.io".into()),
    };
    let binding = |name: &str, role: &str, subject: Subject| ClusterRoleBinding {
        metadata: ObjectMeta::named(name),
        role_ref: RoleRef {
            api_group: "rbac.authorization.k8s.io".into(),
            kind: "ClusterRole".into(),
            name: role.into(),
        },
        subjects: vec![subject],
    };
    s.cluster_roles.push(ClusterRole {
        metadata: ObjectMeta::named("planted-impersonator"),
        rules: vec![PolicyRule {
            verbs: vec!["impersonate".into()],
            api_groups: vec!["".into()],
            resources: vec!["groups".into()],
            ..Default::default()
        }],
        aggregation_rule: None,
    });
    s.cluster_role_bindings.push(binding(
        "planted-admin",
        "role-0000",
        user("planted-admin@example.com"),
    ));
    s.cluster_role_bindings.push(binding(
        "planted-impersonator",
        "planted-impersonator",
        user("planted-impersonator@example.com"),
    ));
}

/// Controls that take every status on the generated cluster's second pack.
const EVERY_STATUS: &str = "apiVersion: kube-evidence.io/v1\nkind: ControlSet\nframework: {id: every-status, name: Every status}\ncontrols:\n\
- {id: SAT, framework: every-status, title: No forged role references, summary: s, rules: [{id: KE-RBAC-028, role: primary}], evidence: [snapshot]}\n\
- {id: NOT, framework: every-status, title: No cluster-admin, summary: s, rules: [{id: KE-RBAC-001, role: primary}], evidence: [snapshot]}\n\
- {id: ASSESS, framework: every-status, title: Records kept, summary: s, rules: [], evidence: [chain], requires: [retention]}\n\
- {id: MANUAL, framework: every-status, title: Policy, summary: s, rules: [{id: KE-RBAC-028, role: related}], evidence: [snapshot], manual: Attach the policy.}\n\
- {id: CONTEXT, framework: every-status, title: Context only, summary: s, rules: [{id: KE-RBAC-001, role: related, decides: false}, {id: KE-RBAC-002, role: related, threshold: critical}], evidence: [snapshot]}\n";

/// Two sub-processors of the generated cluster: one claims two namespaces, one two accounts.
const GENERATED_INVENTORY: &str = "apiVersion: kube-evidence.io/v1\nkind: SubProcessorInventory\nsubProcessors:\n\
- id: acme-agent\n  name: ACME agent\n  vendor: ACME\n  owner: platform@example.com\n  contract: {dpaSigned: 2026-01-01}\n  certifications: [{type: iso27001, expires: 2027-12-31}]\n  lastReviewed: 2026-01-05\n  identities: {namespaces: [ns-00003, ns-00007]}\n  declaredAccess: {level: read-only-no-secrets}\n\
- id: build-bot\n  name: Build bot\n  vendor: CI Inc.\n  identities: {serviceAccounts: [ns-00011/sa-1, ns-00012/sa-2]}\n  declaredAccess: {level: namespaced-write}\n";

#[test]
fn every_statement_of_a_generated_cluster_pack_follows_from_findings_and_snapshot() {
    use kube_evidence::run::{RunPlan, Signing, run};
    let out = tempfile::tempdir().unwrap();
    let inventory = out.path().join("inventory.yaml");
    std::fs::write(&inventory, GENERATED_INVENTORY).unwrap();
    // The shipped frameworks and one that reaches every status on this cluster.
    let controls_dir = out.path().join("controls");
    std::fs::create_dir(&controls_dir).unwrap();
    for (name, text) in kube_evidence::controls::load::BUILTIN {
        std::fs::write(
            controls_dir.join(Path::new(name).file_name().unwrap()),
            text,
        )
        .unwrap();
    }
    std::fs::write(controls_dir.join("every-status.yaml"), EVERY_STATUS).unwrap();
    let store = kube_evidence::store::local::LocalStore::new(out.path().join("store"));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let start: DateTime<Utc> = "2026-01-10T02:00:00Z".parse().unwrap();
    for (day, perturb) in [(0, false), (1, true)] {
        let plan = RunPlan {
            signing: Signing::Unsigned,
            cluster_name: "generated".into(),
            source: kube_evidence::source::SourceSpec::Cluster,
            out: kube_evidence::store::StoreUrl::Local(out.path().join("store")),
            inventory: Some(kube_evidence::inventory::InventoryRef::File(
                inventory.clone(),
            )),
            controls_dir: Some(controls_dir.clone()),
            exceptions: None,
            fail_on: None,
            require_complete: false,
            schedule_interval_hours: 24,
            allowed_signers: None,
            audit_log: None,
            review_period_days: 90,
            timestamp_authority: None,
            image_max_age_days: 180,
        };
        let clock = kube_evidence::clock::FixedClock(start + chrono::Duration::days(day));
        rt.block_on(run(
            &plan,
            &Fixed(generated(7, perturb)),
            &store,
            &clock,
            &kube_evidence::progress::NoProgress,
        ))
        .unwrap();
    }
    let cluster_dir = out.path().join("store/generated");
    let dirs = common::pack_dirs(&cluster_dir);
    assert_eq!(dirs.len(), 2);
    let packs: Vec<Pack> = dirs.iter().map(|d| Pack::open(d)).collect();
    let controls = kube_evidence::controls::load_dir(&controls_dir).unwrap();
    let statuses: BTreeSet<&str> = packs[1].findings_doc["controls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| s(&c["status"]))
        .collect();
    assert_eq!(statuses.len(), 4, "every status is exercised: {statuses:?}");
    for (i, pack) in packs.iter().enumerate() {
        // access --reach's answer, from the same function the command calls.
        let snapshot =
            kube_evidence::snapshot::read_snapshot_file(&pack.dir.join("snapshot.json.gz"))
                .unwrap();
        let index = kube_evidence::rbac::RbacIndex::build(&snapshot);
        let graph = kube_evidence::rbac::reach::ReachGraph::build(&index, &snapshot);
        let reach = |subject: &str| {
            let subject = kube_evidence::rbac::SubjectRef::parse(subject).unwrap();
            kube_evidence::rbac::privilege::admin_reach(
                &index,
                &graph,
                &kube_evidence::rbac::Identity::of(&subject, &[]),
            )
            .map_or_else(|| "none".to_string(), |r| r.describe_for(&subject))
        };
        check_pack(
            &cluster_dir,
            pack,
            i.checked_sub(1).map(|p| &packs[p]),
            &controls,
            &reach,
            false,
        );
        assert!(
            !pack.findings_doc["privilege"]
                .as_array()
                .unwrap()
                .is_empty(),
            "the generated cluster has subjects that reach cluster-admin"
        );
    }
}
