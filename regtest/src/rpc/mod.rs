//! A Bitcoin Core compatible JSON-RPC server.
//!
//! The transport (`server`, `envelope`) speaks HTTP/1.1 and JSON-RPC 1.0/2.0 exactly as
//! Bitcoin Core v30 does (status codes, envelopes, batches, notifications, Basic auth);
//! the methods are behind [`RpcHandler`], so the transport knows nothing of the chain.

mod envelope;
mod error;
mod server;

pub use error::RpcError;
pub use server::{serve, RpcServerConfig, DEFAULT_MAX_BODY_BYTES};

use serde_json::Value;

/// Executes JSON-RPC methods. Called on a blocking thread: implementations may take
/// locks and do CPU-heavy work (script checks, mining).
pub trait RpcHandler: Send + Sync + 'static {
    /// Runs `method` with `params`, which is a JSON array (positional) or object (named
    /// parameters); an absent `params` arrives as an empty array. `wallet` is the wallet
    /// name when the request came to `/wallet/<name>`.
    fn call(&self, method: &str, params: &Value, wallet: Option<&str>) -> Result<Value, RpcError>;
}
