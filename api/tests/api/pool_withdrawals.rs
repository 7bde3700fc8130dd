//! The LP withdrawal routes: what reaches the node from a withdrawal request, a read, a
//! cancel, an approval and a halt, what is refused before it does, and the answer's shape.

use serde_json::{json, Value};
use sluice_actors::pool::{PartitionKind, WithdrawalAsk};
use sluice_actors::NodeError;
use sluice_api::{hash_token, ApiConfig, RateLimit};
use sluice_api_types::paths;
use sluice_api_types::{WithdrawResponse, WithdrawalsHaltResponse};
use sluice_pool::queue::Rail;

use crate::common::*;

const INVOICE: &str = "lnbcrt1pwithdrawtest";

fn request_path() -> String {
    paths::fill(paths::POOL_WITHDRAW_REQUEST, &[("pool_id", "main")])
}

fn withdrawal_path(template: &str, withdrawal_id: &str) -> String {
    paths::fill(
        template,
        &[("pool_id", "main"), ("withdrawal_id", withdrawal_id)],
    )
}

fn body(change: impl FnOnce(&mut Value)) -> String {
    let mut body: Value = serde_json::from_str(&withdraw_request_body()).unwrap();
    change(&mut body);
    body.to_string()
}

/// The ask the one call `app` made carried.
fn only_ask(app: &TestApp) -> WithdrawalAsk {
    match app.backend.calls().as_slice() {
        [Call::WithdrawRequest(ask)] => ask.clone(),
        calls => panic!("expected one withdrawal request, got {calls:?}"),
    }
}

#[tokio::test]
async fn a_withdraw_request_reaches_the_node_checked() {
    let app = app();
    let answer = app
        .post(&request_path(), LP, &withdraw_request_body())
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let ask = only_ask(&app);
    assert!(!ask.fingerprint.is_empty());
    assert_eq!(
        ask,
        WithdrawalAsk {
            pool_id: "main".into(),
            caller: hash_token(LP),
            admin: false,
            lp_id: "lp-1".into(),
            idempotency_key: "wd-key-1".into(),
            fingerprint: ask.fingerprint.clone(),
            partition: PartitionKind::Llp,
            units: 1_500_000_000,
            rail: Rail::Onchain,
            payout_invoice: None,
            payout_address: Some("bcrt1qtestaddress".into()),
            emergency: false,
        }
    );

    // Exact units, another partition, Lightning (the invoice trimmed).
    let app = self::app();
    let lightning = body(|b| {
        b.as_object_mut().unwrap().remove("shares_burned");
        b.as_object_mut().unwrap().remove("payout_address");
        b["units"] = json!("340282366920938463463374607431768211455");
        b["partition_kind"] = json!("cep");
        b["rail_preference"] = json!("lightning");
        b["payout_invoice_bolt11"] = json!(format!("  {INVOICE}\n"));
        b["emergency"] = json!(true);
    });
    let answer = app.post(&request_path(), ADMIN, &lightning).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let ask = only_ask(&app);
    assert_eq!(ask.units, u128::MAX);
    assert_eq!(ask.partition, PartitionKind::Cep);
    assert_eq!(ask.rail, Rail::Lightning);
    assert_eq!(ask.payout_invoice.as_deref(), Some(INVOICE));
    assert_eq!(ask.payout_address, None);
    assert!(ask.emergency);
    assert_eq!((ask.caller, ask.admin), (hash_token(ADMIN), true));

    // The same route under the internal mirror.
    let mirrored = app
        .post(
            &paths::internal(&request_path()),
            LP,
            &withdraw_request_body(),
        )
        .await;
    assert_eq!(mirrored.status, 200, "{}", mirrored.text);
}

#[tokio::test]
async fn the_fingerprint_binds_the_resolved_request() {
    let fingerprint = |body: String| async move {
        let app = app();
        let answer = app.post(&request_path(), LP, &body).await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        only_ask(&app).fingerprint
    };
    let first = fingerprint(withdraw_request_body()).await;
    // The same request again, and the same amount in units or with the default partition
    // named: the same request.
    assert_eq!(fingerprint(withdraw_request_body()).await, first);
    let in_units = body(|b| {
        b.as_object_mut().unwrap().remove("shares_burned");
        b["units"] = json!("1500000000");
    });
    assert_eq!(fingerprint(in_units).await, first);
    let named = body(|b| b["partition_kind"] = json!("llp"));
    assert_eq!(fingerprint(named).await, first);
    // Another amount, address or partition: another request.
    for other in [
        body(|b| b["shares_burned"] = json!(1.25)),
        body(|b| b["payout_address"] = json!("bcrt1qotheraddress")),
        body(|b| b["partition_kind"] = json!("rrp")),
    ] {
        assert_ne!(fingerprint(other.clone()).await, first, "{other}");
    }
}

#[tokio::test]
async fn bad_withdraw_requests_never_reach_the_node() {
    let without = |field: &'static str| {
        body(move |b| {
            b.as_object_mut().unwrap().remove(field);
        })
    };
    let cases: Vec<(&str, String)> = vec![
        ("no schema", without("schema")),
        (
            "schema",
            body(|b| b["schema"] = json!("openagents.liquidity.pool.withdraw_request.v2")),
        ),
        (
            "deposit schema",
            body(|b| b["schema"] = json!("openagents.liquidity.pool.deposit_quote_request.v1")),
        ),
        ("both amounts", body(|b| b["units"] = json!("1000"))),
        ("no amount", without("shares_burned")),
        (
            "units 0",
            body(|b| {
                b.as_object_mut().unwrap().remove("shares_burned");
                b["units"] = json!("0");
            }),
        ),
        (
            "units -1",
            body(|b| {
                b.as_object_mut().unwrap().remove("shares_burned");
                b["units"] = json!("-1");
            }),
        ),
        (
            "units abc",
            body(|b| {
                b.as_object_mut().unwrap().remove("shares_burned");
                b["units"] = json!("abc");
            }),
        ),
        (
            "units +5",
            body(|b| {
                b.as_object_mut().unwrap().remove("shares_burned");
                b["units"] = json!("+5");
            }),
        ),
        (
            "units 1.5",
            body(|b| {
                b.as_object_mut().unwrap().remove("shares_burned");
                b["units"] = json!("1.5");
            }),
        ),
        (
            "units empty",
            body(|b| {
                b.as_object_mut().unwrap().remove("shares_burned");
                b["units"] = json!("");
            }),
        ),
        (
            "units above u128",
            body(|b| {
                b.as_object_mut().unwrap().remove("shares_burned");
                b["units"] = json!("340282366920938463463374607431768211456");
            }),
        ),
        (
            "units as a number",
            body(|b| {
                b.as_object_mut().unwrap().remove("shares_burned");
                b["units"] = json!(1000);
            }),
        ),
        ("shares 0", body(|b| b["shares_burned"] = json!(0.0))),
        (
            "shares negative",
            body(|b| b["shares_burned"] = json!(-1.5)),
        ),
        (
            "shares below a unit",
            body(|b| b["shares_burned"] = json!(1e-12)),
        ),
        (
            "shares too many",
            body(|b| b["shares_burned"] = json!(1e300)),
        ),
        (
            "shares as a string",
            body(|b| b["shares_burned"] = json!("1.5")),
        ),
        // JSON has no NaN or infinity: such bodies do not parse.
        ("shares NaN", withdraw_request_body().replace("1.5", "NaN")),
        (
            "shares infinite",
            withdraw_request_body().replace("1.5", "Infinity"),
        ),
        (
            "shares overflow",
            withdraw_request_body().replace("1.5", "1e400"),
        ),
        ("no rail", without("rail_preference")),
        (
            "rail",
            body(|b| b["rail_preference"] = json!("lightning_invoice")),
        ),
        (
            "rail case",
            body(|b| b["rail_preference"] = json!("Onchain")),
        ),
        ("onchain without an address", without("payout_address")),
        (
            "onchain with an invoice",
            body(|b| b["payout_invoice_bolt11"] = json!(INVOICE)),
        ),
        (
            "lightning without an invoice",
            body(|b| b["rail_preference"] = json!("lightning")),
        ),
        (
            "lightning with an address",
            body(|b| {
                b["rail_preference"] = json!("lightning");
                b["payout_invoice_bolt11"] = json!(INVOICE);
            }),
        ),
        (
            "blank invoice",
            body(|b| {
                b.as_object_mut().unwrap().remove("payout_address");
                b["rail_preference"] = json!("lightning");
                b["payout_invoice_bolt11"] = json!("   ");
            }),
        ),
        (
            "long invoice",
            body(|b| {
                b.as_object_mut().unwrap().remove("payout_address");
                b["rail_preference"] = json!("lightning");
                b["payout_invoice_bolt11"] = json!("l".repeat(7090));
            }),
        ),
        (
            "address with a space",
            body(|b| b["payout_address"] = json!("bcrt1q test")),
        ),
        (
            "long address",
            body(|b| b["payout_address"] = json!("b".repeat(91))),
        ),
        ("empty address", body(|b| b["payout_address"] = json!(""))),
        ("partition", body(|b| b["partition_kind"] = json!("xlp"))),
        ("no lp_id", without("lp_id")),
        ("empty lp_id", body(|b| b["lp_id"] = json!(""))),
        ("lp_id with /", body(|b| b["lp_id"] = json!("lp/1"))),
        ("long lp_id", body(|b| b["lp_id"] = json!("l".repeat(129)))),
        ("no idempotency_key", without("idempotency_key")),
        (
            "idempotency_key with a space",
            body(|b| b["idempotency_key"] = json!("has space")),
        ),
        (
            "long idempotency_key",
            body(|b| b["idempotency_key"] = json!("k".repeat(129))),
        ),
        ("unknown field", body(|b| b["amount_sats"] = json!(1000))),
        ("not an object", "[]".to_owned()),
    ];
    for (what, body) in cases {
        let app = app();
        let answer = app.post(&request_path(), LP, &body).await;
        answer.assert_error(400, "invalid_request");
        assert!(app.backend.calls().is_empty(), "{what}: {body}");
    }
    // A bad pool id in the path.
    let app = app();
    let path = paths::fill(paths::POOL_WITHDRAW_REQUEST, &[("pool_id", "Main")]);
    app.post(&path, LP, &withdraw_request_body())
        .await
        .assert_error(400, "invalid_request");
    assert!(app.backend.calls().is_empty());
}

#[tokio::test]
async fn an_lp_token_acts_only_for_its_own_lp_ids() {
    // The node decides who owns an LP id: the API hands it the caller and whether it is
    // an admin, and answers the node's refusal as 403 `not_owner`.
    let app = app();
    let answer = app
        .post(&request_path(), LP, &withdraw_request_body())
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let ask = only_ask(&app);
    assert_eq!((ask.caller, ask.admin), (hash_token(LP), false));

    let app = self::app();
    app.backend
        .fail_with(|| NodeError::Forbidden("lp-2 belongs to another token".into()));
    let other = body(|b| b["lp_id"] = json!("lp-2"));
    app.post(&request_path(), LP, &other)
        .await
        .assert_error(403, "not_owner");
    let read = withdrawal_path(paths::POOL_WITHDRAWAL, "wd_1");
    app.get(&read, LP).await.assert_error(403, "not_owner");
    let cancel = withdrawal_path(paths::POOL_WITHDRAWAL_CANCEL, "wd_1");
    app.call(axum::http::Method::POST, &cancel, Some(LP), None)
        .await
        .assert_error(403, "not_owner");
    let lp = hash_token(LP);
    assert_eq!(
        app.backend.calls()[1..],
        [
            Call::GetWithdrawal("main".into(), "wd_1".into(), lp.clone(), false),
            Call::CancelWithdrawal("main".into(), "wd_1".into(), lp, false),
        ]
    );

    // Tokens without `lp` (or admin) never reach the node.
    for token in [READ, PAY] {
        let app = self::app();
        app.post(&request_path(), token, &withdraw_request_body())
            .await
            .assert_error(403, "forbidden");
        app.get(&read, token).await.assert_error(403, "forbidden");
        assert!(app.backend.calls().is_empty());
    }
}

#[tokio::test]
async fn approving_is_for_admins_only() {
    let approve = withdrawal_path(paths::POOL_WITHDRAWAL_APPROVE, "wd_1");
    for token in [LP, READ, PAY] {
        let app = app();
        app.call(axum::http::Method::POST, &approve, Some(token), None)
            .await
            .assert_error(403, "forbidden");
        assert!(app.backend.calls().is_empty(), "{token}");
    }
    let app = app();
    let answer = app
        .call(axum::http::Method::POST, &approve, Some(ADMIN), None)
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json["withdrawal"]["status"], "approved");
    assert_eq!(
        answer.json["withdrawal"]["approved_at"],
        "2026-01-01T00:05:00.000Z"
    );
    // The approver is the admin token, by its digest.
    assert_eq!(
        app.backend.calls(),
        vec![Call::ApproveWithdrawal(
            "main".into(),
            "wd_1".into(),
            hash_token(ADMIN)
        )]
    );
    // Approving one that does not wait for it is the node's refusal.
    app.backend
        .fail_with(|| NodeError::WithdrawalState("wd_1 does not wait for an approval".into()));
    app.call(axum::http::Method::POST, &approve, Some(ADMIN), None)
        .await
        .assert_error(409, "withdrawal_state");
}

fn halt_path() -> String {
    paths::fill(paths::POOL_WITHDRAWALS_HALT, &[("pool_id", "main")])
}

#[tokio::test]
async fn halting_is_for_admins_only() {
    for token in [LP, READ, PAY] {
        let app = app();
        app.post(&halt_path(), token, r#"{"halted":true}"#)
            .await
            .assert_error(403, "forbidden");
        assert!(app.backend.calls().is_empty(), "{token}");
    }
    // The body reaches the node as sent, both ways; the answer is the node's.
    let app = app();
    for halted in [true, false] {
        let answer = app
            .post(
                &halt_path(),
                ADMIN,
                &json!({ "halted": halted }).to_string(),
            )
            .await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        assert_eq!(
            answer.json,
            json!({ "pool_id": "main", "withdrawals_halted": halted })
        );
        let parsed: WithdrawalsHaltResponse = serde_json::from_value(answer.json).unwrap();
        assert_eq!(parsed.withdrawals_halted, halted);
    }
    assert_eq!(
        app.backend.calls(),
        vec![
            Call::HaltWithdrawals("main".into(), true),
            Call::HaltWithdrawals("main".into(), false),
        ]
    );
    // The same route under the internal mirror.
    let mirrored = app
        .post(&paths::internal(&halt_path()), ADMIN, r#"{"halted":true}"#)
        .await;
    assert_eq!(mirrored.status, 200, "{}", mirrored.text);
    // It is not a withdrawal id: reading it is a wrong method, not a withdrawal `halt`.
    app.get(&halt_path(), ADMIN)
        .await
        .assert_error(405, "method_not_allowed");
}

#[tokio::test]
async fn bad_halts_never_reach_the_node() {
    for body in [
        "",
        "{}",
        "[]",
        r#"{"halted":"yes"}"#,
        r#"{"halted":1}"#,
        r#"{"halted":null}"#,
        r#"{"halted":true,"reason":"incident"}"#,
        "not json",
    ] {
        let app = app();
        app.post(&halt_path(), ADMIN, body)
            .await
            .assert_error(400, "invalid_request");
        assert!(app.backend.calls().is_empty(), "{body}");
    }
    // A bad pool id in the path.
    let app = app();
    let path = paths::fill(paths::POOL_WITHDRAWALS_HALT, &[("pool_id", "Main")]);
    app.post(&path, ADMIN, r#"{"halted":true}"#)
        .await
        .assert_error(400, "invalid_request");
    assert!(app.backend.calls().is_empty());
    // An unknown pool is the node's refusal.
    let app = self::app();
    app.backend
        .fail_with(|| NodeError::NotFound("pool main".into()));
    app.post(&halt_path(), ADMIN, r#"{"halted":true}"#)
        .await
        .assert_error(404, "not_found");
    assert_eq!(
        app.backend.calls(),
        vec![Call::HaltWithdrawals("main".into(), true)]
    );
}

#[tokio::test]
async fn the_status_shows_the_halt_and_the_payout_fees() {
    let app = app();
    let path = paths::fill(paths::POOL_STATUS, &[("pool_id", "main")]);
    let answer = app.get(&path, READ).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json["withdrawals_halted"], false);
    let mut keys: Vec<String> = answer.json["partitions"][0]["flows"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "credit_fees_msats",
            "credit_losses_msats",
            "deposits_msats",
            "jit_fees_msats",
            "onchain_fees_msats",
            "payout_fees_msats",
            "rebalance_costs_msats",
            "routing_fees_msats",
            "withdrawals_msats",
        ]
    );
}

#[tokio::test]
async fn reads_and_cancels_reach_the_node() {
    let app = app();
    let read = withdrawal_path(paths::POOL_WITHDRAWAL, "wd_1");
    let answer = app.get(&read, LP).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json["withdrawal"]["withdrawal_id"], "wd_1");
    let cancel = withdrawal_path(paths::POOL_WITHDRAWAL_CANCEL, "wd_1");
    let answer = app
        .call(axum::http::Method::POST, &cancel, Some(ADMIN), None)
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json["withdrawal"]["status"], "canceled");
    assert_eq!(
        answer.json["settlement_receipt"]["receipt_id"],
        "rcpt_wd_end"
    );
    assert_eq!(
        app.backend.calls(),
        vec![
            Call::GetWithdrawal("main".into(), "wd_1".into(), hash_token(LP), false),
            Call::CancelWithdrawal("main".into(), "wd_1".into(), hash_token(ADMIN), true),
        ]
    );

    // Bad ids never reach the node.
    let app = self::app();
    for path in [
        withdrawal_path(paths::POOL_WITHDRAWAL, &"w".repeat(129)),
        withdrawal_path(paths::POOL_WITHDRAWAL, "wd%2F1"),
        paths::fill(
            paths::POOL_WITHDRAWAL,
            &[("pool_id", "MAIN"), ("withdrawal_id", "wd_1")],
        ),
    ] {
        app.get(&path, LP)
            .await
            .assert_error(400, "invalid_request");
    }
    app.call(
        axum::http::Method::POST,
        &withdrawal_path(paths::POOL_WITHDRAWAL_CANCEL, "wd%201"),
        Some(LP),
        None,
    )
    .await
    .assert_error(400, "invalid_request");
    assert!(app.backend.calls().is_empty());

    // The node's refusals keep their codes.
    let app = self::app();
    app.backend
        .fail_with(|| NodeError::WithdrawalState("a payout has begun".into()));
    app.call(axum::http::Method::POST, &cancel, Some(LP), None)
        .await
        .assert_error(409, "withdrawal_state");
    app.backend
        .fail_with(|| NodeError::NotFound("withdrawal wd_1".into()));
    app.get(&read, LP).await.assert_error(404, "not_found");
    app.backend
        .fail_with(|| NodeError::NotEnoughShares { asked: 2, free: 1 });
    app.post(&request_path(), LP, &withdraw_request_body())
        .await
        .assert_error(422, "insufficient_shares");
}

#[tokio::test]
async fn the_answer_has_the_openagents_shape() {
    let app = app();
    let answer = app
        .post(&request_path(), LP, &withdraw_request_body())
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let keys = |value: &Value| {
        let mut keys: Vec<String> = value.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        keys
    };
    assert_eq!(
        keys(&answer.json),
        [
            "receipt",
            "schema",
            "settlement_receipt",
            "withdraw_throttle",
            "withdrawal"
        ]
    );
    assert_eq!(
        answer.json["schema"],
        "openagents.liquidity.pool.withdraw_response.v1"
    );
    assert_eq!(
        keys(&answer.json["withdrawal"]),
        [
            "amount_sats_estimate",
            "approved_at",
            "created_at",
            "earliest_settlement_at",
            "emergency",
            "ended_at",
            "fills",
            "idempotency_key",
            "latest_settlement_at",
            "lp_id",
            "needs_approval",
            "paid_msats",
            "partition_kind",
            "payout_address",
            "payout_invoice_hash",
            "pool_id",
            "rail",
            "shares_burned",
            "status",
            "units_locked",
            "units_outstanding",
            "value_at_request_msats",
            "withdrawal_id",
        ]
    );
    assert_eq!(
        keys(&answer.json["withdrawal"]["fills"][0]),
        [
            "batch_id",
            "failure",
            "fee_msats",
            "msats",
            "n",
            "payment_id",
            "state",
            "txid",
            "units",
            "units_returned",
        ]
    );
    assert_eq!(
        keys(&answer.json["withdraw_throttle"]),
        [
            "largest_sats",
            "lightning_sats",
            "mode",
            "onchain_sats",
            "reasons",
            "tick_cap_sats",
        ]
    );
    // Shares as a number, units exact as strings; absent values are `null`, not missing.
    let w = &answer.json["withdrawal"];
    assert_eq!(w["shares_burned"], 2.5);
    assert_eq!(w["units_locked"], "2500000000");
    assert_eq!(w["units_outstanding"], "1500000000");
    assert!(w["approved_at"].is_null() && w["ended_at"].is_null());
    assert!(answer.json["settlement_receipt"].is_null());
    assert_eq!(answer.json["withdraw_throttle"]["mode"], "stressed");
    // And it reads back as the wire type the harness uses.
    let parsed: WithdrawResponse = serde_json::from_value(answer.json.clone()).unwrap();
    assert_eq!(parsed, withdrawal("main", "wd_1", "lp-1"));
}

#[tokio::test]
async fn requests_and_cancels_share_the_money_routes_rate_limit() {
    let app = app_with(ApiConfig {
        auth: auth_config(),
        rate_limit: RateLimit {
            per_second: 1,
            burst: 2,
        },
        ..ApiConfig::default()
    });
    for _ in 0..2 {
        let answer = app
            .post(&request_path(), LP, &withdraw_request_body())
            .await;
        assert_eq!(answer.status, 200, "{}", answer.text);
    }
    app.post(&request_path(), LP, &withdraw_request_body())
        .await
        .assert_error(429, "rate_limited");
    let cancel = withdrawal_path(paths::POOL_WITHDRAWAL_CANCEL, "wd_1");
    app.call(axum::http::Method::POST, &cancel, Some(LP), None)
        .await
        .assert_error(429, "rate_limited");
    // Reads are not limited.
    let read = withdrawal_path(paths::POOL_WITHDRAWAL, "wd_1");
    for _ in 0..5 {
        assert_eq!(app.get(&read, LP).await.status, 200);
    }
}

#[tokio::test]
async fn the_document_describes_the_withdrawal_routes() {
    let doc: Value = serde_json::from_str(sluice_api::openapi::document_json().unwrap()).unwrap();
    let security =
        |path: &str, method: &str| doc["paths"][path][method]["security"][0]["bearer"].clone();
    assert_eq!(
        security(paths::POOL_WITHDRAW_REQUEST, "post"),
        json!(["lp"])
    );
    assert_eq!(security(paths::POOL_WITHDRAWAL, "get"), json!(["lp"]));
    assert_eq!(
        security(paths::POOL_WITHDRAWAL_CANCEL, "post"),
        json!(["lp"])
    );
    assert_eq!(
        security(paths::POOL_WITHDRAWAL_APPROVE, "post"),
        json!(["admin"])
    );
    assert_eq!(
        security(paths::POOL_WITHDRAWALS_HALT, "post"),
        json!(["admin"])
    );
    let schemas = &doc["components"]["schemas"];
    for name in [
        "WithdrawRequest",
        "WithdrawResponse",
        "Withdrawal",
        "WithdrawalFill",
        "WithdrawThrottle",
        "WithdrawalsHaltRequest",
        "WithdrawalsHaltResponse",
    ] {
        assert!(schemas[name].is_object(), "{name} is documented");
    }
    let required = schemas["WithdrawRequest"]["required"].as_array().unwrap();
    for field in ["schema", "lp_id", "idempotency_key", "rail_preference"] {
        assert!(required.contains(&json!(field)), "{field} is required");
    }
    assert!(!required.contains(&json!("shares_burned")));
    assert_eq!(
        schemas["WithdrawalsHaltRequest"]["required"],
        json!(["halted"])
    );
    assert_eq!(
        schemas["PoolStatusResponse"]["properties"]["withdrawals_halted"]["type"],
        "boolean"
    );
    assert!(schemas["PartitionFlows"]["properties"]["payout_fees_msats"].is_object());
}
