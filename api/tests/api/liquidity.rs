//! The TreasuryRouter routes: what reaches the node from a quote or pay, and what is
//! refused before it does.

use std::time::Duration;

use serde_json::{json, Value};
use sluice_actors::idempotency::IdempotencyKey;
use sluice_actors::payments::{KeysendPayment, PayRequest, QuoteRequest, Urgency};
use sluice_api::ApiConfig;
use sluice_api_types::paths;
use sluice_api_types::{PayResponse, QuotePayResponse};

use crate::common::*;

fn quote_body(change: impl FnOnce(&mut Value)) -> String {
    let mut body: Value = serde_json::from_str(&quote_pay_body()).unwrap();
    change(&mut body);
    body.to_string()
}

#[tokio::test]
async fn a_quote_request_reaches_the_node_checked() {
    let app = app();
    let answer = app.post(paths::QUOTE_PAY, PAY, &quote_pay_body()).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let quote: QuotePayResponse = serde_json::from_value(answer.json).unwrap();
    assert_eq!(quote.quote_id, QUOTE_ID);
    assert_eq!(
        app.backend.calls(),
        vec![Call::Quote(QuoteRequest {
            idempotency_key: "idem:quote-1".into(),
            invoice: "lnbcrt10n1ptest".into(),
            host: "sats4ai.com".into(),
            max_amount_msats: 2_000,
            max_fee_msats: 50,
            urgency: Urgency::Normal,
            policy_context: json!({"schema": "openagents.liquidity.policy_context.v1", "note": "test"}),
            amount_msats: None,
            caller: sluice_api::hash_token(PAY),
        })]
    );
    // The same route under the internal mirror.
    let mirrored = app
        .post(&paths::internal(paths::QUOTE_PAY), PAY, &quote_pay_body())
        .await;
    assert_eq!(mirrored.status, 200, "{}", mirrored.text);
}

#[tokio::test]
async fn bad_quote_requests_never_reach_the_node() {
    let cases: Vec<(&str, String)> = vec![
        (
            "schema",
            quote_body(|b| b["schema"] = json!("openagents.liquidity.quote_pay_request.v2")),
        ),
        (
            "idempotency_key",
            quote_body(|b| b["idempotency_key"] = json!("")),
        ),
        (
            "idempotency_key",
            quote_body(|b| b["idempotency_key"] = json!("has space")),
        ),
        (
            "idempotency_key",
            quote_body(|b| b["idempotency_key"] = json!("k".repeat(129))),
        ),
        ("invoice", quote_body(|b| b["invoice"] = json!("  "))),
        ("host", quote_body(|b| b["host"] = json!(""))),
        ("host", quote_body(|b| b["host"] = json!("a\u{7}b"))),
        (
            "max_amount_msats",
            quote_body(|b| b["max_amount_msats"] = json!(0)),
        ),
        ("urgency", quote_body(|b| b["urgency"] = json!("asap"))),
        ("amount_msats", quote_body(|b| b["amount_msats"] = json!(0))),
        ("unknown field", quote_body(|b| b["tip"] = json!(1))),
        (
            "max_fee_msats",
            quote_body(|b| b["max_fee_msats"] = json!(-1)),
        ),
    ];
    for (what, body) in cases {
        let app = app();
        let answer = app.post(paths::QUOTE_PAY, PAY, &body).await;
        answer.assert_error(400, "invalid_request");
        assert!(app.backend.calls().is_empty(), "{what}: {body}");
    }
}

#[tokio::test]
async fn a_pay_waits_at_most_the_request_timeout_less_a_margin() {
    let app = app_with(ApiConfig {
        auth: auth_config(),
        request_timeout: Duration::from_secs(10),
        ..ApiConfig::default()
    });
    for (wait_ms, expected) in [
        (None, Duration::from_secs(8)),
        (Some(0), Duration::ZERO),
        (Some(1_500), Duration::from_millis(1_500)),
        (Some(60_000), Duration::from_secs(8)),
    ] {
        let mut body = json!({
            "schema": "openagents.liquidity.pay_request.v1",
            "quote_id": QUOTE_ID,
            "run_id": "run-1",
        });
        if let Some(wait_ms) = wait_ms {
            body["wait_ms"] = json!(wait_ms);
        }
        let answer = app.post(paths::PAY, PAY, &body.to_string()).await;
        let paid: PayResponse = serde_json::from_value(answer.json).unwrap();
        assert_eq!(paid.quote_id, QUOTE_ID);
        let call = app.backend.calls().pop().unwrap();
        let request = PayRequest {
            quote_id: QUOTE_ID.into(),
            run_id: Some("run-1".into()),
            trajectory_hash: None,
            caller: sluice_api::hash_token(PAY),
        };
        assert_eq!(call, Call::PayQuote(request, expected), "{wait_ms:?}");
    }
}

#[tokio::test]
async fn bad_pay_requests_never_reach_the_node() {
    for body in [
        json!({"schema": "openagents.liquidity.pay_request.v0", "quote_id": QUOTE_ID}),
        json!({"schema": "openagents.liquidity.pay_request.v1", "quote_id": ""}),
        json!({"schema": "openagents.liquidity.pay_request.v1", "quote_id": "a b"}),
        json!({"schema": "openagents.liquidity.pay_request.v1", "quote_id": QUOTE_ID, "run_id": "x\ny"}),
        json!({"schema": "openagents.liquidity.pay_request.v1"}),
    ] {
        let app = app();
        app.post(paths::PAY, PAY, &body.to_string())
            .await
            .assert_error(400, "invalid_request");
        assert!(app.backend.calls().is_empty(), "{body}");
    }
}

#[tokio::test]
async fn polls_receipts_and_keysend() {
    let app = app();
    let path = paths::fill(paths::QUOTE_PAYMENT, &[("quote_id", QUOTE_ID)]);
    let polled: PayResponse = serde_json::from_value(app.get(&path, READ).await.json).unwrap();
    assert_eq!(polled.status, "succeeded");
    let path = paths::fill(paths::RECEIPT, &[("receipt_id", "rcpt_ab")]);
    assert_eq!(app.get(&path, READ).await.json["receipt_id"], "rcpt_ab");
    let body = format!(r#"{{"node_id":"{PEER_ID}","amount_msat":5000,"max_fee_msat":10}}"#);
    assert_eq!(app.post(paths::KEYSEND, PAY, &body).await.status, 200);
    assert_eq!(
        app.backend.calls(),
        vec![
            Call::GetQuotePayment(QUOTE_ID.into()),
            Call::GetReceipt("rcpt_ab".into()),
            Call::Keysend(KeysendPayment {
                node_id: PEER_ID.parse().unwrap(),
                amount_msat: 5_000,
                max_fee_msat: Some(10),
                idempotency: IdempotencyKey {
                    caller: sluice_api::hash_token(PAY),
                    key: IDEMPOTENCY_KEY.into(),
                },
            }),
        ]
    );
    for bad in [
        format!(r#"{{"node_id":"{PEER_ID}","amount_msat":0}}"#),
        r#"{"node_id":"02zz","amount_msat":5000}"#.to_owned(),
    ] {
        app.post(paths::KEYSEND, PAY, &bad)
            .await
            .assert_error(400, "invalid_request");
    }
    // Without an Idempotency-Key a retried keysend could pay twice: refused, unsent.
    let calls = app.backend.calls().len();
    let request = axum::http::Request::post(paths::KEYSEND)
        .header("authorization", format!("Bearer {PAY}"))
        .header("content-type", "application/json")
        .body(axum::body::Body::from(body.clone()))
        .unwrap();
    let refused = app.send(request).await;
    refused.assert_error(400, "invalid_request");
    assert!(refused.text.contains("Idempotency-Key"), "{}", refused.text);
    assert_eq!(app.backend.calls().len(), calls);
    let long = paths::fill(paths::RECEIPT, &[("receipt_id", &"r".repeat(65))]);
    app.get(&long, READ)
        .await
        .assert_error(400, "invalid_request");
}

#[tokio::test]
async fn a_pay_naming_an_envelope_is_paid_on_its_credit() {
    let app = app_with(ApiConfig {
        auth: auth_config(),
        ..ApiConfig::default()
    });
    let body = json!({
        "schema": "openagents.liquidity.pay_request.v1",
        "quote_id": QUOTE_ID,
        "envelope_id": "cepe_1",
    });
    let answer = app.post(paths::PAY, PAY, &body.to_string()).await;
    let paid: PayResponse = serde_json::from_value(answer.json).unwrap();
    assert_eq!(paid.envelope_id.as_deref(), Some("cepe_1"));
    let request = PayRequest {
        quote_id: QUOTE_ID.into(),
        run_id: None,
        trajectory_hash: None,
        caller: sluice_api::hash_token(PAY),
    };
    assert_eq!(
        app.backend.calls().pop().unwrap(),
        Call::PayQuoteOnEnvelope(request, "cepe_1".into())
    );
    // A bad envelope id is refused naming the field, before the node sees it.
    let bad = json!({
        "schema": "openagents.liquidity.pay_request.v1",
        "quote_id": QUOTE_ID,
        "envelope_id": "cepe 1",
    });
    let answer = app.post(paths::PAY, PAY, &bad.to_string()).await;
    assert_eq!(answer.status, 400);
    assert!(answer.json["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("envelope_id"));
}
