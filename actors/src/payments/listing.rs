//! Listing payments sent and received, newest first, a page at a time from the time
//! index ([`PaymentIndexRecord`]): a listing reads what it returns (and what its filter
//! skips, up to a bound), never every payment.

use bitcoin::hex::DisplayHex;
use sluice_storage::{
    IndexedDirection, PaymentIndexRecord, PaymentRecord, PaymentStatus, ReceivedByHashRecord,
    ReceivedRecord, Store, WriteBatch, KEYS_END,
};

use super::attempts::{attempt_id, MAX_ATTEMPTS};
use crate::NodeError;

/// How many index entries a page may read per payment it returns (filtered-out ones
/// included) before it stops and hands the caller a cursor.
const EXAMINED_PER_RESULT: usize = 8;
/// Index entries read from the store at once.
const CHUNK: usize = 256;

/// A payment as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listed {
    /// An outgoing attempt.
    Sent(Box<PaymentRecord>),
    /// An incoming payment (always succeeded).
    Received(ReceivedRecord),
}

/// Which payments to list.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Filter {
    /// Only sent or only received payments.
    pub direction: Option<IndexedDirection>,
    /// Only payments in this state (received payments are `Succeeded`).
    pub status: Option<PaymentStatus>,
    /// At most this many.
    pub limit: usize,
    /// Continue after this cursor (from an earlier page).
    pub cursor: Option<String>,
    /// Only payments of this payment hash (hex): every attempt of ours and every payment
    /// received, in one page without a cursor.
    pub payment_hash: Option<[u8; 32]>,
}

/// One page, newest first, and the cursor of the next if there may be more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// The payments.
    pub payments: Vec<Listed>,
    /// Pass as [`Filter::cursor`] to continue; `None` at the end.
    pub next_cursor: Option<String>,
}

/// The page of payments `filter` asks for.
pub async fn list(store: &Store, filter: &Filter) -> Result<Page, NodeError> {
    if let Some(hash) = &filter.payment_hash {
        return of_hash(store, hash, filter).await;
    }
    let limit = filter.limit.max(1);
    let budget = limit.saturating_mul(EXAMINED_PER_RESULT);
    let mut end = filter.cursor.clone().unwrap_or_else(|| KEYS_END.to_owned());
    let mut payments = Vec::new();
    let mut examined = 0;
    loop {
        let chunk = CHUNK.min(budget - examined);
        let entries = store
            .range::<PaymentIndexRecord>("", end.clone(), chunk, true)
            .await?;
        let exhausted = entries.len() < chunk;
        for (key, entry) in entries {
            examined += 1;
            end = key;
            if let Some(listed) = matching(store, &entry, filter).await? {
                payments.push(listed);
                if payments.len() == limit {
                    return Ok(Page {
                        payments,
                        next_cursor: Some(end),
                    });
                }
            }
        }
        if exhausted {
            return Ok(Page {
                payments,
                next_cursor: None,
            });
        }
        if examined >= budget {
            // Many entries did not match: hand back what was found and where to go on.
            return Ok(Page {
                payments,
                next_cursor: Some(end),
            });
        }
    }
}

/// Every payment of `payment_hash` that matches `filter`, newest first: the attempts
/// (found by their derived ids) and the payments received (by the hash index).
async fn of_hash(
    store: &Store,
    payment_hash: &[u8; 32],
    filter: &Filter,
) -> Result<Page, NodeError> {
    let mut found = Vec::new();
    if filter.direction != Some(IndexedDirection::Received) {
        for attempt in 0..MAX_ATTEMPTS {
            let id = attempt_id(payment_hash, attempt).to_lower_hex_string();
            match store.get::<PaymentRecord>(id).await? {
                Some(record) => found.push((record.created_at_ms, Listed::Sent(Box::new(record)))),
                None => break,
            }
        }
    }
    if filter.direction != Some(IndexedDirection::Sent) {
        let prefix = ReceivedByHashRecord::prefix(&payment_hash.to_lower_hex_string());
        for entry in store.scan::<ReceivedByHashRecord>(prefix).await? {
            if let Some(record) = store.get::<ReceivedRecord>(entry.payment_id).await? {
                found.push((record.received_at_ms, Listed::Received(record)));
            }
        }
    }
    found.sort_by_key(|(at, _)| std::cmp::Reverse(*at));
    let payments = found
        .into_iter()
        .map(|(_, listed)| listed)
        .filter(|listed| filter.status.is_none_or(|s| s == status(listed)))
        .take(filter.limit.max(1))
        .collect();
    Ok(Page {
        payments,
        next_cursor: None,
    })
}

fn status(listed: &Listed) -> PaymentStatus {
    match listed {
        Listed::Sent(record) => record.status,
        Listed::Received(_) => PaymentStatus::Succeeded,
    }
}

/// The payment `entry` indexes, if it matches `filter`.
async fn matching(
    store: &Store,
    entry: &PaymentIndexRecord,
    filter: &Filter,
) -> Result<Option<Listed>, NodeError> {
    if filter.direction.is_some_and(|d| d != entry.direction) {
        return Ok(None);
    }
    let id = entry.payment_id.clone();
    let listed = match entry.direction {
        IndexedDirection::Sent => store
            .get::<PaymentRecord>(id)
            .await?
            .map(|r| Listed::Sent(Box::new(r))),
        IndexedDirection::Received => store.get::<ReceivedRecord>(id).await?.map(Listed::Received),
    };
    Ok(listed.filter(|l| filter.status.is_none_or(|s| s == status(l))))
}

/// Indexes the payments of a store written before the index existed; returns how many.
/// Runs once at start: it does nothing when the index has any entry.
pub async fn backfill_index(store: &Store) -> Result<usize, NodeError> {
    let any = store
        .range::<PaymentIndexRecord>("", KEYS_END, 1, false)
        .await?;
    if !any.is_empty() {
        return Ok(0);
    }
    let mut batch = WriteBatch::new();
    let mut indexed = 0;
    for sent in store.scan::<PaymentRecord>("").await? {
        indexed += 1;
        batch.put(&PaymentIndexRecord {
            created_at_ms: sent.created_at_ms,
            direction: IndexedDirection::Sent,
            payment_id: sent.payment_id,
        })?;
    }
    for received in store.scan::<ReceivedRecord>("").await? {
        indexed += 1;
        batch.put(&ReceivedByHashRecord {
            payment_hash: received.payment_hash,
            payment_id: received.payment_id.clone(),
        })?;
        batch.put(&PaymentIndexRecord {
            created_at_ms: received.received_at_ms,
            direction: IndexedDirection::Received,
            payment_id: received.payment_id,
        })?;
    }
    if indexed > 0 {
        store.commit(batch).await?;
    }
    Ok(indexed)
}

#[cfg(test)]
mod tests {
    use sluice_storage::StoreConfig;

    use super::*;

    fn sent(n: u64, status: PaymentStatus) -> PaymentRecord {
        let mut hash = [0u8; 32];
        hash[24..].copy_from_slice(&n.to_be_bytes());
        PaymentRecord {
            status,
            created_at_ms: 1_000 + n,
            ..crate::payments::pay::pending(format!("{n:064x}"), &hash, None, n, 0)
        }
    }

    fn received(n: u64) -> ReceivedRecord {
        ReceivedRecord {
            payment_id: format!("{:064x}", n + 1_000_000),
            payment_hash: format!("{n:064x}"),
            amount_msat: n,
            preimage: None,
            received_at_ms: 1_000 + n,
        }
    }

    fn amounts(page: &Page) -> Vec<u64> {
        page.payments
            .iter()
            .map(|l| match l {
                Listed::Sent(r) => r.amount_msat,
                Listed::Received(r) => r.amount_msat,
            })
            .collect()
    }

    /// 300 payments (sent ones pending or failed, received ones every fifth), paged
    /// newest first: pages join up without gaps or repeats, filters apply, and a store
    /// written before the index gets one.
    #[tokio::test]
    async fn pages_walk_the_index_newest_first() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let store = Store::open(dir.path(), StoreConfig::default()).expect("the store");
        let mut batch = WriteBatch::new();
        for n in 1..=300u64 {
            if n % 5 == 0 {
                batch.put(&received(n)).expect("encodes");
            } else {
                let status = if n % 2 == 0 {
                    PaymentStatus::Failed
                } else {
                    PaymentStatus::Pending
                };
                batch.put(&sent(n, status)).expect("encodes");
            }
        }
        store.commit(batch).await.expect("committed");
        assert_eq!(backfill_index(&store).await.expect("indexed"), 300);
        assert_eq!(backfill_index(&store).await.expect("indexed"), 0);

        let mut all = Vec::new();
        let mut filter = Filter {
            limit: 70,
            ..Filter::default()
        };
        loop {
            let page = list(&store, &filter).await.expect("a page");
            all.extend(amounts(&page));
            match page.next_cursor {
                Some(cursor) => filter.cursor = Some(cursor),
                None => break,
            }
        }
        assert_eq!(all, (1..=300u64).rev().collect::<Vec<_>>());

        let received_only = Filter {
            direction: Some(IndexedDirection::Received),
            limit: 1000,
            ..Filter::default()
        };
        let page = list(&store, &received_only).await.expect("a page");
        assert_eq!(
            amounts(&page),
            (1..=60u64).rev().map(|n| n * 5).collect::<Vec<_>>()
        );

        // A rare status: the page stops after its examination bound with a cursor,
        // and following the cursors finds every match.
        let mut failed = Vec::new();
        let mut filter = Filter {
            status: Some(PaymentStatus::Failed),
            limit: 5,
            ..Filter::default()
        };
        loop {
            let page = list(&store, &filter).await.expect("a page");
            assert!(page.payments.len() <= 5);
            failed.extend(amounts(&page));
            match page.next_cursor {
                Some(cursor) => filter.cursor = Some(cursor),
                None => break,
            }
        }
        let expected: Vec<u64> = (1..=300u64)
            .rev()
            .filter(|n| n % 2 == 0 && n % 5 != 0)
            .collect();
        assert_eq!(failed, expected);
    }
}
