//! `POST /v1/node/invoices`.

use axum::extract::State;
use axum::Json;

use super::AppState;
use crate::backend::{CreateInvoice, NodeBackend};
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::openapi::ErrorResponses;
use crate::types::{CreateInvoiceRequest, InvoiceResponse};
use crate::validate;

/// The expiry of an invoice created without `expiry_secs`: one hour.
pub const DEFAULT_EXPIRY_SECS: u32 = 3600;

/// Creates a BOLT11 invoice.
#[utoipa::path(
    post,
    path = "/v1/node/invoices",
    tag = "invoices",
    security(("bearer" = ["pay"])),
    request_body = CreateInvoiceRequest,
    responses((status = 200, description = "The invoice", body = InvoiceResponse), ErrorResponses)
)]
pub(crate) async fn create_invoice<B: NodeBackend>(
    State(state): State<AppState<B>>,
    ApiJson(request): ApiJson<CreateInvoiceRequest>,
) -> Result<Json<InvoiceResponse>, ApiError> {
    let amount_msat = request
        .amount_msat
        .map(|amount| validate::positive_msat("amount_msat", amount))
        .transpose()?;
    if request.description.len() > validate::MAX_DESCRIPTION_BYTES {
        return Err(ApiError::InvalidRequest(format!(
            "description: at most {} bytes",
            validate::MAX_DESCRIPTION_BYTES
        )));
    }
    let expiry_secs = request.expiry_secs.unwrap_or(DEFAULT_EXPIRY_SECS);
    if expiry_secs == 0 || expiry_secs > validate::MAX_EXPIRY_SECS {
        return Err(ApiError::InvalidRequest(format!(
            "expiry_secs: must be between 1 and {}",
            validate::MAX_EXPIRY_SECS
        )));
    }
    let command = CreateInvoice {
        amount_msat,
        description: request.description,
        expiry_secs,
    };
    Ok(Json(state.backend.create_invoice(command).await?))
}
