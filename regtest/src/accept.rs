//! Mempool acceptance, following Bitcoin Core v30's order of checks: consensus checks,
//! standardness, finality, inputs, sequence locks, amounts, fees, full-RBF replacement
//! rules, then scripts.
//!
//! Not modelled: ancestor/descendant package limits, TRUC (v3) topology rules,
//! standardness-only script flags (libbitcoinconsensus only knows consensus flags).

use std::collections::HashSet;
use std::sync::Arc;

use bitcoin::{Amount, OutPoint, ScriptBuf, Transaction, TxOut, Txid};

use super::chain::{now_secs, ChainState};
use super::mempool::MempoolEntry;
use super::params::{
    fee_at, sat_per_kvb, COINBASE_MATURITY, INCREMENTAL_RELAY_SAT_PER_KVB,
    MAX_REPLACEMENT_EVICTIONS, MAX_STANDARD_TX_WEIGHT, MIN_RELAY_SAT_PER_KVB,
};
use super::validation::{
    check_transaction, format_money, is_final, sequence_locks_ok, verify_scripts, Reject,
    ScriptRules,
};

/// Core's `CFeeRate::ToString`: sat/kvB printed as BTC/kvB with 8 decimals.
fn format_fee_rate(sat_per_kvb: u64) -> String {
    format!(
        "{}.{:08} BTC/kvB",
        sat_per_kvb / 100_000_000,
        sat_per_kvb % 100_000_000
    )
}

/// Whether `script` is a standard output type (Core's `IsStandard` for outputs).
fn is_standard_output(script: &ScriptBuf) -> bool {
    let bytes = script.as_bytes();
    let is_anchor = bytes == [0x51, 0x02, 0x4e, 0x73];
    script.is_p2pkh()
        || script.is_p2sh()
        || script.is_p2wpkh()
        || script.is_p2wsh()
        || script.is_p2tr()
        || script.is_p2pk()
        || script.is_multisig()
        || script.is_op_return()
        || script.is_witness_program()
        || is_anchor
}

fn is_dust(output: &TxOut) -> bool {
    !output.script_pubkey.is_op_return() && output.value < output.script_pubkey.minimal_non_dust()
}

impl ChainState {
    /// Accepts `tx` into the mempool or says why not. `max_fee_rate` (sat/kvB) caps the
    /// fee like `sendrawtransaction`'s `maxfeerate`; `None` or zero means no cap.
    pub fn accept_to_mempool(
        &mut self,
        tx: Transaction,
        max_fee_rate: Option<u64>,
    ) -> Result<Txid, Reject> {
        let txid = tx.compute_txid();
        if self.mempool.contains(&txid) {
            return Ok(txid);
        }
        let already_confirmed = (0..tx.output.len() as u32)
            .any(|vout| self.utxos.contains_key(&OutPoint { txid, vout }));
        if already_confirmed {
            return Err(Reject::AlreadyInChain);
        }

        check_transaction(&tx).map_err(Reject::Invalid)?;
        if tx.is_coinbase() {
            return Err(Reject::invalid("coinbase"));
        }
        self.check_standard(&tx)?;
        let height = self.height() + 1;
        let cutoff = self.tip_median_time();
        if !is_final(&tx, height, cutoff) {
            return Err(Reject::invalid("non-final"));
        }

        // Inputs: confirmed coins or outputs of mempool transactions; spends of outputs
        // another mempool transaction already spends are conflicts (full RBF).
        let mut conflicts = HashSet::new();
        let mut prevouts = Vec::with_capacity(tx.input.len());
        let mut ages = Vec::with_capacity(tx.input.len());
        for input in &tx.input {
            let outpoint = input.previous_output;
            if let Some(spender) = self.mempool.spender(&outpoint) {
                conflicts.insert(spender);
            }
            if let Some(coin) = self.utxos.get(&outpoint) {
                if coin.coinbase && height - coin.height < COINBASE_MATURITY {
                    return Err(Reject::Invalid(format!(
                        "bad-txns-premature-spend-of-coinbase, tried to spend coinbase at depth {}",
                        height - coin.height
                    )));
                }
                ages.push(self.coin_age(coin.height));
                prevouts.push(coin.output.clone());
            } else if let Some(output) = self.mempool.output(&outpoint) {
                ages.push(self.coin_age(height));
                prevouts.push(output.clone());
            } else {
                return Err(Reject::MissingInputs);
            }
        }
        if !sequence_locks_ok(&tx, &ages, height, cutoff) {
            return Err(Reject::invalid("non-BIP68-final"));
        }

        let value_in: Amount = prevouts.iter().map(|o| o.value).sum();
        let value_out: Amount = tx.output.iter().map(|o| o.value).sum();
        if value_in > Amount::MAX_MONEY {
            return Err(Reject::invalid("bad-txns-inputvalues-outofrange"));
        }
        let Some(fee) = value_in.checked_sub(value_out) else {
            return Err(Reject::Invalid(format!(
                "bad-txns-in-belowout, value in ({}) < value out ({})",
                format_money(value_in),
                format_money(value_out)
            )));
        };
        let vsize = tx.vsize() as u64;
        let dust = tx.output.iter().filter(|o| is_dust(o)).count();
        if dust > 0 && fee > Amount::ZERO {
            return Err(Reject::invalid("dust, tx with dust output must be 0-fee"));
        }
        let min_fee = fee_at(MIN_RELAY_SAT_PER_KVB, vsize);
        if fee < min_fee {
            return Err(Reject::Invalid(format!(
                "min relay fee not met, {} < {}",
                fee.to_sat(),
                min_fee.to_sat()
            )));
        }
        if let Some(max) = max_fee_rate.filter(|max| *max > 0) {
            if fee > fee_at(max, vsize) {
                return Err(Reject::MaxFeeExceeded);
            }
        }

        let evicted = self.check_replacement(&tx, txid, fee, vsize, &conflicts)?;

        verify_scripts(&self.secp, &tx, &prevouts, ScriptRules::Mempool).map_err(|(input, reason)| {
            let prevout = tx.input[input].previous_output;
            Reject::Invalid(format!(
                "mempool-script-verify-flag-failed ({reason}), input {input} of {txid} (wtxid {}), spending {}:{}",
                tx.compute_wtxid(),
                prevout.txid,
                prevout.vout
            ))
        })?;

        for conflict in evicted {
            for removed in self.mempool.remove_with_descendants(&conflict) {
                self.verified.remove(&removed.wtxid);
            }
        }
        let wtxid = tx.compute_wtxid();
        self.verified.insert(wtxid);
        self.mempool.insert(MempoolEntry {
            txid,
            wtxid,
            fee,
            vsize,
            weight: tx.weight().to_wu(),
            time: now_secs(),
            height: self.height(),
            sequence: 0,
            tx: Arc::new(tx),
        });
        Ok(txid)
    }

    fn check_standard(&self, tx: &Transaction) -> Result<(), Reject> {
        if !(1..=3).contains(&tx.version.0) {
            return Err(Reject::invalid("version"));
        }
        if tx.weight() > MAX_STANDARD_TX_WEIGHT {
            return Err(Reject::invalid("tx-size"));
        }
        if tx.base_size() < 65 {
            return Err(Reject::invalid("tx-size-small"));
        }
        for input in &tx.input {
            if input.script_sig.len() > 1650 {
                return Err(Reject::invalid("scriptsig-size"));
            }
            if !input.script_sig.is_push_only() {
                return Err(Reject::invalid("scriptsig-not-pushonly"));
            }
        }
        if !tx
            .output
            .iter()
            .all(|o| is_standard_output(&o.script_pubkey))
        {
            return Err(Reject::invalid("scriptpubkey"));
        }
        if tx.output.iter().filter(|o| is_dust(o)).count() > 1 {
            return Err(Reject::invalid("dust"));
        }
        Ok(())
    }

    /// Full-RBF rules (BIP125 rules 3, 4 and 6 as Core v30 applies them): returns the
    /// transactions the replacement evicts.
    fn check_replacement(
        &self,
        tx: &Transaction,
        txid: Txid,
        fee: Amount,
        vsize: u64,
        conflicts: &HashSet<Txid>,
    ) -> Result<Vec<Txid>, Reject> {
        if conflicts.is_empty() {
            return Ok(Vec::new());
        }
        let mut evicted = HashSet::new();
        for conflict in conflicts {
            evicted.extend(self.mempool.descendants(conflict));
        }
        if evicted.len() > MAX_REPLACEMENT_EVICTIONS {
            return Err(Reject::Invalid(format!(
                "too many potential replacements, rejecting replacement {txid}; too many potential replacements ({} > {MAX_REPLACEMENT_EVICTIONS})",
                evicted.len()
            )));
        }
        if tx
            .input
            .iter()
            .any(|input| evicted.contains(&input.previous_output.txid))
        {
            return Err(Reject::invalid("bad-txns-spends-conflicting-tx"));
        }
        let new_rate = sat_per_kvb(fee, vsize);
        for conflict in conflicts {
            let Some(entry) = self.mempool.get(conflict) else {
                continue;
            };
            let old_rate = sat_per_kvb(entry.fee, entry.vsize);
            if new_rate <= old_rate {
                return Err(Reject::Invalid(format!(
                    "insufficient fee, rejecting replacement {txid}; new feerate {} <= old feerate {}",
                    format_fee_rate(new_rate),
                    format_fee_rate(old_rate)
                )));
            }
        }
        let replaced_fees: Amount = evicted
            .iter()
            .filter_map(|t| self.mempool.get(t))
            .map(|e| e.fee)
            .sum();
        if fee < replaced_fees {
            return Err(Reject::Invalid(format!(
                "insufficient fee, rejecting replacement {txid}, less fees than conflicting txs; {} < {}",
                format_money(fee),
                format_money(replaced_fees)
            )));
        }
        let additional = fee - replaced_fees;
        let relay = fee_at(INCREMENTAL_RELAY_SAT_PER_KVB, vsize);
        if additional < relay {
            return Err(Reject::Invalid(format!(
                "insufficient fee, rejecting replacement {txid}, not enough additional fees to relay; {} < {}",
                format_money(additional),
                format_money(relay)
            )));
        }
        Ok(evicted.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fee_rates_print_like_core() {
        assert_eq!(format_fee_rate(4545), "0.00004545 BTC/kvB");
        assert_eq!(format_fee_rate(20_000), "0.00020000 BTC/kvB");
    }
}
