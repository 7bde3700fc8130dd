//! The commit mark: a check, outside fjall, that no acknowledged write went missing.
//!
//! fjall recovers its journal by cutting it at the first batch that fails its checksum,
//! treating damage anywhere as a torn tail. Damage in the middle of the journal thus
//! opens without an error, minus every write after it. To notice, every group commit
//! also writes a sequence number to [`Table::Meta`](crate::Table), and after each
//! durable commit the writer records that number in the file `commit.mark` beside the
//! journal. On open, a store whose sequence number is below the mark has lost writes
//! that were acknowledged, and refuses to open ([`StoreError::LostWrites`]).
//!
//! The mark is written after the fsync that made its number durable, so it is never
//! ahead of the store; it is not fsynced itself, so after a power cut it may lag (it
//! then checks less, never wrongly). It is 16 bytes written in place at offset 0: the
//! number and its complement, so a damaged mark is told from a valid one.

use std::fs::{File, OpenOptions};
use std::io::ErrorKind;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::StoreError;

/// The mark's file name inside the store directory (fjall ignores it: its journal files
/// end in `.jnl`).
pub const MARK_FILE: &str = "commit.mark";

/// The key of the commit sequence number in [`Table::Meta`](crate::Table).
pub(crate) const SEQUENCE_KEY: &[u8] = b"commit_sequence";

const MARK_LEN: usize = 16;

/// The open mark file.
pub(crate) struct CommitMark {
    file: File,
    path: PathBuf,
}

fn encode(sequence: u64) -> [u8; MARK_LEN] {
    let mut bytes = [0u8; MARK_LEN];
    bytes[..8].copy_from_slice(&sequence.to_le_bytes());
    bytes[8..].copy_from_slice(&(!sequence).to_le_bytes());
    bytes
}

fn decode(bytes: &[u8]) -> Option<u64> {
    let sequence = u64::from_le_bytes(bytes.get(..8)?.try_into().ok()?);
    let check = u64::from_le_bytes(bytes.get(8..MARK_LEN)?.try_into().ok()?);
    (bytes.len() == MARK_LEN && check == !sequence).then_some(sequence)
}

impl CommitMark {
    /// Opens (or creates) the mark in `dir`; returns it and the sequence number it
    /// holds, `None` for a new mark.
    pub(crate) fn open(dir: &Path) -> Result<(CommitMark, Option<u64>), StoreError> {
        let path = dir.join(MARK_FILE);
        let failed = |reason: String| StoreError::Mark {
            path: path.clone(),
            reason,
        };
        let recorded = match std::fs::read(&path) {
            Ok(bytes) => Some(decode(&bytes).ok_or_else(|| {
                failed(format!(
                    "{} bytes that are not a commit mark (delete it only if the store is known \
                     to be complete)",
                    bytes.len()
                ))
            })?),
            Err(e) if e.kind() == ErrorKind::NotFound => None,
            Err(e) => return Err(failed(e.to_string())),
        };
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| failed(e.to_string()))?;
        Ok((CommitMark { file, path }, recorded))
    }

    /// The file's path.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Records that commits up to `sequence` are durable.
    pub(crate) fn record(&self, sequence: u64) {
        if let Err(e) = self.file.write_all_at(&encode(sequence), 0) {
            // The mark only checks; the commit it follows is durable either way.
            tracing::warn!(path = %self.path.display(), error = %e, "updating the commit mark failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_round_trip_and_damage_is_recognised() {
        for sequence in [0, 1, 255, u64::MAX] {
            assert_eq!(decode(&encode(sequence)), Some(sequence));
        }
        let mut damaged = encode(7);
        damaged[3] ^= 1;
        assert_eq!(decode(&damaged), None);
        assert_eq!(decode(&encode(7)[..15]), None);
        assert_eq!(decode(&[]), None);
    }
}
