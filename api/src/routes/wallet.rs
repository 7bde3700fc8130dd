//! `POST /v1/node/wallet/address`, `GET /v1/node/wallet/balance`.

use axum::extract::State;
use axum::Json;

use super::AppState;
use crate::backend::NodeBackend;
use crate::error::ApiError;
use crate::openapi::ErrorResponses;
use crate::types::{WalletAddressResponse, WalletBalanceResponse};

/// Reveals a fresh receive address of the on-chain wallet.
#[utoipa::path(
    post,
    path = "/v1/node/wallet/address",
    tag = "wallet",
    security(("bearer" = ["admin"])),
    responses((status = 200, description = "A fresh address", body = WalletAddressResponse), ErrorResponses)
)]
pub(crate) async fn new_address<B: NodeBackend>(
    State(state): State<AppState<B>>,
) -> Result<Json<WalletAddressResponse>, ApiError> {
    Ok(Json(state.backend.wallet_new_address().await?))
}

/// The on-chain wallet's balance.
#[utoipa::path(
    get,
    path = "/v1/node/wallet/balance",
    tag = "wallet",
    security(("bearer" = ["read"])),
    responses((status = 200, description = "The balance", body = WalletBalanceResponse), ErrorResponses)
)]
pub(crate) async fn balance<B: NodeBackend>(
    State(state): State<AppState<B>>,
) -> Result<Json<WalletBalanceResponse>, ApiError> {
    Ok(Json(state.backend.wallet_balance().await?))
}
