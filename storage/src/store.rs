//! [`Store`]: one fjall database per node directory, with group-committed writes.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use fjall::{Database, Keyspace, KeyspaceCreateOptions};

use crate::batch::WriteBatch;
use crate::commit::{Ack, CommitStats, Committer, Op};
use crate::mark::{CommitMark, MARK_FILE, SEQUENCE_KEY};
use crate::table::{decode, Record, Table};
use crate::StoreError;

/// Default for [`StoreConfig::max_group_requests`].
pub const DEFAULT_MAX_GROUP_REQUESTS: usize = 1024;
/// An end bound above every key of the index tables, whose keys begin with hex digits
/// (all below `~`).
pub const KEYS_END: &str = "~";

/// Default for [`StoreConfig::cache_bytes`]: 64 MiB of block cache.
pub const DEFAULT_CACHE_BYTES: u64 = 64 * 1024 * 1024;
/// Default for [`StoreConfig::memtable_bytes`]: 16 MiB per table.
pub const DEFAULT_MEMTABLE_BYTES: u64 = 16 * 1024 * 1024;

/// How the store is tuned. The defaults suit a routing node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreConfig {
    /// The most write requests one group commit may take. Larger groups share an fsync
    /// among more callers; the cap bounds how long the first caller of a group waits.
    pub max_group_requests: usize,
    /// Block cache size in bytes.
    pub cache_bytes: u64,
    /// How large a table's in-memory write buffer grows before it is flushed to disk.
    /// fjall's default, 64 MiB, lets a busy node hold hundreds of MiB of written data
    /// (much of it overwritten channel managers) in memory across its tables. Applies
    /// to tables a store creates; fjall keeps the size a table was created with.
    pub memtable_bytes: u64,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            max_group_requests: DEFAULT_MAX_GROUP_REQUESTS,
            cache_bytes: DEFAULT_CACHE_BYTES,
            memtable_bytes: DEFAULT_MEMTABLE_BYTES,
        }
    }
}

/// The commit sequence number the store holds (0 for a new store).
fn stored_sequence(meta: &Keyspace, path: &Path) -> Result<u64, StoreError> {
    match meta.get(SEQUENCE_KEY)? {
        None => Ok(0),
        Some(bytes) => <[u8; 8]>::try_from(&bytes[..])
            .map(u64::from_le_bytes)
            .map_err(|_| StoreError::Mark {
                path: path.join(MARK_FILE),
                reason: format!(
                    "the stored commit sequence number has {} bytes",
                    bytes.len()
                ),
            }),
    }
}

/// The node's durable store: LDK's key-value data and the ledger tables in one fjall
/// database.
///
/// Cheap to clone; all clones share one database and one commit thread. Every write is
/// acknowledged only after the journal is fsynced (`PersistMode::SyncAll`), except lazy
/// removes, which LDK allows to be lost on a crash. Concurrent writers share fsyncs
/// through group commit (see the `commit` module).
///
/// Methods without a `_blocking` suffix are `async` and never run fjall on the async
/// executor's threads; the `_blocking` ones are for code already off the executor.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    // Field order matters: the committer (and its thread) must stop before the database
    // handle is dropped.
    committer: Committer,
    spaces: Vec<Keyspace>,
    db: Database,
    path: PathBuf,
}

impl Store {
    /// Opens (or creates) the store in `path`, recovering the journal after a crash.
    ///
    /// Fails if another process holds the directory, or if the data on disk cannot be
    /// recovered; a node must not start in either case.
    pub fn open(path: impl AsRef<Path>, config: StoreConfig) -> Result<Store, StoreError> {
        let path = path.as_ref().to_path_buf();
        // fjall 3.1 panics on some journal damage (an assertion while decoding an entry)
        // instead of returning an error; the node must refuse with a message, not abort.
        let db = std::panic::catch_unwind(|| {
            Database::builder(&path)
                .cache_size(config.cache_bytes)
                .open()
        })
        .map_err(|panic| {
            let detail = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("no message");
            StoreError::Recovery(format!("the storage engine panicked: {detail}"))
        })??;
        let spaces = Table::ALL
            .iter()
            .map(|table| {
                db.keyspace(table.name(), || {
                    KeyspaceCreateOptions::default().max_memtable_size(config.memtable_bytes)
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let sequence = stored_sequence(&spaces[Table::Meta.index()], &path)?;
        let (mark, acknowledged) = CommitMark::open(&path)?;
        if let Some(acknowledged) = acknowledged.filter(|a| *a > sequence) {
            return Err(StoreError::LostWrites {
                stored: sequence,
                acknowledged,
                mark: mark.path().to_path_buf(),
            });
        }
        let committer = Committer::start(
            db.clone(),
            spaces.clone(),
            config.max_group_requests,
            sequence,
            mark,
        )?;
        Ok(Store {
            inner: Arc::new(Inner {
                committer,
                spaces,
                db,
                path,
            }),
        })
    }

    /// The directory this store lives in.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// How writes have been grouped since the store was opened.
    pub fn commit_stats(&self) -> CommitStats {
        self.inner.committer.stats()
    }

    /// Reads one record by key.
    pub async fn get<R: Record>(&self, key: impl Into<String>) -> Result<Option<R>, StoreError> {
        let store = self.clone();
        let key = key.into();
        off_executor(move || store.get_blocking::<R>(&key)).await?
    }

    /// Reads one record by key, blocking the calling thread.
    pub fn get_blocking<R: Record>(&self, key: &str) -> Result<Option<R>, StoreError> {
        match self.get_raw(R::TABLE, key.as_bytes())? {
            Some(bytes) => decode::<R>(&bytes).map(Some),
            None => Ok(None),
        }
    }

    /// Every record whose key starts with `prefix`, in key order.
    pub async fn scan<R: Record>(&self, prefix: impl Into<String>) -> Result<Vec<R>, StoreError> {
        let store = self.clone();
        let prefix = prefix.into();
        off_executor(move || store.scan_blocking::<R>(&prefix)).await?
    }

    /// Every record whose key starts with `prefix`, in key order, blocking the thread.
    pub fn scan_blocking<R: Record>(&self, prefix: &str) -> Result<Vec<R>, StoreError> {
        self.values_raw(R::TABLE, prefix.as_bytes())?
            .iter()
            .map(|value| decode::<R>(value))
            .collect()
    }

    /// Up to `limit` records of `R`'s table whose keys lie in `[start, end)`, with their
    /// keys, in key order (or reverse key order with `reverse`): a page of an index, or
    /// the entries of an expiry queue that are due, without reading the rest. With
    /// [`KEYS_END`] as `end` the range runs to the last key of an index.
    pub async fn range<R: Record>(
        &self,
        start: impl Into<String>,
        end: impl Into<String>,
        limit: usize,
        reverse: bool,
    ) -> Result<Vec<(String, R)>, StoreError> {
        let store = self.clone();
        let (start, end) = (start.into(), end.into());
        off_executor(move || {
            let space = store.space(R::TABLE);
            let entries = space.range(start.as_bytes()..end.as_bytes());
            let entries: Box<dyn Iterator<Item = _>> = if reverse {
                Box::new(entries.rev())
            } else {
                Box::new(entries)
            };
            entries
                .take(limit)
                .map(|guard| {
                    let (key, value) = guard.into_inner()?;
                    let key = String::from_utf8_lossy(&key).into_owned();
                    Ok((key, decode::<R>(&value)?))
                })
                .collect()
        })
        .await?
    }

    /// Commits `batch` atomically and durably; resolves once it is fsynced.
    ///
    /// Fails with [`StoreError::Conflict`] (and writes nothing) if one of the batch's
    /// create-only records already exists.
    pub async fn commit(&self, batch: WriteBatch) -> Result<(), StoreError> {
        settle(self.submit(batch.into_ops(), true)).await
    }

    /// Queues `batch` for commit *now* and returns a future that resolves once it is
    /// durable (or refused). Writes apply in the order they were queued, so a batch
    /// queued by this call lands before, or in the same atomic group as, anything queued
    /// after it returns, whoever queues it; the caller may go on without waiting.
    ///
    /// This is how LDK's event handlers record an outcome without waiting for an fsync
    /// each: the channel manager that no longer holds the event is queued by the
    /// persistence writer after the handler returned, so it can never be durable without
    /// the outcome (see `sluice_actors::events`).
    pub fn commit_queued(
        &self,
        batch: WriteBatch,
    ) -> impl std::future::Future<Output = Result<(), StoreError>> + Send + 'static {
        settle(self.submit(batch.into_ops(), true))
    }

    /// [`Store::commit`], blocking the calling thread until the batch is fsynced.
    pub fn commit_blocking(&self, batch: WriteBatch) -> Result<(), StoreError> {
        futures::executor::block_on(self.commit(batch))
    }

    /// Makes every write acknowledged so far durable, lazy removes included.
    pub async fn flush(&self) -> Result<(), StoreError> {
        settle(self.submit(Vec::new(), true)).await
    }

    pub(crate) fn submit(&self, ops: Vec<Op>, durable: bool) -> Ack {
        self.inner.committer.submit(ops, durable)
    }

    pub(crate) fn space(&self, table: Table) -> &Keyspace {
        &self.inner.spaces[table.index()]
    }

    pub(crate) fn get_raw(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.space(table).get(key)?.map(|v| v.to_vec()))
    }

    /// Values of `table` whose key starts with `prefix`, in key order.
    fn values_raw(&self, table: Table, prefix: &[u8]) -> Result<Vec<Vec<u8>>, StoreError> {
        self.space(table)
            .prefix(prefix)
            .map(|guard| Ok(guard.value()?.to_vec()))
            .collect()
    }

    /// Keys of `table` that start with `prefix`, in key order, without reading values
    /// (monitors are large).
    pub(crate) fn keys_raw(&self, table: Table, prefix: &[u8]) -> Result<Vec<Vec<u8>>, StoreError> {
        self.space(table)
            .prefix(prefix)
            .map(|guard| Ok(guard.key()?.to_vec()))
            .collect()
    }

    /// How many entries `table` holds. Scans the table: for administration, not hot paths.
    pub fn count_blocking(&self, table: Table) -> Result<usize, StoreError> {
        Ok(self.space(table).len()?)
    }

    /// Bytes the database occupies on disk (journal and tables).
    pub fn disk_bytes(&self) -> Result<u64, StoreError> {
        Ok(self.inner.db.disk_space()?)
    }

    /// Bytes written but not yet flushed from memory to table files, over all tables.
    pub fn write_buffer_bytes(&self) -> u64 {
        self.inner.db.write_buffer_size()
    }
}

/// Waits for the writer's answer to one request.
pub(crate) async fn settle(ack: Ack) -> Result<(), StoreError> {
    ack.await.unwrap_or(Err(StoreError::Closed))
}

/// Runs blocking store work off the async executor: on tokio's blocking pool when
/// called from inside a runtime, inline otherwise (the caller is then not an executor
/// thread).
pub(crate) async fn off_executor<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, StoreError> {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => handle
            .spawn_blocking(work)
            .await
            .map_err(|e| StoreError::Task(e.to_string())),
        Err(_) => Ok(work()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::time::{Duration, Instant};

    use super::*;

    /// Writes `total` bytes to the LDK table in 64 KiB values, each key once.
    fn fill(store: &Store, total: usize) {
        for i in 0..total / (64 * 1024) {
            let mut batch = WriteBatch::new();
            batch
                .put_ldk(
                    "memtable",
                    "test",
                    &format!("k{i}"),
                    vec![i as u8; 64 * 1024],
                )
                .unwrap();
            store.commit_blocking(batch).unwrap();
        }
    }

    /// The memtable limit bounds what a store holds in memory: past it, fjall flushes
    /// in the background.
    #[test]
    fn written_data_past_the_memtable_limit_is_flushed_from_memory() {
        let dir = tempfile::tempdir().unwrap();
        let small = StoreConfig {
            memtable_bytes: 1024 * 1024,
            ..StoreConfig::default()
        };
        let store = Store::open(dir.path().join("small"), small).unwrap();
        fill(&store, 8 * 1024 * 1024);
        let deadline = Instant::now() + Duration::from_secs(30);
        while store.write_buffer_bytes() > 2 * 1024 * 1024 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(store.write_buffer_bytes() <= 2 * 1024 * 1024);

        // With fjall's default (64 MiB) the same writes all stay in memory.
        let large = StoreConfig {
            memtable_bytes: 64 * 1024 * 1024,
            ..StoreConfig::default()
        };
        let store = Store::open(dir.path().join("large"), large).unwrap();
        fill(&store, 8 * 1024 * 1024);
        assert!(store.write_buffer_bytes() >= 8 * 1024 * 1024);
    }
}
