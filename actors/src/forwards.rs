//! Forwarding income, on record before LDK forgets the forward: each `PaymentForwarded`
//! adds its fees to its time bucket's running total ([`ForwardTotalRecord`]), queued with
//! the store like every payment outcome (see `payments::settle::settle_queued`), so a
//! stored channel manager that no longer holds the event always comes with the total
//! that counts it. The pool books closed buckets as income (`pool::income`).

use std::future::Future;

use sluice_storage::{ForwardTotalRecord, Store, WriteBatch};
use tokio::sync::Mutex;

use crate::NodeError;

/// The running total of the current bucket (reloaded from the store when the bucket
/// changes or after a restart).
#[derive(Debug, Default)]
pub struct ForwardTally {
    current: Mutex<Option<ForwardTotalRecord>>,
}

/// What one forward earned, msat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Earned {
    /// The forwarding fee (LDK's total fee less the skimmed part).
    pub routing_fee_msat: u64,
    /// The part skimmed for a JIT channel's opening fee.
    pub jit_fee_msat: u64,
}

impl Earned {
    /// Splits LDK's `total_fee_earned_msat` (which includes the skimmed fee) into its
    /// forwarding and JIT parts.
    pub fn from_event(total_fee_earned_msat: u64, skimmed_fee_msat: Option<u64>) -> Earned {
        let jit = skimmed_fee_msat.unwrap_or(0).min(total_fee_earned_msat);
        Earned {
            routing_fee_msat: total_fee_earned_msat - jit,
            jit_fee_msat: jit,
        }
    }
}

impl ForwardTally {
    /// Adds a forward earned at `at_ms` to its bucket and queues the new total; the
    /// returned future resolves once it is durable. Totals are queued in the order
    /// forwards are added, so the last stored is the bucket's whole.
    pub async fn add(
        &self,
        store: &Store,
        at_ms: u64,
        earned: Earned,
    ) -> Result<impl Future<Output = Result<(), NodeError>> + Send + 'static, NodeError> {
        let bucket_ms = ForwardTotalRecord::bucket_of(at_ms);
        let mut current = self.current.lock().await;
        let mut total = match current.take() {
            Some(total) if total.bucket_ms == bucket_ms => total,
            _ => store
                .get::<ForwardTotalRecord>(ForwardTotalRecord::table_key(bucket_ms))
                .await?
                .unwrap_or(ForwardTotalRecord {
                    bucket_ms,
                    ..ForwardTotalRecord::default()
                }),
        };
        total.forwards = total.forwards.saturating_add(1);
        total.routing_fee_msat = total
            .routing_fee_msat
            .saturating_add(earned.routing_fee_msat);
        total.jit_fee_msat = total.jit_fee_msat.saturating_add(earned.jit_fee_msat);
        let mut batch = WriteBatch::new();
        batch.put(&total)?;
        let durable = store.commit_queued(batch);
        *current = Some(total);
        Ok(async move { durable.await.map_err(NodeError::from) })
    }
}

#[cfg(test)]
mod tests {
    use sluice_storage::StoreConfig;

    use super::*;

    #[test]
    fn the_skimmed_fee_is_jit_income_and_the_rest_routing() {
        assert_eq!(
            Earned::from_event(1_500, Some(1_000)),
            Earned {
                routing_fee_msat: 500,
                jit_fee_msat: 1_000
            }
        );
        assert_eq!(
            Earned::from_event(7, None),
            Earned {
                routing_fee_msat: 7,
                jit_fee_msat: 0
            }
        );
    }

    #[tokio::test]
    async fn forwards_add_up_per_bucket_across_a_restart() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let store = Store::open(dir.path(), StoreConfig::default()).expect("the store");
        let bucket = 1_700_000_000_000;
        let earned = Earned {
            routing_fee_msat: 10,
            jit_fee_msat: 1,
        };
        let tally = ForwardTally::default();
        for at in [
            bucket,
            bucket + 1,
            bucket + ForwardTotalRecord::BUCKET_MS - 1,
        ] {
            tally.add(&store, at, earned).await.unwrap().await.unwrap();
        }
        // A new tally (a restarted node) goes on from the stored total.
        let restarted = ForwardTally::default();
        restarted
            .add(&store, bucket + 5, earned)
            .await
            .unwrap()
            .await
            .unwrap();
        restarted
            .add(&store, bucket + ForwardTotalRecord::BUCKET_MS, earned)
            .await
            .unwrap()
            .await
            .unwrap();
        let first: ForwardTotalRecord = store
            .get(ForwardTotalRecord::table_key(bucket))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (first.forwards, first.routing_fee_msat, first.jit_fee_msat),
            (4, 40, 4)
        );
        let second: ForwardTotalRecord = store
            .get(ForwardTotalRecord::table_key(
                bucket + ForwardTotalRecord::BUCKET_MS,
            ))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(second.forwards, 1);
    }
}
