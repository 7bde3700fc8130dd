//! The service's decisions against a scripted node: what each input records and does, in
//! which order.

use std::cell::{Cell, RefCell};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
use lightning::ln::channelmanager::InterceptId;
use lightning::ln::types::ChannelId;
use lightning_liquidity::lsps0::ser::{LSPSDateTime, LSPSRequestId};
use lightning_liquidity::lsps2::msgs::LSPS2OpeningFeeParams;
use ractor::RpcReplyPort;
use sluice_storage::{HeldHtlc, JitOrderRecord, JitOrderState};

use super::*;
use crate::lsps2::config::FeeOption;
use crate::lsps2::limits::BuyRefusal;
use crate::lsps2::order::order_id;

/// Unix time the fake node lives at (2027-01-15).
const NOW_MS: u64 = 1_800_000_000_000;

/// A node whose answers the test sets.
struct FakeNode {
    channels: RefCell<Vec<ChannelView>>,
    connected: RefCell<Vec<PublicKey>>,
    held: RefCell<Vec<String>>,
    spendable_sat: u64,
    scids: RefCell<Vec<u64>>,
    next_id: Cell<u128>,
    now: Cell<Instant>,
    unix_ms: Cell<u64>,
}

impl FakeNode {
    fn new() -> Self {
        FakeNode {
            channels: RefCell::new(Vec::new()),
            connected: RefCell::new(Vec::new()),
            held: RefCell::new(Vec::new()),
            spendable_sat: 10_000_000,
            scids: RefCell::new(vec![100, 101, 102]),
            next_id: Cell::new(1),
            now: Cell::new(Instant::now()),
            unix_ms: Cell::new(NOW_MS),
        }
    }

    fn connect(&self, node: PublicKey) {
        self.connected.borrow_mut().push(node);
    }

    fn channel(&self, user_channel_id: u128, client: PublicKey, live: bool) -> ChannelView {
        let view = ChannelView {
            user_channel_id,
            channel_id: ChannelId([7; 32]),
            counterparty: client,
            value_sat: 200_000,
            ready: true,
            live,
        };
        self.channels
            .borrow_mut()
            .retain(|c| c.user_channel_id != user_channel_id);
        self.channels.borrow_mut().push(view);
        view
    }

    fn later(&self, by: Duration) {
        self.now.set(self.now.get() + by);
        self.unix_ms.set(self.unix_ms.get() + by.as_millis() as u64);
    }

    fn disconnect(&self, node: PublicKey) {
        self.connected.borrow_mut().retain(|n| *n != node);
    }
}

impl NodeView for FakeNode {
    fn channels(&self) -> Vec<ChannelView> {
        self.channels.borrow().clone()
    }
    fn is_connected(&self, node: &PublicKey) -> bool {
        self.connected.borrow().contains(node)
    }
    fn holds(&self, intercept_id: &str) -> Option<InterceptId> {
        let held = self.held.borrow().iter().any(|h| h == intercept_id);
        held.then_some(InterceptId([intercept_id.len() as u8; 32]))
    }
    fn spendable_sat(&self) -> u64 {
        self.spendable_sat
    }
    fn new_intercept_scid(&self) -> u64 {
        let mut scids = self.scids.borrow_mut();
        if scids.len() > 1 {
            scids.remove(0)
        } else {
            scids[0]
        }
    }
    fn new_user_channel_id(&self) -> u128 {
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        id
    }
    fn cltv_expiry_delta(&self) -> u32 {
        72
    }
    fn now(&self) -> Instant {
        self.now.get()
    }
    fn unix_ms(&self) -> u64 {
        self.unix_ms.get()
    }
}

fn client(n: u8) -> PublicKey {
    let key = SecretKey::from_slice(&[n; 32]).unwrap();
    PublicKey::from_secret_key(&Secp256k1::new(), &key)
}

fn menu() -> FeeOption {
    FeeOption {
        min_fee_msat: 10_000,
        proportional_ppm: 10_000,
        valid_for_secs: 600,
        min_lifetime_blocks: 144,
        max_client_to_self_delay: 2016,
        min_payment_size_msat: 1_000_000,
        max_payment_size_msat: 1_000_000_000,
    }
}

fn machine() -> Lsps2Machine {
    machine_with(|_| {})
}

fn machine_with(edit: impl FnOnce(&mut Lsps2Config)) -> Lsps2Machine {
    let mut config = Lsps2Config::with_menu(vec![menu()]);
    edit(&mut config);
    Lsps2Machine::new(Arc::new(config), OrderBook::default())
}

fn params(valid_until_secs: u64) -> LSPS2OpeningFeeParams {
    LSPS2OpeningFeeParams {
        min_fee_msat: 10_000,
        proportional: 10_000,
        valid_until: LSPSDateTime::new_from_duration_since_epoch(Duration::from_secs(
            valid_until_secs,
        )),
        min_lifetime: 144,
        max_client_to_self_delay: 2016,
        min_payment_size_msat: 1_000_000,
        max_payment_size_msat: 1_000_000_000,
        promise: "promise".into(),
    }
}

fn request() -> LSPSRequestId {
    LSPSRequestId("r".into())
}

fn reply<T>() -> (RpcReplyPort<T>, tokio::sync::oneshot::Receiver<T>) {
    let (tx, rx) = tokio::sync::oneshot::channel();
    (tx.into(), rx)
}

/// What the actions are, in order, by name.
fn kinds(actions: &[Action]) -> Vec<&'static str> {
    actions
        .iter()
        .map(|a| match a {
            Action::Save(_) => "save",
            Action::OfferMenu { .. } => "offer",
            Action::RejectToken { .. } => "reject_token",
            Action::RefuseBuy { .. } => "refuse_buy",
            Action::FailHtlcs { .. } => "fail_htlcs",
            Action::CloseChannel { force: false, .. } => "close",
            Action::CloseChannel { force: true, .. } => "force_close",
            Action::Sell { .. } => "sell",
            Action::OpenChannel { .. } => "open",
            Action::ReleaseHtlcs { .. } => "release",
            Action::Abandon { .. } => "abandon",
            Action::Forward { .. } => "forward",
            Action::ForwardHeld { .. } => "forward_held",
            Action::Wake { .. } => "wake",
            Action::CheckAt { .. } => "check_at",
            Action::Done(_) => "done",
            Action::Payable(..) => "payable",
        })
        .collect()
}

fn saved(actions: &[Action]) -> Vec<&JitOrderRecord> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Save(order) => Some(order),
            _ => None,
        })
        .collect()
}

/// A machine holding one order of `client(1)`, bought with an offer valid for an hour.
fn bought(node: &FakeNode) -> (Lsps2Machine, u128) {
    let mut m = machine();
    let valid_until = NOW_MS / 1000 + 3600;
    let actions = m.buy(node, request(), client(1), params(valid_until), None);
    let Some(Action::Sell {
        user_channel_id, ..
    }) = actions.last()
    else {
        panic!("no sale: {:?}", kinds(&actions));
    };
    (m, *user_channel_id)
}

#[test]
fn a_sale_is_recorded_before_the_client_learns_its_scid() {
    let node = FakeNode::new();
    let (m, id) = bought(&node);
    let order = m.book().get(id).unwrap();
    assert_eq!(order.state, JitOrderState::Bought);
    assert_eq!(order.intercept_scid, 100);
    let again = machine().buy(
        &node,
        request(),
        client(1),
        params(NOW_MS / 1000 + 60),
        None,
    );
    assert_eq!(kinds(&again), ["save", "sell"]);
}

#[test]
fn an_scid_already_sold_is_drawn_again() {
    let node = FakeNode::new();
    let (mut m, _) = bought(&node);
    *node.scids.borrow_mut() = vec![100, 100, 105];
    let actions = m.buy(
        &node,
        request(),
        client(2),
        params(NOW_MS / 1000 + 60),
        None,
    );
    let Some(Action::Sell { intercept_scid, .. }) = actions.last() else {
        panic!("no sale");
    };
    assert_eq!(*intercept_scid, 105);
    *node.scids.borrow_mut() = vec![100];
    let none = m.buy(
        &node,
        request(),
        client(3),
        params(NOW_MS / 1000 + 60),
        None,
    );
    assert_eq!(
        refusal(&none),
        Some(BuyRefusal::NoFreeScid),
        "every SCID drawn was sold: no sale, and the client is told"
    );
    assert_eq!(m.book().len(), 2, "nothing recorded");
}

/// The reason of a buy's refusal, if it was refused.
fn refusal(actions: &[Action]) -> Option<BuyRefusal> {
    match actions {
        [Action::RefuseBuy { reason, .. }] => Some(*reason),
        _ => None,
    }
}

/// Whether `client` is offered an empty menu.
fn offered_nothing(m: &Lsps2Machine, node: &FakeNode, client: PublicKey) -> bool {
    let offer = m.get_info(node, request(), client, None);
    let [Action::OfferMenu { options, .. }] = &offer[..] else {
        panic!("{:?}", kinds(&offer));
    };
    options.is_empty()
}

#[test]
fn the_live_orders_are_bounded_over_all_clients() {
    let node = FakeNode::new();
    *node.scids.borrow_mut() = (100..200).collect();
    let mut m = machine_with(|c| c.max_live_orders = 2);
    let valid = NOW_MS / 1000 + 60;
    for n in [1, 2] {
        let sold = m.buy(&node, request(), client(n), params(valid), None);
        assert_eq!(kinds(&sold), ["save", "sell"]);
    }
    let third = m.buy(&node, request(), client(3), params(valid), None);
    assert_eq!(refusal(&third), Some(BuyRefusal::TooManyOrders));
    assert!(offered_nothing(&m, &node, client(3)));
    // Once an offer expires unpaid, its order is no longer live.
    node.later(Duration::from_secs(61));
    let valid = node.unix_ms() / 1000 + 60;
    let again = m.buy(&node, request(), client(3), params(valid), None);
    assert_eq!(kinds(&again), ["save", "sell"]);
}

#[test]
fn a_client_at_its_pending_buy_limit_is_offered_nothing_and_sold_nothing() {
    let node = FakeNode::new();
    let mut m = machine_with(|c| c.max_pending_buys_per_peer = 1);
    let valid = NOW_MS / 1000 + 60;
    assert_eq!(
        kinds(&m.buy(&node, request(), client(1), params(valid), None)),
        ["save", "sell"]
    );
    let refused = m.buy(&node, request(), client(1), params(valid), None);
    assert_eq!(refusal(&refused), Some(BuyRefusal::PendingBuys));
    let offer = m.get_info(&node, request(), client(1), None);
    let [Action::OfferMenu { options, .. }] = &offer[..] else {
        panic!("{:?}", kinds(&offer));
    };
    assert!(options.is_empty());
    let other = m.get_info(&node, request(), client(2), None);
    let [Action::OfferMenu { options, .. }] = &other[..] else {
        panic!("{:?}", kinds(&other));
    };
    assert_eq!(options.len(), 1);
    let token = m.get_info(&node, request(), client(2), Some("guess"));
    assert_eq!(kinds(&token), ["reject_token"]);
}

#[test]
fn a_paid_order_opens_at_once_to_a_connected_client() {
    let node = FakeNode::new();
    let (mut m, id) = bought(&node);
    node.connect(client(1));
    let actions = m.open(&node, client(1), 2_000_000, 30_000, id);
    assert_eq!(kinds(&actions), ["save", "open"]);
    assert_eq!(saved(&actions)[0].state, JitOrderState::Opening);
    let Action::OpenChannel { channel_sat, .. } = &actions[1] else {
        unreachable!()
    };
    assert_eq!(*channel_sat, Lsps2Config::DEFAULT_MIN_CHANNEL_SAT);
    node.channel(id, client(1), false);
    assert!(
        m.open(&node, client(1), 2_000_000, 30_000, id).is_empty(),
        "replayed event"
    );
}

#[test]
fn an_open_waits_for_an_absent_client_and_opens_when_it_connects() {
    let node = FakeNode::new();
    let (mut m, id) = bought(&node);
    let actions = m.open(&node, client(1), 2_000_000, 30_000, id);
    assert_eq!(kinds(&actions), ["save", "wake", "check_at"]);
    let Action::CheckAt { at, .. } = actions[2] else {
        unreachable!()
    };
    assert_eq!(
        at,
        node.now() + Duration::from_secs(30),
        "a timer for the deadline only"
    );
    assert!(
        m.client_connected(&node, client(2)).is_empty(),
        "another client"
    );
    node.connect(client(1));
    assert_eq!(kinds(&m.client_connected(&node, client(1))), ["open"]);
    assert!(
        m.check(&node, id).is_empty(),
        "the deadline's timer finds nothing waiting"
    );
}

#[test]
fn an_open_whose_client_never_comes_fails_at_its_deadline() {
    let node = FakeNode::new();
    let (mut m, id) = bought(&node);
    m.open(&node, client(1), 2_000_000, 30_000, id);
    node.later(Duration::from_secs(30));
    let actions = m.check(&node, id);
    assert_eq!(kinds(&actions), ["save", "release"]);
    let order = saved(&actions)[0];
    assert_eq!(order.state, JitOrderState::Bought);
    assert_eq!(
        order.failure.as_deref(),
        Some("the client did not connect in time")
    );
}

#[test]
fn refusals_for_good_abandon_and_for_now_release() {
    let node = FakeNode::new();
    node.connect(client(1));
    let (mut m, id) = bought(&node);
    m.config = Arc::new(Lsps2Config {
        max_committed_sat: 1,
        ..(*m.config).clone()
    });
    let now = m.open(&node, client(1), 2_000_000, 30_000, id);
    assert_eq!(kinds(&now), ["save", "release"]);
    assert_eq!(saved(&now)[0].state, JitOrderState::Bought);
    m.config = Arc::new(Lsps2Config {
        deny: vec![client(1)],
        ..Lsps2Config::with_menu(vec![menu()])
    });
    let good = m.open(&node, client(1), 2_000_000, 30_000, id);
    assert_eq!(kinds(&good), ["save", "abandon"]);
    assert_eq!(saved(&good)[0].state, JitOrderState::Failed);
}

#[test]
fn a_payment_after_the_offer_expired_is_refused_for_good() {
    let node = FakeNode::new();
    node.connect(client(1));
    let mut m = machine();
    let actions = m.buy(&node, request(), client(1), params(NOW_MS / 1000 - 1), None);
    let Some(Action::Sell {
        user_channel_id, ..
    }) = actions.last()
    else {
        panic!()
    };
    let refused = m.open(&node, client(1), 2_000_000, 30_000, *user_channel_id);
    assert_eq!(kinds(&refused), ["save", "abandon"]);
}

#[test]
fn a_ready_channel_forwards_once_live_waiting_for_an_absent_client() {
    let node = FakeNode::new();
    let (mut m, id) = bought(&node);
    node.connect(client(1));
    m.open(&node, client(1), 2_000_000, 30_000, id);
    node.connected.borrow_mut().clear();
    let channel = node.channel(id, client(1), false);
    let (done, mut answered) = reply();
    let actions = m.channel_ready(&node, id, channel.channel_id, client(1), done);
    assert_eq!(kinds(&actions), ["save", "done", "check_at"]);
    assert!(saved(&actions)[0].channel_ready_at_ms.is_some());
    assert!(
        answered.try_recv().is_err(),
        "answered by the actor, after the save"
    );

    // The client connects; its channel is re-established a round trip later.
    node.connect(client(1));
    let soon = m.client_connected(&node, client(1));
    let [Action::CheckAt { at, .. }] = soon[..] else {
        panic!("{:?}", kinds(&soon));
    };
    assert_eq!(at, node.now() + RECHECK_AFTER_RECONNECT);
    node.channel(id, client(1), true);
    assert_eq!(kinds(&m.check(&node, id)), ["forward"]);
}

#[test]
fn a_ready_channel_forwards_regardless_at_the_deadline() {
    let node = FakeNode::new();
    let (mut m, id) = bought(&node);
    node.connect(client(1));
    m.open(&node, client(1), 2_000_000, 30_000, id);
    node.connected.borrow_mut().clear();
    let channel = node.channel(id, client(1), false);
    let (done, _answered) = reply();
    m.channel_ready(&node, id, channel.channel_id, client(1), done);
    node.later(Duration::from_secs(30));
    assert_eq!(kinds(&m.check(&node, id)), ["forward"]);
}

#[test]
fn what_ldk_still_holds_is_forwarded_when_lightning_liquidity_does_not() {
    let node = FakeNode::new();
    let (mut m, id) = bought(&node);
    for (i, msat) in [(1u8, 1_200_000u64), (2, 800_000)] {
        let htlc = HeldHtlc {
            intercept_id: format!("{i:02x}"),
            payment_hash: "aa".into(),
            expected_outbound_msat: msat,
        };
        let (port, _) = reply();
        m.intercepted(&node, 100, htlc, port);
    }
    node.connect(client(1));
    m.open(&node, client(1), 1_970_000, 30_000, id);
    node.held.borrow_mut().push("02".into());
    let actions = m.not_forwarded(&node, id, ChannelId([7; 32]), client(1));
    let [Action::ForwardHeld { htlcs, .. }] = &actions[..] else {
        panic!("{:?}", kinds(&actions));
    };
    assert_eq!(htlcs.len(), 1, "only the HTLC LDK still holds");
    assert_eq!(htlcs[0].1, 800_000 - 12_000, "its share of the fee taken");
}

#[test]
fn an_intercepted_htlc_is_recorded_and_answered_whether_its_scid_is_sold() {
    let node = FakeNode::new();
    let (mut m, id) = bought(&node);
    let htlc = HeldHtlc {
        intercept_id: "01".into(),
        payment_hash: "aa".into(),
        expected_outbound_msat: 1_000_000,
    };
    let (port, _) = reply();
    let actions = m.intercepted(&node, 100, htlc.clone(), port);
    assert_eq!(kinds(&actions), ["save", "payable"]);
    assert!(matches!(actions[1], Action::Payable(_, true)));
    assert_eq!(m.book().get(id).unwrap().held_htlcs, vec![htlc.clone()]);
    let (port, _) = reply();
    assert_eq!(
        kinds(&m.intercepted(&node, 100, htlc.clone(), port)),
        ["payable"],
        "held once"
    );
    let (port, _) = reply();
    let unknown = HeldHtlc {
        intercept_id: "09".into(),
        ..htlc
    };
    let actions = m.intercepted(&node, 999, unknown, port);
    assert!(matches!(actions[..], [Action::Payable(_, false)]));
}

#[test]
fn a_channel_closed_before_use_fails_its_open() {
    let node = FakeNode::new();
    let (mut m, id) = bought(&node);
    node.connect(client(1));
    m.open(&node, client(1), 2_000_000, 30_000, id);
    let (port, _) = reply();
    let actions = m.channel_closed(id, client(1), "peer went away".into(), port);
    assert_eq!(kinds(&actions), ["save", "release", "done"]);
    let (port, _) = reply();
    assert_eq!(
        kinds(&m.channel_closed(id, client(1), "again".into(), port)),
        ["done"]
    );
}

#[test]
fn a_restart_reopens_a_lost_open_while_ldk_holds_its_payment_and_fails_it_otherwise() {
    let node = FakeNode::new();
    node.connect(client(1));
    let (mut m, id) = bought(&node);
    let htlc = HeldHtlc {
        intercept_id: "01".into(),
        payment_hash: "aa".into(),
        expected_outbound_msat: 2_000_000,
    };
    let (port, _) = reply();
    m.intercepted(&node, 100, htlc, port);
    m.open(&node, client(1), 1_970_000, 30_000, id);
    let book = OrderBook::new(m.book().newest_first());

    let mut restarted = Lsps2Machine::new(Arc::clone(&m.config), book.clone());
    node.held.borrow_mut().push("01".into());
    let reopened = restarted.recover(&node);
    assert_eq!(kinds(&reopened), ["save", "open"]);

    let mut restarted = Lsps2Machine::new(Arc::clone(&m.config), book);
    node.held.borrow_mut().clear();
    let failed = restarted.recover(&node);
    assert_eq!(kinds(&failed), ["save", "release"]);
    assert_eq!(
        saved(&failed)[0].failure.as_deref(),
        Some("the open was lost in a restart")
    );
}

#[test]
fn a_restart_opens_for_a_bought_order_whose_payment_is_held_whole() {
    let node = FakeNode::new();
    node.connect(client(1));
    let (mut m, id) = bought(&node);
    let htlc = HeldHtlc {
        intercept_id: "01".into(),
        payment_hash: "aa".into(),
        expected_outbound_msat: 2_000_000,
    };
    let (port, _) = reply();
    m.intercepted(&node, 100, htlc, port);
    node.held.borrow_mut().push("01".into());
    let mut restarted = Lsps2Machine::new(Arc::clone(&m.config), m.book().clone());
    let actions = restarted.recover(&node);
    assert_eq!(kinds(&actions), ["save", "open"]);
    assert_eq!(saved(&actions)[0].order_id, order_id(id));
    assert_eq!(
        saved(&actions)[0].opening_fee_msat,
        Some(20_000),
        "1 % of 2,000,000 msat"
    );
}

#[test]
fn a_restart_forwards_over_a_ready_channel_of_an_opening_order() {
    let node = FakeNode::new();
    node.connect(client(1));
    let (mut m, id) = bought(&node);
    m.open(&node, client(1), 2_000_000, 30_000, id);
    node.channel(id, client(1), true);
    let mut restarted = Lsps2Machine::new(Arc::clone(&m.config), m.book().clone());
    assert_eq!(kinds(&restarted.recover(&node)), ["forward"]);
}

#[test]
fn skims_forward_the_order() {
    let node = FakeNode::new();
    let (mut m, id) = bought(&node);
    let (port, _) = reply();
    let actions = m.skimmed(&node, id, 30_000, port);
    assert_eq!(kinds(&actions), ["save", "done"]);
    assert_eq!(saved(&actions)[0].state, JitOrderState::Forwarded);
    let (port, _) = reply();
    assert_eq!(
        kinds(&m.skimmed(&node, 12345, 1, port)),
        ["done"],
        "not a JIT channel"
    );
}

/// `client(n)` connected, holding an order bought with an offer valid for a day, paid
/// `payment_msat` and opening its channel; the order's id.
fn opening_order(m: &mut Lsps2Machine, node: &FakeNode, n: u8, payment_msat: u64) -> u128 {
    node.connect(client(n));
    let valid = node.unix_ms() / 1000 + 86_400;
    let sold = m.buy(node, request(), client(n), params(valid), None);
    let Some(Action::Sell {
        user_channel_id, ..
    }) = sold.last()
    else {
        panic!("no sale: {:?}", kinds(&sold));
    };
    let id = *user_channel_id;
    let opened = m.open(node, client(n), payment_msat, 30_000, id);
    assert_eq!(kinds(&opened), ["save", "open"]);
    id
}

#[test]
fn capacity_opened_and_not_claimed_is_budgeted_over_a_sliding_window() {
    let node = FakeNode::new();
    *node.scids.borrow_mut() = (100..200).collect();
    // Room for two 100,000 sat channels unclaimed, not three.
    let mut m = machine_with(|c| {
        c.max_unclaimed_sat = 250_000;
        c.unclaimed_window_secs = 3_600;
        c.unclaimed_close_after_secs = 600;
    });
    // Client 3 buys while there is room; then two channels open and are not claimed.
    node.connect(client(3));
    let valid = node.unix_ms() / 1000 + 86_400;
    let sold = m.buy(&node, request(), client(3), params(valid), None);
    let Some(Action::Sell {
        user_channel_id: third,
        ..
    }) = sold.last()
    else {
        panic!("{:?}", kinds(&sold));
    };
    let first = opening_order(&mut m, &node, 1, 2_000_000);
    opening_order(&mut m, &node, 2, 2_000_000);
    assert_eq!(m.summary(&node).unclaimed_sat, 200_000);

    // A third open is refused for now: the payment goes back, the payer may retry.
    let third = *third;
    let refused = m.open(&node, client(3), 2_000_000, 30_000, third);
    assert_eq!(kinds(&refused), ["save", "release"]);
    let order = saved(&refused)[0];
    assert_eq!(order.state, JitOrderState::Bought);
    assert!(
        order.failure.as_deref().unwrap_or("").contains("budget"),
        "{order:?}"
    );
    // And no one may buy: the menu is empty, a buy is refused saying why.
    assert!(offered_nothing(&m, &node, client(4)));
    let buy = m.buy(&node, request(), client(4), params(valid), None);
    assert_eq!(refusal(&buy), Some(BuyRefusal::UnclaimedBudget));

    // A client claims: its capacity is no longer unclaimed, and a channel fits again.
    let (port, _) = reply();
    m.skimmed(&node, first, 30_000, port);
    assert_eq!(m.summary(&node).unclaimed_sat, 100_000);
    assert_eq!(
        kinds(&m.open(&node, client(3), 2_000_000, 30_000, third)),
        ["save", "open"]
    );

    // Clients 2 and 3 never claim: given up, their channels closed, they still count...
    node.later(Duration::from_secs(600));
    let swept = m.sweep(&node);
    assert_eq!(kinds(&swept), ["save", "abandon", "save", "abandon"]);
    assert_eq!(m.summary(&node).unclaimed_sat, 200_000);
    let buy = m.buy(&node, request(), client(4), params(valid), None);
    assert_eq!(refusal(&buy), Some(BuyRefusal::UnclaimedBudget));
    // ... until the window after their opens has passed.
    node.later(Duration::from_secs(3_000));
    assert_eq!(
        m.summary(&node).unclaimed_sat,
        200_000,
        "an hour to the millisecond"
    );
    node.later(Duration::from_millis(1));
    assert_eq!(m.summary(&node).unclaimed_sat, 0);
    let buy = m.buy(&node, request(), client(4), params(valid), None);
    assert_eq!(kinds(&buy), ["save", "sell"]);
}

#[test]
fn a_buy_announcing_a_payment_too_large_for_the_unclaimed_budget_is_refused() {
    let node = FakeNode::new();
    let mut m = machine_with(|c| c.max_unclaimed_sat = 500_000);
    let valid = NOW_MS / 1000 + 60;
    let big = m.buy(
        &node,
        request(),
        client(1),
        params(valid),
        Some(600_000_000),
    );
    assert_eq!(refusal(&big), Some(BuyRefusal::UnclaimedBudget));
    let small = m.buy(
        &node,
        request(),
        client(1),
        params(valid),
        Some(100_000_000),
    );
    assert_eq!(kinds(&small), ["save", "sell"]);
}

#[test]
fn a_channel_never_claimed_is_closed_after_the_timeout_and_its_order_ends_unclaimed() {
    let node = FakeNode::new();
    *node.scids.borrow_mut() = (100..200).collect();
    let mut m = machine_with(|c| c.unclaimed_close_after_secs = 600);
    let id = opening_order(&mut m, &node, 1, 2_000_000);
    let htlc = HeldHtlc {
        intercept_id: "01".into(),
        payment_hash: "aa".into(),
        expected_outbound_msat: 2_000_000,
    };
    let (port, _) = reply();
    m.intercepted(&node, 100, htlc, port);
    // The channel is ready and the payment went to the client, which never claims it
    // (LDK still holds the intercepted HTLC: the client failed it back).
    let channel = node.channel(id, client(1), true);
    let (done, _) = reply();
    assert!(
        kinds(&m.channel_ready(&node, id, channel.channel_id, client(1), done))
            .contains(&"forward")
    );
    node.held.borrow_mut().push("01".into());

    node.later(Duration::from_secs(599));
    assert!(m.sweep(&node).is_empty(), "not yet");
    node.later(Duration::from_secs(1));
    let swept = m.sweep(&node);
    assert_eq!(kinds(&swept), ["save", "fail_htlcs", "close"]);
    let order = saved(&swept)[0];
    assert_eq!(order.state, JitOrderState::Unclaimed);
    assert!(
        order
            .failure
            .as_deref()
            .unwrap_or("")
            .contains("did not claim"),
        "{order:?}"
    );
    assert_eq!(order.ended_at_ms, Some(node.unix_ms()));
    let Action::CloseChannel { channel_id, .. } = swept[2] else {
        unreachable!()
    };
    assert_eq!(channel_id, channel.channel_id);
    assert_eq!(m.summary(&node).orders_unclaimed, 1);

    // The cooperative close does not finish: by force after the grace, once.
    node.later(COOPERATIVE_CLOSE_GRACE - Duration::from_secs(1));
    assert!(m.sweep(&node).is_empty());
    node.later(Duration::from_secs(1));
    assert_eq!(kinds(&m.sweep(&node)), ["force_close"]);
    assert!(m.sweep(&node).is_empty());

    // The channel closes: the order stays unclaimed, nothing more to do.
    node.channels.borrow_mut().clear();
    let (port, _) = reply();
    assert_eq!(
        kinds(&m.channel_closed(id, client(1), "closed".into(), port)),
        ["done"]
    );
    assert_eq!(
        m.book().get(id).map(|o| o.state),
        Some(JitOrderState::Unclaimed)
    );
    assert!(m.sweep(&node).is_empty());
}

#[test]
fn an_unclaimed_channel_of_an_absent_client_is_closed_by_force_and_an_unready_one_abandoned() {
    let node = FakeNode::new();
    *node.scids.borrow_mut() = (100..200).collect();
    let mut m = machine_with(|c| c.unclaimed_close_after_secs = 600);
    let gone = opening_order(&mut m, &node, 1, 2_000_000);
    node.channel(gone, client(1), true);
    node.disconnect(client(1));
    // Still being opened: lightning-liquidity has not forwarded anything over it.
    let unready = opening_order(&mut m, &node, 2, 2_000_000);
    let mut channel = node.channel(unready, client(2), false);
    channel.ready = false;
    node.channels
        .borrow_mut()
        .retain(|c| c.user_channel_id != unready);
    node.channels.borrow_mut().push(channel);

    node.later(Duration::from_secs(600));
    let swept = m.sweep(&node);
    let mut kinds = kinds(&swept);
    kinds.sort();
    assert_eq!(kinds, ["abandon", "close", "force_close", "save", "save"]);
    for action in &swept {
        match action {
            Action::CloseChannel {
                user_channel_id,
                force,
                ..
            } => assert_eq!(*force, *user_channel_id == gone),
            Action::Abandon {
                user_channel_id, ..
            } => assert_eq!(*user_channel_id, unready),
            _ => {}
        }
    }
}

#[test]
fn ended_orders_leave_memory_after_the_retention_with_their_scids_still_taken() {
    let node = FakeNode::new();
    *node.scids.borrow_mut() = (100..200).collect();
    let mut m = machine_with(|c| c.order_retention_secs = 3_600);
    let id = opening_order(&mut m, &node, 1, 2_000_000);
    let (port, _) = reply();
    m.skimmed(&node, id, 20_000, port);
    node.channel(id, client(1), true);
    let scid = m.book().get(id).unwrap().intercept_scid;
    let before = m.summary(&node);

    node.later(Duration::from_secs(3_599));
    m.sweep(&node);
    assert!(m.book().get(id).is_some(), "kept for the retention");
    node.later(Duration::from_secs(1));
    assert!(m.sweep(&node).is_empty());
    assert!(m.book().get(id).is_none(), "pruned");
    assert!(m.book().scid_taken(scid), "lightning-liquidity keeps it");
    let after = m.summary(&node);
    assert_eq!(after.orders_in_memory, 0);
    assert_eq!(
        (
            after.orders_forwarded,
            after.revenue_msat,
            after.committed_sat
        ),
        (
            before.orders_forwarded,
            before.revenue_msat,
            before.committed_sat
        )
    );

    // A restart loads the store and prunes the same way.
    let mut failed = crate::lsps2::order::unknown(7, &client(1).to_string(), 0);
    failed.state = JitOrderState::Failed;
    failed.ended_at_ms = Some(node.unix_ms() - 3_600_000);
    let mut restarted = Lsps2Machine::new(Arc::clone(&m.config), OrderBook::new([failed]));
    restarted.recover(&node);
    assert!(restarted.book().is_empty());
    assert_eq!(restarted.summary(&node).orders_failed, 1);
}
