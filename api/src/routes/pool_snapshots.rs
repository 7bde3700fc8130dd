//! Proof snapshots (spec §4.3): `POST /v1/pools/{pool_id}/snapshots` (admin) takes one
//! now; `GET …/snapshots/{seq}` (`read` or `lp`; `latest` for the newest) reads one;
//! `GET …/snapshots/{seq}/proofs/{lp_id}` is an LP's own inclusion proofs (`lp`, the
//! LP's owner, or admin).

use axum::extract::State;
use axum::Json;

use super::pools::{id, pool_id};
use super::AppState;
use crate::auth::{Caller, IsAdmin};
use crate::backend::NodeBackend;
use crate::error::ApiError;
use crate::extract::ApiPath;
use crate::openapi::ErrorResponses;
use crate::types::{InclusionProofResponse, PoolSnapshotResponse};

/// A snapshot number from the path: digits, or `latest` (`None`).
fn seq(value: &str) -> Result<Option<u64>, ApiError> {
    if value == "latest" {
        return Ok(None);
    }
    match value.parse::<u64>() {
        Ok(seq) if seq > 0 && value.bytes().all(|b| b.is_ascii_digit()) => Ok(Some(seq)),
        _ => Err(ApiError::InvalidRequest(format!(
            "snapshot: `{value}` is neither a snapshot number (from 1) nor `latest`"
        ))),
    }
}

/// Takes a proof snapshot now, signs and stores it.
#[utoipa::path(
    post,
    path = "/v1/pools/{pool_id}/snapshots",
    tag = "pools",
    security(("bearer" = ["admin"])),
    params(("pool_id" = String, Path, description = "The pool")),
    responses((status = 200, description = "The snapshot", body = PoolSnapshotResponse), ErrorResponses)
)]
pub(crate) async fn take_snapshot<B: NodeBackend>(
    State(state): State<AppState<B>>,
    ApiPath(pool): ApiPath<String>,
) -> Result<Json<PoolSnapshotResponse>, ApiError> {
    Ok(Json(state.backend.take_snapshot(pool_id(&pool)?).await?))
}

/// A proof snapshot, by number or `latest`.
#[utoipa::path(
    get,
    path = "/v1/pools/{pool_id}/snapshots/{seq}",
    tag = "pools",
    security(("bearer" = ["read", "lp"])),
    params(
        ("pool_id" = String, Path, description = "The pool"),
        ("seq" = String, Path, description = "The snapshot's number, or `latest`"),
    ),
    responses((status = 200, description = "The snapshot", body = PoolSnapshotResponse), ErrorResponses)
)]
pub(crate) async fn get_snapshot<B: NodeBackend>(
    State(state): State<AppState<B>>,
    ApiPath((pool, number)): ApiPath<(String, String)>,
) -> Result<Json<PoolSnapshotResponse>, ApiError> {
    let pool_id = pool_id(&pool)?;
    Ok(Json(
        state.backend.pool_snapshot(pool_id, seq(&number)?).await?,
    ))
}

/// An LP's inclusion proofs in a snapshot: each of their leaves with its path to the
/// signed root.
#[utoipa::path(
    get,
    path = "/v1/pools/{pool_id}/snapshots/{seq}/proofs/{lp_id}",
    tag = "pools",
    security(("bearer" = ["lp"])),
    params(
        ("pool_id" = String, Path, description = "The pool"),
        ("seq" = String, Path, description = "The snapshot's number, or `latest`"),
        ("lp_id" = String, Path, description = "The LP"),
    ),
    responses((status = 200, description = "The LP's proofs", body = InclusionProofResponse), ErrorResponses)
)]
pub(crate) async fn inclusion_proof<B: NodeBackend>(
    State(state): State<AppState<B>>,
    caller: Caller,
    IsAdmin(admin): IsAdmin,
    ApiPath((pool, number, lp)): ApiPath<(String, String, String)>,
) -> Result<Json<InclusionProofResponse>, ApiError> {
    let pool_id = pool_id(&pool)?;
    let seq = seq(&number)?;
    let lp_id = id("lp_id", &lp)?;
    Ok(Json(
        state
            .backend
            .inclusion_proof(pool_id, seq, lp_id, caller.0, admin)
            .await?,
    ))
}
