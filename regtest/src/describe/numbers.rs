//! Numbers as Core prints them: BTC amounts, doubles, difficulty, and the 64-hex-digit
//! `target` and `chainwork` fields.
//!
//! Core prints BTC amounts with exactly 8 decimals (`48.99997180`) and other doubles with
//! 16 significant digits. serde_json cannot print a fixed number of decimals, so amounts
//! are emitted as the `f64` a client gets when it parses Core's text (see [`btc_value`]),
//! and doubles are first rounded to 16 significant digits (see [`core_f64`]). A client
//! that parses numbers therefore sees the very same values.

use bitcoin::hex::DisplayHex;
use bitcoin::pow::CompactTarget;
use bitcoin::Amount;
use serde_json::Value;

/// A BTC amount as Core prints it (`ValueFromAmount`: `48.99997180`), as a JSON number.
///
/// The value is `sat as f64 / 1e8`. Both operands are exact and IEEE division is correctly
/// rounded, so this is exactly the `f64` nearest to Core's decimal text: what any client
/// gets when it parses Core's answer.
pub fn btc_value(amount: Amount) -> Value {
    Value::from(amount.to_sat() as f64 / 100_000_000.0)
}

/// A double as Core prints it (UniValue uses `std::setprecision(16)`), as a JSON number.
///
/// Core's text has 16 significant digits, which is not always enough to round-trip an
/// `f64` (regtest's difficulty is `4.6565423739069247e-10`, Core prints
/// `4.656542373906925e-10`). This rounds `x` to 16 significant digits so that clients
/// parse the same value from this answer as from Core's. Non-finite values become `null`.
pub fn core_f64(x: f64) -> Value {
    let rounded = format!("{x:.15e}").parse::<f64>().unwrap_or(x);
    serde_json::Number::from_f64(rounded).map_or(Value::Null, Value::Number)
}

/// Core's `GetDifficulty` for compact bits: `0xffff / mantissa`, scaled by 256 per step of
/// the exponent away from 29 (so regtest's `207fffff` gives `4.656542373906925e-10`).
/// A zero mantissa gives infinity (rendered as `null`), as Core's double division would.
pub fn difficulty(bits: CompactTarget) -> f64 {
    let bits = bits.to_consensus();
    let mut shift = (bits >> 24) & 0xff;
    let mut diff = f64::from(0xffff_u32) / f64::from(bits & 0x00ff_ffff);
    while shift < 29 {
        diff *= 256.0;
        shift += 1;
    }
    while shift > 29 {
        diff /= 256.0;
        shift -= 1;
    }
    diff
}

/// The target encoded by compact bits, as Core's 64-hex-digit big-endian `target` field
/// (`SetCompact` semantics: the sign bit is ignored, bits shifted past 256 are dropped).
pub fn target_hex(bits: CompactTarget) -> String {
    let compact = bits.to_consensus();
    let size = (compact >> 24) as usize;
    let word = compact & 0x007f_ffff;
    let mut target = [0u8; 32];
    if size <= 3 {
        let value = word >> (8 * (3 - size));
        target[28..].copy_from_slice(&value.to_be_bytes());
    } else {
        // Byte `j` of the word (0 = least significant) lands at byte `j + size - 3` of the
        // target, counted from its least significant end.
        let [_, b2, b1, b0] = word.to_be_bytes();
        for (j, byte) in [b0, b1, b2].into_iter().enumerate() {
            let from_end = j + size - 3;
            if let Some(slot) = 31usize
                .checked_sub(from_end)
                .and_then(|i| target.get_mut(i))
            {
                *slot = byte;
            }
        }
    }
    target.to_lower_hex_string()
}

/// Accumulated chain work as Core's 64-hex-digit `chainwork` field.
pub fn chainwork_hex(chainwork: u128) -> String {
    format!("{chainwork:064x}")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn numbers_follow_core() {
        assert_eq!(
            btc_value(Amount::from_sat(4_899_997_180)),
            Value::from(48.9999718)
        );
        assert_eq!(btc_value(Amount::ZERO), Value::from(0.0));
        assert_eq!(btc_value(Amount::MAX_MONEY), Value::from(21_000_000.0));
        let regtest = CompactTarget::from_consensus(0x207f_ffff);
        assert_eq!(
            core_f64(difficulty(regtest)),
            Value::from("4.656542373906925e-10".parse::<f64>().unwrap())
        );
        assert_eq!(
            core_f64(difficulty(CompactTarget::from_consensus(0x1d00_ffff))),
            Value::from(1.0)
        );
        assert_eq!(core_f64(f64::INFINITY), Value::Null);
        assert_eq!(target_hex(regtest), format!("7fffff{}", "0".repeat(58)));
        assert_eq!(
            target_hex(CompactTarget::from_consensus(0x1d00_ffff)),
            format!("00000000ffff{}", "0".repeat(52))
        );
        assert_eq!(
            target_hex(CompactTarget::from_consensus(0x0212_3456)),
            format!("{}1234", "0".repeat(60))
        );
        assert_eq!(chainwork_hex(0xce), format!("{}ce", "0".repeat(62)));
    }
}
