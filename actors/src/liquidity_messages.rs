//! [`LiquidityMessages`]: lightning-liquidity's LSPS messages as the peer manager sees them,
//! plus a [`PeerConnected`] notice on a port whenever a peer connects, so an actor waiting
//! for a client (the LSPS2 service) is woken at once instead of polling.
//!
//! The peer manager tells its message handlers of a new peer in a fixed order, the
//! channel manager before this one, so by the time the notice goes out the channel
//! manager knows the peer (a channel can be opened to it); the channels with it are
//! re-established a round trip later.

use std::sync::Arc;

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

/// The peer manager's custom message handler: lightning-liquidity, watched for new peers.
pub struct LiquidityMessages {
    liquidity: Arc<LiquidityManager>,
    connected: PeerPort,
}

impl LiquidityMessages {
    /// `liquidity`'s messages, telling `connected` about each new peer.
    pub fn new(liquidity: Arc<LiquidityManager>, connected: PeerPort) -> Self {
        LiquidityMessages {
            liquidity,
            connected,
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
        self.liquidity.get_and_clear_pending_msg()
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
