//! The moves worth trying: each channel short of its band paired with a channel over its
//! band, largest need first. A move pays out through the channel that has balance to
//! spare and back in through the one that needs it (a circular payment to the node
//! itself), so the node's total balance moves only by the fee. Channels that are not
//! eligible — opted out, JIT channels sold over LSPS2, channels under a liquidity
//! commitment, channels not usable now — are neither source nor destination.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::band::{Band, Place};

/// Whether a channel may be rebalanced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Eligibility {
    /// It may.
    Eligible,
    /// Its operator opted it out.
    OptedOut,
    /// A JIT channel sold over LSPS2: its balance is the client's business.
    Jit,
    /// Under a liquidity commitment to its peer.
    Committed,
    /// Not usable now (peer offline, not ready).
    Unusable,
}

/// A channel as the planner sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelView {
    /// Its id, hex.
    pub channel_id: String,
    /// The peer's node id, hex.
    pub peer: String,
    /// Its capacity, msat.
    pub capacity_msat: u64,
    /// Its local balance, msat (what the node could send over it).
    pub local_msat: u64,
    /// Its target band.
    pub band: Band,
    /// Whether it may be rebalanced.
    pub eligibility: Eligibility,
}

/// One circular move.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Move {
    /// The channel paid out through (over its band).
    pub from: String,
    /// The channel paid back in through (short of its band).
    pub to: String,
    /// The peer of `to`, whose cost-to-earn rule the fee counts against.
    pub to_peer: String,
    /// How much would bring `to` back into its band without taking `from` below its
    /// own, msat.
    pub amount_msat: u64,
}

/// The moves for `channels`: every short channel, neediest first, paired with the
/// over-band channel with the most to spare (a source's spare shrinks as moves use it,
/// and a source is never the channel it refills).
pub fn plan(channels: &[ChannelView]) -> Vec<Move> {
    let eligible = channels
        .iter()
        .filter(|c| c.eligibility == Eligibility::Eligible);
    let mut short = Vec::new();
    let mut spare: BTreeMap<&str, u64> = BTreeMap::new();
    for channel in eligible {
        match channel
            .band
            .place(channel.local_msat, channel.capacity_msat)
        {
            Place::Short(need) if need > 0 => short.push((channel, need)),
            Place::Over(extra) if extra > 0 => {
                spare.insert(&channel.channel_id, extra);
            }
            _ => {}
        }
    }
    // Neediest first; ties in channel order, so a plan is the same for the same input.
    short.sort_by(|(a, x), (b, y)| y.cmp(x).then_with(|| a.channel_id.cmp(&b.channel_id)));
    let mut moves = Vec::new();
    for (channel, need) in short {
        let source = spare
            .iter()
            .filter(|(id, extra)| **id != channel.channel_id && **extra > 0)
            .max_by(|(a, x), (b, y)| x.cmp(y).then_with(|| b.cmp(a)))
            .map(|(id, extra)| (*id, *extra));
        let Some((from, extra)) = source else { break };
        let amount_msat = need.min(extra);
        spare.insert(from, extra - amount_msat);
        moves.push(Move {
            from: from.to_owned(),
            to: channel.channel_id.clone(),
            to_peer: channel.peer.clone(),
            amount_msat,
        });
    }
    moves
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::band::tests::BAND;
    use proptest::prelude::*;

    const CAP: u64 = 1_000_000_000;

    fn channel(id: &str, local_msat: u64) -> ChannelView {
        ChannelView {
            channel_id: id.into(),
            peer: format!("peer-{id}"),
            capacity_msat: CAP,
            local_msat,
            band: BAND,
            eligibility: Eligibility::Eligible,
        }
    }

    #[test]
    fn the_neediest_channel_is_refilled_from_the_one_with_most_to_spare() {
        let moves = plan(&[
            channel("a", 50_000_000),    // short by 250,000,000
            channel("b", 150_000_000),   // short by 150,000,000
            channel("c", 1_000_000_000), // 300,000,000 to spare
            channel("d", 850_000_000),   // 150,000,000 to spare
            channel("e", 500_000_000),   // inside
        ]);
        let got: Vec<_> = moves
            .iter()
            .map(|m| (m.from.as_str(), m.to.as_str(), m.amount_msat))
            .collect();
        assert_eq!(
            got,
            [("c", "a", 250_000_000), ("d", "b", 150_000_000)],
            "c has 50,000,000 left after a, less than d's 150,000,000"
        );
        assert_eq!(moves[0].to_peer, "peer-a");
    }

    #[test]
    fn ineligible_channels_are_neither_source_nor_destination() {
        for eligibility in [
            Eligibility::OptedOut,
            Eligibility::Jit,
            Eligibility::Committed,
            Eligibility::Unusable,
        ] {
            let short = ChannelView {
                eligibility,
                ..channel("a", 0)
            };
            let over = ChannelView {
                eligibility,
                ..channel("b", CAP)
            };
            assert!(plan(&[short, channel("c", CAP)]).is_empty());
            assert!(plan(&[over, channel("d", 0)]).is_empty());
        }
    }

    #[test]
    fn nothing_to_spare_means_no_moves() {
        assert!(plan(&[channel("a", 0), channel("b", 500_000_000)]).is_empty());
        assert!(plan(&[]).is_empty());
    }

    proptest! {
        /// A plan never takes a source below its band's target, never refills a
        /// channel past its own, and never pays out and in through one channel.
        #[test]
        fn moves_stay_inside_both_channels_bands(
            locals in proptest::collection::vec(0u64..=CAP, 1..12),
        ) {
            let channels: Vec<ChannelView> = locals
                .iter()
                .enumerate()
                .map(|(i, local)| channel(&format!("{i:02}"), *local))
                .collect();
            let moves = plan(&channels);
            let mut after: BTreeMap<String, u64> =
                channels.iter().map(|c| (c.channel_id.clone(), c.local_msat)).collect();
            for m in &moves {
                prop_assert_ne!(&m.from, &m.to);
                *after.get_mut(&m.from).unwrap() -= m.amount_msat;
                *after.get_mut(&m.to).unwrap() += m.amount_msat;
            }
            for c in &channels {
                let local = after[&c.channel_id];
                if c.local_msat > crate::band::share(CAP, BAND.max_ppm) {
                    prop_assert!(local >= crate::band::share(CAP, BAND.max_ppm - BAND.deadband_ppm));
                }
                if c.local_msat < crate::band::share(CAP, BAND.min_ppm) {
                    prop_assert!(local <= crate::band::share(CAP, BAND.min_ppm + BAND.deadband_ppm));
                }
            }
        }
    }
}
