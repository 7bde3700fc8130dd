//! The [`Mirror`]: the key the node signs its Nostr events with, and the staging of an
//! event in the commit of the change it mirrors — the outbox half of "recorded durably
//! before it is sent". Each `stage_*` function turns a ledger record into its event
//! (built by `sluice-nostr`) and adds it to the caller's batch; with no mirror (no
//! relays) they stage nothing.

use nostr_sdk::{Event, JsonUtil, Keys, PublicKey};
use sluice_credit::envelope::{Draw, Status};
use sluice_nostr::{
    DefaultFacts, EnvelopeFacts, IntentFacts, LabelOutcome, OfferFacts, Scope, SettlementFacts,
    SnapshotFacts, SpendAuthorizationFacts,
};
use sluice_storage::{
    CreditEnvelopeRecord, CreditIntentRecord, CreditOfferRecord, NostrEventRecord,
    NostrOutboxRecord, PoolSnapshotRecord, ReceiptRecord, WriteBatch,
};

use super::config::NostrConfig;
use crate::receipts::PoolSnapshotReceipt;
use crate::{Components, NodeError};

/// The mirror's key and settings, shared by the actors that stage events and the
/// publisher that sends them.
#[derive(Debug, Clone)]
pub struct Mirror {
    keys: Keys,
    config: NostrConfig,
}

impl Mirror {
    /// A mirror signing with `keys`, publishing as `config` says.
    pub fn new(config: NostrConfig, keys: Keys) -> Self {
        Mirror { keys, config }
    }

    /// The key events are signed with (what readers filter on).
    pub fn public_key(&self) -> PublicKey {
        self.keys.public_key()
    }

    /// The signing keys.
    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// The settings.
    pub fn config(&self) -> &NostrConfig {
        &self.config
    }
}

fn build(e: sluice_nostr::NostrError) -> NodeError {
    NodeError::Nostr(e.to_string())
}

/// Adds `event`, mirroring `source`, to `batch`: the event for good (create-only: an
/// event is never signed twice with other content) and its place in the outbox.
fn put(batch: &mut WriteBatch, source: String, event: &Event) -> Result<(), NodeError> {
    let queued_at_ms = crate::clock::unix_ms();
    let event_id = event.id.to_hex();
    batch.create(&NostrEventRecord {
        event_id: event_id.clone(),
        kind: event.kind.as_u16(),
        d: sluice_nostr::d_tag(event).map(str::to_owned),
        source,
        event_json: event.as_json(),
        queued_at_ms,
        deliveries: Default::default(),
    })?;
    batch.put(&NostrOutboxRecord {
        event_id,
        queued_at_ms,
    })?;
    Ok(())
}

fn scope(kind: &str, id: &str) -> Scope {
    Scope {
        kind: kind.to_owned(),
        id: id.to_owned(),
    }
}

fn secs(ms: u64) -> u64 {
    ms / 1000
}

/// Stages the mirror of an intent the node received (kind 39240).
pub fn stage_intent(
    c: &Components,
    batch: &mut WriteBatch,
    r: &CreditIntentRecord,
) -> Result<(), NodeError> {
    let Some(m) = &c.mirror else { return Ok(()) };
    let facts = IntentFacts {
        intent_id: r.intent_id.clone(),
        agent_id: r.agent_id.clone(),
        scope: scope(r.scope_type.as_str(), &r.scope_id),
        max_sats: r.max_sats,
        exp: secs(r.exp_ms),
        created_at: secs(r.created_at_ms),
    };
    let event = sluice_nostr::intent(&m.keys, &facts).map_err(build)?;
    put(batch, format!("intent:{}", r.intent_id), &event)
}

/// Stages an offer (kind 39241).
pub fn stage_offer(
    c: &Components,
    batch: &mut WriteBatch,
    r: &CreditOfferRecord,
    requires_verifier: bool,
) -> Result<(), NodeError> {
    let Some(m) = &c.mirror else { return Ok(()) };
    let facts = OfferFacts {
        offer_id: r.offer_id.clone(),
        agent_id: r.agent_id.clone(),
        pool_id: r.pool_id.clone(),
        intent_id: r.intent_id.clone(),
        scope: scope(r.scope_type.as_str(), &r.scope_id),
        max_sats: r.max_sats,
        fee_bps: r.fee_bps,
        exp: secs(r.exp_ms),
        requires_verifier,
        created_at: secs(r.issued_at_ms),
    };
    let event = sluice_nostr::offer(&m.keys, &facts).map_err(build)?;
    put(batch, format!("offer:{}", r.offer_id), &event)
}

/// Stages an issued envelope (kind 39242).
pub fn stage_envelope(
    c: &Components,
    batch: &mut WriteBatch,
    r: &CreditEnvelopeRecord,
) -> Result<(), NodeError> {
    let Some(m) = &c.mirror else { return Ok(()) };
    let facts = EnvelopeFacts {
        envelope_id: r.envelope_id.clone(),
        offer_id: r.offer_id.clone(),
        agent_id: r.agent_id.clone(),
        pool_id: r.pool_id.clone(),
        provider_id: r.provider_id.clone(),
        scope: scope(r.scope_type.as_str(), &r.scope_id),
        max_sats: r.limits.cap_msat / 1000,
        fee_bps: r.limits.fee_bps,
        exp: secs(r.limits.exp_ms),
        repay_by: secs(r.limits.repay_by_ms),
        issue_receipt_id: r.issue_receipt_id.clone(),
        created_at: secs(r.issued_at_ms),
    };
    let event = sluice_nostr::envelope(&m.keys, &facts).map_err(build)?;
    put(batch, format!("envelope:{}", r.envelope_id), &event)
}

/// Stages the mirror of a mode-2 spend authorization the node received with a settle
/// of `r` (kind 39243), if the settle carried one.
pub fn stage_spend_authorization(
    c: &Components,
    batch: &mut WriteBatch,
    r: &CreditEnvelopeRecord,
) -> Result<(), NodeError> {
    let Some(m) = &c.mirror else { return Ok(()) };
    let (Some(asked), Some(settlement)) = (&r.asked, r.status.settlement()) else {
        return Ok(());
    };
    let Some(signature) = &asked.spend_authorization else {
        return Ok(());
    };
    let facts = SpendAuthorizationFacts {
        settlement_id: settlement.settlement_id.clone(),
        envelope_id: r.envelope_id.clone(),
        agent_id: r.agent_id.clone(),
        scope: scope(r.scope_type.as_str(), &r.scope_id),
        spend_sats: settlement.amount_msat.unwrap_or_default() / 1000,
        payment_hash: asked.payment_hash.clone(),
        signature: signature.clone(),
        created_at: secs(asked.asked_at_ms),
    };
    let event = sluice_nostr::spend_authorization(&m.keys, &facts).map_err(build)?;
    put(
        batch,
        format!("spend_authorization:{}", settlement.settlement_id),
        &event,
    )
}

/// Stages a settlement (kind 39244) and its success label (kind 1985): `r` was paid,
/// `draw` is what it drew, `receipt` its `envelope_settlement_receipt`.
pub fn stage_settlement(
    c: &Components,
    batch: &mut WriteBatch,
    r: &CreditEnvelopeRecord,
    draw: &Draw,
    receipt: &ReceiptRecord,
) -> Result<(), NodeError> {
    let Some(m) = &c.mirror else { return Ok(()) };
    let missing = || NodeError::Nostr(format!("envelope {}: no settlement", r.envelope_id));
    let settlement = r.status.settlement().ok_or_else(missing)?;
    let asked = r.asked.as_ref().ok_or_else(missing)?;
    let facts = SettlementFacts {
        settlement_id: settlement.settlement_id.clone(),
        envelope_id: r.envelope_id.clone(),
        agent_id: r.agent_id.clone(),
        provider_id: r.provider_id.clone(),
        scope: scope(r.scope_type.as_str(), &r.scope_id),
        spent_sats: draw.spent_msat / 1000,
        routing_fee_sats: draw.routing_fee_msat / 1000,
        credit_fee_sats: draw.credit_fee_msat / 1000,
        payment_hash: asked.payment_hash.clone(),
        mode: crate::credit::actions::mode(asked).to_owned(),
        receipt_id: receipt.receipt_id.clone(),
        created_at: secs(receipt.created_at_ms),
    };
    let event = sluice_nostr::settlement(&m.keys, &facts).map_err(build)?;
    let label = sluice_nostr::label(
        &m.keys,
        &r.agent_id,
        LabelOutcome::Success,
        &event,
        facts.spent_sats,
    )
    .map_err(build)?;
    put(
        batch,
        format!("settlement:{}", settlement.settlement_id),
        &event,
    )?;
    put(batch, format!("label:{}", settlement.settlement_id), &label)
}

/// Stages a default notice (kind 39245) and its default label (kind 1985): `r` has
/// defaulted, `receipt` is its `default_notice`.
pub fn stage_default(
    c: &Components,
    batch: &mut WriteBatch,
    r: &CreditEnvelopeRecord,
    receipt: &ReceiptRecord,
) -> Result<(), NodeError> {
    let Some(m) = &c.mirror else { return Ok(()) };
    let Status::Defaulted {
        reason, loss_msat, ..
    } = &r.status
    else {
        return Err(NodeError::Nostr(format!(
            "envelope {}: a default notice while {}",
            r.envelope_id,
            r.status.name()
        )));
    };
    let facts = DefaultFacts {
        default_id: receipt.receipt_id.clone(),
        envelope_id: r.envelope_id.clone(),
        agent_id: r.agent_id.clone(),
        scope: scope(r.scope_type.as_str(), &r.scope_id),
        reason: reason.as_str().to_owned(),
        // The capital lost: 0 for a default before anything was paid.
        loss_sats: loss_msat / 1000,
        receipt_id: receipt.receipt_id.clone(),
        created_at: secs(receipt.created_at_ms),
    };
    let event = sluice_nostr::default_notice(&m.keys, &facts).map_err(build)?;
    let label = sluice_nostr::label(
        &m.keys,
        &r.agent_id,
        LabelOutcome::Default,
        &event,
        facts.loss_sats,
    )
    .map_err(build)?;
    put(batch, format!("default:{}", r.envelope_id), &event)?;
    put(batch, format!("label:default:{}", r.envelope_id), &label)
}

/// Stages a proof snapshot (kind 30078): `record` with its sealed `receipt`.
pub fn stage_snapshot(
    c: &Components,
    batch: &mut WriteBatch,
    record: &PoolSnapshotRecord,
    receipt: &ReceiptRecord,
) -> Result<(), NodeError> {
    let Some(m) = &c.mirror else { return Ok(()) };
    let body: PoolSnapshotReceipt = serde_json::from_value(receipt.body.clone())
        .map_err(|e| NodeError::Nostr(format!("reading the snapshot receipt: {e}")))?;
    let receipt_sha256 = receipt.body["canonical_json_sha256"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let facts = SnapshotFacts {
        pool_id: record.pool_id.clone(),
        seq: record.seq,
        root_hash: body.liabilities.merkle_root.clone(),
        liabilities_msat: body.liabilities.total_msats,
        assets_msat: body.assets.total_msats,
        receipt_id: receipt.receipt_id.clone(),
        receipt_sha256,
        created_at: secs(record.taken_at_ms),
    };
    let event = sluice_nostr::pool_snapshot(&m.keys, &facts).map_err(build)?;
    put(
        batch,
        format!("snapshot:{}/{}", record.pool_id, record.seq),
        &event,
    )
}

/// Tells the publisher that events were committed to the outbox; a publisher that is
/// not running finds them when it starts.
pub fn staged(c: &Components) {
    if c.mirror.is_some() {
        let _ = c.actors.publisher.cast(super::PublisherMsg::Staged);
    }
}
