//! The sub-processor inventory: its format and validation, where it is read from (a file or a
//! ConfigMap), matching entries to the cluster, reconciliation findings, and discovery of third
//! parties for a starter inventory.

pub mod discover;
pub mod load;
pub mod model;
pub mod reconcile;

pub use load::{InventoryError, load_file, parse};
pub use model::{AccessLevel, DeclaredAccess, Inventory, SubProcessor};
pub use reconcile::{Reconciliation, RegisterRow, reconcile};

use crate::source::Source;
use chrono::NaiveDate;
use std::path::PathBuf;

/// The ConfigMap data key that holds the inventory.
pub const CONFIG_MAP_KEY: &str = "inventory.yaml";

/// Where the inventory comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InventoryRef {
    File(PathBuf),
    /// `configmap:NAMESPACE/NAME`, key `inventory.yaml`.
    ConfigMap {
        namespace: String,
        name: String,
    },
}

impl InventoryRef {
    pub fn parse(text: &str) -> Result<InventoryRef, String> {
        match text.strip_prefix("configmap:") {
            Some(rest) => match rest.split_once('/') {
                Some((ns, name)) if !ns.is_empty() && !name.is_empty() && !name.contains('/') => {
                    Ok(InventoryRef::ConfigMap {
                        namespace: ns.to_string(),
                        name: name.to_string(),
                    })
                }
                _ => Err(format!("`{text}`: write configmap:NAMESPACE/NAME")),
            },
            None => Ok(InventoryRef::File(PathBuf::from(text))),
        }
    }
}

impl std::fmt::Display for InventoryRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InventoryRef::File(p) => write!(f, "{}", p.display()),
            InventoryRef::ConfigMap { namespace, name } => {
                write!(f, "configmap:{namespace}/{name}")
            }
        }
    }
}

/// The inventory's text and where it came from (a file, or a ConfigMap's key), unparsed; a
/// ConfigMap is read through the source (the live API, or a ConfigMap object in a dump).
pub async fn read_text(
    reference: &InventoryRef,
    source: Option<&dyn Source>,
) -> Result<(String, String), InventoryError> {
    match reference {
        InventoryRef::File(path) => {
            let text =
                crate::input::read_text(path, crate::input::MAX_WRITTEN_FILE).map_err(|e| {
                    InventoryError::Read {
                        path: path.display().to_string(),
                        message: e.to_string(),
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
pub async fn load(
    reference: &InventoryRef,
    source: Option<&dyn Source>,
    today: NaiveDate,
) -> Result<Inventory, InventoryError> {
    let (origin, text) = read_text(reference, source).await?;
    parse(&text, &origin, today)
}

/// The JSON Schema of the inventory format.
pub fn json_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Inventory)).expect("a JSON Schema serialises")
}
