//! The run's input stage: reads every input a person or the cluster provides besides the
//! collected state (controls, exceptions, the inventory from a file or a ConfigMap, the keys
//! trusted to have signed the previous pack) and validates each with every problem at once.
//! Domain modules parse text; reading it from a file or through a [`Source`] happens here.

use super::RunError;
use crate::controls::{self, Controls};
use crate::exceptions::{self, Exception, ExceptionsError};
use crate::inventory::{self, CONFIG_MAP_KEY, Inventory, InventoryError, InventoryRef};
use crate::pack::{self, sign::AllowedSigner, sign::parse_allowed_signers};
use crate::report;
use crate::source::Source;
use chrono::NaiveDate;

/// The inputs people write, validated.
pub struct Inputs {
    pub controls: Controls,
    pub exceptions: Vec<Exception>,
    pub inventory: Option<Inventory>,
    /// The inventory and exceptions files as read, with their digests (for the report).
    pub files: Vec<report::InputFile>,
    /// Keys trusted to have signed the previous pack.
    pub trusted_signers: Option<Vec<AllowedSigner>>,
    /// The time-stamping authority's pinned certificate.
    pub timestamp_certificate: Option<crate::pack::timestamp::PinnedCertificate>,
}

/// Reads the time-stamping authority's certificate (PEM or DER).
pub fn load_timestamp_certificate(
    path: &std::path::Path,
) -> Result<crate::pack::timestamp::PinnedCertificate, RunError> {
    let fail = |message: String| RunError::TimestampCertificate {
        path: path.display().to_string(),
        message,
    };
    let bytes = crate::input::read_bounded(path, 1024 * 1024).map_err(|e| fail(e.to_string()))?;
    crate::pack::timestamp::PinnedCertificate::parse(&bytes).map_err(|e| fail(e.to_string()))
}

/// Reads an allowed-signers file; every bad line is reported.
pub fn load_allowed_signers(path: &std::path::Path) -> Result<Vec<AllowedSigner>, RunError> {
    let text = crate::input::read_text(path, crate::input::MAX_WRITTEN_FILE).map_err(|e| {
        RunError::ReadAllowedSigners {
            path: path.display().to_string(),
            source: e,
        }
    })?;
    parse_allowed_signers(&text, &path.display().to_string()).map_err(|d| {
        RunError::AllowedSigners {
            path: path.display().to_string(),
            message: format!("invalid:\n{d}"),
        }
    })
}

/// Loads and validates controls, exceptions and inventory (`today` for their dates).
pub async fn load_inputs(
    controls_dir: Option<&std::path::Path>,
    exceptions_file: Option<&std::path::Path>,
    inventory_ref: Option<&InventoryRef>,
    source: Option<&dyn Source>,
    today: NaiveDate,
) -> Result<Inputs, RunError> {
    let controls = match controls_dir {
        Some(dir) => controls::load_dir(dir)?,
        None => Controls::builtin(),
    };
    let mut files = Vec::new();
    let exceptions = match exceptions_file {
        Some(p) => {
            let origin = p.display().to_string();
            let text = crate::input::read_text(p, crate::input::MAX_WRITTEN_FILE).map_err(|e| {
                ExceptionsError::Read {
                    path: origin.clone(),
                    source: e,
                }
            })?;
            files.push(input_file("exceptions", &origin, &text));
            exceptions::parse(&text, &origin, today)?
        }
        None => Vec::new(),
    };
    let inventory = match inventory_ref {
        Some(r) => {
            let (origin, text) = read_inventory_text(r, source).await?;
            files.insert(0, input_file("inventory", &origin, &text));
            Some(inventory::parse(&text, &origin, today)?)
        }
        None => None,
    };
    files.push(report::InputFile {
        what: "controls".into(),
        origin: controls_dir.map_or("built-in".into(), |d| d.display().to_string()),
        sha256: controls.digest(),
    });
    Ok(Inputs {
        controls,
        exceptions,
        inventory,
        files,
        trusted_signers: None,
        timestamp_certificate: None,
    })
}

fn input_file(what: &str, origin: &str, text: &str) -> report::InputFile {
    report::InputFile {
        what: what.into(),
        origin: origin.into(),
        sha256: pack::sha256_hex(text.as_bytes()),
    }
}

/// The inventory's text and where it came from (a file, or a ConfigMap's key), unparsed; a
/// ConfigMap is read through the source (the live API, or a ConfigMap object in a dump).
pub async fn read_inventory_text(
    reference: &InventoryRef,
    source: Option<&dyn Source>,
) -> Result<(String, String), InventoryError> {
    match reference {
        InventoryRef::File(path) => {
            let text =
                crate::input::read_text(path, crate::input::MAX_WRITTEN_FILE).map_err(|e| {
                    InventoryError::ReadFile {
                        path: path.display().to_string(),
                        source: e,
                    }
                })?;
            Ok((path.display().to_string(), text))
        }
        InventoryRef::ConfigMap { namespace, name } => {
            let origin = format!("configmap:{namespace}/{name}");
            let source = source.ok_or_else(|| InventoryError::Read {
                path: origin.clone(),
                message: "a ConfigMap inventory needs a source to read it from (--source)".into(),
            })?;
            let mut data = source
                .config_map(namespace, name)
                .await
                .map_err(|e| InventoryError::Read {
                    path: origin.clone(),
                    message: e.to_string(),
                })?
                .ok_or_else(|| InventoryError::Read {
                    path: origin.clone(),
                    message: "no such ConfigMap".into(),
                })?;
            let keys = data.keys().cloned().collect::<Vec<_>>().join(", ");
            let text = data
                .remove(CONFIG_MAP_KEY)
                .ok_or_else(|| InventoryError::Read {
                    path: origin.clone(),
                    message: format!("the ConfigMap has no `{CONFIG_MAP_KEY}` key (keys: {keys})"),
                })?;
            Ok((format!("{origin}[{CONFIG_MAP_KEY}]"), text))
        }
    }
}

/// Reads and validates the inventory wherever it lives.
pub async fn load_inventory(
    reference: &InventoryRef,
    source: Option<&dyn Source>,
    today: NaiveDate,
) -> Result<Inventory, InventoryError> {
    let (origin, text) = read_inventory_text(reference, source).await?;
    inventory::parse(&text, &origin, today)
}
