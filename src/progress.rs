//! Progress reporting as a trait, so the library can say how far it got without printing:
//! the binary draws bars on a terminal, tests and the CronJob pass [`NoProgress`].

pub trait Progress: Send + Sync {
    /// A new stage of the pipeline begins.
    fn stage(&self, _name: &str) {}
    /// Work of known size within the current stage: `done` of `total`.
    fn advance(&self, _done: u64, _total: u64) {}
}

/// Reports nothing.
pub struct NoProgress;

impl Progress for NoProgress {}
