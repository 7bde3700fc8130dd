//! Peers the node connects to by itself.

use serde::{Deserialize, Serialize};

use crate::table::{Record, Table};

/// A peer the operator connected to: the node reconnects to it after restarts and
/// disconnections until the operator disconnects it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerRecord {
    /// The peer's node id, hex.
    pub node_id: String,
    /// Where it was reached, `host:port`.
    pub address: String,
}

impl Record for PeerRecord {
    const TABLE: Table = Table::Peers;

    fn key(&self) -> String {
        self.node_id.clone()
    }
}
