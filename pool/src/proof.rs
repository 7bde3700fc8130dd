//! Proof of liabilities (spec §4.3): a Merkle sum tree over LP positions.
//!
//! Each leaf is one LP's holding in one partition at a snapshot: its value in msat and a
//! commitment to whose it is and what it is (LP id, partition, units) under a per-leaf
//! salt, so the published root tells nobody anything about an LP they were not shown.
//! Every inner node commits to both children's hashes *and* both sums, so a prover cannot
//! hide a liability by giving a parent a smaller sum than its children: an LP who walks
//! the path from their leaf to the root checks every sum on the way, and the root's sum
//! is the total the snapshot signs. Sums are `u64` msat, so no leaf is negative.
//!
//! Hashes are SHA-256 with a domain tag in front of each kind of preimage:
//! - leaf: `H("sluice/pol/leaf/v1" ‖ salt ‖ len(lp_id) as u32 BE ‖ lp_id ‖ partition
//!   as its wire name's length and bytes ‖ units as u128 BE ‖ value_msat as u64 BE)`;
//! - inner: `H("sluice/pol/node/v1" ‖ left.hash ‖ left.sum as u64 BE ‖ right.hash ‖
//!   right.sum as u64 BE)`, its sum `left.sum + right.sum` (overflow refused);
//! - a level with an odd count pairs its last node with the empty node
//!   `H("sluice/pol/empty/v1")` of sum 0; a tree with no leaves is the empty node.

use bitcoin_hashes::hex::DisplayHex;
use bitcoin_hashes::{sha256, Hash, HashEngine};

use crate::PartitionKind;

const LEAF_TAG: &[u8] = b"sluice/pol/leaf/v1";
const NODE_TAG: &[u8] = b"sluice/pol/node/v1";
const EMPTY_TAG: &[u8] = b"sluice/pol/empty/v1";

/// Why a tree could not be built or a proof does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// Two sums added past `u64::MAX` msat.
    #[error("the sums overflow")]
    Overflow,
    /// The path ends at another hash than the root's.
    #[error("the path leads to root {found}, not {expected}")]
    RootMismatch {
        /// The hash the path gives, hex.
        found: String,
        /// The root's hash, hex.
        expected: String,
    },
    /// The path ends at the root's hash with another sum (cannot happen unless SHA-256
    /// collides; checked anyway).
    #[error("the path sums to {found} msat, the root says {expected}")]
    SumMismatch {
        /// The sum the path gives.
        found: u64,
        /// The root's sum.
        expected: u64,
    },
    /// The path is longer than any tree of `u64::MAX` leaves.
    #[error("the path has {0} steps")]
    PathTooLong(usize),
}

/// One LP's holding in one partition, as committed to in a snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leaf {
    /// The LP.
    pub lp_id: String,
    /// The partition.
    pub partition: PartitionKind,
    /// Share units held.
    pub units: u128,
    /// Their value at the snapshot's price, msat.
    pub value_msat: u64,
    /// The leaf's salt: hides the preimage from anyone without the proof.
    pub salt: [u8; 32],
}

impl Leaf {
    /// The leaf as a tree node.
    pub fn node(&self) -> SumNode {
        let mut engine = sha256::Hash::engine();
        engine.input(LEAF_TAG);
        engine.input(&self.salt);
        input_bytes(&mut engine, self.lp_id.as_bytes());
        input_bytes(&mut engine, self.partition.as_str().as_bytes());
        engine.input(&self.units.to_be_bytes());
        engine.input(&self.value_msat.to_be_bytes());
        SumNode {
            hash: sha256::Hash::from_engine(engine).to_byte_array(),
            sum_msat: self.value_msat,
        }
    }
}

/// Length-prefixed bytes, so no two field splits give the same preimage.
fn input_bytes(engine: &mut sha256::HashEngine, bytes: &[u8]) {
    let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    engine.input(&len.to_be_bytes());
    engine.input(bytes);
}

/// A node of the tree: its hash and the sum of the leaves under it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SumNode {
    /// The node's hash.
    pub hash: [u8; 32],
    /// The sum of the values under it, msat.
    pub sum_msat: u64,
}

impl SumNode {
    /// The empty node: what pads an odd level, and the root of a tree without leaves.
    pub fn empty() -> SumNode {
        SumNode {
            hash: sha256::Hash::hash(EMPTY_TAG).to_byte_array(),
            sum_msat: 0,
        }
    }

    /// The parent of `left` and `right`.
    pub fn parent(left: &SumNode, right: &SumNode) -> Result<SumNode, ProofError> {
        let sum_msat = left
            .sum_msat
            .checked_add(right.sum_msat)
            .ok_or(ProofError::Overflow)?;
        let mut engine = sha256::Hash::engine();
        engine.input(NODE_TAG);
        engine.input(&left.hash);
        engine.input(&left.sum_msat.to_be_bytes());
        engine.input(&right.hash);
        engine.input(&right.sum_msat.to_be_bytes());
        Ok(SumNode {
            hash: sha256::Hash::from_engine(engine).to_byte_array(),
            sum_msat,
        })
    }
}

/// Which side of the path a sibling is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The sibling is the left child; the path's node is the right one.
    Left,
    /// The sibling is the right child.
    Right,
}

impl Side {
    /// The wire name (`left`, `right`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Side::Left => "left",
            Side::Right => "right",
        }
    }

    /// The side named `name`.
    pub fn parse(name: &str) -> Option<Side> {
        match name {
            "left" => Some(Side::Left),
            "right" => Some(Side::Right),
            _ => None,
        }
    }
}

/// One step of an inclusion proof: the sibling met on the way up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// Where the sibling is.
    pub side: Side,
    /// The sibling.
    pub sibling: SumNode,
}

/// A built tree: every level, leaves first.
#[derive(Debug, Clone)]
pub struct SumTree {
    levels: Vec<Vec<SumNode>>,
}

impl SumTree {
    /// The tree over `leaves`, in the order given (a leaf's index is its place there).
    pub fn build(leaves: &[Leaf]) -> Result<SumTree, ProofError> {
        let mut levels = vec![leaves.iter().map(Leaf::node).collect::<Vec<_>>()];
        while let Some(level) = levels.last().filter(|level| level.len() > 1) {
            let next = level
                .chunks(2)
                .map(|pair| match pair {
                    [left, right] => SumNode::parent(left, right),
                    [last] => SumNode::parent(last, &SumNode::empty()),
                    _ => Err(ProofError::Overflow),
                })
                .collect::<Result<Vec<_>, _>>()?;
            levels.push(next);
        }
        Ok(SumTree { levels })
    }

    /// The root: the empty node when there are no leaves.
    pub fn root(&self) -> SumNode {
        self.levels
            .last()
            .and_then(|level| level.first())
            .copied()
            .unwrap_or_else(SumNode::empty)
    }

    /// How many leaves.
    pub fn leaf_count(&self) -> usize {
        self.levels.first().map_or(0, Vec::len)
    }

    /// The path from leaf `index` to the root, or `None` if there is no such leaf.
    pub fn path(&self, index: usize) -> Option<Vec<Step>> {
        if index >= self.leaf_count() {
            return None;
        }
        let mut steps = Vec::new();
        let mut at = index;
        for level in self.levels.iter().take(self.levels.len().saturating_sub(1)) {
            let (side, sibling) = if at.is_multiple_of(2) {
                (
                    Side::Right,
                    level.get(at + 1).copied().unwrap_or_else(SumNode::empty),
                )
            } else {
                (Side::Left, level.get(at - 1).copied()?)
            };
            steps.push(Step { side, sibling });
            at /= 2;
        }
        Some(steps)
    }
}

/// Checks that `leaf` is under `root` by `path`: hashing up from the leaf meets the
/// root's hash and sum.
pub fn verify_path(leaf: &Leaf, path: &[Step], root: &SumNode) -> Result<(), ProofError> {
    if path.len() > 64 {
        return Err(ProofError::PathTooLong(path.len()));
    }
    let mut node = leaf.node();
    for step in path {
        node = match step.side {
            Side::Left => SumNode::parent(&step.sibling, &node)?,
            Side::Right => SumNode::parent(&node, &step.sibling)?,
        };
    }
    if node.hash != root.hash {
        return Err(ProofError::RootMismatch {
            found: node.hash.to_lower_hex_string(),
            expected: root.hash.to_lower_hex_string(),
        });
    }
    if node.sum_msat != root.sum_msat {
        return Err(ProofError::SumMismatch {
            found: node.sum_msat,
            expected: root.sum_msat,
        });
    }
    Ok(())
}
