//! `estimatesmartfee`: fee estimates from how fast mempool transactions confirmed.
//!
//! A small version of Core's estimator: for every transaction that went through the
//! mempool and confirmed, remember its fee rate and how many blocks it waited. The
//! estimate for a target is the lowest fee rate at which (among transactions paying at
//! least that much) 85 % (economical) or 95 % (conservative) confirmed within the
//! target. With too few samples it answers as Core does: no estimate.

use std::collections::BTreeMap;

use super::mempool::MempoolEntry;
use super::params::{sat_per_kvb, MIN_RELAY_SAT_PER_KVB};

/// Samples needed before any estimate is given.
const MIN_SAMPLES: usize = 10;
/// How many recent blocks of samples count.
const HORIZON_BLOCKS: u32 = 1008;

/// Fee samples per block height.
#[derive(Default)]
pub struct FeeEstimator {
    /// Height → (fee rate in sat/kvB, blocks waited) of the mempool txs it confirmed.
    samples: BTreeMap<u32, Vec<(u64, u32)>>,
}

impl FeeEstimator {
    /// Records the mempool transactions a block at `height` confirmed.
    pub fn record_block(&mut self, height: u32, confirmed: &[MempoolEntry]) {
        let samples: Vec<_> = confirmed
            .iter()
            .map(|e| {
                (
                    sat_per_kvb(e.fee, e.vsize),
                    height.saturating_sub(e.height).max(1),
                )
            })
            .collect();
        if !samples.is_empty() {
            self.samples.insert(height, samples);
        }
        let oldest = height.saturating_sub(HORIZON_BLOCKS);
        self.samples.retain(|h, _| *h > oldest);
    }

    /// Forgets a disconnected block's samples.
    pub fn forget_block(&mut self, height: u32) {
        self.samples.remove(&height);
    }

    /// The estimate for `target` blocks: (sat/kvB, the target it is for), or `None`
    /// with too little data.
    pub fn estimate(&self, target: u32, conservative: bool) -> Option<(u64, u32)> {
        let target = target.max(2);
        let mut samples: Vec<(u64, u32)> = self.samples.values().flatten().copied().collect();
        if samples.len() < MIN_SAMPLES {
            return None;
        }
        samples.sort_unstable_by_key(|s| std::cmp::Reverse(s.0));
        let threshold = if conservative { 0.95 } else { 0.85 };
        let (mut total, mut in_time, mut best) = (0usize, 0usize, None);
        for (rate, waited) in samples {
            total += 1;
            if waited <= target {
                in_time += 1;
            }
            if in_time as f64 / total as f64 >= threshold {
                best = Some(rate);
            }
        }
        best.map(|rate| (rate.max(MIN_RELAY_SAT_PER_KVB), target))
    }
}
