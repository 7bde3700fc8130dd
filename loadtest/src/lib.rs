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
//! - [`blocks`]: a block every `--block-interval` during a run, and the channel
//!   refreshes the nodes started.
//! - [`driver`]: payments through the API, closed or open loop, on kept-alive
//!   connections.
//! - [`invariants`]: what the nodes' own records must say after a run.
//! - [`ceiling`]: the machine's signature-bound ceiling.
//! - [`report`] and [`charts`]: the results as JSON, Markdown and SVG.
//! - [`windows`]: the run cut into fixed windows (`--window`), and the soak checks over
//!   them.
//! - [`scenario`]: the named starting points of a run (`default`, `bench-line`,
//!   `bench-star`, `soak`, `rebalance`).
//! - [`rebalancer`]: the payer's rebalancer in a run (`--rebalancer`): its settings, its
//!   channels' time in band, its totals and the budget invariant.
//! - [`usage`]: the CPU and memory (current and peak) a node process used, from `/proc`.
//! - [`Error`] is the harness's: every failure of a run is one of its variants.
//!
//! # Soak
//!
//! `cargo run --release -p sluice-loadtest -- --scenario soak` holds `bench-line`'s load
//! (a line of 3, quote + pay, 64 in flight, `--skip-forward-delay`; over 90 BTC channels
//! so half an hour of one-way payments does not drain them) for 30 minutes, and reports
//! it in 5-minute windows: payments succeeded and failed, payments/s, p50 and p99
//! latency, and each process's RSS at the window's end and CPU in it. The report states
//! three checks as PASS or FAIL with their numbers (not as the exit code, which stays the
//! invariants'): the last full window's payments/s is at least 90 % of the first's; every
//! node's RSS at the last window's end is at most 10 % above its RSS at the first window
//! end at or after 10 minutes ("not enough windows" for a shorter run); the router's
//! RSS is at most 256 MiB at every window's end. `--duration` and `--window` override
//! (`--duration 3m --window 30s` for a quick one); `--window` also cuts any other
//! scenario's run into windows. It is opt-in: no test runs it.
//!
//! # Rebalance
//!
//! `cargo run --release -p sluice-loadtest -- --scenario rebalance` pays over the detour
//! ([`sluice_harness::cluster::detour`]) at 4 payments a second for 2 minutes, each
//! payment's fee ceiling one forwarding fee, so the payer pays only while its small
//! direct channel to the hub has balance; its rebalancer (`--rebalancer on`, the
//! default there) refills that channel from the one to the detour node. The same with
//! `--rebalancer off` is the comparison: the report's Rebalancer section gives, for
//! each of the payer's channels, the share of the once-a-second reads that found it
//! inside its band, when payments began to fail, and the rebalancer's totals and
//! budget; the budget invariant joins the others.

pub mod blocks;
pub mod ceiling;
pub mod charts;
pub mod driver;
pub mod invariants;
pub mod rebalancer;
pub mod report;
pub mod scenario;
pub mod usage;
pub mod windows;

pub use sluice_harness::Error;
