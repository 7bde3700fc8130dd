//! Liquidity pools (spec §1.1, §4): the pool itself and its append-only ledger.

use serde::{Deserialize, Serialize};
use sluice_pool::Entry;

use crate::table::{Record, Table};

/// A liquidity pool the node runs. Its balances are never stored: they are derived from
/// its [`PoolEntryRecord`]s.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolRecord {
    /// The pool's id (chosen by the operator at creation).
    pub pool_id: String,
    /// What the operator calls it.
    pub name: String,
    /// The partitions LPs may deposit into (`llp`, `cep`, `rrp`).
    pub partitions: Vec<sluice_pool::PartitionKind>,
    /// When it was created, ms since the Unix epoch.
    pub created_at_ms: u64,
    /// The chain height when LLP's first deposit was credited: the fees of wallet
    /// transactions confirmed above it are the pool's to bear (before, the node ran on
    /// the operator's coins alone). Set once, in that deposit's commit.
    #[serde(default)]
    pub fees_from_height: Option<u32>,
    /// Whether the operator halted withdrawal payouts (spec §5.2: withdrawals can be
    /// halted during incidents); requests still queue.
    #[serde(default)]
    pub withdrawals_halted: bool,
}

impl Record for PoolRecord {
    const TABLE: Table = Table::Pools;

    fn key(&self) -> String {
        self.pool_id.clone()
    }
}

/// One entry of a pool's ledger, keyed `{pool_id}/{seq:020}` so a prefix scan reads the
/// ledger in order. Written with [`WriteBatch::create`](crate::WriteBatch::create): an
/// entry is never replaced.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolEntryRecord {
    /// The pool.
    pub pool_id: String,
    /// The entry.
    pub entry: Entry,
}

impl PoolEntryRecord {
    /// The key prefix of `pool_id`'s entries.
    pub fn prefix(pool_id: &str) -> String {
        format!("{pool_id}/")
    }
}

impl Record for PoolEntryRecord {
    const TABLE: Table = Table::PoolEntries;

    fn key(&self) -> String {
        format!("{}/{:020}", self.pool_id, self.entry.seq)
    }
}

/// Who may act for an LP id in a pool: the API token that first used it. Keyed
/// `{pool_id}/{lp_id}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LpRecord {
    /// The pool.
    pub pool_id: String,
    /// The LP.
    pub lp_id: String,
    /// The owning token's SHA-256, hex.
    pub owner: String,
    /// When it was first used, ms since the Unix epoch.
    pub created_at_ms: u64,
}

impl LpRecord {
    /// The key of `lp_id` in `pool_id`.
    pub fn table_key(pool_id: &str, lp_id: &str) -> String {
        format!("{pool_id}/{lp_id}")
    }
}

impl Record for LpRecord {
    const TABLE: Table = Table::PoolLps;

    fn key(&self) -> String {
        LpRecord::table_key(&self.pool_id, &self.lp_id)
    }
}
