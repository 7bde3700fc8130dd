//! [`ChannelPolicy`]: which channels peers may open to this node, and which of them are
//! usable before their funding transaction confirms.

use std::collections::HashSet;

use bitcoin::secp256k1::PublicKey;
use lightning::types::features::ChannelTypeFeatures;

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

/// The node's rules for inbound channels.
#[derive(Debug, Clone, Default)]
pub struct ChannelPolicy {
    trusted_0conf: HashSet<PublicKey>,
}

impl ChannelPolicy {
    /// A policy accepting zero-confirmation channels from `trusted_0conf` only. Such a
    /// peer could double-spend the funding transaction of a channel we already route
    /// over, so this is for peers the operator trusts (its own LSP or nodes).
    pub fn new(trusted_0conf: impl IntoIterator<Item = PublicKey>) -> Self {
        ChannelPolicy {
            trusted_0conf: trusted_0conf.into_iter().collect(),
        }
    }

    /// Whether `peer`'s channels are accepted as zero-confirmation channels.
    pub fn trusts_0conf(&self, peer: &PublicKey) -> bool {
        self.trusted_0conf.contains(peer)
    }

    /// The answer to `peer` asking for a channel of `channel_type`.
    pub fn decide(&self, peer: &PublicKey, channel_type: &ChannelTypeFeatures) -> Acceptance {
        // Zero-fee-commitment anchors (TRUC) are experimental in LDK 0.2; refuse them so
        // the peer retries with the zero-fee-HTLC anchors or a legacy type.
        if channel_type.supports_anchor_zero_fee_commitments() {
            return Acceptance::Reject("zero-fee-commitment channels are not supported");
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
        assert_eq!(policy.decide(&key(1), &legacy), Acceptance::AcceptZeroConf);
        assert_eq!(policy.decide(&key(2), &legacy), Acceptance::Accept);

        let mut zero_conf = ChannelTypeFeatures::only_static_remote_key();
        zero_conf.set_zero_conf_required();
        assert_eq!(
            policy.decide(&key(1), &zero_conf),
            Acceptance::AcceptZeroConf
        );
        assert!(matches!(
            policy.decide(&key(2), &zero_conf),
            Acceptance::Reject(_)
        ));
    }

    #[test]
    fn anchor_channels_are_accepted_like_legacy_ones() {
        let policy = ChannelPolicy::new([key(1)]);
        let anchors = ChannelTypeFeatures::anchors_zero_htlc_fee_and_dependencies();
        assert_eq!(policy.decide(&key(1), &anchors), Acceptance::AcceptZeroConf);
        assert_eq!(policy.decide(&key(2), &anchors), Acceptance::Accept);

        let mut zero_fee_commitments = ChannelTypeFeatures::empty();
        zero_fee_commitments.set_anchor_zero_fee_commitments_required();
        assert!(matches!(
            policy.decide(&key(1), &zero_fee_commitments),
            Acceptance::Reject(_)
        ));
    }
}
