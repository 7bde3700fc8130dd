//! Reads of the block chain: `getblockchaininfo` (with Core's `size_on_disk`),
//! `getblockcount`, `getbestblockhash`, `getblockhash`, `getblockheader`, `getblock`,
//! `gettxout` and `getblockfilter`.

use bitcoin::consensus::encode::{self, VarInt};
use bitcoin::{BlockHash, Network, OutPoint, Script, TxOut, Txid};
use serde_json::{json, Map, Value};

use super::{block_not_found, err, spent_outputs};
use crate::args::Args;
use crate::chain::{BlockEntry, ChainState, Coin};
use crate::describe::{self, SpentOutput};
use crate::rpc::RpcError;

pub(super) fn block_hash(state: &ChainState, args: &Args) -> Result<Value, RpcError> {
    let height: i32 = args.int_or(0, 0)?;
    u32::try_from(height)
        .ok()
        .and_then(|h| state.hash_at(h))
        .map(|hash| json!(hash.to_string()))
        .ok_or_else(|| err(RpcError::INVALID_PARAMETER, "Block height out of range"))
}

pub(super) fn block_header(state: &ChainState, args: &Args) -> Result<Value, RpcError> {
    let hash: BlockHash = args.hash(0, "hash")?;
    let verbose = args.bool_or(1, true);
    let entry = state.entry(&hash).ok_or_else(block_not_found)?;
    if verbose {
        Ok(Value::Object(header_json(state, &hash, entry)))
    } else {
        Ok(json!(encode::serialize_hex(&entry.block.header)))
    }
}

/// `getblock`: the verbosity is read before the block is looked up, as in Core.
pub(super) fn block(state: &ChainState, args: &Args) -> Result<Value, RpcError> {
    let hash: BlockHash = args.hash(0, "blockhash")?;
    let verbosity = args.verbosity(1, 1)?;
    let entry = state.entry(&hash).ok_or_else(block_not_found)?;
    if verbosity <= 0 {
        return Ok(json!(encode::serialize_hex(&*entry.block)));
    }
    Ok(Value::Object(block_json(
        state,
        &hash,
        entry,
        i64::from(verbosity),
    )))
}

/// `getblockfilter` as Core without `-blockfilterindex` answers it.
pub(super) fn block_filter(args: &Args) -> Result<Value, RpcError> {
    let _hash: BlockHash = args.hash(0, "blockhash")?;
    let filter = args.str(1).unwrap_or("basic");
    if filter != "basic" {
        return Err(err(RpcError::INVALID_ADDRESS_OR_KEY, "Unknown filtertype"));
    }
    Err(err(
        RpcError::MISC_ERROR,
        format!("Index is not enabled for filtertype {filter}"),
    ))
}

pub(super) fn blockchain_info(state: &ChainState) -> Value {
    let tip = state.tip_entry();
    let header = &tip.block.header;
    let summary = header_json(state, &state.tip(), tip);
    json!({
        "chain": "regtest",
        "blocks": state.height(),
        "headers": state.height(),
        "bestblockhash": state.tip().to_string(),
        "bits": summary.get("bits").cloned().unwrap_or(Value::Null),
        "target": summary.get("target").cloned().unwrap_or(Value::Null),
        "difficulty": summary.get("difficulty").cloned().unwrap_or(Value::Null),
        "time": header.time,
        "mediantime": tip.median_time,
        "verificationprogress": 1,
        "initialblockdownload": false,
        "chainwork": summary.get("chainwork").cloned().unwrap_or(Value::Null),
        "size_on_disk": size_on_disk(state),
        "pruned": false,
        "warnings": [],
    })
}

/// Core's `size_on_disk` (`CalculateCurrentUsage`): the block files (every stored
/// block, stale ones included, each with an 8-byte record header) and the undo files
/// (each connected block's undo data with an 8-byte header and a 32-byte checksum). The
/// chain keeps undo data for the active chain only, so that of disconnected blocks,
/// which Core keeps on disk, is not counted.
fn size_on_disk(state: &ChainState) -> usize {
    state
        .index
        .iter()
        .map(|(hash, entry)| {
            let undo = state
                .block_undo(hash)
                .map_or(0, |undo| block_undo_size(undo) + 8 + 32);
            entry.block.total_size() + 8 + undo
        })
        .sum()
}

/// Serialized size of Core's `CBlockUndo`: per non-coinbase transaction, the coins its
/// inputs spent.
fn block_undo_size(undo: &[Vec<(OutPoint, Coin)>]) -> usize {
    let tx_size = |coins: &Vec<(OutPoint, Coin)>| {
        VarInt(coins.len() as u64).size()
            + coins
                .iter()
                .map(|(_, coin)| coin_undo_size(coin))
                .sum::<usize>()
    };
    VarInt(undo.len() as u64).size() + undo.iter().map(tx_size).sum::<usize>()
}

/// Serialized size of one spent coin in undo data (`TxInUndoFormatter`): height and
/// coinbase flag, a dummy version byte above height 0, the compressed output.
fn coin_undo_size(coin: &Coin) -> usize {
    let code = u64::from(coin.height) * 2 + u64::from(coin.coinbase);
    core_varint_len(code)
        + usize::from(coin.height > 0)
        + core_varint_len(compress_amount(coin.output.value.to_sat()))
        + compressed_script_len(&coin.output.script_pubkey)
}

/// Length of Core's `VARINT` (base 128, most significant group first, with offsets).
fn core_varint_len(mut n: u64) -> usize {
    let mut len = 1;
    while n > 0x7f {
        n = (n >> 7) - 1;
        len += 1;
    }
    len
}

/// Core's `CompressAmount`.
fn compress_amount(mut n: u64) -> u64 {
    if n == 0 {
        return 0;
    }
    let mut e = 0;
    while n.is_multiple_of(10) && e < 9 {
        n /= 10;
        e += 1;
    }
    if e < 9 {
        let d = n % 10;
        n /= 10;
        1 + (n * 9 + d - 1) * 10 + e
    } else {
        1 + (n - 1) * 10 + 9
    }
}

/// Length of Core's `ScriptCompression`: 21 bytes for P2PKH and P2SH, 33 for a P2PK
/// with a valid key, otherwise the script with its size (plus 6) as a `VARINT`.
fn compressed_script_len(script: &Script) -> usize {
    let compressible_p2pk = match script.as_bytes() {
        [33, 2 | 3, key @ .., 0xac] => key.len() == 32,
        [65, key @ .., 0xac] => {
            key.len() == 65
                && key.first() == Some(&4)
                && bitcoin::secp256k1::PublicKey::from_slice(key).is_ok()
        }
        _ => false,
    };
    if script.is_p2pkh() || script.is_p2sh() {
        21
    } else if compressible_p2pk {
        33
    } else {
        core_varint_len(script.len() as u64 + 6) + script.len()
    }
}

pub(super) fn tx_out(state: &ChainState, args: &Args) -> Result<Value, RpcError> {
    let txid: Txid = args.hash(0, "txid")?;
    let vout: u32 = args.int_or(1, 0)?;
    let include_mempool = args.bool_or(2, true);
    let outpoint = OutPoint { txid, vout };
    let Some((output, confirmations, coinbase)) = unspent(state, &outpoint, include_mempool) else {
        return Ok(Value::Null);
    };
    Ok(json!({
        "bestblock": state.tip().to_string(),
        "confirmations": confirmations,
        "value": describe::btc_value(output.value),
        "scriptPubKey": describe::script_pubkey_json(&output.script_pubkey, Network::Regtest),
        "coinbase": coinbase,
    }))
}

/// An unspent output as `gettxout` sees it: (output, confirmations, coinbase). With the
/// mempool, outputs of mempool transactions count (0 confirmations) and outputs that
/// mempool transactions spend do not.
fn unspent(
    state: &ChainState,
    outpoint: &OutPoint,
    include_mempool: bool,
) -> Option<(TxOut, u32, bool)> {
    if include_mempool {
        if state.mempool.spender(outpoint).is_some() {
            return None;
        }
        if let Some(output) = state.mempool.output(outpoint) {
            return Some((output.clone(), 0, false));
        }
    }
    let coin = state.coin(outpoint)?;
    let confirmations = (state.height() + 1).saturating_sub(coin.height);
    Some((coin.output.clone(), confirmations, coin.coinbase))
}

/// `getblockheader` verbose fields of a known block.
fn header_json(state: &ChainState, hash: &BlockHash, entry: &BlockEntry) -> Map<String, Value> {
    let prev = (entry.height > 0).then_some(entry.block.header.prev_blockhash);
    describe::header_json(
        &entry.block.header,
        entry.height,
        state.confirmations(hash),
        entry.chainwork,
        entry.block.txdata.len(),
        entry.median_time,
        prev,
        state.next_active(hash),
    )
}

/// `getblock` verbose fields: verbosity 1 lists txids, 2 full transactions with fees,
/// 3 (and above) adds prevouts. Fees and prevouts need undo data, which only active
/// blocks have (as in Core).
fn block_json(
    state: &ChainState,
    hash: &BlockHash,
    entry: &BlockEntry,
    verbosity: i64,
) -> Map<String, Value> {
    let header = header_json(state, hash, entry);
    let block = &entry.block;
    let undo: Option<Vec<Vec<SpentOutput>>> = state
        .block_undo(hash)
        .map(|per_tx| per_tx.iter().map(|inputs| spent_outputs(inputs)).collect());
    describe::block_json(
        header.clone(),
        block,
        Network::Regtest,
        verbosity,
        undo.as_deref(),
    )
    .or_else(|| describe::block_json(header, block, Network::Regtest, verbosity, None))
    .unwrap_or_default()
}
