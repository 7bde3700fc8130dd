//! Pruning what clients create and stop needing: unpaid quotes some time after they
//! expired, and idempotency keys after their retention. Each such record is written with
//! an [`ExpiryRecord`] in its own batch, so a pruning round reads only what is due.
//!
//! A paid quote is never pruned: its payment and receipt refer to it. A pruned
//! idempotency key can be used again: a retry after [`IDEMPOTENCY_RETENTION`] is a new
//! request.

use std::time::Duration;

use serde_json::Value;
use sluice_storage::{Expiring, ExpiryRecord, IdempotencyRecord, QuoteRecord, Store, WriteBatch};

use super::pay::PAY_SCOPE;
use super::quote::QUOTE_SCOPE;
use crate::NodeError;

/// How long an unpaid quote (and its idempotency key) is kept after it expired: a late
/// pay still learns `quote_expired`, a late poll that it was not paid.
pub const QUOTE_RETENTION: Duration = Duration::from_secs(60 * 60);
/// How long an idempotency key of a keysend, invoice payment or channel open is kept: a
/// retry within it gets the first answer.
pub const IDEMPOTENCY_RETENTION: Duration = Duration::from_secs(24 * 60 * 60);
/// How often the payments actor prunes.
pub const PRUNE_EVERY: Duration = Duration::from_secs(60);
/// Entries pruned per commit.
const PRUNE_BATCH: usize = 512;

fn ms(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// The expiry entry of `quote`.
pub fn quote_expiry(quote: &QuoteRecord) -> ExpiryRecord {
    ExpiryRecord {
        due_ms: quote.valid_until_ms.saturating_add(ms(QUOTE_RETENTION)),
        kind: Expiring::Quote,
        key: quote.quote_id.clone(),
    }
}

/// The expiry entry of an idempotency key stored at `record.created_at_ms`.
pub fn key_expiry(record: &IdempotencyRecord) -> ExpiryRecord {
    ExpiryRecord {
        due_ms: record
            .created_at_ms
            .saturating_add(ms(IDEMPOTENCY_RETENTION)),
        kind: Expiring::IdempotencyKey,
        key: IdempotencyRecord::table_key(&record.scope, &record.key),
    }
}

/// What a pruning round removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Unpaid quotes.
    pub quotes: usize,
    /// Idempotency keys (a pruned quote's own included).
    pub keys: usize,
}

/// Removes every record due at `now_ms`.
pub async fn prune_due(store: &Store, now_ms: u64) -> Result<Pruned, NodeError> {
    let mut pruned = Pruned::default();
    loop {
        let due = store
            .range::<ExpiryRecord>("", ExpiryRecord::due_before(now_ms), PRUNE_BATCH, false)
            .await?;
        let full = due.len() == PRUNE_BATCH;
        if due.is_empty() {
            return Ok(pruned);
        }
        let mut batch = WriteBatch::new();
        for (key, entry) in due {
            batch.delete::<ExpiryRecord>(&key);
            match entry.kind {
                Expiring::IdempotencyKey => {
                    batch.delete::<IdempotencyRecord>(&entry.key);
                    pruned.keys += 1;
                }
                Expiring::Quote => {
                    let paid = IdempotencyRecord::table_key(PAY_SCOPE, &entry.key);
                    if store.get::<IdempotencyRecord>(paid).await?.is_some() {
                        continue;
                    }
                    let Some(quote) = store.get::<QuoteRecord>(entry.key.clone()).await? else {
                        continue;
                    };
                    batch.delete::<QuoteRecord>(&quote.quote_id);
                    pruned.quotes += 1;
                    let key = IdempotencyRecord::table_key(QUOTE_SCOPE, &quote.idempotency_key);
                    let own = store
                        .get::<IdempotencyRecord>(key.clone())
                        .await?
                        .is_some_and(|k| {
                            k.response
                                .as_ref()
                                .and_then(|r| r.get("quote_id"))
                                .and_then(Value::as_str)
                                == Some(quote.quote_id.as_str())
                        });
                    if own {
                        batch.delete::<IdempotencyRecord>(&key);
                        pruned.keys += 1;
                    }
                }
            }
        }
        store.commit(batch).await?;
        if !full {
            return Ok(pruned);
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use sluice_storage::StoreConfig;

    use super::*;
    use crate::idempotency;

    fn quote(id: &str, valid_until_ms: u64) -> QuoteRecord {
        QuoteRecord {
            quote_id: id.into(),
            idempotency_key: format!("key-{id}"),
            invoice: "lnbcrt1…".into(),
            invoice_hash: "00".repeat(32),
            payment_hash: "11".repeat(32),
            host: "example.com".into(),
            quoted_amount_msats: 1_000,
            quoted_fee_msats: 1,
            max_amount_msats: 2_000,
            max_fee_msats: 10,
            urgency: "normal".into(),
            policy_context_sha256: "22".repeat(32),
            valid_until_ms,
            created_at_ms: 0,
        }
    }

    fn quote_key(quote: &QuoteRecord) -> IdempotencyRecord {
        IdempotencyRecord {
            scope: QUOTE_SCOPE.into(),
            key: quote.idempotency_key.clone(),
            request_sha256: "33".repeat(32),
            response: Some(json!({ "quote_id": quote.quote_id })),
            created_at_ms: 0,
        }
    }

    /// Unpaid expired quotes and old keys go, paid quotes and fresh records stay; a
    /// round reads only what is due.
    #[tokio::test]
    async fn a_round_prunes_what_is_due_and_keeps_what_is_paid() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let store = Store::open(dir.path(), StoreConfig::default()).expect("the store");
        let now = 10 * ms(IDEMPOTENCY_RETENTION);
        let (unpaid, paid, fresh) = (
            quote("q-unpaid", now - ms(QUOTE_RETENTION) - 1),
            quote("q-paid", now - ms(QUOTE_RETENTION) - 1),
            quote("q-fresh", now),
        );
        let old_key = idempotency::record(
            &idempotency::scope("keysend", "aa"),
            "k-old",
            "44",
            json!({}),
        );
        let old_key = IdempotencyRecord {
            created_at_ms: now - ms(IDEMPOTENCY_RETENTION) - 1,
            ..old_key
        };
        let new_key = IdempotencyRecord {
            key: "k-new".into(),
            created_at_ms: now,
            ..old_key.clone()
        };
        let paid_by = IdempotencyRecord {
            scope: PAY_SCOPE.into(),
            key: paid.quote_id.clone(),
            request_sha256: paid.quote_id.clone(),
            response: Some(json!({ "payment_id": "55" })),
            created_at_ms: 0,
        };
        let mut batch = WriteBatch::new();
        for q in [&unpaid, &paid, &fresh] {
            batch.put(q).expect("encodes");
            batch.put(&quote_key(q)).expect("encodes");
            batch.put(&quote_expiry(q)).expect("encodes");
        }
        for k in [&old_key, &new_key] {
            batch.put(k).expect("encodes");
            batch.put(&key_expiry(k)).expect("encodes");
        }
        batch.put(&paid_by).expect("encodes");
        store.commit(batch).await.expect("committed");

        let pruned = prune_due(&store, now).await.expect("pruned");
        assert_eq!(pruned, Pruned { quotes: 1, keys: 2 });
        let quotes: Vec<String> = store
            .scan::<QuoteRecord>("")
            .await
            .expect("read")
            .into_iter()
            .map(|q| q.quote_id)
            .collect();
        assert_eq!(quotes, vec!["q-fresh".to_owned(), "q-paid".to_owned()]);
        let keys: Vec<String> = store
            .scan::<IdempotencyRecord>("")
            .await
            .expect("read")
            .into_iter()
            .map(|k| k.key)
            .collect();
        assert!(!keys.contains(&"k-old".to_owned()) && !keys.contains(&"key-q-unpaid".to_owned()));
        assert!(keys.contains(&"k-new".to_owned()) && keys.contains(&"key-q-paid".to_owned()));
        // Nothing is due twice.
        assert_eq!(
            prune_due(&store, now).await.expect("pruned"),
            Pruned::default()
        );
    }
}
