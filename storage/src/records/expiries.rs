//! The expiry queue: records that clients create (quotes, idempotency keys) are written
//! with an entry here, keyed by when they fall due, so pruning reads only what is due.

use serde::{Deserialize, Serialize};

use crate::table::{Record, Table};

/// What an expiry entry points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Expiring {
    /// A [`crate::QuoteRecord`], by quote id (kept if it was paid).
    Quote,
    /// An [`crate::IdempotencyRecord`], by its table key.
    IdempotencyKey,
}

/// One record falling due at `due_ms`; written in the record's own batch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpiryRecord {
    /// When the record may be pruned, ms since the Unix epoch.
    pub due_ms: u64,
    /// What kind of record.
    pub kind: Expiring,
    /// The record's key in its table.
    pub key: String,
}

impl ExpiryRecord {
    /// The first key past every entry due at or before `now_ms`: entries in
    /// `["", due_before(now_ms))` are due.
    pub fn due_before(now_ms: u64) -> String {
        format!("{:016x}~", now_ms)
    }
}

impl Record for ExpiryRecord {
    const TABLE: Table = Table::Expiries;

    fn key(&self) -> String {
        let kind = match self.kind {
            Expiring::Quote => 'q',
            Expiring::IdempotencyKey => 'i',
        };
        format!("{:016x}/{kind}/{}", self.due_ms, self.key)
    }
}
