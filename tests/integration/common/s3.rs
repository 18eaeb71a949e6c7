//! The real S3-compatible server for the store tests: the shared SeaweedFS that tests/run.sh
//! starts (endpoint, bucket and keys in KUBE_EVIDENCE_TEST_S3_* variables), private servers a test
//! can kill and restart, a TCP relay that stops the server at a chosen moment, and an SDK client
//! with the test keys for looking at what was stored.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct S3Env {
    pub endpoint: String,
    pub bucket: String,
    pub access_key: String,
    pub secret_key: String,
}

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run the S3 tests through tests/run.sh, which starts the server")
    })
}

/// The server tests/run.sh started.
pub fn shared() -> S3Env {
    S3Env {
        endpoint: var("KUBE_EVIDENCE_TEST_S3_ENDPOINT"),
        bucket: var("KUBE_EVIDENCE_TEST_S3_BUCKET"),
        access_key: var("AWS_ACCESS_KEY_ID"),
        secret_key: var("AWS_SECRET_ACCESS_KEY"),
    }
}

/// A prefix no other test (or earlier run against the same server) uses.
pub fn unique_prefix(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{name}-{}-{nanos}", std::process::id())
}

/// The environment the binary needs to reach `env`'s server.
pub fn cli_env(env: &S3Env) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ACCESS_KEY_ID", env.access_key.clone()),
        ("AWS_SECRET_ACCESS_KEY", env.secret_key.clone()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
    ]
}

/// An SDK client with the test keys, for inspecting the bucket directly.
pub fn client(env: &S3Env) -> aws_sdk_s3::Client {
    let creds = aws_sdk_s3::config::Credentials::new(
        &env.access_key,
        &env.secret_key,
        None,
        None,
        "kube-evidence-tests",
    );
    let conf = aws_sdk_s3::config::Builder::new()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .credentials_provider(creds)
        .endpoint_url(&env.endpoint)
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

/// Every key under `prefix` in `env`'s bucket.
pub async fn keys(env: &S3Env, prefix: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut pages = client(env)
        .list_objects_v2()
        .bucket(&env.bucket)
        .prefix(prefix)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        for o in page.unwrap().contents() {
            out.push(o.key().unwrap().to_string());
        }
    }
    out.sort();
    out
}

pub async fn get(env: &S3Env, key: &str) -> Option<Vec<u8>> {
    match client(env)
        .get_object()
        .bucket(&env.bucket)
        .key(key)
        .send()
        .await
    {
        Ok(o) => Some(o.body.collect().await.unwrap().into_bytes().to_vec()),
        Err(_) => None,
    }
}

/// The object at `key` from a server that was just restarted. The server answers requests before
/// its volume server has reported its volumes to the master again, and until then a read of an
/// object that is there fails; so this retries for up to 60 s and then names the last error.
pub async fn get_after_restart(env: &S3Env, key: &str) -> Vec<u8> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let error = match client(env)
            .get_object()
            .bucket(&env.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(o) => return o.body.collect().await.unwrap().into_bytes().to_vec(),
            Err(e) => aws_sdk_s3::error::DisplayErrorContext(e).to_string(),
        };
        if Instant::now() > deadline {
            panic!("{key} could not be read from the restarted server within 60 s: {error}");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn port_free(port: u16) -> bool {
    TcpListener::bind(("127.0.0.1", port)).is_ok()
}

/// A base port with the ports weed.sh uses (base..base+10, admin gRPC at base+10008) free.
pub fn free_port_base() -> u16 {
    let seed = (std::process::id() as u64)
        ^ std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos() as u64;
    for attempt in 0..200u64 {
        let base =
            20_000 + ((seed.wrapping_mul(2654435761).wrapping_add(attempt * 97)) % 500) as u16 * 20;
        if (0..=10).all(|i| port_free(base + i)) && port_free(base + 10_008) {
            return base;
        }
    }
    panic!("no free port range for a test S3 server")
}

pub fn weed_binary() -> PathBuf {
    PathBuf::from(var("KUBE_EVIDENCE_TEST_WEED"))
}

/// Waits until a signed request to the bucket answers, or panics with the server's log.
pub fn wait_ready(env: &S3Env, log: &Path) {
    let deadline = Instant::now() + Duration::from_secs(90);
    while Instant::now() < deadline {
        let ok = Command::new("curl")
            .args([
                "-fsS",
                "-o",
                "/dev/null",
                "--max-time",
                "2",
                "--aws-sigv4",
                "aws:amz:us-east-1:s3",
                "--user",
                &format!("{}:{}", env.access_key, env.secret_key),
                &format!("{}/{}?list-type=2&max-keys=1", env.endpoint, env.bucket),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if ok {
            return;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    let tail = std::fs::read_to_string(log).unwrap_or_default();
    let tail: String = tail.lines().rev().take(30).collect::<Vec<_>>().join("\n");
    panic!(
        "the test S3 server did not answer a signed request within 90 s; log (last lines, newest first):\n{tail}"
    );
}

/// A SeaweedFS server of the test's own, which it may stop and start again on the same data.
pub struct PrivateServer {
    child: Option<Child>,
    pub dir: tempfile::TempDir,
    pub base: u16,
    pub env: S3Env,
}

/// A directory for a server's data, under `KUBE_EVIDENCE_TEST_S3_DATA_ROOT` when tests/run.sh set
/// it (RAM-backed when it can be: SeaweedFS turns read-only on a nearly full disk).
fn data_dir() -> tempfile::TempDir {
    match std::env::var_os("KUBE_EVIDENCE_TEST_S3_DATA_ROOT") {
        Some(root) => tempfile::tempdir_in(root).unwrap(),
        None => tempfile::tempdir().unwrap(),
    }
}

impl PrivateServer {
    pub fn start(bucket: &str) -> PrivateServer {
        let base = free_port_base();
        let mut s = PrivateServer {
            child: None,
            dir: data_dir(),
            base,
            env: S3Env {
                endpoint: format!("http://127.0.0.1:{base}"),
                bucket: bucket.to_string(),
                access_key: "privateaccess".into(),
                secret_key: "privatesecret0123456789".into(),
            },
        };
        s.launch();
        s
    }

    fn launch(&mut self) {
        let log = self.dir.path().join("weed.out");
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap();
        let child = Command::new("bash")
            .arg(super::repo().join("tests/s3/weed.sh"))
            .arg(weed_binary())
            .arg(self.dir.path().join("server"))
            .arg(self.base.to_string())
            .arg(&self.env.bucket)
            .arg(&self.env.access_key)
            .arg(&self.env.secret_key)
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .expect("weed.sh starts");
        self.child = Some(child);
        wait_ready(&self.env, &log);
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("the server is running").id()
    }

    /// SIGKILL: the server dies as in a crash, mid-request.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn restart(&mut self) {
        self.kill();
        // The ports are released with the process; wait until they are.
        let deadline = Instant::now() + Duration::from_secs(30);
        while !(port_free(self.base) && port_free(self.base + 2)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(200));
        }
        self.launch();
    }
}

impl Drop for PrivateServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A TCP relay in front of a server that counts the PUT requests whose path contains `marker`
/// and, when request number `after + 1` begins, runs `trip` (which stops the server) before
/// forwarding a byte of it. Exactly `after` such objects are then stored.
pub struct TrippingRelay {
    pub endpoint: String,
    pub tripped: Arc<AtomicBool>,
}

impl TrippingRelay {
    pub fn start(
        upstream_port: u16,
        marker: &'static str,
        after: usize,
        trip: Box<dyn FnMut() + Send>,
    ) -> TrippingRelay {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let tripped = Arc::new(AtomicBool::new(false));
        let count = Arc::new(AtomicUsize::new(0));
        let trip = Arc::new(Mutex::new(trip));
        let flag = tripped.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(client) = conn else { continue };
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream_port)) else {
                    drop(client);
                    continue;
                };
                let (count, trip, flag) = (count.clone(), trip.clone(), flag.clone());
                let (mut c_read, mut s_write) =
                    (client.try_clone().unwrap(), server.try_clone().unwrap());
                let (mut s_read, mut c_write) = (server, client);
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut s_read, &mut c_write);
                    let _ = c_write.shutdown(std::net::Shutdown::Both);
                });
                std::thread::spawn(move || {
                    let mut buf = vec![0u8; 64 * 1024];
                    let mut tail: Vec<u8> = Vec::new();
                    loop {
                        let n = match c_read.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        if !flag.load(Ordering::SeqCst) {
                            let mut window = tail.clone();
                            window.extend_from_slice(&buf[..n]);
                            let seen = complete_put_lines(&window, tail.len(), marker);
                            for _ in 0..seen {
                                if count.fetch_add(1, Ordering::SeqCst) >= after
                                    && !flag.swap(true, Ordering::SeqCst)
                                {
                                    (trip.lock().unwrap())();
                                }
                            }
                            let keep = window.len().saturating_sub(1024);
                            tail = window[keep..].to_vec();
                            if flag.load(Ordering::SeqCst) && seen > 0 {
                                let _ = s_write.shutdown(std::net::Shutdown::Both);
                                break;
                            }
                        }
                        if s_write.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                    let _ = s_write.shutdown(std::net::Shutdown::Write);
                });
            }
        });
        TrippingRelay {
            endpoint: format!("http://127.0.0.1:{port}"),
            tripped,
        }
    }
}

/// How many request lines `PUT <path containing marker> ...` end in `window` at or after `from`.
fn complete_put_lines(window: &[u8], from: usize, marker: &str) -> usize {
    let mut n = 0;
    let mut i = 0;
    while let Some(pos) = find(&window[i..], b"PUT /") {
        let start = i + pos;
        let Some(end) = find(&window[start..], b"\r\n").map(|e| start + e) else {
            break;
        };
        let line = &window[start..end];
        if end >= from
            && find(line, marker.as_bytes()).is_some()
            && find(line, b" HTTP/1.1").is_some()
        {
            n += 1;
        }
        i = end;
    }
    n
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
