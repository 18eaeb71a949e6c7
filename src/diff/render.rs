//! The diff for people (a table) and for populations (`changes.csv`: one row per change).

use super::{Diff, GrantChangeKind};

/// One row of `changes.csv`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ChangeRow {
    pub window_from: String,
    pub window_to: String,
    pub change_type: String,
    pub subject: String,
    pub what: String,
    pub privileged: bool,
    pub provenance: String,
    pub sub_processor: String,
}

pub const CHANGE_HEADER: &[&str] = &[
    "window_from",
    "window_to",
    "change_type",
    "subject",
    "permission_or_object",
    "privileged",
    "provenance",
    "sub_processor",
];

/// The window a change row belongs to: the two packs' collection times.
struct Window {
    from: String,
    to: String,
}

impl Window {
    fn row(
        &self,
        change_type: String,
        subject: String,
        what: String,
        privileged: bool,
        provenance: String,
        sub_processor: String,
    ) -> ChangeRow {
        ChangeRow {
            window_from: self.from.clone(),
            window_to: self.to.clone(),
            change_type,
            subject,
            what,
            privileged,
            provenance,
            sub_processor,
        }
    }
}

/// Every change of the diff as a row of `changes.csv`: grants, objects, sub-processors,
/// findings, controls and collection, in that order.
pub fn rows(diff: &Diff) -> Vec<ChangeRow> {
    let w = Window {
        from: diff
            .from
            .as_ref()
            .map(|f| f.collected_at.to_rfc3339())
            .unwrap_or_default(),
        to: diff.to.collected_at.to_rfc3339(),
    };
    let mut out = grant_rows(&w, diff);
    out.extend(object_rows(&w, diff));
    out.extend(sub_processor_rows(&w, diff));
    out.extend(finding_rows(&w, diff));
    out.extend(control_and_collection_rows(&w, diff));
    out
}

/// Grants gained and lost.
fn grant_rows(w: &Window, diff: &Diff) -> Vec<ChangeRow> {
    let mut out = Vec::new();
    for g in &diff.grants {
        let what = format!("{} {}", g.grant.rule.compact(), g.grant.scope());
        let prov = g.grant.provenance();
        out.push(
            w.row(
                match g.change {
                    GrantChangeKind::Gained => "grant-gained",
                    GrantChangeKind::Lost => "grant-lost",
                }
                .into(),
                g.subject.to_string(),
                what,
                g.privileged,
                prov,
                g.sub_processor.clone().unwrap_or_default(),
            ),
        );
    }
    out
}

/// Objects added, removed or changed; privileged when a privileged grant change came through them.
fn object_rows(w: &Window, diff: &Diff) -> Vec<ChangeRow> {
    let mut out = Vec::new();
    for o in &diff.objects {
        let obj = match &o.namespace {
            Some(ns) => format!("{} {ns}/{}", o.kind, o.name),
            None => format!("{} {}", o.kind, o.name),
        };
        let what = if o.details.is_empty() {
            obj.clone()
        } else {
            format!("{obj}: {}", o.details.join("; "))
        };
        // Privileged when the change gave or took privileged access: a grant change of this
        // diff that is privileged came through this object.
        let privileged = diff
            .grants
            .iter()
            .any(|g| g.privileged && provenance_names(&g.grant.provenance(), &obj));
        out.push(w.row(
            format!("object-{}", o.change.as_str()),
            String::new(),
            what,
            privileged,
            obj,
            String::new(),
        ));
    }
    out
}

/// Sub-processor register entries added, removed or changed.
fn sub_processor_rows(w: &Window, diff: &Diff) -> Vec<ChangeRow> {
    let mut out = Vec::new();
    for s in &diff.sub_processors {
        out.push(w.row(
            format!("subprocessor-{}", s.change.as_str()),
            String::new(),
            if s.details.is_empty() {
                s.id.clone()
            } else {
                format!("{}: {}", s.id, s.details.join("; "))
            },
            false,
            "inventory".into(),
            s.id.clone(),
        ));
    }
    out
}

/// Findings new (except in a baseline) and resolved.
fn finding_rows(w: &Window, diff: &Diff) -> Vec<ChangeRow> {
    let mut out = Vec::new();
    // A baseline's findings are all new: its findings.json is their population, not its changes.
    let new_findings: &[super::FindingRef] = if diff.baseline {
        &[]
    } else {
        &diff.findings.new
    };
    for f in new_findings {
        out.push(w.row(
            "finding-new".into(),
            String::new(),
            format!("{} {}: {}", f.id, f.severity, f.summary),
            false,
            f.rule_id.to_string(),
            String::new(),
        ));
    }
    for f in &diff.findings.resolved {
        out.push(w.row(
            "finding-resolved".into(),
            String::new(),
            format!("{} {}: {}", f.id, f.severity, f.summary),
            false,
            f.rule_id.to_string(),
            String::new(),
        ));
    }
    for f in &diff.findings.superseded {
        out.push(w.row(
            "finding-superseded".into(),
            String::new(),
            format!(
                "{} {}: {} ({})",
                f.id,
                f.severity,
                f.summary,
                f.note.as_deref().unwrap_or_default()
            ),
            false,
            f.rule_id.to_string(),
            String::new(),
        ));
    }
    out
}

/// Control status changes and collection changes.
fn control_and_collection_rows(w: &Window, diff: &Diff) -> Vec<ChangeRow> {
    let mut out = Vec::new();
    for c in &diff.controls {
        out.push(w.row(
            "control-status".into(),
            String::new(),
            format!(
                "{} {}: {} -> {}",
                c.framework,
                c.id,
                c.from.as_str(),
                c.to.as_str()
            ),
            false,
            "controls".into(),
            String::new(),
        ));
    }
    for c in &diff.collection {
        out.push(w.row(
            "collection".into(),
            String::new(),
            format!("{}: {} -> {}", c.kind, c.from, c.to),
            c.degraded,
            "collector".into(),
            String::new(),
        ));
    }
    out
}

fn cells(r: &ChangeRow) -> Vec<String> {
    vec![
        r.window_from.clone(),
        r.window_to.clone(),
        r.change_type.clone(),
        r.subject.clone(),
        r.what.clone(),
        if r.privileged { "yes" } else { "no" }.into(),
        r.provenance.clone(),
        r.sub_processor.clone(),
    ]
}

/// Whether a grant's provenance (`RoleBinding ns/b -> ClusterRole r (from ClusterRole a)`)
/// names the object `obj` (`RoleBinding ns/b`, `ClusterRole r`, `ClusterRole a`).
fn provenance_names(provenance: &str, obj: &str) -> bool {
    provenance
        .split(" -> ")
        .flat_map(|part| part.split(" (from "))
        .map(|part| part.trim_end_matches(')').trim())
        .any(|part| part == obj)
}

/// `changes.csv`: RFC 4180, UTF-8, one header row.
pub fn csv(
    rows: &[ChangeRow],
    extra_header: &[&str],
    extra: impl Fn(usize) -> Vec<String>,
) -> Vec<u8> {
    let mut w = crate::csv_out::writer(Vec::new());
    let mut header: Vec<&str> = CHANGE_HEADER.to_vec();
    header.extend(extra_header);
    crate::csv_out::record(&mut w, &header);
    for (i, r) in rows.iter().enumerate() {
        let mut c = cells(r);
        c.extend(extra(i));
        crate::csv_out::record(&mut w, &c);
    }
    w.into_inner().expect("writing to memory")
}

pub fn changes_csv(diff: &Diff) -> Vec<u8> {
    csv(&rows(diff), &[], |_| Vec::new())
}

/// A table for people at a terminal.
/// A side as the table names it: its pack, or where it came from and when (a dump records no
/// collection time, so it is dated by the run's clock, which is said).
fn side_text(side: &crate::diff::SideInfo) -> String {
    if let Some(id) = &side.pack_id {
        return id.clone();
    }
    let at = side.collected_at.to_rfc3339();
    match side.source.strip_prefix("dump:") {
        Some(path) => format!("dump {path} (no collection time; dated {at} by the run's clock)"),
        None => at,
    }
}

pub fn table(diff: &Diff) -> String {
    let mut out = String::new();
    match &diff.from {
        None => {
            out.push_str(&format!(
                "baseline: this is the first pack of cluster {}; there is nothing to compare with\n",
                diff.to.cluster
            ));
            return out;
        }
        Some(from) => out.push_str(&format!(
            "changes in {} from {} to {}\n",
            diff.to.cluster,
            side_text(from),
            side_text(&diff.to)
        )),
    }
    if diff.is_empty() {
        out.push_str("no changes\n");
        return out;
    }
    table_grants(diff, &mut out);
    table_objects(diff, &mut out);
    table_findings_and_status(diff, &mut out);
    out
}

/// The grant changes, privileged first, each with its binding and role.
fn table_grants(diff: &Diff, out: &mut String) {
    if !diff.grants.is_empty() {
        out.push_str("\nEffective grants (privileged first):\n");
        for g in &diff.grants {
            let sign = match g.change {
                GrantChangeKind::Gained => "+",
                GrantChangeKind::Lost => "-",
            };
            let flag = if g.privileged {
                format!(" [{}]", g.risk_rules.join(","))
            } else {
                String::new()
            };
            let what = g.grant.rule.compact();
            out.push_str(&format!(
                "  {sign} {} {what} {} via {} -> {}{flag}\n",
                g.subject,
                g.grant.scope(),
                g.grant.binding,
                g.grant.role
            ));
        }
    }
}

/// Object and sub-processor changes with their details.
fn table_objects(diff: &Diff, out: &mut String) {
    if !diff.objects.is_empty() {
        out.push_str("\nObjects:\n");
        for o in &diff.objects {
            let name = match &o.namespace {
                Some(ns) => format!("{ns}/{}", o.name),
                None => o.name.clone(),
            };
            out.push_str(&format!("  {} {} {}\n", o.change.as_str(), o.kind, name));
            for d in &o.details {
                out.push_str(&format!("      {d}\n"));
            }
        }
    }
    if !diff.sub_processors.is_empty() {
        out.push_str("\nSub-processors:\n");
        for s in &diff.sub_processors {
            out.push_str(&format!("  {} {}\n", s.change.as_str(), s.id));
            for d in &s.details {
                out.push_str(&format!("      {d}\n"));
            }
        }
    }
}

/// Findings new and resolved, control status changes, collection changes.
fn table_findings_and_status(diff: &Diff, out: &mut String) {
    if !diff.findings.new.is_empty()
        || !diff.findings.resolved.is_empty()
        || !diff.findings.superseded.is_empty()
    {
        out.push_str(&format!(
            "\nFindings: {} new, {} resolved, {} superseded, {} persisting\n",
            diff.findings.new.len(),
            diff.findings.resolved.len(),
            diff.findings.superseded.len(),
            diff.findings.persisting.len()
        ));
        for f in &diff.findings.new {
            out.push_str(&format!(
                "  new      {} {}: {}\n",
                f.id, f.severity, f.summary
            ));
        }
        for f in &diff.findings.resolved {
            out.push_str(&format!(
                "  resolved {} {}: {}\n",
                f.id, f.severity, f.summary
            ));
        }
        for f in &diff.findings.superseded {
            out.push_str(&format!(
                "  superseded {} {}: {} ({})\n",
                f.id,
                f.severity,
                f.summary,
                f.note.as_deref().unwrap_or_default()
            ));
        }
    }
    if !diff.controls.is_empty() {
        out.push_str("\nControls:\n");
        for c in &diff.controls {
            out.push_str(&format!(
                "  {} {}: {} -> {}\n",
                c.framework,
                c.id,
                c.from.as_str(),
                c.to.as_str()
            ));
        }
    }
    if !diff.collection.is_empty() {
        out.push_str("\nCollection:\n");
        for c in &diff.collection {
            let warn = if c.degraded { "  <- was readable" } else { "" };
            out.push_str(&format!("  {}: {} -> {}{warn}\n", c.kind, c.from, c.to));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::provenance_names;

    #[test]
    fn a_provenance_names_its_binding_role_and_source_role_exactly() {
        let p =
            "RoleBinding web/web-admin-carol -> ClusterRole admin (from ClusterRole kubecost-view)";
        for obj in [
            "RoleBinding web/web-admin-carol",
            "ClusterRole admin",
            "ClusterRole kubecost-view",
        ] {
            assert!(provenance_names(p, obj), "{obj}");
        }
        for obj in [
            "ClusterRole adm",
            "RoleBinding web/web-admin",
            "ClusterRole kubecost",
        ] {
            assert!(!provenance_names(p, obj), "{obj}");
        }
    }
}
