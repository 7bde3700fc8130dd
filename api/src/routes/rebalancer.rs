//! The rebalancer (issue 23): `GET /v1/rebalancer` reads its state (`read`: it shows the
//! node's channels and balances, like `GET /v1/node/channels`); the kill switch
//! (`POST /v1/rebalancer/halt`, `POST /v1/rebalancer/resume`) and a channel's own
//! settings (`PUT /v1/rebalancer/channels/{channel_id}`) are an operator's (`admin`).
//!
//! A node without a `[rebalancer]` section answers the state with `enabled: false`; its
//! admin routes answer 404 `not_enabled`. The API checks the request's shape (the
//! reason, the channel id); the rebalancer checks the rest (the band, that the node has
//! the channel).

use axum::extract::State;
use axum::Json;

use super::AppState;
use crate::backend::{ChannelId, NodeBackend};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath};
use crate::openapi::ErrorResponses;
use crate::types::{
    HaltRebalancerRequest, RebalanceChannelSettings, RebalancerStatusResponse,
    MAX_HALT_REASON_CHARS,
};
use crate::validate;

/// A halt's reason, trimmed: 1 to [`MAX_HALT_REASON_CHARS`] characters, none of them
/// control characters (it goes to the logs).
fn reason(reason: &str) -> Result<String, ApiError> {
    let reason = reason.trim();
    let chars = reason.chars().count();
    if chars == 0 || chars > MAX_HALT_REASON_CHARS {
        return Err(ApiError::InvalidRequest(format!(
            "reason: must be 1 to {MAX_HALT_REASON_CHARS} characters"
        )));
    }
    if reason.chars().any(char::is_control) {
        return Err(ApiError::InvalidRequest(
            "reason: must not hold control characters".into(),
        ));
    }
    Ok(reason.to_owned())
}

/// The rebalancer's state: its settings, the kill switch, the day's budget from the
/// pool's RRP partition, every channel against its band, the moves it would try now
/// with each one's verdict, and its recent rebalances. `enabled: false` on a node
/// without a `[rebalancer]` section.
#[utoipa::path(
    get,
    path = "/v1/rebalancer",
    tag = "rebalancer",
    security(("bearer" = ["read"])),
    responses((status = 200, description = "The rebalancer's state", body = RebalancerStatusResponse), ErrorResponses)
)]
pub(crate) async fn status<B: NodeBackend>(
    State(state): State<AppState<B>>,
) -> Result<Json<RebalancerStatusResponse>, ApiError> {
    Ok(Json(state.backend.rebalancer_status().await?))
}

/// Pulls the kill switch: no rebalance starts until it is released. Stored, so it holds
/// across restarts; a rebalance already in flight ends on its own. Halting a halted
/// rebalancer records the new reason.
#[utoipa::path(
    post,
    path = "/v1/rebalancer/halt",
    tag = "rebalancer",
    security(("bearer" = ["admin"])),
    request_body = HaltRebalancerRequest,
    responses((status = 200, description = "The rebalancer's state after", body = RebalancerStatusResponse), ErrorResponses)
)]
pub(crate) async fn halt<B: NodeBackend>(
    State(state): State<AppState<B>>,
    ApiJson(request): ApiJson<HaltRebalancerRequest>,
) -> Result<Json<RebalancerStatusResponse>, ApiError> {
    let reason = reason(&request.reason)?;
    Ok(Json(state.backend.halt_rebalancer(reason).await?))
}

/// Releases the kill switch (no body): rebalancing goes on from the next look.
#[utoipa::path(
    post,
    path = "/v1/rebalancer/resume",
    tag = "rebalancer",
    security(("bearer" = ["admin"])),
    responses((status = 200, description = "The rebalancer's state after", body = RebalancerStatusResponse), ErrorResponses)
)]
pub(crate) async fn resume<B: NodeBackend>(
    State(state): State<AppState<B>>,
) -> Result<Json<RebalancerStatusResponse>, ApiError> {
    Ok(Json(state.backend.resume_rebalancer().await?))
}

/// Sets one channel's own rebalancing settings, replacing its earlier ones: its band
/// (absent: the default band), an opt-out, or a liquidity commitment to its peer (a
/// committed or opted-out channel is never rebalanced). 404 `not_found` for a channel
/// the node does not have; 400 `invalid_request` for a bad band.
#[utoipa::path(
    put,
    path = "/v1/rebalancer/channels/{channel_id}",
    tag = "rebalancer",
    security(("bearer" = ["admin"])),
    params(("channel_id" = String, Path, description = "The channel, 32 bytes as 64 hex characters")),
    request_body = RebalanceChannelSettings,
    responses((status = 200, description = "The channel's settings as stored", body = RebalanceChannelSettings), ErrorResponses)
)]
pub(crate) async fn set_channel<B: NodeBackend>(
    State(state): State<AppState<B>>,
    ApiPath(channel_id): ApiPath<String>,
    ApiJson(settings): ApiJson<RebalanceChannelSettings>,
) -> Result<Json<RebalanceChannelSettings>, ApiError> {
    let channel_id = ChannelId(validate::id32("channel_id", &channel_id)?);
    Ok(Json(
        state
            .backend
            .set_rebalance_channel(channel_id, settings)
            .await?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_trimmed_and_bounded() {
        assert_eq!(reason("  maintenance \n"), Ok("maintenance".into()));
        assert_eq!(reason(&"é".repeat(200)), Ok("é".repeat(200)));
        for bad in ["", "   ", &"a".repeat(201), "a\u{7}b"] {
            assert!(
                matches!(reason(bad), Err(ApiError::InvalidRequest(_))),
                "{bad:?}"
            );
        }
    }
}
