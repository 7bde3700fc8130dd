//! Payment attempts of one invoice: at most one in flight, none after one succeeded.
//!
//! Attempt 0 of an invoice uses its payment hash as LDK's payment id; attempt `n > 0`
//! uses SHA-256(`sluice/attempt` ‖ hash ‖ n). The ids are deterministic, so the attempts
//! of an invoice are found by probing ids 0, 1, … until one is absent, with no index.
//! A new attempt is a create-only write: of two racing starts exactly one wins, and the
//! loser sees the winner's attempt in flight.

use bitcoin::hashes::{sha256, Hash, HashEngine};
use bitcoin::hex::DisplayHex;
use sluice_storage::{
    IndexedDirection, PaymentIndexRecord, PaymentRecord, PaymentStatus, Store, StoreError, Table,
    WriteBatch,
};

use crate::NodeError;

/// The most attempts one invoice gets.
pub const MAX_ATTEMPTS: u32 = 16;
/// How often a start that lost a race re-reads the attempts before giving up.
const START_RETRIES: usize = 3;

/// LDK's payment id of attempt `attempt` of the invoice with `payment_hash`.
pub fn attempt_id(payment_hash: &[u8; 32], attempt: u32) -> [u8; 32] {
    if attempt == 0 {
        return *payment_hash;
    }
    let mut engine = sha256::Hash::engine();
    engine.input(b"sluice/attempt");
    engine.input(payment_hash);
    engine.input(&attempt.to_be_bytes());
    sha256::Hash::from_engine(engine).to_byte_array()
}

/// The latest attempt of an invoice, and the number the next one would get.
pub async fn latest(
    store: &Store,
    payment_hash: &[u8; 32],
) -> Result<(Option<PaymentRecord>, u32), NodeError> {
    let mut last = None;
    for attempt in 0..MAX_ATTEMPTS {
        let id = attempt_id(payment_hash, attempt).to_lower_hex_string();
        match store.get::<PaymentRecord>(id).await? {
            Some(record) => last = Some(record),
            None => return Ok((last, attempt)),
        }
    }
    Ok((last, MAX_ATTEMPTS))
}

/// Refuses to pay an invoice whose latest attempt succeeded or is in flight.
fn refuse_if_settled_or_in_flight(latest: &Option<PaymentRecord>) -> Result<(), NodeError> {
    match latest {
        Some(r) if r.status == PaymentStatus::Succeeded => Err(NodeError::AlreadyPaid(format!(
            "payment {} succeeded",
            r.payment_id
        ))),
        Some(r) if r.status == PaymentStatus::Pending => Err(NodeError::PaymentInProgress(
            format!("payment {}", r.payment_id),
        )),
        _ => Ok(()),
    }
}

/// Checks that the invoice with `payment_hash` may be paid now (not paid, nothing in
/// flight), without starting anything.
pub async fn check_payable(store: &Store, payment_hash: &[u8; 32]) -> Result<(), NodeError> {
    let (last, next) = latest(store, payment_hash).await?;
    refuse_if_settled_or_in_flight(&last)?;
    if next >= MAX_ATTEMPTS {
        return Err(NodeError::InvalidRequest(format!(
            "invoice: it failed {MAX_ATTEMPTS} times; ask the payee for a new one"
        )));
    }
    Ok(())
}

/// How a start went.
pub enum Started {
    /// `record` (pending) and `also` are stored: the caller now sends the payment.
    New(Box<PaymentRecord>),
    /// `also` conflicted with a stored record in the table named here (the caller's
    /// own idempotency record, say): nothing was stored.
    Conflict(&'static str),
}

/// Durably records a new pending attempt of the invoice with `payment_hash`, built by
/// `record` from its payment id, together with what `also` adds to the batch given that
/// id (create-only writes that must happen with the attempt, or not at all). Refuses when the invoice was paid or an attempt is
/// in flight.
pub async fn start(
    store: &Store,
    payment_hash: &[u8; 32],
    record: impl Fn(String) -> PaymentRecord,
    also: impl Fn(&str, &mut WriteBatch) -> Result<(), StoreError>,
) -> Result<Started, NodeError> {
    for _ in 0..START_RETRIES {
        let (last, next) = latest(store, payment_hash).await?;
        refuse_if_settled_or_in_flight(&last)?;
        if next >= MAX_ATTEMPTS {
            return Err(NodeError::InvalidRequest(format!(
                "invoice: it failed {MAX_ATTEMPTS} times; ask the payee for a new one"
            )));
        }
        let attempt = record(attempt_id(payment_hash, next).to_lower_hex_string());
        let mut batch = WriteBatch::new();
        batch.create(&attempt)?;
        batch.put(&PaymentIndexRecord {
            created_at_ms: attempt.created_at_ms,
            direction: IndexedDirection::Sent,
            payment_id: attempt.payment_id.clone(),
        })?;
        also(&attempt.payment_id, &mut batch)?;
        match store.commit(batch).await {
            Ok(()) => return Ok(Started::New(Box::new(attempt))),
            // Another start took this attempt number: look again.
            Err(StoreError::Conflict { table, .. }) if table == Table::Payments.name() => continue,
            Err(StoreError::Conflict { table, .. }) => return Ok(Started::Conflict(table)),
            Err(e) => return Err(e.into()),
        }
    }
    Err(NodeError::PaymentInProgress(
        "another payment of this invoice is starting".into(),
    ))
}
