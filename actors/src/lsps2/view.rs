//! The node as the LSPS2 service's decisions see it ([`NodeView`]), read from LDK's
//! channel manager, peer manager, keys and wallet.

use std::time::Instant;

use bitcoin::hex::FromHex;
use bitcoin::secp256k1::PublicKey;
use lightning::ln::channelmanager::InterceptId;
use lightning::sign::EntropySource;

use super::machine::{ChannelView, NodeView};
use crate::clock::unix_ms;
use crate::Components;

/// [`NodeView`] over the running node.
pub struct LdkView<'a>(pub &'a Components);

impl NodeView for LdkView<'_> {
    fn channels(&self) -> Vec<ChannelView> {
        self.0
            .channel_manager
            .list_channels()
            .into_iter()
            .map(|ch| ChannelView {
                user_channel_id: ch.user_channel_id,
                channel_id: ch.channel_id,
                counterparty: ch.counterparty.node_id,
                value_sat: ch.channel_value_satoshis,
                ready: ch.is_channel_ready,
                live: ch.is_usable,
            })
            .collect()
    }

    fn is_connected(&self, node: &PublicKey) -> bool {
        self.0.peer_manager.peer_by_node_id(node).is_some()
    }

    fn holds(&self, intercept_id: &str) -> Option<InterceptId> {
        let id = InterceptId(<[u8; 32]>::from_hex(intercept_id).ok()?);
        self.0
            .channel_manager
            .intercepted_htlc_inbound_amount_msat(id)
            .map(|_| id)
    }

    fn spendable_sat(&self) -> u64 {
        self.0.wallet.balance().trusted_spendable().to_sat()
    }

    fn new_intercept_scid(&self) -> u64 {
        self.0.channel_manager.get_intercept_scid()
    }

    fn new_user_channel_id(&self) -> u128 {
        let mut random = [0u8; 16];
        random.copy_from_slice(&self.0.keys.get_secure_random_bytes()[..16]);
        u128::from_be_bytes(random)
    }

    fn cltv_expiry_delta(&self) -> u32 {
        let config = self.0.channel_manager.get_current_config();
        u32::from(config.channel_config.cltv_expiry_delta)
    }

    fn now(&self) -> Instant {
        Instant::now()
    }

    fn unix_ms(&self) -> u64 {
        unix_ms()
    }
}
