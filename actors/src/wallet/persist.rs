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
        let value = serde_json::to_value(changeset).map_err(|source| StoreError::Encode {
            table: Table::Wallet.name(),
            source,
        })?;
        // Zero-padded so that key order is append order.
        let record = WalletRecord {
            name: format!("{PREFIX}{:020}", persister.next),
            changeset: value,
        };
        let mut batch = WriteBatch::new();
        batch.create(&record)?;
        persister.store.commit_blocking(batch)?;
        persister.next += 1;
        Ok(())
    }
}
