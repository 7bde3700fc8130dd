//! [`ChannelPolicy`]: which channels peers may open to this node, which of them are
//! usable before their funding transaction confirms, and when the node can afford anchor
//! channels.
//!
//! An anchor channel's commitment pays a minimal fee: to get it (and its HTLC claims)
//! confirmed after a force close, the node spends its own confirmed coins on fee bumps.
//! So the node keeps [`DEFAULT_ANCHOR_RESERVE_SAT`] on chain per anchor channel, and
//! without that reserve it refuses anchors: a peer's request is answered with an error,
//! on which LDK (and other implementations) retry with a channel type without anchors;
//! its own opens do not offer them. Trusted peers are exempt (they do not leave the node
//! to close alone).

use std::collections::HashSet;

use bitcoin::secp256k1::PublicKey;
use lightning::types::features::ChannelTypeFeatures;

use crate::types::ChannelManager;

/// What to answer a peer's request to open a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Acceptance {
    /// Accept; the channel is usable once its funding transaction confirms.
    Accept,
    /// Accept as a zero-confirmation channel, usable at once.
    AcceptZeroConf,
    /// Refuse, telling the peer why.
    Reject(&'static str),
}

/// Confirmed on-chain coins kept per anchor channel for fee bumps (ldk-node's default).
pub const DEFAULT_ANCHOR_RESERVE_SAT: u64 = 25_000;

/// The node's rules for inbound channels.
#[derive(Debug, Clone)]
pub struct ChannelPolicy {
    trusted_0conf: HashSet<PublicKey>,
    anchor_reserve_sat: u64,
}

impl ChannelPolicy {
    /// A policy accepting zero-confirmation channels from `trusted_0conf` only. Such a
    /// peer could double-spend the funding transaction of a channel we already route
    /// over, so this is for peers the operator trusts (its own LSP or nodes).
    /// Anchor channels need [`DEFAULT_ANCHOR_RESERVE_SAT`] each on chain.
    pub fn new(trusted_0conf: impl IntoIterator<Item = PublicKey>) -> Self {
        ChannelPolicy {
            trusted_0conf: trusted_0conf.into_iter().collect(),
            anchor_reserve_sat: DEFAULT_ANCHOR_RESERVE_SAT,
        }
    }

    /// Whether `confirmed_sat` of confirmed wallet coins cover the reserve of
    /// `anchor_channels` existing anchor channels plus one more.
    pub fn can_afford_anchor_channel(&self, confirmed_sat: u64, anchor_channels: usize) -> bool {
        let channels = u64::try_from(anchor_channels).unwrap_or(u64::MAX);
        confirmed_sat
            >= channels
                .saturating_add(1)
                .saturating_mul(self.anchor_reserve_sat)
    }

    /// Whether `peer`'s channels are accepted as zero-confirmation channels.
    pub fn trusts_0conf(&self, peer: &PublicKey) -> bool {
        self.trusted_0conf.contains(peer)
    }

    /// The answer to `peer` asking for a channel of `channel_type`, while the node has
    /// `confirmed_sat` of confirmed wallet coins and `anchor_channels` anchor channels.
    pub fn decide(
        &self,
        peer: &PublicKey,
        channel_type: &ChannelTypeFeatures,
        confirmed_sat: u64,
        anchor_channels: usize,
    ) -> Acceptance {
        // Zero-fee-commitment anchors (TRUC) are experimental in LDK 0.2; refuse them so
        // the peer retries with the zero-fee-HTLC anchors or a legacy type.
        if channel_type.supports_anchor_zero_fee_commitments() {
            return Acceptance::Reject("zero-fee-commitment channels are not supported");
        }
        if channel_type.supports_anchors_zero_fee_htlc_tx()
            && !self.trusts_0conf(peer)
            && !self.can_afford_anchor_channel(confirmed_sat, anchor_channels)
        {
            return Acceptance::Reject(
                "no on-chain reserve for another anchor channel; open one without anchors",
            );
        }
        if self.trusts_0conf(peer) {
            Acceptance::AcceptZeroConf
        } else if channel_type.requires_zero_conf() {
            Acceptance::Reject("zero-conf channels are accepted only from trusted peers")
        } else {
            Acceptance::Accept
        }
    }
}

/// How many of `manager`'s channels have anchor outputs.
pub fn anchor_channel_count(manager: &ChannelManager) -> usize {
    manager
        .list_channels()
        .iter()
        .filter(|channel| {
            channel
                .channel_type
                .as_ref()
                .is_some_and(ChannelTypeFeatures::supports_anchors_zero_fee_htlc_tx)
        })
        .count()
}

#[cfg(test)]
mod tests {
    use bitcoin::secp256k1::{Secp256k1, SecretKey};

    use super::*;

    fn key(byte: u8) -> PublicKey {
        let secret = SecretKey::from_slice(&[byte; 32]).expect("a valid secret key");
        PublicKey::from_secret_key(&Secp256k1::new(), &secret)
    }

    #[test]
    fn trusted_peers_get_zero_conf_and_others_wait_for_confirmations() {
        let policy = ChannelPolicy::new([key(1)]);
        let legacy = ChannelTypeFeatures::only_static_remote_key();
        assert_eq!(
            policy.decide(&key(1), &legacy, 0, 0),
            Acceptance::AcceptZeroConf
        );
        assert_eq!(policy.decide(&key(2), &legacy, 0, 0), Acceptance::Accept);

        let mut zero_conf = ChannelTypeFeatures::only_static_remote_key();
        zero_conf.set_zero_conf_required();
        assert_eq!(
            policy.decide(&key(1), &zero_conf, 0, 0),
            Acceptance::AcceptZeroConf
        );
        assert!(matches!(
            policy.decide(&key(2), &zero_conf, 0, 0),
            Acceptance::Reject(_)
        ));
    }

    #[test]
    fn anchor_channels_need_a_reserve_per_channel_unless_the_peer_is_trusted() {
        let policy = ChannelPolicy::new([key(1)]);
        let anchors = ChannelTypeFeatures::anchors_zero_htlc_fee_and_dependencies();
        let reserve = DEFAULT_ANCHOR_RESERVE_SAT;
        // Enough for this channel, and for a third one after two.
        assert_eq!(
            policy.decide(&key(2), &anchors, reserve, 0),
            Acceptance::Accept
        );
        assert_eq!(
            policy.decide(&key(2), &anchors, 3 * reserve, 2),
            Acceptance::Accept
        );
        // One sat short.
        assert!(matches!(
            policy.decide(&key(2), &anchors, 3 * reserve - 1, 2),
            Acceptance::Reject(_)
        ));
        // A trusted peer needs none; a legacy channel needs none.
        assert_eq!(
            policy.decide(&key(1), &anchors, 0, 5),
            Acceptance::AcceptZeroConf
        );
        let legacy = ChannelTypeFeatures::only_static_remote_key();
        assert_eq!(policy.decide(&key(2), &legacy, 0, 5), Acceptance::Accept);
        assert!(!policy.can_afford_anchor_channel(0, usize::MAX));

        let mut zero_fee_commitments = ChannelTypeFeatures::empty();
        zero_fee_commitments.set_anchor_zero_fee_commitments_required();
        assert!(matches!(
            policy.decide(&key(1), &zero_fee_commitments, u64::MAX, 0),
            Acceptance::Reject(_)
        ));
    }
}
