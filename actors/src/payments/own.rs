//! Payments the node makes on its own account — a withdrawal's payout to an LP, an
//! envelope's settlement to a provider — under an idempotency key of their own, so after
//! a crash the same call answers the same payment instead of making a second one; the
//! payments engine pays an invoice at most once whatever the key.
//!
//! These callers are not API tokens, so no token budget applies: the caller bounds the
//! amount (the withdrawal, the envelope's cap) and names the fee ceiling.

use std::str::FromStr;
use std::time::Duration;

use bitcoin::hashes::Hash;
use lightning_invoice::Bolt11Invoice;
use sluice_storage::{PaymentRecord, PaymentStatus};

use super::attempts::latest;
use super::pay::{pay_invoice, pay_quote, InvoicePayment, PayRequest};
use super::wait_settled;
use crate::{Components, NodeError};

/// How a payment of the node's own ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It arrived.
    Paid(Box<PaymentRecord>),
    /// It failed for good, or was refused for a reason about the invoice or its route
    /// (a stable code).
    Failed(String),
    /// Not settled yet, or refused for a reason that says nothing about the invoice
    /// (the node was busy): look again later.
    Unknown,
}

/// A payment of the node's own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnPayment {
    /// An invoice, under the request's idempotency key (which it must carry).
    Invoice(InvoicePayment),
    /// A quote, paid at most once whoever asks.
    Quote(PayRequest),
}

/// Pays `payment`, or finds the payment made for it before, and waits up to `wait` for
/// its outcome.
pub async fn pay(c: &Components, payment: OwnPayment, wait: Duration) -> Outcome {
    let (paid, invoice, caller) = match payment {
        OwnPayment::Invoice(request) => {
            let invoice = Some(request.invoice.clone());
            let caller = request.caller.clone();
            (pay_invoice(c, request).await, invoice, caller)
        }
        OwnPayment::Quote(request) => {
            let caller = request.caller.clone();
            (pay_quote(c, request).await, None, caller)
        }
    };
    let record = match paid {
        Ok(record) => record,
        // The invoice has a payment: this caller's own, made before its key was pruned,
        // or someone else's (then it cannot be paid for this caller).
        Err(NodeError::AlreadyPaid(_) | NodeError::PaymentInProgress(_)) => {
            let ours = match &invoice {
                Some(invoice) => made_by(c, invoice, &caller).await,
                None => None,
            };
            match ours {
                Some(record) => record,
                None => return Outcome::Failed("invoice_already_paid".to_owned()),
            }
        }
        Err(NodeError::QuoteExpired(_)) => return Outcome::Failed("quote_expired".to_owned()),
        Err(e) => {
            return match refusal_code(&e) {
                Some(code) => {
                    tracing::warn!(%caller, code, error = %e, "the node's own payment was refused");
                    Outcome::Failed(code.to_owned())
                }
                None => {
                    tracing::warn!(%caller, error = %e, "the node's own payment could not start; trying again later");
                    Outcome::Unknown
                }
            }
        }
    };
    let record = match record.status {
        PaymentStatus::Pending => match wait_settled(c, &record.payment_id, wait).await {
            Ok(record) => record,
            Err(_) => return Outcome::Unknown,
        },
        _ => record,
    };
    match record.status {
        PaymentStatus::Pending => Outcome::Unknown,
        PaymentStatus::Succeeded => Outcome::Paid(Box::new(record)),
        PaymentStatus::Failed => Outcome::Failed(
            record
                .failure_code
                .unwrap_or_else(|| "payment_failed".to_owned()),
        ),
    }
}

/// The latest payment of `invoice` if `caller` made it. The callers reserve an invoice
/// for one payout or one envelope, so their payment of its hash is that one's.
async fn made_by(c: &Components, invoice: &str, caller: &str) -> Option<PaymentRecord> {
    let invoice = Bolt11Invoice::from_str(invoice.trim()).ok()?;
    let hash = invoice.payment_hash().to_byte_array();
    let (latest, _) = latest(&c.store, &hash).await.ok()?;
    latest.filter(|r| r.token.as_deref() == Some(caller))
}

/// The stable code of a refusal that is about the invoice or its route (the payment can
/// never be made as asked); `None` when the node could not act and a retry may work.
pub fn refusal_code(error: &NodeError) -> Option<&'static str> {
    match error {
        NodeError::InvoiceExpired => Some("invoice_expired"),
        NodeError::WrongNetwork { .. } | NodeError::InvalidRequest(_) => Some("invoice_invalid"),
        NodeError::RouteNotFound(_) => Some("route_not_found"),
        NodeError::FeeLimitExceeded(_) => Some("fee_limit_exceeded"),
        NodeError::AlreadyPaid(_) => Some("invoice_already_paid"),
        _ => None,
    }
}
