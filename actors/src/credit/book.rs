//! The envelope ledger's view of every envelope: loaded whole at start and kept in step
//! with each commit, so an agent's record, the partition's commitments and the loss
//! breaker's window are read without touching the store.

use std::collections::HashMap;

use sluice_credit::breaker::Window;
use sluice_credit::envelope::Status;
use sluice_credit::exposure::{self, Seen};
use sluice_credit::underwriting::Record;
use sluice_storage::{CreditEnvelopeRecord, Store, KEYS_END};

use crate::NodeError;

/// Every envelope, by id.
#[derive(Debug, Default)]
pub struct Envelopes {
    by_id: HashMap<String, CreditEnvelopeRecord>,
}

impl Envelopes {
    /// Every envelope in the store.
    pub async fn load(store: &Store) -> Result<Envelopes, NodeError> {
        let all = store
            .range::<CreditEnvelopeRecord>("", KEYS_END, usize::MAX, false)
            .await?;
        Ok(Envelopes {
            by_id: all.into_iter().collect(),
        })
    }

    /// What the stored envelopes hold back from CEP partitions, msat: of `pool_id`'s, or
    /// of every pool's. Read from the store, for actors that must not wait on the
    /// envelope ledger (it waits on them).
    pub async fn stored_reservations(
        store: &Store,
        pool_id: Option<&str>,
    ) -> Result<u64, NodeError> {
        let all = store
            .range::<CreditEnvelopeRecord>("", KEYS_END, usize::MAX, false)
            .await?;
        Ok(exposure::reserved_msat(
            all.iter()
                .map(|(_, e)| e)
                .filter(|e| pool_id.is_none_or(|p| e.pool_id == p))
                .map(Self::seen),
        ))
    }

    /// The envelope `envelope_id`, if issued.
    pub fn get(&self, envelope_id: &str) -> Option<&CreditEnvelopeRecord> {
        self.by_id.get(envelope_id)
    }

    /// Every envelope.
    pub fn all(&self) -> impl Iterator<Item = &CreditEnvelopeRecord> {
        self.by_id.values()
    }

    /// Records `envelope` as it now stands (after its commit).
    pub fn put(&mut self, envelope: CreditEnvelopeRecord) {
        self.by_id.insert(envelope.envelope_id.clone(), envelope);
    }

    fn seen(envelope: &CreditEnvelopeRecord) -> Seen<'_> {
        Seen {
            limits: &envelope.limits,
            status: &envelope.status,
            at_ms: envelope.updated_at_ms,
        }
    }

    fn of<'a>(&'a self, agent_id: &'a str) -> impl Iterator<Item = &'a CreditEnvelopeRecord> {
        self.by_id.values().filter(move |e| e.agent_id == agent_id)
    }

    /// `agent_id`'s record at `now_ms`, as underwriting reads it.
    pub fn record(&self, agent_id: &str, now_ms: u64) -> Record {
        exposure::record(self.of(agent_id).map(Self::seen), now_ms)
    }

    /// How many of `agent_id`'s envelopes are live (open, paying or owed).
    pub fn live_count(&self, agent_id: &str) -> u32 {
        let live = self.of(agent_id).filter(|e| e.status.is_live()).count();
        u32::try_from(live).unwrap_or(u32::MAX)
    }

    /// How many envelopes are live in all.
    pub fn live_total(&self) -> u32 {
        let live = self.by_id.values().filter(|e| e.status.is_live()).count();
        u32::try_from(live).unwrap_or(u32::MAX)
    }

    /// What the envelopes of `pool_id` hold back from its CEP partition, msat.
    pub fn reserved_msat(&self, pool_id: &str) -> u64 {
        exposure::reserved_msat(
            self.by_id
                .values()
                .filter(|e| e.pool_id == pool_id)
                .map(Self::seen),
        )
    }

    /// What every envelope holds back from the CEP partitions, msat.
    pub fn reserved_all_msat(&self) -> u64 {
        exposure::reserved_msat(self.by_id.values().map(Self::seen))
    }

    /// The last `size` outcomes, newest first: a draw (owed or repaid) is good, a default
    /// bad.
    pub fn loss_window(&self, size: u32) -> Window {
        let mut ended: Vec<(u64, bool)> = self
            .by_id
            .values()
            .filter_map(|e| match e.status {
                Status::Owed { .. } | Status::Repaid { .. } => Some((e.updated_at_ms, false)),
                Status::Defaulted { .. } => Some((e.updated_at_ms, true)),
                Status::Open | Status::Paying { .. } => None,
            })
            .collect();
        ended.sort_unstable_by_key(|&(at, _)| std::cmp::Reverse(at));
        let size = usize::try_from(size).unwrap_or(usize::MAX);
        let last = &ended[..ended.len().min(size)];
        let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        Window {
            samples: count(last.len()),
            bad: count(last.iter().filter(|(_, bad)| *bad).count()),
        }
    }
}
