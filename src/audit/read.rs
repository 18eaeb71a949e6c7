//! Reading an audit log in one streaming pass: a file, or a directory of rotated files, each
//! gzip-compressed or not. Memory follows what is kept (the usage record, the minutes seen, a
//! bounded window of recent event ids), never the size of the log. Malformed lines are counted
//! and the first ones named by file:line; they fail the read only above a share of the lines.
//! What the log covers is recorded as evidence too: first and last event, gaps, levels and
//! stages, events that are not `ResponseComplete`.

use super::event::Event;
use super::resume::{History, PartRead, Start, Tracking, read_head, resume_point};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashSet, VecDeque};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

/// A line longer than this is not an audit event this tool can use (the API server writes one
/// event per line, a few KiB at `Metadata` level).
pub const MAX_LINE: usize = 1024 * 1024;
/// How many malformed lines are named one by one; the rest are counted.
pub const MALFORMED_SHOWN: usize = 20;
/// Gaps in the log longer than this are reported.
pub const GAP_MINUTES: i64 = 60;
/// How far after the run's own time an event may be dated and still be used: API servers and
/// the run keep time by NTP, within seconds of each other; beyond this the clocks disagree.
pub const CLOCK_SKEW_ALLOWANCE_SECONDS: i64 = 300;
/// How many files or objects with events dated after the run are named one by one.
pub const CLOCK_DISAGREEMENTS_SHOWN: usize = 20;

#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// Above this share of malformed lines (0..=1), the log is refused as a whole.
    pub max_malformed_share: f64,
    /// How many recent `(auditID, stage)` pairs are remembered to drop duplicates (rotation
    /// overlaps and re-sent batches repeat events close together).
    pub dedup_window: usize,
    /// The times an event may be dated to be used; `None` uses every event (reading a log
    /// outside a run).
    pub accept: Option<TimeBounds>,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            max_malformed_share: 0.01,
            dedup_window: 1 << 18,
            accept: None,
        }
    }
}

/// The times a run uses events from: the start of its usage window to its own time plus a
/// clock-skew allowance. An event outside is counted and reported, never used: one event dated
/// 2099 would otherwise mark a grant "used" for years, and a log from before the window says
/// nothing about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TimeBounds {
    pub from: DateTime<Utc>,
    /// The run's time.
    pub run_at: DateTime<Utc>,
    pub clock_skew_allowance_seconds: i64,
}

impl TimeBounds {
    pub fn new(from: DateTime<Utc>, run_at: DateTime<Utc>) -> TimeBounds {
        TimeBounds {
            from,
            run_at,
            clock_skew_allowance_seconds: CLOCK_SKEW_ALLOWANCE_SECONDS,
        }
    }

    /// The latest time an event may be dated.
    pub fn until(&self) -> DateTime<Utc> {
        self.run_at + Duration::seconds(self.clock_skew_allowance_seconds)
    }
}

/// A file or object of the log with events dated after the run: its clock (or its API
/// server's) disagrees with the run's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClockDisagreement {
    pub part: String,
    pub events: u64,
    pub latest: DateTime<Utc>,
}

/// One file or object of the log, as read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogPart {
    pub name: String,
    pub bytes: u64,
    pub sha256: String,
}

/// Counts and hashes what passes through it.
struct Hashing<R> {
    inner: R,
    hasher: sha2::Sha256,
    bytes: u64,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        use sha2::Digest;
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// What the log covers, stated next to every conclusion drawn from it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Coverage {
    pub files: Vec<String>,
    /// Each file or object as read (its bytes before decompression): what an auditor compares
    /// with the log's archive, since nothing in an audit log is signed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<LogPart>,
    pub lines: u64,
    pub events: u64,
    pub duplicates: u64,
    pub malformed: u64,
    /// The first malformed lines, as `file:line: problem`.
    pub malformed_examples: Vec<String>,
    pub first_event: Option<DateTime<Utc>>,
    pub last_event: Option<DateTime<Utc>>,
    /// Stretches longer than an hour with no event, between the first and the last.
    pub gaps: Vec<Gap>,
    pub levels: BTreeMap<String, u64>,
    pub stages: BTreeMap<String, u64>,
    /// Events of a stage other than `ResponseComplete` and `Panic`: `RequestReceived`, and the
    /// `ResponseStarted` of long-running requests (watches, exec, proxy). Counted here, not as
    /// requests: a request counts once, at its outcome.
    pub not_response_complete: u64,
    /// Requests counted: events at `ResponseComplete` or `Panic`, one per request whatever
    /// stages the policy records.
    #[serde(default)]
    pub requests: u64,
    /// Long-running requests started in this log (`ResponseStarted`) with no outcome in it yet
    /// (a watch open when the log was cut): counted the night they complete.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub open_at_end: u64,
    /// The times events were used from (absent when every event was used).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted: Option<TimeBounds>,
    /// Events dated before the window: counted here, not used, not in `events`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub before_window: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub earliest_before_window: Option<DateTime<Utc>>,
    /// Events dated after the run beyond the allowance: counted here, never used.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub after_run: u64,
    /// The files or objects those came from (the first [`CLOCK_DISAGREEMENTS_SHOWN`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clock_disagreements: Vec<ClockDisagreement>,
    /// Events whose user (or impersonated user) has no name: an anomaly of the log (the API
    /// server names every requester, `system:anonymous` included), counted and not used, never
    /// a subject called "".
    #[serde(default, skip_serializing_if = "is_zero")]
    pub without_user: u64,
    /// Parts an earlier run of the chain had read (a rotated file, the active file grown since),
    /// and the decompressed bytes of them skipped as already counted (see `audit::resume`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub resumed_parts: u64,
    /// Last lines of parts being written when the log was read (no line end, not yet a whole
    /// event): not malformed, read whole by the next run.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub unfinished_last_lines: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub resumed_bytes: u64,
    /// Parts whose first bytes were read before but whose content since differs: read whole
    /// (their events may be counted twice).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rewritten_parts: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Gap {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("cannot read the audit log {path}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the audit log {path} is a symbolic link or not a regular file; give the file or directory itself"
    )]
    NotAFile { path: String },
    #[error(
        "{path} decompresses to more than {limit} bytes (a gzip bomb?); decompress it yourself if it is real"
    )]
    TooLarge { path: String, limit: u64 },
    #[error("cannot read the audit log at {location}")]
    Store {
        location: String,
        #[source]
        source: crate::store::StoreError,
    },
    #[error(
        "{malformed} of {lines} lines of the audit log are not audit.k8s.io/v1 events (more than {share:.1}%), so it is not used:\n{examples}"
    )]
    TooManyMalformed {
        malformed: u64,
        lines: u64,
        share: f64,
        examples: String,
    },
}

/// The files of an audit log: the file itself, or every regular, non-hidden file of a
/// directory in name order (symbolic links are refused, as in dumps).
pub fn files_of(path: &Path) -> Result<Vec<PathBuf>, AuditError> {
    let meta = std::fs::symlink_metadata(path).map_err(|source| AuditError::Read {
        path: path.display().to_string(),
        source,
    })?;
    if meta.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    if !meta.is_dir() {
        return Err(AuditError::NotAFile {
            path: path.display().to_string(),
        });
    }
    let entries = std::fs::read_dir(path).map_err(|source| AuditError::Read {
        path: path.display().to_string(),
        source,
    })?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| AuditError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let p = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let m = std::fs::symlink_metadata(&p).map_err(|source| AuditError::Read {
            path: p.display().to_string(),
            source,
        })?;
        if !m.is_file() {
            return Err(AuditError::NotAFile {
                path: p.display().to_string(),
            });
        }
        files.push(p);
    }
    files.sort();
    Ok(files)
}

/// Reads every event of `files` once, in one pass, handing each new event to `on_event`.
pub fn read_events(
    files: &[PathBuf],
    options: &ReadOptions,
    mut on_event: impl FnMut(&Event),
) -> Result<Coverage, AuditError> {
    let mut pass = LogPass::new(options);
    for file in files {
        pass.read_file(file, &mut on_event)?;
    }
    pass.finish()
}

/// One pass over the parts of a log (files, or objects of a bucket fetched one at a time): what
/// it keeps between lines and parts, so duplicates across parts count once and coverage is the
/// whole log's.
pub struct LogPass {
    state: PassState,
    options: ReadOptions,
}

impl LogPass {
    pub fn new(options: &ReadOptions) -> Self {
        LogPass::resuming(options, History::default())
    }

    /// A pass that skips what earlier runs read of each part (`audit::resume`).
    pub fn resuming(options: &ReadOptions, history: History) -> Self {
        let mut state = PassState::new(options.dedup_window);
        state.coverage.accepted = options.accept;
        state.history = history;
        LogPass {
            state,
            options: options.clone(),
        }
    }

    /// What this pass read of each part, for the next run to resume after.
    pub fn parts_read(&self) -> &[PartRead] {
        &self.state.parts_read
    }

    /// Reads one file of the log.
    pub fn read_file(
        &mut self,
        path: &Path,
        on_event: &mut impl FnMut(&Event),
    ) -> Result<(), AuditError> {
        read_file(path, &mut self.state, on_event)
    }

    /// Reads one part of the log held in memory (an object), named `name` in messages.
    pub fn read_bytes(
        &mut self,
        name: &str,
        bytes: &[u8],
        on_event: &mut impl FnMut(&Event),
    ) -> Result<(), AuditError> {
        let gzip = bytes.starts_with(&[0x1f, 0x8b]);
        let size = bytes.len() as u64;
        if !read_stream(name, bytes, gzip, size, &mut self.state, on_event, true)? {
            read_stream(name, bytes, gzip, size, &mut self.state, on_event, false)?;
        }
        Ok(())
    }

    /// The coverage of everything read, or the refusal of a log with too many bad lines.
    pub fn finish(self) -> Result<Coverage, AuditError> {
        self.state.finish(&self.options)
    }
}

/// What one pass keeps between lines and files.
struct PassState {
    coverage: Coverage,
    minutes: BTreeSet<i64>,
    recent: HashSet<(String, String)>,
    recent_order: VecDeque<(String, String)>,
    window: usize,
    /// Requests seen at `ResponseStarted` and not yet at their outcome (at most `window`; the
    /// rest counted in `open_untracked`).
    open: HashSet<String>,
    open_untracked: u64,
    history: History,
    parts_read: Vec<PartRead>,
    /// The latest event counted from the part being read.
    part_last_event: Option<DateTime<Utc>>,
}

impl PassState {
    fn new(window: usize) -> Self {
        PassState {
            coverage: Coverage::default(),
            minutes: BTreeSet::new(),
            recent: HashSet::new(),
            recent_order: VecDeque::new(),
            window: window.max(1),
            open: HashSet::new(),
            open_untracked: 0,
            history: History::default(),
            parts_read: Vec::new(),
            part_last_event: None,
        }
    }

    /// Counts a malformed line and names the first ones as `file:line:column: problem`.
    fn malformed(&mut self, file: &str, line: u64, column: usize, problem: impl std::fmt::Display) {
        self.coverage.malformed += 1;
        if self.coverage.malformed_examples.len() < MALFORMED_SHOWN {
            self.coverage
                .malformed_examples
                .push(format!("{file}:{line}:{column}: {problem}"));
        }
    }

    /// True when the event's time may be used; otherwise it is tallied as before the window or
    /// after the run (with the part it came from).
    fn in_bounds(&mut self, part: &str, e: &Event) -> bool {
        let Some(bounds) = self.coverage.accepted else {
            return true;
        };
        let t = e.at();
        let c = &mut self.coverage;
        if t < bounds.from {
            c.before_window += 1;
            c.earliest_before_window = Some(c.earliest_before_window.map_or(t, |e| e.min(t)));
            return false;
        }
        if t > bounds.until() {
            c.after_run += 1;
            let shown = c.clock_disagreements.len();
            match c.clock_disagreements.iter_mut().find(|d| d.part == part) {
                Some(d) => {
                    d.events += 1;
                    d.latest = d.latest.max(t);
                }
                None if shown < CLOCK_DISAGREEMENTS_SHOWN => {
                    c.clock_disagreements.push(ClockDisagreement {
                        part: part.to_string(),
                        events: 1,
                        latest: t,
                    });
                }
                None => {}
            }
            return false;
        }
        true
    }

    /// True for an event not seen within the window.
    fn first_sighting(&mut self, e: &Event) -> bool {
        let key = (e.audit_id.clone(), e.stage.clone());
        if self.recent.contains(&key) {
            return false;
        }
        if self.recent_order.len() == self.window
            && let Some(old) = self.recent_order.pop_front()
        {
            self.recent.remove(&old);
        }
        self.recent.insert(key.clone());
        self.recent_order.push_back(key);
        true
    }

    fn count(&mut self, e: &Event) {
        let c = &mut self.coverage;
        c.events += 1;
        let t = e.at();
        c.first_event = Some(c.first_event.map_or(t, |f| f.min(t)));
        c.last_event = Some(c.last_event.map_or(t, |l| l.max(t)));
        *c.levels
            .entry(e.level.clone().unwrap_or_else(|| "unknown".into()))
            .or_default() += 1;
        *c.stages.entry(e.stage.clone()).or_default() += 1;
        if is_outcome(e) {
            c.requests += 1;
            self.open.remove(&e.audit_id);
        } else {
            c.not_response_complete += 1;
            if e.stage == "ResponseStarted" {
                if self.open.len() < self.window {
                    self.open.insert(e.audit_id.clone());
                } else {
                    self.open_untracked += 1;
                }
            }
        }
        self.minutes.insert(t.timestamp().div_euclid(60));
    }

    fn finish(mut self, options: &ReadOptions) -> Result<Coverage, AuditError> {
        let c = &mut self.coverage;
        if c.lines > 0 && (c.malformed as f64) > options.max_malformed_share * c.lines as f64 {
            return Err(AuditError::TooManyMalformed {
                malformed: c.malformed,
                lines: c.lines,
                share: options.max_malformed_share * 100.0,
                examples: c.malformed_examples.join("\n"),
            });
        }
        c.gaps = gaps(&self.minutes);
        c.open_at_end = self.open.len() as u64 + self.open_untracked;
        Ok(self.coverage)
    }
}

/// Whether the event is a request's outcome (`ResponseComplete`, or `Panic` when the handler
/// failed): the one stage every request reaches once.
fn is_outcome(e: &Event) -> bool {
    e.stage == "ResponseComplete" || e.stage == "Panic"
}

/// Stretches of more than [`GAP_MINUTES`] between minutes that saw an event.
fn gaps(minutes: &BTreeSet<i64>) -> Vec<Gap> {
    let at = |m: i64| DateTime::from_timestamp(m * 60, 0).unwrap_or_default();
    minutes
        .iter()
        .zip(minutes.iter().skip(1))
        .filter(|(a, b)| *b - *a > GAP_MINUTES)
        .map(|(a, b)| Gap {
            from: at(a + 1),
            to: at(*b),
        })
        .collect()
}

/// A reader that fails once more than `limit` bytes came through (a gzip bomb).
struct Bounded<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.left = self.left.checked_sub(n as u64).ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::FileTooLarge, "decompressed too far")
        })?;
        Ok(n)
    }
}

fn read_file(
    path: &Path,
    state: &mut PassState,
    on_event: &mut impl FnMut(&Event),
) -> Result<(), AuditError> {
    let shown = path.display().to_string();
    let io_error = |source| AuditError::Read {
        path: shown.clone(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(io_error)?;
    let size = file.metadata().map_err(io_error)?.len();
    let mut magic = [0u8; 2];
    let gzip = file.read(&mut magic).map_err(io_error)? == 2 && magic == [0x1f, 0x8b];
    let file = std::fs::File::open(path).map_err(io_error)?;
    if !read_stream(&shown, file, gzip, size, state, on_event, true)? {
        let file = std::fs::File::open(path).map_err(io_error)?;
        read_stream(&shown, file, gzip, size, state, on_event, false)?;
    }
    Ok(())
}

/// Reads the events of `bytes` as if they were the file `name` (for tests and fuzzing: the same
/// decoding, limits and checks as a file).
pub fn read_events_from(
    name: &str,
    bytes: &[u8],
    options: &ReadOptions,
    mut on_event: impl FnMut(&Event),
) -> Result<Coverage, AuditError> {
    let mut pass = LogPass::new(options);
    pass.read_bytes(name, bytes, &mut on_event)?;
    pass.finish()
}

/// One file's lines: decompressed (bounded) when `gzip`, each line bounded, parsed, checked,
/// deduplicated and counted, after what an earlier run read of it when `resume` (false when that
/// prefix differs: the caller reads the part again from its start, with `resume` false).
fn read_stream<R: Read>(
    shown: &str,
    raw: R,
    gzip: bool,
    size: u64,
    state: &mut PassState,
    on_event: &mut impl FnMut(&Event),
    resume: bool,
) -> Result<bool, AuditError> {
    let limit = crate::snapshot::decompressed_limit(size as usize);
    let read_error = |source| read_failure(shown, limit, source);
    let mut hashed = Hashing {
        inner: raw,
        hasher: sha2::Sha256::default(),
        bytes: 0,
    };
    let reader: Box<dyn Read + '_> = if gzip {
        Box::new(Bounded {
            inner: flate2::read::MultiGzDecoder::new(&mut hashed),
            left: limit,
        })
    } else {
        Box::new(&mut hashed)
    };
    let mut tracked = Tracking::new(reader);
    let head = read_head(&mut tracked).map_err(read_error)?;
    let (start, leftover) = if resume {
        resume_point(&state.history, &head, &mut tracked).map_err(read_error)?
    } else {
        (Start::Beginning, head.clone())
    };
    let first_line = match start {
        Start::Rewritten => return Ok(false),
        Start::Beginning if !resume && state.history.matching(&head).is_some() => {
            state.coverage.rewritten_parts.push(shown.to_string());
            0
        }
        Start::Beginning => 0,
        Start::After { bytes, lines } => {
            state.coverage.resumed_parts += 1;
            state.coverage.resumed_bytes += bytes;
            lines
        }
    };
    let earlier_last_event = match start {
        Start::After { .. } => state.history.matching(&head).and_then(|p| p.last_event),
        _ => None,
    };
    state.coverage.files.push(shown.to_string());
    state.part_last_event = None;
    let mut lines = BufReader::with_capacity(
        256 * 1024,
        std::io::Cursor::new(leftover).chain(&mut tracked),
    );
    read_lines(shown, &mut lines, first_line, limit, state, on_event)?;
    drop(lines);
    remember_part(shown, &head, &tracked, earlier_last_event, state);
    drop(tracked);
    // Whatever follows the last gzip member is read too, so the digest is the whole part's.
    std::io::copy(&mut hashed, &mut std::io::sink()).map_err(read_error)?;
    use sha2::Digest;
    state.coverage.parts.push(LogPart {
        name: shown.to_string(),
        bytes: hashed.bytes,
        sha256: hex::encode(hashed.hasher.finalize()),
    });
    Ok(true)
}

/// A failed read of a part: past the decompression limit (a gzip bomb), or the I/O error.
fn read_failure(shown: &str, limit: u64, source: std::io::Error) -> AuditError {
    if source.kind() == std::io::ErrorKind::FileTooLarge {
        AuditError::TooLarge {
            path: shown.to_string(),
            limit,
        }
    } else {
        AuditError::Read {
            path: shown.to_string(),
            source,
        }
    }
}

/// What was read of a part, up to its last whole line, for the next run to resume after.
fn remember_part<R: Read>(
    shown: &str,
    head: &[u8],
    tracked: &Tracking<R>,
    earlier_last_event: Option<DateTime<Utc>>,
    state: &mut PassState,
) {
    use sha2::Digest;
    let (read, sha256) = tracked.committed();
    if read == 0 {
        return;
    }
    let head_len = (head.len() as u64).min(read);
    state.parts_read.push(PartRead {
        head: hex::encode(sha2::Sha256::digest(&head[..head_len as usize])),
        head_len,
        read,
        sha256,
        name: shown.to_string(),
        last_event: state.part_last_event.max(earlier_last_event),
    });
}

/// The lines of one part, each bounded, parsed, checked, deduplicated and counted.
fn read_lines(
    shown: &str,
    lines: &mut impl BufRead,
    first_line: u64,
    limit: u64,
    state: &mut PassState,
    on_event: &mut impl FnMut(&Event),
) -> Result<(), AuditError> {
    let mut buf = Vec::new();
    let mut number = first_line;
    loop {
        buf.clear();
        let n = read_line(lines, &mut buf).map_err(|source| read_failure(shown, limit, source))?;
        let Some((len, ended)) = n else { break };
        number += 1;
        if buf.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        state.coverage.lines += 1;
        if len > MAX_LINE {
            state.malformed(shown, number, 1, format!("a line of {len} bytes"));
            continue;
        }
        match serde_json::from_slice::<Event>(&buf) {
            Ok(e) => match e.check() {
                Ok(()) => {
                    // The part is remembered by its latest event, counted or not (a part of
                    // duplicates only is still read, and must not be read again); never by one
                    // dated after the run, which would keep it forever.
                    let t = e.at();
                    if state.coverage.accepted.is_none_or(|b| t <= b.until()) {
                        state.part_last_event = Some(state.part_last_event.map_or(t, |l| l.max(t)));
                    }
                    if !state.first_sighting(&e) {
                        state.coverage.duplicates += 1;
                    } else if e.nameless() {
                        state.coverage.without_user += 1;
                    } else if state.in_bounds(shown, &e) {
                        state.count(&e);
                        // A request is used once, at its outcome: the API server writes a
                        // watch, exec or proxy request at ResponseStarted and again at
                        // ResponseComplete, and RequestReceived before it is authorised.
                        if is_outcome(&e) {
                            on_event(&e);
                        }
                    }
                }
                Err(problem) => state.malformed(shown, number, 1, problem),
            },
            Err(_) if !ended => {
                // The part's last line, without its line end and not a whole event: a line
                // being written when the log was read. Not malformed; the part is remembered up
                // to the line before it, so the next run reads it whole.
                state.coverage.lines -= 1;
                state.coverage.unfinished_last_lines += 1;
            }
            Err(e) => {
                // serde_json says "… at line 1 column N": the line is the file's, said above.
                let text = e.to_string();
                let problem = text
                    .rsplit_once(" at line ")
                    .map_or(text.as_str(), |(p, _)| p);
                state.malformed(
                    shown,
                    number,
                    e.column().max(1),
                    crate::diag::shorten(problem, 200),
                )
            }
        }
    }
    Ok(())
}

/// One line into `buf` (at most [`MAX_LINE`] + 1 bytes kept; the rest of a longer line is read
/// and dropped); its full length, or `None` at the end.
fn read_line(r: &mut impl BufRead, buf: &mut Vec<u8>) -> std::io::Result<Option<(usize, bool)>> {
    let mut total = 0usize;
    loop {
        let chunk = r.fill_buf()?;
        if chunk.is_empty() {
            return Ok((total > 0).then_some((total, false)));
        }
        let (take, done) = match chunk.iter().position(|b| *b == b'\n') {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        let room = (MAX_LINE + 1).saturating_sub(buf.len());
        buf.extend_from_slice(&chunk[..take.min(room)]);
        total += take;
        r.consume(take);
        if done {
            if buf.last() == Some(&b'\n') {
                buf.pop();
            }
            return Ok(Some((total - 1, true)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn event_line(id: &str, stage: &str, at: &str) -> String {
        format!(
            r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"{id}","stage":"{stage}","verb":"list","user":{{"username":"system:serviceaccount:monitoring:agent"}},"sourceIPs":["10.0.0.7"],"objectRef":{{"resource":"pods"}},"requestReceivedTimestamp":"{at}","stageTimestamp":"{at}","annotations":{{"authorization.k8s.io/decision":"allow"}}}}"#
        )
    }

    fn read(dir: &Path, options: &ReadOptions) -> Result<(Coverage, Vec<String>), AuditError> {
        let mut ids = Vec::new();
        let c = read_events(&files_of(dir)?, options, |e| ids.push(e.audit_id.clone()))?;
        Ok((c, ids))
    }

    #[test]
    fn a_last_line_being_written_is_not_malformed_and_is_read_next_time() {
        let dir = tempfile::tempdir().unwrap();
        let whole = [
            event_line("a", "ResponseComplete", "2026-12-01T10:00:00Z"),
            event_line("b", "ResponseComplete", "2026-12-01T10:01:00Z"),
        ]
        .join("\n");
        let third = event_line("c", "ResponseComplete", "2026-12-01T10:02:00Z");
        std::fs::write(
            dir.path().join("audit.log"),
            format!("{whole}\n{}", &third[..60]),
        )
        .unwrap();
        let mut pass = LogPass::new(&ReadOptions::default());
        let mut ids = Vec::new();
        pass.read_file(&dir.path().join("audit.log"), &mut |e| {
            ids.push(e.audit_id.clone())
        })
        .unwrap();
        let parts = pass.parts_read().to_vec();
        let c = pass.finish().unwrap();
        assert_eq!(ids, ["a", "b"]);
        assert_eq!((c.malformed, c.unfinished_last_lines, c.lines), (0, 1, 2));
        // Remembered up to the end of the last whole line; the next pass reads the third whole.
        assert_eq!(parts[0].read, whole.len() as u64 + 1);
        std::fs::write(dir.path().join("audit.log"), format!("{whole}\n{third}\n")).unwrap();
        let mut next = LogPass::resuming(
            &ReadOptions::default(),
            crate::audit::resume::History::new(parts),
        );
        let mut ids = Vec::new();
        next.read_file(&dir.path().join("audit.log"), &mut |e| {
            ids.push(e.audit_id.clone())
        })
        .unwrap();
        assert_eq!(ids, ["c"]);
        assert_eq!(next.finish().unwrap().malformed, 0);
    }

    #[test]
    fn a_part_of_duplicates_only_is_remembered_too() {
        let dir = tempfile::tempdir().unwrap();
        let log = event_line("a", "ResponseComplete", "2026-12-01T10:00:00Z") + "\n";
        std::fs::write(dir.path().join("audit-1.log"), &log).unwrap();
        std::fs::write(dir.path().join("audit-2.log"), &log).unwrap();
        let mut pass = LogPass::new(&ReadOptions::default());
        for f in files_of(dir.path()).unwrap() {
            pass.read_file(&f, &mut |_| {}).unwrap();
        }
        let parts = pass.parts_read();
        assert_eq!(parts.len(), 2);
        assert!(parts.iter().all(|p| p.last_event.is_some()), "{parts:?}");
    }

    #[test]
    fn a_request_counts_once_whatever_stages_the_policy_writes() {
        let dir = tempfile::tempdir().unwrap();
        let log = [
            // A watch: received, started, and completed an hour later.
            event_line("w", "RequestReceived", "2026-12-01T10:00:00Z"),
            event_line("w", "ResponseStarted", "2026-12-01T10:00:01Z"),
            event_line("w", "ResponseComplete", "2026-12-01T11:00:01Z"),
            // An exec that panicked.
            event_line("x", "ResponseStarted", "2026-12-01T10:05:00Z"),
            event_line("x", "Panic", "2026-12-01T10:06:00Z"),
            // A plain get, received and completed.
            event_line("g", "RequestReceived", "2026-12-01T10:07:00Z"),
            event_line("g", "ResponseComplete", "2026-12-01T10:07:00Z"),
            // A watch started that the log ends before.
            event_line("o", "ResponseStarted", "2026-12-01T11:30:00Z"),
        ]
        .join("\n");
        std::fs::write(dir.path().join("audit.log"), &log).unwrap();
        let (c, ids) = read(dir.path(), &ReadOptions::default()).unwrap();
        // In the order the outcomes are written.
        assert_eq!(ids, ["w", "x", "g"]);
        assert_eq!(
            (c.events, c.requests, c.not_response_complete, c.open_at_end),
            (8, 3, 5, 1)
        );
    }

    #[test]
    fn rotated_files_plain_and_gzip_are_read_once_each_event() {
        let dir = tempfile::tempdir().unwrap();
        let a = [
            event_line("1", "ResponseComplete", "2026-12-01T10:00:00Z"),
            event_line("2", "ResponseComplete", "2026-12-01T10:01:00Z"),
        ]
        .join("\n");
        // The rotated file overlaps the current one by an event, as rotation does.
        let b = [
            event_line("2", "ResponseComplete", "2026-12-01T10:01:00Z"),
            event_line("3", "ResponseStarted", "2026-12-01T13:00:00Z"),
        ]
        .join("\n");
        std::fs::write(dir.path().join("audit-1.log"), &a).unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(b.as_bytes()).unwrap();
        let gz = gz.finish().unwrap();
        std::fs::write(dir.path().join("audit-2.log.gz"), &gz).unwrap();
        let (c, ids) = read(dir.path(), &ReadOptions::default()).unwrap();
        // "3" is a long-running request still open at the end: in the log, not yet a request.
        assert_eq!(ids, ["1", "2"]);
        assert_eq!((c.events, c.requests, c.open_at_end), (3, 2, 1));
        // Each part is recorded as stored (compressed bytes for the gzip one), as `sha256sum`
        // of the archived file gives it.
        let parts: Vec<(u64, String)> = c
            .parts
            .iter()
            .map(|p| (p.bytes, p.sha256.clone()))
            .collect();
        assert_eq!(
            parts,
            [
                (a.len() as u64, crate::digest::sha256_hex(a.as_bytes())),
                (gz.len() as u64, crate::digest::sha256_hex(&gz)),
            ]
        );
        assert!(c.parts[1].name.ends_with("audit-2.log.gz"));
        assert_eq!((c.events, c.duplicates, c.not_response_complete), (3, 1, 1));
        assert_eq!(c.files.len(), 2);
        assert_eq!(c.stages.get("ResponseComplete"), Some(&2));
        // 10:01 to 13:00 has no event: a gap of almost three hours.
        assert_eq!(c.gaps.len(), 1);
        assert_eq!(c.gaps[0].to.to_rfc3339(), "2026-12-01T13:00:00+00:00");
    }

    #[test]
    fn malformed_lines_are_counted_and_named_and_too_many_refuse_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let mut lines: Vec<String> = (0..200)
            .map(|i| event_line(&i.to_string(), "ResponseComplete", "2026-12-01T10:00:00Z"))
            .collect();
        lines[9] = "{not json".into();
        lines[19] = r#"{"kind":"Pod","apiVersion":"v1"}"#.into();
        std::fs::write(dir.path().join("audit.log"), lines.join("\n")).unwrap();
        let lenient = ReadOptions {
            max_malformed_share: 0.05,
            ..ReadOptions::default()
        };
        let (c, _) = read(dir.path(), &lenient).unwrap();
        assert_eq!((c.malformed, c.events), (2, 198));
        assert!(
            c.malformed_examples[0].contains("audit.log:10:"),
            "{:?}",
            c.malformed_examples
        );
        assert!(
            c.malformed_examples[1].ends_with(
                "audit.log:20:1: not an audit.k8s.io/v1 Event (kind `Pod`, apiVersion `v1`)"
            ),
            "{:?}",
            c.malformed_examples
        );
        let strict = ReadOptions {
            max_malformed_share: 0.005,
            ..ReadOptions::default()
        };
        let err = read(dir.path(), &strict).unwrap_err().to_string();
        assert!(err.contains("2 of 200 lines"), "{err}");
        assert!(err.contains("audit.log:10:"), "{err}");
    }

    #[test]
    fn an_overlong_line_is_malformed_not_a_memory_problem() {
        let dir = tempfile::tempdir().unwrap();
        let long = format!(
            "{}\n{}\n",
            "x".repeat(MAX_LINE * 3),
            event_line("1", "ResponseComplete", "2026-12-01T10:00:00Z")
        );
        std::fs::write(dir.path().join("audit.log"), long).unwrap();
        let options = ReadOptions {
            max_malformed_share: 0.6,
            ..ReadOptions::default()
        };
        let (c, ids) = read(dir.path(), &options).unwrap();
        assert_eq!(ids, ["1"]);
        assert!(c.malformed_examples[0].contains(&format!("a line of {} bytes", MAX_LINE * 3)));
    }

    #[test]
    fn a_symbolic_link_in_the_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("audit.log"), "").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", dir.path().join("other.log")).unwrap();
        assert!(matches!(
            files_of(dir.path()),
            Err(AuditError::NotAFile { .. })
        ));
    }

    #[test]
    fn a_gzip_bomb_stops_at_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let zeros = vec![b'\n'; 1 << 20];
        for _ in 0..80 {
            gz.write_all(&zeros).unwrap();
        }
        std::fs::write(dir.path().join("audit.log.gz"), gz.finish().unwrap()).unwrap();
        let err = read(dir.path(), &ReadOptions::default()).unwrap_err();
        assert!(matches!(err, AuditError::TooLarge { .. }), "{err}");
    }
}
