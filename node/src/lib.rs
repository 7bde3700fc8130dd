//! The sluice node: configuration, LDK wiring, chain backends and process lifecycle.
//!
//! The `sluice` binary (`src/main.rs`) is a thin command line over this library.

pub mod allocator;
pub mod backend;
pub mod build;
pub mod channel_open;
pub mod config;
pub mod credit_answers;
pub mod nostr_answers;
pub mod peer_socket;
pub mod pool_answers;
pub mod rebalancer_answers;
pub mod run;
pub mod seed;
pub mod signals;
pub mod stats;
