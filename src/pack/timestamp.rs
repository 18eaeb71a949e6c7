//! RFC 3161 trusted timestamps of a pack's manifest: the request the run sends to a time-stamping
//! authority, and the checks of its reply (`manifest.json.tsr`) — status granted, the token's
//! TSTInfo over this manifest's SHA-256 with the nonce asked for, its CMS signature by the
//! authority's certificate the reader pinned. The authority's `genTime` then stands for when the
//! manifest existed, in place of the time the pack claims for itself.
//!
//! DER is read by a small bounded reader: only the fields these checks need are decoded, and
//! everything read is untrusted (lengths checked against what is left, depth fixed by the code).

use chrono::{DateTime, NaiveDateTime, Utc};
use sha2::{Digest, Sha256};

pub const TIMESTAMP_FILE: &str = crate::files::MANIFEST_TIMESTAMP;
/// A reply is a few kilobytes (the token and the authority's certificate chain).
pub const MAX_REPLY_BYTES: usize = 256 * 1024;

const OID_SHA256: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01];
const OID_SIGNED_DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02];
const OID_TST_INFO: &[u8] = &[
    0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x01, 0x04,
];
const OID_MESSAGE_DIGEST: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x04];
const OID_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const OID_SHA256_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b];
const OID_EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const OID_ECDSA_SHA256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];

/// What a verified token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimestampToken {
    pub gen_time: DateTime<Utc>,
    /// The TSA's policy OID, dotted.
    pub policy: String,
    /// SHA-256 of the pinned certificate that signed it, hex.
    pub tsa_certificate_sha256: String,
    /// The subject of that certificate (`CN=..., O=...`): who the authority is.
    pub tsa_subject: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimestampError {
    #[error("not DER: {0}")]
    Der(String),
    #[error("the authority refused the request (status {0})")]
    Refused(u64),
    #[error("the token is not for this manifest: {0}")]
    Mismatch(String),
    #[error("the token's signature does not verify with the authority's certificate: {0}")]
    Signature(String),
    #[error("the authority's certificate: {0}")]
    Certificate(String),
}

type Result<T> = std::result::Result<T, TimestampError>;

fn der(msg: impl Into<String>) -> TimestampError {
    TimestampError::Der(msg.into())
}

/// One TLV: its tag, its content, and its whole encoding.
#[derive(Clone, Copy)]
struct Tlv<'a> {
    tag: u8,
    content: &'a [u8],
    raw: &'a [u8],
}

/// Reads consecutive TLVs from a byte slice.
struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Reader { rest: bytes }
    }

    fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    fn peek_tag(&self) -> Option<u8> {
        self.rest.first().copied()
    }

    fn any(&mut self) -> Result<Tlv<'a>> {
        let bytes = self.rest;
        let (&tag, after) = bytes.split_first().ok_or_else(|| der("truncated"))?;
        if tag & 0x1f == 0x1f {
            return Err(der("multi-byte tags are not used here"));
        }
        let (&first, mut after) = after.split_first().ok_or_else(|| der("truncated"))?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 || n > 4 || after.len() < n {
                return Err(der("bad length"));
            }
            let mut len = 0usize;
            for &b in &after[..n] {
                len = (len << 8) | usize::from(b);
            }
            after = &after[n..];
            len
        };
        if after.len() < len {
            return Err(der("a length runs past the end"));
        }
        let header = bytes.len() - after.len();
        let tlv = Tlv {
            tag,
            content: &after[..len],
            raw: &bytes[..header + len],
        };
        self.rest = &after[len..];
        Ok(tlv)
    }

    fn expect(&mut self, tag: u8, what: &str) -> Result<Tlv<'a>> {
        let t = self.any()?;
        if t.tag != tag {
            return Err(der(format!(
                "{what}: tag {:#04x}, expected {tag:#04x}",
                t.tag
            )));
        }
        Ok(t)
    }

    /// Skips an optional element with `tag`, returning it if present.
    fn optional(&mut self, tag: u8) -> Result<Option<Tlv<'a>>> {
        if self.peek_tag() == Some(tag) {
            self.any().map(Some)
        } else {
            Ok(None)
        }
    }
}

fn seq(t: Tlv<'_>) -> Reader<'_> {
    Reader::new(t.content)
}

fn small_uint(content: &[u8]) -> Result<u64> {
    if content.is_empty() || content.len() > 8 {
        return Err(der("integer out of range"));
    }
    Ok(content.iter().fold(0u64, |n, b| (n << 8) | u64::from(*b)))
}

fn oid_text(oid: &[u8]) -> String {
    let mut parts = Vec::new();
    let mut value: u64 = 0;
    for (i, b) in oid.iter().enumerate() {
        value = (value << 7) | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            if parts.is_empty() {
                let first = (value / 40).min(2);
                parts.push(first);
                parts.push(value - first * 40);
            } else {
                parts.push(value);
            }
            value = 0;
        } else if i + 1 == oid.len() {
            return "invalid".into();
        }
    }
    parts
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(".")
}

fn encode(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

/// The nonce for a manifest: the first eight bytes of its SHA-256, made positive. Derived, not
/// random, so the same manifest gives the same request (and a reply for another request, with
/// another nonce, is refused).
pub fn nonce_for(manifest_sha256: &[u8; 32]) -> Vec<u8> {
    let mut n = manifest_sha256[..8].to_vec();
    n[0] &= 0x7f;
    n
}

/// The DER `TimeStampReq` for the manifest's SHA-256, asking for the authority's certificate.
pub fn request(manifest: &[u8]) -> Vec<u8> {
    let digest: [u8; 32] = Sha256::digest(manifest).into();
    let algorithm = encode(0x30, &[encode(0x06, OID_SHA256), vec![0x05, 0x00]].concat());
    let imprint = encode(0x30, &[algorithm, encode(0x04, &digest)].concat());
    let body = [
        encode(0x02, &[1]),
        imprint,
        encode(0x02, &nonce_for(&digest)),
        encode(0x01, &[0xff]),
    ]
    .concat();
    encode(0x30, &body)
}

/// The public key of a certificate (PEM or DER) and the certificate's SHA-256.
#[derive(Debug, Clone)]
pub struct PinnedCertificate {
    der: Vec<u8>,
    key: PublicKeyInfo,
    subject: String,
}

#[derive(Debug, Clone)]
enum PublicKeyInfo {
    Rsa(Vec<u8>),
    P256(Vec<u8>),
}

impl PinnedCertificate {
    pub fn parse(bytes: &[u8]) -> Result<PinnedCertificate> {
        let der_bytes = pem_or_der(bytes)?;
        let mut top = Reader::new(&der_bytes);
        let cert = top.expect(0x30, "Certificate")?;
        let mut c = seq(cert);
        let tbs = c.expect(0x30, "TBSCertificate")?;
        let mut t = seq(tbs);
        t.optional(0xa0)?; // version
        t.expect(0x02, "serialNumber")?;
        t.expect(0x30, "signature")?;
        t.expect(0x30, "issuer")?;
        t.expect(0x30, "validity")?;
        // Shown, never checked: a subject this reader cannot spell does not refuse the key.
        let subject = distinguished_name(t.expect(0x30, "subject")?)
            .unwrap_or_else(|e| format!("(subject not readable: {e})"));
        let spki = t.expect(0x30, "subjectPublicKeyInfo")?;
        let mut s = seq(spki);
        let mut alg = seq(s.expect(0x30, "algorithm")?);
        let oid = alg.expect(0x06, "algorithm")?.content;
        let bits = s.expect(0x03, "subjectPublicKey")?.content;
        let key_bytes = bits
            .split_first()
            .filter(|(unused, _)| **unused == 0)
            .map(|(_, k)| k.to_vec())
            .ok_or_else(|| TimestampError::Certificate("bad public key bits".into()))?;
        let key = if oid == OID_RSA {
            PublicKeyInfo::Rsa(key_bytes)
        } else if oid == OID_EC_PUBLIC_KEY {
            let curve = alg.expect(0x06, "curve")?.content;
            if curve != OID_P256 {
                return Err(TimestampError::Certificate(format!(
                    "EC curve {} is not supported (P-256 is)",
                    oid_text(curve)
                )));
            }
            PublicKeyInfo::P256(key_bytes)
        } else {
            return Err(TimestampError::Certificate(format!(
                "key algorithm {} is not supported (RSA and EC P-256 are)",
                oid_text(oid)
            )));
        };
        let der = cert.raw.to_vec();
        Ok(PinnedCertificate { der, key, subject })
    }

    pub fn sha256_hex(&self) -> String {
        hex::encode(Sha256::digest(&self.der))
    }

    /// The certificate's subject as text (`CN=..., O=...`), as the authority names itself.
    pub fn subject(&self) -> &str {
        &self.subject
    }
}

/// A `Name` as text, most specific last as written in the certificate (`C=.., O=.., CN=..`):
/// the common attribute types by their short names, others by OID; values that are not text
/// are shown as `#hex`. Control characters are dropped (the text is shown in reports).
fn distinguished_name(name: Tlv<'_>) -> Result<String> {
    let mut parts = Vec::new();
    let mut rdns = seq(name);
    while !rdns.is_empty() {
        let mut set = seq(rdns.expect(0x31, "RelativeDistinguishedName")?);
        while !set.is_empty() {
            let mut atv = seq(set.expect(0x30, "AttributeTypeAndValue")?);
            let oid = atv.expect(0x06, "attribute type")?.content;
            let value = atv.any()?;
            let key = match oid {
                [0x55, 0x04, 0x03] => "CN".to_string(),
                [0x55, 0x04, 0x06] => "C".to_string(),
                [0x55, 0x04, 0x07] => "L".to_string(),
                [0x55, 0x04, 0x08] => "ST".to_string(),
                [0x55, 0x04, 0x0a] => "O".to_string(),
                [0x55, 0x04, 0x0b] => "OU".to_string(),
                other => oid_text(other),
            };
            // UTF8String, PrintableString, T61String, IA5String.
            let text = match value.tag {
                0x0c | 0x13 | 0x14 | 0x16 => String::from_utf8_lossy(value.content)
                    .chars()
                    .filter(|c| !c.is_control())
                    .collect(),
                _ => format!("#{}", hex::encode(value.content)),
            };
            parts.push(format!("{key}={text}"));
        }
    }
    Ok(parts.join(", "))
}

fn pem_or_der(bytes: &[u8]) -> Result<Vec<u8>> {
    let text = match std::str::from_utf8(bytes) {
        Ok(t) if t.contains("-----BEGIN CERTIFICATE-----") => t,
        _ => return Ok(bytes.to_vec()),
    };
    let body: String = text
        .split("-----BEGIN CERTIFICATE-----")
        .nth(1)
        .and_then(|r| r.split("-----END CERTIFICATE-----").next())
        .ok_or_else(|| TimestampError::Certificate("unterminated PEM".into()))?
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .map_err(|e| TimestampError::Certificate(format!("PEM is not base64: {e}")))
}

/// The parts of a reply the checks use.
struct Token<'a> {
    tst_info: &'a [u8],
    signed_attrs: Tlv<'a>,
    digest_algorithm: &'a [u8],
    signature_algorithm: &'a [u8],
    signature: &'a [u8],
}

fn parse_reply(reply: &[u8]) -> Result<Token<'_>> {
    let mut top = Reader::new(reply);
    let resp = top.expect(0x30, "TimeStampResp")?;
    let mut r = seq(resp);
    let mut status = seq(r.expect(0x30, "PKIStatusInfo")?);
    let code = small_uint(status.expect(0x02, "status")?.content)?;
    if code > 1 {
        return Err(TimestampError::Refused(code));
    }
    let content_info = r.expect(0x30, "timeStampToken")?;
    let mut ci = seq(content_info);
    if ci.expect(0x06, "contentType")?.content != OID_SIGNED_DATA {
        return Err(der("the token is not CMS SignedData"));
    }
    let explicit = ci.expect(0xa0, "content")?;
    let mut sd = seq(Reader::new(explicit.content).expect(0x30, "SignedData")?);
    sd.expect(0x02, "version")?;
    sd.expect(0x31, "digestAlgorithms")?;
    let mut encap = seq(sd.expect(0x30, "encapContentInfo")?);
    if encap.expect(0x06, "eContentType")?.content != OID_TST_INFO {
        return Err(der("the signed content is not a TSTInfo"));
    }
    let econtent = encap.expect(0xa0, "eContent")?;
    let tst_info = Reader::new(econtent.content)
        .expect(0x04, "eContent")?
        .content;
    sd.optional(0xa0)?; // certificates: the pinned certificate decides
    sd.optional(0xa1)?; // crls
    let mut signer_infos = seq(sd.expect(0x31, "signerInfos")?);
    let mut si = seq(signer_infos.expect(0x30, "SignerInfo")?);
    if !signer_infos.is_empty() {
        return Err(der("more than one SignerInfo"));
    }
    si.expect(0x02, "version")?;
    si.any()?; // sid
    let digest_algorithm = seq(si.expect(0x30, "digestAlgorithm")?)
        .expect(0x06, "digestAlgorithm")?
        .content;
    let signed_attrs = si.expect(0xa0, "signedAttrs")?;
    let signature_algorithm = seq(si.expect(0x30, "signatureAlgorithm")?)
        .expect(0x06, "signatureAlgorithm")?
        .content;
    let signature = si.expect(0x04, "signature")?.content;
    Ok(Token {
        tst_info,
        signed_attrs,
        digest_algorithm,
        signature_algorithm,
        signature,
    })
}

fn message_digest_attribute<'a>(signed_attrs: Tlv<'a>) -> Result<&'a [u8]> {
    let mut attrs = seq(signed_attrs);
    while !attrs.is_empty() {
        let mut a = seq(attrs.expect(0x30, "Attribute")?);
        let oid = a.expect(0x06, "attrType")?.content;
        let mut values = seq(a.expect(0x31, "attrValues")?);
        if oid == OID_MESSAGE_DIGEST {
            return Ok(values.expect(0x04, "messageDigest")?.content);
        }
    }
    Err(TimestampError::Signature(
        "no messageDigest among the signed attributes".into(),
    ))
}

fn gen_time(text: &[u8]) -> Result<DateTime<Utc>> {
    let s = std::str::from_utf8(text).map_err(|_| der("genTime is not text"))?;
    let core = s
        .strip_suffix('Z')
        .ok_or_else(|| der("genTime is not in UTC"))?;
    let (whole, fraction) = core.split_once('.').unwrap_or((core, ""));
    let t = NaiveDateTime::parse_from_str(whole, "%Y%m%d%H%M%S")
        .map_err(|e| der(format!("genTime `{s}`: {e}")))?;
    let nanos = if fraction.is_empty() {
        0
    } else {
        let digits: String = fraction.chars().take(9).collect();
        format!("{digits:0<9}")
            .parse::<u32>()
            .map_err(|_| der(format!("genTime `{s}`")))?
    };
    Ok(t.and_utc() + chrono::Duration::nanoseconds(i64::from(nanos)))
}

/// Checks a reply for `manifest` against the authority's pinned certificate.
pub fn verify(reply: &[u8], manifest: &[u8], cert: &PinnedCertificate) -> Result<TimestampToken> {
    let token = parse_reply(reply)?;
    // TSTInfo: the manifest's digest, the nonce asked for, the time.
    let mut tst = seq(Reader::new(token.tst_info).expect(0x30, "TSTInfo")?);
    tst.expect(0x02, "version")?;
    let policy = oid_text(tst.expect(0x06, "policy")?.content);
    let mut imprint = seq(tst.expect(0x30, "messageImprint")?);
    let alg = seq(imprint.expect(0x30, "hashAlgorithm")?)
        .expect(0x06, "hashAlgorithm")?
        .content;
    let hashed = imprint.expect(0x04, "hashedMessage")?.content;
    let digest: [u8; 32] = Sha256::digest(manifest).into();
    if alg != OID_SHA256 || hashed != digest {
        return Err(TimestampError::Mismatch(
            "its message imprint is not the SHA-256 of manifest.json".into(),
        ));
    }
    tst.expect(0x02, "serialNumber")?;
    let gen_time = gen_time(tst.expect(0x18, "genTime")?.content)?;
    tst.optional(0x30)?; // accuracy
    tst.optional(0x01)?; // ordering
    let nonce = tst.optional(0x02)?.map(|n| n.content);
    // The CMS signature: signed attributes carry the TSTInfo's digest and are what is signed.
    if token.digest_algorithm != OID_SHA256 {
        return Err(TimestampError::Signature(format!(
            "digest algorithm {} is not supported (SHA-256 is)",
            oid_text(token.digest_algorithm)
        )));
    }
    let tst_digest = Sha256::digest(token.tst_info);
    if message_digest_attribute(token.signed_attrs)? != tst_digest.as_slice() {
        return Err(TimestampError::Signature(
            "the signed attributes do not carry the TSTInfo's digest".into(),
        ));
    }
    let mut signed = token.signed_attrs.raw.to_vec();
    signed[0] = 0x31; // signed as a SET OF, not with its [0] IMPLICIT tag
    let (algorithm, key): (&dyn ring::signature::VerificationAlgorithm, &[u8]) =
        match (&cert.key, token.signature_algorithm) {
            (PublicKeyInfo::Rsa(k), a) if a == OID_RSA || a == OID_SHA256_RSA => {
                (&ring::signature::RSA_PKCS1_2048_8192_SHA256, k)
            }
            (PublicKeyInfo::P256(k), a) if a == OID_ECDSA_SHA256 || a == OID_EC_PUBLIC_KEY => {
                (&ring::signature::ECDSA_P256_SHA256_ASN1, k)
            }
            (_, a) => {
                return Err(TimestampError::Signature(format!(
                    "signature algorithm {} does not match the pinned certificate's key",
                    oid_text(a)
                )));
            }
        };
    ring::signature::UnparsedPublicKey::new(algorithm, key)
        .verify(&signed, token.signature)
        .map_err(|_| {
            TimestampError::Signature("it was not made by the pinned certificate's key".into())
        })?;
    // Checked after the signature, so that a reply to another request says so only once it
    // is known to come from the authority.
    if nonce != Some(nonce_for(&digest).as_slice()) {
        return Err(TimestampError::Mismatch(
            "its nonce is not the one requested for this manifest".into(),
        ));
    }
    Ok(TimestampToken {
        gen_time,
        policy,
        tsa_certificate_sha256: cert.sha256_hex(),
        tsa_subject: cert.subject.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_der_with_the_manifest_digest_and_its_nonce() {
        let req = request(b"manifest");
        let mut r = Reader::new(&req);
        let mut s = seq(r.expect(0x30, "req").unwrap());
        assert!(r.is_empty());
        assert_eq!(s.expect(0x02, "v").unwrap().content, [1]);
        let mut imprint = seq(s.expect(0x30, "imprint").unwrap());
        imprint.expect(0x30, "alg").unwrap();
        let digest: [u8; 32] = Sha256::digest(b"manifest").into();
        assert_eq!(imprint.expect(0x04, "hash").unwrap().content, digest);
        assert_eq!(s.expect(0x02, "nonce").unwrap().content, nonce_for(&digest));
        assert_eq!(s.expect(0x01, "certReq").unwrap().content, [0xff]);
        assert_eq!(oid_text(OID_SHA256), "2.16.840.1.101.3.4.2.1");
    }

    #[test]
    fn a_certificate_subject_reads_as_text() {
        let atv = |oid: &[u8], tag: u8, value: &[u8]| {
            encode(
                0x31,
                &encode(0x30, &[encode(0x06, oid), encode(tag, value)].concat()),
            )
        };
        let name = encode(
            0x30,
            &[
                atv(&[0x55, 0x04, 0x06], 0x13, b"DE"),
                atv(&[0x55, 0x04, 0x0a], 0x0c, "Zeitstempel GmbH".as_bytes()),
                atv(&[0x55, 0x04, 0x03], 0x13, b"TSA\n1"),
                atv(&[0x55, 0x04, 0x2e], 0x04, &[0xab]),
            ]
            .concat(),
        );
        let tlv = Reader::new(&name).any().unwrap();
        assert_eq!(
            distinguished_name(tlv).unwrap(),
            "C=DE, O=Zeitstempel GmbH, CN=TSA1, 2.5.4.46=#ab"
        );
        let truncated = encode(0x30, &[0x31, 0x05, 0x30]);
        assert!(distinguished_name(Reader::new(&truncated).any().unwrap()).is_err());
    }

    #[test]
    fn hostile_der_is_refused_not_panicked_on() {
        for bad in [
            &[][..],
            &[0x30],
            &[0x30, 0x85, 1, 1, 1, 1, 1],
            &[0x30, 0x05, 0x02, 0x01],
            &[0x1f, 0x00],
            &[0x30, 0x03, 0x30, 0x01, 0x02],
        ] {
            assert!(parse_reply(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            gen_time(b"20261202101112.5Z").unwrap().to_rfc3339(),
            "2026-12-02T10:11:12.500+00:00"
        );
        assert!(gen_time(b"20261202101112").is_err());
    }
}
