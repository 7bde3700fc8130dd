//! The on-chain wallet's persisted state.

use serde::{Deserialize, Serialize};

use crate::table::{Record, Table};

/// The on-chain wallet's accumulated change set (BDK's `ChangeSet`, as JSON), kept under
/// one key. The wallet crate owns its meaning; the store keeps it durable.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WalletRecord {
    /// Which wallet: one node has one, named `onchain`.
    pub name: String,
    /// The merged change set.
    pub changeset: serde_json::Value,
}

impl Record for WalletRecord {
    const TABLE: Table = Table::Wallet;

    fn key(&self) -> String {
        self.name.clone()
    }
}
