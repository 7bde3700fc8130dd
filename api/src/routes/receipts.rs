//! `GET /v1/receipts/{receipt_id}`.

use axum::extract::State;
use axum::Json;
use serde_json::Value;

use super::AppState;
use crate::backend::NodeBackend;
use crate::error::ApiError;
use crate::extract::ApiPath;
use crate::openapi::ErrorResponses;
use crate::validate;

/// The longest receipt id accepted (`rcpt_` and 32 hex characters fit well within).
const MAX_RECEIPT_ID_LEN: usize = 64;

/// A signed receipt, as issued: check it offline with `sluice receipt verify`.
#[utoipa::path(
    get,
    path = "/v1/receipts/{receipt_id}",
    tag = "receipts",
    security(("bearer" = ["read", "pay"])),
    params(("receipt_id" = String, Path, description = "The receipt id (`rcpt_…`)")),
    responses((status = 200, description = "The signed receipt", body = Object), ErrorResponses)
)]
pub(crate) async fn get_receipt<B: NodeBackend>(
    State(state): State<AppState<B>>,
    ApiPath(receipt_id): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    let receipt_id = validate::token("receipt_id", &receipt_id, MAX_RECEIPT_ID_LEN)?;
    Ok(Json(state.backend.get_receipt(receipt_id).await?))
}
