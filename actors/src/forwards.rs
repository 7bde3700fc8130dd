//! Forwarding income, on record before LDK forgets the forward: each `PaymentForwarded`
//! adds its fees to its time bucket's running total ([`ForwardTotalRecord`]), queued with
//! the store like every payment outcome (see `payments::settle::settle_queued`), so a
//! stored channel manager that no longer holds the event always comes with the total
//! that counts it. The pool books closed buckets as income (`pool::income`).
//!
//! Each bucket also keeps its forwarding fees by the peer whose channel the forward left
//! through (the outbound liquidity that earned them); [`earned_by_peer`] sums them over
//! a period, for the rebalancer to judge what a channel's liquidity is worth.

use std::collections::BTreeMap;
use std::future::Future;

use sluice_storage::{ForwardTotalRecord, Store, WriteBatch, KEYS_END};
use tokio::sync::Mutex;

use crate::NodeError;

/// The running total of the current bucket (reloaded from the store when the bucket
/// changes or after a restart).
#[derive(Debug, Default)]
pub struct ForwardTally {
    current: Mutex<Option<ForwardTotalRecord>>,
}

/// What one forward earned, msat, and through which peer it left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Earned {
    /// The forwarding fee (LDK's total fee less the skimmed part).
    pub routing_fee_msat: u64,
    /// The part skimmed for a JIT channel's opening fee.
    pub jit_fee_msat: u64,
    /// The next hop: the peer (hex node id) whose channel the forward left through,
    /// when known. Its outbound liquidity earned the forwarding fee.
    pub peer: Option<String>,
}

impl Earned {
    /// Splits LDK's `total_fee_earned_msat` (which includes the skimmed fee) into its
    /// forwarding and JIT parts; `peer` is the forward's next hop, if known.
    pub fn from_event(
        total_fee_earned_msat: u64,
        skimmed_fee_msat: Option<u64>,
        peer: Option<String>,
    ) -> Earned {
        let jit = skimmed_fee_msat.unwrap_or(0).min(total_fee_earned_msat);
        Earned {
            routing_fee_msat: total_fee_earned_msat - jit,
            jit_fee_msat: jit,
            peer,
        }
    }
}

/// The forwarding fees earned per peer (hex node id, the forwards' next hop) in every
/// bucket from the one `since_ms` falls in on, msat. Forwards whose next peer was not
/// known, and buckets stored before fees were kept by peer, count for no peer.
pub async fn earned_by_peer(
    store: &Store,
    since_ms: u64,
) -> Result<BTreeMap<String, u64>, NodeError> {
    let from = ForwardTotalRecord::table_key(ForwardTotalRecord::bucket_of(since_ms));
    let buckets = store
        .range::<ForwardTotalRecord>(from, KEYS_END, usize::MAX, false)
        .await?;
    let mut earned: BTreeMap<String, u64> = BTreeMap::new();
    for (_, bucket) in buckets {
        for (peer, msat) in bucket.by_peer {
            let total = earned.entry(peer).or_default();
            *total = total.saturating_add(msat);
        }
    }
    Ok(earned)
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
        if let Some(peer) = earned.peer {
            if earned.routing_fee_msat > 0 {
                let by_peer = total.by_peer.entry(peer).or_default();
                *by_peer = by_peer.saturating_add(earned.routing_fee_msat);
            }
        }
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
            Earned::from_event(1_500, Some(1_000), Some("02aa".into())),
            Earned {
                routing_fee_msat: 500,
                jit_fee_msat: 1_000,
                peer: Some("02aa".into()),
            }
        );
        assert_eq!(
            Earned::from_event(7, None, None),
            Earned {
                routing_fee_msat: 7,
                jit_fee_msat: 0,
                peer: None,
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
            peer: None,
        };
        let tally = ForwardTally::default();
        for at in [
            bucket,
            bucket + 1,
            bucket + ForwardTotalRecord::BUCKET_MS - 1,
        ] {
            tally
                .add(&store, at, earned.clone())
                .await
                .unwrap()
                .await
                .unwrap();
        }
        // A new tally (a restarted node) goes on from the stored total.
        let restarted = ForwardTally::default();
        restarted
            .add(&store, bucket + 5, earned.clone())
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

    fn temp_store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("a temp dir");
        let store = Store::open(dir.path(), StoreConfig::default()).expect("the store");
        (dir, store)
    }

    async fn forward(tally: &ForwardTally, store: &Store, at_ms: u64, earned: Earned) {
        tally
            .add(store, at_ms, earned)
            .await
            .expect("queued")
            .await
            .expect("durable");
    }

    fn through(peer: Option<&str>, routing_fee_msat: u64, jit_fee_msat: u64) -> Earned {
        Earned {
            routing_fee_msat,
            jit_fee_msat,
            peer: peer.map(str::to_owned),
        }
    }

    #[tokio::test]
    async fn fees_are_kept_by_the_peer_the_forward_left_through() {
        let (_dir, store) = temp_store();
        let tally = ForwardTally::default();
        let bucket = 1_700_000_000_000;
        let step = ForwardTotalRecord::BUCKET_MS;
        forward(&tally, &store, bucket, through(Some("alice"), 10, 0)).await;
        // The JIT skim is not a forwarding fee: only the routing part counts for bob.
        forward(&tally, &store, bucket + 1, through(Some("bob"), 5, 1_000)).await;
        forward(&tally, &store, bucket + 2, through(None, 7, 0)).await;
        forward(&tally, &store, bucket + step, through(Some("alice"), 20, 0)).await;
        forward(
            &tally,
            &store,
            bucket + 3 * step,
            through(Some("bob"), 1, 0),
        )
        .await;
        forward(
            &tally,
            &store,
            bucket + 3 * step + 9,
            through(Some("bob"), 2, 0),
        )
        .await;

        let first: ForwardTotalRecord = store
            .get(ForwardTotalRecord::table_key(bucket))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(first.routing_fee_msat, 22);
        assert_eq!(
            first.by_peer,
            BTreeMap::from([("alice".to_owned(), 10), ("bob".to_owned(), 5)])
        );

        let all = earned_by_peer(&store, 0).await.unwrap();
        assert_eq!(
            all,
            BTreeMap::from([("alice".to_owned(), 30), ("bob".to_owned(), 8)])
        );
        // From the middle of the second bucket: that whole bucket counts, the first not.
        let since_second = earned_by_peer(&store, bucket + step + 5).await.unwrap();
        assert_eq!(
            since_second,
            BTreeMap::from([("alice".to_owned(), 20), ("bob".to_owned(), 3)])
        );
        let since_last = earned_by_peer(&store, bucket + 3 * step).await.unwrap();
        assert_eq!(since_last, BTreeMap::from([("bob".to_owned(), 3)]));
        let after = earned_by_peer(&store, bucket + 4 * step).await.unwrap();
        assert!(after.is_empty());
    }

    /// A bucket as stored before fees were kept by peer.
    #[derive(serde::Serialize, serde::Deserialize)]
    struct OldForwardTotal {
        bucket_ms: u64,
        forwards: u64,
        routing_fee_msat: u64,
        jit_fee_msat: u64,
    }

    impl sluice_storage::Record for OldForwardTotal {
        const TABLE: sluice_storage::Table = sluice_storage::Table::ForwardTotals;

        fn key(&self) -> String {
            ForwardTotalRecord::table_key(self.bucket_ms)
        }
    }

    #[tokio::test]
    async fn buckets_stored_before_fees_by_peer_still_read_and_add_up() {
        let (_dir, store) = temp_store();
        let bucket = 1_700_000_000_000;
        let mut batch = WriteBatch::new();
        batch
            .put(&OldForwardTotal {
                bucket_ms: bucket,
                forwards: 3,
                routing_fee_msat: 30,
                jit_fee_msat: 0,
            })
            .unwrap();
        store.commit(batch).await.unwrap();

        assert!(earned_by_peer(&store, 0).await.unwrap().is_empty());
        // A forward into the old bucket goes on from its totals.
        let tally = ForwardTally::default();
        forward(&tally, &store, bucket + 1, through(Some("carol"), 4, 0)).await;
        let total: ForwardTotalRecord = store
            .get(ForwardTotalRecord::table_key(bucket))
            .await
            .unwrap()
            .unwrap();
        assert_eq!((total.forwards, total.routing_fee_msat), (4, 34));
        assert_eq!(
            earned_by_peer(&store, bucket).await.unwrap(),
            BTreeMap::from([("carol".to_owned(), 4)])
        );
    }
}
