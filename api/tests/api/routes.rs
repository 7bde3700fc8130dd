//! Every route's happy path, and the `/internal/v1` mirror.

use axum::body::Body;
use axum::http::{Method, Request};
use serde_json::json;
use sluice_api::backend::{ChannelId, Lsps2OrdersPage, PaymentFilter, PaymentId, PeerAddress};
use sluice_api_types::paths;
use sluice_api_types::{
    CloseChannelResponse, HealthStatus, InvoiceResponse, ListChannelsResponse,
    ListPaymentsResponse, ListPeersResponse, Lsps2OrdersResponse, NodeInfoResponse,
    OpenChannelResponse, PaymentInfo, PaymentStatus, PeerResponse, WalletAddressResponse,
    WalletBalanceResponse,
};

use crate::common::*;

fn parse<T: serde::de::DeserializeOwned>(answer: &Answer) -> T {
    assert_eq!(answer.status, 200, "{}", answer.text);
    serde_json::from_value(answer.json.clone()).expect("body matches the response type")
}

#[tokio::test]
async fn node_info() {
    let app = app();
    let info: NodeInfoResponse = parse(&app.get(paths::NODE_INFO, READ).await);
    assert_eq!(info.node_id, NODE_ID);
    assert_eq!(info.block_height, 101);
}

#[tokio::test]
async fn peers() {
    let app = app();
    let peers: ListPeersResponse = parse(&app.get(paths::PEERS, READ).await);
    assert_eq!(peers.peers[0].node_id, PEER_ID);

    let body = format!(r#"{{"node_id":"{PEER_ID}","address":"[::1]:9736"}}"#);
    let connected: PeerResponse = parse(&app.post(paths::PEERS, ADMIN, &body).await);
    assert_eq!(connected.node_id, PEER_ID);

    let path = paths::fill(paths::PEER, &[("node_id", PEER_ID)]);
    let answer = app.call(Method::DELETE, &path, Some(ADMIN), None).await;
    let disconnected: PeerResponse = parse(&answer);
    assert_eq!(disconnected.node_id, PEER_ID);

    let calls = app.backend.calls();
    let Call::Connect(connect) = &calls[1] else {
        panic!("expected a connect, got {calls:?}")
    };
    assert_eq!(connect.node_id.to_string(), PEER_ID);
    assert_eq!(
        connect.address,
        PeerAddress {
            host: "::1".into(),
            port: 9736
        }
    );
    assert!(matches!(&calls[2], Call::Disconnect(key) if key.to_string() == PEER_ID));
}

#[tokio::test]
async fn channels() {
    let app = app();
    let list: ListChannelsResponse = parse(&app.get(paths::CHANNELS, READ).await);
    let channel = &list.channels[0];
    assert_eq!(channel.channel_id, CHANNEL_ID);
    assert_eq!(channel.capacity_sat, 1_000_000);
    assert!(channel.is_usable && channel.is_ready && channel.is_outbound);
    // Every documented field is present in the JSON.
    for field in [
        "funding_txo",
        "short_channel_id",
        "outbound_capacity_msat",
        "inbound_capacity_msat",
        "confirmations",
        "is_announced",
        "anchors",
    ] {
        assert!(
            app.get(paths::CHANNELS, READ).await.json["channels"][0]
                .get(field)
                .is_some(),
            "{field}"
        );
    }
}

#[tokio::test]
async fn open_channel_passes_every_option() {
    let app = app();
    let body = json!({
        "node_id": PEER_ID,
        "address": "127.0.0.1:9736",
        "capacity_sat": 100_000,
        "push_msat": 5_000_000,
        "announce": true,
        "zero_conf": true,
    })
    .to_string();
    let request = axum::http::Request::post(paths::CHANNELS)
        .header("authorization", format!("Bearer {ADMIN}"))
        .header("content-type", "application/json")
        .header("idempotency-key", "open-1")
        .body(axum::body::Body::from(body))
        .unwrap();
    let opened: OpenChannelResponse = parse(&app.send(request).await);
    assert_eq!(opened.channel_id, CHANNEL_ID);

    let calls = app.backend.calls();
    let Call::Open(open) = &calls[0] else {
        panic!("expected an open, got {calls:?}")
    };
    assert_eq!(open.node_id.to_string(), PEER_ID);
    assert_eq!(
        open.address.as_ref().map(|a| a.to_string()).as_deref(),
        Some("127.0.0.1:9736")
    );
    assert_eq!((open.capacity_sat, open.push_msat), (100_000, 5_000_000));
    assert!(open.announce && open.zero_conf);
    let key = open.idempotency.as_ref().expect("the key");
    assert_eq!(key.key, "open-1");
    assert_eq!(key.caller, sluice_api::hash_token(ADMIN));
}

#[tokio::test]
async fn open_channel_defaults() {
    let app = app();
    let body = format!(r#"{{"node_id":"{PEER_ID}","capacity_sat":20000}}"#);
    let _: OpenChannelResponse = parse(&app.post(paths::CHANNELS, ADMIN, &body).await);
    let Call::Open(open) = &app.backend.calls()[0] else {
        panic!("expected an open")
    };
    assert_eq!(open.address, None);
    assert_eq!(open.push_msat, 0);
    assert!(!open.announce && !open.zero_conf);
    assert_eq!(
        open.idempotency.as_ref().map(|k| k.key.as_str()),
        Some(IDEMPOTENCY_KEY)
    );
}

#[tokio::test]
async fn close_channel() {
    let app = app();
    let path = paths::fill(paths::CHANNEL_CLOSE, &[("channel_id", CHANNEL_ID)]);
    let body = format!(r#"{{"counterparty_node_id":"{PEER_ID}","force":true}}"#);
    let closed: CloseChannelResponse = parse(&app.post(&path, ADMIN, &body).await);
    assert_eq!(closed.channel_id, CHANNEL_ID);
    assert!(closed.force);
    let Call::Close(close) = &app.backend.calls()[0] else {
        panic!("expected a close")
    };
    assert_eq!(close.channel_id, ChannelId([0x11; 32]));
    assert!(close.force);
}

#[tokio::test]
async fn create_invoice() {
    let app = app();
    let body = r#"{"amount_msat":21000,"description":"coffee","expiry_secs":600}"#;
    let invoice: InvoiceResponse = parse(&app.post(paths::INVOICES, PAY, body).await);
    assert_eq!(invoice.amount_msat, Some(21_000));
    assert_eq!(invoice.payment_hash.len(), 64);

    // Any-amount invoice with the default expiry.
    let invoice: InvoiceResponse = parse(&app.post(paths::INVOICES, PAY, "{}").await);
    assert_eq!(invoice.amount_msat, None);
    let calls = app.backend.calls();
    let (Call::Invoice(first), Call::Invoice(second)) = (&calls[0], &calls[1]) else {
        panic!("expected invoices, got {calls:?}")
    };
    assert_eq!(
        (first.expiry_secs, first.description.as_str()),
        (600, "coffee")
    );
    assert_eq!((second.expiry_secs, second.amount_msat), (3600, None));
}

#[tokio::test]
async fn payments() {
    let app = app();
    let list: ListPaymentsResponse = parse(&app.get(paths::PAYMENTS, READ).await);
    assert_eq!(list.payments[0].status, PaymentStatus::Succeeded);
    let list: ListPaymentsResponse = parse(
        &app.get(
            "/v1/node/payments?direction=inbound&status=pending&limit=5&cursor=cursor-1",
            PAY,
        )
        .await,
    );
    assert_eq!(list.payments.len(), 1);
    assert_eq!(list.next_cursor.as_deref(), Some("cursor-1"));

    let path = paths::fill(paths::PAYMENT, &[("payment_id", PAYMENT_ID)]);
    let payment: PaymentInfo = parse(&app.get(&path, READ).await);
    assert_eq!(payment, crate::common::payment(PAYMENT_ID));

    let calls = app.backend.calls();
    assert_eq!(
        calls[0],
        Call::ListPayments(PaymentFilter {
            direction: None,
            status: None,
            limit: 100,
            cursor: None,
            payment_hash: None,
        })
    );
    assert_eq!(
        calls[1],
        Call::ListPayments(PaymentFilter {
            direction: Some(sluice_api_types::PaymentDirection::Inbound),
            status: Some(PaymentStatus::Pending),
            limit: 5,
            cursor: Some("cursor-1".into()),
            payment_hash: None,
        })
    );
    assert_eq!(calls[2], Call::GetPayment(PaymentId([0x22; 32])));
}

#[tokio::test]
async fn lsps2_orders_are_paged() {
    let app = app();
    let page: Lsps2OrdersResponse = parse(&app.get(paths::LSPS2_ORDERS, READ).await);
    assert_eq!(page.next_cursor.as_deref(), Some("0".repeat(48).as_str()));
    let cursor = format!("{:016x}{:032x}", 1_800_000_000_000u64, 7);
    let path = format!("{}?limit=2&cursor={cursor}", paths::LSPS2_ORDERS);
    let _: Lsps2OrdersResponse = parse(&app.get(&path, READ).await);
    let answer = app
        .get(&format!("{}?limit=1000", paths::LSPS2_ORDERS), READ)
        .await;
    assert_eq!(answer.status, 200);
    assert_eq!(
        app.backend.calls(),
        [
            Call::Lsps2Orders(Lsps2OrdersPage {
                limit: 100,
                cursor: None
            }),
            Call::Lsps2Orders(Lsps2OrdersPage {
                limit: 2,
                cursor: Some(cursor)
            }),
            Call::Lsps2Orders(Lsps2OrdersPage {
                limit: 1000,
                cursor: None
            }),
        ]
    );
}

#[tokio::test]
async fn wallet() {
    let app = app();
    let address: WalletAddressResponse = parse(
        &app.call(Method::POST, paths::WALLET_ADDRESS, Some(ADMIN), None)
            .await,
    );
    assert!(address.address.starts_with("bcrt1"));
    let balance: WalletBalanceResponse = parse(&app.get(paths::WALLET_BALANCE, READ).await);
    assert_eq!(balance.total_sat, 8_000);
}

#[tokio::test]
async fn healthz_needs_no_token_and_reflects_the_node() {
    let app = app();
    let answer = app.call(Method::GET, paths::HEALTHZ, None, None).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.json, json!({"status": "ok"}));

    app.backend.set_health(HealthStatus::Degraded);
    let answer = app.call(Method::GET, paths::HEALTHZ, None, None).await;
    assert_eq!(
        (answer.status.as_u16(), &answer.json["status"]),
        (200, &json!("degraded"))
    );

    app.backend.set_health(HealthStatus::Unavailable);
    let answer = app.call(Method::GET, paths::HEALTHZ, None, None).await;
    assert_eq!(
        (answer.status.as_u16(), &answer.json["status"]),
        (503, &json!("unavailable"))
    );

    app.backend
        .fail_with(|| sluice_actors::NodeError::NotRunning);
    let answer = app.call(Method::GET, paths::HEALTHZ, None, None).await;
    answer.assert_error(503, "node_not_running");
}

#[tokio::test]
async fn metrics_renders_the_closure() {
    let app = app();
    let answer = app.get(paths::METRICS, READ).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.text, METRICS_TEXT);
    assert!(answer.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
}

#[tokio::test]
async fn internal_v1_mirrors_v1() {
    for (method, path, body) in every_endpoint() {
        let public = app();
        let internal = app();
        let a = public
            .call(method.clone(), &path, Some(ADMIN), body.as_deref())
            .await;
        let b = internal
            .call(
                method.clone(),
                &paths::internal(&path),
                Some(ADMIN),
                body.as_deref(),
            )
            .await;
        assert_eq!(a.status, 200, "{method} {path}: {}", a.text);
        assert_eq!((a.status, &a.json), (b.status, &b.json), "{method} {path}");
        assert_eq!(
            public.backend.calls(),
            internal.backend.calls(),
            "{method} {path}"
        );

        // The mirror is guarded the same way.
        let b = internal
            .call(
                method.clone(),
                &paths::internal(&path),
                None,
                body.as_deref(),
            )
            .await;
        b.assert_error(401, "unauthenticated");
    }
}

#[tokio::test]
async fn stats_need_no_token_and_come_as_json_or_a_page() {
    let app = app();
    let answer = app.call(Method::GET, paths::STATS, None, None).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.json["schema"], "openagents.liquidity.stats.v1");
    assert_eq!(answer.json["payments"]["success_rate"], 0.75);
    assert_eq!(
        answer.json["routing"]["hourly"].as_array().unwrap().len(),
        24
    );
    assert_eq!(app.backend.calls().last(), Some(&Call::Stats));
    // The credit envelopes and both breakers.
    let credit = &answer.json["credit"];
    assert_eq!(credit["open_envelopes"], 2);
    assert_eq!(credit["reserved_msats"], 5_000_000);
    assert_eq!(credit["loss_rate_bps"], 6_000);
    assert_eq!(credit["halt_new_envelopes"], true);
    assert_eq!(credit["ln_failure_rate_bps"], 3_250);
    assert_eq!(credit["hold_large_settlements"], false);
    assert_eq!(credit["large_settlement_sats"], 25_000);

    let request = Request::builder()
        .method(Method::GET)
        .uri(paths::STATS)
        .header("accept", "text/html,application/xhtml+xml;q=0.9")
        .body(Body::empty())
        .unwrap();
    let answer = app.send(request).await;
    assert_eq!(answer.status, 200);
    assert!(answer.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(answer.text.starts_with("<!doctype html>"));
    assert!(answer.text.contains("75.0 %"), "{}", answer.text);
    assert!(answer.text.contains("3,000 sat"));
    // The credit block: open envelopes, reserved, loss rate and both breakers.
    assert!(answer.text.contains("<table id=\"credit\">"));
    for shown in [
        "<tr><th>Open envelopes</th><td>2</td></tr>",
        "<tr><th>Reserved</th><td>5,000 sat</td></tr>",
        "<tr><th>Loss rate</th><td>60.0 % (6 of 10)</td></tr>",
        "<tr><th>Loss breaker</th><td>tripped: no new envelopes</td></tr>",
        "<tr><th>Lightning failure rate</th><td>32.5 % (13 of 40)</td></tr>",
        "<tr><th>Lightning breaker</th><td>closed</td></tr>",
    ] {
        assert!(answer.text.contains(shown), "{shown} in {}", answer.text);
    }
    // The chart: one bar per hour.
    assert_eq!(answer.text.matches("<rect class=\"bar\"").count(), 24);

    // A node error is a stable code, not a page.
    app.backend
        .fail_with(|| sluice_actors::NodeError::NotRunning);
    let answer = app.call(Method::GET, paths::STATS, None, None).await;
    answer.assert_error(503, "node_not_running");
}
