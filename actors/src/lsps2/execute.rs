//! Carrying out the LSPS2 service's [`Action`]s: the store, lightning-liquidity and LDK.
//!
//! One task takes the actions in the order they were decided. Whatever is queued when it
//! looks is handled together: every order changed is stored in one atomic, fsynced commit
//! first, then the other actions run in order, so nothing leaves the node (an answer, an
//! open, a released HTLC, a reply to LDK's event handler) before the change that records
//! it is durable. A failed commit stops the task and tells the service, which fails and is
//! restarted from the store by its supervisor; the actions not yet taken are dropped, as a
//! crash would drop them, and the restart finishes what they left half done.
//!
//! Every order is stored with its by-time index entry ([`JitOrderTimeKey`]) in the same
//! commit, so the listing never misses a stored order.
//!
//! Results the service must decide on come back to it as messages: an open LDK refused
//! ([`Lsps2Msg::OpenFailed`]), a forward lightning-liquidity did not make
//! ([`Lsps2Msg::NotForwarded`]).

use std::collections::HashSet;

use ractor::ActorRef;
use sluice_storage::{JitOrderRecord, JitOrderTimeKey, WriteBatch};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::machine::Action;
use super::menu::dated;
use super::order::order_id;
use super::Lsps2Msg;
use crate::{Components, NodeError};

/// The task carrying out the service's actions.
pub struct Executor {
    queue: mpsc::UnboundedSender<Vec<Action>>,
    task: JoinHandle<()>,
}

impl Executor {
    /// Starts the task; results and failures go to `service`.
    pub fn start(components: Components, service: ActorRef<Lsps2Msg>) -> Self {
        let (queue, actions) = mpsc::unbounded_channel();
        let task = tokio::spawn(run(components, service, actions));
        Executor { queue, task }
    }

    /// Queues `actions`, to be carried out after everything queued before.
    pub fn submit(&self, actions: Vec<Action>) {
        if !actions.is_empty() {
            // The task ends only after a failed commit, when the service is failing too.
            let _ = self.queue.send(actions);
        }
    }

    /// Stops the task; what it has not done yet is dropped.
    pub fn stop(&self) {
        self.task.abort();
    }
}

async fn run(
    components: Components,
    service: ActorRef<Lsps2Msg>,
    mut queue: mpsc::UnboundedReceiver<Vec<Action>>,
) {
    while let Some(first) = queue.recv().await {
        let mut actions = first;
        while let Ok(more) = queue.try_recv() {
            actions.extend(more);
        }
        let (saves, rest): (Vec<Action>, Vec<Action>) = actions
            .into_iter()
            .partition(|a| matches!(a, Action::Save(_)));
        let orders = saves.into_iter().filter_map(|a| match a {
            Action::Save(order) => Some(order),
            _ => None,
        });
        if let Err(e) = store(&components, orders.collect()).await {
            tracing::error!(error = %e, "LSPS2: storing orders failed; restarting the service");
            let _ = service.cast(Lsps2Msg::StoreFailed(e.to_string()));
            return;
        }
        for action in rest {
            perform(&components, &service, action).await;
        }
    }
}

/// Stores `orders` in one commit, each with its by-time index entry; of several versions
/// of one order, the last.
async fn store(components: &Components, orders: Vec<JitOrderRecord>) -> Result<(), NodeError> {
    if orders.is_empty() {
        return Ok(());
    }
    let mut seen = HashSet::new();
    let mut batch = WriteBatch::new();
    for order in orders.iter().rev() {
        if seen.insert(order.order_id.as_str()) {
            batch.put(order)?;
            batch.put::<JitOrderTimeKey>(&order.time_key())?;
        }
    }
    components.store.commit(batch).await?;
    Ok(())
}

async fn perform(c: &Components, service: &ActorRef<Lsps2Msg>, action: Action) {
    // What does not go through lightning-liquidity.
    let action = match action {
        Action::RefuseBuy {
            client,
            request_id,
            reason,
        } => {
            c.lsps_outbox
                .reject(client, &request_id.0, reason.message(), reason.label());
            c.peer_manager.process_events();
            return;
        }
        Action::FailHtlcs {
            user_channel_id,
            htlcs,
        } => {
            let order = order_id(user_channel_id);
            for id in htlcs {
                if let Err(e) = c.channel_manager.fail_intercepted_htlc(id) {
                    tracing::debug!(%order, error = ?e, "LSPS2: failing a held HTLC back failed");
                }
            }
            return;
        }
        Action::CloseChannel {
            user_channel_id,
            channel_id,
            client,
            force,
        } => {
            close(c, user_channel_id, channel_id, client, force);
            return;
        }
        other => other,
    };
    let Some(lsps2) = c.liquidity.lsps2_service_handler() else {
        tracing::warn!(?action, "LSPS2: no service handler; action dropped");
        return;
    };
    match action {
        Action::Save(_)
        | Action::CheckAt { .. }
        | Action::RefuseBuy { .. }
        | Action::FailHtlcs { .. }
        | Action::CloseChannel { .. } => {}
        Action::OfferMenu {
            client,
            request_id,
            options,
            made_at,
        } => {
            let offers = dated(&options, made_at);
            if let Err(e) = lsps2.opening_fee_params_generated(&client, request_id, offers) {
                tracing::warn!(%client, error = ?e, "LSPS2: answering get_info failed");
            }
        }
        Action::RejectToken { client, request_id } => {
            if let Err(e) = lsps2.invalid_token_provided(&client, request_id) {
                tracing::warn!(%client, error = ?e, "LSPS2: answering get_info failed");
            }
        }
        Action::Sell {
            client,
            request_id,
            intercept_scid,
            cltv_expiry_delta,
            client_trusts_lsp,
            user_channel_id,
        } => {
            let answered = lsps2
                .invoice_parameters_generated(
                    &client,
                    request_id,
                    intercept_scid,
                    cltv_expiry_delta,
                    client_trusts_lsp,
                    user_channel_id,
                )
                .await;
            if let Err(e) = answered {
                tracing::warn!(%client, error = ?e, "LSPS2: answering buy failed");
            }
        }
        Action::OpenChannel {
            client,
            channel_sat,
            user_channel_id,
        } => {
            // The LSP earns the opening fee; the channel forwards for free.
            let mut config = c.channel_manager.get_current_config();
            config.channel_config.forwarding_fee_base_msat = 0;
            config.channel_config.forwarding_fee_proportional_millionths = 0;
            let opened = c.channel_manager.create_channel(
                client,
                channel_sat,
                0,
                user_channel_id,
                None,
                Some(config),
            );
            match opened {
                Ok(channel_id) => {
                    metrics::counter!("sluice_lsps2_opens_total", "outcome" => "started")
                        .increment(1);
                    tracing::info!(%client, %channel_id, channel_sat, "LSPS2: opening a JIT channel");
                }
                Err(e) => {
                    let reason = format!("opening the channel failed: {e:?}");
                    let _ = service.cast(Lsps2Msg::OpenFailed {
                        user_channel_id,
                        client,
                        reason,
                    });
                }
            }
        }
        Action::ReleaseHtlcs {
            client,
            user_channel_id,
        } => {
            if let Err(e) = lsps2.channel_open_failed(&client, user_channel_id).await {
                tracing::warn!(%client, error = ?e, "LSPS2: failing an open failed");
            }
        }
        Action::Abandon {
            client,
            user_channel_id,
        } => {
            if let Err(e) = lsps2.channel_open_abandoned(&client, user_channel_id).await {
                tracing::warn!(%client, error = ?e, "LSPS2: abandoning an open failed");
            }
        }
        Action::Forward {
            user_channel_id,
            channel_id,
            client,
        } => {
            if let Err(e) = lsps2
                .channel_ready(user_channel_id, &channel_id, &client)
                .await
            {
                tracing::debug!(%channel_id, error = ?e, "LSPS2: lightning-liquidity did not forward");
                let _ = service.cast(Lsps2Msg::NotForwarded {
                    user_channel_id,
                    channel_id,
                    client,
                });
            }
        }
        Action::ForwardHeld {
            user_channel_id,
            channel_id,
            client,
            htlcs,
        } => {
            let order = order_id(user_channel_id);
            for (id, amount_msat) in htlcs {
                match c.channel_manager.forward_intercepted_htlc(
                    id,
                    &channel_id,
                    client,
                    amount_msat,
                ) {
                    Ok(()) => {
                        tracing::warn!(%client, %order, "LSPS2: forwarding an HTLC a restart left held");
                        metrics::counter!("sluice_lsps2_recovered_total", "step" => "forward")
                            .increment(1);
                    }
                    Err(e) => {
                        tracing::warn!(%client, %order, error = ?e, "LSPS2: forwarding a held HTLC failed");
                    }
                }
            }
        }
        Action::Wake { client } => {
            let Some(lsps5) = c.liquidity.lsps5_service_handler() else {
                return;
            };
            match lsps5.notify_payment_incoming(client) {
                Ok(()) => {
                    tracing::info!(%client, "LSPS5: notifying an offline client of its payment")
                }
                Err(e) => tracing::debug!(%client, error = ?e, "LSPS5: not notifying the client"),
            }
        }
        Action::Done(reply) => {
            let _ = reply.send(Ok(()));
        }
        Action::Payable(reply, payable) => {
            let _ = reply.send(payable);
        }
    }
}

/// Closes a JIT channel given up unclaimed: cooperatively, or by force if asked or if LDK
/// refuses the cooperative close (a channel not yet funded, say). A channel already gone
/// is left alone: its `ChannelClosed` is on its way.
fn close(
    c: &Components,
    user_channel_id: u128,
    channel_id: lightning::ln::types::ChannelId,
    client: bitcoin::secp256k1::PublicKey,
    force: bool,
) {
    let order = order_id(user_channel_id);
    if !force {
        match c.channel_manager.close_channel(&channel_id, &client) {
            Ok(()) => {
                tracing::info!(%client, %order, %channel_id, "LSPS2: closing an unclaimed JIT channel cooperatively");
                return;
            }
            Err(e) => {
                tracing::info!(%client, %order, error = ?e, "LSPS2: no cooperative close; closing by force");
            }
        }
    }
    let why = "the JIT channel's payment was never claimed".to_owned();
    match c
        .channel_manager
        .force_close_broadcasting_latest_txn(&channel_id, &client, why)
    {
        Ok(()) => {
            tracing::info!(%client, %order, %channel_id, "LSPS2: closed an unclaimed JIT channel by force")
        }
        Err(e) => {
            tracing::warn!(%client, %order, error = ?e, "LSPS2: closing an unclaimed JIT channel failed")
        }
    }
}
