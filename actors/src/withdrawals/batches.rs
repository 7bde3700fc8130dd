//! On-chain payouts: every on-chain fill of one tick in one transaction with an output
//! each, from the node's wallet.
//!
//! The transaction is built, signed and stored in the batch's record (one commit) before
//! it is broadcast; after a crash the stored transaction is broadcast again, never a new
//! one for the same fills. A transaction still unconfirmed `rbf_after_blocks` blocks after
//! it was made is replaced by one paying a higher fee (same outputs, the change pays the
//! rise), stored before it is broadcast; the two conflict, so at most one confirms. When
//! one confirms, every output of the batch is paid.

use std::collections::HashSet;
use std::str::FromStr;

use bitcoin::consensus::encode::{deserialize_hex, serialize_hex};
use bitcoin::{Address, Amount, FeeRate, Transaction, Txid};
use sluice_storage::{BatchOutput, BatchTx, PayoutBatchRecord, WriteBatch};

use super::WithdrawalConfig;
use crate::chain::BroadcastRefusal;
use crate::clock::unix_ms;
use crate::pool::{Payout, PayoutOutcome};
use crate::{Components, NodeError};

/// What became of one batch this tick.
#[derive(Debug, Default)]
pub struct Advanced {
    /// Payouts now paid: (withdrawal, fill, outcome).
    pub settled: Vec<(String, u32, PayoutOutcome)>,
    /// Value sent by a transaction not confirmed yet (outputs and fee), msat.
    pub in_flight_msat: u64,
}

/// Makes, broadcasts, bumps or settles batch `batch_id`, whose unsettled payouts are
/// `payouts`. `broadcast` holds the transactions broadcast since the node started.
pub async fn advance(
    c: &Components,
    config: &WithdrawalConfig,
    batch_id: &str,
    payouts: &[Payout],
    broadcast: &mut HashSet<Txid>,
) -> Result<Advanced, NodeError> {
    let record = match c
        .store
        .get::<PayoutBatchRecord>(batch_id.to_owned())
        .await?
    {
        Some(record) => record,
        None => make(c, batch_id, payouts).await?,
    };
    // A transaction of the batch confirmed: every output is paid.
    for made in record.txs.iter().rev() {
        let txid = parse_txid(&made.txid)?;
        if let Some(Some(height)) = c.wallet.tx_status(txid) {
            return confirmed(c, record.clone(), txid, height).await;
        }
    }
    let Some(current) = record.txs.last().cloned() else {
        return Err(NodeError::Wallet(format!(
            "batch {batch_id} holds no transaction"
        )));
    };
    let tx = parse_tx(&current.raw_hex)?;
    let mut current_tx = tx;
    let mut current_txid = current_tx.compute_txid();
    let height = c.wallet.synced_height();
    if height
        >= current
            .made_at_height
            .saturating_add(config.rbf_after_blocks)
    {
        match bump(c, record, &current, &current_tx, height).await {
            Ok(replacement) => {
                current_tx = replacement;
                current_txid = current_tx.compute_txid();
            }
            Err(e) => {
                tracing::warn!(batch_id, error = %e, "bumping a payout batch's fee failed; trying again next tick")
            }
        }
    }
    if !broadcast.contains(&current_txid) {
        send(c, &current_tx).await;
        broadcast.insert(current_txid);
    }
    // What left the wallet: the outputs not its own (the change comes back) and the fee.
    let sent = current_tx
        .output
        .iter()
        .filter(|o| !c.wallet.is_mine(&o.script_pubkey))
        .map(|o| o.value.to_sat())
        .fold(0u64, u64::saturating_add);
    let fee = c.wallet.fee_of(&current_tx).map_or(0, |f| f.to_sat());
    Ok(Advanced {
        settled: Vec::new(),
        in_flight_msat: sent.saturating_add(fee).saturating_mul(1000),
    })
}

/// Builds the batch's transaction and stores it.
async fn make(
    c: &Components,
    batch_id: &str,
    payouts: &[Payout],
) -> Result<PayoutBatchRecord, NodeError> {
    let mut outputs = Vec::with_capacity(payouts.len());
    let mut recipients = Vec::with_capacity(payouts.len());
    for payout in payouts {
        let text = payout.address.clone().ok_or_else(|| {
            NodeError::Wallet(format!(
                "withdrawal {} has no payout address",
                payout.withdrawal_id
            ))
        })?;
        let address = Address::from_str(&text)
            .and_then(|a| a.require_network(c.network))
            .map_err(|e| NodeError::Wallet(format!("payout address {text}: {e}")))?;
        let sats = payout.msat / 1000;
        recipients.push((address.script_pubkey(), Amount::from_sat(sats)));
        outputs.push(BatchOutput {
            withdrawal_id: payout.withdrawal_id.clone(),
            n: payout.n,
            address: text,
            sats,
        });
    }
    let rate = FeeRate::from_sat_per_kwu(u64::from(c.fees.funding_sat_per_kw()));
    let tx = c.wallet.build_batch(&recipients, rate)?;
    let record = PayoutBatchRecord {
        batch_id: batch_id.to_owned(),
        pool_id: payouts
            .first()
            .map(|p| p.pool_id.clone())
            .unwrap_or_default(),
        outputs,
        txs: vec![made(c, &tx, rate)],
        confirmed_txid: None,
        confirmed_height: None,
        created_at_ms: unix_ms(),
    };
    let mut batch = WriteBatch::new();
    batch.create(&record)?;
    c.store.commit(batch).await?;
    metrics::counter!("sluice_pool_payout_batches_total", "stage" => "made").increment(1);
    tracing::info!(batch_id, txid = %tx.compute_txid(), outputs = record.outputs.len(), "payout batch made");
    Ok(record)
}

/// A replacement of `current` paying a higher fee, stored before it is broadcast.
async fn bump(
    c: &Components,
    mut record: PayoutBatchRecord,
    current: &BatchTx,
    current_tx: &Transaction,
    height: u32,
) -> Result<Transaction, NodeError> {
    // A quarter more than the rate it actually pays (its fee over its weight: BDK
    // rounds fees up, so it pays a little above the rate asked), and at least one sat/vB
    // (250 sat/kwu) more: BIP125's relay increment. Never less than the estimator says.
    let weight = current_tx.weight().to_wu().max(1);
    let paid_kwu = current.fee_sats.saturating_mul(1000).div_ceil(weight);
    let raised = paid_kwu
        .max(current.fee_rate_sat_per_kwu)
        .saturating_add((paid_kwu / 4).max(250))
        // A tenth of a sat/vB more, so vbyte rounding never leaves it just short.
        .saturating_add(25);
    let rate_kwu = raised.max(u64::from(c.fees.funding_sat_per_kw()));
    let rate = FeeRate::from_sat_per_kwu(rate_kwu);
    let replacement = c.wallet.bump_fee(current_tx, rate)?;
    let mut made = made(c, &replacement, rate);
    made.made_at_height = height;
    record.txs.push(made);
    let mut batch = WriteBatch::new();
    batch.put(&record)?;
    c.store.commit(batch).await?;
    metrics::counter!("sluice_pool_payout_batches_total", "stage" => "bumped").increment(1);
    tracing::info!(batch_id = %record.batch_id, replaced = %current.txid,
        txid = %replacement.compute_txid(), rate_kwu, "payout batch fee bumped (RBF)");
    Ok(replacement)
}

/// Stores which transaction confirmed and answers every output as paid.
async fn confirmed(
    c: &Components,
    mut record: PayoutBatchRecord,
    txid: Txid,
    height: u32,
) -> Result<Advanced, NodeError> {
    if record.confirmed_txid.is_none() {
        record.confirmed_txid = Some(txid.to_string());
        record.confirmed_height = Some(height);
        let mut batch = WriteBatch::new();
        batch.put(&record)?;
        c.store.commit(batch).await?;
        metrics::counter!("sluice_pool_payout_batches_total", "stage" => "confirmed").increment(1);
        tracing::info!(batch_id = %record.batch_id, %txid, height, "payout batch confirmed");
    }
    let settled = record
        .outputs
        .iter()
        .map(|o| {
            (
                o.withdrawal_id.clone(),
                o.n,
                PayoutOutcome::Paid {
                    payment_id: None,
                    txid: Some(txid.to_string()),
                    fee_msat: 0,
                },
            )
        })
        .collect();
    Ok(Advanced {
        settled,
        in_flight_msat: 0,
    })
}

/// The record of a transaction just made.
fn made(c: &Components, tx: &Transaction, rate: FeeRate) -> BatchTx {
    BatchTx {
        txid: tx.compute_txid().to_string(),
        raw_hex: serialize_hex(tx),
        fee_sats: c.wallet.fee_of(tx).map_or(0, |f| f.to_sat()),
        fee_rate_sat_per_kwu: rate.to_sat_per_kwu(),
        made_at_height: c.wallet.synced_height(),
    }
}

/// Broadcasts `tx`; a refusal is logged (the next start broadcasts it again, and an
/// unconfirmed one is replaced after `rbf_after_blocks`).
async fn send(c: &Components, tx: &Transaction) {
    let txid = tx.compute_txid();
    match c.chain.send_raw_transaction(tx).await {
        Ok(_) => tracing::info!(%txid, "payout batch broadcast"),
        Err(BroadcastRefusal::AlreadyKnown) => tracing::debug!(%txid, "payout batch already known"),
        Err(BroadcastRefusal::Rejected(code, message)) => {
            tracing::warn!(%txid, code, %message, "the chain backend refused a payout batch")
        }
    }
}

fn parse_txid(text: &str) -> Result<Txid, NodeError> {
    Txid::from_str(text).map_err(|e| NodeError::Wallet(format!("a stored txid {text}: {e}")))
}

fn parse_tx(hex: &str) -> Result<Transaction, NodeError> {
    deserialize_hex(hex).map_err(|e| NodeError::Wallet(format!("a stored payout transaction: {e}")))
}
