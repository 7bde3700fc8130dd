//! The [`Lsps2Service`] actor: the one writer of the order book (the `jit_orders` table).
//!
//! It is thin: each message goes to the [`Lsps2Machine`], which decides and returns
//! actions; the actor sets the timers those ask for and hands the rest to the
//! [`Executor`], which carries them out in order and sends results back as messages. It
//! hears of lightning-liquidity's events from a task that pumps them, of clients
//! connecting from the node's peer port, and sweeps its book on a timer
//! ([`Lsps2Config::sweep_interval`]).

use std::sync::Arc;

use bitcoin::secp256k1::PublicKey;
use lightning::ln::types::ChannelId;
use lightning_liquidity::events::LiquidityEvent;
use lightning_liquidity::lsps2::event::LSPS2ServiceEvent;
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use sluice_storage::{HeldHtlc, JitOrderRecord, JitOrderTimeKey, Record, WriteBatch};
use tokio::task::JoinHandle;

use super::book::OrderBook;
use super::config::Lsps2Config;
use super::execute::Executor;
use super::machine::{Action, Lsps2Machine};
use super::view::LdkView;
use super::Lsps2Summary;
use crate::liquidity_messages::PeerConnected;
use crate::{Components, NodeError};

/// Messages to the LSPS2 service.
#[derive(Debug)]
pub enum Lsps2Msg {
    /// An event lightning-liquidity raised for the LSPS2 service.
    Event(LSPS2ServiceEvent),
    /// LDK: a channel became ready (LDK's `ChannelReady`). Answered once recorded.
    ChannelReady {
        /// The channel's `user_channel_id` (the order id for JIT channels).
        user_channel_id: u128,
        /// The channel.
        channel_id: ChannelId,
        /// The peer.
        counterparty: PublicKey,
        /// Answered once recorded.
        reply: RpcReplyPort<Result<(), NodeError>>,
    },
    /// LDK: a payment was forwarded over a channel with a fee skimmed (LDK's
    /// `PaymentForwarded`). Answered once recorded.
    Skimmed {
        /// The outgoing channel's `user_channel_id`.
        user_channel_id: u128,
        /// The fee skimmed.
        skimmed_fee_msat: u64,
        /// Answered once recorded.
        reply: RpcReplyPort<Result<(), NodeError>>,
    },
    /// LDK: a channel closed (LDK's `ChannelClosed`). A JIT channel that closes before it
    /// was used fails its open, so the held HTLCs go back at once. Answered once recorded.
    ChannelClosed {
        /// The channel's `user_channel_id`.
        user_channel_id: u128,
        /// The peer.
        counterparty: PublicKey,
        /// Why it closed.
        reason: String,
        /// Answered once recorded.
        reply: RpcReplyPort<Result<(), NodeError>>,
    },
    /// lightning-liquidity refused an HTLC at `intercept_scid` (a payment outside the
    /// offer's size limits, say) and dropped the SCID: the order fails for good.
    Rejected {
        /// The SCID.
        intercept_scid: u64,
        /// lightning-liquidity's reason.
        reason: String,
    },
    /// LDK intercepted an HTLC at `intercept_scid`: it is recorded with its order, and the
    /// answer says whether an order has the SCID and can still be paid.
    Intercepted {
        /// The SCID the HTLC was intercepted at.
        intercept_scid: u64,
        /// The HTLC.
        htlc: HeldHtlc,
        /// Answered once recorded.
        reply: RpcReplyPort<bool>,
    },
    /// A peer connected: flows waiting for it go on.
    ClientConnected(PublicKey),
    /// A timer an order set: its wait goes on, succeeds or times out.
    Check(u128),
    /// The sweep's timer: channels never claimed are closed, ended orders pruned.
    Sweep,
    /// LDK refused to open the order's channel.
    OpenFailed {
        /// The order.
        user_channel_id: u128,
        /// The client.
        client: PublicKey,
        /// LDK's reason.
        reason: String,
    },
    /// lightning-liquidity did not forward over a ready channel.
    NotForwarded {
        /// The order (or any channel's `user_channel_id`).
        user_channel_id: u128,
        /// The channel.
        channel_id: ChannelId,
        /// The client.
        client: PublicKey,
    },
    /// Storing orders failed: the service restarts from the store.
    StoreFailed(String),
    /// Totals over the order book.
    Summary(RpcReplyPort<Lsps2Summary>),
}

/// The LSPS2 service actor; `self` holds its settings.
pub struct Lsps2Service {
    /// What to sell and the limits.
    pub config: Arc<Lsps2Config>,
}

/// The actor's state: the decisions and the order book, and the tasks doing its I/O.
pub struct Lsps2State {
    components: Components,
    machine: Lsps2Machine,
    executor: Executor,
    pump: JoinHandle<()>,
}

impl Lsps2State {
    /// Sets the timers `actions` ask for and hands the rest to the executor.
    fn carry_out(&self, myself: &ActorRef<Lsps2Msg>, actions: Vec<Action>) {
        let now = std::time::Instant::now();
        let (timers, rest): (Vec<Action>, Vec<Action>) = actions
            .into_iter()
            .partition(|a| matches!(a, Action::CheckAt { .. }));
        for timer in timers {
            if let Action::CheckAt {
                user_channel_id,
                at,
            } = timer
            {
                myself.send_after(at.saturating_duration_since(now), move || {
                    Lsps2Msg::Check(user_channel_id)
                });
            }
        }
        self.executor.submit(rest);
    }
}

/// Writes the by-time index entry of every stored order that lacks one (orders stored
/// before the index existed), in one commit, so `GET /v1/lsps2/orders` lists them too.
async fn index_orders(components: &Components, orders: &[JitOrderRecord]) -> Result<(), NodeError> {
    let indexed: std::collections::HashSet<String> = components
        .store
        .scan::<JitOrderTimeKey>("")
        .await?
        .iter()
        .map(Record::key)
        .collect();
    let mut batch = WriteBatch::new();
    for order in orders {
        let key = order.time_key();
        if !indexed.contains(&key.key()) {
            batch.put(&key)?;
        }
    }
    if !batch.is_empty() {
        tracing::info!(
            orders = batch.len(),
            "LSPS2: indexing stored orders by time"
        );
        components.store.commit(batch).await?;
    }
    Ok(())
}

/// Hands lightning-liquidity's events on: the LSPS2 service's to the actor, the LSPS5
/// service's webhook notifications to the sender.
fn pump_events(components: &Components, service: ActorRef<Lsps2Msg>) -> JoinHandle<()> {
    let liquidity = Arc::clone(&components.liquidity);
    let webhooks = components.webhooks.clone();
    tokio::spawn(async move {
        loop {
            match liquidity.next_event_async().await {
                LiquidityEvent::LSPS2Service(event) => {
                    if service.cast(Lsps2Msg::Event(event)).is_err() {
                        break;
                    }
                }
                LiquidityEvent::LSPS5Service(event) => match &webhooks {
                    Some(sender) => sender.send(event),
                    None => tracing::warn!(?event, "LSPS5 event without a webhook sender"),
                },
                other => tracing::debug!(event = ?other, "liquidity event not handled"),
            }
        }
    })
}

impl Actor for Lsps2Service {
    type Msg = Lsps2Msg;
    type State = Lsps2State;
    type Arguments = Components;

    async fn pre_start(
        &self,
        myself: ActorRef<Lsps2Msg>,
        components: Components,
    ) -> Result<Lsps2State, ActorProcessingErr> {
        let records = components.store.scan::<JitOrderRecord>("").await?;
        index_orders(&components, &records).await?;
        let book = OrderBook::new(records);
        let mut machine = Lsps2Machine::new(Arc::clone(&self.config), book);
        components
            .peer_connected
            .subscribe(myself.clone(), |PeerConnected(node)| {
                Some(Lsps2Msg::ClientConnected(node))
            });
        let executor = Executor::start(components.clone(), myself.clone());
        let pump = pump_events(&components, myself.clone());
        let recovered = machine.recover(&LdkView(&components));
        let state = Lsps2State {
            components,
            machine,
            executor,
            pump,
        };
        state.carry_out(&myself, recovered);
        myself.send_after(self.config.sweep_interval(), || Lsps2Msg::Sweep);
        Ok(state)
    }

    async fn post_stop(
        &self,
        _myself: ActorRef<Lsps2Msg>,
        state: &mut Lsps2State,
    ) -> Result<(), ActorProcessingErr> {
        state.pump.abort();
        state.executor.stop();
        Ok(())
    }

    async fn handle(
        &self,
        myself: ActorRef<Lsps2Msg>,
        message: Lsps2Msg,
        state: &mut Lsps2State,
    ) -> Result<(), ActorProcessingErr> {
        let view = LdkView(&state.components);
        let machine = &mut state.machine;
        let actions = match message {
            Lsps2Msg::Event(LSPS2ServiceEvent::GetInfo {
                request_id,
                counterparty_node_id,
                token,
            }) => machine.get_info(&view, request_id, counterparty_node_id, token.as_deref()),
            Lsps2Msg::Event(LSPS2ServiceEvent::BuyRequest {
                request_id,
                counterparty_node_id,
                opening_fee_params,
                payment_size_msat,
            }) => machine.buy(
                &view,
                request_id,
                counterparty_node_id,
                opening_fee_params,
                payment_size_msat,
            ),
            Lsps2Msg::Event(LSPS2ServiceEvent::OpenChannel {
                their_network_key,
                amt_to_forward_msat,
                opening_fee_msat,
                user_channel_id,
                intercept_scid: _,
            }) => machine.open(
                &view,
                their_network_key,
                amt_to_forward_msat,
                opening_fee_msat,
                user_channel_id,
            ),
            Lsps2Msg::ChannelReady {
                user_channel_id,
                channel_id,
                counterparty,
                reply,
            } => machine.channel_ready(&view, user_channel_id, channel_id, counterparty, reply),
            Lsps2Msg::Skimmed {
                user_channel_id,
                skimmed_fee_msat,
                reply,
            } => machine.skimmed(&view, user_channel_id, skimmed_fee_msat, reply),
            Lsps2Msg::ChannelClosed {
                user_channel_id,
                counterparty,
                reason,
                reply,
            } => machine.channel_closed(user_channel_id, counterparty, reason, reply),
            Lsps2Msg::Intercepted {
                intercept_scid,
                htlc,
                reply,
            } => machine.intercepted(&view, intercept_scid, htlc, reply),
            Lsps2Msg::Rejected {
                intercept_scid,
                reason,
            } => machine.rejected(&view, intercept_scid, &reason),
            Lsps2Msg::ClientConnected(client) => machine.client_connected(&view, client),
            Lsps2Msg::Check(user_channel_id) => machine.check(&view, user_channel_id),
            Lsps2Msg::Sweep => {
                myself.send_after(self.config.sweep_interval(), || Lsps2Msg::Sweep);
                machine.sweep(&view)
            }
            Lsps2Msg::OpenFailed {
                user_channel_id,
                client,
                reason,
            } => machine.open_failed(user_channel_id, client, reason),
            Lsps2Msg::NotForwarded {
                user_channel_id,
                channel_id,
                client,
            } => machine.not_forwarded(&view, user_channel_id, channel_id, client),
            Lsps2Msg::StoreFailed(error) => {
                return Err(format!("storing JIT orders failed: {error}").into());
            }
            Lsps2Msg::Summary(reply) => {
                let _ = reply.send(machine.summary(&view));
                Vec::new()
            }
        };
        state.carry_out(&myself, actions);
        Ok(())
    }
}
