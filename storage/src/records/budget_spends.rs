//! What each payment took from its token's spend budget.

use serde::{Deserialize, Serialize};

use crate::table::{Record, Table};

/// One payment's share of a token's budget period: reserved (amount plus fee ceiling)
/// when the payment is recorded, in the same batch, and settled with the payment's
/// outcome: what it cost if it succeeded, nothing if it failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BudgetSpendRecord {
    /// The token that paid (its SHA-256, hex).
    pub token: String,
    /// The start of the budget period the payment counts in, ms since the Unix epoch.
    pub period_start_ms: u64,
    /// The payment.
    pub payment_id: String,
    /// What was held while the payment was in flight: amount plus fee ceiling.
    pub reserved_msat: u64,
    /// What the payment cost once settled (amount plus fee paid, or 0 if it failed).
    #[serde(default)]
    pub spent_msat: Option<u64>,
    /// When the reservation was made, ms since the Unix epoch.
    pub created_at_ms: u64,
}

impl BudgetSpendRecord {
    /// The key prefix of `token`'s spends in the period starting at `period_start_ms`:
    /// a period is read with one prefix scan, however long the token's history.
    pub fn period_prefix(token: &str, period_start_ms: u64) -> String {
        format!("{token}/{period_start_ms:016x}/")
    }

    /// What the spend counts for in its period: its cost once settled, its reservation
    /// until then.
    pub fn counted_msat(&self) -> u64 {
        self.spent_msat.unwrap_or(self.reserved_msat)
    }
}

impl Record for BudgetSpendRecord {
    const TABLE: Table = Table::BudgetSpends;

    fn key(&self) -> String {
        format!(
            "{}{}",
            BudgetSpendRecord::period_prefix(&self.token, self.period_start_ms),
            self.payment_id
        )
    }
}
