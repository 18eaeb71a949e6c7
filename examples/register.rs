//! Prints the sub-processor reconciliation of a dump against an inventory:
//! `cargo run --example register -- samples/cluster samples/inventory.yaml 2026-11-20`.

use kube_evidence::analysis::analyze;
use kube_evidence::rules::{Family, rule};
use kube_evidence::source::dump::read_dump;

fn main() {
    let mut args = std::env::args().skip(1);
    let dump = args.next().unwrap_or_else(|| "samples/cluster".into());
    let inv = args
        .next()
        .unwrap_or_else(|| "samples/inventory.yaml".into());
    let today = args
        .next()
        .map(|d| chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d").expect("YYYY-MM-DD"))
        .unwrap_or_else(|| chrono::Utc::now().date_naive());
    let snapshot = read_dump(
        dump.as_ref(),
        "example",
        chrono::Utc::now(),
        format!("dump:{dump}"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let inventory =
        kube_evidence::inventory::load_file(inv.as_ref(), today).unwrap_or_else(|e| panic!("{e}"));
    let a = analyze(&snapshot, Some(&inventory), today).analysis;
    for r in &a.register {
        println!(
            "{:18} declared {:22} observed {:22} review: {} certs: {:?}",
            r.id, r.declared_access, r.observed_access, r.review, r.certifications
        );
    }
    for f in a
        .findings
        .iter()
        .filter(|f| rule(f.rule_id).family == Family::SubProcessor)
    {
        println!("{} {:8} {}", f.rule_id, f.severity, f.summary);
    }
}
