//! The storage crate's error type.

use lightning::io;

/// Everything that can go wrong in the store.
///
/// The API crate maps these to stable error codes in one place; LDK sees them as
/// [`lightning::io::Error`]s through the `From` conversion below.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A namespace or key handed to the LDK key-value store breaks LDK's naming rules.
    #[error("invalid {part}: {reason}")]
    InvalidKey {
        /// Which part was wrong: `primary namespace`, `secondary namespace` or `key`.
        part: &'static str,
        /// What rule it broke.
        reason: String,
    },
    /// The storage engine failed (I/O, corruption found on recovery, lock held by
    /// another process).
    #[error("storage engine: {0}")]
    Engine(#[from] fjall::Error),
    /// Writing a group of changes failed. fjall poisons itself after this, so every
    /// later write fails with [`StoreError::Poisoned`] or this error until a restart.
    #[error("a store write failed: {0}")]
    Write(std::sync::Arc<fjall::Error>),
    /// An earlier durable write failed; the store refuses all further writes because
    /// it can no longer say what reached the disk. Restart the node.
    #[error("the store is poisoned by an earlier failed write; restart the node")]
    Poisoned,
    /// The store's writer has shut down (the store is closing).
    #[error("the store is closed")]
    Closed,
    /// A create-only write found a record already stored under its key.
    #[error("{table} already holds a record under key {key}")]
    Conflict {
        /// The table written to.
        table: &'static str,
        /// The key as text (lossy if it was not UTF-8).
        key: String,
        /// The bytes stored under the key.
        existing: Vec<u8>,
    },
    /// A record could not be encoded.
    #[error("encoding a {table} record: {source}")]
    Encode {
        /// The table written to.
        table: &'static str,
        /// The encoder's complaint.
        source: serde_json::Error,
    },
    /// A stored record could not be decoded: the data on disk is not what this version
    /// of sluice wrote.
    #[error("decoding a {table} record: {source}")]
    Decode {
        /// The table read from.
        table: &'static str,
        /// The decoder's complaint.
        source: serde_json::Error,
    },
    /// Recovering the store after a crash failed: its files are damaged.
    #[error("recovering the store failed: {0}")]
    Recovery(String),
    /// The store holds fewer commits than were acknowledged before: its journal lost
    /// writes (damage that fjall's recovery truncated silently), or it was replaced by an
    /// older copy. Starting on it would roll the node back, which for channel state means
    /// broadcasting revoked commitments. Restore the store; delete the commit mark only to
    /// start on an older copy knowingly.
    #[error(
        "the store holds {stored} commits but {acknowledged} were acknowledged (recorded in {mark}): \
         acknowledged writes are missing"
    )]
    LostWrites {
        /// Commits the store holds.
        stored: u64,
        /// Commits acknowledged before, by the commit mark.
        acknowledged: u64,
        /// The commit mark file.
        mark: std::path::PathBuf,
    },
    /// The commit mark file is unreadable or damaged.
    #[error("commit mark {path}: {reason}")]
    Mark {
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A blocking store task panicked or was cancelled.
    #[error("store task failed: {0}")]
    Task(String),
}

impl From<StoreError> for io::Error {
    fn from(err: StoreError) -> Self {
        let kind = match &err {
            StoreError::InvalidKey { .. } => io::ErrorKind::InvalidInput,
            StoreError::Conflict { .. } => io::ErrorKind::AlreadyExists,
            StoreError::Encode { .. } | StoreError::Decode { .. } => io::ErrorKind::InvalidData,
            // Never NotFound, not even for a missing file: LDK's monitor persister reads
            // NotFound as "no more updates", so only an absent key may say it.
            StoreError::Engine(_)
            | StoreError::Write(_)
            | StoreError::Poisoned
            | StoreError::Closed
            | StoreError::Task(_)
            | StoreError::Recovery(_)
            | StoreError::LostWrites { .. }
            | StoreError::Mark { .. } => io::ErrorKind::Other,
        };
        io::Error::new(kind, err.to_string())
    }
}
