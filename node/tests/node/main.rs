//! The node crate's integration tests, one binary (one link) for all of them: the
//! configuration layers, the API's limits and TLS, `sluice regtest-chain` as its own process, a node's supervision
//! tree, and the `sluice store` and `sluice receipt` commands. (The regtest chain's own
//! tests are the `sluice-regtest` crate's.)

mod api_limits;
mod common;
mod config;
mod rebalancer;
mod receipt_cli;
mod regtest_chain_process;
mod store_cli;
mod supervision;
