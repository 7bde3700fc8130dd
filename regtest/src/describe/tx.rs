//! Transactions as Core's `TxToUniv` renders them, with or without the outputs they
//! spend (block undo data): `getrawtransaction`, `getblock` verbosity 2 and 3.

use bitcoin::consensus::encode::serialize_hex;
use bitcoin::hex::DisplayHex;
use bitcoin::{Amount, BlockHash, Network, Transaction, TxOut};
use serde_json::{Map, Value};

use super::numbers::btc_value;
use super::script::{script_pubkey_json, script_sig_json};

/// An output spent by a transaction input, as block undo data records it: what
/// `getblock` verbosity 2 needs for `fee`, and verbosity 3 (and `getrawtransaction`
/// verbosity 2) for `prevout`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpentOutput {
    /// The spent output.
    pub txout: TxOut,
    /// Height of the block that created it.
    pub height: u32,
    /// Whether it was created by a coinbase transaction (`generated`).
    pub is_coinbase: bool,
}

/// Renders a transaction; `undo` holds the spent outputs (one per input) and whether to
/// show them as `prevout`, with `fee` already computed.
fn render_tx(
    tx: &Transaction,
    network: Network,
    undo: Option<(&[SpentOutput], bool, Amount)>,
) -> Map<String, Value> {
    let mut entry = Map::new();
    entry.insert("txid".into(), Value::from(tx.compute_txid().to_string()));
    entry.insert("hash".into(), Value::from(tx.compute_wtxid().to_string()));
    // Core v30 keeps the version as an unsigned 32-bit number.
    entry.insert("version".into(), Value::from(tx.version.0 as u32));
    entry.insert("size".into(), Value::from(tx.total_size()));
    entry.insert("vsize".into(), Value::from(tx.vsize()));
    entry.insert("weight".into(), Value::from(tx.weight().to_wu()));
    entry.insert(
        "locktime".into(),
        Value::from(tx.lock_time.to_consensus_u32()),
    );

    let coinbase = tx.is_coinbase();
    let vin: Vec<Value> = tx
        .input
        .iter()
        .enumerate()
        .map(|(i, input)| {
            let mut object = Map::new();
            if coinbase {
                object.insert(
                    "coinbase".into(),
                    Value::from(input.script_sig.as_bytes().to_lower_hex_string()),
                );
            } else {
                object.insert(
                    "txid".into(),
                    Value::from(input.previous_output.txid.to_string()),
                );
                object.insert("vout".into(), Value::from(input.previous_output.vout));
                object.insert("scriptSig".into(), script_sig_json(&input.script_sig));
            }
            if !input.witness.is_empty() {
                let items: Vec<Value> = input
                    .witness
                    .iter()
                    .map(|item| Value::from(item.to_lower_hex_string()))
                    .collect();
                object.insert("txinwitness".into(), Value::Array(items));
            }
            if let Some((spent, true, _)) = undo {
                if let Some(spent) = spent.get(i) {
                    object.insert("prevout".into(), prevout_json(spent, network));
                }
            }
            object.insert(
                "sequence".into(),
                Value::from(input.sequence.to_consensus_u32()),
            );
            Value::Object(object)
        })
        .collect();
    entry.insert("vin".into(), Value::Array(vin));

    let vout: Vec<Value> = tx
        .output
        .iter()
        .enumerate()
        .map(|(n, output)| {
            let mut object = Map::new();
            object.insert("value".into(), btc_value(output.value));
            object.insert("n".into(), Value::from(n));
            object.insert(
                "scriptPubKey".into(),
                script_pubkey_json(&output.script_pubkey, network),
            );
            Value::Object(object)
        })
        .collect();
    entry.insert("vout".into(), Value::Array(vout));

    if let Some((_, _, fee)) = undo {
        entry.insert("fee".into(), btc_value(fee));
    }
    entry.insert("hex".into(), Value::from(serialize_hex(tx)));
    entry
}

/// The `prevout` object of an input: `{generated, height, value, scriptPubKey}`.
fn prevout_json(spent: &SpentOutput, network: Network) -> Value {
    let mut object = Map::new();
    object.insert("generated".into(), Value::from(spent.is_coinbase));
    object.insert("height".into(), Value::from(spent.height));
    object.insert("value".into(), btc_value(spent.txout.value));
    object.insert(
        "scriptPubKey".into(),
        script_pubkey_json(&spent.txout.script_pubkey, network),
    );
    Value::Object(object)
}

/// A transaction as Core's `TxToUniv` renders it without undo data (`getrawtransaction`
/// verbosity 1, `getblock` verbosity 2 when undo data is missing, `decoderawtransaction`
/// plus `hex`): `txid, hash, version, size, vsize, weight, locktime, vin, vout, hex`.
///
/// Coinbase inputs are `{coinbase, txinwitness?, sequence}`, others
/// `{txid, vout, scriptSig, txinwitness?, sequence}`; outputs are
/// `{value, n, scriptPubKey}`. `getrawtransaction` adds the block fields with
/// [`add_tx_block_fields`].
pub fn tx_json(tx: &Transaction, network: Network) -> Map<String, Value> {
    render_tx(tx, network, None)
}

/// A transaction with its spent outputs (`spent[i]` is what input `i` spends), as Core
/// renders it with undo data: a `fee` (inputs minus outputs) after `vout`, and, when
/// `show_prevouts` (`getblock` verbosity 3, `getrawtransaction` verbosity 2), a
/// `prevout` `{generated, height, value, scriptPubKey}` in each input, between
/// `txinwitness` and `sequence`.
///
/// A coinbase transaction has no undo data: it renders as [`tx_json`] whatever `spent`
/// holds. Returns `None` if `spent` does not have one entry per input, or if the inputs
/// are worth less than the outputs (or the sums overflow).
pub fn tx_json_with_undo(
    tx: &Transaction,
    network: Network,
    spent: &[SpentOutput],
    show_prevouts: bool,
) -> Option<Map<String, Value>> {
    if tx.is_coinbase() {
        return Some(tx_json(tx, network));
    }
    if spent.len() != tx.input.len() {
        return None;
    }
    let total_in = spent
        .iter()
        .try_fold(Amount::ZERO, |sum, s| sum.checked_add(s.txout.value))?;
    let total_out = tx
        .output
        .iter()
        .try_fold(Amount::ZERO, |sum, o| sum.checked_add(o.value))?;
    let fee = total_in.checked_sub(total_out)?;
    Some(render_tx(tx, network, Some((spent, show_prevouts, fee))))
}

/// Adds what `getrawtransaction` prints after `hex` for a transaction found in a block:
/// `blockhash`, `confirmations`, and `time` and `blocktime` (both the block's header time)
/// when the block is in the active chain. For a block outside the active chain Core
/// prints `confirmations: 0` and no times: pass `0` and `None`.
///
/// (With a `blockhash` argument Core also prints `in_active_chain`, as the first key; the
/// caller adds it.)
pub fn add_tx_block_fields(
    entry: &mut Map<String, Value>,
    block_hash: BlockHash,
    confirmations: i64,
    block_time: Option<u32>,
) {
    entry.insert("blockhash".into(), Value::from(block_hash.to_string()));
    entry.insert("confirmations".into(), Value::from(confirmations));
    if let Some(time) = block_time {
        entry.insert("time".into(), Value::from(time));
        entry.insert("blocktime".into(), Value::from(time));
    }
}
