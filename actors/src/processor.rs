//! The loop that drives LDK: hands its events to the [`EventDispatcher`], asks the
//! persistence writer for channel manager writes, forwards HTLCs, and runs LDK's timers.
//! It stands in for lightning-background-processor's `process_events_async`, which does
//! the same work in a way that costs a busy payer most of its time:
//!
//! - it serialises the channel manager itself whenever the manager needs persisting and
//!   hands the bytes to the store, which sluice must throw away (the writer serialises
//!   the manager again *after* the monitor writes it commits with, see
//!   [`crate::persist`]); serialising takes the manager's global write lock, so each
//!   thrown-away copy stops all message handling;
//! - it waits for each of those writes, so event handling is paced by persist rounds;
//! - it writes the scorer, durably, after every successful or failed payment path,
//!   inside the event handler;
//! - LDK's timer tick runs once a minute, and LDK keeps every fulfilled payment for
//!   eight ticks (see [`DEFAULT_TIMER_TICK`]).
//!
//! Here a manager that needs persisting is a request to the writer, which serialises it
//! once per round; the loop does not wait for it, so events are handled while a round
//! commits. (The writer's own ordering keeps the stored manager from ever lagging the
//! stored monitors; ledger writes of the events it no longer holds are queued ahead of
//! it, see [`crate::payments::settle::settle_queued`].) The scorer and graph learn from
//! every payment path as before and are written on timers. On stop the loop asks for a
//! last manager write and waits for it, then writes the scorer and the graph.

use std::sync::Arc;
use std::time::Duration;

use lightning::events::{Event, PathFailure};
use lightning::io;
use lightning::ln::msgs::OnionMessageHandler;
use lightning::routing::scoring::ScoreUpdate;
use lightning::sign::EntropySource;
use lightning::util::persist::{
    KVStore, NETWORK_GRAPH_PERSISTENCE_KEY, NETWORK_GRAPH_PERSISTENCE_PRIMARY_NAMESPACE,
    NETWORK_GRAPH_PERSISTENCE_SECONDARY_NAMESPACE, SCORER_PERSISTENCE_KEY,
    SCORER_PERSISTENCE_PRIMARY_NAMESPACE, SCORER_PERSISTENCE_SECONDARY_NAMESPACE,
};
use lightning::util::ser::Writeable;
use tokio::sync::watch;
use tokio::time::{sleep_until, Instant};

use crate::clock::since_epoch;
use crate::events::EventDispatcher;
use crate::Components;

/// How the loop runs: the operator's choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LdkLoopConfig {
    /// Forward HTLCs as soon as they are committed (see [`crate::forwarder`]) instead of
    /// after a random delay.
    pub skip_forward_delay: bool,
    /// How often LDK's timer tick runs ([`DEFAULT_TIMER_TICK`]).
    pub timer_tick: Duration,
}

impl Default for LdkLoopConfig {
    fn default() -> Self {
        LdkLoopConfig {
            skip_forward_delay: false,
            timer_tick: DEFAULT_TIMER_TICK,
        }
    }
}

/// How often LDK's `ChannelManager::timer_tick_occurred` runs by default: every 30 s,
/// twice as often as LDK's minute (`ldk_timer_tick_secs` sets it, 1 to 60 s).
///
/// Why faster: LDK keeps a fulfilled outgoing payment (to refuse a second send with its
/// id) until 8 ticks have passed with none of its HTLCs left and no event of it queued,
/// and serialises every one it keeps in each manager write and walks them all on every
/// forward. sluice does not need that memory to pay once: a durable attempt with a
/// derived id is recorded before LDK sees the payment, and a settled one is never sent
/// again (`tests/tests/payments.rs`, `payments_stay_paid_once_after_ldk_forgets_them_
/// and_across_a_crash`, runs with a 1 s tick and a crash). At 30 s a payment is
/// forgotten after 4 min instead of 8.
///
/// Why not faster by default: LDK counts other timeouts in the same ticks
/// (lightning 0.2.7; at a 60 s tick → 30 s → 10 s):
/// - a received multi-part payment whose parts do not all arrive is failed back after
///   2–3 ticks (`MPP_TIMEOUT_TICKS`): 2–3 min → 60–90 s → 20–30 s. BOLT 4 asks a payee
///   to wait at least 60 s, which sets the default;
/// - a cooperative close whose `closing_signed` exchange has not finished within two
///   ticks becomes a force close (`timer_check_closing_negotiation_progress`): 1–2 min →
///   30–60 s → 10–20 s;
/// - a peer that owes an answer (`channel_reestablish`, `stfu`, `revoke_and_ack`) is
///   disconnected 1–2 ticks after we started waiting
///   (`DISCONNECT_PEER_AWAITING_RESPONSE_TICKS`): 1–2 min → 30–60 s → 10–20 s; it
///   reconnects (`keep_peers_connected`);
/// - an inbound channel request not accepted in 1–2 ticks is dropped
///   (`UNACCEPTED_INBOUND_CHANNEL_AGE_LIMIT_TICKS`; the event handler answers at once),
///   and a channel not funded in 60 ticks (`UNFUNDED_CHANNEL_AGE_LIMIT_TICKS`): 1 h →
///   30 min → 10 min;
/// - a payment to a BOLT 12 offer waits 1–2 ticks for its invoice (sluice pays no
///   offers);
/// - gossip: a channel is announced disabled 10–11 ticks after its peer left and enabled
///   5–6 after it came back (`DISABLE_GOSSIP_TICKS`, `ENABLE_GOSSIP_TICKS`); after a
///   forwarding fee change the old fees are accepted for 4–5 ticks
///   (`EXPIRE_PREV_CONFIG_TICKS`);
/// - an outbound channel's fee rate is compared with the estimator's at every tick: any
///   rise sends `update_fee` (a fall only when it halves), so more frequent checks can
///   send more updates when fees climb.
///
/// Not tick-driven: intercepted (JIT) and claimable HTLCs expire by block height.
pub const DEFAULT_TIMER_TICK: Duration = Duration::from_secs(30);
/// How often the peer manager pings peers and drops those that did not answer.
pub const PING_TIMER: Duration = Duration::from_secs(10);
/// How often the onion messenger's timer runs.
pub const ONION_MESSAGE_TIMER: Duration = Duration::from_secs(10);
/// How often the chain monitor rebroadcasts claims that have not confirmed.
pub const REBROADCAST_TIMER: Duration = Duration::from_secs(30);
/// How often the output sweeper rebuilds and rebroadcasts its spends.
pub const SWEEPER_TIMER: Duration = Duration::from_secs(30);
/// How often the scorer decays and is written (it learns from every payment path).
pub const SCORER_TIMER: Duration = Duration::from_secs(5 * 60);
/// The first prune and write of the network graph, then every [`GRAPH_TIMER`].
pub const FIRST_GRAPH_TIMER: Duration = Duration::from_secs(60);
/// How often the network graph is pruned of stale channels and written.
pub const GRAPH_TIMER: Duration = Duration::from_secs(60 * 60);
/// The longest the loop sleeps when nothing wakes it.
const MAX_SLEEP: Duration = Duration::from_millis(100);
/// Mean delay before pending HTLCs are forwarded, drawn at random each time so an
/// observer cannot match an incoming HTLC to an outgoing one by timing. Without
/// `skip_forward_delay`; with it, [`crate::forwarder`] forwards at once.
pub const MEAN_FORWARD_DELAY: Duration = Duration::from_millis(50);
/// The longest forward delay drawn.
const MAX_FORWARD_DELAY: Duration = Duration::from_millis(500);

/// When each timer next fires.
struct Timers {
    tick: Instant,
    ping: Instant,
    onion: Instant,
    rebroadcast: Instant,
    sweeper: Instant,
    scorer: Instant,
    graph: Instant,
    forward: Instant,
}

impl Timers {
    fn new(now: Instant, tick: Duration, forward_delay: Duration) -> Self {
        Timers {
            tick: now + tick,
            ping: now + PING_TIMER,
            onion: now + ONION_MESSAGE_TIMER,
            rebroadcast: now + REBROADCAST_TIMER,
            sweeper: now + SWEEPER_TIMER,
            scorer: now + SCORER_TIMER,
            graph: now + FIRST_GRAPH_TIMER,
            forward: now + forward_delay,
        }
    }
}

/// Whether `at` has come; if so it is moved `every` on.
fn due(at: &mut Instant, now: Instant, every: Duration) -> bool {
    if now < *at {
        return false;
    }
    *at = now + every;
    true
}

/// A forward delay from 64 random bits: exponential with mean [`MEAN_FORWARD_DELAY`],
/// at most [`MAX_FORWARD_DELAY`].
fn forward_delay(random: u64) -> Duration {
    // 53 bits: exactly representable, uniform in [0, 1).
    let uniform = (random >> 11) as f64 / (1u64 << 53) as f64;
    let delay = -(1.0 - uniform).ln() * MEAN_FORWARD_DELAY.as_secs_f64();
    Duration::from_secs_f64(delay.min(MAX_FORWARD_DELAY.as_secs_f64()))
}

/// The next forward delay, from the node's entropy.
fn next_forward_delay(c: &Components) -> Duration {
    let bytes = c.keys.get_secure_random_bytes();
    let mut random = [0u8; 8];
    random.copy_from_slice(&bytes[..8]);
    forward_delay(u64::from_le_bytes(random))
}

/// Runs the loop until `stopped` turns true, then writes the manager, scorer and graph
/// a last time. Fails when a write LDK needs (the manager's, the liquidity manager's)
/// fails: the node cannot go on without losing state.
pub async fn run(
    components: Components,
    dispatcher: Arc<EventDispatcher>,
    config: LdkLoopConfig,
    mut stopped: watch::Receiver<bool>,
) -> Result<(), io::Error> {
    let LdkLoopConfig {
        skip_forward_delay,
        timer_tick,
    } = config;
    let c = &components;
    // Each handler future is awaited in place, so it borrows rather than clones.
    let handler = |event: Event| {
        let dispatcher = &dispatcher;
        Box::pin(async move {
            learn(c, &event);
            dispatcher.handle(event).await
        })
    };
    // What the tick and the chain monitor do at start, as LDK expects.
    c.channel_manager.timer_tick_occurred();
    c.chain_monitor.rebroadcast_pending_claims();
    c.scorer
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .time_passed(since_epoch());
    let mut timers = Timers::new(Instant::now(), timer_tick, next_forward_delay(c));
    loop {
        c.channel_manager
            .process_pending_events_async(&handler)
            .await;
        c.chain_monitor.process_pending_events_async(&handler).await;
        c.onion_messenger
            .process_pending_events_async(&handler)
            .await;
        // Last: it may wait on the channel manager's locks.
        c.peer_manager.process_events();

        let now = Instant::now();
        if !skip_forward_delay && now >= timers.forward {
            if c.channel_manager.needs_pending_htlc_processing() {
                c.channel_manager.process_pending_htlc_forwards();
            }
            timers.forward = now + next_forward_delay(c);
        }
        let wake = [
            timers.tick,
            timers.ping,
            timers.onion,
            timers.rebroadcast,
            timers.sweeper,
            timers.scorer,
            timers.graph,
            if skip_forward_delay {
                now + MAX_SLEEP
            } else {
                timers.forward
            },
            now + MAX_SLEEP,
        ]
        .into_iter()
        .min()
        .unwrap_or(now + MAX_SLEEP);
        tokio::select! {
            _ = sleep_until(wake) => {}
            _ = c.channel_manager.get_event_or_persistence_needed_future() => {}
            _ = c.chain_monitor.get_update_future() => {}
            _ = c.onion_messenger.get_update_future() => {}
            _ = c.liquidity.get_pending_msgs_or_needs_persist_future() => {}
            _ = stopped.wait_for(|s| *s) => break,
        }

        let now = Instant::now();
        if due(&mut timers.tick, now, timer_tick) {
            c.channel_manager.timer_tick_occurred();
            metrics::counter!("sluice_ldk_timer_ticks_total").increment(1);
        }
        if c.channel_manager.get_and_clear_needs_persistence() {
            // Not waited for: the writer serialises the manager in its next round.
            c.persist_queue.request_manager(None);
        }
        c.liquidity.persist().await?;
        if due(&mut timers.scorer, now, SCORER_TIMER) {
            persist_scorer(c).await;
        }
        if due(&mut timers.graph, now, GRAPH_TIMER) {
            c.graph
                .remove_stale_channels_and_tracking_with_time(since_epoch().as_secs());
            persist_graph(c).await;
        }
        if due(&mut timers.sweeper, now, SWEEPER_TIMER) {
            if let Err(()) = c
                .sweeper
                .regenerate_and_broadcast_spend_if_necessary()
                .await
            {
                tracing::warn!("the output sweeper could not rebuild its spends");
            }
        }
        if due(&mut timers.onion, now, ONION_MESSAGE_TIMER) {
            c.onion_messenger.timer_tick_occurred();
        }
        if due(&mut timers.ping, now, PING_TIMER) {
            c.peer_manager.timer_tick_occurred();
        }
        if due(&mut timers.rebroadcast, now, REBROADCAST_TIMER) {
            c.chain_monitor.rebroadcast_pending_claims();
        }
    }

    // A last manager write, waited for: monitor writes still queued go with it.
    let (done, written) = tokio::sync::oneshot::channel();
    c.persist_queue.request_manager(Some(done));
    written.await.unwrap_or_else(|_| {
        Err(io::Error::new(
            io::ErrorKind::Other,
            "the persistence writer stopped",
        ))
    })?;
    persist_scorer(c).await;
    persist_graph(c).await;
    Ok(())
}

/// Teaches the scorer and the graph what a payment path event says, as LDK's processor
/// does before handing events over.
fn learn(c: &Components, event: &Event) {
    if let Event::PaymentPathFailed {
        failure: PathFailure::OnPath {
            network_update: Some(update),
        },
        ..
    } = event
    {
        c.graph.handle_network_update(update);
    }
    let now = since_epoch();
    let score = || {
        c.scorer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    };
    match event {
        Event::PaymentPathFailed {
            path,
            short_channel_id: Some(scid),
            ..
        } => score().payment_path_failed(path, *scid, now),
        // Failed by the payee itself: the path had the liquidity, as a probe would show.
        Event::PaymentPathFailed {
            path,
            payment_failed_permanently: true,
            ..
        } => score().probe_successful(path, now),
        Event::PaymentPathSuccessful { path, .. } => score().payment_path_successful(path, now),
        Event::ProbeSuccessful { path, .. } => score().probe_successful(path, now),
        Event::ProbeFailed {
            path,
            short_channel_id: Some(scid),
            ..
        } => score().probe_failed(path, *scid, now),
        _ => {}
    }
}

/// Decays and writes the scorer. A failure is logged: the scorer only guides routing.
async fn persist_scorer(c: &Components) {
    let bytes = {
        let mut scorer = c
            .scorer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        scorer.time_passed(since_epoch());
        scorer.encode()
    };
    let written = KVStore::write(
        &*c.ldk_store,
        SCORER_PERSISTENCE_PRIMARY_NAMESPACE,
        SCORER_PERSISTENCE_SECONDARY_NAMESPACE,
        SCORER_PERSISTENCE_KEY,
        bytes,
    )
    .await;
    if let Err(e) = written {
        tracing::error!(error = %e, "writing the scorer failed");
    }
}

/// Writes the network graph. A failure is logged: gossip rebuilds it.
async fn persist_graph(c: &Components) {
    let written = KVStore::write(
        &*c.ldk_store,
        NETWORK_GRAPH_PERSISTENCE_PRIMARY_NAMESPACE,
        NETWORK_GRAPH_PERSISTENCE_SECONDARY_NAMESPACE,
        NETWORK_GRAPH_PERSISTENCE_KEY,
        c.graph.encode(),
    )
    .await;
    if let Err(e) = written {
        tracing::error!(error = %e, "writing the network graph failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forward_delays_are_exponential_with_the_mean_and_capped() {
        // Evenly spread random values stand for the uniform draw.
        const N: u64 = 10_000;
        let draws: Vec<Duration> = (0..N).map(|i| forward_delay(i * (u64::MAX / N))).collect();
        assert_eq!(draws[0], Duration::ZERO);
        assert!(draws.iter().all(|d| *d <= MAX_FORWARD_DELAY));
        assert_eq!(forward_delay(u64::MAX), MAX_FORWARD_DELAY);
        // The median of an exponential is its mean times ln 2.
        let median = draws[(N / 2) as usize].as_secs_f64();
        let expected = MEAN_FORWARD_DELAY.as_secs_f64() * std::f64::consts::LN_2;
        assert!((median - expected).abs() < 1e-3, "{median}");
        // Capping at 10 means costs the mean almost nothing (e^-10 of it).
        let mean = draws.iter().sum::<Duration>() / N as u32;
        assert!(
            mean > Duration::from_millis(49) && mean < Duration::from_millis(51),
            "{mean:?}"
        );
    }

    #[test]
    fn a_timer_fires_once_it_is_due_and_moves_on() {
        let start = Instant::now();
        let mut at = start + Duration::from_secs(10);
        assert!(!due(&mut at, start, Duration::from_secs(10)));
        let later = start + Duration::from_secs(11);
        assert!(due(&mut at, later, Duration::from_secs(10)));
        assert_eq!(at, later + Duration::from_secs(10));
        assert!(!due(&mut at, later, Duration::from_secs(10)));
    }
}
