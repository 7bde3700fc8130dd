//! BDK's wallet persistence over the store: each change set is appended under its own
//! key and merged on load, so a persist costs the size of the change, not the wallet.

use bdk_wallet::chain::Merge;
use bdk_wallet::{ChangeSet, WalletPersister};
use sluice_storage::{Store, StoreError, Table, WalletRecord, WriteBatch};

const PREFIX: &str = "onchain/";

/// Appends wallet change sets to [`Table::Wallet`].
pub struct StorePersister {
    store: Store,
    next: u64,
}

impl StorePersister {
    /// A persister over `store`.
    pub fn new(store: Store) -> Self {
        StorePersister { store, next: 0 }
    }
}

fn decode_error(source: serde_json::Error) -> StoreError {
    StoreError::Decode {
        table: Table::Wallet.name(),
        source,
    }
}

impl StorePersister {
    /// The record that appends `changeset`, taking the next key. Cheap (no I/O), so it is
    /// done under the wallet's lock: keys then follow the order in which changes were made,
    /// whatever order their writes finish in.
    pub fn record(&mut self, changeset: &ChangeSet) -> Result<WalletRecord, StoreError> {
        let value = serde_json::to_value(changeset).map_err(|source| StoreError::Encode {
            table: Table::Wallet.name(),
            source,
        })?;
        // Zero-padded so that key order is append order.
        let record = WalletRecord {
            name: format!("{PREFIX}{:020}", self.next),
            changeset: value,
        };
        self.next += 1;
        Ok(record)
    }

    /// Writes `record` durably (fsync). Takes no lock, so the wallet stays usable while the
    /// disk works.
    pub fn write(store: &Store, record: &WalletRecord) -> Result<(), StoreError> {
        let mut batch = WriteBatch::new();
        batch.create(record)?;
        store.commit_blocking(batch)
    }
}

impl WalletPersister for StorePersister {
    type Error = StoreError;

    fn initialize(persister: &mut Self) -> Result<ChangeSet, StoreError> {
        let records = persister.store.scan_blocking::<WalletRecord>(PREFIX)?;
        let mut merged = ChangeSet::default();
        for record in &records {
            let changeset: ChangeSet =
                serde_json::from_value(record.changeset.clone()).map_err(decode_error)?;
            merged.merge(changeset);
        }
        persister.next = records.len() as u64;
        Ok(merged)
    }

    fn persist(persister: &mut Self, changeset: &ChangeSet) -> Result<(), StoreError> {
        if changeset.is_empty() {
            return Ok(());
        }
        let record = persister.record(changeset)?;
        Self::write(&persister.store, &record)
    }
}
