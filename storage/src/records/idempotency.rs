//! Idempotency keys: a repeated request gets the first response, never a second effect.

use serde::{Deserialize, Serialize};

use crate::table::{Record, Table};

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
