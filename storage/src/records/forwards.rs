//! Forwarding income on record: the fees the node earned forwarding payments, totalled
//! per [`ForwardTotalRecord::BUCKET_MS`] of wall time.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::table::{Record, Table};

/// The forwards settled in one time bucket and the fees they earned. Written by the
/// event handler at each forward (the bucket's running total, so the last write is the
/// whole bucket), read by the pool, which books each closed bucket once as income.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForwardTotalRecord {
    /// The bucket's start, ms since the Unix epoch (a multiple of [`Self::BUCKET_MS`]).
    pub bucket_ms: u64,
    /// Forwards settled in it.
    pub forwards: u64,
    /// Forwarding fees earned, msat (LDK's total fee less what was skimmed).
    pub routing_fee_msat: u64,
    /// Fees skimmed from forwards over JIT channels (LSPS2 opening fees), msat.
    pub jit_fee_msat: u64,
    /// The forwarding fees of [`Self::routing_fee_msat`] by the peer (hex node id) whose
    /// channel each forward left through: the outbound liquidity that earned them, msat.
    /// A forward whose next peer is not known counts under none, so these may sum to
    /// less than the total. Absent from buckets stored before it was kept.
    #[serde(default)]
    pub by_peer: BTreeMap<String, u64>,
}

impl ForwardTotalRecord {
    /// How much wall time one bucket covers.
    pub const BUCKET_MS: u64 = 10_000;

    /// The start of the bucket `at_ms` falls in.
    pub fn bucket_of(at_ms: u64) -> u64 {
        at_ms - at_ms % Self::BUCKET_MS
    }

    /// The key of the bucket starting at `bucket_ms` (zero-padded, so keys sort by time).
    pub fn table_key(bucket_ms: u64) -> String {
        format!("{bucket_ms:020}")
    }
}

impl Record for ForwardTotalRecord {
    const TABLE: Table = Table::ForwardTotals;

    fn key(&self) -> String {
        Self::table_key(self.bucket_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_stored_before_fees_were_kept_by_peer_still_reads() {
        let old = r#"{"bucket_ms":10000,"forwards":2,"routing_fee_msat":7,"jit_fee_msat":1}"#;
        let record: ForwardTotalRecord = serde_json::from_str(old).expect("an old bucket");
        assert_eq!(
            record,
            ForwardTotalRecord {
                bucket_ms: 10_000,
                forwards: 2,
                routing_fee_msat: 7,
                jit_fee_msat: 1,
                by_peer: BTreeMap::new(),
            }
        );
    }
}
