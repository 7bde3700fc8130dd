//! Idempotency keys: a repeated request gets the first response, never a second effect.

use serde::{Deserialize, Serialize};

use crate::table::{decode, Record, Table};
use crate::{Store, StoreError, WriteBatch};

/// One idempotency key within a scope (an API operation such as `quote_pay`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IdempotencyRecord {
    /// The operation the key belongs to; keys of different scopes never collide.
    pub scope: String,
    /// The caller's key.
    pub key: String,
    /// SHA-256 of the request the key was first used with, hex.
    pub request_sha256: String,
    /// The response given to the first request, once it finished.
    #[serde(default)]
    pub response: Option<serde_json::Value>,
    /// When the key was first seen, ms since the Unix epoch.
    pub created_at_ms: u64,
}

impl IdempotencyRecord {
    /// The table key of (`scope`, `key`). Scopes are code-chosen names without `/`, so
    /// the pair is unambiguous whatever the caller's key holds.
    pub fn table_key(scope: &str, key: &str) -> String {
        format!("{scope}/{key}")
    }
}

impl Record for IdempotencyRecord {
    const TABLE: Table = Table::Idempotency;

    fn key(&self) -> String {
        IdempotencyRecord::table_key(&self.scope, &self.key)
    }
}

/// The answer to claiming an idempotency key.
#[derive(Clone, Debug, PartialEq)]
pub enum IdempotencyClaim {
    /// First use: the caller owns the key and must do the work, then record the
    /// response with [`WriteBatch::complete_idempotency`] on this record.
    Claimed(IdempotencyRecord),
    /// The key was used for this same request and that request is still running.
    InProgress,
    /// The key was used for this same request, which finished with this response.
    Completed(serde_json::Value),
    /// The key was used for a different request.
    Mismatch,
}

impl Store {
    /// Claims `key` in `scope` for a request whose SHA-256 is `request_sha256`, durably
    /// and atomically: of many concurrent claims of one key, exactly one gets
    /// [`IdempotencyClaim::Claimed`].
    pub async fn claim_idempotency(
        &self,
        scope: &str,
        key: &str,
        request_sha256: &str,
        now_ms: u64,
    ) -> Result<IdempotencyClaim, StoreError> {
        debug_assert!(
            !scope.contains('/'),
            "idempotency scopes are names without '/'"
        );
        let record = IdempotencyRecord {
            scope: scope.to_owned(),
            key: key.to_owned(),
            request_sha256: request_sha256.to_owned(),
            response: None,
            created_at_ms: now_ms,
        };
        let mut batch = WriteBatch::new();
        batch.create(&record)?;
        match self.commit(batch).await {
            Ok(()) => Ok(IdempotencyClaim::Claimed(record)),
            Err(StoreError::Conflict { existing, .. }) => {
                let stored: IdempotencyRecord = decode(&existing)?;
                Ok(if stored.request_sha256 != request_sha256 {
                    IdempotencyClaim::Mismatch
                } else {
                    match stored.response {
                        Some(response) => IdempotencyClaim::Completed(response),
                        None => IdempotencyClaim::InProgress,
                    }
                })
            }
            Err(e) => Err(e),
        }
    }
}

impl WriteBatch {
    /// Records the response to a claimed key, in the same atomic batch as the work's own
    /// ledger changes, so that a repeat sees either no effect or the effect and its
    /// response.
    pub fn complete_idempotency(
        &mut self,
        claimed: &IdempotencyRecord,
        response: serde_json::Value,
    ) -> Result<&mut Self, StoreError> {
        let record = IdempotencyRecord {
            response: Some(response),
            ..claimed.clone()
        };
        self.put(&record)
    }
}
