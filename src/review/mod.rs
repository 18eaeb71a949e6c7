//! Access reviews that run themselves: a campaign freezes the privileged population of a pack,
//! reviewers return signed decisions, and every later run follows them up (coverage, revocations
//! carried out or outstanding, new grants not yet reviewed, overdue campaigns, self-reviews,
//! unsigned or late decisions). See docs/access-reviews.md.

pub mod assess;
pub mod campaign;
pub mod model;
pub mod population;
pub mod queue;
pub mod reviewers;

pub use model::{Campaign, Decision, REVIEW_NAMESPACE, Row, Verdict};
