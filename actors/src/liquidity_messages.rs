//! [`LiquidityMessages`]: lightning-liquidity's LSPS messages as the peer manager sees them,
//! plus a [`PeerConnected`] notice on a port whenever a peer connects, so an actor waiting
//! for a client (the LSPS2 service) is woken at once instead of polling, and the answers
//! the node sends itself ([`LspsOutbox`]).
//!
//! The peer manager tells its message handlers of a new peer in a fixed order, the
//! channel manager before this one, so by the time the notice goes out the channel
//! manager knows the peer (a channel can be opened to it); the channels with it are
//! re-established a round trip later.

use std::sync::{Arc, Mutex, MutexGuard};

use bitcoin::secp256k1::PublicKey;
use lightning::ln::msgs::{DecodeError, Init, LightningError};
use lightning::ln::peer_handler::CustomMessageHandler;
use lightning::ln::wire::CustomMessageReader;
use lightning::types::features::{InitFeatures, NodeFeatures};
use lightning::util::ser::LengthLimitedRead;
use lightning_liquidity::lsps0::ser::RawLSPSMessage;
use ractor::OutputPort;

use crate::types::LiquidityManager;

/// A peer connected (its `Init` was accepted).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerConnected(pub PublicKey);

/// Where [`PeerConnected`] notices are published; subscribers come and go with their actors.
pub type PeerPort = Arc<OutputPort<PeerConnected>>;

/// LSPS0's error code for a request the LSP refuses (`client_rejected`).
pub const LSPS0_CLIENT_REJECTED: i32 = 1;

/// LSPS messages the node sends itself, beside lightning-liquidity's: the answer to a
/// request lightning-liquidity has no way to refuse (an LSPS2 buy over the service's
/// limits). The peer manager takes them with lightning-liquidity's own.
#[derive(Debug, Default)]
pub struct LspsOutbox {
    queue: Mutex<Vec<(PublicKey, RawLSPSMessage)>>,
}

impl LspsOutbox {
    fn queue(&self) -> MutexGuard<'_, Vec<(PublicKey, RawLSPSMessage)>> {
        // Pushes and takes are single operations: a panic cannot leave the queue half-changed.
        self.queue
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Queues a JSON-RPC error answering `request_id` of `peer`: LSPS0's
    /// [`LSPS0_CLIENT_REJECTED`] with `message`, and `reason` (a stable label) as its data,
    /// a string as lightning-liquidity's clients expect.
    pub fn reject(&self, peer: PublicKey, request_id: &str, message: &str, reason: &str) {
        let answer = serde_json::json!({
            "jsonrpc": "2.0",
            "id": request_id,
            "error": { "code": LSPS0_CLIENT_REJECTED, "message": message, "data": reason },
        });
        let payload = answer.to_string();
        self.queue().push((peer, RawLSPSMessage { payload }));
    }

    /// Takes what is queued.
    pub fn take(&self) -> Vec<(PublicKey, RawLSPSMessage)> {
        std::mem::take(&mut *self.queue())
    }
}

/// The peer manager's custom message handler: lightning-liquidity, watched for new peers,
/// and the node's own answers.
pub struct LiquidityMessages {
    liquidity: Arc<LiquidityManager>,
    connected: PeerPort,
    outbox: Arc<LspsOutbox>,
}

impl LiquidityMessages {
    /// `liquidity`'s messages and `outbox`'s, telling `connected` about each new peer.
    pub fn new(
        liquidity: Arc<LiquidityManager>,
        connected: PeerPort,
        outbox: Arc<LspsOutbox>,
    ) -> Self {
        LiquidityMessages {
            liquidity,
            connected,
            outbox,
        }
    }
}

impl CustomMessageReader for LiquidityMessages {
    type CustomMessage = RawLSPSMessage;

    fn read<R: LengthLimitedRead>(
        &self,
        message_type: u16,
        buffer: &mut R,
    ) -> Result<Option<RawLSPSMessage>, DecodeError> {
        self.liquidity.read(message_type, buffer)
    }
}

impl CustomMessageHandler for LiquidityMessages {
    fn handle_custom_message(
        &self,
        msg: RawLSPSMessage,
        sender_node_id: PublicKey,
    ) -> Result<(), LightningError> {
        self.liquidity.handle_custom_message(msg, sender_node_id)
    }

    fn get_and_clear_pending_msg(&self) -> Vec<(PublicKey, RawLSPSMessage)> {
        let mut messages = self.liquidity.get_and_clear_pending_msg();
        messages.extend(self.outbox.take());
        messages
    }

    fn peer_disconnected(&self, their_node_id: PublicKey) {
        self.liquidity.peer_disconnected(their_node_id)
    }

    fn peer_connected(
        &self,
        their_node_id: PublicKey,
        msg: &Init,
        inbound: bool,
    ) -> Result<(), ()> {
        self.liquidity.peer_connected(their_node_id, msg, inbound)?;
        self.connected.send(PeerConnected(their_node_id));
        Ok(())
    }

    fn provided_node_features(&self) -> NodeFeatures {
        self.liquidity.provided_node_features()
    }

    fn provided_init_features(&self, their_node_id: PublicKey) -> InitFeatures {
        self.liquidity.provided_init_features(their_node_id)
    }
}
