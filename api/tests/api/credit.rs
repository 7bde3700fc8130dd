//! The credit routes: what reaches the node from an intent, an offer, an envelope
//! request and the reads, what is refused before it does (400 naming the field), and the
//! answers' shapes.

use axum::http::Method;
use serde_json::{json, Value};
use sluice_actors::credit::{EnvelopeAsk, IntentAsk, OfferAsk};
use sluice_actors::NodeError;
use sluice_api::hash_token;
use sluice_api_types::paths;
use sluice_api_types::{
    CreditAgentExposureResponse, CreditEnvelopeResponse, CreditHealthResponse,
    CreditIntentResponse, CreditOfferResponse,
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
