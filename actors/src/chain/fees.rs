//! Fee estimates for LDK: `estimatesmartfee` per confirmation target, cached, with
//! fallbacks while the chain has too little data (always, at first, on regtest).

use std::collections::HashMap;
use std::sync::RwLock;

use lightning::chain::chaininterface::{
    ConfirmationTarget, FeeEstimator, FEERATE_FLOOR_SATS_PER_KW,
};

/// Every target LDK asks for, with the `estimatesmartfee` query that answers it and the
/// fallback (sat per 1000 weight) used until an estimate exists.
pub const TARGETS: [(ConfirmationTarget, u16, EstimateMode, u32); 8] = [
    (
        ConfirmationTarget::MaximumFeeEstimate,
        1,
        EstimateMode::Conservative,
        8_000,
    ),
    (
        ConfirmationTarget::UrgentOnChainSweep,
        6,
        EstimateMode::Conservative,
        5_000,
    ),
    (
        ConfirmationTarget::MinAllowedAnchorChannelRemoteFee,
        1008,
        EstimateMode::Economical,
        253,
    ),
    (
        ConfirmationTarget::MinAllowedNonAnchorChannelRemoteFee,
        144,
        EstimateMode::Economical,
        253,
    ),
    (
        ConfirmationTarget::AnchorChannelFee,
        1008,
        EstimateMode::Economical,
        500,
    ),
    (
        ConfirmationTarget::NonAnchorChannelFee,
        12,
        EstimateMode::Economical,
        1_000,
    ),
    (
        ConfirmationTarget::ChannelCloseMinimum,
        144,
        EstimateMode::Economical,
        500,
    ),
    (
        ConfirmationTarget::OutputSpendingFee,
        12,
        EstimateMode::Economical,
        1_000,
    ),
];

/// `estimatesmartfee`'s estimate mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EstimateMode {
    /// Potentially lower, for targets where a miss is cheap.
    Economical,
    /// Considers a longer history; for targets where a miss costs funds.
    Conservative,
}

impl EstimateMode {
    /// The mode's name in the RPC.
    pub fn as_rpc(self) -> &'static str {
        match self {
            EstimateMode::Economical => "ECONOMICAL",
            EstimateMode::Conservative => "CONSERVATIVE",
        }
    }
}

/// Converts a fee rate in BTC/kvB (as `estimatesmartfee` returns it) to sat per 1000
/// weight units, never below LDK's floor.
pub fn btc_per_kvb_to_sat_per_kw(btc_per_kvb: f64) -> u32 {
    let sat_per_kvb = (btc_per_kvb * 100_000_000.0).round();
    let sat_per_kw = (sat_per_kvb / 4.0).round();
    (sat_per_kw.clamp(0.0, f64::from(u32::MAX)) as u32).max(FEERATE_FLOOR_SATS_PER_KW)
}

/// The fee rates LDK reads, refreshed by chain sync.
#[derive(Debug, Default)]
pub struct FeeRates {
    rates: RwLock<HashMap<ConfirmationTarget, u32>>,
}

impl FeeRates {
    /// Records the estimate for `target` (sat per 1000 weight).
    pub fn set(&self, target: ConfirmationTarget, sat_per_kw: u32) {
        let mut rates = self.rates.write().unwrap_or_else(|p| p.into_inner());
        rates.insert(target, sat_per_kw.max(FEERATE_FLOOR_SATS_PER_KW));
    }

    /// Forgets the estimate for `target`, falling back to the default.
    pub fn clear(&self, target: ConfirmationTarget) {
        self.rates
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&target);
    }

    /// The rate the node's own funding transactions pay (channel opens and splices), sat
    /// per 1000 weight: LDK's estimate for a non-anchor commitment, one that must confirm
    /// in reasonable time without being fee-bumped.
    pub fn funding_sat_per_kw(&self) -> u32 {
        self.get_est_sat_per_1000_weight(ConfirmationTarget::NonAnchorChannelFee)
    }
}

impl FeeEstimator for FeeRates {
    fn get_est_sat_per_1000_weight(&self, target: ConfirmationTarget) -> u32 {
        let rates = self.rates.read().unwrap_or_else(|p| p.into_inner());
        rates.get(&target).copied().unwrap_or_else(|| {
            TARGETS
                .iter()
                .find(|t| t.0 == target)
                .map(|t| t.3)
                .unwrap_or(FEERATE_FLOOR_SATS_PER_KW)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_and_falls_back() {
        assert_eq!(btc_per_kvb_to_sat_per_kw(0.00002), 500);
        assert_eq!(btc_per_kvb_to_sat_per_kw(0.000001), 253, "floored");
        let rates = FeeRates::default();
        assert_eq!(
            rates.get_est_sat_per_1000_weight(ConfirmationTarget::NonAnchorChannelFee),
            1_000
        );
        rates.set(ConfirmationTarget::NonAnchorChannelFee, 2_000);
        assert_eq!(
            rates.get_est_sat_per_1000_weight(ConfirmationTarget::NonAnchorChannelFee),
            2_000
        );
    }
}
