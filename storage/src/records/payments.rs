//! Outgoing payment attempts.

use serde::{Deserialize, Serialize};

use crate::table::{Record, Table};

/// Where an outgoing payment stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    /// Recorded, HTLCs possibly in flight; the outcome is not known yet.
    Pending,
    /// The payee released the preimage.
    Succeeded,
    /// LDK gave up on the payment; no HTLC of it is left in flight.
    Failed,
}

/// One outgoing payment attempt, written before its first HTLC leaves so that a crash
/// can always be reconciled against LDK's own payment state. Incoming payments are
/// [`crate::ReceivedRecord`]s, in a table of their own.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentRecord {
    /// LDK's payment id, hex.
    pub payment_id: String,
    /// The payment hash, hex.
    pub payment_hash: String,
    /// The quote this payment executes, if it came through quote/pay.
    #[serde(default)]
    pub quote_id: Option<String>,
    /// The BOLT11 invoice paid, if any (keysend has none).
    #[serde(default)]
    pub invoice: Option<String>,
    /// Amount delivered to the payee.
    pub amount_msat: u64,
    /// The most we accepted to pay in routing fees.
    pub max_fee_msat: u64,
    /// Fees actually paid, once known.
    #[serde(default)]
    pub fee_paid_msat: Option<u64>,
    /// Current status.
    pub status: PaymentStatus,
    /// The payment preimage, hex, once succeeded.
    #[serde(default)]
    pub preimage: Option<String>,
    /// Stable failure code, once failed.
    #[serde(default)]
    pub failure_code: Option<String>,
    /// The agent run the payment belongs to, if the caller said (quote/pay).
    #[serde(default)]
    pub run_id: Option<String>,
    /// The trajectory (ReplayBundle) hash, if the caller said (quote/pay).
    #[serde(default)]
    pub trajectory_hash: Option<String>,
    /// The signed receipt of the outcome, once settled (quoted payments).
    #[serde(default)]
    pub receipt_id: Option<String>,
    /// The API token that started the payment (its SHA-256, hex): the audit trail.
    #[serde(default)]
    pub token: Option<String>,
    /// The start of the token's budget period the payment counts in, if the token has a
    /// budget (its [`crate::BudgetSpendRecord`] is keyed by it).
    #[serde(default)]
    pub budget_period_ms: Option<u64>,
    /// When the attempt was recorded, ms since the Unix epoch.
    pub created_at_ms: u64,
    /// When the record last changed, ms since the Unix epoch.
    pub updated_at_ms: u64,
}

impl Record for PaymentRecord {
    const TABLE: Table = Table::Payments;

    fn key(&self) -> String {
        self.payment_id.clone()
    }
}
