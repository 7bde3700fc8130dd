//! Credit envelopes over a real node (spec §6.2, §7). B runs a pool whose CEP partition
//! an LP funds by an invoice paid from A; a TreasuryRouter token asks for credit for
//! agents, and A is the provider they buy from (its node key, x-only, is the provider
//! id). Offers take their cap and fee from underwriting, never from the request; an
//! agent's live envelopes use up its limit, which is underwritten again at issue; an
//! agent has at most so many live envelopes; the partition never commits more than it
//! holds. Settling pays A's invoice over the B–A channel once, books the draw and the
//! credit fee to the CEP partition, and a failed verification or an expired envelope is
//! a default that cuts the agent's limit; mode 2 needs the agent's signature. Bad
//! requests get stable codes and pay nothing; racing settles pay once; and everything
//! is where it was after B is killed and restarted, even in the middle of a settle.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::credit::*;
use common::*;
use sluice_actors::receipts::verify;
use sluice_api_types::{
    CreateInvoiceRequest, CreditOfferRequest, CreditSettleRequest, InvoiceResponse,
    PayInvoiceRequest, PayRequest, PaymentStatus, QuotePayRequest, WithdrawRequest,
    PAY_REQUEST_SCHEMA, QUOTE_PAY_REQUEST_SCHEMA,
};
use sluice_harness::{wait_for, ApiClient, Error, NodeProcess};

#[test]
fn offers_come_from_underwriting_and_envelopes_never_overcommit_an_agent_or_the_pool() {
    let (_dir, pair) = pool_pair(POOL_CONFIG);
    let (a, mut b) = (pair.a, pair.b);
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

#[test]
fn settling_pays_the_provider_once_and_defaults_cut_the_agents_limit() {
    let (_dir, pair) = pool_pair(SETTLE_CONFIG);
    let (a, mut b) = (pair.a, pair.b);
    let router = b.client().with_token(Some(ROUTER));
    deposit_by_invoice(&a, &b, POOL, LP, "lp", Some("cep"), CEP_SATS);
    let provider = provider_of(&a);

    // Mode 1: the verifier passed, B pays A's invoice; the draw and the credit fee
    // (80 bps of 12,000 sat) are booked to CEP.
    let e1 = issue(&router, &key(1), "job-1", 20_000, &provider);
    let inv1 = invoice_of(&a, 12_000, "job-1");
    let before = cep(&b);
    let paid = router
        .credit_settle(&settle(&e1, true, &inv1.bolt11))
        .unwrap();
    assert_eq!(paid.outcome, "success");
    assert_eq!((paid.spent_sats, paid.credit_fee_msats), (12_000, 96_000));
    assert_eq!(
        paid.fee_sats,
        (paid.routing_fee_msats + 96_000).div_ceil(1000)
    );
    verify(&paid.receipt, None).expect("the settlement receipt verifies");
    assert_eq!(
        paid.receipt["schema"],
        "openagents.credit.envelope_settlement_receipt.v1"
    );
    assert_eq!(paid.receipt["payment_hash"], inv1.payment_hash.as_str());
    assert_eq!(paid.receipt["mode"], "issuer_pays");
    assert_eq!(paid_by(&b, &inv1.payment_hash), 1);
    let after = cep(&b);
    let drawn = 12_000_000 + paid.routing_fee_msats;
    assert_eq!(after.assets_msats, before.assets_msats - drawn);
    assert_eq!(
        after.receivables_msats,
        before.receivables_msats + drawn + 96_000
    );
    assert_eq!(
        after.nav_msats,
        before.nav_msats + 96_000,
        "the credit fee is earned"
    );
    // The same settle again answers the same outcome and pays nothing more.
    let again = router
        .credit_settle(&settle(&e1, true, &inv1.bolt11))
        .unwrap();
    assert_eq!(
        (&again.settlement_id, &again.payment_id),
        (&paid.settlement_id, &paid.payment_id)
    );
    assert_eq!(paid_by(&b, &inv1.payment_hash), 1);
    assert_eq!(
        router.credit_envelope_get(&e1).unwrap().envelope.status,
        "owed"
    );

    // Bad settles are refused with stable codes and pay nothing.
    let e2 = issue(&router, &key(2), "job-2", 20_000, &provider);
    let inv2 = invoice_of(&a, 15_000, "job-2");
    let own = invoice_of(&b, 15_000, "not the provider");
    let over = invoice_of(&a, 25_000, "over the cap");
    let later = invoice_of(&a, 1_000, "e1 again");
    for (request, refused) in [
        (settle(&e2, true, &own.bolt11), (422, "wrong_provider")),
        (settle(&e2, true, &over.bolt11), (422, "over_envelope_cap")),
        (settle(&e2, true, MAINNET_INVOICE), (422, "wrong_network")),
        (settle(&e2, true, &inv1.bolt11), (409, "invoice_reserved")),
        (settle(&e1, true, &later.bolt11), (409, "envelope_settled")),
        (settle("cepe_nope", true, &inv2.bolt11), (404, "not_found")),
    ] {
        let (status, code) = refusal(router.credit_settle(&request));
        assert_eq!((status, code.as_str()), refused, "{request:?}");
    }
    for hash in [&own.payment_hash, &over.payment_hash, &later.payment_hash] {
        assert_eq!(paid_by(&b, hash), 0);
    }
    assert_eq!(cep(&b).assets_msats, after.assets_msats);

    // A failed verification is a default: a notice, nothing paid, no capital lost, and
    // the agent's limit drops at once (50,000 less a fresh default's 40,000).
    let failed = router
        .credit_settle(&settle(&e2, false, &inv2.bolt11))
        .unwrap();
    assert_eq!((failed.outcome.as_str(), failed.loss_sats), ("failed", 0));
    verify(&failed.receipt, None).expect("the default notice verifies");
    assert_eq!(
        failed.receipt["schema"],
        "openagents.credit.default_notice.v1"
    );
    assert_eq!(failed.receipt["reason"], "verification_failed");
    assert_eq!(paid_by(&b, &inv2.payment_hash), 0);
    let agent2 = router.credit_exposure(&key(2)).unwrap();
    assert_eq!(
        (
            agent2.open_envelope_count,
            agent2.default_count_30d,
            agent2.underwriting_limit_sats
        ),
        (0, 1, 10_000)
    );
    let next = router
        .credit_offer(&offer(&key(2), "job-2b", 20_000, None))
        .unwrap()
        .offer;
    assert_eq!(next.max_sats, 10_000, "the cut limit caps the next offer");

    // An envelope nobody settles defaults on the tick when its time is up; a settle
    // after that answers the default.
    let short = CreditOfferRequest {
        exp: in_secs(2),
        ..offer(&key(3), "job-3", 5_000, None)
    };
    let short = router.credit_offer(&short).unwrap().offer;
    let e3 = router
        .credit_envelope(&envelope(&short.offer_id, &provider))
        .unwrap()
        .envelope
        .envelope_id;
    wait_for("the tick to default the expired envelope", WAIT, || {
        let status = router.credit_envelope_get(&e3)?.envelope.status;
        Ok((status == "defaulted").then_some(()))
    })
    .unwrap();
    let inv3 = invoice_of(&a, 1_000, "job-3");
    let expired = router
        .credit_settle(&settle(&e3, true, &inv3.bolt11))
        .unwrap();
    assert_eq!(expired.outcome, "expired");
    assert_eq!(expired.receipt["reason"], "expired");
    assert_eq!(paid_by(&b, &inv3.payment_hash), 0);
    assert_eq!(
        router.credit_exposure(&key(3)).unwrap().default_count_30d,
        1
    );

    // Mode 2: the provider pulls with the agent's signature of this spend; a forged one
    // pays nothing, and the signature cannot be used again for another request.
    let e4 = issue(&router, &key(4), "job-4", 10_000, &provider);
    let inv4 = invoice_of(&a, 5_000, "job-4");
    let pulled = CreditSettleRequest {
        spend_authorization: Some(authorize(4, &e4, &inv4)),
        ..settle(&e4, true, &inv4.bolt11)
    };
    let forged = CreditSettleRequest {
        spend_authorization: Some(authorize(5, &e4, &inv4)),
        ..pulled.clone()
    };
    assert_eq!(
        refusal(router.credit_settle(&forged)),
        (422, "authorization_invalid".into())
    );
    assert_eq!(paid_by(&b, &inv4.payment_hash), 0);
    let done = router.credit_settle(&pulled).unwrap();
    assert_eq!((done.outcome.as_str(), done.spent_sats), ("success", 5_000));
    assert_eq!(done.receipt["mode"], "provider_pulls");
    let replayed = CreditSettleRequest {
        max_fee_msats: 6_000,
        ..pulled.clone()
    };
    assert_eq!(
        refusal(router.credit_settle(&replayed)),
        (409, "authorization_replayed".into())
    );
    assert_eq!(paid_by(&b, &inv4.payment_hash), 1);

    // Spec §8.2: a TreasuryRouter pay of a quote that names an envelope is paid from
    // the pool's liquidity and booked as the envelope's draw, with both receipts.
    let e5 = issue(&router, &key(6), "jit", 10_000, &provider);
    let inv5 = invoice_of(&a, 7_000, "jit");
    let quote = router
        .quote_pay(&QuotePayRequest {
            schema: QUOTE_PAY_REQUEST_SCHEMA.into(),
            idempotency_key: "jit-1".into(),
            invoice: inv5.bolt11.clone(),
            host: "provider.example".into(),
            max_amount_msats: 7_010_000,
            max_fee_msats: 10_000,
            urgency: None,
            policy_context: serde_json::json!({"rule": "jit"}),
            amount_msats: None,
        })
        .unwrap();
    let before_jit = cep(&b);
    let jit = PayRequest {
        schema: PAY_REQUEST_SCHEMA.into(),
        quote_id: quote.quote_id.clone(),
        run_id: Some("run-9".into()),
        trajectory_hash: None,
        wait_ms: None,
        envelope_id: Some(e5.clone()),
    };
    let paid5 = router.pay_quote(&jit).unwrap();
    assert_eq!(paid5.status, "succeeded");
    assert_eq!(paid5.envelope_id.as_deref(), Some(e5.as_str()));
    let drawn5 = paid5
        .envelope_receipt
        .clone()
        .expect("the settlement receipt");
    verify(&drawn5, None).expect("the JIT settlement receipt verifies");
    assert_eq!(drawn5["mode"], "jit_pay");
    assert_eq!(drawn5["credit_fee_msats"], 56_000);
    assert_eq!(
        drawn5["liquidity_receipt_id"],
        paid5.receipt.as_ref().unwrap()["receipt_id"]
    );
    let after_jit = cep(&b);
    let fee5 = paid5.fee_paid_msats.unwrap_or(0);
    assert_eq!(
        after_jit.assets_msats,
        before_jit.assets_msats - 7_000_000 - fee5
    );
    assert_eq!(after_jit.nav_msats, before_jit.nav_msats + 56_000);
    assert_eq!(
        router.credit_envelope_get(&e5).unwrap().envelope.status,
        "owed"
    );
    // The same pay again is the same payment; the envelope cannot pay another quote.
    assert_eq!(router.pay_quote(&jit).unwrap().payment_id, paid5.payment_id);
    assert_eq!(paid_by(&b, &inv5.payment_hash), 1);

    // Killed and started again, B answers the same outcomes and pays nothing more.
    let booked = cep(&b);
    b.kill().unwrap();
    b.start().unwrap();
    let router = b.client().with_token(Some(ROUTER));
    let back = router
        .credit_settle(&settle(&e1, true, &inv1.bolt11))
        .unwrap();
    assert_eq!(back.settlement_id, paid.settlement_id);
    assert_eq!(back.receipt, paid.receipt);
    assert_eq!(router.credit_settle(&pulled).unwrap().receipt, done.receipt);
    assert_eq!(paid_by(&b, &inv1.payment_hash), 1);
    let restarted = cep(&b);
    assert_eq!(
        (restarted.assets_msats, restarted.receivables_msats),
        (booked.assets_msats, booked.receivables_msats)
    );
}

#[test]
fn fifty_racing_settles_never_overspend_an_agents_envelopes() {
    let (_dir, pair) = pool_pair(SETTLE_CONFIG);
    let (a, b) = (pair.a, pair.b);
    let router = b.client().with_token(Some(ROUTER));
    deposit_by_invoice(&a, &b, POOL, LP, "lp", Some("cep"), CEP_SATS);
    let provider = provider_of(&a);
    // The agent's limit (50,000) holds two envelopes of 20,000; fifty settles of 15,000
    // race over them, each with its own invoice.
    let envelopes = [
        issue(&router, &key(1), "race-1", 20_000, &provider),
        issue(&router, &key(1), "race-2", 20_000, &provider),
    ];
    let invoices: Vec<InvoiceResponse> = (0..50)
        .map(|i| invoice_of(&a, 15_000, &format!("race {i}")))
        .collect();
    let before = cep(&b);
    let outcomes: Vec<Result<String, (u16, String)>> = std::thread::scope(|scope| {
        let racers: Vec<_> = invoices
            .iter()
            .enumerate()
            .map(|(i, invoice)| {
                let router = router.clone();
                let request = settle(&envelopes[i % 2], true, &invoice.bolt11);
                scope.spawn(move || match router.credit_settle(&request) {
                    Ok(done) => Ok(done.outcome),
                    Err(Error::Api { status, code, .. }) => Err((status, code)),
                    Err(e) => panic!("settle: {e}"),
                })
            })
            .collect();
        racers.into_iter().map(|r| r.join().unwrap()).collect()
    });
    let won = outcomes.iter().filter(|o| o.is_ok()).count();
    assert_eq!(won, 2, "one settle per envelope: {outcomes:?}");
    assert!(outcomes.iter().all(|o| matches!(o, Ok(s) if s == "success")
        || matches!(o, Err((409, c)) if c == "envelope_settled")));
    let payments: usize = invoices.iter().map(|i| paid_by(&b, &i.payment_hash)).sum();
    assert_eq!(payments, 2);
    let after = cep(&b);
    let spent = before.assets_msats - after.assets_msats;
    assert!(
        (30_000_000..=30_010_000).contains(&spent),
        "two draws of 15,000 sat and their fees left CEP: {spent}"
    );
    let exposure = router.credit_exposure(&key(1)).unwrap();
    assert!(exposure.open_exposure_sats <= 50_000);
}

#[test]
fn a_settle_killed_midway_pays_the_provider_at_most_once_and_resolves() {
    let (_dir, pair) = pool_pair(SETTLE_CONFIG);
    let (a, mut b) = (pair.a, pair.b);
    deposit_by_invoice(&a, &b, POOL, LP, "lp", Some("cep"), CEP_SATS);
    let provider = provider_of(&a);
    let before = cep(&b);
    let mut drawn = 0;
    // B is killed at a different moment of each settle: before the request lands, while
    // the payment is being stored or sent, after it settled.
    for (round, delay_ms) in [0u64, 3, 10, 40].into_iter().enumerate() {
        let router = b.client().with_token(Some(ROUTER));
        let agent = key(20 + round as u8);
        let envelope_id = issue(&router, &agent, "killed", 10_000, &provider);
        let invoice = invoice_of(&a, 8_000, &format!("killed {round}"));
        let request = settle(&envelope_id, true, &invoice.bolt11);
        std::thread::scope(|scope| {
            let racing = router.clone();
            let asked = request.clone();
            let settling = scope.spawn(move || racing.credit_settle(&asked));
            std::thread::sleep(Duration::from_millis(delay_ms));
            b.kill().unwrap();
            let _ = settling.join().unwrap();
        });
        b.start().unwrap();
        let router = b.client().with_token(Some(ROUTER));
        // The same settle again resolves it: the payment made before the kill is found
        // under its key, or made now if it never started (or failed: then the envelope
        // is open again and the same request pays anew).
        let done = wait_for("the settle to resolve", WAIT, || {
            match router.credit_settle(&request) {
                Ok(done) => Ok(Some(done)),
                Err(Error::Api { code, .. })
                    if code == "request_in_progress" || code == "settlement_failed" =>
                {
                    Ok(None)
                }
                Err(e) => Err(e),
            }
        })
        .unwrap();
        assert_eq!(done.outcome, "success", "round {round}");
        assert_eq!(paid_by(&b, &invoice.payment_hash), 1, "round {round}");
        drawn += 8_000_000 + done.routing_fee_msats;
    }
    let after = cep(&b);
    assert_eq!(after.assets_msats, before.assets_msats - drawn);
}

/// `payer` pays `invoice` and waits for it to arrive.
fn pay_from(payer: &NodeProcess, invoice: &str) {
    let paid = payer
        .client()
        .pay_invoice(&PayInvoiceRequest {
            invoice: invoice.into(),
            amount_msat: None,
            max_fee_msat: None,
        })
        .unwrap();
    wait_for("the repayment to arrive", WAIT, || {
        let p = payer.client().payment(&paid.id)?;
        Ok((p.status == PaymentStatus::Succeeded).then_some(()))
    })
    .unwrap();
}

#[test]
fn a_draw_is_repaid_or_written_off_and_a_late_repayment_recovers_the_loss() {
    // A draw must be repaid within 4 s of its envelope's expiry.
    let (_dir, pair) =
        pool_pair(&SETTLE_CONFIG.replace("tick_secs = 1", "tick_secs = 1\nrepay_within_secs = 4"));
    let (a, b) = (pair.a, pair.b);
    let router = b.client().with_token(Some(ROUTER));
    deposit_by_invoice(&a, &b, POOL, LP, "lp", Some("cep"), CEP_SATS);
    let provider = provider_of(&a);

    // Repaid: the agent owes the invoice and the credit fee (80 bps of 10,000 sat, and
    // the routing fee of a direct channel, none); paying B's repayment invoice moves the
    // receivable back to assets, and the fee stays earned.
    let e1 = issue(&router, &key(1), "repaid", 20_000, &provider);
    let start = cep(&b);
    let inv1 = invoice_of(&a, 10_000, "repaid");
    let paid = router
        .credit_settle(&settle(&e1, true, &inv1.bolt11))
        .unwrap();
    let owed = 10_000_000 + paid.routing_fee_msats + 80_000;
    let bill = router.credit_repayment(&e1).unwrap();
    assert_eq!((bill.owed_msats, bill.status.as_str()), (owed, "owed"));
    assert_eq!(
        router.credit_repayment(&e1).unwrap().payment_hash,
        bill.payment_hash,
        "asked again, the same invoice"
    );
    pay_from(&a, &bill.invoice_bolt11);
    wait_for("the repayment to be booked", WAIT, || {
        let e = router.credit_envelope_get(&e1)?.envelope;
        Ok((e.status == "repaid").then_some(e))
    })
    .unwrap();
    let repaid = cep(&b);
    assert_eq!(repaid.receivables_msats, start.receivables_msats);
    assert_eq!(repaid.assets_msats, start.assets_msats + 80_000);
    assert_eq!(repaid.nav_msats, start.nav_msats + 80_000);
    assert_eq!(
        refusal(router.credit_repayment(&e1)),
        (409, "nothing_owed".into())
    );

    // Unrepaid: 4 s after the envelope's expiry the tick writes the draw off — a default
    // notice with the loss, the NAV down by it, the agent's limit cut.
    let short = CreditOfferRequest {
        exp: in_secs(3),
        ..offer(&key(2), "unrepaid", 10_000, None)
    };
    let short = router.credit_offer(&short).unwrap().offer;
    let e2 = router
        .credit_envelope(&envelope(&short.offer_id, &provider))
        .unwrap()
        .envelope
        .envelope_id;
    let inv2 = invoice_of(&a, 5_000, "unrepaid");
    let drawn = router
        .credit_settle(&settle(&e2, true, &inv2.bolt11))
        .unwrap();
    assert_eq!(drawn.outcome, "success");
    let loss = 5_000_000 + drawn.routing_fee_msats + 40_000;
    let after_draw = cep(&b);
    let defaulted = wait_for("the draw to be written off", WAIT, || {
        let e = router.credit_envelope_get(&e2)?.envelope;
        Ok((e.status == "defaulted").then_some(e))
    })
    .unwrap();
    assert_eq!(defaulted.default_reason.as_deref(), Some("unrepaid"));
    assert_eq!(defaulted.loss_msats, Some(loss));
    let written_off = cep(&b);
    assert_eq!(written_off.nav_msats, after_draw.nav_msats - loss);
    assert_eq!(
        written_off.receivables_msats,
        after_draw.receivables_msats - loss
    );
    let notice = router
        .credit_settle(&settle(&e2, true, &inv2.bolt11))
        .unwrap();
    assert_eq!(notice.outcome, "defaulted");
    assert_eq!(notice.loss_sats, loss.div_ceil(1000));
    verify(&notice.receipt, None).expect("the default notice verifies");
    assert_eq!(notice.receipt["reason"], "unrepaid");
    let agent2 = router.credit_exposure(&key(2)).unwrap();
    assert_eq!(agent2.default_count_30d, 1);
    assert!(agent2.underwriting_limit_sats < 50_000 - 40_000);

    // Repaid late, the loss is recovered: the NAV is back where the draw left it.
    let late = router.credit_repayment(&e2).unwrap();
    assert_eq!(late.owed_msats, loss);
    pay_from(&a, &late.invoice_bolt11);
    wait_for("the late repayment to be booked", WAIT, || {
        let e = router.credit_envelope_get(&e2)?.envelope;
        Ok((e.recovered_msats == Some(loss)).then_some(()))
    })
    .unwrap();
    let recovered = cep(&b);
    assert_eq!(recovered.nav_msats, after_draw.nav_msats);
    assert_eq!(recovered.assets_msats, after_draw.assets_msats + loss);
}

#[test]
fn the_breakers_trip_on_bursts_of_defaults_or_failures_and_clear_with_hysteresis() {
    // The loss breaker judges the last 4 outcomes: it trips at 75 % bad and clears at
    // 25 %. The Lightning breaker judges the last 4 outgoing payments: at half failed it
    // holds back settlements above 1,500 sat, and lets them through at a quarter.
    let config = format!(
        "{SETTLE_CONFIG}loss_window = 4\nloss_min_samples = 4\nloss_trip_bps = 7500\nloss_clear_bps = 2500\n\
         large_settlement_sats = 1500\nln_window = 4\nln_min_samples = 4\nln_trip_bps = 5000\nln_clear_bps = 2500\n"
    );
    let (_dir, pair) = pool_pair(&config);
    let (a, b) = (pair.a, pair.b);
    let router = b.client().with_token(Some(ROUTER));
    deposit_by_invoice(&a, &b, POOL, LP, "lp", Some("cep"), CEP_SATS);
    let provider = provider_of(&a);
    let envelopes: Vec<String> = (0..7)
        .map(|i| {
            issue(
                &router,
                &key(30 + i),
                &format!("burst-{i}"),
                2_000,
                &provider,
            )
        })
        .collect();
    let halted = || router.credit_health().unwrap().breakers.halt_new_envelopes;
    let settle_one = |i: usize, passed: bool| {
        let invoice = invoice_of(&a, 1_000, &format!("burst {i}"));
        router
            .credit_settle(&settle(&envelopes[i], passed, &invoice.bolt11))
            .unwrap()
            .outcome
    };
    // Three failed verifications are fewer outcomes than the breaker judges.
    for i in 0..3 {
        assert_eq!(settle_one(i, false), "failed");
    }
    assert!(!halted());
    // The fourth makes 4 of 4 bad: no new envelopes.
    assert_eq!(settle_one(3, false), "failed");
    assert!(halted());
    let o = router
        .credit_offer(&offer(&key(40), "after", 1_000, None))
        .unwrap()
        .offer;
    assert_eq!(
        refusal(router.credit_envelope(&envelope(&o.offer_id, &provider))),
        (503, "credit_halted".into())
    );
    // Paid settlements bring the rate down: 75 %, then 50 % — below where it tripped,
    // above where it clears, so it holds — then 25 %, and it clears.
    assert_eq!(settle_one(4, true), "success");
    assert!(halted());
    assert_eq!(settle_one(5, true), "success");
    assert!(
        halted(),
        "50 % is between the clear and trip levels: still tripped"
    );
    assert_eq!(settle_one(6, true), "success");
    assert!(!halted());
    router
        .credit_envelope(&envelope(&o.offer_id, &provider))
        .unwrap();

    // The Lightning breaker: B's last outgoing payments were three paid settlements; two
    // payments it cannot route (more than its side of the channel) make half of the last
    // four failures. A large settlement waits; small ones pass, and when failures are a
    // quarter of the last four again, the large one passes too.
    let small: Vec<String> = (0..3)
        .map(|i| issue(&router, &key(50 + i), &format!("ln-{i}"), 2_000, &provider))
        .collect();
    let large = issue(&router, &key(60), "ln-large", 3_000, &provider);
    for i in 0..2 {
        let unroutable = invoice_of(&a, 900_000, &format!("unroutable {i}"));
        let _ = b.client().pay_invoice(&PayInvoiceRequest {
            invoice: unroutable.bolt11,
            amount_msat: None,
            max_fee_msat: None,
        });
        wait_for("the unroutable payment to fail", WAIT, || {
            let failed = b
                .client()
                .payments_of_hash(&unroutable.payment_hash)?
                .iter()
                .any(|p| p.status == PaymentStatus::Failed);
            Ok(failed.then_some(()))
        })
        .unwrap();
    }
    let holding = || {
        router
            .credit_health()
            .unwrap()
            .breakers
            .hold_large_settlements
    };
    assert!(holding());
    let big = invoice_of(&a, 2_000, "large");
    assert_eq!(
        refusal(router.credit_settle(&settle(&large, true, &big.bolt11))),
        (503, "credit_halted".into())
    );
    assert_eq!(paid_by(&b, &big.payment_hash), 0);
    let settle_small = |envelope_id: &str| {
        let invoice = invoice_of(&a, 1_000, envelope_id);
        router
            .credit_settle(&settle(envelope_id, true, &invoice.bolt11))
            .unwrap()
            .outcome
    };
    assert_eq!(settle_small(&small[0]), "success");
    assert_eq!(settle_small(&small[1]), "success");
    assert!(holding(), "half of the last four failed: still holding");
    assert_eq!(settle_small(&small[2]), "success");
    assert!(!holding());
    let paid = router
        .credit_settle(&settle(&large, true, &big.bolt11))
        .unwrap();
    assert_eq!((paid.outcome.as_str(), paid.spent_sats), ("success", 2_000));
}

#[test]
fn a_cep_withdrawal_waits_while_envelopes_reserve_what_it_would_take() {
    // Payout ticks every second; the LP's withdrawal needs no approval.
    let config = format!(
        "{SETTLE_CONFIG}\n[pool.withdrawals]\ntick_every_secs = 1\nmin_sats = 1000\napproval_above_sats = 1000000\nhalted_below_usable_bps = 0\n"
    );
    let (_dir, pair) = pool_pair(&config);
    let (a, b) = (pair.a, pair.b);
    let router = b.client().with_token(Some(ROUTER));
    deposit_by_invoice(&a, &b, POOL, LP, "lp", Some("cep"), CEP_SATS);
    let provider = provider_of(&a);
    // Two envelopes reserve 100,000 of the partition's 150,000 sat.
    let e1 = issue(&router, &key(1), "held-1", 50_000, &provider);
    issue(&router, &key(2), "held-2", 50_000, &provider);
    let lp = b.client().with_token(Some(LP));
    let units: u128 = lp
        .pool_position(POOL, "lp")
        .unwrap()
        .partitions
        .iter()
        .find(|p| p.partition_kind == "cep")
        .unwrap()
        .units
        .parse()
        .unwrap();
    // Half the LP's units, 75,000 sat, would burn into the reservations: it waits.
    let payout = a
        .client()
        .create_invoice(&CreateInvoiceRequest {
            amount_msat: None,
            description: "cep withdrawal".into(),
            expiry_secs: Some(3600),
        })
        .unwrap()
        .bolt11;
    let asked = lp
        .withdraw_request(
            POOL,
            &WithdrawRequest {
                schema: "openagents.liquidity.pool.withdraw_request.v1".into(),
                lp_id: "lp".into(),
                idempotency_key: "cep-half".into(),
                partition_kind: Some("cep".into()),
                shares_burned: None,
                units: Some((units / 2).to_string()),
                rail_preference: "lightning".into(),
                payout_invoice_bolt11: Some(payout),
                payout_address: None,
                emergency: None,
            },
        )
        .unwrap()
        .withdrawal;
    // Three payout ticks after the request, nothing is burned.
    let ticks = || {
        b.client()
            .metric("sluice_withdrawal_ticks_total")
            .map(|n| n.unwrap_or(0.0))
    };
    let asked_at = ticks().unwrap();
    wait_for("three payout ticks", WAIT, || {
        Ok((ticks()? >= asked_at + 3.0).then_some(()))
    })
    .unwrap();
    let waiting = lp
        .withdrawal(POOL, &asked.withdrawal_id)
        .unwrap()
        .withdrawal;
    assert_eq!(waiting.status, "queued");
    assert!(waiting.fills.is_empty(), "{waiting:?}");
    assert_eq!(cep(&b).pending_withdrawals_msats, 0);
    // One envelope ends (a failed verification releases its reservation): the
    // withdrawal fits now and is paid.
    let invoice = invoice_of(&a, 1_000, "held-1");
    assert_eq!(
        router
            .credit_settle(&settle(&e1, false, &invoice.bolt11))
            .unwrap()
            .outcome,
        "failed"
    );
    wait_for("the CEP withdrawal to be paid", WAIT, || {
        let w = lp.withdrawal(POOL, &asked.withdrawal_id)?.withdrawal;
        Ok((w.status == "paid").then_some(()))
    })
    .unwrap();
}
