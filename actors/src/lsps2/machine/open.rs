//! Opening a paid order's channel: sized from the payment, checked against the limits,
//! recorded as opening, and opened once the client is connected (LDK opens only to a
//! connected peer). An absent client's webhooks are notified and the open waits for the
//! client to connect, until `client_wait_secs`; then the open fails and the payment goes
//! back.

use bitcoin::secp256k1::PublicKey;
use sluice_storage::{JitOrderRecord, JitOrderState};

use super::{client_of, refused, Action, Lsps2Machine, NodeView, Wait, Waiting};
use crate::lsps2::limits::{channel_sat, check_open, OpenAsk, Refusal};
use crate::lsps2::order::{self, failed_for_good, failed_for_now, opening, paid, Payment};

impl Lsps2Machine {
    /// A payment reached a bought SCID (lightning-liquidity's `OpenChannel`): open the
    /// channel, unless it exists already (the event replays after a restart) or a limit
    /// refuses it.
    pub fn open(
        &mut self,
        view: &dyn NodeView,
        client: PublicKey,
        amt_to_forward_msat: u64,
        opening_fee_msat: u64,
        user_channel_id: u128,
    ) -> Vec<Action> {
        metrics::counter!("sluice_lsps2_requests_total", "method" => "open").increment(1);
        if Self::channel_of(view, &client, user_channel_id).is_some() {
            tracing::info!(%client, order = %order::order_id(user_channel_id), "LSPS2: channel already opened");
            return Vec::new();
        }
        let size = channel_sat(&self.config, amt_to_forward_msat);
        // An open started before a restart is counted once, as this one.
        let mut now = self.commitments(view, Some(user_channel_id));
        now.spendable_sat = view.spendable_sat();
        let order = match self.book.get(user_channel_id) {
            Some(order) => order.clone(),
            None => order::unknown(user_channel_id, &client.to_string(), view.unix_ms()),
        };
        let payment = Payment {
            amt_to_forward_msat,
            opening_fee_msat,
            channel_sat: size,
        };
        let order = paid(order, payment);
        // The offer must be valid when the payment arrives, not when a restart opens again.
        let offer_expired = order::offer_expired(&order, view.unix_ms() / 1000);
        let ask = OpenAsk {
            admitted: self.config.admits(&client),
            offer_expired,
            channel_sat: size,
        };
        if let Err(refusal) = check_open(&self.config, ask, now) {
            return self.refuse(view, user_channel_id, order, client, refusal);
        }
        let order = opening(order, view.unix_ms());
        let mut actions = vec![self.save(user_channel_id, order)];
        let deadline = self.client_deadline(view.now());
        self.waits.insert(
            user_channel_id,
            Wait {
                client,
                deadline,
                what: Waiting::Open { woken: false },
            },
        );
        actions.extend(self.start_open(view, user_channel_id));
        actions
    }

    /// Opens the channel of an order recorded as opening once its client is connected. An
    /// absent client's webhooks are notified once; the open waits for the client until its
    /// deadline, then fails.
    pub(super) fn start_open(&mut self, view: &dyn NodeView, user_channel_id: u128) -> Vec<Action> {
        let Some(wait) = self.waits.remove(&user_channel_id) else {
            return Vec::new();
        };
        let Waiting::Open { woken } = wait.what else {
            return Vec::new();
        };
        let Some(order) = self.book.get(user_channel_id).cloned() else {
            return Vec::new();
        };
        let (JitOrderState::Opening, Some(client), Some(size)) =
            (order.state, client_of(&order), order.channel_sat)
        else {
            return Vec::new();
        };
        if Self::channel_of(view, &client, user_channel_id).is_some() {
            return Vec::new();
        }
        if view.is_connected(&client) {
            return vec![Action::OpenChannel {
                client,
                channel_sat: size,
                user_channel_id,
            }];
        }
        if view.now() >= wait.deadline {
            tracing::info!(%client, "LSPS2: the client did not connect; failing the open");
            metrics::counter!("sluice_lsps2_opens_total", "outcome" => "failed").increment(1);
            let reason = "the client did not connect in time".to_owned();
            return self.fail_open(user_channel_id, order, client, reason);
        }
        let mut actions = Vec::new();
        if !woken {
            actions.push(Action::Wake { client });
        }
        self.waits.insert(
            user_channel_id,
            Wait {
                what: Waiting::Open { woken: true },
                ..wait
            },
        );
        actions.push(Action::CheckAt {
            user_channel_id,
            at: wait.deadline,
        });
        actions
    }

    /// Opening the channel failed (LDK refused it): the open fails for now.
    pub fn open_failed(
        &mut self,
        user_channel_id: u128,
        client: PublicKey,
        reason: String,
    ) -> Vec<Action> {
        let Some(order) = self.book.get(user_channel_id).cloned() else {
            return Vec::new();
        };
        tracing::warn!(%client, %reason, "LSPS2: open failed");
        metrics::counter!("sluice_lsps2_opens_total", "outcome" => "failed").increment(1);
        self.fail_open(user_channel_id, order, client, reason)
    }

    /// Fails an open for now: the order goes back to bought (with `reason`) and
    /// lightning-liquidity fails the held HTLCs back, so the payer may pay the SCID again.
    pub(super) fn fail_open(
        &mut self,
        user_channel_id: u128,
        order: JitOrderRecord,
        client: PublicKey,
        reason: String,
    ) -> Vec<Action> {
        self.waits.remove(&user_channel_id);
        vec![
            self.save(user_channel_id, failed_for_now(order, reason)),
            Action::ReleaseHtlcs {
                client,
                user_channel_id,
            },
        ]
    }

    /// Refuses an open: for good (abandoned: the SCID is dropped) or for now (failed: the
    /// payer may retry). Either way the held HTLCs go back at once.
    fn refuse(
        &mut self,
        view: &dyn NodeView,
        user_channel_id: u128,
        order: JitOrderRecord,
        client: PublicKey,
        refusal: Refusal,
    ) -> Vec<Action> {
        refused(refusal.label());
        tracing::info!(%client, %refusal, "LSPS2: refusing an open");
        if !refusal.is_permanent() {
            return self.fail_open(user_channel_id, order, client, refusal.to_string());
        }
        self.waits.remove(&user_channel_id);
        vec![
            self.save(
                user_channel_id,
                failed_for_good(order, refusal.to_string(), view.unix_ms()),
            ),
            Action::Abandon {
                client,
                user_channel_id,
            },
        ]
    }
}
