//! The sub-processor inventory: its format and validation, where it is read from (a file or a
//! ConfigMap; the run's input stage, `crate::run::inputs`, does the reading), matching entries to
//! the cluster, reconciliation findings, the vendor catalog, and discovery of third parties for a
//! starter inventory.

pub mod catalog;
pub mod discover;
pub mod load;
pub mod reconcile;
pub mod updates;

/// The inventory's data model, which the snapshot carries.
pub use crate::snapshot::inventory as model;

pub use load::{InventoryError, load_file, parse};
pub use model::{AccessLevel, DeclaredAccess, Inventory, SubProcessor};
pub use reconcile::{Reconciliation, RegisterRow, reconcile};

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

/// The JSON Schema of the inventory format.
pub fn json_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Inventory)).expect("a JSON Schema serialises")
}
