//! The rebalancer: `GET /v1/rebalancer` for `read`, the kill switch and a channel's
//! settings for `admin` only, the checks the API makes before the node sees a request,
//! and a node without a `[rebalancer]` section.

use axum::http::Method;
use sluice_api::backend::ChannelId;
use sluice_api_types::paths;
use sluice_api_types::{BandView, RebalanceChannelSettings, RebalancerStatusResponse};

use crate::common::*;

fn parse<T: serde::de::DeserializeOwned>(answer: &Answer) -> T {
    assert_eq!(answer.status, 200, "{}", answer.text);
    serde_json::from_str(&answer.text).unwrap()
}

fn channel_path(channel_id: &str) -> String {
    paths::fill(paths::REBALANCER_CHANNEL, &[("channel_id", channel_id)])
}

const SETTINGS: &str =
    r#"{"opted_out":true,"band":{"min_ppm":100000,"max_ppm":900000,"deadband_ppm":50000}}"#;

#[tokio::test]
async fn the_state_reads_with_read_or_admin() {
    let app = app();
    for token in [READ, ADMIN] {
        let status: RebalancerStatusResponse = parse(&app.get(paths::REBALANCER, token).await);
        assert_eq!(status.schema, "openagents.liquidity.rebalancer_status.v1");
        assert!(status.enabled);
    }
    assert_eq!(
        app.backend.calls(),
        vec![Call::RebalancerStatus, Call::RebalancerStatus]
    );
    // An absent option is left out of the JSON.
    let answer = app.get(paths::REBALANCER, READ).await;
    assert!(answer.json.get("halted").is_none(), "{}", answer.text);
    assert!(answer.json.get("note").is_none(), "{}", answer.text);

    // The state shows channels and balances: not for `pay` or `lp`.
    for token in [PAY, LP] {
        app.get(paths::REBALANCER, token)
            .await
            .assert_error(403, "forbidden");
    }
    app.call(Method::GET, paths::REBALANCER, None, None)
        .await
        .assert_error(401, "unauthenticated");
    app.call(Method::POST, paths::REBALANCER, Some(ADMIN), None)
        .await
        .assert_error(405, "method_not_allowed");
}

#[tokio::test]
async fn only_admin_halts_resumes_and_sets_a_channel() {
    let channel = channel_path(CHANNEL_ID);
    let admin_routes = [
        (
            Method::POST,
            paths::REBALANCER_HALT.to_owned(),
            Some(r#"{"reason":"x"}"#),
        ),
        (Method::POST, paths::REBALANCER_RESUME.to_owned(), None),
        (Method::PUT, channel.clone(), Some(SETTINGS)),
    ];
    for (method, path, body) in &admin_routes {
        for token in [READ, PAY, LP] {
            let app = app();
            app.call(method.clone(), path, Some(token), *body)
                .await
                .assert_error(403, "forbidden");
            assert!(app.backend.calls().is_empty(), "{token} {method} {path}");
        }
    }

    let app = app();
    let halted: RebalancerStatusResponse = parse(
        &app.post(
            paths::REBALANCER_HALT,
            ADMIN,
            r#"{"reason":"  a peer misbehaves  "}"#,
        )
        .await,
    );
    assert_eq!(halted.halted.unwrap().reason, "a peer misbehaves");
    let resumed: RebalancerStatusResponse = parse(
        &app.call(Method::POST, paths::REBALANCER_RESUME, Some(ADMIN), None)
            .await,
    );
    assert_eq!(resumed.halted, None);
    let stored: RebalanceChannelSettings = parse(
        &app.call(Method::PUT, &channel, Some(ADMIN), Some(SETTINGS))
            .await,
    );
    let expected = RebalanceChannelSettings {
        opted_out: true,
        committed: false,
        band: Some(BandView {
            min_ppm: 100_000,
            max_ppm: 900_000,
            deadband_ppm: 50_000,
        }),
    };
    assert_eq!(stored, expected);
    // The reason goes trimmed; the channel id (either case) as its 32 bytes.
    let upper = channel_path(&"AB".repeat(32));
    let answer = app.call(Method::PUT, &upper, Some(ADMIN), Some("{}")).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(
        app.backend.calls(),
        vec![
            Call::HaltRebalancer("a peer misbehaves".into()),
            Call::ResumeRebalancer,
            Call::SetRebalanceChannel(ChannelId([0x11; 32]), expected),
            Call::SetRebalanceChannel(
                ChannelId([0xab; 32]),
                RebalanceChannelSettings {
                    opted_out: false,
                    committed: false,
                    band: None
                }
            ),
        ]
    );
    // No GET, DELETE or POST on a channel's settings.
    for method in [Method::GET, Method::POST, Method::DELETE] {
        app.call(method, &channel, Some(ADMIN), None)
            .await
            .assert_error(405, "method_not_allowed");
    }
}

#[tokio::test]
async fn a_halt_needs_a_reason_of_1_to_200_characters() {
    let app = app();
    let long = "é".repeat(201);
    for body in [
        r#"{"reason":""}"#.to_owned(),
        r#"{"reason":"   "}"#.to_owned(),
        format!(r#"{{"reason":"{long}"}}"#),
        r#"{"reason":"a\u0000b"}"#.to_owned(),
        "{}".to_owned(),
        r#"{"reason":"x","until":1}"#.to_owned(),
    ] {
        app.post(paths::REBALANCER_HALT, ADMIN, &body)
            .await
            .assert_error(400, "invalid_request");
    }
    assert!(app.backend.calls().is_empty());
    // 200 characters (400 bytes) pass.
    let longest = "é".repeat(200);
    let answer = app
        .post(
            paths::REBALANCER_HALT,
            ADMIN,
            &format!(r#"{{"reason":"{longest}"}}"#),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(app.backend.calls(), vec![Call::HaltRebalancer(longest)]);
}

#[tokio::test]
async fn a_bad_channel_id_or_body_is_400() {
    let app = app();
    for channel_id in [
        "11".repeat(31),
        "11".repeat(33),
        "zz".repeat(32),
        "not-a-channel".to_owned(),
    ] {
        let answer = app
            .call(
                Method::PUT,
                &channel_path(&channel_id),
                Some(ADMIN),
                Some(SETTINGS),
            )
            .await;
        answer.assert_error(400, "invalid_request");
        assert!(answer.text.contains("channel_id"), "{}", answer.text);
    }
    for body in [
        r#"{"opt_out":true}"#,
        r#"{"band":{"min_ppm":1}}"#,
        r#"{"band":{"min_ppm":1,"max_ppm":2,"deadband_ppm":0,"target_ppm":1}}"#,
        r#"{"opted_out":"yes"}"#,
        "[]",
    ] {
        app.call(
            Method::PUT,
            &channel_path(CHANNEL_ID),
            Some(ADMIN),
            Some(body),
        )
        .await
        .assert_error(400, "invalid_request");
    }
    assert!(app.backend.calls().is_empty());
}

#[tokio::test]
async fn the_rebalancers_own_refusals_keep_their_codes() {
    // An unknown channel, a bad band: as the rebalancer answers them.
    for (make, status, code) in [
        (
            (|| sluice_actors::NodeError::NotFound(format!("channel {CHANNEL_ID}")))
                as fn() -> sluice_actors::NodeError,
            404,
            "not_found",
        ),
        (
            || sluice_actors::NodeError::InvalidRequest("band: the deadband is wider".into()),
            400,
            "invalid_request",
        ),
        (
            || sluice_actors::NodeError::NotRunning,
            503,
            "node_not_running",
        ),
    ] {
        let app = app();
        app.backend.fail_with(make);
        app.call(
            Method::PUT,
            &channel_path(CHANNEL_ID),
            Some(ADMIN),
            Some(SETTINGS),
        )
        .await
        .assert_error(status, code);
    }
}

#[tokio::test]
async fn without_a_section_the_state_says_so_and_the_switch_is_not_enabled() {
    let app = app();
    app.backend.rebalancer_off();
    let status: RebalancerStatusResponse = parse(&app.get(paths::REBALANCER, READ).await);
    assert!(!status.enabled);
    assert!(status.channels.is_empty() && status.plan.is_empty() && status.recent.is_empty());
    assert_eq!(
        status.note.as_deref(),
        Some("no [rebalancer] section: the node does not rebalance")
    );
    let answers = [
        app.post(paths::REBALANCER_HALT, ADMIN, r#"{"reason":"x"}"#)
            .await,
        app.call(Method::POST, paths::REBALANCER_RESUME, Some(ADMIN), None)
            .await,
        app.call(
            Method::PUT,
            &channel_path(CHANNEL_ID),
            Some(ADMIN),
            Some(SETTINGS),
        )
        .await,
    ];
    for answer in answers {
        answer.assert_error(404, "not_enabled");
        assert_eq!(
            answer.json["error"]["message"],
            "the rebalancer is not enabled on this node"
        );
    }
}

#[tokio::test]
async fn the_mirror_serves_the_same() {
    let app = app();
    let answer = app.get(&paths::internal(paths::REBALANCER), READ).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let answer = app
        .call(
            Method::PUT,
            &paths::internal(&channel_path(CHANNEL_ID)),
            Some(READ),
            Some(SETTINGS),
        )
        .await;
    answer.assert_error(403, "forbidden");
}
