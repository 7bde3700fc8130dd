//! The ledger records the rest of the node keeps, one table each.

mod idempotency;
mod jit_orders;
mod payments;
mod peers;
mod quotes;
mod receipts;
mod received;
mod wallet;

pub use idempotency::IdempotencyRecord;
pub use jit_orders::{HeldHtlc, JitOrderRecord, JitOrderState, JitOrderTimeKey};
pub use payments::{PaymentRecord, PaymentStatus};
pub use peers::PeerRecord;
pub use quotes::QuoteRecord;
pub use receipts::ReceiptRecord;
pub use received::ReceivedRecord;
pub use wallet::WalletRecord;
