//! The payments engine end to end over a three-node line, payer A → router B → payee C:
//! quote then pay, exactly once, with signed receipts that verify offline; refusals
//! before any HTLC leaves; a pay racing a crash; a payee gone offline.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use bitcoin::hashes::{sha256, Hash};
use bitcoin::hex::{DisplayHex, FromHex};
use serde_json::{json, Value};
use sluice_actors::receipts::verify;
use sluice_api_types::{
    CreateInvoiceRequest, InvoiceResponse, KeysendRequest, ListPaymentsQuery, PayRequest,
    PayResponse, PaymentDirection, PaymentStatus, QuotePayRequest, QuotePayResponse,
    PAY_REQUEST_SCHEMA, QUOTE_PAY_REQUEST_SCHEMA,
};
use sluice_harness::{setup, wait_for, ChainProcess, Error, NodeProcess};

use common::*;

/// The most A pays in fees in these tests; B charges LDK's default 1 sat per forward.
const MAX_FEE_MSAT: u64 = 10_000;

/// A BOLT11 test vector for mainnet (from BOLT 11: "please consider supporting this
/// project"), long expired.
const MAINNET_INVOICE: &str = "lnbc1pvjluezsp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygspp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdpl2pkx2ctnv5sxxmmwwd5kgetjypeh2ursdae8g6twvus8g6rfwvs8qun0dfjkxaq9qrsgq357wnc5r2ueh7ck6q93dj32dlqnls087fxdwk8qakdyafkq3yap9us6v52vjjsrvywa6rt52cm9r9zqt8r2t7mlcwspyetp5h2tztugp9lfyql";

fn invoice(
    payee: &NodeProcess,
    amount_msat: Option<u64>,
    expiry_secs: Option<u32>,
) -> InvoiceResponse {
    payee
        .client()
        .create_invoice(&CreateInvoiceRequest {
            amount_msat,
            description: "agent work".into(),
            expiry_secs,
        })
        .unwrap()
}

fn quote_request(key: &str, bolt11: &str) -> QuotePayRequest {
    QuotePayRequest {
        schema: QUOTE_PAY_REQUEST_SCHEMA.into(),
        idempotency_key: key.into(),
        invoice: bolt11.into(),
        host: "sats4ai.com".into(),
        max_amount_msats: PAYMENT_MSAT + MAX_FEE_MSAT,
        max_fee_msats: MAX_FEE_MSAT,
        urgency: Some("high".into()),
        policy_context: json!({"schema": "openagents.liquidity.policy_context.v1", "rule": "r1"}),
        amount_msats: None,
    }
}

fn pay_request(quote_id: &str, wait_ms: Option<u64>) -> PayRequest {
    PayRequest {
        schema: PAY_REQUEST_SCHEMA.into(),
        quote_id: quote_id.into(),
        run_id: Some("run-7".into()),
        trajectory_hash: Some("traj-7".into()),
        wait_ms,
        envelope_id: None,
    }
}

/// The status and code of an API error.
fn refusal<T: std::fmt::Debug>(result: Result<T, Error>) -> (u16, String) {
    match result {
        Err(Error::Api { status, code, .. }) => (status, code),
        other => panic!("expected an API error, got {other:?}"),
    }
}

/// How many succeeded inbound payments `payee` lists for `payment_hash`.
fn received(payee: &NodeProcess, payment_hash: &str) -> Vec<u64> {
    payee
        .client()
        .list_payments(&ListPaymentsQuery {
            direction: Some(PaymentDirection::Inbound),
            payment_hash: Some(payment_hash.to_owned()),
            ..ListPaymentsQuery::default()
        })
        .unwrap()
        .into_iter()
        .filter(|p| p.payment_hash == payment_hash && p.status == PaymentStatus::Succeeded)
        .filter_map(|p| p.amount_msat)
        .collect()
}

/// Waits until the wall clock is past `unix_ms` (invoices and quotes expire by it).
fn wait_until_past(what: &str, unix_ms: u64) {
    wait_for(what, WAIT, || {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap();
        Ok((now.as_millis() > u128::from(unix_ms)).then_some(()))
    })
    .unwrap();
}

fn sha256_hex(bytes: &[u8]) -> String {
    sha256::Hash::hash(bytes)
        .to_byte_array()
        .to_lower_hex_string()
}

/// `receipt` verifies offline against `signer`, and stops verifying when any one of its
/// fields is changed.
fn assert_receipt_seals(receipt: &Value) {
    let verified = verify(receipt, None).expect("the receipt verifies");
    verify(receipt, Some(&verified.signer)).expect("it verifies against its signer");
    let Value::Object(fields) = receipt else {
        panic!("a receipt is an object: {receipt}");
    };
    for (name, value) in fields {
        let changed = match value {
            Value::Null => json!("x"),
            Value::Bool(b) => json!(!b),
            Value::Number(n) => json!(n.as_u64().unwrap_or(0) + 1),
            Value::String(s) => json!(format!("{s}0")),
            Value::Object(_) => {
                let mut signature = value.clone();
                let hex = signature["signature_hex"].as_str().unwrap().to_owned();
                signature["signature_hex"] = json!(format!("{}{}", &hex[..2], "00".repeat(63)));
                signature
            }
            Value::Array(_) => json!([]),
        };
        let mut tampered = receipt.clone();
        tampered[name] = changed;
        assert!(
            verify(&tampered, None).is_err(),
            "changing {name} still verifies"
        );
    }
}

/// A paid quote's answer: succeeded, with a receipt that says what was paid.
fn assert_paid(paid: &PayResponse, quote: &QuotePayResponse) {
    assert_eq!(paid.status, "succeeded", "{paid:?}");
    assert_eq!(paid.quote_id, quote.quote_id);
    assert_eq!(paid.error_code, None);
    let receipt = paid
        .receipt
        .as_ref()
        .expect("a settled payment has a receipt");
    assert_eq!(
        receipt["schema"],
        "openagents.liquidity.invoice_pay_receipt.v1"
    );
    assert_eq!(receipt["status"], "succeeded");
    assert_eq!(receipt["quote_id"], quote.quote_id.as_str());
    assert_eq!(receipt["invoice_hash"], quote.invoice_hash.as_str());
    assert_eq!(receipt["amount_msats"], PAYMENT_MSAT);
    assert_eq!(receipt["host"], "sats4ai.com");
    assert_eq!(receipt["run_id"], "run-7");
    assert_eq!(receipt["trajectory_hash"], "traj-7");
    assert_eq!(
        receipt["policy_context_sha256"],
        quote.policy_context_sha256.as_str()
    );
    assert_eq!(
        paid.preimage_sha256.as_deref(),
        receipt["preimage_sha256"].as_str()
    );
    assert_receipt_seals(receipt);
}

/// Quote, pay, pay again, poll, fetch the receipt; the payee is paid once. Then every
/// refusal that must come before an HTLC leaves.
#[test]
fn quote_then_pay_once_over_a_three_node_line() {
    let binary = binary();
    let Line {
        a,
        b: _router,
        c,
        chain: _chain,
    } = three_node_line(&binary);
    let payer = a.client();

    let bill = invoice(&c, Some(PAYMENT_MSAT), None);
    let request = quote_request("idem:quote-1", &bill.bolt11);
    let quote = payer.quote_pay(&request).unwrap();
    assert_eq!(quote.schema, "openagents.liquidity.quote_pay_response.v1");
    assert_eq!(quote.quoted_amount_msats, PAYMENT_MSAT);
    assert_eq!(quote.payment_hash, bill.payment_hash);
    assert_eq!(quote.invoice_hash, sha256_hex(bill.bolt11.as_bytes()));
    assert!(
        quote.quoted_fee_msats > 0 && quote.quoted_fee_msats <= MAX_FEE_MSAT,
        "one hop through B costs a fee within the ceiling: {quote:?}"
    );
    assert!(quote.valid_until_ms > quote.created_at_ms);
    assert!(quote.valid_until.ends_with('Z'), "{quote:?}");
    assert_eq!(quote.urgency, "high");

    // The same key: the same quote; with another body: refused.
    assert_eq!(payer.quote_pay(&request).unwrap(), quote);
    let changed = QuotePayRequest {
        max_fee_msats: MAX_FEE_MSAT - 1,
        ..request.clone()
    };
    assert_eq!(
        refusal(payer.quote_pay(&changed)),
        (409, "idempotency_conflict".into())
    );

    // Pay, synchronously: the answer is the outcome.
    let paid = payer
        .pay_quote(&pay_request(&quote.quote_id, None))
        .unwrap();
    assert_paid(&paid, &quote);
    assert_eq!(paid.fee_paid_msats, Some(quote.quoted_fee_msats));

    // Paying the quote again pays nothing more: the same payment, the same receipt.
    let again = payer
        .pay_quote(&pay_request(&quote.quote_id, Some(0)))
        .unwrap();
    assert_eq!(again, paid);
    assert_eq!(payer.quote_payment(&quote.quote_id).unwrap(), paid);
    let receipt = paid.receipt.clone().unwrap();
    let receipt_id = receipt["receipt_id"].as_str().unwrap();
    assert_eq!(payer.receipt(receipt_id).unwrap(), receipt);
    assert_eq!(received(&c, &bill.payment_hash), vec![PAYMENT_MSAT]);
    let payment = payer.payment(&paid.payment_id).unwrap();
    let preimage = <[u8; 32]>::from_hex(payment.preimage.as_deref().unwrap()).unwrap();
    assert_eq!(
        paid.preimage_sha256.as_deref(),
        Some(sha256_hex(&preimage).as_str())
    );

    // The receipt also verifies with the CLI, from a file, and not once changed.
    let file = a.data_dir().join("receipt.json");
    std::fs::write(&file, serde_json::to_vec_pretty(&receipt).unwrap()).unwrap();
    let out = binary
        .command()
        .args(["receipt", "verify"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut tampered = receipt.clone();
    tampered["amount_msats"] = json!(PAYMENT_MSAT * 2);
    std::fs::write(&file, serde_json::to_vec_pretty(&tampered).unwrap()).unwrap();
    let out = binary
        .command()
        .args(["receipt", "verify"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(!out.status.success());

    // A paid invoice is not quoted again, under any key.
    let repeat = quote_request("idem:quote-2", &bill.bolt11);
    assert_eq!(
        refusal(payer.quote_pay(&repeat)),
        (409, "already_paid".into())
    );
    // Nor paid directly.
    let direct = sluice_api_types::PayInvoiceRequest {
        invoice: bill.bolt11.clone(),
        amount_msat: None,
        max_fee_msat: None,
    };
    assert_eq!(
        refusal(payer.pay_invoice(&direct)),
        (409, "already_paid".into())
    );

    // Refusals before any HTLC leaves.
    let expiring = invoice(&c, Some(PAYMENT_MSAT), Some(1));
    wait_until_past("the invoice to expire", expiring.expires_at_secs * 1000);
    let cases = [
        (
            quote_request("k-expired", &expiring.bolt11),
            422,
            "invoice_expired",
        ),
        (
            quote_request("k-network", MAINNET_INVOICE),
            422,
            "wrong_network",
        ),
        (
            quote_request("k-junk", "lnbcrt1junk"),
            400,
            "invalid_request",
        ),
        (
            quote_request("k-no-amount", &invoice(&c, None, None).bolt11),
            422,
            "amount_required",
        ),
        (
            QuotePayRequest {
                max_amount_msats: PAYMENT_MSAT - 1,
                ..quote_request("k-over", &invoice(&c, Some(PAYMENT_MSAT), None).bolt11)
            },
            422,
            "amount_exceeds_max",
        ),
        (
            QuotePayRequest {
                max_fee_msats: 0,
                ..quote_request("k-fee", &invoice(&c, Some(PAYMENT_MSAT), None).bolt11)
            },
            422,
            "fee_limit_exceeded",
        ),
        (
            QuotePayRequest {
                max_amount_msats: 4 * CAPACITY_SAT * 1000,
                ..quote_request(
                    "k-too-big",
                    &invoice(&c, Some(2 * CAPACITY_SAT * 1000), None).bolt11,
                )
            },
            422,
            "route_not_found",
        ),
        (
            QuotePayRequest {
                schema: "openagents.liquidity.quote_pay_request.v0".into(),
                ..quote_request("k-schema", &bill.bolt11)
            },
            400,
            "invalid_request",
        ),
        (
            QuotePayRequest {
                urgency: Some("yesterday".into()),
                ..quote_request("k-urgency", &bill.bolt11)
            },
            400,
            "invalid_request",
        ),
    ];
    for (request, status, code) in cases {
        let key = request.idempotency_key.clone();
        assert_eq!(
            refusal(payer.quote_pay(&request)),
            (status, code.to_owned()),
            "{key}"
        );
    }
    assert_eq!(
        refusal(payer.pay_quote(&pay_request("quote_unknown", None))),
        (404, "not_found".into())
    );

    // Racing requests: four quotes under one key are one quote; four pays of it are one
    // payment.
    let raced = invoice(&c, Some(PAYMENT_MSAT), None);
    let request = quote_request("k-raced", &raced.bolt11);
    let quotes: Vec<QuotePayResponse> = std::thread::scope(|s| {
        let racers: Vec<_> = (0..4)
            .map(|_| s.spawn(|| a.client().quote_pay(&request).unwrap()))
            .collect();
        racers.into_iter().map(|r| r.join().unwrap()).collect()
    });
    assert!(quotes.iter().all(|q| q == &quotes[0]), "{quotes:?}");
    let paid: Vec<PayResponse> = std::thread::scope(|s| {
        let racers: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| {
                    a.client()
                        .pay_quote(&pay_request(&quotes[0].quote_id, None))
                        .unwrap()
                })
            })
            .collect();
        racers.into_iter().map(|r| r.join().unwrap()).collect()
    });
    assert!(
        paid.iter().all(|p| p.payment_id == paid[0].payment_id),
        "{paid:?}"
    );
    assert_paid(&paid[0], &quotes[0]);
    assert_eq!(received(&c, &raced.payment_hash), vec![PAYMENT_MSAT]);

    // An invoice without an amount is quoted and paid with the caller's amount.
    let open = invoice(&c, None, None);
    let quote = payer
        .quote_pay(&QuotePayRequest {
            amount_msats: Some(PAYMENT_MSAT),
            ..quote_request("k-open", &open.bolt11)
        })
        .unwrap();
    assert_eq!(quote.quoted_amount_msats, PAYMENT_MSAT);
    assert_paid(
        &payer
            .pay_quote(&pay_request(&quote.quote_id, None))
            .unwrap(),
        &quote,
    );
    assert_eq!(received(&c, &open.payment_hash), vec![PAYMENT_MSAT]);

    // A keysend through B needs no invoice.
    let sent = payer
        .keysend(
            "keysend-1",
            &KeysendRequest {
                node_id: c.node_id().into(),
                amount_msat: PAYMENT_MSAT,
                max_fee_msat: Some(MAX_FEE_MSAT),
            },
        )
        .unwrap();
    wait_for("the keysend to succeed", WAIT, || {
        let payment = payer.payment(&sent.id)?;
        assert_ne!(payment.status, PaymentStatus::Failed, "{payment:?}");
        Ok((payment.status == PaymentStatus::Succeeded).then_some(()))
    })
    .unwrap();
    wait_for("C to receive the keysend", WAIT, || {
        Ok((received(&c, &sent.payment_hash) == vec![PAYMENT_MSAT]).then_some(()))
    })
    .unwrap();

    // Four payments left A, each once; B forwarded them.
    let outbound = payer
        .list_payments(&ListPaymentsQuery {
            direction: Some(PaymentDirection::Outbound),
            ..ListPaymentsQuery::default()
        })
        .unwrap();
    assert_eq!(outbound.len(), 4, "{outbound:?}");
    assert!(outbound
        .iter()
        .all(|p| p.status == PaymentStatus::Succeeded));
}

/// Waits until the restarted payer `a` is connected to `b` again, its channel usable,
/// and its graph routable: a node killed before its hourly graph write restarts with a
/// stale graph and learns the rest from its peer's gossip.
fn back_online(a: &NodeProcess, b: &NodeProcess, chain: &ChainProcess) {
    reconnect(a, b);
    let address = a.client().new_address().unwrap().address;
    setup::wait_routable(a, &chain.rpc(), &address, 1).unwrap();
}

/// The outcome of the quote `quote_id` as A reports it once settled, or `None` if A has
/// no payment of it (the pay never got recorded).
fn settled_outcome(a: &NodeProcess, quote_id: &str) -> Option<PayResponse> {
    wait_for("the raced payment to settle", WAIT, || {
        match a.client().quote_payment(quote_id) {
            Ok(paid) if paid.status == "pending" => Ok(None),
            Ok(paid) => Ok(Some(Some(paid))),
            Err(Error::Api { status: 404, .. }) => Ok(Some(None)),
            Err(e) => Err(e),
        }
    })
    .unwrap()
}

/// A pay racing a SIGKILL of the payer resolves after restart, paid exactly once;
/// a payee gone offline fails the payment with a reason and a receipt; an expired
/// quote is refused.
#[test]
fn a_pay_racing_a_crash_settles_once_and_failures_carry_reasons() {
    let binary = binary();
    let Line {
        mut a,
        b,
        mut c,
        chain,
    } = three_node_line(&binary);

    for (round, delay_ms) in [0u64, 5, 30].into_iter().enumerate() {
        let bill = invoice(&c, Some(PAYMENT_MSAT), None);
        let quote = a
            .client()
            .quote_pay(&quote_request(&format!("race-{round}"), &bill.bolt11))
            .unwrap();
        let client = a.client();
        let quote_id = quote.quote_id.clone();
        let racing = std::thread::spawn(move || client.pay_quote(&pay_request(&quote_id, Some(0))));
        std::thread::sleep(Duration::from_millis(delay_ms));
        a.kill().unwrap();
        let _ = racing.join().unwrap();
        a.start().unwrap();
        back_online(&a, &b, &chain);

        let outcome = settled_outcome(&a, &quote.quote_id);
        eprintln!(
            "SIGKILL {delay_ms} ms into a pay: {}",
            outcome
                .as_ref()
                .map_or("never recorded", |o| o.status.as_str())
        );
        match outcome {
            Some(paid) if paid.status == "succeeded" => assert_paid(&paid, &quote),
            outcome => {
                // Nothing was paid: a failed attempt says why, and carries a receipt.
                if let Some(failed) = &outcome {
                    assert_eq!(failed.status, "failed", "{failed:?}");
                    assert!(failed.error_code.is_some(), "{failed:?}");
                    assert_receipt_seals(failed.receipt.as_ref().unwrap());
                }
                assert_eq!(received(&c, &bill.payment_hash), Vec::<u64>::new());
                // The invoice can be paid afresh, once.
                let retry = a
                    .client()
                    .quote_pay(&quote_request(&format!("race-{round}-retry"), &bill.bolt11))
                    .unwrap();
                let paid = a
                    .client()
                    .pay_quote(&pay_request(&retry.quote_id, None))
                    .unwrap();
                assert_paid(&paid, &retry);
            }
        }
        wait_for("C to have been paid once", WAIT, || {
            Ok((received(&c, &bill.payment_hash) == vec![PAYMENT_MSAT]).then_some(()))
        })
        .unwrap();
    }

    // The payee goes offline after the quote: the payment fails, with a reason and a
    // signed receipt of the failure.
    let bill = invoice(&c, Some(PAYMENT_MSAT), None);
    let quote = a
        .client()
        .quote_pay(&quote_request("offline", &bill.bolt11))
        .unwrap();
    c.stop().unwrap();
    let failed = a
        .client()
        .pay_quote(&pay_request(&quote.quote_id, None))
        .unwrap();
    assert_eq!(failed.status, "failed", "{failed:?}");
    let code = failed.error_code.clone().unwrap();
    assert!(
        ["route_not_found", "retries_exhausted"].contains(&code.as_str()),
        "{failed:?}"
    );
    assert!(failed.error_message.is_some());
    let receipt = failed.receipt.clone().unwrap();
    assert_eq!(receipt["status"], "failed");
    assert_eq!(receipt["error_code"], code.as_str());
    assert_eq!(receipt["preimage_sha256"], Value::Null);
    assert_receipt_seals(&receipt);

    // A quote not paid within its time to live is refused.
    a.stop().unwrap();
    a.options_mut()
        .extra_args
        .extend(["--quote-ttl-secs".into(), "1".into()]);
    a.start().unwrap();
    c.start().unwrap();
    reconnect(&c, &b);
    back_online(&a, &b, &chain);
    let bill = invoice(&c, Some(PAYMENT_MSAT), None);
    let quote = a
        .client()
        .quote_pay(&quote_request("stale", &bill.bolt11))
        .unwrap();
    assert!(
        quote.valid_until_ms <= quote.created_at_ms + 1_000,
        "{quote:?}"
    );
    wait_until_past("the quote to expire", quote.valid_until_ms);
    assert_eq!(
        refusal(a.client().pay_quote(&pay_request(&quote.quote_id, None))),
        (410, "quote_expired".into())
    );
    assert_eq!(received(&c, &bill.payment_hash), Vec::<u64>::new());

    // What the operator excludes, no route uses: the only channel to C, then B itself.
    let b_to_c = channel_with(&b, c.node_id())
        .and_then(|ch| ch.short_channel_id)
        .unwrap();
    for (round, exclusion) in [
        ["--exclude-channel".to_owned(), b_to_c.to_string()],
        ["--exclude-node".to_owned(), b.node_id().to_owned()],
    ]
    .into_iter()
    .enumerate()
    {
        a.stop().unwrap();
        a.options_mut().extra_args.extend(exclusion.clone());
        a.start().unwrap();
        back_online(&a, &b, &chain);
        let request = quote_request(&format!("excluded-{round}"), &bill.bolt11);
        assert_eq!(
            refusal(a.client().quote_pay(&request)),
            (422, "route_not_found".into()),
            "{exclusion:?}"
        );
        let extra = &mut a.options_mut().extra_args;
        extra.truncate(extra.len() - 2);
    }
}

/// A keysend without `max_fee_msat` gets the invoice default ceiling (1 % + 50 sat):
/// through a router charging 200 sat a forward, 10,000 sat cannot go (the ceiling is
/// 150 sat) and nothing is paid; with a ceiling above the fee it goes and pays exactly
/// the fee. Before the fix LDK got no ceiling and paid whatever the hop asked.
#[test]
fn a_keysend_never_pays_a_hop_more_than_its_fee_ceiling() {
    const GREEDY_BASE_MSAT: u64 = 200_000;
    let line = sluice_harness::Line::start_with(&binary(), CAPACITY_SAT, |chain, i| {
        let options = sluice_harness::NodeOptions::regtest(chain);
        if i == 1 {
            options.args(["--forwarding-fee-base-msat", &GREEDY_BASE_MSAT.to_string()])
        } else {
            options
        }
    })
    .unwrap();
    let payer = line.a.client();
    let keysend = |key: &str, max_fee_msat: Option<u64>| {
        let sent = payer
            .keysend(
                key,
                &KeysendRequest {
                    node_id: line.c.node_id().into(),
                    amount_msat: PAYMENT_MSAT,
                    max_fee_msat,
                },
            )
            .unwrap();
        wait_for(&format!("keysend {key} to settle"), WAIT, || {
            let payment = payer.payment(&sent.id)?;
            Ok((payment.status != PaymentStatus::Pending).then_some(payment))
        })
        .unwrap()
    };
    let capped = keysend("no-ceiling-given", None);
    assert_eq!(capped.status, PaymentStatus::Failed, "{capped:?}");
    assert_eq!(capped.fee_paid_msat, None);
    assert!(received(&line.c, &capped.payment_hash).is_empty());

    let allowed = keysend("ceiling-above-fee", Some(GREEDY_BASE_MSAT));
    assert_eq!(allowed.status, PaymentStatus::Succeeded, "{allowed:?}");
    assert_eq!(allowed.fee_paid_msat, Some(GREEDY_BASE_MSAT));
    assert_eq!(received(&line.c, &allowed.payment_hash), vec![PAYMENT_MSAT]);
}

/// sluice does not need LDK's memory of fulfilled payments (7 timer ticks) to pay once:
/// with a 1 s tick, once the payer's LDK has ticked well past it, an invoice paid
/// directly is still refused, a keysend retried with its key still answers the first
/// payment, and the payee has each payment once; also after the payer is killed and
/// restarted from a store whose channel manager no longer holds them.
#[test]
fn payments_stay_paid_once_after_ldk_forgets_them_and_across_a_crash() {
    let mut line = sluice_harness::Line::start_with(&binary(), CAPACITY_SAT, |chain, i| {
        let options = sluice_harness::NodeOptions::regtest(chain);
        if i == 0 {
            options.args(["--ldk-timer-tick-secs", "1"])
        } else {
            options
        }
    })
    .unwrap();
    let bill = invoice(&line.c, Some(PAYMENT_MSAT), None);
    let direct = sluice_api_types::PayInvoiceRequest {
        invoice: bill.bolt11.clone(),
        amount_msat: None,
        max_fee_msat: None,
    };
    let keysend = KeysendRequest {
        node_id: line.c.node_id().into(),
        amount_msat: PAYMENT_MSAT,
        max_fee_msat: None,
    };
    let settled = |payer: &NodeProcess, id: &str| {
        wait_for(&format!("payment {id} to settle"), WAIT, || {
            let payment = payer.client().payment(id)?;
            Ok((payment.status != PaymentStatus::Pending).then_some(payment))
        })
        .unwrap()
    };
    let paid = line.a.client().pay_invoice(&direct).unwrap();
    let paid = settled(&line.a, &paid.id);
    assert_eq!(paid.status, PaymentStatus::Succeeded, "{paid:?}");
    let sent = line.a.client().keysend("forgotten", &keysend).unwrap();
    let sent = settled(&line.a, &sent.id);
    assert_eq!(sent.status, PaymentStatus::Succeeded, "{sent:?}");

    // LDK forgets a fulfilled payment after 7 ticks without its HTLCs: wait for 10.
    let ticks = |payer: &NodeProcess| {
        payer
            .client()
            .metric("sluice_ldk_timer_ticks_total")
            .unwrap()
            .unwrap_or(0.0)
    };
    let forgotten = |payer: &NodeProcess| {
        let from = ticks(payer);
        wait_for("the payer's LDK to tick 10 times", WAIT, || {
            Ok((ticks(payer) >= from + 10.0).then_some(()))
        })
        .unwrap();
    };
    let still_paid_once = |payer: &NodeProcess, when: &str| {
        assert_eq!(
            refusal(payer.client().pay_invoice(&direct)),
            (409, "already_paid".into()),
            "{when}"
        );
        let again = payer.client().keysend("forgotten", &keysend).unwrap();
        assert_eq!(again.id, sent.id, "{when}");
        assert_eq!(again.status, PaymentStatus::Succeeded, "{when}");
        assert_eq!(
            received(&line.c, &paid.payment_hash),
            vec![PAYMENT_MSAT],
            "{when}"
        );
        assert_eq!(
            received(&line.c, &sent.payment_hash),
            vec![PAYMENT_MSAT],
            "{when}"
        );
    };
    forgotten(&line.a);
    still_paid_once(&line.a, "after LDK forgot them");

    line.a.kill().unwrap();
    line.a.start().unwrap();
    reconnect(&line.a, &line.b);
    forgotten(&line.a);
    still_paid_once(&line.a, "after a crash and restart");
    for id in [&paid.id, &sent.id] {
        let record = line.a.client().payment(id).unwrap();
        assert_eq!(record.status, PaymentStatus::Succeeded, "{record:?}");
    }
}
