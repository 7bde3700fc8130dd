//! Start-up reconciliation of the payment ledger with LDK's own payment state.
//!
//! Every payment is recorded as pending *before* it is handed to LDK, so a
//! crash can leave a pending record that LDK never stored: the node died before a
//! channel manager holding the payment was written. Such a payment never left the node
//! — no HTLC goes out before the monitor update carrying it completes, and that happens
//! only after a channel manager that knows the payment is durable (see
//! [`crate::persist`]). It is settled as failed here (with its receipt, for a quoted
//! payment), so a caller is never left waiting on it and can pay the invoice afresh
//! knowing nothing was sent.
//!
//! A pending payment LDK does know resolves by itself: LDK replays `PaymentSent` /
//! `PaymentFailed` until they are handled, and the handler settles the payment.
//!
//! This must run before the API serves and never again while the node runs: a payment
//! being started is pending and not yet known to LDK for a moment.

use std::collections::HashSet;

use bitcoin::hex::DisplayHex;
use lightning::ln::channelmanager::RecentPaymentDetails;
use sluice_storage::{PaymentRecord, PaymentStatus};

use super::codes::INTERRUPTED;
use super::settle::{settle, Outcome};
use crate::{Components, NodeError};

/// Settles as failed every pending outgoing payment LDK does not know; returns how many.
pub async fn fail_payments_lost_in_a_crash(components: &Components) -> Result<usize, NodeError> {
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
    let mut failed = 0;
    for record in components.store.scan::<PaymentRecord>("").await? {
        if record.status == PaymentStatus::Pending && !known.contains(&record.payment_id) {
            tracing::warn!(
                payment_id = %record.payment_id,
                "a payment recorded before a crash never reached LDK: marked failed, nothing was sent"
            );
            let outcome = Outcome::Failed {
                code: INTERRUPTED.to_owned(),
            };
            settle(components, &record.payment_id, outcome).await?;
            failed += 1;
        }
    }
    Ok(failed)
}
