//! On-chain fees booked as LLP costs: the fee of every transaction the node's wallet
//! paid for (channel opens, anchor fee bumps) once it confirms, if its block is above the
//! height at LLP's first deposit (`PoolRecord::fees_from_height`; before it, the node ran
//! on the operator's coins alone), each at most once (the entry's reference is `onchain:{txid}`, read back from the ledger at
//! start).
//!
//! A fee larger than what the LLP partition holds is booked up to its assets (the rest
//! was paid from the operator's own coins and shows as drift); while LLP holds nothing
//! (every LP left) fees are not booked. Fees the wallet did not
//! pay are not here: a splice's fee comes out of the channel and a sweep's out of the
//! swept output, so both show as drift until a later change books them.

use std::collections::BTreeSet;

use sluice_pool::{CostKind, Entry, Movement, PartitionKind};
use sluice_storage::PoolEntryRecord;

use super::book::Pools;
use crate::clock::unix_ms;
use crate::{Components, NodeError};

/// The prefix of an on-chain fee entry's reference.
const REFERENCE: &str = "onchain:";

/// The transactions whose fees `entries` booked.
pub fn booked(entries: &[PoolEntryRecord]) -> BTreeSet<String> {
    entries
        .iter()
        .filter_map(|e| match &e.entry.movement {
            Movement::Cost {
                cost: CostKind::Onchain,
                reference,
                ..
            } => reference.strip_prefix(REFERENCE).map(str::to_owned),
            _ => None,
        })
        .collect()
}

/// Books the fees of the wallet's confirmed transactions not booked yet, in one commit.
/// A transaction confirms only with a new block, so the wallet is looked at once per
/// height it reaches, not at every sweep.
pub async fn book_onchain_fees(c: &Components, pools: &mut Pools) -> Result<(), NodeError> {
    let height = c.wallet.synced_height();
    let Some(pool) = pools.pools.values().next() else {
        return Ok(());
    };
    if pool.fees_seen_height == Some(height) {
        return Ok(());
    }
    let pool_id = pool.record.pool_id.clone();
    book_new_fees(c, pools, &pool_id).await?;
    if let Some(pool) = pools.pools.get_mut(&pool_id) {
        pool.fees_seen_height = Some(height);
    }
    Ok(())
}

/// Books the fees of `pool_id` not booked yet.
async fn book_new_fees(c: &Components, pools: &mut Pools, pool_id: &str) -> Result<(), NodeError> {
    let pool = pools.get(pool_id)?;
    let Some(from_height) = pool.record.fees_from_height else {
        return Ok(());
    };
    let mut paid: Vec<_> = c
        .wallet
        .fees_paid()
        .into_iter()
        .filter(|f| f.confirmed_height > from_height)
        .filter(|f| !pool.booked_txids.contains(&f.txid.to_string()))
        .collect();
    if paid.is_empty() {
        return Ok(());
    }
    paid.sort_by_key(|f| (f.confirmed_height, f.txid));
    let now = unix_ms();
    let mut ledger = pool.ledger.clone();
    let mut entries = Vec::new();
    let mut txids = Vec::new();
    for fee in paid {
        let held = ledger.partition(PartitionKind::Llp).assets_msat;
        let msat = fee.fee.to_sat().saturating_mul(1000).min(held);
        if msat == 0 {
            tracing::debug!(txid = %fee.txid, "an on-chain fee while LLP holds nothing: not booked");
            continue;
        }
        txids.push(fee.txid.to_string());
        let entry = Entry::new(
            ledger.next_seq(),
            now,
            Movement::Cost {
                partition: PartitionKind::Llp,
                cost: CostKind::Onchain,
                msat,
                reference: format!("{REFERENCE}{}", fee.txid),
            },
        );
        ledger
            .apply(&entry)
            .map_err(|e| NodeError::Ledger(format!("pool {pool_id}: {e}")))?;
        entries.push(entry);
    }
    let pool = pools.book(&c.store, pool_id, ledger, &entries).await?;
    pool.booked_txids.extend(txids);
    if !entries.is_empty() {
        let booked: u64 = entries.iter().map(|e| e.movement.msat()).sum();
        metrics::counter!("sluice_pool_onchain_fees_msat_total").increment(booked);
        tracing::info!(
            pool_id,
            entries = entries.len(),
            booked,
            "on-chain fees booked"
        );
    }
    Ok(())
}
