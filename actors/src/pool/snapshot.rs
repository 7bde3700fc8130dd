//! Proof snapshots (spec §4.3): the pool's assets by rail, each partition's books, and
//! its liabilities to LPs as the root of a Merkle sum tree, signed with the receipt key
//! as a `pool_snapshot_receipt`; and each LP's inclusion proof against any snapshot.
//!
//! A snapshot is taken on a cadence (`PoolConfig::snapshot_every`, checked at each sweep)
//! and on demand. Its leaves (one per LP and partition held, in the ledger's key order)
//! are valued at the partition's price with the pool's rounding, floor, so the tree's
//! sum never exceeds what the books hold. Each leaf's salt is derived from a random
//! secret kept with the snapshot and never published: the root reveals nothing about an
//! LP, and the proof handed to an LP carries only their own salt.
//!
//! The record (leaves and secret) and the sealed receipt are written in one commit, so
//! a snapshot either exists whole or not at all; its number is the next after the last
//! stored one.

use bitcoin::hashes::{sha256, Hash, HashEngine};
use bitcoin::hex::{DisplayHex, FromHex};
use serde_json::Value;
use sluice_pool::{Leaf, PartitionKind, Step, SumNode, SumTree};
use sluice_storage::{PoolSnapshotRecord, ReceiptRecord, SnapshotLeafRecord, Store, WriteBatch};

use super::assets::AssetDetail;
use super::book::{Pool, Pools};
use super::deposits;
use crate::clock::unix_ms;
use crate::credit::book::Envelopes;
use crate::nostr::mirror;
use crate::receipts::{
    self, LightningAssets, OnchainAssets, PoolSnapshotReceipt, ReceiptKind, SnapshotAssets,
    SnapshotChannel, SnapshotLiabilities, SnapshotPartition, SnapshotUtxo,
};
use crate::{Components, NodeError};

const SALT_TAG: &[u8] = b"sluice/pol/salt/v1";

/// A stored snapshot and its signed receipt.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// What it committed to.
    pub record: PoolSnapshotRecord,
    /// The sealed `pool_snapshot_receipt`.
    pub receipt: Value,
}

/// An LP's inclusion proof in one snapshot: their leaf, its salt and the path to the
/// root the snapshot signs.
#[derive(Debug, Clone)]
pub struct InclusionProof {
    /// The snapshot's number.
    pub snapshot_seq: u64,
    /// The snapshot receipt's id.
    pub receipt_id: String,
    /// The leaf.
    pub leaf: Leaf,
    /// Its place among the leaves.
    pub index: usize,
    /// The siblings from the leaf up.
    pub path: Vec<Step>,
    /// The root.
    pub root: SumNode,
}

/// The last snapshot of `pool_id`: (number, when), if one was taken.
pub async fn last(store: &Store, pool_id: &str) -> Result<Option<(u64, u64)>, NodeError> {
    let (start, end) = PoolSnapshotRecord::range(pool_id);
    let last = store
        .range::<PoolSnapshotRecord>(start, end, 1, true)
        .await?
        .into_iter()
        .next()
        .map(|(_, r)| (r.seq, r.taken_at_ms));
    Ok(last)
}

/// Takes a snapshot of `pool_id` now: seals it, stores it, returns it.
pub async fn take(c: &Components, pools: &mut Pools, pool_id: &str) -> Result<Snapshot, NodeError> {
    let pool = pools.get(pool_id)?;
    let seq = pool.last_snapshot.map_or(1, |(seq, _)| seq + 1);
    let now = unix_ms();
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret)
        .map_err(|e| NodeError::Receipt(format!("no randomness for a snapshot: {e}")))?;

    let leaves = leaves(pool, &secret)?;
    let tree = SumTree::build(&leaves).map_err(|e| NodeError::Ledger(e.to_string()))?;
    let root = tree.root();
    let reserved = Envelopes::stored_reservations(&c.store, Some(&pool.record.pool_id)).await?;
    let body = receipt_body(c, pool, seq, now, &leaves, &root, reserved)?;
    let receipt =
        receipts::actor::seal_record(&c.actors.receipts, ReceiptKind::PoolSnapshot, &body, now)
            .await?;

    let record = PoolSnapshotRecord {
        pool_id: pool_id.to_owned(),
        seq,
        receipt_id: receipt.receipt_id.clone(),
        taken_at_ms: now,
        salt_secret: secret.to_lower_hex_string(),
        leaves: leaves
            .iter()
            .map(|l| SnapshotLeafRecord {
                lp_id: l.lp_id.clone(),
                partition: l.partition,
                units: l.units,
                value_msat: l.value_msat,
            })
            .collect(),
    };
    let mut batch = WriteBatch::new();
    batch.create(&record)?;
    batch.create(&receipt)?;
    mirror::stage_snapshot(c, &mut batch, &record, &receipt)?;
    c.store.commit(batch).await?;
    mirror::staged(c);
    if let Some(pool) = pools.pools.get_mut(pool_id) {
        pool.last_snapshot = Some((seq, now));
    }
    metrics::counter!("sluice_pool_snapshots_total").increment(1);
    tracing::info!(
        pool_id,
        seq,
        leaves = leaves.len(),
        liabilities_msat = root.sum_msat,
        "proof snapshot taken"
    );
    Ok(Snapshot {
        record,
        receipt: receipt.body,
    })
}

/// Snapshot `seq` of `pool_id` (the latest with `None`).
pub async fn get(c: &Components, pool_id: &str, seq: Option<u64>) -> Result<Snapshot, NodeError> {
    let not_found = || match seq {
        Some(seq) => NodeError::NotFound(format!("snapshot {seq} of pool {pool_id}")),
        None => NodeError::NotFound(format!("a snapshot of pool {pool_id}")),
    };
    let record = match seq {
        Some(seq) => {
            c.store
                .get::<PoolSnapshotRecord>(PoolSnapshotRecord::table_key(pool_id, seq))
                .await?
        }
        None => {
            let (start, end) = PoolSnapshotRecord::range(pool_id);
            c.store
                .range::<PoolSnapshotRecord>(start, end, 1, true)
                .await?
                .into_iter()
                .next()
                .map(|(_, r)| r)
        }
    }
    .ok_or_else(not_found)?;
    let receipt = c
        .store
        .get::<ReceiptRecord>(record.receipt_id.clone())
        .await?
        .ok_or_else(|| {
            NodeError::Receipt(format!(
                "snapshot {} of pool {pool_id} has no receipt {}",
                record.seq, record.receipt_id
            ))
        })?;
    Ok(Snapshot {
        record,
        receipt: receipt.body,
    })
}

/// `lp_id`'s inclusion proofs (one per partition held) in snapshot `seq` of `pool_id`
/// (the latest with `None`), for the LP's owner or an admin.
pub async fn proofs(
    c: &Components,
    pool_id: &str,
    seq: Option<u64>,
    lp_id: &str,
    caller: &str,
    admin: bool,
) -> Result<(Snapshot, Vec<InclusionProof>), NodeError> {
    if deposits::check_owner(c, pool_id, lp_id, caller, admin)
        .await?
        .is_none()
    {
        return Err(NodeError::NotFound(format!("LP {lp_id} in pool {pool_id}")));
    }
    let snapshot = get(c, pool_id, seq).await?;
    let secret = <[u8; 32]>::from_hex(&snapshot.record.salt_secret)
        .map_err(|e| NodeError::Receipt(format!("a snapshot's salt secret: {e}")))?;
    let leaves: Vec<Leaf> = snapshot
        .record
        .leaves
        .iter()
        .map(|l| Leaf {
            lp_id: l.lp_id.clone(),
            partition: l.partition,
            units: l.units,
            value_msat: l.value_msat,
            salt: salt(&secret, &l.lp_id, l.partition),
        })
        .collect();
    let tree = SumTree::build(&leaves).map_err(|e| NodeError::Ledger(e.to_string()))?;
    let proofs = leaves
        .iter()
        .enumerate()
        .filter(|(_, leaf)| leaf.lp_id == lp_id)
        .filter_map(|(index, leaf)| {
            Some(InclusionProof {
                snapshot_seq: snapshot.record.seq,
                receipt_id: snapshot.record.receipt_id.clone(),
                leaf: leaf.clone(),
                index,
                path: tree.path(index)?,
                root: tree.root(),
            })
        })
        .collect::<Vec<_>>();
    if proofs.is_empty() {
        return Err(NodeError::NotFound(format!(
            "LP {lp_id} in snapshot {} of pool {pool_id}",
            snapshot.record.seq
        )));
    }
    Ok((snapshot, proofs))
}

/// Takes the snapshots that are due: every pool whose last one is older than `every_ms`
/// (a pool that never had one is due at once).
pub async fn take_due(c: &Components, pools: &mut Pools, every_ms: u64) {
    let now = unix_ms();
    let due: Vec<String> = pools
        .pools
        .values()
        .filter(|p| {
            p.last_snapshot
                .is_none_or(|(_, at)| now.saturating_sub(at) >= every_ms)
        })
        .map(|p| p.record.pool_id.clone())
        .collect();
    for pool_id in due {
        if let Err(e) = take(c, pools, &pool_id).await {
            tracing::warn!(%pool_id, error = %e, "taking a proof snapshot failed; trying again");
        }
    }
}

/// Every LP holding in `pool`, valued at its partition's price, in partition then LP
/// order.
fn leaves(pool: &Pool, secret: &[u8; 32]) -> Result<Vec<Leaf>, NodeError> {
    let mut leaves = Vec::new();
    for kind in PartitionKind::ALL {
        let balances = pool.ledger.partition(kind);
        let book = balances.book();
        for (lp_id, &units) in &balances.holdings {
            let value_msat = book
                .value_of(units)
                .map_err(|e| NodeError::Ledger(e.to_string()))?;
            leaves.push(Leaf {
                lp_id: lp_id.clone(),
                partition: kind,
                units,
                value_msat,
                salt: salt(secret, lp_id, kind),
            });
        }
    }
    Ok(leaves)
}

/// A leaf's salt: `SHA-256("sluice/pol/salt/v1" ‖ secret ‖ partition ‖ "/" ‖ lp_id)`.
fn salt(secret: &[u8; 32], lp_id: &str, partition: PartitionKind) -> [u8; 32] {
    let mut engine = sha256::Hash::engine();
    engine.input(SALT_TAG);
    engine.input(secret);
    engine.input(partition.as_str().as_bytes());
    engine.input(b"/");
    engine.input(lp_id.as_bytes());
    sha256::Hash::from_engine(engine).to_byte_array()
}

/// What the snapshot receipt says, before sealing.
fn receipt_body(
    c: &Components,
    pool: &Pool,
    seq: u64,
    now: u64,
    leaves: &[Leaf],
    root: &SumNode,
    reserved_envelopes_msats: u64,
) -> Result<PoolSnapshotReceipt, NodeError> {
    let detail = AssetDetail::now(c);
    let totals = detail.totals();
    let onchain = OnchainAssets {
        attestation: "provable".into(),
        total_msats: totals.onchain_msat,
        utxos: detail
            .utxos
            .iter()
            .map(|u| SnapshotUtxo {
                outpoint: u.outpoint.to_string(),
                value_sats: u.value.to_sat(),
                confirmed_height: u.confirmed_at,
            })
            .collect(),
    };
    let lightning_msat = totals.total_msat().saturating_sub(totals.onchain_msat);
    let lightning = LightningAssets {
        attestation: "operator_attested".into(),
        total_msats: lightning_msat,
        channels: detail
            .channels
            .iter()
            .map(|ch| SnapshotChannel {
                channel_id: ch.channel_id.clone(),
                counterparty_node_id: ch.counterparty_node_id.clone(),
                funding_outpoint: ch.funding_outpoint.clone(),
                spendable_msats: ch.spendable_msat,
                reserve_msats: ch.reserve_msat,
                htlcs_out_msats: ch.htlcs_out_msat,
            })
            .collect(),
    };
    let mut partitions = Vec::new();
    let mut booked_msats = 0u64;
    let mut pending_withdrawals_msats = 0u64;
    for kind in PartitionKind::ALL {
        let balances = pool.ledger.partition(kind);
        if !pool.record.partitions.contains(&kind)
            && balances.assets_msat == 0
            && balances.receivables_msat == 0
        {
            continue;
        }
        let price = balances.book().price();
        booked_msats = booked_msats.saturating_add(balances.assets_msat);
        pending_withdrawals_msats =
            pending_withdrawals_msats.saturating_add(balances.pending_withdrawals_msat);
        partitions.push(SnapshotPartition {
            partition_kind: kind.as_str().to_owned(),
            assets_msats: balances.assets_msat,
            receivables_msats: balances.receivables_msat,
            pending_withdrawals_msats: balances.pending_withdrawals_msat,
            nav_msats: balances.nav_msat(),
            units: balances.supply_units.to_string(),
            price_msat: price.msat.to_string(),
            price_units: price.units.to_string(),
            lp_positions_msats: leaves
                .iter()
                .filter(|l| l.partition == kind)
                .map(|l| l.value_msat)
                .fold(0, u64::saturating_add),
        });
    }
    Ok(PoolSnapshotReceipt {
        schema: ReceiptKind::PoolSnapshot.schema().to_owned(),
        pool_id: pool.record.pool_id.clone(),
        snapshot_seq: seq,
        network: c.network.to_string(),
        ledger_seq: pool.ledger.next_seq().checked_sub(1),
        assets: SnapshotAssets {
            total_msats: totals.total_msat(),
            onchain,
            lightning,
        },
        partitions,
        liabilities: SnapshotLiabilities {
            merkle_root: root.hash.to_lower_hex_string(),
            leaf_count: u64::try_from(leaves.len()).unwrap_or(u64::MAX),
            lp_positions_msats: root.sum_msat,
            pending_withdrawals_msats,
            reserved_envelopes_msats,
            total_msats: root
                .sum_msat
                .saturating_add(pending_withdrawals_msats)
                .saturating_add(reserved_envelopes_msats),
        },
        booked_msats,
        drift_msats: totals.drift_msat(booked_msats),
        taken_at_ms: now,
    })
}
