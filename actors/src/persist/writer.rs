//! [`PersistWriter`]: the thread that makes queued monitor writes durable together with
//! a channel manager that knows about them, then reports them completed to LDK.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use lightning::io;
use lightning::ln::types::ChannelId;
use lightning::util::persist::{
    KVStoreSync, ARCHIVED_CHANNEL_MONITOR_PERSISTENCE_PRIMARY_NAMESPACE,
    ARCHIVED_CHANNEL_MONITOR_PERSISTENCE_SECONDARY_NAMESPACE, CHANNEL_MANAGER_PERSISTENCE_KEY,
    CHANNEL_MANAGER_PERSISTENCE_PRIMARY_NAMESPACE, CHANNEL_MANAGER_PERSISTENCE_SECONDARY_NAMESPACE,
    CHANNEL_MONITOR_PERSISTENCE_PRIMARY_NAMESPACE, CHANNEL_MONITOR_PERSISTENCE_SECONDARY_NAMESPACE,
    CHANNEL_MONITOR_UPDATE_PERSISTENCE_PRIMARY_NAMESPACE,
};
use sluice_storage::{Store, WriteBatch};
use tokio::sync::oneshot;

use super::encode::serialise;
use super::order::WholeWrites;
use super::queue::{Job, PersistQueue};
use crate::types::{ChainMonitor, ChannelManager, MonitorReader};

/// What the writer needs.
pub struct WriterParts {
    /// The queue to drain.
    pub queue: Arc<PersistQueue>,
    /// Where to write.
    pub store: Arc<Store>,
    /// The channel manager to serialise in every commit.
    pub channel_manager: Arc<ChannelManager>,
    /// Told when updates complete.
    pub chain_monitor: Arc<ChainMonitor>,
    /// Reads stored monitors back (to archive them).
    pub reader: Arc<MonitorReader>,
}

/// The running writer thread. It stops once [`PersistWriter::stop`] is called and the
/// queue is drained, or after a failed write (reported through `on_failure`; the node
/// must stop: the channels with unwritten updates stay paused).
pub struct PersistWriter {
    queue: Arc<PersistQueue>,
    thread: Option<JoinHandle<()>>,
}

impl PersistWriter {
    /// Starts the writer.
    pub fn start(
        parts: WriterParts,
        on_failure: impl FnOnce(String) + Send + 'static,
    ) -> io::Result<PersistWriter> {
        let queue = Arc::clone(&parts.queue);
        queue.open();
        let thread = std::thread::Builder::new()
            .name("sluice-persist".into())
            .spawn(move || {
                let mut writer = Writer {
                    parts,
                    updates: HashMap::new(),
                    whole: WholeWrites::default(),
                    manager_bytes: 0,
                    last_encode: Duration::ZERO,
                };
                if let Err(e) = writer.run() {
                    let reason = format!("persisting channel state failed: {e}");
                    tracing::error!("{reason}");
                    writer.parts.queue.fail(reason.clone());
                    on_failure(reason);
                }
            })?;
        Ok(PersistWriter {
            queue,
            thread: Some(thread),
        })
    }

    /// Writes what is queued, then stops the thread (blocking until it has).
    pub fn stop(mut self) {
        self.queue.close();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for PersistWriter {
    fn drop(&mut self) {
        self.queue.close();
    }
}

struct Writer {
    parts: WriterParts,
    /// The update ids stored for each monitor key, loaded on first use.
    updates: HashMap<String, BTreeSet<u64>>,
    /// The update id of each monitor's last stored whole snapshot.
    whole: WholeWrites,
    /// The size of the last channel manager written, to size the next one's buffer.
    manager_bytes: usize,
    /// How long serialising the last manager took.
    last_encode: Duration,
}

/// What one round reports once its batch is durable.
#[derive(Default)]
struct Round {
    completed: Vec<(ChannelId, u64)>,
    waiting: Vec<oneshot::Sender<Result<(), io::Error>>>,
    archive: Vec<String>,
}

impl Writer {
    fn run(&mut self) -> io::Result<()> {
        while let Some(jobs) = self.parts.queue.take() {
            let started = Instant::now();
            let count = jobs.len();
            self.round(jobs)?;
            metrics::counter!("sluice_persist_rounds_total").increment(1);
            metrics::histogram!("sluice_persist_round_jobs").record(count as f64);
            metrics::histogram!("sluice_persist_round_seconds")
                .record(started.elapsed().as_secs_f64());
            // Serialising the manager holds LDK's consistency lock for writing, which
            // stops all message handling; back-to-back rounds on a busy node would hold
            // it most of the time. Leaving it free at least as long as it was held lets
            // messages through and lets the next round take more at once (measured in
            // ARCHITECTURE.md §3). An idle node's manager encodes in microseconds.
            std::thread::sleep(self.last_encode);
        }
        Ok(())
    }

    /// One atomic commit of every queued monitor write plus a fresh channel manager.
    fn round(&mut self, jobs: Vec<Job>) -> io::Result<()> {
        let mut batch = WriteBatch::new();
        let mut round = Round::default();
        for job in jobs {
            match job {
                Job::Monitor {
                    key,
                    latest_update_id,
                    bytes,
                    completes,
                } => {
                    round.completed.extend(completes);
                    if !self.whole.admit(&key, latest_update_id) {
                        // An older snapshot queued after a newer one: the stored monitor
                        // already holds everything it does (see `order`).
                        metrics::counter!("sluice_persist_stale_monitors_skipped_total")
                            .increment(1);
                        tracing::warn!(monitor = %key, latest_update_id,
                            "skipped a channel monitor snapshot older than the stored one");
                        continue;
                    }
                    metrics::histogram!("sluice_persist_monitor_snapshot_bytes")
                        .record(bytes.len() as f64);
                    // The latest full size of each monitor: it grows with every revoked
                    // commitment's HTLCs until the channel closes.
                    metrics::gauge!("sluice_persist_monitor_bytes", "monitor" => key.clone())
                        .set(bytes.len() as f64);
                    batch.put_ldk(
                        CHANNEL_MONITOR_PERSISTENCE_PRIMARY_NAMESPACE,
                        CHANNEL_MONITOR_PERSISTENCE_SECONDARY_NAMESPACE,
                        &key,
                        bytes,
                    )?;
                    for id in self.take_updates(&key, Some(latest_update_id))? {
                        batch.delete_ldk(
                            CHANNEL_MONITOR_UPDATE_PERSISTENCE_PRIMARY_NAMESPACE,
                            &key,
                            &id.to_string(),
                        )?;
                    }
                }
                Job::Update {
                    key,
                    update_id,
                    bytes,
                    channel_id,
                } => {
                    batch.put_ldk(
                        CHANNEL_MONITOR_UPDATE_PERSISTENCE_PRIMARY_NAMESPACE,
                        &key,
                        &update_id.to_string(),
                        bytes,
                    )?;
                    self.stored_updates(&key)?.insert(update_id);
                    round.completed.push((channel_id, update_id));
                }
                Job::Archive { key } => round.archive.push(key),
                Job::Manager(done) => {
                    metrics::counter!("sluice_persist_manager_requests_total").increment(1);
                    round.waiting.extend(done);
                }
            }
        }
        // Serialised after every snapshot above was taken, so the stored manager knows
        // each update they hold (as done or in flight) and never lags them.
        //
        // Clearing LDK's needs-persistence flag first tells the LDK loop that this
        // write covers every change made so far: it asks for another write only for
        // changes made after this point.
        self.parts.channel_manager.get_and_clear_needs_persistence();
        let encoding = Instant::now();
        let manager = serialise(&*self.parts.channel_manager, &[], self.manager_bytes)?;
        self.manager_bytes = manager.len();
        self.last_encode = encoding.elapsed();
        metrics::histogram!("sluice_persist_manager_encode_seconds")
            .record(self.last_encode.as_secs_f64());
        metrics::gauge!("sluice_persist_manager_bytes").set(manager.len() as f64);
        batch.put_ldk(
            CHANNEL_MANAGER_PERSISTENCE_PRIMARY_NAMESPACE,
            CHANNEL_MANAGER_PERSISTENCE_SECONDARY_NAMESPACE,
            CHANNEL_MANAGER_PERSISTENCE_KEY,
            manager,
        )?;
        self.parts.store.commit_blocking(batch)?;

        for (channel_id, update_id) in round.completed {
            // Fails only for a monitor LDK no longer holds (archived meanwhile).
            if let Err(e) = self
                .parts
                .chain_monitor
                .channel_monitor_updated(channel_id, update_id)
            {
                tracing::debug!(%channel_id, update_id, "completing a monitor update: {e:?}");
            }
        }
        for done in round.waiting {
            let _ = done.send(Ok(()));
        }
        for key in round.archive {
            self.archive(&key)?;
        }
        Ok(())
    }

    /// The stored update ids of monitor `key`.
    fn stored_updates(&mut self, key: &str) -> io::Result<&mut BTreeSet<u64>> {
        if !self.updates.contains_key(key) {
            let names = KVStoreSync::list(
                &*self.parts.store,
                CHANNEL_MONITOR_UPDATE_PERSISTENCE_PRIMARY_NAMESPACE,
                key,
            )?;
            let ids = names
                .iter()
                .map(|name| {
                    name.parse::<u64>().map_err(|_| {
                        io::Error::new(
                            io::ErrorKind::InvalidData,
                            format!("monitor update {key}/{name} is not numbered"),
                        )
                    })
                })
                .collect::<io::Result<BTreeSet<u64>>>()?;
            self.updates.insert(key.to_owned(), ids);
        }
        Ok(self.updates.entry(key.to_owned()).or_default())
    }

    /// Forgets (and returns) the stored update ids of monitor `key` up to `through`, or
    /// all of them.
    fn take_updates(&mut self, key: &str, through: Option<u64>) -> io::Result<Vec<u64>> {
        let stored = self.stored_updates(key)?;
        let taken: Vec<u64> = match through {
            Some(through) => stored.range(..=through).copied().collect(),
            None => stored.iter().copied().collect(),
        };
        for id in &taken {
            stored.remove(id);
        }
        Ok(taken)
    }

    /// Moves a fully resolved monitor (with its updates applied) to the archive.
    fn archive(&mut self, key: &str) -> io::Result<()> {
        let monitor = match self.parts.reader.read_channel_monitor_with_updates(key) {
            Ok((_, monitor)) => monitor,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        let mut batch = WriteBatch::new();
        batch
            .put_ldk(
                ARCHIVED_CHANNEL_MONITOR_PERSISTENCE_PRIMARY_NAMESPACE,
                ARCHIVED_CHANNEL_MONITOR_PERSISTENCE_SECONDARY_NAMESPACE,
                key,
                serialise(&monitor, &[], 0)?,
            )?
            .delete_ldk(
                CHANNEL_MONITOR_PERSISTENCE_PRIMARY_NAMESPACE,
                CHANNEL_MONITOR_PERSISTENCE_SECONDARY_NAMESPACE,
                key,
            )?;
        for id in self.take_updates(key, None)? {
            batch.delete_ldk(
                CHANNEL_MONITOR_UPDATE_PERSISTENCE_PRIMARY_NAMESPACE,
                key,
                &id.to_string(),
            )?;
        }
        self.updates.remove(key);
        self.whole.forget(key);
        self.parts.store.commit_blocking(batch)?;
        tracing::info!(monitor = key, "archived a fully resolved channel monitor");
        Ok(())
    }
}
