//! What the envelope ledger shows: an envelope with its receipts, an agent's exposure
//! and terms now, and the credit health (commitments and the breakers).

use serde_json::Value;
use sluice_credit::breaker::{State, Window};
use sluice_credit::underwriting::{underwrite, Record, ScopeType};
use sluice_storage::{CreditEnvelopeRecord, ReceiptRecord};

use super::{CreditConfig, CreditState};
use crate::clock::unix_ms;
use crate::NodeError;

/// An envelope as the API shows it.
#[derive(Debug, Clone)]
pub struct EnvelopeView {
    /// The envelope.
    pub record: CreditEnvelopeRecord,
    /// Its signed `envelope_issue_receipt`.
    pub issue_receipt: Value,
}

/// An agent's exposure and what underwriting would offer it now.
#[derive(Debug, Clone)]
pub struct Exposure {
    /// The agent.
    pub agent_id: String,
    /// Its record as underwriting reads it.
    pub record: Record,
    /// Its live envelopes (open, paying or owed).
    pub live_envelopes: u32,
    /// Its limit now, sat.
    pub limit_sats: u64,
    /// Its default rate, basis points of settled envelopes.
    pub default_rate_bps: u32,
    /// The fee it would be offered for each scope, basis points.
    pub fee_bps: Vec<(ScopeType, u32)>,
    /// When this was computed, Unix ms.
    pub computed_at_ms: u64,
}

/// The credit health (spec §6.3).
#[derive(Debug, Clone)]
pub struct CreditHealth {
    /// Live envelopes in all.
    pub live_envelopes: u32,
    /// What they reserve from CEP partitions, msat.
    pub reserved_msat: u64,
    /// The outcomes the loss breaker judged.
    pub loss_window: Window,
    /// The loss breaker: tripped, no new envelopes.
    pub loss_breaker: State,
    /// The outgoing payments the Lightning breaker judged.
    pub ln_window: Window,
    /// The Lightning breaker: tripped, no settlement above `large_settlement_sats`.
    pub ln_breaker: State,
    /// The settings in force.
    pub config: CreditConfig,
    /// When this was computed, Unix ms.
    pub computed_at_ms: u64,
}

/// The envelope `envelope_id` with its receipt.
pub async fn envelope(state: &CreditState, envelope_id: &str) -> Result<EnvelopeView, NodeError> {
    let record = state
        .envelopes
        .get(envelope_id)
        .cloned()
        .ok_or_else(|| NodeError::NotFound(format!("envelope {envelope_id}")))?;
    let issue_receipt = state
        .components
        .store
        .get::<ReceiptRecord>(record.issue_receipt_id.clone())
        .await?
        .map(|r| r.body)
        .ok_or_else(|| NodeError::NotFound(format!("receipt {}", record.issue_receipt_id)))?;
    Ok(EnvelopeView {
        record,
        issue_receipt,
    })
}

/// `agent_id`'s exposure and terms now.
pub fn exposure(state: &CreditState, config: &CreditConfig, agent_id: &str) -> Exposure {
    let now = unix_ms();
    let record = state.envelopes.record(agent_id, now);
    let policy = config.policy();
    let nip90 = underwrite(&record, ScopeType::Nip90, &policy);
    let fee_bps = [ScopeType::Nip90, ScopeType::L402, ScopeType::Skill]
        .into_iter()
        .map(|scope| (scope, underwrite(&record, scope, &policy).fee_bps))
        .collect();
    Exposure {
        agent_id: agent_id.to_owned(),
        record,
        live_envelopes: state.envelopes.live_count(agent_id),
        limit_sats: nip90.limit_sats,
        default_rate_bps: nip90.default_rate_bps,
        fee_bps,
        computed_at_ms: now,
    }
}

/// The credit health now; the breakers are judged on the way.
pub async fn health(
    state: &mut CreditState,
    config: &CreditConfig,
) -> Result<CreditHealth, NodeError> {
    let loss_breaker = state.judge_losses(config);
    let ln_breaker = state.judge_lightning(config).await?;
    Ok(CreditHealth {
        live_envelopes: state.envelopes.live_total(),
        reserved_msat: state.envelopes.reserved_all_msat(),
        loss_window: state.envelopes.loss_window(config.loss_window),
        loss_breaker,
        ln_window: state.ln_window,
        ln_breaker,
        config: config.clone(),
        computed_at_ms: unix_ms(),
    })
}
