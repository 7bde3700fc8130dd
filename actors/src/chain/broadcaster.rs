//! Broadcasting for LDK: transactions are queued (LDK calls from sync code) and sent by a
//! task with `sendrawtransaction`, in order, a package's transactions one after another.

use std::sync::Arc;

use bitcoin::Transaction;
use lightning::chain::chaininterface::BroadcasterInterface;
use tokio::sync::mpsc;

use super::client::{BroadcastRefusal, ChainClient};

/// LDK's broadcaster. Cheap to share; every clone feeds the same queue.
#[derive(Clone)]
pub struct Broadcaster {
    queue: mpsc::UnboundedSender<Vec<Transaction>>,
}

impl Broadcaster {
    /// A broadcaster and the receiving end its task drains with [`run_broadcasts`].
    pub fn new() -> (Self, mpsc::UnboundedReceiver<Vec<Transaction>>) {
        let (queue, receiver) = mpsc::unbounded_channel();
        (Broadcaster { queue }, receiver)
    }
}

impl BroadcasterInterface for Broadcaster {
    fn broadcast_transactions(&self, txs: &[&Transaction]) {
        let package: Vec<Transaction> = txs.iter().map(|tx| (*tx).clone()).collect();
        if self.queue.send(package).is_err() {
            tracing::error!("broadcast queue closed: the node is shutting down");
        }
    }
}

/// Sends queued transactions until the queue closes. Refusals are logged: LDK
/// rebroadcasts what still matters on later blocks.
pub async fn run_broadcasts(
    client: Arc<ChainClient>,
    mut queue: mpsc::UnboundedReceiver<Vec<Transaction>>,
) {
    while let Some(package) = queue.recv().await {
        for tx in package {
            let txid = tx.compute_txid();
            match client.send_raw_transaction(&tx).await {
                Ok(_) => tracing::info!(%txid, "broadcast transaction"),
                Err(BroadcastRefusal::AlreadyKnown) => {
                    tracing::debug!(%txid, "transaction already known")
                }
                Err(BroadcastRefusal::Rejected(code, message)) => {
                    tracing::warn!(%txid, code, %message, "the chain backend refused a transaction")
                }
            }
        }
    }
}
