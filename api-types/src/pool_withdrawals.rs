//! LP withdrawal bodies (spec §5.2), OpenAgents-compatible: a withdrawal request locks an
//! LP's shares for a payout by Lightning or on-chain; the node's payout ticks pay it, in
//! one payment (Lightning) or in parts (on-chain); an LP may cancel it before anything is
//! paid, and an operator approves one above the approval threshold, or halts the pool's
//! withdrawal payouts during an incident.
//!
//! As in the pool bodies, share counts come twice: `shares_burned` as a JSON number of
//! shares (a share is 10^9 units) for display, and `…units…` as a decimal string of units,
//! exact. A request names its amount either way, never both.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// `schema` of a withdrawal request.
pub const WITHDRAW_REQUEST_SCHEMA: &str = "openagents.liquidity.pool.withdraw_request.v1";
/// `schema` of a withdrawal answer (a request's, a read-back's, a cancel's, an approval's).
pub const WITHDRAW_RESPONSE_SCHEMA: &str = "openagents.liquidity.pool.withdraw_response.v1";

/// Ask for a withdrawal (`POST /v1/pools/{pool_id}/withdraw_request`, `lp`). The shares
/// are locked at once and their value now is the most the withdrawal is paid; each payout
/// pays what the shares it burns are worth then, up to that. The same `idempotency_key`
/// with the same body answers the same withdrawal; with another body it is refused
/// (`idempotency_conflict`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WithdrawRequest {
    /// Must be `openagents.liquidity.pool.withdraw_request.v1`.
    pub schema: String,
    /// The LP (1–128 printable ASCII characters): only the token owning it (or an admin)
    /// may withdraw for it (`not_owner`).
    pub lp_id: String,
    /// The caller's key for this request (1–128 printable ASCII characters).
    pub idempotency_key: String,
    /// `llp` (default), `cep` or `rrp`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition_kind: Option<String>,
    /// Shares to withdraw, as a number (rounded to the nearest unit). Give this or
    /// `units`, not both.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shares_burned: Option<f64>,
    /// Share units to withdraw, exact, as a decimal string. Give this or
    /// `shares_burned`, not both.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub units: Option<String>,
    /// `lightning` (paid to `payout_invoice_bolt11`) or `onchain` (paid to
    /// `payout_address`).
    pub rail_preference: String,
    /// The LP's BOLT11 invoice without an amount, for `lightning`: the payout is the
    /// shares' value when paid. It must stay payable for at least two payout ticks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payout_invoice_bolt11: Option<String>,
    /// The LP's Bitcoin address on the node's network, for `onchain`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payout_address: Option<String>,
    /// An emergency withdrawal (spec §5.2): paid first and in full at the next payout
    /// tick while the pool is solvent and its reserves whole, else in line like any
    /// other; refused (`not_enabled`) while the operator has turned them off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emergency: Option<bool>,
}

/// One payout towards a withdrawal: the units burned for it and how it is paid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WithdrawalFill {
    /// Its number within the withdrawal, from 0.
    pub n: u32,
    /// Value owed for it, msat.
    pub msats: u64,
    /// Share units burned for it, exact.
    pub units: String,
    /// `sent` (handed to its rail), `paid`, or `reversed` (the payout failed and the
    /// units not paid were given back).
    pub state: String,
    /// The Lightning payment's id, hex (Lightning).
    pub payment_id: Option<String>,
    /// The on-chain payout batch paying it (on-chain).
    pub batch_id: Option<String>,
    /// The transaction that paid it, once confirmed (on-chain).
    pub txid: Option<String>,
    /// The routing fee paid, msat (Lightning, once paid).
    pub fee_msats: Option<u64>,
    /// Why it failed, a stable code (reversed fills).
    pub failure: Option<String>,
    /// Units given back to the LP when it was reversed, exact.
    pub units_returned: Option<String>,
}

/// A withdrawal as it stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Withdrawal {
    /// The withdrawal's id.
    pub withdrawal_id: String,
    /// The pool.
    pub pool_id: String,
    /// The partition whose shares are withdrawn.
    pub partition_kind: String,
    /// The LP.
    pub lp_id: String,
    /// The request's idempotency key.
    pub idempotency_key: String,
    /// `lightning` or `onchain`.
    pub rail: String,
    /// `requested` (waits for an operator's approval), `queued`, `approved` (and
    /// queued), `paid`, `failed` (what was not paid went back to the LP as shares) or
    /// `canceled`.
    pub status: String,
    /// Shares the request locked, as a number.
    pub shares_burned: f64,
    /// Share units the request locked, exact.
    pub units_locked: String,
    /// Share units still locked and not burned yet, exact.
    pub units_outstanding: String,
    /// What the locked shares were worth at the request, msat: the most it is paid.
    pub value_at_request_msats: u64,
    /// While open, what the rest is worth paying now, sat; once ended, what was paid.
    pub amount_sats_estimate: u64,
    /// Value paid out so far, msat.
    pub paid_msats: u64,
    /// Whether it needs an operator's approval before it is paid.
    pub needs_approval: bool,
    /// Whether it is an emergency withdrawal.
    pub emergency: bool,
    /// When an operator approved it (RFC 3339, UTC).
    pub approved_at: Option<String>,
    /// The payout address (on-chain).
    pub payout_address: Option<String>,
    /// SHA-256 of the payout invoice's text, hex (Lightning).
    pub payout_invoice_hash: Option<String>,
    /// The payouts so far.
    pub fills: Vec<WithdrawalFill>,
    /// The earliest it may be paid (RFC 3339, UTC).
    pub earliest_settlement_at: String,
    /// The latest it will be paid unless withdrawals are halted (RFC 3339, UTC).
    pub latest_settlement_at: String,
    /// When it was asked for (RFC 3339, UTC).
    pub created_at: String,
    /// When it ended: paid, failed or canceled (RFC 3339, UTC).
    pub ended_at: Option<String>,
}

/// How the node's payout ticks are limited now, as the last tick judged it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WithdrawThrottle {
    /// `normal`, `stressed` (paying less) or `halted` (paying nothing).
    pub mode: String,
    /// Why, stable codes (`operator_halt`, `insolvent`, `channels_down`,
    /// `channels_degraded`, `lightning_failures`, `onchain_reserve`,
    /// `outbound_committed`); empty when normal.
    pub reasons: Vec<String>,
    /// The most a tick pays, sat.
    pub tick_cap_sats: u64,
    /// The most a tick pays over Lightning, sat.
    pub lightning_sats: u64,
    /// The most a tick pays on-chain, sat.
    pub onchain_sats: u64,
    /// While Lightning payouts fail too often, withdrawals owed more than this wait, sat.
    pub largest_sats: Option<u64>,
}

/// A withdrawal: the answer to a request, a read-back
/// (`GET /v1/pools/{pool_id}/withdrawals/{withdrawal_id}`), a cancel and an approval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct WithdrawResponse {
    /// `openagents.liquidity.pool.withdraw_response.v1`.
    pub schema: String,
    /// The withdrawal.
    pub withdrawal: Withdrawal,
    /// The signed `withdraw_request_receipt`.
    #[schema(value_type = Object)]
    pub receipt: Value,
    /// The signed `withdraw_settlement_receipt`, once it ended (`null` before).
    #[schema(value_type = Option<Object>)]
    pub settlement_receipt: Option<Value>,
    /// The payout throttle as the last tick judged it (`null` before the first tick, or
    /// when the scheduler did not answer in time).
    pub withdraw_throttle: Option<WithdrawThrottle>,
}

/// Halt or resume a pool's withdrawal payouts
/// (`POST /v1/pools/{pool_id}/withdrawals/halt`, admin): spec §5.2 lets the operator
/// stop payouts during an incident. While halted, requests still queue and nothing is
/// paid; the state is stored, so it holds across restarts. Setting the state it already
/// has answers the same.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WithdrawalsHaltRequest {
    /// `true` halts the payouts, `false` resumes them.
    pub halted: bool,
}

/// A pool's withdrawal payout state after a halt or resume.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WithdrawalsHaltResponse {
    /// The pool.
    pub pool_id: String,
    /// Whether its withdrawal payouts are halted now.
    pub withdrawals_halted: bool,
}
