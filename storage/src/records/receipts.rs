//! Signed receipts, stored append-only.

use serde::{Deserialize, Serialize};

use crate::table::{Record, Table};
use crate::{Store, StoreError, WriteBatch};

/// A signed receipt as issued. Receipts are never changed or deleted: store them with
/// [`Store::append_receipt`].
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

impl Store {
    /// Appends `receipt`, durably. Idempotent: appending the same receipt again succeeds
    /// and returns the stored one; a different receipt under a taken id fails with
    /// [`StoreError::Conflict`].
    pub async fn append_receipt(
        &self,
        receipt: ReceiptRecord,
    ) -> Result<ReceiptRecord, StoreError> {
        let mut batch = WriteBatch::new();
        batch.create(&receipt)?;
        match self.commit(batch).await {
            Ok(()) => Ok(receipt),
            Err(StoreError::Conflict {
                existing,
                table,
                key,
            }) => {
                let stored: ReceiptRecord = crate::table::decode(&existing)?;
                if stored == receipt {
                    Ok(stored)
                } else {
                    Err(StoreError::Conflict {
                        table,
                        key,
                        existing,
                    })
                }
            }
            Err(e) => Err(e),
        }
    }
}
