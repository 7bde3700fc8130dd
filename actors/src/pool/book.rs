//! The pools in memory: each pool's record and its ledger, rebuilt from the store at
//! start, the deposits still waiting for money and the withdrawals not ended.

use std::collections::{BTreeMap, BTreeSet};

use sluice_pool::{Entry, Ledger, Movement, PartitionKind};
use sluice_storage::{
    DepositRecord, DepositStatus, PoolEntryRecord, PoolRecord, Store, WithdrawalRecord, WriteBatch,
};

use crate::NodeError;

/// One pool: its record and its derived balances.
#[derive(Debug, Clone)]
pub struct Pool {
    /// The pool as created.
    pub record: PoolRecord,
    /// Its balances, from its entries.
    pub ledger: Ledger,
    /// The first forwarding-income bucket not booked yet, ms since the Unix epoch.
    pub forwards_from_ms: u64,
    /// The last proof snapshot: (number, when taken in Unix ms).
    pub last_snapshot: Option<(u64, u64)>,
    /// The transactions whose on-chain fees were booked.
    pub booked_txids: BTreeSet<String>,
    /// The wallet height at which the fees were last looked at (in memory: looked at
    /// again after a start).
    pub fees_seen_height: Option<u32>,
    /// The rebalances whose fees were booked, with their entries' seqs.
    pub booked_rebalances: BTreeMap<String, u64>,
}

impl Pool {
    /// A pool as created, with nothing booked.
    pub fn new(record: PoolRecord) -> Pool {
        Pool {
            record,
            ledger: Ledger::new(),
            forwards_from_ms: 0,
            last_snapshot: None,
            booked_txids: BTreeSet::new(),
            fees_seen_height: None,
            booked_rebalances: BTreeMap::new(),
        }
    }
}

/// Every pool of the node, and the deposits not yet final.
#[derive(Debug, Default)]
pub struct Pools {
    /// Pools by id.
    pub pools: BTreeMap<String, Pool>,
    /// Deposits quoted or pending, by id: the ones the sweep looks at.
    pub open_deposits: BTreeMap<String, DepositRecord>,
    /// Withdrawals not ended (their units locked, or payouts unsettled), by id.
    pub open_withdrawals: BTreeMap<String, WithdrawalRecord>,
}

impl Pools {
    /// Reads every pool, replays its ledger, and finds the deposits not yet final. A
    /// ledger that does not replay is an error: the books are wrong and nothing may be
    /// booked on top of them.
    pub async fn load(store: &Store) -> Result<Pools, NodeError> {
        let mut pools = BTreeMap::new();
        for record in store.scan::<PoolRecord>("").await? {
            let entries = store
                .scan::<PoolEntryRecord>(PoolEntryRecord::prefix(&record.pool_id))
                .await?;
            let ledger = Ledger::replay(entries.iter().map(|e| &e.entry)).map_err(|e| {
                NodeError::InvalidRequest(format!(
                    "pool {}'s ledger does not replay: {e}",
                    record.pool_id
                ))
            })?;
            let last_snapshot = super::snapshot::last(store, &record.pool_id).await?;
            let pool = Pool {
                ledger,
                last_snapshot,
                booked_txids: super::onchain_fees::booked(&entries),
                booked_rebalances: super::rebalances::booked(&entries),
                ..Pool::new(record)
            };
            let pool = Pool {
                forwards_from_ms: super::income::next_bucket(&pool, &entries),
                ..pool
            };
            pools.insert(pool.record.pool_id.clone(), pool);
        }
        let open_deposits = store
            .scan::<DepositRecord>("")
            .await?
            .into_iter()
            .filter(|d| matches!(d.status, DepositStatus::Quoted | DepositStatus::Pending))
            .map(|d| (d.deposit_id.clone(), d))
            .collect();
        let open_withdrawals = store
            .scan::<WithdrawalRecord>("")
            .await?
            .into_iter()
            .filter(|w| w.status.is_open())
            .map(|w| (w.withdrawal_id.clone(), w))
            .collect();
        Ok(Pools {
            pools,
            open_deposits,
            open_withdrawals,
        })
    }

    /// The pool `pool_id`, or `NotFound`.
    pub fn get(&self, pool_id: &str) -> Result<&Pool, NodeError> {
        self.pools
            .get(pool_id)
            .ok_or_else(|| NodeError::NotFound(format!("pool {pool_id}")))
    }

    /// The next entry of `pool_id` for `movement`, checked against its ledger (not applied).
    pub fn next_entry(
        &self,
        pool_id: &str,
        at_ms: u64,
        movement: Movement,
    ) -> Result<Entry, NodeError> {
        let pool = self.get(pool_id)?;
        let entry = Entry::new(pool.ledger.next_seq(), at_ms, movement);
        pool.ledger
            .check(&entry)
            .map_err(|e| NodeError::InvalidRequest(format!("pool {pool_id}: {e}")))?;
        Ok(entry)
    }

    /// Applies an entry that was made durable.
    pub fn applied(&mut self, pool_id: &str, entry: &Entry) -> Result<(), NodeError> {
        let pool = self
            .pools
            .get_mut(pool_id)
            .ok_or_else(|| NodeError::NotFound(format!("pool {pool_id}")))?;
        pool.ledger
            .apply(entry)
            .map_err(|e| NodeError::InvalidRequest(format!("pool {pool_id}: {e}")))
    }

    /// Stores `entries` in one commit and then makes `ledger` (the pool's ledger with
    /// them applied) the pool's; nothing is committed when there are none. Returns the
    /// pool for the caller's own bookkeeping.
    pub async fn book(
        &mut self,
        store: &Store,
        pool_id: &str,
        ledger: Ledger,
        entries: &[Entry],
    ) -> Result<&mut Pool, NodeError> {
        if !entries.is_empty() {
            let mut batch = WriteBatch::new();
            for entry in entries {
                batch.create(&PoolEntryRecord {
                    pool_id: pool_id.to_owned(),
                    entry: entry.clone(),
                })?;
            }
            store.commit(batch).await?;
        }
        let pool = self
            .pools
            .get_mut(pool_id)
            .ok_or_else(|| NodeError::NotFound(format!("pool {pool_id}")))?;
        pool.ledger = ledger;
        Ok(pool)
    }

    /// Books `movements` of `pool_id`, in order, with `batch` (the records that go with
    /// them) in one commit, then makes the ledger in memory follow. Nothing is stored if
    /// the ledger refuses any movement; with none, `batch` is committed alone. The
    /// entries' seqs.
    pub async fn commit_movements(
        &mut self,
        store: &Store,
        pool_id: &str,
        movements: Vec<Movement>,
        mut batch: WriteBatch,
        at_ms: u64,
    ) -> Result<Vec<u64>, NodeError> {
        let mut ledger = self.get(pool_id)?.ledger.clone();
        let mut seqs = Vec::with_capacity(movements.len());
        for movement in movements {
            let entry = Entry::new(ledger.next_seq(), at_ms, movement);
            ledger
                .apply(&entry)
                .map_err(|e| NodeError::Ledger(format!("pool {pool_id}: {e}")))?;
            seqs.push(entry.seq);
            batch.create(&PoolEntryRecord {
                pool_id: pool_id.to_owned(),
                entry,
            })?;
        }
        store.commit(batch).await?;
        if let Some(pool) = self.pools.get_mut(pool_id) {
            pool.ledger = ledger;
        }
        Ok(seqs)
    }

    /// Whether `pool_id` takes deposits into `partition`.
    pub fn accepts(&self, pool_id: &str, partition: PartitionKind) -> Result<bool, NodeError> {
        Ok(self.get(pool_id)?.record.partitions.contains(&partition))
    }
}
