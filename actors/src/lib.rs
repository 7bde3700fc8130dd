//! The supervised actors of a sluice node (DESIGN.md §2), the LDK type aliases they
//! share, and the node's error type.
//!
//! The supervisor and its first children (chain sync, wallet, channel manager) arrive
//! with the node issue, the payment actors with the payments engine. Actors persist their
//! state through [`sluice_storage::Store`].

pub mod chain;
pub mod chain_sync;
pub mod channel_manager;
pub mod channel_policy;
pub mod clock;
mod components;
mod error;
pub mod events;
pub mod health;
pub mod logger;
pub mod pathfinding;
pub mod payments;
pub mod persist;
pub mod receipts;
pub mod supervisor;
pub mod types;
pub mod wallet;

pub use components::Components;
pub use error::NodeError;
