//! The regtest cluster harness and load driver (DESIGN.md §9).
//!
//! Not built yet: it needs the embedded regtest chain, the node and the payments
//! engine. It will talk to nodes only through their HTTP API and the chain's RPC.
