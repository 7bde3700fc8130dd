//! The liquidity pool (spec §4–5, §10.1): `POST /v1/pools` (admin) creates the node's
//! pool; `POST /v1/pools/{pool_id}/deposit_quote`, `GET …/deposits/{deposit_id}` and
//! `GET …/lps/{lp_id}` are an LP's own (`lp`: the token that first used an LP id owns
//! it); `GET …/status` shows the pool (`read` or `lp`).

use axum::extract::State;
use axum::Json;
use serde_json::json;
use sluice_actors::idempotency;
use sluice_actors::pool::{CreatePool, DepositAsk, DepositRail, PartitionKind};

use super::AppState;
use crate::auth::{Caller, IsAdmin};
use crate::backend::NodeBackend;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath};
use crate::openapi::ErrorResponses;
use crate::types::{
    CreatePoolRequest, DepositQuoteRequest, DepositQuoteResponse, PoolInfo, PoolPositionResponse,
    PoolStatusResponse, DEPOSIT_QUOTE_REQUEST_SCHEMA,
};
use crate::validate;

/// The longest pool id.
pub const MAX_POOL_ID_LEN: usize = 64;
/// The longest pool name.
pub const MAX_POOL_NAME_BYTES: usize = 128;
/// The longest LP id, deposit id or idempotency key.
pub const MAX_ID_LEN: usize = 128;
/// The longest deposit description.
pub const MAX_DEPOSIT_DESCRIPTION_BYTES: usize = 256;
/// The smallest deposit, sat: below it, fees and rounding would take a visible part.
pub const MIN_DEPOSIT_SATS: u64 = 1_000;
/// How long a deposit quote stays payable by default, s.
pub const DEFAULT_DEPOSIT_EXPIRY_SECS: u64 = 3_600;
/// The shortest and longest deposit expiry, s.
pub const DEPOSIT_EXPIRY_SECS: std::ops::RangeInclusive<u64> = 60..=86_400;

/// A pool id: 1–64 characters of `a-z`, `0-9`, `-`, `_`.
pub(crate) fn pool_id(value: &str) -> Result<String, ApiError> {
    let ok = !value.is_empty()
        && value.len() <= MAX_POOL_ID_LEN
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if !ok {
        return Err(ApiError::InvalidRequest(format!(
            "pool_id: must be 1 to {MAX_POOL_ID_LEN} characters of a-z, 0-9, - and _"
        )));
    }
    Ok(value.to_owned())
}

/// An id (LP, deposit): visible ASCII without `/` (ids are parts of store keys).
pub(crate) fn id(field: &str, value: &str) -> Result<String, ApiError> {
    let value = validate::token(field, value, MAX_ID_LEN)?;
    if value.contains('/') {
        return Err(ApiError::InvalidRequest(format!(
            "{field}: must not contain `/`"
        )));
    }
    Ok(value)
}

/// A partition name: `llp`, `cep` or `rrp`.
pub(crate) fn partition(field: &str, name: &str) -> Result<PartitionKind, ApiError> {
    PartitionKind::parse(name).ok_or_else(|| {
        ApiError::InvalidRequest(format!("{field}: `{name}` is not one of llp, cep, rrp"))
    })
}

/// Creates the node's pool. The same body again answers the same pool.
#[utoipa::path(
    post,
    path = "/v1/pools",
    tag = "pools",
    security(("bearer" = ["admin"])),
    request_body = CreatePoolRequest,
    responses((status = 200, description = "The pool", body = PoolInfo), ErrorResponses)
)]
pub(crate) async fn create_pool<B: NodeBackend>(
    State(state): State<AppState<B>>,
    ApiJson(request): ApiJson<CreatePoolRequest>,
) -> Result<Json<PoolInfo>, ApiError> {
    let pool_id = pool_id(&request.pool_id)?;
    let name = match &request.name {
        Some(name) => validate::text("name", name, MAX_POOL_NAME_BYTES)?,
        None => pool_id.clone(),
    };
    let partitions = match &request.partitions {
        None => PartitionKind::ALL.to_vec(),
        Some(names) => {
            let mut kinds = Vec::new();
            for name in names {
                let kind = partition("partitions", name)?;
                if !kinds.contains(&kind) {
                    kinds.push(kind);
                }
            }
            if kinds.is_empty() {
                return Err(ApiError::InvalidRequest(
                    "partitions: name at least one of llp, cep, rrp".into(),
                ));
            }
            kinds.sort();
            kinds
        }
    };
    let create = CreatePool {
        pool_id,
        name,
        partitions,
    };
    Ok(Json(state.backend.create_pool(create).await?))
}

/// The pool: each partition's NAV, shares and price, and its books against the node's
/// real assets.
#[utoipa::path(
    get,
    path = "/v1/pools/{pool_id}/status",
    tag = "pools",
    security(("bearer" = ["read", "lp"])),
    params(("pool_id" = String, Path, description = "The pool")),
    responses((status = 200, description = "The pool's status", body = PoolStatusResponse), ErrorResponses)
)]
pub(crate) async fn pool_status<B: NodeBackend>(
    State(state): State<AppState<B>>,
    ApiPath(pool): ApiPath<String>,
) -> Result<Json<PoolStatusResponse>, ApiError> {
    Ok(Json(state.backend.pool_status(pool_id(&pool)?).await?))
}

/// Quotes a deposit: an invoice or an address to pay. Shares are minted when the money
/// is final, at the price of that moment.
#[utoipa::path(
    post,
    path = "/v1/pools/{pool_id}/deposit_quote",
    tag = "pools",
    security(("bearer" = ["lp"])),
    params(("pool_id" = String, Path, description = "The pool")),
    request_body = DepositQuoteRequest,
    responses((status = 200, description = "The deposit", body = DepositQuoteResponse), ErrorResponses)
)]
pub(crate) async fn deposit_quote<B: NodeBackend>(
    State(state): State<AppState<B>>,
    caller: Caller,
    IsAdmin(admin): IsAdmin,
    ApiPath(pool): ApiPath<String>,
    ApiJson(request): ApiJson<DepositQuoteRequest>,
) -> Result<Json<DepositQuoteResponse>, ApiError> {
    let pool_id = pool_id(&pool)?;
    validate::schema(&request.schema, DEPOSIT_QUOTE_REQUEST_SCHEMA)?;
    let rail = match request.rail.as_str() {
        "lightning_invoice" => DepositRail::LightningInvoice,
        "onchain_address" => DepositRail::OnchainAddress,
        other => {
            return Err(ApiError::InvalidRequest(format!(
                "rail: `{other}` is not one of lightning_invoice, onchain_address"
            )))
        }
    };
    if request.amount_sats < MIN_DEPOSIT_SATS {
        return Err(ApiError::InvalidRequest(format!(
            "amount_sats: the smallest deposit is {MIN_DEPOSIT_SATS} sat"
        )));
    }
    let amount_sats = validate::positive_sat("amount_sats", request.amount_sats)?;
    let expiry_secs = request.expiry_secs.unwrap_or(DEFAULT_DEPOSIT_EXPIRY_SECS);
    if !DEPOSIT_EXPIRY_SECS.contains(&expiry_secs) {
        return Err(ApiError::InvalidRequest(format!(
            "expiry_secs: must be {} to {}",
            DEPOSIT_EXPIRY_SECS.start(),
            DEPOSIT_EXPIRY_SECS.end()
        )));
    }
    let body = serde_json::to_value(&request).map_err(|_| ApiError::Internal)?;
    let fingerprint = idempotency::fingerprint(&json!({ "pool_id": pool_id, "body": body }))?;
    let ask = DepositAsk {
        pool_id,
        caller: caller.0,
        admin,
        lp_id: id("lp_id", &request.lp_id)?,
        idempotency_key: validate::token(
            "idempotency_key",
            &request.idempotency_key,
            validate::MAX_IDEMPOTENCY_KEY_LEN,
        )?,
        fingerprint,
        partition: match &request.partition_kind {
            Some(name) => partition("partition_kind", name)?,
            None => PartitionKind::Llp,
        },
        rail,
        amount_sats,
        description: request
            .description
            .as_deref()
            .map(|d| validate::text("description", d, MAX_DEPOSIT_DESCRIPTION_BYTES))
            .transpose()?,
        expiry_secs,
    };
    Ok(Json(state.backend.deposit_quote(ask).await?))
}

/// A deposit as it stands, with its receipt once confirmed.
#[utoipa::path(
    get,
    path = "/v1/pools/{pool_id}/deposits/{deposit_id}",
    tag = "pools",
    security(("bearer" = ["lp"])),
    params(
        ("pool_id" = String, Path, description = "The pool"),
        ("deposit_id" = String, Path, description = "The deposit"),
    ),
    responses((status = 200, description = "The deposit", body = DepositQuoteResponse), ErrorResponses)
)]
pub(crate) async fn get_deposit<B: NodeBackend>(
    State(state): State<AppState<B>>,
    caller: Caller,
    IsAdmin(admin): IsAdmin,
    ApiPath((pool, deposit)): ApiPath<(String, String)>,
) -> Result<Json<DepositQuoteResponse>, ApiError> {
    let pool_id = pool_id(&pool)?;
    let deposit_id = id("deposit_id", &deposit)?;
    Ok(Json(
        state
            .backend
            .get_deposit(pool_id, deposit_id, caller.0, admin)
            .await?,
    ))
}

/// An LP's shares in each partition and what they are worth now.
#[utoipa::path(
    get,
    path = "/v1/pools/{pool_id}/lps/{lp_id}",
    tag = "pools",
    security(("bearer" = ["lp"])),
    params(
        ("pool_id" = String, Path, description = "The pool"),
        ("lp_id" = String, Path, description = "The LP"),
    ),
    responses((status = 200, description = "The LP's position", body = PoolPositionResponse), ErrorResponses)
)]
pub(crate) async fn position<B: NodeBackend>(
    State(state): State<AppState<B>>,
    caller: Caller,
    IsAdmin(admin): IsAdmin,
    ApiPath((pool, lp)): ApiPath<(String, String)>,
) -> Result<Json<PoolPositionResponse>, ApiError> {
    let pool_id = pool_id(&pool)?;
    let lp_id = id("lp_id", &lp)?;
    Ok(Json(
        state
            .backend
            .pool_position(pool_id, lp_id, caller.0, admin)
            .await?,
    ))
}
