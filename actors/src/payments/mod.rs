//! Payments (ARCHITECTURE.md §5): quotes, paying them exactly once, keysend and direct invoice
//! payments, outcomes with signed receipts, and start-up reconciliation.
//!
//! The [`PaymentsActor`] owns the decisions around LDK's payment calls but does not
//! serialise them: each quote or pay runs in a task of its own, so the store's group
//! commit can batch many at once. What the actor's state holds is who waits for which
//! payment to settle ([`wait_settled`]). Waiters live in memory only: after a restart a
//! caller polls (`GET /v1/liquidity/pay/{quote_id}`), and the payment itself is in the
//! store.
//!
//! Exactly once, step by step:
//! - a quote and its idempotency key are stored in one batch ([`quote::quote`]);
//! - a pay stores the pending attempt and the quote's "paid by" record in one batch
//!   before LDK sees the payment ([`pay::pay_quote`]); a repeat finds that record;
//! - attempts of one invoice are created exclusively ([`attempts`]): none after a
//!   success, one at a time;
//! - outcomes settle once, the receipt in the same batch ([`settle::settle`]);
//! - at start, attempts LDK never stored are settled failed ([`reconcile`]).
//!
//! The actor also prunes, once a minute, unpaid quotes and idempotency keys whose time
//! is up ([`expiry`]).

pub mod attempts;
pub mod codes;
pub mod expiry;
pub mod invoice;
pub mod listing;
pub mod own;
pub mod pay;
pub mod quote;
pub mod received;
pub mod recent;
pub mod reconcile;
pub mod settle;
pub mod window;

use std::collections::HashMap;
use std::time::Duration;

use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use sluice_storage::{PaymentRecord, PaymentStatus, QuoteRecord};
use tokio::sync::oneshot;

pub use pay::{InvoicePayment, KeysendPayment, PayRequest};
pub use quote::{QuoteRequest, Urgency};
pub use window::{SendWindow, DEFAULT_MAX_WAIT, DEFAULT_SEND_WINDOW};

use crate::{Components, NodeError};

/// How long a caller waits for a quote or for a pay to be handed to LDK.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// The payments actor's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaymentsConfig {
    /// How long a quote stays valid.
    pub quote_ttl: Duration,
}

/// Messages to the payments actor.
#[derive(Debug)]
pub enum PaymentsMsg {
    /// Quote an invoice.
    Quote(QuoteRequest, RpcReplyPort<Result<QuoteRecord, NodeError>>),
    /// Pay a quote.
    Pay(PayRequest, RpcReplyPort<Result<PaymentRecord, NodeError>>),
    /// Tell `1` when payment `0` settles.
    Watch(String, oneshot::Sender<()>),
    /// Payment `0` settled (its outcome is stored).
    Settled(String),
    /// Prune what is due (on a timer).
    Prune,
    /// A pruning round ended.
    Pruned,
}

/// The payments actor; `self` holds its settings.
pub struct PaymentsActor {
    /// Its settings.
    pub config: PaymentsConfig,
}

/// The actor's state.
pub struct PaymentsState {
    components: Components,
    waiters: HashMap<String, Vec<oneshot::Sender<()>>>,
    /// A pruning round runs: the timer does not start another.
    pruning: bool,
}

impl Actor for PaymentsActor {
    type Msg = PaymentsMsg;
    type State = PaymentsState;
    type Arguments = Components;

    async fn pre_start(
        &self,
        myself: ActorRef<PaymentsMsg>,
        components: Components,
    ) -> Result<PaymentsState, ActorProcessingErr> {
        myself.send_interval(expiry::PRUNE_EVERY, || PaymentsMsg::Prune);
        Ok(PaymentsState {
            components,
            waiters: HashMap::new(),
            pruning: false,
        })
    }

    async fn handle(
        &self,
        myself: ActorRef<PaymentsMsg>,
        message: PaymentsMsg,
        state: &mut PaymentsState,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            PaymentsMsg::Quote(request, reply) => {
                let components = state.components.clone();
                let ttl = self.config.quote_ttl;
                tokio::spawn(async move {
                    let _ = reply.send(quote::quote(&components, request, ttl).await);
                });
            }
            PaymentsMsg::Pay(request, reply) => {
                let components = state.components.clone();
                tokio::spawn(async move {
                    let _ = reply.send(pay::pay_quote(&components, request).await);
                });
            }
            PaymentsMsg::Watch(payment_id, notify) => {
                let waiting = state.waiters.entry(payment_id).or_default();
                waiting.retain(|w| !w.is_closed());
                waiting.push(notify);
            }
            PaymentsMsg::Settled(payment_id) => {
                for notify in state.waiters.remove(&payment_id).unwrap_or_default() {
                    let _ = notify.send(());
                }
            }
            PaymentsMsg::Prune if !state.pruning => {
                state.pruning = true;
                let store = std::sync::Arc::clone(&state.components.store);
                tokio::spawn(async move {
                    match expiry::prune_due(&store, crate::clock::unix_ms()).await {
                        Ok(pruned) => {
                            metrics::counter!("sluice_pruned_total", "kind" => "quote")
                                .increment(pruned.quotes as u64);
                            metrics::counter!("sluice_pruned_total", "kind" => "idempotency_key")
                                .increment(pruned.keys as u64);
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "pruning expired records failed; will retry")
                        }
                    }
                    let _ = myself.cast(PaymentsMsg::Pruned);
                });
            }
            PaymentsMsg::Prune => {}
            PaymentsMsg::Pruned => state.pruning = false,
        }
        Ok(())
    }
}

/// Quotes `request` through the running payments actor.
pub async fn request_quote(
    components: &Components,
    request: QuoteRequest,
) -> Result<QuoteRecord, NodeError> {
    let payments = &components.actors.payments;
    payments
        .call(|reply| PaymentsMsg::Quote(request, reply), CALL_TIMEOUT)
        .await?
}

/// Pays a quote through the running payments actor.
pub async fn request_pay(
    components: &Components,
    request: PayRequest,
) -> Result<PaymentRecord, NodeError> {
    let payments = &components.actors.payments;
    payments
        .call(|reply| PaymentsMsg::Pay(request, reply), CALL_TIMEOUT)
        .await?
}

/// Tells the payments actor (if it runs) that `payment_id` settled.
pub(crate) fn notify_settled(components: &Components, payment_id: &str) {
    let settled = PaymentsMsg::Settled(payment_id.to_owned());
    let _ = components.actors.payments.cast(settled);
}

/// The payment `payment_id` once it settles, or as it stands after `timeout`.
pub async fn wait_settled(
    components: &Components,
    payment_id: &str,
    timeout: Duration,
) -> Result<PaymentRecord, NodeError> {
    let read = || async {
        components
            .store
            .get::<PaymentRecord>(payment_id)
            .await?
            .ok_or_else(|| NodeError::NotFound(format!("payment {payment_id}")))
    };
    // Watch first, then read: a settle after the read is told to the watch, one before
    // it is seen by the read.
    let (notify, settled) = oneshot::channel();
    let watch = PaymentsMsg::Watch(payment_id.to_owned(), notify);
    components.actors.payments.cast(watch)?;
    let record = read().await?;
    if record.status != PaymentStatus::Pending || timeout.is_zero() {
        return Ok(record);
    }
    let _ = tokio::time::timeout(timeout, settled).await;
    read().await
}
