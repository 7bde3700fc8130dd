//! LSPS2 JIT channels (bLIP-52), the service side, over lightning-liquidity 0.2.7
//! (ARCHITECTURE.md §6): a client with no channel asks for a fee menu, buys an intercept SCID
//! for its invoice, and when a payment reaches that SCID the node opens a zero-conf
//! channel to the client and forwards the payment minus the opening fee.
//!
//! - [`config`]: the menus, tokens and limits the operator sets;
//! - [`menu`]: which menu a client gets;
//! - [`open`]: how big a channel to open, and whether the limits allow it;
//! - [`recovery`]: what a restart mid-flow leaves half done, and how it is finished;
//! - [`service`]: the [`Lsps2Service`] actor, which decides and keeps the order book;
//! - [`ldk_events`]: LDK's events that lightning-liquidity (and the order book) must see.
//!
//! What survives a restart: lightning-liquidity persists its own state (SCIDs sold, HTLCs
//! held) as it changes, and its `OpenChannel` event shortly after; the order book is in
//! the store. `GetInfo` and
//! `BuyRequest` do not survive (the client asks again). An open lost with an unfunded
//! channel in a crash is failed at start, so the payer can retry at once; an open or a
//! forward lightning-liquidity decided but LDK did not record is finished by the service
//! ([`recovery`]). Opens and forwards wait for an absent client (`client_wait_secs`).

pub mod config;
pub mod ldk_events;
pub mod menu;
pub mod open;
pub mod recovery;
pub mod service;

use std::time::Duration;

use ractor::{ActorRef, RpcReplyPort};
use serde::Serialize;
use sluice_storage::JitOrderRecord;

pub use config::{FeeOption, Lsps2Config, TokenMenu};
pub use service::{expired_unpaid, Lsps2Msg, Lsps2Service};

use crate::NodeError;

/// The registered name of the LSPS2 service actor.
pub const NAME: &str = "lsps2";
/// How long a caller waits for the actor.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// Totals over the order book.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Lsps2Summary {
    /// Orders bought and not (yet) paid, their offer still valid.
    pub orders_bought: usize,
    /// Orders bought and never paid while their offer was valid.
    pub orders_expired: usize,
    /// Orders whose channel is opening.
    pub orders_opening: usize,
    /// Orders whose payment was forwarded over the new channel.
    pub orders_forwarded: usize,
    /// Orders refused for good.
    pub orders_failed: usize,
    /// Opening fees skimmed, in millisatoshis.
    pub revenue_msat: u64,
    /// Capacity in JIT channels opening or open, in satoshis.
    pub committed_sat: u64,
}

fn actor() -> Result<ActorRef<Lsps2Msg>, NodeError> {
    ractor::registry::where_is(NAME)
        .map(Into::into)
        .ok_or(NodeError::NotEnabled("the LSPS2 service"))
}

async fn call<T: Send + 'static>(
    message: impl FnOnce(RpcReplyPort<T>) -> Lsps2Msg,
) -> Result<T, NodeError> {
    match actor()?
        .call(message, Some(CALL_TIMEOUT))
        .await
        .map_err(|_| NodeError::NotRunning)?
    {
        ractor::rpc::CallResult::Success(answer) => Ok(answer),
        ractor::rpc::CallResult::Timeout => Err(NodeError::Timeout("the LSPS2 service")),
        ractor::rpc::CallResult::SenderError => Err(NodeError::NotRunning),
    }
}

/// Every JIT order, newest first.
pub async fn orders() -> Result<Vec<JitOrderRecord>, NodeError> {
    call(Lsps2Msg::Orders).await
}

/// Totals over the order book.
pub async fn summary() -> Result<Lsps2Summary, NodeError> {
    call(Lsps2Msg::Summary).await
}
