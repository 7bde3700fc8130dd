//! Rebalance fees booked to the pool ledger (issue 23): the rebalancer pays to move
//! balance between the node's channels, and the pool's RRP partition (the rebalancing
//! reserve) bears the fee. The rebalancer asks what RRP holds ([`funds`]), caps its fees
//! by it, and when a rebalance ends hands its fee here with its own records (the
//! rebalance marked booked, its receipt), so the pool actor stays the one writer of its
//! ledger and the cost entry and those records land in one commit ([`book`]).
//!
//! Each rebalance is booked once: its entry's reference is `rebalance:{rebalance_id}`,
//! read back from the ledger at start, and a rebalance asked again answers the entry it
//! was booked at without storing anything.

use std::collections::BTreeMap;

use sluice_pool::{CostKind, Movement, PartitionKind};
use sluice_storage::{PoolEntryRecord, Store, WriteBatch};

use super::book::{Pool, Pools};
use crate::clock::unix_ms;
use crate::NodeError;

/// The prefix of a rebalance fee entry's reference.
const REFERENCE: &str = "rebalance:";

/// The node's pool's RRP partition, as the rebalancer sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RrpFunds {
    /// The pool.
    pub pool_id: String,
    /// What its RRP partition holds now (its booked assets), msat: the most a
    /// rebalance's fee may cost it.
    pub rrp_assets_msat: u64,
}

/// A rebalance's fee to book with the rebalancer's records.
#[derive(Debug)]
pub struct RebalanceBooking {
    /// The pool whose RRP partition bears the fee.
    pub pool_id: String,
    /// The rebalance (its payment hash, hex).
    pub rebalance_id: String,
    /// The fee to book, msat (0: nothing to book, the records are committed alone).
    pub fee_msat: u64,
    /// The rebalancer's records (the rebalance marked booked, its receipt), committed
    /// with the entry.
    pub batch: WriteBatch,
}

/// The rebalances whose fees `entries` booked, with their entries' seqs.
pub fn booked(entries: &[PoolEntryRecord]) -> BTreeMap<String, u64> {
    entries
        .iter()
        .filter_map(|e| match &e.entry.movement {
            Movement::Cost {
                cost: CostKind::Rebalance,
                reference,
                ..
            } => reference
                .strip_prefix(REFERENCE)
                .map(|id| (id.to_owned(), e.entry.seq)),
            _ => None,
        })
        .collect()
}

/// The movement that books rebalance `rebalance_id`'s fee as an RRP cost.
pub fn movement(rebalance_id: &str, fee_msat: u64) -> Movement {
    Movement::Cost {
        partition: PartitionKind::Rrp,
        cost: CostKind::Rebalance,
        msat: fee_msat,
        reference: format!("{REFERENCE}{rebalance_id}"),
    }
}

/// The node's pool (there is one per node) if it has an RRP partition, with what that
/// partition holds now; `None` without a pool or without RRP.
pub fn funds(pools: &Pools) -> Option<RrpFunds> {
    let pool = pools.pools.values().next()?;
    has_rrp(pool).then(|| RrpFunds {
        pool_id: pool.record.pool_id.clone(),
        rrp_assets_msat: pool.ledger.partition(PartitionKind::Rrp).assets_msat,
    })
}

fn has_rrp(pool: &Pool) -> bool {
    pool.record.partitions.contains(&PartitionKind::Rrp)
}

/// What booking a rebalance's fee takes, decided before anything is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// No fee: commit the records alone.
    RecordsOnly,
    /// Booked already, at this entry: store nothing (its records went in with it).
    Booked(u64),
    /// Book this movement with the records.
    Book(Movement),
}

/// Checks `booking` against the pools: the pool exists and has an RRP partition, and the
/// fee is no more than RRP holds (the rebalancer caps fees by it before paying, so more
/// means the two disagree, and nothing is booked).
pub fn plan(
    pools: &Pools,
    pool_id: &str,
    rebalance_id: &str,
    fee_msat: u64,
) -> Result<Plan, NodeError> {
    let pool = pools.get(pool_id)?;
    if !has_rrp(pool) {
        return Err(NodeError::NotFound(format!(
            "the rrp partition of pool {pool_id}"
        )));
    }
    if let Some(&seq) = pool.booked_rebalances.get(rebalance_id) {
        return Ok(Plan::Booked(seq));
    }
    if fee_msat == 0 {
        return Ok(Plan::RecordsOnly);
    }
    let held = pool.ledger.partition(PartitionKind::Rrp).assets_msat;
    if fee_msat > held {
        return Err(NodeError::InvalidRequest(format!(
            "rebalance {rebalance_id}'s fee of {fee_msat} msat is more than the rrp \
             partition of pool {pool_id} holds ({held} msat)"
        )));
    }
    Ok(Plan::Book(movement(rebalance_id, fee_msat)))
}

/// Books `booking`: the fee as an RRP rebalance cost and the rebalancer's records in one
/// commit, then the ledger in memory. The entry's seq; `None` when the fee was 0 (the
/// records are committed alone). A rebalance booked already answers its entry again and
/// stores nothing. Refused, with nothing stored, when the pool or its RRP partition does
/// not exist or the fee is more than RRP holds.
pub async fn book(
    store: &Store,
    pools: &mut Pools,
    booking: RebalanceBooking,
) -> Result<Option<u64>, NodeError> {
    let RebalanceBooking {
        pool_id,
        rebalance_id,
        fee_msat,
        batch,
    } = booking;
    match plan(pools, &pool_id, &rebalance_id, fee_msat)? {
        Plan::Booked(seq) => {
            tracing::debug!(
                pool_id,
                rebalance_id,
                seq,
                "a rebalance's fee was booked already"
            );
            Ok(Some(seq))
        }
        Plan::RecordsOnly => {
            store.commit(batch).await?;
            Ok(None)
        }
        Plan::Book(movement) => {
            let seqs = pools
                .commit_movements(store, &pool_id, vec![movement], batch, unix_ms())
                .await?;
            let seq = seqs.first().copied().ok_or_else(|| {
                NodeError::Ledger(format!("pool {pool_id}: rebalance {rebalance_id} unbooked"))
            })?;
            if let Some(pool) = pools.pools.get_mut(&pool_id) {
                pool.booked_rebalances.insert(rebalance_id.clone(), seq);
            }
            metrics::counter!("sluice_pool_rebalance_fees_msat_total").increment(fee_msat);
            tracing::info!(
                pool_id,
                rebalance_id,
                fee_msat,
                seq,
                "a rebalance's fee booked to rrp"
            );
            Ok(Some(seq))
        }
    }
}

#[cfg(test)]
mod tests {
    use sluice_pool::{Entry, Flow, Ledger};
    use sluice_storage::{PoolRecord, StoreConfig};

    use super::*;

    const POOL: &str = "main";

    fn record(partitions: Vec<PartitionKind>) -> PoolRecord {
        PoolRecord {
            pool_id: POOL.into(),
            name: "Main".into(),
            partitions,
            created_at_ms: 1_000,
            fees_from_height: None,
            withdrawals_halted: false,
        }
    }

    /// Pools holding one pool with `partitions`, RRP holding `rrp_msat` (an LP's deposit).
    fn pools(partitions: Vec<PartitionKind>, rrp_msat: u64) -> Pools {
        let mut pool = Pool::new(record(partitions));
        if rrp_msat > 0 {
            let deposit = Entry::new(
                0,
                1_000,
                Movement::Deposit {
                    partition: PartitionKind::Rrp,
                    lp_id: "alice".into(),
                    msat: rrp_msat,
                    units: 1_000_000,
                    deposit_id: "dep_1".into(),
                },
            );
            pool.ledger = Ledger::replay([&deposit]).expect("a deposit");
        }
        let mut pools = Pools::default();
        pools.pools.insert(POOL.into(), pool);
        pools
    }

    fn temp_store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("a temp dir");
        let store = Store::open(dir.path(), StoreConfig::default()).expect("the store");
        (dir, store)
    }

    /// A record of the rebalancer's to commit with the entry (a pool record stands in).
    fn batch_with(name: &str) -> WriteBatch {
        let mut batch = WriteBatch::new();
        batch
            .put(&PoolRecord {
                pool_id: "records".into(),
                name: name.into(),
                ..record(Vec::new())
            })
            .expect("a record");
        batch
    }

    fn booking(rebalance_id: &str, fee_msat: u64, note: &str) -> RebalanceBooking {
        RebalanceBooking {
            pool_id: POOL.into(),
            rebalance_id: rebalance_id.into(),
            fee_msat,
            batch: batch_with(note),
        }
    }

    async fn stored_note(store: &Store) -> Option<String> {
        store
            .get::<PoolRecord>("records")
            .await
            .expect("read")
            .map(|r| r.name)
    }

    #[test]
    fn the_fee_is_an_rrp_rebalance_cost_named_by_the_rebalance() {
        assert_eq!(
            movement("ab12", 1_500),
            Movement::Cost {
                partition: PartitionKind::Rrp,
                cost: CostKind::Rebalance,
                msat: 1_500,
                reference: "rebalance:ab12".into(),
            }
        );
    }

    #[test]
    fn funds_are_the_rrp_partitions_assets_of_the_nodes_pool() {
        assert_eq!(funds(&Pools::default()), None);
        assert_eq!(funds(&pools(vec![PartitionKind::Llp], 0)), None);
        assert_eq!(
            funds(&pools(vec![PartitionKind::Llp, PartitionKind::Rrp], 0)),
            Some(RrpFunds {
                pool_id: POOL.into(),
                rrp_assets_msat: 0
            })
        );
        assert_eq!(
            funds(&pools(vec![PartitionKind::Rrp], 50_000)),
            Some(RrpFunds {
                pool_id: POOL.into(),
                rrp_assets_msat: 50_000
            })
        );
    }

    #[test]
    fn a_fee_is_refused_without_the_pool_or_rrp_or_above_what_rrp_holds() {
        let rrp = pools(vec![PartitionKind::Rrp], 10_000);
        assert!(matches!(
            plan(&Pools::default(), POOL, "ab", 1),
            Err(NodeError::NotFound(_))
        ));
        assert!(matches!(
            plan(&rrp, "other", "ab", 1),
            Err(NodeError::NotFound(_))
        ));
        assert!(matches!(
            plan(&pools(vec![PartitionKind::Llp], 0), POOL, "ab", 1),
            Err(NodeError::NotFound(_))
        ));
        assert!(matches!(
            plan(&rrp, POOL, "ab", 10_001),
            Err(NodeError::InvalidRequest(_))
        ));
        assert_eq!(
            plan(&rrp, POOL, "ab", 10_000).ok(),
            Some(Plan::Book(movement("ab", 10_000)))
        );
        assert_eq!(plan(&rrp, POOL, "ab", 0).ok(), Some(Plan::RecordsOnly));
    }

    #[tokio::test]
    async fn the_fee_and_the_records_are_booked_in_one_commit_once() {
        let (_dir, store) = temp_store();
        let mut pools = pools(vec![PartitionKind::Rrp], 10_000);
        // The ledger's first entry (the deposit) is in memory only: the next is seq 1.
        let seq = book(&store, &mut pools, booking("ab", 2_500, "first"))
            .await
            .expect("booked");
        assert_eq!(seq, Some(1));
        let rrp = pools
            .get(POOL)
            .unwrap()
            .ledger
            .partition(PartitionKind::Rrp);
        assert_eq!(rrp.assets_msat, 7_500);
        assert_eq!(rrp.flow_msat(Flow::RebalanceCosts), 2_500);
        let entries = store
            .scan::<PoolEntryRecord>(PoolEntryRecord::prefix(POOL))
            .await
            .unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].entry.seq, 1);
        assert_eq!(entries[0].entry.movement, movement("ab", 2_500));
        assert_eq!(stored_note(&store).await.as_deref(), Some("first"));
        // Read back at start, the booking is known.
        assert_eq!(booked(&entries), BTreeMap::from([("ab".to_owned(), 1)]));

        // Asked again: the same entry, nothing stored.
        let again = book(&store, &mut pools, booking("ab", 2_500, "again"))
            .await
            .expect("answered");
        assert_eq!(again, Some(1));
        assert_eq!(stored_note(&store).await.as_deref(), Some("first"));
        let rrp = pools
            .get(POOL)
            .unwrap()
            .ledger
            .partition(PartitionKind::Rrp);
        assert_eq!(rrp.assets_msat, 7_500);
    }

    #[tokio::test]
    async fn a_refused_fee_stores_nothing_and_no_fee_stores_the_records_alone() {
        let (_dir, store) = temp_store();
        let mut pools = pools(vec![PartitionKind::Rrp], 1_000);
        let refused = book(&store, &mut pools, booking("ab", 1_001, "over")).await;
        assert!(matches!(refused, Err(NodeError::InvalidRequest(_))));
        assert_eq!(stored_note(&store).await, None);
        assert_eq!(
            pools
                .get(POOL)
                .unwrap()
                .ledger
                .partition(PartitionKind::Rrp)
                .assets_msat,
            1_000
        );

        let none = book(&store, &mut pools, booking("cd", 0, "free"))
            .await
            .expect("committed");
        assert_eq!(none, None);
        assert_eq!(stored_note(&store).await.as_deref(), Some("free"));
        let entries = store
            .scan::<PoolEntryRecord>(PoolEntryRecord::prefix(POOL))
            .await
            .unwrap();
        assert!(entries.is_empty());
    }
}
