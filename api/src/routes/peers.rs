//! `GET /v1/node/peers`, `POST /v1/node/peers`, `DELETE /v1/node/peers/{node_id}`.

use axum::extract::State;
use axum::Json;

use super::AppState;
use crate::backend::{ConnectPeer, NodeBackend};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath};
use crate::openapi::ErrorResponses;
use crate::types::{ConnectPeerRequest, ListPeersResponse, PeerResponse};
use crate::validate;

/// The connected peers.
#[utoipa::path(
    get,
    path = "/v1/node/peers",
    tag = "peers",
    security(("bearer" = ["read"])),
    responses((status = 200, description = "The connected peers", body = ListPeersResponse), ErrorResponses)
)]
pub(crate) async fn list_peers<B: NodeBackend>(
    State(state): State<AppState<B>>,
) -> Result<Json<ListPeersResponse>, ApiError> {
    let peers = state.backend.list_peers().await?;
    Ok(Json(ListPeersResponse { peers }))
}

/// Connects to a peer; answers once the connection is up.
#[utoipa::path(
    post,
    path = "/v1/node/peers",
    tag = "peers",
    security(("bearer" = ["admin"])),
    request_body = ConnectPeerRequest,
    responses((status = 200, description = "Connected", body = PeerResponse), ErrorResponses)
)]
pub(crate) async fn connect_peer<B: NodeBackend>(
    State(state): State<AppState<B>>,
    ApiJson(request): ApiJson<ConnectPeerRequest>,
) -> Result<Json<PeerResponse>, ApiError> {
    let command = ConnectPeer {
        node_id: validate::node_id("node_id", &request.node_id)?,
        address: validate::peer_address("address", &request.address)?,
    };
    state.backend.connect_peer(command).await?;
    Ok(Json(PeerResponse {
        node_id: request.node_id,
    }))
}

/// Disconnects a peer.
#[utoipa::path(
    delete,
    path = "/v1/node/peers/{node_id}",
    tag = "peers",
    security(("bearer" = ["admin"])),
    params(("node_id" = String, Path, description = "The peer's node id, hex")),
    responses((status = 200, description = "Disconnected", body = PeerResponse), ErrorResponses)
)]
pub(crate) async fn disconnect_peer<B: NodeBackend>(
    State(state): State<AppState<B>>,
    ApiPath(node_id): ApiPath<String>,
) -> Result<Json<PeerResponse>, ApiError> {
    let key = validate::node_id("node_id", &node_id)?;
    state.backend.disconnect_peer(key).await?;
    Ok(Json(PeerResponse { node_id }))
}
