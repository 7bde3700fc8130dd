//! Ending a rebalance once its payment ended: the record's final state, its signed
//! `rebalance_receipt`, and — when it paid a fee — that fee booked to the pool's RRP
//! partition as a rebalance cost, all in one commit through the pool actor, so a
//! rebalance is booked exactly once: its record leaves `pending` in the commit that
//! books it. A fee larger than what RRP holds is booked up to what it holds; the rest
//! shows as drift in the pool's books against the node.

use std::time::Duration;

use sluice_storage::{PaymentRecord, PaymentStatus, RebalanceRecord, RebalanceState, WriteBatch};

use crate::clock::unix_ms;
use crate::pool::{PoolMsg, RebalanceBooking};
use crate::receipts::actor::seal_record;
use crate::receipts::{RebalanceReceipt, ReceiptKind};
use crate::{Components, NodeError};

/// How long the pool actor has to answer.
const POOL_TIMEOUT: Duration = Duration::from_secs(30);

/// Ends `record`, whose payment ended as `payment`; answers the ended record.
pub async fn finish(
    c: &Components,
    record: &RebalanceRecord,
    payment: &PaymentRecord,
) -> Result<RebalanceRecord, NodeError> {
    let now = unix_ms();
    let mut done = RebalanceRecord {
        ended_at_ms: Some(now),
        ..record.clone()
    };
    let mut booking = None;
    match payment.status {
        PaymentStatus::Succeeded => {
            let fee = payment.fee_paid_msat.unwrap_or_else(|| {
                tracing::warn!(id = %record.id, "LDK did not say what a rebalance paid in fees; booking none");
                0
            });
            let funds = c
                .actors
                .pool
                .call(PoolMsg::RebalanceFunds, POOL_TIMEOUT)
                .await?;
            let booked = funds.as_ref().map_or(0, |f| fee.min(f.rrp_assets_msat));
            if booked < fee {
                tracing::warn!(id = %record.id, fee, booked, "RRP holds less than a rebalance paid; booking what it holds");
            }
            done.state = RebalanceState::Succeeded;
            done.fee_paid_msat = Some(fee);
            done.booked_msat = Some(booked);
            if let (Some(funds), true) = (funds, booked > 0) {
                done.pool_id = Some(funds.pool_id.clone());
                booking = Some((funds.pool_id, booked));
            }
        }
        PaymentStatus::Failed => {
            done.state = RebalanceState::Failed;
            done.failure = Some(
                payment
                    .failure_code
                    .clone()
                    .unwrap_or_else(|| "unknown".to_owned()),
            );
        }
        PaymentStatus::Pending => {
            return Err(NodeError::InvalidRequest(format!(
                "rebalance {}: its payment has not ended",
                record.id
            )))
        }
    }
    let body = receipt_of(&done);
    let receipt = seal_record(&c.actors.receipts, ReceiptKind::Rebalance, &body, now).await?;
    done.receipt_id = Some(receipt.receipt_id.clone());
    let mut batch = WriteBatch::new();
    batch.put(&done)?;
    batch.create(&receipt)?;
    match booking {
        Some((pool_id, fee_msat)) => {
            let booking = RebalanceBooking {
                pool_id,
                rebalance_id: done.id.clone(),
                fee_msat,
                batch,
            };
            c.actors
                .pool
                .call(
                    |reply| PoolMsg::BookRebalance(Box::new(booking), reply),
                    POOL_TIMEOUT,
                )
                .await??;
        }
        None => c.store.commit(batch).await?,
    }
    Ok(done)
}

/// The receipt of an ended rebalance.
fn receipt_of(done: &RebalanceRecord) -> RebalanceReceipt {
    RebalanceReceipt {
        schema: ReceiptKind::Rebalance.schema().to_owned(),
        rebalance_id: done.id.clone(),
        payment_hash: done.id.clone(),
        from_channel: done.from_channel.clone(),
        to_channel: done.to_channel.clone(),
        to_peer: done.to_peer.clone(),
        amount_msat: done.amount_msat,
        max_fee_msat: done.max_fee_msat,
        fee_paid_msat: done.fee_paid_msat.unwrap_or(0),
        booked_msat: done.booked_msat.unwrap_or(0),
        pool_id: done.pool_id.clone(),
        outcome: match done.state {
            RebalanceState::Succeeded => "succeeded",
            _ => "failed",
        }
        .to_owned(),
        failure: done.failure.clone(),
        started_at_ms: done.started_at_ms,
        ended_at_ms: done.ended_at_ms.unwrap_or(done.started_at_ms),
    }
}
