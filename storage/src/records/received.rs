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
