//! Lightning payouts: a withdrawal's fill paid to the LP's invoice through the payments
//! engine as one of the node's own payments ([`own::pay`]), under an idempotency key of
//! its own (`{withdrawal}/{fill}`).

use std::time::Duration;

use super::WithdrawalConfig;
use crate::idempotency::IdempotencyKey;
use crate::payments::own::{self, Outcome, OwnPayment};
use crate::payments::pay::InvoicePayment;
use crate::pool::{Payout, PayoutOutcome};
use crate::Components;

/// The caller Lightning payouts are made as: not an API token, so no token budget
/// applies (the payout is bounded by the withdrawal and the fee ceiling).
pub const PAYOUT_CALLER: &str = "pool-withdrawals";

/// How long one wait for a payout's outcome lasts before it is looked at again.
const WAIT: Duration = Duration::from_secs(60);

/// The smallest routing-fee ceiling of a payout, msat: small payouts still need a route.
const MIN_FEE_CEILING_MSAT: u64 = 10_000;

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
    match own::pay(c, OwnPayment::Invoice(request), WAIT).await {
        Outcome::Paid(record) => Some(PayoutOutcome::Paid {
            payment_id: Some(record.payment_id),
            txid: None,
            fee_msat: record.fee_paid_msat.unwrap_or(0),
        }),
        Outcome::Failed(code) => {
            tracing::warn!(withdrawal_id = %payout.withdrawal_id, n = payout.n, %code,
                "a Lightning payout failed");
            Some(PayoutOutcome::Failed { code })
        }
        Outcome::Unknown => None,
    }
}
