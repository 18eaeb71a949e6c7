//! Every fuzz target replayed on the stable toolchain, inside `cargo test`: the same function
//! libFuzzer calls (`fuzz/targets/<target>.rs`) over the target's seeds (made here, and written
//! out for `fuzz/run.sh` by [`write_fuzz_seeds`]), every input committed under
//! `fuzz/regressions/<target>/` (each crash fuzzing found), and the corpus fuzzing grew in
//! `~/.cache/kube-evidence/fuzz-corpus/<target>/` when there is one. A panic names its input.
//! Fuzzing itself (nightly, instrumented, minutes per target) is `fuzz/run.sh`.

#[path = "../../fuzz/targets/mod.rs"]
#[allow(dead_code)]
mod targets;

use crate::common;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Inputs of the cached corpus replayed per target, at most (the first, by name): enough to keep
/// what fuzzing found covered, few enough for a test run.
const MAX_CORPUS_INPUTS: usize = 500;

/// Each target's seeds, by name; and the folder holding the fixtures they need.
struct Seeds {
    _dir: tempfile::TempDir,
    by_target: BTreeMap<&'static str, Vec<(String, Vec<u8>)>>,
}

/// Every file under `dir` (recursively) whose name passes `keep`, sorted.
fn files(dir: &Path, keep: &dyn Fn(&Path) -> bool) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = common::files_under(dir)
        .into_iter()
        .map(|f| dir.join(f))
        .filter(|p| keep(p))
        .collect();
    out.sort();
    out
}

/// The bad-input catalog's cases aimed at `reader` (the inputs, not their sidecars).
fn catalog(reader: &str) -> Vec<PathBuf> {
    files(
        &common::repo().join("tests/bad-inputs").join(reader),
        &|p| p.extension().is_none_or(|e| e != "expect"),
    )
}

fn with_extension(dir: &str, ext: &'static str) -> Vec<PathBuf> {
    files(&common::repo().join(dir), &move |p| {
        p.extension().is_some_and(|e| e == ext)
    })
}

fn seeds() -> &'static Seeds {
    static SEEDS: OnceLock<Seeds> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let store = signed_store(dir.path());
        let tsa = dir.path().join("tsa");
        let replies = timestamp_replies(&tsa);
        let _ = targets::verify_pack::STORE.set(dir.path().to_path_buf());
        let _ = targets::timestamp_reply::CERTIFICATE.set(tsa.join("tsa.crt"));

        let repo = common::repo();
        let read = |paths: Vec<PathBuf>| -> Vec<(String, Vec<u8>)> {
            paths
                .into_iter()
                .filter(|p| p.is_file())
                .map(|p| {
                    let name = p.strip_prefix(&repo).unwrap_or(&p).display().to_string();
                    (name, std::fs::read(&p).unwrap())
                })
                .collect()
        };
        let mut by_target = BTreeMap::new();
        let mut yaml = with_extension("samples/cluster", "yaml");
        yaml.extend(with_extension("tests/fixtures/dumps", "yaml"));
        yaml.extend(catalog("dump"));
        by_target.insert("dump_yaml", read(yaml));
        let mut json = with_extension("samples/cluster", "json");
        json.extend(with_extension("tests/fixtures/dumps", "json"));
        json.extend(catalog("dump"));
        by_target.insert("dump_json", read(json));
        for (target, sample, reader) in [
            ("config", "samples/config.yaml", "config"),
            ("inventory", "samples/inventory.yaml", "inventory"),
            ("exceptions", "samples/exceptions.yaml", "exceptions"),
            ("vendor_catalog", "catalog/vendors.yaml", "vendor-catalog"),
        ] {
            let mut paths = vec![repo.join(sample)];
            paths.extend(catalog(reader));
            by_target.insert(target, read(paths));
        }
        let mut controls = with_extension("controls", "yaml");
        controls.extend(catalog("controls"));
        by_target.insert("controls", read(controls));
        by_target.insert(
            "audit_log",
            read(files(&repo.join("tests/fixtures/audit/rotated"), &|_| true)),
        );
        let mut reviews = files(&repo.join("tests/fixtures/reviews"), &|_| true);
        reviews.extend(catalog("reviews"));
        reviews.extend(catalog("decisions"));
        by_target.insert("reviews", read(reviews));
        by_target.insert("campaigns", read(catalog("campaigns")));
        by_target.insert("outputs", output_paths());
        by_target.insert("snapshot", snapshot_seeds(dir.path()));
        by_target.insert("allowed_signers", signer_seeds(dir.path(), &store));
        by_target.insert(
            "verify_pack",
            pack_file_seeds(&dir.path().join("store"), &store),
        );
        by_target.insert("timestamp_reply", replies);
        Seeds {
            _dir: dir,
            by_target,
        }
    })
}

/// Two signed packs of the samples in `dir/store`, with the key's allowed-signers line in
/// `dir/key.allowed_signers` (the layout `verify_pack` expects). Returns the latest pack's folder.
fn signed_store(dir: &Path) -> PathBuf {
    let (key, signers) = common::keygen(dir, "fuzz@kube-evidence");
    std::fs::copy(&signers, dir.join("key.allowed_signers")).unwrap();
    let store = dir.join("store");
    for now in ["2026-11-19T02:00:00Z", "2026-11-20T02:00:00Z"] {
        common::run(
            &[
                "run",
                "--config",
                "samples/config.yaml",
                "--out",
                store.to_str().unwrap(),
                "--signing-key",
                key.to_str().unwrap(),
            ],
            &[("KUBE_EVIDENCE_NOW", now)],
            &common::repo(),
        )
        .assert_ok();
    }
    let latest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(store.join("sample-prod-eu-1/latest.json")).unwrap())
            .unwrap();
    store.join(latest["path"].as_str().unwrap())
}

/// Each file `verify_pack` replaces, behind the byte that chooses it.
fn pack_file_seeds(store: &Path, pack: &Path) -> Vec<(String, Vec<u8>)> {
    [
        "latest.json",
        "manifest.json",
        "SHA256SUMS",
        "SHA256SUMS.sig",
        "manifest.json.sig",
        "snapshot.json.gz",
        "findings.json",
        "trend.json",
    ]
    .iter()
    .enumerate()
    .map(|(i, f)| {
        let path = match *f {
            "latest.json" => store.join("sample-prod-eu-1/latest.json"),
            _ => pack.join(f),
        };
        let mut bytes = vec![i as u8];
        bytes.extend(std::fs::read(&path).unwrap());
        (format!("pack file {f}"), bytes)
    })
    .collect()
}

fn signer_seeds(dir: &Path, pack: &Path) -> Vec<(String, Vec<u8>)> {
    let signers = std::fs::read(dir.join("key.allowed_signers")).unwrap();
    let mut signed = std::fs::read(pack.join("manifest.json.sig")).unwrap();
    signed.extend(&signers);
    let mut out = vec![
        ("key.allowed_signers".to_string(), signers),
        ("signature then signers".to_string(), signed),
    ];
    out.extend(read_all(catalog("allowed-signers")));
    out
}

fn snapshot_seeds(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let gz = dir.join("s.json.gz");
    common::run(
        &[
            "snapshot",
            "--config",
            "samples/config.yaml",
            "--output",
            gz.to_str().unwrap(),
        ],
        &[],
        &common::repo(),
    )
    .assert_ok();
    let compressed = std::fs::read(&gz).unwrap();
    let mut json = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(compressed.as_slice()),
        &mut json,
    )
    .unwrap();
    let mut out = vec![
        ("samples snapshot (gzip)".to_string(), compressed),
        ("samples snapshot".to_string(), json),
    ];
    out.extend(read_all(catalog("snapshot")));
    out
}

/// Paths relative to the `outputs` target's folder (a store with a pack, a plain folder, links
/// into both).
fn output_paths() -> Vec<(String, Vec<u8>)> {
    [
        "reports/a.html",
        "store/x",
        "store/c/y",
        "store/c/packs/2026/12/01/P/z",
        "into-pack/z",
        "into-store/c/q",
        "reports/../store/c/q",
        "./into-pack/../x",
        "reports/./b/c.pdf",
    ]
    .iter()
    .map(|p| (format!("output path {p}"), p.as_bytes().to_vec()))
    .collect()
}

/// A time-stamping authority made with openssl, and its replies for the manifest the target
/// checks (with and without its certificate, with and without a nonce), and the certificate.
fn timestamp_replies(tsa: &Path) -> Vec<(String, Vec<u8>)> {
    std::fs::create_dir_all(tsa).unwrap();
    let openssl = |args: &[&str]| {
        let out = std::process::Command::new("openssl")
            .args(args)
            .current_dir(tsa)
            .output()
            .unwrap();
        assert!(out.status.success(), "openssl {args:?}: {out:?}");
    };
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        "tsa.key",
        "-out",
        "tsa.crt",
        "-days",
        "3650",
        "-subj",
        "/CN=fuzz-tsa",
        "-addext",
        "extendedKeyUsage=critical,timeStamping",
    ]);
    std::fs::write(tsa.join("manifest"), b"kube-evidence fuzz manifest\n").unwrap();
    std::fs::write(tsa.join("serial"), b"01\n").unwrap();
    std::fs::write(
        tsa.join("tsa.cnf"),
        "[ tsa ]\ndefault_tsa = t\n[ t ]\nserial = serial\nsigner_cert = tsa.crt\nsigner_key = tsa.key\nsigner_digest = sha256\ndefault_policy = 1.3.6.1.4.1.55555.1\ndigests = sha256\ness_cert_id_alg = sha256\n",
    )
    .unwrap();
    let mut out = Vec::new();
    for opt in ["-cert", "-no_nonce"] {
        let query = format!("q{opt}.tsq");
        let reply = format!("r{opt}.tsr");
        openssl(&[
            "ts", "-query", "-data", "manifest", "-sha256", opt, "-out", &query,
        ]);
        openssl(&[
            "ts",
            "-reply",
            "-config",
            "tsa.cnf",
            "-queryfile",
            &query,
            "-out",
            &reply,
        ]);
        out.push((reply.clone(), std::fs::read(tsa.join(&reply)).unwrap()));
    }
    out.push((
        "tsa.crt".to_string(),
        std::fs::read(tsa.join("tsa.crt")).unwrap(),
    ));
    out
}

fn read_all(paths: Vec<PathBuf>) -> Vec<(String, Vec<u8>)> {
    paths
        .into_iter()
        .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
        .collect()
}

/// The committed regressions and the cached corpus of `target`.
fn found_inputs(target: &str) -> Vec<(String, Vec<u8>)> {
    let mut out = read_all(files(
        &common::repo().join("fuzz/regressions").join(target),
        &|_| true,
    ));
    let cache = std::env::var_os("KUBE_EVIDENCE_CACHE")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/kube-evidence"))
        });
    if let Some(cache) = cache {
        let mut corpus = files(&cache.join("fuzz-corpus").join(target), &|_| true);
        corpus.truncate(MAX_CORPUS_INPUTS);
        out.extend(read_all(corpus));
    }
    out
}

/// Runs `run` over every input of `target`; the inputs that panicked, by name.
fn replay(target: &'static str, run: fn(&[u8])) {
    let seeds = &seeds().by_target[target];
    assert!(!seeds.is_empty(), "{target} has no seeds");
    let mut failed = Vec::new();
    let inputs: Vec<&(String, Vec<u8>)> = seeds.iter().collect();
    let found = found_inputs(target);
    let total = inputs.len() + found.len();
    for (name, bytes) in inputs.into_iter().chain(found.iter()) {
        if std::panic::catch_unwind(|| run(bytes)).is_err() {
            failed.push(name.clone());
        }
    }
    assert!(
        failed.is_empty(),
        "{target}: {} of {total} inputs panicked (saved under fuzz/regressions/{target}/ they stay replayed): {failed:#?}",
        failed.len()
    );
}

macro_rules! replayed {
    ($($target:ident),* $(,)?) => {
        /// One test per target: `fuzz_replay::every_input_replays_without_a_panic::<target>`.
        mod every_input_replays_without_a_panic {
            $(
                #[test]
                fn $target() {
                    super::replay(stringify!($target), super::targets::$target::run);
                }
            )*
        }
    };
}

replayed!(
    allowed_signers,
    audit_log,
    campaigns,
    config,
    controls,
    dump_json,
    dump_yaml,
    exceptions,
    inventory,
    outputs,
    reviews,
    snapshot,
    timestamp_reply,
    vendor_catalog,
    verify_pack,
);

/// Writes every target's seeds under `$KUBE_EVIDENCE_FUZZ_SEEDS/<target>/` and the fixtures'
/// paths to `$KUBE_EVIDENCE_FUZZ_SEEDS/fixtures.env`, for `fuzz/run.sh`: the seeds are made in
/// one place. (The fixtures live as long as the file `fixtures.env` names them in: the test
/// keeps its folder.)
///
/// Without the variable (the suite's run of ignored tests), it writes to a folder of its own and
/// checks what fuzz/run.sh would get: every target's seeds, and fixtures that exist.
#[test]
#[ignore = "run by fuzz/run.sh to make its seeds"]
fn write_fuzz_seeds() {
    let scratch = tempfile::tempdir().unwrap();
    let out = std::env::var_os("KUBE_EVIDENCE_FUZZ_SEEDS")
        .map(PathBuf::from)
        .unwrap_or_else(|| scratch.path().join("seeds"));
    let seeds = seeds();
    for (target, inputs) in &seeds.by_target {
        let dir = out.join(target);
        std::fs::create_dir_all(&dir).unwrap();
        for (_, bytes) in inputs {
            let name = &common::sha256_hex(bytes)[..16];
            std::fs::write(dir.join(name), bytes).unwrap();
        }
    }
    // The fixtures are copied out, since the seeds' folder goes when the test process ends.
    let fixtures = out.join("fixtures");
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(targets::verify_pack::STORE.get().unwrap())
        .arg(&fixtures)
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::write(
        out.join("fixtures.env"),
        format!(
            "KUBE_EVIDENCE_FUZZ_STORE={}\nKUBE_EVIDENCE_FUZZ_TSA_CERT={}\n",
            fixtures.display(),
            fixtures.join("tsa/tsa.crt").display()
        ),
    )
    .unwrap();
    for target in seeds.by_target.keys() {
        let written = std::fs::read_dir(out.join(target)).unwrap().count();
        assert!(written > 0, "no seed written for {target}");
    }
    let env = std::fs::read_to_string(out.join("fixtures.env")).unwrap();
    for line in env.lines() {
        let (_, path) = line.split_once('=').unwrap();
        assert!(Path::new(path).exists(), "{line}: nothing there");
    }
}

/// The replay fails, naming the input, when a target panics on one.
#[test]
fn a_panicking_input_fails_the_replay_by_name() {
    fn panics_on_samples(data: &[u8]) {
        let sample = std::fs::read(common::repo().join("samples/config.yaml")).unwrap();
        assert!(data != sample.as_slice(), "planted");
    }
    let failed = std::panic::catch_unwind(|| replay("config", panics_on_samples))
        .expect_err("the replay passed over a panicking input");
    let message = failed.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(message.contains("samples/config.yaml"), "{message}");
}
