//! The run configuration file, through the same loader `run --config` uses (bytes, so the
//! UTF-8 check and size limit are exercised too).
use std::sync::OnceLock;

static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();

/// One input.
pub fn run(data: &[u8]) {
    let dir = DIR.get_or_init(|| tempfile::tempdir().unwrap());
    let path = dir.path().join("config.yaml");
    std::fs::write(&path, data).unwrap();
    let flags = kube_evidence::config::Overrides::default();
    let _ = kube_evidence::config::load(Some(&path), &flags, &|_| None);
}
