//! Signed receipts, stored append-only.

use serde::{Deserialize, Serialize};

use crate::table::{Record, Table};

/// A signed receipt as issued. Receipts are never changed or deleted: write them with
/// [`WriteBatch::create`](crate::WriteBatch::create), in the batch of the change they
/// attest, so a second receipt under the same id is refused.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReceiptRecord {
    /// The receipt's id.
    pub receipt_id: String,
    /// The receipt's schema, e.g. `openagents.liquidity.invoice_pay_receipt.v1`.
    pub schema: String,
    /// The whole signed receipt document.
    pub body: serde_json::Value,
    /// When it was issued, ms since the Unix epoch.
    pub created_at_ms: u64,
}

impl Record for ReceiptRecord {
    const TABLE: Table = Table::Receipts;

    fn key(&self) -> String {
        self.receipt_id.clone()
    }
}
