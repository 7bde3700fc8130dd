//! The ledger records the rest of the node keeps, one table each.

mod budget_spends;
mod credit;
mod expiries;
mod forwards;
mod idempotency;
mod jit_orders;
mod nostr;
mod payment_index;
mod payments;
mod peers;
mod pool_deposits;
mod pool_snapshots;
mod pool_withdrawals;
mod pools;
mod quotes;
mod rebalance;
mod receipts;
mod received;
mod wallet;

pub use budget_spends::BudgetSpendRecord;
pub use credit::{
    CreditEnvelopeRecord, CreditIntentRecord, CreditInvoiceRecord, CreditOfferRecord,
    CreditRepaymentRecord, OfferStatus, SettlementAsked,
};
pub use expiries::{Expiring, ExpiryRecord};
pub use forwards::ForwardTotalRecord;
pub use idempotency::IdempotencyRecord;
pub use jit_orders::{HeldHtlc, JitOrderRecord, JitOrderState, JitOrderTimeKey};
pub use nostr::{DeliveryOutcome, NostrDelivery, NostrEventRecord, NostrOutboxRecord};
pub use payment_index::{IndexedDirection, PaymentIndexRecord};
pub use payments::{PaymentRecord, PaymentStatus};
pub use peers::PeerRecord;
pub use pool_deposits::{DepositRail, DepositRecord, DepositRefRecord, DepositStatus};
pub use pool_snapshots::{PoolSnapshotRecord, SnapshotLeafRecord};
pub use pool_withdrawals::{
    BatchOutput, BatchTx, FillRecord, FillState, PayoutBatchRecord, PayoutInvoiceRecord,
    WithdrawalRecord, WithdrawalStatus,
};
pub use pools::{LpRecord, PoolEntryRecord, PoolRecord};
pub use quotes::QuoteRecord;
pub use rebalance::{
    RebalanceChannelRecord, RebalanceRecord, RebalanceState, RebalancerControlRecord, StoredBand,
};
pub use receipts::ReceiptRecord;
pub use received::{ReceivedByHashRecord, ReceivedRecord};
pub use wallet::WalletRecord;
