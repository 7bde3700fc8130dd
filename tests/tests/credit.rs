//! Credit envelopes over a real node (spec §6.2, §7; issue 21 so far: intents, offers,
//! issue). B runs a pool whose CEP partition an LP funds by an invoice paid from A; a
//! TreasuryRouter token asks for credit for agents. Offers take their cap and fee from
//! underwriting, never from the request; an agent's live envelopes use up its limit,
//! which is underwritten again at issue; an agent has at most so many live envelopes; the
//! partition never commits more than it holds; bad requests get stable codes and commit
//! nothing; and everything is where it was after B is killed and restarted.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bitcoin::secp256k1::{Keypair, Secp256k1};
use common::*;
use sluice_actors::receipts::verify;
use sluice_api_types::{
    CreatePoolRequest, CreditEnvelopeRequest, CreditIntentRequest, CreditOfferRequest,
};
use sluice_harness::setup::PairSpec;
use sluice_harness::{wait_for, ApiClient, Error, NodeOptions, Pair};

const POOL: &str = "main";
const LP: &str = "lp-token";
const ROUTER: &str = "router-token";
/// What the LP puts in the CEP partition, sat.
const CEP_SATS: u64 = 150_000;

/// B's credit settings: every agent starts at a 50,000 sat limit (no history moves it:
/// `k = 0`), at most two live envelopes each, offers last at most ten minutes.
const POOL_CONFIG: &str = "\
[pool.credit]
base_sats = 50000
k = 0
max_envelope_sats = 60000
max_open_envelopes_per_agent = 2
max_offer_ttl_secs = 600
min_fee_bps = 80
nip90_surcharge_bps = 0
";

fn refusal<T: std::fmt::Debug>(result: Result<T, Error>) -> (u16, String) {
    match result {
        Err(Error::Api { status, code, .. }) => (status, code),
        other => panic!("expected an API error, got {other:?}"),
    }
}

/// An x-only public key, hex, for `seed`.
fn key(seed: u8) -> String {
    let secp = Secp256k1::new();
    let pair = Keypair::from_seckey_slice(&secp, &[seed; 32]).unwrap();
    pair.x_only_public_key().0.to_string()
}

/// An RFC 3339 time `secs` from now.
fn in_secs(secs: u64) -> String {
    let at = SystemTime::now() + Duration::from_secs(secs);
    let ms = at.duration_since(UNIX_EPOCH).unwrap().as_millis() as i64;
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap()
        .to_rfc3339()
}

fn intent(agent: &str, key: &str, max_sats: u64) -> CreditIntentRequest {
    CreditIntentRequest {
        schema: "openagents.credit.intent_request.v1".into(),
        idempotency_key: key.into(),
        agent_id: agent.into(),
        scope_type: "nip90".into(),
        scope_id: "job-1".into(),
        max_sats,
        exp: in_secs(300),
        policy_context: serde_json::json!({"budget": "b1"}),
    }
}

fn offer(
    agent: &str,
    scope_id: &str,
    max_sats: u64,
    intent_id: Option<&str>,
) -> CreditOfferRequest {
    CreditOfferRequest {
        schema: "openagents.credit.offer_request.v1".into(),
        agent_id: agent.into(),
        pool_id: POOL.into(),
        intent_id: intent_id.map(str::to_owned),
        scope_type: "nip90".into(),
        scope_id: scope_id.into(),
        max_sats,
        fee_bps: 1,
        requires_verifier: true,
        // Within the intents', which last 300 s.
        exp: in_secs(240),
    }
}

fn envelope(offer_id: &str, provider: &str) -> CreditEnvelopeRequest {
    CreditEnvelopeRequest {
        schema: "openagents.credit.envelope_request.v1".into(),
        offer_id: offer_id.into(),
        provider_id: provider.into(),
    }
}

#[test]
fn offers_come_from_underwriting_and_envelopes_never_overcommit_an_agent_or_the_pool() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("pool.toml");
    std::fs::write(&config, format!("[pool]\n{POOL_CONFIG}")).unwrap();
    let pair = Pair::start(&binary(), PairSpec::new(CAPACITY_SAT), |chain, i| {
        let options = NodeOptions::regtest(chain);
        if i == 1 {
            options
                .token(LP, "lp")
                .token(ROUTER, "pay+read")
                .args(["--config", config.to_str().unwrap()])
        } else {
            options
        }
    })
    .unwrap();
    let (a, mut b) = (pair.a, pair.b);
    b.client()
        .create_pool(&CreatePoolRequest {
            pool_id: POOL.into(),
            name: None,
            partitions: Some(vec!["llp".into(), "cep".into()]),
        })
        .unwrap();
    let router: ApiClient = b.client().with_token(Some(ROUTER));
    // Before the partition holds anything, nothing can be reserved.
    let early = router
        .credit_offer(&offer(&key(9), "early", 1_000, None))
        .unwrap();
    assert_eq!(
        refusal(router.credit_envelope(&envelope(&early.offer.offer_id, &key(100)))),
        (422, "credit_committed".into())
    );
    deposit_by_invoice(&a, &b, POOL, LP, "lp", Some("cep"), CEP_SATS);
    let provider = key(100);

    // An intent is idempotent by its key; a reused key with another request is refused.
    let agent1 = key(1);
    let asked = intent(&agent1, "i1", 40_000);
    let filed = router.credit_intent(&asked).unwrap();
    let again = router.credit_intent(&asked).unwrap();
    assert_eq!(filed.intent.intent_id, again.intent.intent_id);
    assert_eq!(
        refusal(router.credit_intent(&intent(&agent1, "i1", 39_000))),
        (409, "idempotency_conflict".into())
    );
    // An offer stays within the intent it names.
    let intent_id = filed.intent.intent_id.clone();
    assert_eq!(
        refusal(router.credit_offer(&offer(&agent1, "job-1", 40_001, Some(&intent_id)))),
        (400, "invalid_request".into())
    );
    assert_eq!(
        refusal(router.credit_offer(&offer(&agent1, "job-1", 1, Some("cepi_nope")))),
        (404, "not_found".into())
    );
    let unverified = CreditOfferRequest {
        requires_verifier: false,
        ..offer(&agent1, "job-1", 1_000, None)
    };
    assert_eq!(
        refusal(router.credit_offer(&unverified)),
        (400, "invalid_request".into())
    );

    // The cap and fee are underwriting's: 50,000 sat at the 80 bps floor, whatever the
    // request said (it asked 1 bps).
    let first = router
        .credit_offer(&offer(&agent1, "job-1", 20_000, Some(&intent_id)))
        .unwrap()
        .offer;
    assert_eq!((first.max_sats, first.fee_bps), (20_000, 80));
    assert_eq!(first.underwriting.limit_sats, 50_000);
    let big = router
        .credit_offer(&offer(&agent1, "job-2", 60_000, None))
        .unwrap()
        .offer;
    assert_eq!(big.max_sats, 50_000, "capped at the agent's limit");

    // Issue: the receipt verifies; the same offer and provider answer the same envelope;
    // another provider cannot take the offer up.
    let issued = router
        .credit_envelope(&envelope(&first.offer_id, &provider))
        .unwrap();
    verify(&issued.receipt, None).expect("the issue receipt verifies");
    assert_eq!(
        issued.receipt["envelope_id"],
        issued.envelope.envelope_id.as_str()
    );
    assert_eq!(issued.receipt["max_sats"], 20_000);
    assert_eq!(issued.envelope.status, "open");
    let repeat = router
        .credit_envelope(&envelope(&first.offer_id, &provider))
        .unwrap();
    assert_eq!(repeat.envelope.envelope_id, issued.envelope.envelope_id);
    assert_eq!(
        refusal(router.credit_envelope(&envelope(&first.offer_id, &key(101)))),
        (409, "offer_state".into())
    );
    // The big offer was decided before the first envelope; at issue the agent's limit
    // (50,000 less 20,000 live) no longer covers it.
    assert_eq!(
        refusal(router.credit_envelope(&envelope(&big.offer_id, &provider))),
        (422, "no_credit".into())
    );
    let second = router
        .credit_offer(&offer(&agent1, "job-3", 20_000, None))
        .unwrap()
        .offer;
    router
        .credit_envelope(&envelope(&second.offer_id, &provider))
        .unwrap();
    // Two live envelopes is the most an agent may have.
    let third = router
        .credit_offer(&offer(&agent1, "job-4", 5_000, None))
        .unwrap()
        .offer;
    assert_eq!(
        refusal(router.credit_envelope(&envelope(&third.offer_id, &provider))),
        (409, "too_many_envelopes".into())
    );
    let exposure = router.credit_exposure(&agent1).unwrap();
    assert_eq!(
        (
            exposure.open_envelope_count,
            exposure.open_exposure_sats,
            exposure.underwriting_limit_sats
        ),
        (2, 40_000, 10_000)
    );

    // An offer past its expiry cannot be taken up.
    let short = CreditOfferRequest {
        exp: in_secs(2),
        ..offer(&key(2), "job-5", 1_000, None)
    };
    let short = router.credit_offer(&short).unwrap().offer;
    // Wait until the offer's own exp has passed (the node and the test share a clock).
    let lapses = chrono::DateTime::parse_from_rfc3339(&short.exp).unwrap();
    wait_for("the short offer to lapse", WAIT, || {
        Ok((chrono::Utc::now() > lapses).then_some(()))
    })
    .unwrap();
    assert_eq!(
        refusal(router.credit_envelope(&envelope(&short.offer_id, &provider))),
        (410, "offer_expired".into())
    );

    // The partition holds 150,000 sat: 40,000 are reserved, two more agents take 50,000
    // each, and a fourth envelope of 50,000 does not fit.
    for seed in [3, 4] {
        let o = router
            .credit_offer(&offer(&key(seed), "job-6", 50_000, None))
            .unwrap()
            .offer;
        router
            .credit_envelope(&envelope(&o.offer_id, &provider))
            .unwrap();
    }
    let over = router
        .credit_offer(&offer(&key(5), "job-6", 50_000, None))
        .unwrap()
        .offer;
    assert_eq!(
        refusal(router.credit_envelope(&envelope(&over.offer_id, &provider))),
        (422, "credit_committed".into())
    );
    let health = router.credit_health().unwrap();
    assert_eq!(health.open_envelope_count, 4);
    assert_eq!(health.reserved_commitments_msats, 140_000_000);
    assert!(!health.breakers.halt_new_envelopes);

    // Killed and started again, B knows every envelope and commitment as before.
    b.kill().unwrap();
    b.start().unwrap();
    let router = b.client().with_token(Some(ROUTER));
    let back = router
        .credit_envelope_get(&issued.envelope.envelope_id)
        .unwrap();
    assert_eq!(back.envelope, issued.envelope);
    assert_eq!(back.receipt, issued.receipt);
    assert_eq!(
        router.credit_exposure(&agent1).unwrap().open_exposure_sats,
        40_000
    );
    assert_eq!(
        router.credit_health().unwrap().reserved_commitments_msats,
        140_000_000
    );
    assert_eq!(
        refusal(router.credit_envelope(&envelope(&over.offer_id, &provider))),
        (422, "credit_committed".into())
    );
}
