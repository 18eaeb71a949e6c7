//! The analysis stage: from a snapshot to findings and the privileged access matrix. Pure and
//! deterministic: the same snapshot always gives the same analysis.

use crate::audit::suggest::SuggestedRoles;
use crate::audit::{UsageContext, UsageInput, UsageSummary};
use crate::controls::{
    AssessmentBasis, AuditWindow, Availability, ControlResult, Controls, ImageHistoryBasis,
    PreviousBasis, Retention, ReviewBasis,
};
use crate::diff::{Diff, Side};
use crate::exceptions::{Exception, ExceptionOutcome};
use crate::finding::Scope;
use crate::finding::{Finding, sort_findings};
use crate::inventory::{Inventory, RegisterRow, reconcile};
use crate::rbac::SubjectRef;
use crate::rbac::aggregation::AggregationDrift;
use crate::rbac::index::{ObjectRef, RbacIndex};
use crate::rbac::privilege::{PrivilegeTable, SubjectPrivilege};
use crate::rbac::reach::ReachGraph;
use crate::rules::RuleId;
use crate::rules::grants::Holding;
use crate::rules::system::is_system_subject;
use crate::rules::{self, RuleContext};
use crate::snapshot::Snapshot;
use chrono::{DateTime, NaiveDate, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The columns of the privileged access matrix, each backed by one or two rules (the
/// capabilities of [`crate::rules::catalog::CAPABILITIES`]).
pub use crate::rules::catalog::CAPABILITIES as MATRIX_COLUMNS;

/// One subject's privileged capabilities: per column, where it holds it ("cluster-wide", a list
/// of namespaces; for cluster-admin the privilege level, "direct" or "via escalation (N steps)"),
/// empty where it does not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MatrixRow {
    pub subject: SubjectRef,
    pub system: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_processor: Option<String>,
    /// The widest scope of its holdings (cluster, broad, foreign, local); absent for a subject
    /// that holds none of the columns' capabilities but reaches cluster-admin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub widest_scope: Option<Scope>,
    /// Column key -> scope.
    pub cells: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Analysis {
    pub findings: Vec<Finding>,
    pub matrix: Vec<MatrixRow>,
    pub aggregation_drift: Vec<AggregationDrift>,
    /// The sub-processor register against the cluster (empty without an inventory).
    #[serde(default)]
    pub register: Vec<RegisterRow>,
    /// Every subject that reaches cluster-admin, directly or by escalation (the one computation
    /// the rules, the matrix and the register read).
    #[serde(default)]
    pub privilege: Vec<SubjectPrivilege>,
    /// Who holds which privileged capability, where, through which bindings: the complete
    /// population behind the matrix, written to `access-population.csv.gz`, not findings.json.
    #[serde(skip)]
    pub population: Vec<PopulationEntry>,
}

/// One subject's holding of one capability, with the bindings behind it.
#[derive(Debug, Clone)]
pub struct PopulationEntry {
    pub rule_id: RuleId,
    pub subject: SubjectRef,
    pub scope: Scope,
    pub system: bool,
    /// (binding, role) pairs, in binding order.
    pub bindings: Vec<(Arc<ObjectRef>, Arc<ObjectRef>)>,
}

/// The RBAC part of the analysis, with the index and graph kept for further questions.
pub struct RbacAnalysis {
    pub index: RbacIndex,
    pub reach: ReachGraph,
    pub privilege: PrivilegeTable,
    pub analysis: Analysis,
    /// Every subject's privileged holdings (the population, by binding and rule).
    pub holdings: Vec<Holding>,
    /// Subject -> the sub-processor it belongs to (empty without an inventory).
    pub owners: BTreeMap<SubjectRef, String>,
}

pub fn analyze_rbac(snapshot: &Snapshot) -> RbacAnalysis {
    analyze(snapshot, None, snapshot.taken_at.date_naive())
}

/// The whole analysis: RBAC rules, and with an inventory (the argument, or the one the snapshot
/// carries) the sub-processor reconciliation, dated `today`.
pub fn analyze(
    snapshot: &Snapshot,
    inventory: Option<&Inventory>,
    today: NaiveDate,
) -> RbacAnalysis {
    let index = RbacIndex::build(snapshot);
    let reach = ReachGraph::build(&index, snapshot);
    let privilege = PrivilegeTable::compute(&index, &reach);
    let aggregation_drift = index.aggregation_drift(snapshot);
    let rules::Evaluation {
        holdings,
        mut findings,
    } = rules::evaluate(&RuleContext {
        snapshot,
        index: &index,
        privilege: &privilege,
        reach: &reach,
        aggregation_drift: &aggregation_drift,
    });
    let mut register = Vec::new();
    let mut owners = BTreeMap::new();
    if let Some(inv) = inventory.or(snapshot.inventory.as_ref()) {
        let rec = reconcile(inv, snapshot, &index, &privilege, today);
        // RBAC findings about a sub-processor's identities name it.
        for f in &mut findings {
            f.attribute(&rec.owners);
        }
        findings.extend(rec.findings);
        register = rec.register;
        owners = rec.owners;
        sort_findings(&mut findings);
    }
    let matrix = matrix(&holdings, &privilege, &owners, index.namespaces.len());
    let population = population(&index, &holdings);
    let records = privilege.to_records();
    RbacAnalysis {
        index,
        reach,
        privilege,
        holdings,
        owners,
        analysis: Analysis {
            findings,
            matrix,
            aggregation_drift,
            register,
            privilege: records,
            population,
        },
    }
}

/// The holdings as the population files list them: per holding, the bindings behind it.
fn population(index: &RbacIndex, holdings: &[Holding]) -> Vec<PopulationEntry> {
    holdings
        .iter()
        .map(|h| {
            let mut bindings: Vec<(Arc<ObjectRef>, Arc<ObjectRef>)> = h
                .grants
                .iter()
                .filter_map(|(b, _)| {
                    let b = &index.bindings[*b];
                    let role = index.roles[*b.role.as_ref().ok()?].object();
                    Some((b.object(), role))
                })
                .collect();
            bindings.dedup();
            PopulationEntry {
                rule_id: h.rule_id,
                subject: h.subject.clone(),
                scope: h.scope(index.namespaces.len()),
                system: h.system,
                bindings,
            }
        })
        .collect()
}

/// A matrix cell's scope: cluster-wide, a few namespaces by name, or how many.
fn cell_scope(cluster: bool, namespaces: &[Arc<str>]) -> String {
    let mut parts = Vec::new();
    if cluster {
        parts.push("cluster-wide".to_string());
    }
    match namespaces.len() {
        0 => {}
        n if n <= 5 => parts.push(namespaces.join(" ")),
        n => parts.push(format!("in {n} namespaces")),
    }
    parts.join("; ")
}

/// The access matrix: one row per subject that holds a privileged capability anywhere (the
/// population, local holdings included) or reaches cluster-admin; each cell says where it holds
/// the column's capability, and the cluster-admin column states the privilege table's level.
pub fn matrix(
    holdings: &[Holding],
    privilege: &PrivilegeTable,
    owners: &BTreeMap<SubjectRef, String>,
    total_namespaces: usize,
) -> Vec<MatrixRow> {
    let mut rows: BTreeMap<SubjectRef, MatrixRow> = BTreeMap::new();
    fn row<'a>(
        rows: &'a mut BTreeMap<SubjectRef, MatrixRow>,
        subject: &SubjectRef,
        owners: &BTreeMap<SubjectRef, String>,
    ) -> &'a mut MatrixRow {
        rows.entry(subject.clone()).or_insert_with(|| MatrixRow {
            subject: subject.clone(),
            system: is_system_subject(subject),
            sub_processor: owners.get(subject).cloned(),
            widest_scope: None,
            cells: BTreeMap::new(),
        })
    }
    // Per (subject, column): cluster-wide, the namespaces, and whether only system grants.
    type Cell = (bool, Vec<Arc<str>>, bool);
    let mut holds: BTreeMap<(&SubjectRef, &str), Cell> = BTreeMap::new();
    let mut widest: BTreeMap<&SubjectRef, Scope> = BTreeMap::new();
    for h in holdings {
        let Some((key, _, _)) = MATRIX_COLUMNS
            .iter()
            .find(|(_, _, rules)| rules.contains(&h.rule_id))
        else {
            continue;
        };
        let scope = h.scope(total_namespaces);
        widest
            .entry(&h.subject)
            .and_modify(|w| *w = (*w).min(scope))
            .or_insert(scope);
        let cell = holds
            .entry((&h.subject, key))
            .or_insert((false, Vec::new(), true));
        cell.0 |= h.cluster;
        cell.1.extend(h.namespaces.iter().cloned());
        cell.2 &= h.system;
    }
    // A row is about a system component when its subject is one, or when everything it holds
    // comes from the API server's bootstrap bindings.
    let mut only_bootstrap: BTreeMap<&SubjectRef, bool> = BTreeMap::new();
    for ((subject, _), (_, _, system)) in &holds {
        *only_bootstrap.entry(subject).or_insert(true) &= *system;
    }
    for ((subject, key), (cluster, mut namespaces, _)) in holds {
        namespaces.sort_unstable();
        namespaces.dedup();
        let r = row(&mut rows, subject, owners);
        r.system |= only_bootstrap[subject];
        r.widest_scope = widest.get(subject).copied();
        r.cells
            .insert(key.to_string(), cell_scope(cluster, &namespaces));
    }
    for (subject, _) in privilege.iter() {
        row(&mut rows, subject, owners)
            .cells
            .insert("clusterAdmin".into(), privilege.describe(subject));
    }
    rows.into_values().collect()
}

/// The run's verdicts: the analysis with exceptions applied and collection findings added, the
/// status of every control, and what became of every exception.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Assessment {
    pub analysis: Analysis,
    pub controls: Vec<ControlResult>,
    pub exceptions: Vec<ExceptionOutcome>,
    /// What changed since the previous pack (or that this pack is the baseline).
    pub diff: Diff,
    /// What the control results rest on besides the findings.
    pub basis: AssessmentBasis,
    /// Use against grants, from the audit log (absent without one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<UsageSummary>,
    /// The roles that cover what each subject with unused grants used (`suggested-roles/`).
    #[serde(skip)]
    pub suggested_roles: Vec<SuggestedRoles>,
    /// The follow-up of the cluster's access review campaigns (absent without any).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reviews: Option<crate::review::assess::ReviewState>,
    /// How each sub-processor's software is updated, with the record carried to the next pack
    /// (`vendor-updates.json`; absent without an inventory).
    #[serde(skip)]
    pub updates: Option<crate::inventory::updates::UpdatesDocument>,
}

/// The previous pack of the series, verified against its manifest (see `pack::previous`).
#[derive(Debug, Clone)]
pub struct PreviousPackInfo {
    pub pack_id: String,
    pub collected_at: DateTime<Utc>,
    pub snapshot: Snapshot,
    pub findings: Vec<Finding>,
    pub controls: Vec<ControlResult>,
    /// Its sub-processor register (empty without an inventory).
    pub register: Vec<RegisterRow>,
    /// Its use against grants, if its run read an audit log.
    pub usage: Option<UsageSummary>,
    /// Its follow-up of the access reviews, if there were campaigns.
    pub reviews: Option<crate::review::assess::ReviewState>,
    /// Its record of the images sub-processors ran, if it had an inventory.
    pub image_history: Option<crate::inventory::updates::ImageHistory>,
}

pub struct AssessmentInput<'a> {
    pub snapshot: &'a Snapshot,
    pub pack_id: Option<&'a str>,
    pub controls: &'a Controls,
    pub exceptions: &'a [Exception],
    pub previous: Option<&'a PreviousPackInfo>,
    pub schedule_interval_hours: u32,
    /// Sub-processor images unchanged for longer are findings (KE-UPD-003).
    pub image_max_age_days: u32,
    /// The audit log's evidence of use, when one was read.
    pub usage: Option<&'a UsageInput>,
    /// The cluster's access review campaigns, when the store has any.
    pub reviews: Option<&'a crate::review::assess::Reviews>,
    /// How the store keeps packs (records protection).
    pub retention: Retention,
}

/// The schedule a series of packs is judged against when none is configured: nightly.
pub const DEFAULT_SCHEDULE_INTERVAL_HOURS: u32 = 24;

impl<'a> AssessmentInput<'a> {
    /// A snapshot assessed on its own, outside a run (`controls status`, `diff` of dumps): no
    /// pack, no previous pack, no audit log, no reviews, not published; the default schedule
    /// and image age.
    pub fn snapshot_alone(
        snapshot: &'a Snapshot,
        controls: &'a Controls,
        exceptions: &'a [Exception],
    ) -> Self {
        AssessmentInput {
            snapshot,
            pack_id: None,
            controls,
            exceptions,
            previous: None,
            schedule_interval_hours: DEFAULT_SCHEDULE_INTERVAL_HOURS,
            image_max_age_days: crate::inventory::updates::DEFAULT_MAX_AGE_DAYS,
            usage: None,
            reviews: None,
            retention: crate::controls::Retention::not_published(),
        }
    }
}

/// Analysis, collection checks, exceptions and controls, in that order; pure.
pub fn assess(input: &AssessmentInput<'_>) -> Assessment {
    let snapshot = input.snapshot;
    let today = snapshot.taken_at.date_naive();
    let rbac = analyze(snapshot, None, today);
    let usage = input.usage.map(|u| {
        crate::audit::assess::evaluate(
            u,
            &UsageContext {
                index: &rbac.index,
                holdings: &rbac.holdings,
                owners: &rbac.owners,
                today,
            },
        )
    });
    let reviews = input.reviews.map(|r| follow_up_reviews(r, &rbac, snapshot));
    let updates = assess_updates(input, &rbac.index);
    let mut analysis = rbac.analysis;
    if let Some(u) = &updates {
        add_updates(&mut analysis, u);
    }
    if let Some(u) = &usage {
        analysis.findings.extend(u.findings.iter().cloned());
    }
    if let Some((_, f)) = &reviews {
        analysis.findings.extend(f.iter().cloned());
    }
    sort_findings(&mut analysis.findings);
    if let Some(prev) = input.previous
        && let Some(f) = series_gap(
            prev.collected_at,
            snapshot.taken_at,
            input.schedule_interval_hours,
        )
    {
        analysis.findings.push(f);
    }
    // Objects and grants changed since the previous pack; new privileged grants are findings.
    let mut diff = match input.previous {
        None => Diff::baseline(snapshot, input.pack_id),
        Some(prev) => {
            let old_index = RbacIndex::build(&prev.snapshot);
            crate::diff::compute_with(
                &Side {
                    snapshot: &prev.snapshot,
                    findings: &[],
                    controls: &[],
                    pack_id: Some(&prev.pack_id),
                },
                &Side {
                    snapshot,
                    findings: &[],
                    controls: &[],
                    pack_id: input.pack_id,
                },
                &old_index,
                &rbac.index,
            )
        }
    };
    analysis
        .findings
        .extend(crate::diff::change_findings(&diff));
    let present = |c: &crate::exceptions::Coverage| coverage_present(c, snapshot, &rbac.index);
    let exceptions =
        crate::exceptions::apply(&mut analysis.findings, input.exceptions, today, &present);
    let basis = AssessmentBasis {
        collected_at: snapshot.taken_at,
        inventory: snapshot.inventory.is_some(),
        previous_pack: input.previous.map(|p| PreviousBasis {
            pack_id: p.pack_id.clone(),
            collected_at: p.collected_at,
        }),
        schedule_interval_hours: input.schedule_interval_hours,
        audit_log: usage.is_some(),
        audit_window: usage.as_ref().map(|u| AuditWindow {
            window_days: u.summary.window_days,
            days_seen: u.summary.days_seen,
            days_required: u.summary.days_required,
            first_day: input
                .usage
                .and_then(|i| i.record.days_seen.first().copied()),
        }),
        retention: input.retention.clone(),
        image_history: updates.as_ref().map(|u| ImageHistoryBasis {
            since: u.document.history.since,
            days_covered: u.document.days_covered,
            days_required: u.document.max_age_days,
        }),
        access_reviews: input.reviews.and_then(|r| {
            Some(ReviewBasis {
                campaigns: r.campaigns.len(),
                latest: r.campaigns.iter().map(|(c, _)| c.created_at).max()?,
            })
        }),
    };
    let controls = crate::controls::evaluate(
        input.controls,
        &analysis.findings,
        &Availability {
            collector: &snapshot.collector,
            basis: &basis,
        },
    );
    // Every finding of the pack lands in one bucket; a baseline's are all new.
    diff.findings = crate::diff::findings(
        input.previous.map_or(&[][..], |p| &p.findings),
        &analysis.findings,
    );
    if let Some(prev) = input.previous {
        diff.controls = crate::diff::controls(&prev.controls, &controls);
        crate::diff::add_register_changes(
            &mut diff.sub_processors,
            &prev.register,
            &analysis.register,
        );
        if let (Some(before), Some(now)) = (&prev.usage, &usage) {
            diff.usage = usage_changes(before, &now.summary);
        }
    }
    let (usage, suggested_roles) = match usage {
        Some(u) => (Some(u.summary), u.suggested),
        None => (None, Vec::new()),
    };
    Assessment {
        analysis,
        controls,
        exceptions,
        diff,
        basis,
        usage,
        suggested_roles,
        reviews: reviews.map(|(state, _)| state),
        updates: updates.map(|u| u.document),
    }
}

/// How each sub-processor's software is updated, continuing the previous pack's image record;
/// `None` without an inventory.
fn assess_updates(
    input: &AssessmentInput<'_>,
    index: &RbacIndex,
) -> Option<crate::inventory::updates::UpdatesAssessment> {
    let inventory = input.snapshot.inventory.as_ref()?;
    Some(crate::inventory::updates::assess(
        inventory,
        input.snapshot,
        index,
        input.previous.and_then(|p| p.image_history.as_ref()),
        input.image_max_age_days,
    ))
}

/// Whether what an exception names is in the cluster (or, for a sub-processor, the inventory),
/// so that one matching no finding can say which of the two it is.
fn coverage_present(
    c: &crate::exceptions::Coverage,
    snapshot: &Snapshot,
    index: &RbacIndex,
) -> bool {
    use crate::exceptions::Coverage;
    match c {
        Coverage::Subject(s) => index.all_subjects().contains(s),
        Coverage::Namespace(n) => {
            index.has_namespace(n)
                || index
                    .bindings
                    .iter()
                    .any(|b| b.namespace.as_deref() == Some(n))
                || snapshot
                    .service_accounts
                    .iter()
                    .any(|sa| sa.metadata.ns() == n)
        }
        Coverage::SubProcessor(id) => snapshot
            .inventory
            .as_ref()
            .is_some_and(|i| i.sub_processors.iter().any(|e| &e.id == id)),
        Coverage::Object(text) => {
            let named = |kind: &str, m: &crate::snapshot::ObjectMeta| {
                ObjectRef::new(kind, m.namespace.as_deref(), &m.name).to_string() == *text
            };
            snapshot
                .cluster_roles
                .iter()
                .any(|o| named("ClusterRole", &o.metadata))
                || snapshot.roles.iter().any(|o| named("Role", &o.metadata))
                || snapshot
                    .cluster_role_bindings
                    .iter()
                    .any(|o| named("ClusterRoleBinding", &o.metadata))
                || snapshot
                    .role_bindings
                    .iter()
                    .any(|o| named("RoleBinding", &o.metadata))
                || snapshot
                    .service_accounts
                    .iter()
                    .any(|o| named("ServiceAccount", &o.metadata))
                || snapshot
                    .token_secrets
                    .iter()
                    .any(|o| named("Secret", &o.metadata))
                || snapshot
                    .mutating_webhook_configurations
                    .iter()
                    .any(|o| named("MutatingWebhookConfiguration", &o.metadata))
                || snapshot
                    .validating_webhook_configurations
                    .iter()
                    .any(|o| named("ValidatingWebhookConfiguration", &o.metadata))
                || snapshot
                    .api_services
                    .iter()
                    .any(|o| named("APIService", &o.metadata))
                || snapshot
                    .namespaces
                    .iter()
                    .any(|o| named("Namespace", &o.metadata))
        }
    }
}

/// The update findings join the others, and each register row gets its "Updates" column and
/// lists them with its other findings.
fn add_updates(analysis: &mut Analysis, u: &crate::inventory::updates::UpdatesAssessment) {
    analysis.findings.extend(u.findings.iter().cloned());
    for row in &mut analysis.register {
        if let Some(r) = u.document.rows.iter().find(|r| r.sub_processor == row.id) {
            row.updates = r.summary.clone();
        }
        row.findings.extend(
            u.findings
                .iter()
                .filter(|f| f.sub_processor.as_deref() == Some(row.id.as_str()))
                .map(|f| f.id.clone()),
        );
    }
}

/// The follow-up of the campaigns against today's population (the rows a campaign would
/// freeze now).
fn follow_up_reviews(
    r: &crate::review::assess::Reviews,
    rbac: &RbacAnalysis,
    snapshot: &Snapshot,
) -> (crate::review::assess::ReviewState, Vec<Finding>) {
    use crate::review::{assess, population};
    let rows = |every_binding| {
        population::rows(&population::PopulationInput {
            index: &rbac.index,
            holdings: &rbac.holdings,
            owners: &rbac.owners,
            inventory: snapshot.inventory.as_ref(),
            every_binding,
        })
    };
    // Coverage is of the privileged population; whether a reviewed grant still exists is asked
    // of every binding (a campaign may have taken them all).
    let privileged = rows(false);
    let existing: std::collections::BTreeSet<String> =
        rows(true).into_iter().map(|r| r.id).collect();
    assess::evaluate(&assess::ReviewInput {
        campaigns: &r.campaigns,
        refused: &r.refused,
        population: &privileged,
        existing: &existing,
        now: snapshot.taken_at,
        period_days: r.period_days,
        previous: r.previous.as_ref(),
        previous_at: r.previous_at,
    })
}

/// Grants used now that the previous pack found unused, and the reverse (a grant absent from
/// either side, added or removed, is a grant change, not a usage change).
fn usage_changes(before: &UsageSummary, now: &UsageSummary) -> crate::diff::UsageChanges {
    use std::collections::BTreeSet;
    let refs = |s: &UsageSummary, used: bool| -> BTreeSet<String> {
        s.subjects
            .iter()
            .flat_map(|row| {
                let list = if used { &row.used } else { &row.unused };
                list.iter().map(move |g| format!("{}: {g}", row.subject))
            })
            .collect()
    };
    crate::diff::UsageChanges {
        newly_used: refs(before, false)
            .intersection(&refs(now, true))
            .cloned()
            .collect(),
        newly_unused: refs(before, true)
            .intersection(&refs(now, false))
            .cloned()
            .collect(),
    }
}

/// KE-COL-002 when the previous pack is older than the schedule allows (with half an interval of
/// slack for a run that started late).
pub fn series_gap(
    previous: DateTime<Utc>,
    now: DateTime<Utc>,
    interval_hours: u32,
) -> Option<Finding> {
    let interval = chrono::Duration::hours(i64::from(interval_hours));
    let allowed = interval + interval / 2;
    let elapsed = now - previous;
    if elapsed <= allowed {
        return None;
    }
    let missed = (elapsed.num_minutes() / interval.num_minutes().max(1)).saturating_sub(1);
    Some(crate::rules::new_finding(
        RuleId::Col002,
        &format!("{}", previous.format("%Y-%m-%dT%H:%M:%SZ")),
        format!(
            "the previous pack was collected {} ({} h before this one, schedule every {interval_hours} h): about {missed} scheduled run(s) missing",
            previous.format("%Y-%m-%d %H:%M UTC"),
            elapsed.num_hours()
        ),
    ))
}
