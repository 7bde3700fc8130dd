//! Spend budgets of API tokens: `GET /v1/node/budget` (the caller's own) and
//! `GET /v1/node/budgets` (every budget, admin).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A token's spend budget and what it used in the current period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BudgetResponse {
    /// The token, as its SHA-256 (hex) is configured.
    pub token_sha256: String,
    /// The most one payment may cost (amount plus fee ceiling), if limited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_per_payment_msat: Option<u64>,
    /// The period's allowance (`total`), if limited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_msat: Option<u64>,
    /// What the period's payments cost: settled ones what they cost, those in flight
    /// their amount plus fee ceiling.
    pub used_msat: u64,
    /// What is left of the allowance, if limited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remaining_msat: Option<u64>,
    /// `daily`, `weekly`, `monthly` (UTC calendar) or `never`.
    pub renewal: String,
    /// When the current period started, Unix milliseconds (0 for `never`).
    pub period_start_ms: u64,
    /// When the allowance renews, Unix milliseconds; absent for `never`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renews_at_ms: Option<u64>,
    /// When the budget expires, Unix milliseconds, if it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at_ms: Option<u64>,
    /// The only payees allowed (node ids), if restricted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_destinations: Option<Vec<String>>,
}

/// Every configured budget (`GET /v1/node/budgets`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ListBudgetsResponse {
    /// By token.
    pub budgets: Vec<BudgetResponse>,
}
