//! LP withdrawals (spec §5.2): `POST /v1/pools/{pool_id}/withdraw_request` locks an LP's
//! shares for a payout; `GET …/withdrawals/{withdrawal_id}` and `POST …/cancel` are the
//! LP's own (`lp`: the token owning the LP id, or admin); `POST …/approve` is an
//! operator's (admin) for a withdrawal above the approval threshold, and
//! `POST /v1/pools/{pool_id}/withdrawals/halt` too (admin), halting or resuming the
//! pool's withdrawal payouts during an incident.
//!
//! The API checks the request's shape (schema, ids, exactly one amount, the rail and its
//! destination); the pool actor checks the rest: ownership, free shares, the amount
//! limits, the invoice's network, amount and expiry, the address's network.

use axum::extract::State;
use axum::Json;
use serde_json::json;
use sluice_actors::idempotency;
use sluice_actors::pool::{PartitionKind, WithdrawalAsk};
use sluice_pool::queue::Rail;
use sluice_pool::UNITS_PER_SHARE;

use super::payments::MAX_INVOICE_CHARS;
use super::pools::{id, partition, pool_id};
use super::AppState;
use crate::auth::{Caller, IsAdmin};
use crate::backend::NodeBackend;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath};
use crate::openapi::ErrorResponses;
use crate::types::{
    WithdrawRequest, WithdrawResponse, WithdrawalsHaltRequest, WithdrawalsHaltResponse,
    WITHDRAW_REQUEST_SCHEMA,
};
use crate::validate;

/// The longest payout address: a bech32(m) string is at most 90 characters (BIP 173),
/// longer than any base58 address.
pub const MAX_ADDRESS_CHARS: usize = 90;

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::InvalidRequest(message.into())
}

/// The share units a request names: exactly one of `shares_burned` (a positive, finite
/// number of shares, rounded to the nearest unit) and `units` (decimal digits, above 0).
fn units(request: &WithdrawRequest) -> Result<u128, ApiError> {
    match (request.shares_burned, request.units.as_deref()) {
        (Some(_), Some(_)) => Err(invalid("shares_burned, units: give one of them, not both")),
        (None, None) => Err(invalid(
            "shares_burned, units: give one of them (shares as a number, or exact units)",
        )),
        (Some(shares), None) => {
            if !shares.is_finite() || shares <= 0.0 {
                return Err(invalid("shares_burned: must be a number above 0"));
            }
            let units = (shares * UNITS_PER_SHARE as f64).round();
            // 2^128 as f64 is exact, so below it the cast cannot saturate.
            if !(1.0..u128::MAX as f64).contains(&units) {
                return Err(invalid(format!(
                    "shares_burned: must be at least one unit (1/{UNITS_PER_SHARE} share) \
                     and at most {} shares",
                    u128::MAX / UNITS_PER_SHARE
                )));
            }
            Ok(units as u128)
        }
        (None, Some(text)) => {
            let digits = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
            match text.parse::<u128>() {
                Ok(units) if digits && units > 0 => Ok(units),
                _ => Err(invalid(format!(
                    "units: `{text}` is not a whole number of share units above 0 \
                     (decimal digits, at most {})",
                    u128::MAX
                ))),
            }
        }
    }
}

/// The rail and its destination: `lightning` takes an invoice and no address, `onchain`
/// an address and no invoice.
fn payout(request: &WithdrawRequest) -> Result<(Rail, Option<String>, Option<String>), ApiError> {
    let rail = match request.rail_preference.as_str() {
        "lightning" => Rail::Lightning,
        "onchain" => Rail::Onchain,
        other => {
            return Err(invalid(format!(
                "rail_preference: `{other}` is not one of lightning, onchain"
            )))
        }
    };
    match (
        rail,
        request.payout_invoice_bolt11.as_deref(),
        request.payout_address.as_deref(),
    ) {
        (Rail::Lightning, Some(invoice), None) => {
            let invoice = invoice.trim();
            if invoice.is_empty() || invoice.len() > MAX_INVOICE_CHARS {
                return Err(invalid(format!(
                    "payout_invoice_bolt11: must be a BOLT11 invoice of at most \
                     {MAX_INVOICE_CHARS} characters"
                )));
            }
            Ok((rail, Some(invoice.to_owned()), None))
        }
        (Rail::Onchain, None, Some(address)) => {
            let address = validate::token("payout_address", address, MAX_ADDRESS_CHARS)?;
            Ok((rail, None, Some(address)))
        }
        (Rail::Lightning, _, _) => Err(invalid(
            "rail_preference lightning takes payout_invoice_bolt11 and no payout_address",
        )),
        (Rail::Onchain, _, _) => Err(invalid(
            "rail_preference onchain takes payout_address and no payout_invoice_bolt11",
        )),
    }
}

/// Asks for a withdrawal: the shares are locked now, and the payout ticks pay what they
/// are worth when burned, up to their value now. Above the approval threshold it waits
/// for an operator first.
#[utoipa::path(
    post,
    path = "/v1/pools/{pool_id}/withdraw_request",
    tag = "pools",
    security(("bearer" = ["lp"])),
    params(("pool_id" = String, Path, description = "The pool")),
    request_body = WithdrawRequest,
    responses((status = 200, description = "The withdrawal", body = WithdrawResponse), ErrorResponses)
)]
pub(crate) async fn withdraw_request<B: NodeBackend>(
    State(state): State<AppState<B>>,
    caller: Caller,
    IsAdmin(admin): IsAdmin,
    ApiPath(pool): ApiPath<String>,
    ApiJson(request): ApiJson<WithdrawRequest>,
) -> Result<Json<WithdrawResponse>, ApiError> {
    let pool_id = pool_id(&pool)?;
    validate::schema(&request.schema, WITHDRAW_REQUEST_SCHEMA)?;
    let lp_id = id("lp_id", &request.lp_id)?;
    let idempotency_key = validate::token(
        "idempotency_key",
        &request.idempotency_key,
        validate::MAX_IDEMPOTENCY_KEY_LEN,
    )?;
    let partition = match &request.partition_kind {
        Some(name) => partition("partition_kind", name)?,
        None => PartitionKind::Llp,
    };
    let units = units(&request)?;
    let (rail, payout_invoice, payout_address) = payout(&request)?;
    // The request as resolved, not as sent: canonical JSON refuses fractional numbers
    // (`shares_burned`), and the same withdrawal asked in shares or in units, with the
    // default partition or naming it, is the same request.
    let fingerprint = idempotency::fingerprint(&json!({
        "pool_id": pool_id,
        "body": {
            "schema": request.schema,
            "lp_id": lp_id,
            "idempotency_key": idempotency_key,
            "partition_kind": partition.as_str(),
            "units": units.to_string(),
            "rail_preference": request.rail_preference,
            "payout_invoice_bolt11": payout_invoice,
            "payout_address": payout_address,
            "emergency": request.emergency.unwrap_or(false),
        },
    }))?;
    let ask = WithdrawalAsk {
        pool_id,
        caller: caller.0,
        admin,
        lp_id,
        idempotency_key,
        fingerprint,
        partition,
        units,
        rail,
        payout_invoice,
        payout_address,
        emergency: request.emergency.unwrap_or(false),
    };
    Ok(Json(state.backend.withdraw_request(ask).await?))
}

/// A withdrawal as it stands: its payouts so far, its receipts, and the payout throttle.
#[utoipa::path(
    get,
    path = "/v1/pools/{pool_id}/withdrawals/{withdrawal_id}",
    tag = "pools",
    security(("bearer" = ["lp"])),
    params(
        ("pool_id" = String, Path, description = "The pool"),
        ("withdrawal_id" = String, Path, description = "The withdrawal"),
    ),
    responses((status = 200, description = "The withdrawal", body = WithdrawResponse), ErrorResponses)
)]
pub(crate) async fn get_withdrawal<B: NodeBackend>(
    State(state): State<AppState<B>>,
    caller: Caller,
    IsAdmin(admin): IsAdmin,
    ApiPath((pool, withdrawal)): ApiPath<(String, String)>,
) -> Result<Json<WithdrawResponse>, ApiError> {
    let pool_id = pool_id(&pool)?;
    let withdrawal_id = id("withdrawal_id", &withdrawal)?;
    Ok(Json(
        state
            .backend
            .get_withdrawal(pool_id, withdrawal_id, caller.0, admin)
            .await?,
    ))
}

/// Cancels a withdrawal nothing was paid from yet: its shares are free again. Canceling
/// it again answers the same; once a payout began or it ended, `withdrawal_state`.
#[utoipa::path(
    post,
    path = "/v1/pools/{pool_id}/withdrawals/{withdrawal_id}/cancel",
    tag = "pools",
    security(("bearer" = ["lp"])),
    params(
        ("pool_id" = String, Path, description = "The pool"),
        ("withdrawal_id" = String, Path, description = "The withdrawal"),
    ),
    responses((status = 200, description = "The canceled withdrawal", body = WithdrawResponse), ErrorResponses)
)]
pub(crate) async fn cancel_withdrawal<B: NodeBackend>(
    State(state): State<AppState<B>>,
    caller: Caller,
    IsAdmin(admin): IsAdmin,
    ApiPath((pool, withdrawal)): ApiPath<(String, String)>,
) -> Result<Json<WithdrawResponse>, ApiError> {
    let pool_id = pool_id(&pool)?;
    let withdrawal_id = id("withdrawal_id", &withdrawal)?;
    Ok(Json(
        state
            .backend
            .cancel_withdrawal(pool_id, withdrawal_id, caller.0, admin)
            .await?,
    ))
}

/// Approves a withdrawal that waits for an operator (above the approval threshold), so
/// the payout ticks pay it. Approving it again answers the same; a withdrawal that does
/// not wait for an approval is `withdrawal_state`.
#[utoipa::path(
    post,
    path = "/v1/pools/{pool_id}/withdrawals/{withdrawal_id}/approve",
    tag = "pools",
    security(("bearer" = ["admin"])),
    params(
        ("pool_id" = String, Path, description = "The pool"),
        ("withdrawal_id" = String, Path, description = "The withdrawal"),
    ),
    responses((status = 200, description = "The approved withdrawal", body = WithdrawResponse), ErrorResponses)
)]
pub(crate) async fn approve_withdrawal<B: NodeBackend>(
    State(state): State<AppState<B>>,
    caller: Caller,
    ApiPath((pool, withdrawal)): ApiPath<(String, String)>,
) -> Result<Json<WithdrawResponse>, ApiError> {
    let pool_id = pool_id(&pool)?;
    let withdrawal_id = id("withdrawal_id", &withdrawal)?;
    Ok(Json(
        state
            .backend
            .approve_withdrawal(pool_id, withdrawal_id, caller.0)
            .await?,
    ))
}

/// Halts (`halted: true`) or resumes a pool's withdrawal payouts (spec §5.2: an operator
/// may stop them during an incident). Requests still queue while halted; the payout
/// ticks pay nothing until resumed. Setting the state it already has answers the same.
#[utoipa::path(
    post,
    path = "/v1/pools/{pool_id}/withdrawals/halt",
    tag = "pools",
    security(("bearer" = ["admin"])),
    params(("pool_id" = String, Path, description = "The pool")),
    request_body = WithdrawalsHaltRequest,
    responses((status = 200, description = "The pool's payout state now", body = WithdrawalsHaltResponse), ErrorResponses)
)]
pub(crate) async fn halt_withdrawals<B: NodeBackend>(
    State(state): State<AppState<B>>,
    ApiPath(pool): ApiPath<String>,
    ApiJson(request): ApiJson<WithdrawalsHaltRequest>,
) -> Result<Json<WithdrawalsHaltResponse>, ApiError> {
    let pool_id = pool_id(&pool)?;
    Ok(Json(
        state
            .backend
            .halt_withdrawals(pool_id, request.halted)
            .await?,
    ))
}
