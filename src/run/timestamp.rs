//! Asking an RFC 3161 time-stamping authority for a token over the manifest: one HTTP POST of
//! the DER request (`application/timestamp-query`, RFC 3161 section 3.4), the reply read with a
//! size limit and a deadline, then checked against the authority's pinned certificate before
//! the pack may carry it.

use crate::pack::timestamp::{
    self, MAX_REPLY_BYTES, PinnedCertificate, TimestampError, TimestampToken,
};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Why no token could be had: the exchange failed, or its reply does not verify.
#[derive(Debug, thiserror::Error)]
pub enum StampError {
    #[error("{url} is not http://")]
    NotHttp { url: String },
    #[error("{url} did not answer within {} s", DEADLINE.as_secs())]
    Deadline { url: String },
    #[error("cannot reach {url}")]
    Connect {
        url: String,
        #[source]
        source: std::io::Error,
    },
    #[error("sending to {url}")]
    Send {
        url: String,
        #[source]
        source: std::io::Error,
    },
    #[error("reading the reply of {url}")]
    Receive {
        url: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the reply of {url} is larger than {limit} bytes")]
    TooLarge { url: String, limit: u64 },
    /// Not an HTTP reply this client reads (the judgment is this module's, not a cause's).
    #[error("the reply of {url}: {reason}")]
    Http { url: String, reason: String },
    #[error("the reply of {url} does not verify")]
    Verify {
        url: String,
        #[source]
        source: TimestampError,
    },
}

/// The whole exchange, connection included.
const DEADLINE: Duration = Duration::from_secs(30);
const MAX_HEADER_BYTES: usize = 16 * 1024;

/// Requests a token for `manifest` from the authority at `url` (`http://HOST[:PORT][/PATH]`,
/// validated with the configuration) and checks it; the reply's bytes and what it says.
pub async fn stamp(
    url: &str,
    manifest: &[u8],
    certificate: &PinnedCertificate,
) -> Result<(Vec<u8>, TimestampToken), StampError> {
    let request = timestamp::request(manifest);
    let reply = tokio::time::timeout(DEADLINE, post(url, &request))
        .await
        .map_err(|_| StampError::Deadline {
            url: url.to_string(),
        })??;
    let token =
        timestamp::verify(&reply, manifest, certificate).map_err(|source| StampError::Verify {
            url: url.to_string(),
            source,
        })?;
    Ok((reply, token))
}

async fn post(url: &str, body: &[u8]) -> Result<Vec<u8>, StampError> {
    let url_ = || url.to_string();
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| StampError::NotHttp { url: url_() })?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let address = if authority
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
    {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    let mut stream = tokio::net::TcpStream::connect(&address)
        .await
        .map_err(|source| StampError::Connect {
            url: url_(),
            source,
        })?;
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/timestamp-query\r\nAccept: application/timestamp-reply\r\nContent-Length: {}\r\nConnection: close\r\nUser-Agent: kube-evidence/{}\r\n\r\n",
        body.len(),
        env!("CARGO_PKG_VERSION")
    );
    stream
        .write_all(&[head.as_bytes(), body].concat())
        .await
        .map_err(|source| StampError::Send {
            url: url_(),
            source,
        })?;
    let mut response = Vec::new();
    let limit = (MAX_HEADER_BYTES + MAX_REPLY_BYTES) as u64;
    (&mut stream)
        .take(limit + 1)
        .read_to_end(&mut response)
        .await
        .map_err(|source| StampError::Receive {
            url: url_(),
            source,
        })?;
    if response.len() as u64 > limit {
        return Err(StampError::TooLarge { url: url_(), limit });
    }
    parse_response(&response).map_err(|reason| StampError::Http {
        url: url_(),
        reason,
    })
}

/// Status 200 and the body, by `Content-Length`, chunked, or up to the end.
fn parse_response(response: &[u8]) -> Result<Vec<u8>, String> {
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .filter(|i| *i <= MAX_HEADER_BYTES)
        .ok_or("no HTTP header")?;
    let head = std::str::from_utf8(&response[..split]).map_err(|_| "the header is not text")?;
    let body = &response[split + 4..];
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap_or_default();
    let code = status.split_whitespace().nth(1).unwrap_or_default();
    if code != "200" {
        return Err(format!(
            "HTTP status `{}`",
            status.chars().take(80).collect::<String>()
        ));
    }
    let header = |name: &str| {
        head.split("\r\n").skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    };
    if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        return dechunk(body);
    }
    match header("content-length") {
        Some(v) => {
            let n: usize = v.parse().map_err(|_| "bad Content-Length")?;
            body.get(..n)
                .map(<[u8]>::to_vec)
                .ok_or_else(|| "the body is shorter than its Content-Length".to_string())
        }
        None => Ok(body.to_vec()),
    }
}

fn dechunk(mut body: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let line_end = body
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("a chunk has no size line")?;
        let size_text = std::str::from_utf8(&body[..line_end]).map_err(|_| "bad chunk size")?;
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| "bad chunk size")?;
        body = &body[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        let chunk = body.get(..size).ok_or("a chunk is cut short")?;
        out.extend_from_slice(chunk);
        body = body.get(size + 2..).ok_or("a chunk is cut short")?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_are_read_by_length_chunks_or_to_the_end() {
        let r = b"HTTP/1.1 200 OK\r\nContent-Type: application/timestamp-reply\r\nContent-Length: 3\r\n\r\nabcdef";
        assert_eq!(parse_response(r).unwrap(), b"abc");
        let r = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n1;x\r\nc\r\n0\r\n\r\n";
        assert_eq!(parse_response(r).unwrap(), b"abc");
        let r = b"HTTP/1.0 200 OK\r\n\r\nxyz";
        assert_eq!(parse_response(r).unwrap(), b"xyz");
        assert!(
            parse_response(b"HTTP/1.1 500 Oops\r\n\r\n")
                .unwrap_err()
                .contains("500")
        );
        assert!(parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nab").is_err());
        assert!(
            parse_response(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n").is_err()
        );
        assert!(parse_response(b"garbage").is_err());
    }
}
