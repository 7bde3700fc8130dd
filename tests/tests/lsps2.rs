//! LSPS2 JIT channels end to end, against a client sluice did not write: ldk-node 0.7.1
//! (the published crate), set up with `set_liquidity_source_lsps2` and following the
//! harness chain as its bitcoind. A sluice payer P has a channel to the sluice LSP L; the
//! ldk-node wallets have no channel at all. A wallet asks L for a JIT invoice, P pays it,
//! and L opens a zero-conf channel to the wallet and forwards the payment minus the fee.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::str::FromStr;
use std::time::Duration;

use bitcoin::secp256k1::PublicKey;
use common::jit::{
    description, jit_setup, lsp_address, lsps2_config, menu_fee, order_of, pay, pay_amount,
    settled, start_paying, token_menu, wait_received, wallet, Jit,
};
use common::lsps_wire::LspsPeer;
use common::{binary, env_u64, Moments, WAIT};
use ldk_node::lightning_types::payment::PaymentHash;
use ldk_node::{Event, Node};
use sluice_api_types::PaymentStatus;
use sluice_harness::{wait_for, NodeProcess};

/// The payment each wallet receives: 50,000 sat.
const PAYMENT_MSAT: u64 = 50_000_000;
/// P's channel to L.
const PAYER_CHANNEL_SAT: u64 = 1_000_000;

/// The txids in the chain's mempool.
fn mempool(jit: &Jit) -> Vec<String> {
    let txids = jit
        .chain
        .rpc()
        .call("getrawmempool", serde_json::json!([]))
        .unwrap();
    serde_json::from_value(txids).unwrap()
}

/// A wallet receives over a fresh JIT channel exactly the payment minus the menu fee,
/// and L's order book records the fee. With `client_trusts_lsp`, L also holds the funding
/// transaction back until the wallet has claimed the payment.
fn jit_payment(client_trusts_lsp: bool) {
    let binary = binary();
    let config = lsps2_config(&format!("client_trusts_lsp = {client_trusts_lsp}\n"), 600);
    let jit = jit_setup(&binary, &config, PAYER_CHANNEL_SAT, 1);
    let w = wallet(&jit, "w", None);
    assert!(w.list_channels().is_empty());

    let invoice = w
        .bolt11_payment()
        .receive_via_jit_channel(PAYMENT_MSAT, &description("jit"), 3600, None)
        .unwrap();
    let order = order_of(&jit.l, &w);
    assert_eq!(order.state, "bought");
    assert!(mempool(&jit).is_empty());

    assert_eq!(pay(&jit.p, &invoice.to_string()), PaymentStatus::Succeeded);
    let fee = menu_fee(PAYMENT_MSAT);
    assert_eq!(wait_received(&w), PAYMENT_MSAT - fee);

    // The order book: forwarded, the fee skimmed as the menu says.
    let order = wait_for("the order to be forwarded", WAIT, || {
        let order = order_of(&jit.l, &w);
        Ok((order.state == "forwarded").then_some(order))
    })
    .unwrap();
    assert_eq!(order.opening_fee_msat, Some(fee));
    assert_eq!(order.skimmed_fee_msat, fee);
    assert_eq!(order.amt_to_forward_msat, Some(PAYMENT_MSAT - fee));
    let summary = jit.l.client().lsps2_summary().unwrap();
    assert_eq!(summary.revenue_msat, fee);
    assert_eq!(summary.orders_forwarded, 1);

    // The wallet now has one channel from L, of the size L recorded, funded on chain.
    let channels = w.list_channels();
    assert_eq!(channels.len(), 1, "{channels:?}");
    assert_eq!(
        channels[0].counterparty_node_id.to_string(),
        jit.l.node_id()
    );
    assert_eq!(Some(channels[0].channel_value_sats), order.channel_sat);
    let funding = channels[0].funding_txo.expect("funded").txid.to_string();
    wait_for("the funding transaction in the mempool", WAIT, || {
        Ok(mempool(&jit).contains(&funding).then_some(()))
    })
    .unwrap();
    w.stop().unwrap();
}

#[test]
fn a_wallet_without_channels_is_paid_over_a_jit_channel_for_the_menu_fee() {
    jit_payment(false);
}

#[test]
fn client_trusts_lsp_holds_the_funding_until_the_fee_is_claimed() {
    jit_payment(true);
}

#[test]
fn bad_tokens_small_payments_expired_offers_and_limits_open_nothing() {
    let binary = binary();
    let config = format!(
        "[lsps2]\nrequire_token = true\nmax_pending_buys_per_peer = 1\n{}{}",
        token_menu("partner", 600),
        token_menu("brief", 2)
    );
    let jit = jit_setup(&binary, &config, PAYER_CHANNEL_SAT, 1);

    // A wrong token, or none where one is required: no menu, so no invoice.
    for (name, token) in [("guess", Some("guess")), ("none", None)] {
        let w = wallet(&jit, name, token);
        let refused = w.bolt11_payment().receive_via_jit_channel(
            PAYMENT_MSAT,
            &description(name),
            3600,
            None,
        );
        assert!(refused.is_err(), "{name}: {refused:?}");
        w.stop().unwrap();
    }
    assert!(jit.l.client().lsps2_orders().unwrap().is_empty());

    // A variable-amount invoice paid below the offer's minimum: the HTLC is failed back,
    // no channel is opened and the order fails.
    let small = wallet(&jit, "small", Some("partner"));
    let invoice = small
        .bolt11_payment()
        .receive_variable_amount_via_jit_channel(&description("small"), 3600, None)
        .unwrap();
    // One unpaid purchase is this client's limit: it is offered nothing more meanwhile.
    let greedy = small.bolt11_payment().receive_via_jit_channel(
        PAYMENT_MSAT,
        &description("more"),
        3600,
        None,
    );
    assert!(greedy.is_err(), "{greedy:?}");
    let status = pay_amount(&jit.p, &invoice.to_string(), Some(5_000_000));
    assert_eq!(status, PaymentStatus::Failed);
    let order = wait_for("the small payment's order to fail", WAIT, || {
        let order = order_of(&jit.l, &small);
        Ok((order.state == "failed").then_some(order))
    })
    .unwrap();
    assert!(
        order.failure.as_deref().unwrap_or("").contains("payment"),
        "{order:?}"
    );
    assert!(small.list_channels().is_empty());

    // An offer valid for 2 s, paid after it expired: refused, nothing opened.
    let late = wallet(&jit, "late", Some("brief"));
    let invoice = late
        .bolt11_payment()
        .receive_via_jit_channel(PAYMENT_MSAT, &description("late"), 3600, None)
        .unwrap();
    std::thread::sleep(Duration::from_secs(3));
    // Unpaid past its offer, the order shows as expired.
    assert_eq!(order_of(&jit.l, &late).state, "expired");
    assert_eq!(jit.l.client().lsps2_summary().unwrap().orders_expired, 1);
    assert_eq!(pay(&jit.p, &invoice.to_string()), PaymentStatus::Failed);
    let order = order_of(&jit.l, &late);
    assert_ne!(order.state, "forwarded", "{order:?}");
    assert!(late.list_channels().is_empty());
    assert!(jit
        .l
        .client()
        .list_channels()
        .unwrap()
        .iter()
        .all(|c| c.counterparty_node_id == jit.p.node_id()));
    let summary = jit.l.client().lsps2_summary().unwrap();
    assert_eq!((summary.revenue_msat, summary.orders_forwarded), (0, 0));

    // Its failed purchase no longer counts: the wallet is served again.
    let invoice = small
        .bolt11_payment()
        .receive_via_jit_channel(PAYMENT_MSAT, &description("again"), 3600, None)
        .unwrap();
    assert_eq!(pay(&jit.p, &invoice.to_string()), PaymentStatus::Succeeded);
    assert_eq!(wait_received(&small), PAYMENT_MSAT - menu_fee(PAYMENT_MSAT));
    small.stop().unwrap();
    late.stop().unwrap();
}

#[test]
fn an_lsp_killed_between_the_sale_and_the_payment_still_opens_once() {
    let binary = binary();
    let mut jit = jit_setup(&binary, &lsps2_config("", 600), PAYER_CHANNEL_SAT, 1);
    let w = wallet(&jit, "w", None);
    let invoice = w
        .bolt11_payment()
        .receive_via_jit_channel(PAYMENT_MSAT, &description("restart"), 3600, None)
        .unwrap();

    // SIGKILL: no shutdown persistence. What was sold must come back from the store.
    jit.l.kill().unwrap();
    jit.l.start().unwrap();
    common::reconnect(&jit.p, &jit.l);
    let lsp = PublicKey::from_str(jit.l.node_id()).unwrap();
    w.connect(lsp, lsp_address(&jit.l), true).unwrap();
    assert_eq!(order_of(&jit.l, &w).state, "bought");

    assert_eq!(pay(&jit.p, &invoice.to_string()), PaymentStatus::Succeeded);
    assert_eq!(wait_received(&w), PAYMENT_MSAT - menu_fee(PAYMENT_MSAT));
    let order = wait_for("the order to be forwarded", WAIT, || {
        let order = order_of(&jit.l, &w);
        Ok((order.state == "forwarded").then_some(order))
    })
    .unwrap();
    assert_eq!(order.skimmed_fee_msat, menu_fee(PAYMENT_MSAT));

    // After another crash: still one channel, and the fee counted once.
    jit.l.kill().unwrap();
    jit.l.start().unwrap();
    common::reconnect(&jit.p, &jit.l);
    assert_eq!(w.list_channels().len(), 1);
    let to_w: Vec<_> = jit
        .l
        .client()
        .list_channels()
        .unwrap()
        .into_iter()
        .filter(|c| c.counterparty_node_id == w.node_id().to_string())
        .collect();
    assert_eq!(to_w.len(), 1, "{to_w:?}");
    assert_eq!(
        jit.l.client().lsps2_summary().unwrap().revenue_msat,
        menu_fee(PAYMENT_MSAT)
    );
    w.stop().unwrap();
}

/// LSPS0 discovery on the wire, from a bare peer that speaks only LSPS messages: L lists
/// the protocols it serves (LSPS2, nothing it does not serve), and answers a request it
/// cannot parse with JSON-RPC's parse error and then ignores that peer (lightning-liquidity's
/// guard against a misbehaving client), while other clients are still served.
#[test]
fn lsps0_lists_lsps2_and_a_malformed_request_gets_a_parse_error() {
    let binary = binary();
    let jit = jit_setup(&binary, &lsps2_config("", 600), PAYER_CHANNEL_SAT, 1);
    let lsp = PublicKey::from_str(jit.l.node_id()).unwrap();
    let list = r#"{"jsonrpc":"2.0","id":"list-1","method":"lsps0.list_protocols","params":{}}"#;

    let peer = LspsPeer::connect(lsp, jit.l.peer_addr());
    let answer = peer.request(list);
    assert_eq!(answer["id"], "list-1", "{answer}");
    assert_eq!(
        answer["result"]["protocols"],
        serde_json::json!([2]),
        "{answer}"
    );

    let bad =
        peer.request(r#"{"jsonrpc":"2.0","id":"bad-1","method":"lsps9.nothing","params":{}}"#);
    assert_eq!(bad["error"]["code"], -32700, "{bad}");
    assert!(peer.unanswered(list, Duration::from_secs(1)));

    let other = LspsPeer::connect(lsp, jit.l.peer_addr());
    assert_eq!(
        other.request(list)["result"]["protocols"],
        serde_json::json!([2])
    );
}

/// A client gone offline after buying: the paid open waits for it, up to
/// `client_wait_secs`. One that stays away has the payment failed back when the wait ends,
/// and the SCID may be paid again; one back in time gets the channel and the payment.
#[test]
fn a_paid_open_waits_for_its_client_to_connect() {
    let binary = binary();
    let jit = jit_setup(
        &binary,
        &lsps2_config("client_wait_secs = 10", 600),
        PAYER_CHANNEL_SAT,
        1,
    );
    let lsp = PublicKey::from_str(jit.l.node_id()).unwrap();
    let w = wallet(&jit, "away", None);
    let invoice = w
        .bolt11_payment()
        .receive_via_jit_channel(PAYMENT_MSAT, &description("away"), 3600, None)
        .unwrap()
        .to_string();
    w.stop().unwrap();

    assert_eq!(pay(&jit.p, &invoice), PaymentStatus::Failed);
    let order = order_of(&jit.l, &w);
    assert_eq!(order.state, "bought", "{order:?}");
    assert!(
        order
            .failure
            .as_deref()
            .unwrap_or("")
            .contains("did not connect"),
        "{order:?}"
    );

    let started = start_paying(&jit.p, &invoice);
    wait_for("the open to wait for the client", WAIT, || {
        let order = order_of(&jit.l, &w);
        Ok((order.state == "opening").then_some(()))
    })
    .unwrap();
    w.start().unwrap();
    w.connect(lsp, lsp_address(&jit.l), true).unwrap();
    let status = settled(&jit.p, &started, "the payment");
    assert_eq!(status, PaymentStatus::Succeeded);
    assert_eq!(wait_received(&w), PAYMENT_MSAT - menu_fee(PAYMENT_MSAT));
    w.stop().unwrap();
}

/// Wallets buying in [`every_sale_gets_its_own_scid_and_the_lsp_restarts`], and what each
/// buys: lightning-liquidity lets one client hold at most 10 unpaid SCIDs.
const BUYERS: usize = 15;
const BUYS_EACH: usize = 10;

/// LDK draws intercept SCIDs from 2,500 values on a young regtest chain and does not
/// remember the ones it gave: 150 sales would share one almost surely (the birthday bound
/// gives 99 %), and lightning-liquidity refuses to load state where two do, so L would not
/// start again. Every sale gets its own SCID, and L restarts and is paid.
#[test]
fn every_sale_gets_its_own_scid_and_the_lsp_restarts() {
    let binary = binary();
    let config = lsps2_config(&format!("max_pending_buys_per_peer = {BUYS_EACH}"), 600);
    let mut jit = jit_setup(&binary, &config, PAYER_CHANNEL_SAT, 1);
    // Each buyer buys its share; the last one stays online to be paid after the restart.
    let buy = |w: &ldk_node::Node| -> Vec<String> {
        (0..BUYS_EACH)
            .map(|sale| {
                w.bolt11_payment()
                    .receive_via_jit_channel(
                        PAYMENT_MSAT,
                        &description(&sale.to_string()),
                        3600,
                        None,
                    )
                    .unwrap()
                    .to_string()
            })
            .collect()
    };
    for buyer in 1..BUYERS {
        let w = wallet(&jit, &format!("buyer{buyer}"), None);
        buy(&w);
        w.stop().unwrap();
    }
    let w = wallet(&jit, "buyer0", None);
    let invoice = buy(&w).pop().unwrap();
    let scids: std::collections::HashSet<u64> = jit
        .l
        .client()
        .lsps2_orders()
        .unwrap()
        .iter()
        .map(|o| o.intercept_scid)
        .collect();
    assert_eq!(scids.len(), BUYERS * BUYS_EACH);
    // The listing pages through them all from the store, newest first, each once.
    let mut paged = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = jit
            .l
            .client()
            .lsps2_orders_page(Some(40), cursor.as_deref())
            .unwrap();
        assert!(page.orders.len() <= 40);
        paged.extend(page.orders);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(paged.len(), BUYERS * BUYS_EACH);
    assert!(paged
        .windows(2)
        .all(|w| w[0].created_at_ms >= w[1].created_at_ms));
    let ids: std::collections::HashSet<&str> = paged.iter().map(|o| o.order_id.as_str()).collect();
    assert_eq!(ids.len(), BUYERS * BUYS_EACH);

    jit.l.stop().unwrap();
    jit.l.start().unwrap();
    common::reconnect(&jit.p, &jit.l);
    let lsp = PublicKey::from_str(jit.l.node_id()).unwrap();
    w.connect(lsp, lsp_address(&jit.l), true).unwrap();
    assert_eq!(pay(&jit.p, &invoice), PaymentStatus::Succeeded);
    assert_eq!(wait_received(&w), PAYMENT_MSAT - menu_fee(PAYMENT_MSAT));
    w.stop().unwrap();
}

/// How long after P sends the payment L is killed: from before the HTLC reaches L to after
/// the channel is open (the whole flow takes about 40 ms before the client's claim).
const JIT_KILL_AFTER_MS: std::ops::Range<u64> = 0..100;

/// L killed at random moments of JIT payments (`SLUICE_JIT_CRASH_ROUNDS`, default 3;
/// `SLUICE_JIT_CRASH_SEED` replays the moments): each payment ends paid once, or failed
/// and then paid on retry, with the fee skimmed once and never two channels for one sale.
/// The moments that found the restart bugs `recovery` handles were 40–80 ms after the
/// send (the channel funded, the payment being forwarded).
#[test]
fn an_lsp_killed_at_random_moments_of_jit_flows_pays_once_or_not_at_all() {
    let rounds = env_u64("SLUICE_JIT_CRASH_ROUNDS").unwrap_or(3);
    let mut moments = Moments::from_env("SLUICE_JIT_CRASH_SEED");
    eprintln!("JIT crashes: {rounds} rounds, {moments}");
    let binary = binary();
    // Each round pays once, or twice when the first attempt fails; P's channel must carry
    // them all (one coinbase funds it up to 50 BTC).
    let capacity_sat = PAYER_CHANNEL_SAT.max(2 * rounds * PAYMENT_MSAT / 1000 + 100_000);
    let mut jit = jit_setup(&binary, &lsps2_config("", 600), capacity_sat, 1);
    let lsp = PublicKey::from_str(jit.l.node_id()).unwrap();
    for round in 0..rounds {
        let w = wallet(&jit, &format!("w{round}"), None);
        let invoice = w
            .bolt11_payment()
            .receive_via_jit_channel(PAYMENT_MSAT, &description("crash"), 3600, None)
            .unwrap();
        let started = start_paying(&jit.p, &invoice.to_string());
        let kill_after = moments.next_ms(&JIT_KILL_AFTER_MS);
        std::thread::sleep(Duration::from_millis(kill_after));
        jit.l.kill().unwrap();
        jit.l.start().unwrap();
        common::reconnect(&jit.p, &jit.l);
        w.connect(lsp, lsp_address(&jit.l), true).unwrap();

        // The payment ends, one way or the other, without waiting for an HTLC to expire.
        let label = format!("round {round}, killed {kill_after} ms after the send");
        let status = settled(&jit.p, &started, &format!("{label}: the payment"));
        let first = order_of(&jit.l, &w);
        // A failed payment may be tried again, and then goes through.
        let retried = status == PaymentStatus::Failed;
        if retried {
            assert_ne!(first.state, "forwarded", "{label}: {first:?}");
            assert_eq!(first.skimmed_fee_msat, 0, "{label}: {first:?}");
            let again = pay(&jit.p, &invoice.to_string());
            assert_eq!(again, PaymentStatus::Succeeded, "{label}: retry; {first:?}");
        }
        {
            // Paid once, the fee skimmed once.
            assert_eq!(
                wait_received(&w),
                PAYMENT_MSAT - menu_fee(PAYMENT_MSAT),
                "{label}"
            );
            let order = wait_for(&format!("{label}: the order to be forwarded"), WAIT, || {
                let order = order_of(&jit.l, &w);
                Ok((order.state == "forwarded").then_some(order))
            })
            .unwrap();
            assert_eq!(order.skimmed_fee_msat, menu_fee(PAYMENT_MSAT), "{label}");
        }
        // Never two channels for one sale.
        let to_w = jit
            .l
            .client()
            .list_channels()
            .unwrap()
            .into_iter()
            .filter(|c| c.counterparty_node_id == w.node_id().to_string())
            .count();
        assert!(to_w <= 1, "{label}: {to_w} channels to the wallet");
        assert!(w.list_channels().len() <= 1, "{label}");
        assert!(
            !jit.l.stderr().contains("panicked"),
            "{label}: L panicked:\n{}",
            jit.l.stderr()
        );
        eprintln!(
            "{label}: {status:?} (order {}){}",
            first.state,
            if retried { ", then paid on retry" } else { "" }
        );
        w.stop().unwrap();
    }
}

/// Fails back every payment `wallet` could claim until P's payment `id` is no longer
/// pending, as a client that never claims would; P's payment's final status.
fn refuse_to_claim(p: &NodeProcess, wallet: &Node, id: &str) -> PaymentStatus {
    wait_for("the unclaimed payment to fail", WAIT, || {
        while let Some(event) = wallet.next_event() {
            if let Event::PaymentClaimable { payment_hash, .. } = event {
                wallet.bolt11_payment().fail_for_hash(payment_hash).unwrap();
            }
            wallet.event_handled().unwrap();
        }
        let payment = p.client().payment(id)?;
        Ok((payment.status != PaymentStatus::Pending).then_some(payment.status))
    })
    .unwrap()
}

/// L's channels with `wallet`.
fn channels_with(l: &NodeProcess, wallet: &Node) -> usize {
    let id = wallet.node_id().to_string();
    let channels = l.client().list_channels().unwrap();
    channels
        .iter()
        .filter(|c| c.counterparty_node_id == id)
        .count()
}

/// Clients that buy, are paid for, get their channel and never claim the payment (they
/// fail it back): L gives up on each channel `unclaimed_close_after_secs` after its open,
/// closing it cooperatively while the client is connected and by force once it is gone,
/// and the order ends `unclaimed` with the reason. Their capacity counts against
/// `max_unclaimed_sat` for the window, so a buy that would exceed it is refused on the
/// wire with LSPS0's `client_rejected` error naming the budget, by a client that got its
/// menu before.
#[test]
fn clients_that_never_claim_have_their_channels_closed_and_use_up_the_unclaimed_budget() {
    let binary = binary();
    // Each JIT channel is at least 400,000 sat: two fit in the 1,000,000 sat budget, and
    // then no third.
    let config = lsps2_config(
        "client_wait_secs = 2\nunclaimed_close_after_secs = 8\nmin_channel_sat = 400000\n\
         max_unclaimed_sat = 1000000",
        600,
    );
    let jit = jit_setup(&binary, &config, PAYER_CHANNEL_SAT, 1);
    let lsp = PublicKey::from_str(jit.l.node_id()).unwrap();
    let late = LspsPeer::connect(lsp, jit.l.peer_addr());
    let info = r#"{"jsonrpc":"2.0","id":"info-1","method":"lsps2.get_info","params":{}}"#;
    let menu = late.request(info);
    let offer = menu["result"]["opening_fee_params_menu"][0].clone();
    assert!(offer.is_object(), "{menu}");

    let mut gone = Vec::new();
    for (n, name) in ["stays", "leaves"].into_iter().enumerate() {
        let w = wallet(&jit, name, None);
        let hash = PaymentHash([n as u8 + 1; 32]);
        let invoice = w
            .bolt11_payment()
            .receive_via_jit_channel_for_hash(PAYMENT_MSAT, &description(name), 3600, None, hash)
            .unwrap();
        let paying = start_paying(&jit.p, &invoice.to_string());
        assert_eq!(refuse_to_claim(&jit.p, &w, &paying), PaymentStatus::Failed);
        let order = order_of(&jit.l, &w);
        assert_eq!(order.state, "opening", "{order:?}");
        assert_eq!(order.channel_sat, Some(400_000));
        assert_eq!(channels_with(&jit.l, &w), 1);
        gone.push(w);
    }
    // One client stays connected, the other goes away.
    gone[1].stop().unwrap();

    for (w, how) in gone.iter().zip(["cooperatively", "by force"]) {
        let order = wait_for(
            &format!("the order closed {how} to end unclaimed"),
            WAIT,
            || {
                let order = order_of(&jit.l, w);
                Ok((order.state == "unclaimed").then_some(order))
            },
        )
        .unwrap();
        let failure = order.failure.as_deref().unwrap_or("");
        assert!(failure.contains("did not claim"), "{order:?}");
        assert!(order.ended_at_ms.is_some(), "{order:?}");
        assert_eq!(order.skimmed_fee_msat, 0);
        wait_for(&format!("the channel closed {how}"), WAIT, || {
            Ok((channels_with(&jit.l, w) == 0).then_some(()))
        })
        .unwrap();
    }
    let summary = jit.l.client().lsps2_summary().unwrap();
    assert_eq!(summary.orders_unclaimed, 2, "{summary:?}");
    assert_eq!(summary.unclaimed_sat, 800_000, "{summary:?}");
    assert_eq!((summary.orders_opening, summary.revenue_msat), (0, 0));

    // The budget is used up for the window: a buy is refused, saying so.
    let buy = serde_json::json!({
        "jsonrpc": "2.0",
        "id": "buy-1",
        "method": "lsps2.buy",
        "params": { "opening_fee_params": offer },
    });
    let answer = late.request(&buy.to_string());
    assert_eq!(answer["id"], "buy-1", "{answer}");
    assert_eq!(answer["error"]["code"], 1, "client_rejected: {answer}");
    assert_eq!(answer["error"]["data"], "unclaimed_budget", "{answer}");
    let message = answer["error"]["message"].as_str().unwrap_or("");
    assert!(message.contains("not claimed"), "{answer}");
    let refusals = jit
        .l
        .client()
        .metric(r#"sluice_lsps2_refusals_total{reason="unclaimed_budget"}"#)
        .unwrap();
    assert!(refusals.unwrap_or(0.0) >= 1.0, "{refusals:?}");
    gone[0].stop().unwrap();
}
