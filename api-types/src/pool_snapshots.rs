//! Proof snapshot bodies (spec §4.3): a signed snapshot of the pool's assets and
//! liabilities, and an LP's inclusion proofs against one. `sluice snapshot verify`
//! checks both offline.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// `schema` of a snapshot answer.
pub const POOL_SNAPSHOT_SCHEMA: &str = "openagents.liquidity.pool.snapshot.v1";
/// `schema` of an LP's inclusion proofs.
pub const INCLUSION_PROOF_SCHEMA: &str = "openagents.liquidity.pool.inclusion_proof.v1";

/// A proof snapshot: the signed `pool_snapshot_receipt` and where it sits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PoolSnapshotResponse {
    /// [`POOL_SNAPSHOT_SCHEMA`].
    pub schema: String,
    /// The pool.
    pub pool_id: String,
    /// The snapshot's number in the pool, from 1.
    pub snapshot_seq: u64,
    /// The receipt's id.
    pub receipt_id: String,
    /// When it was taken (RFC 3339, UTC).
    pub taken_at: String,
    /// The signed `openagents.liquidity.pool_snapshot_receipt.v1`: assets by rail,
    /// partitions, and the liabilities tree's root and sum.
    #[schema(value_type = Object)]
    pub receipt: Value,
}

/// An LP's inclusion proofs in one snapshot: one per partition they held.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct InclusionProofResponse {
    /// [`INCLUSION_PROOF_SCHEMA`].
    pub schema: String,
    /// The pool.
    pub pool_id: String,
    /// The snapshot's number.
    pub snapshot_seq: u64,
    /// The snapshot receipt's id: the proofs are against its `liabilities.merkle_root`.
    pub receipt_id: String,
    /// The LP.
    pub lp_id: String,
    /// Their leaves.
    pub leaves: Vec<ProofLeaf>,
}

/// One leaf of the liabilities tree with its path to the root. The leaf's hash is
/// `SHA-256("sluice/pol/leaf/v1" ‖ salt ‖ u32be(len lp_id) ‖ lp_id ‖ u32be(len
/// partition) ‖ partition ‖ u128be(units) ‖ u64be(value_msats))`; a parent's is
/// `SHA-256("sluice/pol/node/v1" ‖ left hash ‖ u64be(left sum) ‖ right hash ‖ u64be(right
/// sum))`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ProofLeaf {
    /// `llp`, `cep` or `rrp`.
    pub partition_kind: String,
    /// Share units held, decimal.
    pub units: String,
    /// Their value at the snapshot's price, msat.
    pub value_msats: u64,
    /// The leaf's salt, hex.
    pub salt: String,
    /// Its place among the leaves.
    pub leaf_index: u64,
    /// The siblings from the leaf up.
    pub path: Vec<ProofStep>,
    /// The root's hash, hex (the receipt's `liabilities.merkle_root`).
    pub root_hash: String,
    /// The root's sum, msat (the receipt's `liabilities.lp_positions_msats`).
    pub root_sum_msats: u64,
}

/// One sibling on a leaf's path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ProofStep {
    /// `left` or `right`: where the sibling is.
    pub side: String,
    /// Its hash, hex.
    pub hash: String,
    /// Its sum, msat.
    pub sum_msats: u64,
}
