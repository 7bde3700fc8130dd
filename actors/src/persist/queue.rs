//! [`PersistQueue`]: what LDK asked to persist, waiting for the [`PersistWriter`].
//!
//! [`PersistWriter`]: super::PersistWriter

use std::sync::{Condvar, Mutex, MutexGuard};

use lightning::io;
use lightning::ln::types::ChannelId;
use tokio::sync::oneshot;

/// One thing to make durable.
pub(crate) enum Job {
    /// A whole monitor, serialised when LDK asked (a new channel, a chain-sync write, or
    /// when enough updates were stored since the last one, see
    /// [`MonitorPersister`](super::MonitorPersister)).
    Monitor {
        /// The monitor's storage key.
        key: String,
        /// The last update the snapshot holds: stored updates up to it are obsolete.
        latest_update_id: u64,
        /// The snapshot, with the `MonitorUpdatingPersister` sentinel prefix.
        bytes: Vec<u8>,
        /// The update to report completed, when LDK tracks one.
        completes: Option<(ChannelId, u64)>,
    },
    /// One monitor update.
    Update {
        /// The monitor's storage key.
        key: String,
        /// The update's id.
        update_id: u64,
        /// The serialised update.
        bytes: Vec<u8>,
        /// The channel to report it completed for.
        channel_id: ChannelId,
    },
    /// Move a fully resolved monitor out of the set loaded at start.
    Archive {
        /// The monitor's storage key.
        key: String,
    },
    /// Write the channel manager, and answer once it is durable if someone waits.
    Manager(Option<oneshot::Sender<Result<(), io::Error>>>),
}

#[derive(Default)]
struct State {
    jobs: Vec<Job>,
    closed: bool,
    failed: Option<String>,
}

/// Monitor writes and manager-write requests, in the order LDK made them.
///
/// LDK's callbacks only append here (they run under LDK's locks and must not block on
/// I/O); one [`PersistWriter`](super::PersistWriter) at a time drains it.
#[derive(Default)]
pub struct PersistQueue {
    state: Mutex<State>,
    ready: Condvar,
}

impl PersistQueue {
    /// An empty queue.
    pub fn new() -> Self {
        PersistQueue::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding this lock cannot leave the job list half-changed.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Appends a job. After a write failed, manager requests are answered at once with
    /// that failure (nothing will write them); monitor writes stay queued, unreported,
    /// which keeps their channels paused.
    pub(crate) fn push(&self, job: Job) {
        let mut state = self.lock();
        match (job, &state.failed) {
            (Job::Manager(done), Some(reason)) => {
                if let Some(done) = done {
                    let _ = done.send(Err(io::Error::new(io::ErrorKind::Other, reason.clone())));
                }
                return;
            }
            (job, _) => state.jobs.push(job),
        }
        drop(state);
        self.ready.notify_one();
    }

    /// Takes every queued job, waiting for one; `None` once the queue is closed and
    /// empty.
    pub(crate) fn take(&self) -> Option<Vec<Job>> {
        let mut state = self.lock();
        loop {
            if !state.jobs.is_empty() {
                return Some(std::mem::take(&mut state.jobs));
            }
            if state.closed {
                return None;
            }
            state = self
                .ready
                .wait(state)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
    }

    /// Asks for a channel manager write (the manager changed): the writer serialises the
    /// manager once in its next round, however many requests wait. `done` is answered
    /// once that write is durable.
    pub fn request_manager(&self, done: Option<oneshot::Sender<Result<(), io::Error>>>) {
        self.push(Job::Manager(done));
    }

    /// Opens the queue for a new writer.
    pub(crate) fn open(&self) {
        self.lock().closed = false;
    }

    /// Lets the writer finish what is queued and stop.
    pub(crate) fn close(&self) {
        self.lock().closed = true;
        self.ready.notify_all();
    }

    /// Records that writing failed: waiting and future manager requests get `reason`.
    pub(crate) fn fail(&self, reason: String) {
        let mut state = self.lock();
        let waiting: Vec<Job> = state.jobs.drain(..).collect();
        for job in waiting {
            match job {
                Job::Manager(Some(done)) => {
                    let _ = done.send(Err(io::Error::new(io::ErrorKind::Other, reason.clone())));
                }
                Job::Manager(None) => {}
                other => state.jobs.push(other),
            }
        }
        state.failed = Some(reason);
    }

    /// How many jobs wait.
    pub fn len(&self) -> usize {
        self.lock().jobs.len()
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
