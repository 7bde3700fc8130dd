//! JIT channel set-ups shared by the LSPS2 tests and the JIT latency benchmark: a sluice
//! payer P with a channel to a sluice LSP L, and ldk-node 0.7.1 wallets (a client sluice
//! did not write) that buy JIT channels from L.

use std::str::FromStr;
use std::time::{Duration, Instant};

use bitcoin::secp256k1::PublicKey;
use ldk_node::bitcoin::Network;
use ldk_node::lightning::ln::msgs::SocketAddress;
use ldk_node::lightning_invoice::{Bolt11InvoiceDescription, Description};
use ldk_node::{Builder, Event, Node};
use sluice_api_types::{Lsps2Order, PayInvoiceRequest, PaymentStatus};
use sluice_harness::setup::PairSpec;
use sluice_harness::{wait_for, ChainProcess, NodeOptions, NodeProcess, Pair, SluiceBinary};
use tempfile::TempDir;

use super::WAIT;

/// The public menu's minimum fee.
pub const MIN_FEE_MSAT: u64 = 20_000;
/// The public menu's proportional fee.
pub const PROPORTIONAL_PPM: u64 = 10_000;

/// The `[lsps2]` section with the public menu; `extra` goes into the section's top.
pub fn lsps2_config(extra: &str, valid_for_secs: u64) -> String {
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

/// A token menu entry like the public menu's, valid for `valid_for_secs`.
pub fn token_menu(token: &str, valid_for_secs: u64) -> String {
    format!(
        "[[lsps2.tokens]]\n\
         token = \"{token}\"\n\
         fee_menu = [{{ min_fee_msat = {MIN_FEE_MSAT}, proportional_ppm = {PROPORTIONAL_PPM}, \
         valid_for_secs = {valid_for_secs}, min_payment_size_msat = 10000000, \
         max_payment_size_msat = 1000000000 }}]\n"
    )
}

/// The fee the menu charges for `payment_msat` (bLIP-52: proportional, rounded up, at
/// least the minimum).
pub fn menu_fee(payment_msat: u64) -> u64 {
    (payment_msat * PROPORTIONAL_PPM)
        .div_ceil(1_000_000)
        .max(MIN_FEE_MSAT)
}

/// A chain, a payer P with a usable channel of `capacity_sat` to the LSP L, and L
/// configured with `config` (and forwarding without LDK's batching delay).
pub struct Jit {
    /// The payer.
    pub p: NodeProcess,
    /// The LSP.
    pub l: NodeProcess,
    /// The chain.
    pub chain: ChainProcess,
    /// Config file and wallet directories.
    pub dir: TempDir,
}

/// Starts the set-up: the harness's [`Pair`] with P as A and L as B. L gets
/// `l_coinbases` coinbases (each funds several JIT channels).
pub fn jit_setup(binary: &SluiceBinary, config: &str, capacity_sat: u64, l_coinbases: u32) -> Jit {
    let dir = tempfile::tempdir().unwrap();
    let config_path = dir.path().join("lsp.toml");
    std::fs::write(&config_path, config).unwrap();
    let spec = PairSpec {
        names: ["p", "l"],
        capacity_sat,
        b_coinbases: l_coinbases,
    };
    let Pair {
        a: p, b: l, chain, ..
    } = Pair::start(binary, spec, |chain, i| {
        let options = NodeOptions::regtest(chain);
        if i == 0 {
            return options;
        }
        options.args([
            "--config",
            config_path.to_str().unwrap(),
            "--skip-forward-delay",
        ])
    })
    .unwrap();
    Jit { p, l, chain, dir }
}

/// An ldk-node wallet with no channel and no coins, using L as its LSPS2 source (with
/// `token`), following the chain over its bitcoind RPC.
pub fn wallet(jit: &Jit, name: &str, token: Option<&str>) -> Node {
    wallet_seeded(jit, name, token, None)
}

/// [`wallet`], from the 64-byte `seed` if given (else a fresh one).
pub fn wallet_seeded(jit: &Jit, name: &str, token: Option<&str>, seed: Option<[u8; 64]>) -> Node {
    let lsp = PublicKey::from_str(jit.l.node_id()).unwrap();
    let mut config = ldk_node::config::Config {
        network: Network::Regtest,
        storage_dir_path: jit.dir.path().join(name).to_str().unwrap().to_owned(),
        ..Default::default()
    };
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
    builder.set_liquidity_source_lsps2(lsp, lsp_address(&jit.l), token.map(str::to_owned));
    if let Some(seed) = seed {
        builder.set_entropy_seed_bytes(seed);
    }
    let node = builder.build().unwrap();
    node.start().unwrap();
    node
}

/// L's peer address, as ldk-node takes it.
pub fn lsp_address(l: &NodeProcess) -> SocketAddress {
    SocketAddress::from_str(&l.peer_addr().to_string()).unwrap()
}

/// Waits for `wallet`'s next `PaymentReceived`, handling the events before it.
pub fn wait_received(wallet: &Node) -> u64 {
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

/// An invoice description.
pub fn description(text: &str) -> Bolt11InvoiceDescription {
    Bolt11InvoiceDescription::Direct(Description::new(text.to_owned()).unwrap())
}

/// P pays `invoice` over the API (for `amount_msat` if it has none); the final status.
pub fn pay_amount(p: &NodeProcess, invoice: &str, amount_msat: Option<u64>) -> PaymentStatus {
    let started = p
        .client()
        .pay_invoice(&PayInvoiceRequest {
            invoice: invoice.to_owned(),
            amount_msat,
            max_fee_msat: None,
        })
        .unwrap();
    settled(p, &started.id, "the payment")
}

/// P starts paying `invoice` over the API; the payment's id.
pub fn start_paying(p: &NodeProcess, invoice: &str) -> String {
    p.client()
        .pay_invoice(&PayInvoiceRequest {
            invoice: invoice.to_owned(),
            amount_msat: None,
            max_fee_msat: None,
        })
        .unwrap()
        .id
}

/// Waits until P's payment `id` (`what`, for the failure message) is no longer pending;
/// its final status.
pub fn settled(p: &NodeProcess, id: &str, what: &str) -> PaymentStatus {
    wait_for(&format!("{what} to settle"), WAIT, || {
        let payment = p.client().payment(id)?;
        Ok((payment.status != PaymentStatus::Pending).then_some(payment.status))
    })
    .unwrap()
}

/// P pays `invoice` over the API; the final status.
pub fn pay(p: &NodeProcess, invoice: &str) -> PaymentStatus {
    pay_amount(p, invoice, None)
}

/// The one order of `wallet` in L's order book.
pub fn order_of(l: &NodeProcess, wallet: &Node) -> Lsps2Order {
    let id = wallet.node_id().to_string();
    let mine: Vec<_> = l
        .client()
        .lsps2_orders()
        .unwrap()
        .into_iter()
        .filter(|o| o.client_node_id == id)
        .collect();
    assert_eq!(mine.len(), 1, "{mine:?}");
    mine.into_iter().next().unwrap()
}
