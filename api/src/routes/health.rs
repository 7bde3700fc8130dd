//! `GET /healthz`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::AppState;
use crate::backend::NodeBackend;
use crate::error::ApiError;
use crate::types::{ErrorResponse, HealthResponse, HealthStatus};

/// Liveness and readiness: 200 when the node is `ok` or `degraded`, 503 when it is
/// `unavailable` or not running. No auth, so load balancers can poll it.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "service",
    responses(
        (status = 200, description = "The node serves requests", body = HealthResponse),
        (status = 503, description = "The node cannot serve requests", body = HealthResponse),
        (status = "5XX", description = "The health check itself failed", body = ErrorResponse),
    )
)]
pub(crate) async fn healthz<B: NodeBackend>(State(state): State<AppState<B>>) -> Response {
    match state.backend.health().await {
        Ok(health) => {
            let status = match health.status {
                HealthStatus::Ok | HealthStatus::Degraded => StatusCode::OK,
                HealthStatus::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            };
            (status, Json(health)).into_response()
        }
        Err(err) => ApiError::from(err).into_response(),
    }
}
