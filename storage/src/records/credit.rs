//! Credit envelopes (spec §6.2, §7): the intents agents file, the offers underwriting
//! makes, the envelopes issued from them, and the provider invoices reserved by their
//! settlements. Written by the envelope ledger actor only; an envelope whose step books
//! to the pool ledger is written in the same commit as the entries.

use serde::{Deserialize, Serialize};
use sluice_credit::envelope::{Limits, Status};
use sluice_credit::underwriting::{ScopeType, Terms};

use crate::table::{Record, Table};

/// An agent's intent to use credit for one scope (NIP-AC intent): what it may later be
/// offered at most, and until when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditIntentRecord {
    /// Its id, derived from the agent's idempotency key.
    pub intent_id: String,
    /// The idempotency key it was filed under.
    pub idempotency_key: String,
    /// What identifies the request (a repeat under the key must match).
    pub fingerprint: String,
    /// The agent (an x-only public key, hex).
    pub agent_id: String,
    /// What the credit is for.
    pub scope_type: ScopeType,
    /// Which job, call or skill.
    pub scope_id: String,
    /// The most asked for, sat.
    pub max_sats: u64,
    /// Until when it stands, ms since the Unix epoch.
    pub exp_ms: u64,
    /// The caller's policy context, JSON text as sent.
    pub policy_context: String,
    /// When it was filed.
    pub created_at_ms: u64,
}

impl Record for CreditIntentRecord {
    const TABLE: Table = Table::CreditIntents;

    fn key(&self) -> String {
        self.intent_id.clone()
    }
}

/// Where an offer stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OfferStatus {
    /// It may be taken up.
    Offered,
    /// An envelope was issued from it.
    Accepted,
}

/// An offer of credit: its cap and fee are underwriting's, and the terms it was decided
/// on are kept whole so the decision can be replayed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditOfferRecord {
    /// Its id, derived from the request.
    pub offer_id: String,
    /// The agent.
    pub agent_id: String,
    /// The pool whose CEP partition lends.
    pub pool_id: String,
    /// The intent it answers, if one was named.
    pub intent_id: Option<String>,
    /// What the credit is for.
    pub scope_type: ScopeType,
    /// Which job, call or skill.
    pub scope_id: String,
    /// The most an envelope from it may pay, sat.
    pub max_sats: u64,
    /// The credit fee, basis points.
    pub fee_bps: u32,
    /// Until when it may be taken up, ms since the Unix epoch.
    pub exp_ms: u64,
    /// Underwriting's decision with its inputs.
    pub terms: Terms,
    /// Where it stands.
    pub status: OfferStatus,
    /// When it was made.
    pub issued_at_ms: u64,
}

impl Record for CreditOfferRecord {
    const TABLE: Table = Table::CreditOffers;

    fn key(&self) -> String {
        self.offer_id.clone()
    }
}

/// An issued envelope: its limits, its state machine's status, and its receipts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditEnvelopeRecord {
    /// Its id.
    pub envelope_id: String,
    /// The offer it was issued from.
    pub offer_id: String,
    /// The agent.
    pub agent_id: String,
    /// The pool.
    pub pool_id: String,
    /// The provider it pays.
    pub provider_id: String,
    /// What it is for.
    pub scope_type: ScopeType,
    /// Which job, call or skill.
    pub scope_id: String,
    /// Its cap, fee and deadlines.
    pub limits: Limits,
    /// Where it stands.
    pub status: Status,
    /// The `envelope_issue_receipt`'s id.
    pub issue_receipt_id: String,
    /// The `envelope_settlement_receipt`'s id, once the provider was paid.
    #[serde(default)]
    pub settlement_receipt_id: Option<String>,
    /// The `default_notice`'s id, once it defaulted.
    #[serde(default)]
    pub default_notice_id: Option<String>,
    /// The provider payment's id, hex, once one was started.
    pub payment_id: Option<String>,
    /// When it was issued, ms since the Unix epoch.
    pub issued_at_ms: u64,
    /// When its status last changed.
    pub updated_at_ms: u64,
    /// The settlement paying or that ended it, as asked (what the status's
    /// `Settlement` does not keep: the invoice, the verifier's receipt, the agent's
    /// authorization).
    #[serde(default)]
    pub asked: Option<SettlementAsked>,
    /// How many of its provider payments failed; each retry is a new payment under a
    /// new settlement id.
    #[serde(default)]
    pub failed_payments: u32,
}

/// A settlement's request as the envelope keeps it: enough to pay the provider again
/// after a restart and to write the receipts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettlementAsked {
    /// The provider's BOLT11 invoice.
    pub invoice: String,
    /// Its payment hash, hex.
    pub payment_hash: String,
    /// The host the provider serves from.
    pub provider_host: String,
    /// SHA-256 of the verifier's receipt, hex.
    pub verification_receipt_sha256: String,
    /// The caller's policy context, JSON text as sent.
    pub policy_context: String,
    /// Mode 2: the agent's signature authorizing the spend, hex.
    pub spend_authorization: Option<String>,
    /// When it was asked, ms since the Unix epoch.
    pub asked_at_ms: u64,
    /// A TreasuryRouter pay drawing on the envelope (spec §8.2): the quote paid.
    #[serde(default)]
    pub quote_id: Option<String>,
    /// The agent run the quote's payment belongs to.
    #[serde(default)]
    pub run_id: Option<String>,
    /// The trajectory (ReplayBundle) hash of the quote's payment.
    #[serde(default)]
    pub trajectory_hash: Option<String>,
}

impl Record for CreditEnvelopeRecord {
    const TABLE: Table = Table::CreditEnvelopes;

    fn key(&self) -> String {
        self.envelope_id.clone()
    }
}

/// Reserves a provider invoice (by its payment hash, hex) for one envelope's settlement:
/// created (create-only) with the settlement, so one invoice is never the settlement of
/// two envelopes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditInvoiceRecord {
    /// The invoice's payment hash, hex.
    pub payment_hash: String,
    /// The envelope it settles.
    pub envelope_id: String,
}

impl Record for CreditInvoiceRecord {
    const TABLE: Table = Table::CreditInvoices;

    fn key(&self) -> String {
        self.payment_hash.clone()
    }
}

/// An invoice the node made for an agent to repay what an envelope owes (its draw, or
/// after a default its loss), by its payment hash, hex. Credited once: the repayment's
/// booking and `credited_msat` go in one commit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditRepaymentRecord {
    /// The invoice's payment hash, hex.
    pub payment_hash: String,
    /// The envelope it repays.
    pub envelope_id: String,
    /// The BOLT11 invoice.
    pub invoice: String,
    /// What it asks, msat: what the envelope owed when it was made.
    pub msat: u64,
    /// When it was made, ms since the Unix epoch.
    pub created_at_ms: u64,
    /// When it expires, ms since the Unix epoch.
    pub expires_at_ms: u64,
    /// What was received and booked, once it was.
    pub credited_msat: Option<u64>,
    /// When it was booked.
    pub credited_at_ms: Option<u64>,
}

impl Record for CreditRepaymentRecord {
    const TABLE: Table = Table::CreditRepayments;

    fn key(&self) -> String {
        self.payment_hash.clone()
    }
}
