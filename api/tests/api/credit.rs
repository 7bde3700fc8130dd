//! The credit routes: what reaches the node from an intent, an offer, an envelope
//! request, a settle, a repayment and the reads, what is refused before it does (400
//! naming the field), and the answers' shapes.

use axum::http::Method;
use serde_json::{json, Value};
use sluice_actors::credit::{EnvelopeAsk, IntentAsk, OfferAsk, SettleAsk};
use sluice_actors::NodeError;
use sluice_api::{hash_token, ApiConfig, RateLimit};
use sluice_api_types::paths;
use sluice_api_types::{
    CreditAgentExposureResponse, CreditEnvelopeResponse, CreditHealthResponse,
    CreditIntentResponse, CreditOfferResponse, CreditRepaymentResponse, CreditSettleResponse,
};
use sluice_credit::underwriting::ScopeType;

use crate::common::*;

/// 2026-01-01T01:00:00Z, the bodies' `exp`, in Unix ms.
const EXP_MS: u64 = 1_767_229_200_000;
/// 64 hex characters that are no x-only public key (above the field size).
const NOT_A_KEY: &str = "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";

/// A way to make a NodeError, and the status and code it must answer with.
type Refusal = (fn() -> NodeError, u16, &'static str);

/// `valid` with `change` applied.
fn edited(valid: String, change: impl FnOnce(&mut Value)) -> String {
    let mut body: Value = serde_json::from_str(&valid).unwrap();
    change(&mut body);
    body.to_string()
}

fn parse<T: serde::de::DeserializeOwned>(answer: &Answer) -> T {
    assert_eq!(answer.status, 200, "{}", answer.text);
    serde_json::from_value(answer.json.clone()).expect("body matches the response type")
}

fn only_intent(app: &TestApp) -> IntentAsk {
    match app.backend.calls().as_slice() {
        [Call::CreditIntent(Asked(ask))] => ask.clone(),
        calls => panic!("expected one intent, got {calls:?}"),
    }
}

fn only_offer(app: &TestApp) -> OfferAsk {
    match app.backend.calls().as_slice() {
        [Call::CreditOffer(Asked(ask))] => ask.clone(),
        calls => panic!("expected one offer, got {calls:?}"),
    }
}

/// Posts each body to `path` and expects 400 `invalid_request` naming `field`, with no
/// backend call.
async fn refused(path: &str, cases: Vec<(&str, String)>) {
    for (field, body) in cases {
        let app = app();
        let answer = app.post(path, PAY, &body).await;
        answer.assert_error(400, "invalid_request");
        assert!(
            answer.json["error"]["message"]
                .as_str()
                .unwrap()
                .contains(field),
            "names {field}: {}",
            answer.text
        );
        assert!(app.backend.calls().is_empty(), "{body}");
    }
}

#[tokio::test]
async fn an_intent_reaches_the_node_parsed() {
    let app = app();
    let answer: CreditIntentResponse = parse(
        &app.post(paths::CREDIT_INTENT, PAY, &credit_intent_body())
            .await,
    );
    assert_eq!(answer.schema, "openagents.credit.intent_response.v1");
    assert_eq!(answer.intent.agent_id, AGENT_ID);
    let ask = only_intent(&app);
    assert_eq!(ask.fingerprint.len(), 64);
    assert_eq!(ask.caller, hash_token(PAY));
    assert_eq!(ask.idempotency_key, "intent-key-1");
    assert_eq!(ask.agent_id, AGENT_ID);
    assert_eq!(ask.scope_type, ScopeType::Nip90);
    assert_eq!(ask.scope_id, "job-1");
    assert_eq!((ask.max_sats, ask.exp_ms), (2_000, EXP_MS));
    let context: Value = serde_json::from_str(&ask.policy_context).unwrap();
    assert_eq!(context["ratio"], 0.5);

    // The same request written otherwise (the key in capitals, the time in another
    // zone) is the same request; another policy context is not.
    let app = self::app();
    let same = edited(credit_intent_body(), |b| {
        b["agent_id"] = json!(AGENT_ID.to_uppercase());
        b["exp"] = json!("2026-01-01T02:00:00.000+01:00");
    });
    app.post(paths::CREDIT_INTENT, PAY, &same).await;
    let again = only_intent(&app);
    assert_eq!(again.agent_id, AGENT_ID);
    assert_eq!(again.fingerprint, ask.fingerprint);

    let app = self::app();
    let other = edited(credit_intent_body(), |b| {
        b.as_object_mut().unwrap().remove("policy_context");
    });
    app.post(paths::CREDIT_INTENT, PAY, &other).await;
    let other = only_intent(&app);
    assert_eq!(other.policy_context, "null");
    assert_ne!(other.fingerprint, ask.fingerprint);
}

#[tokio::test]
async fn a_bad_intent_is_400_naming_the_field() {
    let body = |change: fn(&mut Value)| edited(credit_intent_body(), change);
    refused(
        paths::CREDIT_INTENT,
        vec![
            (
                "schema",
                body(|b| b["schema"] = json!("openagents.credit.intent_request.v2")),
            ),
            ("agent_id", body(|b| b["agent_id"] = json!(&AGENT_ID[..62]))),
            ("agent_id", body(|b| b["agent_id"] = json!(NODE_ID))),
            ("agent_id", body(|b| b["agent_id"] = json!(NOT_A_KEY))),
            (
                "agent_id",
                body(|b| b["agent_id"] = json!(AGENT_ID.replace('7', "g"))),
            ),
            ("scope_type", body(|b| b["scope_type"] = json!("loan"))),
            ("scope_type", body(|b| b["scope_type"] = json!("NIP90"))),
            ("scope_id", body(|b| b["scope_id"] = json!(""))),
            ("scope_id", body(|b| b["scope_id"] = json!("a".repeat(129)))),
            (
                "idempotency_key",
                body(|b| b["idempotency_key"] = json!("")),
            ),
            ("exp", body(|b| b["exp"] = json!("tomorrow"))),
            ("exp", body(|b| b["exp"] = json!("2026-01-01"))),
            ("exp", body(|b| b["exp"] = json!("1969-12-31T23:59:59Z"))),
            ("max_sats", body(|b| b["max_sats"] = json!(0))),
            (
                "exp",
                body(|b| {
                    b.as_object_mut().unwrap().remove("exp");
                }),
            ),
            ("unknown", body(|b| b["unknown"] = json!(1))),
        ],
    )
    .await;
}

#[tokio::test]
async fn an_offer_reaches_the_node_parsed() {
    let app = app();
    let answer: CreditOfferResponse = parse(
        &app.post(paths::CREDIT_OFFER, PAY, &credit_offer_body())
            .await,
    );
    assert_eq!(answer.schema, "openagents.credit.offer_response.v1");
    assert_eq!(answer.offer.status, "offered");
    assert!(answer.offer.requires_verifier);
    assert_eq!(answer.offer.underwriting.limit_sats, 1_500);
    let ask = only_offer(&app);
    assert_eq!(ask.fingerprint.len(), 64);
    assert_eq!(ask.caller, hash_token(PAY));
    assert_eq!(ask.agent_id, AGENT_ID);
    assert_eq!(ask.pool_id, "main");
    assert_eq!(ask.intent_id.as_deref(), Some("cepi_1"));
    assert_eq!(
        (ask.scope_type, ask.scope_id.as_str()),
        (ScopeType::Nip90, "job-1")
    );
    assert_eq!((ask.max_sats, ask.exp_ms), (1_500, EXP_MS));
    assert!(ask.requires_verifier);

    // Without an intent; `requires_verifier: false` is the node's to refuse; another
    // fee is another request.
    let app = self::app();
    let other = edited(credit_offer_body(), |b| {
        b.as_object_mut().unwrap().remove("intent_id");
        b["requires_verifier"] = json!(false);
        b["fee_bps"] = json!(250);
        b["scope_type"] = json!("skill");
    });
    app.post(paths::CREDIT_OFFER, ADMIN, &other).await;
    let other = only_offer(&app);
    assert_eq!(other.intent_id, None);
    assert!(!other.requires_verifier);
    assert_eq!(other.scope_type, ScopeType::Skill);
    assert_ne!(other.fingerprint, ask.fingerprint);
}

#[tokio::test]
async fn a_bad_offer_is_400_naming_the_field() {
    let body = |change: fn(&mut Value)| edited(credit_offer_body(), change);
    refused(
        paths::CREDIT_OFFER,
        vec![
            (
                "schema",
                body(|b| b["schema"] = json!("openagents.credit.intent_request.v1")),
            ),
            ("agent_id", body(|b| b["agent_id"] = json!("npub1agent"))),
            ("pool_id", body(|b| b["pool_id"] = json!("Main!"))),
            ("intent_id", body(|b| b["intent_id"] = json!(""))),
            ("intent_id", body(|b| b["intent_id"] = json!("a/b"))),
            ("scope_type", body(|b| b["scope_type"] = json!("lightning"))),
            ("scope_id", body(|b| b["scope_id"] = json!("job 1"))),
            ("max_sats", body(|b| b["max_sats"] = json!(0))),
            ("fee_bps", body(|b| b["fee_bps"] = json!(10_001))),
            ("exp", body(|b| b["exp"] = json!("2026-13-01T00:00:00Z"))),
            (
                "requires_verifier",
                body(|b| {
                    b.as_object_mut().unwrap().remove("requires_verifier");
                }),
            ),
        ],
    )
    .await;
}

#[tokio::test]
async fn an_envelope_request_reaches_the_node_parsed() {
    let app = app();
    let body = edited(credit_envelope_body(), |b| {
        b["provider_id"] = json!(PROVIDER_ID.to_uppercase());
    });
    let answer: CreditEnvelopeResponse = parse(&app.post(paths::CREDIT_ENVELOPE, PAY, &body).await);
    assert_eq!(answer.schema, "openagents.credit.envelope_response.v1");
    assert_eq!(answer.envelope.status, "open");
    assert_eq!(answer.receipt["receipt_id"], "rcpt_env");
    match app.backend.calls().as_slice() {
        [Call::CreditEnvelope(Asked(ask))] => {
            let EnvelopeAsk {
                offer_id,
                provider_id,
            } = ask;
            assert_eq!(
                (offer_id.as_str(), provider_id.as_str()),
                ("cepo_1", PROVIDER_ID)
            );
        }
        calls => panic!("expected one envelope request, got {calls:?}"),
    }

    let body = |change: fn(&mut Value)| edited(credit_envelope_body(), change);
    refused(
        paths::CREDIT_ENVELOPE,
        vec![
            ("schema", body(|b| b["schema"] = json!(""))),
            ("offer_id", body(|b| b["offer_id"] = json!(""))),
            ("offer_id", body(|b| b["offer_id"] = json!("a".repeat(129)))),
            ("provider_id", body(|b| b["provider_id"] = json!(PEER_ID))),
            ("provider_id", body(|b| b["provider_id"] = json!(NOT_A_KEY))),
        ],
    )
    .await;
}

#[tokio::test]
async fn the_reads_reach_the_node_parsed() {
    let app = app();
    let path = paths::fill(paths::CREDIT_ENVELOPE_VIEW, &[("envelope_id", ENVELOPE_ID)]);
    let envelope: CreditEnvelopeResponse = parse(&app.get(&path, READ).await);
    assert_eq!(envelope.envelope.envelope_id, ENVELOPE_ID);

    let upper = AGENT_ID.to_uppercase();
    let path = paths::fill(paths::CREDIT_AGENT_EXPOSURE, &[("agent_id", &upper)]);
    let exposure: CreditAgentExposureResponse = parse(&app.get(&path, PAY).await);
    assert_eq!(exposure.agent_id, AGENT_ID);
    assert_eq!(exposure.underwriting_fee_bps.l402, 2_000);

    let health: CreditHealthResponse = parse(&app.get(paths::CREDIT_HEALTH, READ).await);
    assert_eq!(health.schema, "openagents.credit.health_response.v1");
    assert!(!health.breakers.halt_new_envelopes);
    assert_eq!(health.policy.max_offer_ttl_secs, 3_600);

    assert_eq!(
        app.backend.calls(),
        vec![
            Call::GetCreditEnvelope(ENVELOPE_ID.into()),
            Call::CreditExposure(AGENT_ID.into()),
            Call::CreditHealth,
        ]
    );

    // Bad path parameters never reach the node.
    let app = self::app();
    for path in [
        paths::fill(paths::CREDIT_AGENT_EXPOSURE, &[("agent_id", "abc")]),
        paths::fill(paths::CREDIT_AGENT_EXPOSURE, &[("agent_id", NOT_A_KEY)]),
        paths::fill(paths::CREDIT_ENVELOPE_VIEW, &[("envelope_id", "a%2Fb")]),
    ] {
        app.get(&path, READ)
            .await
            .assert_error(400, "invalid_request");
    }
    assert!(app.backend.calls().is_empty());
}

#[tokio::test]
async fn the_credit_refusals_keep_their_codes() {
    let cases: [Refusal; 3] = [
        (
            || NodeError::OfferExpired("cepo_1".into()),
            410,
            "offer_expired",
        ),
        (
            || NodeError::TooManyEnvelopes { open: 3, max: 3 },
            409,
            "too_many_envelopes",
        ),
        (
            || NodeError::CreditHalted("breaker".into()),
            503,
            "credit_halted",
        ),
    ];
    for (make, status, code) in cases {
        let app = app();
        app.backend.fail_with(make);
        app.post(paths::CREDIT_ENVELOPE, PAY, &credit_envelope_body())
            .await
            .assert_error(status, code);
    }
}

#[tokio::test]
async fn credit_needs_pay_to_ask_and_read_or_pay_to_look() {
    let app = app();
    app.post(paths::CREDIT_INTENT, LP, &credit_intent_body())
        .await
        .assert_error(403, "forbidden");
    app.post(paths::CREDIT_OFFER, READ, &credit_offer_body())
        .await
        .assert_error(403, "forbidden");
    app.call(Method::GET, paths::CREDIT_HEALTH, Some(LP), None)
        .await
        .assert_error(403, "forbidden");
    assert!(app.backend.calls().is_empty());
    // The mirror serves the same.
    let answer = app
        .post(
            &paths::internal(paths::CREDIT_ENVELOPE),
            PAY,
            &credit_envelope_body(),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let answer = app.get(&paths::internal(paths::CREDIT_HEALTH), READ).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
}

fn only_settle(app: &TestApp) -> SettleAsk {
    match app.backend.calls().as_slice() {
        [Call::CreditSettle(Asked(ask))] => ask.clone(),
        calls => panic!("expected one settle, got {calls:?}"),
    }
}

/// Posts `body` to the settle route of a fresh app and answers what reached the node.
async fn settled(body: &str) -> SettleAsk {
    let app = app();
    let answer = app.post(paths::CREDIT_SETTLE, PAY, body).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    only_settle(&app)
}

#[tokio::test]
async fn a_settle_reaches_the_node_parsed() {
    let app = app();
    let answer: CreditSettleResponse = parse(
        &app.post(paths::CREDIT_SETTLE, PAY, &credit_settle_body())
            .await,
    );
    assert_eq!(answer.schema, "openagents.credit.settle_response.v1");
    assert_eq!(answer.envelope_id, ENVELOPE_ID);
    assert_eq!(answer.outcome, "success");
    assert_eq!(answer.liquidity_receipt_sha256, None);
    assert_eq!(answer.receipt["receipt_id"], "rcpt_settle");
    let ask = only_settle(&app);
    assert_eq!(ask.fingerprint.len(), 64);
    assert_eq!(ask.envelope_id, ENVELOPE_ID);
    assert!(ask.verification_passed);
    assert_eq!(ask.verification_receipt_sha256, "ab".repeat(32));
    assert_eq!(ask.provider_invoice, PROVIDER_INVOICE);
    assert_eq!(ask.provider_host, "provider.example");
    assert_eq!(ask.max_fee_msat, 5_000);
    assert_eq!(ask.spend_authorization, None);
    let context: Value = serde_json::from_str(&ask.policy_context).unwrap();
    assert_eq!(context["ratio"], 0.5);

    // The same request written otherwise (the hash in capitals, the invoice with spaces
    // around it) is the same request, normalized.
    let same = settled(&edited(credit_settle_body(), |b| {
        b["verification_receipt_sha256"] = json!("AB".repeat(32));
        b["provider_invoice"] = json!(format!("  {PROVIDER_INVOICE}\n"));
    }))
    .await;
    assert_eq!(same.verification_receipt_sha256, "ab".repeat(32));
    assert_eq!(same.provider_invoice, PROVIDER_INVOICE);
    assert_eq!(same.fingerprint, ask.fingerprint);

    // Another fee ceiling, verdict, host or policy context is another request. A fee
    // ceiling of 0 (direct channels only) and the highest one are accepted.
    let mut others = Vec::new();
    for change in [
        (|b: &mut Value| b["max_fee_msats"] = json!(5_001)) as fn(&mut Value),
        |b| b["max_fee_msats"] = json!(0),
        |b| b["max_fee_msats"] = json!(100_000_000),
        |b| b["verification_passed"] = json!(false),
        |b| b["provider_host"] = json!("other.example"),
        |b| {
            b.as_object_mut().unwrap().remove("policy_context");
        },
    ] {
        let other = settled(&edited(credit_settle_body(), change)).await;
        assert_ne!(other.fingerprint, ask.fingerprint);
        others.push(other);
    }
    assert_eq!(
        others.iter().map(|o| o.max_fee_msat).collect::<Vec<_>>(),
        vec![5_001, 0, 100_000_000, 5_000, 5_000, 5_000]
    );
    assert!(!others[3].verification_passed);
    assert_eq!(others[5].policy_context, "null");

    // Mode 2: the spend authorization, in either case, is normalized and is part of the
    // request.
    let signature = "5C".repeat(64);
    let mode2 = settled(&edited(credit_settle_body(), |b| {
        b["spend_authorization"] = json!("5C".repeat(64));
    }))
    .await;
    assert_eq!(
        mode2.spend_authorization.as_deref(),
        Some(signature.to_lowercase().as_str())
    );
    assert_ne!(mode2.fingerprint, ask.fingerprint);
    let lower = settled(&edited(credit_settle_body(), |b| {
        b["spend_authorization"] = json!("5c".repeat(64));
    }))
    .await;
    assert_eq!(lower.fingerprint, mode2.fingerprint);
    // An explicit null is mode 1.
    let null = settled(&edited(credit_settle_body(), |b| {
        b["spend_authorization"] = Value::Null;
    }))
    .await;
    assert_eq!(null.spend_authorization, None);
    assert_eq!(null.fingerprint, ask.fingerprint);
}

#[tokio::test]
async fn a_bad_settle_is_400_naming_the_field() {
    let body = |change: fn(&mut Value)| edited(credit_settle_body(), change);
    refused(
        paths::CREDIT_SETTLE,
        vec![
            (
                "schema",
                body(|b| b["schema"] = json!("openagents.credit.envelope_request.v1")),
            ),
            ("envelope_id", body(|b| b["envelope_id"] = json!(""))),
            ("envelope_id", body(|b| b["envelope_id"] = json!("a/b"))),
            (
                "envelope_id",
                body(|b| b["envelope_id"] = json!("a".repeat(129))),
            ),
            (
                "verification_receipt_sha256",
                body(|b| b["verification_receipt_sha256"] = json!("a".repeat(63))),
            ),
            (
                "verification_receipt_sha256",
                body(|b| b["verification_receipt_sha256"] = json!("a".repeat(65))),
            ),
            (
                "verification_receipt_sha256",
                body(|b| b["verification_receipt_sha256"] = json!("g".repeat(64))),
            ),
            (
                "verification_receipt_sha256",
                body(|b| {
                    b.as_object_mut()
                        .unwrap()
                        .remove("verification_receipt_sha256");
                }),
            ),
            (
                "provider_invoice",
                body(|b| b["provider_invoice"] = json!("")),
            ),
            (
                "provider_invoice",
                body(|b| b["provider_invoice"] = json!(" \n ")),
            ),
            (
                "provider_invoice",
                body(|b| b["provider_invoice"] = json!("l".repeat(4097))),
            ),
            (
                "provider_invoice",
                body(|b| b["provider_invoice"] = json!("lnbcrt1é")),
            ),
            ("provider_host", body(|b| b["provider_host"] = json!(""))),
            (
                "provider_host",
                body(|b| b["provider_host"] = json!("a\nb")),
            ),
            (
                "provider_host",
                body(|b| b["provider_host"] = json!("a".repeat(256))),
            ),
            (
                "max_fee_msats",
                body(|b| b["max_fee_msats"] = json!(100_000_001)),
            ),
            (
                "verification_passed",
                body(|b| {
                    b.as_object_mut().unwrap().remove("verification_passed");
                }),
            ),
            (
                "spend_authorization",
                body(|b| b["spend_authorization"] = json!("ab".repeat(32))),
            ),
            (
                "spend_authorization",
                body(|b| b["spend_authorization"] = json!("a".repeat(129))),
            ),
            (
                "spend_authorization",
                body(|b| b["spend_authorization"] = json!("z".repeat(128))),
            ),
            (
                "spend_authorization",
                body(|b| b["spend_authorization"] = json!("")),
            ),
            ("unknown", body(|b| b["unknown"] = json!(1))),
        ],
    )
    .await;
    // A 4,096-character invoice is the longest accepted.
    let longest = settled(&edited(credit_settle_body(), |b| {
        b["provider_invoice"] = json!("l".repeat(4096));
    }))
    .await;
    assert_eq!(longest.provider_invoice.len(), 4096);
}

#[tokio::test]
async fn a_settle_needs_pay_and_is_rate_limited() {
    let app = app();
    for token in [READ, LP] {
        app.post(paths::CREDIT_SETTLE, token, &credit_settle_body())
            .await
            .assert_error(403, "forbidden");
    }
    assert!(app.backend.calls().is_empty());
    // The mirror serves the same.
    let answer = app
        .post(
            &paths::internal(paths::CREDIT_SETTLE),
            PAY,
            &credit_settle_body(),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);

    // It shares the token's money-route bucket.
    let app = app_with(ApiConfig {
        auth: auth_config(),
        rate_limit: RateLimit {
            per_second: 1,
            burst: 2,
        },
        ..ApiConfig::default()
    });
    app.post(paths::CREDIT_ENVELOPE, PAY, &credit_envelope_body())
        .await;
    app.post(paths::CREDIT_SETTLE, PAY, &credit_settle_body())
        .await;
    app.post(paths::CREDIT_SETTLE, PAY, &credit_settle_body())
        .await
        .assert_error(429, "rate_limited");
    assert_eq!(app.backend.calls().len(), 2);
}

/// The repayment route of `envelope_id`.
fn repayment_path(envelope_id: &str) -> String {
    paths::fill(paths::CREDIT_REPAYMENT, &[("envelope_id", envelope_id)])
}

#[tokio::test]
async fn a_repayment_reaches_the_node_with_the_envelope_id() {
    let app = app();
    let answer: CreditRepaymentResponse = parse(
        &app.call(Method::POST, &repayment_path(ENVELOPE_ID), Some(PAY), None)
            .await,
    );
    assert_eq!(answer.schema, "openagents.credit.repayment_response.v1");
    assert_eq!(answer.envelope_id, ENVELOPE_ID);
    assert_eq!(answer.status, "owed");
    assert_eq!((answer.owed_msats, answer.owed_sats), (1_011_000, 1_011));
    assert_eq!(answer.invoice_bolt11, "lnbcrt10110n1repay");
    assert_eq!(answer.payment_hash, "ef".repeat(32));
    assert_eq!(
        app.backend.calls(),
        vec![Call::CreditRepayment(ENVELOPE_ID.into())]
    );

    // No body is needed; `{}` (or anything else) is ignored, as on the other POSTs that
    // name their object in the path.
    let app = self::app();
    for body in ["{}", ""] {
        let answer = app.post(&repayment_path(ENVELOPE_ID), PAY, body).await;
        assert_eq!(answer.status, 200, "{body:?}: {}", answer.text);
    }
    assert_eq!(
        app.backend.calls(),
        vec![
            Call::CreditRepayment(ENVELOPE_ID.into()),
            Call::CreditRepayment(ENVELOPE_ID.into()),
        ]
    );
    // The longest id is accepted as it is.
    let app = self::app();
    let longest = "a".repeat(128);
    let answer = app
        .call(Method::POST, &repayment_path(&longest), Some(PAY), None)
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(app.backend.calls(), vec![Call::CreditRepayment(longest)]);
}

#[tokio::test]
async fn a_bad_repayment_id_is_400_naming_envelope_id() {
    for bad in ["a%2Fb", "a%20b", "%C3%A9", &"a".repeat(129)] {
        let app = app();
        let answer = app
            .call(Method::POST, &repayment_path(bad), Some(PAY), None)
            .await;
        answer.assert_error(400, "invalid_request");
        assert!(
            answer.json["error"]["message"]
                .as_str()
                .unwrap()
                .contains("envelope_id"),
            "{bad}: {}",
            answer.text
        );
        assert!(app.backend.calls().is_empty(), "{bad}");
    }
}

#[tokio::test]
async fn the_repayment_refusals_keep_their_codes() {
    let cases: [Refusal; 3] = [
        (
            || NodeError::NothingOwed("cepe_1 is repaid and owes nothing".into()),
            409,
            "nothing_owed",
        ),
        (
            || NodeError::NotFound("envelope cepe_1".into()),
            404,
            "not_found",
        ),
        (
            || NodeError::Invoice("no channels".into()),
            422,
            "invoice_failed",
        ),
    ];
    for (make, status, code) in cases {
        let app = app();
        app.backend.fail_with(make);
        app.call(Method::POST, &repayment_path(ENVELOPE_ID), Some(PAY), None)
            .await
            .assert_error(status, code);
        assert_eq!(
            app.backend.calls(),
            vec![Call::CreditRepayment(ENVELOPE_ID.into())]
        );
    }
}

#[tokio::test]
async fn a_repayment_needs_pay_and_is_rate_limited() {
    let app = app();
    for token in [READ, LP] {
        app.call(
            Method::POST,
            &repayment_path(ENVELOPE_ID),
            Some(token),
            None,
        )
        .await
        .assert_error(403, "forbidden");
    }
    app.call(Method::POST, &repayment_path(ENVELOPE_ID), None, None)
        .await
        .assert_error(401, "unauthenticated");
    // It is a POST only.
    app.get(&repayment_path(ENVELOPE_ID), PAY)
        .await
        .assert_error(405, "method_not_allowed");
    assert!(app.backend.calls().is_empty());
    // The mirror serves the same.
    let answer = app
        .call(
            Method::POST,
            &paths::internal(&repayment_path(ENVELOPE_ID)),
            Some(PAY),
            None,
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    app.call(
        Method::POST,
        &paths::internal(&repayment_path(ENVELOPE_ID)),
        Some(READ),
        None,
    )
    .await
    .assert_error(403, "forbidden");
    assert_eq!(
        app.backend.calls(),
        vec![Call::CreditRepayment(ENVELOPE_ID.into())]
    );

    // It shares the token's money-route bucket.
    let app = app_with(ApiConfig {
        auth: auth_config(),
        rate_limit: RateLimit {
            per_second: 1,
            burst: 2,
        },
        ..ApiConfig::default()
    });
    app.post(paths::CREDIT_SETTLE, PAY, &credit_settle_body())
        .await;
    app.call(Method::POST, &repayment_path(ENVELOPE_ID), Some(PAY), None)
        .await;
    app.call(Method::POST, &repayment_path(ENVELOPE_ID), Some(PAY), None)
        .await
        .assert_error(429, "rate_limited");
    assert_eq!(app.backend.calls().len(), 2);
}

#[tokio::test]
async fn an_envelope_read_back_shows_what_it_drew_and_owes() {
    let app = app();
    let path = paths::fill(paths::CREDIT_ENVELOPE_VIEW, &[("envelope_id", ENVELOPE_ID)]);
    let answer = app.get(&path, READ).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let envelope = &answer.json["envelope"];
    assert_eq!(envelope["outstanding_msats"], 0);
    // Every field is on the wire, `null` until it applies.
    for field in [
        "settlement_id",
        "spent_msats",
        "owed_msats",
        "default_reason",
        "loss_msats",
        "recovered_msats",
        "settlement_receipt_id",
        "default_notice_id",
        "payment_id",
    ] {
        assert!(
            envelope.get(field).is_some_and(Value::is_null),
            "{field}: {}",
            answer.text
        );
    }
}
