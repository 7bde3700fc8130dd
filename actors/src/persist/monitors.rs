//! [`MonitorPersister`]: LDK's `Persist` for channel monitors, queueing every write for
//! the [`PersistWriter`](super::PersistWriter) and reporting it `InProgress`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use lightning::chain::chainmonitor::Persist;
use lightning::chain::channelmonitor::{ChannelMonitor, ChannelMonitorUpdate};
use lightning::chain::transaction::OutPoint;
use lightning::chain::ChannelMonitorUpdateStatus;
use lightning::sign::ecdsa::EcdsaChannelSigner;
use lightning::util::persist::{MonitorName, MONITOR_UPDATING_PERSISTER_PREPEND_SENTINEL};
use lightning::util::ser::Writeable;

use super::encode::serialise;
use super::queue::{Job, PersistQueue};

/// A whole monitor is stored after at least this many updates (and its updates
/// dropped), once the updates since the last whole one add up to half its size (see
/// [`MonitorPersister`]).
pub const FULL_MONITOR_EVERY: u64 = 100;
/// A whole monitor is stored after this many updates whatever their size, which bounds
/// what loading replays per channel.
pub const MAX_UPDATES_BETWEEN_FULL: u64 = 10_000;

/// The id LDK before 0.1 gave every update of a closed channel; such an update is
/// stored as a whole monitor.
const LEGACY_CLOSED_CHANNEL_UPDATE_ID: u64 = u64::MAX;

/// Channel monitor persistence for the chain monitor. Every call serialises what it
/// must store right away (LDK holds the monitor's lock, so the snapshot is consistent),
/// queues it, and returns `InProgress`; the writer reports completion once the write and
/// a channel manager that knows about it are durable together.
///
/// When to store a whole monitor rather than an update: a monitor grows with every
/// revoked commitment's HTLCs until its channel closes (about 200 bytes per payment on
/// a busy channel), so a whole one every [`FULL_MONITOR_EVERY`] updates would cost a
/// growing serialisation and write each time: megabytes per hundred payments after an
/// hour. A whole monitor is stored once at least [`FULL_MONITOR_EVERY`] updates have
/// been stored since the last one *and* they add up to half its size (or after
/// [`MAX_UPDATES_BETWEEN_FULL`]), so whole-monitor bytes stay within twice the update
/// bytes however large the monitor grows, and loading replays at most about half a
/// monitor's worth of updates. A monitor whose funding changed (a splice locked) is
/// stored whole at its next update: it has just dropped its old funding's history.
pub struct MonitorPersister {
    queue: Arc<PersistQueue>,
    since_full: Mutex<HashMap<String, SinceFull>>,
}

/// What was stored of one monitor since its last whole write (in this process).
#[derive(Debug, Default, Clone, Copy)]
struct SinceFull {
    /// The size of the last whole write; 0 when none was made since start.
    full_bytes: u64,
    /// The funding outpoint the monitor had at its last whole write.
    funding: Option<OutPoint>,
    /// Updates stored since.
    updates: u64,
    /// Their bytes.
    update_bytes: u64,
}

impl SinceFull {
    /// Whether the next update of a monitor now funded by `funding` should be a whole
    /// monitor instead. A splice that locks changes the funding and makes the monitor drop
    /// its old funding's commitments: a whole write then shrinks what is stored at once
    /// (and makes the size [`MonitorPersister::whole_bytes`] reports current).
    fn due(&self, funding: OutPoint) -> bool {
        self.funding != Some(funding)
            || self.updates >= MAX_UPDATES_BETWEEN_FULL
            || (self.updates >= FULL_MONITOR_EVERY
                && self.update_bytes.saturating_mul(2) >= self.full_bytes)
    }
}

impl MonitorPersister {
    /// A persister feeding `queue`.
    pub fn new(queue: Arc<PersistQueue>) -> Self {
        MonitorPersister {
            queue,
            since_full: Mutex::new(HashMap::new()),
        }
    }

    /// The size of `monitor`'s last whole write in this process, if one was made: what
    /// the channel refresh compares with its threshold. Whole writes come at least every
    /// time the updates since add up to half of it, so it trails the monitor's real size
    /// by at most that much.
    pub fn whole_bytes(&self, monitor: &MonitorName) -> Option<u64> {
        self.since_full()
            .get(&monitor.to_string())
            .map(|entry| entry.full_bytes)
            .filter(|bytes| *bytes > 0)
    }

    fn since_full(&self) -> MutexGuard<'_, HashMap<String, SinceFull>> {
        // A panic while holding this lock cannot leave a counter half-changed.
        self.since_full
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Queues a whole `monitor`, serialised once behind the sentinel into a buffer
    /// sized from its last whole write.
    fn queue_monitor<S: EcdsaChannelSigner>(
        &self,
        name: MonitorName,
        monitor: &ChannelMonitor<S>,
        completes: Option<u64>,
    ) -> ChannelMonitorUpdateStatus {
        let key = name.to_string();
        let size_hint = self
            .since_full()
            .get(&key)
            .map_or(0, |entry| entry.full_bytes as usize);
        let bytes = match serialise(
            monitor,
            MONITOR_UPDATING_PERSISTER_PREPEND_SENTINEL,
            size_hint,
        ) {
            Ok(bytes) => bytes,
            Err(e) => {
                tracing::error!(monitor = %key, "serialising a channel monitor failed: {e}");
                return ChannelMonitorUpdateStatus::UnrecoverableError;
            }
        };
        self.since_full().insert(
            key.clone(),
            SinceFull {
                full_bytes: bytes.len() as u64,
                funding: Some(monitor.get_funding_txo()),
                ..SinceFull::default()
            },
        );
        self.queue.push(Job::Monitor {
            key,
            latest_update_id: monitor.get_latest_update_id(),
            bytes,
            completes: completes.map(|id| (monitor.channel_id(), id)),
        });
        ChannelMonitorUpdateStatus::InProgress
    }
}

impl<S: EcdsaChannelSigner> Persist<S> for MonitorPersister {
    fn persist_new_channel(
        &self,
        name: MonitorName,
        monitor: &ChannelMonitor<S>,
    ) -> ChannelMonitorUpdateStatus {
        self.queue_monitor(name, monitor, Some(monitor.get_latest_update_id()))
    }

    fn update_persisted_channel(
        &self,
        name: MonitorName,
        update: Option<&ChannelMonitorUpdate>,
        monitor: &ChannelMonitor<S>,
    ) -> ChannelMonitorUpdateStatus {
        let key = name.to_string();
        match update {
            // Chain sync: LDK tracks no completion, but the snapshot still waits for the
            // manager (it holds every update applied so far).
            None => self.queue_monitor(name, monitor, None),
            Some(update)
                if update.update_id == LEGACY_CLOSED_CHANNEL_UPDATE_ID
                    || self
                        .since_full()
                        .get(&key)
                        .is_some_and(|since| since.due(monitor.get_funding_txo())) =>
            {
                self.queue_monitor(name, monitor, Some(update.update_id))
            }
            Some(update) => {
                let bytes = update.encode();
                let mut since_full = self.since_full();
                let entry = since_full.entry(key.clone()).or_default();
                entry.updates += 1;
                entry.update_bytes += bytes.len() as u64;
                drop(since_full);
                self.queue.push(Job::Update {
                    key,
                    update_id: update.update_id,
                    bytes,
                    channel_id: monitor.channel_id(),
                });
                ChannelMonitorUpdateStatus::InProgress
            }
        }
    }

    fn archive_persisted_channel(&self, name: MonitorName) {
        let key = name.to_string();
        self.since_full().remove(&key);
        self.queue.push(Job::Archive { key });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::hashes::Hash;

    fn funding(vout: u32) -> OutPoint {
        OutPoint {
            txid: bitcoin::Txid::from_byte_array([7; 32]),
            index: vout as u16,
        }
    }

    fn after(full_bytes: u64, updates: u64, update_bytes: u64) -> bool {
        SinceFull {
            full_bytes,
            funding: Some(funding(0)),
            updates,
            update_bytes,
        }
        .due(funding(0))
    }

    #[test]
    fn a_whole_monitor_waits_for_enough_updates_by_count_and_by_bytes() {
        // A small monitor: every FULL_MONITOR_EVERY updates, as before.
        assert!(!after(5_000, FULL_MONITOR_EVERY - 1, 100_000));
        assert!(after(5_000, FULL_MONITOR_EVERY, 100_000));
        // A large one: only once the updates add up to half of it.
        assert!(!after(6_000_000, 2_000, 2_999_999));
        assert!(after(6_000_000, 2_000, 3_000_000));
        // And never more than MAX_UPDATES_BETWEEN_FULL updates apart.
        assert!(after(u64::MAX, MAX_UPDATES_BETWEEN_FULL, 0));
    }

    #[test]
    fn a_new_funding_or_an_unknown_one_makes_the_next_write_whole() {
        let since = SinceFull {
            full_bytes: 6_000_000,
            funding: Some(funding(0)),
            updates: 1,
            update_bytes: 100,
        };
        assert!(!since.due(funding(0)));
        // A splice locked: the monitor dropped the old funding's commitments.
        assert!(since.due(funding(1)));
        // No whole write since this process started: its size is unknown.
        assert!(SinceFull::default().due(funding(0)));
    }
}
