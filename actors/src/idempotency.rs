//! Idempotency keys for requests that move money: the same key and request get the
//! first request's answer, never a second effect; the same key with another request is
//! refused (`idempotency_conflict`).
//!
//! A key belongs to one operation and one caller (the API token that sent it): two
//! agents choosing the same key neither collide nor see each other's answers. A request
//! is bound to its key by the SHA-256 of its canonical JSON ([`fingerprint`]).
//!
//! The key is stored in the same atomic batch as the effect's own record where the
//! effect is a record (a payment attempt), so there is no moment where one exists
//! without the other. Where the effect is a call into LDK that is not a record (a
//! channel open), the key is claimed first and answered after ([`Seen::Unfinished`]
//! until then).

use bitcoin::hashes::{sha256, Hash};
use bitcoin::hex::DisplayHex;
use serde_json::Value;
use sluice_storage::{IdempotencyRecord, Store};

use crate::clock::unix_ms;
use crate::receipts::canonical;
use crate::NodeError;

/// The idempotency key of a request and who sent it (keys are per caller).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey {
    /// The caller: its API token's SHA-256, hex.
    pub caller: String,
    /// The caller's key.
    pub key: String,
}

/// The scope of `operation`'s keys for `caller`. Operations are code-chosen names and
/// callers hex token ids, so a scope never holds `/` (see
/// [`IdempotencyRecord::table_key`]).
pub fn scope(operation: &str, caller: &str) -> String {
    format!("{operation}:{caller}")
}

/// SHA-256 of `value`'s canonical JSON, hex: what a key is bound to.
pub fn fingerprint(value: &Value) -> Result<String, NodeError> {
    let text = canonical::to_string(value).map_err(|e| NodeError::InvalidRequest(e.to_string()))?;
    Ok(sha256::Hash::hash(text.as_bytes())
        .to_byte_array()
        .to_lower_hex_string())
}

/// What the store knows of a key.
#[derive(Debug, Clone, PartialEq)]
pub enum Seen {
    /// Never used: the request goes ahead.
    New,
    /// Used for this same request, which answered `response`.
    Answered(Value),
    /// Claimed by this same request, which has not answered (it runs, or a crash cut it
    /// short); what it claimed is in the record.
    Unfinished(IdempotencyRecord),
}

/// Looks `key` up in `scope`; a key used for another request is an
/// [`NodeError::IdempotencyConflict`].
pub async fn seen(
    store: &Store,
    scope: &str,
    key: &str,
    fingerprint: &str,
) -> Result<Seen, NodeError> {
    let Some(stored) = store
        .get::<IdempotencyRecord>(IdempotencyRecord::table_key(scope, key))
        .await?
    else {
        return Ok(Seen::New);
    };
    if stored.request_sha256 != fingerprint {
        return Err(NodeError::IdempotencyConflict(format!(
            "Idempotency-Key {key} was used for another request"
        )));
    }
    Ok(match stored.response.clone() {
        Some(response) if response.get(ANSWER).is_some() => Seen::Answered(response),
        _ => Seen::Unfinished(stored),
    })
}

/// The field of a stored response that marks it answered; a claim holds only what the
/// request needs to find its effect again.
pub const ANSWER: &str = "answer";

/// A record binding `key` in `scope` to `fingerprint`, holding `response`.
pub fn record(scope: &str, key: &str, fingerprint: &str, response: Value) -> IdempotencyRecord {
    IdempotencyRecord {
        scope: scope.to_owned(),
        key: key.to_owned(),
        request_sha256: fingerprint.to_owned(),
        response: Some(response),
        created_at_ms: unix_ms(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use sluice_storage::{StoreConfig, WriteBatch};

    use super::*;

    #[tokio::test]
    async fn a_key_answers_its_own_request_and_refuses_any_other() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let store = Store::open(dir.path(), StoreConfig::default()).expect("the store");
        let alice = scope("keysend", "aa");
        let request = fingerprint(&json!({"amount_msat": 5, "node_id": "02ab"})).expect("hash");
        // Key order does not change the fingerprint; a value does.
        let same = fingerprint(&json!({"node_id": "02ab", "amount_msat": 5})).expect("hash");
        let other = fingerprint(&json!({"node_id": "02ab", "amount_msat": 6})).expect("hash");
        assert_eq!(request, same);
        assert_ne!(request, other);

        assert_eq!(
            seen(&store, &alice, "k1", &request).await.expect("read"),
            Seen::New
        );
        let claim = record(&alice, "k1", &request, json!({"user_channel_id": "7"}));
        let mut batch = WriteBatch::new();
        batch.create(&claim).expect("encodes");
        store.commit(batch).await.expect("committed");
        assert_eq!(
            seen(&store, &alice, "k1", &request).await.expect("read"),
            Seen::Unfinished(claim)
        );

        let answered = json!({ANSWER: {"payment_id": "ab"}});
        let mut batch = WriteBatch::new();
        batch
            .put(&record(&alice, "k1", &request, answered.clone()))
            .expect("encodes");
        store.commit(batch).await.expect("committed");
        assert_eq!(
            seen(&store, &alice, "k1", &request).await.expect("read"),
            Seen::Answered(answered)
        );
        assert!(matches!(
            seen(&store, &alice, "k1", &other).await,
            Err(NodeError::IdempotencyConflict(_))
        ));
        // Another caller's key of the same name is another key.
        let bob = scope("keysend", "bb");
        assert_eq!(
            seen(&store, &bob, "k1", &other).await.expect("read"),
            Seen::New
        );
    }
}
