//! Settling an outgoing payment: its outcome recorded once, with the signed receipt of a
//! quoted payment in the same atomic batch, and anyone waiting told.
//!
//! Outcomes come from LDK's `PaymentSent` / `PaymentFailed` events (which LDK replays
//! until handled), from a send LDK refused, and from start-up reconciliation. Settling
//! is idempotent: a payment already settled is left as it is, so a replayed event is
//! harmless and a receipt is issued exactly once.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use bitcoin::hashes::{sha256, Hash};
use bitcoin::hex::DisplayHex;
use serde_json::Value;
use sluice_storage::{BudgetSpendRecord, PaymentRecord, PaymentStatus, QuoteRecord, WriteBatch};

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
    match prepare(components, payment_id, outcome).await? {
        Prepared::Unknown => Ok(None),
        Prepared::Settled(record) => Ok(Some(record)),
        Prepared::New(settlement) => {
            let Settlement {
                record,
                batch,
                spend,
            } = settlement;
            components.store.commit(batch).await?;
            settled(components, &record, spend);
            Ok(Some(record))
        }
    }
}

/// Payments whose outcome is queued for commit and not yet durable (see
/// [`settle_queued`]): a second outcome for one of them is dropped, so a payment is
/// settled, and its receipt issued, once.
#[derive(Debug, Default)]
pub struct Settling(Mutex<HashSet<String>>);

impl Settling {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        // A panic while holding this lock cannot leave the set half-changed.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Marks `payment_id` settling; `false` if it already was.
    fn begin(&self, payment_id: &str) -> bool {
        self.lock().insert(payment_id.to_owned())
    }

    fn end(&self, payment_id: &str) {
        self.lock().remove(payment_id);
    }
}

/// [`settle`] for LDK's event handler: prepares the outcome, queues its write with the
/// store ([`sluice_storage::Store::commit_queued`]) and returns without waiting for the
/// fsync. A task waits for it, then updates the token's budget and wakes whoever waits
/// on the payment, so nobody is told of an outcome before it is durable. `Ok(false)` for
/// a payment sluice has no record of.
///
/// Why an event may be acknowledged before its outcome is durable: LDK drops a handled
/// event from the channel manager only after the handler returned, and the manager is
/// written only by the persistence writer, which queues it with the same store after
/// serialising it. A manager without the event was therefore serialised after this
/// write was queued, and the store applies writes in queue order, atomically per group:
/// it cannot be durable without the outcome. A crash before the outcome is durable
/// leaves a stored manager that still holds the event, and LDK hands it over again.
///
/// A write that fails could break that promise for the events after it, so `on_failure`
/// is called, which stops the node (the store also refuses every later write after an
/// I/O failure, the manager's included).
pub async fn settle_queued(
    components: &Components,
    payment_id: &str,
    outcome: Outcome,
    on_failure: Arc<dyn Fn(String) + Send + Sync>,
) -> Result<bool, NodeError> {
    let settling = Arc::clone(&components.settling);
    if !settling.begin(payment_id) {
        // The first outcome's write is queued ahead of anything that follows.
        return Ok(true);
    }
    let prepared = match prepare(components, payment_id, outcome).await {
        Ok(prepared) => prepared,
        Err(e) => {
            settling.end(payment_id);
            return Err(e);
        }
    };
    let Settlement {
        record,
        batch,
        spend,
    } = match prepared {
        Prepared::New(settlement) => settlement,
        Prepared::Settled(_) => {
            settling.end(payment_id);
            return Ok(true);
        }
        Prepared::Unknown => {
            settling.end(payment_id);
            return Ok(false);
        }
    };
    let durable = components.store.commit_queued(batch);
    let components = components.clone();
    tokio::spawn(async move {
        match durable.await {
            Ok(()) => settled(&components, &record, spend),
            Err(e) => {
                let reason = format!(
                    "recording the outcome of payment {} failed: {e}",
                    record.payment_id
                );
                tracing::error!("{reason}");
                on_failure(reason);
            }
        }
        components.settling.end(&record.payment_id);
    });
    Ok(true)
}

/// What settling a payment will write.
struct Settlement {
    /// The record as settled.
    record: PaymentRecord,
    /// The record, its receipt and its budget spend.
    batch: WriteBatch,
    /// The budget spend settled with it, if a budget paid.
    spend: Option<BudgetSpendRecord>,
}

enum Prepared {
    /// No such payment.
    Unknown,
    /// Settled before: the record as stored.
    Settled(PaymentRecord),
    /// Pending until now.
    New(Settlement),
}

/// Builds the settlement of `payment_id` with `outcome`, writing nothing.
async fn prepare(
    components: &Components,
    payment_id: &str,
    outcome: Outcome,
) -> Result<Prepared, NodeError> {
    // LDK is done with the payment, whatever happens to the record.
    components.send_window.leave(payment_id);
    let store = &components.store;
    let Some(mut record) = store.get::<PaymentRecord>(payment_id).await? else {
        return Ok(Prepared::Unknown);
    };
    if record.status != PaymentStatus::Pending {
        return Ok(Prepared::Settled(record));
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
        let receipt = receipts::actor::seal_record(
            &components.actors.receipts,
            ReceiptKind::InvoicePay,
            &receipt_body(&quote, &record)?,
            record.updated_at_ms,
        )
        .await?;
        record.receipt_id = Some(receipt.receipt_id.clone());
        batch.create(&receipt)?;
    }
    let spend = budget_spend(store, &record).await?;
    if let Some(spend) = &spend {
        batch.put(spend)?;
    }
    batch.put(&record)?;
    Ok(Prepared::New(Settlement {
        record,
        batch,
        spend,
    }))
}

/// Once `record`'s outcome is durable: its budget spend counted, its waiters woken.
fn settled(components: &Components, record: &PaymentRecord, spend: Option<BudgetSpendRecord>) {
    if let Some(spend) = spend {
        let spent_msat = spend.spent_msat.unwrap_or(0);
        components.budgets.settled(
            &spend.token,
            spend.period_start_ms,
            spend.reserved_msat,
            spent_msat,
        );
    }
    super::notify_settled(components, &record.payment_id);
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
