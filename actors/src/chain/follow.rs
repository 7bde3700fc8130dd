//! Following the chain: polling the backend's tip, feeding new blocks (and reorgs) to
//! the channel manager, chain monitor and sweeper, refreshing fee estimates.

use std::sync::Arc;
use std::time::Duration;

use bitcoin::block::Header;
use lightning::chain::transaction::TransactionData;
use lightning::chain::{BestBlock, Listen};
use lightning_block_sync::poll::{ChainPoller, ValidatedBlockHeader};
use lightning_block_sync::{SpvClient, UnboundedCache};
use tokio::sync::watch;

use super::fees::{btc_per_kvb_to_sat_per_kw, TARGETS};
use crate::Components;

/// Hands every block event to all of the node's chain listeners.
struct Listeners {
    components: Components,
}

impl Listen for Listeners {
    fn filtered_block_connected(&self, header: &Header, txdata: &TransactionData, height: u32) {
        let c = &self.components;
        c.channel_manager
            .filtered_block_connected(header, txdata, height);
        c.chain_monitor
            .filtered_block_connected(header, txdata, height);
        c.sweeper.filtered_block_connected(header, txdata, height);
    }

    fn blocks_disconnected(&self, fork_point: BestBlock) {
        let c = &self.components;
        c.channel_manager.blocks_disconnected(fork_point);
        c.chain_monitor.blocks_disconnected(fork_point);
        c.sweeper.blocks_disconnected(fork_point);
    }
}

/// Failed polls in a row after which following gives up, so that its supervisor
/// restarts it from the channel manager's best block with a fresh client (at the 500 ms
/// poll interval: 5 s without a chain).
pub const GIVE_UP_AFTER_FAILURES: u32 = 10;

/// Polls the backend every `interval` until `stop` turns true (`Ok`), or until
/// [`GIVE_UP_AFTER_FAILURES`] polls in a row failed (`Err` with the last error). After
/// each new tip the fee estimates are refreshed and `new_tip` is notified (the wallet
/// syncs on it). Every poll's outcome goes to the node's health board.
pub async fn follow_chain(
    components: Components,
    mut cache: UnboundedCache,
    tip: ValidatedBlockHeader,
    interval: Duration,
    new_tip: watch::Sender<u32>,
    mut stop: watch::Receiver<bool>,
) -> Result<(), String> {
    let rpc = Arc::clone(components.chain.rpc());
    let poller = ChainPoller::new(rpc, components.network);
    let listeners = Listeners {
        components: components.clone(),
    };
    let mut client = SpvClient::new(tip, poller, &mut cache, &listeners);
    refresh_fees(&components).await;
    let mut failures = 0u32;
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.wait_for(|s| *s) => return Ok(()),
            _ = ticker.tick() => {}
        }
        let polled = client.poll_best_tip().await;
        components
            .health
            .chain_polled(polled.as_ref().map(|_| ()).map_err(|e| format!("{e:?}")));
        match polled {
            Ok((_, new)) => {
                failures = 0;
                if new {
                    refresh_fees(&components).await;
                    // Monitors of channels resolved on chain for good leave the set
                    // loaded at start (moved to the archive by the persistence writer).
                    components
                        .chain_monitor
                        .archive_fully_resolved_channel_monitors();
                    // Sweep what the new block made spendable now, not at the background
                    // processor's next sweeper tick (every 30 s).
                    if components
                        .sweeper
                        .regenerate_and_broadcast_spend_if_necessary()
                        .await
                        .is_err()
                    {
                        tracing::warn!(
                            "sweeping spendable outputs failed; retrying on the next block"
                        );
                    }
                    let height = components.channel_manager.current_best_block().height;
                    metrics::gauge!("sluice_chain_height").set(f64::from(height));
                    let _ = new_tip.send(height);
                }
            }
            Err(e) => {
                failures += 1;
                tracing::warn!(error = ?e, failures, "polling the chain backend failed");
                if failures >= GIVE_UP_AFTER_FAILURES {
                    return Err(format!("{failures} polls in a row failed, the last: {e:?}"));
                }
            }
        }
    }
}

/// Asks the backend for every fee target; a target without an estimate falls back.
pub async fn refresh_fees(components: &Components) {
    for (target, blocks, mode, _) in TARGETS {
        match components.chain.estimate_fee(blocks, mode).await {
            Ok(Some(rate)) => components.fees.set(target, btc_per_kvb_to_sat_per_kw(rate)),
            Ok(None) => components.fees.clear(target),
            Err(e) => tracing::debug!(error = %e, "fee estimate failed; keeping the last one"),
        }
    }
}
