//! The Nostr mirror (spec §4.3, §9, §10.2): the pool's credit activity and proof
//! snapshots published as signed events for public audit — NIP-AC kinds 39240–39245,
//! NIP-32 labels (kind 1985) for each settlement and default, and snapshots as NIP-78
//! addressable events (kind 30078). The events themselves are `sluice-nostr`'s.
//!
//! Layout:
//! - `config`: the `[nostr]` settings;
//! - `mirror`: the key, and staging an event in the commit of the change it mirrors
//!   (the outbox: nothing is sent that was not stored first);
//! - `queue`: which sends are due, and what a relay's answer does (pure);
//! - `publisher`: the actor that sends the outbox to every relay and records the
//!   answers.
//!
//! A node without relays stages and publishes nothing, and says so at start.

pub mod config;
pub mod mirror;
pub mod publisher;
pub mod queue;

pub use config::NostrConfig;
pub use mirror::Mirror;
pub use publisher::{MirrorStatus, Publisher, PublisherMsg, RelayView};
