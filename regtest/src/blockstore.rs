//! Persistence of the regtest chain: an append-only block file and the set of blocks
//! invalidated by hand. The UTXO set is rebuilt (and every block re-validated) on open.
//!
//! `blocks.dat` holds frames of `[length u32 LE][block][first 4 bytes of sha256d]`; a
//! torn frame at the end (a crash mid-append) is cut off, a bad frame elsewhere is
//! corruption and refuses the start. `invalid.txt` lists invalidated block hashes and is
//! replaced atomically.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use bitcoin::consensus::encode;
use bitcoin::hashes::{sha256d, Hash};
use bitcoin::{Block, BlockHash};

use super::RegtestError;

const BLOCKS_FILE: &str = "blocks.dat";
const INVALID_FILE: &str = "invalid.txt";

/// The chain's files in its data directory, locked against a second process.
pub struct BlockStore {
    dir: PathBuf,
    blocks: File,
}

impl BlockStore {
    /// Opens (creating) the store in `dir` and takes its lock.
    pub fn open(dir: &Path) -> Result<Self, RegtestError> {
        fs::create_dir_all(dir)?;
        let blocks = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(dir.join(BLOCKS_FILE))?;
        if blocks.try_lock().is_err() {
            return Err(RegtestError::Locked(dir.to_path_buf()));
        }
        Ok(BlockStore {
            dir: dir.to_path_buf(),
            blocks,
        })
    }

    /// Every stored block in arrival order, and the invalidated hashes. Cuts off a torn
    /// last frame.
    pub fn load(&self) -> Result<(Vec<Block>, Vec<BlockHash>), RegtestError> {
        let mut bytes = Vec::new();
        (&self.blocks).seek(SeekFrom::Start(0))?;
        (&self.blocks).read_to_end(&mut bytes)?;
        let mut blocks = Vec::new();
        let mut offset = 0usize;
        while offset < bytes.len() {
            let Some(frame) = read_frame(&bytes[offset..]) else {
                tracing::warn!(
                    offset,
                    "cutting a torn block frame off the end of blocks.dat"
                );
                self.blocks.set_len(offset as u64)?;
                self.blocks.sync_all()?;
                break;
            };
            let (block_bytes, frame_len) = frame?;
            let block: Block = encode::deserialize(block_bytes)
                .map_err(|e| RegtestError::Corrupt(format!("block at offset {offset}: {e}")))?;
            blocks.push(block);
            offset += frame_len;
        }
        let invalid = match fs::read_to_string(self.dir.join(INVALID_FILE)) {
            Ok(text) => text
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| {
                    BlockHash::from_str(l.trim())
                        .map_err(|e| RegtestError::Corrupt(format!("invalid.txt: {e}")))
                })
                .collect::<Result<_, _>>()?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e.into()),
        };
        Ok((blocks, invalid))
    }

    /// Appends `block` and fsyncs it.
    pub fn append(&mut self, block: &Block) -> Result<(), RegtestError> {
        let body = encode::serialize(block);
        let mut frame = Vec::with_capacity(body.len() + 8);
        frame.extend_from_slice(&(body.len() as u32).to_le_bytes());
        frame.extend_from_slice(&body);
        frame.extend_from_slice(&sha256d::Hash::hash(&body)[..4]);
        self.blocks.write_all(&frame)?;
        self.blocks.sync_data()?;
        Ok(())
    }

    /// Replaces the list of invalidated blocks, atomically and durably.
    pub fn save_invalid(&mut self, hashes: &[BlockHash]) -> Result<(), RegtestError> {
        let text: String = hashes.iter().map(|h| format!("{h}\n")).collect();
        let tmp = self.dir.join("invalid.txt.tmp");
        let mut file = File::create(&tmp)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        fs::rename(&tmp, self.dir.join(INVALID_FILE))?;
        File::open(&self.dir)?.sync_all()?;
        Ok(())
    }
}

/// The block bytes and total length of the frame at the start of `bytes`; `None` if the
/// frame is incomplete (torn), an error if it is complete but fails its checksum.
fn read_frame(bytes: &[u8]) -> Option<Result<(&[u8], usize), RegtestError>> {
    let len = u32::from_le_bytes(bytes.get(..4)?.try_into().ok()?) as usize;
    let body = bytes.get(4..4 + len)?;
    let check = bytes.get(4 + len..8 + len)?;
    if sha256d::Hash::hash(body)[..4] != *check {
        return Some(Err(RegtestError::Corrupt(
            "a block frame fails its checksum".into(),
        )));
    }
    Some(Ok((body, len + 8)))
}
