//! The Publisher actor: sends the outbox's events to every configured relay and records
//! what each relay said. It does only the I/O; the queue ([`super::queue`]) decides
//! what is due. Each round's sends run in a task (so status asks are answered, and
//! other rounds start, meanwhile) and come back as one message, whose final answers are
//! stored in one commit: the event's deliveries, and its outbox row deleted once every relay has
//! answered for good. After a crash the outbox is read again at start and whatever a
//! relay had not confirmed is sent again — relays store an event once by its id, so a
//! repeat is at worst a `duplicate:`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use nostr_sdk::pool::relay::Error as RelayError;
use nostr_sdk::{Client, Event, JsonUtil, RelayOptions, RelayUrl, ToBech32};
use ractor::concurrency::JoinHandle;
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use sluice_nostr::Verdict;
use sluice_storage::{NostrEventRecord, NostrOutboxRecord, WriteBatch};

use super::mirror::Mirror;
use super::queue::{Answered, Queue};
use crate::{Components, NodeError};

/// How often the actor looks for sends that fell due.
pub const TICK: Duration = Duration::from_millis(250);

/// Counter: events handed to a relay, by relay.
pub const SENT: &str = "sluice_nostr_sent_total";
/// Counter: events a relay stored (or had), by relay.
pub const ACCEPTED: &str = "sluice_nostr_accepted_total";
/// Counter: events a relay refused for good, by relay.
pub const REJECTED: &str = "sluice_nostr_rejected_total";
/// Counter: sends that failed and will be retried, by relay.
pub const RETRIED: &str = "sluice_nostr_retries_total";
/// Gauge: events waiting on a relay (the retry queue's depth), by relay.
pub const QUEUE_DEPTH: &str = "sluice_nostr_retry_queue_depth";

/// Messages to the publisher.
#[derive(Debug)]
pub enum PublisherMsg {
    /// Events were committed to the outbox.
    Staged,
    /// Look for sends that fell due.
    Tick,
    /// A round's answers: (outbox key, relay, verdict).
    Answered(Vec<(String, String, Verdict)>),
    /// The mirror's state.
    Status(RpcReplyPort<MirrorStatus>),
}

/// One relay as the publisher sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RelayView {
    /// Its URL.
    pub url: String,
    /// Its connection (`connected`, `connecting`, `disconnected` …).
    pub connection: String,
    /// Sends since start.
    pub sent: u64,
    /// Events it stored since start.
    pub accepted: u64,
    /// Events it refused for good since start.
    pub rejected: u64,
    /// Sends to retry since start.
    pub retries: u64,
    /// Events waiting on it.
    pub pending: u64,
    /// Its last refusal, if it refused any.
    pub last_rejection: Option<String>,
    /// The last failure of a send to it, if any failed.
    pub last_error: Option<String>,
}

/// The mirror's state: its key, its relays, its outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MirrorStatus {
    /// The public key events are signed with, hex.
    pub public_key: String,
    /// The same, `npub1…`.
    pub npub: String,
    /// Each relay.
    pub relays: Vec<RelayView>,
    /// Events some relay has yet to answer.
    pub outbox_events: u64,
}

/// The publisher; `mirror` holds its key and settings.
pub struct Publisher {
    /// The key and the relays.
    pub mirror: Arc<Mirror>,
}

/// The publisher's state.
pub struct PublisherState {
    components: Components,
    client: Client,
    relays: Vec<String>,
    queue: Queue<Event>,
    stats: BTreeMap<String, RelayView>,
    in_flight: usize,
    ticker: JoinHandle<()>,
}

impl Actor for Publisher {
    type Msg = PublisherMsg;
    type State = PublisherState;
    type Arguments = Components;

    async fn pre_start(
        &self,
        myself: ActorRef<PublisherMsg>,
        components: Components,
    ) -> Result<PublisherState, ActorProcessingErr> {
        let config = self.mirror.config();
        let client = Client::default();
        let options = RelayOptions::new()
            .reconnect(true)
            .retry_interval(config.reconnect)
            .adjust_retry_interval(false);
        let mut relays = Vec::new();
        for relay in &config.relays {
            let url = RelayUrl::parse(relay).map_err(|e| NodeError::Nostr(e.to_string()))?;
            client
                .pool()
                .add_relay(url.clone(), options.clone())
                .await
                .map_err(|e| NodeError::Nostr(format!("adding relay {url}: {e}")))?;
            relays.push(url.to_string());
        }
        client.connect().await;
        let stats = relays
            .iter()
            .map(|url| {
                let view = RelayView {
                    url: url.clone(),
                    ..RelayView::default()
                };
                (url.clone(), view)
            })
            .collect();
        let queue = Queue::new(relays.clone(), config.retry_min, config.retry_max);
        let ticker = myself.send_interval(TICK, || PublisherMsg::Tick);
        let mut state = PublisherState {
            components,
            client,
            relays,
            queue,
            stats,
            in_flight: 0,
            ticker,
        };
        load(&mut state).await?;
        tracing::info!(
            npub = %self.mirror.public_key().to_bech32().unwrap_or_default(),
            relays = ?state.relays,
            outbox = state.queue.len(),
            "the Nostr mirror publishes"
        );
        Ok(state)
    }

    async fn handle(
        &self,
        myself: ActorRef<PublisherMsg>,
        message: PublisherMsg,
        state: &mut PublisherState,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            PublisherMsg::Staged => load(state).await?,
            PublisherMsg::Tick => {}
            PublisherMsg::Answered(answers) => answered(state, answers).await?,
            PublisherMsg::Status(reply) => {
                let _ = reply.send(status(&self.mirror, state).await);
                return Ok(());
            }
        }
        send_due(
            &myself,
            state,
            self.mirror.config().send_timeout,
            self.mirror.config().max_in_flight,
        );
        Ok(())
    }

    async fn post_stop(
        &self,
        _myself: ActorRef<PublisherMsg>,
        state: &mut PublisherState,
    ) -> Result<(), ActorProcessingErr> {
        state.ticker.abort();
        state.client.shutdown().await;
        Ok(())
    }
}

/// Queues every outbox event not queued yet.
async fn load(state: &mut PublisherState) -> Result<(), NodeError> {
    let store = &state.components.store;
    let now = Instant::now();
    for row in store.scan::<NostrOutboxRecord>("").await? {
        let key = NostrOutboxRecord::table_key(row.queued_at_ms, &row.event_id);
        if state.queue.contains(&key) {
            continue;
        }
        let Some(record) = store.get::<NostrEventRecord>(row.event_id.clone()).await? else {
            return Err(NodeError::Nostr(format!(
                "outbox event {} is not stored",
                row.event_id
            )));
        };
        let event = Event::from_json(&record.event_json)
            .map_err(|e| NodeError::Nostr(format!("stored event {}: {e}", row.event_id)))?;
        state.queue.add(key, record, event, now);
    }
    gauges(state);
    Ok(())
}

/// Starts a round of the sends due now, up to `max_in_flight` sends at once in all.
/// Rounds overlap: a relay slow to answer holds up only its own sends.
fn send_due(
    myself: &ActorRef<PublisherMsg>,
    state: &mut PublisherState,
    timeout: Duration,
    max_in_flight: usize,
) {
    let room = max_in_flight.saturating_sub(state.in_flight);
    let due = state.queue.take_due(Instant::now(), room);
    if due.is_empty() {
        return;
    }
    let mut sends = Vec::with_capacity(due.len());
    for (key, relay) in due {
        let Some(queued) = state.queue.get(&key) else {
            continue;
        };
        if let Some(view) = state.stats.get_mut(&relay) {
            view.sent += 1;
        }
        metrics::counter!(SENT, "relay" => relay.clone()).increment(1);
        sends.push((key, relay, queued.event.clone()));
    }
    state.in_flight += sends.len();
    let client = state.client.clone();
    let myself = myself.clone();
    tokio::spawn(async move {
        let answers = futures::future::join_all(sends.into_iter().map(|(key, relay, event)| {
            let client = client.clone();
            async move {
                let verdict = send(&client, &relay, &event, timeout).await;
                (key, relay, verdict)
            }
        }))
        .await;
        let _ = myself.cast(PublisherMsg::Answered(answers));
    });
}

/// Sends `event` to `relay` and reads its answer.
async fn send(client: &Client, relay: &str, event: &Event, timeout: Duration) -> Verdict {
    let relay = match client.relay(relay).await {
        Ok(relay) => relay,
        Err(e) => return Verdict::Retry(e.to_string()),
    };
    match tokio::time::timeout(timeout, relay.send_event(event)).await {
        Err(_) => Verdict::Retry(format!("no answer in {timeout:?}")),
        Ok(Ok(_)) => Verdict::Accepted,
        Ok(Err(RelayError::RelayMessage(message))) => sluice_nostr::verdict(false, &message),
        Ok(Err(e)) => Verdict::Retry(e.to_string()),
    }
}

/// Applies a round's answers and stores the final ones in one commit.
async fn answered(
    state: &mut PublisherState,
    answers: Vec<(String, String, Verdict)>,
) -> Result<(), NodeError> {
    state.in_flight = state.in_flight.saturating_sub(answers.len());
    let now = Instant::now();
    let at_ms = crate::clock::unix_ms();
    let mut changed = Vec::new();
    for (key, relay, verdict) in answers {
        let answer = state.queue.answer(&key, &relay, verdict, now, at_ms);
        let view = state.stats.entry(relay.clone()).or_default();
        let label = relay.clone();
        match answer {
            Answered::Accepted => {
                view.accepted += 1;
                metrics::counter!(ACCEPTED, "relay" => label).increment(1);
                changed.push(key);
            }
            Answered::Rejected(message) => {
                view.rejected += 1;
                metrics::counter!(REJECTED, "relay" => label).increment(1);
                tracing::warn!(%relay, outbox_key = %key, %message, "a relay refused an event");
                view.last_rejection = Some(message);
                changed.push(key);
            }
            Answered::Retry(message, delay) => {
                view.retries += 1;
                metrics::counter!(RETRIED, "relay" => label).increment(1);
                tracing::debug!(%relay, outbox_key = %key, %message, ?delay, "an event is sent again later");
                view.last_error = Some(message);
            }
            Answered::Stale => {}
        }
    }
    if !changed.is_empty() {
        changed.sort();
        changed.dedup();
        let mut batch = WriteBatch::new();
        let mut finished = Vec::new();
        for key in &changed {
            if let Some(queued) = state.queue.get(key) {
                batch.put(&queued.record)?;
                if queued.finished() {
                    batch.delete::<NostrOutboxRecord>(key);
                    finished.push(key.clone());
                }
            }
        }
        state.components.store.commit(batch).await?;
        for key in finished {
            state.queue.take_finished(&key);
        }
    }
    gauges(state);
    Ok(())
}

fn gauges(state: &PublisherState) {
    for relay in &state.relays {
        metrics::gauge!(QUEUE_DEPTH, "relay" => relay.clone()).set(state.queue.depth(relay) as f64);
    }
    metrics::gauge!("sluice_nostr_outbox_events").set(state.queue.len() as f64);
}

async fn status(mirror: &Mirror, state: &PublisherState) -> MirrorStatus {
    let mut relays = Vec::new();
    for url in &state.relays {
        let mut view = state.stats.get(url).cloned().unwrap_or_default();
        view.url = url.clone();
        view.pending = state.queue.depth(url) as u64;
        view.connection = match state.client.relay(url.as_str()).await {
            Ok(relay) => relay.status().to_string(),
            Err(e) => e.to_string(),
        };
        relays.push(view);
    }
    let public_key = mirror.public_key();
    MirrorStatus {
        public_key: public_key.to_hex(),
        npub: public_key.to_bech32().unwrap_or_default(),
        relays,
        outbox_events: state.queue.len() as u64,
    }
}
