//! Proof snapshots of a pool (spec §4.3): what each one committed to, kept so an LP can
//! ask for their inclusion proof in any snapshot later.

use serde::{Deserialize, Serialize};
use sluice_pool::PartitionKind;

use crate::table::{Record, Table};

/// One leaf of a snapshot's liabilities tree: an LP's holding in a partition.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotLeafRecord {
    /// The LP.
    pub lp_id: String,
    /// The partition.
    pub partition: PartitionKind,
    /// Share units held.
    pub units: u128,
    /// Their value at the snapshot's price, msat.
    pub value_msat: u64,
}

/// A proof snapshot, keyed `{pool_id}/{seq:020}` so the latest is the last key of the
/// pool's prefix. Written once ([`WriteBatch::create`](crate::WriteBatch::create)) with
/// its signed receipt in the same commit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolSnapshotRecord {
    /// The pool.
    pub pool_id: String,
    /// The snapshot's number in the pool, from 1.
    pub seq: u64,
    /// The signed `pool_snapshot_receipt`'s id (in the receipts table).
    pub receipt_id: String,
    /// When it was taken, ms since the Unix epoch.
    pub taken_at_ms: u64,
    /// The secret the leaves' salts are derived from, hex; never published, so a leaf
    /// cannot be guessed from the root.
    pub salt_secret: String,
    /// The leaves in tree order.
    pub leaves: Vec<SnapshotLeafRecord>,
}

impl PoolSnapshotRecord {
    /// The key of snapshot `seq` of `pool_id`.
    pub fn table_key(pool_id: &str, seq: u64) -> String {
        format!("{pool_id}/{seq:020}")
    }

    /// The key range `[start, end)` holding every snapshot of `pool_id`.
    pub fn range(pool_id: &str) -> (String, String) {
        // '0' is the character after '/'.
        (format!("{pool_id}/"), format!("{pool_id}0"))
    }
}

impl Record for PoolSnapshotRecord {
    const TABLE: Table = Table::PoolSnapshots;

    fn key(&self) -> String {
        PoolSnapshotRecord::table_key(&self.pool_id, self.seq)
    }
}
