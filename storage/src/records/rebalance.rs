//! The rebalancer's records (issue 23): each rebalance (a circular payment out one of
//! the node's channels and back in another) from the moment before it is sent to its
//! booked end, each channel's own settings, and the kill switch.

use serde::{Deserialize, Serialize};

use crate::table::{Record, Table};

/// Where a rebalance stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RebalanceState {
    /// Stored before its payment was handed to LDK; its outcome is not known yet.
    Pending,
    /// It moved its amount; its fee is booked to the RRP partition.
    Succeeded,
    /// It moved nothing.
    Failed,
}

/// One rebalance, keyed `{started_at_ms:020}/{id}` so the last day's are one range read.
/// Written pending before the payment leaves, and once more when it ended, with its
/// receipt and (when it paid a fee) the pool entry that books the fee, in one commit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RebalanceRecord {
    /// The circular payment's hash, hex: the rebalance's id.
    pub id: String,
    /// The payment's id in the payments table, hex.
    pub payment_id: String,
    /// The channel paid out through, hex.
    pub from_channel: String,
    /// The channel paid back in through, hex.
    pub to_channel: String,
    /// The peer of `to_channel`, hex node id.
    pub to_peer: String,
    /// The amount moved, msat.
    pub amount_msat: u64,
    /// The fee ceiling, msat: what the budget held back while it was in flight.
    pub max_fee_msat: u64,
    /// The fee paid, msat, once it succeeded.
    pub fee_paid_msat: Option<u64>,
    /// The part of the fee booked to the RRP partition, msat.
    pub booked_msat: Option<u64>,
    /// The pool that booked it.
    pub pool_id: Option<String>,
    /// Where it stands.
    pub state: RebalanceState,
    /// Why it failed.
    pub failure: Option<String>,
    /// Its `rebalance_receipt`, once it ended.
    pub receipt_id: Option<String>,
    /// When it started, ms since the Unix epoch.
    pub started_at_ms: u64,
    /// When it ended.
    pub ended_at_ms: Option<u64>,
}

impl RebalanceRecord {
    /// The key of rebalance `id` started at `started_at_ms`.
    pub fn table_key(started_at_ms: u64, id: &str) -> String {
        format!("{started_at_ms:020}/{id}")
    }

    /// The fee it counts against the budget, msat: the fee paid once it ended, its
    /// ceiling while in flight.
    pub fn spend_msat(&self) -> u64 {
        match self.state {
            RebalanceState::Pending => self.max_fee_msat,
            RebalanceState::Succeeded => self.fee_paid_msat.unwrap_or(0),
            RebalanceState::Failed => 0,
        }
    }
}

impl Record for RebalanceRecord {
    const TABLE: Table = Table::Rebalances;

    fn key(&self) -> String {
        RebalanceRecord::table_key(self.started_at_ms, &self.id)
    }
}

/// A target band as stored: parts per million of capacity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredBand {
    /// Below this a channel is refilled.
    pub min_ppm: u32,
    /// Above this it has balance to spare.
    pub max_ppm: u32,
    /// How far inside the band a rebalance aims.
    pub deadband_ppm: u32,
}

/// An operator's settings for one channel, keyed by its channel id (hex).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RebalanceChannelRecord {
    /// The channel, hex.
    pub channel_id: String,
    /// Never rebalance it.
    pub opted_out: bool,
    /// Under a liquidity commitment to its peer: never rebalance it.
    pub committed: bool,
    /// Its own band; `None`: the configured default.
    pub band: Option<StoredBand>,
    /// When it was set, ms since the Unix epoch.
    pub updated_at_ms: u64,
}

impl Record for RebalanceChannelRecord {
    const TABLE: Table = Table::RebalanceChannels;

    fn key(&self) -> String {
        self.channel_id.clone()
    }
}

/// The kill switch, stored so that a halted rebalancer stays halted across restarts.
/// One record, under [`RebalancerControlRecord::KEY`]; absent: never halted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RebalancerControlRecord {
    /// Whether it is halted.
    pub halted: bool,
    /// Why it was halted (or resumed).
    pub reason: String,
    /// When the switch last changed, ms since the Unix epoch.
    pub at_ms: u64,
}

impl RebalancerControlRecord {
    /// The record's one key.
    pub const KEY: &'static str = "kill_switch";
}

impl Record for RebalancerControlRecord {
    const TABLE: Table = Table::RebalancerControl;

    fn key(&self) -> String {
        Self::KEY.to_owned()
    }
}
