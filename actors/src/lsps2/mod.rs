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
//!
//! # Griefing and growth
//!
//! Anyone may buy from a public menu, so what a client that buys and never pays or never
//! claims can cost is bounded: the capacity opened for clients that have not claimed is
//! budgeted over a sliding window (`max_unclaimed_sat`, `unclaimed_window_secs`), a
//! channel never claimed is closed after `unclaimed_close_after_secs` and its order ends
//! `unclaimed`, and the live orders are bounded (`max_live_orders`). A buy over a limit is
//! answered with LSPS0's `client_rejected` error naming the limit (sent through
//! [`LspsOutbox`](crate::liquidity_messages::LspsOutbox): lightning-liquidity has no
//! refusal of its own for a valid buy). Ended orders leave memory after
//! `order_retention_secs` and stay in the store, which lists them a page at a time
//! ([`orders_page`]).

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
use sluice_storage::{JitOrderRecord, JitOrderTimeKey, KEYS_END};

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
    /// Orders whose channel was opened and closed again because the client never claimed.
    pub orders_unclaimed: usize,
    /// Opening fees skimmed, in millisatoshis.
    pub revenue_msat: u64,
    /// Capacity in JIT channels opening or open, in satoshis.
    pub committed_sat: u64,
    /// Capacity opened for clients that have not claimed, as counted against
    /// `max_unclaimed_sat`, in satoshis.
    pub unclaimed_sat: u64,
    /// Orders the service holds in memory: the live ones and those that ended within the
    /// retention period.
    pub orders_in_memory: usize,
}

/// One page of [`orders_page`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrdersPage {
    /// The orders, newest first.
    pub orders: Vec<JitOrderRecord>,
    /// Where the next page starts (pass it as `below`), if there may be one.
    pub next_cursor: Option<String>,
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

/// Whether `cursor` has the shape of a [`OrdersPage::next_cursor`] (what an API checks
/// before passing it to [`orders_page`]).
pub fn valid_cursor(cursor: &str) -> bool {
    JitOrderTimeKey::is_key(cursor)
}

/// One page of the JIT orders, newest first, read from the store (ended orders the service
/// no longer holds included): at most `limit` orders created before the cursor `below` (a
/// `next_cursor` of an earlier page; from the newest when `None`). Reads the by-time index
/// backwards for `limit` + 1 entries and then each order by its id, so a page costs the
/// same however many orders the store holds. A page may be short when an index entry is
/// stale (see [`JitOrderTimeKey`]); the listing ends when `next_cursor` is `None`.
pub async fn orders_page(
    components: &Components,
    below: Option<String>,
    limit: usize,
) -> Result<OrdersPage, NodeError> {
    if components.lsps2.is_none() {
        return Err(NodeError::NotEnabled("the LSPS2 service"));
    }
    let store = &components.store;
    let below = below.unwrap_or_else(|| KEYS_END.to_owned());
    let mut keys = store
        .range::<JitOrderTimeKey>("", below, limit.saturating_add(1), true)
        .await?;
    let next_cursor = if keys.len() > limit {
        keys.truncate(limit);
        keys.last().map(|(key, _)| key.clone())
    } else {
        None
    };
    let mut orders = Vec::with_capacity(keys.len());
    for (_, key) in keys {
        let order = store.get::<JitOrderRecord>(key.order_id.clone()).await?;
        if let Some(order) = order.filter(|o| o.created_at_ms == key.created_at_ms) {
            orders.push(order);
        }
    }
    Ok(OrdersPage {
        orders,
        next_cursor,
    })
}

/// Totals over the order book.
pub async fn summary(components: &Components) -> Result<Lsps2Summary, NodeError> {
    call(components, Lsps2Msg::Summary).await
}
