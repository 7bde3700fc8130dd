//! Transaction checks shared by the mempool and block connection: context-free
//! consensus checks, finality, BIP68 sequence locks and script verification.
//!
//! Scripts of legacy and segwit v0 outputs are verified by libbitcoinconsensus (the
//! `bitcoin` crate's `bitcoinconsensus` feature) with every consensus flag it knows.
//! libbitcoinconsensus 0.105 cannot check taproot, so taproot key-path spends are
//! verified here (BIP-341 sighash, BIP-340 signature) and taproot script-path spends are
//! refused rather than accepted unchecked.

use std::collections::HashSet;

use bitcoin::hashes::{hash160, sha256, Hash};
use bitcoin::secp256k1::{Message, Secp256k1, VerifyOnly, XOnlyPublicKey};
use bitcoin::sighash::{Annex, Prevouts, SighashCache};
use bitcoin::taproot;
use bitcoin::{Amount, Script, Transaction, TxOut};

use super::params::MAX_BLOCK_WEIGHT;

/// Why a transaction was refused, in the classes Core's RPC distinguishes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reject {
    /// An input is unknown or already spent (RPC -25).
    MissingInputs,
    /// The transaction's outputs are already in the UTXO set (RPC -27).
    AlreadyInChain,
    /// The fee is above the caller's `maxfeerate` (RPC -25).
    MaxFeeExceeded,
    /// Refused by consensus or policy, with Core's reason string (RPC -26).
    Invalid(String),
}

impl Reject {
    /// A refusal for `reason`.
    pub fn invalid(reason: impl Into<String>) -> Self {
        Reject::Invalid(reason.into())
    }
}

/// Bitcoin Core's `FormatMoney`: BTC with trailing zeros trimmed, keeping one decimal.
pub fn format_money(amount: Amount) -> String {
    let sat = amount.to_sat();
    let mut text = format!("{}.{:08}", sat / 100_000_000, sat % 100_000_000);
    while text.ends_with('0') && !text.ends_with(".0") {
        text.pop();
    }
    text
}

/// Context-free consensus checks of one transaction (Core's `CheckTransaction`).
pub fn check_transaction(tx: &Transaction) -> Result<(), String> {
    if tx.input.is_empty() {
        return Err("bad-txns-vin-empty".into());
    }
    if tx.output.is_empty() {
        return Err("bad-txns-vout-empty".into());
    }
    if tx.base_size() as u64 * 4 > MAX_BLOCK_WEIGHT.to_wu() {
        return Err("bad-txns-oversize".into());
    }
    let mut total = Amount::ZERO;
    for output in &tx.output {
        if output.value > Amount::MAX_MONEY {
            return Err("bad-txns-vout-toolarge".into());
        }
        total = total
            .checked_add(output.value)
            .filter(|t| *t <= Amount::MAX_MONEY)
            .ok_or("bad-txns-txouttotal-toolarge")?;
    }
    let mut seen = HashSet::with_capacity(tx.input.len());
    if !tx
        .input
        .iter()
        .all(|input| seen.insert(input.previous_output))
    {
        return Err("bad-txns-inputs-duplicate".into());
    }
    if tx.is_coinbase() {
        let len = tx.input[0].script_sig.len();
        if !(2..=100).contains(&len) {
            return Err("bad-cb-length".into());
        }
    } else if tx.input.iter().any(|input| input.previous_output.is_null()) {
        return Err("bad-txns-prevout-null".into());
    }
    Ok(())
}

/// Whether `tx` may be included in a block at `height` whose locktime cutoff (BIP113:
/// the median time past of its parent) is `cutoff_time`.
pub fn is_final(tx: &Transaction, height: u32, cutoff_time: u32) -> bool {
    let lock = tx.lock_time.to_consensus_u32();
    if lock == 0 {
        return true;
    }
    let limit = if lock < 500_000_000 {
        height
    } else {
        cutoff_time
    };
    if lock < limit {
        return true;
    }
    tx.input.iter().all(|input| input.sequence.0 == u32::MAX)
}

/// One spent coin, as BIP68 needs it: the height it was confirmed at (the next block's
/// height for an unconfirmed coin) and the median time past of the block before that.
#[derive(Clone, Copy, Debug)]
pub struct CoinAge {
    /// Height of the block that confirmed the coin.
    pub height: u32,
    /// Median time past of the block before it.
    pub prev_median_time: u32,
}

/// BIP68 relative lock-times: whether `tx` may be included in a block at `height` whose
/// parent's median time past is `prev_median_time`.
pub fn sequence_locks_ok(
    tx: &Transaction,
    coins: &[CoinAge],
    height: u32,
    prev_median_time: u32,
) -> bool {
    if tx.version.0 < 2 {
        return true;
    }
    let mut min_height: i64 = -1;
    let mut min_time: i64 = -1;
    for (input, coin) in tx.input.iter().zip(coins) {
        let sequence = input.sequence.0;
        if sequence & (1 << 31) != 0 {
            continue;
        }
        let value = i64::from(sequence & 0xffff);
        if sequence & (1 << 22) != 0 {
            min_time = min_time.max(i64::from(coin.prev_median_time) + (value << 9) - 1);
        } else {
            min_height = min_height.max(i64::from(coin.height) + value - 1);
        }
    }
    min_height < i64::from(height) && min_time < i64::from(prev_median_time)
}

/// Whether scripts are checked for the mempool (consensus plus the standardness rules
/// below) or for a block (consensus only).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScriptRules {
    /// Consensus and the policy checks the mempool adds.
    Mempool,
    /// Consensus only.
    Block,
}

/// Verifies every input's script against the output it spends (`prevouts`, in input
/// order). On failure returns the input index and a reason worded like Core's script
/// errors where they can be told apart.
///
/// For the mempool, segwit v0 signatures must also have a low S (Core's `LOW_S`
/// standardness flag), which libbitcoinconsensus does not check.
pub fn verify_scripts(
    secp: &Secp256k1<VerifyOnly>,
    tx: &Transaction,
    prevouts: &[TxOut],
    rules: ScriptRules,
) -> Result<(), (usize, String)> {
    let serialized = bitcoin::consensus::encode::serialize(tx);
    let mut sighashes = SighashCache::new(tx);
    for (index, prevout) in prevouts.iter().enumerate() {
        let script = &prevout.script_pubkey;
        if script.is_p2tr() {
            verify_taproot_key_spend(secp, &mut sighashes, tx, index, prevouts)
                .map_err(|reason| (index, reason))?;
            continue;
        }
        if rules == ScriptRules::Mempool && has_high_s_signature(tx, index, script) {
            return Err((
                index,
                "Non-canonical signature: S value is unnecessarily high".into(),
            ));
        }
        // `verify` applies every flag libbitcoinconsensus knows: P2SH, DERSIG, NULLDUMMY,
        // CHECKLOCKTIMEVERIFY, CHECKSEQUENCEVERIFY and WITNESS.
        if script.verify(index, prevout.value, &serialized).is_err() {
            return Err((index, explain_failure(tx, index, script)));
        }
    }
    Ok(())
}

/// The signature elements of a segwit v0 witness: the first element of a P2WPKH spend,
/// every element but the witness script of a P2WSH spend.
fn witness_signatures<'a>(tx: &'a Transaction, index: usize, script: &Script) -> Vec<&'a [u8]> {
    let witness: Vec<&[u8]> = tx.input[index].witness.iter().collect();
    if script.is_p2wpkh() {
        witness.into_iter().take(1).collect()
    } else if script.is_p2wsh() {
        let n = witness.len().saturating_sub(1);
        witness.into_iter().take(n).collect()
    } else {
        Vec::new()
    }
}

fn has_high_s_signature(tx: &Transaction, index: usize, script: &Script) -> bool {
    witness_signatures(tx, index, script)
        .into_iter()
        .any(|element| {
            let Ok(signature) = bitcoin::ecdsa::Signature::from_slice(element) else {
                return false;
            };
            let mut normalized = signature.signature;
            normalized.normalize_s();
            normalized != signature.signature
        })
}

/// Core's script error for a failed P2WPKH / P2WSH spend where it can be derived from
/// the witness alone; a generic reason otherwise.
fn explain_failure(tx: &Transaction, index: usize, script: &Script) -> String {
    let witness: Vec<&[u8]> = tx.input[index].witness.iter().collect();
    let program = &script.as_bytes()[2..];
    if script.is_p2wpkh() {
        if witness.len() != 2 {
            return "Witness program hash mismatch".into();
        }
        if hash160::Hash::hash(witness[1]).as_byte_array() != program {
            return "Witness program hash mismatch".into();
        }
        if !witness[0].is_empty() {
            // A non-empty signature that fails: Core's NULLFAIL rule reports it so.
            return "Signature must be zero for failed CHECK(MULTI)SIG operation".into();
        }
    }
    if script.is_p2wsh() {
        let matches = witness
            .last()
            .is_some_and(|ws| sha256::Hash::hash(ws).as_byte_array() == program);
        if !matches {
            return "Witness program hash mismatch".into();
        }
    }
    "Script evaluation failed".into()
}

fn verify_taproot_key_spend(
    secp: &Secp256k1<VerifyOnly>,
    sighashes: &mut SighashCache<&Transaction>,
    tx: &Transaction,
    index: usize,
    prevouts: &[TxOut],
) -> Result<(), String> {
    let witness = &tx.input[index].witness;
    let mut elements: Vec<&[u8]> = witness.iter().collect();
    let annex = match elements.as_slice() {
        [.., last] if elements.len() >= 2 && last.first() == Some(&0x50) => {
            let annex = Annex::new(last).map_err(|_| "Invalid taproot annex".to_owned())?;
            elements.pop();
            Some(annex)
        }
        _ => None,
    };
    let [signature] = elements.as_slice() else {
        return Err(if elements.is_empty() {
            "Witness program was passed an empty witness".into()
        } else {
            "Taproot script-path spends are not supported by the embedded regtest chain".into()
        });
    };
    let signature = taproot::Signature::from_slice(signature)
        .map_err(|_| "Invalid Schnorr signature".to_owned())?;
    let program = &prevouts[index].script_pubkey.as_bytes()[2..];
    let key =
        XOnlyPublicKey::from_slice(program).map_err(|_| "Invalid taproot output key".to_owned())?;
    let sighash = sighashes
        .taproot_signature_hash(
            index,
            &Prevouts::All(prevouts),
            annex,
            None,
            signature.sighash_type,
        )
        .map_err(|e| format!("Invalid taproot sighash: {e}"))?;
    let message = Message::from_digest(sighash.to_byte_array());
    secp.verify_schnorr(&signature.signature, &message, &key)
        .map_err(|_| "Invalid Schnorr signature".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_formatted_like_core() {
        assert_eq!(format_money(Amount::from_sat(100_000_000)), "1.0");
        assert_eq!(format_money(Amount::from_sat(1_000)), "0.00001");
        assert_eq!(format_money(Amount::from_sat(4_899_997_180)), "48.9999718");
        assert_eq!(format_money(Amount::ZERO), "0.0");
    }
}
