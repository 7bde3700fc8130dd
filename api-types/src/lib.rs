//! The wire types of the sluice node API: its JSON bodies and its paths, shared by the
//! server (`sluice-api`), the node, the harness and any client, with serde and utoipa
//! only, so a client does not compile LDK to get its JSON structs.
//!
//! These types are deliberately plain so a client (the load tester) can reuse them:
//! node ids, channel ids, hashes and preimages are lowercase hex strings, amounts are
//! integers whose name carries the unit (`_sat`, `_msat`), times are Unix
//! milliseconds (`_ms`) or seconds (`_secs`). Request bodies refuse unknown fields, so a
//! misspelt option (`zero_confs`) is an error rather than silently ignored.
//!
//! # Layout
//!
//! - this file: the node administration bodies (node, peers, channels, invoices,
//!   payments, wallet, health) and the error body every error answer carries;
//! - `liquidity`: the liquidity bodies (`quote_pay`, `pay`, keysend) and their schema
//!   names, re-exported here;
//! - `lsps2`: the LSPS2 service's menu, orders and summary, re-exported here;
//! - `budgets`: the API tokens' spend budgets, re-exported here;
//! - `pools`: the liquidity pool (creation, deposits, positions, status), re-exported
//!   here;
//! - `pool_withdrawals`: LP withdrawals (request, read-back, cancel, approval), the
//!   operator's halt of payouts and the payout throttle, re-exported here;
//! - `credit`: credit envelopes (intents, offers, envelopes, settlements, repayments, an
//!   agent's exposure, the credit health), re-exported here;
//! - `nostr`: the Nostr mirror's state (its key, relays and outbox), re-exported here;
//! - `rebalancer`: the rebalancer's state, plan and recent rebalances, its kill switch
//!   and per-channel settings, re-exported here;
//! - [`paths`]: every route's path, for the router, the OpenAPI document and clients.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// The body of every error answer: `{"error":{"code","message"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorResponse {
    /// What went wrong.
    pub error: ErrorBody,
}

/// The code and message of an error answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// A stable, machine-readable snake_case code (`invalid_request`, `not_found`, …).
    pub code: String,
    /// A human-readable explanation; not stable, do not parse it.
    pub message: String,
}

/// Whether the node can serve requests (`GET /healthz`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HealthResponse {
    /// The overall state; `unavailable` is answered with HTTP 503.
    pub status: HealthStatus,
    /// Why the node is degraded or unavailable, if it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// The overall state of the node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HealthStatus {
    /// Everything works.
    Ok,
    /// The node serves requests but something needs attention (chain sync lagging, …).
    Degraded,
    /// The node cannot serve requests (starting, stopping, a fatal error).
    Unavailable,
}

/// The node's identity and view of the chain (`GET /v1/node/info`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NodeInfoResponse {
    /// The node's public key, 33 bytes compressed, hex.
    pub node_id: String,
    /// The Bitcoin network: `bitcoin`, `testnet`, `signet` or `regtest`.
    pub network: String,
    /// The height of the best block the node has synced to.
    pub block_height: u32,
    /// The hash of that block, hex.
    pub block_hash: String,
    /// How many peers are connected.
    pub num_peers: u32,
    /// How many channels the node has, in any state.
    pub num_channels: u32,
    /// How many of them can route payments now.
    pub num_usable_channels: u32,
    /// Public channels in the node's network graph (learned from gossip, each checked
    /// against the chain), which pathfinding routes over.
    pub num_graph_channels: u32,
    /// Of those, the channels with a `channel_update` from both ends: pathfinding uses
    /// only these. An update that arrives before its channel's announcement is dropped,
    /// so a fresh channel can stay unroutable until its ends broadcast again or the node
    /// resyncs gossip (reconnects).
    pub num_routable_graph_channels: u32,
    /// Nodes in the network graph.
    pub num_graph_nodes: u32,
    /// The addresses the node listens on for Lightning peers (`host:port`).
    pub listening_addresses: Vec<String>,
    /// The sluice version.
    pub version: String,
}

/// A connected Lightning peer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PeerInfo {
    /// The peer's node id, hex.
    pub node_id: String,
    /// The peer's address (`host:port`), if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Whether the peer connected to us (rather than we to it).
    pub is_inbound: bool,
}

/// The connected peers (`GET /v1/node/peers`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ListPeersResponse {
    /// One entry per connected peer.
    pub peers: Vec<PeerInfo>,
}

/// Connect to a peer (`POST /v1/node/peers`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectPeerRequest {
    /// The peer's node id, 33 bytes compressed, hex.
    pub node_id: String,
    /// Where to reach it: `host:port` (IPv6 hosts in brackets).
    pub address: String,
}

/// The answer to a peer connect or disconnect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PeerResponse {
    /// The peer's node id, hex.
    pub node_id: String,
}

/// Open a channel (`POST /v1/node/channels`).
///
/// Send an `Idempotency-Key` header to make retries safe: the node opens at most one
/// channel per key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenChannelRequest {
    /// The counterparty's node id, hex.
    pub node_id: String,
    /// The counterparty's address (`host:port`); needed when it is not connected yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// The channel's capacity, funded from the on-chain wallet.
    pub capacity_sat: u64,
    /// How much of the capacity to give the counterparty at open.
    #[serde(default)]
    pub push_msat: u64,
    /// Whether to announce the channel to the network (a public channel).
    #[serde(default)]
    pub announce: bool,
    /// Whether the channel may be used before its funding transaction confirms.
    #[serde(default)]
    pub zero_conf: bool,
}

/// The answer to a channel open.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OpenChannelResponse {
    /// The new channel's id (temporary until the funding transaction is known), hex.
    pub channel_id: String,
}

/// Close a channel (`POST /v1/node/channels/{channel_id}/close`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseChannelRequest {
    /// The counterparty's node id, hex.
    pub counterparty_node_id: String,
    /// Broadcast our latest commitment transaction instead of negotiating a close.
    #[serde(default)]
    pub force: bool,
}

/// The answer to a channel close: the close has started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CloseChannelResponse {
    /// The channel being closed, hex.
    pub channel_id: String,
    /// Whether it is a force close.
    pub force: bool,
}

/// A channel and its balances.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ChannelInfo {
    /// The channel id, hex.
    pub channel_id: String,
    /// The counterparty's node id, hex.
    pub counterparty_node_id: String,
    /// The funding output as `txid:vout`, once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub funding_txo: Option<String>,
    /// The short channel id, once the funding transaction confirmed (or an alias for
    /// a 0-conf channel).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub short_channel_id: Option<u64>,
    /// The total capacity.
    pub capacity_sat: u64,
    /// What we can send now, in millisatoshis.
    pub outbound_capacity_msat: u64,
    /// What we can receive now, in millisatoshis.
    pub inbound_capacity_msat: u64,
    /// The most a single outgoing HTLC can carry now.
    pub next_outbound_htlc_limit_msat: u64,
    /// The reserve the peer requires this node to keep in the channel, unspendable by
    /// payments (part of the balance, not of `outbound_capacity_msat`); absent until the
    /// channel is negotiated. It follows the capacity when a splice changes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reserve_sat: Option<u64>,
    /// Confirmations of the funding transaction, once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmations: Option<u32>,
    /// Confirmations required before the channel is ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmations_required: Option<u32>,
    /// Whether we opened the channel.
    pub is_outbound: bool,
    /// Whether both sides exchanged `channel_ready`.
    pub is_ready: bool,
    /// Whether the channel can route payments now (ready and the peer connected).
    pub is_usable: bool,
    /// Whether the channel is announced to the network.
    pub is_announced: bool,
    /// Whether the channel has anchor outputs: its commitments pay a minimal fee and are
    /// fee-bumped from the on-chain wallet when they must confirm.
    pub anchors: bool,
}

/// The node's channels (`GET /v1/node/channels`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ListChannelsResponse {
    /// One entry per channel, in any state.
    pub channels: Vec<ChannelInfo>,
}

/// Create a BOLT11 invoice (`POST /v1/node/invoices`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateInvoiceRequest {
    /// The amount; absent for an any-amount invoice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount_msat: Option<u64>,
    /// The description (at most 639 bytes).
    #[serde(default)]
    pub description: String,
    /// How long the invoice stays payable; one hour when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiry_secs: Option<u32>,
}

/// A created invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct InvoiceResponse {
    /// The BOLT11 invoice.
    pub bolt11: String,
    /// Its payment hash, hex.
    pub payment_hash: String,
    /// Its amount, if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount_msat: Option<u64>,
    /// When it expires, Unix seconds.
    pub expires_at_secs: u64,
}

/// Which way a payment goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentDirection {
    /// We receive.
    Inbound,
    /// We send.
    Outbound,
}

/// Where a payment stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    /// In flight, or an invoice not paid yet.
    Pending,
    /// Paid (outbound) or claimed (inbound).
    Succeeded,
    /// Failed or expired.
    Failed,
}

/// `POST /v1/node/payments`: pays a BOLT11 invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PayInvoiceRequest {
    /// The BOLT11 invoice.
    pub invoice: String,
    /// The amount to pay, for an invoice without one (must be absent otherwise).
    #[serde(default)]
    pub amount_msat: Option<u64>,
    /// The most to pay in routing fees; when absent, 1 % of the amount plus 50 sat.
    #[serde(default)]
    pub max_fee_msat: Option<u64>,
}

/// A payment, sent or received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PaymentInfo {
    /// The payment id, hex (32 bytes).
    pub id: String,
    /// Sent or received.
    pub direction: PaymentDirection,
    /// Where it stands.
    pub status: PaymentStatus,
    /// The amount paid or received, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount_msat: Option<u64>,
    /// The routing fee paid (outbound payments), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fee_paid_msat: Option<u64>,
    /// The payment hash, hex.
    pub payment_hash: String,
    /// The preimage, hex, once the payment succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preimage: Option<String>,
    /// Why a failed payment failed, a stable code (for example `route_not_found`,
    /// `recipient_rejected`, or `interrupted_before_sending`: the node stopped before the
    /// payment left it, nothing was sent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_code: Option<String>,
    /// The API token that started an outbound payment (its SHA-256, hex).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_sha256: Option<String>,
    /// When the payment was created, Unix milliseconds.
    pub created_at_ms: u64,
    /// When its status last changed, Unix milliseconds.
    pub updated_at_ms: u64,
}

/// Filters for `GET /v1/node/payments`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListPaymentsQuery {
    /// Only payments going this way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<PaymentDirection>,
    /// Only payments in this state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<PaymentStatus>,
    /// At most this many payments, newest first (default 100, at most 1000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// Continue after an earlier page: its `next_cursor`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// Only payments of this payment hash (hex): every attempt to pay it and every
    /// payment received with it, in one page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_hash: Option<String>,
}

/// A page of the payments matching a filter (`GET /v1/node/payments`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ListPaymentsResponse {
    /// Newest first. A page may hold fewer than `limit` when the filter skipped many
    /// payments: follow `next_cursor`.
    pub payments: Vec<PaymentInfo>,
    /// Where the next page starts (pass as `cursor`); absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// A fresh on-chain address of the node's wallet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WalletAddressResponse {
    /// The address.
    pub address: String,
}

/// The on-chain wallet's balance (`GET /v1/node/wallet/balance`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WalletBalanceResponse {
    /// Confirmed funds.
    pub confirmed_sat: u64,
    /// Unconfirmed funds (ours and others').
    pub unconfirmed_sat: u64,
    /// Coinbase outputs not yet mature.
    pub immature_sat: u64,
    /// Everything: confirmed + unconfirmed + immature.
    pub total_sat: u64,
    /// What a channel open or payout can spend now (after reserves).
    pub spendable_sat: u64,
    /// The block the wallet has synced to: the balance is as of it (the wallet follows
    /// the chain on its own, a little behind the Lightning node's best block).
    pub synced_height: u32,
}

mod budgets;
mod credit;
mod liquidity;
mod lsps2;
mod nostr;
pub mod paths;
mod pool_snapshots;
mod pool_withdrawals;
mod pools;
mod rebalancer;
mod stats;
pub use budgets::*;
pub use credit::*;
pub use liquidity::*;
pub use lsps2::*;
pub use nostr::*;
pub use pool_snapshots::*;
pub use pool_withdrawals::*;
pub use pools::*;
pub use rebalancer::*;
pub use stats::*;
