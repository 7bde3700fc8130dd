//! Recording incoming payments, in their own table.
//!
//! A payment hash says nothing about who is paying: once a preimage is known (to the
//! payee of our payment, or to any hop on its path) anyone can send us a payment with
//! that hash. So an incoming payment is keyed by LDK's inbound payment id, which is
//! derived from its HTLCs, and lives in [`sluice_storage::Table::Received`]: nothing an
//! incoming payment does can change an outgoing record or its quote.

use bitcoin::hashes::{sha256, Hash, HashEngine};
use bitcoin::hex::DisplayHex;
use sluice_storage::{
    IndexedDirection, PaymentIndexRecord, ReceivedByHashRecord, ReceivedRecord, Store, StoreError,
    Table, WriteBatch,
};

use crate::clock::unix_ms;
use crate::NodeError;

/// The id an incoming payment is stored under: LDK's inbound payment id, or for an event
/// without one (written before LDK 0.1) SHA-256(`sluice/received` ‖ hash).
pub fn received_id(payment_hash: &[u8; 32], ldk_id: Option<[u8; 32]>) -> [u8; 32] {
    ldk_id.unwrap_or_else(|| {
        let mut engine = sha256::Hash::engine();
        engine.input(b"sluice/received");
        engine.input(payment_hash);
        sha256::Hash::from_engine(engine).to_byte_array()
    })
}

/// An incoming payment LDK claimed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claimed {
    /// The payment hash.
    pub payment_hash: [u8; 32],
    /// LDK's inbound payment id, if the event carries one.
    pub ldk_id: Option<[u8; 32]>,
    /// What we received.
    pub amount_msat: u64,
    /// The preimage, if LDK reports it.
    pub preimage: Option<[u8; 32]>,
}

/// Records `claimed` once: queues the write and returns a future that resolves once it
/// is durable, so LDK's event handler need not wait for the fsync (the argument is that
/// of [`super::settle::settle_queued`]). A replayed event finds its record and changes
/// nothing.
pub fn record_received(
    store: &Store,
    claimed: Claimed,
) -> Result<impl std::future::Future<Output = Result<(), NodeError>> + Send + 'static, NodeError> {
    let durable = store.commit_queued(received_batch(claimed)?);
    Ok(async move { created(durable.await) })
}

/// The incoming payment's record and its index entries, created only if absent.
fn received_batch(claimed: Claimed) -> Result<WriteBatch, NodeError> {
    let id = received_id(&claimed.payment_hash, claimed.ldk_id);
    let record = ReceivedRecord {
        payment_id: id.to_lower_hex_string(),
        payment_hash: claimed.payment_hash.to_lower_hex_string(),
        amount_msat: claimed.amount_msat,
        preimage: claimed.preimage.map(|p| p.to_lower_hex_string()),
        received_at_ms: unix_ms(),
    };
    let mut batch = WriteBatch::new();
    batch.create(&record)?;
    batch.put(&PaymentIndexRecord {
        created_at_ms: record.received_at_ms,
        direction: IndexedDirection::Received,
        payment_id: record.payment_id.clone(),
    })?;
    batch.put(&ReceivedByHashRecord {
        payment_hash: record.payment_hash.clone(),
        payment_id: record.payment_id.clone(),
    })?;
    Ok(batch)
}

/// A replay finds the record there: not an error.
fn created(result: Result<(), StoreError>) -> Result<(), NodeError> {
    match result {
        Ok(()) => Ok(()),
        Err(StoreError::Conflict { table, .. }) if table == Table::Received.name() => Ok(()),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use sluice_storage::{PaymentRecord, StoreConfig};

    use super::*;

    fn outbound(payment_hash: &[u8; 32]) -> PaymentRecord {
        let id = payment_hash.to_lower_hex_string();
        PaymentRecord {
            quote_id: Some("quote_1".into()),
            ..crate::payments::pay::pending(id, payment_hash, None, 5_000_000, 100_000)
        }
    }

    /// Before the fix `PaymentClaimed` wrote an incoming record under the payment hash,
    /// over attempt 0 of an outgoing payment of the same hash: a 1 msat keysend with a
    /// learned preimage turned an in-flight payment into "succeeded".
    #[tokio::test]
    async fn an_incoming_payment_never_touches_the_outgoing_record_of_its_hash() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let store = Store::open(dir.path(), StoreConfig::default()).expect("the store");
        let hash = [7u8; 32];
        let ours = outbound(&hash);
        let mut batch = WriteBatch::new();
        batch.create(&ours).expect("encodes");
        store.commit(batch).await.expect("committed");

        for (ldk_id, amount_msat) in [(Some([1u8; 32]), 1), (Some([2u8; 32]), 2), (None, 3)] {
            let claimed = Claimed {
                payment_hash: hash,
                ldk_id,
                amount_msat,
                preimage: Some([9u8; 32]),
            };
            let first = record_received(&store, claimed).expect("queued");
            // A replay of the same event, queued before the first is durable, changes
            // nothing.
            let replay = record_received(
                &store,
                Claimed {
                    amount_msat: 99,
                    ..claimed
                },
            )
            .expect("queued");
            first.await.expect("recorded");
            replay.await.expect("a replay is accepted");
        }

        let stored = store
            .get::<PaymentRecord>(hash.to_lower_hex_string())
            .await
            .expect("readable");
        assert_eq!(stored, Some(ours), "the outgoing record changed");
        let received = store.scan::<ReceivedRecord>("").await.expect("readable");
        let mut amounts: Vec<u64> = received.iter().map(|r| r.amount_msat).collect();
        amounts.sort_unstable();
        assert_eq!(
            amounts,
            vec![1, 2, 3],
            "each incoming payment recorded once"
        );
        assert!(received
            .iter()
            .all(|r| r.payment_hash == hash.to_lower_hex_string()));
    }
}
