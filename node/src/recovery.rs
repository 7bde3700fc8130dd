//! Start-up reconciliation of the payment ledger with LDK's own payment state.
//!
//! `pay_invoice` records an outgoing payment as pending *before* handing it to LDK, so a
//! crash can leave a pending record that LDK never stored: the node died before a
//! channel manager holding the payment was written. Such a payment never left the node
//! — no HTLC goes out before the monitor update carrying it completes, and that happens
//! only after a channel manager that knows the payment is durable (see
//! `sluice_actors::persist`). It is marked failed here, so a caller is never left
//! waiting on it and can pay the invoice afresh knowing nothing was sent.

use std::collections::HashSet;

use bitcoin::hex::DisplayHex;
use lightning::ln::channelmanager::RecentPaymentDetails;
use sluice_actors::Components;
use sluice_storage::{PaymentDirection, PaymentRecord, PaymentStatus, StoreError, WriteBatch};

/// The failure code of a payment LDK never stored before the node stopped.
pub const INTERRUPTED: &str = "interrupted_before_sending";

/// Marks failed every pending outgoing payment LDK does not know; returns how many.
/// Runs before the API serves, so no payment is being started meanwhile.
pub async fn fail_payments_lost_in_a_crash(components: &Components) -> Result<usize, StoreError> {
    let known: HashSet<String> = components
        .channel_manager
        .list_recent_payments()
        .iter()
        .map(|payment| {
            let id = match payment {
                RecentPaymentDetails::AwaitingInvoice { payment_id }
                | RecentPaymentDetails::Pending { payment_id, .. }
                | RecentPaymentDetails::Fulfilled { payment_id, .. }
                | RecentPaymentDetails::Abandoned { payment_id, .. } => payment_id,
            };
            id.0.to_lower_hex_string()
        })
        .collect();
    let now_ms = sluice_actors::clock::unix_ms();
    let mut batch = WriteBatch::new();
    for mut record in components.store.scan::<PaymentRecord>("").await? {
        if record.direction == PaymentDirection::Outbound
            && record.status == PaymentStatus::Pending
            && !known.contains(&record.payment_id)
        {
            tracing::warn!(
                payment_id = %record.payment_id,
                "a payment recorded before a crash never reached LDK: marked failed, nothing was sent"
            );
            record.status = PaymentStatus::Failed;
            record.failure_code = Some(INTERRUPTED.to_owned());
            record.updated_at_ms = now_ms;
            batch.put(&record)?;
        }
    }
    let failed = batch.len();
    if !batch.is_empty() {
        components.store.commit(batch).await?;
    }
    Ok(failed)
}
