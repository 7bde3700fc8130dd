//! The Nostr mirror's outbox (issue 22): every signed event the node publishes, written
//! in the commit of the change it mirrors, and a queue of those some relay has not yet
//! answered for good. The publisher actor sends from the queue and records what each
//! relay said.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::table::{Record, Table};

/// What a relay finally said of an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryOutcome {
    /// It stored the event (or already had it).
    Accepted,
    /// It refused the event for good (`blocked:`, `invalid:` …): not sent to it again.
    Rejected,
}

/// One relay's final answer to one event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NostrDelivery {
    /// Accepted or rejected.
    pub outcome: DeliveryOutcome,
    /// The relay's message (empty when it had none).
    pub message: String,
    /// How many sends it took.
    pub attempts: u32,
    /// When it answered, ms since the Unix epoch.
    pub at_ms: u64,
}

/// A signed event the node publishes. Created once (create-only) with the change it
/// mirrors, so it is never re-signed with other content; afterwards only its deliveries
/// change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NostrEventRecord {
    /// The event id, hex.
    pub event_id: String,
    /// Its kind.
    pub kind: u16,
    /// Its `d` tag, for an addressable event.
    pub d: Option<String>,
    /// What it mirrors, e.g. `envelope:<id>`.
    pub source: String,
    /// The signed event, JSON, exactly as it is sent.
    pub event_json: String,
    /// When it was queued, ms since the Unix epoch.
    pub queued_at_ms: u64,
    /// Each relay's final answer, by relay URL.
    #[serde(default)]
    pub deliveries: BTreeMap<String, NostrDelivery>,
}

impl Record for NostrEventRecord {
    const TABLE: Table = Table::NostrEvents;

    fn key(&self) -> String {
        self.event_id.clone()
    }
}

/// An event waiting for relays, keyed `{queued_at_ms:020}/{event_id}` so the queue is
/// sent oldest first. Deleted in the commit that records the last relay's answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NostrOutboxRecord {
    /// The event, in [`NostrEventRecord`].
    pub event_id: String,
    /// When it was queued, ms since the Unix epoch.
    pub queued_at_ms: u64,
}

impl NostrOutboxRecord {
    /// The queue key of `event_id` queued at `queued_at_ms`.
    pub fn table_key(queued_at_ms: u64, event_id: &str) -> String {
        format!("{queued_at_ms:020}/{event_id}")
    }
}

impl Record for NostrOutboxRecord {
    const TABLE: Table = Table::NostrOutbox;

    fn key(&self) -> String {
        NostrOutboxRecord::table_key(self.queued_at_ms, &self.event_id)
    }
}
