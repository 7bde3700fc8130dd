//! `GET /metrics`.

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;

use super::AppState;
use crate::backend::NodeBackend;
use crate::openapi::ErrorResponses;

/// The content type of the Prometheus text exposition format.
pub const PROMETHEUS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The node's metrics in the Prometheus text format.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "service",
    security(("bearer" = ["read"])),
    responses((status = 200, description = "Prometheus text", body = String, content_type = "text/plain"), ErrorResponses)
)]
pub(crate) async fn metrics<B: NodeBackend>(State(state): State<AppState<B>>) -> impl IntoResponse {
    ([(CONTENT_TYPE, PROMETHEUS_CONTENT_TYPE)], (state.metrics)())
}
