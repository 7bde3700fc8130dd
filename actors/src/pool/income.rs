//! Income booked from the node's records: forwarding fees to the LLP partition, and the
//! fees skimmed for JIT channels (LSPS2 opening fees) likewise, one closed
//! [`ForwardTotalRecord`] bucket at a time, each at most once.
//!
//! A bucket is closed [`SETTLE_MS`] after it ends (the event handler queues a forward's
//! total the moment it handles it). Each income entry names its bucket
//! (`forwards:{bucket_ms}`), so the next bucket to book is read back from the ledger at
//! start, and all buckets found in one look are booked in one commit. Booking starts at
//! the bucket the pool was created in: earlier fees were the operator's, and the few
//! seconds of that bucket before the creation go to the pool.
//!
//! The RRP skim (spec §2C: the reserve pool is "funded by small skim from other pools"):
//! with `PoolConfig::rrp_skim_bps` above zero, each income entry is followed, in the same
//! commit, by a transfer of that share of it (rounded down) from the earning partition
//! to RRP. Not while RRP has no shares: the skim would then be a windfall for whoever
//! deposits into RRP first.

use sluice_pool::{Entry, IncomeKind, Ledger, Movement, PartitionKind};
use sluice_storage::{ForwardTotalRecord, PoolEntryRecord};

use super::book::{Pool, Pools};
use super::PoolConfig;
use crate::clock::unix_ms;
use crate::{Components, NodeError};

/// How long after a bucket ends it is booked.
pub const SETTLE_MS: u64 = 5_000;
/// The most buckets booked in one look (a day of them after a long stop is booked over
/// several looks).
const MAX_BUCKETS: usize = 1_000;
/// The prefix of an income entry's reference.
const REFERENCE: &str = "forwards:";

/// The first bucket not yet booked for `pool`: after the last one its ledger names, or the
/// bucket the pool was created in.
pub fn next_bucket(pool: &Pool, entries: &[PoolEntryRecord]) -> u64 {
    let booked = entries
        .iter()
        .filter_map(|e| match &e.entry.movement {
            Movement::Income { reference, .. } => {
                reference.strip_prefix(REFERENCE)?.parse::<u64>().ok()
            }
            _ => None,
        })
        .max();
    match booked {
        Some(bucket) => bucket + ForwardTotalRecord::BUCKET_MS,
        None => ForwardTotalRecord::bucket_of(pool.record.created_at_ms),
    }
}

/// The RRP's skim of `msat` of income earned by `from`, if one is due.
fn skim(ledger: &Ledger, pool: &Pool, from: PartitionKind, msat: u64, bps: u32) -> Option<u64> {
    let due = from != PartitionKind::Rrp
        && bps > 0
        && pool.record.partitions.contains(&PartitionKind::Rrp)
        && ledger.partition(PartitionKind::Rrp).supply_units > 0;
    let skim = u128::from(msat) * u128::from(bps) / 10_000;
    due.then(|| u64::try_from(skim).ok())
        .flatten()
        .filter(|&s| s > 0)
}

/// Books the closed buckets of forwarding income not booked yet.
pub async fn book_forwards(
    c: &Components,
    pools: &mut Pools,
    config: &PoolConfig,
) -> Result<(), NodeError> {
    let Some((pool_id, from)) = pools
        .pools
        .values()
        .next()
        .map(|p| (p.record.pool_id.clone(), p.forwards_from_ms))
    else {
        return Ok(());
    };
    let now = unix_ms();
    let closed_before = ForwardTotalRecord::bucket_of(now.saturating_sub(SETTLE_MS));
    if from >= closed_before {
        return Ok(());
    }
    let buckets = c
        .store
        .range::<ForwardTotalRecord>(
            ForwardTotalRecord::table_key(from),
            ForwardTotalRecord::table_key(closed_before),
            MAX_BUCKETS,
            false,
        )
        .await?;
    let pool = pools.get(&pool_id)?;
    let mut ledger = pool.ledger.clone();
    let mut entries: Vec<Entry> = Vec::new();
    for (_, bucket) in &buckets {
        let reference = format!("{REFERENCE}{}", bucket.bucket_ms);
        for (source, msat) in [
            (IncomeKind::Routing, bucket.routing_fee_msat),
            (IncomeKind::Jit, bucket.jit_fee_msat),
        ] {
            if msat == 0 {
                continue;
            }
            let entry = Entry::new(
                ledger.next_seq(),
                now,
                Movement::Income {
                    partition: PartitionKind::Llp,
                    source,
                    msat,
                    reference: reference.clone(),
                },
            );
            ledger
                .apply(&entry)
                .map_err(|e| NodeError::Ledger(format!("pool {pool_id}: {e}")))?;
            entries.push(entry);
            if let Some(skimmed) =
                skim(&ledger, pool, PartitionKind::Llp, msat, config.rrp_skim_bps)
            {
                let transfer = Entry::new(
                    ledger.next_seq(),
                    now,
                    Movement::Transfer {
                        from: PartitionKind::Llp,
                        to: PartitionKind::Rrp,
                        msat: skimmed,
                        skim: true,
                    },
                );
                ledger
                    .apply(&transfer)
                    .map_err(|e| NodeError::Ledger(format!("pool {pool_id}: {e}")))?;
                entries.push(transfer);
            }
        }
    }
    // Buckets with no forwards leave no record; the next look starts after the last
    // closed bucket either way, unless the look was cut short.
    let next_from = match buckets.last() {
        Some((_, last)) if buckets.len() == MAX_BUCKETS => {
            last.bucket_ms + ForwardTotalRecord::BUCKET_MS
        }
        _ => closed_before,
    };
    let pool = pools.book(&c.store, &pool_id, ledger, &entries).await?;
    pool.forwards_from_ms = next_from;
    if !entries.is_empty() {
        let booked: u64 = entries
            .iter()
            .filter(|e| matches!(e.movement, Movement::Income { .. }))
            .map(|e| e.movement.msat())
            .sum();
        metrics::counter!("sluice_pool_income_msat_total").increment(booked);
        tracing::debug!(
            pool_id,
            entries = entries.len(),
            booked,
            "forwarding income booked"
        );
    }
    Ok(())
}
