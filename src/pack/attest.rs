//! The pack as an in-toto attestation, so supply-chain tooling auditors' organisations already run
//! can check it: an in-toto Statement v1 whose subjects are the pack's files with their SHA-256
//! and whose predicate (`PREDICATE_TYPE`, documented in docs/auditors.md) says which cluster,
//! which period and what the pack concluded, wrapped in a DSSE envelope signed with the pack's
//! own Ed25519 key. The predicate's figures are read from the pack's `findings.json`, so the
//! attestation says exactly what the pack says.

use super::PackFile;
use super::sign::{SigningKey, verify_raw};
use crate::finding::Severity;
use crate::report::json::FindingsDocument;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const ATTESTATION_FILE: &str = crate::files::ATTESTATION;
/// DSSE's payload type for in-toto statements.
pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
pub const PREDICATE_TYPE: &str = "https://kube-evidence.dev/attestation/evidence-pack/v1";

/// DSSE's pre-authentication encoding: what is signed, binding the payload to its type.
/// `"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`, lengths in ASCII decimal.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {payload_type} {} ",
        payload_type.len(),
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Envelope {
    pub payload_type: String,
    /// The statement's JSON, base64 (standard alphabet, padded).
    pub payload: String,
    pub signatures: Vec<EnvelopeSignature>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvelopeSignature {
    /// The key's SHA-256 fingerprint, as the manifest names it.
    pub keyid: String,
    pub sig: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Statement {
    #[serde(rename = "_type")]
    pub statement_type: String,
    pub subject: Vec<Subject>,
    pub predicate_type: String,
    pub predicate: Predicate,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subject {
    pub name: String,
    pub digest: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Predicate {
    pub cluster: String,
    pub cluster_id: String,
    pub pack_id: String,
    /// The period the pack is evidence for: from the previous pack's collection (none for a
    /// cluster's first pack) to this one's.
    pub period: Period,
    pub previous_pack_id: String,
    pub previous_manifest_sha256: String,
    pub ruleset_digest: String,
    pub open_findings: BTreeMap<Severity, usize>,
    pub accepted_findings: usize,
    /// Controls by framework, then status.
    pub controls: BTreeMap<String, BTreeMap<String, usize>>,
    pub tool: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Period {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<DateTime<Utc>>,
    pub end: DateTime<Utc>,
}

/// What the statement is about besides the files.
pub struct PackFacts<'a> {
    pub cluster: &'a str,
    pub cluster_id: &'a str,
    pub pack_id: &'a str,
    pub collected_at: DateTime<Utc>,
    pub previous: Option<(&'a str, &'a str, DateTime<Utc>)>,
    pub ruleset_digest: &'a str,
    pub tool: String,
}

/// Why a pack's statement cannot be made: its figures come from its own `findings.json`.
#[derive(Debug, thiserror::Error)]
pub enum StatementError {
    #[error("the pack has no {}", crate::files::FINDINGS_JSON)]
    NoFindings,
    #[error("{} does not read back", crate::files::FINDINGS_JSON)]
    FindingsUnreadable(#[source] serde_json::Error),
}

/// The statement over `files` (the pack's content files), its figures read from their
/// `findings.json`.
pub fn statement(facts: &PackFacts<'_>, files: &[PackFile]) -> Result<Statement, StatementError> {
    let findings = files
        .iter()
        .find(|f| f.path == crate::files::FINDINGS_JSON)
        .ok_or(StatementError::NoFindings)?;
    let doc: FindingsDocument =
        serde_json::from_slice(&findings.bytes).map_err(StatementError::FindingsUnreadable)?;
    let mut controls: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    for ((framework, status), n) in crate::controls::evaluate::counts(&doc.controls) {
        if n > 0 {
            controls
                .entry(framework)
                .or_default()
                .insert(status.as_str().to_string(), n);
        }
    }
    let mut subject: Vec<Subject> = files
        .iter()
        .filter(|f| f.path != ATTESTATION_FILE)
        .map(|f| Subject {
            name: f.path.clone(),
            digest: BTreeMap::from([("sha256".to_string(), super::sha256_hex(&f.bytes))]),
        })
        .collect();
    subject.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Statement {
        statement_type: STATEMENT_TYPE.into(),
        subject,
        predicate_type: PREDICATE_TYPE.into(),
        predicate: Predicate {
            cluster: facts.cluster.into(),
            cluster_id: facts.cluster_id.into(),
            pack_id: facts.pack_id.into(),
            period: Period {
                start: facts.previous.map(|(_, _, at)| at),
                end: facts.collected_at,
            },
            previous_pack_id: facts.previous.map_or("", |p| p.0).into(),
            previous_manifest_sha256: facts.previous.map_or("", |p| p.1).into(),
            ruleset_digest: facts.ruleset_digest.into(),
            open_findings: doc.summary.open,
            accepted_findings: doc.summary.accepted,
            controls,
            tool: facts.tool.clone(),
        },
    })
}

/// The statement in a DSSE envelope signed by `key`: the file's bytes.
pub fn envelope(statement: &Statement, key: &SigningKey) -> Vec<u8> {
    let payload = serde_json::to_vec(statement).expect("the statement serialises");
    let sig = key.sign_raw(&pae(PAYLOAD_TYPE, &payload));
    let env = Envelope {
        payload_type: PAYLOAD_TYPE.into(),
        payload: STANDARD.encode(&payload),
        signatures: vec![EnvelopeSignature {
            keyid: key.fingerprint(),
            sig: STANDARD.encode(sig),
        }],
    };
    let mut out = serde_json::to_vec_pretty(&env).expect("the envelope serialises");
    out.push(b'\n');
    out
}

/// Opens an envelope: its type, and a signature by `key` (named by `fingerprint`) over the
/// payload; then the statement inside.
pub fn open(
    bytes: &[u8],
    key: &ssh_key::PublicKey,
    fingerprint: &str,
) -> Result<Statement, String> {
    let env: Envelope =
        serde_json::from_slice(bytes).map_err(|e| format!("not a DSSE envelope: {e}"))?;
    if env.payload_type != PAYLOAD_TYPE {
        return Err(format!(
            "payload type `{}`, not `{PAYLOAD_TYPE}`",
            env.payload_type
        ));
    }
    let payload = STANDARD
        .decode(&env.payload)
        .map_err(|e| format!("the payload is not base64: {e}"))?;
    let signed = pae(&env.payload_type, &payload);
    let valid = env.signatures.iter().any(|s| {
        s.keyid == fingerprint
            && STANDARD
                .decode(&s.sig)
                .is_ok_and(|sig| verify_raw(key, &signed, &sig))
    });
    if !valid {
        return Err(format!("no valid signature by {fingerprint}"));
    }
    serde_json::from_slice(&payload).map_err(|e| format!("the payload is not a Statement: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The DSSE specification's own example (protocol.md, "Test vector"): PAE of the payload
    /// type `http://example.com/HelloWorld` and the body `hello world`.
    #[test]
    fn pae_matches_the_specification_test_vector() {
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
        );
        // Lengths are of bytes, not characters.
        assert_eq!(pae("t", "é".as_bytes()), b"DSSEv1 1 t 2 \xc3\xa9");
    }

    #[test]
    fn an_envelope_opens_with_its_key_and_not_after_any_change() {
        let key = SigningKey::generate("t");
        let statement = Statement {
            statement_type: STATEMENT_TYPE.into(),
            subject: vec![Subject {
                name: "findings.json".into(),
                digest: BTreeMap::from([("sha256".into(), "ab".repeat(32))]),
            }],
            predicate_type: PREDICATE_TYPE.into(),
            predicate: Predicate {
                cluster: "c".into(),
                cluster_id: String::new(),
                pack_id: "p".into(),
                period: Period {
                    start: None,
                    end: DateTime::UNIX_EPOCH,
                },
                previous_pack_id: String::new(),
                previous_manifest_sha256: String::new(),
                ruleset_digest: String::new(),
                open_findings: BTreeMap::new(),
                accepted_findings: 0,
                controls: BTreeMap::new(),
                tool: "kube-evidence".into(),
            },
        };
        let bytes = envelope(&statement, &key);
        let public = key.public_key();
        assert_eq!(open(&bytes, public, &key.fingerprint()).unwrap(), statement);
        let other = SigningKey::generate("o");
        assert!(open(&bytes, other.public_key(), &key.fingerprint()).is_err());
        let mut env: Envelope = serde_json::from_slice(&bytes).unwrap();
        env.payload_type = "application/json".into();
        assert!(
            open(
                &serde_json::to_vec(&env).unwrap(),
                public,
                &key.fingerprint()
            )
            .is_err()
        );
        let mut env: Envelope = serde_json::from_slice(&bytes).unwrap();
        let mut payload = STANDARD.decode(&env.payload).unwrap();
        payload[10] ^= 1;
        env.payload = STANDARD.encode(payload);
        assert!(
            open(
                &serde_json::to_vec(&env).unwrap(),
                public,
                &key.fingerprint()
            )
            .is_err()
        );
    }
}
