//! SOC 2 and ISO/IEC 27001:2022 controls (and any framework a user adds): their definitions,
//! loaded from `controls/*.yaml`, and their evaluation from findings.

pub mod basis;
pub mod evaluate;
pub mod load;
pub mod model;

pub use basis::{
    AssessmentBasis, AuditWindow, ImageHistoryBasis, PreviousBasis, Retention, ReviewBasis,
};
pub use evaluate::{Availability, ControlResult, ControlStatus, evaluate};
pub use load::{Controls, ControlsError, load_dir};
pub use model::{Control, ControlSet, RuleRole};
