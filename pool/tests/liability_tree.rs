//! The Merkle sum tree of proof snapshots: every leaf's path verifies, the root sums every
//! leaf, and no change to a leaf, a sibling or the root goes unnoticed.

use proptest::prelude::*;
use sluice_pool::proof::verify_path;
use sluice_pool::{Leaf, PartitionKind, ProofError, Side, SumNode, SumTree};

fn leaf(i: usize, value_msat: u64) -> Leaf {
    Leaf {
        lp_id: format!("lp-{i}"),
        partition: PartitionKind::ALL[i % 3],
        units: (i as u128 + 1) * 1_000_000_000,
        value_msat,
        salt: [i as u8; 32],
    }
}

fn leaves(values: &[u64]) -> Vec<Leaf> {
    values
        .iter()
        .enumerate()
        .map(|(i, &v)| leaf(i, v))
        .collect()
}

#[test]
fn every_leaf_of_every_small_tree_verifies() {
    for n in 0..=17usize {
        let values: Vec<u64> = (0..n as u64).map(|i| i * 1_000 + 7).collect();
        let tree = SumTree::build(&leaves(&values)).unwrap();
        let root = tree.root();
        assert_eq!(root.sum_msat, values.iter().sum::<u64>(), "n = {n}");
        assert_eq!(tree.leaf_count(), n);
        for (i, l) in leaves(&values).iter().enumerate() {
            let path = tree.path(i).unwrap();
            verify_path(l, &path, &root).unwrap_or_else(|e| panic!("n = {n}, leaf {i}: {e}"));
        }
        assert!(tree.path(n).is_none());
    }
}

#[test]
fn an_empty_tree_is_the_empty_node() {
    let tree = SumTree::build(&[]).unwrap();
    assert_eq!(tree.root(), SumNode::empty());
    assert_eq!(tree.root().sum_msat, 0);
}

#[test]
fn a_changed_leaf_does_not_verify() {
    let ls = leaves(&[10, 20, 30, 40, 50]);
    let tree = SumTree::build(&ls).unwrap();
    let path = tree.path(2).unwrap();
    let mut forged = ls[2].clone();
    forged.value_msat += 1;
    assert!(matches!(
        verify_path(&forged, &path, &tree.root()),
        Err(ProofError::RootMismatch { .. })
    ));
    let mut forged = ls[2].clone();
    forged.lp_id = "someone-else".into();
    assert!(verify_path(&forged, &path, &tree.root()).is_err());
    let mut forged = ls[2].clone();
    forged.salt[0] ^= 1;
    assert!(verify_path(&forged, &path, &tree.root()).is_err());
}

/// A prover who hides part of the liabilities by shrinking a sibling's sum (to publish a
/// smaller total) is caught: the parent's hash commits to each child's sum.
#[test]
fn a_shrunk_sibling_sum_does_not_verify() {
    let ls = leaves(&[10, 20, 30, 40, 50]);
    let tree = SumTree::build(&ls).unwrap();
    let root = tree.root();
    let mut path = tree.path(0).unwrap();
    path[1].sibling.sum_msat -= 5;
    // The path's own sum is now 5 less than the root's, and its hash differs.
    assert!(matches!(
        verify_path(&ls[0], &path, &root),
        Err(ProofError::RootMismatch { .. })
    ));
    // Nor does a root with a smaller sum and the true hash pass.
    let path = tree.path(0).unwrap();
    let smaller = SumNode {
        sum_msat: root.sum_msat - 5,
        ..root
    };
    assert!(matches!(
        verify_path(&ls[0], &path, &smaller),
        Err(ProofError::SumMismatch { .. })
    ));
}

#[test]
fn a_flipped_side_does_not_verify() {
    let ls = leaves(&[10, 20, 30, 40]);
    let tree = SumTree::build(&ls).unwrap();
    let mut path = tree.path(1).unwrap();
    assert_eq!(path[0].side, Side::Left);
    path[0].side = Side::Right;
    assert!(verify_path(&ls[1], &path, &tree.root()).is_err());
}

#[test]
fn sums_past_u64_are_refused() {
    let ls = leaves(&[u64::MAX, 1]);
    assert_eq!(SumTree::build(&ls).unwrap_err(), ProofError::Overflow);
}

#[test]
fn an_overlong_path_is_refused() {
    let ls = leaves(&[1]);
    let tree = SumTree::build(&ls).unwrap();
    let step = sluice_pool::Step {
        side: Side::Right,
        sibling: SumNode::empty(),
    };
    assert_eq!(
        verify_path(&ls[0], &vec![step; 65], &tree.root()).unwrap_err(),
        ProofError::PathTooLong(65)
    );
}

proptest! {
    #[test]
    fn root_sums_all_leaves_and_every_path_verifies(
        values in proptest::collection::vec(0u64..=1_000_000_000_000, 0..64),
        pick in any::<prop::sample::Index>(),
    ) {
        let ls = leaves(&values);
        let tree = SumTree::build(&ls).unwrap();
        prop_assert_eq!(tree.root().sum_msat, values.iter().sum::<u64>());
        if !ls.is_empty() {
            let i = pick.index(ls.len());
            let path = tree.path(i).unwrap();
            prop_assert!(verify_path(&ls[i], &path, &tree.root()).is_ok());
            // Every sibling's sum is at most the root's: nothing negative is hidden.
            for step in &path {
                prop_assert!(step.sibling.sum_msat <= tree.root().sum_msat);
            }
        }
    }
}
