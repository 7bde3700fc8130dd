//! The OpenAPI document.

use axum::http::Method;
use serde_json::Value;
use sluice_api_types::paths;

use crate::common::*;

async fn document() -> Value {
    let app = app();
    let answer = app.call(Method::GET, paths::OPENAPI, None, None).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.headers["content-type"], "application/json");
    assert!(answer.json.is_object(), "the document parses as JSON");
    answer.json
}

#[tokio::test]
async fn lists_every_route_with_its_methods() {
    let doc = document().await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let documented = doc["paths"].as_object().expect("paths");
    let mut expected = vec![paths::HEALTHZ, paths::METRICS, paths::OPENAPI, paths::STATS];
    expected.extend(paths::ALL_V1);
    for path in &expected {
        assert!(documented.contains_key(*path), "{path} is documented");
    }
    assert_eq!(documented.len(), expected.len(), "no undocumented extras");

    // Every endpoint the router serves is documented with its method.
    for (method, path, _) in every_endpoint() {
        // A static segment wins over a `{…}` one that also matches it (axum's rule too):
        // of the matching templates, the one with the fewest parameters.
        let template = paths::ALL_V1
            .iter()
            .filter(|template| {
                let t: Vec<_> = template.split('/').collect();
                let p: Vec<_> = path.split('/').collect();
                t.len() == p.len() && t.iter().zip(&p).all(|(t, p)| t.starts_with('{') || t == p)
            })
            .min_by_key(|template| template.matches('{').count())
            .expect("a template for every endpoint");
        let operation = &doc["paths"][*template][method.as_str().to_lowercase()];
        assert!(operation.is_object(), "{method} {template} is documented");
        assert!(
            operation["security"].is_array(),
            "{method} {template} names its scopes"
        );
    }
}

#[tokio::test]
async fn documents_auth_and_error_shape() {
    let doc = document().await;
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    assert!(doc["components"]["schemas"]["ErrorResponse"].is_object());
    assert!(doc["components"]["schemas"]["OpenChannelRequest"].is_object());
    assert_eq!(
        doc["paths"][paths::CHANNELS]["post"]["security"][0]["bearer"][0],
        "admin"
    );
    assert_eq!(
        doc["paths"][paths::INVOICES]["post"]["security"][0]["bearer"][0],
        "pay"
    );
    assert!(doc["paths"][paths::HEALTHZ]["get"]
        .get("security")
        .is_none());
    assert!(doc["info"]["description"]
        .as_str()
        .unwrap()
        .contains("/internal/v1"));
}

#[tokio::test]
async fn documents_the_rate_limit_answer() {
    let doc = document().await;
    let limited = &doc["paths"][paths::KEYSEND]["post"]["responses"]["429"];
    assert!(limited.is_object(), "429 is documented: {limited}");
    assert!(
        limited["headers"]["Retry-After"].is_object(),
        "with Retry-After: {limited}"
    );
}
