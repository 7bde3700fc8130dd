//! Reads of the mempool: `getrawmempool`, `getmempoolentry` and `getmempoolinfo`.

use std::collections::{BTreeSet, HashSet};

use bitcoin::{Amount, Txid};
use serde_json::{json, Map, Value};

use super::{btc_per_kvb, err};
use crate::args::Args;
use crate::chain::ChainState;
use crate::describe;
use crate::mempool::MempoolEntry;
use crate::params::{INCREMENTAL_RELAY_SAT_PER_KVB, MAX_MEMPOOL_BYTES, MIN_RELAY_SAT_PER_KVB};
use crate::rpc::RpcError;

pub(super) fn raw_mempool(state: &ChainState, verbose: bool, sequence: bool) -> Value {
    let entries = state.mempool.entries();
    if verbose {
        let map: Map<String, Value> = entries
            .iter()
            .map(|e| (e.txid.to_string(), mempool_entry_json(state, e)))
            .collect();
        return Value::Object(map);
    }
    let txids: Vec<Value> = entries.iter().map(|e| json!(e.txid.to_string())).collect();
    if sequence {
        return json!({ "txids": txids, "mempool_sequence": entries.len() });
    }
    Value::Array(txids)
}

pub(super) fn mempool_entry(state: &ChainState, args: &Args) -> Result<Value, RpcError> {
    let txid: Txid = args.hash(0, "txid")?;
    let entry = state.mempool.get(&txid).ok_or_else(|| {
        err(
            RpcError::INVALID_ADDRESS_OR_KEY,
            "Transaction not in mempool",
        )
    })?;
    Ok(mempool_entry_json(state, entry))
}

fn mempool_entry_json(state: &ChainState, entry: &MempoolEntry) -> Value {
    let pool = &state.mempool;
    let sum = |set: &HashSet<Txid>| -> (usize, u64, Amount) {
        set.iter()
            .filter_map(|t| pool.get(t))
            .fold((0, 0, Amount::ZERO), |(n, size, fee), e| {
                (n + 1, size + e.vsize, fee + e.fee)
            })
    };
    let (ancestors, ancestor_size, ancestor_fees) = sum(&pool.ancestors(&entry.txid));
    let (descendants, descendant_size, descendant_fees) = sum(&pool.descendants(&entry.txid));
    let ids = |set: BTreeSet<Txid>| -> Vec<Value> {
        set.into_iter().map(|t| json!(t.to_string())).collect()
    };
    json!({
        "vsize": entry.vsize,
        "weight": entry.weight,
        "time": entry.time,
        "height": entry.height,
        "descendantcount": descendants,
        "descendantsize": descendant_size,
        "ancestorcount": ancestors,
        "ancestorsize": ancestor_size,
        "wtxid": entry.wtxid.to_string(),
        "fees": {
            "base": describe::btc_value(entry.fee),
            "modified": describe::btc_value(entry.fee),
            "ancestor": describe::btc_value(ancestor_fees),
            "descendant": describe::btc_value(descendant_fees),
        },
        "depends": ids(pool.parents(&entry.txid)),
        "spentby": ids(pool.children(&entry.txid)),
        "bip125-replaceable": true,
        "unbroadcast": true,
    })
}

pub(super) fn mempool_info(state: &ChainState) -> Value {
    let (bytes, total_fee) = state.mempool.totals();
    let size = state.mempool.len();
    json!({
        "loaded": true,
        "size": size,
        "bytes": bytes,
        "usage": state.mempool.entries().iter().map(|e| e.weight + 640).sum::<u64>(),
        "total_fee": describe::btc_value(total_fee),
        "maxmempool": MAX_MEMPOOL_BYTES,
        "mempoolminfee": btc_per_kvb(MIN_RELAY_SAT_PER_KVB),
        "minrelaytxfee": btc_per_kvb(MIN_RELAY_SAT_PER_KVB),
        "incrementalrelayfee": btc_per_kvb(INCREMENTAL_RELAY_SAT_PER_KVB),
        "unbroadcastcount": size,
        "fullrbf": true,
        "permitbaremultisig": true,
        "maxdatacarriersize": 100_000,
    })
}
