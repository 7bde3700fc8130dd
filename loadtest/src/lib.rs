//! The load driver of sluice (ARCHITECTURE.md §9): payments through a regtest cluster's
//! HTTP API, closed or open loop, and a report of throughput, latency and resource use.
//!
//! The cluster itself (processes, clients, set-up) is [`sluice_harness`]'s; this crate
//! drives load through it and judges the result. The `sluice-loadtest` binary
//! (`src/main.rs`) ties the two together: flags, a progress bar, the report on disk and
//! the exit code.
//!
//! # Layout
//!
//! - [`driver`]: payments through the API, closed or open loop, on kept-alive
//!   connections.
//! - [`invariants`]: what the nodes' own records must say after a run.
//! - [`ceiling`]: the machine's signature-bound ceiling.
//! - [`report`] and [`charts`]: the results as JSON, Markdown and SVG.
//! - [`scenario`]: the named starting points of a run (`default`, `bench-line`,
//!   `bench-star`).
//! - [`usage`]: the CPU and memory a node process used, from `/proc`.
//! - [`Error`] is the harness's: every failure of a run is one of its variants.

pub mod ceiling;
pub mod charts;
pub mod driver;
pub mod invariants;
pub mod report;
pub mod scenario;
pub mod usage;

pub use sluice_harness::Error;
