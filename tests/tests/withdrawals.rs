//! LP withdrawals over real nodes (spec §5.2, §6.3): B runs the pool, three LPs deposit
//! by invoice from A and withdraw — one by Lightning to an invoice of A, two on-chain to
//! addresses of A's wallet, paid in one batch transaction checked on the chain. Shares
//! are locked at the request and burned when paid at the lower of their value then and
//! now (a loss booked in between is shared); the NAV of those who stay moves by nothing
//! but booked fees; the throttle halts and stresses as its rules say, with reasons; bad
//! requests get stable codes and lock nothing; and SIGKILLs during payout ticks neither
//! pay twice nor lose a payout.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::str::FromStr;
use std::time::Duration;

use common::*;
use lightning::bolt11_invoice::{Currency, InvoiceBuilder, PaymentSecret};
use serde_json::json;
use sluice_actors::receipts::verify;
use sluice_api_types::{
    CreateInvoiceRequest, CreatePoolRequest, OpenChannelRequest, PaymentStatus, PoolStatusResponse,
    WithdrawRequest, WithdrawResponse,
};
use sluice_harness::setup::PairSpec;
use sluice_harness::{wait_for, ApiClient, ChainRpc, Error, NodeOptions, NodeProcess, Pair};

const POOL: &str = "main";
/// B's tokens, one per LP.
const ALICE: &str = "alice-token";
const BOB: &str = "bob-token";
const CAROL: &str = "carol-token";
const UNITS_PER_SHARE: u128 = 1_000_000_000;
/// The virtual holder of every partition (sluice_pool::shares).
const VIRTUAL_UNITS: u128 = 1_000_000;
const VIRTUAL_MSAT: u128 = 1;

/// B's pool settings: fast ticks, a two-minute Δ, small minimums, Lightning withdrawals up
/// to 120,000 sat, approval above 150,000 sat, a channel going down stresses rather than
/// halts, RBF after two blocks.
const POOL_CONFIG: &str = "\
[pool]
snapshot_every_secs = 3600

[pool.withdrawals]
max_delay_secs = 120
tick_every_secs = 1
tick_cap_sats = 5000000
min_sats = 1000
max_lightning_sats = 120000
approval_above_sats = 150000
onchain_reserve_sats = 10000
halted_below_usable_bps = 0
rbf_after_blocks = 2
";

fn start_pair(config: &std::path::Path) -> Pair {
    Pair::start(&binary(), PairSpec::new(CAPACITY_SAT), |chain, i| {
        let options = NodeOptions::regtest(chain);
        if i == 1 {
            options
                .token(ALICE, "lp")
                .token(BOB, "lp")
                .token(CAROL, "lp")
                .args(["--config", config.to_str().unwrap()])
        } else {
            options
        }
    })
    .unwrap()
}

fn refusal<T: std::fmt::Debug>(result: Result<T, Error>) -> (u16, String) {
    match result {
        Err(Error::Api { status, code, .. }) => (status, code),
        other => panic!("expected an API error, got {other:?}"),
    }
}

fn as_lp(node: &NodeProcess, token: &str) -> ApiClient {
    node.client().with_token(Some(token))
}

fn llp(status: &PoolStatusResponse) -> &sluice_api_types::PartitionStatus {
    status
        .partitions
        .iter()
        .find(|p| p.partition_kind == "llp")
        .unwrap()
}

fn units_of(status: &PoolStatusResponse) -> u128 {
    llp(status).total_units.parse().unwrap()
}

/// The LP's units in LLP (0 when it holds none).
fn held(node: &NodeProcess, token: &str, lp_id: &str) -> u128 {
    match as_lp(node, token).pool_position(POOL, lp_id) {
        Ok(position) => position
            .partitions
            .iter()
            .find(|p| p.partition_kind == "llp")
            .map_or(0, |p| p.units.parse().unwrap()),
        Err(e) => panic!("{lp_id}'s position: {e:?}"),
    }
}

/// An LP deposits `sats` into LLP by an invoice of B paid from A.
fn deposit(a: &NodeProcess, b: &NodeProcess, token: &str, lp_id: &str, sats: u64) {
    deposit_by_invoice(a, b, POOL, token, lp_id, None, sats);
}

/// A withdrawal request of `units` of LLP.
fn ask(lp_id: &str, key: &str, units: u128, rail: &str, destination: &str) -> WithdrawRequest {
    let lightning = rail == "lightning";
    WithdrawRequest {
        schema: "openagents.liquidity.pool.withdraw_request.v1".into(),
        lp_id: lp_id.into(),
        idempotency_key: key.into(),
        partition_kind: None,
        shares_burned: None,
        units: Some(units.to_string()),
        rail_preference: rail.into(),
        payout_invoice_bolt11: lightning.then(|| destination.to_owned()),
        payout_address: (!lightning).then(|| destination.to_owned()),
        emergency: None,
    }
}

/// An any-amount invoice of A, payable for an hour (or `expiry_secs`).
fn payout_invoice(a: &NodeProcess, expiry_secs: u32) -> String {
    a.client()
        .create_invoice(&CreateInvoiceRequest {
            amount_msat: None,
            description: "withdrawal".into(),
            expiry_secs: Some(expiry_secs),
        })
        .unwrap()
        .bolt11
}

/// A valid invoice for `currency` without an amount, signed by a throwaway key: a node
/// nobody has a channel to.
fn stranger_invoice(currency: Currency) -> String {
    use bitcoin::hashes::{sha256, Hash};
    use bitcoin::secp256k1::{Secp256k1, SecretKey};
    let key = SecretKey::from_slice(&[7u8; 32]).unwrap();
    InvoiceBuilder::new(currency)
        .description("elsewhere".into())
        .payment_hash(sha256::Hash::hash(b"elsewhere"))
        .payment_secret(PaymentSecret([9u8; 32]))
        .current_timestamp()
        .min_final_cltv_expiry_delta(144)
        .build_signed(|hash| Secp256k1::new().sign_ecdsa_recoverable(hash, &key))
        .unwrap()
        .to_string()
}

/// The withdrawal once `done` holds for it.
fn wait_withdrawal(
    client: &ApiClient,
    id: &str,
    what: &str,
    done: impl Fn(&WithdrawResponse) -> bool,
) -> WithdrawResponse {
    wait_for(&format!("withdrawal {id}: {what}"), WAIT, || {
        let w = client.withdrawal(POOL, id)?;
        Ok(done(&w).then_some(w))
    })
    .unwrap()
}

/// The throttle's mode and reasons as a withdrawal answer shows them.
fn throttle(w: &WithdrawResponse) -> (String, Vec<String>) {
    let t = w
        .withdraw_throttle
        .as_ref()
        .expect("a throttle once ticks ran");
    (t.mode.clone(), t.reasons.clone())
}

/// The outputs of transaction `txid` on the chain: address → sats.
fn outputs_on_chain(rpc: &ChainRpc, txid: &str) -> BTreeMap<String, u64> {
    let tx = rpc.call("getrawtransaction", json!([txid, true])).unwrap();
    tx["vout"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|o| {
            let address = o["scriptPubKey"]["address"].as_str()?.to_owned();
            let sats = (o["value"].as_f64()? * 1e8).round() as u64;
            Some((address, sats))
        })
        .collect()
}

/// The mempool's transaction ids.
fn mempool(rpc: &ChainRpc) -> Vec<String> {
    rpc.call("getrawmempool", json!([]))
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_owned())
        .collect()
}

/// `(msat + VIRTUAL_MSAT) / (units + VIRTUAL_UNITS)` of a status.
fn price(status: &PoolStatusResponse) -> (u128, u128) {
    let p = &llp(status).share_price;
    (p.msat.parse().unwrap(), p.units.parse().unwrap())
}

#[test]
fn three_lps_withdraw_one_by_lightning_two_in_one_batch_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("pool.toml");
    std::fs::write(&config, POOL_CONFIG).unwrap();
    let pair = start_pair(&config);
    let (a, mut b) = (pair.a, pair.b);
    let rpc = pair.chain.rpc();
    let admin = b.client();
    admin
        .create_pool(&CreatePoolRequest {
            pool_id: POOL.into(),
            name: None,
            partitions: None,
        })
        .unwrap();
    deposit(&a, &b, ALICE, "alice", 200_000);
    deposit(&a, &b, BOB, "bob", 200_000);
    deposit(&a, &b, CAROL, "carol", 200_000);
    let (alice, bob, carol) = (as_lp(&b, ALICE), as_lp(&b, BOB), as_lp(&b, CAROL));
    let alice_units = held(&b, ALICE, "alice");
    let bob_units = held(&b, BOB, "bob");
    let carol_units = held(&b, CAROL, "carol");

    // Payouts halted by the operator: requests queue, nothing is paid.
    admin.halt_withdrawals(POOL, true).unwrap();
    let start = admin.pool_status(POOL).unwrap();
    let invoice = payout_invoice(&a, 3600);
    let bob_address = a.client().new_address().unwrap().address;
    let carol_address = a.client().new_address().unwrap().address;
    let w_alice = alice
        .withdraw_request(
            POOL,
            &ask("alice", "a-1", alice_units / 2, "lightning", &invoice),
        )
        .unwrap();
    let w_bob = bob
        .withdraw_request(POOL, &ask("bob", "b-1", bob_units, "onchain", &bob_address))
        .unwrap();
    let w_carol = carol
        .withdraw_request(
            POOL,
            &ask("carol", "c-1", carol_units / 4, "onchain", &carol_address),
        )
        .unwrap();
    // Bob's is above the approval threshold: it waits for an operator.
    assert_eq!(w_bob.withdrawal.status, "requested");
    assert!(w_bob.withdrawal.needs_approval);
    for w in [&w_alice, &w_carol] {
        assert_eq!(w.withdrawal.status, "queued", "{w:?}");
        assert!(!w.withdrawal.needs_approval);
    }
    for w in [&w_alice, &w_bob, &w_carol] {
        assert!(w.withdrawal.fills.is_empty());
        verify(&w.receipt, None).expect("the request receipt verifies");
        assert_eq!(
            w.receipt["schema"],
            "openagents.liquidity.withdraw_request_receipt.v1"
        );
        assert_eq!(
            w.receipt["withdrawal_id"],
            w.withdrawal.withdrawal_id.as_str()
        );
    }
    // The same key and body answer the same withdrawal; another body is a conflict.
    let again = bob
        .withdraw_request(POOL, &ask("bob", "b-1", bob_units, "onchain", &bob_address))
        .unwrap();
    assert_eq!(
        again.withdrawal.withdrawal_id,
        w_bob.withdrawal.withdrawal_id
    );
    assert_eq!(
        refusal(bob.withdraw_request(
            POOL,
            &ask("bob", "b-1", bob_units - 1, "onchain", &bob_address)
        )),
        (409, "idempotency_conflict".into())
    );
    // Locking changes no balance: the NAV and supply are as they were.
    let locked = admin.pool_status(POOL).unwrap();
    assert_eq!(llp(&locked).nav_msats, llp(&start).nav_msats);
    assert_eq!(units_of(&locked), units_of(&start));
    let seen = wait_withdrawal(
        &bob,
        &w_bob.withdrawal.withdrawal_id,
        "a halted tick",
        |w| {
            w.withdraw_throttle
                .as_ref()
                .is_some_and(|t| t.mode == "halted")
        },
    );
    assert_eq!(
        throttle(&seen),
        ("halted".to_owned(), vec!["operator_halt".to_owned()])
    );

    // Bad requests: stable codes, nothing locked (checked below: Carol's free shares are
    // all still hers to withdraw).
    // Payable for 1 s: it would expire before the two payout ticks an invoice must outlive.
    let expired = payout_invoice(&a, 1);
    let with_amount = a
        .client()
        .create_invoice(&CreateInvoiceRequest {
            amount_msat: Some(5_000_000),
            description: "fixed".into(),
            expiry_secs: Some(3600),
        })
        .unwrap()
        .bolt11;
    let own_invoice = admin
        .create_invoice(&CreateInvoiceRequest {
            amount_msat: None,
            description: "b's own".into(),
            expiry_secs: Some(3600),
        })
        .unwrap()
        .bolt11;
    let mainnet_address = {
        let secp = bitcoin::secp256k1::Secp256k1::new();
        let key = bitcoin::secp256k1::SecretKey::from_slice(&[3u8; 32]).unwrap();
        let public = bitcoin::CompressedPublicKey(key.public_key(&secp));
        bitcoin::Address::p2wpkh(&public, bitcoin::Network::Bitcoin).to_string()
    };
    let free = carol_units - carol_units / 4;
    let bad: Vec<(Result<WithdrawResponse, Error>, u16, &str)> = vec![
        (
            carol.withdraw_request(
                POOL,
                &ask("carol", "x1", free + 1, "onchain", &carol_address),
            ),
            422,
            "insufficient_shares",
        ),
        (
            bob.withdraw_request(
                POOL,
                &ask(
                    "bob",
                    "x2",
                    1_000 * UNITS_PER_SHARE,
                    "onchain",
                    &bob_address,
                ),
            ),
            422,
            "insufficient_shares",
        ),
        (
            carol.withdraw_request("nope", &ask("carol", "x3", free, "onchain", &carol_address)),
            404,
            "not_found",
        ),
        (
            carol.withdraw_request(
                POOL,
                &ask("carol", "x4", free / 2, "lightning", &with_amount),
            ),
            400,
            "invalid_request",
        ),
        (
            carol.withdraw_request(POOL, &ask("carol", "x5", free / 2, "lightning", &expired)),
            422,
            "invoice_expired",
        ),
        (
            carol.withdraw_request(
                POOL,
                &ask(
                    "carol",
                    "x6",
                    free / 2,
                    "lightning",
                    &stranger_invoice(Currency::Bitcoin),
                ),
            ),
            422,
            "wrong_network",
        ),
        (
            carol.withdraw_request(
                POOL,
                &ask("carol", "x7", free / 2, "lightning", &own_invoice),
            ),
            400,
            "invalid_request",
        ),
        (
            carol.withdraw_request(
                POOL,
                &ask("carol", "x8", free / 2, "lightning", "lnbcrt1garbage"),
            ),
            400,
            "invalid_request",
        ),
        (
            carol.withdraw_request(POOL, &ask("carol", "x9", free, "onchain", "not-an-address")),
            400,
            "invalid_request",
        ),
        (
            carol.withdraw_request(
                POOL,
                &ask("carol", "x10", free, "onchain", &mainnet_address),
            ),
            422,
            "wrong_network",
        ),
        (
            // Worth less than the smallest withdrawal.
            carol.withdraw_request(POOL, &ask("carol", "x11", 1, "onchain", &carol_address)),
            400,
            "invalid_request",
        ),
        (
            // Above the largest Lightning withdrawal (120,000 sat).
            carol.withdraw_request(POOL, &ask("carol", "x13", free, "lightning", &invoice)),
            422,
            "amount_exceeds_max",
        ),
        (
            bob.withdraw_request(POOL, &ask("carol", "x12", free, "onchain", &carol_address)),
            403,
            "not_owner",
        ),
        (
            bob.cancel_withdrawal(POOL, &w_carol.withdrawal.withdrawal_id),
            403,
            "not_owner",
        ),
        (
            bob.withdrawal(POOL, &w_carol.withdrawal.withdrawal_id),
            403,
            "not_owner",
        ),
        (
            carol.approve_withdrawal(POOL, &w_carol.withdrawal.withdrawal_id),
            403,
            "forbidden",
        ),
        (
            admin.approve_withdrawal(POOL, &w_carol.withdrawal.withdrawal_id),
            409,
            "withdrawal_state",
        ),
    ];
    for (i, (result, status, code)) in bad.into_iter().enumerate() {
        assert_eq!(
            refusal(result),
            (status, code.to_owned()),
            "bad request {i}"
        );
    }
    // A cancel frees the shares: Carol locks the rest, cancels, and locks it again.
    let extra = carol
        .withdraw_request(POOL, &ask("carol", "c-2", free, "onchain", &carol_address))
        .unwrap();
    let canceled = carol
        .cancel_withdrawal(POOL, &extra.withdrawal.withdrawal_id)
        .unwrap();
    assert_eq!(canceled.withdrawal.status, "canceled");
    verify(canceled.settlement_receipt.as_ref().unwrap(), None).unwrap();
    let relock = carol
        .withdraw_request(POOL, &ask("carol", "c-3", free, "onchain", &carol_address))
        .unwrap();
    carol
        .cancel_withdrawal(POOL, &relock.withdrawal.withdrawal_id)
        .unwrap();

    // A loss while they wait: B opens a channel to A from its wallet; once it confirms
    // its fee is the LLP's cost, and the price falls.
    let before_loss = admin.pool_status(POOL).unwrap();
    admin
        .open_channel(&OpenChannelRequest {
            node_id: a.node_id().into(),
            address: None,
            capacity_sat: 100_000,
            push_msat: 0,
            announce: false,
            zero_conf: false,
        })
        .unwrap();
    // In the mempool, then six blocks; the pool's sweep books the fee within seconds.
    wait_for("the channel's funding transaction", WAIT, || {
        Ok((!mempool(&rpc).is_empty()).then_some(()))
    })
    .unwrap();
    rpc.generate_to_address(6, NOBODYS_ADDRESS).unwrap();
    wait_synced(&a, &rpc);
    wait_synced(&b, &rpc);
    wait_for("the channel fee to be booked", WAIT, || {
        let status = admin.pool_status(POOL)?;
        Ok((llp(&status).flows.onchain_fees_msats > 0).then_some(()))
    })
    .unwrap();
    let after_loss = admin.pool_status(POOL).unwrap();
    let loss = llp(&after_loss).flows.onchain_fees_msats;
    assert_eq!(
        llp(&after_loss).nav_msats,
        llp(&before_loss).nav_msats - loss
    );
    // Alice is owed the lower value now, not what her shares were worth at the request.
    let owed_alice = alice
        .withdrawal(POOL, &w_alice.withdrawal.withdrawal_id)
        .unwrap()
        .withdrawal
        .amount_sats_estimate;
    let at_request = w_alice.withdrawal.value_at_request_msats;
    let (p_msat, p_units) = price(&after_loss);
    let value_now = ((alice_units / 2) * p_msat / p_units) as u64;
    assert!(value_now < at_request, "{value_now} vs {at_request}");
    assert_eq!(owed_alice, value_now / 1000);

    // The operator approves Bob's; resumed, the next tick pays all three.
    let approved = admin
        .approve_withdrawal(POOL, &w_bob.withdrawal.withdrawal_id)
        .unwrap();
    assert_eq!(approved.withdrawal.status, "approved");
    let before_pay = admin.pool_status(POOL).unwrap();
    admin.halt_withdrawals(POOL, false).unwrap();
    let paid_alice = wait_withdrawal(&alice, &w_alice.withdrawal.withdrawal_id, "paid", |w| {
        w.withdrawal.status == "paid"
    });
    assert_eq!(
        paid_alice.withdrawal.paid_msats, value_now,
        "the lower value, exactly"
    );
    let fill = &paid_alice.withdrawal.fills[0];
    let payment_id = fill.payment_id.clone().unwrap();
    // A received exactly that on its invoice, once.
    let received = wait_for("A to see the payout", WAIT, || {
        let list = a.client().payments_of_hash(&invoice_hash_of(&invoice))?;
        let got: Vec<_> = list
            .into_iter()
            .filter(|p| p.status == PaymentStatus::Succeeded)
            .collect();
        Ok((!got.is_empty()).then_some(got))
    })
    .unwrap();
    assert_eq!(received.len(), 1, "{received:?}");
    assert_eq!(received[0].amount_msat, Some(value_now));
    // The two on-chain ones: one batch, one transaction, an output each.
    let batch_of = |id: &str, client: &ApiClient| {
        wait_withdrawal(client, id, "in a batch", |w| {
            w.withdrawal
                .fills
                .first()
                .is_some_and(|f| f.batch_id.is_some())
        })
    };
    let sent_bob = batch_of(&w_bob.withdrawal.withdrawal_id, &bob);
    let sent_carol = batch_of(&w_carol.withdrawal.withdrawal_id, &carol);
    assert_eq!(
        sent_bob.withdrawal.fills[0].batch_id,
        sent_carol.withdrawal.fills[0].batch_id
    );
    // It sits in the mempool; two blocks without it, and B replaces it with one paying a
    // higher fee (RBF): the same outputs, the first never confirms.
    let first_tx = wait_for("the batch in the mempool", WAIT, || {
        let pool = mempool(&rpc);
        Ok((pool.len() == 1).then(|| pool[0].clone()))
    })
    .unwrap();
    let first_outputs = outputs_on_chain(&rpc, &first_tx);
    for _ in 0..2 {
        rpc.call("generateblock", json!([NOBODYS_ADDRESS, []]))
            .unwrap();
    }
    wait_synced(&b, &rpc);
    let replacement = wait_for("the batch's replacement", WAIT, || {
        let pool = mempool(&rpc);
        Ok((pool.len() == 1 && pool[0] != first_tx).then(|| pool[0].clone()))
    })
    .unwrap_or_else(|e| panic!("{e:?}: {}", b.stderr()));
    let replaced_outputs = outputs_on_chain(&rpc, &replacement);
    for address in [&bob_address, &carol_address] {
        assert_eq!(replaced_outputs.get(address), first_outputs.get(address));
    }
    mine_until(&rpc, &[&a, &b], "the batch to confirm", 6, 1, || {
        let w = bob
            .withdrawal(POOL, &w_bob.withdrawal.withdrawal_id)
            .map_err(|e| format!("{e:?}"))?;
        (w.withdrawal.status == "paid")
            .then_some(())
            .ok_or(w.withdrawal.status)
    });
    let paid_bob = bob
        .withdrawal(POOL, &w_bob.withdrawal.withdrawal_id)
        .unwrap();
    let paid_carol = wait_withdrawal(&carol, &w_carol.withdrawal.withdrawal_id, "paid", |w| {
        w.withdrawal.status == "paid"
    });
    let txid = paid_bob.withdrawal.fills[0].txid.clone().unwrap();
    assert_eq!(txid, replacement, "the replacement confirmed");
    assert!(
        rpc.call("getrawtransaction", json!([first_tx, true]))
            .is_err(),
        "the replaced transaction is not on the chain"
    );
    assert_eq!(
        paid_carol.withdrawal.fills[0].txid.as_deref(),
        Some(txid.as_str())
    );
    let outputs = outputs_on_chain(&rpc, &txid);
    assert_eq!(
        outputs.get(&bob_address),
        Some(&(paid_bob.withdrawal.paid_msats / 1000))
    );
    assert_eq!(
        outputs.get(&carol_address),
        Some(&(paid_carol.withdrawal.paid_msats / 1000))
    );
    for w in [&paid_alice, &paid_bob, &paid_carol] {
        let receipt = w.settlement_receipt.as_ref().unwrap();
        verify(receipt, None).expect("the settlement receipt verifies");
        assert_eq!(
            receipt["schema"],
            "openagents.liquidity.withdraw_settlement_receipt.v1"
        );
        assert_eq!(receipt["status"], "paid");
        assert_eq!(
            receipt["paid_msats"].as_u64(),
            Some(w.withdrawal.paid_msats)
        );
    }
    assert_eq!(
        paid_alice.settlement_receipt.as_ref().unwrap()["fills"][0]["payment_id"],
        payment_id.as_str()
    );
    assert_eq!(
        paid_bob.settlement_receipt.as_ref().unwrap()["fills"][0]["txid"],
        txid.as_str()
    );
    // The operator's approval is in Bob's receipt; Alice's needed none.
    let bob_receipt = paid_bob.settlement_receipt.as_ref().unwrap();
    assert!(bob_receipt["approved_by"].is_string(), "{bob_receipt}");
    assert!(bob_receipt["approved_at_ms"].is_u64());
    assert!(paid_alice.settlement_receipt.as_ref().unwrap()["approved_by"].is_null());

    // Shares burned; those who stay hold what they held.
    assert_eq!(held(&b, BOB, "bob"), 0);
    assert_eq!(held(&b, ALICE, "alice"), alice_units - alice_units / 2);
    assert_eq!(held(&b, CAROL, "carol"), carol_units - carol_units / 4);
    // The stayers' NAV moved by nothing but what was paid out and the fees booked since
    // (the batch's on-chain fee, Alice's routing fee): exactly.
    let after = wait_for("the batch fee to be booked", WAIT, || {
        let status = admin.pool_status(POOL)?;
        Ok((llp(&status).flows.onchain_fees_msats > loss).then_some(status))
    })
    .unwrap();
    let (p0, p1) = (llp(&before_pay), llp(&after));
    let paid = paid_alice.withdrawal.paid_msats
        + paid_bob.withdrawal.paid_msats
        + paid_carol.withdrawal.paid_msats;
    let fees = (p1.flows.onchain_fees_msats - p0.flows.onchain_fees_msats)
        + (p1.flows.payout_fees_msats - p0.flows.payout_fees_msats);
    assert_eq!(p1.nav_msats + paid + fees, p0.nav_msats);
    assert_eq!(p1.flows.withdrawals_msats, paid);
    assert_eq!(p1.pending_withdrawals_msats, 0);
    // And the price, fees aside, did not fall: every burn was at or below it.
    let (m0, u0) = price(&before_pay);
    let (m1, u1) = (
        u128::from(p1.nav_msats + fees) + VIRTUAL_MSAT,
        units_of(&after) + VIRTUAL_UNITS,
    );
    assert!(m1 * u0 >= m0 * u1, "{m1}/{u1} below {m0}/{u0}");

    // Stressed: A goes away, B's channels are unusable; normal again when A is back.
    let mut a = a;
    a.kill().unwrap();
    let id = &w_alice.withdrawal.withdrawal_id;
    let stressed = wait_withdrawal(&alice, id, "stressed", |w| {
        w.withdraw_throttle
            .as_ref()
            .is_some_and(|t| t.mode == "stressed")
    });
    assert_eq!(throttle(&stressed).1, vec!["channels_degraded".to_owned()]);
    a.start().unwrap();
    reconnect(&a, &b);
    let normal = wait_withdrawal(&alice, id, "normal again", |w| {
        w.withdraw_throttle
            .as_ref()
            .is_some_and(|t| t.mode == "normal")
    });
    assert!(throttle(&normal).1.is_empty());

    // A Lightning payout that cannot be made (nobody has a route to the payee) is
    // reversed: the value goes back to LLP, Carol gets her units back (less at most a
    // msat's worth of rounding), the withdrawal ends failed with its receipt.
    let held_before = held(&b, CAROL, "carol");
    let nav_before = llp(&admin.pool_status(POOL).unwrap()).nav_msats;
    let nowhere = carol
        .withdraw_request(
            POOL,
            &ask(
                "carol",
                "c-4",
                10_000 * UNITS_PER_SHARE,
                "lightning",
                &stranger_invoice(Currency::Regtest),
            ),
        )
        .unwrap();
    let failed = wait_withdrawal(&carol, &nowhere.withdrawal.withdrawal_id, "failed", |w| {
        w.withdrawal.status == "failed"
    });
    let fill = &failed.withdrawal.fills[0];
    assert_eq!(fill.state, "reversed");
    assert_eq!(fill.failure.as_deref(), Some("route_not_found"));
    let burned: u128 = fill.units.parse().unwrap();
    let returned: u128 = fill.units_returned.as_deref().unwrap().parse().unwrap();
    assert!(
        returned <= burned && burned - returned <= VIRTUAL_UNITS,
        "{burned} {returned}"
    );
    assert_eq!(held(&b, CAROL, "carol"), held_before - (burned - returned));
    assert_eq!(failed.withdrawal.paid_msats, 0);
    let status = admin.pool_status(POOL).unwrap();
    assert_eq!(llp(&status).nav_msats, nav_before);
    assert_eq!(llp(&status).pending_withdrawals_msats, 0);
    let receipt = failed.settlement_receipt.as_ref().unwrap();
    verify(receipt, None).unwrap();
    assert_eq!(receipt["status"], "failed");
    assert_eq!(receipt["shares_returned"], returned.to_string().as_str());
    b.stop().unwrap();
}

/// The payment hash of an invoice, hex.
fn invoice_hash_of(invoice: &str) -> String {
    let parsed = lightning::bolt11_invoice::Bolt11Invoice::from_str(invoice).unwrap();
    parsed.payment_hash().to_string()
}

/// Every output on the chain from `from_height` to the tip: address → sats of each.
fn outputs_since(rpc: &ChainRpc, from_height: u64) -> BTreeMap<String, Vec<u64>> {
    let mut seen: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for height in from_height..=rpc.block_count().unwrap() {
        let hash = rpc.call("getblockhash", json!([height])).unwrap();
        let block = rpc.call("getblock", json!([hash, 2])).unwrap();
        for tx in block["tx"].as_array().unwrap() {
            for out in tx["vout"].as_array().unwrap() {
                if let Some(address) = out["scriptPubKey"]["address"].as_str() {
                    let sats = (out["value"].as_f64().unwrap() * 1e8).round() as u64;
                    seen.entry(address.to_owned()).or_default().push(sats);
                }
            }
        }
    }
    seen
}

#[test]
fn sigkill_during_payout_ticks_never_pays_twice_nor_loses_a_payout() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("pool.toml");
    std::fs::write(&config, POOL_CONFIG).unwrap();
    let pair = start_pair(&config);
    let (a, mut b) = (pair.a, pair.b);
    let rpc = pair.chain.rpc();
    b.client()
        .create_pool(&CreatePoolRequest {
            pool_id: POOL.into(),
            name: None,
            partitions: None,
        })
        .unwrap();
    deposit(&a, &b, ALICE, "alice", 300_000);
    deposit(&a, &b, BOB, "bob", 300_000);
    let start_height = rpc.block_count().unwrap();
    let mut moments = Moments::from_env("SLUICE_WITHDRAWAL_KILL_SEED");
    eprintln!("kill moments: {moments}");
    // Each round: three withdrawals queue while payouts are halted (one by Lightning, two
    // on-chain), payouts resume, and B is killed a random moment later.
    let mut lightning = Vec::new();
    let mut onchain = Vec::new();
    for round in 0..3u32 {
        let admin = b.client();
        admin.halt_withdrawals(POOL, true).unwrap();
        let invoice = payout_invoice(&a, 3600);
        let shares = |n: u128| n * UNITS_PER_SHARE;
        let w = as_lp(&b, ALICE)
            .withdraw_request(
                POOL,
                &ask(
                    "alice",
                    &format!("ln-{round}"),
                    shares(30_000),
                    "lightning",
                    &invoice,
                ),
            )
            .unwrap();
        lightning.push((w.withdrawal.withdrawal_id, invoice));
        for (token, lp_id, sats) in [(ALICE, "alice", 20_000), (BOB, "bob", 40_000)] {
            let address = a.client().new_address().unwrap().address;
            let w = as_lp(&b, token)
                .withdraw_request(
                    POOL,
                    &ask(
                        lp_id,
                        &format!("oc-{round}"),
                        shares(sats),
                        "onchain",
                        &address,
                    ),
                )
                .unwrap();
            onchain.push((token, w.withdrawal.withdrawal_id, address));
        }
        admin.halt_withdrawals(POOL, false).unwrap();
        let delay = moments.next_ms(&(0..2_500));
        std::thread::sleep(Duration::from_millis(delay));
        b.kill().unwrap();
        eprintln!("round {round}: killed {delay} ms after payouts resumed");
        b.start().unwrap();
        reconnect(&a, &b);
    }
    // Every withdrawal ends paid: Lightning ones at once, on-chain ones as blocks come.
    mine_until(
        &rpc,
        &[&a, &b],
        "every withdrawal to be paid",
        12,
        1,
        || {
            for (token, id, _) in &onchain {
                let w = as_lp(&b, token)
                    .withdrawal(POOL, id)
                    .map_err(|e| format!("{e:?}"))?;
                if w.withdrawal.status != "paid" {
                    return Err(format!("{id}: {}", w.withdrawal.status));
                }
            }
            Ok(())
        },
    );
    for (id, invoice) in &lightning {
        let w = wait_withdrawal(&as_lp(&b, ALICE), id, "paid", |w| {
            w.withdrawal.status == "paid"
        });
        // A was paid on that invoice once.
        let received: Vec<_> = a
            .client()
            .payments_of_hash(&invoice_hash_of(invoice))
            .unwrap()
            .into_iter()
            .filter(|p| p.status == PaymentStatus::Succeeded)
            .collect();
        assert_eq!(received.len(), 1, "{id}: {received:?}");
        assert_eq!(received[0].amount_msat, Some(w.withdrawal.paid_msats));
    }
    // Each address got exactly one output on the whole chain, of what the withdrawal
    // says it was paid; nothing is left in the mempool.
    rpc.generate_to_address(1, NOBODYS_ADDRESS).unwrap();
    let outputs = outputs_since(&rpc, start_height);
    for (token, id, address) in &onchain {
        let w = as_lp(&b, token).withdrawal(POOL, id).unwrap();
        assert_eq!(
            outputs.get(address).cloned().unwrap_or_default(),
            vec![w.withdrawal.paid_msats / 1000],
            "{id}"
        );
    }
    assert!(mempool(&rpc).is_empty(), "{:?}", mempool(&rpc));
    // The books: everything burned was paid, nothing pending.
    let status = b.client().pool_status(POOL).unwrap();
    let part = llp(&status);
    assert_eq!(part.pending_withdrawals_msats, 0);
    let paid: u64 = onchain
        .iter()
        .map(|(token, id, _)| as_lp(&b, token).withdrawal(POOL, id).unwrap())
        .chain(
            lightning
                .iter()
                .map(|(id, _)| as_lp(&b, ALICE).withdrawal(POOL, id).unwrap()),
        )
        .map(|w| w.withdrawal.paid_msats)
        .sum();
    assert_eq!(part.flows.withdrawals_msats, paid);
    b.stop().unwrap();
}
