//! Credit envelope bodies (spec §6.2, §7), OpenAgents-compatible: an agent files an
//! intent (what it may ask credit for, for which scope, until when), asks for an offer
//! (underwriting decides the cap and fee from its record at this node), and takes an
//! offer up as an envelope for one provider, with a signed `envelope_issue_receipt`, and
//! settles it: the provider paid over Lightning with a signed
//! `envelope_settlement_receipt`, or a default with a signed `default_notice`; a draw is
//! repaid by paying an invoice the node makes for what the envelope owes. An agent's
//! exposure and the node's credit health (commitments, the loss breaker, the policy in
//! force) can be read back.
//!
//! Times are RFC 3339 strings (UTC) as OpenAgents sends them. Agents and providers are
//! x-only public keys, 64 hex characters (answered in lowercase). Scopes are `nip90`,
//! `l402` or `skill`.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// `schema` of an intent request.
pub const CREDIT_INTENT_REQUEST_SCHEMA: &str = "openagents.credit.intent_request.v1";
/// `schema` of an intent answer.
pub const CREDIT_INTENT_RESPONSE_SCHEMA: &str = "openagents.credit.intent_response.v1";
/// `schema` of an offer request.
pub const CREDIT_OFFER_REQUEST_SCHEMA: &str = "openagents.credit.offer_request.v1";
/// `schema` of an offer answer.
pub const CREDIT_OFFER_RESPONSE_SCHEMA: &str = "openagents.credit.offer_response.v1";
/// `schema` of an envelope request.
pub const CREDIT_ENVELOPE_REQUEST_SCHEMA: &str = "openagents.credit.envelope_request.v1";
/// `schema` of an envelope answer (an issue's and a read-back's).
pub const CREDIT_ENVELOPE_RESPONSE_SCHEMA: &str = "openagents.credit.envelope_response.v1";
/// `schema` of a settle request.
pub const CREDIT_SETTLE_REQUEST_SCHEMA: &str = "openagents.credit.settle_request.v1";
/// `schema` of a settle answer.
pub const CREDIT_SETTLE_RESPONSE_SCHEMA: &str = "openagents.credit.settle_response.v1";
/// `schema` of a repayment invoice.
pub const CREDIT_REPAYMENT_RESPONSE_SCHEMA: &str = "openagents.credit.repayment_response.v1";
/// `schema` of an agent's exposure.
pub const CREDIT_AGENT_EXPOSURE_RESPONSE_SCHEMA: &str =
    "openagents.credit.agent_exposure_response.v1";
/// `schema` of the credit health.
pub const CREDIT_HEALTH_RESPONSE_SCHEMA: &str = "openagents.credit.health_response.v1";

/// File an intent (`POST /v1/credit/intent`): what an agent may later be offered at most,
/// for one scope, until when. It commits the pool to nothing. The same
/// `idempotency_key` with the same body answers the same intent; with another body it is
/// refused (`idempotency_conflict`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreditIntentRequest {
    /// Must be `openagents.credit.intent_request.v1`.
    pub schema: String,
    /// The caller's key for this request (1–128 printable ASCII characters).
    pub idempotency_key: String,
    /// The agent: an x-only public key, 64 hex characters.
    pub agent_id: String,
    /// `nip90`, `l402` or `skill`.
    pub scope_type: String,
    /// Which job, call or skill (1–128 printable ASCII characters).
    pub scope_id: String,
    /// The most the agent may be offered, sat (above 0, at most the node's largest
    /// envelope).
    pub max_sats: u64,
    /// Until when the intent stands (RFC 3339): in the future, at most the node's
    /// longest offer away.
    pub exp: String,
    /// The caller's policy context, any JSON (default `null`); kept as sent.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub policy_context: Value,
}

/// A filed intent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CreditIntent {
    /// The intent's id.
    pub intent_id: String,
    /// The idempotency key it was filed under.
    pub idempotency_key: String,
    /// The agent, hex.
    pub agent_id: String,
    /// `nip90`, `l402` or `skill`.
    pub scope_type: String,
    /// Which job, call or skill.
    pub scope_id: String,
    /// The most the agent may be offered, sat.
    pub max_sats: u64,
    /// Until when it stands (RFC 3339, UTC).
    pub exp: String,
    /// When it was filed (RFC 3339, UTC).
    pub created_at: String,
}

/// The answer to an intent request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CreditIntentResponse {
    /// `openagents.credit.intent_response.v1`.
    pub schema: String,
    /// The intent.
    pub intent: CreditIntent,
}

/// Ask for an offer (`POST /v1/credit/offer`): underwriting decides the cap and fee from
/// the agent's record at this node; the request only asks, within the intent it names.
/// The same body from the same caller answers the same offer, as decided then.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreditOfferRequest {
    /// Must be `openagents.credit.offer_request.v1`.
    pub schema: String,
    /// The agent: an x-only public key, 64 hex characters.
    pub agent_id: String,
    /// The pool whose CEP partition lends.
    pub pool_id: String,
    /// The intent the offer answers: the same agent's, for the same scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intent_id: Option<String>,
    /// `nip90`, `l402` or `skill`.
    pub scope_type: String,
    /// Which job, call or skill (1–128 printable ASCII characters).
    pub scope_id: String,
    /// The most asked, sat (above 0); the offer may be less.
    pub max_sats: u64,
    /// The fee the caller expects, basis points. Accepted for OpenAgents compatibility
    /// and part of what makes two requests the same, but not a term: the offer's fee is
    /// underwriting's.
    pub fee_bps: u32,
    /// Whether an objective verification gates payment; credit is only for such
    /// outcomes, so it must be `true`.
    pub requires_verifier: bool,
    /// Until when the offer should stand (RFC 3339); the offer may end sooner.
    pub exp: String,
}

/// What underwriting decided an offer on, and decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CreditUnderwriting {
    /// The most the agent could be offered then, sat.
    pub limit_sats: u64,
    /// The fee, basis points.
    pub fee_bps: u32,
    /// The default rate the fee was priced from, basis points of settled envelopes.
    pub default_rate_bps: u32,
    /// Envelopes the provider was paid for in the last 30 days.
    pub successes_30d: u32,
    /// Sats paid to providers for them.
    pub success_volume_sats_30d: u64,
    /// Envelopes that defaulted in the last 30 days.
    pub defaults_30d: u32,
    /// Those defaults weighed by recency.
    pub default_weight_30d: u64,
    /// Sats lost to defaults in the last 30 days.
    pub loss_sats_30d: u64,
    /// Sats the agent's live envelopes could still draw or still owe.
    pub open_exposure_sats: u64,
}

/// An offer of credit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CreditOffer {
    /// The offer's id.
    pub offer_id: String,
    /// The agent, hex.
    pub agent_id: String,
    /// The pool whose CEP partition lends.
    pub pool_id: String,
    /// The intent it answers, if one was named.
    pub intent_id: Option<String>,
    /// `nip90`, `l402` or `skill`.
    pub scope_type: String,
    /// Which job, call or skill.
    pub scope_id: String,
    /// The most an envelope from it may pay, sat.
    pub max_sats: u64,
    /// The credit fee, basis points of what is paid.
    pub fee_bps: u32,
    /// Always `true`: payment is gated by an objective verification.
    pub requires_verifier: bool,
    /// Until when it may be taken up (RFC 3339, UTC).
    pub exp: String,
    /// `offered` (it may be taken up) or `accepted` (an envelope was issued from it).
    pub status: String,
    /// When it was made (RFC 3339, UTC).
    pub issued_at: String,
    /// Underwriting's decision with its inputs.
    pub underwriting: CreditUnderwriting,
}

/// The answer to an offer request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CreditOfferResponse {
    /// `openagents.credit.offer_response.v1`.
    pub schema: String,
    /// The offer.
    pub offer: CreditOffer,
}

/// Take an offer up as an envelope for one provider (`POST /v1/credit/envelope`). The
/// same offer and provider answer the same envelope; another provider for a taken offer
/// is `offer_state`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreditEnvelopeRequest {
    /// Must be `openagents.credit.envelope_request.v1`.
    pub schema: String,
    /// The offer to take up.
    pub offer_id: String,
    /// The provider the envelope pays: an x-only public key, 64 hex characters.
    pub provider_id: String,
}

/// An envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CreditEnvelope {
    /// The envelope's id.
    pub envelope_id: String,
    /// The offer it was issued from.
    pub offer_id: String,
    /// The agent, hex.
    pub agent_id: String,
    /// The pool whose CEP partition lends.
    pub pool_id: String,
    /// The provider it pays, hex.
    pub provider_id: String,
    /// `nip90`, `l402` or `skill`.
    pub scope_type: String,
    /// Which job, call or skill.
    pub scope_id: String,
    /// The most the provider can be paid, sat.
    pub max_sats: u64,
    /// The credit fee, basis points of what the provider is paid.
    pub fee_bps: u32,
    /// The last moment a settlement is accepted (RFC 3339, UTC).
    pub exp: String,
    /// The last moment what is owed may be repaid before it defaults (RFC 3339, UTC).
    pub repay_by: String,
    /// `open`, `paying`, `owed`, `repaid` or `defaulted`.
    pub status: String,
    /// When it was issued (RFC 3339, UTC).
    pub issued_at: String,
    /// What the agent still owes, msat: the unrepaid draw while `owed`, the loss not yet
    /// recovered once `defaulted`; 0 otherwise. What a repayment invoice asks.
    pub outstanding_msats: u64,
    /// The settlement paying it or that ended it, once one was asked.
    pub settlement_id: Option<String>,
    /// Paid to the provider, msat, once the provider was paid (`owed`, `repaid`, or
    /// `defaulted` after a draw).
    pub spent_msats: Option<u64>,
    /// What the draw owes in all, msat: the provider's invoice, the routing fee the pool
    /// paid and the credit fee; once the provider was paid.
    pub owed_msats: Option<u64>,
    /// Why it defaulted (`verification_failed`, `expired` or `unrepaid`), once it did.
    pub default_reason: Option<String>,
    /// The capital lost to its default, msat (what was owed and not repaid by
    /// `repay_by`), once it defaulted.
    pub loss_msats: Option<u64>,
    /// Repaid after its default, msat (it reduces the loss), once it defaulted.
    pub recovered_msats: Option<u64>,
    /// The signed `envelope_settlement_receipt`'s id, once the provider was paid.
    pub settlement_receipt_id: Option<String>,
    /// The signed `default_notice`'s id, once it defaulted.
    pub default_notice_id: Option<String>,
    /// The provider payment's id, hex, once one was started.
    pub payment_id: Option<String>,
}

/// An envelope: the answer to an envelope request and a read-back
/// (`GET /v1/credit/envelopes/{envelope_id}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CreditEnvelopeResponse {
    /// `openagents.credit.envelope_response.v1`.
    pub schema: String,
    /// The envelope.
    pub envelope: CreditEnvelope,
    /// The signed `envelope_issue_receipt`.
    #[schema(value_type = Object)]
    pub receipt: Value,
}

/// Settle an envelope (`POST /v1/credit/settle`): the verifier's verdict on the
/// provider's outcome and the provider's invoice. Mode 1: the verifier passed and the
/// pool pays the invoice. Mode 2: the same, with the agent's spend authorization. The
/// same request again answers the same outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreditSettleRequest {
    /// Must be `openagents.credit.settle_request.v1`.
    pub schema: String,
    /// The envelope to settle.
    pub envelope_id: String,
    /// The verifier's verdict: `true` pays the provider, `false` records a default
    /// (`failed`) and pays nothing.
    pub verification_passed: bool,
    /// SHA-256 of the verifier's receipt, 64 hex characters (answered in lowercase).
    pub verification_receipt_sha256: String,
    /// The provider's BOLT11 invoice: payable to the envelope's provider (its payee
    /// key's x-only form is the `provider_id`), for at most the envelope's cap; at most
    /// 4,096 ASCII characters, spaces around it ignored.
    pub provider_invoice: String,
    /// The host the provider serves from, as the caller names it (1–255 bytes).
    pub provider_host: String,
    /// The most the pool may pay in routing fees, msat (0: direct channels only; at most
    /// 100,000,000).
    pub max_fee_msats: u64,
    /// The caller's policy context, any JSON (default `null`); kept as sent.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub policy_context: Value,
    /// Mode 2: the agent's BIP-340 Schnorr signature, 128 hex characters, over the spend
    /// it authorizes. Absent in mode 1, where the pool pays after verification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spend_authorization: Option<String>,
}

/// The answer to a settle request: how the settlement ended, what was paid and owed,
/// with its signed receipt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CreditSettleResponse {
    /// `openagents.credit.settle_response.v1`.
    pub schema: String,
    /// The envelope.
    pub envelope_id: String,
    /// The settlement.
    pub settlement_id: String,
    /// `success` (the provider was paid), `failed` (the verifier failed the outcome),
    /// `expired` (the envelope ran out of time) or `defaulted` (the draw was not repaid).
    pub outcome: String,
    /// Paid to the provider, sat (`spent_msats` rounded down).
    pub spent_sats: u64,
    /// The routing fee and the credit fee together, sat (rounded up).
    pub fee_sats: u64,
    /// Paid to the provider, msat.
    pub spent_msats: u64,
    /// The routing fee the pool paid, msat.
    pub routing_fee_msats: u64,
    /// The credit fee the agent owes, msat.
    pub credit_fee_msats: u64,
    /// The capital lost to a default, sat (rounded up).
    pub loss_sats: u64,
    /// SHA-256 of the verifier's receipt, hex, as the request named it.
    pub verification_receipt_sha256: String,
    /// The canonical SHA-256 of the `invoice_pay_receipt` when the settlement paid a quote
    /// (a TreasuryRouter pay naming the envelope, spec §8.2). Mode 1 and 2 pay directly
    /// and the settlement receipt carries the payment, so it is `null`.
    pub liquidity_receipt_sha256: Option<String>,
    /// The provider's payment id, hex, if it was paid.
    pub payment_id: Option<String>,
    /// The signed `envelope_settlement_receipt` (success) or `default_notice`.
    #[schema(value_type = Object)]
    pub receipt: Value,
}

/// An invoice for what an envelope owes now
/// (`POST /v1/credit/envelopes/{envelope_id}/repayment`): its draw (the provider's
/// invoice, the routing fee the pool paid and the credit fee) less what was repaid, or
/// after an unrepaid default its unrecovered loss. Paying it repays the envelope (`owed`
/// becomes `repaid`; a loss is recovered); a payment beyond what is owed is kept as
/// credit income. While it is open and still for what is owed, asking again answers the
/// same invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CreditRepaymentResponse {
    /// `openagents.credit.repayment_response.v1`.
    pub schema: String,
    /// The envelope it repays.
    pub envelope_id: String,
    /// The envelope's state when the invoice was asked: `owed` or `defaulted`.
    pub status: String,
    /// What the invoice asks, msat: what the envelope owed when it was made.
    pub owed_msats: u64,
    /// The same in sat, rounded up (never shown as less than is owed).
    pub owed_sats: u64,
    /// The BOLT11 invoice to pay.
    pub invoice_bolt11: String,
    /// Its payment hash, hex.
    pub payment_hash: String,
    /// When it expires (RFC 3339, UTC); ask again for a new one after.
    pub expires_at: String,
    /// When it was made (RFC 3339, UTC).
    pub created_at: String,
}

/// A fee for each scope, basis points.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CreditScopeFees {
    /// For NIP-90 jobs.
    pub nip90: u32,
    /// For L402 calls.
    pub l402: u32,
    /// For skill invocations.
    pub skill: u32,
}

/// An agent's exposure and what underwriting would offer it now
/// (`GET /v1/credit/agents/{agent_id}/exposure`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CreditAgentExposureResponse {
    /// `openagents.credit.agent_exposure_response.v1`.
    pub schema: String,
    /// The agent, hex.
    pub agent_id: String,
    /// Its live envelopes (open, paying or owed).
    pub open_envelope_count: u32,
    /// Sats its live envelopes could still draw or still owe.
    pub open_exposure_sats: u64,
    /// Envelopes the provider was paid for in the last 30 days.
    pub settled_count_30d: u32,
    /// Sats paid to providers for them.
    pub success_volume_sats_30d: u64,
    /// Envelopes that defaulted in the last 30 days.
    pub default_count_30d: u32,
    /// Sats lost to defaults in the last 30 days.
    pub loss_sats_30d: u64,
    /// The most it could be offered now, sat.
    pub underwriting_limit_sats: u64,
    /// Its default rate, basis points of settled envelopes.
    pub underwriting_default_rate_bps: u32,
    /// The fee it would be offered now for each scope.
    pub underwriting_fee_bps: CreditScopeFees,
    /// Always `true`: credit is only for objectively verified outcomes.
    pub requires_verifier: bool,
    /// When this was computed (RFC 3339, UTC).
    pub computed_at: String,
}

/// The credit circuit breakers (spec §6.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CreditBreakers {
    /// Whether the loss-rate breaker is tripped: no new envelopes are issued
    /// (`credit_halted`).
    pub halt_new_envelopes: bool,
    /// Whether the Lightning breaker is tripped: settlements above
    /// `policy.large_settlement_sats` wait (`credit_halted`).
    pub hold_large_settlements: bool,
}

/// The credit settings in force (the config file's `[pool.credit]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CreditPolicy {
    /// Every agent's limit before history, sat.
    pub base_sats: u64,
    /// The weight of the square root of an agent's 30-day success volume.
    pub k: u64,
    /// Limit removed per unit of recency-weighted default, sat.
    pub default_penalty_sats: u64,
    /// Limit removed per sat lost to defaults.
    pub loss_penalty: u64,
    /// The largest envelope, sat.
    pub max_envelope_sats: u64,
    /// The cheapest credit fee, basis points.
    pub min_fee_bps: u32,
    /// The dearest credit fee, basis points.
    pub max_fee_bps: u32,
    /// Fee basis points per basis point of default rate.
    pub fee_scaler: u32,
    /// Fee added for NIP-90 jobs, basis points.
    pub nip90_surcharge_bps: u32,
    /// Fee added for L402 calls, basis points.
    pub l402_surcharge_bps: u32,
    /// Fee added for skill invocations, basis points.
    pub skill_surcharge_bps: u32,
    /// The most envelopes an agent may have live.
    pub max_open_envelopes_per_agent: u32,
    /// The longest an offer (and so an envelope) lasts, s.
    pub max_offer_ttl_secs: u64,
    /// How long after its envelope's expiry a draw must be repaid, s.
    pub repay_within_secs: u64,
    /// How many recent outcomes the loss breaker judges.
    pub loss_window: u32,
    /// The fewest outcomes the loss breaker judges.
    pub loss_min_samples: u32,
    /// The default rate that trips the loss breaker, basis points.
    pub loss_trip_bps: u32,
    /// The default rate at or below which it clears, basis points.
    pub loss_clear_bps: u32,
    /// Settlements above this, sat, wait while the Lightning breaker is tripped.
    pub large_settlement_sats: u64,
    /// How many recent outgoing payments the Lightning breaker judges.
    pub ln_window: u32,
    /// The fewest it judges.
    pub ln_min_samples: u32,
    /// The failure rate that trips it, basis points.
    pub ln_trip_bps: u32,
    /// The failure rate at or below which it clears, basis points.
    pub ln_clear_bps: u32,
}

/// The credit health (`GET /v1/credit/health`): commitments, the breakers and the
/// settings in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CreditHealthResponse {
    /// `openagents.credit.health_response.v1`.
    pub schema: String,
    /// When this was computed (RFC 3339, UTC).
    pub generated_at: String,
    /// Live envelopes in all.
    pub open_envelope_count: u32,
    /// What they reserve from CEP partitions, msat.
    pub reserved_commitments_msats: u64,
    /// The recent outcomes the loss breaker judged.
    pub loss_sample: u32,
    /// Of them, defaults.
    pub loss_count: u32,
    /// The default share of them, basis points.
    pub loss_rate_bps: u32,
    /// The node's recent settled outgoing payments the Lightning breaker judged.
    pub ln_sample: u32,
    /// Of them, failed.
    pub ln_failed_count: u32,
    /// The failed share of them, basis points.
    pub ln_failure_rate_bps: u32,
    /// The circuit breakers.
    pub breakers: CreditBreakers,
    /// The settings in force.
    pub policy: CreditPolicy,
}
