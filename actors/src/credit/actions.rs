//! Doing what an envelope's step says (`sluice_credit::envelope::Action`), apart from
//! paying: the receipt sealed (`envelope_settlement_receipt` for a draw, `default_notice`
//! for a default), the bookings turned into the CEP partition's ledger movements, and the
//! envelope's new record stored with them in one commit — through the pool actor when
//! anything is booked, so it stays the one writer of its ledger.

use bitcoin::hashes::{sha256, Hash};
use bitcoin::hex::{DisplayHex, FromHex};
use sluice_credit::envelope::{Action, Booking, Draw, Status};
use sluice_pool::{IncomeKind, Movement, PartitionKind};
use sluice_storage::{
    CreditEnvelopeRecord, PaymentRecord, QuoteRecord, ReceiptRecord, SettlementAsked, WriteBatch,
};

use super::CreditState;
use crate::nostr::mirror;
use crate::pool::{EnvelopeBooking, PoolMsg, POOL_TIMEOUT};
use crate::receipts::{self, DefaultNoticeReceipt, EnvelopeSettlementReceipt, ReceiptKind};
use crate::{Components, NodeError};

/// Stores `record` (its status already the step's next) with what `actions` say, in
/// `batch` with whatever the caller put there; `paid` is the provider's payment when the
/// step booked a draw. The record as stored.
pub async fn commit(
    state: &mut CreditState,
    mut record: CreditEnvelopeRecord,
    actions: &[Action],
    paid: Option<&PaymentRecord>,
    mut batch: WriteBatch,
) -> Result<CreditEnvelopeRecord, NodeError> {
    let c = state.components.clone();
    let mut movements = Vec::new();
    for action in actions {
        match action {
            Action::Pay { .. } => {}
            Action::Book(booking) => movements.push(movement(&record.envelope_id, *booking)),
            Action::SettlementReceipt(draw) => {
                let payment = paid.ok_or_else(|| {
                    NodeError::Ledger(format!(
                        "envelope {}: a draw without its payment",
                        record.envelope_id
                    ))
                })?;
                let receipt = settlement_receipt(&c, &record, draw, payment).await?;
                record.settlement_receipt_id = Some(receipt.receipt_id.clone());
                record.payment_id = Some(payment.payment_id.clone());
                mirror::stage_settlement(&c, &mut batch, &record, draw, &receipt)?;
                batch.create(&receipt)?;
            }
            Action::DefaultNotice { .. } => {
                let receipt = default_notice(&c, &record).await?;
                record.default_notice_id = Some(receipt.receipt_id.clone());
                mirror::stage_default(&c, &mut batch, &record, &receipt)?;
                batch.create(&receipt)?;
            }
        }
    }
    batch.put(&record)?;
    if movements.is_empty() {
        c.store.commit(batch).await?;
    } else {
        let booking = EnvelopeBooking {
            pool_id: record.pool_id.clone(),
            movements,
            batch,
        };
        c.actors
            .pool
            .call(
                |reply| PoolMsg::BookEnvelope(Box::new(booking), reply),
                POOL_TIMEOUT,
            )
            .await??;
    }
    mirror::staged(&c);
    count(&record.status, actions);
    state.envelopes.put(record.clone());
    Ok(record)
}

/// The CEP partition's movement for `booking`.
fn movement(envelope_id: &str, booking: Booking) -> Movement {
    let partition = PartitionKind::Cep;
    let envelope_id = envelope_id.to_owned();
    match booking {
        Booking::Drawn(draw) => Movement::EnvelopeDrawn {
            partition,
            paid_msat: draw.spent_msat.saturating_add(draw.routing_fee_msat),
            fee_msat: draw.credit_fee_msat,
            envelope_id,
        },
        Booking::Repaid { msat } => Movement::EnvelopeRepaid {
            partition,
            msat,
            envelope_id,
        },
        Booking::Loss { msat } => Movement::EnvelopeWrittenOff {
            partition,
            msat,
            envelope_id,
        },
        Booking::Recovered { msat } => Movement::EnvelopeRecovered {
            partition,
            msat,
            envelope_id,
        },
        Booking::Surplus { msat } => Movement::Income {
            partition,
            source: IncomeKind::Credit,
            msat,
            reference: format!("envelope:{envelope_id}"),
        },
    }
}

/// Counts what the step did.
fn count(status: &Status, actions: &[Action]) {
    for action in actions {
        match action {
            Action::SettlementReceipt(draw) => {
                metrics::counter!("sluice_credit_settlements_total", "outcome" => "success")
                    .increment(1);
                metrics::counter!("sluice_credit_drawn_msat_total").increment(draw.spent_msat);
                metrics::counter!("sluice_credit_fee_msat_total").increment(draw.credit_fee_msat);
            }
            Action::DefaultNotice { reason, loss_msat } => {
                metrics::counter!("sluice_credit_defaults_total", "reason" => reason.as_str())
                    .increment(1);
                metrics::counter!("sluice_credit_loss_msat_total").increment(*loss_msat);
            }
            Action::Pay { .. } | Action::Book(_) => {}
        }
    }
    tracing::info!(state = status.name(), "credit envelope stepped");
}

/// SHA-256 of `text`, hex.
fn sha256_hex(text: &str) -> String {
    sha256::Hash::hash(text.as_bytes())
        .to_byte_array()
        .to_lower_hex_string()
}

/// The signed `envelope_settlement_receipt` of `draw`, paid by `payment`.
async fn settlement_receipt(
    c: &Components,
    record: &CreditEnvelopeRecord,
    draw: &Draw,
    payment: &PaymentRecord,
) -> Result<ReceiptRecord, NodeError> {
    let missing = || {
        NodeError::Ledger(format!(
            "envelope {}: paid without a settlement",
            record.envelope_id
        ))
    };
    let asked = record.asked.as_ref().ok_or_else(missing)?;
    let settlement = record.status.settlement().ok_or_else(missing)?;
    let preimage_sha256 = payment
        .preimage
        .as_deref()
        .and_then(|p| <[u8; 32]>::from_hex(p).ok())
        .map(|p| sha256::Hash::hash(&p).to_byte_array().to_lower_hex_string());
    let now = crate::clock::unix_ms();
    let body = EnvelopeSettlementReceipt {
        schema: ReceiptKind::EnvelopeSettlement.schema().to_owned(),
        envelope_id: record.envelope_id.clone(),
        settlement_id: settlement.settlement_id.clone(),
        issue_receipt_id: record.issue_receipt_id.clone(),
        agent_id: record.agent_id.clone(),
        pool_id: record.pool_id.clone(),
        provider_id: record.provider_id.clone(),
        provider_host: asked.provider_host.clone(),
        scope_type: record.scope_type.as_str().to_owned(),
        scope_id: record.scope_id.clone(),
        mode: mode(asked).to_owned(),
        verification_receipt_sha256: asked.verification_receipt_sha256.clone(),
        invoice_hash: sha256_hex(asked.invoice.trim()),
        payment_hash: asked.payment_hash.clone(),
        payment_id: payment.payment_id.clone(),
        preimage_sha256,
        spent_msats: draw.spent_msat,
        routing_fee_msats: draw.routing_fee_msat,
        credit_fee_msats: draw.credit_fee_msat,
        owed_msats: draw.owed_msat(),
        repay_by_ms: record.limits.repay_by_ms,
        policy_context_sha256: policy_context_sha256(c, asked).await?,
        liquidity_receipt_id: payment.receipt_id.clone(),
        settled_at_ms: now,
    };
    receipts::actor::seal_record(
        &c.actors.receipts,
        ReceiptKind::EnvelopeSettlement,
        &body,
        now,
    )
    .await
}

/// SHA-256 of the settlement's policy context, hex: the quote's, for a TreasuryRouter
/// pay (the quote keeps only its hash).
async fn policy_context_sha256(
    c: &Components,
    asked: &SettlementAsked,
) -> Result<String, NodeError> {
    match &asked.quote_id {
        Some(quote_id) => Ok(c
            .store
            .get::<QuoteRecord>(quote_id.clone())
            .await?
            .map(|q| q.policy_context_sha256)
            .unwrap_or_default()),
        None => Ok(sha256_hex(&asked.policy_context)),
    }
}

/// The settlement's mode, as receipts name it: a TreasuryRouter pay on the envelope
/// (spec §8.2), mode 2 (the agent's authorization) or mode 1.
pub fn mode(asked: &SettlementAsked) -> &'static str {
    if asked.quote_id.is_some() {
        "jit_pay"
    } else if asked.spend_authorization.is_some() {
        "provider_pulls"
    } else {
        "issuer_pays"
    }
}

/// The signed `default_notice` of `record`, which has defaulted.
async fn default_notice(
    c: &Components,
    record: &CreditEnvelopeRecord,
) -> Result<ReceiptRecord, NodeError> {
    let Status::Defaulted {
        reason,
        settlement,
        draw,
        loss_msat,
        ..
    } = &record.status
    else {
        return Err(NodeError::Ledger(format!(
            "envelope {}: a default notice while {}",
            record.envelope_id,
            record.status.name()
        )));
    };
    let now = crate::clock::unix_ms();
    let body = DefaultNoticeReceipt {
        schema: ReceiptKind::DefaultNotice.schema().to_owned(),
        envelope_id: record.envelope_id.clone(),
        settlement_id: settlement.as_ref().map(|s| s.settlement_id.clone()),
        issue_receipt_id: record.issue_receipt_id.clone(),
        agent_id: record.agent_id.clone(),
        pool_id: record.pool_id.clone(),
        provider_id: record.provider_id.clone(),
        scope_type: record.scope_type.as_str().to_owned(),
        scope_id: record.scope_id.clone(),
        reason: reason.as_str().to_owned(),
        verification_receipt_sha256: settlement
            .as_ref()
            .and(record.asked.as_ref())
            .map(|a| a.verification_receipt_sha256.clone()),
        drawn_msats: draw.map_or(0, |d| d.spent_msat),
        loss_msats: *loss_msat,
        exp_ms: record.limits.exp_ms,
        repay_by_ms: record.limits.repay_by_ms,
        defaulted_at_ms: now,
    };
    receipts::actor::seal_record(&c.actors.receipts, ReceiptKind::DefaultNotice, &body, now).await
}
