//! The ReceiptSigner actor (ARCHITECTURE.md §2): the one holder of the node's receipt key.
//! Other actors ask it to seal a receipt and then store the sealed receipt in the same
//! atomic batch as the ledger change it attests, so a change and its receipt are
//! never stored one without the other.

use std::sync::Arc;
use std::time::Duration;

use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use serde_json::Value;

use sluice_storage::ReceiptRecord;

use super::{ReceiptError, ReceiptKind, ReceiptSigner};
use crate::handles::Handle;
use crate::NodeError;

/// How long a caller waits for a seal.
pub const SEAL_TIMEOUT: Duration = Duration::from_secs(5);

/// Messages to the receipt signer.
#[derive(Debug)]
pub enum ReceiptSignerMsg {
    /// Seal `receipt` (see [`ReceiptSigner::seal`]).
    Seal(Value, RpcReplyPort<Result<Value, ReceiptError>>),
}

/// The receipt signer actor; its state is the signer (a key and a signing context).
pub struct ReceiptSignerActor;

impl Actor for ReceiptSignerActor {
    type Msg = ReceiptSignerMsg;
    type State = Arc<ReceiptSigner>;
    type Arguments = Arc<ReceiptSigner>;

    async fn pre_start(
        &self,
        _myself: ActorRef<ReceiptSignerMsg>,
        signer: Arc<ReceiptSigner>,
    ) -> Result<Arc<ReceiptSigner>, ActorProcessingErr> {
        Ok(signer)
    }

    async fn handle(
        &self,
        _myself: ActorRef<ReceiptSignerMsg>,
        message: ReceiptSignerMsg,
        signer: &mut Arc<ReceiptSigner>,
    ) -> Result<(), ActorProcessingErr> {
        // One Schnorr signature and a hash of a small document: tens of microseconds,
        // cheap enough to do in the handler.
        let ReceiptSignerMsg::Seal(receipt, reply) = message;
        let _ = reply.send(signer.seal(&receipt));
        metrics::counter!("sluice_receipts_sealed_total").increment(1);
        Ok(())
    }
}

/// Seals `receipt` with the running receipt signer.
pub async fn seal(signer: &Handle<ReceiptSignerMsg>, receipt: Value) -> Result<Value, NodeError> {
    signer
        .call(|reply| ReceiptSignerMsg::Seal(receipt, reply), SEAL_TIMEOUT)
        .await?
        .map_err(|e| NodeError::Receipt(e.to_string()))
}

/// Seals `body`, a receipt of `kind`, and makes the record that stores it (to be created
/// in the commit of what it attests).
pub async fn seal_record(
    signer: &Handle<ReceiptSignerMsg>,
    kind: ReceiptKind,
    body: &impl serde::Serialize,
    created_at_ms: u64,
) -> Result<ReceiptRecord, NodeError> {
    let body = serde_json::to_value(body).map_err(|e| NodeError::Receipt(e.to_string()))?;
    let sealed = seal(signer, body).await?;
    let receipt_id = sealed
        .get("receipt_id")
        .and_then(Value::as_str)
        .ok_or_else(|| NodeError::Receipt("a sealed receipt without an id".into()))?
        .to_owned();
    Ok(ReceiptRecord {
        receipt_id,
        schema: kind.schema().to_owned(),
        body: sealed,
        created_at_ms,
    })
}
