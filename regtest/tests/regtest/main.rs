//! The regtest chain's integration tests, one binary (one link) for all of them: the chain
//! in process (`chain`), its RPC methods and its HTTP transport against recorded Bitcoin
//! Core v30 exchanges (`rpc_methods`, `rpc_transport`), and the clients LDK and BDK use
//! against it (`clients`). `sluice regtest-chain`, the chain as its own process, is tested
//! with the `sluice` binary in the node crate (`node/tests/node/regtest_chain_process.rs`).

mod chain;
mod clients;
mod common;
mod rpc_methods;
mod rpc_transport;
