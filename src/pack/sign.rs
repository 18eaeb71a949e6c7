//! Signing manifests with Ed25519 keys in the SSHSIG format OpenSSH writes, so that auditors can
//! check a pack with nothing but `ssh-keygen -Y verify` and an allowed-signers file; key
//! generation; and parsing allowed-signers files (validity windows included, so rotated keys keep
//! verifying old packs).
//!
//! Key material never reaches a message: errors about a key name where it came from, never what
//! it holds, and `SigningKey` does not print its contents.

use crate::pattern::pattern_matches;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use ssh_key::{Algorithm, HashAlg, LineEnding, PrivateKey, PublicKey, SshSig};
use std::fmt;
use std::path::Path;
use zeroize::Zeroizing;

/// The SSHSIG namespace of every kube-evidence signature.
pub const NAMESPACE: &str = "kube-evidence";

#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("cannot read the signing key from {origin}: {message}")]
    Read { origin: String, message: String },
    #[error(
        "the signing key from {origin} is a public key; give the private key (the file without .pub, starting `-----BEGIN OPENSSH PRIVATE KEY-----`)"
    )]
    PublicKey { origin: String },
    #[error("the signing key from {origin} is not an OpenSSH private key")]
    Format { origin: String },
    #[error(
        "the signing key from {origin} is protected by a passphrase; use an unencrypted key kept in a Kubernetes Secret"
    )]
    Encrypted { origin: String },
    #[error("the signing key from {origin} is {algorithm}; kube-evidence signs with Ed25519 keys")]
    Algorithm { origin: String, algorithm: String },
    #[error("signing failed: {0}")]
    Sign(String),
}

/// An Ed25519 private key, held only in memory and never printed.
pub struct SigningKey {
    key: PrivateKey,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey({})", self.fingerprint())
    }
}

impl SigningKey {
    /// Parses OpenSSH private key text; `origin` (a path or a variable name) names it in errors.
    pub fn from_openssh(text: &str, origin: &str) -> Result<SigningKey, SignError> {
        let key = PrivateKey::from_openssh(text.trim()).map_err(|_| {
            if ssh_key::PublicKey::from_openssh(text.trim()).is_ok() {
                SignError::PublicKey {
                    origin: origin.to_string(),
                }
            } else {
                SignError::Format {
                    origin: origin.to_string(),
                }
            }
        })?;
        if key.is_encrypted() {
            return Err(SignError::Encrypted {
                origin: origin.to_string(),
            });
        }
        if key.algorithm() != Algorithm::Ed25519 {
            return Err(SignError::Algorithm {
                origin: origin.to_string(),
                algorithm: key.algorithm().to_string(),
            });
        }
        Ok(SigningKey { key })
    }

    pub fn load_file(path: &Path) -> Result<SigningKey, SignError> {
        let origin = path.display().to_string();
        let text = Zeroizing::new(
            crate::input::read_text(path, crate::input::MAX_WRITTEN_FILE).map_err(|e| {
                SignError::Read {
                    origin: origin.clone(),
                    message: e.to_string(),
                }
            })?,
        );
        SigningKey::from_openssh(&text, &origin)
    }

    /// A new random key.
    pub fn generate(comment: &str) -> SigningKey {
        let mut key = PrivateKey::random(&mut ssh_key::rand_core::OsRng, Algorithm::Ed25519)
            .expect("Ed25519 key generation does not fail");
        key.set_comment(comment);
        SigningKey { key }
    }

    /// `SHA256:...`, as `ssh-keygen -l` prints it.
    pub fn fingerprint(&self) -> String {
        self.key
            .public_key()
            .fingerprint(HashAlg::Sha256)
            .to_string()
    }

    /// The key's comment: `kube-evidence keygen --identity` puts the signer identity there.
    pub fn comment(&self) -> &str {
        self.key.comment()
    }

    pub fn public_key(&self) -> &PublicKey {
        self.key.public_key()
    }

    /// The public key in `authorized_keys` form.
    pub fn public_openssh(&self) -> String {
        self.key
            .public_key()
            .to_openssh()
            .expect("an Ed25519 public key encodes")
    }

    /// The private key in OpenSSH form, for `keygen` to write; kept zeroized.
    pub fn private_openssh(&self) -> Zeroizing<String> {
        self.key
            .to_openssh(LineEnding::LF)
            .expect("an Ed25519 private key encodes")
    }

    /// An SSHSIG signature (PEM, as `ssh-keygen -Y sign` writes it) over `message`.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        self.sign_in(NAMESPACE, message)
    }

    /// A plain Ed25519 signature (64 bytes) over `message`, for formats that are not SSHSIG
    /// (the pack's DSSE attestation): the same key, so the same allowed-signers entry vouches
    /// for it.
    pub fn sign_raw(&self, message: &[u8]) -> Vec<u8> {
        let pair = self
            .key
            .key_data()
            .ed25519()
            .expect("a SigningKey is Ed25519 (checked when loaded)");
        let key = ed25519_dalek::SigningKey::from_bytes(&pair.private.to_bytes());
        ed25519_dalek::Signer::sign(&key, message)
            .to_bytes()
            .to_vec()
    }

    /// Signs in another SSHSIG namespace (a reviewer's decisions), as `ssh-keygen -Y sign -n`.
    pub fn sign_in(&self, namespace: &str, message: &[u8]) -> Result<Vec<u8>, SignError> {
        let sig = self
            .key
            .sign(namespace, HashAlg::Sha512, message)
            .map_err(|e| SignError::Sign(e.to_string()))?;
        let mut pem = sig
            .to_pem(LineEnding::LF)
            .map_err(|e| SignError::Sign(e.to_string()))?;
        if !pem.ends_with('\n') {
            pem.push('\n');
        }
        Ok(pem.into_bytes())
    }
}

/// One line of an allowed-signers file (`ssh-keygen(1)`, ALLOWED SIGNERS).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedSigner {
    pub line: usize,
    pub principals: Vec<String>,
    pub namespaces: Option<Vec<String>>,
    pub valid_after: Option<DateTime<Utc>>,
    pub valid_before: Option<DateTime<Utc>>,
    pub cert_authority: bool,
    pub key: PublicKey,
}

impl AllowedSigner {
    /// The `allowed_signers` line for a key: principal, the kube-evidence namespace, the key.
    pub fn line_for(identity: &str, key: &SigningKey) -> String {
        format!(
            "{identity} namespaces=\"{NAMESPACE}\" {}",
            key.public_openssh()
        )
    }

    /// The key itself as a trusted signer (what a run trusts besides its allowed signers: what
    /// it signed itself), under `principal`.
    pub fn of_key(principal: &str, key: &SigningKey) -> AllowedSigner {
        AllowedSigner {
            line: 0,
            principals: vec![principal.to_string()],
            namespaces: Some(vec![NAMESPACE.to_string()]),
            valid_after: None,
            valid_before: None,
            cert_authority: false,
            key: key.public_key().clone(),
        }
    }

    fn allows_namespace(&self, ns: &str) -> bool {
        self.namespaces
            .as_ref()
            .is_none_or(|list| list.iter().any(|p| pattern_matches(p, ns)))
    }

    fn valid_at(&self, t: DateTime<Utc>) -> bool {
        self.valid_after.is_none_or(|a| t >= a) && self.valid_before.is_none_or(|b| t < b)
    }
}

/// `YYYYMMDD[HHMM[SS]][Z]`; without `Z` OpenSSH reads local time, which for evidence is read as
/// UTC (pin the time zone by writing `Z`).
fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    let s = s.strip_suffix('Z').unwrap_or(s);
    let dt = match s.len() {
        8 => NaiveDate::parse_from_str(s, "%Y%m%d")
            .ok()?
            .and_hms_opt(0, 0, 0)?,
        12 => NaiveDateTime::parse_from_str(s, "%Y%m%d%H%M").ok()?,
        14 => NaiveDateTime::parse_from_str(s, "%Y%m%d%H%M%S").ok()?,
        _ => return None,
    };
    Some(dt.and_utc())
}

/// Splits on white space, keeping double-quoted runs together.
fn tokens(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                cur.push(c);
            }
            c if c.is_whitespace() && !quoted => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Splits options on commas outside quotes.
fn split_options(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in s.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out
}

/// Parses an allowed-signers file; every bad line is reported with its number.
pub fn parse_allowed_signers(
    text: &str,
    origin: &str,
) -> Result<Vec<AllowedSigner>, crate::diag::Diagnostics> {
    let mut diags = crate::diag::Diagnostics::new();
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        let n = i + 1;
        let pos = Some(crate::diag::Pos::new(n as u32, 1));
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let t = tokens(line);
        if t.len() < 3 {
            diags.push(
                origin,
                pos,
                "expected `principals [options] key-type base64-key`",
            );
            continue;
        }
        let principals: Vec<String> = t[0]
            .trim_matches('"')
            .split(',')
            .map(str::to_string)
            .collect();
        let (options, key_at) =
            if t[1].starts_with("ssh-") || t[1].starts_with("ecdsa-") || t[1].starts_with("sk-") {
                (None, 1)
            } else {
                (Some(t[1].clone()), 2)
            };
        if t.len() < key_at + 2 {
            diags.push(origin, pos, "the key is missing after the options");
            continue;
        }
        let key = match PublicKey::from_openssh(&format!("{} {}", t[key_at], t[key_at + 1])) {
            Ok(k) => k,
            Err(_) => {
                diags.push(
                    origin,
                    pos,
                    format!("`{}` is not a valid public key", t[key_at]),
                );
                continue;
            }
        };
        let mut signer = AllowedSigner {
            line: n,
            principals,
            namespaces: None,
            valid_after: None,
            valid_before: None,
            cert_authority: false,
            key,
        };
        for opt in options.iter().flat_map(|o| split_options(o)) {
            let (name, value) = opt
                .split_once('=')
                .map_or((opt.as_str(), ""), |(a, b)| (a, b));
            let value = value.trim_matches('"');
            match name.to_ascii_lowercase().as_str() {
                "cert-authority" => signer.cert_authority = true,
                "namespaces" => {
                    signer.namespaces = Some(value.split(',').map(str::to_string).collect())
                }
                "valid-after" | "valid-before" => match parse_time(value) {
                    Some(t) if name.eq_ignore_ascii_case("valid-after") => {
                        signer.valid_after = Some(t)
                    }
                    Some(t) => signer.valid_before = Some(t),
                    None => diags.push(
                        origin,
                        pos,
                        format!("`{name}` wants YYYYMMDD[HHMM[SS]][Z], found `{value}`"),
                    ),
                },
                other => diags.push(origin, pos, format!("unknown option `{other}`")),
            }
        }
        out.push(signer);
    }
    diags.into_result(out)
}

/// Who signed, when the signature checks out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureCheck {
    pub fingerprint: String,
    /// The allowed-signers principal, when signers were given.
    pub principal: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureProblem {
    #[error("the signature is not an SSHSIG signature: {0}")]
    Format(String),
    #[error("the signature's namespace is `{found}`, not `{expected}`")]
    Namespace { found: String, expected: String },
    #[error("the signature does not match the manifest")]
    Mismatch,
    #[error("signed by {0}, which is not in the allowed signers")]
    UnknownSigner(String),
    #[error(
        "signed by {fingerprint}, whose allowed-signers entry (line {line}) is not valid at {at}"
    )]
    OutsideValidity {
        fingerprint: String,
        line: usize,
        at: String,
    },
    #[error(
        "signed by {fingerprint}, whose allowed-signers entry (line {line}) does not allow the {namespace} namespace"
    )]
    NamespaceNotAllowed {
        fingerprint: String,
        line: usize,
        namespace: String,
    },
}

/// Checks an SSHSIG signature over `message`, and, when `signers` are given, that the key is
/// among them, for the kube-evidence namespace, valid at `at` (the pack's publication time, so
/// that a rotated key still verifies the packs it signed).
pub fn verify(
    message: &[u8],
    signature_pem: &[u8],
    signers: Option<&[AllowedSigner]>,
    at: DateTime<Utc>,
) -> Result<SignatureCheck, SignatureProblem> {
    verify_in(NAMESPACE, message, signature_pem, signers, at)
}

/// [`verify`] for signatures made in another SSHSIG namespace (a reviewer's decisions are
/// signed in their own, so that no signature of one kind can pass for the other).
pub fn verify_in(
    namespace: &str,
    message: &[u8],
    signature_pem: &[u8],
    signers: Option<&[AllowedSigner]>,
    at: DateTime<Utc>,
) -> Result<SignatureCheck, SignatureProblem> {
    let sig =
        SshSig::from_pem(signature_pem).map_err(|e| SignatureProblem::Format(e.to_string()))?;
    if sig.namespace() != namespace {
        return Err(SignatureProblem::Namespace {
            found: sig.namespace().to_string(),
            expected: namespace.to_string(),
        });
    }
    let key = PublicKey::from(sig.public_key().clone());
    key.verify(namespace, message, &sig)
        .map_err(|_| SignatureProblem::Mismatch)?;
    let fingerprint = key.fingerprint(HashAlg::Sha256).to_string();
    let Some(signers) = signers else {
        return Ok(SignatureCheck {
            fingerprint,
            principal: None,
        });
    };
    let matching: Vec<&AllowedSigner> = signers
        .iter()
        .filter(|s| !s.cert_authority && s.key.key_data() == key.key_data())
        .collect();
    if matching.is_empty() {
        return Err(SignatureProblem::UnknownSigner(fingerprint));
    }
    let mut problem = None;
    for s in matching {
        if !s.allows_namespace(namespace) {
            problem.get_or_insert(SignatureProblem::NamespaceNotAllowed {
                fingerprint: fingerprint.clone(),
                line: s.line,
                namespace: namespace.to_string(),
            });
            continue;
        }
        if !s.valid_at(at) {
            problem = Some(SignatureProblem::OutsideValidity {
                fingerprint: fingerprint.clone(),
                line: s.line,
                at: at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            });
            continue;
        }
        return Ok(SignatureCheck {
            fingerprint,
            principal: s.principals.first().cloned(),
        });
    }
    Err(problem.unwrap_or(SignatureProblem::UnknownSigner(fingerprint)))
}

/// Checks a plain Ed25519 signature (see [`SigningKey::sign_raw`]) made by `key`.
pub fn verify_raw(key: &PublicKey, message: &[u8], signature: &[u8]) -> bool {
    let Some(public) = key.key_data().ed25519() else {
        return false;
    };
    let (Ok(vk), Ok(sig)) = (
        ed25519_dalek::VerifyingKey::from_bytes(&public.0),
        ed25519_dalek::Signature::from_slice(signature),
    ) else {
        return false;
    };
    vk.verify_strict(message, &sig).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_and_verify_with_validity_windows() {
        let key = SigningKey::generate("test");
        let sig = key.sign(b"manifest").unwrap();
        let at = Utc::now();
        verify(b"manifest", &sig, None, at).unwrap();
        assert_eq!(
            verify(b"manifest!", &sig, None, at),
            Err(SignatureProblem::Mismatch)
        );
        let line = AllowedSigner::line_for("ops@example.com", &key);
        let signers = parse_allowed_signers(&line, "as").unwrap();
        let ok = verify(b"manifest", &sig, Some(&signers), at).unwrap();
        assert_eq!(ok.principal.as_deref(), Some("ops@example.com"));
        let expired = format!(
            "ops valid-before=\"20200101Z\",namespaces=\"kube-evidence\" {}",
            key.public_openssh()
        );
        let signers = parse_allowed_signers(&expired, "as").unwrap();
        assert!(matches!(
            verify(b"manifest", &sig, Some(&signers), at),
            Err(SignatureProblem::OutsideValidity { .. })
        ));
        let other = SigningKey::generate("other");
        let signers = parse_allowed_signers(&AllowedSigner::line_for("x", &other), "as").unwrap();
        assert!(matches!(
            verify(b"manifest", &sig, Some(&signers), at),
            Err(SignatureProblem::UnknownSigner(_))
        ));
        let wrong_ns = format!("x namespaces=\"git\" {}", key.public_openssh());
        let signers = parse_allowed_signers(&wrong_ns, "as").unwrap();
        assert!(matches!(
            verify(b"manifest", &sig, Some(&signers), at),
            Err(SignatureProblem::NamespaceNotAllowed { .. })
        ));
    }

    #[test]
    fn keys_round_trip_and_never_print() {
        let key = SigningKey::generate("c");
        let text = key.private_openssh();
        let back = SigningKey::from_openssh(&text, "mem").unwrap();
        assert_eq!(back.fingerprint(), key.fingerprint());
        let debug = format!("{back:?}");
        assert!(debug.starts_with("SigningKey(SHA256:"));
        let body: String = text.lines().nth(1).unwrap().to_string();
        assert!(!debug.contains(&body));
        let err = SigningKey::from_openssh("not a key", "KUBE_EVIDENCE_SIGNING_KEY")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "the signing key from KUBE_EVIDENCE_SIGNING_KEY is not an OpenSSH private key"
        );
    }

    #[test]
    fn allowed_signers_parsing() {
        let key = SigningKey::generate("c");
        let text = format!(
            "# comment\n\nops@example.com,backup@example.com namespaces=\"kube-evidence,git\",valid-after=\"20260101\",valid-before=\"202701011200Z\" {}\nbad line\nx valid-after=\"2026\" {}\n",
            key.public_openssh(),
            key.public_openssh()
        );
        let err = parse_allowed_signers(&text, "allowed_signers")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(
                "allowed_signers:4:1: expected `principals [options] key-type base64-key`"
            ),
            "{err}"
        );
        assert!(
            err.contains(
                "allowed_signers:5:1: `valid-after` wants YYYYMMDD[HHMM[SS]][Z], found `2026`"
            ),
            "{err}"
        );
        let ok = parse_allowed_signers(&text.lines().take(3).collect::<Vec<_>>().join("\n"), "a")
            .unwrap();
        assert_eq!(
            ok[0].principals,
            vec!["ops@example.com", "backup@example.com"]
        );
        assert_eq!(
            ok[0].namespaces.as_ref().unwrap(),
            &vec!["kube-evidence".to_string(), "git".to_string()]
        );
        assert_eq!(
            ok[0].valid_before.unwrap().to_rfc3339(),
            "2027-01-01T12:00:00+00:00"
        );
        assert!(
            pattern_matches("kube-*", "kube-evidence") && !pattern_matches("git", "kube-evidence")
        );
    }

    #[test]
    fn namespace_patterns_match_like_openssh_without_exponential_time() {
        for (p, t, want) in [
            ("*", "", true),
            ("a*b", "ab", true),
            ("a*b", "axxb", true),
            ("a*b", "axxc", false),
            ("?", "", false),
            ("k?be-*", "kube-evidence", true),
            ("*a*a*", "aa", true),
            ("**", "x", true),
        ] {
            assert_eq!(pattern_matches(p, t), want, "{p} vs {t}");
        }
        // Exponential for a recursive matcher; instant here.
        let pattern = "*a".repeat(40) + "b";
        let text = "a".repeat(5_000);
        assert!(!pattern_matches(&pattern, &text));
    }
}
