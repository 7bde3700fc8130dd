//! Regtest consensus parameters and Bitcoin Core v30's default relay policy.

use bitcoin::{Amount, CompactTarget, Weight};

/// Proof-of-work limit of regtest, the only target it ever uses (no retargeting).
pub const POW_BITS_U32: u32 = 0x207f_ffff;

/// [`POW_BITS_U32`] as a `CompactTarget`.
pub fn pow_bits() -> CompactTarget {
    CompactTarget::from_consensus(POW_BITS_U32)
}
/// Block version Core's miner uses (version bits, no deployments signalled).
pub const BLOCK_VERSION: i32 = 0x2000_0000;
/// Blocks between subsidy halvings on regtest.
pub const HALVING_INTERVAL: u32 = 150;
/// Initial block subsidy.
pub const INITIAL_SUBSIDY: Amount = Amount::from_sat(50 * 100_000_000);
/// Confirmations a coinbase output needs before it can be spent.
pub const COINBASE_MATURITY: u32 = 100;
/// Consensus limit on block weight.
pub const MAX_BLOCK_WEIGHT: Weight = Weight::from_wu(4_000_000);
/// Weight the miner keeps free for the coinbase.
pub const COINBASE_RESERVED_WEIGHT: Weight = Weight::from_wu(8_000);
/// Blocks used for median time past.
pub const MEDIAN_TIME_SPAN: usize = 11;
/// Largest standard transaction weight.
pub const MAX_STANDARD_TX_WEIGHT: Weight = Weight::from_wu(400_000);
/// Minimum relay fee rate (v30 default 0.1 sat/vB = 100 sat/kvB).
pub const MIN_RELAY_SAT_PER_KVB: u64 = 100;
/// Incremental relay fee rate used for replacements (v30 default 100 sat/kvB).
pub const INCREMENTAL_RELAY_SAT_PER_KVB: u64 = 100;
/// `sendrawtransaction`'s default `maxfeerate`: 0.10 BTC/kvB.
pub const DEFAULT_MAX_FEERATE_SAT_PER_KVB: u64 = 10_000_000;
/// Most transactions one replacement may evict.
pub const MAX_REPLACEMENT_EVICTIONS: usize = 100;
/// Core's mempool size limit, reported by `getmempoolinfo`.
pub const MAX_MEMPOOL_BYTES: u64 = 300_000_000;
/// Highest confirmation target `estimatesmartfee` accepts.
pub const MAX_CONF_TARGET: u64 = 1008;

/// The block subsidy at `height`.
pub fn block_subsidy(height: u32) -> Amount {
    let halvings = height / HALVING_INTERVAL;
    if halvings >= 64 {
        return Amount::ZERO;
    }
    Amount::from_sat(INITIAL_SUBSIDY.to_sat() >> halvings)
}

/// Fee of `vsize` virtual bytes at `sat_per_kvb`, rounded down like Core's `CFeeRate::GetFee`.
pub fn fee_at(sat_per_kvb: u64, vsize: u64) -> Amount {
    Amount::from_sat(sat_per_kvb.saturating_mul(vsize) / 1000)
}

/// A fee rate in sat/kvB from a fee and a virtual size.
pub fn sat_per_kvb(fee: Amount, vsize: u64) -> u64 {
    if vsize == 0 {
        return 0;
    }
    fee.to_sat().saturating_mul(1000) / vsize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subsidy_halves_every_150_blocks() {
        assert_eq!(block_subsidy(0), Amount::from_btc(50.0).unwrap());
        assert_eq!(block_subsidy(149), Amount::from_btc(50.0).unwrap());
        assert_eq!(block_subsidy(150), Amount::from_btc(25.0).unwrap());
        assert_eq!(block_subsidy(300), Amount::from_sat(1_250_000_000));
        assert_eq!(block_subsidy(150 * 64), Amount::ZERO);
    }

    #[test]
    fn fees_round_like_core() {
        // "min relay fee not met, 0 < 11" for a 110 vB transaction.
        assert_eq!(fee_at(MIN_RELAY_SAT_PER_KVB, 110), Amount::from_sat(11));
        assert_eq!(sat_per_kvb(Amount::from_sat(2820), 141), 20_000);
    }
}
