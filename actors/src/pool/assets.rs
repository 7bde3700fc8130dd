//! The node's real assets, to check the pool's books against (issue 19: "the sum over
//! partitions must equal the node's real total … and any drift is reported") and to list
//! in proof snapshots.
//!
//! Counted from what LDK and the wallet say now, in msat:
//! - on-chain: the wallet's unspent outputs, confirmed or not (immature coinbase left
//!   out: it cannot be spent yet and LPs never paid it in);
//! - per open channel: what the node could send now (`outbound_capacity_msat`), the
//!   reserve the peer requires it to keep (`unspendable_punishment_reserve`), and its
//!   outgoing HTLCs not yet resolved (`pending_outbound_htlcs`), which LDK subtracts from
//!   the spendable figure until they settle or fail.
//!
//! What this leaves out, and so shows as drift: the anchor outputs (330 sat each) and the
//! commitment fee of channels the node funded, which come back at a cooperative close;
//! incoming HTLCs already fulfilled whose commitment update is still in flight;
//! outputs of closed channels still with the sweeper.

use bitcoin::hex::DisplayHex;

use crate::components::Components;
use crate::wallet::WalletOutput;

/// The node's assets by kind, msat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NodeAssets {
    /// The on-chain wallet (confirmed and unconfirmed).
    pub onchain_msat: u64,
    /// Channel balances the node could spend now.
    pub channels_spendable_msat: u64,
    /// Channel reserves.
    pub channels_reserve_msat: u64,
    /// Outgoing HTLCs in flight.
    pub htlcs_in_flight_msat: u64,
}

impl NodeAssets {
    /// The node's assets now.
    pub fn now(c: &Components) -> NodeAssets {
        AssetDetail::now(c).totals()
    }

    /// The sum.
    pub fn total_msat(&self) -> u64 {
        self.onchain_msat
            .saturating_add(self.channels_spendable_msat)
            .saturating_add(self.channels_reserve_msat)
            .saturating_add(self.htlcs_in_flight_msat)
    }

    /// These assets less `booked_msat` (what the pool's books hold), clamped to `i64`:
    /// the operator's own funds and the costs not booked yet; negative when the books
    /// hold more than the node has.
    pub fn drift_msat(&self, booked_msat: u64) -> i64 {
        let drift = i128::from(self.total_msat()) - i128::from(booked_msat);
        i64::try_from(drift).unwrap_or(if drift < 0 { i64::MIN } else { i64::MAX })
    }
}

/// One open channel's part of the node's assets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelAssets {
    /// The channel id, hex.
    pub channel_id: String,
    /// The peer, hex.
    pub counterparty_node_id: String,
    /// The funding output, `txid:vout`, once known.
    pub funding_outpoint: Option<String>,
    /// What the node could send now, msat.
    pub spendable_msat: u64,
    /// The reserve the peer requires the node to keep, msat.
    pub reserve_msat: u64,
    /// Outgoing HTLCs not yet resolved, msat.
    pub htlcs_out_msat: u64,
}

/// The node's assets one by one: what a proof snapshot lists.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AssetDetail {
    /// The wallet's unspent outputs that count.
    pub utxos: Vec<WalletOutput>,
    /// The open channels.
    pub channels: Vec<ChannelAssets>,
}

impl AssetDetail {
    /// The node's assets now.
    pub fn now(c: &Components) -> AssetDetail {
        let channels = c
            .channel_manager
            .list_channels()
            .into_iter()
            .map(|channel| ChannelAssets {
                channel_id: channel.channel_id.0.to_lower_hex_string(),
                counterparty_node_id: channel.counterparty.node_id.to_string(),
                funding_outpoint: channel.funding_txo.map(|o| o.to_string()),
                spendable_msat: channel.outbound_capacity_msat,
                reserve_msat: channel
                    .unspendable_punishment_reserve
                    .unwrap_or(0)
                    .saturating_mul(1000),
                htlcs_out_msat: channel
                    .pending_outbound_htlcs
                    .iter()
                    .map(|htlc| htlc.amount_msat)
                    .fold(0, u64::saturating_add),
            })
            .collect();
        AssetDetail {
            utxos: c.wallet.unspent(),
            channels,
        }
    }

    /// The sums by kind.
    pub fn totals(&self) -> NodeAssets {
        let onchain_sat = self
            .utxos
            .iter()
            .map(|u| u.value.to_sat())
            .fold(0u64, u64::saturating_add);
        let mut totals = NodeAssets {
            onchain_msat: onchain_sat.saturating_mul(1000),
            ..NodeAssets::default()
        };
        for channel in &self.channels {
            totals.channels_spendable_msat = totals
                .channels_spendable_msat
                .saturating_add(channel.spendable_msat);
            totals.channels_reserve_msat = totals
                .channels_reserve_msat
                .saturating_add(channel.reserve_msat);
            totals.htlcs_in_flight_msat = totals
                .htlcs_in_flight_msat
                .saturating_add(channel.htlcs_out_msat);
        }
        totals
    }
}
