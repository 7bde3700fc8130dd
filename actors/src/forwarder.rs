//! Prompt HTLC forwarding, for operators who choose latency over timing privacy
//! (`skip_forward_delay`).
//!
//! The loop that drives LDK ([`crate::processor`]) forwards pending HTLCs (and makes
//! received ones claimable) only after a random batching delay, 50 ms on average, so that an
//! observer cannot match an incoming HTLC to an outgoing one by timing. A two-hop
//! payment waits for it twice. This task instead forwards as soon as the channel manager
//! has something pending: it wakes whenever the manager signals new events or state
//! (which it does when an HTLC becomes irrevocably committed), and at least every
//! [`FALLBACK`] in case a change comes without a signal. The loop's own batches are off
//! then. LDK forwards everything pending at once, so
//! the choice is node-wide, not per HTLC.
//!
//! Checking for pending work walks every outbound payment LDK still holds (it keeps
//! completed ones for about seven minutes), and under load the signals come thousands
//! of times a second; so checks are at least [`MIN_INTERVAL`] apart, which bounds that
//! cost on a busy payer without adding more than that to a forward.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::types::ChannelManager;

/// The longest a pending forward waits when no signal comes.
pub const FALLBACK: Duration = Duration::from_millis(10);
/// The shortest time between two checks for pending forwards.
pub const MIN_INTERVAL: Duration = Duration::from_millis(2);

/// Forwards pending HTLCs promptly until `stopped` turns true.
pub async fn run(channel_manager: Arc<ChannelManager>, mut stopped: watch::Receiver<bool>) {
    loop {
        let checked = tokio::time::Instant::now();
        if channel_manager.needs_pending_htlc_processing() {
            channel_manager.process_pending_htlc_forwards();
            metrics::counter!("sluice_prompt_forward_batches_total").increment(1);
        }
        let signalled = channel_manager.get_event_or_persistence_needed_future();
        tokio::select! {
            _ = signalled => {}
            _ = tokio::time::sleep(FALLBACK) => {}
            _ = stopped.wait_for(|s| *s) => return,
        }
        tokio::select! {
            _ = tokio::time::sleep_until(checked + MIN_INTERVAL) => {}
            _ = stopped.wait_for(|s| *s) => return,
        }
    }
}
