//! The periodic sweep: JIT channels whose client never claimed the payment are given up
//! and closed, closes that did not finish are pressed, and orders that ended longer ago
//! than the retention leave the book (the store keeps them).
//!
//! A client that buys, is paid for, and then never claims (it fails the payment back,
//! holds it, or never completes the channel) ties up the channel's capacity. Once an
//! order has been opening for `unclaimed_close_after_secs` (counted from its open, which
//! survives restarts), the service gives up: the order ends `unclaimed` with the reason,
//! what lightning-liquidity or LDK still hold of its payment goes back, and the channel is
//! closed, cooperatively if the client is connected and by force otherwise, or by force
//! if a cooperative close has not finished after [`COOPERATIVE_CLOSE_GRACE`].

use bitcoin::secp256k1::PublicKey;
use sluice_storage::{JitOrderRecord, JitOrderState};

use super::{client_of, Action, Closing, Lsps2Machine, NodeView, COOPERATIVE_CLOSE_GRACE};
use crate::lsps2::order::{self, unclaimed};

impl Lsps2Machine {
    /// The sweep's timer fired: gives up on JIT channels never claimed, closes their
    /// channels, and prunes the book.
    pub fn sweep(&mut self, view: &dyn NodeView) -> Vec<Action> {
        let mut actions = self.give_up_unclaimed(view);
        actions.extend(self.close_given_up(view));
        self.prune(view);
        actions
    }

    /// Orders opening for longer than `unclaimed_close_after_secs` end `unclaimed`. What of
    /// their payment is still held goes back: lightning-liquidity drops an open not yet
    /// ready (failing what it holds), and LDK fails what it still holds past that.
    fn give_up_unclaimed(&mut self, view: &dyn NodeView) -> Vec<Action> {
        let now_ms = view.unix_ms();
        let after_ms = self.config.unclaimed_close_after_secs.saturating_mul(1000);
        let due: Vec<(u128, JitOrderRecord)> = self
            .book
            .in_state(JitOrderState::Opening)
            .filter(|(_, o)| {
                o.open_started_at_ms
                    .is_some_and(|t| t.saturating_add(after_ms) <= now_ms)
            })
            .map(|(id, o)| (id, o.clone()))
            .collect();
        let mut actions = Vec::new();
        for (user_channel_id, order) in due {
            let Some(client) = client_of(&order) else {
                continue;
            };
            tracing::warn!(
                %client,
                order = %order.order_id,
                after_secs = self.config.unclaimed_close_after_secs,
                "LSPS2: the client never claimed its JIT payment; closing the channel"
            );
            metrics::counter!("sluice_lsps2_opens_total", "outcome" => "unclaimed").increment(1);
            self.waits.remove(&user_channel_id);
            let held: Vec<_> = order
                .held_htlcs
                .iter()
                .filter_map(|h| view.holds(&h.intercept_id))
                .collect();
            let reason = format!(
                "the client did not claim the payment within {} s of the open; the channel \
                 is closed",
                self.config.unclaimed_close_after_secs
            );
            actions.push(self.save(user_channel_id, unclaimed(order, reason, now_ms)));
            let ready = Self::channel_of(view, &client, user_channel_id).is_some_and(|c| c.ready);
            if ready {
                // lightning-liquidity went past the open: what LDK holds is failed here.
                if !held.is_empty() {
                    actions.push(Action::FailHtlcs {
                        user_channel_id,
                        htlcs: held,
                    });
                }
            } else {
                actions.push(Action::Abandon {
                    client,
                    user_channel_id,
                });
            }
        }
        actions
    }

    /// Closes the channel of every order given up unclaimed while it is open: at once
    /// (cooperatively if the client is connected), and again by force once a cooperative
    /// close has taken [`COOPERATIVE_CLOSE_GRACE`].
    fn close_given_up(&mut self, view: &dyn NodeView) -> Vec<Action> {
        let now = view.now();
        let given_up: Vec<(u128, PublicKey)> = self
            .book
            .in_state(JitOrderState::Unclaimed)
            .filter_map(|(id, o)| Some((id, client_of(o)?)))
            .collect();
        let mut actions = Vec::new();
        for (user_channel_id, client) in given_up {
            let Some(channel) = Self::channel_of(view, &client, user_channel_id) else {
                self.closing.remove(&user_channel_id);
                continue;
            };
            let force = match self.closing.get(&user_channel_id) {
                None => !view.is_connected(&client),
                Some(c) if !c.forced && now >= c.since + COOPERATIVE_CLOSE_GRACE => {
                    tracing::warn!(%client, order = %order::order_id(user_channel_id), "LSPS2: an unclaimed JIT channel did not close cooperatively; closing it by force");
                    true
                }
                Some(_) => continue,
            };
            metrics::counter!(
                "sluice_lsps2_unclaimed_closes_total",
                "how" => if force { "force" } else { "cooperative" }
            )
            .increment(1);
            self.closing.insert(
                user_channel_id,
                Closing {
                    since: now,
                    forced: force,
                },
            );
            actions.push(Action::CloseChannel {
                user_channel_id,
                channel_id: channel.channel_id,
                client,
                force,
            });
        }
        actions
    }

    /// Orders that ended longer ago than the retention leave the book.
    pub(super) fn prune(&mut self, view: &dyn NodeView) {
        let pruned = self
            .book
            .prune(view.unix_ms(), self.retention(), &Self::open_channels(view));
        if pruned.is_empty() {
            return;
        }
        for (user_channel_id, _) in &pruned {
            self.waits.remove(user_channel_id);
            self.closing.remove(user_channel_id);
        }
        metrics::counter!("sluice_lsps2_orders_pruned_total").increment(pruned.len() as u64);
        tracing::debug!(
            pruned = pruned.len(),
            kept = self.book.len(),
            "LSPS2: ended orders left memory"
        );
    }
}
