//! The fleet: every cluster publishing under one store prefix, summarised from what the clusters
//! themselves published — each cluster's `latest.json`, its `index.json` and the latest pack's
//! findings, verified as they are read — never from the clusters. Reading ([`read`]) is the I/O
//! end; [`model`] turns what was read into the fleet document, purely; [`render`] writes it as
//! HTML, PDF and CSV.

pub mod model;
pub mod read;
pub mod render;

pub use model::{FleetDocument, build};
pub use read::{ClusterRead, FleetReadOptions, LatestRead, read_fleet};

/// The fleet's own objects at the store prefix: the index page and its data. Each cluster
/// writes only under `<cluster>/`; these two are replaced whole by whoever runs `fleet report
/// --publish-index`, so clusters never race for them.
pub const FLEET_INDEX_HTML: &str = crate::files::INDEX_HTML;
pub const FLEET_JSON: &str = "fleet.json";
