//! LP deposits into a pool (spec §5.1), from quote to shares minted.

use serde::{Deserialize, Serialize};
use sluice_pool::PartitionKind;

use crate::table::{Record, Table};

/// How a deposit is paid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DepositRail {
    /// A BOLT11 invoice of the node.
    LightningInvoice,
    /// An address of the node's on-chain wallet.
    OnchainAddress,
}

/// Where a deposit stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DepositStatus {
    /// Quoted; nothing received yet.
    Quoted,
    /// Received, not yet final (an on-chain payment short of its confirmations).
    Pending,
    /// Final: shares minted at the price of that moment.
    Confirmed,
    /// Nothing arrived before the quote expired.
    Expired,
}

/// One deposit. Shares are minted once, when it confirms, in the same commit as the
/// ledger entry that books it and its receipt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DepositRecord {
    /// The deposit's id.
    pub deposit_id: String,
    /// The pool.
    pub pool_id: String,
    /// The partition the shares are in.
    pub partition: PartitionKind,
    /// The depositor.
    pub lp_id: String,
    /// The caller's idempotency key.
    pub idempotency_key: String,
    /// How it is paid.
    pub rail: DepositRail,
    /// The amount quoted, sat.
    pub amount_sats: u64,
    /// What the LP wrote, if anything.
    pub description: Option<String>,
    /// The invoice to pay (Lightning).
    pub invoice_bolt11: Option<String>,
    /// The invoice's payment hash, hex (Lightning).
    pub payment_hash: Option<String>,
    /// The address to pay (on-chain).
    pub deposit_address: Option<String>,
    /// Where it stands.
    pub status: DepositStatus,
    /// The amount received, msat (once received).
    pub received_msat: Option<u64>,
    /// The on-chain output that paid it, `txid:vout` (on-chain).
    pub outpoint: Option<String>,
    /// Share units minted (once confirmed).
    pub units_minted: Option<u128>,
    /// The ledger entry that booked it (once confirmed).
    pub entry_seq: Option<u64>,
    /// The deposit receipt's id (once confirmed).
    pub receipt_id: Option<String>,
    /// When it was quoted, ms since the Unix epoch.
    pub created_at_ms: u64,
    /// When the quote expires, ms since the Unix epoch.
    pub expires_at_ms: u64,
    /// When it confirmed, ms since the Unix epoch.
    pub confirmed_at_ms: Option<u64>,
}

impl Record for DepositRecord {
    const TABLE: Table = Table::PoolDeposits;

    fn key(&self) -> String {
        self.deposit_id.clone()
    }
}

/// What names a deposit on its rail: `ln/{payment_hash}` or `chain/{address}`. Created
/// (create-only) in the quote's commit, so one payment hash or address can never name two
/// deposits: a second would fail the quote instead of splitting the money's credit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DepositRefRecord {
    /// `ln/{payment_hash}` or `chain/{address}`.
    pub reference: String,
    /// The deposit.
    pub deposit_id: String,
}

impl DepositRefRecord {
    /// The reference of a Lightning deposit.
    pub fn lightning(payment_hash: &str) -> String {
        format!("ln/{payment_hash}")
    }

    /// The reference of an on-chain deposit.
    pub fn onchain(address: &str) -> String {
        format!("chain/{address}")
    }
}

impl Record for DepositRefRecord {
    const TABLE: Table = Table::PoolDepositRefs;

    fn key(&self) -> String {
        self.reference.clone()
    }
}
