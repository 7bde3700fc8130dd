//! Per-token rate limits on the money routes.

use axum::http::Method;
use sluice_api::{hash_token, ApiConfig, RateLimit, Scope, TokenConfig};
use sluice_api_types::paths;

use crate::common::*;

const OTHER_PAY: &str = "other-pay-secret";

fn keysend_body() -> String {
    format!(r#"{{"node_id":"{PEER_ID}","amount_msat":1000}}"#)
}

/// An app whose tokens get 1 request a second with bursts of 2 on the money routes, with
/// a second `pay` token.
fn limited_app() -> TestApp {
    let mut auth = auth_config();
    auth.tokens.push(TokenConfig {
        sha256_hex: hash_token(OTHER_PAY),
        scopes: vec![Scope::Pay],
    });
    app_with(ApiConfig {
        auth,
        rate_limit: RateLimit {
            per_second: 1,
            burst: 2,
        },
        ..ApiConfig::default()
    })
}

#[tokio::test]
async fn a_token_over_its_burst_gets_429_with_retry_after() {
    let app = limited_app();
    let body = keysend_body();
    for _ in 0..2 {
        let answer = app.post(paths::KEYSEND, PAY, &body).await;
        assert_eq!(answer.status, 200, "{}", answer.text);
    }
    let answer = app.post(paths::KEYSEND, PAY, &body).await;
    answer.assert_error(429, "rate_limited");
    assert_eq!(answer.headers["retry-after"], "1", "{:?}", answer.headers);

    // The bucket is the token's, whatever money route or prefix it calls.
    app.post(paths::QUOTE_PAY, PAY, &quote_pay_body())
        .await
        .assert_error(429, "rate_limited");
    app.post(&paths::internal(paths::KEYSEND), PAY, &body)
        .await
        .assert_error(429, "rate_limited");
    app.post(
        paths::INVOICES,
        PAY,
        r#"{"amount_msat":1000,"description":"x"}"#,
    )
    .await
    .assert_error(429, "rate_limited");

    // Another token is not charged for it.
    let answer = app.post(paths::KEYSEND, OTHER_PAY, &body).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let answer = app
        .post(paths::QUOTE_PAY, OTHER_PAY, &quote_pay_body())
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);

    // Reads are not limited.
    for _ in 0..10 {
        assert_eq!(app.get(paths::PAYMENTS, PAY).await.status, 200);
        let payment = paths::fill(paths::PAYMENT, &[("payment_id", PAYMENT_ID)]);
        assert_eq!(app.get(&payment, PAY).await.status, 200);
    }

    // A refused request never reaches the node.
    let sends = app
        .backend
        .calls()
        .iter()
        .filter(|c| matches!(c, Call::Keysend(_) | Call::Quote(_) | Call::Invoice(_)))
        .count();
    assert_eq!(
        sends, 4,
        "two keysends by PAY, a keysend and a quote by OTHER_PAY"
    );
}

#[tokio::test]
async fn unauthenticated_requests_are_refused_before_the_limit() {
    let app = limited_app();
    for _ in 0..5 {
        app.call(Method::POST, paths::KEYSEND, None, Some(&keysend_body()))
            .await
            .assert_error(401, "unauthenticated");
    }
    // They took nothing from any bucket.
    assert_eq!(
        app.post(paths::KEYSEND, PAY, &keysend_body()).await.status,
        200
    );
}

#[tokio::test]
async fn the_default_limit_lets_a_load_test_through() {
    assert_eq!(
        ApiConfig::default().rate_limit,
        RateLimit {
            per_second: 1000,
            burst: 2000
        }
    );
    let app = app();
    for _ in 0..500 {
        let answer = app.post(paths::QUOTE_PAY, PAY, &quote_pay_body()).await;
        assert_eq!(answer.status, 200, "{}", answer.text);
    }
}

#[tokio::test]
async fn a_zero_rate_limits_nothing() {
    let app = app_with(ApiConfig {
        auth: auth_config(),
        rate_limit: RateLimit::UNLIMITED,
        ..ApiConfig::default()
    });
    for _ in 0..50 {
        assert_eq!(
            app.post(paths::KEYSEND, PAY, &keysend_body()).await.status,
            200
        );
    }
}
