//! Reading each part of a log once over a pack chain. A directory of rotated files holds
//! yesterday's file again tonight (renamed, perhaps compressed), and the active file grows from
//! one night to the next: counted again, a day's requests would double and inflate baselines.
//!
//! Each part read is remembered in the usage record (signed in the pack, read back only from a
//! verified previous pack): the digest of its first bytes (decompressed, so a file renamed or
//! compressed by rotation is the same part), how many bytes were read up to its last whole line,
//! and their digest. A part whose first bytes match one remembered is the same part when its
//! first `read` bytes have that digest too: those are skipped (read and hashed, never parsed)
//! and the rest is read. A part whose prefix differs (rewritten) is read whole, and the run says
//! so. Bounded: parts whose last event is before the usage window are forgotten, and at most
//! [`MAX_PARTS`] are kept.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::Read;

/// How many first bytes name a part.
pub const HEAD: usize = 4096;
/// Parts remembered at most (the most recent by last event): a month of rotation every ten
/// minutes fits.
pub const MAX_PARTS: usize = 8192;

/// A part of the log as earlier runs read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PartRead {
    /// SHA-256 of its first `head_len` decompressed bytes.
    pub head: String,
    pub head_len: u64,
    /// Decompressed bytes read, up to the end of the last whole line.
    pub read: u64,
    /// SHA-256 of those bytes.
    pub sha256: String,
    /// The part's name when it was read (for people; parts are matched by content).
    pub name: String,
    /// Its latest event in the window (absent: none was).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_event: Option<DateTime<Utc>>,
}

/// The parts read by earlier runs.
#[derive(Debug, Clone, Default)]
pub struct History {
    parts: Vec<PartRead>,
}

impl History {
    pub fn new(parts: Vec<PartRead>) -> History {
        History { parts }
    }

    /// The remembered part whose first bytes `head` starts with (the longest read when several
    /// do: the same file read on several nights).
    pub fn matching(&self, head: &[u8]) -> Option<&PartRead> {
        let mut digests: Vec<(u64, String)> = Vec::new();
        let mut digest_of = |len: u64| -> Option<String> {
            if len as usize > head.len() {
                return None;
            }
            if let Some((_, d)) = digests.iter().find(|(l, _)| *l == len) {
                return Some(d.clone());
            }
            let d = hex::encode(Sha256::digest(&head[..len as usize]));
            digests.push((len, d.clone()));
            Some(d)
        };
        self.parts
            .iter()
            .filter(|p| p.read > 0 && digest_of(p.head_len).is_some_and(|d| d == p.head))
            .max_by_key(|p| p.read)
    }
}

/// Merges the parts of this run into the remembered ones (a part read further replaces its
/// shorter reading), forgets those whose last event is before `window_start`, and keeps the
/// most recent [`MAX_PARTS`], in a stable order.
pub fn merge_parts(
    mut kept: Vec<PartRead>,
    new: Vec<PartRead>,
    window_start: NaiveDate,
) -> Vec<PartRead> {
    for p in new {
        kept.retain(|k| !(k.head == p.head && k.head_len == p.head_len && k.read <= p.read));
        kept.push(p);
    }
    kept.retain(|p| p.last_event.is_some_and(|t| t.date_naive() >= window_start));
    kept.sort_by(|a, b| {
        b.last_event
            .cmp(&a.last_event)
            .then_with(|| a.head.cmp(&b.head))
            .then_with(|| a.read.cmp(&b.read))
    });
    kept.truncate(MAX_PARTS);
    kept
}

/// A reader that hashes what passes through it and remembers the digest at the end of the last
/// whole line, so a part can be resumed after it.
pub struct Tracking<R> {
    inner: R,
    running: Sha256,
    committed: Sha256,
    pos: u64,
    committed_pos: u64,
}

impl<R: Read> Tracking<R> {
    pub fn new(inner: R) -> Self {
        Tracking {
            inner,
            running: Sha256::default(),
            committed: Sha256::default(),
            pos: 0,
            committed_pos: 0,
        }
    }

    /// Bytes up to the end of the last whole line, and their digest.
    pub fn committed(&self) -> (u64, String) {
        (
            self.committed_pos,
            hex::encode(self.committed.clone().finalize()),
        )
    }
}

impl<R: Read> Read for Tracking<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let chunk = &buf[..n];
        match chunk.iter().rposition(|b| *b == b'\n') {
            Some(i) => {
                self.running.update(&chunk[..=i]);
                self.committed = self.running.clone();
                self.committed_pos = self.pos + i as u64 + 1;
                self.running.update(&chunk[i + 1..]);
            }
            None => self.running.update(chunk),
        }
        self.pos += n as u64;
        Ok(n)
    }
}

/// The first [`HEAD`] bytes of a stream (fewer at its end).
pub fn read_head(r: &mut impl Read) -> std::io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(HEAD);
    r.take(HEAD as u64).read_to_end(&mut head)?;
    Ok(head)
}

/// Where a part is read from: its start, or after what an earlier run read of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    Beginning,
    /// After `bytes` decompressed bytes, `lines` lines, already counted.
    After {
        bytes: u64,
        lines: u64,
    },
    /// Its first bytes match a part read before but the rest of that prefix differs: read
    /// whole (a file rewritten in place).
    Rewritten,
}

/// Whether `head` (the first bytes read) and the rest of `r` continue a remembered part: reads
/// (and hashes) the remembered prefix, never parses it. On [`Start::After`] the stream is
/// positioned after the prefix and `leftover` holds the bytes of `head` beyond it.
pub fn resume_point<R: Read>(
    history: &History,
    head: &[u8],
    r: &mut Tracking<R>,
) -> std::io::Result<(Start, Vec<u8>)> {
    let Some(part) = history.matching(head) else {
        return Ok((Start::Beginning, head.to_vec()));
    };
    let read = part.read as usize;
    if read <= head.len() {
        let same = hex::encode(Sha256::digest(&head[..read])) == part.sha256;
        if !same {
            return Ok((Start::Rewritten, head.to_vec()));
        }
        let lines = head[..read].iter().filter(|b| **b == b'\n').count() as u64;
        return Ok((
            Start::After {
                bytes: part.read,
                lines,
            },
            head[read..].to_vec(),
        ));
    }
    let mut lines = head.iter().filter(|b| **b == b'\n').count() as u64;
    let mut left = part.read - head.len() as u64;
    let mut buf = vec![0u8; 64 * 1024];
    while left > 0 {
        let want = buf.len().min(left as usize);
        let n = r.read(&mut buf[..want])?;
        if n == 0 {
            break;
        }
        lines += buf[..n].iter().filter(|b| **b == b'\n').count() as u64;
        left -= n as u64;
    }
    let (at, digest) = r.committed();
    if left == 0 && at == part.read && digest == part.sha256 {
        Ok((
            Start::After {
                bytes: part.read,
                lines,
            },
            Vec::new(),
        ))
    } else {
        Ok((Start::Rewritten, Vec::new()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn remembered(bytes: &[u8], name: &str) -> PartRead {
        let mut t = Tracking::new(bytes);
        let head = read_head(&mut t).unwrap();
        std::io::copy(&mut t, &mut std::io::sink()).unwrap();
        let (read, sha256) = t.committed();
        let head_len = (HEAD as u64).min(read);
        PartRead {
            head: hex::encode(Sha256::digest(&head[..head_len as usize])),
            head_len,
            read,
            sha256,
            name: name.into(),
            last_event: Some(DateTime::UNIX_EPOCH),
        }
    }

    fn start(history: &History, bytes: &[u8]) -> (Start, Vec<u8>, Vec<u8>) {
        let mut t = Tracking::new(bytes);
        let head = read_head(&mut t).unwrap();
        let (s, leftover) = resume_point(history, &head, &mut t).unwrap();
        let mut rest = Vec::new();
        t.read_to_end(&mut rest).unwrap();
        (s, leftover, rest)
    }

    fn lines(n: usize, from: usize) -> Vec<u8> {
        (from..from + n)
            .map(|i| format!("{{\"line\":{i},\"pad\":\"{}\"}}\n", "x".repeat(40)))
            .collect::<String>()
            .into_bytes()
    }

    #[test]
    fn a_grown_part_resumes_after_what_was_read_and_a_small_one_too() {
        for n in [3, 500] {
            let night1 = [lines(n, 0), b"{\"half".to_vec()].concat();
            let history = History::new(vec![remembered(&night1, "audit.log")]);
            let night2 = [lines(n, 0), lines(4, n)].concat();
            let (s, leftover, rest) = start(&history, &night2);
            let expected = lines(n, 0).len() as u64;
            assert_eq!(
                s,
                Start::After {
                    bytes: expected,
                    lines: n as u64
                }
            );
            assert_eq!([leftover, rest].concat(), lines(4, n), "n = {n}");
        }
    }

    #[test]
    fn a_part_read_whole_resumes_at_its_end_and_an_unknown_one_at_its_start() {
        let file = lines(200, 0);
        let history = History::new(vec![remembered(&file, "audit.log")]);
        let (s, leftover, rest) = start(&history, &file);
        assert!(matches!(s, Start::After { lines: 200, .. }), "{s:?}");
        assert!(leftover.is_empty() && rest.is_empty());
        let other = lines(200, 1000);
        assert_eq!(start(&history, &other).0, Start::Beginning);
    }

    #[test]
    fn a_part_rewritten_after_its_first_bytes_is_read_whole() {
        let file = lines(200, 0);
        let history = History::new(vec![remembered(&file, "audit.log")]);
        let mut changed = file.clone();
        let at = changed.len() - 30;
        changed[at] = b'y';
        assert_eq!(start(&history, &changed).0, Start::Rewritten);
        // Shorter than what was read.
        assert_eq!(
            start(&history, &file[..file.len() - 100]).0,
            Start::Rewritten
        );
    }

    #[test]
    fn merging_keeps_the_longest_reading_and_forgets_parts_before_the_window() {
        let short = remembered(&lines(100, 0), "a");
        let long = remembered(&lines(150, 0), "a");
        let mut old = remembered(&lines(10, 500), "old");
        old.last_event = None;
        let merged = merge_parts(
            vec![short, old],
            vec![long.clone()],
            NaiveDate::from_ymd_opt(1970, 1, 1).unwrap(),
        );
        assert_eq!(merged, vec![long]);
    }
}
