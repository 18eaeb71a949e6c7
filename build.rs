// Records the source revision in the binary, so every pack names the code that produced it.
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/refs");
    println!("cargo:rerun-if-env-changed=KUBE_EVIDENCE_REVISION");
    if std::env::var("KUBE_EVIDENCE_REVISION").is_ok() {
        return;
    }
    let rev = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string());
    if let Some(rev) = rev {
        println!("cargo:rustc-env=KUBE_EVIDENCE_REVISION={rev}");
    }
}
