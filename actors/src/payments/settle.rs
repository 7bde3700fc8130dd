//! Settling an outgoing payment: its outcome recorded once, with the signed receipt of a
//! quoted payment in the same atomic batch, and anyone waiting told.
//!
//! Outcomes come from LDK's `PaymentSent` / `PaymentFailed` events (which LDK replays
//! until handled), from a send LDK refused, and from start-up reconciliation. Settling
//! is idempotent: a payment already settled is left as it is, so a replayed event is
//! harmless and a receipt is issued exactly once.

use bitcoin::hashes::{sha256, Hash};
use bitcoin::hex::DisplayHex;
use serde_json::Value;
use sluice_storage::{
    BudgetSpendRecord, PaymentRecord, PaymentStatus, QuoteRecord, ReceiptRecord, WriteBatch,
};

use crate::clock::unix_ms;
use crate::receipts::{self, InvoicePayReceipt, ReceiptKind};
use crate::{Components, NodeError};

/// How a payment ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The payee released the preimage.
    Succeeded {
        /// The preimage.
        preimage: [u8; 32],
        /// The routing fee paid, when LDK knows it.
        fee_paid_msat: Option<u64>,
    },
    /// Nothing was paid and nothing is in flight.
    Failed {
        /// Why, a stable code.
        code: String,
    },
}

/// Records `outcome` for the outgoing payment `payment_id` and, for a quoted payment,
/// issues its receipt. Returns the settled record, or `None` for a payment sluice has no
/// record of. A payment settled before is returned unchanged.
pub async fn settle(
    components: &Components,
    payment_id: &str,
    outcome: Outcome,
) -> Result<Option<PaymentRecord>, NodeError> {
    // LDK is done with the payment, whatever happens to the record.
    components.send_window.leave(payment_id);
    let store = &components.store;
    let Some(mut record) = store.get::<PaymentRecord>(payment_id).await? else {
        return Ok(None);
    };
    if record.status != PaymentStatus::Pending {
        return Ok(Some(record));
    }
    record.updated_at_ms = unix_ms();
    match outcome {
        Outcome::Succeeded {
            preimage,
            fee_paid_msat,
        } => {
            record.status = PaymentStatus::Succeeded;
            record.preimage = Some(preimage.to_lower_hex_string());
            record.fee_paid_msat = fee_paid_msat;
        }
        Outcome::Failed { code } => {
            record.status = PaymentStatus::Failed;
            record.failure_code = Some(code);
        }
    }
    let mut batch = WriteBatch::new();
    if let Some(quote_id) = record.quote_id.clone() {
        let quote = store
            .get::<QuoteRecord>(quote_id.clone())
            .await?
            .ok_or_else(|| NodeError::NotFound(format!("quote {quote_id} of a payment")))?;
        let sealed =
            receipts::actor::seal(&components.actors.receipts, receipt_body(&quote, &record)?)
                .await?;
        let receipt_id = sealed
            .get("receipt_id")
            .and_then(Value::as_str)
            .ok_or_else(|| NodeError::Receipt("a sealed receipt without an id".into()))?
            .to_owned();
        record.receipt_id = Some(receipt_id.clone());
        batch.create(&ReceiptRecord {
            receipt_id,
            schema: ReceiptKind::InvoicePay.schema().to_owned(),
            body: sealed,
            created_at_ms: record.updated_at_ms,
        })?;
    }
    let spend = budget_spend(store, &record).await?;
    if let Some(spend) = &spend {
        batch.put(spend)?;
    }
    batch.put(&record)?;
    store.commit(batch).await?;
    if let Some(spend) = spend {
        let spent_msat = spend.spent_msat.unwrap_or(0);
        let budgets = &components.budgets;
        budgets.settled(
            &spend.token,
            spend.period_start_ms,
            spend.reserved_msat,
            spent_msat,
        );
    }
    super::notify_settled(components, &record.payment_id);
    Ok(Some(record))
}

/// The budget spend of `record` (just settled), settled with it: what the payment cost
/// if it succeeded (amount plus the fee paid, or the fee ceiling if LDK did not say),
/// nothing if it failed. `None` for a
/// payment no budget paid.
async fn budget_spend(
    store: &sluice_storage::Store,
    record: &PaymentRecord,
) -> Result<Option<BudgetSpendRecord>, NodeError> {
    let (Some(token), Some(period_start_ms)) = (&record.token, record.budget_period_ms) else {
        return Ok(None);
    };
    let key = format!(
        "{}{}",
        BudgetSpendRecord::period_prefix(token, period_start_ms),
        record.payment_id
    );
    let Some(mut spend) = store.get::<BudgetSpendRecord>(key).await? else {
        tracing::error!(payment_id = %record.payment_id, "a budgeted payment without its spend record");
        return Ok(None);
    };
    spend.spent_msat = Some(match record.status {
        PaymentStatus::Succeeded => record
            .amount_msat
            .saturating_add(record.fee_paid_msat.unwrap_or(record.max_fee_msat)),
        PaymentStatus::Failed | PaymentStatus::Pending => 0,
    });
    Ok(Some(spend))
}

/// The unsealed receipt of `record`, a settled payment of `quote`.
fn receipt_body(quote: &QuoteRecord, record: &PaymentRecord) -> Result<Value, NodeError> {
    let succeeded = record.status == PaymentStatus::Succeeded;
    let preimage_sha256 = match &record.preimage {
        Some(hex) => {
            let bytes = <[u8; 32] as bitcoin::hex::FromHex>::from_hex(hex)
                .map_err(|e| NodeError::Receipt(format!("a stored preimage: {e}")))?;
            Some(
                sha256::Hash::hash(&bytes)
                    .to_byte_array()
                    .to_lower_hex_string(),
            )
        }
        None => None,
    };
    let receipt = InvoicePayReceipt {
        schema: ReceiptKind::InvoicePay.schema().to_owned(),
        quote_id: quote.quote_id.clone(),
        idempotency_key: quote.idempotency_key.clone(),
        invoice_hash: quote.invoice_hash.clone(),
        payment_hash: record.payment_hash.clone(),
        payment_id: record.payment_id.clone(),
        host: quote.host.clone(),
        quoted_amount_msats: quote.quoted_amount_msats,
        quoted_fee_msats: quote.quoted_fee_msats,
        max_amount_msats: quote.max_amount_msats,
        max_fee_msats: quote.max_fee_msats,
        amount_msats: record.amount_msat,
        fee_msats: if succeeded {
            record.fee_paid_msat
        } else {
            None
        },
        status: if succeeded { "succeeded" } else { "failed" }.to_owned(),
        preimage_sha256,
        error_code: record.failure_code.clone(),
        policy_context_sha256: quote.policy_context_sha256.clone(),
        run_id: record.run_id.clone(),
        trajectory_hash: record.trajectory_hash.clone(),
        paid_at_ms: succeeded.then_some(record.updated_at_ms),
        created_at_ms: record.updated_at_ms,
    };
    serde_json::to_value(receipt).map_err(|e| NodeError::Receipt(e.to_string()))
}
