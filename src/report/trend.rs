//! `trend.json`: the headline figures of the last packs of the chain (at most 30, oldest first),
//! carried forward from pack to pack so a report can draw its trend without reading old packs.

use crate::analysis::Assessment;
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub const TREND_FILE: &str = crate::files::TREND;
/// How many packs the trend covers, this one included.
pub const TREND_LENGTH: usize = 30;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TrendPoint {
    pub pack_id: String,
    pub collected_at: DateTime<Utc>,
    /// Open findings not about system components.
    pub open_findings: usize,
    /// Subjects (not system components) in the privileged access matrix.
    pub privileged_subjects: usize,
    /// Sub-processors in the register.
    pub sub_processors: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TrendDocument {
    pub points: Vec<TrendPoint>,
}

/// This run's point.
pub fn point(pack_id: &str, collected_at: DateTime<Utc>, assessment: &Assessment) -> TrendPoint {
    let a = &assessment.analysis;
    TrendPoint {
        pack_id: pack_id.to_string(),
        collected_at,
        open_findings: a
            .findings
            .iter()
            .filter(|f| f.class() == crate::finding::FindingClass::Open)
            .count(),
        privileged_subjects: a.matrix.iter().filter(|r| !r.system).count(),
        sub_processors: a.register.len(),
    }
}

/// The earlier points followed by this one, trimmed to the last [`TREND_LENGTH`].
pub fn extend(history: &[TrendPoint], current: TrendPoint) -> Vec<TrendPoint> {
    let mut points: Vec<TrendPoint> = history
        .iter()
        .filter(|p| p.collected_at < current.collected_at)
        .cloned()
        .collect();
    points.sort_by_key(|p| p.collected_at);
    points.push(current);
    let skip = points.len().saturating_sub(TREND_LENGTH);
    points.split_off(skip)
}

pub fn to_bytes(points: &[TrendPoint]) -> Vec<u8> {
    let mut out = serde_json::to_vec_pretty(&TrendDocument {
        points: points.to_vec(),
    })
    .expect("trend serialises");
    out.push(b'\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn p(i: i64) -> TrendPoint {
        TrendPoint {
            pack_id: format!("p{i}"),
            collected_at: Utc.timestamp_opt(1_700_000_000 + i * 86_400, 0).unwrap(),
            open_findings: i as usize,
            privileged_subjects: 1,
            sub_processors: 2,
        }
    }

    #[test]
    fn keeps_the_last_thirty_oldest_first() {
        let history: Vec<_> = (0..40).map(p).collect();
        let out = extend(&history, p(40));
        assert_eq!(out.len(), TREND_LENGTH);
        assert_eq!(out.first().unwrap().pack_id, "p11");
        assert_eq!(out.last().unwrap().pack_id, "p40");
    }

    #[test]
    fn drops_points_not_older_than_the_current_pack() {
        let out = extend(&[p(5), p(3)], p(4));
        assert_eq!(
            out.iter().map(|x| x.pack_id.as_str()).collect::<Vec<_>>(),
            ["p3", "p4"]
        );
    }
}
