//! [`MonitorPersister`]: LDK's `Persist` for channel monitors, queueing every write for
//! the [`PersistWriter`](super::PersistWriter) and reporting it `InProgress`.

use std::sync::Arc;

use lightning::chain::chainmonitor::Persist;
use lightning::chain::channelmonitor::{ChannelMonitor, ChannelMonitorUpdate};
use lightning::chain::ChannelMonitorUpdateStatus;
use lightning::sign::ecdsa::EcdsaChannelSigner;
use lightning::util::persist::{MonitorName, MONITOR_UPDATING_PERSISTER_PREPEND_SENTINEL};
use lightning::util::ser::Writeable;

use super::queue::{Job, PersistQueue};

/// A whole monitor is stored after this many updates (and its updates dropped), so
/// loading replays at most this many updates per channel.
pub const FULL_MONITOR_EVERY: u64 = 100;

/// The id LDK before 0.1 gave every update of a closed channel; such an update is
/// stored as a whole monitor.
const LEGACY_CLOSED_CHANNEL_UPDATE_ID: u64 = u64::MAX;

/// Channel monitor persistence for the chain monitor. Every call serialises what it
/// must store right away (LDK holds the monitor's lock, so the snapshot is consistent),
/// queues it, and returns `InProgress`; the writer reports completion once the write and
/// a channel manager that knows about it are durable together.
pub struct MonitorPersister {
    queue: Arc<PersistQueue>,
}

impl MonitorPersister {
    /// A persister feeding `queue`.
    pub fn new(queue: Arc<PersistQueue>) -> Self {
        MonitorPersister { queue }
    }

    /// The monitor serialised once (`serialized_length` would serialise it a second
    /// time just to count), behind the sentinel.
    fn snapshot<S: EcdsaChannelSigner>(monitor: &ChannelMonitor<S>) -> Vec<u8> {
        let encoded = monitor.encode();
        let mut bytes =
            Vec::with_capacity(MONITOR_UPDATING_PERSISTER_PREPEND_SENTINEL.len() + encoded.len());
        bytes.extend_from_slice(MONITOR_UPDATING_PERSISTER_PREPEND_SENTINEL);
        bytes.extend_from_slice(&encoded);
        bytes
    }

    fn queue_monitor<S: EcdsaChannelSigner>(
        &self,
        name: MonitorName,
        monitor: &ChannelMonitor<S>,
        completes: Option<u64>,
    ) {
        self.queue.push(Job::Monitor {
            key: name.to_string(),
            latest_update_id: monitor.get_latest_update_id(),
            bytes: Self::snapshot(monitor),
            completes: completes.map(|id| (monitor.channel_id(), id)),
        });
    }
}

impl<S: EcdsaChannelSigner> Persist<S> for MonitorPersister {
    fn persist_new_channel(
        &self,
        name: MonitorName,
        monitor: &ChannelMonitor<S>,
    ) -> ChannelMonitorUpdateStatus {
        self.queue_monitor(name, monitor, Some(monitor.get_latest_update_id()));
        ChannelMonitorUpdateStatus::InProgress
    }

    fn update_persisted_channel(
        &self,
        name: MonitorName,
        update: Option<&ChannelMonitorUpdate>,
        monitor: &ChannelMonitor<S>,
    ) -> ChannelMonitorUpdateStatus {
        match update {
            // Chain sync: LDK tracks no completion, but the snapshot still waits for the
            // manager (it holds every update applied so far).
            None => self.queue_monitor(name, monitor, None),
            Some(update)
                if update.update_id == LEGACY_CLOSED_CHANNEL_UPDATE_ID
                    || update.update_id % FULL_MONITOR_EVERY == 0 =>
            {
                self.queue_monitor(name, monitor, Some(update.update_id))
            }
            Some(update) => self.queue.push(Job::Update {
                key: name.to_string(),
                update_id: update.update_id,
                bytes: update.encode(),
                channel_id: monitor.channel_id(),
            }),
        }
        ChannelMonitorUpdateStatus::InProgress
    }

    fn archive_persisted_channel(&self, name: MonitorName) {
        self.queue.push(Job::Archive {
            key: name.to_string(),
        });
    }
}
