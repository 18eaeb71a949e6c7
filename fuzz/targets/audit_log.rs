//! An API server audit log (`--audit-log`, coming with issue 19): JSON lines of audit events,
//! plain or gzip; read into the usage record.

/// One input.
pub fn run(data: &[u8]) {
    let mut builder = kube_evidence::audit::UsageBuilder::default();
    let _ = kube_evidence::audit::read_events_from(
        "fuzz-audit.log",
        data,
        &kube_evidence::audit::ReadOptions::default(),
        |e| builder.add(e),
    );
    let _ = builder.finish();
}
