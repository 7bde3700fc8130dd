//! Bodies of the LSPS2 JIT channel service's admin routes (`/v1/lsps2/...`).

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// One offer of a fee menu.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Lsps2FeeOption {
    /// The least fee for an open.
    pub min_fee_msat: u64,
    /// The fee proportional to the payment, parts per million.
    pub proportional_ppm: u32,
    /// How long an offer stays valid once given, in seconds.
    pub valid_for_secs: u64,
    /// Blocks after confirmation the channel is promised to stay open.
    pub min_lifetime_blocks: u32,
    /// The most blocks the client may set as its `to_self_delay`.
    pub max_client_to_self_delay: u32,
    /// The smallest payment this offer opens a channel for.
    pub min_payment_size_msat: u64,
    /// The largest payment this offer opens a channel for.
    pub max_payment_size_msat: u64,
}

/// A token's own menu.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Lsps2TokenMenu {
    /// The token clients present.
    pub token: String,
    /// Its offers.
    pub fee_menu: Vec<Lsps2FeeOption>,
}

/// The service's current menus and limits (`GET /v1/lsps2/menu`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Lsps2MenuResponse {
    /// Offers for clients without a token.
    pub fee_menu: Vec<Lsps2FeeOption>,
    /// Menus for token holders.
    pub tokens: Vec<Lsps2TokenMenu>,
    /// Whether clients without a known token are refused.
    pub require_token: bool,
    /// Client-trusts-LSP: funding held until the fee is claimed.
    pub client_trusts_lsp: bool,
    /// Capacity beyond the first payment, parts per million of it.
    pub over_provisioning_ppm: u32,
    /// The smallest channel opened.
    pub min_channel_sat: u64,
    /// The largest channel opened.
    pub max_channel_sat: u64,
    /// Bought-but-unused SCIDs one client may hold.
    pub max_pending_buys_per_peer: usize,
    /// Opens in progress at once.
    pub max_pending_opens: usize,
    /// Capacity in JIT channels at once.
    pub max_committed_sat: u64,
    /// Capacity that may be opened for clients that have not claimed their payment: opens
    /// not yet claimed, and those closed unclaimed within `unclaimed_window_secs`.
    #[serde(default)]
    pub max_unclaimed_sat: u64,
    /// The window, in seconds, over which channels closed unclaimed still count.
    #[serde(default)]
    pub unclaimed_window_secs: u64,
    /// Seconds after its open a JIT channel whose payment was not claimed is closed.
    #[serde(default)]
    pub unclaimed_close_after_secs: u64,
    /// Orders live at once (bought and payable, or opening), over all clients.
    #[serde(default)]
    pub max_live_orders: usize,
    /// Seconds an ended order stays in the service's memory (it stays in the store).
    #[serde(default)]
    pub order_retention_secs: u64,
}

/// One JIT channel order (`GET /v1/lsps2/orders`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Lsps2Order {
    /// The order (the channel's `user_channel_id`, 32 hex digits).
    pub order_id: String,
    /// The client's node id.
    pub client_node_id: String,
    /// The intercept SCID in the client's invoice.
    pub intercept_scid: u64,
    /// `bought`, `expired` (bought, never paid while the offer was valid), `opening`,
    /// `forwarded`, `failed`, or `unclaimed` (the channel was opened but the client never
    /// claimed the payment, so the LSP closed it; `failure` says so).
    pub state: String,
    /// The fee offer bought: minimum fee.
    pub min_fee_msat: u64,
    /// The fee offer bought: proportional fee.
    pub proportional_ppm: u32,
    /// The offer's expiry (RFC 3339).
    pub valid_until: String,
    /// The payment size the client announced, if any.
    pub payment_size_msat: Option<u64>,
    /// The fee due, once the payment arrived.
    pub opening_fee_msat: Option<u64>,
    /// The amount forwarded to the client, once the payment arrived.
    pub amt_to_forward_msat: Option<u64>,
    /// The capacity opened.
    pub channel_sat: Option<u64>,
    /// The channel, once ready.
    pub channel_id: Option<String>,
    /// The fee skimmed so far.
    pub skimmed_fee_msat: u64,
    /// Why the last open failed, if it did.
    pub failure: Option<String>,
    /// When the order was bought (Unix ms).
    pub created_at_ms: u64,
    /// When the payment arrived (Unix ms).
    pub open_started_at_ms: Option<u64>,
    /// When the new channel became ready (Unix ms).
    pub channel_ready_at_ms: Option<u64>,
    /// When the client claimed the payment and the fee was skimmed (Unix ms).
    pub forwarded_at_ms: Option<u64>,
    /// When the order ended: forwarded, failed, or given up unclaimed (Unix ms).
    #[serde(default)]
    pub ended_at_ms: Option<u64>,
}

/// The most orders one page of `GET /v1/lsps2/orders` holds without `limit`.
pub const LSPS2_ORDERS_DEFAULT_LIMIT: u32 = 100;
/// The largest `limit` `GET /v1/lsps2/orders` accepts.
pub const LSPS2_ORDERS_MAX_LIMIT: u32 = 1000;

/// Paging of `GET /v1/lsps2/orders`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct Lsps2OrdersQuery {
    /// At most this many orders (default 100, at most 1000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// Where to go on: the `next_cursor` of the page before. Without it, the newest orders.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

/// One page of JIT channel orders, newest first (`GET /v1/lsps2/orders`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Lsps2OrdersResponse {
    /// The orders, newest first. A page may hold fewer than `limit` even when more follow.
    pub orders: Vec<Lsps2Order>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// Totals over the order book (`GET /v1/lsps2/summary`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Lsps2SummaryResponse {
    /// Orders bought and not (yet) paid, their offer still valid.
    pub orders_bought: usize,
    /// Orders bought and never paid while their offer was valid.
    pub orders_expired: usize,
    /// Orders whose channel is opening.
    pub orders_opening: usize,
    /// Orders whose payment was forwarded.
    pub orders_forwarded: usize,
    /// Orders refused for good.
    pub orders_failed: usize,
    /// Orders whose channel was closed because the client never claimed the payment.
    #[serde(default)]
    pub orders_unclaimed: usize,
    /// Opening fees skimmed.
    pub revenue_msat: u64,
    /// Capacity in JIT channels opening or open.
    pub committed_sat: u64,
    /// Capacity opened for clients that have not claimed, as counted against
    /// `max_unclaimed_sat`.
    #[serde(default)]
    pub unclaimed_sat: u64,
    /// Orders the service holds in memory (live, or ended within `order_retention_secs`).
    #[serde(default)]
    pub orders_in_memory: usize,
}
