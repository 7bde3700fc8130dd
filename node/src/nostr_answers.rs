//! The Nostr route's answer (`sluice_api_types::nostr`), built from what the publisher
//! reports, or, for a node without relays, the answer that says nothing is published.

use sluice_actors::nostr::{MirrorStatus, RelayView};
use sluice_api_types::{NostrRelayStatus, NostrStatusResponse, NOSTR_STATUS_RESPONSE_SCHEMA};

/// Why a node without relays mirrors nothing.
pub const DISABLED_NOTE: &str = "no Nostr relays are configured: nothing is published";

/// The mirror's state on the wire.
pub fn status(status: MirrorStatus) -> NostrStatusResponse {
    NostrStatusResponse {
        schema: NOSTR_STATUS_RESPONSE_SCHEMA.to_owned(),
        enabled: true,
        public_key: Some(status.public_key),
        npub: Some(status.npub),
        relays: status.relays.into_iter().map(relay).collect(),
        outbox_events: status.outbox_events,
        note: None,
    }
}

/// The answer of a node without relays: no key, no relays, nothing queued.
pub fn disabled() -> NostrStatusResponse {
    NostrStatusResponse {
        schema: NOSTR_STATUS_RESPONSE_SCHEMA.to_owned(),
        enabled: false,
        public_key: None,
        npub: None,
        relays: Vec::new(),
        outbox_events: 0,
        note: Some(DISABLED_NOTE.to_owned()),
    }
}

fn relay(view: RelayView) -> NostrRelayStatus {
    NostrRelayStatus {
        url: view.url,
        connection: view.connection,
        sent: view.sent,
        accepted: view.accepted,
        rejected: view.rejected,
        retries: view.retries,
        pending: view.pending,
        last_rejection: view.last_rejection,
        last_error: view.last_error,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn without_relays_nothing_is_published() {
        let answer = disabled();
        assert_eq!(
            serde_json::to_value(&answer).unwrap(),
            json!({
                "schema": "openagents.nostr.status_response.v1",
                "enabled": false,
                "relays": [],
                "outbox_events": 0,
                "note": "no Nostr relays are configured: nothing is published",
            })
        );
    }

    #[test]
    fn a_running_mirror_shows_its_key_and_each_relay() {
        let answer = status(MirrorStatus {
            public_key: "ab".repeat(32),
            npub: "npub1test".into(),
            relays: vec![RelayView {
                url: "wss://relay.example/".into(),
                connection: "connected".into(),
                sent: 5,
                accepted: 3,
                rejected: 1,
                retries: 1,
                pending: 1,
                last_rejection: Some("blocked: no".into()),
                last_error: None,
            }],
            outbox_events: 1,
        });
        assert!(answer.enabled);
        assert_eq!(answer.public_key.as_deref(), Some("ab".repeat(32).as_str()));
        assert_eq!(answer.npub.as_deref(), Some("npub1test"));
        assert_eq!(answer.outbox_events, 1);
        assert_eq!(answer.note, None);
        let relay = &answer.relays[0];
        assert_eq!(
            (
                relay.sent,
                relay.accepted,
                relay.rejected,
                relay.retries,
                relay.pending
            ),
            (5, 3, 1, 1, 1)
        );
        assert_eq!(relay.last_rejection.as_deref(), Some("blocked: no"));
        assert_eq!(relay.connection, "connected");
    }
}
