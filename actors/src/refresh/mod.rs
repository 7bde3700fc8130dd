//! The ChannelRefresh actor: bounds how large channel monitors grow on busy channels by
//! splicing them (see [`policy`] for why a splice shrinks a monitor and when one is due).
//! Every [`RefreshConfig::check_every`] it looks at each channel and starts a refresh
//! splice for those due; the rest of a splice is LDK's: negotiation with the peer, the
//! signed transaction broadcast, and the lock once it has confirmed, whose events
//! [`crate::events`] handles. The monitor's next write after the lock is a whole one
//! ([`crate::persist::MonitorPersister`]), which is when the stored size drops.
//!
//! A refresh needs a peer that supports splicing (every sluice node does; LDK's default
//! refuses inbound splices, sluice's configuration accepts them). A peer that does not
//! is logged and tried again after [`RefreshConfig::retry_after`]; such a channel's
//! monitor keeps growing until it is closed. A started refresh is not started again
//! while it waits for its blocks: only once the channel's funding output changed (it
//! locked) or [`RefreshConfig::lock_wait`] passed.

pub mod policy;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use bitcoin::{Amount, TxOut};
use lightning::chain::transaction::OutPoint;
use lightning::ln::funding::SpliceContribution;
use lightning::ln::types::ChannelId;
use ractor::{Actor, ActorProcessingErr, ActorRef};
use tokio::task::JoinHandle;

pub use policy::{due, ChannelLoad, LastTry, RefreshConfig};

use crate::{Components, NodeError};

/// The counter of refreshes this node started, labelled `outcome` (`started`, or
/// `refused` when the wallet or LDK would not start one).
pub const REFRESHES: &str = "sluice_channel_refreshes_total";

/// Messages to the refresh actor.
#[derive(Debug)]
pub enum RefreshMsg {
    /// Look at every channel now.
    Check,
}

/// The refresh actor's state.
pub struct RefreshState {
    components: Components,
    /// The last try to refresh each channel.
    tried: HashMap<ChannelId, Try>,
    ticker: JoinHandle<()>,
}

/// A try to refresh a channel.
struct Try {
    at: Instant,
    started: bool,
    /// The channel's funding output when it was made.
    funding: Option<OutPoint>,
}

/// The refresh actor; `config` says when a channel is due.
pub struct ChannelRefresh {
    /// When channels are refreshed.
    pub config: RefreshConfig,
}

impl Actor for ChannelRefresh {
    type Msg = RefreshMsg;
    type State = RefreshState;
    type Arguments = Components;

    async fn pre_start(
        &self,
        myself: ActorRef<RefreshMsg>,
        components: Components,
    ) -> Result<RefreshState, ActorProcessingErr> {
        let ticker = myself.send_interval(self.config.check_every, || RefreshMsg::Check);
        Ok(RefreshState {
            components,
            tried: HashMap::new(),
            ticker,
        })
    }

    async fn handle(
        &self,
        _myself: ActorRef<RefreshMsg>,
        message: RefreshMsg,
        state: &mut RefreshState,
    ) -> Result<(), ActorProcessingErr> {
        let RefreshMsg::Check = message;
        let c = &state.components;
        let now = Instant::now();
        let forget_after = self.config.retry_after.max(self.config.lock_wait);
        state
            .tried
            .retain(|_, last| now.duration_since(last.at) < forget_after);
        for channel in c.channel_manager.list_channels() {
            let monitor_bytes = c
                .chain_monitor
                .get_monitor(channel.channel_id)
                .ok()
                .and_then(|monitor| c.monitor_persister.whole_bytes(&monitor.persistence_key()));
            let load = ChannelLoad {
                channel_id: channel.channel_id,
                counterparty: channel.counterparty.node_id,
                funder: channel.is_outbound,
                usable: channel.is_usable,
                monitor_bytes,
                outbound_msat: channel.outbound_capacity_msat,
                htlcs: channel.pending_inbound_htlcs.len() + channel.pending_outbound_htlcs.len(),
                last_try: state.tried.get(&channel.channel_id).map(|last| LastTry {
                    since: now.duration_since(last.at),
                    started: last.started,
                    same_funding: last.funding == channel.funding_txo,
                }),
            };
            if !due(&load, &self.config) {
                continue;
            }
            let channel_id = load.channel_id;
            let started = start(c, &load, self.config.splice_out).await;
            let last = Try {
                at: now,
                started: started.is_ok(),
                funding: channel.funding_txo,
            };
            state.tried.insert(channel_id, last);
            match started {
                Ok(()) => {
                    tracing::info!(%channel_id, ?monitor_bytes, "refreshing a channel: splice started");
                    metrics::counter!(REFRESHES, "outcome" => "started").increment(1);
                }
                Err(e) => {
                    tracing::warn!(%channel_id, ?monitor_bytes, error = %e, "refreshing a channel failed to start");
                    metrics::counter!(REFRESHES, "outcome" => "refused").increment(1);
                }
            }
        }
        Ok(())
    }

    async fn post_stop(
        &self,
        _myself: ActorRef<RefreshMsg>,
        state: &mut RefreshState,
    ) -> Result<(), ActorProcessingErr> {
        state.ticker.abort();
        Ok(())
    }
}

/// Starts a refresh splice of `channel` moving `amount` to a new wallet address, at the
/// fee rate and lock time sluice funds channels with.
async fn start(c: &Components, channel: &ChannelLoad, amount: Amount) -> Result<(), NodeError> {
    let wallet = Arc::clone(&c.wallet);
    let address = tokio::task::spawn_blocking(move || wallet.new_address())
        .await
        .map_err(|e| NodeError::Wallet(format!("the address task failed: {e}")))??;
    let rate = c.fees.funding_sat_per_kw();
    let height = c.channel_manager.current_best_block().height;
    let contribution = SpliceContribution::SpliceOut {
        outputs: vec![TxOut {
            value: amount,
            script_pubkey: address.script_pubkey(),
        }],
    };
    c.channel_manager
        .splice_channel(
            &channel.channel_id,
            &channel.counterparty,
            contribution,
            rate,
            Some(height),
        )
        .map_err(|e| NodeError::ChannelRefused(format!("{e:?}")))
}
