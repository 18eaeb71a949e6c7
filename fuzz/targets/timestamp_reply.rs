//! An RFC 3161 reply (`manifest.json.tsr` of a pack given to `verify`, or a time-stamping
//! authority's answer), checked against the authority certificate fuzz/run.sh makes
//! (KUBE_EVIDENCE_FUZZ_TSA_CERT) and the manifest its seed replies were made for.
use kube_evidence::pack::timestamp::{PinnedCertificate, verify};
use std::sync::OnceLock;

/// The manifest fuzz/run.sh's seed replies stamp.
const MANIFEST: &[u8] = b"kube-evidence fuzz manifest\n";

/// The authority's certificate (PEM): set by the replay test before the first input, else
/// KUBE_EVIDENCE_FUZZ_TSA_CERT (fuzz/run.sh).
pub static CERTIFICATE: OnceLock<std::path::PathBuf> = OnceLock::new();

fn certificate() -> &'static PinnedCertificate {
    static CERT: OnceLock<PinnedCertificate> = OnceLock::new();
    CERT.get_or_init(|| {
        let path = CERTIFICATE.get().cloned().unwrap_or_else(|| {
            std::env::var("KUBE_EVIDENCE_FUZZ_TSA_CERT")
                .expect("KUBE_EVIDENCE_FUZZ_TSA_CERT names the certificate fuzz/run.sh makes")
                .into()
        });
        PinnedCertificate::parse(&std::fs::read(path).unwrap()).unwrap()
    })
}

/// One input.
pub fn run(data: &[u8]) {
    let _ = verify(data, MANIFEST, certificate());
    // The certificate reader takes outside input too (`--tsa-certificate`).
    let _ = PinnedCertificate::parse(data);
}
