//! Credit envelopes (spec §6.2, §7): `POST /v1/credit/intent` files an agent's intent,
//! `POST /v1/credit/offer` asks underwriting for an offer, `POST /v1/credit/envelope`
//! issues an envelope from an offer for one provider; `GET /v1/credit/envelopes/{id}`,
//! `GET /v1/credit/agents/{agent_id}/exposure` and `GET /v1/credit/health` read them
//! back. The POSTs are `pay` (the TreasuryRouter's scope: credit is another way to pay)
//! and rate limited like the other money routes; the reads are `read` or `pay`.
//!
//! The API checks the request's shape (schema, keys, scope, ids, amounts, times); the
//! envelope ledger checks the rest: the limits of the credit settings, the intent an
//! offer names, the offer's state and expiry, the breakers, the agent's live envelopes
//! and the CEP partition's free capital.

use axum::extract::State;
use axum::Json;
use chrono::DateTime;
use serde_json::json;
use sluice_actors::credit::{EnvelopeAsk, IntentAsk, OfferAsk};
use sluice_actors::idempotency;
use sluice_credit::underwriting::ScopeType;

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
    CreditOfferResponse, CREDIT_ENVELOPE_REQUEST_SCHEMA, CREDIT_INTENT_REQUEST_SCHEMA,
    CREDIT_OFFER_REQUEST_SCHEMA,
};
use crate::validate;

/// The highest fee a request may name, basis points: all of what is paid.
pub const MAX_FEE_BPS: u32 = 10_000;

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
    fn scopes() {
        assert_eq!(scope_type("l402"), Ok(ScopeType::L402));
        assert!(scope_type("NIP90").is_err());
    }
}
