//! Effective permissions, exactly as the Kubernetes RBAC authorizer decides them: bindings ->
//! roles (with ClusterRole aggregation resolved by the tool) -> rules, with provenance for every
//! grant, the queries compliance staff ask (`can-i`, `who-can`, `access`), and escalation paths.

pub mod aggregation;
pub mod bootstrap;
pub mod grant_set;
pub mod index;
pub mod matching;
pub mod privilege;
pub mod reach;
pub mod resources;
pub mod subject;

pub use index::{AccessReport, Decision, Grant, ObjectRef, RbacIndex};
pub use matching::{NonResourceRequest, Request, ResourceRequest, rule_allows};
pub use subject::{Identity, SubjectRef};
