//! `POST /v1/liquidity/quote_pay`, `POST /v1/liquidity/pay`,
//! `GET /v1/liquidity/pay/{quote_id}`: the TreasuryRouter liquidity service.

use std::time::Duration;

use axum::extract::State;
use axum::Json;
use sluice_actors::payments::{PayRequest as PayQuote, QuoteRequest, Urgency};

use super::payments::MAX_INVOICE_CHARS;
use super::AppState;
use crate::auth::Caller;
use crate::backend::NodeBackend;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath};
use crate::openapi::ErrorResponses;
use crate::types::{
    PayRequest, PayResponse, QuotePayRequest, QuotePayResponse, PAY_REQUEST_SCHEMA,
    QUOTE_PAY_REQUEST_SCHEMA,
};
use crate::validate;

/// The longest host accepted.
pub const MAX_HOST_BYTES: usize = 255;
/// The longest quote id, run id or trajectory hash accepted.
pub const MAX_ID_LEN: usize = 128;
/// How much of the request timeout a synchronous pay leaves for answering.
const ANSWER_MARGIN: Duration = Duration::from_secs(2);

/// Quotes a BOLT11 invoice: checks it, finds a route within the caller's ceilings and
/// stores the quote.
#[utoipa::path(
    post,
    path = "/v1/liquidity/quote_pay",
    tag = "liquidity",
    security(("bearer" = ["pay"])),
    request_body = QuotePayRequest,
    responses((status = 200, description = "The quote", body = QuotePayResponse), ErrorResponses)
)]
pub(crate) async fn quote_pay<B: NodeBackend>(
    State(state): State<AppState<B>>,
    caller: Caller,
    ApiJson(request): ApiJson<QuotePayRequest>,
) -> Result<Json<QuotePayResponse>, ApiError> {
    validate::schema(&request.schema, QUOTE_PAY_REQUEST_SCHEMA)?;
    let invoice = request.invoice.trim();
    if invoice.is_empty() || invoice.len() > MAX_INVOICE_CHARS {
        return Err(ApiError::InvalidRequest(format!(
            "invoice: must be a BOLT11 invoice of at most {MAX_INVOICE_CHARS} characters"
        )));
    }
    let urgency = match request.urgency.as_deref() {
        None => Urgency::default(),
        Some(name) => Urgency::parse(name).ok_or_else(|| {
            ApiError::InvalidRequest(format!("urgency: `{name}` is not one of low, normal, high"))
        })?,
    };
    let command = QuoteRequest {
        idempotency_key: validate::token(
            "idempotency_key",
            &request.idempotency_key,
            validate::MAX_IDEMPOTENCY_KEY_LEN,
        )?,
        invoice: invoice.to_owned(),
        host: validate::text("host", &request.host, MAX_HOST_BYTES)?,
        max_amount_msats: validate::positive_msat("max_amount_msats", request.max_amount_msats)?,
        max_fee_msats: request.max_fee_msats.min(validate::MAX_MSAT),
        urgency,
        policy_context: request.policy_context,
        amount_msats: request
            .amount_msats
            .map(|amount| validate::positive_msat("amount_msats", amount))
            .transpose()?,
        caller: caller.0,
    };
    Ok(Json(state.backend.quote_pay(command).await?))
}

/// Pays a quote, exactly once. Waits up to `wait_ms` for the outcome; a repeat answers
/// with the first payment as it stands. With `envelope_id` (spec §8.2) the quote is paid
/// on that credit envelope's credit, from the pool's liquidity, and booked as its draw.
#[utoipa::path(
    post,
    path = "/v1/liquidity/pay",
    tag = "liquidity",
    security(("bearer" = ["pay"])),
    request_body = PayRequest,
    responses((status = 200, description = "The payment: succeeded, failed, or still pending", body = PayResponse), ErrorResponses)
)]
pub(crate) async fn pay<B: NodeBackend>(
    State(state): State<AppState<B>>,
    caller: Caller,
    ApiJson(request): ApiJson<PayRequest>,
) -> Result<Json<PayResponse>, ApiError> {
    validate::schema(&request.schema, PAY_REQUEST_SCHEMA)?;
    let optional = |field: &str, value: Option<String>| {
        value
            .map(|v| validate::token(field, &v, MAX_ID_LEN))
            .transpose()
    };
    let envelope_id = optional("envelope_id", request.envelope_id)?;
    let command = PayQuote {
        quote_id: validate::token("quote_id", &request.quote_id, MAX_ID_LEN)?,
        run_id: optional("run_id", request.run_id)?,
        trajectory_hash: optional("trajectory_hash", request.trajectory_hash)?,
        caller: caller.0,
    };
    if let Some(envelope_id) = envelope_id {
        return Ok(Json(
            state
                .backend
                .pay_quote_on_envelope(command, envelope_id)
                .await?,
        ));
    }
    let longest = state.request_timeout.saturating_sub(ANSWER_MARGIN);
    let wait = request
        .wait_ms
        .map_or(longest, Duration::from_millis)
        .min(longest);
    Ok(Json(state.backend.pay_quote(command, wait).await?))
}

/// Where a quote's payment stands.
#[utoipa::path(
    get,
    path = "/v1/liquidity/pay/{quote_id}",
    tag = "liquidity",
    security(("bearer" = ["read", "pay"])),
    params(("quote_id" = String, Path, description = "The quote id")),
    responses((status = 200, description = "The payment", body = PayResponse), ErrorResponses)
)]
pub(crate) async fn get_pay<B: NodeBackend>(
    State(state): State<AppState<B>>,
    ApiPath(quote_id): ApiPath<String>,
) -> Result<Json<PayResponse>, ApiError> {
    let quote_id = validate::token("quote_id", &quote_id, MAX_ID_LEN)?;
    Ok(Json(state.backend.get_quote_payment(quote_id).await?))
}
