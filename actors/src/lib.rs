//! The supervised actors of a sluice node (ARCHITECTURE.md §2), the LDK type aliases they
//! share, and the node's error type.
//!
//! The supervisor ([`supervisor`]) runs chain sync, the wallet, the channel manager, the
//! receipt signer ([`receipts::actor`]), the pathfinding factory ([`pathfinding`]) and the
//! payments actor ([`payments`]), the LSPS2 service ([`lsps2`]) and the channel refresh
//! ([`refresh`]). Actors persist their state through
//! [`sluice_storage::Store`].

pub mod budgets;
pub mod chain;
pub mod chain_sync;
pub mod channel_manager;
pub mod channel_policy;
pub mod clock;
mod components;
pub mod credit;
mod error;
pub mod events;
pub mod forwarder;
pub mod forwards;
pub mod handles;
pub mod health;
pub mod idempotency;
pub mod keys;
pub mod liquidity_messages;
pub mod logger;
pub mod lsps2;
pub mod lsps5;
pub mod nostr;
pub mod pathfinding;
pub mod payments;
pub mod persist;
pub mod pool;
pub mod processor;
pub mod rebalance;
pub mod receipts;
pub mod refresh;
pub mod supervisor;
pub mod types;
pub mod wallet;
pub mod withdrawals;

pub use components::Components;
pub use error::NodeError;
