//! After the open: forwarding the payment over the ready channel once the client can take
//! it, the fee skimmed, a channel closed before use, HTLCs intercepted and refused.

use bitcoin::hex::DisplayHex;
use bitcoin::secp256k1::PublicKey;
use lightning::ln::types::ChannelId;
use ractor::RpcReplyPort;
use sluice_storage::{HeldHtlc, JitOrderState};

use super::{Action, Lsps2Machine, NodeView, Wait, Waiting, RECHECK_AFTER_RECONNECT};
use crate::lsps2::order::{self, failed_for_good, holding, ready, skimmed};
use crate::lsps2::recovery::fee_payment;
use crate::NodeError;

impl Lsps2Machine {
    /// A channel is ready (LDK's `ChannelReady`): a JIT order records it, LDK's handler is
    /// answered, and the order's held payment is forwarded over it once the client can
    /// take it. For other channels lightning-liquidity finds nothing to forward.
    pub fn channel_ready(
        &mut self,
        view: &dyn NodeView,
        user_channel_id: u128,
        channel_id: ChannelId,
        client: PublicKey,
        reply: RpcReplyPort<Result<(), NodeError>>,
    ) -> Vec<Action> {
        let mut actions = Vec::new();
        let now_ms = view.unix_ms();
        let channel = channel_id.0.to_lower_hex_string();
        let readied = self
            .book
            .get(user_channel_id)
            .and_then(|o| ready(o.clone(), channel, now_ms));
        if let Some(order) = readied {
            if let Some(started) = order.open_started_at_ms {
                let seconds = now_ms.saturating_sub(started) as f64 / 1000.0;
                metrics::histogram!("sluice_lsps2_open_seconds").record(seconds);
            }
            actions.push(self.save(user_channel_id, order));
        }
        actions.push(Action::Done(reply));
        actions.extend(self.forward_over(view, user_channel_id, channel_id, client));
        actions
    }

    /// Forwards the held payment of order `user_channel_id` over its ready channel, waiting
    /// up to `client_wait_secs` for the channel to be live.
    pub(super) fn forward_over(
        &mut self,
        view: &dyn NodeView,
        user_channel_id: u128,
        channel_id: ChannelId,
        client: PublicKey,
    ) -> Vec<Action> {
        let deadline = self.client_deadline(view.now());
        self.waits.insert(
            user_channel_id,
            Wait {
                client,
                deadline,
                what: Waiting::Forward { channel_id },
            },
        );
        self.forward_when_live(view, user_channel_id, channel_id, client)
    }

    /// Forwards over a ready channel once it can carry the payment. LDK fails a forward to
    /// an absent peer back to the payer, and after a restart it replays `ChannelReady`
    /// before peers reconnect, so an opening order whose channel is not live waits: for the
    /// client to connect, then for the channel to be re-established, until its deadline,
    /// when the forward goes ahead regardless.
    pub(super) fn forward_when_live(
        &mut self,
        view: &dyn NodeView,
        user_channel_id: u128,
        channel_id: ChannelId,
        client: PublicKey,
    ) -> Vec<Action> {
        let Some(wait) = self.waits.remove(&user_channel_id) else {
            return Vec::new();
        };
        let opening = self
            .book
            .get(user_channel_id)
            .is_some_and(|o| o.state == JitOrderState::Opening);
        let now = view.now();
        if opening && now < wait.deadline {
            let Some(channel) = Self::channel_of(view, &client, user_channel_id) else {
                // Closed meanwhile: its close fails the open.
                return Vec::new();
            };
            if !channel.live {
                self.waits.insert(user_channel_id, wait);
                // Connected but not yet re-established: that takes a round trip. Absent:
                // the client's connecting wakes this up, or the deadline does.
                let at = if view.is_connected(&client) {
                    now + RECHECK_AFTER_RECONNECT
                } else {
                    wait.deadline
                };
                return vec![Action::CheckAt {
                    user_channel_id,
                    at,
                }];
            }
        }
        vec![Action::Forward {
            user_channel_id,
            channel_id,
            client,
        }]
    }

    /// lightning-liquidity did not forward over a ready channel: the channel is not a JIT
    /// channel, or it forwarded before a restart that LDK's state did not see. For an
    /// opening order, what LDK still holds of the payment that pays the fee goes out now,
    /// as lightning-liquidity sent it.
    pub fn not_forwarded(
        &mut self,
        view: &dyn NodeView,
        user_channel_id: u128,
        channel_id: ChannelId,
        client: PublicKey,
    ) -> Vec<Action> {
        let Some(order) = self.book.get(user_channel_id) else {
            return Vec::new();
        };
        let (JitOrderState::Opening, Some(fee)) = (order.state, order.opening_fee_msat) else {
            return Vec::new();
        };
        let htlcs: Vec<_> = fee_payment(&order.held_htlcs, fee)
            .into_iter()
            .filter_map(|(id, amount_msat)| Some((view.holds(id)?, amount_msat)))
            .collect();
        if htlcs.is_empty() {
            return Vec::new();
        }
        vec![Action::ForwardHeld {
            user_channel_id,
            channel_id,
            client,
            htlcs,
        }]
    }

    /// A payment over a JIT channel was claimed with `fee_msat` skimmed (LDK's
    /// `PaymentForwarded`): the order earned it.
    pub fn skimmed(
        &mut self,
        view: &dyn NodeView,
        user_channel_id: u128,
        fee_msat: u64,
        reply: RpcReplyPort<Result<(), NodeError>>,
    ) -> Vec<Action> {
        let Some(order) = self.book.get(user_channel_id).cloned() else {
            return vec![Action::Done(reply)];
        };
        if order.state != JitOrderState::Forwarded {
            metrics::counter!("sluice_lsps2_opens_total", "outcome" => "forwarded").increment(1);
        }
        metrics::counter!("sluice_lsps2_fees_skimmed_msat_total").increment(fee_msat);
        self.waits.remove(&user_channel_id);
        let order = skimmed(order, fee_msat, view.unix_ms());
        vec![self.save(user_channel_id, order), Action::Done(reply)]
    }

    /// A channel closed (LDK's `ChannelClosed`): a JIT channel closed before use fails its
    /// open, so the held HTLCs go back at once.
    pub fn channel_closed(
        &mut self,
        user_channel_id: u128,
        client: PublicKey,
        reason: String,
        reply: RpcReplyPort<Result<(), NodeError>>,
    ) -> Vec<Action> {
        self.book.channel_closed(user_channel_id);
        if self.closing.remove(&user_channel_id).is_some() {
            tracing::info!(%client, order = %order::order_id(user_channel_id), %reason, "LSPS2: an unclaimed JIT channel closed");
        }
        let opening = self
            .book
            .get(user_channel_id)
            .filter(|o| o.state == JitOrderState::Opening)
            .cloned();
        let Some(order) = opening else {
            return vec![Action::Done(reply)];
        };
        metrics::counter!("sluice_lsps2_opens_total", "outcome" => "failed").increment(1);
        let reason = format!("the channel closed before use: {reason}");
        let mut actions = self.fail_open(user_channel_id, order, client, reason);
        actions.push(Action::Done(reply));
        actions
    }

    /// LDK intercepted an HTLC at `intercept_scid`: it is recorded with its order until its
    /// payment is forwarded, before lightning-liquidity sees it, and the answer says whether
    /// the SCID can be paid.
    pub fn intercepted(
        &mut self,
        view: &dyn NodeView,
        intercept_scid: u64,
        htlc: HeldHtlc,
        reply: RpcReplyPort<bool>,
    ) -> Vec<Action> {
        let mut actions = Vec::new();
        let holding = self
            .book
            .paid_by(intercept_scid)
            .and_then(|(id, o)| Some((id, holding(o.clone(), htlc)?)));
        if let Some((user_channel_id, order)) = holding {
            actions.push(self.save(user_channel_id, order));
        }
        let payable = self.book.payable(intercept_scid, view.unix_ms() / 1000);
        actions.push(Action::Payable(reply, payable));
        actions
    }

    /// lightning-liquidity refused an HTLC at `intercept_scid` (a payment outside the
    /// offer's size limits, say) and dropped the SCID: the order fails for good.
    pub fn rejected(
        &mut self,
        view: &dyn NodeView,
        intercept_scid: u64,
        reason: &str,
    ) -> Vec<Action> {
        let bought = self
            .book
            .in_state(JitOrderState::Bought)
            .find(|(_, o)| o.intercept_scid == intercept_scid)
            .map(|(id, o)| (id, o.clone()));
        let Some((user_channel_id, order)) = bought else {
            return Vec::new();
        };
        tracing::info!(order = %order::order_id(user_channel_id), reason, "LSPS2: payment refused");
        let order = failed_for_good(order, format!("payment refused: {reason}"), view.unix_ms());
        vec![self.save(user_channel_id, order)]
    }
}
