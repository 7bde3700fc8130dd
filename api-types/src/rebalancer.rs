//! The rebalancer (`GET /v1/rebalancer` and its admin routes): its settings, the day's
//! budget from the pool's RRP partition, every channel against its target band, the
//! moves it would try now and why each may or may not go, and its recent rebalances.
//! Admins halt and resume it (the kill switch) and set a channel's band or opt it out.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `schema` of the rebalancer's state.
pub const REBALANCER_STATUS_RESPONSE_SCHEMA: &str = "openagents.liquidity.rebalancer_status.v1";
/// The longest halt reason, in characters (after trimming).
pub const MAX_HALT_REASON_CHARS: usize = 200;

/// A target band of local balance, parts per million of a channel's capacity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BandView {
    /// Below this share a channel is refilled.
    pub min_ppm: u32,
    /// Above this share a channel has balance to spare.
    pub max_ppm: u32,
    /// How far inside the band a rebalance aims.
    pub deadband_ppm: u32,
}

/// The rebalancer's state (`GET /v1/rebalancer`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RebalancerStatusResponse {
    /// [`REBALANCER_STATUS_RESPONSE_SCHEMA`].
    pub schema: String,
    /// Whether the node runs a rebalancer (a `[rebalancer]` section).
    pub enabled: bool,
    /// Whether it only plans: nothing is paid in dry-run mode.
    pub dry_run: bool,
    /// The kill switch, when an admin pulled it: no rebalance starts until resumed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub halted: Option<RebalancerHalt>,
    /// Its settings (absent when it is off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<RebalancerSettings>,
    /// The budget now (absent when it is off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<RebalanceBudget>,
    /// What it did over the earnings window.
    pub totals: RebalanceTotals,
    /// Every channel against its band.
    pub channels: Vec<RebalanceChannel>,
    /// The moves it would try now, in order, each with its verdict.
    pub plan: Vec<PlannedRebalance>,
    /// Its latest rebalances, newest first.
    pub recent: Vec<RebalanceView>,
    /// Why it is off or does nothing, when it is or does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The kill switch's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RebalancerHalt {
    /// Why it was halted.
    pub reason: String,
    /// When, ms since the Unix epoch.
    pub at_ms: u64,
}

/// The rebalancer's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RebalancerSettings {
    /// The band of channels without one of their own.
    pub default_band: BandView,
    /// The most one rebalance pays in fees, msat.
    pub max_fee_msat: u64,
    /// The most one rebalance pays in fees, ppm of its amount.
    pub max_fee_ppm: u32,
    /// The most spent in any 24 hours, msat (never more than RRP holds).
    pub daily_budget_msat: u64,
    /// Fees spent on a peer's channels may be at most this share of what forwarding
    /// through them earned over the window, ppm.
    pub cost_to_earn_max_ppm: u32,
    /// Fees a peer's channels may cost over the window whatever they earned, msat.
    pub cost_to_earn_allowance_msat: u64,
    /// The rolling window earnings and spend per peer are counted over, seconds.
    pub earnings_window_secs: u64,
    /// How often it looks at the channels, seconds.
    pub tick_secs: u64,
    /// A channel's first refill attempt moves this much, msat.
    pub start_msat: u64,
    /// Attempts halve after failures down to this, msat.
    pub min_msat: u64,
    /// Attempts grow after successes up to this, msat.
    pub max_msat: u64,
    /// A refilled channel waits this long after an attempt, ms.
    pub cooldown_ms: u64,
    /// The wait doubles after each failure in a row up to this, ms.
    pub max_cooldown_ms: u64,
    /// How long one rebalance holds the next back before it goes on without it, seconds.
    pub attempt_timeout_secs: u64,
}

/// The budget now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RebalanceBudget {
    /// The daily cap, msat.
    pub daily_msat: u64,
    /// What the pool's RRP partition holds, msat (0 without a pool or partition).
    pub rrp_available_msat: u64,
    /// Fees paid by rebalances in the last 24 hours, msat, with any attempt in flight
    /// counted at its ceiling.
    pub spent_24h_msat: u64,
    /// What may still be spent now, msat.
    pub left_msat: u64,
}

/// What the rebalancer did over the earnings window.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RebalanceTotals {
    /// Rebalances tried (paid attempts, not dry runs).
    pub attempts: u64,
    /// Those that moved their amount.
    pub succeeded: u64,
    /// Those that failed.
    pub failed: u64,
    /// Fees paid, msat.
    pub fees_paid_msat: u64,
    /// Balance moved, msat.
    pub moved_msat: u64,
}

/// One channel against its band.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RebalanceChannel {
    /// Its id, hex.
    pub channel_id: String,
    /// Its peer's node id, hex.
    pub peer: String,
    /// Its capacity, msat.
    pub capacity_msat: u64,
    /// What the node could send over it now, msat.
    pub local_msat: u64,
    /// Its band (its own or the default).
    pub band: BandView,
    /// `short`, `inside` or `over`.
    pub place: String,
    /// How far from the band's target it is, msat (0 inside).
    pub off_by_msat: u64,
    /// `eligible`, `opted_out`, `jit`, `committed` or `unusable`.
    pub eligibility: String,
    /// The next refill's amount, msat, if it was refilled or tried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_amount_msat: Option<u64>,
    /// Failed refills in a row.
    pub failures: u32,
    /// No refill before this, ms since the Unix epoch (0: any time).
    pub next_at_ms: u64,
    /// Forwarding fees its peer's channels earned over the window, msat.
    pub peer_earned_msat: u64,
    /// Rebalance fees spent refilling its peer's channels over the window, msat.
    pub peer_spent_msat: u64,
}

/// A move the rebalancer would try now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PlannedRebalance {
    /// The channel paid out through (over its band).
    pub from_channel: String,
    /// The channel paid back in through (short of its band).
    pub to_channel: String,
    /// The amount of the attempt, msat.
    pub amount_msat: u64,
    /// Its fee ceiling, msat.
    pub max_fee_msat: u64,
    /// `ready`, `cooling_down`, `no_fee_room`, `over_budget`, `over_cost_to_earn`,
    /// `in_flight`, `halted` or `dry_run`.
    pub verdict: String,
}

/// One rebalance: a circular payment out one channel and back in another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RebalanceView {
    /// Its id (the payment hash, hex).
    pub id: String,
    /// The channel paid out through.
    pub from_channel: String,
    /// The channel paid back in through.
    pub to_channel: String,
    /// The peer of `to_channel`.
    pub to_peer: String,
    /// The amount moved (or to be), msat.
    pub amount_msat: u64,
    /// Its fee ceiling, msat.
    pub max_fee_msat: u64,
    /// The fee paid, msat, once it succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fee_paid_msat: Option<u64>,
    /// `pending`, `succeeded` or `failed`.
    pub state: String,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    /// The fee booked to the RRP partition, msat, once booked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub booked_msat: Option<u64>,
    /// Its signed `rebalance_receipt`'s id, once it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt_id: Option<String>,
    /// When it started, ms since the Unix epoch.
    pub started_at_ms: u64,
    /// When it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at_ms: Option<u64>,
}

/// `POST /v1/rebalancer/halt`: pull the kill switch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HaltRebalancerRequest {
    /// Why, for the status and the logs: 1 to [`MAX_HALT_REASON_CHARS`] characters
    /// once trimmed, no control characters.
    pub reason: String,
}

/// `PUT /v1/rebalancer/channels/{channel_id}`: one channel's own settings (the body, and
/// the answer: the settings as stored). They replace the channel's earlier ones whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RebalanceChannelSettings {
    /// Never rebalance it.
    #[serde(default)]
    pub opted_out: bool,
    /// It is under a liquidity commitment to its peer: never rebalance it.
    #[serde(default)]
    pub committed: bool,
    /// Its own band; absent: the default band.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub band: Option<BandView>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_refuse_unknown_fields_and_absent_options_are_left_out() {
        assert!(
            serde_json::from_str::<HaltRebalancerRequest>(r#"{"reason":"x","why":1}"#).is_err()
        );
        let settings: RebalanceChannelSettings = serde_json::from_str("{}").unwrap();
        assert_eq!(
            settings,
            RebalanceChannelSettings {
                opted_out: false,
                committed: false,
                band: None
            }
        );
        assert_eq!(
            serde_json::to_string(&settings).unwrap(),
            r#"{"opted_out":false,"committed":false}"#
        );
        assert!(serde_json::from_str::<RebalanceChannelSettings>(r#"{"opt_out":true}"#).is_err());
        let typo = r#"{"band":{"min_ppm":1,"max_ppm":2,"deadband_ppm":0,"target_ppm":1}}"#;
        assert!(serde_json::from_str::<RebalanceChannelSettings>(typo).is_err());
    }
}
