//! [`Lsps2Config`]: what the LSPS2 service sells, to whom, and how much it may commit.

use std::time::Duration;

use bitcoin::secp256k1::PublicKey;
use serde::{Deserialize, Serialize};

/// One entry of an opening fee menu: bLIP-52 `opening_fee_params` without the promise
/// (which lightning-liquidity adds) and with a lifetime instead of a date.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeeOption {
    /// The least fee charged for an open, in millisatoshis.
    pub min_fee_msat: u64,
    /// The fee proportional to the payment, in parts per million.
    pub proportional_ppm: u32,
    /// How long the offer stays valid after it is given, in seconds.
    #[serde(default = "default_valid_for_secs")]
    pub valid_for_secs: u64,
    /// The blocks after confirmation the channel is promised to stay open.
    #[serde(default = "default_min_lifetime")]
    pub min_lifetime_blocks: u32,
    /// The most blocks the client may set as its `to_self_delay`.
    #[serde(default = "default_max_client_to_self_delay")]
    pub max_client_to_self_delay: u32,
    /// The smallest payment this entry opens a channel for, in millisatoshis.
    pub min_payment_size_msat: u64,
    /// The largest payment this entry opens a channel for, in millisatoshis.
    pub max_payment_size_msat: u64,
}

fn default_valid_for_secs() -> u64 {
    FeeOption::DEFAULT_VALID_FOR_SECS
}
fn default_min_lifetime() -> u32 {
    FeeOption::DEFAULT_MIN_LIFETIME_BLOCKS
}
fn default_max_client_to_self_delay() -> u32 {
    FeeOption::DEFAULT_MAX_CLIENT_TO_SELF_DELAY
}

impl FeeOption {
    /// Default offer lifetime: ten minutes, long enough to make an invoice and hand it over.
    pub const DEFAULT_VALID_FOR_SECS: u64 = 600;
    /// Default promised channel lifetime: about a week of blocks.
    pub const DEFAULT_MIN_LIFETIME_BLOCKS: u32 = 1008;
    /// Default longest client `to_self_delay`: LDK's own maximum (two weeks of blocks).
    pub const DEFAULT_MAX_CLIENT_TO_SELF_DELAY: u32 = 2016;

    /// How long the offer stays valid.
    pub fn valid_for(&self) -> Duration {
        Duration::from_secs(self.valid_for_secs)
    }

    /// The opening fee for a payment of `payment_msat`: the proportional fee rounded up,
    /// at least the minimum (bLIP-52); `None` on overflow.
    pub fn fee_for(&self, payment_msat: u64) -> Option<u64> {
        lightning_liquidity::lsps2::utils::compute_opening_fee(
            payment_msat,
            self.min_fee_msat,
            u64::from(self.proportional_ppm),
        )
    }
}

/// A menu given only to clients presenting `token` (a partner's API key or a coupon).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenMenu {
    /// The token, as the client sends it.
    pub token: String,
    /// The offers for holders of the token.
    pub fee_menu: Vec<FeeOption>,
}

/// The LSPS2 JIT channel service's settings. Limits are checked when a client asks for a
/// menu (it gets an empty one), when it buys (an over-limit buy is refused with an LSPS0
/// `client_rejected` error naming the limit), and again when a payment arrives and a
/// channel would be opened (the open is refused and the held HTLCs are failed back at
/// once).
///
/// # Defaults
///
/// The defaults are for an LSP that serves anonymous clients (any node may buy from a
/// public `fee_menu`) without risking much of its capital on them: channels of at most
/// 0.01 BTC, at most 0.1 BTC in JIT channels, at most 0.05 BTC opened for clients that
/// have not (yet) claimed their payment in any hour, and such channels closed after
/// 30 minutes. A client that buys and never claims costs the LSP an open and a close on
/// chain and ties up the channel's capacity until it is closed; these bound both. An
/// operator who knows its clients (tokens, an allow list) raises them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lsps2Config {
    /// The offers for clients without a token.
    pub fee_menu: Vec<FeeOption>,
    /// Menus for clients presenting a token, instead of [`Lsps2Config::fee_menu`].
    pub tokens: Vec<TokenMenu>,
    /// Refuse clients without a known token.
    pub require_token: bool,
    /// Client-trusts-LSP (bLIP-52): the funding transaction is held until the client has
    /// claimed the payment that pays the fee. Otherwise the LSP trusts the client and
    /// broadcasts at once.
    pub client_trusts_lsp: bool,
    /// Extra capacity beyond what the first payment needs, in parts per million of it, so
    /// the channel can take the client's next payments too.
    pub over_provisioning_ppm: u32,
    /// The smallest channel opened, in satoshis.
    pub min_channel_sat: u64,
    /// The largest channel opened, in satoshis; a payment needing more is refused.
    pub max_channel_sat: u64,
    /// The most bought-but-unused intercept SCIDs one client may hold; at most
    /// [`Self::MAX_PENDING_BUYS_PER_PEER`].
    pub max_pending_buys_per_peer: usize,
    /// The most JIT opens in progress at once.
    pub max_pending_opens: usize,
    /// The most capacity, in satoshis, in JIT channels (open or opening) at once.
    pub max_committed_sat: u64,
    /// How long, in seconds, a paid open waits for its client to connect (it may have
    /// gone offline after buying, or the LSP just restarted) before the payment goes back.
    pub client_wait_secs: u64,
    /// The most capacity, in satoshis, opened in JIT channels whose client has not claimed
    /// the payment: every open not yet claimed, and every one closed unclaimed that started
    /// in the last [`Self::unclaimed_window_secs`]. Bounds what anonymous clients that buy
    /// and never claim can tie up and make the LSP spend on chain. At least
    /// [`Self::max_channel_sat`], so the largest channel can open.
    pub max_unclaimed_sat: u64,
    /// The sliding window, in seconds, over which channels closed unclaimed still count
    /// against [`Self::max_unclaimed_sat`].
    pub unclaimed_window_secs: u64,
    /// How long, in seconds after its open started, a JIT channel whose client has not
    /// claimed the payment is kept before the LSP closes it (cooperatively if the client is
    /// connected, else by force) and the order ends `unclaimed`. Longer than
    /// [`Self::client_wait_secs`], so a client that is merely slow to connect is not cut
    /// off.
    pub unclaimed_close_after_secs: u64,
    /// The most live orders at once, over all clients: bought and still payable, or with
    /// their channel opening. Each holds an intercept SCID; bounding them bounds the book
    /// and keeps SCIDs easy to find unused.
    pub max_live_orders: usize,
    /// How long, in seconds, an order that ended (forwarded, failed, closed unclaimed, or
    /// expired unpaid) stays in the service's memory; after that it is only in the store,
    /// where `GET /v1/lsps2/orders` still lists it.
    pub order_retention_secs: u64,
    /// If not empty, only these clients are served.
    pub allow: Vec<PublicKey>,
    /// These clients are never served.
    pub deny: Vec<PublicKey>,
}

impl Lsps2Config {
    /// Default over-provisioning: 10 % above the first payment.
    pub const DEFAULT_OVER_PROVISIONING_PPM: u32 = 100_000;
    /// Default smallest channel: 100,000 sat, so a channel is worth its on-chain cost.
    pub const DEFAULT_MIN_CHANNEL_SAT: u64 = 100_000;
    /// Default largest channel: 1,000,000 sat (0.01 BTC), plenty for the first payments of
    /// a wallet being onboarded, and a small loss if its client never claims.
    pub const DEFAULT_MAX_CHANNEL_SAT: u64 = 1_000_000;
    /// Default bought-but-unused SCIDs per client.
    pub const DEFAULT_MAX_PENDING_BUYS_PER_PEER: usize = 5;
    /// The highest `max_pending_buys_per_peer`: lightning-liquidity 0.2.7 refuses a
    /// client's requests while it holds 10 unpaid SCIDs, whatever the service allows.
    pub const MAX_PENDING_BUYS_PER_PEER: usize = 10;
    /// Default opens in progress at once: 10, each costing an on-chain transaction.
    pub const DEFAULT_MAX_PENDING_OPENS: usize = 10;
    /// Default capacity committed to JIT channels: 10,000,000 sat (0.1 BTC), ten of the
    /// largest default channels.
    pub const DEFAULT_MAX_COMMITTED_SAT: u64 = 10_000_000;
    /// Default capacity opened for clients that have not claimed: 5,000,000 sat (0.05 BTC),
    /// five of the largest default channels.
    pub const DEFAULT_MAX_UNCLAIMED_SAT: u64 = 5_000_000;
    /// Default window for channels closed unclaimed: an hour, so never-claiming clients
    /// can make the LSP open at most [`Self::DEFAULT_MAX_UNCLAIMED_SAT`] an hour.
    pub const DEFAULT_UNCLAIMED_WINDOW_SECS: u64 = 3_600;
    /// The longest window: a day.
    pub const MAX_UNCLAIMED_WINDOW_SECS: u64 = 86_400;
    /// Default time before an unclaimed JIT channel is closed: 30 minutes. An honest client
    /// claims within seconds of its channel being ready, or within
    /// [`Self::MAX_CLIENT_WAIT_SECS`] of coming back online.
    pub const DEFAULT_UNCLAIMED_CLOSE_AFTER_SECS: u64 = 1_800;
    /// The longest time before an unclaimed channel is closed: a week.
    pub const MAX_UNCLAIMED_CLOSE_AFTER_SECS: u64 = 604_800;
    /// Default live orders at once: 1,000 (200 anonymous clients at the default 5 pending
    /// buys each).
    pub const DEFAULT_MAX_LIVE_ORDERS: usize = 1_000;
    /// The most live orders that may be allowed: LDK draws intercept SCIDs at random from
    /// a space of 2,500 per block of chain history; far fewer live orders than that keeps a
    /// fresh one a draw or two away.
    pub const MAX_LIVE_ORDERS: usize = 100_000;
    /// Default time an ended order stays in memory: a day.
    pub const DEFAULT_ORDER_RETENTION_SECS: u64 = 86_400;
    /// The shortest retention: a minute, so lightning-liquidity has dropped an expired
    /// offer's SCID (it prunes them as it persists) before the service may sell it again.
    pub const MIN_ORDER_RETENTION_SECS: u64 = 60;
    /// The longest retention: 30 days.
    pub const MAX_ORDER_RETENTION_SECS: u64 = 2_592_000;
    /// Default wait for a paid open's client: 30 s, far inside any HTLC's expiry and about
    /// what a payer's own payment timeout allows.
    pub const DEFAULT_CLIENT_WAIT_SECS: u64 = 30;
    /// The longest wait for a client that may be set: 10 minutes, so held HTLCs are failed
    /// back well before the payer's CLTV budget runs out.
    pub const MAX_CLIENT_WAIT_SECS: u64 = 600;

    /// The default settings with `fee_menu` as the public menu.
    pub fn with_menu(fee_menu: Vec<FeeOption>) -> Self {
        Lsps2Config {
            fee_menu,
            tokens: Vec::new(),
            require_token: false,
            client_trusts_lsp: false,
            over_provisioning_ppm: Self::DEFAULT_OVER_PROVISIONING_PPM,
            min_channel_sat: Self::DEFAULT_MIN_CHANNEL_SAT,
            max_channel_sat: Self::DEFAULT_MAX_CHANNEL_SAT,
            max_pending_buys_per_peer: Self::DEFAULT_MAX_PENDING_BUYS_PER_PEER,
            max_pending_opens: Self::DEFAULT_MAX_PENDING_OPENS,
            max_committed_sat: Self::DEFAULT_MAX_COMMITTED_SAT,
            client_wait_secs: Self::DEFAULT_CLIENT_WAIT_SECS,
            max_unclaimed_sat: Self::DEFAULT_MAX_UNCLAIMED_SAT,
            unclaimed_window_secs: Self::DEFAULT_UNCLAIMED_WINDOW_SECS,
            unclaimed_close_after_secs: Self::DEFAULT_UNCLAIMED_CLOSE_AFTER_SECS,
            max_live_orders: Self::DEFAULT_MAX_LIVE_ORDERS,
            order_retention_secs: Self::DEFAULT_ORDER_RETENTION_SECS,
            allow: Vec::new(),
            deny: Vec::new(),
        }
    }

    /// What is wrong with the unclaimed-capacity budget, the unclaimed-channel timeout,
    /// the live-order bound or the retention, if anything: each within its range, the
    /// budget at least [`Self::max_channel_sat`] and the timeout longer than
    /// [`Self::client_wait_secs`].
    pub fn budget_problem(&self) -> Option<String> {
        let window = 1..=Self::MAX_UNCLAIMED_WINDOW_SECS;
        let close_after = 1..=Self::MAX_UNCLAIMED_CLOSE_AFTER_SECS;
        let live = 1..=Self::MAX_LIVE_ORDERS;
        let retention = Self::MIN_ORDER_RETENTION_SECS..=Self::MAX_ORDER_RETENTION_SECS;
        if self.max_unclaimed_sat < self.max_channel_sat {
            Some(format!(
                "max_unclaimed_sat ({}) is below max_channel_sat ({}): the largest channel \
                 could never open",
                self.max_unclaimed_sat, self.max_channel_sat
            ))
        } else if !window.contains(&self.unclaimed_window_secs) {
            Some(format!(
                "unclaimed_window_secs must be from 1 to {}",
                window.end()
            ))
        } else if !close_after.contains(&self.unclaimed_close_after_secs) {
            Some(format!(
                "unclaimed_close_after_secs must be from 1 to {}",
                close_after.end()
            ))
        } else if self.unclaimed_close_after_secs <= self.client_wait_secs {
            Some(format!(
                "unclaimed_close_after_secs ({}) must be longer than client_wait_secs ({}): \
                 a paid open may wait that long for its client",
                self.unclaimed_close_after_secs, self.client_wait_secs
            ))
        } else if !live.contains(&self.max_live_orders) {
            Some(format!("max_live_orders must be from 1 to {}", live.end()))
        } else if !retention.contains(&self.order_retention_secs) {
            Some(format!(
                "order_retention_secs must be from {} to {}",
                retention.start(),
                retention.end()
            ))
        } else {
            None
        }
    }

    /// How often the service sweeps its book (closes channels never claimed, prunes ended
    /// orders): a tenth of the shortest of the unclaimed timeout, the unclaimed window and
    /// the retention, between 1 s and a minute, so each happens within a tenth of its
    /// time of being due.
    pub fn sweep_interval(&self) -> Duration {
        let shortest = self
            .unclaimed_close_after_secs
            .min(self.unclaimed_window_secs)
            .min(self.order_retention_secs);
        Duration::from_millis(shortest.saturating_mul(100).clamp(1_000, 60_000))
    }

    /// Whether `client` may be served at all (allow and deny lists).
    pub fn admits(&self, client: &PublicKey) -> bool {
        !self.deny.contains(client) && (self.allow.is_empty() || self.allow.contains(client))
    }

    /// Checks the settings hang together; says what is wrong otherwise.
    pub fn check(&self) -> Result<(), String> {
        if self.fee_menu.is_empty() && self.tokens.is_empty() {
            return Err("no fee menu: set `fee_menu` or token menus".into());
        }
        if self.fee_menu.is_empty() && !self.require_token {
            return Err("`fee_menu` is empty: set one, or `require_token = true`".into());
        }
        let menus = std::iter::once(("fee_menu", &self.fee_menu))
            .chain(self.tokens.iter().map(|t| ("token menu", &t.fee_menu)));
        for (name, menu) in menus {
            for (i, option) in menu.iter().enumerate() {
                let at = format!("{name} entry {}", i + 1);
                if option.proportional_ppm > 1_000_000 {
                    return Err(format!("{at}: proportional_ppm above 1,000,000"));
                }
                if option.valid_for_secs == 0 {
                    return Err(format!("{at}: valid_for_secs must be at least 1"));
                }
                if option.min_payment_size_msat == 0
                    || option.min_payment_size_msat > option.max_payment_size_msat
                {
                    return Err(format!(
                        "{at}: payment sizes must satisfy 0 < min_payment_size_msat <= \
                         max_payment_size_msat"
                    ));
                }
                if option.max_payment_size_msat / 1000 > self.max_channel_sat {
                    return Err(format!(
                        "{at}: max_payment_size_msat exceeds max_channel_sat"
                    ));
                }
                if option.fee_for(option.max_payment_size_msat).is_none() {
                    return Err(format!("{at}: the fee overflows at the largest payment"));
                }
            }
        }
        for (i, token) in self.tokens.iter().enumerate() {
            if token.token.is_empty() {
                return Err(format!("token {} is empty", i + 1));
            }
            if token.fee_menu.is_empty() {
                return Err(format!("token {:?} has no fee menu", token.token));
            }
            if self.tokens[..i].iter().any(|t| t.token == token.token) {
                return Err(format!("token {:?} is listed twice", token.token));
            }
        }
        if self.min_channel_sat > self.max_channel_sat {
            return Err("min_channel_sat exceeds max_channel_sat".into());
        }
        if self.max_pending_buys_per_peer == 0 || self.max_pending_opens == 0 {
            return Err(
                "max_pending_buys_per_peer and max_pending_opens must be at least 1".into(),
            );
        }
        if self.max_pending_buys_per_peer > Self::MAX_PENDING_BUYS_PER_PEER {
            return Err(format!(
                "max_pending_buys_per_peer above {} (lightning-liquidity's own limit)",
                Self::MAX_PENDING_BUYS_PER_PEER
            ));
        }
        if self.client_wait_secs > Self::MAX_CLIENT_WAIT_SECS {
            return Err(format!(
                "client_wait_secs above {} (held HTLCs must go back before they expire)",
                Self::MAX_CLIENT_WAIT_SECS
            ));
        }
        if self.max_committed_sat < self.max_channel_sat {
            return Err(format!(
                "max_committed_sat ({}) is below max_channel_sat ({}): the largest channel \
                 could never open",
                self.max_committed_sat, self.max_channel_sat
            ));
        }
        if let Some(problem) = self.budget_problem() {
            return Err(problem);
        }
        if let Some(both) = self.allow.iter().find(|k| self.deny.contains(k)) {
            return Err(format!("{both} is both allowed and denied"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> PublicKey {
        let secret = bitcoin::secp256k1::SecretKey::from_slice(&[byte; 32]).expect("a valid key");
        PublicKey::from_secret_key(&bitcoin::secp256k1::Secp256k1::new(), &secret)
    }

    fn option() -> FeeOption {
        FeeOption {
            min_fee_msat: 10_000,
            proportional_ppm: 5_000,
            valid_for_secs: 600,
            min_lifetime_blocks: 1008,
            max_client_to_self_delay: 2016,
            min_payment_size_msat: 1_000_000,
            max_payment_size_msat: 1_000_000_000,
        }
    }

    #[test]
    fn fee_is_proportional_rounded_up_with_a_floor() {
        let o = option();
        // 0.5 % of 1,000,000 msat is 5,000 msat: below the 10,000 msat minimum.
        assert_eq!(o.fee_for(1_000_000), Some(10_000));
        // 0.5 % of 10,000,001 msat is 50,000.005 msat: rounded up.
        assert_eq!(o.fee_for(10_000_001), Some(50_001));
    }

    #[test]
    fn a_sound_config_passes_and_each_fault_is_named() {
        let good = Lsps2Config::with_menu(vec![option()]);
        assert_eq!(good.check(), Ok(()));

        let mut c = good.clone();
        c.fee_menu.clear();
        assert!(c.check().unwrap_err().contains("fee menu"));

        let mut c = good.clone();
        c.fee_menu[0].proportional_ppm = 1_000_001;
        assert!(c.check().unwrap_err().contains("proportional_ppm"));

        let mut c = good.clone();
        c.fee_menu[0].min_payment_size_msat = c.fee_menu[0].max_payment_size_msat + 1;
        assert!(c.check().unwrap_err().contains("payment sizes"));

        let mut c = good.clone();
        c.max_channel_sat = 500_000;
        assert!(c.check().unwrap_err().contains("max_channel_sat"));

        let mut c = good.clone();
        c.tokens = vec![
            TokenMenu {
                token: "a".into(),
                fee_menu: vec![option()],
            },
            TokenMenu {
                token: "a".into(),
                fee_menu: vec![option()],
            },
        ];
        assert!(c.check().unwrap_err().contains("twice"));

        let mut c = good.clone();
        c.max_unclaimed_sat = c.max_channel_sat - 1;
        assert!(c.check().unwrap_err().contains("max_unclaimed_sat"));

        let mut c = good.clone();
        c.max_committed_sat = c.max_channel_sat - 1;
        assert!(c.check().unwrap_err().contains("max_committed_sat"));

        let mut c = good.clone();
        c.unclaimed_close_after_secs = c.client_wait_secs;
        assert!(c
            .check()
            .unwrap_err()
            .contains("longer than client_wait_secs"));

        let mut c = good.clone();
        c.max_live_orders = 0;
        assert!(c.check().unwrap_err().contains("max_live_orders"));

        let mut c = good.clone();
        c.order_retention_secs = Lsps2Config::MIN_ORDER_RETENTION_SECS - 1;
        assert!(c.check().unwrap_err().contains("order_retention_secs"));

        let mut c = good.clone();
        c.unclaimed_window_secs = 0;
        assert!(c.check().unwrap_err().contains("unclaimed_window_secs"));

        let key = key(2);
        let mut c = good.clone();
        c.allow = vec![key];
        c.deny = vec![key];
        assert!(c.check().unwrap_err().contains("both allowed and denied"));
    }

    #[test]
    fn the_sweep_runs_within_a_tenth_of_the_shortest_timeout_every_second_to_minute() {
        let mut c = Lsps2Config::with_menu(vec![option()]);
        assert_eq!(c.sweep_interval(), Duration::from_secs(60));
        c.unclaimed_close_after_secs = 100;
        assert_eq!(c.sweep_interval(), Duration::from_secs(10));
        c.unclaimed_close_after_secs = 5;
        assert_eq!(c.sweep_interval(), Duration::from_secs(1));
    }

    #[test]
    fn allow_and_deny_lists() {
        let (a, b) = (key(2), key(3));
        let mut c = Lsps2Config::with_menu(vec![option()]);
        assert!(c.admits(&a) && c.admits(&b));
        c.deny = vec![a];
        assert!(!c.admits(&a) && c.admits(&b));
        c.deny.clear();
        c.allow = vec![a];
        assert!(c.admits(&a) && !c.admits(&b));
    }
}
