//! `GET /v1/node/info`.

use axum::extract::State;
use axum::Json;

use super::AppState;
use crate::backend::NodeBackend;
use crate::error::ApiError;
use crate::openapi::ErrorResponses;
use crate::types::NodeInfoResponse;

/// The node's identity and chain view.
#[utoipa::path(
    get,
    path = "/v1/node/info",
    tag = "node",
    security(("bearer" = ["read"])),
    responses((status = 200, description = "The node's info", body = NodeInfoResponse), ErrorResponses)
)]
pub(crate) async fn get_info<B: NodeBackend>(
    State(state): State<AppState<B>>,
) -> Result<Json<NodeInfoResponse>, ApiError> {
    Ok(Json(state.backend.node_info().await?))
}
