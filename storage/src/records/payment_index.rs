//! The time index over payments sent and received, newest last in key order: a listing
//! reads one page of it (newest first) instead of every payment.

use serde::{Deserialize, Serialize};

use crate::table::{Record, Table};

/// Which table an indexed payment lives in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IndexedDirection {
    /// An outgoing attempt ([`crate::PaymentRecord`]).
    Sent,
    /// An incoming payment ([`crate::ReceivedRecord`]).
    Received,
}

impl IndexedDirection {
    fn letter(self) -> char {
        match self {
            IndexedDirection::Sent => 's',
            IndexedDirection::Received => 'r',
        }
    }
}

/// One payment in the time index, written in the same batch as the payment's record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentIndexRecord {
    /// When the payment was recorded, ms since the Unix epoch (the key's order).
    pub created_at_ms: u64,
    /// Sent or received: which table holds it.
    pub direction: IndexedDirection,
    /// The payment's id in that table.
    pub payment_id: String,
}

impl Record for PaymentIndexRecord {
    const TABLE: Table = Table::PaymentIndex;

    fn key(&self) -> String {
        format!(
            "{:016x}/{}/{}",
            self.created_at_ms,
            self.direction.letter(),
            self.payment_id
        )
    }
}
