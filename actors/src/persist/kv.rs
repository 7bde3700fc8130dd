//! [`LdkStore`]: the key-value store LDK's output sweeper, the liquidity manager and the
//! LDK loop's scorer and graph writes go through. Everything goes to the [`Store`] except the channel manager, whose writes
//! go through the [`PersistWriter`](super::PersistWriter) so that they are ordered with
//! the monitor writes.

use std::sync::Arc;

use lightning::io;
use lightning::util::async_poll::AsyncResult;
use lightning::util::persist::{
    KVStore, CHANNEL_MANAGER_PERSISTENCE_KEY, CHANNEL_MANAGER_PERSISTENCE_PRIMARY_NAMESPACE,
    CHANNEL_MANAGER_PERSISTENCE_SECONDARY_NAMESPACE,
};
use sluice_storage::Store;
use tokio::sync::oneshot;

use super::queue::PersistQueue;

/// The store as LDK's components see it.
///
/// A write of the channel manager ignores the bytes LDK serialised and asks the writer
/// for a fresh write instead, resolving once a manager serialised after the request is
/// durable: the writer is then the only one writing the manager, and what it writes is
/// never older than a monitor it wrote.
pub struct LdkStore {
    store: Arc<Store>,
    queue: Arc<PersistQueue>,
}

impl LdkStore {
    /// `store`, with channel manager writes sent to `queue`.
    pub fn new(store: Arc<Store>, queue: Arc<PersistQueue>) -> Self {
        LdkStore { store, queue }
    }
}

fn is_manager(primary: &str, secondary: &str, key: &str) -> bool {
    primary == CHANNEL_MANAGER_PERSISTENCE_PRIMARY_NAMESPACE
        && secondary == CHANNEL_MANAGER_PERSISTENCE_SECONDARY_NAMESPACE
        && key == CHANNEL_MANAGER_PERSISTENCE_KEY
}

impl KVStore for LdkStore {
    fn read(
        &self,
        primary: &str,
        secondary: &str,
        key: &str,
    ) -> AsyncResult<'static, Vec<u8>, io::Error> {
        KVStore::read(&*self.store, primary, secondary, key)
    }

    fn write(
        &self,
        primary: &str,
        secondary: &str,
        key: &str,
        buf: Vec<u8>,
    ) -> AsyncResult<'static, (), io::Error> {
        if !is_manager(primary, secondary, key) {
            return KVStore::write(&*self.store, primary, secondary, key, buf);
        }
        let (done, written) = oneshot::channel();
        self.queue.request_manager(Some(done));
        Box::pin(async move {
            written.await.unwrap_or_else(|_| {
                Err(io::Error::new(
                    io::ErrorKind::Other,
                    "the persistence writer stopped",
                ))
            })
        })
    }

    fn remove(
        &self,
        primary: &str,
        secondary: &str,
        key: &str,
        lazy: bool,
    ) -> AsyncResult<'static, (), io::Error> {
        KVStore::remove(&*self.store, primary, secondary, key, lazy)
    }

    fn list(&self, primary: &str, secondary: &str) -> AsyncResult<'static, Vec<String>, io::Error> {
        KVStore::list(&*self.store, primary, secondary)
    }
}
