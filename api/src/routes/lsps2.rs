//! `GET /v1/lsps2/menu`, `GET /v1/lsps2/orders`, `GET /v1/lsps2/summary`: what the LSPS2
//! JIT channel service sells and has sold.

use axum::extract::State;
use axum::Json;

use super::AppState;
use crate::backend::NodeBackend;
use crate::error::ApiError;
use crate::openapi::ErrorResponses;
use crate::types::{Lsps2MenuResponse, Lsps2Order, Lsps2SummaryResponse};

/// The fee menus (tokens included) and limits in force.
#[utoipa::path(
    get,
    path = "/v1/lsps2/menu",
    tag = "lsps2",
    security(("bearer" = ["admin"])),
    responses((status = 200, description = "Menus and limits", body = Lsps2MenuResponse), ErrorResponses)
)]
pub(crate) async fn menu<B: NodeBackend>(
    State(state): State<AppState<B>>,
) -> Result<Json<Lsps2MenuResponse>, ApiError> {
    Ok(Json(state.backend.lsps2_menu().await?))
}

/// Every JIT channel order and where it stands, newest first.
#[utoipa::path(
    get,
    path = "/v1/lsps2/orders",
    tag = "lsps2",
    security(("bearer" = ["read"])),
    responses((status = 200, description = "The orders", body = [Lsps2Order]), ErrorResponses)
)]
pub(crate) async fn orders<B: NodeBackend>(
    State(state): State<AppState<B>>,
) -> Result<Json<Vec<Lsps2Order>>, ApiError> {
    Ok(Json(state.backend.lsps2_orders().await?))
}

/// Orders by state, fees skimmed and capacity committed.
#[utoipa::path(
    get,
    path = "/v1/lsps2/summary",
    tag = "lsps2",
    security(("bearer" = ["read"])),
    responses((status = 200, description = "The totals", body = Lsps2SummaryResponse), ErrorResponses)
)]
pub(crate) async fn summary<B: NodeBackend>(
    State(state): State<AppState<B>>,
) -> Result<Json<Lsps2SummaryResponse>, ApiError> {
    Ok(Json(state.backend.lsps2_summary().await?))
}
