//! The [`Lsps2Service`] actor: answers LSPS2 requests, opens JIT channels, and keeps the
//! order book ([`JitOrderRecord`]s) — the one writer of the `jit_orders` table.
//!
//! lightning-liquidity keeps the protocol state (intercept SCIDs, held HTLCs, the fee to
//! skim) and persists it itself; this actor makes the decisions it leaves to the LSP:
//! which menu to offer, whether to sell, how big a channel to open and whether the limits
//! allow it. Its own state is a cache of the order book, rebuilt from the store when it
//! starts.

use std::collections::HashMap;
use std::str::FromStr;
use std::time::{Duration, Instant};

use bitcoin::hex::{DisplayHex, FromHex};
use bitcoin::secp256k1::PublicKey;
use lightning::ln::channelmanager::InterceptId;
use lightning::ln::types::ChannelId;
use lightning::sign::EntropySource;
use lightning_liquidity::events::LiquidityEvent;
use lightning_liquidity::lsps0::ser::LSPSDateTime;
use lightning_liquidity::lsps0::ser::LSPSRequestId;
use lightning_liquidity::lsps2::event::LSPS2ServiceEvent;
use lightning_liquidity::lsps2::msgs::LSPS2OpeningFeeParams;
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use sluice_storage::{HeldHtlc, JitOrderRecord, JitOrderState, WriteBatch};
use tokio::task::JoinHandle;

use super::config::Lsps2Config;
use super::menu::{dated, menu_for, MenuAnswer};
use super::open::{channel_sat, check_open, Commitments, OpenAsk, Refusal};
use super::recovery::{due_open, fee_payment, DueOpen};
use super::Lsps2Summary;
use crate::clock::{since_epoch, unix_ms};
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
    /// A paid open waiting for its client to connect: tried again until it does or
    /// `deadline` passes, when the open fails and the payment goes back.
    StartOpen {
        /// The order.
        user_channel_id: u128,
        /// When to give up on the client.
        deadline: Instant,
        /// Whether its webhooks were already notified.
        woken: bool,
    },
    /// A JIT channel is ready but its client is not connected: its payment is forwarded
    /// once the client is back, or at `deadline` regardless.
    ForwardWhenConnected {
        /// The order.
        user_channel_id: u128,
        /// Its channel.
        channel_id: ChannelId,
        /// The client.
        client: PublicKey,
        /// When to stop waiting.
        deadline: Instant,
    },
    /// Every order, newest first.
    Orders(RpcReplyPort<Vec<JitOrderRecord>>),
    /// Totals over the order book.
    Summary(RpcReplyPort<Lsps2Summary>),
}

/// The LSPS2 service actor; `self` holds its settings.
pub struct Lsps2Service {
    /// What to sell and the limits.
    pub config: std::sync::Arc<Lsps2Config>,
}

/// The actor's state: the order book, cached.
pub struct Lsps2State {
    components: Components,
    orders: HashMap<u128, JitOrderRecord>,
    pump: JoinHandle<()>,
}

/// The order id of `user_channel_id`: 32 hex digits.
pub fn order_id(user_channel_id: u128) -> String {
    format!("{user_channel_id:032x}")
}

fn parse_order_id(id: &str) -> Option<u128> {
    u128::from_str_radix(id, 16).ok()
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
        let mut orders = HashMap::new();
        for record in components.store.scan::<JitOrderRecord>("").await? {
            if let Some(id) = parse_order_id(&record.order_id) {
                orders.insert(id, record);
            }
        }
        // lightning-liquidity's events: the LSPS2 service's to this actor, the LSPS5
        // service's webhook notifications to the sender.
        let liquidity = std::sync::Arc::clone(&components.liquidity);
        let webhooks = components.webhooks.clone();
        let events = myself.clone();
        let pump = tokio::spawn(async move {
            loop {
                match liquidity.next_event_async().await {
                    LiquidityEvent::LSPS2Service(event) => {
                        if events.cast(Lsps2Msg::Event(event)).is_err() {
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
        });
        let mut state = Lsps2State {
            components,
            orders,
            pump,
        };
        self.resume_lost_opens(&myself, &mut state).await?;
        self.open_lost_events(&myself, &mut state).await?;
        self.forward_ready_opens(&myself, &state);
        Ok(state)
    }

    async fn post_stop(
        &self,
        _myself: ActorRef<Lsps2Msg>,
        state: &mut Lsps2State,
    ) -> Result<(), ActorProcessingErr> {
        state.pump.abort();
        Ok(())
    }

    async fn handle(
        &self,
        myself: ActorRef<Lsps2Msg>,
        message: Lsps2Msg,
        state: &mut Lsps2State,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            Lsps2Msg::Event(LSPS2ServiceEvent::GetInfo {
                request_id,
                counterparty_node_id,
                token,
            }) => self.get_info(state, request_id, counterparty_node_id, token.as_deref()),
            Lsps2Msg::Event(LSPS2ServiceEvent::BuyRequest {
                request_id,
                counterparty_node_id,
                opening_fee_params,
                payment_size_msat,
            }) => {
                self.buy(
                    state,
                    request_id,
                    counterparty_node_id,
                    opening_fee_params,
                    payment_size_msat,
                )
                .await
            }
            Lsps2Msg::Event(LSPS2ServiceEvent::OpenChannel {
                their_network_key,
                amt_to_forward_msat,
                opening_fee_msat,
                user_channel_id,
                intercept_scid: _,
            }) => {
                self.open(
                    &myself,
                    state,
                    their_network_key,
                    amt_to_forward_msat,
                    opening_fee_msat,
                    user_channel_id,
                )
                .await
            }
            Lsps2Msg::StartOpen {
                user_channel_id,
                deadline,
                woken,
            } => start_open(&myself, state, user_channel_id, deadline, woken).await,
            Lsps2Msg::ChannelReady {
                user_channel_id,
                channel_id,
                counterparty,
                reply,
            } => {
                let recorded = channel_ready(state, user_channel_id, channel_id).await;
                let deadline = self.client_deadline();
                forward_when_connected(
                    &myself,
                    state,
                    user_channel_id,
                    channel_id,
                    counterparty,
                    deadline,
                )
                .await;
                let _ = reply.send(recorded);
            }
            Lsps2Msg::ForwardWhenConnected {
                user_channel_id,
                channel_id,
                client,
                deadline,
            } => {
                forward_when_connected(
                    &myself,
                    state,
                    user_channel_id,
                    channel_id,
                    client,
                    deadline,
                )
                .await
            }
            Lsps2Msg::Skimmed {
                user_channel_id,
                skimmed_fee_msat,
                reply,
            } => {
                let _ = reply.send(skimmed(state, user_channel_id, skimmed_fee_msat).await);
            }
            Lsps2Msg::ChannelClosed {
                user_channel_id,
                counterparty,
                reason,
                reply,
            } => {
                let result = self
                    .channel_closed(state, user_channel_id, counterparty, reason)
                    .await;
                let _ = reply.send(result);
            }
            Lsps2Msg::Intercepted {
                intercept_scid,
                htlc,
                reply,
            } => {
                let _ = reply.send(intercepted(state, intercept_scid, htlc).await);
            }
            Lsps2Msg::Rejected {
                intercept_scid,
                reason,
            } => {
                let bought = state
                    .orders
                    .iter()
                    .find(|(_, o)| {
                        o.intercept_scid == intercept_scid && o.state == JitOrderState::Bought
                    })
                    .map(|(id, o)| (*id, o.clone()));
                if let Some((user_channel_id, mut order)) = bought {
                    order.state = JitOrderState::Failed;
                    order.failure = Some(format!("payment refused: {reason}"));
                    if let Err(e) = save(state, user_channel_id, order).await {
                        tracing::error!(error = %e, "LSPS2: recording a refused payment failed");
                    }
                }
            }
            Lsps2Msg::Orders(reply) => {
                let mut orders: Vec<_> = state.orders.values().cloned().collect();
                orders.sort_by_key(|o| std::cmp::Reverse(o.created_at_ms));
                let _ = reply.send(orders);
            }
            Lsps2Msg::Summary(reply) => {
                let _ = reply.send(summary(state));
            }
        }
        Ok(())
    }
}

impl Lsps2Service {
    /// `lsps2.get_info`: the client's menu, empty while it may not buy.
    fn get_info(
        &self,
        state: &Lsps2State,
        request_id: LSPSRequestId,
        client: PublicKey,
        token: Option<&str>,
    ) {
        metrics::counter!("sluice_lsps2_requests_total", "method" => "get_info").increment(1);
        let Some(handler) = state.components.liquidity.lsps2_service_handler() else {
            return;
        };
        let answer = match menu_for(&self.config, token) {
            MenuAnswer::InvalidToken => {
                refused("invalid_token");
                handler.invalid_token_provided(&client, request_id)
            }
            MenuAnswer::Offers(options) => {
                let options = match self.may_buy(state, &client) {
                    Ok(()) => options,
                    Err(reason) => {
                        refused(reason);
                        tracing::info!(%client, reason, "LSPS2: offering an empty menu");
                        &[]
                    }
                };
                handler.opening_fee_params_generated(
                    &client,
                    request_id,
                    dated(options, since_epoch()),
                )
            }
        };
        if let Err(e) = answer {
            tracing::warn!(%client, error = ?e, "LSPS2: answering get_info failed");
        }
    }

    /// Whether `client` may buy now: admitted, under its pending-buy limit, and the service
    /// not at its open limits.
    fn may_buy(&self, state: &Lsps2State, client: &PublicKey) -> Result<(), &'static str> {
        if !self.config.admits(client) {
            return Err("not_admitted");
        }
        if pending_buys(state, client) >= self.config.max_pending_buys_per_peer {
            return Err("pending_buys");
        }
        let now = commitments(state, None);
        if now.opening >= self.config.max_pending_opens {
            return Err("too_many_opens");
        }
        if now.committed_sat >= self.config.max_committed_sat {
            return Err("over_committed");
        }
        Ok(())
    }

    /// `lsps2.buy`: issues an intercept SCID, recorded before the client learns it.
    async fn buy(
        &self,
        state: &mut Lsps2State,
        request_id: LSPSRequestId,
        client: PublicKey,
        params: LSPS2OpeningFeeParams,
        payment_size_msat: Option<u64>,
    ) {
        metrics::counter!("sluice_lsps2_requests_total", "method" => "buy").increment(1);
        if let Err(reason) = self.may_buy(state, &client) {
            // lightning-liquidity has no refusal for a valid buy; the request stays
            // unanswered (it bounds those per peer) and the client times out.
            refused(reason);
            tracing::info!(%client, reason, "LSPS2: not selling");
            return;
        }
        let c = state.components.clone();
        let Some(handler) = c.liquidity.lsps2_service_handler() else {
            return;
        };
        let mut random = [0u8; 16];
        random.copy_from_slice(&c.keys.get_secure_random_bytes()[..16]);
        let user_channel_id = u128::from_be_bytes(random);
        let Some(intercept_scid) = fresh_intercept_scid(state) else {
            refused("no_free_scid");
            tracing::error!(%client, "LSPS2: no intercept SCID free of the ones sold; not selling");
            return;
        };
        let record = JitOrderRecord {
            intercept_scid,
            min_fee_msat: params.min_fee_msat,
            proportional_ppm: params.proportional,
            valid_until: params.valid_until.to_rfc3339(),
            payment_size_msat,
            ..new_order(user_channel_id, &client)
        };
        if let Err(e) = save(state, user_channel_id, record).await {
            tracing::error!(%client, error = %e, "LSPS2: recording a buy failed; not answering it");
            return;
        }
        let cltv_expiry_delta = u32::from(
            c.channel_manager
                .get_current_config()
                .channel_config
                .cltv_expiry_delta,
        );
        if let Err(e) = handler
            .invoice_parameters_generated(
                &client,
                request_id,
                intercept_scid,
                cltv_expiry_delta,
                self.config.client_trusts_lsp,
                user_channel_id,
            )
            .await
        {
            tracing::warn!(%client, error = ?e, "LSPS2: answering buy failed");
        }
    }

    /// A payment reached a bought SCID: open the channel, unless it exists already (the
    /// event replays after a restart) or a limit refuses it.
    async fn open(
        &self,
        myself: &ActorRef<Lsps2Msg>,
        state: &mut Lsps2State,
        client: PublicKey,
        amt_to_forward_msat: u64,
        opening_fee_msat: u64,
        user_channel_id: u128,
    ) {
        metrics::counter!("sluice_lsps2_requests_total", "method" => "open").increment(1);
        let c = state.components.clone();
        if has_channel(&c, &client, user_channel_id) {
            tracing::info!(%client, order = %order_id(user_channel_id), "LSPS2: channel already opened");
            return;
        }
        let size = channel_sat(&self.config, amt_to_forward_msat);
        // An open started before a restart is counted once, as this one.
        let mut now = commitments(state, Some(user_channel_id));
        now.spendable_sat = c.wallet.balance().trusted_spendable().to_sat();
        let mut order = state
            .orders
            .get(&user_channel_id)
            .cloned()
            .unwrap_or_else(|| new_order(user_channel_id, &client));
        order.opening_fee_msat = Some(opening_fee_msat);
        order.amt_to_forward_msat = Some(amt_to_forward_msat);
        order.channel_sat = Some(size);
        // The offer must be valid when the payment arrives, not when a restart opens again.
        let offer_expired = order.state == JitOrderState::Bought
            && LSPSDateTime::from_str(&order.valid_until).is_ok_and(|until| until.is_past());
        let ask = OpenAsk {
            admitted: self.config.admits(&client),
            offer_expired,
            channel_sat: size,
        };
        if let Err(refusal) = check_open(&self.config, ask, now) {
            refuse(state, user_channel_id, order, &client, refusal).await;
            return;
        }
        order.state = JitOrderState::Opening;
        order.open_started_at_ms.get_or_insert_with(unix_ms);
        order.failure = None;
        if let Err(e) = save(state, user_channel_id, order).await {
            // Not opened: the event is gone, so release the HTLCs for the payer to retry.
            tracing::error!(%client, error = %e, "LSPS2: recording an open failed");
            open_failed(&c, &client, user_channel_id).await;
            return;
        }
        let deadline = self.client_deadline();
        start_open(myself, state, user_channel_id, deadline, false).await;
    }

    /// How long from now a JIT flow waits for an absent client.
    fn client_deadline(&self) -> Instant {
        Instant::now() + Duration::from_secs(self.config.client_wait_secs)
    }

    /// At start: an order whose channel is ready but whose payment was not yet forwarded
    /// may have lost the forward in a restart (it waited for the client, say); it is
    /// forwarded once the client is back. One already forwarded is left as it is.
    fn forward_ready_opens(&self, myself: &ActorRef<Lsps2Msg>, state: &Lsps2State) {
        let ready: Vec<(u128, ChannelId, PublicKey)> = state
            .components
            .channel_manager
            .list_channels()
            .into_iter()
            .filter(|ch| ch.is_channel_ready)
            .filter(|ch| {
                state
                    .orders
                    .get(&ch.user_channel_id)
                    .is_some_and(|o| o.state == JitOrderState::Opening)
            })
            .map(|ch| (ch.user_channel_id, ch.channel_id, ch.counterparty.node_id))
            .collect();
        for (user_channel_id, channel_id, client) in ready {
            let _ = myself.cast(Lsps2Msg::ForwardWhenConnected {
                user_channel_id,
                channel_id,
                client,
                deadline: self.client_deadline(),
            });
        }
    }

    /// A JIT channel closed: one never used fails its open, so held HTLCs go back.
    async fn channel_closed(
        &self,
        state: &mut Lsps2State,
        user_channel_id: u128,
        client: PublicKey,
        reason: String,
    ) -> Result<(), NodeError> {
        let Some(order) = state.orders.get(&user_channel_id).cloned() else {
            return Ok(());
        };
        if order.state != JitOrderState::Opening {
            return Ok(());
        }
        metrics::counter!("sluice_lsps2_opens_total", "outcome" => "failed").increment(1);
        let reason = format!("the channel closed before use: {reason}");
        fail_open(state, user_channel_id, order, &client, reason).await
    }

    /// At start: an order left opening whose channel does not exist lost the unfunded
    /// channel in a restart (LDK forgets those). While LDK still holds its payment the
    /// channel is opened again; otherwise the open fails, so whatever is left of the
    /// payment goes back to the payer at once instead of at its expiry.
    async fn resume_lost_opens(
        &self,
        myself: &ActorRef<Lsps2Msg>,
        state: &mut Lsps2State,
    ) -> Result<(), NodeError> {
        let channels: Vec<u128> = state
            .components
            .channel_manager
            .list_channels()
            .iter()
            .map(|ch| ch.user_channel_id)
            .collect();
        let lost: Vec<(u128, JitOrderRecord)> = state
            .orders
            .iter()
            .filter(|(id, o)| o.state == JitOrderState::Opening && !channels.contains(id))
            .map(|(id, o)| (*id, o.clone()))
            .collect();
        for (user_channel_id, order) in lost {
            let Ok(client) = PublicKey::from_str(&order.client_node_id) else {
                continue;
            };
            let held = order
                .held_htlcs
                .iter()
                .any(|h| still_held(&state.components, h));
            if let (true, Some(amt_to_forward_msat), Some(opening_fee_msat)) =
                (held, order.amt_to_forward_msat, order.opening_fee_msat)
            {
                tracing::warn!(%client, order = %order.order_id, "LSPS2: an open was lost in a restart; opening again");
                metrics::counter!("sluice_lsps2_recovered_total", "step" => "reopen").increment(1);
                self.open(
                    myself,
                    state,
                    client,
                    amt_to_forward_msat,
                    opening_fee_msat,
                    user_channel_id,
                )
                .await;
                continue;
            }
            tracing::warn!(%client, order = %order.order_id, "LSPS2: an open was lost in a restart; failing it");
            let reason = "the open was lost in a restart".to_owned();
            fail_open(state, user_channel_id, order, &client, reason).await?;
        }
        Ok(())
    }

    /// At start: an order still bought whose held HTLCs make a complete payment lost
    /// lightning-liquidity's `OpenChannel` event in a restart (see [`super::recovery`]);
    /// the service opens the channel itself. Should the event come after all, the open
    /// finds the channel and does nothing.
    async fn open_lost_events(
        &self,
        myself: &ActorRef<Lsps2Msg>,
        state: &mut Lsps2State,
    ) -> Result<(), NodeError> {
        let due: Vec<(u128, PublicKey, DueOpen)> = state
            .orders
            .iter()
            .filter(|(_, o)| o.state == JitOrderState::Bought && !o.held_htlcs.is_empty())
            .filter_map(|(id, o)| {
                let client = PublicKey::from_str(&o.client_node_id).ok()?;
                let pending: Vec<HeldHtlc> = o
                    .held_htlcs
                    .iter()
                    .filter(|h| still_held(&state.components, h))
                    .cloned()
                    .collect();
                due_open(o, &pending).map(|open| (*id, client, open))
            })
            .collect();
        for (user_channel_id, client, open) in due {
            tracing::warn!(%client, order = %order_id(user_channel_id), "LSPS2: an open's event was lost in a restart; opening");
            metrics::counter!("sluice_lsps2_recovered_total", "step" => "open").increment(1);
            self.open(
                myself,
                state,
                client,
                open.amt_to_forward_msat,
                open.opening_fee_msat,
                user_channel_id,
            )
            .await;
        }
        Ok(())
    }
}

/// Counts a refusal by reason.
fn refused(reason: &'static str) {
    metrics::counter!("sluice_lsps2_refusals_total", "reason" => reason).increment(1);
}

/// Whether the order `user_channel_id` has a channel to `client` (opening or open).
fn has_channel(c: &Components, client: &PublicKey, user_channel_id: u128) -> bool {
    c.channel_manager
        .list_channels_with_counterparty(client)
        .iter()
        .any(|ch| ch.user_channel_id == user_channel_id)
}

/// How often an open waiting for its client looks again.
const CLIENT_POLL: Duration = Duration::from_millis(200);

/// Opens the channel of an order recorded as opening, once its client is connected: LDK
/// can only open to a connected peer. An offline client's webhooks are notified (LSPS5,
/// once per open, unless `woken`); until `deadline` it looks again every
/// [`CLIENT_POLL`]; then the open fails and the payment goes back.
async fn start_open(
    myself: &ActorRef<Lsps2Msg>,
    state: &mut Lsps2State,
    user_channel_id: u128,
    deadline: Instant,
    woken: bool,
) {
    let Some(order) = state.orders.get(&user_channel_id).cloned() else {
        return;
    };
    let (JitOrderState::Opening, Ok(client), Some(size)) = (
        order.state,
        PublicKey::from_str(&order.client_node_id),
        order.channel_sat,
    ) else {
        return;
    };
    let c = state.components.clone();
    if has_channel(&c, &client, user_channel_id) {
        return;
    }
    if c.peer_manager.peer_by_node_id(&client).is_none() {
        if !woken {
            wake(&c, &client);
        }
        if Instant::now() < deadline {
            myself.send_after(CLIENT_POLL, move || Lsps2Msg::StartOpen {
                user_channel_id,
                deadline,
                woken: true,
            });
            return;
        }
        tracing::info!(%client, "LSPS2: the client did not connect; failing the open");
        metrics::counter!("sluice_lsps2_opens_total", "outcome" => "failed").increment(1);
        let reason = "the client did not connect in time".to_owned();
        let _ = fail_open(state, user_channel_id, order, &client, reason).await;
        return;
    }
    // The LSP earns the opening fee; the channel forwards for free.
    let mut config = c.channel_manager.get_current_config();
    config.channel_config.forwarding_fee_base_msat = 0;
    config.channel_config.forwarding_fee_proportional_millionths = 0;
    match c
        .channel_manager
        .create_channel(client, size, 0, user_channel_id, None, Some(config))
    {
        Ok(channel_id) => {
            metrics::counter!("sluice_lsps2_opens_total", "outcome" => "started").increment(1);
            tracing::info!(%client, %channel_id, channel_sat = size, "LSPS2: opening a JIT channel");
        }
        Err(e) => {
            let reason = format!("opening the channel failed: {e:?}");
            tracing::warn!(%client, %reason, "LSPS2: open failed");
            metrics::counter!("sluice_lsps2_opens_total", "outcome" => "failed").increment(1);
            // The HTLCs are released either way; the order's record is best effort.
            let _ = fail_open(state, user_channel_id, order, &client, reason).await;
        }
    }
}

/// Tells an offline client's webhooks a payment is waiting for it (LSPS5
/// `lsps5.payment_incoming`); nothing without webhooks. lightning-liquidity sends one such
/// notification a minute at most.
fn wake(c: &Components, client: &PublicKey) {
    let Some(handler) = c.liquidity.lsps5_service_handler() else {
        return;
    };
    match handler.notify_payment_incoming(*client) {
        Ok(()) => tracing::info!(%client, "LSPS5: notifying an offline client of its payment"),
        Err(e) => tracing::debug!(%client, error = ?e, "LSPS5: not notifying the client"),
    }
}

/// Fails an open for now: the order goes back to bought (with `reason`) and
/// lightning-liquidity fails the held HTLCs back, so the payer may pay the SCID again. The
/// HTLCs are released even if the record cannot be written; that error is returned.
async fn fail_open(
    state: &mut Lsps2State,
    user_channel_id: u128,
    mut order: JitOrderRecord,
    client: &PublicKey,
    reason: String,
) -> Result<(), NodeError> {
    order.state = JitOrderState::Bought;
    order.failure = Some(reason);
    order.open_started_at_ms = None;
    order.held_htlcs.clear();
    let saved = save(state, user_channel_id, order).await;
    open_failed(&state.components, client, user_channel_id).await;
    saved
}

/// Refuses an open: for good (abandoned: the SCID is dropped) or for now (failed: the payer
/// may retry). Either way the held HTLCs go back at once.
async fn refuse(
    state: &mut Lsps2State,
    user_channel_id: u128,
    mut order: JitOrderRecord,
    client: &PublicKey,
    refusal: Refusal,
) {
    refused(refusal.label());
    tracing::info!(%client, %refusal, "LSPS2: refusing an open");
    if !refusal.is_permanent() {
        if let Err(e) = fail_open(state, user_channel_id, order, client, refusal.to_string()).await
        {
            tracing::error!(%client, error = %e, "LSPS2: recording a refusal failed");
        }
        return;
    }
    order.state = JitOrderState::Failed;
    order.failure = Some(refusal.to_string());
    order.held_htlcs.clear();
    if let Err(e) = save(state, user_channel_id, order).await {
        tracing::error!(%client, error = %e, "LSPS2: recording a refusal failed");
    }
    if let Some(handler) = state.components.liquidity.lsps2_service_handler() {
        if let Err(e) = handler
            .channel_open_abandoned(client, user_channel_id)
            .await
        {
            tracing::warn!(%client, error = ?e, "LSPS2: abandoning an open failed");
        }
    }
}

/// Tells lightning-liquidity an open failed: the held HTLCs are failed back and the SCID
/// may be paid again.
async fn open_failed(c: &Components, client: &PublicKey, user_channel_id: u128) {
    if let Some(handler) = c.liquidity.lsps2_service_handler() {
        if let Err(e) = handler.channel_open_failed(client, user_channel_id).await {
            tracing::warn!(%client, error = ?e, "LSPS2: failing an open failed");
        }
    }
}

/// A bought order of `client` that knows only its id: the start of every order, and what
/// an open lightning-liquidity asks for but the book does not know (sold before the book
/// existed, or its record lost) is recorded as.
fn new_order(user_channel_id: u128, client: &PublicKey) -> JitOrderRecord {
    JitOrderRecord {
        order_id: order_id(user_channel_id),
        client_node_id: client.to_string(),
        intercept_scid: 0,
        min_fee_msat: 0,
        proportional_ppm: 0,
        valid_until: String::new(),
        payment_size_msat: None,
        state: JitOrderState::Bought,
        opening_fee_msat: None,
        amt_to_forward_msat: None,
        channel_sat: None,
        channel_id: None,
        skimmed_fee_msat: 0,
        failure: None,
        created_at_ms: unix_ms(),
        open_started_at_ms: None,
        channel_ready_at_ms: None,
        forwarded_at_ms: None,
        held_htlcs: Vec::new(),
    }
}

/// How many intercept SCIDs LDK is asked for before the service gives up on a buy.
const SCID_ATTEMPTS: usize = 64;

/// An intercept SCID no order has. LDK draws them at random from a space that is small
/// where the chain is short (2,500 on a young regtest chain) and does not remember the
/// ones it gave; lightning-liquidity refuses to load state in which two orders share one.
fn fresh_intercept_scid(state: &Lsps2State) -> Option<u64> {
    (0..SCID_ATTEMPTS)
        .map(|_| state.components.channel_manager.get_intercept_scid())
        .find(|scid| !state.orders.values().any(|o| o.intercept_scid == *scid))
}

/// Stores `order` durably, then caches it.
async fn save(
    state: &mut Lsps2State,
    user_channel_id: u128,
    order: JitOrderRecord,
) -> Result<(), NodeError> {
    let mut batch = WriteBatch::new();
    batch.put(&order)?;
    state.components.store.commit(batch).await?;
    state.orders.insert(user_channel_id, order);
    Ok(())
}

async fn channel_ready(
    state: &mut Lsps2State,
    user_channel_id: u128,
    channel_id: ChannelId,
) -> Result<(), NodeError> {
    let Some(mut order) = state.orders.get(&user_channel_id).cloned() else {
        return Ok(());
    };
    if order.channel_id.is_some() {
        return Ok(());
    }
    order.channel_id = Some(channel_id.0.to_lower_hex_string());
    let now = unix_ms();
    order.channel_ready_at_ms = Some(now);
    if let Some(started) = order.open_started_at_ms {
        let seconds = now.saturating_sub(started) as f64 / 1000.0;
        metrics::histogram!("sluice_lsps2_open_seconds").record(seconds);
    }
    save(state, user_channel_id, order).await
}

async fn skimmed(
    state: &mut Lsps2State,
    user_channel_id: u128,
    skimmed_fee_msat: u64,
) -> Result<(), NodeError> {
    let Some(mut order) = state.orders.get(&user_channel_id).cloned() else {
        return Ok(());
    };
    order.skimmed_fee_msat = order.skimmed_fee_msat.saturating_add(skimmed_fee_msat);
    if order.state != JitOrderState::Forwarded {
        order.state = JitOrderState::Forwarded;
        order.forwarded_at_ms = Some(unix_ms());
        order.failure = None;
        order.held_htlcs.clear();
        metrics::counter!("sluice_lsps2_opens_total", "outcome" => "forwarded").increment(1);
    }
    save(state, user_channel_id, order).await?;
    metrics::counter!("sluice_lsps2_fees_skimmed_msat_total").increment(skimmed_fee_msat);
    Ok(())
}

/// An HTLC reached `intercept_scid`: recorded with its order until its payment is
/// forwarded, before lightning-liquidity sees it. Answers whether the SCID can be paid
/// ([`payable`]). An HTLC that cannot be recorded still goes on: only recovery from a
/// restart needs the record.
async fn intercepted(state: &mut Lsps2State, intercept_scid: u64, htlc: HeldHtlc) -> bool {
    let paying = state
        .orders
        .iter()
        .find(|(_, o)| {
            o.intercept_scid == intercept_scid
                && matches!(o.state, JitOrderState::Bought | JitOrderState::Opening)
        })
        .map(|(id, o)| (*id, o.clone()));
    if let Some((user_channel_id, mut order)) = paying {
        if !order
            .held_htlcs
            .iter()
            .any(|h| h.intercept_id == htlc.intercept_id)
        {
            order.held_htlcs.push(htlc);
            if let Err(e) = save(state, user_channel_id, order).await {
                tracing::error!(order = %order_id(user_channel_id), error = %e, "LSPS2: recording an intercepted HTLC failed");
            }
        }
    }
    payable(state, intercept_scid)
}

/// A channel is ready. For a JIT order whose client is connected (or that waited until
/// `deadline`), lightning-liquidity forwards the held payment over it; one whose client
/// is away waits for it, since LDK fails a forward to an absent peer back to the payer
/// (after a restart LDK replays `ChannelReady` before peers reconnect). For other
/// channels lightning-liquidity finds nothing to do.
async fn forward_when_connected(
    myself: &ActorRef<Lsps2Msg>,
    state: &mut Lsps2State,
    user_channel_id: u128,
    channel_id: ChannelId,
    client: PublicKey,
    deadline: Instant,
) {
    let c = state.components.clone();
    let opening = state
        .orders
        .get(&user_channel_id)
        .is_some_and(|o| o.state == JitOrderState::Opening);
    if opening && c.peer_manager.peer_by_node_id(&client).is_none() && Instant::now() < deadline {
        if has_channel(&c, &client, user_channel_id) {
            myself.send_after(CLIENT_POLL, move || Lsps2Msg::ForwardWhenConnected {
                user_channel_id,
                channel_id,
                client,
                deadline,
            });
        }
        return;
    }
    let Some(handler) = c.liquidity.lsps2_service_handler() else {
        return;
    };
    // An error means the channel is not a JIT channel, or lightning-liquidity forwarded
    // over it before a restart; for an order, what LDK still holds goes out.
    if let Err(e) = handler
        .channel_ready(user_channel_id, &channel_id, &client)
        .await
    {
        tracing::debug!(%channel_id, error = ?e, "LSPS2: lightning-liquidity did not forward");
        if opening {
            forward_held(state, user_channel_id, channel_id, client);
        }
    }
}

/// A JIT channel is ready but lightning-liquidity did not forward over it: after a
/// restart, the payment it forwarded before can still be held by LDK. What LDK still holds
/// of the payment that pays the fee goes out now, as lightning-liquidity sent it.
fn forward_held(
    state: &Lsps2State,
    user_channel_id: u128,
    channel_id: ChannelId,
    client: PublicKey,
) {
    let Some(order) = state.orders.get(&user_channel_id) else {
        return;
    };
    let Some(fee) = order.opening_fee_msat else {
        return;
    };
    if order.state != JitOrderState::Opening {
        return;
    }
    let c = &state.components;
    for (intercept_id, amount_msat) in fee_payment(&order.held_htlcs, fee) {
        let Some(id) = held_id(c, intercept_id) else {
            continue;
        };
        match c
            .channel_manager
            .forward_intercepted_htlc(id, &channel_id, client, amount_msat)
        {
            Ok(()) => {
                tracing::warn!(%client, %channel_id, intercept_id, "LSPS2: forwarding an HTLC a restart left held");
                metrics::counter!("sluice_lsps2_recovered_total", "step" => "forward").increment(1);
            }
            Err(e) => {
                tracing::warn!(%client, %channel_id, intercept_id, error = ?e, "LSPS2: forwarding a held HTLC failed");
            }
        }
    }
}

/// Whether LDK still holds `htlc`, neither forwarded nor failed.
fn still_held(c: &Components, htlc: &HeldHtlc) -> bool {
    held_id(c, &htlc.intercept_id).is_some()
}

/// The intercept id written as `hex`, if LDK still holds that HTLC.
fn held_id(c: &Components, hex: &str) -> Option<InterceptId> {
    parse_intercept_id(hex).filter(|id| {
        c.channel_manager
            .intercepted_htlc_inbound_amount_msat(*id)
            .is_some()
    })
}

fn parse_intercept_id(hex: &str) -> Option<InterceptId> {
    <[u8; 32]>::from_hex(hex).ok().map(InterceptId)
}

/// Whether an HTLC at `intercept_scid` belongs to an order: one bought whose offer has not
/// expired, or one whose channel is opening or open.
fn payable(state: &Lsps2State, intercept_scid: u64) -> bool {
    state
        .orders
        .values()
        .filter(|o| o.intercept_scid == intercept_scid)
        .any(|o| match o.state {
            JitOrderState::Bought => unexpired(o),
            JitOrderState::Opening | JitOrderState::Forwarded => true,
            JitOrderState::Failed => false,
        })
}

/// Whether the order's fee offer is still valid.
fn unexpired(order: &JitOrderRecord) -> bool {
    LSPSDateTime::from_str(&order.valid_until).is_ok_and(|until| !until.is_past())
}

/// Whether the order is bought but can no longer be paid: its fee offer expired unused.
/// Such an order stays in the book (its SCID was sold) and is shown as expired.
pub fn expired_unpaid(order: &JitOrderRecord) -> bool {
    order.state == JitOrderState::Bought && !unexpired(order)
}

/// Bought SCIDs of `client` that can still be paid.
fn pending_buys(state: &Lsps2State, client: &PublicKey) -> usize {
    let client = client.to_string();
    state
        .orders
        .values()
        .filter(|o| o.state == JitOrderState::Bought && o.client_node_id == client)
        .filter(|o| unexpired(o))
        .count()
}

/// Opens in progress, and the capacity in JIT channels opening or still open, leaving out
/// the order `except`.
fn commitments(state: &Lsps2State, except: Option<u128>) -> Commitments {
    let open: HashMap<u128, u64> = state
        .components
        .channel_manager
        .list_channels()
        .iter()
        .map(|ch| (ch.user_channel_id, ch.channel_value_satoshis))
        .collect();
    let mut now = Commitments::default();
    for (id, order) in state.orders.iter().filter(|(id, _)| Some(**id) != except) {
        match order.state {
            JitOrderState::Opening => {
                now.opening += 1;
                now.committed_sat += order.channel_sat.unwrap_or(0);
            }
            JitOrderState::Forwarded => now.committed_sat += open.get(id).copied().unwrap_or(0),
            JitOrderState::Bought | JitOrderState::Failed => {}
        }
    }
    now
}

fn summary(state: &Lsps2State) -> Lsps2Summary {
    let now = commitments(state, None);
    let count = |s: JitOrderState| state.orders.values().filter(|o| o.state == s).count();
    let expired = state.orders.values().filter(|o| expired_unpaid(o)).count();
    Lsps2Summary {
        orders_bought: count(JitOrderState::Bought) - expired,
        orders_expired: expired,
        orders_opening: count(JitOrderState::Opening),
        orders_forwarded: count(JitOrderState::Forwarded),
        orders_failed: count(JitOrderState::Failed),
        revenue_msat: state.orders.values().map(|o| o.skimmed_fee_msat).sum(),
        committed_sat: now.committed_sat,
    }
}
