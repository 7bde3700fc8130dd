//! The scope matrix, generated from the API itself: every operation of the OpenAPI
//! document, under `/v1` and its `/internal/v1` mirror, called with a token of each scope,
//! answers 200 exactly when the operation's `security` names one of the token's scopes
//! (`admin` always passes) and 403 `forbidden` otherwise, without reaching the node;
//! every method the document does not list for a path answers 405 for every token; and
//! the document lists exactly the paths the router serves.

use std::collections::{BTreeMap, BTreeSet};

use axum::http::Method;
use serde_json::Value;
use sluice_api_types::paths;

use crate::common::*;

/// Each test token and the scope it holds.
const TOKENS: [(&str, &str); 4] = [(ADMIN, "admin"), (READ, "read"), (PAY, "pay"), (LP, "lp")];
/// The methods probed on every path.
const METHODS: [Method; 5] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::DELETE,
    Method::PATCH,
];

/// `template` with its `{…}` parameters filled with values the test backend accepts.
fn fill(template: &str) -> String {
    paths::fill(
        template,
        &[
            ("node_id", PEER_ID),
            ("channel_id", CHANNEL_ID),
            ("payment_id", PAYMENT_ID),
            ("quote_id", QUOTE_ID),
            ("receipt_id", "rcpt_00"),
            ("pool_id", "main"),
            ("deposit_id", "dep_1"),
            ("lp_id", "lp-1"),
            ("seq", "latest"),
            ("withdrawal_id", "wd_1"),
            ("envelope_id", ENVELOPE_ID),
            ("agent_id", AGENT_ID),
        ],
    )
}

/// The document's operations: path → method → the scopes its security names (`None`
/// for an operation without security).
fn operations() -> BTreeMap<String, BTreeMap<String, Option<BTreeSet<String>>>> {
    let doc: Value = serde_json::from_str(sluice_api::openapi::document_json().unwrap()).unwrap();
    let mut all = BTreeMap::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        let mut methods = BTreeMap::new();
        for (method, operation) in item.as_object().unwrap() {
            let scopes = operation.get("security").map(|security| {
                security
                    .as_array()
                    .unwrap()
                    .iter()
                    .flat_map(|requirement| requirement["bearer"].as_array().unwrap().clone())
                    .map(|scope| scope.as_str().unwrap().to_owned())
                    .collect::<BTreeSet<_>>()
            });
            methods.insert(method.to_uppercase(), scopes);
        }
        all.insert(path.clone(), methods);
    }
    all
}

#[test]
fn the_document_lists_exactly_the_served_paths() {
    let documented: BTreeSet<String> = operations().into_keys().collect();
    let served: BTreeSet<String> = paths::ALL_V1
        .iter()
        .chain(&[paths::HEALTHZ, paths::METRICS, paths::OPENAPI, paths::STATS])
        .map(|p| (*p).to_owned())
        .collect();
    assert_eq!(documented, served);
}

#[tokio::test]
async fn every_operation_answers_each_scope_as_documented() {
    let bodies: BTreeMap<(Method, String), Option<String>> = every_endpoint()
        .into_iter()
        .map(|(method, path, body)| ((method, path), body))
        .collect();
    let mut checked = 0;
    for (template, methods) in operations() {
        let mirrors = if template.starts_with(paths::V1) {
            vec![fill(&template), paths::internal(&fill(&template))]
        } else {
            vec![fill(&template)]
        };
        for method in METHODS {
            let documented = methods.get(method.as_str());
            let body = bodies
                .get(&(method.clone(), fill(&template)))
                .cloned()
                .flatten();
            if documented.is_some() && method == Method::POST {
                assert!(
                    body.is_some()
                        || template == paths::WALLET_ADDRESS
                        || template == paths::POOL_SNAPSHOTS
                        || template == paths::POOL_WITHDRAWAL_CANCEL
                        || template == paths::POOL_WITHDRAWAL_APPROVE
                        || template == paths::CREDIT_REPAYMENT
                        || template == paths::REBALANCER_RESUME,
                    "no body for POST {template}"
                );
            }
            for path in &mirrors {
                for (token, scope) in TOKENS {
                    let app = app();
                    let answer = app
                        .call(method.clone(), path, Some(token), body.as_deref())
                        .await;
                    let what = format!("{token} {method} {path}: {}", answer.text);
                    match documented {
                        None => answer.assert_error(405, "method_not_allowed"),
                        // No security: open to anyone.
                        Some(None) => assert_eq!(answer.status, 200, "{what}"),
                        Some(Some(scopes)) if scope == "admin" || scopes.contains(scope) => {
                            assert_eq!(answer.status, 200, "{what}");
                        }
                        Some(Some(_)) => {
                            answer.assert_error(403, "forbidden");
                            assert!(app.backend.calls().is_empty(), "{what}");
                        }
                    }
                    checked += 1;
                }
            }
        }
    }
    // Every path × method × mirror × token was probed.
    assert!(checked > 400, "{checked}");
}
