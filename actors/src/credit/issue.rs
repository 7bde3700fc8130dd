//! Issuing an envelope from an offer (spec §6.2): for one provider, at the offer's cap and
//! fee, until the offer's expiry. Checked in order: the offer exists, is not taken up by
//! another provider and has not expired; the loss breaker lets new envelopes through; the
//! agent has fewer live envelopes than allowed; its limit now (underwritten again, since
//! other envelopes may have been issued since the offer) still covers the cap; and the
//! CEP partition can reserve the cap beside everything it has committed already (its
//! assets less what it owes LPs). The envelope, its signed `envelope_issue_receipt` and
//! the offer marked taken go in one commit. Idempotent: the same offer and provider
//! answer the same envelope.

use sluice_credit::breaker;
use sluice_credit::envelope::{Limits, Status};
use sluice_credit::exposure::fits;
use sluice_credit::underwriting::underwrite;
use sluice_storage::{CreditEnvelopeRecord, CreditOfferRecord, OfferStatus, WriteBatch};

use super::offers::{cep_free_msat, cep_pool};
use super::views::{self, EnvelopeView};
use super::{CreditConfig, CreditState};
use crate::clock::unix_ms;
use crate::nostr::mirror;
use crate::receipts::{self, EnvelopeIssueReceipt, ReceiptKind};
use crate::NodeError;

/// An envelope asked for, its shape checked by the API.
#[derive(Debug, Clone)]
pub struct EnvelopeAsk {
    /// The offer to take up.
    pub offer_id: String,
    /// The provider it pays (x-only public key, hex).
    pub provider_id: String,
}

/// Issues the envelope `ask` asks for, or answers the one issued for it before.
pub async fn issue(
    state: &mut CreditState,
    config: &CreditConfig,
    ask: EnvelopeAsk,
) -> Result<EnvelopeView, NodeError> {
    let c = state.components.clone();
    let offer = c
        .store
        .get::<CreditOfferRecord>(ask.offer_id.clone())
        .await?
        .ok_or_else(|| NodeError::NotFound(format!("offer {}", ask.offer_id)))?;
    let envelope_id = super::derived_id("cepe", &format!("{}/{}", offer.offer_id, ask.provider_id));
    if state.envelopes.get(&envelope_id).is_some() {
        return views::envelope(state, &envelope_id).await;
    }
    if offer.status != OfferStatus::Offered {
        return Err(NodeError::OfferState(format!(
            "{} was taken up for another provider",
            offer.offer_id
        )));
    }
    let now = unix_ms();
    if offer.exp_ms <= now {
        return Err(NodeError::OfferExpired(offer.offer_id));
    }
    if state.judge_losses(config) == breaker::State::Tripped {
        return Err(NodeError::CreditHalted(
            "the loss-rate breaker is tripped: no new envelopes".into(),
        ));
    }
    let open = state.envelopes.live_count(&offer.agent_id);
    if open >= config.max_open_envelopes_per_agent {
        return Err(NodeError::TooManyEnvelopes {
            open,
            max: config.max_open_envelopes_per_agent,
        });
    }
    let now_terms = underwrite(
        &state.envelopes.record(&offer.agent_id, now),
        offer.scope_type,
        &config.policy(),
    );
    if offer.max_sats > now_terms.limit_sats {
        return Err(NodeError::NoCredit(format!(
            "agent {}'s limit is {} sat now, below the offer's {} sat",
            offer.agent_id, now_terms.limit_sats, offer.max_sats
        )));
    }
    let pool = cep_pool(&c, &offer.pool_id).await?;
    let cep = cep_free_msat(&pool);
    let reserved = state.envelopes.reserved_msat(&offer.pool_id);
    let cap_msat = offer.max_sats.saturating_mul(1000);
    if !fits(cep, reserved, cap_msat) {
        return Err(NodeError::CreditCommitted {
            asked_msat: cap_msat,
            free_msat: cep.saturating_sub(reserved),
        });
    }

    let repay_within_ms = u64::try_from(config.repay_within.as_millis()).unwrap_or(u64::MAX);
    let limits = Limits {
        cap_msat,
        fee_bps: offer.fee_bps,
        exp_ms: offer.exp_ms,
        repay_by_ms: offer.exp_ms.saturating_add(repay_within_ms),
    };
    let body = EnvelopeIssueReceipt {
        schema: ReceiptKind::EnvelopeIssue.schema().to_owned(),
        envelope_id: envelope_id.clone(),
        offer_id: offer.offer_id.clone(),
        agent_id: offer.agent_id.clone(),
        pool_id: offer.pool_id.clone(),
        provider_id: ask.provider_id.clone(),
        scope_type: offer.scope_type.as_str().to_owned(),
        scope_id: offer.scope_id.clone(),
        max_sats: offer.max_sats,
        fee_bps: offer.fee_bps,
        underwriting_limit_sats: offer.terms.limit_sats,
        exp_ms: limits.exp_ms,
        repay_by_ms: limits.repay_by_ms,
        created_at_ms: now,
    };
    let receipt =
        receipts::actor::seal_record(&c.actors.receipts, ReceiptKind::EnvelopeIssue, &body, now)
            .await?;
    let record = CreditEnvelopeRecord {
        envelope_id: envelope_id.clone(),
        offer_id: offer.offer_id.clone(),
        agent_id: offer.agent_id.clone(),
        pool_id: offer.pool_id.clone(),
        provider_id: ask.provider_id,
        scope_type: offer.scope_type,
        scope_id: offer.scope_id.clone(),
        limits,
        status: Status::Open,
        issue_receipt_id: receipt.receipt_id.clone(),
        settlement_receipt_id: None,
        default_notice_id: None,
        payment_id: None,
        issued_at_ms: now,
        updated_at_ms: now,
        asked: None,
        failed_payments: 0,
    };
    let taken = CreditOfferRecord {
        status: OfferStatus::Accepted,
        ..offer
    };
    let mut batch = WriteBatch::new();
    batch.create(&record)?;
    batch.create(&receipt)?;
    batch.put(&taken)?;
    mirror::stage_envelope(&c, &mut batch, &record)?;
    c.store.commit(batch).await?;
    mirror::staged(&c);
    metrics::counter!("sluice_credit_envelopes_total", "stage" => "issued").increment(1);
    tracing::info!(%envelope_id, agent_id = %record.agent_id, cap_msat,
        fee_bps = record.limits.fee_bps, "credit envelope issued");
    state.envelopes.put(record);
    views::envelope(state, &envelope_id).await
}
