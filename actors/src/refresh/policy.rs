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
    /// How long a channel is left alone after a refresh was refused.
    pub retry_after: Duration,
    /// How long a started refresh may wait for its lock (the channel's funding output
    /// changing) before the channel is tried again: the splice may have failed.
    pub lock_wait: Duration,
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
    /// How long a channel is left alone after a refresh was refused (the peer was
    /// away, the channel could not pay the fee, …).
    pub const RETRY_AFTER: Duration = Duration::from_secs(600);
    /// How long a started refresh may take to lock: six blocks take an hour on average,
    /// and a splice that has not locked in three is taken to have failed.
    pub const LOCK_WAIT: Duration = Duration::from_secs(3 * 3600);

    /// Refresh at `monitor_bytes` with the other settings at their defaults.
    pub fn at(monitor_bytes: u64) -> Self {
        RefreshConfig {
            monitor_bytes,
            splice_out: Self::DEFAULT_SPLICE_OUT,
            check_every: Self::CHECK_EVERY,
            retry_after: Self::RETRY_AFTER,
            lock_wait: Self::LOCK_WAIT,
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
    /// HTLCs pending on it, either way.
    pub htlcs: usize,
    /// This node's last try to refresh it since start, if any.
    pub last_try: Option<LastTry>,
}

/// A try to refresh a channel, as it looks now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LastTry {
    /// How long ago it was.
    pub since: Duration,
    /// Whether LDK started the splice (or refused it).
    pub started: bool,
    /// Whether the channel still has the funding output it had then: a started splice
    /// that locked has replaced it.
    pub same_funding: bool,
}

/// Whether `channel` should be refreshed now. Both ends of a channel run this, so the
/// funder refreshes at the threshold and the other end only at twice it (a peer that is
/// not sluice may never refresh): they do not start competing splices. A started
/// refresh is waited for until it locks (or [`RefreshConfig::lock_wait`] passed), a
/// refused one for [`RefreshConfig::retry_after`].
///
/// A channel with HTLCs pending waits for a look when it has none: LDK 0.2.7 asserts, and
/// mishandles, a preimage arriving at either end while the splice's signatures are
/// exchanged (rust-lightning#4729, fixed after 0.2.7). Starting on an idle channel leaves
/// only the HTLCs added before the peers go quiescent, a window of one round trip.
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
        && channel.htlcs == 0
        && channel.last_try.is_none_or(|last| match last {
            LastTry {
                started: true,
                same_funding: true,
                since,
            } => since >= config.lock_wait,
            LastTry { started: true, .. } => true,
            LastTry { since, .. } => since >= config.retry_after,
        })
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
            htlcs: 0,
            last_try: None,
        }
    }

    #[test]
    fn a_channel_with_htlcs_pending_waits_until_it_has_none() {
        let config = RefreshConfig::at(16 << 20);
        let paying = ChannelLoad { htlcs: 1, ..busy() };
        assert!(!due(&paying, &config));
        assert!(due(&ChannelLoad { htlcs: 0, ..paying }, &config));
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
    fn an_unusable_or_poor_channel_is_left_alone() {
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
    }

    fn tried(since: Duration, started: bool, same_funding: bool) -> ChannelLoad {
        ChannelLoad {
            last_try: Some(LastTry {
                since,
                started,
                same_funding,
            }),
            ..busy()
        }
    }

    #[test]
    fn a_started_refresh_is_waited_for_until_it_locks_and_a_refused_one_is_retried() {
        let config = RefreshConfig::at(16 << 20);
        let minute = Duration::from_secs(60);
        // Started and not locked yet: not again, until it is taken to have failed.
        assert!(!due(&tried(minute, true, true), &config));
        assert!(!due(&tried(config.lock_wait - minute, true, true), &config));
        assert!(due(&tried(config.lock_wait, true, true), &config));
        // Started and locked, and the monitor large again: at once.
        assert!(due(&tried(minute, true, false), &config));
        // Refused: after a while.
        assert!(!due(
            &tried(config.retry_after - minute, false, true),
            &config
        ));
        assert!(due(&tried(config.retry_after, false, true), &config));
    }
}
