//! `GET /v1/nostr`: the Nostr mirror's state — the key the node signs its events with,
//! each relay and what it answered, the outbox still to send. A node without relays
//! answers `enabled: false` and publishes nothing. Read only: `read` or `pay`.

use axum::extract::State;
use axum::Json;

use super::AppState;
use crate::backend::NodeBackend;
use crate::error::ApiError;
use crate::openapi::ErrorResponses;
use crate::types::NostrStatusResponse;

/// The Nostr mirror's state: its public key (hex and `npub`), each relay's connection
/// and counters since start, and the events some relay has yet to answer.
#[utoipa::path(
    get,
    path = "/v1/nostr",
    tag = "nostr",
    security(("bearer" = ["read", "pay"])),
    responses((status = 200, description = "The Nostr mirror's state", body = NostrStatusResponse), ErrorResponses)
)]
pub(crate) async fn nostr_status<B: NodeBackend>(
    State(state): State<AppState<B>>,
) -> Result<Json<NostrStatusResponse>, ApiError> {
    Ok(Json(state.backend.nostr_status().await?))
}
