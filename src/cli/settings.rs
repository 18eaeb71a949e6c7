//! Command-line flags made from the library's settings table (`config::Setting`): a setting's
//! flag, value placeholder, help and environment variable are written once, in that table, and a
//! command lists which settings it takes as flags.

use clap::builder::BoolishValueParser;
use clap::{Arg, ArgAction, ArgMatches, Command, FromArgMatches};
use kube_evidence::config::{Overrides, Setting, SettingType};
use std::marker::PhantomData;

/// A set of settings a command takes as flags.
pub trait SettingGroup {
    const SETTINGS: &'static [Setting];
}

/// Every setting `run` takes (the log settings are global flags of every command).
#[derive(Debug, Clone, Default)]
pub struct RunSettings;
impl SettingGroup for RunSettings {
    const SETTINGS: &'static [Setting] = &[
        Setting::Source,
        Setting::DefaultNamespace,
        Setting::Out,
        Setting::ClusterName,
        Setting::Inventory,
        Setting::Controls,
        Setting::Exceptions,
        Setting::FailOn,
        Setting::SigningKey,
        Setting::Unsigned,
        Setting::AllowedSigners,
        Setting::RequireComplete,
        Setting::Kubeconfig,
        Setting::Context,
        Setting::CollectTokenSecrets,
        Setting::S3Endpoint,
        Setting::S3Region,
        Setting::S3PathStyle,
        Setting::ObjectLock,
        Setting::ServerSideEncryption,
        Setting::SseKmsKeyId,
        Setting::ScheduleIntervalHours,
        Setting::AuditLog,
        Setting::AuditLogMaxMalformedPercent,
        Setting::UsageWindowDays,
        Setting::AnomalyRateMultiple,
        Setting::ReviewPeriodDays,
        Setting::ImageMaxAgeDays,
        Setting::TimestampAuthority,
        Setting::TimestampAuthorityCertificate,
    ];
}

/// How to reach a live cluster, for the commands that can collect (`--source cluster`).
#[derive(Debug, Clone, Default)]
pub struct ClusterSettings;
impl SettingGroup for ClusterSettings {
    const SETTINGS: &'static [Setting] = &[
        Setting::Kubeconfig,
        Setting::Context,
        Setting::CollectTokenSecrets,
    ];
}

/// The keys of packs, for the review commands: the key that signs packs signs campaigns, and
/// a campaign counts only when it verifies against the keys trusted for packs.
#[derive(Debug, Clone, Default)]
pub struct ReviewTrustSettings;
impl SettingGroup for ReviewTrustSettings {
    const SETTINGS: &'static [Setting] = &[Setting::SigningKey, Setting::AllowedSigners];
}

/// Who reviews what, for `review start`.
#[derive(Debug, Clone, Default)]
pub struct ReviewerSettings;
impl SettingGroup for ReviewerSettings {
    const SETTINGS: &'static [Setting] = &[Setting::Reviewers];
}

/// The vendor catalog's extension, for the commands that tell third parties from the platform.
#[derive(Debug, Clone, Default)]
pub struct VendorCatalogSettings;
impl SettingGroup for VendorCatalogSettings {
    const SETTINGS: &'static [Setting] = &[Setting::VendorCatalog];
}

/// How to reach an `s3://` store, for the commands that read one.
#[derive(Debug, Clone, Default)]
pub struct S3Settings;
impl SettingGroup for S3Settings {
    const SETTINGS: &'static [Setting] =
        &[Setting::S3Endpoint, Setting::S3Region, Setting::S3PathStyle];
}

/// The values a command line gave for the settings of `G`.
#[derive(Debug, Clone, Default)]
pub struct SettingFlags<G> {
    overrides: Overrides,
    group: PhantomData<G>,
}

impl<G> SettingFlags<G> {
    /// Adds these flags' values to `o`.
    pub fn apply(&self, o: &mut Overrides) {
        o.extend(&self.overrides);
    }

    pub fn overrides(&self) -> Overrides {
        self.overrides.clone()
    }
}

/// A setting flag's help: the table's line and the environment variable.
pub fn help_of(setting: Setting) -> String {
    format!("{} [env: {}]", setting.help(), setting.env())
}

/// The flag of one setting, as the table describes it.
fn arg_of(setting: Setting) -> Arg {
    let row = setting.row();
    let arg = Arg::new(row.key)
        .long(row.flag.trim_start_matches("--"))
        .value_name(row.value)
        .help(help_of(setting));
    match row.kind {
        // `--unsigned` means true; `--unsigned=false` overrides the file's `unsigned: true`.
        SettingType::Bool => arg
            .num_args(0..=1)
            .require_equals(true)
            .default_missing_value("true")
            .value_parser(BoolishValueParser::new())
            .action(ArgAction::Set),
        _ => arg.action(ArgAction::Set),
    }
}

impl<G: SettingGroup> FromArgMatches for SettingFlags<G> {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let mut overrides = Overrides::default();
        for setting in G::SETTINGS {
            let id = setting.row().key;
            let value = match setting.kind() {
                SettingType::Bool => matches.get_one::<bool>(id).map(bool::to_string),
                _ => matches.get_one::<String>(id).cloned(),
            };
            overrides.set_opt(*setting, value);
        }
        Ok(SettingFlags {
            overrides,
            group: PhantomData,
        })
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

impl<G: SettingGroup> clap::Args for SettingFlags<G> {
    fn augment_args(cmd: Command) -> Command {
        G::SETTINGS
            .iter()
            .fold(cmd, |cmd, setting| cmd.arg(arg_of(*setting)))
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        Self::augment_args(cmd)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser, Debug)]
    struct Probe {
        #[command(flatten)]
        settings: SettingFlags<RunSettings>,
    }

    #[test]
    fn flags_come_from_the_table() {
        let p = Probe::try_parse_from([
            "probe",
            "--out",
            "s3://b/p",
            "--unsigned",
            "--require-complete=false",
            "--object-lock",
            "COMPLIANCE:30",
        ])
        .unwrap();
        let mut o = Overrides::default();
        p.settings.apply(&mut o);
        assert_eq!(o.get(Setting::Out), Some("s3://b/p"));
        assert_eq!(o.get(Setting::Unsigned), Some("true"));
        assert_eq!(o.get(Setting::RequireComplete), Some("false"));
        assert_eq!(o.get(Setting::ObjectLock), Some("COMPLIANCE:30"));
        assert_eq!(o.get(Setting::Source), None);
    }

    #[test]
    fn every_setting_but_logging_is_a_run_flag() {
        for s in Setting::ALL {
            // The reviewer map is `review start`'s, the vendor catalog discovery's and `vendor review`'s (from the run configuration or its flag).
            let elsewhere = matches!(
                s,
                Setting::LogFormat
                    | Setting::LogLevel
                    | Setting::Reviewers
                    | Setting::VendorCatalog
            );
            assert_eq!(RunSettings::SETTINGS.contains(&s), !elsewhere, "{s:?}");
        }
    }
}
