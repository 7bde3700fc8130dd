//! LP withdrawals from a pool (spec §5.2), from request to payout, and the on-chain
//! batches that pay them.
//!
//! A withdrawal's record is written by the pool actor only, always in the same commit as
//! the ledger entries that change what it is owed; a payout batch is written by the
//! withdrawal scheduler only, before its transaction is broadcast.

use serde::{Deserialize, Serialize};
use sluice_pool::queue::Rail;
use sluice_pool::withdrawal::Outstanding;
use sluice_pool::PartitionKind;

use crate::table::{Record, Table};

/// Where a withdrawal stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WithdrawalStatus {
    /// Above the approval threshold: waits for an operator before it is paid.
    Requested,
    /// In the queue.
    Queued,
    /// Approved by an operator; in the queue.
    Approved,
    /// Paid in full.
    Paid,
    /// Its payout could not be made: what was not paid went back to the LP as shares.
    Failed,
    /// Canceled by the LP before anything was paid: the shares are free again.
    Canceled,
}

impl WithdrawalStatus {
    /// Whether it still waits to be paid (its units locked).
    pub fn is_open(self) -> bool {
        matches!(
            self,
            WithdrawalStatus::Requested | WithdrawalStatus::Queued | WithdrawalStatus::Approved
        )
    }
}

/// Where one fill's payout stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FillState {
    /// Burned and handed to its rail; not known to have arrived.
    Sent,
    /// Paid: the value left the node.
    Paid,
    /// The payout failed and was undone (units given back).
    Reversed,
}

/// One payout towards a withdrawal: the units burned for it and how it is paid.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FillRecord {
    /// Its number within the withdrawal, from 0.
    pub n: u32,
    /// Value owed for it, msat.
    pub msat: u64,
    /// Units burned for it.
    pub units: u128,
    /// The ledger entry that burned them.
    pub burn_seq: u64,
    /// Where it stands.
    pub state: FillState,
    /// The Lightning payment's id, hex (Lightning).
    pub payment_id: Option<String>,
    /// The on-chain batch paying it (on-chain).
    pub batch_id: Option<String>,
    /// The transaction that paid it, once confirmed (on-chain).
    pub txid: Option<String>,
    /// Routing fee paid, msat (Lightning, once paid).
    pub fee_msat: Option<u64>,
    /// The ledger entry that paid or reversed it.
    pub settle_seq: Option<u64>,
    /// When it was burned, ms since the Unix epoch.
    pub burned_at_ms: u64,
    /// When it was paid or reversed.
    pub settled_at_ms: Option<u64>,
    /// Why it failed, a stable code (reversed fills).
    pub failure: Option<String>,
    /// Units given back to the LP when it was reversed (at most those burned).
    pub units_returned: Option<u128>,
}

/// One withdrawal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WithdrawalRecord {
    /// Its id.
    pub withdrawal_id: String,
    /// The pool.
    pub pool_id: String,
    /// The partition whose shares are withdrawn.
    pub partition: PartitionKind,
    /// The LP.
    pub lp_id: String,
    /// The caller's idempotency key.
    pub idempotency_key: String,
    /// How it is paid.
    pub rail: Rail,
    /// The LP's invoice, without an amount (Lightning).
    pub payout_invoice: Option<String>,
    /// The LP's address (on-chain).
    pub payout_address: Option<String>,
    /// Units locked by the request.
    pub units_requested: u128,
    /// Their value at the request, msat: the most the withdrawal is paid.
    pub value_at_request_msat: u64,
    /// What is still locked and owed.
    pub outstanding: Outstanding,
    /// Where it stands.
    pub status: WithdrawalStatus,
    /// Whether it needs an operator's approval before it is paid.
    pub needs_approval: bool,
    /// An emergency withdrawal: paid first and in full while the throttle is normal.
    #[serde(default)]
    pub emergency: bool,
    /// Who approved it (the approving token's SHA-256, hex).
    pub approved_by: Option<String>,
    /// When it was approved.
    pub approved_at_ms: Option<u64>,
    /// The payouts so far.
    pub fills: Vec<FillRecord>,
    /// Value paid out, msat.
    pub paid_msat: u64,
    /// The `withdraw_request_receipt`'s id.
    pub request_receipt_id: String,
    /// The `withdraw_settlement_receipt`'s id, once it ended (paid or failed).
    pub settlement_receipt_id: Option<String>,
    /// When it was asked for, ms since the Unix epoch.
    pub requested_at_ms: u64,
    /// The earliest it may be paid.
    pub earliest_settlement_at_ms: u64,
    /// The latest it will be paid unless withdrawals are halted (request + Δ).
    pub latest_settlement_at_ms: u64,
    /// When it ended (paid, failed, canceled).
    pub ended_at_ms: Option<u64>,
}

impl Record for WithdrawalRecord {
    const TABLE: Table = Table::PoolWithdrawals;

    fn key(&self) -> String {
        self.withdrawal_id.clone()
    }
}

/// One output of a payout batch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchOutput {
    /// The withdrawal.
    pub withdrawal_id: String,
    /// The fill.
    pub n: u32,
    /// The address.
    pub address: String,
    /// The amount, sat.
    pub sats: u64,
}

/// One transaction of a batch: the first, or a replacement paying a higher fee (RBF).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchTx {
    /// Its id.
    pub txid: String,
    /// The signed transaction, hex.
    pub raw_hex: String,
    /// Its fee, sat.
    pub fee_sats: u64,
    /// Its fee rate, sat per kilo-weight-unit.
    pub fee_rate_sat_per_kwu: u64,
    /// The chain height when it was made.
    pub made_at_height: u32,
}

/// An on-chain payout batch: every on-chain fill of one tick in one transaction with an
/// output each. Written before the transaction is broadcast, so after a crash the same
/// transaction (or its replacement) is broadcast again and never a second one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayoutBatchRecord {
    /// Its id.
    pub batch_id: String,
    /// The pool.
    pub pool_id: String,
    /// The outputs.
    pub outputs: Vec<BatchOutput>,
    /// The transactions made, the first and each replacement; the last is current.
    pub txs: Vec<BatchTx>,
    /// The transaction that confirmed, once one did.
    pub confirmed_txid: Option<String>,
    /// The height of the block that confirmed it.
    pub confirmed_height: Option<u32>,
    /// When it was made, ms since the Unix epoch.
    pub created_at_ms: u64,
}

impl Record for PayoutBatchRecord {
    const TABLE: Table = Table::PoolPayoutBatches;

    fn key(&self) -> String {
        self.batch_id.clone()
    }
}

/// Reserves a payout invoice (by its payment hash, hex) for one withdrawal: created
/// (create-only) in the request's commit, so one invoice can never be the payout of two
/// withdrawals (the second payout would find it paid by the first).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayoutInvoiceRecord {
    /// The invoice's payment hash, hex.
    pub payment_hash: String,
    /// The withdrawal it pays.
    pub withdrawal_id: String,
}

impl Record for PayoutInvoiceRecord {
    const TABLE: Table = Table::PoolPayoutInvoices;

    fn key(&self) -> String {
        self.payment_hash.clone()
    }
}
