//! Which channels to refresh, as a pure decision over what the node knows of each.
//!
//! Why refresh: a channel monitor keeps the HTLCs of every revoked counterparty commitment
//! of its funding output, so that it can punish the broadcast of any of them, until the
//! channel closes. On a busy channel that is about 250 bytes per payment, held in memory
//! and rewritten with every whole-monitor write. A splice replaces the funding output;
//! once the new one is locked, the old one is spent and its commitments can never
//! confirm, so LDK drops their history. A refresh is the smallest splice LDK allows: it
//! moves [`RefreshConfig::splice_out`] from the channel to the node's own wallet.

use std::time::Duration;

use bitcoin::secp256k1::PublicKey;
use bitcoin::Amount;
use lightning::ln::types::ChannelId;

/// When channels are refreshed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RefreshConfig {
    /// A channel is refreshed once its monitor's last whole write reached this many bytes.
    pub monitor_bytes: u64,
    /// What each refresh moves from the channel to the wallet: LDK refuses a splice that
    /// moves nothing, and an output below the dust limit would not relay.
    pub splice_out: Amount,
    /// How often the channels are looked at.
    pub check_every: Duration,
    /// How long a channel is left alone after a refresh was started (or refused): a
    /// started one needs its new funding to confirm before the monitor shrinks.
    pub retry_after: Duration,
}

impl RefreshConfig {
    /// Default threshold: 16 MiB, about 65,000 payments' worth of revoked commitments.
    /// One splice per that many payments costs a few hundred sats of on-chain fees.
    pub const DEFAULT_MONITOR_BYTES: u64 = 16 << 20;
    /// Default amount moved by a refresh: well above any output's dust limit.
    pub const DEFAULT_SPLICE_OUT: Amount = Amount::from_sat(1_000);
    /// How often channels are looked at: a look lists the channels and reads one number
    /// per monitor, so it is cheap.
    pub const CHECK_EVERY: Duration = Duration::from_secs(10);
    /// How long a channel is left alone after a refresh: long enough for six blocks at
    /// regtest speeds; on mainnet a pending refresh is refused by LDK until it locks.
    pub const RETRY_AFTER: Duration = Duration::from_secs(600);

    /// Refresh at `monitor_bytes` with the other settings at their defaults.
    pub fn at(monitor_bytes: u64) -> Self {
        RefreshConfig {
            monitor_bytes,
            splice_out: Self::DEFAULT_SPLICE_OUT,
            check_every: Self::CHECK_EVERY,
            retry_after: Self::RETRY_AFTER,
        }
    }
}

/// What the policy looks at for one channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelLoad {
    /// The channel.
    pub channel_id: ChannelId,
    /// The peer.
    pub counterparty: PublicKey,
    /// Whether this node funded it.
    pub funder: bool,
    /// Whether it is ready and its peer connected (a splice needs both).
    pub usable: bool,
    /// The size of its monitor's last whole write, if one was made since start.
    pub monitor_bytes: Option<u64>,
    /// What this node could send over it, msat.
    pub outbound_msat: u64,
    /// How long ago this node last tried to refresh it, if it did since start.
    pub last_try: Option<Duration>,
}

/// Whether `channel` should be refreshed now. Both ends of a channel run this, so the
/// funder refreshes at the threshold and the other end only at twice it (a peer that is
/// not sluice may never refresh): they do not start competing splices.
pub fn due(channel: &ChannelLoad, config: &RefreshConfig) -> bool {
    let threshold = if channel.funder {
        config.monitor_bytes
    } else {
        config.monitor_bytes.saturating_mul(2)
    };
    channel.usable
        && channel
            .monitor_bytes
            .is_some_and(|bytes| bytes >= threshold)
        && channel.outbound_msat / 1000 > config.splice_out.to_sat()
        && channel
            .last_try
            .is_none_or(|since| since >= config.retry_after)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::secp256k1::{Secp256k1, SecretKey};

    fn busy() -> ChannelLoad {
        let secp = Secp256k1::new();
        let key = SecretKey::from_slice(&[3; 32]).expect("a valid key");
        ChannelLoad {
            channel_id: ChannelId([1; 32]),
            counterparty: PublicKey::from_secret_key(&secp, &key),
            funder: true,
            usable: true,
            monitor_bytes: Some(20 << 20),
            outbound_msat: 1_000_000_000,
            last_try: None,
        }
    }

    #[test]
    fn a_large_monitor_is_refreshed_by_the_funder() {
        let config = RefreshConfig::at(16 << 20);
        assert!(due(&busy(), &config));
        let small = ChannelLoad {
            monitor_bytes: Some((16 << 20) - 1),
            ..busy()
        };
        assert!(!due(&small, &config));
        let unknown = ChannelLoad {
            monitor_bytes: None,
            ..busy()
        };
        assert!(!due(&unknown, &config));
    }

    #[test]
    fn the_other_end_waits_for_twice_the_threshold() {
        let config = RefreshConfig::at(16 << 20);
        let fundee = ChannelLoad {
            funder: false,
            ..busy()
        };
        assert!(!due(&fundee, &config));
        let larger = ChannelLoad {
            monitor_bytes: Some(32 << 20),
            ..fundee
        };
        assert!(due(&larger, &config));
    }

    #[test]
    fn an_unusable_poor_or_recently_tried_channel_is_left_alone() {
        let config = RefreshConfig::at(16 << 20);
        let offline = ChannelLoad {
            usable: false,
            ..busy()
        };
        assert!(!due(&offline, &config));
        let poor = ChannelLoad {
            outbound_msat: config.splice_out.to_sat() * 1000,
            ..busy()
        };
        assert!(!due(&poor, &config));
        let recent = ChannelLoad {
            last_try: Some(config.retry_after - Duration::from_secs(1)),
            ..busy()
        };
        assert!(!due(&recent, &config));
        let long_ago = ChannelLoad {
            last_try: Some(config.retry_after),
            ..busy()
        };
        assert!(due(&long_ago, &config));
    }
}
