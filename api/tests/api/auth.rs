//! Bearer tokens and scopes.

use axum::body::Body;
use axum::http::{Method, Request};
use sluice_api_types::paths;

use crate::common::*;

#[tokio::test]
async fn no_token_is_401_everywhere() {
    let app = app();
    for (method, path, body) in every_endpoint() {
        let answer = app.call(method.clone(), &path, None, body.as_deref()).await;
        answer.assert_error(401, "unauthenticated");
        assert_eq!(
            answer.headers["www-authenticate"], "Bearer",
            "{method} {path}"
        );
    }
    app.call(Method::GET, paths::METRICS, None, None)
        .await
        .assert_error(401, "unauthenticated");
    assert!(
        app.backend.calls().is_empty(),
        "no backend call without auth"
    );
}

#[tokio::test]
async fn wrong_token_is_401() {
    let app = app();
    for (method, path, body) in every_endpoint() {
        app.call(method, &path, Some("not-a-token"), body.as_deref())
            .await
            .assert_error(401, "unauthenticated");
    }
}

#[tokio::test]
async fn malformed_authorization_headers_are_401() {
    let app = app();
    for header in [
        format!("Basic {ADMIN}"),
        format!("Bearer{ADMIN}"),
        "Bearer".to_owned(),
        "Bearer ".to_owned(),
        ADMIN.to_owned(),
        // The token's digest is not the token.
        format!("Bearer {}", sluice_api::hash_token(ADMIN)),
    ] {
        let request = Request::get(paths::NODE_INFO)
            .header("authorization", header.as_str())
            .body(Body::empty())
            .unwrap();
        app.send(request).await.assert_error(401, "unauthenticated");
    }
    let request = Request::get(paths::NODE_INFO)
        .header("authorization", &b"Bearer \xff\xfe"[..])
        .body(Body::empty())
        .unwrap();
    app.send(request).await.assert_error(401, "unauthenticated");
}

#[tokio::test]
async fn bearer_scheme_is_case_insensitive() {
    let app = app();
    let request = Request::get(paths::NODE_INFO)
        .header("authorization", format!("bearer {READ}"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(app.send(request).await.status, 200);
}

#[tokio::test]
async fn read_token_on_a_post_is_403_admin_ok() {
    let app = app();
    let body = format!(r#"{{"node_id":"{PEER_ID}","capacity_sat":100000}}"#);
    let answer = app.post(paths::CHANNELS, READ, &body).await;
    answer.assert_error(403, "forbidden");
    assert!(answer.json["error"]["message"]
        .as_str()
        .unwrap()
        .contains("admin"));
    assert_eq!(app.post(paths::CHANNELS, ADMIN, &body).await.status, 200);
}

#[tokio::test]
async fn auth_comes_before_body_parsing() {
    let app = app();
    app.call(Method::POST, paths::CHANNELS, None, Some("{not json"))
        .await
        .assert_error(401, "unauthenticated");
    app.post(paths::CHANNELS, READ, "{not json")
        .await
        .assert_error(403, "forbidden");
}

#[tokio::test]
async fn metrics_need_read() {
    let app = app();
    assert_eq!(app.get(paths::METRICS, READ).await.status, 200);
    assert_eq!(app.get(paths::METRICS, ADMIN).await.status, 200);
    app.get(paths::METRICS, PAY)
        .await
        .assert_error(403, "forbidden");
}

#[tokio::test]
async fn healthz_and_openapi_need_no_token() {
    let app = app();
    for path in [paths::HEALTHZ, paths::OPENAPI] {
        assert_eq!(
            app.call(Method::GET, path, None, None).await.status,
            200,
            "{path}"
        );
    }
}

#[tokio::test]
async fn no_configured_tokens_fails_closed() {
    let app = app_with(sluice_api::ApiConfig::default());
    app.get(paths::NODE_INFO, ADMIN)
        .await
        .assert_error(401, "unauthenticated");
    assert_eq!(
        app.call(Method::GET, paths::HEALTHZ, None, None)
            .await
            .status,
        200
    );
}
