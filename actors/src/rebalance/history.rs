//! The rebalances of the last day (or of the earnings window, if longer), kept in
//! memory and rebuilt from the `rebalances` table at start: what the budget has spent in
//! the last 24 hours, what each peer's channels cost over the window, the totals the
//! status reports, and which rebalances have not ended.

use std::collections::BTreeMap;

use sluice_storage::{RebalanceRecord, RebalanceState};

/// 24 hours, ms: the budget's period.
pub const DAY_MS: u64 = 24 * 3_600 * 1_000;

/// Totals over a window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    /// Rebalances sent.
    pub attempts: u64,
    /// Those that moved their amount.
    pub succeeded: u64,
    /// Those that failed.
    pub failed: u64,
    /// Fees paid, msat.
    pub fees_paid_msat: u64,
    /// Balance moved, msat.
    pub moved_msat: u64,
}

/// Recent rebalances by key (start time, then id).
#[derive(Debug, Default)]
pub struct History {
    records: BTreeMap<String, RebalanceRecord>,
}

impl History {
    /// The history of `records`.
    pub fn of(records: Vec<RebalanceRecord>) -> History {
        History {
            records: records
                .into_iter()
                .map(|r| (RebalanceRecord::table_key(r.started_at_ms, &r.id), r))
                .collect(),
        }
    }

    /// Adds or replaces `record`.
    pub fn put(&mut self, record: RebalanceRecord) {
        let key = RebalanceRecord::table_key(record.started_at_ms, &record.id);
        self.records.insert(key, record);
    }

    /// The rebalance `id`, if it is recent.
    pub fn get(&self, id: &str) -> Option<&RebalanceRecord> {
        self.records.values().find(|r| r.id == id)
    }

    /// Forgets what started before `since_ms`, unless it has not ended.
    pub fn forget_before(&mut self, since_ms: u64) {
        self.records
            .retain(|_, r| r.started_at_ms >= since_ms || r.state == RebalanceState::Pending);
    }

    /// What the rebalances started at or after `since_ms` spent: fees paid, and the
    /// ceiling of those not ended.
    pub fn spent_since(&self, since_ms: u64) -> u64 {
        self.since(since_ms).map(RebalanceRecord::spend_msat).sum()
    }

    /// [`History::spent_since`] per refilled channel's peer.
    pub fn spent_by_peer_since(&self, since_ms: u64) -> BTreeMap<String, u64> {
        let mut spent = BTreeMap::new();
        for r in self.since(since_ms) {
            *spent.entry(r.to_peer.clone()).or_insert(0) += r.spend_msat();
        }
        spent
    }

    /// Totals of the rebalances started at or after `since_ms`.
    pub fn totals_since(&self, since_ms: u64) -> Totals {
        let mut totals = Totals::default();
        for r in self.since(since_ms) {
            totals.attempts += 1;
            match r.state {
                RebalanceState::Succeeded => {
                    totals.succeeded += 1;
                    totals.fees_paid_msat += r.fee_paid_msat.unwrap_or(0);
                    totals.moved_msat += r.amount_msat;
                }
                RebalanceState::Failed => totals.failed += 1,
                RebalanceState::Pending => {}
            }
        }
        totals
    }

    /// The rebalances not ended.
    pub fn pending(&self) -> impl Iterator<Item = &RebalanceRecord> {
        self.records
            .values()
            .filter(|r| r.state == RebalanceState::Pending)
    }

    /// The latest `count`, newest first.
    pub fn latest(&self, count: usize) -> Vec<RebalanceRecord> {
        self.records.values().rev().take(count).cloned().collect()
    }

    fn since(&self, since_ms: u64) -> impl Iterator<Item = &RebalanceRecord> {
        self.records
            .values()
            .filter(move |r| r.started_at_ms >= since_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, at: u64, state: RebalanceState, fee: Option<u64>) -> RebalanceRecord {
        RebalanceRecord {
            id: id.into(),
            payment_id: id.into(),
            from_channel: "f".into(),
            to_channel: "t".into(),
            to_peer: format!("peer-{id}"),
            amount_msat: 1_000,
            max_fee_msat: 100,
            fee_paid_msat: fee,
            booked_msat: fee,
            pool_id: None,
            state,
            failure: None,
            receipt_id: None,
            started_at_ms: at,
            ended_at_ms: None,
        }
    }

    #[test]
    fn spend_counts_fees_paid_and_the_ceiling_of_what_is_in_flight() {
        let mut history = History::of(vec![
            record("a", 10, RebalanceState::Succeeded, Some(7)),
            record("b", 20, RebalanceState::Failed, None),
            record("c", 30, RebalanceState::Pending, None),
        ]);
        assert_eq!(history.spent_since(0), 107);
        assert_eq!(history.spent_since(15), 100);
        assert_eq!(history.spent_by_peer_since(0)["peer-a"], 7);
        let totals = history.totals_since(0);
        assert_eq!(
            (
                totals.attempts,
                totals.succeeded,
                totals.failed,
                totals.fees_paid_msat,
                totals.moved_msat
            ),
            (3, 1, 1, 7, 1_000)
        );
        history.forget_before(25);
        assert_eq!(history.latest(10).len(), 1);
        history.forget_before(40);
        assert_eq!(
            history.pending().count(),
            1,
            "a rebalance in flight is never forgotten"
        );
        history.put(record("c", 30, RebalanceState::Succeeded, Some(3)));
        assert_eq!(history.spent_since(0), 3);
        assert_eq!(
            history.get("c").map(|r| r.state),
            Some(RebalanceState::Succeeded)
        );
    }
}
