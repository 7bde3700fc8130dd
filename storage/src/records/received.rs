//! Incoming payments, kept apart from outgoing ones.
//!
//! An outgoing attempt's id can be its payment hash, and anyone who learns a preimage
//! (the payee, any hop) can send us a payment with that hash. Were incoming payments
//! stored in [`Table::Payments`] they could overwrite the outgoing record of the same
//! hash; here they cannot touch it.

use serde::{Deserialize, Serialize};

use crate::table::{Record, Table};

/// One incoming payment, written once when LDK reports it claimed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceivedRecord {
    /// LDK's id of the incoming payment (derived from its HTLCs, so two payments of one
    /// hash get two ids), hex.
    pub payment_id: String,
    /// The payment hash, hex.
    pub payment_hash: String,
    /// What we received.
    pub amount_msat: u64,
    /// The payment preimage, hex.
    #[serde(default)]
    pub preimage: Option<String>,
    /// When the payment was claimed, ms since the Unix epoch.
    pub received_at_ms: u64,
}

impl Record for ReceivedRecord {
    const TABLE: Table = Table::Received;

    fn key(&self) -> String {
        self.payment_id.clone()
    }
}

/// An incoming payment under its payment hash: every payment of one hash is found with
/// one prefix scan (a payee asking "was this invoice paid, and how often?").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceivedByHashRecord {
    /// The payment hash, hex.
    pub payment_hash: String,
    /// The incoming payment's id ([`ReceivedRecord::payment_id`]).
    pub payment_id: String,
}

impl ReceivedByHashRecord {
    /// The key prefix of every payment received with `payment_hash`.
    pub fn prefix(payment_hash: &str) -> String {
        format!("{payment_hash}/")
    }
}

impl Record for ReceivedByHashRecord {
    const TABLE: Table = Table::ReceivedByHash;

    fn key(&self) -> String {
        format!(
            "{}{}",
            ReceivedByHashRecord::prefix(&self.payment_hash),
            self.payment_id
        )
    }
}
