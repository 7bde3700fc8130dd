//! End-to-end tests over real `sluice` processes on 127.0.0.1, built on
//! [`sluice_harness`]: its processes, clients, set-ups ([`sluice_harness::Pair`],
//! [`sluice_harness::Line`]) and clusters.
//!
//! # Layout
//!
//! - `tests/*.rs`: one test binary per area (channels, payments, a node's life, LSPS2,
//!   LSPS5, clusters, a crash under load).
//! - `tests/common/`: what they share: paying and checking balances, the JIT set-up
//!   (`jit.rs`), a raw LSPS peer (`lsps_wire.rs`) and a webhook receiver
//!   (`webhook_receiver.rs`).
//! - `benches/jit_latency.rs`: the JIT channel payment latency benchmark.
