//! `GET /stats`: the node's public figures (issue 19): liquidity, routing income, how
//! payments fare, channel health, the pool's NAV and share prices, deposits and
//! withdrawals, and its latest proof snapshot, and the credit envelopes' state (what they
//! reserve, their losses, both circuit breakers). Computed at most once a minute.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::SharePrice;

/// `schema` of the stats.
pub const STATS_SCHEMA: &str = "openagents.liquidity.stats.v1";

/// The node's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StatsResponse {
    /// [`STATS_SCHEMA`].
    pub schema: String,
    /// When they were computed (RFC 3339, UTC); they are served for up to
    /// `cache_secs` after.
    pub generated_at: String,
    /// When they were computed, Unix ms.
    pub generated_at_ms: u64,
    /// How long they are served before being computed again, s.
    pub cache_secs: u64,
    /// What the node holds.
    pub liquidity: LiquidityStats,
    /// Its channels' state.
    pub channels: ChannelStats,
    /// Forwarding income.
    pub routing: RoutingStats,
    /// How the node's own recent payments fared.
    pub payments: PaymentStats,
    /// The node's pool, if it runs one.
    pub pool: Option<PoolStats>,
    /// The credit envelopes and their circuit breakers.
    pub credit: CreditStats,
}

/// What the node holds, msat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LiquidityStats {
    /// Everything below, summed.
    pub total_msats: u64,
    /// The on-chain wallet.
    pub onchain_msats: u64,
    /// What the node could send over its channels now.
    pub channels_outbound_msats: u64,
    /// What its peers could send it now.
    pub channels_inbound_msats: u64,
    /// Channel reserves and outgoing HTLCs in flight.
    pub channels_locked_msats: u64,
}

/// The channels' state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ChannelStats {
    /// Open channels.
    pub open: u64,
    /// Of them, usable now (peer connected, channel ready).
    pub usable: u64,
    /// Peers connected.
    pub peers_connected: u64,
    /// Outbound over outbound plus inbound capacity (`null` without channels): near 0
    /// the node cannot send, near 1 it cannot receive.
    pub outbound_ratio: Option<f64>,
}

/// Forwarding income over the last 24 hours, and per hour for the chart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RoutingStats {
    /// Forwards settled in the last 24 h.
    pub forwards_24h: u64,
    /// Forwarding fees earned in the last 24 h, msat.
    pub fees_24h_msats: u64,
    /// JIT channel fees earned in the last 24 h, msat.
    pub jit_fees_24h_msats: u64,
    /// The last 24 hours, oldest first.
    pub hourly: Vec<HourStats>,
}

/// One hour of forwarding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HourStats {
    /// The hour's start, Unix ms.
    pub hour_ms: u64,
    /// Forwards settled in it.
    pub forwards: u64,
    /// Fees earned in it (forwarding and JIT), msat.
    pub fees_msats: u64,
}

/// The node's most recent outgoing payments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PaymentStats {
    /// How many were looked at (the most recent, at most 1,000).
    pub sample: u64,
    /// Of them, succeeded.
    pub succeeded: u64,
    /// Failed.
    pub failed: u64,
    /// Not settled yet.
    pub pending: u64,
    /// Succeeded over settled (`null` if none settled).
    pub success_rate: Option<f64>,
}

/// The node's pool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PoolStats {
    /// The pool.
    pub pool_id: String,
    /// Every partition's NAV, summed, msat.
    pub nav_msats: u64,
    /// The node's assets less the booked ones, msat (the operator's own funds and costs
    /// not booked yet).
    pub drift_msats: i64,
    /// Each partition.
    pub partitions: Vec<PartitionStats>,
    /// The latest proof snapshot, if one was taken.
    pub latest_snapshot: Option<SnapshotStats>,
}

/// One partition of the pool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PartitionStats {
    /// `llp`, `cep` or `rrp`.
    pub partition_kind: String,
    /// NAV, msat.
    pub nav_msats: u64,
    /// The share price, sat per share (display).
    pub share_price_sats: f64,
    /// The exact share price.
    pub share_price: SharePrice,
    /// LPs holding shares.
    pub lp_count: u64,
    /// Deposited in total, msat.
    pub deposits_msats: u64,
    /// Withdrawn in total, msat.
    pub withdrawals_msats: u64,
    /// Income booked in total (routing, JIT, credit fees), msat.
    pub income_msats: u64,
    /// Owed by agents for credit envelopes it paid out, msat (only CEP lends).
    pub receivables_msats: u64,
    /// Credit envelope fees earned in total (part of `income_msats`), msat.
    pub credit_fees_msats: u64,
    /// What defaulted credit envelopes left unpaid, less what was recovered later, msat.
    pub credit_losses_msats: u64,
}

/// The credit envelopes (lent from the CEP partition) and their circuit breakers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CreditStats {
    /// Live envelopes (open, paying or owed).
    pub open_envelopes: u32,
    /// What they reserve from CEP partitions, msat.
    pub reserved_msats: u64,
    /// Recent envelope outcomes (draws and defaults) the loss breaker judges.
    pub loss_sample: u32,
    /// Of them, defaults.
    pub loss_count: u32,
    /// Defaults over outcomes, basis points (0 without outcomes).
    pub loss_rate_bps: u32,
    /// The loss breaker is tripped: no new envelopes are issued.
    pub halt_new_envelopes: bool,
    /// Recent settled outgoing payments the Lightning breaker judges.
    pub ln_sample: u32,
    /// Of them, failed.
    pub ln_failed_count: u32,
    /// Failed over settled, basis points (0 without payments).
    pub ln_failure_rate_bps: u32,
    /// The Lightning breaker is tripped: settlements above `large_settlement_sats` wait.
    pub hold_large_settlements: bool,
    /// Settlements above this, sat, wait while the Lightning breaker is tripped.
    pub large_settlement_sats: u64,
}

/// The latest proof snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SnapshotStats {
    /// Its number.
    pub snapshot_seq: u64,
    /// Its receipt.
    pub receipt_id: String,
    /// The liabilities tree's root, hex.
    pub merkle_root: String,
    /// The liabilities it signs, msat.
    pub liabilities_msats: u64,
    /// When it was taken (RFC 3339, UTC).
    pub taken_at: String,
}
