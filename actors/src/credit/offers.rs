//! Offers (spec §7.1): underwriting decides the cap and fee from the agent's record at
//! this node; the request only asks, within the intent it names. The whole decision
//! (record, policy, result) is stored with the offer so it can be replayed. An offer is
//! idempotent by its request: the same request from the same caller answers the same
//! offer, as it was decided then.

use sluice_credit::offer::{self, Ask, IntentBounds, Refusal};
use sluice_credit::underwriting::{underwrite, ScopeType};
use sluice_pool::PartitionKind;
use sluice_storage::{CreditIntentRecord, CreditOfferRecord, OfferStatus, WriteBatch};

use super::{CreditConfig, CreditState};
use crate::clock::unix_ms;
use crate::nostr::mirror;
use crate::pool::{PoolMsg, PoolStatus, POOL_TIMEOUT};
use crate::{Components, NodeError};

/// An offer asked for, its shape checked by the API.
#[derive(Debug, Clone)]
pub struct OfferAsk {
    /// The caller (API token id).
    pub caller: String,
    /// The request's fingerprint: the same request answers the same offer.
    pub fingerprint: String,
    /// The agent.
    pub agent_id: String,
    /// The pool whose CEP partition lends.
    pub pool_id: String,
    /// The intent it answers, if any.
    pub intent_id: Option<String>,
    /// What for.
    pub scope_type: ScopeType,
    /// Which job, call or skill.
    pub scope_id: String,
    /// The most asked, sat.
    pub max_sats: u64,
    /// Whether an objective verification gates payment; credit is only for such
    /// outcomes (spec §6.2), so it must be true.
    pub requires_verifier: bool,
    /// Until when the offer should stand, Unix ms.
    pub exp_ms: u64,
}

/// The pool `pool_id`, which must lend from a CEP partition.
pub async fn cep_pool(c: &Components, pool_id: &str) -> Result<PoolStatus, NodeError> {
    let id = pool_id.to_owned();
    let status = c
        .actors
        .pool
        .call(|reply| PoolMsg::Status(id, reply), POOL_TIMEOUT)
        .await??;
    if !status.record.partitions.contains(&PartitionKind::Cep) {
        return Err(NodeError::InvalidRequest(format!(
            "pool_id: pool {pool_id} has no cep partition"
        )));
    }
    Ok(status)
}

/// What the CEP partition of `pool` can lend: its assets less what it owes LPs
/// (withdrawals being paid), before what envelopes reserve.
pub fn cep_free_msat(pool: &PoolStatus) -> u64 {
    pool.partitions
        .iter()
        .find(|(kind, _)| *kind == PartitionKind::Cep)
        .map(|(_, balances)| {
            balances
                .assets_msat
                .saturating_sub(balances.pending_withdrawals_msat)
        })
        .unwrap_or(0)
}

/// Makes the offer `ask` asks for, or answers the one its request made before.
pub async fn offer(
    state: &mut CreditState,
    config: &CreditConfig,
    ask: OfferAsk,
) -> Result<CreditOfferRecord, NodeError> {
    let c = &state.components;
    let offer_id = super::derived_id("cepo", &format!("{}/{}", ask.caller, ask.fingerprint));
    if let Some(made) = c.store.get::<CreditOfferRecord>(offer_id.clone()).await? {
        return Ok(made);
    }
    if !ask.requires_verifier {
        return Err(NodeError::InvalidRequest(
            "requires_verifier: credit is only for objectively verified outcomes".into(),
        ));
    }
    cep_pool(c, &ask.pool_id).await?;
    let intent = match &ask.intent_id {
        None => None,
        Some(intent_id) => Some(intent_of(c, intent_id, &ask).await?),
    };
    let now = unix_ms();
    let terms = underwrite(
        &state.envelopes.record(&ask.agent_id, now),
        ask.scope_type,
        &config.policy(),
    );
    let ttl_ms = u64::try_from(config.max_offer_ttl.as_millis()).unwrap_or(u64::MAX);
    let bounds = intent.as_ref().map(|i| IntentBounds {
        max_sats: i.max_sats,
        exp_ms: i.exp_ms,
    });
    let offered = offer::offer(
        &Ask {
            max_sats: ask.max_sats,
            exp_ms: ask.exp_ms,
        },
        bounds.as_ref(),
        &terms,
        now,
        ttl_ms,
    )
    .map_err(|refusal| match refusal {
        Refusal::NoCredit => NodeError::NoCredit(format!(
            "agent {}: underwriting allows 0 sat now",
            ask.agent_id
        )),
        Refusal::IntentExpired | Refusal::BeyondIntent => {
            NodeError::InvalidRequest(format!("intent_id: {refusal}"))
        }
        Refusal::Nothing => NodeError::InvalidRequest(format!("max_sats: {refusal}")),
        Refusal::Expired | Refusal::TooLong { .. } => {
            NodeError::InvalidRequest(format!("exp: {refusal}"))
        }
    })?;
    let record = CreditOfferRecord {
        offer_id,
        agent_id: ask.agent_id,
        pool_id: ask.pool_id,
        intent_id: ask.intent_id,
        scope_type: ask.scope_type,
        scope_id: ask.scope_id,
        max_sats: offered.max_sats,
        fee_bps: offered.fee_bps,
        exp_ms: offered.exp_ms,
        terms,
        status: OfferStatus::Offered,
        issued_at_ms: now,
    };
    let mut batch = WriteBatch::new();
    batch.create(&record)?;
    // Every settlement needs the verifier's receipt (spec §7.2).
    mirror::stage_offer(c, &mut batch, &record, true)?;
    c.store.commit(batch).await?;
    mirror::staged(c);
    metrics::counter!("sluice_credit_offers_total").increment(1);
    tracing::info!(offer_id = %record.offer_id, agent_id = %record.agent_id,
        max_sats = record.max_sats, fee_bps = record.fee_bps,
        limit_sats = record.terms.limit_sats, "credit offered");
    Ok(record)
}

/// The intent an offer names: it must exist and be the same agent's, for the same scope.
async fn intent_of(
    c: &Components,
    intent_id: &str,
    ask: &OfferAsk,
) -> Result<CreditIntentRecord, NodeError> {
    let intent = c
        .store
        .get::<CreditIntentRecord>(intent_id.to_owned())
        .await?
        .ok_or_else(|| NodeError::NotFound(format!("intent {intent_id}")))?;
    if intent.agent_id != ask.agent_id
        || intent.scope_type != ask.scope_type
        || intent.scope_id != ask.scope_id
    {
        return Err(NodeError::InvalidRequest(format!(
            "intent_id: intent {intent_id} is another agent's or for another scope"
        )));
    }
    Ok(intent)
}
