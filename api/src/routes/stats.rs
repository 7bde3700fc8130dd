//! `GET /stats`: the node's public figures (no auth, computed at most once a minute by
//! the node): JSON, or with `Accept: text/html` a page with the same figures and a chart.

use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;

use super::AppState;
use crate::backend::NodeBackend;
use crate::error::ApiError;
use crate::openapi::ErrorResponses;
use crate::stats_page;
use crate::types::StatsResponse;

/// Whether the caller prefers HTML: its `Accept` names `text/html`.
fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').any(|t| t.trim().starts_with("text/html")))
}

/// The node's liquidity, routing income, payment success, channel health, pool and credit
/// envelopes (both breakers).
#[utoipa::path(
    get,
    path = "/stats",
    tag = "stats",
    responses(
        (status = 200, description = "The figures (JSON; HTML with `Accept: text/html`)", body = StatsResponse),
        ErrorResponses
    )
)]
pub(crate) async fn stats<B: NodeBackend>(
    State(state): State<AppState<B>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let stats = state.backend.stats().await?;
    if wants_html(&headers) {
        return Ok(Html(stats_page::render(&stats)).into_response());
    }
    Ok(Json(stats).into_response())
}
