//! LSPS2 JIT channels (bLIP-52), the service side, over lightning-liquidity 0.2.7
//! (ARCHITECTURE.md §6): a client with no channel asks for a fee menu, buys an intercept SCID
//! for its invoice, and when a payment reaches that SCID the node opens a zero-conf
//! channel to the client and forwards the payment minus the opening fee.
//!
//! # Layout
//!
//! - [`config`]: the menus, tokens and limits the operator sets;
//! - [`menu`]: which menu a client gets;
//! - [`limits`]: how big a channel to open, and whether the limits allow it;
//! - [`order`]: how one order changes, state by state;
//! - [`book`]: the order book and the questions asked of it;
//! - [`recovery`]: the arithmetic of finishing what a restart left half done;
//! - [`machine`]: the service's decisions, a pure state machine returning actions;
//! - [`service`]: the [`Lsps2Service`] actor, which feeds the machine;
//! - [`execute`]: carrying the actions out (store, lightning-liquidity, LDK);
//! - [`view`]: the node as the machine reads it;
//! - [`ldk_events`]: LDK's events that lightning-liquidity (and the order book) must see.
//!
//! What survives a restart: lightning-liquidity persists its own state (SCIDs sold, HTLCs
//! held) as it changes, and its `OpenChannel` event shortly after; the order book is in
//! the store. `GetInfo` and `BuyRequest` do not survive (the client asks again). An open
//! lost with an unfunded channel in a crash is opened again while LDK holds the payment,
//! or failed so the payer can retry at once; an open or a forward lightning-liquidity
//! decided but LDK did not record is finished by the service ([`machine`]'s restart step).
//! Opens and forwards wait for an absent client (`client_wait_secs`), woken when it
//! connects.

pub mod book;
pub mod config;
pub mod execute;
pub mod ldk_events;
pub mod limits;
pub mod machine;
pub mod menu;
pub mod order;
pub mod recovery;
pub mod service;
pub mod view;

use std::time::Duration;

use serde::Serialize;
use sluice_storage::JitOrderRecord;

pub use config::{FeeOption, Lsps2Config, TokenMenu};
pub use order::expired_unpaid;
pub use service::{Lsps2Msg, Lsps2Service};

use crate::{Components, NodeError};

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

/// Asks the running LSPS2 service; [`NodeError::NotEnabled`] on a node that does not sell
/// JIT channels.
async fn call<T: Send + 'static>(
    components: &Components,
    ask: impl FnOnce(ractor::RpcReplyPort<T>) -> Lsps2Msg,
) -> Result<T, NodeError> {
    if components.lsps2.is_none() {
        return Err(NodeError::NotEnabled("the LSPS2 service"));
    }
    components.actors.lsps2.call(ask, CALL_TIMEOUT).await
}

/// Every JIT order, newest first.
pub async fn orders(components: &Components) -> Result<Vec<JitOrderRecord>, NodeError> {
    call(components, Lsps2Msg::Orders).await
}

/// Totals over the order book.
pub async fn summary(components: &Components) -> Result<Lsps2Summary, NodeError> {
    call(components, Lsps2Msg::Summary).await
}
