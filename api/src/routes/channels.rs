//! `GET /v1/node/channels`, `POST /v1/node/channels`,
//! `POST /v1/node/channels/{channel_id}/close`.

use axum::extract::State;
use axum::Json;

use sluice_actors::idempotency::IdempotencyKey;

use super::AppState;
use crate::auth::Caller;
use crate::backend::{ChannelId, CloseChannel, NodeBackend, OpenChannel};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, IdempotencyHeader};
use crate::openapi::ErrorResponses;
use crate::types::{
    CloseChannelRequest, CloseChannelResponse, ListChannelsResponse, OpenChannelRequest,
    OpenChannelResponse,
};
use crate::validate;

/// Every channel, with balances.
#[utoipa::path(
    get,
    path = "/v1/node/channels",
    tag = "channels",
    security(("bearer" = ["read"])),
    responses((status = 200, description = "The channels", body = ListChannelsResponse), ErrorResponses)
)]
pub(crate) async fn list_channels<B: NodeBackend>(
    State(state): State<AppState<B>>,
) -> Result<Json<ListChannelsResponse>, ApiError> {
    let channels = state.backend.list_channels().await?;
    Ok(Json(ListChannelsResponse { channels }))
}

/// Starts a channel open, funded from the on-chain wallet.
#[utoipa::path(
    post,
    path = "/v1/node/channels",
    tag = "channels",
    security(("bearer" = ["admin"])),
    params(("Idempotency-Key" = Option<String>, Header,
        description = "Opens at most one channel per key; a retry with the same key and body gets the first answer (1-128 visible ASCII characters, per token)")),
    request_body = OpenChannelRequest,
    responses((status = 200, description = "The open has started", body = OpenChannelResponse), ErrorResponses)
)]
pub(crate) async fn open_channel<B: NodeBackend>(
    State(state): State<AppState<B>>,
    caller: Caller,
    key: IdempotencyHeader,
    ApiJson(request): ApiJson<OpenChannelRequest>,
) -> Result<Json<OpenChannelResponse>, ApiError> {
    let capacity_sat = validate::positive_sat("capacity_sat", request.capacity_sat)?;
    if request.push_msat >= capacity_sat.saturating_mul(1000) {
        return Err(ApiError::InvalidRequest(
            "push_msat: must be less than the capacity".into(),
        ));
    }
    let command = OpenChannel {
        node_id: validate::node_id("node_id", &request.node_id)?,
        address: request
            .address
            .as_deref()
            .map(|address| validate::peer_address("address", address))
            .transpose()?,
        capacity_sat,
        push_msat: request.push_msat,
        announce: request.announce,
        zero_conf: request.zero_conf,
        idempotency: key.0.map(|key| IdempotencyKey {
            caller: caller.0,
            key,
        }),
    };
    let channel_id = state.backend.open_channel(command).await?;
    Ok(Json(OpenChannelResponse {
        channel_id: channel_id.to_string(),
    }))
}

/// Starts a cooperative close, or a force close with `force: true`.
#[utoipa::path(
    post,
    path = "/v1/node/channels/{channel_id}/close",
    tag = "channels",
    security(("bearer" = ["admin"])),
    params(("channel_id" = String, Path, description = "The channel id, hex")),
    request_body = CloseChannelRequest,
    responses((status = 200, description = "The close has started", body = CloseChannelResponse), ErrorResponses)
)]
pub(crate) async fn close_channel<B: NodeBackend>(
    State(state): State<AppState<B>>,
    ApiPath(channel_id): ApiPath<String>,
    ApiJson(request): ApiJson<CloseChannelRequest>,
) -> Result<Json<CloseChannelResponse>, ApiError> {
    let command = CloseChannel {
        channel_id: ChannelId(validate::id32("channel_id", &channel_id)?),
        counterparty_node_id: validate::node_id(
            "counterparty_node_id",
            &request.counterparty_node_id,
        )?,
        force: request.force,
    };
    state.backend.close_channel(command).await?;
    Ok(Json(CloseChannelResponse {
        channel_id: channel_id.to_ascii_lowercase(),
        force: request.force,
    }))
}
