//! Per-token spend budgets (ARCHITECTURE.md §5): what an agent's `pay` token may spend,
//! per payment and per period, until when, and to whom.
//!
//! A payment's cost (amount plus fee ceiling) is reserved before it is recorded and the
//! reservation is stored in the attempt's own batch ([`Hold`]), so concurrent payments
//! of one token cannot overshoot: the check and the reservation happen under one lock,
//! before any await. The payment's outcome settles the reservation in the outcome's
//! batch: a success counts what it cost (amount plus the fee paid), a failure nothing.
//!
//! The period totals are kept in memory and rebuilt from the store on first use after a
//! start or a renewal, from the period's own spend records
//! ([`BudgetSpendRecord::period_prefix`]), never from the token's whole history.
//!
//! # Layout
//!
//! - [`policy`]: the configured limits and the calendar of periods (pure).
//! - this module: the book of period totals, reservations and the budget view.

pub mod policy;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use bitcoin::secp256k1::PublicKey;
use sluice_storage::{BudgetSpendRecord, PaymentRecord, Store};

pub use policy::{BudgetPolicy, Refusal, Renewal};

use crate::clock::unix_ms;
use crate::NodeError;

/// Every token's budget, and what each spent in its current period.
#[derive(Debug, Default)]
pub struct Budgets {
    policies: HashMap<String, BudgetPolicy>,
    totals: Mutex<HashMap<String, PeriodTotal>>,
}

/// What a token spent (or holds reserved) in one period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PeriodTotal {
    start_ms: u64,
    used_msat: u64,
}

/// A token's budget as `GET /v1/node/budget` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BudgetView {
    /// The token (its SHA-256, hex).
    pub token: String,
    /// The limits.
    pub policy: BudgetPolicy,
    /// What the current period's payments cost, settled or reserved.
    pub used_msat: u64,
    /// The start of the current period, ms since the Unix epoch.
    pub period_start_ms: u64,
    /// When the allowance renews, if ever.
    pub renews_at_ms: Option<u64>,
}

impl Budgets {
    /// The budgets of the tokens in `policies` (by token SHA-256, hex); other tokens
    /// have none.
    pub fn new(policies: HashMap<String, BudgetPolicy>) -> Budgets {
        Budgets {
            policies,
            totals: Mutex::new(HashMap::new()),
        }
    }

    fn totals(&self) -> MutexGuard<'_, HashMap<String, PeriodTotal>> {
        // A panic while holding this lock cannot leave a total half-changed.
        self.totals.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The current period's total of `token`, loaded from the store if this is the
    /// period's first use since the start.
    async fn current(&self, store: &Store, token: &str, start_ms: u64) -> Result<(), NodeError> {
        let loaded = self.totals().get(token).map(|t| t.start_ms) == Some(start_ms);
        if loaded {
            return Ok(());
        }
        let prefix = BudgetSpendRecord::period_prefix(token, start_ms);
        let spends = store.scan::<BudgetSpendRecord>(prefix).await?;
        let used_msat = spends
            .iter()
            .fold(0u64, |sum, s| sum.saturating_add(s.counted_msat()));
        let mut totals = self.totals();
        // Another caller may have loaded it meanwhile, and reserved since: keep that.
        if totals.get(token).map(|t| t.start_ms) != Some(start_ms) {
            totals.insert(
                token.to_owned(),
                PeriodTotal {
                    start_ms,
                    used_msat,
                },
            );
        }
        Ok(())
    }

    /// Reserves a payment of `cost_msat` (amount plus fee ceiling) to `payee` from
    /// `token`'s budget, or refuses it ([`NodeError::Budget`]). `None` when the token
    /// has no budget.
    pub async fn reserve(
        self: &Arc<Self>,
        store: &Store,
        token: &str,
        payee: &PublicKey,
        cost_msat: u64,
    ) -> Result<Option<Hold>, NodeError> {
        let Some(policy) = self.policies.get(token) else {
            return Ok(None);
        };
        let now = unix_ms();
        let (start_ms, _) = policy.renewal.period(now);
        self.current(store, token, start_ms).await?;
        let mut totals = self.totals();
        let total = totals.entry(token.to_owned()).or_insert(PeriodTotal {
            start_ms,
            used_msat: 0,
        });
        if total.start_ms != start_ms {
            // The period renewed between the load and now: nothing of the new one is
            // spent yet.
            *total = PeriodTotal {
                start_ms,
                used_msat: 0,
            };
        }
        policy
            .check(payee, cost_msat, total.used_msat, now)
            .map_err(NodeError::Budget)?;
        total.used_msat = total.used_msat.saturating_add(cost_msat);
        Ok(Some(Hold {
            book: Arc::clone(self),
            token: token.to_owned(),
            period_start_ms: start_ms,
            cost_msat,
            kept: false,
        }))
    }

    /// Checks a payment without reserving anything (a quote's early answer).
    pub async fn check(
        &self,
        store: &Store,
        token: &str,
        payee: &PublicKey,
        cost_msat: u64,
    ) -> Result<(), NodeError> {
        let Some(policy) = self.policies.get(token) else {
            return Ok(());
        };
        let now = unix_ms();
        let (start_ms, _) = policy.renewal.period(now);
        self.current(store, token, start_ms).await?;
        let used = self
            .totals()
            .get(token)
            .filter(|t| t.start_ms == start_ms)
            .map_or(0, |t| t.used_msat);
        policy
            .check(payee, cost_msat, used, now)
            .map_err(NodeError::Budget)
    }

    /// Takes `reserved_msat` back and counts `spent_msat` instead, for a payment of
    /// `token` in the period starting at `period_start_ms`: its outcome is stored.
    pub fn settled(&self, token: &str, period_start_ms: u64, reserved_msat: u64, spent_msat: u64) {
        let mut totals = self.totals();
        // A payment of an earlier period no longer counts in memory.
        if let Some(total) = totals
            .get_mut(token)
            .filter(|t| t.start_ms == period_start_ms)
        {
            total.used_msat = total
                .used_msat
                .saturating_sub(reserved_msat)
                .saturating_add(spent_msat);
        }
    }

    /// `token`'s budget as it stands, or `None` if it has none.
    pub async fn view(&self, store: &Store, token: &str) -> Result<Option<BudgetView>, NodeError> {
        let Some(policy) = self.policies.get(token) else {
            return Ok(None);
        };
        let (start_ms, renews_at_ms) = policy.renewal.period(unix_ms());
        self.current(store, token, start_ms).await?;
        let used_msat = self
            .totals()
            .get(token)
            .filter(|t| t.start_ms == start_ms)
            .map_or(0, |t| t.used_msat);
        Ok(Some(BudgetView {
            token: token.to_owned(),
            policy: policy.clone(),
            used_msat,
            period_start_ms: start_ms,
            renews_at_ms,
        }))
    }

    /// Every token with a budget, in a stable order.
    pub fn tokens(&self) -> Vec<String> {
        let mut tokens: Vec<String> = self.policies.keys().cloned().collect();
        tokens.sort();
        tokens
    }
}

/// A reservation from a token's budget for a payment about to be recorded. Store
/// [`Hold::spend`] in the attempt's batch, then [`Hold::keep`] it once committed; a hold
/// dropped unkept (the payment was not recorded) gives its reservation back.
#[derive(Debug)]
#[must_use = "a hold gives its reservation back when dropped unkept"]
pub struct Hold {
    book: Arc<Budgets>,
    token: String,
    period_start_ms: u64,
    cost_msat: u64,
    kept: bool,
}

impl Hold {
    /// The spend record of payment `payment_id`, for the attempt's batch.
    pub fn spend(&self, payment_id: &str) -> BudgetSpendRecord {
        BudgetSpendRecord {
            token: self.token.clone(),
            period_start_ms: self.period_start_ms,
            payment_id: payment_id.to_owned(),
            reserved_msat: self.cost_msat,
            spent_msat: None,
            created_at_ms: unix_ms(),
        }
    }

    /// Marks `record` (a new attempt) as paid from this hold.
    pub fn stamp(&self, record: &mut PaymentRecord) {
        record.token = Some(self.token.clone());
        record.budget_period_ms = Some(self.period_start_ms);
    }

    /// The attempt and its spend are stored: the payment's outcome settles the
    /// reservation from now on.
    pub fn keep(mut self) {
        self.kept = true;
    }
}

impl Drop for Hold {
    fn drop(&mut self) {
        if !self.kept {
            self.book
                .settled(&self.token, self.period_start_ms, self.cost_msat, 0);
        }
    }
}

#[cfg(test)]
mod tests {
    use bitcoin::secp256k1::{Secp256k1, SecretKey};
    use sluice_storage::{StoreConfig, WriteBatch};

    use super::*;

    fn payee() -> PublicKey {
        let secret = SecretKey::from_slice(&[5u8; 32]).expect("a key");
        PublicKey::from_secret_key(&Secp256k1::new(), &secret)
    }

    fn book(max_per_period_msat: u64) -> Arc<Budgets> {
        let policy = BudgetPolicy {
            max_per_payment_msat: None,
            max_per_period_msat: Some(max_per_period_msat),
            renewal: Renewal::Never,
            expires_at_ms: None,
            allowed_destinations: None,
        };
        Arc::new(Budgets::new([("agent".to_owned(), policy)].into()))
    }

    /// Concurrent payments cannot overshoot: of 20 racing reservations of 100 msat
    /// against 1,000, exactly 10 pass.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn racing_reservations_never_overshoot() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let store = Arc::new(Store::open(dir.path(), StoreConfig::default()).expect("the store"));
        let budgets = book(1_000);
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let (budgets, store) = (Arc::clone(&budgets), Arc::clone(&store));
                tokio::spawn(async move {
                    let hold = budgets.reserve(&store, "agent", &payee(), 100).await;
                    hold.map(|h| h.map(Hold::keep))
                })
            })
            .collect();
        let mut passed = 0;
        for task in tasks {
            match task.await.expect("the task") {
                Ok(Some(())) => passed += 1,
                Err(NodeError::Budget(Refusal::Period { .. })) => {}
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(passed, 10);
        // A token without a budget is not limited.
        assert!(budgets
            .reserve(&store, "other", &payee(), u64::MAX)
            .await
            .expect("no budget")
            .is_none());
    }

    /// A hold dropped unkept gives its reservation back; a settled payment counts what
    /// it cost; a restart rebuilds the total from the stored spends.
    #[tokio::test]
    async fn holds_settle_and_totals_survive_a_restart() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let store = Store::open(dir.path(), StoreConfig::default()).expect("the store");
        let budgets = book(1_000);
        let dropped = budgets.reserve(&store, "agent", &payee(), 900).await;
        drop(dropped);
        let hold = budgets
            .reserve(&store, "agent", &payee(), 600)
            .await
            .expect("within budget")
            .expect("a budget");
        let mut spend = hold.spend("pay_1");
        let mut batch = WriteBatch::new();
        batch.create(&spend).expect("encodes");
        store.commit(batch).await.expect("committed");
        hold.keep();
        // Succeeded for 550 (amount plus the fee paid) instead of the 600 reserved.
        spend.spent_msat = Some(550);
        let mut batch = WriteBatch::new();
        batch.put(&spend).expect("encodes");
        store.commit(batch).await.expect("committed");
        budgets.settled("agent", spend.period_start_ms, 600, 550);
        let view = budgets.view(&store, "agent").await.expect("read");
        assert_eq!(view.map(|v| v.used_msat), Some(550));

        let restarted = book(1_000);
        let view = restarted.view(&store, "agent").await.expect("read");
        assert_eq!(view.map(|v| v.used_msat), Some(550));
        assert!(matches!(
            restarted.reserve(&store, "agent", &payee(), 451).await,
            Err(NodeError::Budget(Refusal::Period { left_msat: 450, .. }))
        ));
    }
}
