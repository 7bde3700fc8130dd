//! The Nostr mirror's state (`GET /v1/nostr`): the key the node signs its events with,
//! each relay it publishes to and what that relay answered, and the events some relay
//! has yet to answer. Without relays the node publishes nothing and says so.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `schema` of the Nostr mirror's state.
pub const NOSTR_STATUS_RESPONSE_SCHEMA: &str = "openagents.nostr.status_response.v1";

/// The Nostr mirror's state (`GET /v1/nostr`). The counters are since the node started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NostrStatusResponse {
    /// [`NOSTR_STATUS_RESPONSE_SCHEMA`].
    pub schema: String,
    /// Whether the node publishes: false when no relays are configured.
    pub enabled: bool,
    /// The public key events are signed with (x-only, 64 hex characters); absent when
    /// the mirror is off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    /// The same key as `npub1…`; absent when the mirror is off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub npub: Option<String>,
    /// Each relay the node publishes to (none when the mirror is off).
    pub relays: Vec<NostrRelayStatus>,
    /// Events some relay has yet to answer for good (the outbox).
    pub outbox_events: u64,
    /// Why the mirror is off, when it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// One relay as the node's publisher sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NostrRelayStatus {
    /// The relay's URL (`wss://…`).
    pub url: String,
    /// Its connection: `connected`, `connecting`, `disconnected`, … (as the Nostr client
    /// reports it).
    pub connection: String,
    /// Events handed to it.
    pub sent: u64,
    /// Events it stored (or had already).
    pub accepted: u64,
    /// Events it refused for good.
    pub rejected: u64,
    /// Sends to it that failed and are tried again later.
    pub retries: u64,
    /// Events waiting on it now.
    pub pending: u64,
    /// Its last refusal's message, if it refused any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_rejection: Option<String>,
    /// The last failure of a send to it, if any failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}
