//! Block headers and blocks as Core's `getblockheader` and `getblock` render them.

use bitcoin::block::Header;
use bitcoin::{Block, BlockHash, Network, Transaction};
use serde_json::{Map, Value};

use super::numbers::{chainwork_hex, core_f64, difficulty, target_hex};
use super::tx::{tx_json, tx_json_with_undo, SpentOutput};

/// A block header as Core's `getblockheader` (verbose) renders it, keys in Core's order:
/// `hash, confirmations, height, version, versionHex, merkleroot, time, mediantime, nonce,
/// bits, target, difficulty, chainwork, nTx, previousblockhash?, nextblockhash?`.
///
/// The chain context is passed in: `confirmations` (tip height − height + 1 in the active
/// chain, −1 outside it), `chainwork` (total work up to and including this block),
/// `n_tx` (transactions in the block), `median_time` (median time past of this block),
/// `prev` (absent only for genesis) and `next` (the next block in the active chain; absent
/// for the tip and for blocks outside the active chain).
#[allow(clippy::too_many_arguments)]
pub fn header_json(
    header: &Header,
    height: u32,
    confirmations: i64,
    chainwork: u128,
    n_tx: usize,
    median_time: u32,
    prev: Option<BlockHash>,
    next: Option<BlockHash>,
) -> Map<String, Value> {
    let version = header.version.to_consensus();
    let mut entry = Map::new();
    entry.insert("hash".into(), Value::from(header.block_hash().to_string()));
    entry.insert("confirmations".into(), Value::from(confirmations));
    entry.insert("height".into(), Value::from(height));
    entry.insert("version".into(), Value::from(version));
    entry.insert("versionHex".into(), Value::from(format!("{version:08x}")));
    entry.insert(
        "merkleroot".into(),
        Value::from(header.merkle_root.to_string()),
    );
    entry.insert("time".into(), Value::from(header.time));
    entry.insert("mediantime".into(), Value::from(median_time));
    entry.insert("nonce".into(), Value::from(header.nonce));
    entry.insert(
        "bits".into(),
        Value::from(format!("{:08x}", header.bits.to_consensus())),
    );
    entry.insert("target".into(), Value::from(target_hex(header.bits)));
    entry.insert("difficulty".into(), core_f64(difficulty(header.bits)));
    entry.insert("chainwork".into(), Value::from(chainwork_hex(chainwork)));
    entry.insert("nTx".into(), Value::from(n_tx));
    if let Some(prev) = prev {
        entry.insert("previousblockhash".into(), Value::from(prev.to_string()));
    }
    if let Some(next) = next {
        entry.insert("nextblockhash".into(), Value::from(next.to_string()));
    }
    entry
}

/// Size of a Bitcoin compact-size integer.
fn compact_size_len(n: usize) -> usize {
    match n {
        0..=0xfc => 1,
        0xfd..=0xffff => 3,
        0x1_0000..=0xffff_ffff => 5,
        _ => 9,
    }
}

/// A block's size without witness data (Core's `strippedsize`).
pub fn block_stripped_size(block: &Block) -> usize {
    Header::SIZE
        + compact_size_len(block.txdata.len())
        + block
            .txdata
            .iter()
            .map(Transaction::base_size)
            .sum::<usize>()
}

/// A block as Core's `getblock` renders it for verbosity 1 and up: the header fields
/// (from [`header_json`], passed in) followed by `strippedsize, size, weight, tx`.
///
/// `tx` lists txids for verbosity 1 (and below), transaction objects for 2, and for 3 and
/// above (Core treats every value ≥ 3 as 3) transaction objects with `prevout`s. Undo
/// data, when given, holds one entry per non-coinbase transaction (`undo[i]` for
/// `block.txdata[i + 1]`, one [`SpentOutput`] per input) and adds `fee` (verbosity ≥ 2)
/// and `prevout` (verbosity ≥ 3); without it the transactions render as [`tx_json`], as
/// Core does for blocks without undo data. The coinbase never has `fee` or `prevout`.
///
/// Returns `None` if the undo data does not match the block's transactions (see
/// [`tx_json_with_undo`]).
pub fn block_json(
    header_fields: Map<String, Value>,
    block: &Block,
    network: Network,
    verbosity: i64,
    undo: Option<&[Vec<SpentOutput>]>,
) -> Option<Map<String, Value>> {
    let mut entry = header_fields;
    entry.insert(
        "strippedsize".into(),
        Value::from(block_stripped_size(block)),
    );
    entry.insert("size".into(), Value::from(block.total_size()));
    entry.insert("weight".into(), Value::from(block.weight().to_wu()));
    let txs: Vec<Value> = if verbosity <= 1 {
        block
            .txdata
            .iter()
            .map(|tx| Value::from(tx.compute_txid().to_string()))
            .collect()
    } else {
        if let Some(undo) = undo {
            if undo.len() + 1 != block.txdata.len() {
                return None;
            }
        }
        let mut txs = Vec::with_capacity(block.txdata.len());
        for (i, tx) in block.txdata.iter().enumerate() {
            let spent = i
                .checked_sub(1)
                .and_then(|i| undo.and_then(|undo| undo.get(i)));
            let object = match spent {
                Some(spent) => tx_json_with_undo(tx, network, spent, verbosity >= 3)?,
                None => tx_json(tx, network),
            };
            txs.push(Value::Object(object));
        }
        txs
    };
    entry.insert("tx".into(), Value::Array(txs));
    Some(entry)
}
