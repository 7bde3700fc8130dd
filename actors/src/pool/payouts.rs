//! Paying withdrawals, the pool's side (spec §5.2): a payout tick burns what the queue
//! says to pay now, and each payout's outcome is booked when the scheduler learns it.
//!
//! - [`burn_due`]: plans the tick ([`queue::plan`] under the scheduler's throttle), burns
//!   each fill's units at the lower of the value at the request and now, and stores the
//!   ledger entries with the changed withdrawals in one commit, before anything is paid;
//!   it answers every fill not settled yet (this tick's and earlier ones'), so after a
//!   crash the scheduler finds the same payouts again and makes each exactly once. A CEP
//!   fill that would burn into what live credit envelopes reserve waits (§7b).
//! - [`settle_fill`]: a payout arrived (the value owed leaves the books; a Lightning
//!   routing fee is booked as the partition's cost) or failed for good (the burn is
//!   reversed: the value goes back to the partition, the units to the LP, never more
//!   than were burned). A withdrawal with nothing left ends with its signed
//!   `withdraw_settlement_receipt` in the same commit.

use sluice_pool::queue::{self, QueueLimits, Queued, Rail};
use sluice_pool::throttle::Throttle;
use sluice_pool::withdrawal::{units_back, Burn};
use sluice_pool::{CostKind, Entry, Ledger, Movement, PartitionKind};
use sluice_storage::{
    FillRecord, FillState, PoolEntryRecord, ReceiptRecord, WithdrawalRecord, WithdrawalStatus,
    WriteBatch,
};

use super::book::Pools;
use crate::clock::unix_ms;
use crate::credit::book::Envelopes;
use crate::receipts::{self, ReceiptKind, SettledFill, WithdrawSettlementReceipt};
use crate::{Components, NodeError};

/// A payout to make (or being made): one fill of a withdrawal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payout {
    /// The pool.
    pub pool_id: String,
    /// The withdrawal.
    pub withdrawal_id: String,
    /// The fill's number.
    pub n: u32,
    /// How it is paid.
    pub rail: Rail,
    /// How much, msat (whole sats on-chain).
    pub msat: u64,
    /// The LP's invoice (Lightning).
    pub invoice: Option<String>,
    /// The LP's address (on-chain).
    pub address: Option<String>,
    /// The on-chain batch it belongs to.
    pub batch_id: Option<String>,
}

impl Payout {
    /// The idempotency key its Lightning payment is made under: one payment per fill.
    pub fn payment_key(&self) -> String {
        format!("{}/{}", self.withdrawal_id, self.n)
    }
}

/// How a payout ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayoutOutcome {
    /// It arrived.
    Paid {
        /// The Lightning payment's id, hex.
        payment_id: Option<String>,
        /// The transaction that confirmed it.
        txid: Option<String>,
        /// The routing fee paid, msat (Lightning).
        fee_msat: u64,
    },
    /// It failed for good (a stable code).
    Failed {
        /// Why.
        code: String,
    },
}

/// Burns what this tick pays and answers every payout not settled yet.
pub async fn burn_due(
    c: &Components,
    pools: &mut Pools,
    pool_id: &str,
    throttle: &Throttle,
    limits: &QueueLimits,
    now_ms: u64,
) -> Result<Vec<Payout>, NodeError> {
    let pool = pools.get(pool_id)?;
    let open: Vec<&WithdrawalRecord> = in_queue_order(pools, pool_id)
        .filter(|w| {
            matches!(
                w.status,
                WithdrawalStatus::Queued | WithdrawalStatus::Approved
            )
        })
        .collect();
    let mut line = Vec::with_capacity(open.len());
    for w in &open {
        let book = pool.ledger.partition(w.partition).book();
        let owed = w
            .outstanding
            .entitlement(&book)
            .map_err(|e| NodeError::Ledger(format!("withdrawal {}: {e}", w.withdrawal_id)))?;
        line.push(Queued {
            withdrawal_id: w.withdrawal_id.clone(),
            queued_at_ms: w.requested_at_ms,
            // On-chain outputs are whole sats: the crumb stays with the pool.
            remaining_msat: match w.rail {
                Rail::Onchain => owed / 1000 * 1000,
                Rail::Lightning => owed,
            },
            rail: w.rail,
            emergency: w.emergency,
        });
    }
    let fills = queue::plan(&line, now_ms, limits, throttle);
    // What live credit envelopes reserve from the CEP partition stays there: a CEP
    // withdrawal that would burn into it waits for envelopes to end (read only when a CEP
    // fill is planned).
    let cep_planned = fills.iter().any(|f| {
        open.iter()
            .any(|w| w.withdrawal_id == f.withdrawal_id && w.partition == PartitionKind::Cep)
    });
    let reserved_msat = if cep_planned {
        Envelopes::stored_reservations(&c.store, Some(pool_id)).await?
    } else {
        0
    };

    let mut ledger = pool.ledger.clone();
    let mut entries = Vec::new();
    let mut changed: Vec<WithdrawalRecord> = Vec::new();
    let mut batch_id = None;
    for fill in fills {
        let Some(w) = open.iter().find(|w| w.withdrawal_id == fill.withdrawal_id) else {
            continue;
        };
        if w.partition == PartitionKind::Cep {
            let cep = ledger.partition(PartitionKind::Cep);
            let free = cep
                .assets_msat
                .saturating_sub(cep.pending_withdrawals_msat)
                .saturating_sub(reserved_msat);
            if fill.msat > free {
                tracing::debug!(withdrawal_id = %w.withdrawal_id, fill_msat = fill.msat,
                    free_msat = free, "a CEP withdrawal waits for credit envelopes to end");
                continue;
            }
        }
        let book = ledger.partition(w.partition).book();
        let burned = if fill.completes {
            w.outstanding
                .close(&book, fill.msat)
                .map(|b| (b, Default::default()))
        } else {
            w.outstanding.fill(&book, fill.msat)
        };
        let (burn, rest) = burned
            .map_err(|e| NodeError::Ledger(format!("withdrawal {}: {e}", w.withdrawal_id)))?;
        let entry = Entry::new(
            ledger.next_seq(),
            now_ms,
            Movement::WithdrawalBurned {
                partition: w.partition,
                lp_id: w.lp_id.clone(),
                msat: burn.msat,
                units: burn.units,
                withdrawal_id: w.withdrawal_id.clone(),
            },
        );
        ledger
            .apply(&entry)
            .map_err(|e| NodeError::Ledger(format!("pool {pool_id}: {e}")))?;
        let batch = match fill.rail {
            Rail::Onchain => Some(
                batch_id
                    .get_or_insert_with(|| format!("wb_{pool_id}_{:010}", entry.seq))
                    .clone(),
            ),
            Rail::Lightning => None,
        };
        let mut record = (*w).clone();
        record.fills.push(FillRecord {
            n: u32::try_from(record.fills.len()).unwrap_or(u32::MAX),
            msat: burn.msat,
            units: burn.units,
            burn_seq: entry.seq,
            state: FillState::Sent,
            payment_id: None,
            batch_id: batch,
            txid: None,
            fee_msat: None,
            settle_seq: None,
            burned_at_ms: now_ms,
            settled_at_ms: None,
            failure: None,
            units_returned: None,
        });
        record.outstanding = rest;
        entries.push(entry);
        changed.push(record);
    }
    if !entries.is_empty() {
        let mut batch = WriteBatch::new();
        for entry in &entries {
            batch.create(&PoolEntryRecord {
                pool_id: pool_id.to_owned(),
                entry: entry.clone(),
            })?;
        }
        for record in &changed {
            batch.put(record)?;
        }
        c.store.commit(batch).await?;
        if let Some(pool) = pools.pools.get_mut(pool_id) {
            pool.ledger = ledger;
        }
        let burned: u64 = entries.iter().map(|e| e.movement.msat()).sum();
        metrics::counter!("sluice_pool_withdrawal_burned_msat_total").increment(burned);
        tracing::info!(
            pool_id,
            fills = entries.len(),
            burned_msat = burned,
            "payout tick burned shares"
        );
        for record in changed {
            pools
                .open_withdrawals
                .insert(record.withdrawal_id.clone(), record);
        }
    }
    Ok(unsettled(pools, pool_id))
}

/// Every payout of `pool_id` burned and not settled, in queue order.
pub fn unsettled(pools: &Pools, pool_id: &str) -> Vec<Payout> {
    in_queue_order(pools, pool_id)
        .flat_map(|w| {
            w.fills
                .iter()
                .filter(|f| f.state == FillState::Sent)
                .map(|f| Payout {
                    pool_id: w.pool_id.clone(),
                    withdrawal_id: w.withdrawal_id.clone(),
                    n: f.n,
                    rail: w.rail,
                    msat: f.msat,
                    invoice: w.payout_invoice.clone(),
                    address: w.payout_address.clone(),
                    batch_id: f.batch_id.clone(),
                })
        })
        .collect()
}

/// The open withdrawals of `pool_id` in arrival order (ties by id).
fn in_queue_order<'a>(
    pools: &'a Pools,
    pool_id: &'a str,
) -> impl Iterator<Item = &'a WithdrawalRecord> {
    let mut open: Vec<&WithdrawalRecord> = pools
        .open_withdrawals
        .values()
        .filter(|w| w.pool_id == pool_id)
        .collect();
    open.sort_by(|a, b| {
        (a.requested_at_ms, &a.withdrawal_id).cmp(&(b.requested_at_ms, &b.withdrawal_id))
    });
    open.into_iter()
}

/// Books how payout `n` of `withdrawal_id` ended; a payout settled before is left alone.
pub async fn settle_fill(
    c: &Components,
    pools: &mut Pools,
    withdrawal_id: &str,
    n: u32,
    outcome: PayoutOutcome,
) -> Result<(), NodeError> {
    let Some(record) = pools.open_withdrawals.get(withdrawal_id).cloned() else {
        return Ok(());
    };
    let Some(index) = record
        .fills
        .iter()
        .position(|f| f.n == n && f.state == FillState::Sent)
    else {
        return Ok(());
    };
    let pool_id = record.pool_id.clone();
    let now = unix_ms();
    let mut ledger = pools.get(&pool_id)?.ledger.clone();
    let mut entries = Vec::new();
    let mut record = record;
    let fill = record.fills[index].clone();
    let settled = match outcome {
        PayoutOutcome::Paid {
            payment_id,
            txid,
            fee_msat,
        } => {
            let paid = Movement::WithdrawalPaid {
                partition: record.partition,
                msat: fill.msat,
                withdrawal_id: withdrawal_id.to_owned(),
            };
            let seq = append(&mut ledger, &mut entries, &pool_id, now, paid)?;
            if fee_msat > 0 {
                let cost = Movement::Cost {
                    partition: record.partition,
                    cost: CostKind::Payout,
                    msat: fee_msat,
                    reference: format!("withdrawal:{withdrawal_id}/{n}"),
                };
                append(&mut ledger, &mut entries, &pool_id, now, cost)?;
            }
            record.paid_msat = record.paid_msat.saturating_add(fill.msat);
            FillRecord {
                state: FillState::Paid,
                payment_id,
                txid,
                fee_msat: Some(fee_msat),
                settle_seq: Some(seq),
                settled_at_ms: Some(now),
                ..fill
            }
        }
        PayoutOutcome::Failed { code } => {
            let current = ledger.partition(record.partition).book();
            let burn = Burn {
                units: fill.units,
                msat: fill.msat,
            };
            let back = units_back(&current, &burn);
            let reversed = Movement::WithdrawalReversed {
                partition: record.partition,
                lp_id: record.lp_id.clone(),
                msat: fill.msat,
                units: back,
                withdrawal_id: withdrawal_id.to_owned(),
            };
            let seq = append(&mut ledger, &mut entries, &pool_id, now, reversed)?;
            FillRecord {
                state: FillState::Reversed,
                units_returned: Some(back),
                settle_seq: Some(seq),
                settled_at_ms: Some(now),
                failure: Some(code),
                ..fill
            }
        }
    };
    let reversed = settled.state == FillState::Reversed;
    record.fills[index] = settled;
    if reversed && record.rail == Rail::Lightning {
        // The invoice cannot be paid: nothing more of this withdrawal can be.
        record.outstanding = Default::default();
    }
    let ended =
        record.outstanding.is_done() && record.fills.iter().all(|f| f.state != FillState::Sent);
    let mut batch = WriteBatch::new();
    if ended {
        let failed = record.fills.iter().any(|f| f.state == FillState::Reversed);
        record.status = if failed {
            WithdrawalStatus::Failed
        } else {
            WithdrawalStatus::Paid
        };
        record.ended_at_ms = Some(now);
        let receipt = settlement_receipt(c, &record, now).await?;
        record.settlement_receipt_id = Some(receipt.receipt_id.clone());
        batch.create(&receipt)?;
    }
    for entry in &entries {
        batch.create(&PoolEntryRecord {
            pool_id: pool_id.clone(),
            entry: entry.clone(),
        })?;
    }
    batch.put(&record)?;
    c.store.commit(batch).await?;
    if let Some(pool) = pools.pools.get_mut(&pool_id) {
        pool.ledger = ledger;
    }
    let stage = if reversed { "reversed" } else { "paid" };
    metrics::counter!("sluice_pool_withdrawal_fills_total", "outcome" => stage).increment(1);
    tracing::info!(
        withdrawal_id,
        n,
        outcome = stage,
        ended,
        "withdrawal payout settled"
    );
    if ended {
        let status = if record.status == WithdrawalStatus::Paid {
            "paid"
        } else {
            "failed"
        };
        metrics::counter!("sluice_pool_withdrawals_total", "stage" => status).increment(1);
        pools.open_withdrawals.remove(withdrawal_id);
    } else {
        pools
            .open_withdrawals
            .insert(withdrawal_id.to_owned(), record);
    }
    Ok(())
}

/// Applies `movement` to `ledger` as its next entry and keeps the entry; its seq.
fn append(
    ledger: &mut Ledger,
    entries: &mut Vec<Entry>,
    pool_id: &str,
    at_ms: u64,
    movement: Movement,
) -> Result<u64, NodeError> {
    let entry = Entry::new(ledger.next_seq(), at_ms, movement);
    ledger
        .apply(&entry)
        .map_err(|e| NodeError::Ledger(format!("pool {pool_id}: {e}")))?;
    let seq = entry.seq;
    entries.push(entry);
    Ok(seq)
}

/// The signed `withdraw_settlement_receipt` of a withdrawal that ended.
pub async fn settlement_receipt(
    c: &Components,
    record: &WithdrawalRecord,
    now: u64,
) -> Result<ReceiptRecord, NodeError> {
    let burned = record
        .fills
        .iter()
        .filter(|f| f.state == FillState::Paid)
        .map(|f| f.units)
        .fold(0u128, u128::saturating_add);
    let returned = record
        .fills
        .iter()
        .filter_map(|f| f.units_returned)
        .fold(0u128, u128::saturating_add);
    let body = WithdrawSettlementReceipt {
        schema: ReceiptKind::WithdrawSettlement.schema().to_owned(),
        withdrawal_id: record.withdrawal_id.clone(),
        pool_id: record.pool_id.clone(),
        partition_kind: record.partition.as_str().to_owned(),
        lp_id: record.lp_id.clone(),
        status: status_name(record.status).to_owned(),
        request_receipt_id: record.request_receipt_id.clone(),
        shares_locked: record.units_requested.to_string(),
        shares_burned: burned.to_string(),
        shares_returned: returned.to_string(),
        value_at_request_msats: record.value_at_request_msat,
        paid_msats: record.paid_msat,
        fills: record
            .fills
            .iter()
            .map(|f| SettledFill {
                n: f.n,
                msats: f.msat,
                shares_burned: f.units.to_string(),
                state: match f.state {
                    FillState::Sent => "sent",
                    FillState::Paid => "paid",
                    FillState::Reversed => "reversed",
                }
                .to_owned(),
                payment_id: f.payment_id.clone(),
                txid: f.txid.clone(),
                fee_msats: f.fee_msat,
                failure: f.failure.clone(),
            })
            .collect(),
        approved_by: record.approved_by.clone(),
        approved_at_ms: record.approved_at_ms,
        requested_at_ms: record.requested_at_ms,
        settled_at_ms: now,
    };
    receipts::actor::seal_record(
        &c.actors.receipts,
        ReceiptKind::WithdrawSettlement,
        &body,
        now,
    )
    .await
}

/// The wire name of a withdrawal's status.
pub fn status_name(status: WithdrawalStatus) -> &'static str {
    match status {
        WithdrawalStatus::Requested => "requested",
        WithdrawalStatus::Queued => "queued",
        WithdrawalStatus::Approved => "approved",
        WithdrawalStatus::Paid => "paid",
        WithdrawalStatus::Failed => "failed",
        WithdrawalStatus::Canceled => "canceled",
    }
}
