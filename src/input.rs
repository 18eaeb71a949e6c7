//! Reading files that come from outside: bounded in size before they are read, and checked to
//! be UTF-8 with the position of the first bad byte, so that no reader of outside input starts
//! from an unbounded or unpositioned blob.

use crate::diag::{Pos, utf8_error_pos};
use std::io::Read;
use std::path::Path;

/// Files a person writes (configuration, inventory, controls, exceptions, allowed signers,
/// keys): far above any real one, far below what would hurt.
pub const MAX_WRITTEN_FILE: u64 = 16 * 1024 * 1024;

/// One file of a cluster dump. Its objects are read one at a time, so memory follows what is
/// kept; the limit only refuses what no `kubectl get -o yaml` of a real cluster produces.
pub const MAX_DUMP_FILE: u64 = 4 * 1024 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error(transparent)]
    Io { source: std::io::Error },
    #[error(
        "the file is larger than {} MiB ({size} bytes); no file of this kind is that large — is it the right file?",
        .limit / (1024 * 1024)
    )]
    TooLarge { size: u64, limit: u64 },
    #[error(
        "not UTF-8 text: the byte at line {}, column {} (byte offset {offset}) is not valid UTF-8; save the file as UTF-8",
        .pos.line, .pos.col
    )]
    NotUtf8 { pos: Pos, offset: usize },
}

/// The bytes of `path`, refusing files larger than `limit` (checked before and while reading,
/// so a file that grows, or a device, cannot get past it).
pub fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, InputError> {
    let file = std::fs::File::open(path).map_err(|source| InputError::Io { source })?;
    let declared = file
        .metadata()
        .map_err(|source| InputError::Io { source })?
        .len();
    if declared > limit {
        return Err(InputError::TooLarge {
            size: declared,
            limit,
        });
    }
    let mut bytes = Vec::with_capacity(declared as usize);
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| InputError::Io { source })?;
    if bytes.len() as u64 > limit {
        return Err(InputError::TooLarge {
            size: bytes.len() as u64,
            limit,
        });
    }
    Ok(bytes)
}

/// The text of `path`: bounded as [`read_bounded`], and UTF-8 (a leading byte-order mark is
/// dropped, as editors write one).
pub fn read_text(path: &Path, limit: u64) -> Result<String, InputError> {
    text_from_bytes(read_bounded(path, limit)?)
}

/// Bytes as text, or where the first invalid UTF-8 sequence is.
pub fn text_from_bytes(mut bytes: Vec<u8>) -> Result<String, InputError> {
    if bytes.starts_with(b"\xEF\xBB\xBF") {
        bytes.drain(..3);
    }
    String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        InputError::NotUtf8 {
            pos: utf8_error_pos(e.as_bytes(), &e.utf8_error()),
            offset,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_utf8_is_reported_with_its_position() {
        let err = text_from_bytes(b"a: 1\nb: \xff\n".to_vec()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "not UTF-8 text: the byte at line 2, column 4 (byte offset 8) is not valid UTF-8; save the file as UTF-8"
        );
    }

    #[test]
    fn files_over_the_limit_are_refused_before_reading() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big.yaml");
        std::fs::write(&p, vec![b'a'; 2048]).unwrap();
        assert!(matches!(
            read_bounded(&p, 1024),
            Err(InputError::TooLarge { size: 2048, .. })
        ));
        assert_eq!(read_bounded(&p, 4096).unwrap().len(), 2048);
    }

    #[test]
    fn a_byte_order_mark_is_dropped() {
        assert_eq!(
            text_from_bytes(b"\xEF\xBB\xBFa: 1".to_vec()).unwrap(),
            "a: 1"
        );
    }
}
