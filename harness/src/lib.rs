//! The regtest harness (ARCHITECTURE.md §9): `sluice` chain and node processes on
//! 127.0.0.1, built into pairs, lines and clusters, for the load driver
//! (`sluice-loadtest`) and the end-to-end tests (`sluice-tests`).
//!
//! The harness runs real processes and talks to them only as a user would: nodes through
//! their HTTP API, the chain through its JSON-RPC. It knows the API by its wire types
//! ([`sluice_api_types`]) alone and compiles no LDK.
//!
//! # Layout
//!
//! - [`process`]: locate (and if needed build) the `sluice` binary ([`SluiceBinary`]),
//!   start `sluice regtest-chain` ([`ChainProcess`]) and `sluice run` nodes
//!   ([`NodeProcess`]) on free ports in temporary directories, stop them with SIGTERM or
//!   SIGKILL and restart them on the same data directory. Every process is killed when
//!   its handle drops, a panicking test included.
//! - [`client`]: a typed client for the node API ([`ApiClient`], raw answers as
//!   [`HttpResponse`]) and a JSON-RPC client for the chain ([`ChainRpc`]), over ureq's
//!   blocking HTTP/1.1 client, with kept-alive connections where asked.
//! - [`setup`]: the steps of every set-up (open a channel, wait until it is usable, until
//!   gossip made it routable, reconnect) and the small set-ups the tests share: a
//!   [`Pair`] with a confirmed channel and a three-node [`Line`].
//! - [`cluster`]: a chain and N nodes built into a topology (line, star, ring, detour) of
//!   funded, confirmed, announced channels every payer routes over.
//! - [`pool`]: a node's liquidity pool funded for a run ([`fund_rrp`]: coins in its RRP
//!   partition, the rebalancer's budget cap).
//! - [`manifest`]: a running cluster as the load driver sees it, written by `--hold` and
//!   read by `--reuse`.
//! - this file: the harness's [`Error`], [`wait_for`] (poll a condition with a deadline
//!   instead of sleeping) and [`request_stop`] (Ctrl-C), which every wait gives up on.
//!
//! ```no_run
//! use std::time::Duration;
//! use sluice_harness::{wait_for, ChainProcess, NodeOptions, NodeProcess, SluiceBinary};
//!
//! # fn main() -> Result<(), sluice_harness::Error> {
//! let binary = SluiceBinary::for_workspace()?;
//! let chain = ChainProcess::launch(&binary)?;
//! let node = NodeProcess::launch(&binary, "a", NodeOptions::regtest(&chain))?;
//! let address = node.client().new_address()?.address;
//! chain.rpc().generate_to_address(101, &address)?;
//! wait_for("the coinbase to mature", Duration::from_secs(20), || {
//!     Ok((node.client().wallet_balance()?.spendable_sat > 0).then_some(()))
//! })?;
//! # Ok(())
//! # }
//! ```

pub mod client;
pub mod cluster;
pub mod manifest;
pub mod pool;
pub mod process;
pub mod setup;

use std::process::ExitStatus;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

pub use client::{ApiClient, ChainRpc, HttpResponse};
pub use cluster::{Cluster, ClusterSpec, Plan, Topology};
pub use manifest::{Endpoint, Manifest};
pub use pool::{fund_rrp, RrpFunding};
pub use process::{ChainProcess, ChainSource, NodeOptions, NodeProcess, SluiceBinary};
pub use setup::{Line, Pair, PairSpec};

/// Everything that can go wrong in the harness.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file, directory or process operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The `sluice` binary cannot be found or built.
    #[error("the sluice binary: {0}")]
    Binary(String),
    /// A process exited before it printed its ready line.
    #[error("{name} exited with {status} before it was ready; its stderr ends with:\n{stderr}")]
    Exited {
        /// The process's name in the harness (`chain`, a node's name).
        name: String,
        /// How it exited ([`ExitStatus::code`] is the exit code).
        status: ExitStatus,
        /// The end of what it wrote to stderr.
        stderr: String,
    },
    /// The harness was used wrongly (starting a running process, stopping a stopped one).
    #[error("{0}")]
    Usage(String),
    /// A process printed or answered something the harness cannot read.
    #[error("unexpected: {0}")]
    Unexpected(String),
    /// [`request_stop`] was called (Ctrl-C) while the harness waited.
    #[error("stopped (Ctrl-C) while waiting for {0}")]
    Stopped(String),
    /// A deadline passed.
    #[error("timed out after {after:?} waiting for {what}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// How long the harness waited.
        after: Duration,
    },
    /// An HTTP exchange failed below the API (connection, malformed answer).
    #[error("HTTP {request}: {detail}")]
    Http {
        /// The request (`GET /v1/node/info`).
        request: String,
        /// What failed.
        detail: String,
    },
    /// The node API answered with an error status.
    #[error("{request} answered {status} {code}: {message}")]
    Api {
        /// The request (`POST /v1/node/payments`).
        request: String,
        /// The HTTP status.
        status: u16,
        /// The error code of the body (`invalid_request`, …), or empty.
        code: String,
        /// The error message of the body, or the raw body.
        message: String,
    },
    /// The chain's JSON-RPC answered with an error.
    #[error("JSON-RPC {method}: {detail}")]
    Rpc {
        /// The method.
        method: String,
        /// The error code, when the server sent one.
        code: Option<i64>,
        /// The message or what failed.
        detail: String,
    },
}

impl Error {
    pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
        let what = what.into();
        move |source| Error::Io { what, source }
    }
}

/// Set by [`request_stop`]: the whole process is asked to wind down.
static STOP: AtomicBool = AtomicBool::new(false);

/// Asks every wait of the harness (process start-up, [`wait_for`]) and the load driver to
/// give up: Ctrl-C in `sluice-loadtest`. Handles then drop and kill their processes, so a
/// stop during cluster set-up leaves nothing behind.
pub fn request_stop() {
    STOP.store(true, Ordering::Relaxed);
}

/// Set once [`stop_on_ctrl_c`] installed its handler.
static CTRL_C_HANDLED: AtomicBool = AtomicBool::new(false);

/// Makes Ctrl-C call [`request_stop`] instead of killing the process, for a program that
/// winds down in order (the load driver). From then on every process the harness starts
/// gets its own process group, so the terminal's SIGINT reaches the harness alone and the
/// nodes are stopped by their handles, not under the harness's feet. Without this (in
/// tests) a Ctrl-C reaches the nodes too, so none outlives an interrupted test.
pub fn stop_on_ctrl_c() -> Result<(), Error> {
    ctrlc::set_handler(request_stop)
        .map_err(|e| Error::Unexpected(format!("installing the Ctrl-C handler: {e}")))?;
    CTRL_C_HANDLED.store(true, Ordering::Relaxed);
    Ok(())
}

pub(crate) fn ctrl_c_handled() -> bool {
    CTRL_C_HANDLED.load(Ordering::Relaxed)
}

/// Whether [`request_stop`] was called.
pub fn stop_requested() -> bool {
    STOP.load(Ordering::Relaxed)
}

/// How often [`wait_for`] probes.
pub const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// Calls `probe` every [`POLL_INTERVAL`] until it returns `Some`, for at most `timeout`.
///
/// An error from `probe` ends the wait at once (map transient errors to `Ok(None)` to
/// retry them). After the deadline the answer is [`Error::Timeout`] naming `what`.
pub fn wait_for<T>(
    what: &str,
    timeout: Duration,
    mut probe: impl FnMut() -> Result<Option<T>, Error>,
) -> Result<T, Error> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = probe()? {
            return Ok(value);
        }
        if stop_requested() {
            return Err(Error::Stopped(what.to_owned()));
        }
        if Instant::now() >= deadline {
            return Err(Error::Timeout {
                what: what.to_owned(),
                after: timeout,
            });
        }
        std::thread::sleep(POLL_INTERVAL);
    }
}
