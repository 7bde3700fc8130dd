//! What a restart left half done, finished when the service starts (see
//! [`crate::lsps2::recovery`] for why lightning-liquidity's state and LDK's can disagree).

use sluice_storage::{HeldHtlc, JitOrderState};

use super::{client_of, Action, Lsps2Machine, NodeView};
use crate::lsps2::recovery::due_open;

impl Lsps2Machine {
    /// Everything a restart left half done: opens lost with their unfunded channel, opens
    /// whose event was lost, forwards over channels that became ready. Orders that ended
    /// longer ago than the retention leave the book first (the store keeps them).
    pub fn recover(&mut self, view: &dyn NodeView) -> Vec<Action> {
        self.prune(view);
        let mut actions = self.resume_lost_opens(view);
        actions.extend(self.open_lost_events(view));
        actions.extend(self.forward_ready_opens(view));
        actions
    }

    /// An order left opening whose channel does not exist lost the unfunded channel in a
    /// restart (LDK forgets those). While LDK still holds its payment the channel is opened
    /// again; otherwise the open fails, so whatever is left of the payment goes back to the
    /// payer at once instead of at its expiry.
    fn resume_lost_opens(&mut self, view: &dyn NodeView) -> Vec<Action> {
        let channels: Vec<u128> = view.channels().iter().map(|c| c.user_channel_id).collect();
        let lost: Vec<_> = self
            .book
            .in_state(JitOrderState::Opening)
            .filter(|(id, _)| !channels.contains(id))
            .map(|(id, o)| (id, o.clone()))
            .collect();
        let mut actions = Vec::new();
        for (user_channel_id, order) in lost {
            let Some(client) = client_of(&order) else {
                continue;
            };
            let held = order
                .held_htlcs
                .iter()
                .any(|h| view.holds(&h.intercept_id).is_some());
            if let (true, Some(amt_to_forward_msat), Some(opening_fee_msat)) =
                (held, order.amt_to_forward_msat, order.opening_fee_msat)
            {
                tracing::warn!(%client, order = %order.order_id, "LSPS2: an open was lost in a restart; opening again");
                metrics::counter!("sluice_lsps2_recovered_total", "step" => "reopen").increment(1);
                actions.extend(self.open(
                    view,
                    client,
                    amt_to_forward_msat,
                    opening_fee_msat,
                    user_channel_id,
                ));
                continue;
            }
            tracing::warn!(%client, order = %order.order_id, "LSPS2: an open was lost in a restart; failing it");
            let reason = "the open was lost in a restart".to_owned();
            actions.extend(self.fail_open(user_channel_id, order, client, reason));
        }
        actions
    }

    /// An order still bought whose held HTLCs make a complete payment lost
    /// lightning-liquidity's `OpenChannel` event in a restart; the service opens the channel
    /// itself. Should the event come after all, the open finds the channel and does
    /// nothing.
    fn open_lost_events(&mut self, view: &dyn NodeView) -> Vec<Action> {
        let due: Vec<_> = self
            .book
            .in_state(JitOrderState::Bought)
            .filter(|(_, o)| !o.held_htlcs.is_empty())
            .filter_map(|(id, o)| {
                let client = client_of(o)?;
                let pending: Vec<HeldHtlc> = o
                    .held_htlcs
                    .iter()
                    .filter(|h| view.holds(&h.intercept_id).is_some())
                    .cloned()
                    .collect();
                due_open(o, &pending).map(|open| (id, client, open))
            })
            .collect();
        let mut actions = Vec::new();
        for (user_channel_id, client, open) in due {
            tracing::warn!(%client, order = %crate::lsps2::order::order_id(user_channel_id), "LSPS2: an open's event was lost in a restart; opening");
            metrics::counter!("sluice_lsps2_recovered_total", "step" => "open").increment(1);
            actions.extend(self.open(
                view,
                client,
                open.amt_to_forward_msat,
                open.opening_fee_msat,
                user_channel_id,
            ));
        }
        actions
    }

    /// An order whose channel is ready but whose payment was not yet forwarded may have
    /// lost the forward in a restart (it waited for the client, say); it is forwarded once
    /// the channel can carry it. One already forwarded is left as it is.
    fn forward_ready_opens(&mut self, view: &dyn NodeView) -> Vec<Action> {
        let ready: Vec<_> = view
            .channels()
            .into_iter()
            .filter(|ch| ch.ready)
            .filter(|ch| {
                self.book
                    .get(ch.user_channel_id)
                    .is_some_and(|o| o.state == JitOrderState::Opening)
            })
            .collect();
        ready
            .into_iter()
            .flat_map(|ch| {
                self.forward_over(view, ch.user_channel_id, ch.channel_id, ch.counterparty)
            })
            .collect()
    }
}
