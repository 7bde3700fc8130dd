//! The node crate's integration tests, one binary (one link) for all of them: the
//! configuration layers, the embedded regtest chain (in process, as its own process,
//! over its RPC transport and to the clients LDK and BDK use), and the `sluice store` and
//! `sluice receipt` commands.

mod common;
mod config;
mod receipt_cli;
mod regtest_chain;
mod regtest_chain_process;
mod regtest_clients;
mod regtest_rpc_methods;
mod regtest_rpc_transport;
mod store_cli;
mod supervision;
