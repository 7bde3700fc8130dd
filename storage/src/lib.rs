//! The durable store of a sluice node.
//!
//! One fjall database per node directory ([`Store`]) holds LDK's key-value data (it
//! implements [`KVStoreSync`](lightning::util::persist::KVStoreSync),
//! [`KVStore`](lightning::util::persist::KVStore) and
//! [`MigratableKVStore`](lightning::util::persist::MigratableKVStore)) and the node's
//! ledger tables ([`Table`]), each in its own keyspace.
//!
//! Every write goes through one commit thread that groups concurrent writers into one
//! atomic fjall batch and one fsync (group commit); nothing is acknowledged before it
//! is durable. Ledger changes across tables commit together through [`WriteBatch`].

mod batch;
mod commit;
mod error;
mod ldk;
mod mark;
mod records;
mod store;
mod table;

pub use batch::WriteBatch;
pub use commit::CommitStats;
pub use error::StoreError;
pub use mark::MARK_FILE;
pub use records::{
    BatchOutput, BatchTx, BudgetSpendRecord, CreditEnvelopeRecord, CreditIntentRecord,
    CreditInvoiceRecord, CreditOfferRecord, CreditRepaymentRecord, DeliveryOutcome, DepositRail,
    DepositRecord, DepositRefRecord, DepositStatus, Expiring, ExpiryRecord, FillRecord, FillState,
    ForwardTotalRecord, HeldHtlc, IdempotencyRecord, IndexedDirection, JitOrderRecord,
    JitOrderState, JitOrderTimeKey, LpRecord, NostrDelivery, NostrEventRecord, NostrOutboxRecord,
    OfferStatus, PaymentIndexRecord, PaymentRecord, PaymentStatus, PayoutBatchRecord,
    PayoutInvoiceRecord, PeerRecord, PoolEntryRecord, PoolRecord, PoolSnapshotRecord, QuoteRecord,
    RebalanceChannelRecord, RebalanceRecord, RebalanceState, RebalancerControlRecord,
    ReceiptRecord, ReceivedByHashRecord, ReceivedRecord, SettlementAsked, SnapshotLeafRecord,
    StoredBand, WalletRecord, WithdrawalRecord, WithdrawalStatus,
};
pub use store::{Store, StoreConfig, DEFAULT_CACHE_BYTES, DEFAULT_MAX_GROUP_REQUESTS, KEYS_END};
pub use table::{Record, Table};
