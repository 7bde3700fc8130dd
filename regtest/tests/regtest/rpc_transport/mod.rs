//! The regtest chain's HTTP/JSON-RPC transport against recorded Bitcoin Core v30 exchanges.
//!
//! Every record of `regtest/tests/fixtures/bitcoind-regtest-rpc/*.json` (except
//! `context.json`, which is not a transcript, and `large_response.json`, whose bodies are
//! truncated; it gets a synthetic equivalent in `unrecorded.rs`) is replayed byte for
//! byte over a raw TCP connection, one keep-alive connection per file, against
//! `sluice_regtest::rpc::serve` with a scripted handler: before each record, the handler
//! is given the answers Core gave to the calls in that record (its method-level results
//! and errors), so what is compared is only what the transport adds: status line,
//! headers, framing, envelopes, ids, transport errors and the delay of failed
//! authentication.
//!
//! Nothing recorded is skipped: the `/wallet/<name>` records only need the wallet name
//! to reach the handler (`/wallet/w` for `getblockcount`, `/wallet/nosuch` for the
//! "wallet not found" error). Where the transport cannot be byte-identical to Core:
//! header names are lower-case (hyper), and an empty body's `Content-Length: 0` comes
//! after `Content-Type`, so for empty bodies header names are compared as sets; result
//! objects are compared as JSON when serde_json cannot reproduce Core's exact text
//! (member order, number spelling) of the recorded result itself.
//!
//! `server.rs` runs the server under test with its scripted handler, `client.rs` is a raw
//! HTTP/1.1 client, `transcripts.rs` replays and compares the recordings, and
//! `unrecorded.rs` tests what the recordings do not show.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod client;
mod server;
mod transcripts;
mod unrecorded;
