//! The node's real assets, to check the pool's books against (issue 19: "the sum over
//! partitions must equal the node's real total … and any drift is reported").
//!
//! Counted from what LDK and the wallet say now, in msat:
//! - on-chain: the wallet's confirmed and unconfirmed balance (immature coinbase left out:
//!   it cannot be spent yet and LPs never paid it in);
//! - per open channel: what the node could send now (`outbound_capacity_msat`), the
//!   reserve the peer requires it to keep (`unspendable_punishment_reserve`), and its
//!   outgoing HTLCs not yet resolved (`pending_outbound_htlcs`), which LDK subtracts from
//!   the spendable figure until they settle or fail.
//!
//! What this leaves out, and so shows as drift: the anchor outputs (330 sat each) and the
//! commitment fee of channels the node funded, which come back at a cooperative close;
//! incoming HTLCs already fulfilled whose commitment update is still in flight;
//! outputs of closed channels still with the sweeper.

use crate::components::Components;

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
        let balance = c.wallet.balance();
        let onchain_sat = balance
            .confirmed
            .to_sat()
            .saturating_add(balance.trusted_pending.to_sat())
            .saturating_add(balance.untrusted_pending.to_sat());
        let mut assets = NodeAssets {
            onchain_msat: onchain_sat.saturating_mul(1000),
            ..NodeAssets::default()
        };
        for channel in c.channel_manager.list_channels() {
            assets.channels_spendable_msat = assets
                .channels_spendable_msat
                .saturating_add(channel.outbound_capacity_msat);
            assets.channels_reserve_msat = assets.channels_reserve_msat.saturating_add(
                channel
                    .unspendable_punishment_reserve
                    .unwrap_or(0)
                    .saturating_mul(1000),
            );
            let in_flight: u64 = channel
                .pending_outbound_htlcs
                .iter()
                .map(|htlc| htlc.amount_msat)
                .sum();
            assets.htlcs_in_flight_msat = assets.htlcs_in_flight_msat.saturating_add(in_flight);
        }
        assets
    }

    /// The sum.
    pub fn total_msat(&self) -> u64 {
        self.onchain_msat
            .saturating_add(self.channels_spendable_msat)
            .saturating_add(self.channels_reserve_msat)
            .saturating_add(self.htlcs_in_flight_msat)
    }
}
