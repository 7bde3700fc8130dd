//! The chain backend: a Bitcoin Core (or embedded regtest chain) JSON-RPC endpoint,
//! reached with lightning-block-sync's `RpcClient`.

use std::sync::Arc;

use bitcoin::{Network, Transaction, Txid};
use lightning_block_sync::http::HttpEndpoint;
use lightning_block_sync::rpc::{RpcClient, RpcError};
use serde_json::{json, Value};

use super::fees::EstimateMode;
use crate::NodeError;

/// Where and how to reach the RPC endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RpcEndpoint {
    /// Host name or address.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Basic-auth user.
    pub user: String,
    /// Basic-auth password.
    pub password: String,
}

/// The JSON-RPC client every chain-facing component shares.
pub struct ChainClient {
    rpc: Arc<RpcClient>,
}

/// The outcome of a broadcast the backend refused, classified.
#[derive(Debug, PartialEq, Eq)]
pub enum BroadcastRefusal {
    /// The transaction is already confirmed or in the mempool: nothing to do.
    AlreadyKnown,
    /// The backend rejected it (code and message).
    Rejected(i64, String),
}

impl ChainClient {
    /// A client for `endpoint`.
    pub fn new(endpoint: &RpcEndpoint) -> Self {
        use bitcoin::base64::Engine;
        let credentials = bitcoin::base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", endpoint.user, endpoint.password));
        let http = HttpEndpoint::for_host(endpoint.host.clone()).with_port(endpoint.port);
        ChainClient {
            rpc: Arc::new(RpcClient::new(&credentials, http)),
        }
    }

    /// The underlying client, which is also a `BlockSource` and `UtxoSource`.
    pub fn rpc(&self) -> &Arc<RpcClient> {
        &self.rpc
    }

    async fn call(&self, method: &str, params: &[Value]) -> Result<Value, std::io::Error> {
        self.rpc.call_method::<Value>(method, params).await
    }

    /// Checks that the backend answers and serves `network`.
    pub async fn check_network(&self, network: Network) -> Result<(), NodeError> {
        let info = self
            .call("getblockchaininfo", &[])
            .await
            .map_err(|e| NodeError::Chain(format!("the chain backend does not answer: {e}")))?;
        let chain = info["chain"].as_str().unwrap_or_default();
        let expected = match network {
            Network::Bitcoin => "main",
            Network::Testnet => "test",
            Network::Testnet4 => "testnet4",
            Network::Signet => "signet",
            Network::Regtest => "regtest",
        };
        if chain != expected {
            return Err(NodeError::Chain(format!(
                "the chain backend serves {chain:?}, the node is configured for {expected:?}"
            )));
        }
        Ok(())
    }

    /// `estimatesmartfee`: the fee rate in BTC/kvB, or `None` when the backend has too
    /// little data.
    pub async fn estimate_fee(
        &self,
        blocks: u16,
        mode: EstimateMode,
    ) -> Result<Option<f64>, NodeError> {
        let reply = self
            .call("estimatesmartfee", &[json!(blocks), json!(mode.as_rpc())])
            .await
            .map_err(|e| NodeError::Chain(format!("estimatesmartfee: {e}")))?;
        Ok(reply["feerate"].as_f64())
    }

    /// `sendrawtransaction`.
    pub async fn send_raw_transaction(&self, tx: &Transaction) -> Result<Txid, BroadcastRefusal> {
        let hex = bitcoin::consensus::encode::serialize_hex(tx);
        match self.call("sendrawtransaction", &[json!(hex)]).await {
            Ok(_) => Ok(tx.compute_txid()),
            Err(e) => {
                let rpc_error = e
                    .get_ref()
                    .and_then(|inner| inner.downcast_ref::<RpcError>());
                match rpc_error {
                    // -27: already in the chain; "txn-already-known"/"already in mempool" are
                    // success for a rebroadcast.
                    Some(r) if r.code == -27 => Err(BroadcastRefusal::AlreadyKnown),
                    Some(r) if r.message.contains("already") => Err(BroadcastRefusal::AlreadyKnown),
                    Some(r) => Err(BroadcastRefusal::Rejected(r.code, r.message.clone())),
                    None => Err(BroadcastRefusal::Rejected(0, e.to_string())),
                }
            }
        }
    }
}
