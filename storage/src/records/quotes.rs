//! Payment quotes.

use serde::{Deserialize, Serialize};

use crate::table::{Record, Table};

/// A priced route for an invoice, valid until `valid_until_ms`; `pay` executes it once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuoteRecord {
    /// The quote's id.
    pub quote_id: String,
    /// The idempotency key the quote was requested with.
    pub idempotency_key: String,
    /// The BOLT11 invoice quoted.
    pub invoice: String,
    /// SHA-256 of the invoice string, hex.
    pub invoice_hash: String,
    /// The invoice's payment hash, hex.
    pub payment_hash: String,
    /// The host (marketplace) the payment is for.
    pub host: String,
    /// Amount to deliver.
    pub quoted_amount_msats: u64,
    /// Routing fee of the quoted route.
    pub quoted_fee_msats: u64,
    /// The caller's amount ceiling.
    pub max_amount_msats: u64,
    /// The caller's fee ceiling.
    pub max_fee_msats: u64,
    /// How urgently the caller wants it paid (`low`, `normal`, `high`).
    pub urgency: String,
    /// SHA-256 of the canonical policy context, hex.
    pub policy_context_sha256: String,
    /// Expiry, ms since the Unix epoch.
    pub valid_until_ms: u64,
    /// Creation time, ms since the Unix epoch.
    pub created_at_ms: u64,
}

impl Record for QuoteRecord {
    const TABLE: Table = Table::Quotes;

    fn key(&self) -> String {
        self.quote_id.clone()
    }
}
