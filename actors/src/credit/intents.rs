//! Intents (NIP-AC): an agent says what it may ask credit for, for which scope, until
//! when. An intent commits the pool to nothing; an offer that names it stays within it.
//! Idempotent by the agent's key: the same key and request answer the same intent, the
//! same key with another request is an `idempotency_conflict`.

use serde_json::json;
use sluice_credit::underwriting::ScopeType;
use sluice_storage::{CreditIntentRecord, WriteBatch};

use super::CreditConfig;
use crate::clock::unix_ms;
use crate::idempotency::{self, Seen};
use crate::nostr::mirror;
use crate::{Components, NodeError};

/// The idempotency operation of intents.
const OPERATION: &str = "credit-intent";

/// An intent to file, its shape checked by the API.
#[derive(Debug, Clone)]
pub struct IntentAsk {
    /// The caller (API token id): keys are per caller.
    pub caller: String,
    /// The agent's idempotency key.
    pub idempotency_key: String,
    /// The request's fingerprint.
    pub fingerprint: String,
    /// The agent (x-only public key, hex).
    pub agent_id: String,
    /// What for.
    pub scope_type: ScopeType,
    /// Which job, call or skill.
    pub scope_id: String,
    /// The most it may ask, sat.
    pub max_sats: u64,
    /// Until when it stands, Unix ms.
    pub exp_ms: u64,
    /// The caller's policy context, JSON text.
    pub policy_context: String,
}

/// Files `ask`, or answers the intent its key filed before.
pub async fn file(
    c: &Components,
    config: &CreditConfig,
    ask: IntentAsk,
) -> Result<CreditIntentRecord, NodeError> {
    let scope = idempotency::scope(OPERATION, &ask.caller);
    let intent_id = super::derived_id("cepi", &format!("{scope}/{}", ask.idempotency_key));
    match idempotency::seen(&c.store, &scope, &ask.idempotency_key, &ask.fingerprint).await? {
        Seen::New => {}
        Seen::Answered(_) | Seen::Unfinished(_) => {
            return c
                .store
                .get::<CreditIntentRecord>(intent_id.clone())
                .await?
                .ok_or_else(|| NodeError::NotFound(format!("intent {intent_id}")));
        }
    }
    let now = unix_ms();
    if ask.max_sats == 0 || ask.max_sats > config.max_envelope_sats {
        return Err(NodeError::InvalidRequest(format!(
            "max_sats: must be 1 to {}",
            config.max_envelope_sats
        )));
    }
    let ttl_ms = u64::try_from(config.max_offer_ttl.as_millis()).unwrap_or(u64::MAX);
    if ask.exp_ms <= now || ask.exp_ms - now > ttl_ms {
        return Err(NodeError::InvalidRequest(format!(
            "exp: must be in the future and at most {} s away",
            config.max_offer_ttl.as_secs()
        )));
    }
    let record = CreditIntentRecord {
        intent_id: intent_id.clone(),
        idempotency_key: ask.idempotency_key.clone(),
        fingerprint: ask.fingerprint.clone(),
        agent_id: ask.agent_id,
        scope_type: ask.scope_type,
        scope_id: ask.scope_id,
        max_sats: ask.max_sats,
        exp_ms: ask.exp_ms,
        policy_context: ask.policy_context,
        created_at_ms: now,
    };
    let mut batch = WriteBatch::new();
    batch.create(&record)?;
    batch.create(&idempotency::record(
        &scope,
        &ask.idempotency_key,
        &ask.fingerprint,
        json!({ idempotency::ANSWER: { "intent_id": intent_id } }),
    ))?;
    mirror::stage_intent(c, &mut batch, &record)?;
    c.store.commit(batch).await?;
    mirror::staged(c);
    metrics::counter!("sluice_credit_intents_total").increment(1);
    Ok(record)
}
