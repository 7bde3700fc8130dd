//! `GET /v1/lsps2/menu`, `GET /v1/lsps2/orders`, `GET /v1/lsps2/summary`: what the LSPS2
//! JIT channel service sells and has sold.

use axum::extract::State;
use axum::Json;

use super::AppState;
use crate::backend::{Lsps2OrdersPage, NodeBackend};
use crate::error::ApiError;
use crate::extract::ApiQuery;
use crate::openapi::ErrorResponses;
use crate::types::{
    Lsps2MenuResponse, Lsps2OrdersQuery, Lsps2OrdersResponse, Lsps2SummaryResponse,
    LSPS2_ORDERS_DEFAULT_LIMIT, LSPS2_ORDERS_MAX_LIMIT,
};

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

/// The JIT channel orders and where each stands, newest first, a page at a time: at most
/// `limit` orders (default 100, at most 1000), and a `next_cursor` to pass as `cursor` for
/// the next page, absent on the last. Read from the store, so orders that ended long ago
/// are listed too; a page costs the same however many orders there are.
#[utoipa::path(
    get,
    path = "/v1/lsps2/orders",
    tag = "lsps2",
    security(("bearer" = ["read"])),
    params(Lsps2OrdersQuery),
    responses((status = 200, description = "One page of orders", body = Lsps2OrdersResponse), ErrorResponses)
)]
pub(crate) async fn orders<B: NodeBackend>(
    State(state): State<AppState<B>>,
    ApiQuery(query): ApiQuery<Lsps2OrdersQuery>,
) -> Result<Json<Lsps2OrdersResponse>, ApiError> {
    let limit = query.limit.unwrap_or(LSPS2_ORDERS_DEFAULT_LIMIT);
    if limit == 0 || limit > LSPS2_ORDERS_MAX_LIMIT {
        return Err(ApiError::InvalidRequest(format!(
            "limit: must be between 1 and {LSPS2_ORDERS_MAX_LIMIT}"
        )));
    }
    if let Some(cursor) = &query.cursor {
        if !sluice_actors::lsps2::valid_cursor(cursor) {
            return Err(ApiError::InvalidRequest(
                "cursor: must be a next_cursor this endpoint returned".to_owned(),
            ));
        }
    }
    let page = Lsps2OrdersPage {
        limit: limit as usize,
        cursor: query.cursor,
    };
    Ok(Json(state.backend.lsps2_orders(page).await?))
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
