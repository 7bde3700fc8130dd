//! The Nostr events sluice mirrors its credit activity and pool proof snapshots to:
//! NIP-AC agent credit (kinds 39240–39245), NIP-32 labels (kind 1985) and NIP-78 pool
//! snapshots (kind 30078), built and signed free of I/O.
//!
//! The node's actors call the builders and store the signed event JSON in an outbox; a
//! publisher sends it later and reads each relay's answer with [`verdict()`]. Every event
//! is dated from its facts (never the clock), so the same facts always give the same
//! event id and a rebuilt event is recognised as the one already stored.
//!
//! Layout:
//! - `keys`: the node's Nostr key, derived from its seed under a domain tag or given as
//!   hex / `nsec`;
//! - `kinds`: the event kinds, label namespace and content schema;
//! - `credit`: the NIP-AC builders (intent, offer, envelope, spend authorization,
//!   settlement, default notice) and their input facts;
//! - `labels`: NIP-32 success / default labels of an agent's credit outcomes;
//! - `snapshot`: pool proof snapshots as NIP-78 application data;
//! - `read`: reading an event's `d` identifier back;
//! - `verdict`: what a relay's `OK` answer means for the publisher (done, retry, stop);
//! - `error`: the crate's error type;
//! - `check` and `sign` (private): the checks on facts, and the signing step every
//!   builder shares.

mod check;
pub mod credit;
pub mod error;
pub mod keys;
pub mod kinds;
pub mod labels;
pub mod read;
mod sign;
pub mod snapshot;
pub mod verdict;

pub use credit::{
    default_notice, envelope, intent, offer, settlement, spend_authorization, DefaultFacts,
    EnvelopeFacts, IntentFacts, OfferFacts, Scope, SettlementFacts, SpendAuthorizationFacts,
    SPEND_AUTHORIZATION_DIGEST_SCHEMA,
};
pub use error::NostrError;
pub use keys::{keys_from_secret, keys_from_seed, NOSTR_KEY_TAG};
pub use labels::{label, LabelOutcome};
pub use read::d_tag;
pub use snapshot::{pool_snapshot, snapshot_identifier, SnapshotFacts, SNAPSHOT_SCHEMA};
pub use verdict::{verdict, Verdict};
