//! The run configuration: a YAML file, every setting overridable by a flag and by a
//! `KUBE_EVIDENCE_*` environment variable (flag > environment > file).
//!
//! Loading goes raw -> validated: every setting is gathered with where it came from, then checked
//! in one pass so that all problems are reported together, each naming its file, line and column
//! (or the flag or variable that set it). Relative paths in the file are relative to the file.

use crate::diag::{Diagnostics, Pos};
use crate::finding::Severity;
use crate::inventory::InventoryRef;
use crate::source::SourceSpec;
use crate::store::StoreUrl;
use crate::store::s3::{Encryption, LockMode, ObjectLock, S3Options};
use crate::yaml::{Node, Value, decode::Decoder};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const CONFIG_API_VERSION: &str = crate::API_VERSION;
pub const CONFIG_KIND: &str = "RunConfig";

/// How a setting's text is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingType {
    Text,
    /// Relative to the configuration file when set there.
    Path,
    /// `true`/`false` (also `1`/`0`, `yes`/`no`); a bare flag means true.
    Bool,
    Number,
    /// `{mode, days}` in the file, `MODE:DAYS` in a flag or variable.
    ObjectLock,
}

/// One row of the settings table.
#[derive(Debug)]
pub struct SettingRow {
    /// The key in the configuration file.
    pub key: &'static str,
    /// The command-line flag.
    pub flag: &'static str,
    /// The environment variable. The signing key file is `..._SIGNING_KEY_FILE` because
    /// `KUBE_EVIDENCE_SIGNING_KEY` holds the key text itself.
    pub env: &'static str,
    pub kind: SettingType,
    /// The placeholder a flag's help shows for its value.
    pub value: &'static str,
    /// One line for the flag's help and the configuration reference (Markdown).
    pub help: &'static str,
}

macro_rules! settings_table {
    ($($variant:ident {
        key: $key:literal,
        flag: $flag:literal,
        env: $env:literal,
        kind: $kind:ident,
        value: $value:literal,
        help: $help:literal,
    })*) => {
        /// Every top-level setting. The table below is the one place a setting's key, flag,
        /// environment variable, kind and help are written: the loader, the command line's flags
        /// (`cli::settings`) and the reference in docs/configuration.md all read it.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Setting {
            $($variant,)*
        }

        const SETTING_ROWS: &[SettingRow] = &[$(SettingRow {
            key: $key,
            flag: $flag,
            env: $env,
            kind: SettingType::$kind,
            value: $value,
            help: $help,
        },)*];

        impl Setting {
            pub const ALL: [Setting; SETTING_ROWS.len()] = [$(Setting::$variant,)*];
        }
    };
}

settings_table! {
    ClusterName {
        key: "clusterName",
        flag: "--cluster-name",
        env: "KUBE_EVIDENCE_CLUSTER_NAME",
        kind: Text,
        value: "NAME",
        help: "Name of the cluster; names the pack folder. Letters, digits, `-`, `_`, `.`.",
    }
    Source {
        key: "source",
        flag: "--source",
        env: "KUBE_EVIDENCE_SOURCE",
        kind: Text,
        value: "cluster|PATH",
        help: "`cluster` for the live API, or a file or directory of dumped objects (write `./cluster` for a directory called `cluster`).",
    }
    DefaultNamespace {
        key: "defaultNamespace",
        flag: "--default-namespace",
        env: "KUBE_EVIDENCE_DEFAULT_NAMESPACE",
        kind: Text,
        value: "NS",
        help: "Read the source as rendered manifests (a chart's `helm template` output, a GitOps repository): namespaced objects that name no namespace go in NS, as `kubectl apply -n NS` would put them.",
    }
    Out {
        key: "out",
        flag: "--out",
        env: "KUBE_EVIDENCE_OUT",
        kind: Text,
        value: "URL",
        help: "Where packs go: a directory, `file://DIR`, or `s3://BUCKET/PREFIX`.",
    }
    Inventory {
        key: "inventory",
        flag: "--inventory",
        env: "KUBE_EVIDENCE_INVENTORY",
        kind: Path,
        value: "FILE",
        help: "The sub-processor inventory: a file, or `configmap:NAMESPACE/NAME`.",
    }
    Controls {
        key: "controls",
        flag: "--controls",
        env: "KUBE_EVIDENCE_CONTROLS",
        kind: Path,
        value: "DIR",
        help: "A directory of control definitions (default: the built-in SOC 2 and ISO 27001 sets).",
    }
    Exceptions {
        key: "exceptions",
        flag: "--exceptions",
        env: "KUBE_EVIDENCE_EXCEPTIONS",
        kind: Path,
        value: "FILE",
        help: "The exceptions (risk acceptance) file.",
    }
    FailOn {
        key: "failOn",
        flag: "--fail-on",
        env: "KUBE_EVIDENCE_FAIL_ON",
        kind: Text,
        value: "SEVERITY",
        help: "Exit with code 3 when an unaccepted finding has at least this severity (`critical`, `high`, `medium`, `low`, `info`, or `none`).",
    }
    SigningKey {
        key: "signingKey",
        flag: "--signing-key",
        env: "KUBE_EVIDENCE_SIGNING_KEY_FILE",
        kind: Path,
        value: "FILE",
        help: "The Ed25519 signing key file (OpenSSH format).",
    }
    Unsigned {
        key: "unsigned",
        flag: "--unsigned",
        env: "KUBE_EVIDENCE_UNSIGNED",
        kind: Bool,
        value: "BOOL",
        help: "Publish without a signature; the pack says UNSIGNED everywhere.",
    }
    AllowedSigners {
        key: "allowedSigners",
        flag: "--allowed-signers",
        env: "KUBE_EVIDENCE_ALLOWED_SIGNERS",
        kind: Path,
        value: "FILE",
        help: "OpenSSH allowed-signers file of the keys trusted to sign packs: the previous pack's signature must verify against it before a run chains to it.",
    }
    LogFormat {
        key: "logFormat",
        flag: "--log-format",
        env: "KUBE_EVIDENCE_LOG_FORMAT",
        kind: Text,
        value: "FORMAT",
        help: "`text` (default) or `json`.",
    }
    LogLevel {
        key: "logLevel",
        flag: "--log-level",
        env: "KUBE_EVIDENCE_LOG_LEVEL",
        kind: Text,
        value: "LEVEL",
        help: "`error`, `warn`, `info` (default), `debug` or `trace`; `RUST_LOG` also works.",
    }
    RequireComplete {
        key: "requireComplete",
        flag: "--require-complete",
        env: "KUBE_EVIDENCE_REQUIRE_COMPLETE",
        kind: Bool,
        value: "BOOL",
        help: "Refuse to publish when any required kind could not be collected completely.",
    }
    CollectTokenSecrets {
        key: "collectTokenSecrets",
        flag: "--collect-token-secrets",
        env: "KUBE_EVIDENCE_COLLECT_TOKEN_SECRETS",
        kind: Bool,
        value: "BOOL",
        help: "List Secret metadata to find legacy ServiceAccount tokens (needs `list` on secrets).",
    }
    Kubeconfig {
        key: "kubeconfig",
        flag: "--kubeconfig",
        env: "KUBE_EVIDENCE_KUBECONFIG",
        kind: Path,
        value: "FILE",
        help: "Kubeconfig file for `source: cluster` (default: in-cluster, then `KUBECONFIG`, then `~/.kube/config`).",
    }
    Context {
        key: "context",
        flag: "--context",
        env: "KUBE_EVIDENCE_CONTEXT",
        kind: Text,
        value: "NAME",
        help: "Kubeconfig context to use.",
    }
    AuditLog {
        key: "auditLog",
        flag: "--audit-log",
        env: "KUBE_EVIDENCE_AUDIT_LOG",
        kind: Text,
        value: "PATH|URL",
        help: "The API server's audit log (`audit.k8s.io/v1` JSON lines): a file, a directory of rotated files (gzip or not), or `s3://BUCKET/PREFIX` of an export. Puts use next to grants in the pack (see docs/audit-log.md).",
    }
    AuditLogMaxMalformedPercent {
        key: "auditLogMaxMalformedPercent",
        flag: "--audit-log-max-malformed-percent",
        env: "KUBE_EVIDENCE_AUDIT_LOG_MAX_MALFORMED_PERCENT",
        kind: Number,
        value: "PERCENT",
        help: "Refuse the audit log when more than this share of its lines are not audit events (default 1; malformed lines below it are counted and named in the pack).",
    }
    UsageWindowDays {
        key: "usageWindowDays",
        flag: "--usage-window-days",
        env: "KUBE_EVIDENCE_USAGE_WINDOW_DAYS",
        kind: Number,
        value: "DAYS",
        help: "The window over which access counts as used or unused (default 90 days).",
    }
    AnomalyRateMultiple {
        key: "anomalyRateMultiple",
        flag: "--anomaly-rate-multiple",
        env: "KUBE_EVIDENCE_ANOMALY_RATE_MULTIPLE",
        kind: Number,
        value: "N",
        help: "A non-human identity's daily requests or denials above N times its baseline are an anomaly (default 10).",
    }
    Reviewers {
        key: "reviewers",
        flag: "--reviewers",
        env: "KUBE_EVIDENCE_REVIEWERS",
        kind: Path,
        value: "FILE",
        help: "The reviewer map of access review campaigns: who reviews which rows, by namespace, group or subject pattern, with a default (see docs/access-reviews.md).",
    }
    VendorCatalog {
        key: "vendorCatalog",
        flag: "--vendor-catalog",
        env: "KUBE_EVIDENCE_VENDOR_CATALOG",
        kind: Path,
        value: "FILE",
        help: "Vendors and projects to add to the shipped catalog that tells third parties from the platform (`inventory discover`, `vendor review`; format in catalog/vendors.yaml).",
    }
    ImageMaxAgeDays {
        key: "imageMaxAgeDays",
        flag: "--image-max-age-days",
        env: "KUBE_EVIDENCE_IMAGE_MAX_AGE_DAYS",
        kind: Number,
        value: "DAYS",
        help: "A sub-processor image whose digest has not changed for longer than this is a finding (KE-UPD-003), once the packs' record covers that long (default 180 days).",
    }
    ReviewPeriodDays {
        key: "reviewPeriodDays",
        flag: "--review-period-days",
        env: "KUBE_EVIDENCE_REVIEW_PERIOD_DAYS",
        kind: Number,
        value: "DAYS",
        help: "A privileged grant counts as reviewed when a decision on it is at most this old (default 90 days).",
    }
    TimestampAuthority {
        key: "timestampAuthority",
        flag: "--timestamp-authority",
        env: "KUBE_EVIDENCE_TIMESTAMP_AUTHORITY",
        kind: Text,
        value: "URL",
        help: "An RFC 3161 time-stamping authority (`http://...`): each manifest gets its token (`manifest.json.tsr`), whose time `verify` uses for the signing key's validity. Needs `timestampAuthorityCertificate`.",
    }
    TimestampAuthorityCertificate {
        key: "timestampAuthorityCertificate",
        flag: "--timestamp-authority-certificate",
        env: "KUBE_EVIDENCE_TIMESTAMP_AUTHORITY_CERTIFICATE",
        kind: Path,
        value: "FILE",
        help: "The time-stamping authority's certificate (PEM or DER): a token is kept only if that certificate's key signed it.",
    }
    ScheduleIntervalHours {
        key: "scheduleIntervalHours",
        flag: "--schedule-interval-hours",
        env: "KUBE_EVIDENCE_SCHEDULE_INTERVAL_HOURS",
        kind: Number,
        value: "HOURS",
        help: "Hours between scheduled runs, used to find gaps in the series (default 24).",
    }
    S3Region {
        key: "s3Region",
        flag: "--s3-region",
        env: "KUBE_EVIDENCE_S3_REGION",
        kind: Text,
        value: "REGION",
        help: "Bucket region (default: the AWS chain's region, e.g. `AWS_REGION`, else `us-east-1`).",
    }
    S3Endpoint {
        key: "s3Endpoint",
        flag: "--s3-endpoint",
        env: "KUBE_EVIDENCE_S3_ENDPOINT",
        kind: Text,
        value: "URL",
        help: "S3-compatible endpoint URL (default: `AWS_ENDPOINT_URL_S3`, then `AWS_ENDPOINT_URL`, then AWS itself).",
    }
    S3PathStyle {
        key: "s3PathStyle",
        flag: "--s3-path-style",
        env: "KUBE_EVIDENCE_S3_PATH_STYLE",
        kind: Bool,
        value: "BOOL",
        help: "Force path-style addressing (chosen automatically for IP-address and `localhost` endpoints).",
    }
    ObjectLock {
        key: "objectLock",
        flag: "--object-lock",
        env: "KUBE_EVIDENCE_OBJECT_LOCK",
        kind: ObjectLock,
        value: "MODE:DAYS",
        help: "Write-once retention on every pack object: `{mode: GOVERNANCE|COMPLIANCE, days: N}` in the file, `MODE:DAYS` as flag or variable. The bucket must have Object Lock enabled, or the run fails before publishing.",
    }
    ServerSideEncryption {
        key: "serverSideEncryption",
        flag: "--sse",
        env: "KUBE_EVIDENCE_SSE",
        kind: Text,
        value: "ALGORITHM",
        help: "Server-side encryption of pack objects: `AES256` or `aws:kms`. The run stops if the store does not confirm it.",
    }
    SseKmsKeyId {
        key: "sseKmsKeyId",
        flag: "--sse-kms-key-id",
        env: "KUBE_EVIDENCE_SSE_KMS_KEY_ID",
        kind: Text,
        value: "KEY",
        help: "KMS key id or ARN for `serverSideEncryption: aws:kms` (default: the bucket's key).",
    }
}

impl Setting {
    pub fn row(self) -> &'static SettingRow {
        &SETTING_ROWS[self as usize]
    }

    /// The key in the configuration file.
    pub fn key(self) -> &'static str {
        self.row().key
    }

    pub fn flag(self) -> &'static str {
        self.row().flag
    }

    pub fn env(self) -> &'static str {
        self.row().env
    }

    pub fn kind(self) -> SettingType {
        self.row().kind
    }

    pub fn help(self) -> &'static str {
        self.row().help
    }
}

/// The settings reference of docs/configuration.md, made from the table.
pub fn settings_reference() -> String {
    let mut out = String::from("| key | flag | environment | meaning |\n|---|---|---|---|\n");
    for s in Setting::ALL {
        let r = s.row();
        out.push_str(&format!(
            "| `{}` | `{}` | `{}` | {} |\n",
            r.key,
            r.flag,
            r.env,
            r.help.replace('|', "\\|")
        ));
    }
    out
}

/// Where a setting's value came from, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Flag(&'static str),
    Env(&'static str),
    File {
        path: String,
        pos: Pos,
        base: PathBuf,
    },
}

impl Origin {
    fn report(&self, diags: &mut Diagnostics, message: String) {
        match self {
            Origin::Flag(f) => diags.push(f, None, message),
            Origin::Env(v) => diags.push(&format!("{v} (environment)"), None, message),
            Origin::File { path, pos, .. } => diags.push(path, Some(*pos), message),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// A validated run configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub cluster_name: Option<String>,
    pub source: Option<SourceSpec>,
    pub out: Option<StoreUrl>,
    pub inventory: Option<InventoryRef>,
    pub controls: Option<PathBuf>,
    pub exceptions: Option<PathBuf>,
    pub fail_on: Option<Severity>,
    pub signing_key: Option<PathBuf>,
    pub unsigned: bool,
    /// The key text in [`SIGNING_KEY_TEXT_ENV`] is set aside: `--unsigned` on the command line
    /// outranks the environment.
    pub key_text_overridden: bool,
    /// Keys trusted to have signed earlier packs.
    pub allowed_signers: Option<PathBuf>,
    pub log_format: Option<LogFormat>,
    pub log_level: Option<String>,
    pub require_complete: bool,
    pub collect_token_secrets: bool,
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
    pub schedule_interval_hours: u32,
    /// The API server's audit log.
    pub audit_log: Option<StoreUrl>,
    pub audit_log_max_malformed_percent: f64,
    pub usage_window_days: u32,
    pub anomaly_rate_multiple: f64,
    /// The reviewer map for access review campaigns.
    pub reviewers: Option<PathBuf>,
    pub vendor_catalog: Option<PathBuf>,
    pub review_period_days: u32,
    /// Sub-processor images unchanged for longer are findings (KE-UPD-003).
    pub image_max_age_days: u32,
    /// An RFC 3161 time-stamping authority (`http://` URL) and its pinned certificate.
    pub timestamp_authority: Option<String>,
    pub timestamp_authority_certificate: Option<PathBuf>,
    /// How to reach an `s3://` store.
    pub s3: S3Settings,
    /// The file the configuration was read from, if any.
    pub file: Option<PathBuf>,
}

/// The S3 settings, validated; turned into the store's options by [`Config::s3_options`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct S3Settings {
    pub region: Option<String>,
    pub endpoint: Option<String>,
    pub path_style: Option<bool>,
    pub object_lock: Option<ObjectLock>,
    pub encryption: Option<Encryption>,
}

/// Values given on the command line, by setting.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    values: BTreeMap<Setting, String>,
}

impl Overrides {
    pub fn set(&mut self, setting: Setting, value: impl Into<String>) {
        self.values.insert(setting, value.into());
    }

    pub fn set_opt(&mut self, setting: Setting, value: Option<impl Into<String>>) {
        if let Some(v) = value {
            self.set(setting, v);
        }
    }

    pub fn set_flag(&mut self, setting: Setting, on: bool) {
        if on {
            self.set(setting, "true");
        }
    }

    /// Adds `other`'s values, which win.
    pub fn extend(&mut self, other: &Overrides) {
        self.values
            .extend(other.values.iter().map(|(k, v)| (*k, v.clone())));
    }

    pub fn get(&self, setting: Setting) -> Option<&str> {
        self.values.get(&setting).map(String::as_str)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read configuration file {path}")]
    Read {
        path: String,
        #[source]
        source: crate::input::InputError,
    },
    #[error("invalid configuration:\n{0}")]
    Invalid(Diagnostics),
}

/// What a value looks like before validation.
enum RawValue {
    Text(String),
    Other(&'static str),
}

/// The environment variable that may hold the signing key's text (instead of a file).
pub const SIGNING_KEY_TEXT_ENV: &str = "KUBE_EVIDENCE_SIGNING_KEY";

/// How much a value's origin weighs: flags over the environment over the file.
fn precedence(origin: &Origin) -> u8 {
    match origin {
        Origin::File { .. } => 0,
        Origin::Env(_) => 1,
        Origin::Flag(_) => 2,
    }
}

/// Signing is one decision, a key or `unsigned`, made by the layer with the higher precedence:
/// `--signing-key` on the command line beats `unsigned: true` in the file, and `--unsigned`
/// beats a key in the file or the environment. Both in the same layer stay a conflict, which
/// validation reports. Returns whether the key text in the environment was outranked.
fn choose_signing(raw: &mut BTreeMap<Setting, (RawValue, Origin)>, key_text_in_env: bool) -> bool {
    let unsigned = match raw.get(&Setting::Unsigned) {
        Some((RawValue::Text(v), origin)) if matches!(v.as_str(), "true" | "1" | "yes") => {
            precedence(origin)
        }
        _ => return false,
    };
    let key_file = raw.get(&Setting::SigningKey).map(|(_, o)| precedence(o));
    let key_text = key_text_in_env.then_some(precedence(&Origin::Env(SIGNING_KEY_TEXT_ENV)));
    let Some(key) = key_file.max(key_text) else {
        return false;
    };
    if key > unsigned {
        raw.remove(&Setting::Unsigned);
        return false;
    }
    if unsigned > key {
        raw.remove(&Setting::SigningKey);
        return key_text.is_some();
    }
    false
}

/// Loads and validates the configuration: `file` (optional), then `env` (a lookup, injected so
/// tests need not touch the process environment), then `flags`.
pub fn load(
    file: Option<&Path>,
    flags: &Overrides,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigError> {
    let mut diags = Diagnostics::new();
    let mut raw = gather(file, flags, env, &mut diags)?;
    let key_text_overridden = choose_signing(&mut raw, env(SIGNING_KEY_TEXT_ENV).is_some());
    let mut config = Config::unset(file, key_text_overridden);
    let mut pending = Pending::default();
    for (setting, (value, origin)) in raw {
        if let Some(text) = setting_text(setting, value, &origin, &mut diags) {
            apply(&mut config, setting, text, origin, &mut pending, &mut diags);
        }
    }
    check_combinations(&mut config, pending, env, &mut diags);
    diags.into_result(config).map_err(ConfigError::Invalid)
}

/// Only `settings`, from the flags and the environment (no file): what a command that reads no
/// configuration file takes, such as the log settings every command honours. The other
/// settings' variables are not read, so a value meant for another command cannot fail this one.
pub fn load_settings(
    settings: &[Setting],
    flags: &Overrides,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigError> {
    let mut diags = Diagnostics::new();
    let raw = gather(None, flags, env, &mut diags)?;
    let mut config = Config::unset(None, false);
    let mut pending = Pending::default();
    for (setting, (value, origin)) in raw.into_iter().filter(|(s, _)| settings.contains(s)) {
        if let Some(text) = setting_text(setting, value, &origin, &mut diags) {
            apply(&mut config, setting, text, origin, &mut pending, &mut diags);
        }
    }
    diags.into_result(config).map_err(ConfigError::Invalid)
}

/// Every setting's raw value and where it came from: the file, then the environment, then the
/// flags (a later one wins).
fn gather(
    file: Option<&Path>,
    flags: &Overrides,
    env: &dyn Fn(&str) -> Option<String>,
    diags: &mut Diagnostics,
) -> Result<BTreeMap<Setting, (RawValue, Origin)>, ConfigError> {
    let mut raw: BTreeMap<Setting, (RawValue, Origin)> = BTreeMap::new();

    if let Some(path) = file {
        let shown = path.display().to_string();
        let text = crate::input::read_text(path, crate::input::MAX_WRITTEN_FILE).map_err(|e| {
            ConfigError::Read {
                path: shown.clone(),
                source: e,
            }
        })?;
        let base = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        read_file(&text, &shown, &base, &mut raw, diags);
    }
    for setting in Setting::ALL {
        if let Some(v) = env(setting.env()) {
            raw.insert(setting, (RawValue::Text(v), Origin::Env(setting.env())));
        }
    }
    for (setting, v) in &flags.values {
        raw.insert(
            *setting,
            (RawValue::Text(v.clone()), Origin::Flag(setting.flag())),
        );
    }

    Ok(raw)
}

impl Config {
    /// Every setting at its default, before any value is applied.
    fn unset(file: Option<&Path>, key_text_overridden: bool) -> Config {
        Config {
            cluster_name: None,
            source: None,
            out: None,
            inventory: None,
            controls: None,
            exceptions: None,
            fail_on: None,
            signing_key: None,
            unsigned: false,
            key_text_overridden,
            allowed_signers: None,
            log_format: None,
            log_level: None,
            require_complete: false,
            collect_token_secrets: false,
            kubeconfig: None,
            context: None,
            schedule_interval_hours: crate::analysis::DEFAULT_SCHEDULE_INTERVAL_HOURS,
            audit_log: None,
            audit_log_max_malformed_percent: 1.0,
            usage_window_days: 90,
            anomaly_rate_multiple: 10.0,
            reviewers: None,
            vendor_catalog: None,
            review_period_days: 90,
            timestamp_authority: None,
            timestamp_authority_certificate: None,
            image_max_age_days: crate::inventory::updates::DEFAULT_MAX_AGE_DAYS,
            s3: S3Settings::default(),
            file: file.map(Path::to_path_buf),
        }
    }
}

/// Settings that are checked against another once all are read.
#[derive(Default)]
struct Pending {
    sse_kms_key: Option<(String, Origin)>,
    sse_origin: Option<Origin>,
    default_namespace: Option<(String, Origin)>,
    /// `timestampAuthority` was given, valid or not (so that a bad one is not also reported as
    /// missing).
    timestamp_authority_given: bool,
}

/// A setting's text, or `None` (with the problem reported) when it is not text of its kind or
/// is empty.
fn setting_text(
    setting: Setting,
    value: RawValue,
    origin: &Origin,
    diags: &mut Diagnostics,
) -> Option<String> {
    let text = match value {
        RawValue::Text(t) => t,
        RawValue::Other(found) => {
            let expected = match setting.kind() {
                SettingType::Bool => "true or false",
                SettingType::Number => "a whole number",
                SettingType::ObjectLock => "a mapping with `mode` and `days`",
                _ => "a string",
            };
            origin.report(
                diags,
                format!("`{}`: expected {expected}, found {found}", setting.key()),
            );
            return None;
        }
    };
    if text.trim().is_empty() && setting.kind() != SettingType::Bool {
        origin.report(diags, format!("`{}` must not be empty", setting.key()));
        return None;
    }
    Some(text)
}

/// Validates one setting's text and stores it in `config`; a refusal is reported where the
/// setting came from, prefixed with its key.
fn apply(
    config: &mut Config,
    setting: Setting,
    text: String,
    origin: Origin,
    pending: &mut Pending,
    diags: &mut Diagnostics,
) {
    if let Err(m) = store(config, setting, text, &origin, pending) {
        origin.report(diags, format!("`{}`: {m}", setting.key()));
    }
}

/// A path setting, relative to the file that gave it (or to the working directory).
fn resolve_path(origin: &Origin, text: &str) -> PathBuf {
    match origin {
        Origin::File { base, .. } => normalize(&base.join(text)),
        _ => normalize(Path::new(text)),
    }
}

fn store(
    config: &mut Config,
    setting: Setting,
    text: String,
    origin: &Origin,
    pending: &mut Pending,
) -> Result<(), String> {
    let path = |t: &str| resolve_path(origin, t);
    match setting {
        Setting::ClusterName => {
            validate_cluster_name(&text)?;
            config.cluster_name = Some(text);
        }
        Setting::Source => {
            config.source = Some(match SourceSpec::parse(&text) {
                SourceSpec::Dump(p) => SourceSpec::Dump(path(&p.to_string_lossy())),
                other => other,
            })
        }
        Setting::DefaultNamespace => {
            validate_namespace_name(&text)?;
            pending.default_namespace = Some((text, origin.clone()));
        }
        Setting::Out | Setting::AuditLog => {
            let resolved = if text.contains("://") {
                text
            } else {
                path(&text).to_string_lossy().to_string()
            };
            let url = StoreUrl::parse(&resolved)?;
            if setting == Setting::Out {
                config.out = Some(url);
            } else {
                config.audit_log = Some(url);
            }
        }
        Setting::AuditLogMaxMalformedPercent
        | Setting::AnomalyRateMultiple
        | Setting::UsageWindowDays
        | Setting::ReviewPeriodDays
        | Setting::ImageMaxAgeDays => apply_usage_number(config, setting, &text)?,
        Setting::Inventory => {
            config.inventory = Some(if text.starts_with("configmap:") {
                InventoryRef::parse(&text)?
            } else {
                InventoryRef::File(path(&text))
            });
        }
        Setting::Controls => config.controls = Some(path(&text)),
        Setting::Reviewers => config.reviewers = Some(path(&text)),
        Setting::VendorCatalog => config.vendor_catalog = Some(path(&text)),
        Setting::Exceptions => config.exceptions = Some(path(&text)),
        Setting::SigningKey => config.signing_key = Some(path(&text)),
        Setting::AllowedSigners => config.allowed_signers = Some(path(&text)),
        Setting::Kubeconfig => config.kubeconfig = Some(path(&text)),
        Setting::TimestampAuthority => {
            pending.timestamp_authority_given = true;
            validate_timestamp_authority(&text)?;
            config.timestamp_authority = Some(text);
        }
        Setting::TimestampAuthorityCertificate => {
            config.timestamp_authority_certificate = Some(path(&text))
        }
        Setting::Context => config.context = Some(text),
        Setting::FailOn => {
            config.fail_on = match text.parse::<Severity>() {
                Ok(s) => Some(s),
                Err(_) if text == "none" => None,
                Err(m) => return Err(format!("{m} (or none)")),
            }
        }
        Setting::LogFormat | Setting::LogLevel => store_logging(config, setting, text)?,
        Setting::S3Region
        | Setting::S3Endpoint
        | Setting::ObjectLock
        | Setting::ServerSideEncryption
        | Setting::SseKmsKeyId => store_s3(config, setting, text, origin, pending)?,
        Setting::Unsigned
        | Setting::RequireComplete
        | Setting::CollectTokenSecrets
        | Setting::S3PathStyle => {
            let b = match text.as_str() {
                "true" | "1" | "yes" => true,
                "false" | "0" | "no" | "" => false,
                _ => return Err(format!("expected true or false, found `{text}`")),
            };
            match setting {
                Setting::Unsigned => config.unsigned = b,
                Setting::RequireComplete => config.require_complete = b,
                Setting::S3PathStyle => config.s3.path_style = Some(b),
                _ => config.collect_token_secrets = b,
            }
        }
        Setting::ScheduleIntervalHours => match text.parse::<u32>() {
            Ok(h) if (1..=24 * 31).contains(&h) => config.schedule_interval_hours = h,
            _ => {
                return Err(format!(
                    "expected a whole number of hours from 1 to 744, found `{text}`"
                ));
            }
        },
    }
    Ok(())
}

fn store_logging(config: &mut Config, setting: Setting, text: String) -> Result<(), String> {
    if setting == Setting::LogFormat {
        config.log_format = Some(match text.as_str() {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            _ => {
                return Err(format!(
                    "unknown log format `{text}`; expected text or json"
                ));
            }
        });
        return Ok(());
    }
    match text.as_str() {
        "error" | "warn" | "info" | "debug" | "trace" => config.log_level = Some(text),
        _ => {
            return Err(format!(
                "unknown log level `{text}`; expected error, warn, info, debug or trace"
            ));
        }
    }
    Ok(())
}

fn store_s3(
    config: &mut Config,
    setting: Setting,
    text: String,
    origin: &Origin,
    pending: &mut Pending,
) -> Result<(), String> {
    match setting {
        Setting::S3Region => config.s3.region = Some(text),
        Setting::S3Endpoint => {
            validate_endpoint(&text)?;
            config.s3.endpoint = Some(text);
        }
        Setting::ObjectLock => config.s3.object_lock = Some(parse_object_lock(&text)?),
        Setting::ServerSideEncryption => {
            config.s3.encryption = Some(match text.as_str() {
                "AES256" => Encryption::Aes256,
                "aws:kms" => Encryption::Kms { key_id: None },
                _ => {
                    return Err(format!(
                        "unknown server-side encryption `{text}`; expected AES256 or aws:kms"
                    ));
                }
            });
            pending.sse_origin = Some(origin.clone());
        }
        _ => pending.sse_kms_key = Some((text, origin.clone())),
    }
    Ok(())
}

/// The numbers of the audit-log analysis, each within the range that means something.
fn apply_usage_number(config: &mut Config, setting: Setting, text: &str) -> Result<(), String> {
    if matches!(
        setting,
        Setting::UsageWindowDays | Setting::ReviewPeriodDays | Setting::ImageMaxAgeDays
    ) {
        return match text.parse::<u32>() {
            Ok(d) if (1..=3660).contains(&d) => {
                match setting {
                    Setting::UsageWindowDays => config.usage_window_days = d,
                    Setting::ReviewPeriodDays => config.review_period_days = d,
                    _ => config.image_max_age_days = d,
                }
                Ok(())
            }
            _ => Err(format!(
                "expected a whole number of days from 1 to 3660, found `{text}`"
            )),
        };
    }
    let (low, high, slot) = match setting {
        Setting::AuditLogMaxMalformedPercent => {
            (0.0, 100.0, &mut config.audit_log_max_malformed_percent)
        }
        _ => (1.0, 1_000_000.0, &mut config.anomaly_rate_multiple),
    };
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() && (low..=high).contains(&v) => {
            *slot = v;
            Ok(())
        }
        _ => Err(format!(
            "expected a number from {low} to {high}, found `{text}`"
        )),
    }
}

/// What no single setting can decide: the KMS key without `aws:kms`, the standard AWS endpoint
/// variables, S3-only settings on a local store, a key and `unsigned` together.
fn check_combinations(
    config: &mut Config,
    pending: Pending,
    env: &dyn Fn(&str) -> Option<String>,
    diags: &mut Diagnostics,
) {
    if let Some((key_id, origin)) = pending.sse_kms_key {
        match &mut config.s3.encryption {
            Some(Encryption::Kms { key_id: slot }) => *slot = Some(key_id),
            _ => origin.report(
                diags,
                "`sseKmsKeyId` is set but `serverSideEncryption` is not `aws:kms`".to_string(),
            ),
        }
    }
    if let Some((namespace, origin)) = pending.default_namespace {
        match config.source.take() {
            Some(SourceSpec::Dump(path) | SourceSpec::Manifests { path, .. }) => {
                config.source = Some(SourceSpec::Manifests { path, namespace })
            }
            other => {
                config.source = other;
                origin.report(
                    diags,
                    "`defaultNamespace` applies to a source of files (rendered manifests), not to a live cluster or no source".to_string(),
                );
            }
        }
    }
    // The standard AWS variables name the endpoint when nothing of ours does.
    if config.s3.endpoint.is_none() {
        for var in ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"] {
            if let Some(v) = env(var).filter(|v| !v.trim().is_empty()) {
                match validate_endpoint(&v) {
                    Ok(()) => config.s3.endpoint = Some(v),
                    Err(m) => diags.push(&format!("{var} (environment)"), None, m),
                }
                break;
            }
        }
    }
    // Retention and encryption asked for on a store that cannot give them would leave evidence
    // less protected than the configuration says.
    if !matches!(config.out, Some(StoreUrl::S3 { .. }) | None) {
        if config.s3.object_lock.is_some() {
            diags.push(
                "configuration",
                None,
                "`objectLock` is set but `out` is not an s3:// store; a local directory cannot enforce retention",
            );
        }
        if let Some(origin) = pending.sse_origin {
            origin.report(
                diags,
                "`serverSideEncryption` is set but `out` is not an s3:// store".to_string(),
            );
        }
    }
    if pending.timestamp_authority_given != config.timestamp_authority_certificate.is_some() {
        diags.push(
            "configuration",
            None,
            "`timestampAuthority` and `timestampAuthorityCertificate` go together: a token is kept only after the authority's certificate checks it",
        );
    }
    if config.unsigned && config.signing_key.is_some() {
        diags.push(
            "configuration",
            None,
            "both a signing key and `unsigned` are set; choose one",
        );
    }
}

fn read_file(
    text: &str,
    file: &str,
    base: &Path,
    raw: &mut BTreeMap<Setting, (RawValue, Origin)>,
    diags: &mut Diagnostics,
) {
    let mut d = Decoder::new(file);
    let Some(root) = d.single_document(
        text,
        "the configuration file is empty",
        "a configuration file holds one YAML document",
    ) else {
        diags.extend(d.diags);
        return;
    };
    let Some(mut fields) = d.map(&root, "") else {
        diags.extend(d.diags);
        return;
    };
    if let Some(v) = fields.optional("apiVersion")
        && v.as_str() != Some(CONFIG_API_VERSION)
    {
        d.error(
            v.pos,
            format!("`apiVersion` must be `{CONFIG_API_VERSION}`"),
        );
    }
    if let Some(v) = fields.optional("kind")
        && v.as_str() != Some(CONFIG_KIND)
    {
        d.error(v.pos, format!("`kind` must be `{CONFIG_KIND}`"));
    }
    for setting in Setting::ALL {
        let Some(node) = fields.optional(setting.key()) else {
            continue;
        };
        let origin = Origin::File {
            path: file.to_string(),
            pos: node.pos,
            base: base.to_path_buf(),
        };
        let value =
            if setting.kind() == SettingType::ObjectLock && matches!(node.value, Value::Map(_)) {
                match object_lock_text(node, &mut d) {
                    Some(t) => RawValue::Text(t),
                    None => continue,
                }
            } else {
                scalar_text(node, setting.kind())
            };
        raw.insert(setting, (value, origin));
    }
    fields.finish(&mut d);
    diags.extend(d.diags);
}

/// `objectLock: {mode: GOVERNANCE, days: 365}` as `GOVERNANCE:365`, problems reported at the
/// field they concern.
fn object_lock_text(node: &Node, d: &mut Decoder) -> Option<String> {
    let mut fields = d.map(node, "objectLock")?;
    let mode = fields
        .required(d, "mode")
        .and_then(|n| d.one_of(n, "objectLock.mode", &["GOVERNANCE", "COMPLIANCE"]));
    let days = fields.required(d, "days").and_then(|n| {
        let days = d.u64(n, "objectLock.days")?;
        if (1..=36_500).contains(&days) {
            Some(days)
        } else {
            d.error(n.pos, "`objectLock.days` must be from 1 to 36500");
            None
        }
    });
    fields.finish(d);
    Some(format!("{}:{}", mode?, days?))
}

/// `MODE:DAYS`.
fn parse_object_lock(text: &str) -> Result<ObjectLock, String> {
    let (mode, days) = text.split_once(':').ok_or_else(|| {
        format!("expected MODE:DAYS (for example GOVERNANCE:365), found `{text}`")
    })?;
    let mode = match mode {
        "GOVERNANCE" => LockMode::Governance,
        "COMPLIANCE" => LockMode::Compliance,
        _ => {
            return Err(format!(
                "unknown mode `{mode}`; expected GOVERNANCE or COMPLIANCE"
            ));
        }
    };
    match days.parse::<u32>() {
        Ok(days) if (1..=36_500).contains(&days) => Ok(ObjectLock { mode, days }),
        _ => Err(format!(
            "days must be a whole number from 1 to 36500, found `{days}`"
        )),
    }
}

/// `http://HOST[:PORT][/PATH]`: the token is signed by the authority, so its integrity does not
/// rest on the transport, and most authorities answer on plain HTTP.
fn validate_timestamp_authority(text: &str) -> Result<(), String> {
    if text.starts_with("https://") {
        return Err(format!(
            "`{text}`: https:// time-stamping authorities are not supported yet; use the authority's http:// address (its tokens are signed)"
        ));
    }
    let rest = text
        .strip_prefix("http://")
        .ok_or_else(|| format!("`{text}` is not an http:// URL"))?;
    let host = rest.split('/').next().unwrap_or("");
    if host.is_empty() || host.contains('@') || host.chars().any(char::is_whitespace) {
        return Err(format!("`{text}` names no host"));
    }
    Ok(())
}

fn validate_endpoint(text: &str) -> Result<(), String> {
    let rest = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"))
        .ok_or_else(|| format!("`{text}` is not an http:// or https:// URL"))?;
    if rest.is_empty() || rest.starts_with('/') {
        return Err(format!("`{text}` names no host"));
    }
    Ok(())
}

fn scalar_text(node: &Node, kind: SettingType) -> RawValue {
    match (&node.value, kind) {
        (Value::Str(s), SettingType::Bool | SettingType::Number) => {
            RawValue::Other(if s.is_empty() {
                "an empty string"
            } else {
                "a string"
            })
        }
        (Value::Str(s), _) => RawValue::Text(s.clone()),
        (Value::Bool(b), SettingType::Bool) => RawValue::Text(b.to_string()),
        (Value::Int(i), SettingType::Number) => RawValue::Text(i.to_string()),
        // A whole number beyond 64 bits reaches here as a float: say which number, so that the
        // setting's own range is what the message explains.
        (Value::Float(f), SettingType::Number) if f.is_finite() && f.fract() == 0.0 => {
            RawValue::Text(format!("{f:.0}"))
        }
        (v, _) => RawValue::Other(v.type_name()),
    }
}

/// Removes `.` and resolvable `..` segments without touching the file system, so that messages
/// and the paths recorded in snapshots read as a person would write them.
pub fn normalize(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out: Vec<Component> = Vec::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => match out.last() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                Some(Component::RootDir) => {}
                _ => out.push(c),
            },
            other => out.push(other),
        }
    }
    if out.is_empty() {
        return PathBuf::from(".");
    }
    out.iter().collect()
}

/// Cluster names become path segments and object keys.
pub fn validate_cluster_name(name: &str) -> Result<(), String> {
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if name.is_empty() || name.len() > 128 || !ok_chars || name.starts_with('.') {
        return Err(format!(
            "`{}` is not a usable cluster name: use 1-128 letters, digits, `-`, `_` or `.`, not starting with `.`",
            crate::diag::escape(&crate::diag::shorten(name, 64))
        ));
    }
    Ok(())
}

/// A namespace name as Kubernetes accepts it (an RFC 1123 label).
pub fn validate_namespace_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{}` is not a namespace name: 1-63 lower-case letters, digits and `-`, starting and ending with a letter or digit",
            crate::diag::escape(&crate::diag::shorten(name, 64))
        ))
    }
}

impl Config {
    /// How to reach a live cluster for `source: cluster`.
    pub fn cluster_options(&self) -> crate::source::cluster::ClusterOptions {
        crate::source::cluster::ClusterOptions {
            kubeconfig: self.kubeconfig.clone(),
            context: self.context.clone(),
            collect_token_secrets: self.collect_token_secrets,
            ..Default::default()
        }
    }

    /// The options for an `s3://` store.
    pub fn s3_options(&self) -> S3Options {
        S3Options {
            region: self.s3.region.clone(),
            endpoint: self.s3.endpoint.clone(),
            path_style: self.s3.path_style,
            object_lock: self.s3.object_lock.clone(),
            encryption: self.s3.encryption.clone(),
            ..S3Options::defaults()
        }
    }

    /// The settings `run` cannot do without; all missing ones are reported together.
    pub fn require_for_run(&self) -> Result<(), ConfigError> {
        let mut diags = Diagnostics::new();
        for (missing, setting) in [
            (self.cluster_name.is_none(), Setting::ClusterName),
            (self.source.is_none(), Setting::Source),
            (self.out.is_none(), Setting::Out),
        ] {
            if missing {
                diags.push(
                    "configuration",
                    None,
                    format!(
                        "missing setting `{}`: set it in the configuration file, with {}, or with {}",
                        setting.key(),
                        setting.flag(),
                        setting.env()
                    ),
                );
            }
        }
        diags.into_result(()).map_err(ConfigError::Invalid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn write(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("config.yaml");
        std::fs::write(&p, text).unwrap();
        (dir, p)
    }

    #[test]
    fn flag_beats_env_beats_file() {
        let (dir, p) =
            write("clusterName: from-file\nout: file-out\nsource: ./dump\nfailOn: low\n");
        let env = |k: &str| match k {
            "KUBE_EVIDENCE_CLUSTER_NAME" => Some("from-env".to_string()),
            "KUBE_EVIDENCE_OUT" => Some("/env/out".to_string()),
            _ => None,
        };
        let mut flags = Overrides::default();
        flags.set(Setting::ClusterName, "from-flag");
        let c = load(Some(&p), &flags, &env).unwrap();
        assert_eq!(c.cluster_name.as_deref(), Some("from-flag"));
        assert_eq!(c.out, Some(StoreUrl::Local(PathBuf::from("/env/out"))));
        assert_eq!(c.source, Some(SourceSpec::Dump(dir.path().join("dump"))));
        assert_eq!(c.fail_on, Some(Severity::Low));
    }

    #[test]
    fn paths_are_normalized() {
        assert_eq!(
            normalize(Path::new("samples/./cluster")),
            PathBuf::from("samples/cluster")
        );
        assert_eq!(
            normalize(Path::new("samples/../evidence")),
            PathBuf::from("evidence")
        );
        assert_eq!(normalize(Path::new("../x/./y")), PathBuf::from("../x/y"));
        assert_eq!(normalize(Path::new("/a/../../b")), PathBuf::from("/b"));
    }

    #[test]
    fn works_without_a_file() {
        let mut flags = Overrides::default();
        flags.set(Setting::Source, "cluster");
        flags.set(Setting::Out, "s3://bucket/prefix");
        flags.set(Setting::ClusterName, "prod");
        let c = load(None, &flags, &no_env).unwrap();
        c.require_for_run().unwrap();
        assert_eq!(c.source, Some(SourceSpec::Cluster));
    }

    #[test]
    fn every_problem_at_once_with_positions() {
        let (_d, p) = write(
            "clusterName: bad/name\nsorce: x\nfailOn: severe\nunsigned: maybe\nrequireComplete: 3\nlogFormat: xml\nout: ''\n",
        );
        let err = load(Some(&p), &Overrides::default(), &no_env).unwrap_err();
        let ConfigError::Invalid(d) = err else {
            panic!()
        };
        let text = d.to_string();
        let f = p.display().to_string();
        for expected in [
            format!("{f}:1:14: `clusterName`: `bad/name` is not a usable cluster name"),
            format!("{f}:2:1: unknown key `sorce` (did you mean `source`?)"),
            format!("{f}:3:9: `failOn`: unknown severity `severe`"),
            format!("{f}:4:11: `unsigned`: expected true or false, found a string"),
            format!("{f}:5:18: `requireComplete`: expected true or false, found an integer"),
            format!("{f}:6:12: `logFormat`: unknown log format `xml`"),
            format!("{f}:7:6: `out` must not be empty"),
        ] {
            assert!(text.contains(&expected), "missing {expected:?} in:\n{text}");
        }
        assert_eq!(d.len(), 7, "{text}");
    }

    #[test]
    fn env_problems_name_the_variable() {
        let env = |k: &str| (k == "KUBE_EVIDENCE_FAIL_ON").then(|| "loud".to_string());
        let err = load(None, &Overrides::default(), &env).unwrap_err();
        assert!(
            err.to_string()
                .contains("KUBE_EVIDENCE_FAIL_ON (environment): `failOn`: unknown severity `loud`"),
            "{err}"
        );
    }

    #[test]
    fn missing_required_settings_are_listed_together() {
        let c = load(None, &Overrides::default(), &no_env).unwrap();
        let err = c.require_for_run().unwrap_err().to_string();
        assert!(err.contains("missing setting `clusterName`"));
        assert!(err.contains("missing setting `source`"));
        assert!(err.contains("missing setting `out`: set it in the configuration file, with --out, or with KUBE_EVIDENCE_OUT"));
    }

    #[test]
    fn s3_settings_from_file_flags_and_the_aws_variables() {
        let (_d, p) = write(
            "out: s3://bucket/k8s\ns3Region: eu-west-1\nobjectLock:\n  mode: COMPLIANCE\n  days: 400\nserverSideEncryption: aws:kms\nsseKmsKeyId: alias/evidence\n",
        );
        let env = |k: &str| match k {
            "AWS_ENDPOINT_URL" => Some("http://general:9000".to_string()),
            "AWS_ENDPOINT_URL_S3" => Some("http://127.0.0.1:8333".to_string()),
            _ => None,
        };
        let c = load(Some(&p), &Overrides::default(), &env).unwrap();
        let o = c.s3_options();
        assert_eq!(o.region.as_deref(), Some("eu-west-1"));
        assert_eq!(o.endpoint.as_deref(), Some("http://127.0.0.1:8333"));
        assert!(
            o.uses_path_style(),
            "an IP-address endpoint needs path style"
        );
        assert_eq!(
            o.object_lock,
            Some(ObjectLock {
                mode: LockMode::Compliance,
                days: 400
            })
        );
        assert_eq!(
            o.encryption,
            Some(Encryption::Kms {
                key_id: Some("alias/evidence".into())
            })
        );
        // Our own setting beats the AWS variables; flags beat the file.
        let mut flags = Overrides::default();
        flags.set(Setting::S3Endpoint, "https://s3.example.com");
        flags.set(Setting::ObjectLock, "GOVERNANCE:30");
        let c = load(Some(&p), &flags, &env).unwrap();
        let o = c.s3_options();
        assert_eq!(o.endpoint.as_deref(), Some("https://s3.example.com"));
        assert!(!o.uses_path_style());
        assert_eq!(o.object_lock.unwrap().mode, LockMode::Governance);
        let env = |k: &str| (k == "AWS_ENDPOINT_URL").then(|| "http://localhost:9000".to_string());
        let c = load(None, &Overrides::default(), &env).unwrap();
        assert_eq!(c.s3.endpoint.as_deref(), Some("http://localhost:9000"));
        assert!(c.s3_options().uses_path_style());
    }

    #[test]
    fn bad_s3_settings_are_reported_with_positions() {
        let (_d, p) = write(
            "out: ./local\nobjectLock:\n  mode: FOREVER\n  days: 0\nserverSideEncryption: rot13\nsseKmsKeyId: k\ns3Endpoint: ftp://x\ns3PathStyle: sometimes\n",
        );
        let err = load(Some(&p), &Overrides::default(), &no_env)
            .unwrap_err()
            .to_string();
        let f = p.display().to_string();
        for expected in [
            format!("{f}:3:9: `objectLock.mode`: unknown value `FOREVER`"),
            format!("{f}:4:9: `objectLock.days` must be from 1 to 36500"),
            format!("{f}:5:23: `serverSideEncryption`: unknown server-side encryption `rot13`"),
            format!("{f}:6:14: `sseKmsKeyId` is set but `serverSideEncryption` is not `aws:kms`"),
            format!("{f}:7:13: `s3Endpoint`: `ftp://x` is not an http:// or https:// URL"),
            format!("{f}:8:14: `s3PathStyle`: expected true or false, found a string"),
        ] {
            assert!(err.contains(&expected), "missing {expected:?} in:\n{err}");
        }
        let mut flags = Overrides::default();
        flags.set(Setting::Out, "./local");
        flags.set(Setting::ObjectLock, "GOVERNANCE:30");
        let err = load(None, &flags, &no_env).unwrap_err().to_string();
        assert!(
            err.contains("`objectLock` is set but `out` is not an s3:// store"),
            "{err}"
        );
        flags.set(Setting::ObjectLock, "GOVERNANCE");
        let err = load(None, &flags, &no_env).unwrap_err().to_string();
        assert!(
            err.contains("--object-lock: `objectLock`: expected MODE:DAYS"),
            "{err}"
        );
    }

    #[test]
    fn wrong_api_version_and_non_mapping() {
        let (_d, p) = write("apiVersion: v2\n");
        let err = load(Some(&p), &Overrides::default(), &no_env)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(":1:13: `apiVersion` must be `kube-evidence.io/v1`"),
            "{err}"
        );
        let (_d, p) = write("- a\n");
        let err = load(Some(&p), &Overrides::default(), &no_env)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(":1:1: the file must hold a mapping at the top, found a list"),
            "{err}"
        );
    }
}
