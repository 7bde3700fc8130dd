//! Credit envelopes (spec §6.2, §7): `POST /v1/credit/intent` files an agent's intent,
//! `POST /v1/credit/offer` asks underwriting for an offer, `POST /v1/credit/envelope`
//! issues an envelope from an offer for one provider, `POST /v1/credit/settle` settles
//! it (pays the provider, or records a default), and
//! `POST /v1/credit/envelopes/{id}/repayment` answers an invoice for what it owes, whose
//! payment repays it; `GET /v1/credit/envelopes/{id}`,
//! `GET /v1/credit/agents/{agent_id}/exposure` and `GET /v1/credit/health` read them
//! back. The POSTs are `pay` (the TreasuryRouter's scope: credit is another way to pay)
//! and rate limited like the other money routes; the reads are `read` or `pay`.
//!
//! The API checks the request's shape (schema, keys, scope, ids, amounts, times, hashes,
//! the invoice's size, the fee ceiling); the envelope ledger checks the rest: the limits
//! of the credit settings, the intent an offer names, the offer's state and expiry, the
//! breakers, the agent's live envelopes, the CEP partition's free capital, and at
//! settlement the invoice's payee, amount and network, the envelope's state and expiry
//! and the spend authorization's signature, and at repayment what the envelope owes.

use axum::extract::State;
use axum::Json;
use chrono::DateTime;
use serde_json::json;
use sluice_actors::credit::{EnvelopeAsk, IntentAsk, OfferAsk, SettleAsk};
use sluice_actors::idempotency;
use sluice_credit::underwriting::ScopeType;

use super::liquidity::MAX_HOST_BYTES;
use super::pools::{id, pool_id, MAX_ID_LEN};
use super::AppState;
use crate::auth::Caller;
use crate::backend::NodeBackend;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath};
use crate::openapi::ErrorResponses;
use crate::types::{
    CreditAgentExposureResponse, CreditEnvelopeRequest, CreditEnvelopeResponse,
    CreditHealthResponse, CreditIntentRequest, CreditIntentResponse, CreditOfferRequest,
    CreditOfferResponse, CreditRepaymentResponse, CreditSettleRequest, CreditSettleResponse,
    CREDIT_ENVELOPE_REQUEST_SCHEMA, CREDIT_INTENT_REQUEST_SCHEMA, CREDIT_OFFER_REQUEST_SCHEMA,
    CREDIT_SETTLE_REQUEST_SCHEMA,
};
use crate::validate;

/// The highest fee a request may name, basis points: all of what is paid.
pub const MAX_FEE_BPS: u32 = 10_000;
/// The longest provider invoice a settle request may carry, characters. An invoice an
/// envelope pays needs no long description or many route hints; a larger body is
/// refused before it reaches the envelope ledger.
pub const MAX_SETTLE_INVOICE_CHARS: usize = 4096;
/// The highest routing fee ceiling a settle request may name, msat (100,000 sat): far
/// above any route's fee for an envelope's cap, so only a mistaken request meets it.
pub const MAX_SETTLE_FEE_MSATS: u64 = 100_000_000;
/// The length of a SHA-256 as hex.
const SHA256_HEX_LEN: usize = 64;
/// The length of a BIP-340 Schnorr signature as hex.
const SIGNATURE_HEX_LEN: usize = 128;

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::InvalidRequest(message.into())
}

/// A scope: `nip90`, `l402` or `skill`.
fn scope_type(value: &str) -> Result<ScopeType, ApiError> {
    ScopeType::parse(value).ok_or_else(|| {
        invalid(format!(
            "scope_type: `{value}` is not one of nip90, l402, skill"
        ))
    })
}

/// Which job, call or skill: 1 to [`MAX_ID_LEN`] visible ASCII characters.
fn scope_id(value: &str) -> Result<String, ApiError> {
    validate::token("scope_id", value, MAX_ID_LEN)
}

/// Exactly `len` hex characters, either case, answered in lowercase.
fn hex_exact(field: &str, value: &str, len: usize, what: &str) -> Result<String, ApiError> {
    if value.len() != len || !value.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(invalid(format!(
            "{field}: expected {what} as {len} hex characters"
        )));
    }
    Ok(value.to_ascii_lowercase())
}

/// A provider's BOLT11 invoice: trimmed, 1 to [`MAX_SETTLE_INVOICE_CHARS`] ASCII
/// characters. The envelope ledger parses it.
fn settle_invoice(value: &str) -> Result<String, ApiError> {
    let invoice = value.trim();
    if invoice.is_empty() || invoice.len() > MAX_SETTLE_INVOICE_CHARS {
        return Err(invalid(format!(
            "provider_invoice: must be a BOLT11 invoice of at most \
             {MAX_SETTLE_INVOICE_CHARS} characters"
        )));
    }
    if !invoice.is_ascii() {
        return Err(invalid(
            "provider_invoice: must be ASCII (a BOLT11 invoice is bech32)",
        ));
    }
    Ok(invoice.to_owned())
}

/// An RFC 3339 time, as Unix milliseconds (not before 1970).
fn time_ms(field: &str, value: &str) -> Result<u64, ApiError> {
    let time = DateTime::parse_from_rfc3339(value).map_err(|e| {
        invalid(format!(
            "{field}: not an RFC 3339 time such as 2026-01-01T00:00:00Z ({e})"
        ))
    })?;
    u64::try_from(time.timestamp_millis())
        .map_err(|_| invalid(format!("{field}: must not be before 1970-01-01T00:00:00Z")))
}

/// Files an agent's intent: what it may later be offered at most, for one scope, until
/// when. It commits the pool to nothing. The same `idempotency_key` with the same body
/// answers the same intent; with another body, `idempotency_conflict`.
#[utoipa::path(
    post,
    path = "/v1/credit/intent",
    tag = "credit",
    security(("bearer" = ["pay"])),
    request_body = CreditIntentRequest,
    responses((status = 200, description = "The intent", body = CreditIntentResponse), ErrorResponses)
)]
pub(crate) async fn credit_intent<B: NodeBackend>(
    State(state): State<AppState<B>>,
    caller: Caller,
    ApiJson(request): ApiJson<CreditIntentRequest>,
) -> Result<Json<CreditIntentResponse>, ApiError> {
    validate::schema(&request.schema, CREDIT_INTENT_REQUEST_SCHEMA)?;
    let idempotency_key = validate::token(
        "idempotency_key",
        &request.idempotency_key,
        validate::MAX_IDEMPOTENCY_KEY_LEN,
    )?;
    let agent_id = validate::xonly_key("agent_id", &request.agent_id)?;
    let scope = scope_type(&request.scope_type)?;
    let scope_id = scope_id(&request.scope_id)?;
    let max_sats = validate::positive_sat("max_sats", request.max_sats)?;
    let exp_ms = time_ms("exp", &request.exp)?;
    let policy_context = serde_json::to_string(&request.policy_context)
        .map_err(|e| invalid(format!("policy_context: {e}")))?;
    // The request as resolved, not as sent: the same time written two ways, or a key in
    // either case, is the same request; the policy context goes in as its text, since
    // canonical JSON refuses the fractional numbers it may hold.
    let fingerprint = idempotency::fingerprint(&json!({
        "schema": request.schema,
        "idempotency_key": idempotency_key,
        "agent_id": agent_id,
        "scope_type": scope.as_str(),
        "scope_id": scope_id,
        "max_sats": max_sats,
        "exp_ms": exp_ms,
        "policy_context": policy_context,
    }))?;
    let ask = IntentAsk {
        caller: caller.0,
        idempotency_key,
        fingerprint,
        agent_id,
        scope_type: scope,
        scope_id,
        max_sats,
        exp_ms,
        policy_context,
    };
    Ok(Json(state.backend.credit_intent(ask).await?))
}

/// Asks for an offer: underwriting decides the cap (at most `max_sats`) and the fee from
/// the agent's record at this node, within the intent it names. The request's `fee_bps`
/// is accepted but is no term: it only makes two requests differ; the offer's fee is
/// underwriting's. The same body from the same caller answers the same offer, as
/// decided then.
#[utoipa::path(
    post,
    path = "/v1/credit/offer",
    tag = "credit",
    security(("bearer" = ["pay"])),
    request_body = CreditOfferRequest,
    responses((status = 200, description = "The offer", body = CreditOfferResponse), ErrorResponses)
)]
pub(crate) async fn credit_offer<B: NodeBackend>(
    State(state): State<AppState<B>>,
    caller: Caller,
    ApiJson(request): ApiJson<CreditOfferRequest>,
) -> Result<Json<CreditOfferResponse>, ApiError> {
    validate::schema(&request.schema, CREDIT_OFFER_REQUEST_SCHEMA)?;
    let agent_id = validate::xonly_key("agent_id", &request.agent_id)?;
    let pool_id = pool_id(&request.pool_id)?;
    let intent_id = request
        .intent_id
        .as_deref()
        .map(|intent| id("intent_id", intent))
        .transpose()?;
    let scope = scope_type(&request.scope_type)?;
    let scope_id = scope_id(&request.scope_id)?;
    let max_sats = validate::positive_sat("max_sats", request.max_sats)?;
    if request.fee_bps > MAX_FEE_BPS {
        return Err(invalid(format!("fee_bps: must be at most {MAX_FEE_BPS}")));
    }
    let exp_ms = time_ms("exp", &request.exp)?;
    let fingerprint = idempotency::fingerprint(&json!({
        "schema": request.schema,
        "agent_id": agent_id,
        "pool_id": pool_id,
        "intent_id": intent_id,
        "scope_type": scope.as_str(),
        "scope_id": scope_id,
        "max_sats": max_sats,
        "fee_bps": request.fee_bps,
        "requires_verifier": request.requires_verifier,
        "exp_ms": exp_ms,
    }))?;
    let ask = OfferAsk {
        caller: caller.0,
        fingerprint,
        agent_id,
        pool_id,
        intent_id,
        scope_type: scope,
        scope_id,
        max_sats,
        requires_verifier: request.requires_verifier,
        exp_ms,
    };
    Ok(Json(state.backend.credit_offer(ask).await?))
}

/// Issues an envelope from an offer for one provider, at the offer's cap and fee, until
/// the offer's expiry, with a signed `envelope_issue_receipt`. The same offer and
/// provider answer the same envelope. Refused when the offer was taken up for another
/// provider (`offer_state`) or expired (`offer_expired`), while the loss breaker halts
/// new envelopes (`credit_halted`), when the agent has as many live envelopes as allowed
/// (`too_many_envelopes`), when its limit no longer covers the offer (`no_credit`), or
/// when the CEP partition cannot cover it (`credit_committed`).
#[utoipa::path(
    post,
    path = "/v1/credit/envelope",
    tag = "credit",
    security(("bearer" = ["pay"])),
    request_body = CreditEnvelopeRequest,
    responses((status = 200, description = "The envelope", body = CreditEnvelopeResponse), ErrorResponses)
)]
pub(crate) async fn credit_envelope<B: NodeBackend>(
    State(state): State<AppState<B>>,
    ApiJson(request): ApiJson<CreditEnvelopeRequest>,
) -> Result<Json<CreditEnvelopeResponse>, ApiError> {
    validate::schema(&request.schema, CREDIT_ENVELOPE_REQUEST_SCHEMA)?;
    let ask = EnvelopeAsk {
        offer_id: id("offer_id", &request.offer_id)?,
        provider_id: validate::xonly_key("provider_id", &request.provider_id)?,
    };
    Ok(Json(state.backend.credit_envelope(ask).await?))
}

/// Settles an envelope. Mode 1: the verifier passed, and the pool pays the provider's
/// invoice (which must be payable to the envelope's provider, the invoice's payee key's
/// x-only form being the `provider_id`, for at most the envelope's cap, before its
/// expiry) and answers `success` with a signed `envelope_settlement_receipt`; a failed
/// verification answers `failed`, a settle after the expiry `expired`, each with a signed
/// `default_notice`. Mode 2: the same, and the agent's spend authorization must verify.
/// The envelope ledger answers once the provider's payment has an outcome. The same
/// request again answers the same outcome. Refused when the invoice pays another
/// provider (`wrong_provider`), asks more than the cap (`over_envelope_cap`), expired
/// (`invoice_expired`) or is for another network (`wrong_network`); when another request
/// settled the envelope (`envelope_settled`) or the invoice settles another envelope
/// (`invoice_reserved`); when the spend authorization does not verify
/// (`authorization_invalid`) or was used already (`authorization_replayed`); when the
/// CEP partition cannot cover the invoice and its fee ceiling (`credit_committed`); when
/// the payment failed for good (`settlement_failed`, its message naming the payment's
/// code, e.g. `route_not_found`: the envelope is open again until its expiry, and the
/// same request pays again); when the payment has no outcome yet
/// (`request_in_progress`: ask again); or for an unknown envelope (`not_found`).
#[utoipa::path(
    post,
    path = "/v1/credit/settle",
    tag = "credit",
    security(("bearer" = ["pay"])),
    request_body = CreditSettleRequest,
    responses((status = 200, description = "The settlement", body = CreditSettleResponse), ErrorResponses)
)]
pub(crate) async fn credit_settle<B: NodeBackend>(
    State(state): State<AppState<B>>,
    ApiJson(request): ApiJson<CreditSettleRequest>,
) -> Result<Json<CreditSettleResponse>, ApiError> {
    validate::schema(&request.schema, CREDIT_SETTLE_REQUEST_SCHEMA)?;
    let envelope_id = id("envelope_id", &request.envelope_id)?;
    let verification_receipt_sha256 = hex_exact(
        "verification_receipt_sha256",
        &request.verification_receipt_sha256,
        SHA256_HEX_LEN,
        "a SHA-256",
    )?;
    let provider_invoice = settle_invoice(&request.provider_invoice)?;
    let provider_host = validate::text("provider_host", &request.provider_host, MAX_HOST_BYTES)?;
    if request.max_fee_msats > MAX_SETTLE_FEE_MSATS {
        return Err(invalid(format!(
            "max_fee_msats: must be at most {MAX_SETTLE_FEE_MSATS}"
        )));
    }
    let policy_context = serde_json::to_string(&request.policy_context)
        .map_err(|e| invalid(format!("policy_context: {e}")))?;
    let spend_authorization = request
        .spend_authorization
        .as_deref()
        .map(|signature| {
            hex_exact(
                "spend_authorization",
                signature,
                SIGNATURE_HEX_LEN,
                "a BIP-340 signature",
            )
        })
        .transpose()?;
    // The request as resolved, not as sent: a hash or signature in either case, or the
    // invoice with spaces around it, is the same request; the policy context goes in as
    // its text, as an intent's does.
    let fingerprint = idempotency::fingerprint(&json!({
        "schema": request.schema,
        "envelope_id": envelope_id,
        "verification_passed": request.verification_passed,
        "verification_receipt_sha256": verification_receipt_sha256,
        "provider_invoice": provider_invoice,
        "provider_host": provider_host,
        "max_fee_msats": request.max_fee_msats,
        "policy_context": policy_context,
        "spend_authorization": spend_authorization,
    }))?;
    let ask = SettleAsk {
        envelope_id,
        fingerprint,
        verification_passed: request.verification_passed,
        verification_receipt_sha256,
        provider_invoice,
        provider_host,
        max_fee_msat: request.max_fee_msats,
        policy_context,
        spend_authorization,
        quote: None,
    };
    Ok(Json(state.backend.credit_settle(ask).await?))
}

/// An invoice for what an envelope owes now: its draw (the provider's invoice, the
/// routing fee the pool paid and the credit fee) less what was repaid, or after an
/// unrepaid default its unrecovered loss. Paying it repays the envelope (`owed` becomes
/// `repaid`; a loss is recovered). While it is open and still for what is owed, asking
/// again answers the same invoice; a payment beyond what is owed is kept as credit
/// income. No body is needed (one is ignored). Refused for an unknown envelope
/// (`not_found`), or one that owes nothing (`nothing_owed`: it is open, paying or repaid,
/// or defaulted with nothing lost).
#[utoipa::path(
    post,
    path = "/v1/credit/envelopes/{envelope_id}/repayment",
    tag = "credit",
    security(("bearer" = ["pay"])),
    params(("envelope_id" = String, Path, description = "The envelope")),
    responses((status = 200, description = "The repayment invoice", body = CreditRepaymentResponse), ErrorResponses)
)]
pub(crate) async fn credit_repayment<B: NodeBackend>(
    State(state): State<AppState<B>>,
    ApiPath(envelope): ApiPath<String>,
) -> Result<Json<CreditRepaymentResponse>, ApiError> {
    let envelope_id = id("envelope_id", &envelope)?;
    Ok(Json(state.backend.credit_repayment(envelope_id).await?))
}

/// An envelope as it stands, with its signed `envelope_issue_receipt`.
#[utoipa::path(
    get,
    path = "/v1/credit/envelopes/{envelope_id}",
    tag = "credit",
    security(("bearer" = ["read", "pay"])),
    params(("envelope_id" = String, Path, description = "The envelope")),
    responses((status = 200, description = "The envelope", body = CreditEnvelopeResponse), ErrorResponses)
)]
pub(crate) async fn get_credit_envelope<B: NodeBackend>(
    State(state): State<AppState<B>>,
    ApiPath(envelope): ApiPath<String>,
) -> Result<Json<CreditEnvelopeResponse>, ApiError> {
    let envelope_id = id("envelope_id", &envelope)?;
    Ok(Json(state.backend.get_credit_envelope(envelope_id).await?))
}

/// An agent's exposure (its live envelopes, its 30-day record) and what underwriting
/// would offer it now, per scope.
#[utoipa::path(
    get,
    path = "/v1/credit/agents/{agent_id}/exposure",
    tag = "credit",
    security(("bearer" = ["read", "pay"])),
    params(("agent_id" = String, Path, description = "The agent: an x-only public key, 64 hex characters")),
    responses((status = 200, description = "The agent's exposure", body = CreditAgentExposureResponse), ErrorResponses)
)]
pub(crate) async fn credit_exposure<B: NodeBackend>(
    State(state): State<AppState<B>>,
    ApiPath(agent): ApiPath<String>,
) -> Result<Json<CreditAgentExposureResponse>, ApiError> {
    let agent_id = validate::xonly_key("agent_id", &agent)?;
    Ok(Json(state.backend.credit_exposure(agent_id).await?))
}

/// The credit health: live envelopes, what they reserve from CEP partitions, the loss
/// breaker (tripped, it halts new envelopes) and the credit settings in force.
#[utoipa::path(
    get,
    path = "/v1/credit/health",
    tag = "credit",
    security(("bearer" = ["read", "pay"])),
    responses((status = 200, description = "The credit health", body = CreditHealthResponse), ErrorResponses)
)]
pub(crate) async fn credit_health<B: NodeBackend>(
    State(state): State<AppState<B>>,
) -> Result<Json<CreditHealthResponse>, ApiError> {
    Ok(Json(state.backend.credit_health().await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    const G: &str = "79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798";

    #[test]
    fn xonly_keys() {
        assert_eq!(validate::xonly_key("a", G), Ok(G.to_owned()));
        assert_eq!(
            validate::xonly_key("a", &G.to_uppercase()),
            Ok(G.to_owned())
        );
        assert!(validate::xonly_key("a", &G[..62]).is_err());
        assert!(validate::xonly_key("a", &format!("02{G}")).is_err());
        assert!(validate::xonly_key("a", &G.replace('7', "g")).is_err());
        // 64 hex characters, but above the field size: no such point.
        assert!(validate::xonly_key("a", &"f".repeat(64)).is_err());
    }

    #[test]
    fn times() {
        assert_eq!(time_ms("exp", "1970-01-01T00:00:01Z"), Ok(1_000));
        assert_eq!(
            time_ms("exp", "2023-11-14T23:13:20.123+01:00"),
            Ok(1_700_000_000_123)
        );
        for bad in ["", "tomorrow", "2026-01-01", "1969-12-31T23:59:59Z"] {
            let error = time_ms("exp", bad).unwrap_err();
            assert!(error.to_string().starts_with("exp: "), "{error}");
        }
    }

    #[test]
    fn hex_fields() {
        let hash = "AB".repeat(32);
        assert_eq!(
            hex_exact("h", &hash, SHA256_HEX_LEN, "a SHA-256"),
            Ok("ab".repeat(32))
        );
        assert!(hex_exact("h", &hash[..63], SHA256_HEX_LEN, "a SHA-256").is_err());
        assert!(hex_exact("h", &"g".repeat(64), SHA256_HEX_LEN, "a SHA-256").is_err());
        // 64 bytes of multi-byte characters is not 64 hex characters.
        assert!(hex_exact("h", &"é".repeat(32), SHA256_HEX_LEN, "a SHA-256").is_err());
    }

    #[test]
    fn settle_invoices() {
        assert_eq!(settle_invoice("  lnbcrt1x \n"), Ok("lnbcrt1x".into()));
        assert!(settle_invoice(" ").is_err());
        assert!(settle_invoice("lnbcrt1é").is_err());
        assert!(settle_invoice(&"a".repeat(MAX_SETTLE_INVOICE_CHARS)).is_ok());
        assert!(settle_invoice(&"a".repeat(MAX_SETTLE_INVOICE_CHARS + 1)).is_err());
    }

    #[test]
    fn scopes() {
        assert_eq!(scope_type("l402"), Ok(ScopeType::L402));
        assert!(scope_type("NIP90").is_err());
    }
}
