//! The TreasuryRouter-compatible liquidity bodies (ARCHITECTURE.md §5): an OpenAgents client
//! only changes its base URL. Times are RFC 3339 strings as OpenAgents sends them, and
//! also Unix milliseconds (`_ms`) for clients that prefer numbers.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// `schema` of a quote request.
pub const QUOTE_PAY_REQUEST_SCHEMA: &str = "openagents.liquidity.quote_pay_request.v1";
/// `schema` of a quote.
pub const QUOTE_PAY_RESPONSE_SCHEMA: &str = "openagents.liquidity.quote_pay_response.v1";
/// `schema` of a pay request.
pub const PAY_REQUEST_SCHEMA: &str = "openagents.liquidity.pay_request.v1";
/// `schema` of a pay answer.
pub const PAY_RESPONSE_SCHEMA: &str = "openagents.liquidity.pay_response.v1";

/// Quote an invoice (`POST /v1/liquidity/quote_pay`).
///
/// The same `idempotency_key` with the same body answers the same quote; with another
/// body it is refused (`idempotency_conflict`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuotePayRequest {
    /// Must be `openagents.liquidity.quote_pay_request.v1`.
    pub schema: String,
    /// The caller's key for this request (1–128 printable ASCII characters).
    pub idempotency_key: String,
    /// The BOLT11 invoice.
    pub invoice: String,
    /// The host (marketplace) the payment is for (1–255 characters).
    pub host: String,
    /// The most to send in total: the amount plus routing fees, msat.
    pub max_amount_msats: u64,
    /// The most to pay in routing fees, msat.
    pub max_fee_msats: u64,
    /// `low`, `normal` (default) or `high`: how long the node keeps retrying routes
    /// (five minutes, one minute, fifteen seconds), and how much of any one channel a
    /// path prefers to use (a half, a quarter, an eighth).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub urgency: Option<String>,
    /// The caller's policy context; only its SHA-256 is kept (in the quote and receipt).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub policy_context: Value,
    /// The amount, msat, for an invoice without one (refused for an invoice with one
    /// unless equal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount_msats: Option<u64>,
}

/// A quote: the invoice priced over a route found now, payable until `valid_until`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct QuotePayResponse {
    /// `openagents.liquidity.quote_pay_response.v1`.
    pub schema: String,
    /// Pass this to `pay`.
    pub quote_id: String,
    /// The request's idempotency key.
    pub idempotency_key: String,
    /// SHA-256 of the invoice text, hex.
    pub invoice_hash: String,
    /// The invoice's payment hash, hex.
    pub payment_hash: String,
    /// The host.
    pub host: String,
    /// What the payee gets, msat.
    pub quoted_amount_msats: u64,
    /// The routing fee of the route found, msat (a payment may take another route,
    /// within `max_fee_msats`).
    pub quoted_fee_msats: u64,
    /// The caller's ceiling on amount plus fees, msat.
    pub max_amount_msats: u64,
    /// The caller's ceiling on fees, msat.
    pub max_fee_msats: u64,
    /// The urgency the payment will be made with.
    pub urgency: String,
    /// SHA-256 of the canonical JSON of the policy context, hex.
    pub policy_context_sha256: String,
    /// When the quote expires (RFC 3339, UTC).
    pub valid_until: String,
    /// The same, Unix milliseconds.
    pub valid_until_ms: u64,
    /// When the quote was made (RFC 3339, UTC).
    pub created_at: String,
    /// The same, Unix milliseconds.
    pub created_at_ms: u64,
}

/// Pay a quote (`POST /v1/liquidity/pay`). A quote is paid at most once: a repeat
/// answers with the first payment as it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PayRequest {
    /// Must be `openagents.liquidity.pay_request.v1`.
    pub schema: String,
    /// The quote.
    pub quote_id: String,
    /// The agent run this payment belongs to (recorded in the receipt).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// The trajectory (ReplayBundle) hash (recorded in the receipt).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trajectory_hash: Option<String>,
    /// How long to wait for the payment to settle before answering, milliseconds;
    /// `0` answers at once (status `pending`, poll `GET /v1/liquidity/pay/{quote_id}`).
    /// Default and ceiling: a little under the API's request timeout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_ms: Option<u64>,
    /// Spec §8.2: a credit envelope to pay from. The pool pays the quote from its
    /// liquidity and books it as the envelope's draw (the agent owes it with the credit
    /// fee); the token's budget is not charged. The quote's invoice must be payable to the
    /// envelope's provider, within its cap, before its expiry. The answer comes once the
    /// envelope ledger has the payment's outcome (or `pending`), whatever `wait_ms` says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub envelope_id: Option<String>,
}

/// Where a quote's payment stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PayResponse {
    /// `openagents.liquidity.pay_response.v1`.
    pub schema: String,
    /// The quote.
    pub quote_id: String,
    /// `pending`, `succeeded` or `failed`.
    pub status: String,
    /// The node's payment id, hex (see `GET /v1/node/payments/{payment_id}`).
    pub payment_id: String,
    /// SHA-256 of the preimage, hex, once paid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preimage_sha256: Option<String>,
    /// When it was paid, Unix milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paid_at_ms: Option<u64>,
    /// The routing fee paid, msat, once paid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fee_paid_msats: Option<u64>,
    /// Why it failed, a stable code (`route_not_found`, `recipient_rejected`,
    /// `retries_exhausted`, `payment_expired`, `interrupted_before_sending`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// A human-readable explanation of `error_code`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// The signed `invoice_pay_receipt`, once settled (`null` while pending).
    #[schema(value_type = Object)]
    pub receipt: Option<Value>,
    /// The credit envelope the pay drew on, when the request named one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub envelope_id: Option<String>,
    /// The envelope's signed `envelope_settlement_receipt`, once the draw is booked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Object)]
    pub envelope_receipt: Option<Value>,
}

/// A keysend payment (`POST /v1/node/payments/keysend`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeysendRequest {
    /// The payee's node id, hex.
    pub node_id: String,
    /// What the payee gets, msat (> 0).
    pub amount_msat: u64,
    /// The most to pay in routing fees; when absent, 1 % of the amount plus 50 sat.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_fee_msat: Option<u64>,
}
