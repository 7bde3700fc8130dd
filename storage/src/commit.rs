//! Group commit: one writer thread that turns many callers' writes into one fjall
//! batch and one `SyncAll`.
//!
//! Every write in the store goes through [`Committer::submit`]. The writer thread takes
//! the first waiting request, then everything else already queued (up to
//! [`StoreConfig::max_group_requests`](crate::StoreConfig)), applies the whole group as
//! one atomic fjall batch, fsyncs the journal once if any request asked for durability,
//! and only then wakes the callers. While one fsync runs, the next group gathers, so the
//! cost of an fsync is shared by everyone who arrived during it and nobody waits for a
//! timer when the store is idle.
//!
//! Because there is exactly one writer and the queue is FIFO, writes apply in the order
//! they were submitted. That is LDK's per-key ordering rule for async writes, and it makes
//! create-only writes ([`Op::Create`]) linearizable without locks.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use fjall::{Database, Keyspace, PersistMode};
use futures::channel::oneshot;

use crate::mark::{CommitMark, SEQUENCE_KEY};
use crate::table::Table;
use crate::StoreError;

/// One change to one key.
#[derive(Debug)]
pub(crate) enum Op {
    /// Store `value` under `key`, replacing what was there.
    Put {
        table: Table,
        key: Vec<u8>,
        value: Vec<u8>,
    },
    /// Store `value` under `key` only if nothing is stored there yet; otherwise the whole
    /// request is refused with [`StoreError::Conflict`].
    Create {
        table: Table,
        key: Vec<u8>,
        value: Vec<u8>,
    },
    /// Remove `key` (absent keys are fine).
    Delete { table: Table, key: Vec<u8> },
}

impl Op {
    fn value(&self) -> Option<&[u8]> {
        match self {
            Op::Put { value, .. } | Op::Create { value, .. } => Some(value),
            Op::Delete { .. } => None,
        }
    }

    fn target(&self) -> (Table, &[u8]) {
        match self {
            Op::Put { table, key, .. }
            | Op::Create { table, key, .. }
            | Op::Delete { table, key } => (*table, key),
        }
    }
}

/// What a caller waits on: the outcome of its request.
pub(crate) type Ack = oneshot::Receiver<Result<(), StoreError>>;

struct Request {
    ops: Vec<Op>,
    durable: bool,
    reply: Option<oneshot::Sender<Result<(), StoreError>>>,
}

/// Counters describing how well writes are being grouped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CommitStats {
    /// Requests committed or refused.
    pub requests: u64,
    /// Groups (fjall batches) written.
    pub groups: u64,
    /// Journal fsyncs performed.
    pub fsyncs: u64,
}

#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    groups: AtomicU64,
    fsyncs: AtomicU64,
}

/// Handle to the writer thread. Dropping it lets the thread finish the queue and exit.
pub(crate) struct Committer {
    tx: Option<mpsc::Sender<Request>>,
    thread: Option<JoinHandle<()>>,
    counters: Arc<Counters>,
}

impl Committer {
    /// Starts the writer thread over `db`, whose keyspaces are `spaces` (indexed by
    /// [`Table::index`]).
    /// Every group advances the commit sequence number from `sequence` (as stored), and
    /// each durable one records it in `mark`.
    pub(crate) fn start(
        db: Database,
        spaces: Vec<Keyspace>,
        max_group_requests: usize,
        sequence: u64,
        mark: CommitMark,
    ) -> Result<Self, StoreError> {
        let (tx, rx) = mpsc::channel();
        let counters = Arc::new(Counters::default());
        let writer = Writer {
            db,
            spaces,
            counters: Arc::clone(&counters),
            sequence,
            mark,
        };
        let max = max_group_requests.max(1);
        let thread = std::thread::Builder::new()
            .name("sluice-store-commit".into())
            .spawn(move || writer.run(rx, max))
            .map_err(|e| StoreError::Task(format!("spawning the commit thread: {e}")))?;
        Ok(Committer {
            tx: Some(tx),
            thread: Some(thread),
            counters,
        })
    }

    /// Queues `ops` as one atomic request. With `durable`, the acknowledgement comes only
    /// after the journal has been fsynced; without, after the batch reached the OS (the
    /// next durable group, or shutdown, makes it durable).
    pub(crate) fn submit(&self, ops: Vec<Op>, durable: bool) -> Ack {
        let (reply, ack) = oneshot::channel();
        let request = Request {
            ops,
            durable,
            reply: Some(reply),
        };
        if let Some(tx) = &self.tx {
            if let Err(mpsc::SendError(request)) = tx.send(request) {
                answer(request.reply, Err(StoreError::Closed));
            }
        }
        ack
    }

    pub(crate) fn stats(&self) -> CommitStats {
        CommitStats {
            requests: self.counters.requests.load(Ordering::Relaxed),
            groups: self.counters.groups.load(Ordering::Relaxed),
            fsyncs: self.counters.fsyncs.load(Ordering::Relaxed),
        }
    }
}

impl Drop for Committer {
    fn drop(&mut self) {
        // Closing the channel ends the writer's loop once the queue is drained.
        self.tx.take();
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                tracing::error!("the store's commit thread panicked");
            }
        }
    }
}

fn answer(reply: Option<oneshot::Sender<Result<(), StoreError>>>, result: Result<(), StoreError>) {
    if let Some(reply) = reply {
        // The caller may have stopped waiting (a dropped future); the write stands anyway.
        let _ = reply.send(result);
    }
}

/// What the group being built has written so far: `None` for a delete.
type Overlay = HashMap<(Table, Vec<u8>), Option<Vec<u8>>>;

struct Writer {
    db: Database,
    spaces: Vec<Keyspace>,
    counters: Arc<Counters>,
    /// The last commit sequence number written.
    sequence: u64,
    mark: CommitMark,
}

impl Writer {
    fn run(mut self, rx: mpsc::Receiver<Request>, max_group: usize) {
        while let Ok(first) = rx.recv() {
            let mut group = vec![first];
            while group.len() < max_group {
                match rx.try_recv() {
                    Ok(request) => group.push(request),
                    Err(_) => break,
                }
            }
            self.commit_group(group);
        }
        // Lazy writes since the last durable group become durable at shutdown.
        match self.db.persist(PersistMode::SyncAll) {
            Ok(()) => self.mark.record(self.sequence),
            Err(e) => tracing::error!(error = %e, "final fsync of the store failed"),
        }
    }

    fn space(&self, table: Table) -> &Keyspace {
        &self.spaces[table.index()]
    }

    fn commit_group(&mut self, group: Vec<Request>) {
        let started = Instant::now();
        let requests = group.len();
        let conditional = group
            .iter()
            .any(|r| r.ops.iter().any(|op| matches!(op, Op::Create { .. })));
        // What this group has written so far, for create-only checks of later requests.
        let mut overlay: Overlay = HashMap::new();
        let mut batch = self.db.batch();
        let mut ops = Vec::new();
        let mut durable = false;
        let mut accepted = Vec::with_capacity(requests);
        // Refused requests are answered after the commit, so that a caller told a key is
        // taken can read what took it (it may be in this very group).
        let mut refused = Vec::new();

        for request in group {
            if conditional {
                // The request's own changes, seen by its later create-only ops.
                let mut own: Overlay = HashMap::new();
                let mut conflict = None;
                for op in &request.ops {
                    if let Op::Create { table, key, .. } = op {
                        if let Some(err) = self.conflict(*table, key, &own, &overlay) {
                            conflict = Some(err);
                            break;
                        }
                    }
                    let (table, key) = op.target();
                    own.insert((table, key.to_vec()), op.value().map(<[u8]>::to_vec));
                }
                if let Some(err) = conflict {
                    refused.push((request.reply, err));
                    continue;
                }
                overlay.extend(own);
            }
            ops.extend(request.ops);
            durable |= request.durable;
            accepted.push(request.reply);
        }

        // Every change of a fjall batch gets the same sequence number, so two changes to one
        // key in one batch would leave it unspecified which wins. Only the last change to
        // each key is written: the group commits atomically, so the result is the same.
        let mut seen = HashSet::new();
        let mut last_changes: Vec<Op> = ops
            .into_iter()
            .rev()
            .filter(|op| {
                let (table, key) = op.target();
                seen.insert((table, key.to_vec()))
            })
            .collect();
        last_changes.reverse();
        for op in last_changes {
            match op {
                Op::Put { table, key, value } | Op::Create { table, key, value } => {
                    batch.insert(self.space(table), key, value)
                }
                Op::Delete { table, key } => batch.remove(self.space(table), key),
            }
        }

        let wrote = !batch.is_empty();
        if wrote {
            batch.insert(
                self.space(Table::Meta),
                SEQUENCE_KEY,
                (self.sequence + 1).to_le_bytes(),
            );
        }
        let result = if !wrote {
            // Nothing to write, but a durable request (a flush) still wants the fsync.
            if durable {
                self.db.persist(PersistMode::SyncAll)
            } else {
                Ok(())
            }
        } else {
            batch
                .durability(durable.then_some(PersistMode::SyncAll))
                .commit()
        };

        self.counters
            .requests
            .fetch_add(requests as u64, Ordering::Relaxed);
        self.counters.groups.fetch_add(1, Ordering::Relaxed);
        if durable {
            self.counters.fsyncs.fetch_add(1, Ordering::Relaxed);
        }
        metrics::histogram!("sluice_store_commit_group_requests").record(requests as f64);
        metrics::histogram!("sluice_store_commit_seconds").record(started.elapsed().as_secs_f64());
        // Memtables not yet flushed to disk: the store's share of the node's memory.
        metrics::gauge!("sluice_store_write_buffer_bytes").set(self.db.write_buffer_size() as f64);

        match result {
            Ok(()) => {
                self.sequence += u64::from(wrote);
                if durable {
                    self.mark.record(self.sequence);
                }
                accepted.into_iter().for_each(|reply| answer(reply, Ok(())));
                for (reply, err) in refused {
                    answer(reply, Err(err));
                }
            }
            Err(e) => {
                metrics::counter!("sluice_store_commit_failures_total").increment(1);
                tracing::error!(error = %e, requests, "a store commit failed; the store is poisoned");
                let e = Arc::new(e);
                // A conflict with this group's own writes would now be false: every
                // request of the group gets the failure.
                let everyone = accepted
                    .into_iter()
                    .chain(refused.into_iter().map(|(reply, _)| reply));
                for reply in everyone {
                    answer(reply, Err(StoreError::Write(Arc::clone(&e))));
                }
            }
        }
    }

    /// The conflict a create-only write of `key` hits, if the key holds a value: as
    /// the request itself left it, else as earlier requests of this group left it, else
    /// as stored.
    fn conflict(
        &self,
        table: Table,
        key: &[u8],
        own: &Overlay,
        group: &Overlay,
    ) -> Option<StoreError> {
        let slot = (table, key.to_vec());
        let existing = match own.get(&slot).or_else(|| group.get(&slot)) {
            Some(written) => written.clone(),
            None => match self.space(table).get(key) {
                Ok(found) => found.map(|v| v.to_vec()),
                Err(e) => return Some(StoreError::Engine(e)),
            },
        };
        existing.map(|existing| StoreError::Conflict {
            table: table.name(),
            key: String::from_utf8_lossy(key).into_owned(),
            existing,
        })
    }
}
