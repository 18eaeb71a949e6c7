//! A local RFC 3161 time-stamping authority for the tests: OpenSSL's `ts -reply` behind a small
//! HTTP handler on 127.0.0.1, with its own EC P-256 certificate (extended key usage
//! timeStamping), as a real authority answers.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

pub struct LocalTsa {
    pub url: String,
    pub cert: PathBuf,
    pub dir: tempfile::TempDir,
}

fn openssl(args: &[&str], cwd: &Path) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A self-signed time-stamping certificate and key in `dir` (`NAME.crt`, `NAME.key`).
pub fn certificate(dir: &Path, name: &str) -> PathBuf {
    openssl(
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.crt"),
            "-days",
            "3650",
            "-subj",
            &format!("/CN={name}"),
            "-addext",
            "extendedKeyUsage=critical,timeStamping",
            "-addext",
            "keyUsage=critical,digitalSignature",
        ],
        dir,
    );
    dir.join(format!("{name}.crt"))
}

impl LocalTsa {
    pub fn start() -> LocalTsa {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_path_buf();
        let cert = certificate(&d, "tsa");
        std::fs::write(d.join("serial"), "01\n").unwrap();
        std::fs::write(
            d.join("tsa.cnf"),
            "[ tsa ]\ndefault_tsa = tsa1\n[ tsa1 ]\ndir = .\nserial = ./serial\nsigner_cert = ./tsa.crt\nsigner_key = ./tsa.key\nsigner_digest = sha256\ndefault_policy = 1.3.6.1.4.1.55555.1\ndigests = sha256\naccuracy = secs:1\ness_cert_id_alg = sha256\ncerts = ./tsa.crt\n",
        )
        .unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/tsa", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            for (n, conn) in listener.incoming().enumerate() {
                let Ok(mut conn) = conn else { continue };
                let _ = answer(&mut conn, &d, n);
            }
        });
        LocalTsa { url, cert, dir }
    }
}

/// One request: the DER query to a file, `openssl ts -reply`, the reply back.
fn answer(conn: &mut std::net::TcpStream, dir: &Path, n: usize) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let (head_end, length) = loop {
        let got = conn.read(&mut chunk)?;
        if got == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..got]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..i]).to_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map(|v| v.trim().parse().unwrap())
                .unwrap_or(0);
            break (i + 4, length);
        }
    };
    while buf.len() < head_end + length {
        let got = conn.read(&mut chunk)?;
        if got == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..got]);
    }
    let query = dir.join(format!("q{n}.tsq"));
    let reply = dir.join(format!("r{n}.tsr"));
    std::fs::write(&query, &buf[head_end..head_end + length])?;
    let out = Command::new("openssl")
        .args(["ts", "-reply", "-config", "tsa.cnf", "-queryfile"])
        .arg(&query)
        .arg("-out")
        .arg(&reply)
        .current_dir(dir)
        .output()?;
    let (status, body) = if out.status.success() {
        ("200 OK", std::fs::read(&reply)?)
    } else {
        ("500 Internal Server Error", out.stderr)
    };
    write!(
        conn,
        "HTTP/1.1 {status}\r\nContent-Type: application/timestamp-reply\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    conn.write_all(&body)
}
