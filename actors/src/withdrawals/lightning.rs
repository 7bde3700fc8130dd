//! Lightning payouts: a withdrawal's fill paid to the LP's invoice through the payments
//! engine, under an idempotency key of its own (`{withdrawal}/{fill}`), so after a crash
//! the same call answers the same payment instead of making a second one; and the
//! payments engine pays an invoice at most once whatever the key.

use std::time::Duration;

use std::str::FromStr;

use bitcoin::hashes::Hash;
use lightning_invoice::Bolt11Invoice;
use sluice_storage::{PaymentRecord, PaymentStatus};

use super::WithdrawalConfig;
use crate::idempotency::IdempotencyKey;
use crate::payments::attempts::latest;
use crate::payments::pay::{pay_invoice, InvoicePayment};
use crate::payments::wait_settled;
use crate::pool::{Payout, PayoutOutcome};
use crate::{Components, NodeError};

/// The caller Lightning payouts are made as: not an API token, so no token budget
/// applies (the payout is bounded by the withdrawal and the fee ceiling).
pub const PAYOUT_CALLER: &str = "pool-withdrawals";

/// How long one wait for a payout's outcome lasts before it is looked at again.
const WAIT: Duration = Duration::from_secs(60);

/// Pays `payout` (or finds the payment made for it before) and waits for its outcome.
/// `None`: not settled yet, or a failure that says nothing about the invoice (the node
/// was busy): the next tick looks again.
pub async fn pay(
    c: &Components,
    config: &WithdrawalConfig,
    payout: &Payout,
) -> Option<PayoutOutcome> {
    let invoice = payout.invoice.clone()?;
    let fee_ceiling = (payout.msat / 10_000)
        .saturating_mul(u64::from(config.lightning_max_fee_bps))
        .max(MIN_FEE_CEILING_MSAT);
    let request = InvoicePayment {
        invoice,
        amount_msat: Some(payout.msat),
        max_fee_msat: Some(fee_ceiling),
        idempotency: Some(IdempotencyKey {
            caller: PAYOUT_CALLER.to_owned(),
            key: payout.payment_key(),
        }),
        caller: PAYOUT_CALLER.to_owned(),
    };
    let record = match pay_invoice(c, request).await {
        Ok(record) => record,
        // The invoice has a payment: this payout's own, made before its key was pruned,
        // or someone else's (then this payout cannot be made).
        Err(NodeError::AlreadyPaid(_) | NodeError::PaymentInProgress(_)) => {
            match ours(c, payout).await {
                Some(record) => record,
                None => return refused(payout, NodeError::AlreadyPaid(payout.payment_key())),
            }
        }
        Err(e) => return refused(payout, e),
    };
    let record = match record.status {
        PaymentStatus::Pending => wait_settled(c, &record.payment_id, WAIT).await.ok()?,
        _ => record,
    };
    match record.status {
        PaymentStatus::Pending => None,
        PaymentStatus::Succeeded => Some(PayoutOutcome::Paid {
            payment_id: Some(record.payment_id),
            txid: None,
            fee_msat: record.fee_paid_msat.unwrap_or(0),
        }),
        PaymentStatus::Failed => Some(PayoutOutcome::Failed {
            code: record
                .failure_code
                .unwrap_or_else(|| "payment_failed".to_owned()),
        }),
    }
}

/// The latest payment of the payout's invoice if the payouts made it (an invoice is
/// reserved for one withdrawal when it is asked for, and a Lightning withdrawal is paid
/// in one fill, so a payout payment of its hash is this fill's).
async fn ours(c: &Components, payout: &Payout) -> Option<PaymentRecord> {
    let invoice = Bolt11Invoice::from_str(payout.invoice.as_deref()?.trim()).ok()?;
    let hash = invoice.payment_hash().to_byte_array();
    let (latest, _) = latest(&c.store, &hash).await.ok()?;
    latest.filter(|r| r.token.as_deref() == Some(PAYOUT_CALLER))
}

/// The smallest routing-fee ceiling of a payout, msat: small payouts still need a route.
const MIN_FEE_CEILING_MSAT: u64 = 10_000;

/// What a refusal to pay means for the payout: a failure for good when it is about the
/// invoice or its route, nothing yet when the node could not act.
fn refused(payout: &Payout, error: NodeError) -> Option<PayoutOutcome> {
    let code = match &error {
        NodeError::InvoiceExpired => "invoice_expired",
        NodeError::WrongNetwork { .. } | NodeError::InvalidRequest(_) => "invoice_invalid",
        NodeError::RouteNotFound(_) => "route_not_found",
        NodeError::FeeLimitExceeded(_) => "fee_limit_exceeded",
        NodeError::AlreadyPaid(_) => "invoice_already_paid",
        _ => {
            tracing::warn!(withdrawal_id = %payout.withdrawal_id, n = payout.n, error = %error,
                "a Lightning payout could not be started; trying again next tick");
            return None;
        }
    };
    tracing::warn!(withdrawal_id = %payout.withdrawal_id, n = payout.n, code, error = %error,
        "a Lightning payout failed");
    Some(PayoutOutcome::Failed {
        code: code.to_owned(),
    })
}
