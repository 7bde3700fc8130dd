//! The liquidity pool bodies (spec §4–5, §10.1), OpenAgents-compatible: pool creation
//! (admin), deposit quotes, deposits, an LP's position and the pool's status (`lp`).
//!
//! Share counts are given twice: `…shares` as a JSON number of shares (a share is 10^9
//! units, priced 1 sat in an empty partition) for display, and `…units` as a decimal
//! string of units, exact. A price is likewise `share_price_sats` (a number) and
//! `share_price` (the exact fraction: msat over units).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// `schema` of a deposit quote request.
pub const DEPOSIT_QUOTE_REQUEST_SCHEMA: &str = "openagents.liquidity.pool.deposit_quote_request.v1";
/// `schema` of a deposit quote answer (and of a deposit read back).
pub const DEPOSIT_QUOTE_RESPONSE_SCHEMA: &str =
    "openagents.liquidity.pool.deposit_quote_response.v1";
/// `schema` of a pool status.
pub const POOL_STATUS_SCHEMA: &str = "openagents.liquidity.pool.status.v1";
/// `schema` of an LP's position.
pub const POOL_POSITION_SCHEMA: &str = "openagents.liquidity.pool.position.v1";

/// Create the node's pool (`POST /v1/pools`, admin). Repeating the same body answers the
/// same pool; another body for an existing id is refused (`pool_exists`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePoolRequest {
    /// The pool's id: 1–64 characters of `a-z`, `0-9`, `-` and `_`.
    pub pool_id: String,
    /// What the operator calls it (up to 128 characters); the id if absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The partitions LPs may deposit into (`llp`, `cep`, `rrp`); all three if absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partitions: Option<Vec<String>>,
}

/// A pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PoolInfo {
    /// The pool's id.
    pub pool_id: String,
    /// Its name.
    pub name: String,
    /// The partitions LPs may deposit into.
    pub partitions: Vec<String>,
    /// When it was created (RFC 3339, UTC).
    pub created_at: String,
    /// When it was created, Unix ms.
    pub created_at_ms: u64,
}

/// The exact price of a share: `msat / units` msat per unit (virtual offset included).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SharePrice {
    /// NAV plus the virtual msat, decimal.
    pub msat: String,
    /// Units outstanding plus the virtual units, decimal.
    pub units: String,
}

/// Quote a deposit (`POST /v1/pools/{pool_id}/deposit_quote`, `lp`). The same
/// `idempotency_key` with the same body answers the same deposit; with another body it is
/// refused (`idempotency_conflict`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DepositQuoteRequest {
    /// Must be `openagents.liquidity.pool.deposit_quote_request.v1`.
    pub schema: String,
    /// The depositor (1–128 printable ASCII characters). An LP id belongs to the token
    /// that first used it: another token's deposit for it is refused (`forbidden`).
    pub lp_id: String,
    /// The caller's key for this request (1–128 printable ASCII characters).
    pub idempotency_key: String,
    /// `llp` (default), `cep` or `rrp`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition_kind: Option<String>,
    /// `lightning_invoice` or `onchain_address`.
    pub rail: String,
    /// The amount, sat (from 1,000 up to the node's deposit ceiling).
    pub amount_sats: u64,
    /// A note for the invoice (up to 256 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// How long the quote stays payable, s (60 to 86,400; default 3,600).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiry_secs: Option<u64>,
}

/// A deposit as it stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Deposit {
    /// The deposit's id.
    pub deposit_id: String,
    /// The pool.
    pub pool_id: String,
    /// The partition.
    pub partition_kind: String,
    /// The depositor.
    pub lp_id: String,
    /// `lightning_invoice` or `onchain_address`.
    pub rail: String,
    /// The amount quoted, sat.
    pub amount_sats: u64,
    /// The amount received, msat (once received).
    pub received_msats: Option<u64>,
    /// Before it confirms, the price now (what it would mint at); after, the price it
    /// minted at. sat per share.
    pub share_price_sats: f64,
    /// The exact price behind `share_price_sats`.
    pub share_price: SharePrice,
    /// Shares minted (once confirmed), as a number.
    pub shares_minted: Option<f64>,
    /// Share units minted (once confirmed), exact.
    pub units_minted: Option<String>,
    /// `quoted`, `pending`, `confirmed` or `expired`.
    pub status: String,
    /// The request's idempotency key.
    pub idempotency_key: String,
    /// The invoice to pay (Lightning).
    pub invoice_bolt11: Option<String>,
    /// SHA-256 of the invoice text, hex (Lightning).
    pub invoice_hash: Option<String>,
    /// The invoice's payment hash, hex (Lightning).
    pub payment_hash: Option<String>,
    /// The address to pay (on-chain).
    pub deposit_address: Option<String>,
    /// Confirmations an on-chain deposit needs.
    pub required_confirmations: Option<u32>,
    /// When it was quoted (RFC 3339, UTC).
    pub created_at: String,
    /// Until when it is payable (RFC 3339, UTC).
    pub expires_at: String,
    /// When it confirmed (RFC 3339, UTC).
    pub confirmed_at: Option<String>,
}

/// A deposit quote, or a deposit read back (`GET /v1/pools/{pool_id}/deposits/{deposit_id}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DepositQuoteResponse {
    /// `openagents.liquidity.pool.deposit_quote_response.v1`.
    pub schema: String,
    /// The deposit.
    pub deposit: Deposit,
    /// The signed `deposit_receipt`, once it confirmed (`null` before).
    #[schema(value_type = Object)]
    pub receipt: Value,
}

/// Cumulative amounts through a partition's income and cost accounts, msat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PartitionFlows {
    /// LP deposits credited.
    pub deposits_msats: u64,
    /// LP withdrawals (value at the burn).
    pub withdrawals_msats: u64,
    /// Forwarding fees earned.
    pub routing_fees_msats: u64,
    /// JIT channel fees earned.
    pub jit_fees_msats: u64,
    /// Credit envelope fees earned.
    pub credit_fees_msats: u64,
    /// Credit losses.
    pub credit_losses_msats: u64,
    /// Rebalancing costs.
    pub rebalance_costs_msats: u64,
    /// On-chain fees.
    pub onchain_fees_msats: u64,
    /// Routing fees the pool paid sending withdrawals over Lightning, msat.
    pub payout_fees_msats: u64,
}

/// One partition of a pool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PartitionStatus {
    /// `llp`, `cep` or `rrp`.
    pub partition_kind: String,
    /// Whether LPs may deposit into it.
    pub open_for_deposits: bool,
    /// Assets booked to it, msat.
    pub assets_msats: u64,
    /// Owed by agents for credit envelopes it paid out, msat.
    pub receivables_msats: u64,
    /// Owed to LPs for burned shares not yet paid, msat.
    pub pending_withdrawals_msats: u64,
    /// Assets and receivables less pending withdrawals, msat.
    pub nav_msats: u64,
    /// Shares outstanding, as a number.
    pub total_shares: f64,
    /// Units outstanding, exact.
    pub total_units: String,
    /// sat per share.
    pub share_price_sats: f64,
    /// The exact price.
    pub share_price: SharePrice,
    /// LPs holding shares.
    pub lp_count: u64,
    /// Income and costs so far.
    pub flows: PartitionFlows,
}

/// The node's real assets, for checking the books against (msat).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NodeAssets {
    /// The on-chain wallet, confirmed and unconfirmed.
    pub onchain_msats: u64,
    /// Channels' local balances the node could spend now.
    pub channels_spendable_msats: u64,
    /// Channels' local balances held as the counterparty-required reserve.
    pub channels_reserve_msats: u64,
    /// Outgoing HTLCs in flight (the node's until they settle).
    pub htlcs_in_flight_msats: u64,
    /// The sum.
    pub total_msats: u64,
}

/// The books against the node: what the partitions hold against what the node has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Reconciliation {
    /// The node's real assets now.
    pub node: NodeAssets,
    /// The assets the pool's partitions hold on the books.
    pub booked_msats: u64,
    /// `node.total_msats − booked_msats`: positive when the node holds more than the books
    /// say (the operator's own funds, income not booked yet), negative when less (fees
    /// paid and not booked yet, a loss).
    pub drift_msats: i64,
}

/// The pool's status (`GET /v1/pools/{pool_id}/status`).
///
/// The top-level `share_price_sats` and `total_shares` are those of the LLP partition
/// (OpenAgents clients read a single price); `partitions` gives each.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PoolStatusResponse {
    /// `openagents.liquidity.pool.status.v1`.
    pub schema: String,
    /// The pool.
    pub pool: PoolInfo,
    /// The LLP partition's sat per share.
    pub share_price_sats: f64,
    /// The LLP partition's exact price.
    pub share_price: SharePrice,
    /// The LLP partition's shares outstanding.
    pub total_shares: f64,
    /// What pending withdrawals are owed, over all partitions, sat.
    pub pending_withdrawals_sats_estimate: u64,
    /// Whether the operator halted the pool's withdrawal payouts (spec §5.2: during an
    /// incident); requests still queue, nothing is paid until resumed.
    pub withdrawals_halted: bool,
    /// Each partition.
    pub partitions: Vec<PartitionStatus>,
    /// The books against the node.
    pub reconciliation: Reconciliation,
    /// When this was computed (RFC 3339, UTC).
    pub updated_at: String,
}

/// One partition of an LP's position.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PositionPartition {
    /// `llp`, `cep` or `rrp`.
    pub partition_kind: String,
    /// Shares held, as a number.
    pub shares: f64,
    /// Units held, exact.
    pub units: String,
    /// What they would redeem for now, msat (rounded down).
    pub value_msats: u64,
}

/// An LP's position (`GET /v1/pools/{pool_id}/lps/{lp_id}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PoolPositionResponse {
    /// `openagents.liquidity.pool.position.v1`.
    pub schema: String,
    /// The pool.
    pub pool_id: String,
    /// The LP.
    pub lp_id: String,
    /// Holdings by partition (partitions where the LP holds nothing are left out).
    pub partitions: Vec<PositionPartition>,
}
