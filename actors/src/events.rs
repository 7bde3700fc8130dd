//! LDK's events, dispatched to what owns them. The LDK loop ([`crate::processor`]) calls
//! [`EventDispatcher::handle`]; returning `Err(ReplayEvent)` makes LDK hand the event
//! back later (used when a durable write fails).

use std::sync::Arc;

use bitcoin::hex::DisplayHex;
use bitcoin::secp256k1::PublicKey;
use bitcoin::FeeRate;
use lightning::events::{Event, ReplayEvent};
use lightning::ln::types::ChannelId;
use lightning::sign::EntropySource;

use crate::channel_policy::Acceptance;
use crate::clock::unix_ms;
use crate::credit::CreditMsg;
use crate::forwards::{Earned, ForwardTally};
use crate::lsps2;
use crate::payments::codes::failure_code;
use crate::payments::received::{record_received, Claimed};
use crate::payments::settle::{settle_queued, Outcome};
use crate::pool::PoolMsg;
use crate::Components;

/// The histogram of the time LDK's event handler takes per event, labelled by `event`
/// (the variant's name): every event waits for the ones before it.
pub const EVENT_SECONDS: &str = "sluice_ldk_event_seconds";

/// The counter of splices of this node's channels, by `stage`: `pending` once the
/// transaction is negotiated and broadcast, `failed` when the negotiation failed.
pub const SPLICES: &str = "sluice_channel_splices_total";

/// How long an event may take before it is logged as slow.
pub const SLOW_EVENT: std::time::Duration = std::time::Duration::from_secs(1);

/// The event's variant name, for logs.
fn event_kind(event: &Event) -> &'static str {
    match event {
        Event::FundingGenerationReady { .. } => "FundingGenerationReady",
        Event::PaymentClaimable { .. } => "PaymentClaimable",
        Event::PaymentClaimed { .. } => "PaymentClaimed",
        Event::PaymentSent { .. } => "PaymentSent",
        Event::PaymentFailed { .. } => "PaymentFailed",
        Event::SpendableOutputs { .. } => "SpendableOutputs",
        Event::OpenChannelRequest { .. } => "OpenChannelRequest",
        Event::ChannelPending { .. } => "ChannelPending",
        Event::ChannelReady { .. } => "ChannelReady",
        Event::ChannelClosed { .. } => "ChannelClosed",
        Event::PaymentForwarded { .. } => "PaymentForwarded",
        Event::HTLCIntercepted { .. } => "HTLCIntercepted",
        Event::HTLCHandlingFailed { .. } => "HTLCHandlingFailed",
        Event::FundingTxBroadcastSafe { .. } => "FundingTxBroadcastSafe",
        Event::BumpTransaction(_) => "BumpTransaction",
        Event::FundingTransactionReadyForSigning { .. } => "FundingTransactionReadyForSigning",
        Event::SplicePending { .. } => "SplicePending",
        Event::SpliceFailed { .. } => "SpliceFailed",
        Event::DiscardFunding { .. } => "DiscardFunding",
        _ => "other",
    }
}

/// The peer (hex node id) a forward left through: LDK's `next_node_id`, or else the
/// counterparty of its outgoing channel if that channel is still open (HTLCs from
/// before LDK 0.1 carry no node id); `None` when neither tells.
fn next_peer(
    c: &Components,
    next_node_id: Option<PublicKey>,
    next_channel_id: Option<ChannelId>,
) -> Option<String> {
    if let Some(node_id) = next_node_id {
        return Some(node_id.to_string());
    }
    let channel_id = next_channel_id?;
    c.channel_manager
        .list_channels()
        .into_iter()
        .find(|channel| channel.channel_id == channel_id)
        .map(|channel| channel.counterparty.node_id.to_string())
}

/// What the dispatcher calls when an outcome it acknowledged to LDK could not be made
/// durable: the node must stop (see [`settle_queued`]).
pub type OnFailure = Arc<dyn Fn(String) + Send + Sync>;

/// Routes each LDK event to the part of the node that owns it.
pub struct EventDispatcher {
    components: Components,
    on_failure: OnFailure,
    forwards: ForwardTally,
}

impl EventDispatcher {
    /// A dispatcher over the node's components; `on_failure` stops the node.
    pub fn new(components: Components, on_failure: OnFailure) -> Self {
        EventDispatcher {
            components,
            on_failure,
            forwards: ForwardTally::default(),
        }
    }

    /// Handles one event. LDK hands events over one at a time, so a slow one holds up
    /// every other: one that takes over [`SLOW_EVENT`] is logged.
    pub async fn handle(&self, event: Event) -> Result<(), ReplayEvent> {
        let started = std::time::Instant::now();
        let kind = event_kind(&event);
        let handled = self.dispatch(event).await;
        let took = started.elapsed();
        metrics::histogram!(EVENT_SECONDS, "event" => kind).record(took.as_secs_f64());
        if took > SLOW_EVENT {
            tracing::warn!(event = kind, ?took, "a slow LDK event");
        }
        handled
    }

    async fn dispatch(&self, event: Event) -> Result<(), ReplayEvent> {
        let c = &self.components;
        match event {
            Event::FundingGenerationReady {
                temporary_channel_id,
                counterparty_node_id,
                channel_value_satoshis,
                output_script,
                user_channel_id,
            } => {
                let fee_rate = FeeRate::from_sat_per_kwu(u64::from(c.fees.funding_sat_per_kw()));
                let amount = bitcoin::Amount::from_sat(channel_value_satoshis);
                // LDK refuses a funding transaction that is not final at its own best
                // block, and the wallet may have synced further: lock to LDK's height.
                let height = c.channel_manager.current_best_block().height;
                let funded = bitcoin::absolute::LockTime::from_height(height)
                    .map_err(|e| format!("lock time at height {height}: {e}"))
                    .and_then(|lock_time| {
                        c.wallet
                            .build_payment(output_script, amount, fee_rate, lock_time)
                            .map_err(|e| e.to_string())
                    })
                    .and_then(|tx| {
                        let (id, peer) = (temporary_channel_id, counterparty_node_id);
                        // A JIT channel sold client-trusts-LSP: lightning-liquidity holds
                        // the transaction until the client has claimed the fee.
                        if lsps2::ldk_events::hold_funding(c, user_channel_id, &peer, &tx) {
                            c.channel_manager
                                .funding_transaction_generated_manual_broadcast(id, peer, tx)
                        } else {
                            c.channel_manager
                                .funding_transaction_generated(id, peer, tx)
                        }
                        .map_err(|e| format!("{e:?}"))
                    });
                if let Err(reason) = funded {
                    tracing::error!(%temporary_channel_id, %reason, "funding a channel failed; abandoning it");
                    let _ = c.channel_manager.force_close_broadcasting_latest_txn(
                        &temporary_channel_id,
                        &counterparty_node_id,
                        format!("funding failed: {reason}"),
                    );
                }
            }
            Event::PaymentClaimable {
                payment_hash,
                purpose,
                amount_msat,
                ..
            } => match purpose.preimage() {
                Some(preimage) => c.channel_manager.claim_funds(preimage),
                None => {
                    tracing::warn!(%payment_hash, amount_msat, "claimable payment without a preimage; failing it");
                    c.channel_manager.fail_htlc_backwards(&payment_hash);
                }
            },
            Event::PaymentClaimed {
                payment_hash,
                amount_msat,
                purpose,
                payment_id,
                ..
            } => {
                let claimed = Claimed {
                    payment_hash: payment_hash.0,
                    ldk_id: payment_id.map(|id| id.0),
                    amount_msat,
                    preimage: purpose.preimage().map(|p| p.0),
                };
                // Queued, not awaited: see `settle_queued` for why that is safe.
                let durable = record_received(&c.store, claimed)
                    .map_err(|e| replay("an incoming payment", e))?;
                let on_failure = Arc::clone(&self.on_failure);
                let pool = c.actors.pool.clone();
                let credit = c.actors.credit.clone();
                tokio::spawn(async move {
                    match durable.await {
                        Ok(()) => {
                            metrics::counter!("sluice_payments_received_total").increment(1);
                            // A pool deposit is credited once the claim is on record; if
                            // the pool is not running, its sweep finds the claim later.
                            let hash = payment_hash.0.to_lower_hex_string();
                            let _ = pool.cast(PoolMsg::Claimed(hash.clone()));
                            // So is an envelope's repayment (the credit tick also looks).
                            let _ = credit.cast(CreditMsg::Claimed(hash));
                        }
                        Err(e) => on_failure(format!("recording an incoming payment failed: {e}")),
                    }
                });
            }
            Event::PaymentSent {
                payment_id,
                payment_hash,
                payment_preimage,
                fee_paid_msat,
                ..
            } => {
                let id = payment_id
                    .map(|p| p.0.to_lower_hex_string())
                    .unwrap_or_else(|| payment_hash.0.to_lower_hex_string());
                let outcome = Outcome::Succeeded {
                    preimage: payment_preimage.0,
                    fee_paid_msat,
                };
                self.settle(&id, outcome).await?;
                metrics::counter!("sluice_payments_sent_total", "outcome" => "succeeded")
                    .increment(1);
            }
            Event::PaymentFailed {
                payment_id, reason, ..
            } => {
                let id = payment_id.0.to_lower_hex_string();
                let outcome = Outcome::Failed {
                    code: failure_code(reason).to_owned(),
                };
                self.settle(&id, outcome).await?;
                metrics::counter!("sluice_payments_sent_total", "outcome" => "failed").increment(1);
            }
            Event::SpendableOutputs {
                outputs,
                channel_id,
            } => {
                // Static outputs too: a cooperative close pays to a key of LDK's
                // KeysManager, not to the wallet, so the sweeper moves them there.
                if c.sweeper
                    .track_spendable_outputs(outputs, channel_id, false, None)
                    .await
                    .is_err()
                {
                    tracing::error!(
                        "persisting spendable outputs failed; LDK will replay the event"
                    );
                    return Err(ReplayEvent());
                }
            }
            Event::OpenChannelRequest {
                temporary_channel_id,
                counterparty_node_id,
                funding_satoshis,
                channel_type,
                ..
            } => {
                let mut random = [0u8; 16];
                random.copy_from_slice(&c.keys.get_secure_random_bytes()[..16]);
                let user_channel_id = u128::from_be_bytes(random);
                let decision = c.channel_policy.decide(
                    &counterparty_node_id,
                    &channel_type,
                    c.wallet.balance().confirmed.to_sat(),
                    crate::channel_policy::anchor_channel_count(&c.channel_manager),
                );
                let (temporary, peer) = (&temporary_channel_id, &counterparty_node_id);
                let result = match decision {
                    Acceptance::Accept => c.channel_manager.accept_inbound_channel(
                        temporary,
                        peer,
                        user_channel_id,
                        None,
                    ),
                    Acceptance::AcceptZeroConf => c
                        .channel_manager
                        .accept_inbound_channel_from_trusted_peer_0conf(
                            temporary,
                            peer,
                            user_channel_id,
                            None,
                        ),
                    Acceptance::Reject(reason) => c
                        .channel_manager
                        .force_close_broadcasting_latest_txn(temporary, peer, reason.to_owned()),
                };
                match result {
                    Ok(()) => tracing::info!(
                        %counterparty_node_id, funding_satoshis, ?decision,
                        "answered a request to open a channel"
                    ),
                    // The request is not replayed; the peer sees the channel fail.
                    Err(e) => tracing::warn!(
                        %counterparty_node_id, funding_satoshis, ?decision,
                        "answering a request to open a channel failed: {e:?}"
                    ),
                }
            }
            Event::ChannelPending {
                channel_id,
                counterparty_node_id,
                funding_txo,
                ..
            } => {
                tracing::info!(%channel_id, %counterparty_node_id, %funding_txo, "channel pending");
            }
            Event::ChannelReady {
                channel_id,
                counterparty_node_id,
                user_channel_id,
                funding_txo,
                ..
            } => {
                // Also after a splice locked, with the new funding output.
                tracing::info!(%channel_id, %counterparty_node_id, ?funding_txo, "channel ready");
                if c.lsps2.is_some() {
                    lsps2::ldk_events::channel_ready(
                        c,
                        user_channel_id,
                        channel_id,
                        counterparty_node_id,
                    )
                    .await
                    .map_err(|e| replay("a JIT channel's readiness", e))?;
                }
                metrics::counter!("sluice_channels_ready_total").increment(1);
            }
            Event::ChannelClosed {
                channel_id,
                reason,
                user_channel_id,
                counterparty_node_id,
                ..
            } => {
                tracing::info!(%channel_id, %reason, "channel closed");
                if c.lsps2.is_some() {
                    lsps2::ldk_events::channel_closed(
                        c,
                        user_channel_id,
                        counterparty_node_id,
                        reason.to_string(),
                    )
                    .await
                    .map_err(|e| replay("a JIT channel's close", e))?;
                }
                metrics::counter!("sluice_channels_closed_total").increment(1);
            }
            Event::PaymentForwarded {
                total_fee_earned_msat,
                next_channel_id,
                next_user_channel_id,
                next_node_id,
                skimmed_fee_msat,
                ..
            } => {
                if c.lsps2.is_some() {
                    lsps2::ldk_events::payment_forwarded(
                        c,
                        next_channel_id,
                        next_user_channel_id,
                        skimmed_fee_msat,
                    )
                    .await
                    .map_err(|e| replay("a JIT channel's forward", e))?;
                }
                // A fee LDK does not know yet (claimed on-chain) is not booked; LDK may
                // report such a forward twice, so only known fees are counted.
                if let Some(total) = total_fee_earned_msat {
                    let peer = next_peer(c, next_node_id, next_channel_id);
                    let earned = Earned::from_event(total, skimmed_fee_msat, peer);
                    let durable = self
                        .forwards
                        .add(&c.store, unix_ms(), earned)
                        .await
                        .map_err(|e| replay("a forward's fees", e))?;
                    let on_failure = Arc::clone(&self.on_failure);
                    tokio::spawn(async move {
                        if let Err(e) = durable.await {
                            on_failure(format!("recording a forward's fees failed: {e}"));
                        }
                    });
                }
                metrics::counter!("sluice_payments_forwarded_total").increment(1);
                metrics::counter!("sluice_forwarding_fees_msat_total")
                    .increment(total_fee_earned_msat.unwrap_or(0));
            }
            Event::HTLCIntercepted {
                intercept_id,
                requested_next_hop_scid,
                expected_outbound_amount_msat,
                payment_hash,
                ..
            } => {
                lsps2::ldk_events::htlc_intercepted(
                    c,
                    requested_next_hop_scid,
                    intercept_id,
                    expected_outbound_amount_msat,
                    payment_hash,
                )
                .await
                .map_err(|e| replay("an intercepted HTLC", e))?;
            }
            Event::HTLCHandlingFailed { failure_type, .. } => {
                lsps2::ldk_events::htlc_handling_failed(c, failure_type).await;
            }
            Event::FundingTxBroadcastSafe {
                user_channel_id,
                counterparty_node_id,
                ..
            } => {
                lsps2::ldk_events::funding_broadcast_safe(
                    c,
                    user_channel_id,
                    &counterparty_node_id,
                );
            }
            Event::FundingTransactionReadyForSigning {
                channel_id,
                counterparty_node_id,
                unsigned_transaction,
                ..
            } => {
                // Only a splice sluice started reaches here (LDK's acceptor contributes
                // nothing), and sluice's splices add outputs only (`crate::refresh`): the
                // one input is the channel's funding output, which LDK signs itself.
                if let Err(e) = c.channel_manager.funding_transaction_signed(
                    &channel_id,
                    &counterparty_node_id,
                    unsigned_transaction,
                ) {
                    // The splice stays unsigned; it fails when the peer gives up on it.
                    tracing::warn!(%channel_id, "signing a splice transaction failed: {e:?}");
                }
            }
            Event::SplicePending {
                channel_id,
                counterparty_node_id,
                new_funding_txo,
                ..
            } => {
                tracing::info!(%channel_id, %counterparty_node_id, %new_funding_txo, "splice pending");
                metrics::counter!(SPLICES, "stage" => "pending").increment(1);
            }
            Event::SpliceFailed {
                channel_id,
                counterparty_node_id,
                abandoned_funding_txo,
                ..
            } => {
                tracing::warn!(%channel_id, %counterparty_node_id, ?abandoned_funding_txo, "splice failed");
                metrics::counter!(SPLICES, "stage" => "failed").increment(1);
            }
            Event::DiscardFunding {
                channel_id,
                funding_info,
            } => {
                // A channel funding or splice that will never confirm; sluice's splices
                // spend no wallet inputs, and an unused channel funding's inputs are the
                // wallet's to spend again.
                tracing::info!(%channel_id, ?funding_info, "a funding transaction was discarded");
            }
            Event::BumpTransaction(bump) => {
                // Builds, signs and broadcasts the child (or the HTLC claim) at once; a
                // failure (no confirmed wallet funds) is logged by LDK, which asks again
                // on later blocks.
                c.bump.handle_event(&bump);
            }
            other => tracing::debug!(event = ?other, "LDK event"),
        }
        Ok(())
    }

    /// Settles an outgoing payment, its write queued rather than awaited
    /// ([`settle_queued`]); a failure to prepare the outcome (or its receipt) makes LDK
    /// replay the event.
    async fn settle(&self, payment_id: &str, outcome: Outcome) -> Result<(), ReplayEvent> {
        let on_failure = Arc::clone(&self.on_failure);
        match settle_queued(&self.components, payment_id, outcome, on_failure).await {
            Ok(true) => Ok(()),
            Ok(false) => {
                tracing::warn!(
                    payment_id,
                    "an outcome for a payment sluice has no record of"
                );
                Ok(())
            }
            Err(e) => {
                tracing::error!(payment_id, error = %e, "settling a payment failed; LDK will replay the event");
                Err(ReplayEvent())
            }
        }
    }
}

/// Logs why an event must be handled again, and asks LDK to replay it.
fn replay(what: &str, error: crate::NodeError) -> ReplayEvent {
    tracing::error!(error = %error, "recording {what} failed; LDK will replay the event");
    ReplayEvent()
}
