//! Prints the findings of a dump: `cargo run --example findings -- samples/cluster`.

use kube_evidence::analysis::analyze_rbac;
use kube_evidence::source::dump::read_dump;

fn main() {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "samples/cluster".into());
    let snapshot = read_dump(
        path.as_ref(),
        "example",
        chrono::Utc::now(),
        format!("dump:{path}"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let a = analyze_rbac(&snapshot).analysis;
    for f in &a.findings {
        let tag = if f.system { " [system]" } else { "" };
        println!(
            "{} {:8} {}{tag}\n    {}",
            f.id, f.severity, f.title, f.summary
        );
    }
    println!(
        "{} findings, {} system",
        a.findings.len(),
        a.findings.iter().filter(|f| f.system).count()
    );
}
