//! Settling an envelope (spec §7.2): the verifier's verdict and the provider's invoice
//! in, the provider paid over Lightning (or a default notice) out.
//!
//! A settlement above `large_settlement_sats` waits (`credit_halted`) while the Lightning
//! breaker is tripped: outgoing payments failing often say the node cannot route well
//! now, and a large draw is the one to hold back (spec §6.3).
//!
//! Checked before anything is stored: the envelope exists and is open (the same request
//! again answers its outcome; an envelope another settlement took is refused); the
//! invoice parses, is for this network, has not expired, names an amount, and is payable
//! to the envelope's provider (its payee key's x-only form is `provider_id`) and to no
//! other envelope's settlement; in mode 2 the agent's signature authorizes this spend.
//! Then the envelope's state machine decides: a failed verification or a settle after
//! the expiry is a default (nothing paid, a `default_notice`); an invoice above the cap
//! is refused; otherwise the envelope is paying, reserving the invoice plus its fee
//! ceiling against the CEP partition (which must cover the growth beyond the cap it
//! reserved already). The paying status, the request and the invoice's reservation are
//! stored in one commit before the payment starts (`pay`), so after a crash the payment
//! is found again under its key and made at most once.

use bitcoin::hashes::Hash;
use bitcoin::hex::DisplayHex;
use serde_json::Value;
use sluice_credit::breaker;
use sluice_credit::envelope::{step, DefaultReason, Event, Refusal, Settlement, Status};
use sluice_storage::{
    CreditEnvelopeRecord, CreditInvoiceRecord, PaymentRecord, QuoteRecord, ReceiptRecord,
    SettlementAsked, WriteBatch,
};

use super::offers::{cep_free_msat, cep_pool};
use super::{actions, authorization, CreditConfig, CreditState};
use crate::clock::unix_ms;
use crate::nostr::mirror;
use crate::payments::invoice::check_invoice;
use crate::NodeError;

/// A settlement asked for, its shape checked by the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettleAsk {
    /// The envelope to settle.
    pub envelope_id: String,
    /// What identifies the request: the same settle again has the same.
    pub fingerprint: String,
    /// The verifier's verdict on the provider's outcome.
    pub verification_passed: bool,
    /// SHA-256 of the verifier's receipt, hex (lowercase).
    pub verification_receipt_sha256: String,
    /// The provider's BOLT11 invoice.
    pub provider_invoice: String,
    /// The host the provider serves from, as the caller names it.
    pub provider_host: String,
    /// The routing fee ceiling, msat.
    pub max_fee_msat: u64,
    /// The caller's policy context, JSON text as sent.
    pub policy_context: String,
    /// Mode 2: the agent's BIP-340 signature (hex, 128 characters) over the spend it
    /// authorizes; `None` in mode 1 (the issuer pays after verification).
    pub spend_authorization: Option<String>,
    /// Spec §8.2: a TreasuryRouter pay that names the envelope. The quote's invoice, fee
    /// ceiling and host stand for the request's; there is no verifier (the agent pays
    /// upfront, within the envelope's provider and cap).
    pub quote: Option<QuoteDraw>,
}

/// A quote paid from the pool's liquidity on an envelope's credit (spec §8.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuoteDraw {
    /// The quote.
    pub quote_id: String,
    /// The agent run the payment belongs to.
    pub run_id: Option<String>,
    /// The trajectory (ReplayBundle) hash.
    pub trajectory_hash: Option<String>,
}

impl SettleAsk {
    /// The settle a TreasuryRouter pay of `draw` on `envelope_id` asks: the same pay
    /// again is the same settle.
    pub fn for_quote(envelope_id: String, draw: QuoteDraw) -> SettleAsk {
        SettleAsk {
            fingerprint: format!("quote:{}", draw.quote_id),
            envelope_id,
            verification_passed: true,
            verification_receipt_sha256: String::new(),
            provider_invoice: String::new(),
            provider_host: String::new(),
            max_fee_msat: 0,
            policy_context: String::new(),
            spend_authorization: None,
            quote: Some(draw),
        }
    }
}

/// How a settlement ended, as the API names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettleOutcome {
    /// The provider was paid; the agent owes the draw.
    Success,
    /// The verifier failed the outcome: a default, nothing paid.
    Failed,
    /// The envelope ran out of time before it was paid: a default, nothing paid.
    Expired,
    /// The draw was not repaid in time: a default, the loss written off.
    Defaulted,
}

impl SettleOutcome {
    /// The wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            SettleOutcome::Success => "success",
            SettleOutcome::Failed => "failed",
            SettleOutcome::Expired => "expired",
            SettleOutcome::Defaulted => "defaulted",
        }
    }
}

/// A settlement's outcome as the API shows it.
#[derive(Debug, Clone)]
pub struct SettleView {
    /// The envelope.
    pub envelope_id: String,
    /// The settlement.
    pub settlement_id: String,
    /// How it ended.
    pub outcome: SettleOutcome,
    /// SHA-256 of the quote payment's `invoice_pay_receipt` (its canonical hash), when a
    /// TreasuryRouter pay drew on the envelope.
    pub liquidity_receipt_sha256: Option<String>,
    /// Paid to the provider, msat (0 unless it succeeded).
    pub spent_msat: u64,
    /// The routing fee the pool paid, msat.
    pub routing_fee_msat: u64,
    /// The credit fee the agent owes, msat.
    pub credit_fee_msat: u64,
    /// The capital lost, msat (a default's).
    pub loss_msat: u64,
    /// SHA-256 of the verifier's receipt, hex, as the request named it.
    pub verification_receipt_sha256: String,
    /// The provider's payment id, hex, if it was paid.
    pub payment_id: Option<String>,
    /// The signed `envelope_settlement_receipt` or `default_notice`.
    pub receipt: Value,
}

/// What a settle request comes to at once.
#[derive(Debug)]
pub enum Begun {
    /// Its outcome.
    Answer(Box<SettleView>),
    /// The provider's payment is under way: the answer comes with its outcome.
    Paying {
        /// The envelope.
        envelope_id: String,
        /// The settlement being paid.
        settlement_id: String,
    },
}

/// Settles the envelope `ask` names, or answers the settlement it asked before.
pub async fn settle(
    state: &mut CreditState,
    config: &CreditConfig,
    ask: SettleAsk,
) -> Result<Begun, NodeError> {
    let c = state.components.clone();
    let record = state
        .envelopes
        .get(&ask.envelope_id)
        .cloned()
        .ok_or_else(|| NodeError::NotFound(format!("envelope {}", ask.envelope_id)))?;
    if let Some(asked) = record.status.settlement() {
        if asked.fingerprint == ask.fingerprint {
            return answer(state, &record).await;
        }
        let used = record
            .asked
            .as_ref()
            .and_then(|a| a.spend_authorization.as_ref());
        if ask.spend_authorization.is_some() && used == ask.spend_authorization.as_ref() {
            return Err(NodeError::AuthorizationReplayed(
                asked.settlement_id.clone(),
            ));
        }
    }
    if let Status::Defaulted {
        settlement: None, ..
    } = record.status
    {
        // The expiry timer defaulted it first: the settle's outcome is that default.
        return answer(state, &record).await;
    }
    if record.status != Status::Open {
        return Err(NodeError::EnvelopeSettled(format!(
            "{} is {} with another settlement",
            record.envelope_id,
            record.status.name()
        )));
    }

    let ask = match ask.quote.clone() {
        Some(draw) => from_quote(&c, ask, &draw).await?,
        None => ask,
    };
    let checked = check_invoice(&ask.provider_invoice, c.network, None)?;
    let payee = checked
        .invoice
        .get_payee_pub_key()
        .x_only_public_key()
        .0
        .serialize()
        .to_lower_hex_string();
    if payee != record.provider_id {
        return Err(NodeError::WrongProvider(format!(
            "the invoice is payable to {payee}, the envelope pays {}",
            record.provider_id
        )));
    }
    let large_msat = config.large_settlement_sats.saturating_mul(1000);
    if ask.verification_passed
        && checked.amount_msat > large_msat
        && state.judge_lightning(config).await? == breaker::State::Tripped
    {
        return Err(NodeError::CreditHalted(format!(
            "outgoing Lightning payments are failing ({} of the last {}): settlements above {} sat wait until they recover",
            state.ln_window.bad, state.ln_window.samples, config.large_settlement_sats
        )));
    }
    let payment_hash = checked
        .invoice
        .payment_hash()
        .to_byte_array()
        .to_lower_hex_string();
    if let Some(signature) = &ask.spend_authorization {
        let spend = authorization::digest(
            &record.envelope_id,
            &payment_hash,
            checked.amount_msat,
            &ask.verification_receipt_sha256,
        );
        authorization::verify(&record.agent_id, signature, spend)?;
    }
    if let Some(reserved) = c
        .store
        .get::<CreditInvoiceRecord>(payment_hash.clone())
        .await?
    {
        if reserved.envelope_id != record.envelope_id {
            return Err(NodeError::InvoiceReserved(reserved.envelope_id));
        }
    }

    let settlement = Settlement {
        settlement_id: settlement_id(&record, &ask.fingerprint),
        fingerprint: ask.fingerprint.clone(),
        verification_passed: ask.verification_passed,
        amount_msat: Some(checked.amount_msat),
        max_fee_msat: ask.max_fee_msat,
    };
    let now = unix_ms();
    let (next, steps) = step(
        &record.limits,
        &record.status,
        Event::Settle(settlement),
        now,
    )
    .map_err(|refusal| refused(&record, refusal))?;
    let paying = matches!(next, Status::Paying { .. });
    if paying {
        let needed = next.reserved_msat(&record.limits);
        let before = record.status.reserved_msat(&record.limits);
        if needed > before {
            let pool = cep_pool(&c, &record.pool_id).await?;
            let others = state
                .envelopes
                .reserved_msat(&record.pool_id)
                .saturating_sub(before);
            let free = cep_free_msat(&pool).saturating_sub(others);
            if needed > free {
                return Err(NodeError::CreditCommitted {
                    asked_msat: needed,
                    free_msat: free,
                });
            }
        }
    }
    let mut batch = WriteBatch::new();
    if paying {
        batch.put(&CreditInvoiceRecord {
            payment_hash: payment_hash.clone(),
            envelope_id: record.envelope_id.clone(),
        })?;
    }
    let updated = CreditEnvelopeRecord {
        status: next,
        updated_at_ms: now,
        asked: Some(SettlementAsked {
            invoice: ask.provider_invoice.trim().to_owned(),
            payment_hash,
            provider_host: ask.provider_host,
            verification_receipt_sha256: ask.verification_receipt_sha256,
            policy_context: ask.policy_context,
            spend_authorization: ask.spend_authorization,
            asked_at_ms: now,
            quote_id: ask.quote.as_ref().map(|q| q.quote_id.clone()),
            run_id: ask.quote.as_ref().and_then(|q| q.run_id.clone()),
            trajectory_hash: ask.quote.as_ref().and_then(|q| q.trajectory_hash.clone()),
        }),
        ..record
    };
    if paying {
        mirror::stage_spend_authorization(&c, &mut batch, &updated)?;
    }
    let updated = actions::commit(state, updated, &steps, None, batch).await?;
    tracing::info!(envelope_id = %updated.envelope_id, state = updated.status.name(),
        "credit envelope settle asked");
    answer(state, &updated).await
}

/// `ask` with its quote's invoice, fee ceiling and host: the quote must exist and not
/// have expired.
async fn from_quote(
    c: &crate::Components,
    ask: SettleAsk,
    draw: &QuoteDraw,
) -> Result<SettleAsk, NodeError> {
    let quote = c
        .store
        .get::<QuoteRecord>(draw.quote_id.clone())
        .await?
        .ok_or_else(|| NodeError::NotFound(format!("quote {}", draw.quote_id)))?;
    if unix_ms() > quote.valid_until_ms {
        return Err(NodeError::QuoteExpired(quote.quote_id));
    }
    // The fee ceiling the quote's payment will have (see `pay_quote`).
    let max_fee_msat = quote.max_fee_msats.min(
        quote
            .max_amount_msats
            .saturating_sub(quote.quoted_amount_msats),
    );
    Ok(SettleAsk {
        provider_invoice: quote.invoice,
        provider_host: quote.host,
        max_fee_msat,
        ..ask
    })
}

/// A settlement's id: one per envelope, request and payment attempt (a retry after a
/// failed payment is a new payment under a new key).
fn settlement_id(record: &CreditEnvelopeRecord, fingerprint: &str) -> String {
    let seed = format!(
        "{}/{fingerprint}/{}",
        record.envelope_id, record.failed_payments
    );
    super::derived_id("ceps", &seed)
}

/// The API's error for a refused settle.
fn refused(record: &CreditEnvelopeRecord, refusal: Refusal) -> NodeError {
    match refusal {
        Refusal::NoAmount => NodeError::AmountRequired,
        Refusal::OverCap {
            amount_msat,
            cap_msat,
        } => NodeError::OverEnvelopeCap {
            amount_msat,
            cap_msat,
        },
        Refusal::Settled { state } | Refusal::State { state } => NodeError::EnvelopeSettled(
            format!("{} is {state} with another settlement", record.envelope_id),
        ),
    }
}

/// The answer to a settle of `record`: its outcome, or the payment under way.
pub async fn answer(
    state: &CreditState,
    record: &CreditEnvelopeRecord,
) -> Result<Begun, NodeError> {
    match &record.status {
        Status::Paying { settlement } => Ok(Begun::Paying {
            envelope_id: record.envelope_id.clone(),
            settlement_id: settlement.settlement_id.clone(),
        }),
        _ => Ok(Begun::Answer(Box::new(view(state, record).await?))),
    }
}

/// The outcome of `record`'s settlement (it was paid or it defaulted).
pub async fn view(
    state: &CreditState,
    record: &CreditEnvelopeRecord,
) -> Result<SettleView, NodeError> {
    let (outcome, settlement, draw, loss_msat, receipt_id) = match &record.status {
        Status::Owed {
            settlement, draw, ..
        }
        | Status::Repaid { settlement, draw } => (
            SettleOutcome::Success,
            Some(settlement),
            Some(*draw),
            0,
            record.settlement_receipt_id.as_ref(),
        ),
        Status::Defaulted {
            reason,
            settlement,
            draw,
            loss_msat,
            ..
        } => {
            let outcome = match reason {
                DefaultReason::VerificationFailed => SettleOutcome::Failed,
                DefaultReason::Expired => SettleOutcome::Expired,
                DefaultReason::Unrepaid => SettleOutcome::Defaulted,
            };
            (
                outcome,
                settlement.as_ref(),
                *draw,
                *loss_msat,
                record.default_notice_id.as_ref(),
            )
        }
        Status::Open | Status::Paying { .. } => {
            return Err(NodeError::EnvelopeSettled(format!(
                "{} is {}: it has no outcome",
                record.envelope_id,
                record.status.name()
            )))
        }
    };
    let receipt_id = receipt_id.ok_or_else(|| {
        NodeError::Ledger(format!(
            "envelope {}: an outcome without its receipt",
            record.envelope_id
        ))
    })?;
    let receipt = state
        .components
        .store
        .get::<ReceiptRecord>(receipt_id.clone())
        .await?
        .map(|r| r.body)
        .ok_or_else(|| NodeError::NotFound(format!("receipt {receipt_id}")))?;
    let liquidity_receipt_sha256 = match (&record.asked, &record.payment_id) {
        (Some(asked), Some(payment_id)) if asked.quote_id.is_some() => {
            liquidity_receipt(state, payment_id).await?
        }
        _ => None,
    };
    Ok(SettleView {
        liquidity_receipt_sha256,
        envelope_id: record.envelope_id.clone(),
        settlement_id: settlement
            .map(|s| s.settlement_id.clone())
            .unwrap_or_default(),
        outcome,
        spent_msat: draw.map_or(0, |d| d.spent_msat),
        routing_fee_msat: draw.map_or(0, |d| d.routing_fee_msat),
        credit_fee_msat: draw.map_or(0, |d| d.credit_fee_msat),
        loss_msat,
        verification_receipt_sha256: settlement
            .and(record.asked.as_ref())
            .map(|a| a.verification_receipt_sha256.clone())
            .unwrap_or_default(),
        payment_id: record.payment_id.clone(),
        receipt,
    })
}

/// The canonical hash of payment `payment_id`'s `invoice_pay_receipt`, if it has one.
async fn liquidity_receipt(
    state: &CreditState,
    payment_id: &str,
) -> Result<Option<String>, NodeError> {
    let store = &state.components.store;
    let Some(receipt_id) = store
        .get::<PaymentRecord>(payment_id)
        .await?
        .and_then(|p| p.receipt_id)
    else {
        return Ok(None);
    };
    Ok(store
        .get::<ReceiptRecord>(receipt_id)
        .await?
        .and_then(|r| r.body.get("canonical_json_sha256").cloned())
        .and_then(|h| h.as_str().map(str::to_owned)))
}
