//! Verifying packs as an auditor would: the signature against the allowed signers (at the pack's
//! publication time), every file's size and SHA-256, no file missing and none extra, SHA256SUMS
//! consistent with the manifest, and with `chain` every link back through previous packs, with
//! gaps in the nightly series and breaks reported.

use super::read::CheckKind;
use super::sign::AllowedSigner;
use super::{
    MANIFEST_FILE, Manifest, PackReadError, SIGNATURE_FILE, SUMS_FILE, SUMS_SIGNATURE_FILE,
    StoredPack, read_pack, sums_file,
};
use crate::store::Store;
use chrono::{DateTime, NaiveDate, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// Trusted signers; without them a signature is checked but its signer is not trusted.
    pub allowed_signers: Option<Vec<AllowedSigner>>,
    /// Accept unsigned packs (they are reported as UNSIGNED either way).
    pub allow_unsigned: bool,
    /// Walk back through previous packs.
    pub chain: bool,
    /// With `chain`: stop at packs collected before this day.
    pub since: Option<NaiveDate>,
    pub schedule_interval_hours: u32,
    /// How far a pack's claimed publication time may be from the time the store recorded for
    /// its manifest (S3 `Last-Modified`), where the store keeps one.
    pub max_clock_skew: chrono::Duration,
    /// The day until which every pack object must be retained; by default one year after the
    /// audit period's end.
    pub retention_horizon: Option<NaiveDate>,
    /// The last day of the audit period the packs are evidence for; by default each pack's own
    /// collection day (the period it belongs to ends no earlier).
    pub audit_period_end: Option<NaiveDate>,
    /// A pack whose retention ends before the horizon fails verification (it is flagged either way).
    pub require_retention: bool,
    /// Count Object Lock in governance mode as retention. Off by default: holders of
    /// `s3:BypassGovernanceRetention` can delete or replace such objects at any time, so a pack
    /// under it is flagged like one without a lock.
    pub accept_governance: bool,
    /// The time-stamping authority's certificate: a pack's RFC 3161 token must be signed by it,
    /// and then the token's time, not the pack's claim, is when its signatures are checked.
    pub tsa_certificate: Option<super::timestamp::PinnedCertificate>,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            allowed_signers: None,
            allow_unsigned: false,
            chain: false,
            since: None,
            schedule_interval_hours: crate::analysis::DEFAULT_SCHEDULE_INTERVAL_HOURS,
            max_clock_skew: chrono::Duration::minutes(DEFAULT_MAX_CLOCK_SKEW_MINUTES),
            retention_horizon: None,
            audit_period_end: None,
            require_retention: false,
            accept_governance: false,
            tsa_certificate: None,
        }
    }
}

/// The default of [`VerifyOptions::max_clock_skew`]: a pack's manifest is written within
/// minutes of its publication time; an hour leaves room for slow uploads and skewed clocks.
pub const DEFAULT_MAX_CLOCK_SKEW_MINUTES: i64 = 60;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Check {
    pub name: CheckKind,
    pub ok: bool,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PackVerdict {
    pub pack_id: String,
    pub prefix: String,
    pub collected_at: Option<DateTime<Utc>>,
    pub signed: bool,
    pub ok: bool,
    pub checks: Vec<Check>,
    /// What the store enforces on the pack's objects, where it can tell (S3 Object Lock).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<RetentionVerdict>,
}

/// The retention of one pack's objects against the horizon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RetentionVerdict {
    /// The day every object must be retained until.
    pub horizon: NaiveDate,
    /// Some object can be deleted or replaced before the horizon.
    pub flagged: bool,
    pub summary: String,
    pub objects: Vec<ObjectRetentionRecord>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ObjectRetentionRecord {
    /// The file, relative to the pack.
    pub file: String,
    /// `COMPLIANCE`, `GOVERNANCE`, `none`, or why it could not be read.
    pub mode: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retain_until: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VerifyReport {
    pub ok: bool,
    pub packs: Vec<PackVerdict>,
    /// Nights with no pack, given the schedule.
    pub gaps: Vec<String>,
    /// Links that do not hold: a predecessor missing, or not the one recorded.
    pub breaks: Vec<String>,
    /// Packs some of whose objects can be deleted before the retention horizon.
    #[serde(default)]
    pub retention_flagged: Vec<String>,
}

fn check(checks: &mut Vec<Check>, name: CheckKind, ok: bool, detail: impl Into<String>) {
    checks.push(Check {
        name,
        ok,
        detail: detail.into(),
    });
}

/// `SHA256SUMS.sig`: what an auditor with nothing but `ssh-keygen` and `sha256sum` relies on,
/// so it must hold as much as the manifest's signature: the same key, trusted.
async fn check_sums_signature(
    store: &dyn Store,
    prefix: &str,
    m: &Manifest,
    signed_at: DateTime<Utc>,
    opts: &VerifyOptions,
    checks: &mut Vec<Check>,
) {
    let sums = store
        .get_limited(&format!("{prefix}/{SUMS_FILE}"), super::MAX_SUMS_BYTES)
        .await;
    let sig = store
        .get_limited(
            &format!("{prefix}/{SUMS_SIGNATURE_FILE}"),
            super::MAX_SIGNATURE_BYTES,
        )
        .await;
    let (Ok(Some(sums)), Ok(Some(sig))) = (sums, sig) else {
        // A missing file is reported by the file check; only say why the signature is unchecked.
        check(
            checks,
            CheckKind::Signature,
            false,
            "SHA256SUMS.sig: cannot be checked, SHA256SUMS or its signature is missing",
        );
        return;
    };
    match super::read::judge_detached(
        SUMS_SIGNATURE_FILE,
        &sums,
        &sig,
        &m.signing_key_fingerprint,
        signed_at,
        policy(opts),
    ) {
        Ok(detail) => check(checks, CheckKind::Signature, true, detail),
        Err(e) => check(
            checks,
            CheckKind::Signature,
            false,
            format!("{SUMS_SIGNATURE_FILE}: {e}"),
        ),
    }
}

/// How `verify` judges signatures and time: strictly, against the auditor's keys and authority.
fn policy(opts: &VerifyOptions) -> super::read::Policy<'_> {
    super::read::Policy {
        signers: opts.allowed_signers.as_deref(),
        tsa: opts.tsa_certificate.as_ref(),
        strict: true,
        allow_unsigned: opts.allow_unsigned,
        strict_time: true,
    }
}

/// Verifies one pack at `prefix`.
pub async fn verify_pack(store: &dyn Store, prefix: &str, opts: &VerifyOptions) -> PackVerdict {
    let mut checks = Vec::new();
    let pack = match read_pack(store, prefix).await {
        Ok(p) => p,
        Err(e) => {
            check(&mut checks, CheckKind::Manifest, false, e.to_string());
            return PackVerdict {
                pack_id: prefix.rsplit('/').next().unwrap_or(prefix).to_string(),
                prefix: prefix.to_string(),
                collected_at: None,
                signed: false,
                ok: false,
                checks,
                retention: None,
            };
        }
    };
    let m = &pack.manifest;
    check(
        &mut checks,
        CheckKind::Manifest,
        true,
        format!("manifest.json of pack {} parses", m.pack_id),
    );
    if prefix.contains('/') {
        if let Err(p) = super::read::judge_place(m, prefix) {
            check(&mut checks, p.check(), false, p.to_string());
        }
    } else {
        check(
            &mut checks,
            CheckKind::Manifest,
            true,
            format!(
                "a copy outside its store (folder {prefix}): known by its manifest as pack {} of {}; its chain is not walked",
                m.pack_id, m.cluster.name
            ),
        );
    }

    let signed_at = check_timestamp(store, prefix, &pack, opts, &mut checks).await;
    check_manifest_signature(store, prefix, &pack, signed_at, opts, &mut checks).await;
    if m.sums_signed() {
        check_sums_signature(store, prefix, m, signed_at, opts, &mut checks).await;
    }
    check_files(store, prefix, m, &mut checks).await;
    check_attestation(store, prefix, m, &mut checks).await;
    check_sums(store, prefix, &pack, &mut checks).await;
    check_store_time(store, prefix, m, opts, &mut checks).await;
    let retention = check_retention(store, prefix, m, opts).await;
    match &retention {
        Some(r) if r.flagged && opts.require_retention => {
            check(&mut checks, CheckKind::Retention, false, r.summary.clone())
        }
        Some(_) => {}
        // Said either way: a store that cannot show retention proves none, and
        // --require-retention asks for proof.
        None => check(
            &mut checks,
            CheckKind::Retention,
            !opts.require_retention,
            format!(
                "{} cannot show how long the pack's objects are kept (no Object Lock to read){}",
                store.location(),
                if opts.require_retention {
                    ": --require-retention cannot be met"
                } else {
                    "; not checked"
                }
            ),
        ),
    }
    let ok = checks.iter().all(|c| c.ok);
    PackVerdict {
        pack_id: m.pack_id.clone(),
        prefix: prefix.to_string(),
        collected_at: Some(m.collected_at),
        signed: m.signed,
        ok,
        checks,
        retention,
    }
}

/// The day a pack's objects must be kept until: the explicit horizon, else one year after the
/// audit period's end (the pack's own day when no period is given).
pub fn retention_horizon(m: &Manifest, opts: &VerifyOptions) -> NaiveDate {
    opts.retention_horizon.unwrap_or_else(|| {
        let end = opts
            .audit_period_end
            .unwrap_or_else(|| m.collected_at.date_naive());
        end.checked_add_months(chrono::Months::new(12))
            .unwrap_or(NaiveDate::MAX)
    })
}

/// Each object's Object Lock mode and retain-until date, where the store reports them (`None`
/// for a store that cannot tell, such as a local directory).
async fn check_retention(
    store: &dyn Store,
    prefix: &str,
    m: &Manifest,
    opts: &VerifyOptions,
) -> Option<RetentionVerdict> {
    let horizon = retention_horizon(m, opts);
    let horizon_start = horizon.and_hms_opt(0, 0, 0).expect("midnight").and_utc();
    let mut files: Vec<String> = m.files.iter().map(|f| f.path.clone()).collect();
    files.extend(m.envelope_files().into_iter().map(str::to_string));
    let mut objects = Vec::with_capacity(files.len());
    for file in files {
        let record = match store.object_retention(&format!("{prefix}/{file}")).await {
            Ok(Some(r)) => ObjectRetentionRecord {
                file,
                mode: r.mode,
                retain_until: r.retain_until,
            },
            // The store cannot tell (a local directory), or the object is missing, which the
            // file check reports.
            Ok(None) => continue,
            Err(e) => ObjectRetentionRecord {
                file,
                mode: format!("unreadable: {e}"),
                retain_until: None,
            },
        };
        objects.push(record);
    }
    if objects.is_empty() {
        return None;
    }
    // Governance mode is a lock its bypass permission lifts: not retention an auditor can rely
    // on, unless they were told who holds that permission and accepted it.
    let bypassable = |o: &ObjectRetentionRecord| {
        !opts.accept_governance && o.mode.eq_ignore_ascii_case("GOVERNANCE")
    };
    let short: Vec<&ObjectRetentionRecord> = objects
        .iter()
        .filter(|o| bypassable(o) || o.retain_until.is_none_or(|u| u < horizon_start))
        .collect();
    let modes: BTreeSet<&str> = objects.iter().map(|o| o.mode.as_str()).collect();
    let earliest = objects.iter().filter_map(|o| o.retain_until).min();
    let summary = if short.is_empty() {
        format!(
            "{} object(s) under Object Lock ({}) until at least {}, past the horizon {horizon}",
            objects.len(),
            modes.into_iter().collect::<Vec<_>>().join(", "),
            earliest.map_or("-".into(), |e| e.format("%Y-%m-%d").to_string())
        )
    } else {
        let named: Vec<String> = short
            .iter()
            .take(5)
            .map(|o| match o.retain_until {
                Some(u) if bypassable(o) => format!(
                    "{} ({} until {}, which holders of s3:BypassGovernanceRetention can lift; --accept-governance counts it)",
                    o.file,
                    o.mode,
                    u.format("%Y-%m-%d")
                ),
                Some(u) => format!("{} ({} until {})", o.file, o.mode, u.format("%Y-%m-%d")),
                None => format!("{} ({}, no retention date)", o.file, o.mode),
            })
            .collect();
        format!(
            "{} of {} object(s) can be deleted or replaced before the horizon {horizon}: {}{}",
            short.len(),
            objects.len(),
            named.join(", "),
            if short.len() > 5 { ", ..." } else { "" }
        )
    };
    Some(RetentionVerdict {
        horizon,
        flagged: !short.is_empty(),
        summary,
        objects,
    })
}

/// `manifest.json.tsr`, judged as every reader judges it ([`super::read::judge_timestamp`]);
/// returns the time signatures are checked at.
async fn check_timestamp(
    store: &dyn Store,
    prefix: &str,
    pack: &StoredPack,
    opts: &VerifyOptions,
    checks: &mut Vec<Check>,
) -> DateTime<Utc> {
    use super::timestamp::{MAX_REPLY_BYTES, TIMESTAMP_FILE};
    let reply = match pack.manifest.timestamped {
        true => store
            .get_limited(
                &format!("{prefix}/{TIMESTAMP_FILE}"),
                MAX_REPLY_BYTES as u64,
            )
            .await
            .ok()
            .flatten(),
        false => None,
    };
    let time = super::read::judge_timestamp(
        &pack.manifest,
        &pack.manifest_bytes,
        reply.as_deref(),
        policy(opts),
    );
    match time.outcome {
        Some(Ok(detail)) => check(checks, CheckKind::Timestamp, true, detail),
        Some(Err(p)) => check(checks, p.check(), false, p.to_string()),
        None => {}
    }
    time.signed_at
}

/// `manifest.json.sig`, judged as every reader judges it ([`super::read::judge_signature`]),
/// strictly.
async fn check_manifest_signature(
    store: &dyn Store,
    prefix: &str,
    pack: &StoredPack,
    signed_at: DateTime<Utc>,
    opts: &VerifyOptions,
    checks: &mut Vec<Check>,
) {
    let sig = store
        .get_limited(
            &format!("{prefix}/{SIGNATURE_FILE}"),
            super::MAX_SIGNATURE_BYTES,
        )
        .await
        .ok()
        .flatten();
    match super::read::judge_signature(
        &pack.manifest,
        &pack.manifest_bytes,
        sig.as_deref(),
        signed_at,
        policy(opts),
    ) {
        Ok(detail) => check(checks, CheckKind::Signature, true, detail),
        Err(p) => check(checks, p.check(), false, p.to_string()),
    }
}

/// Every file the manifest lists is there with its size and SHA-256, and nothing else is.
async fn check_files(store: &dyn Store, prefix: &str, m: &Manifest, checks: &mut Vec<Check>) {
    let stored: BTreeSet<String> = match store.list(prefix).await {
        Ok(keys) => keys
            .into_iter()
            .filter_map(|k| k.strip_prefix(&format!("{prefix}/")).map(str::to_string))
            .collect(),
        Err(e) => {
            check(
                checks,
                CheckKind::Files,
                false,
                format!("cannot list the pack: {e}"),
            );
            BTreeSet::new()
        }
    };
    let mut expected: BTreeSet<String> = m.files.iter().map(|f| f.path.clone()).collect();
    expected.extend(m.envelope_files().into_iter().map(str::to_string));
    let mut files_ok = true;
    for missing in expected.difference(&stored) {
        files_ok = false;
        check(
            checks,
            CheckKind::Files,
            false,
            format!("{missing} is missing"),
        );
    }
    for extra in stored.difference(&expected) {
        files_ok = false;
        check(
            checks,
            CheckKind::Files,
            false,
            format!("{extra} is not listed in the manifest"),
        );
    }
    for f in &m.files {
        if !stored.contains(&f.path) {
            continue;
        }
        // The one reading of a file against its manifest entry, as every reader reads it.
        let problem = match super::read_recorded_file(store, prefix, m, &f.path).await {
            Ok(_) => continue,
            Err(super::RecordedFileError::Mismatch(p)) => p.to_string(),
            Err(super::RecordedFileError::Store(e)) => format!("{}: {e}", f.path),
        };
        files_ok = false;
        check(checks, CheckKind::Files, false, problem);
    }
    if files_ok {
        check(
            checks,
            CheckKind::Files,
            true,
            format!(
                "{} files match their size and SHA-256; none missing, none extra",
                m.files.len()
            ),
        );
    }
}

/// `attestation.intoto.json`: a DSSE envelope signed by the key that signed the manifest, whose
/// statement names exactly the pack's other files with their SHA-256, and this cluster and pack.
/// The key is taken from `manifest.json.sig`, whose trust the signature check decides.
async fn check_attestation(store: &dyn Store, prefix: &str, m: &Manifest, checks: &mut Vec<Check>) {
    use super::attest::{ATTESTATION_FILE, PREDICATE_TYPE, STATEMENT_TYPE, open};
    let listed = m.files.iter().any(|f| f.path == ATTESTATION_FILE);
    if !m.attested() && !listed {
        return;
    }
    if !listed {
        check(
            checks,
            CheckKind::Attestation,
            false,
            format!(
                "{ATTESTATION_FILE} is not in the manifest, but a signed pack of manifest version 3 carries one"
            ),
        );
        return;
    }
    let size = m
        .files
        .iter()
        .find(|f| f.path == ATTESTATION_FILE)
        .map_or(0, |f| f.size);
    let bytes = store
        .get_limited(&format!("{prefix}/{ATTESTATION_FILE}"), size)
        .await;
    let sig = store
        .get_limited(
            &format!("{prefix}/{SIGNATURE_FILE}"),
            super::MAX_SIGNATURE_BYTES,
        )
        .await;
    let (Ok(Some(bytes)), Ok(Some(sig))) = (bytes, sig) else {
        check(
            checks,
            CheckKind::Attestation,
            false,
            "cannot be checked: it or manifest.json.sig is missing",
        );
        return;
    };
    let key = match ssh_key::SshSig::from_pem(&sig) {
        Ok(s) => ssh_key::PublicKey::from(s.public_key().clone()),
        Err(e) => {
            check(
                checks,
                CheckKind::Attestation,
                false,
                format!("cannot be checked: manifest.json.sig: {e}"),
            );
            return;
        }
    };
    let statement = match open(&bytes, &key, &m.signing_key_fingerprint) {
        Ok(s) => s,
        Err(e) => {
            check(
                checks,
                CheckKind::Attestation,
                false,
                format!("{ATTESTATION_FILE}: {e}"),
            );
            return;
        }
    };
    let mut problems = Vec::new();
    if statement.statement_type != STATEMENT_TYPE || statement.predicate_type != PREDICATE_TYPE {
        problems.push(format!(
            "statement type {} with predicate {}",
            statement.statement_type, statement.predicate_type
        ));
    }
    let p = &statement.predicate;
    if p.cluster != m.cluster.name || p.pack_id != m.pack_id || p.period.end != m.collected_at {
        problems.push(format!(
            "it is about pack {} of cluster {} collected {}",
            p.pack_id, p.cluster, p.period.end
        ));
    }
    let attested: BTreeSet<(String, String)> = statement
        .subject
        .iter()
        .map(|s| {
            (
                s.name.clone(),
                s.digest.get("sha256").cloned().unwrap_or_default(),
            )
        })
        .collect();
    let listed: BTreeSet<(String, String)> = m
        .files
        .iter()
        .filter(|f| f.path != ATTESTATION_FILE)
        .map(|f| (f.path.clone(), f.sha256.clone()))
        .collect();
    for (name, _) in attested.symmetric_difference(&listed) {
        problems.push(format!("its subject {name} differs from the manifest"));
    }
    if problems.is_empty() {
        check(
            checks,
            CheckKind::Attestation,
            true,
            format!(
                "in-toto statement over {} files, DSSE signature by {}",
                attested.len(),
                m.signing_key_fingerprint
            ),
        );
    } else {
        problems.sort();
        problems.dedup();
        check(
            checks,
            CheckKind::Attestation,
            false,
            format!("{ATTESTATION_FILE}: {}", problems.join("; ")),
        );
    }
}

/// `SHA256SUMS` says what the manifest says, and covers the manifest itself.
async fn check_sums(store: &dyn Store, prefix: &str, pack: &StoredPack, checks: &mut Vec<Check>) {
    let m = &pack.manifest;
    let mut lines: Vec<(String, String)> = m
        .files
        .iter()
        .map(|f| (f.path.clone(), f.sha256.clone()))
        .collect();
    lines.push((MANIFEST_FILE.to_string(), pack.manifest_sha256()));
    let want = sums_file(&lines);
    match store
        .get_limited(&format!("{prefix}/{SUMS_FILE}"), super::MAX_SUMS_BYTES)
        .await
    {
        Ok(Some(got)) if got == want => {
            check(checks, CheckKind::Sums, true, "agrees with the manifest")
        }
        Ok(Some(got)) => {
            let got = String::from_utf8_lossy(&got).to_string();
            let want_s = String::from_utf8_lossy(&want).to_string();
            let differing: Vec<String> = got
                .lines()
                .filter(|l| !want_s.lines().any(|w| w == *l))
                .map(|l| l.split("  ").nth(1).unwrap_or(l).to_string())
                .collect();
            check(
                checks,
                CheckKind::Sums,
                false,
                format!(
                    "SHA256SUMS differs from the manifest ({})",
                    if differing.is_empty() {
                        "lines missing".to_string()
                    } else {
                        differing.join(", ")
                    }
                ),
            );
        }
        Ok(None) => {}
        Err(e) => check(checks, CheckKind::Sums, false, e.to_string()),
    }
}

/// The time the store recorded for the manifest is an anchor the signer does not control: a pack
/// whose claimed publication time is far from it was not published when it says.
async fn check_store_time(
    store: &dyn Store,
    prefix: &str,
    m: &super::Manifest,
    opts: &VerifyOptions,
    checks: &mut Vec<Check>,
) {
    match store
        .modified_at(&format!("{prefix}/{MANIFEST_FILE}"))
        .await
    {
        Ok(Some(stored)) => {
            let apart = (stored - m.published_at).abs();
            let ok = apart <= opts.max_clock_skew;
            check(
                checks,
                CheckKind::Time,
                ok,
                format!(
                    "the store recorded manifest.json at {}, the pack claims publication at {} ({} min apart{})",
                    stored.format("%Y-%m-%dT%H:%M:%SZ"),
                    m.published_at.format("%Y-%m-%dT%H:%M:%SZ"),
                    apart.num_minutes(),
                    if ok {
                        String::new()
                    } else {
                        format!(
                            "; more than the {} min allowed: the pack was not published when it says",
                            opts.max_clock_skew.num_minutes()
                        )
                    }
                ),
            );
        }
        Ok(None) => {}
        Err(e) => check(
            checks,
            CheckKind::Time,
            false,
            format!("cannot read the time the store recorded for manifest.json: {e}"),
        ),
    }
}

/// The link from `pack` to its predecessor `prev`: the right pack, its manifest's SHA-256 as
/// recorded, times that go forward, and no more than one and a half schedule intervals between.
fn check_link(
    pack: &StoredPack,
    prev: &StoredPack,
    interval: chrono::Duration,
    report: &mut VerifyReport,
) {
    let link = &pack.manifest.previous;
    if prev.manifest.pack_id != link.pack_id {
        report.breaks.push(format!(
            "{} names {} as its predecessor, but {} holds pack {}",
            pack.manifest.pack_id, link.pack_id, link.path, prev.manifest.pack_id
        ));
    }
    if prev.manifest_sha256() != link.manifest_sha256 {
        report.breaks.push(format!(
            "{}: the manifest of its predecessor {} does not match the SHA-256 it recorded",
            pack.manifest.pack_id, link.pack_id
        ));
    }
    // Time runs forward along the chain: a pack collected or published before the
    // pack it names as its predecessor was not made when it says.
    for (what, before, after) in [
        (
            "collected",
            prev.manifest.collected_at,
            pack.manifest.collected_at,
        ),
        (
            "published",
            prev.manifest.published_at,
            pack.manifest.published_at,
        ),
    ] {
        if after < before {
            report.breaks.push(format!(
                "{} was {what} at {}, before its predecessor {} ({what} at {}): the chain's times go backwards",
                pack.manifest.pack_id,
                after.format("%Y-%m-%dT%H:%M:%SZ"),
                prev.manifest.pack_id,
                before.format("%Y-%m-%dT%H:%M:%SZ")
            ));
        }
    }
    let elapsed = pack.manifest.collected_at - prev.manifest.collected_at;
    if elapsed > interval + interval / 2 {
        let missed = (elapsed.num_minutes() / interval.num_minutes()).saturating_sub(1);
        report.gaps.push(format!(
            "{} h between {} and {}: about {missed} scheduled run(s) without a pack",
            elapsed.num_hours(),
            prev.manifest.pack_id,
            pack.manifest.pack_id
        ));
    }
}

/// The newest pack of the cluster collected before `pack` and not yet verified.
async fn newest_before(
    store: &dyn Store,
    pack: &StoredPack,
    seen: &BTreeSet<String>,
) -> Option<StoredPack> {
    match super::list_packs(store, &pack.manifest.cluster.name).await {
        Ok((packs, _)) => packs
            .into_iter()
            .filter(|p| {
                p.manifest.collected_at < pack.manifest.collected_at && !seen.contains(&p.prefix)
            })
            .max_by_key(|p| p.manifest.collected_at),
        Err(_) => None,
    }
}

/// Verifies the pack at `prefix` and, with `opts.chain`, every pack before it.
pub async fn verify(store: &dyn Store, prefix: &str, opts: &VerifyOptions) -> VerifyReport {
    let mut report = VerifyReport {
        ok: true,
        packs: Vec::new(),
        gaps: Vec::new(),
        breaks: Vec::new(),
        retention_flagged: Vec::new(),
    };
    let mut current = prefix.to_string();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let interval = chrono::Duration::hours(i64::from(opts.schedule_interval_hours.max(1)));
    let since = opts
        .since
        .map(|d| d.and_hms_opt(0, 0, 0).expect("midnight").and_utc());
    loop {
        if !seen.insert(current.clone()) {
            report
                .breaks
                .push(format!("the chain loops back to {current}"));
            break;
        }
        let verdict = verify_pack(store, &current, opts).await;
        report.packs.push(verdict);
        if !opts.chain {
            break;
        }
        let pack: StoredPack = match read_pack(store, &current).await {
            Ok(p) => p,
            Err(_) => break,
        };
        let link = &pack.manifest.previous;
        if link.is_empty() {
            break;
        }
        if since.is_some_and(|s| pack.manifest.collected_at < s) {
            break;
        }
        match read_pack(store, &link.path).await {
            Ok(prev) => {
                check_link(&pack, &prev, interval, &mut report);
                if since.is_some_and(|s| prev.manifest.collected_at < s) {
                    break;
                }
                current = link.path.clone();
            }
            Err(PackReadError::Missing { .. }) => {
                report.breaks.push(format!(
                    "{} names {} ({}) as its predecessor, which is missing from the store",
                    pack.manifest.pack_id, link.pack_id, link.path
                ));
                // Carry on from the newest pack still in the store before the missing one, so the
                // rest of the series is verified too.
                let older = newest_before(store, &pack, &seen).await;
                match older {
                    Some(o) => {
                        report.gaps.push(format!(
                            "pack {} is missing between {} and {}",
                            link.pack_id, o.manifest.pack_id, pack.manifest.pack_id
                        ));
                        if since.is_some_and(|s| o.manifest.collected_at < s) {
                            break;
                        }
                        current = o.prefix;
                    }
                    None => {
                        report.gaps.push(format!(
                            "pack {} and everything before it are missing",
                            link.pack_id
                        ));
                        break;
                    }
                }
            }
            Err(e) => {
                report.breaks.push(format!(
                    "{}: its predecessor cannot be read: {e}",
                    pack.manifest.pack_id
                ));
                break;
            }
        }
    }
    report.retention_flagged = report
        .packs
        .iter()
        .filter(|p| p.retention.as_ref().is_some_and(|r| r.flagged))
        .map(|p| p.pack_id.clone())
        .collect();
    report.ok =
        report.packs.iter().all(|p| p.ok) && report.gaps.is_empty() && report.breaks.is_empty();
    report
}
