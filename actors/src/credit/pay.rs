//! Paying an envelope's provider: the payment runs in a task of its own under the
//! settlement's key (one of the node's own payments, [`own::pay`]), and its outcome comes
//! back to the envelope ledger as a message, which steps the envelope (a draw booked with
//! its `envelope_settlement_receipt`, or the envelope open again after a failure) and
//! answers the settle requests waiting for it.
//!
//! A payment that has no outcome within [`WAIT`] answers its waiters
//! `request_in_progress` (the same settle again waits again) and goes on being waited
//! for. A paying envelope whose task is gone (a restart, a booking that failed) gets a
//! new task at the next tick, which finds the same payment under the same key.

use std::time::Duration;

use ractor::ActorRef;
use sluice_credit::envelope::{step, Event, Status};
use sluice_storage::{CreditEnvelopeRecord, PaymentRecord, WriteBatch};

use super::settle::{view, SettleView};
use super::{actions, CreditMsg, CreditState};
use crate::clock::unix_ms;
use crate::idempotency::IdempotencyKey;
use crate::payments::own::{self, Outcome, OwnPayment};
use crate::payments::pay::{InvoicePayment, PayRequest};
use crate::NodeError;

/// The caller settlements are paid as: not an API token, so no token budget applies (the
/// envelope's cap and the settle's fee ceiling bound it).
pub const SETTLE_CALLER: &str = "credit-settlements";

/// How long a settle request waits for the provider's payment before it is answered
/// `request_in_progress`.
pub const WAIT: Duration = Duration::from_secs(20);

/// How long after a payment that could not start it is tried again.
const RETRY: Duration = Duration::from_secs(5);

/// How long a payment waits for the node's channels to be able to carry it before it is
/// tried anyway (after a restart, peers take a moment to reconnect; a payment tried
/// before would fail `route_not_found` and the envelope would need settling again).
const READY_WAIT: Duration = Duration::from_secs(30);

/// Starts paying `record`'s provider unless a task pays it already (or it is not
/// paying).
pub fn start(state: &mut CreditState, myself: &ActorRef<CreditMsg>, record: &CreditEnvelopeRecord) {
    let (Status::Paying { settlement }, Some(asked)) = (&record.status, &record.asked) else {
        return;
    };
    let settlement_id = settlement.settlement_id.clone();
    if !state.paying.insert(settlement_id.clone()) {
        return;
    }
    let request = match &asked.quote_id {
        // Spec §8.2: the quote's own payment, at most once, with its receipt.
        Some(quote_id) => OwnPayment::Quote(PayRequest {
            quote_id: quote_id.clone(),
            run_id: asked.run_id.clone(),
            trajectory_hash: asked.trajectory_hash.clone(),
            caller: SETTLE_CALLER.to_owned(),
        }),
        None => OwnPayment::Invoice(InvoicePayment {
            invoice: asked.invoice.clone(),
            amount_msat: None,
            max_fee_msat: Some(settlement.max_fee_msat),
            idempotency: Some(IdempotencyKey {
                caller: SETTLE_CALLER.to_owned(),
                key: settlement_id.clone(),
            }),
            caller: SETTLE_CALLER.to_owned(),
        }),
    };
    let c = state.components.clone();
    let myself = myself.clone();
    let envelope_id = record.envelope_id.clone();
    let amount_msat = settlement.amount_msat.unwrap_or(0);
    tokio::spawn(async move {
        ready(&c, amount_msat).await;
        loop {
            match own::pay(&c, request.clone(), WAIT).await {
                Outcome::Unknown => {
                    let still = CreditMsg::StillPaying(settlement_id.clone());
                    if myself.cast(still).is_err() {
                        return;
                    }
                    tokio::time::sleep(RETRY).await;
                }
                outcome => {
                    let _ = myself.cast(CreditMsg::PayOutcome(
                        envelope_id,
                        settlement_id,
                        Box::new(outcome),
                    ));
                    return;
                }
            }
        }
    });
}

/// Waits (at most [`READY_WAIT`]) until the node's usable channels can send
/// `amount_msat` between them.
async fn ready(c: &crate::Components, amount_msat: u64) {
    let deadline = tokio::time::Instant::now() + READY_WAIT;
    loop {
        let sendable = c
            .channel_manager
            .list_usable_channels()
            .iter()
            .map(|ch| ch.outbound_capacity_msat)
            .fold(0u64, u64::saturating_add);
        if sendable >= amount_msat || tokio::time::Instant::now() >= deadline {
            return;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Steps the envelope paying `settlement_id` on its payment's `outcome` and answers its
/// waiters.
pub async fn settled(
    state: &mut CreditState,
    envelope_id: &str,
    settlement_id: &str,
    outcome: Outcome,
) {
    state.paying.remove(settlement_id);
    let answer = book(state, envelope_id, settlement_id, outcome).await;
    if let Err(e) = &answer {
        tracing::warn!(envelope_id, settlement_id, error = %e, "a settlement's outcome");
    }
    for waiter in state.waiters.remove(settlement_id).unwrap_or_default() {
        let _ = waiter.send(match &answer {
            Ok(view) => Ok(view.clone()),
            Err(e) => Err(again(e)),
        });
    }
}

/// `error` once more for another waiter: a failed payment as itself, anything else
/// (a store or booking failure, which the next tick retries) as the ledger's.
fn again(error: &NodeError) -> NodeError {
    match error {
        NodeError::SettlementFailed(code) => NodeError::SettlementFailed(code.clone()),
        NodeError::RequestInProgress(what) => NodeError::RequestInProgress(what.clone()),
        other => NodeError::Ledger(other.to_string()),
    }
}

/// Books the outcome: the answer to the settle.
async fn book(
    state: &mut CreditState,
    envelope_id: &str,
    settlement_id: &str,
    outcome: Outcome,
) -> Result<SettleView, NodeError> {
    let record = state
        .envelopes
        .get(envelope_id)
        .cloned()
        .ok_or_else(|| NodeError::NotFound(format!("envelope {envelope_id}")))?;
    let ours = matches!(&record.status, Status::Paying { settlement } if settlement.settlement_id == settlement_id);
    if !ours {
        // Booked before (a second task's outcome): the stored outcome stands.
        return view(state, &record).await;
    }
    let now = unix_ms();
    let (event, paid, failure): (Event, Option<PaymentRecord>, Option<String>) = match outcome {
        Outcome::Paid(payment) => (
            Event::Paid {
                routing_fee_msat: payment.fee_paid_msat.unwrap_or(0),
            },
            Some(*payment),
            None,
        ),
        Outcome::Failed(code) => (Event::PayFailed, None, Some(code)),
        Outcome::Unknown => {
            return Err(NodeError::RequestInProgress(format!(
                "settlement {settlement_id}"
            )))
        }
    };
    let (next, steps) = step(&record.limits, &record.status, event, now)
        .map_err(|e| NodeError::Ledger(format!("envelope {envelope_id}: {e}")))?;
    let failed = failure.is_some();
    let updated = CreditEnvelopeRecord {
        status: next,
        updated_at_ms: now,
        failed_payments: record.failed_payments + u32::from(failed),
        ..record
    };
    let updated = actions::commit(state, updated, &steps, paid.as_ref(), WriteBatch::new()).await?;
    match (failure, &updated.status) {
        (Some(code), Status::Open) => {
            metrics::counter!("sluice_credit_settlements_total", "outcome" => "payment_failed")
                .increment(1);
            Err(NodeError::SettlementFailed(code))
        }
        _ => view(state, &updated).await,
    }
}

/// Answers the waiters of `settlement_id`: its payment has no outcome yet.
pub fn still_paying(state: &mut CreditState, settlement_id: &str) {
    for waiter in state.waiters.remove(settlement_id).unwrap_or_default() {
        let _ = waiter.send(Err(NodeError::RequestInProgress(format!(
            "settlement {settlement_id}: the provider's payment is still in flight; ask again"
        ))));
    }
}
