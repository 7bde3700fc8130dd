//! The LSPS2 service's decisions, as a state machine: each input (a lightning-liquidity
//! event, an LDK event, a client connecting, a timer) updates the order book and returns
//! the [`Action`]s that carry the decision out. Nothing here does I/O: what it needs to
//! know of the node it asks a [`NodeView`], and the actor
//! ([`Lsps2Service`](super::Lsps2Service)) performs the actions.
//!
//! The book is updated as decisions are made; every change is also an [`Action::Save`],
//! and an action that makes a change visible outside (an answer to the client, an open, a
//! released HTLC, a reply to LDK's event handler) comes after the save that records it.
//! If a save fails, the actions after it are dropped and the service restarts from the
//! store (see [`super::execute`]).
//!
//! - [`sell`]: menus and buys;
//! - [`open`]: opening a paid order's channel, waiting for an absent client;
//! - [`forward`]: forwarding over a ready channel, skims, closes, intercepted HTLCs;
//! - [`restart`]: what a restart left half done;
//! - [`sweep`]: the periodic timer: channels never claimed closed, ended orders pruned.

mod forward;
mod open;
mod restart;
mod sell;
mod sweep;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bitcoin::secp256k1::PublicKey;
use lightning::ln::channelmanager::InterceptId;
use lightning::ln::types::ChannelId;
use lightning_liquidity::lsps0::ser::LSPSRequestId;
use ractor::RpcReplyPort;
use sluice_storage::JitOrderRecord;

use super::book::{OrderBook, Retention};
use super::config::{FeeOption, Lsps2Config};
use super::limits::{BuyRefusal, Commitments};
use crate::NodeError;

/// How soon a forward waiting for its channel to come back after the client reconnected
/// looks again: the channel is live once both sides re-established it, a round trip after
/// the connection.
pub const RECHECK_AFTER_RECONNECT: Duration = Duration::from_millis(10);

/// How long a cooperative close of a channel given up unclaimed may take before the
/// service closes it by force: a client that is connected but does not answer the
/// shutdown, or holds an HTLC the close must wait for, cannot keep the capital.
pub const COOPERATIVE_CLOSE_GRACE: Duration = Duration::from_secs(300);

/// A channel as the service sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChannelView {
    /// LDK's `user_channel_id` (the order's, for a JIT channel).
    pub user_channel_id: u128,
    /// The channel.
    pub channel_id: ChannelId,
    /// The peer.
    pub counterparty: PublicKey,
    /// Its capacity.
    pub value_sat: u64,
    /// Whether `channel_ready` was exchanged.
    pub ready: bool,
    /// Whether it can carry an HTLC now: ready, the peer connected and the channel
    /// re-established.
    pub live: bool,
}

/// What the service reads of the node to decide.
pub trait NodeView {
    /// Every channel (opening or open).
    fn channels(&self) -> Vec<ChannelView>;
    /// Whether `node` is connected.
    fn is_connected(&self, node: &PublicKey) -> bool;
    /// Whether LDK still holds the intercepted HTLC `intercept_id` (hex), neither forwarded
    /// nor failed.
    fn holds(&self, intercept_id: &str) -> Option<InterceptId>;
    /// What the wallet can spend on a channel.
    fn spendable_sat(&self) -> u64;
    /// An intercept SCID from LDK (random; perhaps one sold before).
    fn new_intercept_scid(&self) -> u64;
    /// A fresh random `user_channel_id`.
    fn new_user_channel_id(&self) -> u128;
    /// The CLTV delta the client's invoice must leave the LSP.
    fn cltv_expiry_delta(&self) -> u32;
    /// Now, for deadlines.
    fn now(&self) -> Instant;
    /// Now, as the ledger records it: milliseconds since the Unix epoch.
    fn unix_ms(&self) -> u64;
}

/// What a decision asks the actor to do, in order.
#[derive(Debug)]
pub enum Action {
    /// Store the order durably (and nothing after this action before it is).
    Save(JitOrderRecord),
    /// Answer `lsps2.get_info` with these offers (perhaps none).
    OfferMenu {
        /// The client.
        client: PublicKey,
        /// Its request.
        request_id: LSPSRequestId,
        /// The offers.
        options: Vec<FeeOption>,
        /// When they were made (time since the epoch), which dates them.
        made_at: Duration,
    },
    /// Answer `lsps2.buy` with LSPS0's `client_rejected` error: the client may not buy now.
    RefuseBuy {
        /// The client.
        client: PublicKey,
        /// Its request.
        request_id: LSPSRequestId,
        /// Why.
        reason: BuyRefusal,
    },
    /// Answer `lsps2.get_info`: the token is not recognised.
    RejectToken {
        /// The client.
        client: PublicKey,
        /// Its request.
        request_id: LSPSRequestId,
    },
    /// Answer `lsps2.buy` with the order's intercept SCID.
    Sell {
        /// The client.
        client: PublicKey,
        /// Its request.
        request_id: LSPSRequestId,
        /// The SCID sold.
        intercept_scid: u64,
        /// The CLTV delta the invoice must leave.
        cltv_expiry_delta: u32,
        /// Whether the funding waits for the client to claim the fee.
        client_trusts_lsp: bool,
        /// The order.
        user_channel_id: u128,
    },
    /// Open the order's zero-conf channel. A failure comes back as
    /// [`Lsps2Msg::OpenFailed`](super::Lsps2Msg::OpenFailed).
    OpenChannel {
        /// The client.
        client: PublicKey,
        /// The capacity.
        channel_sat: u64,
        /// The order.
        user_channel_id: u128,
    },
    /// Tell lightning-liquidity the open failed: the held HTLCs go back and the SCID may be
    /// paid again.
    ReleaseHtlcs {
        /// The client.
        client: PublicKey,
        /// The order.
        user_channel_id: u128,
    },
    /// Tell lightning-liquidity the open is abandoned: the HTLCs go back, the SCID is dropped.
    Abandon {
        /// The client.
        client: PublicKey,
        /// The order.
        user_channel_id: u128,
    },
    /// Have lightning-liquidity forward the held payment over the ready channel. If it does
    /// not, that comes back as [`Lsps2Msg::NotForwarded`](super::Lsps2Msg::NotForwarded).
    Forward {
        /// The order (or any channel's `user_channel_id`).
        user_channel_id: u128,
        /// The channel.
        channel_id: ChannelId,
        /// The client.
        client: PublicKey,
    },
    /// Forward HTLCs LDK still holds over the channel, as lightning-liquidity did before a
    /// restart: (intercept id, amount to forward) each.
    ForwardHeld {
        /// The order.
        user_channel_id: u128,
        /// The channel.
        channel_id: ChannelId,
        /// The client.
        client: PublicKey,
        /// What to forward.
        htlcs: Vec<(InterceptId, u64)>,
    },
    /// Fail back intercepted HTLCs LDK still holds for the order.
    FailHtlcs {
        /// The order.
        user_channel_id: u128,
        /// The HTLCs.
        htlcs: Vec<InterceptId>,
    },
    /// Close the order's channel: cooperatively, or by force (the client is not connected,
    /// or did not close cooperatively in [`COOPERATIVE_CLOSE_GRACE`]). A cooperative close
    /// LDK refuses is made by force.
    CloseChannel {
        /// The order.
        user_channel_id: u128,
        /// The channel.
        channel_id: ChannelId,
        /// The client.
        client: PublicKey,
        /// Whether to close by force.
        force: bool,
    },
    /// Notify an offline client's webhooks that a payment waits (LSPS5).
    Wake {
        /// The client.
        client: PublicKey,
    },
    /// Look at the order again at `at`: a deadline, or a re-check.
    CheckAt {
        /// The order.
        user_channel_id: u128,
        /// When.
        at: Instant,
    },
    /// Answer LDK's event handler: the event is recorded.
    Done(RpcReplyPort<Result<(), NodeError>>),
    /// Answer LDK's event handler: whether an intercepted HTLC's SCID can be paid.
    Payable(RpcReplyPort<bool>, bool),
}

/// What a waiting order waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Waiting {
    /// A paid open waits for its client to connect; `woken` once its webhooks were told.
    Open {
        /// Whether the client's webhooks were notified.
        woken: bool,
    },
    /// A ready channel waits for its client before the payment is forwarded over it.
    Forward {
        /// The channel.
        channel_id: ChannelId,
    },
}

/// An order waiting for its client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Wait {
    client: PublicKey,
    deadline: Instant,
    what: Waiting,
}

/// A close the service started of a channel given up unclaimed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Closing {
    /// When it started.
    since: Instant,
    /// Whether it is a force close.
    forced: bool,
}

/// The service's decisions over its order book.
pub struct Lsps2Machine {
    config: Arc<Lsps2Config>,
    book: OrderBook,
    waits: HashMap<u128, Wait>,
    closing: HashMap<u128, Closing>,
}

impl Lsps2Machine {
    /// A machine over `book`, selling what `config` says.
    pub fn new(config: Arc<Lsps2Config>, book: OrderBook) -> Self {
        Lsps2Machine {
            config,
            book,
            waits: HashMap::new(),
            closing: HashMap::new(),
        }
    }

    /// The order book.
    pub fn book(&self) -> &OrderBook {
        &self.book
    }

    /// How long from `now` a JIT flow waits for an absent client.
    fn client_deadline(&self, now: Instant) -> Instant {
        now + Duration::from_secs(self.config.client_wait_secs)
    }

    /// Puts `order` in the book and returns the action that stores it.
    fn save(&mut self, user_channel_id: u128, order: JitOrderRecord) -> Action {
        self.book.put(user_channel_id, order.clone());
        Action::Save(order)
    }

    /// Every open channel's capacity by `user_channel_id`.
    fn open_sat(view: &dyn NodeView) -> HashMap<u128, u64> {
        view.channels()
            .iter()
            .map(|ch| (ch.user_channel_id, ch.value_sat))
            .collect()
    }

    /// The `user_channel_id` of every open channel.
    fn open_channels(view: &dyn NodeView) -> HashSet<u128> {
        view.channels()
            .iter()
            .map(|ch| ch.user_channel_id)
            .collect()
    }

    /// The sliding window of the unclaimed budget, in milliseconds.
    fn unclaimed_window_ms(&self) -> u64 {
        self.config.unclaimed_window_secs.saturating_mul(1000)
    }

    /// How long orders stay and count in the book.
    fn retention(&self) -> Retention {
        Retention {
            retention_ms: self.config.order_retention_secs.saturating_mul(1000),
            unclaimed_window_ms: self.unclaimed_window_ms(),
        }
    }

    /// What is committed now, leaving out the order `except` (the wallet's funds are not
    /// asked for: `spendable_sat` is 0).
    fn commitments(&self, view: &dyn NodeView, except: Option<u128>) -> Commitments {
        self.book.commitments(
            &Self::open_sat(view),
            view.unix_ms(),
            self.unclaimed_window_ms(),
            except,
        )
    }

    /// Totals over the book at the node's present.
    pub fn summary(&self, view: &dyn NodeView) -> super::Lsps2Summary {
        self.book.summary(
            &Self::open_sat(view),
            view.unix_ms(),
            self.unclaimed_window_ms(),
        )
    }

    /// The channel of order `user_channel_id` to `client`, if there is one.
    fn channel_of(
        view: &dyn NodeView,
        client: &PublicKey,
        user_channel_id: u128,
    ) -> Option<ChannelView> {
        view.channels()
            .into_iter()
            .find(|ch| ch.user_channel_id == user_channel_id && ch.counterparty == *client)
    }

    /// A client connected: every flow waiting for it goes on.
    pub fn client_connected(&mut self, view: &dyn NodeView, client: PublicKey) -> Vec<Action> {
        let waiting: Vec<u128> = self
            .waits
            .iter()
            .filter(|(_, w)| w.client == client)
            .map(|(id, _)| *id)
            .collect();
        waiting
            .into_iter()
            .flat_map(|id| self.check(view, id))
            .collect()
    }

    /// A timer set by [`Action::CheckAt`] fired: the order's wait goes on, succeeds or
    /// times out.
    pub fn check(&mut self, view: &dyn NodeView, user_channel_id: u128) -> Vec<Action> {
        let Some(wait) = self.waits.get(&user_channel_id).copied() else {
            return Vec::new();
        };
        match wait.what {
            Waiting::Open { .. } => self.start_open(view, user_channel_id),
            Waiting::Forward { channel_id } => {
                self.forward_when_live(view, user_channel_id, channel_id, wait.client)
            }
        }
    }
}

/// The client of `order`, parsed.
fn client_of(order: &JitOrderRecord) -> Option<PublicKey> {
    order.client_node_id.parse().ok()
}

/// Counts a refusal by reason.
fn refused(reason: &'static str) {
    metrics::counter!("sluice_lsps2_refusals_total", "reason" => reason).increment(1);
}
