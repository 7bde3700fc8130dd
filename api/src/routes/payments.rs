//! `POST /v1/node/payments` (pay), `POST /v1/node/payments/keysend`,
//! `GET /v1/node/payments`, `GET /v1/node/payments/{payment_id}`.

use axum::extract::State;
use axum::Json;

use sluice_actors::idempotency::IdempotencyKey;
use sluice_actors::payments::KeysendPayment;

use super::AppState;
use crate::auth::Caller;
use crate::backend::{NodeBackend, PayInvoice, PaymentFilter, PaymentId};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery, IdempotencyHeader};
use crate::openapi::ErrorResponses;
use crate::types::{
    KeysendRequest, ListPaymentsQuery, ListPaymentsResponse, PayInvoiceRequest, PaymentInfo,
};
use crate::validate;

/// How many payments a listing returns without `limit`.
pub const DEFAULT_LIST_LIMIT: u32 = 100;
/// The largest `limit` accepted.
pub const MAX_LIST_LIMIT: u32 = 1000;
/// The longest `cursor` accepted (the node's cursors are far shorter).
pub const MAX_CURSOR_LEN: usize = 128;

/// The longest invoice accepted (BOLT11 invoices with many route hints stay far below).
pub const MAX_INVOICE_CHARS: usize = 7089;

/// Pays a BOLT11 invoice. An invoice is paid at most once; with an `Idempotency-Key` a
/// retry also gets the first answer.
#[utoipa::path(
    post,
    path = "/v1/node/payments",
    tag = "payments",
    security(("bearer" = ["pay"])),
    params(("Idempotency-Key" = Option<String>, Header,
        description = "A retry with the same key and body gets the first answer (1-128 visible ASCII characters, per token)")),
    request_body = PayInvoiceRequest,
    responses((status = 200, description = "The payment, usually still pending", body = PaymentInfo), ErrorResponses)
)]
pub(crate) async fn pay_invoice<B: NodeBackend>(
    State(state): State<AppState<B>>,
    caller: Caller,
    key: IdempotencyHeader,
    ApiJson(request): ApiJson<PayInvoiceRequest>,
) -> Result<Json<PaymentInfo>, ApiError> {
    let invoice = request.invoice.trim().to_owned();
    if invoice.is_empty() || invoice.len() > MAX_INVOICE_CHARS {
        return Err(ApiError::InvalidRequest(format!(
            "invoice: must be a BOLT11 invoice of at most {MAX_INVOICE_CHARS} characters"
        )));
    }
    let amount_msat = request
        .amount_msat
        .map(|amount| validate::positive_msat("amount_msat", amount))
        .transpose()?;
    let command = PayInvoice {
        invoice,
        amount_msat,
        max_fee_msat: request.max_fee_msat,
        idempotency: key.0.map(|key| IdempotencyKey {
            caller: caller.0.clone(),
            key,
        }),
        caller: caller.0,
    };
    Ok(Json(state.backend.pay_invoice(command).await?))
}

/// Sends a spontaneous (keysend) payment: no invoice, the preimage travels in the onion.
/// The `Idempotency-Key` header is required: a retry with the same key and body gets the
/// first payment, with another body 409 `idempotency_conflict`.
#[utoipa::path(
    post,
    path = "/v1/node/payments/keysend",
    tag = "payments",
    security(("bearer" = ["pay"])),
    params(("Idempotency-Key" = String, Header,
        description = "Required. A retry with the same key and body gets the first payment (1-128 visible ASCII characters, per token)")),
    request_body = KeysendRequest,
    responses((status = 200, description = "The payment, usually still pending", body = PaymentInfo), ErrorResponses)
)]
pub(crate) async fn keysend<B: NodeBackend>(
    State(state): State<AppState<B>>,
    caller: Caller,
    key: IdempotencyHeader,
    ApiJson(request): ApiJson<KeysendRequest>,
) -> Result<Json<PaymentInfo>, ApiError> {
    let idempotency = IdempotencyKey {
        caller: caller.0,
        key: key.required()?,
    };
    let command = KeysendPayment {
        node_id: validate::node_id("node_id", &request.node_id)?,
        amount_msat: validate::positive_msat("amount_msat", request.amount_msat)?,
        max_fee_msat: request.max_fee_msat,
        idempotency,
    };
    Ok(Json(state.backend.keysend(command).await?))
}

/// Payments, newest first, a page at a time (follow `next_cursor`), optionally filtered
/// by direction and status.
#[utoipa::path(
    get,
    path = "/v1/node/payments",
    tag = "payments",
    security(("bearer" = ["read", "pay"])),
    params(ListPaymentsQuery),
    responses((status = 200, description = "The payments", body = ListPaymentsResponse), ErrorResponses)
)]
pub(crate) async fn list_payments<B: NodeBackend>(
    State(state): State<AppState<B>>,
    ApiQuery(query): ApiQuery<ListPaymentsQuery>,
) -> Result<Json<ListPaymentsResponse>, ApiError> {
    let limit = query.limit.unwrap_or(DEFAULT_LIST_LIMIT);
    if limit == 0 || limit > MAX_LIST_LIMIT {
        return Err(ApiError::InvalidRequest(format!(
            "limit: must be between 1 and {MAX_LIST_LIMIT}"
        )));
    }
    let filter = PaymentFilter {
        direction: query.direction,
        status: query.status,
        limit: usize::try_from(limit).unwrap_or(usize::MAX),
        cursor: query
            .cursor
            .map(|cursor| validate::token("cursor", &cursor, MAX_CURSOR_LEN))
            .transpose()?,
        payment_hash: query
            .payment_hash
            .map(|hash| validate::id32("payment_hash", &hash))
            .transpose()?,
    };
    Ok(Json(state.backend.list_payments(filter).await?))
}

/// One payment.
#[utoipa::path(
    get,
    path = "/v1/node/payments/{payment_id}",
    tag = "payments",
    security(("bearer" = ["read", "pay"])),
    params(("payment_id" = String, Path, description = "The payment id, hex (32 bytes)")),
    responses((status = 200, description = "The payment", body = PaymentInfo), ErrorResponses)
)]
pub(crate) async fn get_payment<B: NodeBackend>(
    State(state): State<AppState<B>>,
    ApiPath(payment_id): ApiPath<String>,
) -> Result<Json<PaymentInfo>, ApiError> {
    let id = PaymentId(validate::id32("payment_id", &payment_id)?);
    Ok(Json(state.backend.get_payment(id).await?))
}
