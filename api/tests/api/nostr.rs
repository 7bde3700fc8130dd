//! `GET /v1/nostr`: the Nostr mirror's state, for `read` or `pay`, as the node reports it.

use axum::http::Method;
use sluice_api_types::paths;
use sluice_api_types::NostrStatusResponse;

use crate::common::*;

fn parse<T: serde::de::DeserializeOwned>(answer: &Answer) -> T {
    assert_eq!(answer.status, 200, "{}", answer.text);
    serde_json::from_str(&answer.text).unwrap()
}

#[tokio::test]
async fn the_mirror_state_reads_with_read_or_pay() {
    let app = app();
    for token in [READ, PAY] {
        let status: NostrStatusResponse = parse(&app.get(paths::NOSTR_STATUS, token).await);
        assert_eq!(status.schema, "openagents.nostr.status_response.v1");
        assert!(status.enabled);
        assert_eq!(status.public_key.as_deref(), Some(AGENT_ID));
        assert_eq!(status.relays.len(), 1);
        assert_eq!(status.relays[0].accepted, 3);
    }
    assert_eq!(
        app.backend.calls(),
        vec![Call::NostrStatus, Call::NostrStatus]
    );

    // An absent option is left out of the JSON.
    let answer = app.get(paths::NOSTR_STATUS, READ).await;
    assert!(answer.json.get("note").is_none(), "{}", answer.text);
    assert!(answer.json["relays"][0].get("last_error").is_none());

    // The mirror serves the same.
    let answer = app.get(&paths::internal(paths::NOSTR_STATUS), READ).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
}

#[tokio::test]
async fn the_mirror_state_needs_read_or_pay() {
    let app = app();
    app.call(Method::GET, paths::NOSTR_STATUS, Some(LP), None)
        .await
        .assert_error(403, "forbidden");
    app.call(Method::GET, paths::NOSTR_STATUS, None, None)
        .await
        .assert_error(401, "unauthenticated");
    app.call(Method::POST, paths::NOSTR_STATUS, Some(ADMIN), None)
        .await
        .assert_error(405, "method_not_allowed");
    assert!(app.backend.calls().is_empty());
}
