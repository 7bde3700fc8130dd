//! LSPS2 JIT channels end to end, against a client sluice did not write: ldk-node 0.7.1
//! (the published crate), set up with `set_liquidity_source_lsps2` and following the
//! harness chain as its bitcoind. A sluice payer P has a channel to the sluice LSP L; the
//! ldk-node wallet W has no channel at all. W asks L for a JIT invoice, P pays it, and L
//! opens a zero-conf channel to W and forwards the payment minus the opening fee.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::str::FromStr;
use std::time::{Duration, Instant};

use bitcoin::secp256k1::PublicKey;
use common::{binary, open_channel, wait_usable, CAPACITY_SAT, WAIT};
use ldk_node::bitcoin::Network;
use ldk_node::lightning::ln::msgs::SocketAddress;
use ldk_node::lightning_invoice::{Bolt11InvoiceDescription, Description};
use ldk_node::{Builder, Event, Node};
use sluice_api::types::{PayInvoiceRequest, PaymentStatus};
use sluice_loadtest::{wait_for, ChainProcess, NodeOptions, NodeProcess, SluiceBinary};
use tempfile::TempDir;

/// The payment W receives in each test: 50,000 sat.
const PAYMENT_MSAT: u64 = 50_000_000;
/// The public menu's minimum fee and proportional fee.
const MIN_FEE_MSAT: u64 = 20_000;
const PROPORTIONAL_PPM: u64 = 10_000;

/// The `[lsps2]` section with the public menu; `extra` goes into the section's top.
fn lsps2_config(extra: &str, valid_for_secs: u64) -> String {
    format!(
        "[lsps2]\n{extra}\n\
         [[lsps2.fee_menu]]\n\
         min_fee_msat = {MIN_FEE_MSAT}\n\
         proportional_ppm = {PROPORTIONAL_PPM}\n\
         valid_for_secs = {valid_for_secs}\n\
         min_payment_size_msat = 10000000\n\
         max_payment_size_msat = 1000000000\n"
    )
}

/// The fee the public menu charges for `payment_msat` (bLIP-52: proportional, rounded up,
/// at least the minimum).
fn menu_fee(payment_msat: u64) -> u64 {
    (payment_msat * PROPORTIONAL_PPM)
        .div_ceil(1_000_000)
        .max(MIN_FEE_MSAT)
}

/// A chain, a payer P with a usable channel to the LSP L, and L configured with `config`.
struct Jit {
    p: NodeProcess,
    l: NodeProcess,
    chain: ChainProcess,
    dir: TempDir,
}

fn jit_setup(binary: &SluiceBinary, config: &str) -> Jit {
    let dir = tempfile::tempdir().unwrap();
    let config_path = dir.path().join("lsp.toml");
    std::fs::write(&config_path, config).unwrap();
    let chain = ChainProcess::launch(binary).unwrap();
    let rpc = chain.rpc();
    let lsp_options = NodeOptions::regtest(&chain).args([
        "--config",
        config_path.to_str().unwrap(),
        "--skip-forward-delay",
    ]);
    let (p, l) = std::thread::scope(|s| {
        let p = s.spawn(|| NodeProcess::launch(binary, "p", NodeOptions::regtest(&chain)));
        let l = s.spawn(|| NodeProcess::launch(binary, "l", lsp_options));
        (p.join().unwrap().unwrap(), l.join().unwrap().unwrap())
    });
    // A coinbase for L (it funds the JIT channels), then 100 more to P to mature both.
    let l_funding = l.client().new_address().unwrap().address;
    rpc.generate_to_address(1, &l_funding).unwrap();
    let funding = p.client().new_address().unwrap().address;
    rpc.generate_to_address(101, &funding).unwrap();
    for node in [&p, &l] {
        wait_for(
            &format!("{}'s coinbase to be spendable", node.name()),
            WAIT,
            || Ok((node.client().wallet_balance()?.spendable_sat > CAPACITY_SAT).then_some(())),
        )
        .unwrap();
    }
    open_channel(&p, &l, &rpc, false, false);
    rpc.generate_to_address(6, &funding).unwrap();
    wait_usable(&p, &l);
    wait_usable(&l, &p);
    Jit { p, l, chain, dir }
}

/// An ldk-node wallet with no channel and no coins, using L as its LSPS2 source (with
/// `token`), following the chain over its bitcoind RPC.
fn wallet(jit: &Jit, name: &str, token: Option<&str>) -> Node {
    let lsp = PublicKey::from_str(jit.l.node_id()).unwrap();
    let mut config = ldk_node::config::Config::default();
    config.network = Network::Regtest;
    config.storage_dir_path = jit.dir.path().join(name).to_str().unwrap().to_owned();
    // It has no on-chain reserve for anchor fee bumps, so it trusts L not to need one.
    if let Some(anchors) = config.anchor_channels_config.as_mut() {
        anchors.trusted_peers_no_reserve.push(lsp);
    }
    let mut builder = Builder::from_config(config);
    let rpc = jit.chain.rpc_addr();
    builder.set_chain_source_bitcoind_rpc(
        rpc.ip().to_string(),
        rpc.port(),
        ChainProcess::RPC_USER.to_owned(),
        jit.chain.rpc_password().to_owned(),
    );
    let address = SocketAddress::from_str(&jit.l.peer_addr().to_string()).unwrap();
    builder.set_liquidity_source_lsps2(lsp, address, token.map(str::to_owned));
    let node = builder.build().unwrap();
    node.start().unwrap();
    node
}

/// Waits for `wallet`'s next `PaymentReceived`, handling the events before it.
fn wait_received(wallet: &Node) -> u64 {
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        match wallet.next_event() {
            Some(Event::PaymentReceived { amount_msat, .. }) => {
                wallet.event_handled().unwrap();
                return amount_msat;
            }
            Some(_) => wallet.event_handled().unwrap(),
            None => std::thread::sleep(Duration::from_millis(20)),
        }
    }
    panic!("the wallet received no payment within {WAIT:?}");
}

fn description(text: &str) -> Bolt11InvoiceDescription {
    Bolt11InvoiceDescription::Direct(Description::new(text.to_owned()).unwrap())
}

/// P pays `invoice` over the API; the payment's final status.
fn pay(p: &NodeProcess, invoice: &str) -> PaymentStatus {
    let started = p
        .client()
        .pay_invoice(&PayInvoiceRequest {
            invoice: invoice.to_owned(),
            amount_msat: None,
            max_fee_msat: None,
        })
        .unwrap();
    wait_for("the payment to settle", WAIT, || {
        let payment = p.client().payment(&started.id)?;
        Ok((payment.status != PaymentStatus::Pending).then_some(payment.status))
    })
    .unwrap()
}

#[test]
fn a_wallet_without_channels_is_paid_over_a_jit_channel_for_the_menu_fee() {
    let binary = binary();
    let jit = jit_setup(&binary, &lsps2_config("", 600));
    let w = wallet(&jit, "w", None);
    assert!(w.list_channels().is_empty());

    let invoice = w
        .bolt11_payment()
        .receive_via_jit_channel(PAYMENT_MSAT, &description("jit"), 3600, None)
        .unwrap();
    let orders = jit.l.client().lsps2_orders().unwrap();
    assert_eq!(orders.len(), 1, "{orders:?}");
    assert_eq!(orders[0].state, "bought");
    assert_eq!(orders[0].client_node_id, w.node_id().to_string());

    assert_eq!(pay(&jit.p, &invoice.to_string()), PaymentStatus::Succeeded);
    let fee = menu_fee(PAYMENT_MSAT);
    assert_eq!(wait_received(&w), PAYMENT_MSAT - fee);

    // The order book: forwarded, the fee skimmed as the menu says.
    let order = wait_for("the order to be forwarded", WAIT, || {
        let orders = jit.l.client().lsps2_orders()?;
        Ok(orders.into_iter().find(|o| o.state == "forwarded"))
    })
    .unwrap();
    assert_eq!(order.opening_fee_msat, Some(fee));
    assert_eq!(order.skimmed_fee_msat, fee);
    assert_eq!(order.amt_to_forward_msat, Some(PAYMENT_MSAT - fee));
    let summary = jit.l.client().lsps2_summary().unwrap();
    assert_eq!(summary.revenue_msat, fee);
    assert_eq!(summary.orders_forwarded, 1);

    // The wallet now has one channel from L, of the size L recorded.
    let channels = w.list_channels();
    assert_eq!(channels.len(), 1, "{channels:?}");
    assert_eq!(
        channels[0].counterparty_node_id.to_string(),
        jit.l.node_id()
    );
    assert_eq!(Some(channels[0].channel_value_sats), order.channel_sat);
    w.stop().unwrap();
}

/// A token menu entry of the test config.
fn token_menu(token: &str, valid_for_secs: u64) -> String {
    format!(
        "[[lsps2.tokens]]\n\
         token = \"{token}\"\n\
         fee_menu = [{{ min_fee_msat = {MIN_FEE_MSAT}, proportional_ppm = {PROPORTIONAL_PPM}, \
         valid_for_secs = {valid_for_secs}, min_payment_size_msat = 10000000, \
         max_payment_size_msat = 1000000000 }}]\n"
    )
}

/// P pays `invoice`, for `amount_msat` if the invoice has none; the final status.
fn pay_amount(p: &NodeProcess, invoice: &str, amount_msat: Option<u64>) -> PaymentStatus {
    let started = p
        .client()
        .pay_invoice(&PayInvoiceRequest {
            invoice: invoice.to_owned(),
            amount_msat,
            max_fee_msat: None,
        })
        .unwrap();
    wait_for("the payment to settle", WAIT, || {
        let payment = p.client().payment(&started.id)?;
        Ok((payment.status != PaymentStatus::Pending).then_some(payment.status))
    })
    .unwrap()
}

/// The order of `wallet`, as L's order book has it.
fn order_of(l: &NodeProcess, wallet: &Node) -> sluice_api::types::Lsps2Order {
    let id = wallet.node_id().to_string();
    let orders = l.client().lsps2_orders().unwrap();
    let mine: Vec<_> = orders
        .into_iter()
        .filter(|o| o.client_node_id == id)
        .collect();
    assert_eq!(mine.len(), 1, "{mine:?}");
    mine.into_iter().next().unwrap()
}

#[test]
fn bad_tokens_small_payments_and_expired_offers_open_nothing() {
    let binary = binary();
    let config = format!(
        "[lsps2]\nrequire_token = true\n{}{}",
        token_menu("partner", 600),
        token_menu("brief", 2)
    );
    let jit = jit_setup(&binary, &config);

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
    assert_eq!(pay(&jit.p, &invoice.to_string()), PaymentStatus::Failed);
    let order = order_of(&jit.l, &late);
    assert_ne!(order.state, "forwarded", "{order:?}");
    assert!(
        order.channel_sat.is_none() || order.state == "failed",
        "{order:?}"
    );
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

    // The same wallet, with a fresh offer, is then served.
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
    let mut jit = jit_setup(&binary, &lsps2_config("", 600));
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
    let address = SocketAddress::from_str(&jit.l.peer_addr().to_string()).unwrap();
    w.connect(lsp, address, true).unwrap();
    assert_eq!(order_of(&jit.l, &w).state, "bought");

    assert_eq!(pay(&jit.p, &invoice.to_string()), PaymentStatus::Succeeded);
    assert_eq!(wait_received(&w), PAYMENT_MSAT - menu_fee(PAYMENT_MSAT));
    let order = wait_for("the order to be forwarded", WAIT, || {
        let order = order_of(&jit.l, &w);
        Ok((order.state == "forwarded").then_some(order))
    })
    .unwrap();
    assert_eq!(order.skimmed_fee_msat, menu_fee(PAYMENT_MSAT));

    // Paid again after another restart: one channel, not two.
    jit.l.kill().unwrap();
    jit.l.start().unwrap();
    common::reconnect(&jit.p, &jit.l);
    assert_eq!(w.list_channels().len(), 1);
    let lsp_channels: Vec<_> = jit
        .l
        .client()
        .list_channels()
        .unwrap()
        .into_iter()
        .filter(|c| c.counterparty_node_id == w.node_id().to_string())
        .collect();
    assert_eq!(lsp_channels.len(), 1, "{lsp_channels:?}");
    w.stop().unwrap();
}
