//! The controls of each framework, with their status, reason and the findings behind it.

use super::*;
use crate::controls::ControlStatus;
use crate::report::ReportInput;
use crate::report::bounds;
use serde::Serialize;
use std::collections::BTreeMap;

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
    /// How many open findings decide it (findings.json lists them).
    pub deciding: usize,
    /// How many findings accepted by exceptions it cites (listed after the deciding ones,
    /// labelled accepted; they do not decide it).
    pub accepted: usize,
    /// The id of its row, for links to it.
    pub anchor: String,
    /// What a person must attach (the control's manual evidence), or empty.
    pub manual: String,
    /// Links to its deciding findings, then its accepted ones.
    pub findings: Vec<Link>,
}

/// Per framework: its controls with status and reason, and the count of each status.
pub(super) fn framework_views(
    input: &ReportInput<'_>,
    control_counts: &BTreeMap<(String, ControlStatus), usize>,
) -> Vec<FrameworkView> {
    let a = input.assessment;
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
                reason: bounds::clip(&c.reason),
                criterion: bounds::clip(&c.criterion),
                deciding: c.deciding_findings.len(),
                accepted: c.accepted_findings.len(),
                anchor: control_anchor(&c.framework, &c.id),
                manual: c.manual_evidence(),
                findings: c
                    .deciding_findings
                    .iter()
                    .map(|id| Link {
                        label: id.clone(),
                        anchor: id.clone(),
                    })
                    .chain(c.accepted_findings.iter().map(|id| Link {
                        label: format!("{id} (accepted)"),
                        anchor: id.clone(),
                    }))
                    .collect(),
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
    frameworks
}
