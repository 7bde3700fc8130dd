//! The outcomes of the most recent outgoing payments: the success rate `/stats` shows and
//! the failure rate the withdrawal breaker judges by.

use sluice_storage::{
    IndexedDirection, PaymentIndexRecord, PaymentRecord, PaymentStatus, Store, KEYS_END,
};

use crate::NodeError;

/// How the most recent outgoing payments ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Recent {
    /// Payments looked at.
    pub sample: u32,
    /// Of them, succeeded.
    pub succeeded: u32,
    /// Failed.
    pub failed: u32,
    /// Still in flight.
    pub pending: u32,
}

/// The outcomes of the last `count` outgoing payments, newest first in the index.
pub async fn recent(store: &Store, count: usize) -> Result<Recent, NodeError> {
    // The index holds received payments too: read twice the sample to find enough sent.
    let indexed = store
        .range::<PaymentIndexRecord>("", KEYS_END, count.saturating_mul(2), true)
        .await?;
    let mut outcomes = Recent::default();
    let sent = indexed
        .into_iter()
        .filter(|(_, i)| i.direction == IndexedDirection::Sent)
        .take(count);
    for (_, index) in sent {
        let Some(payment) = store.get::<PaymentRecord>(index.payment_id).await? else {
            continue;
        };
        outcomes.sample += 1;
        match payment.status {
            PaymentStatus::Succeeded => outcomes.succeeded += 1,
            PaymentStatus::Failed => outcomes.failed += 1,
            PaymentStatus::Pending => outcomes.pending += 1,
        }
    }
    Ok(outcomes)
}
