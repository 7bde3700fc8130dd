//! Property tests: the request validators never panic and refuse only with
//! `invalid_request`; any body sent to any POST route, any path parameter and any query
//! string gets an answer below 500 in the API's error format, never a panic.

use axum::http::Method;
use proptest::prelude::*;
use serde_json::{Map, Value};
use sluice_api::{validate, ApiError};

use crate::common::*;

/// Any JSON value, nested a little.
fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        any::<String>().prop_map(Value::String),
        "[0-9a-f]{64,66}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((any::<String>(), inner), 0..6)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// A body for `valid`'s route: `valid` with one field replaced by any value, one field
/// removed, one unknown field added, any JSON at all, or any bytes.
fn body(valid: Value) -> impl Strategy<Value = Vec<u8>> {
    let keys: Vec<String> = valid
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    let keys = if keys.is_empty() {
        vec!["x".to_owned()]
    } else {
        keys
    };
    let (replace, remove) = (valid.clone(), valid.clone());
    prop_oneof![
        (prop::sample::select(keys.clone()), json()).prop_map(move |(key, value)| {
            let mut body = replace.clone();
            if let Some(map) = body.as_object_mut() {
                map.insert(key, value);
            }
            serde_json::to_vec(&body).expect("encodes")
        }),
        prop::sample::select(keys).prop_map(move |key| {
            let mut body = remove.clone();
            if let Some(map) = body.as_object_mut() {
                map.remove(&key);
            }
            serde_json::to_vec(&body).expect("encodes")
        }),
        (any::<String>(), json()).prop_map(move |(key, value)| {
            let mut body = valid.clone();
            if let Some(map) = body.as_object_mut() {
                map.insert(key, value);
            }
            serde_json::to_vec(&body).expect("encodes")
        }),
        json().prop_map(|v| serde_json::to_vec(&v).expect("encodes")),
        prop::collection::vec(any::<u8>(), 0..200),
    ]
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
}

fn assert_clean(answer: &Answer, what: &str) -> Result<(), TestCaseError> {
    prop_assert!(
        answer.status.as_u16() < 500,
        "{what}: {} {}",
        answer.status,
        answer.text
    );
    if answer.status.as_u16() >= 400 {
        let code = answer.json["error"]["code"].as_str().unwrap_or_default();
        prop_assert!(
            ApiError::CODES.iter().any(|(c, _)| *c == code),
            "{what}: not the error format: {}",
            answer.text
        );
    }
    Ok(())
}

/// Every POST route with a JSON body, and a valid body for it.
fn posts() -> Vec<(String, Value)> {
    every_endpoint()
        .into_iter()
        .filter(|(method, _, _)| *method == Method::POST)
        .filter_map(|(_, path, body)| Some((path, serde_json::from_str(&body?).ok()?)))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn validators_refuse_cleanly(text in any::<String>(), bytes in prop::collection::vec(any::<u8>(), 0..200), n in any::<u64>()) {
        let results = [
            validate::node_id("f", &text).map(drop),
            validate::id32("f", &text).map(drop),
            validate::peer_address("f", &text).map(drop),
            validate::positive_sat("f", n).map(drop),
            validate::positive_msat("f", n).map(drop),
            validate::idempotency_key(&bytes).map(drop),
            validate::token("f", &text, 128).map(drop),
            validate::text("f", &text, 255).map(drop),
        ];
        for result in results {
            if let Err(e) = result {
                prop_assert_eq!(e.code(), "invalid_request");
            }
        }
    }

    #[test]
    fn any_body_on_any_post_route_answers_below_500(
        (path, body) in prop::sample::select(posts()).prop_flat_map(|(path, valid)| (Just(path), body(valid)))
    ) {
        let app = app();
        let request = axum::http::Request::post(&path)
            .header("authorization", format!("Bearer {ADMIN}"))
            .header("content-type", "application/json")
            .header("idempotency-key", IDEMPOTENCY_KEY)
            .body(axum::body::Body::from(body.clone()))
            .expect("a request");
        let answer = runtime().block_on(app.send(request));
        assert_clean(&answer, &format!("POST {path} {}", String::from_utf8_lossy(&body)))?;
    }

    #[test]
    fn any_path_parameter_or_query_answers_below_500(segment in "[!-~]{0,80}", query in "[ -~]{0,80}") {
        let app = app();
        let encoded = percent_encoding::utf8_percent_encode(&segment, percent_encoding::NON_ALPHANUMERIC).to_string();
        let rt = runtime();
        for template in [
            "/v1/node/payments/{p}",
            "/v1/liquidity/pay/{p}",
            "/v1/receipts/{p}",
            "/internal/v1/node/peers/{p}",
        ] {
            let path = template.replace("{p}", &encoded);
            let method = if template.contains("peers") { Method::DELETE } else { Method::GET };
            let answer = rt.block_on(app.call(method, &path, Some(ADMIN), None));
            assert_clean(&answer, &path)?;
        }
        // Queries HTTP itself refuses never reach the router.
        let path = format!("/v1/node/payments?{query}");
        if path.parse::<axum::http::Uri>().is_ok() {
            let answer = rt.block_on(app.call(Method::GET, &path, Some(ADMIN), None));
            assert_clean(&answer, &path)?;
        }
    }
}
