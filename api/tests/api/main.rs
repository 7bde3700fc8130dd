//! Integration tests of the sluice API over a canned [`NodeBackend`] test double.
//!
//! One test binary with modules, so the crate is linked once.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod auth;
mod common;
mod credit;
mod errors;
mod liquidity;
mod metrics;
mod nostr;
mod openapi;
mod pool_withdrawals;
mod props;
mod rate_limit;
mod rebalancer;
mod routes;
mod scope_matrix;
mod serve;
mod tls;
