//! Everything `verify` and a run's previous-pack check read from a store: `latest.json`, the
//! manifest, `SHA256SUMS`, both signatures, the snapshot and findings a pack records. A real
//! store of two signed packs (made by `fuzz/run.sh`, path in KUBE_EVIDENCE_FUZZ_STORE) is copied
//! once; each input replaces one of its files (chosen by the first byte), is verified with the
//! whole chain, read as a previous pack, and the file is put back.
use kube_evidence::pack::{self, previous, sign, verify};
use kube_evidence::store::local::LocalStore;
use std::path::PathBuf;
use std::sync::OnceLock;

const CLUSTER: &str = "sample-prod-eu-1";
const FILES: &[&str] = &[
    "latest.json",
    "manifest.json",
    "SHA256SUMS",
    "SHA256SUMS.sig",
    "manifest.json.sig",
    "snapshot.json.gz",
    "findings.json",
    "trend.json",
];

struct Fixture {
    _dir: tempfile::TempDir,
    root: PathBuf,
    prefix: String,
    signers: Vec<sign::AllowedSigner>,
    runtime: tokio::runtime::Runtime,
}

/// The folder holding `store/` (two signed packs of the samples) and `key.allowed_signers`:
/// set by the replay test before the first input, else KUBE_EVIDENCE_FUZZ_STORE (fuzz/run.sh).
pub static STORE: OnceLock<PathBuf> = OnceLock::new();

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let seed = STORE.get().cloned().unwrap_or_else(|| {
            PathBuf::from(
                std::env::var("KUBE_EVIDENCE_FUZZ_STORE")
                    .expect("KUBE_EVIDENCE_FUZZ_STORE names a store made by fuzz/run.sh"),
            )
        });
        let dir = tempfile::tempdir().unwrap();
        let status = std::process::Command::new("cp")
            .arg("-a")
            .arg(seed.join("."))
            .arg(dir.path())
            .status()
            .unwrap();
        assert!(status.success());
        let root = dir.path().join("store");
        let latest: pack::LatestPointer =
            serde_json::from_slice(&std::fs::read(root.join(CLUSTER).join("latest.json")).unwrap())
                .unwrap();
        let text = std::fs::read_to_string(dir.path().join("key.allowed_signers")).unwrap();
        let signers = sign::parse_allowed_signers(&text, "seed").unwrap();
        Fixture {
            root,
            prefix: latest.path,
            signers,
            runtime: tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap(),
            _dir: dir,
        }
    })
}

/// One input.
pub fn run(data: &[u8]) {
    let Some((&which, content)) = data.split_first() else {
        return;
    };
    let f = fixture();
    let name = FILES[which as usize % FILES.len()];
    let path = if name == "latest.json" {
        f.root.join(CLUSTER).join(name)
    } else {
        f.root.join(&f.prefix).join(name)
    };
    let original = std::fs::read(&path).ok();
    std::fs::write(&path, content).unwrap();
    let store = LocalStore::new(&f.root);
    f.runtime.block_on(async {
        let opts = verify::VerifyOptions {
            allowed_signers: Some(f.signers.clone()),
            chain: true,
            ..Default::default()
        };
        let _ = verify::verify(&store, &f.prefix, &opts).await;
        let trust = previous::Trust {
            signers: Some(&f.signers),
            tsa: None,
            strict_time: false,
        };
        let _ = previous::read_verified(&store, CLUSTER, trust).await;
    });
    match original {
        Some(bytes) => std::fs::write(&path, bytes).unwrap(),
        None => std::fs::remove_file(&path).unwrap(),
    }
}
