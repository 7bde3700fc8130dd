//! `GET /v1/node/budget` (the calling token's spend budget) and `GET /v1/node/budgets`
//! (every token's, admin).

use axum::extract::State;
use axum::Json;

use super::AppState;
use crate::auth::Caller;
use crate::backend::NodeBackend;
use crate::error::ApiError;
use crate::openapi::ErrorResponses;
use crate::types::{BudgetResponse, ListBudgetsResponse};

/// The calling token's spend budget: its limits, what the period used, when it renews.
/// 404 `not_found` for a token without a budget.
#[utoipa::path(
    get,
    path = "/v1/node/budget",
    tag = "budgets",
    security(("bearer" = ["read", "pay"])),
    responses((status = 200, description = "The budget", body = BudgetResponse), ErrorResponses)
)]
pub(crate) async fn own_budget<B: NodeBackend>(
    State(state): State<AppState<B>>,
    caller: Caller,
) -> Result<Json<BudgetResponse>, ApiError> {
    Ok(Json(state.backend.budget(caller.0).await?))
}

/// Every token's spend budget.
#[utoipa::path(
    get,
    path = "/v1/node/budgets",
    tag = "budgets",
    security(("bearer" = ["admin"])),
    responses((status = 200, description = "The budgets", body = ListBudgetsResponse), ErrorResponses)
)]
pub(crate) async fn all_budgets<B: NodeBackend>(
    State(state): State<AppState<B>>,
) -> Result<Json<ListBudgetsResponse>, ApiError> {
    let budgets = state.backend.budgets().await?;
    Ok(Json(ListBudgetsResponse { budgets }))
}
