//! The ledger records the rest of the node keeps, one table each.

mod idempotency;
mod payments;
mod quotes;
mod receipts;

pub use idempotency::{IdempotencyClaim, IdempotencyRecord};
pub use payments::{PaymentRecord, PaymentStatus};
pub use quotes::QuoteRecord;
pub use receipts::ReceiptRecord;
