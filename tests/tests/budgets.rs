//! Per-token spend budgets over a real pair of nodes: a token pays within its budget and
//! no further, racing payments cannot overshoot it, a failed payment gives its
//! reservation back, a restart keeps what was spent, expired budgets and payees outside
//! the allowed list are refused, and every payment names the token that started it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use sluice_api_types::{paths, BudgetResponse, KeysendRequest, ListBudgetsResponse, PaymentStatus};
use sluice_harness::setup::PairSpec;
use sluice_harness::{wait_for, ApiClient, Error, NodeOptions, NodeProcess};

/// A token with 5,000 sat a day, at most 2,000 sat a payment.
const AGENT: &str = "agent-token";
/// A token with three payments' worth, for racing.
const RACER: &str = "racer-token";
/// A token allowed to pay only some other node.
const FENCED: &str = "fenced-token";
/// A token whose budget expired.
const EXPIRED: &str = "expired-token";
/// What each keysend sends, and its fee ceiling: it may cost 1,010,000 msat.
const AMOUNT_MSAT: u64 = 1_000_000;
const MAX_FEE_MSAT: u64 = 10_000;
/// Another node than B.
const OTHER_NODE: &str = "02c6047f9441ed7d6d3045406e95c07cd85c778e4b8cef3ca7abac09b95c709ee5";

fn keysend_to(node_id: &str) -> KeysendRequest {
    KeysendRequest {
        node_id: node_id.into(),
        amount_msat: AMOUNT_MSAT,
        max_fee_msat: Some(MAX_FEE_MSAT),
    }
}

fn refusal<T: std::fmt::Debug>(result: Result<T, Error>) -> (u16, String) {
    match result {
        Err(Error::Api { status, code, .. }) => (status, code),
        other => panic!("expected an API error, got {other:?}"),
    }
}

fn budget(client: &ApiClient) -> BudgetResponse {
    client
        .call("GET", paths::BUDGET, None::<&()>)
        .expect("the budget")
}

fn wait_succeeded(client: &ApiClient, id: &str) {
    wait_for(&format!("payment {id} to succeed"), WAIT, || {
        let payment = client.payment(id)?;
        assert_ne!(payment.status, PaymentStatus::Failed, "{payment:?}");
        Ok((payment.status == PaymentStatus::Succeeded).then_some(()))
    })
    .unwrap();
}

fn options(chain: &sluice_harness::ChainProcess) -> NodeOptions {
    NodeOptions::regtest(chain)
        .token_with_budget(
            AGENT,
            "pay+read",
            r#"{ max_per_payment_msat = 2000000, max_per_period_msat = 5000000, renewal = "daily" }"#,
        )
        .token_with_budget(RACER, "pay+read", "{ max_per_period_msat = 3030000 }")
        .token_with_budget(
            FENCED,
            "pay+read",
            &format!(r#"{{ allowed_destinations = ["{OTHER_NODE}"] }}"#),
        )
        .token_with_budget(
            EXPIRED,
            "pay+read",
            r#"{ expires_at = "2020-01-01T00:00:00Z" }"#,
        )
}

#[test]
fn tokens_pay_within_their_budgets_and_no_further() {
    let spec = PairSpec::new(CAPACITY_SAT);
    let mut pair = Pair::start(&binary(), spec, |chain, i| {
        if i == 0 {
            options(chain)
        } else {
            NodeOptions::regtest(chain)
        }
    })
    .unwrap();
    let b_id = pair.b.node_id().to_owned();
    let agent = pair.a.client().with_token(Some(AGENT));

    // Four payments of at most 1,010,000 msat each fit in 5,000,000.
    let mut paid = Vec::new();
    for i in 0..4 {
        let payment = agent
            .keysend(&format!("agent-{i}"), &keysend_to(&b_id))
            .unwrap();
        assert_eq!(
            payment.token_sha256.as_deref(),
            Some(sluice_harness_token_digest(AGENT).as_str()),
            "the record names its token"
        );
        paid.push(payment.id);
    }
    for id in &paid {
        wait_succeeded(&agent, id);
    }
    // Settled at what they cost (a direct channel charges no fee): 4,000,000 used, and
    // the fifth, which may cost 1,010,000, does not fit in the 1,000,000 left.
    let used = budget(&agent);
    assert_eq!(
        (used.used_msat, used.remaining_msat, used.total_msat),
        (4_000_000, Some(1_000_000), Some(5_000_000))
    );
    assert_eq!(used.renewal, "daily");
    assert!(used
        .renews_at_ms
        .is_some_and(|at| at > used.period_start_ms));
    assert_eq!(
        refusal(agent.keysend("agent-5", &keysend_to(&b_id))),
        (403, "budget_exceeded".into())
    );
    // One payment over the per-payment limit is refused whatever is left.
    let big = KeysendRequest {
        amount_msat: 2_000_000,
        ..keysend_to(&b_id)
    };
    assert_eq!(
        refusal(agent.keysend("agent-big", &big)),
        (403, "budget_exceeded".into())
    );

    // Racing payments cannot overshoot: three of eight fit.
    let racer = pair.a.client().with_token(Some(RACER));
    let outcomes: Vec<Result<String, (u16, String)>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let (racer, b_id) = (&racer, &b_id);
                s.spawn(
                    move || match racer.keysend(&format!("race-{i}"), &keysend_to(b_id)) {
                        Ok(payment) => Ok(payment.id),
                        Err(e) => Err(refusal::<()>(Err(e))),
                    },
                )
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let passed: Vec<&String> = outcomes.iter().filter_map(|o| o.as_ref().ok()).collect();
    assert_eq!(passed.len(), 3, "{outcomes:?}");
    for outcome in &outcomes {
        if let Err(refused) = outcome {
            assert_eq!(refused, &(403, "budget_exceeded".into()));
        }
    }
    for id in passed {
        wait_succeeded(&racer, id);
    }

    // A payment that fails (no route to that node) gives its reservation back.
    let small = KeysendRequest {
        amount_msat: 900_000,
        max_fee_msat: Some(MAX_FEE_MSAT),
        node_id: OTHER_NODE.into(),
    };
    let failed = agent.keysend("agent-unreachable", &small).unwrap();
    wait_for("the unreachable payment to fail", WAIT, || {
        let payment = agent.payment(&failed.id)?;
        Ok((payment.status == PaymentStatus::Failed).then_some(()))
    })
    .unwrap();
    assert_eq!(
        budget(&agent).used_msat,
        4_000_000,
        "the reservation came back"
    );

    // Payees outside the allowed list, and expired budgets, are refused.
    let fenced = pair.a.client().with_token(Some(FENCED));
    assert_eq!(
        refusal(fenced.keysend("fenced-1", &keysend_to(&b_id))),
        (403, "destination_not_allowed".into())
    );
    // A quote its budget would refuse is refused at once.
    let invoice = pair
        .b
        .client()
        .create_invoice(&sluice_api_types::CreateInvoiceRequest {
            amount_msat: Some(AMOUNT_MSAT),
            description: "fenced".into(),
            expiry_secs: None,
        })
        .unwrap();
    let quote = fenced.quote_pay(&sluice_api_types::QuotePayRequest {
        schema: sluice_api_types::QUOTE_PAY_REQUEST_SCHEMA.into(),
        idempotency_key: "fenced-quote".into(),
        invoice: invoice.bolt11,
        host: "example.com".into(),
        max_amount_msats: AMOUNT_MSAT + MAX_FEE_MSAT,
        max_fee_msats: MAX_FEE_MSAT,
        urgency: None,
        policy_context: serde_json::json!({}),
        amount_msats: None,
    });
    assert_eq!(refusal(quote), (403, "destination_not_allowed".into()));
    let expired = pair.a.client().with_token(Some(EXPIRED));
    assert_eq!(
        refusal(expired.keysend("expired-1", &keysend_to(&b_id))),
        (403, "budget_expired".into())
    );
    // The admin sees every budget; a token without one has none to show.
    let all: ListBudgetsResponse = pair
        .a
        .client()
        .call("GET", paths::BUDGETS, None::<&()>)
        .unwrap();
    assert_eq!(all.budgets.len(), 4);
    let none = pair
        .a
        .client()
        .call::<BudgetResponse>("GET", paths::BUDGET, None::<&()>);
    assert_eq!(refusal(none), (404, "not_found".into()));

    // A restart keeps what was spent.
    restart(&mut pair.a);
    let agent = pair.a.client().with_token(Some(AGENT));
    assert_eq!(budget(&agent).used_msat, 4_000_000);
    assert_eq!(
        refusal(agent.keysend("agent-after-restart", &keysend_to(&b_id))),
        (403, "budget_exceeded".into())
    );
}

fn restart(node: &mut NodeProcess) {
    node.stop().unwrap();
    node.start().unwrap();
}

/// What the node stores for `token`: its SHA-256, hex.
fn sluice_harness_token_digest(token: &str) -> String {
    use bitcoin::hashes::{sha256, Hash};
    use bitcoin::hex::DisplayHex;
    sha256::Hash::hash(token.as_bytes())
        .to_byte_array()
        .to_lower_hex_string()
}
