//! LDK's key-value store traits over the [`Table::Ldk`] keyspace.
//!
//! Each LDK entry is stored under `primary/secondary/key`. The separator `/` is outside
//! LDK's alphabet, so a prefix scan of `primary/secondary/` returns exactly the keys of
//! that namespace pair and never those of a longer namespace.
//!
//! The rules LDK relies on (lightning 0.2.7, `lightning::util::persist`):
//! - namespaces and keys use `a-zA-Z0-9_-`, at most 120 characters; keys are non-empty;
//!   an empty primary namespace requires an empty secondary one. Anything else is
//!   refused with [`io::ErrorKind::InvalidInput`];
//! - `read` fails with [`io::ErrorKind::NotFound`] exactly when the key is absent, and
//!   with another kind for every other failure;
//! - writes and removes apply in call order, even when the async futures are polled out
//!   of order or dropped: the change is queued to the single writer before the future is
//!   returned;
//! - a write or non-lazy remove succeeds only once it is fsynced; a lazy remove is
//!   queued without waiting and becomes durable with the next durable write.

use std::future::Future;

use lightning::io;

use lightning::util::async_poll::AsyncResult;
use lightning::util::persist::{
    KVStore, KVStoreSync, MigratableKVStore, KVSTORE_NAMESPACE_KEY_MAX_LEN,
};

use crate::commit::Op;
use crate::store::{off_executor, settle, Store};
use crate::table::Table;
use crate::{StoreError, WriteBatch};

const SEPARATOR: char = '/';

fn check_part(part: &'static str, value: &str) -> Result<(), StoreError> {
    if value.len() > KVSTORE_NAMESPACE_KEY_MAX_LEN {
        return Err(StoreError::InvalidKey {
            part,
            reason: format!(
                "{} characters, at most {KVSTORE_NAMESPACE_KEY_MAX_LEN} allowed",
                value.len()
            ),
        });
    }
    if let Some(bad) = value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
    {
        return Err(StoreError::InvalidKey {
            part,
            reason: format!("character {bad:?} is outside a-zA-Z0-9_-"),
        });
    }
    Ok(())
}

/// The stored prefix of a namespace pair, after checking LDK's rules.
fn namespace_prefix(primary: &str, secondary: &str) -> Result<String, StoreError> {
    check_part("primary namespace", primary)?;
    check_part("secondary namespace", secondary)?;
    if primary.is_empty() && !secondary.is_empty() {
        return Err(StoreError::InvalidKey {
            part: "secondary namespace",
            reason: "must be empty when the primary namespace is empty".into(),
        });
    }
    Ok(format!("{primary}{SEPARATOR}{secondary}{SEPARATOR}"))
}

/// The stored key of an entry, after checking LDK's rules.
fn entry_key(primary: &str, secondary: &str, key: &str) -> Result<Vec<u8>, StoreError> {
    let mut full = namespace_prefix(primary, secondary)?;
    check_part("key", key)?;
    if key.is_empty() {
        return Err(StoreError::InvalidKey {
            part: "key",
            reason: "must not be empty".into(),
        });
    }
    full.push_str(key);
    Ok(full.into_bytes())
}

fn not_found(primary: &str, secondary: &str, key: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        format!("no entry {primary}/{secondary}/{key}"),
    )
}

fn ready<T: Send + 'static>(result: Result<T, io::Error>) -> AsyncResult<'static, T, io::Error> {
    Box::pin(async move { result })
}

impl Store {
    fn ldk_read(&self, primary: &str, secondary: &str, key: &str) -> Result<Vec<u8>, io::Error> {
        let stored = entry_key(primary, secondary, key)?;
        self.get_raw(Table::Ldk, &stored)?
            .ok_or_else(|| not_found(primary, secondary, key))
    }

    fn ldk_list(&self, primary: &str, secondary: &str) -> Result<Vec<String>, io::Error> {
        let prefix = namespace_prefix(primary, secondary)?;
        self.keys_raw(Table::Ldk, prefix.as_bytes())?
            .into_iter()
            .map(|stored| {
                String::from_utf8(stored[prefix.len()..].to_vec()).map_err(|_| {
                    io::Error::new(io::ErrorKind::InvalidData, "a stored LDK key is not UTF-8")
                })
            })
            .collect()
    }

    /// Queues a write; the returned future resolves when it is durable.
    fn ldk_write(
        &self,
        primary: &str,
        secondary: &str,
        key: &str,
        value: Vec<u8>,
    ) -> Result<impl Future<Output = Result<(), io::Error>> + Send + 'static, io::Error> {
        let stored = entry_key(primary, secondary, key)?;
        let ack = self.submit(
            vec![Op::Put {
                table: Table::Ldk,
                key: stored,
                value,
            }],
            true,
        );
        Ok(async move { settle(ack).await.map_err(io::Error::from) })
    }

    /// Queues a remove; the returned future resolves when it is durable, or at once when
    /// `lazy`.
    fn ldk_remove(
        &self,
        primary: &str,
        secondary: &str,
        key: &str,
        lazy: bool,
    ) -> Result<impl Future<Output = Result<(), io::Error>> + Send + 'static, io::Error> {
        let stored = entry_key(primary, secondary, key)?;
        let ack = self.submit(
            vec![Op::Delete {
                table: Table::Ldk,
                key: stored,
            }],
            !lazy,
        );
        Ok(async move {
            if lazy {
                Ok(())
            } else {
                settle(ack).await.map_err(io::Error::from)
            }
        })
    }
}

impl WriteBatch {
    /// Writes LDK's entry `primary/secondary/key` as part of this batch, so LDK objects
    /// that must be durable together (a channel manager and the monitor updates it
    /// knows about) commit with one fsync, or not at all. Keys follow LDK's rules.
    pub fn put_ldk(
        &mut self,
        primary: &str,
        secondary: &str,
        key: &str,
        value: Vec<u8>,
    ) -> Result<&mut Self, StoreError> {
        let key = entry_key(primary, secondary, key)?;
        self.push(Op::Put {
            table: Table::Ldk,
            key,
            value,
        });
        Ok(self)
    }

    /// Removes LDK's entry `primary/secondary/key` as part of this batch.
    pub fn delete_ldk(
        &mut self,
        primary: &str,
        secondary: &str,
        key: &str,
    ) -> Result<&mut Self, StoreError> {
        let key = entry_key(primary, secondary, key)?;
        self.push(Op::Delete {
            table: Table::Ldk,
            key,
        });
        Ok(self)
    }
}

impl KVStoreSync for Store {
    fn read(&self, primary: &str, secondary: &str, key: &str) -> Result<Vec<u8>, io::Error> {
        self.ldk_read(primary, secondary, key)
    }

    fn write(
        &self,
        primary: &str,
        secondary: &str,
        key: &str,
        buf: Vec<u8>,
    ) -> Result<(), io::Error> {
        futures::executor::block_on(self.ldk_write(primary, secondary, key, buf)?)
    }

    fn remove(
        &self,
        primary: &str,
        secondary: &str,
        key: &str,
        lazy: bool,
    ) -> Result<(), io::Error> {
        futures::executor::block_on(self.ldk_remove(primary, secondary, key, lazy)?)
    }

    fn list(&self, primary: &str, secondary: &str) -> Result<Vec<String>, io::Error> {
        self.ldk_list(primary, secondary)
    }
}

impl KVStore for Store {
    fn read(
        &self,
        primary: &str,
        secondary: &str,
        key: &str,
    ) -> AsyncResult<'static, Vec<u8>, io::Error> {
        let (store, primary, secondary, key) = (
            self.clone(),
            primary.to_owned(),
            secondary.to_owned(),
            key.to_owned(),
        );
        Box::pin(
            async move { off_executor(move || store.ldk_read(&primary, &secondary, &key)).await? },
        )
    }

    fn write(
        &self,
        primary: &str,
        secondary: &str,
        key: &str,
        buf: Vec<u8>,
    ) -> AsyncResult<'static, (), io::Error> {
        match self.ldk_write(primary, secondary, key, buf) {
            Ok(done) => Box::pin(done),
            Err(e) => ready(Err(e)),
        }
    }

    fn remove(
        &self,
        primary: &str,
        secondary: &str,
        key: &str,
        lazy: bool,
    ) -> AsyncResult<'static, (), io::Error> {
        match self.ldk_remove(primary, secondary, key, lazy) {
            Ok(done) => Box::pin(done),
            Err(e) => ready(Err(e)),
        }
    }

    fn list(&self, primary: &str, secondary: &str) -> AsyncResult<'static, Vec<String>, io::Error> {
        let (store, primary, secondary) = (self.clone(), primary.to_owned(), secondary.to_owned());
        Box::pin(async move { off_executor(move || store.ldk_list(&primary, &secondary)).await? })
    }
}

impl MigratableKVStore for Store {
    fn list_all_keys(&self) -> Result<Vec<(String, String, String)>, io::Error> {
        self.keys_raw(Table::Ldk, b"")?
            .into_iter()
            .map(|stored| {
                let text = String::from_utf8(stored).ok();
                let parts = text.as_deref().and_then(|t| {
                    let mut it = t.splitn(3, SEPARATOR);
                    Some((
                        it.next()?.to_owned(),
                        it.next()?.to_owned(),
                        it.next()?.to_owned(),
                    ))
                });
                parts.ok_or_else(|| {
                    io::Error::new(io::ErrorKind::InvalidData, "a stored LDK key is malformed")
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespace_rules() {
        assert_eq!(entry_key("", "", "manager").unwrap(), b"//manager".to_vec());
        assert_eq!(
            entry_key("monitors", "", "a_1").unwrap(),
            b"monitors//a_1".to_vec()
        );
        assert!(entry_key("", "x", "k").is_err());
        assert!(entry_key("a", "b", "").is_err());
        assert!(entry_key("a/b", "", "k").is_err());
        assert!(entry_key("a", "", "k.json").is_err());
        assert!(entry_key(&"p".repeat(120), &"s".repeat(120), &"k".repeat(120)).is_ok());
        assert!(entry_key("p", "", &"k".repeat(121)).is_err());
        assert!(namespace_prefix("", "").is_ok());
        assert!(namespace_prefix("", "s").is_err());
    }
}
