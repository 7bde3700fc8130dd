//! The liquidity pool's accounting (spec §4), free of I/O so it can be tested exhaustively
//! and used offline.
//!
//! Layout:
//! - `shares`: share units, the virtual-offset price, minting and burning with rounding in
//!   the pool's favour;
//! - `ledger`: partitions, accounts, movements and their double-entry postings, and the
//!   balances derived by replaying entries;
//! - `proof`: the Merkle sum tree over LP positions that proof snapshots commit to, and
//!   the check of an LP's inclusion proof;
//! - `withdrawal`: a withdrawal's value — shares locked at the request, burned when paid,
//!   paid the lower of their value at the request and at the payout;
//! - `queue`: which queued withdrawals a payout tick pays, and how much (FIFO, a cap per
//!   tick, a bounded delay, no dust, Lightning ones whole);
//! - `throttle`: the withdrawal modes (normal, stressed, halted) and their reasons, from
//!   the node's state.

pub mod ledger;
pub mod proof;
pub mod queue;
pub mod shares;
pub mod throttle;
pub mod withdrawal;

pub use ledger::{
    Account, CostKind, Entry, Flow, IncomeKind, Ledger, LedgerError, Movement, PartitionBalances,
    PartitionKind, Posting,
};
pub use proof::{Leaf, ProofError, Side, Step, SumNode, SumTree};
pub use shares::{Book, Price, ShareError, UNITS_PER_SHARE, VIRTUAL_MSAT, VIRTUAL_UNITS};
