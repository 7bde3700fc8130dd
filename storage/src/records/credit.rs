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
    /// The `envelope_settlement_receipt` or `default_notice`'s id, once it has one.
    pub outcome_receipt_id: Option<String>,
    /// The provider payment's id, hex, once one was started.
    pub payment_id: Option<String>,
    /// When it was issued, ms since the Unix epoch.
    pub issued_at_ms: u64,
    /// When its status last changed.
    pub updated_at_ms: u64,
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
