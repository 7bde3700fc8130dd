//! The RPC methods of the embedded chain, answered in Bitcoin Core v30's shapes.
//!
//! Read methods: `getblockchaininfo`, `getblockcount`, `getbestblockhash`,
//! `getblockhash`, `getblockheader`, `getblock`, `gettxout`, `getrawtransaction`,
//! `getrawmempool`, `getmempoolentry`, `getmempoolinfo`, `estimatesmartfee`,
//! `getblockfilter` (no index, as Core without `-blockfilterindex`).
//! Write methods: `sendrawtransaction`, `generatetoaddress`, `generateblock`,
//! `submitblock`, `invalidateblock`, `reconsiderblock`. There are no wallets.

use std::str::FromStr;
use std::sync::Arc;

use bitcoin::consensus::encode;
use bitcoin::{Address, Amount, Block, BlockHash, Network, OutPoint, ScriptBuf, Transaction, Txid};
use serde_json::{json, Map, Value};

use super::args::{opt, req, Args, Kind, Param};
use super::chain::ChainState;
use super::describe::{self, SpentOutput};
use super::mempool::MempoolEntry;
use super::mining::MineError;
use super::params::{
    DEFAULT_MAX_FEERATE_SAT_PER_KVB, INCREMENTAL_RELAY_SAT_PER_KVB, MAX_CONF_TARGET,
    MAX_MEMPOOL_BYTES, MIN_RELAY_SAT_PER_KVB,
};
use super::rpc::{RpcError, RpcHandler};
use super::validation::Reject;
use super::{RegtestChain, RegtestError};

/// The chain's RPC handler.
pub struct ChainRpc {
    chain: Arc<RegtestChain>,
}

impl ChainRpc {
    /// A handler answering from `chain`.
    pub fn new(chain: Arc<RegtestChain>) -> Self {
        ChainRpc { chain }
    }
}

fn err(code: i32, message: impl Into<String>) -> RpcError {
    RpcError::new(code, message)
}

fn block_not_found() -> RpcError {
    err(RpcError::INVALID_ADDRESS_OR_KEY, "Block not found")
}

/// BTC amount as a JSON number.
fn btc(amount: Amount) -> Value {
    json!(amount.to_sat() as f64 / 100_000_000.0)
}

/// A fee rate in sat/kvB as BTC/kvB.
fn btc_per_kvb(sat_per_kvb: u64) -> Value {
    json!(sat_per_kvb as f64 / 100_000_000.0)
}

fn chain_error(e: RegtestError) -> RpcError {
    match e {
        RegtestError::UnknownBlock(_) => block_not_found(),
        other => err(RpcError::MISC_ERROR, other.to_string()),
    }
}

impl RpcHandler for ChainRpc {
    fn call(&self, method: &str, params: &Value, wallet: Option<&str>) -> Result<Value, RpcError> {
        if wallet.is_some() {
            return Err(err(
                RpcError::WALLET_NOT_FOUND,
                "Requested wallet does not exist or is not loaded",
            ));
        }
        let spec =
            spec(method).ok_or_else(|| err(RpcError::METHOD_NOT_FOUND, "Method not found"))?;
        let args = Args::parse(method, params, spec)?;
        match method {
            "sendrawtransaction" => self.send_raw_transaction(&args),
            "generatetoaddress" => self.generate_to_address(&args),
            "generateblock" => self.generate_block(&args),
            "submitblock" => self.submit_block(&args),
            "invalidateblock" | "reconsiderblock" => {
                let hash: BlockHash = args.hash(0, "blockhash")?;
                let mut state = self.chain.lock();
                let result = if method == "invalidateblock" {
                    state.invalidate(&hash)
                } else {
                    state.reconsider(&hash)
                };
                result.map(|()| Value::Null).map_err(chain_error)
            }
            _ => read(&self.chain.lock(), method, &args),
        }
    }
}

/// A parameter list as a `'static` slice.
macro_rules! params {
    ($($param:expr),* $(,)?) => {{
        const PARAMS: &[Param] = &[$($param),*];
        PARAMS
    }};
}

/// Parameters of each method; `None` for unknown methods.
fn spec(method: &str) -> Option<&'static [Param]> {
    Some(match method {
        "getblockchaininfo" | "getblockcount" | "getbestblockhash" | "getmempoolinfo" => params![],
        "getblockhash" => params![req("height", Kind::Num)],
        "getblockheader" => params![req("blockhash", Kind::Str), opt("verbose", Kind::Bool)],
        "getblock" => params![
            req("blockhash", Kind::Str),
            opt("verbosity", Kind::NumOrBool)
        ],
        "gettxout" => params![
            req("txid", Kind::Str),
            req("n", Kind::Num),
            opt("include_mempool", Kind::Bool),
        ],
        "getrawtransaction" => params![
            req("txid", Kind::Str),
            opt("verbosity", Kind::NumOrBool),
            opt("blockhash", Kind::Str),
        ],
        "getrawmempool" => params![
            opt("verbose", Kind::Bool),
            opt("mempool_sequence", Kind::Bool)
        ],
        "getmempoolentry" => params![req("txid", Kind::Str)],
        "estimatesmartfee" => {
            params![
                req("conf_target", Kind::Num),
                opt("estimate_mode", Kind::Str)
            ]
        }
        "getblockfilter" => params![req("blockhash", Kind::Str), opt("filtertype", Kind::Str)],
        "sendrawtransaction" => params![
            req("hexstring", Kind::Str),
            opt("maxfeerate", Kind::Amount),
            opt("maxburnamount", Kind::Amount),
        ],
        "generatetoaddress" => params![
            req("nblocks", Kind::Num),
            req("address", Kind::Str),
            opt("maxtries", Kind::Num),
        ],
        "generateblock" => params![
            req("output", Kind::Str),
            req("transactions", Kind::Arr),
            opt("submit", Kind::Bool),
        ],
        "submitblock" => params![req("hexdata", Kind::Str), opt("dummy", Kind::Str)],
        "invalidateblock" | "reconsiderblock" => params![req("blockhash", Kind::Str)],
        _ => return None,
    })
}

/// An amount parameter in BTC (number or numeric string) as satoshis, like Core's
/// `AmountFromValue`.
fn amount_param(value: &Value) -> Result<Amount, RpcError> {
    let text = match value {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        _ => {
            return Err(err(
                RpcError::TYPE_ERROR,
                "Amount is not a number or string",
            ))
        }
    };
    let amount = Amount::from_str_in(&text, bitcoin::Denomination::Bitcoin)
        .map_err(|_| err(RpcError::TYPE_ERROR, "Invalid amount"))?;
    if amount > Amount::MAX_MONEY {
        return Err(err(RpcError::TYPE_ERROR, "Amount out of range"));
    }
    Ok(amount)
}

fn decode_tx(hex: &str) -> Option<Transaction> {
    encode::deserialize_hex::<Transaction>(hex)
        .ok()
        .filter(|tx| !tx.input.is_empty())
}

fn parse_address(text: &str) -> Option<ScriptBuf> {
    let address = Address::from_str(text)
        .ok()?
        .require_network(Network::Regtest)
        .ok()?;
    Some(address.script_pubkey())
}

impl ChainRpc {
    fn send_raw_transaction(&self, args: &Args) -> Result<Value, RpcError> {
        let tx = decode_tx(args.str(0).unwrap_or_default()).ok_or_else(|| {
            err(
                RpcError::DESERIALIZATION_ERROR,
                "TX decode failed. Make sure the tx has at least one input.",
            )
        })?;
        let max_fee_rate = match args.value(1) {
            Some(value) => amount_param(value)?.to_sat(),
            None => DEFAULT_MAX_FEERATE_SAT_PER_KVB,
        };
        if let Some(max_burn) = args.value(2).map(amount_param).transpose()? {
            let burned = tx
                .output
                .iter()
                .filter(|o| o.script_pubkey.is_op_return())
                .map(|o| o.value)
                .sum::<Amount>();
            if burned > max_burn {
                return Err(err(
                    RpcError::VERIFY_REJECTED,
                    "Unspendable output exceeds maximum configured by user (maxburnamount)",
                ));
            }
        }
        let result = self.chain.lock().accept_to_mempool(tx, Some(max_fee_rate));
        match result {
            Ok(txid) => {
                self.chain.notify_mempool();
                Ok(json!(txid.to_string()))
            }
            Err(Reject::MissingInputs) => Err(err(
                RpcError::VERIFY_ERROR,
                "bad-txns-inputs-missingorspent",
            )),
            Err(Reject::AlreadyInChain) => Err(err(
                RpcError::VERIFY_ALREADY_IN_CHAIN,
                "Transaction outputs already in utxo set",
            )),
            Err(Reject::MaxFeeExceeded) => Err(err(
                RpcError::VERIFY_ERROR,
                "Fee exceeds maximum configured by user (e.g. -maxtxfee, maxfeerate)",
            )),
            Err(Reject::Invalid(reason)) => Err(err(RpcError::VERIFY_REJECTED, reason)),
        }
    }

    fn generate_to_address(&self, args: &Args) -> Result<Value, RpcError> {
        let count = args.int_or(0, 0)?;
        args.int_or(2, 1_000_000)?;
        let script = parse_address(args.str(1).unwrap_or_default())
            .ok_or_else(|| err(RpcError::INVALID_ADDRESS_OR_KEY, "Error: Invalid address"))?;
        let mut hashes = Vec::new();
        let mut state = self.chain.lock();
        for _ in 0..count.max(0) {
            let block = state.mine_from_mempool(&script).map_err(mine_error)?;
            hashes.push(json!(block.block_hash().to_string()));
        }
        Ok(Value::Array(hashes))
    }

    fn generate_block(&self, args: &Args) -> Result<Value, RpcError> {
        let output = args.str(0).unwrap_or_default();
        let script = parse_address(output)
            .or_else(|| raw_descriptor(output))
            .ok_or_else(|| {
                err(
                    RpcError::INVALID_ADDRESS_OR_KEY,
                    "Error: Invalid address or descriptor",
                )
            })?;
        let submit = args.bool_or(2, true);
        let mut state = self.chain.lock();
        let mut txs = Vec::new();
        for item in args
            .value(1)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let text = item.as_str().unwrap_or_default();
            if let Ok(txid) = Txid::from_str(text) {
                let entry = state.mempool.get(&txid).ok_or_else(|| {
                    err(
                        RpcError::INVALID_ADDRESS_OR_KEY,
                        format!("Transaction {txid} not in mempool."),
                    )
                })?;
                txs.push((*entry.tx).clone());
            } else {
                let tx = decode_tx(text).ok_or_else(|| {
                    err(
                        RpcError::DESERIALIZATION_ERROR,
                        format!("Transaction decode failed for {text}. Make sure the tx has at least one input."),
                    )
                })?;
                txs.push(tx);
            }
        }
        let block = state
            .mine_exactly(&script, txs, submit)
            .map_err(mine_error)?;
        let mut result = Map::new();
        result.insert("hash".into(), json!(block.block_hash().to_string()));
        if !submit {
            result.insert("hex".into(), json!(encode::serialize_hex(&block)));
        }
        Ok(Value::Object(result))
    }

    fn submit_block(&self, args: &Args) -> Result<Value, RpcError> {
        let block: Block = encode::deserialize_hex(args.str(0).unwrap_or_default())
            .map_err(|_| err(RpcError::DESERIALIZATION_ERROR, "Block decode failed"))?;
        let mut state = self.chain.lock();
        match state.submit_block(block).map_err(chain_error)? {
            Ok(()) => Ok(Value::Null),
            Err(reason) => Ok(json!(reason)),
        }
    }
}

/// `raw(HEX)` (with or without a checksum) as a script.
fn raw_descriptor(text: &str) -> Option<ScriptBuf> {
    let body = text.split('#').next()?;
    let hex = body.strip_prefix("raw(")?.strip_suffix(')')?;
    ScriptBuf::from_hex(hex).ok()
}

fn mine_error(e: MineError) -> RpcError {
    match e {
        MineError::InvalidBlock(reason) => err(
            RpcError::VERIFY_ERROR,
            format!("TestBlockValidity failed: {reason}"),
        ),
        MineError::Store(e) => chain_error(e),
    }
}

/// Read-only methods, answered under the chain lock.
fn read(state: &ChainState, method: &str, args: &Args) -> Result<Value, RpcError> {
    match method {
        "getblockcount" => Ok(json!(state.height())),
        "getbestblockhash" => Ok(json!(state.tip().to_string())),
        "getblockchaininfo" => Ok(blockchain_info(state)),
        "getblockhash" => {
            let height = args.int_or(0, -1)?;
            u32::try_from(height)
                .ok()
                .and_then(|h| state.hash_at(h))
                .map(|hash| json!(hash.to_string()))
                .ok_or_else(|| err(RpcError::INVALID_PARAMETER, "Block height out of range"))
        }
        "getblockheader" => {
            let hash: BlockHash = args.hash(0, "hash")?;
            let entry = state.entry(&hash).ok_or_else(block_not_found)?;
            if args.bool_or(1, true) {
                Ok(Value::Object(header_json(state, &hash)))
            } else {
                Ok(json!(encode::serialize_hex(&entry.block.header)))
            }
        }
        "getblock" => {
            let hash: BlockHash = args.hash(0, "blockhash")?;
            let entry = state.entry(&hash).ok_or_else(block_not_found)?;
            let verbosity = args.int_or(1, 1)?;
            if verbosity <= 0 {
                return Ok(json!(encode::serialize_hex(&*entry.block)));
            }
            Ok(Value::Object(block_json(state, &hash, verbosity)))
        }
        "gettxout" => tx_out(state, args),
        "getrawtransaction" => raw_transaction(state, args),
        "getrawmempool" => Ok(raw_mempool(
            state,
            args.bool_or(0, false),
            args.bool_or(1, false),
        )),
        "getmempoolentry" => {
            let txid: Txid = args.hash(0, "txid")?;
            let entry = state.mempool.get(&txid).ok_or_else(|| {
                err(
                    RpcError::INVALID_ADDRESS_OR_KEY,
                    "Transaction not in mempool",
                )
            })?;
            Ok(mempool_entry_json(state, entry))
        }
        "getmempoolinfo" => Ok(mempool_info(state)),
        "estimatesmartfee" => estimate_smart_fee(state, args),
        "getblockfilter" => {
            let filter = args.str(1).unwrap_or("basic");
            if filter != "basic" {
                return Err(err(RpcError::INVALID_ADDRESS_OR_KEY, "Unknown filtertype"));
            }
            Err(err(
                RpcError::MISC_ERROR,
                "Index is not enabled for filtertype basic",
            ))
        }
        _ => Err(err(RpcError::METHOD_NOT_FOUND, "Method not found")),
    }
}

fn blockchain_info(state: &ChainState) -> Value {
    let tip = state.tip_entry();
    let header = &tip.block.header;
    let size_on_disk: usize = (0..=state.height())
        .filter_map(|h| state.hash_at(h))
        .filter_map(|h| state.entry(&h))
        .map(|e| e.block.total_size() + 8)
        .sum();
    let summary = header_json(state, &state.tip());
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
        "size_on_disk": size_on_disk,
        "pruned": false,
        "warnings": [],
    })
}

fn tx_out(state: &ChainState, args: &Args) -> Result<Value, RpcError> {
    let txid: Txid = args.hash(0, "txid")?;
    let n = args.int_or(1, 0)?;
    let include_mempool = args.bool_or(2, true);
    let Ok(vout) = u32::try_from(n) else {
        return Err(err(RpcError::INVALID_PARAMETER, "Invalid vout"));
    };
    let outpoint = OutPoint { txid, vout };
    let (output, confirmations, coinbase) = if include_mempool {
        if state.mempool.spender(&outpoint).is_some() {
            return Ok(Value::Null);
        }
        if let Some(output) = state.mempool.output(&outpoint) {
            (output.clone(), 0, false)
        } else if let Some(coin) = state.coin(&outpoint) {
            (
                coin.output.clone(),
                state.height() - coin.height + 1,
                coin.coinbase,
            )
        } else {
            return Ok(Value::Null);
        }
    } else if let Some(coin) = state.coin(&outpoint) {
        (
            coin.output.clone(),
            state.height() - coin.height + 1,
            coin.coinbase,
        )
    } else {
        return Ok(Value::Null);
    };
    Ok(json!({
        "bestblock": state.tip().to_string(),
        "confirmations": confirmations,
        "value": btc(output.value),
        "scriptPubKey": describe::script_pubkey_json(&output.script_pubkey, Network::Regtest),
        "coinbase": coinbase,
    }))
}

fn raw_transaction(state: &ChainState, args: &Args) -> Result<Value, RpcError> {
    let txid: Txid = args.hash(0, "parameter 1")?;
    let verbosity = args.int_or(1, 0)?;
    let genesis = state
        .hash_at(0)
        .and_then(|h| state.entry(&h))
        .map(|e| e.block.txdata[0].compute_txid());
    if Some(txid) == genesis {
        return Err(err(
            RpcError::INVALID_ADDRESS_OR_KEY,
            "The genesis block coinbase is not considered an ordinary transaction and cannot be retrieved",
        ));
    }
    let (tx, block): (Transaction, Option<BlockHash>) = if let Some(hash_text) = args.str(2) {
        let hash: BlockHash = super::args::parse_hash(hash_text, "parameter 3")?;
        let entry = state
            .entry(&hash)
            .ok_or_else(|| err(RpcError::INVALID_ADDRESS_OR_KEY, "Block hash not found"))?;
        let tx = entry.block.txdata.iter().find(|tx| tx.compute_txid() == txid).ok_or_else(|| {
            err(
                RpcError::INVALID_ADDRESS_OR_KEY,
                "No such transaction found in the provided block. Use gettransaction for wallet transactions.",
            )
        })?;
        (tx.clone(), Some(hash))
    } else if let Some(entry) = state.mempool.get(&txid) {
        ((*entry.tx).clone(), None)
    } else if let Some((hash, position)) = state.tx_index.get(&txid) {
        (
            state.index[hash].block.txdata[*position].clone(),
            Some(*hash),
        )
    } else {
        return Err(err(
            RpcError::INVALID_ADDRESS_OR_KEY,
            "No such mempool or blockchain transaction. Use gettransaction for wallet transactions.",
        ));
    };
    if verbosity <= 0 {
        return Ok(json!(encode::serialize_hex(&tx)));
    }
    let mut object = describe::tx_json(&tx, Network::Regtest);
    if let Some(hash) = block {
        let time = state.index[&hash].block.header.time;
        if state.is_active(&hash) {
            describe::add_tx_block_fields(
                &mut object,
                hash,
                state.confirmations(&hash),
                Some(time),
            );
        } else {
            describe::add_tx_block_fields(&mut object, hash, 0, None);
        }
    }
    Ok(Value::Object(object))
}

fn raw_mempool(state: &ChainState, verbose: bool, sequence: bool) -> Value {
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

fn mempool_entry_json(state: &ChainState, entry: &MempoolEntry) -> Value {
    let pool = &state.mempool;
    let sum = |set: &std::collections::HashSet<Txid>| -> (usize, u64, Amount) {
        set.iter()
            .filter_map(|t| pool.get(t))
            .fold((0, 0, Amount::ZERO), |(n, size, fee), e| {
                (n + 1, size + e.vsize, fee + e.fee)
            })
    };
    let (ancestors, ancestor_size, ancestor_fees) = sum(&pool.ancestors(&entry.txid));
    let (descendants, descendant_size, descendant_fees) = sum(&pool.descendants(&entry.txid));
    let ids = |set: std::collections::BTreeSet<Txid>| -> Vec<Value> {
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
            "base": btc(entry.fee),
            "modified": btc(entry.fee),
            "ancestor": btc(ancestor_fees),
            "descendant": btc(descendant_fees),
        },
        "depends": ids(pool.parents(&entry.txid)),
        "spentby": ids(pool.children(&entry.txid)),
        "bip125-replaceable": true,
        "unbroadcast": true,
    })
}

fn mempool_info(state: &ChainState) -> Value {
    let (bytes, total_fee) = state.mempool.totals();
    let size = state.mempool.len();
    json!({
        "loaded": true,
        "size": size,
        "bytes": bytes,
        "usage": state.mempool.entries().iter().map(|e| e.weight + 640).sum::<u64>(),
        "total_fee": btc(total_fee),
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

fn estimate_smart_fee(state: &ChainState, args: &Args) -> Result<Value, RpcError> {
    let target = args.int_or(0, 0)?;
    if !(1..=MAX_CONF_TARGET as i64).contains(&target) {
        return Err(err(
            RpcError::INVALID_PARAMETER,
            format!("Invalid conf_target, must be between 1 and {MAX_CONF_TARGET}"),
        ));
    }
    let mode = args.str(1).unwrap_or("economical").to_ascii_lowercase();
    let conservative = match mode.as_str() {
        "unset" | "economical" => false,
        "conservative" => true,
        _ => {
            return Err(err(
                RpcError::INVALID_PARAMETER,
                "Invalid estimate_mode parameter, must be one of: \"unset\", \"economical\", \"conservative\"",
            ))
        }
    };
    Ok(match state.fees.estimate(target as u32, conservative) {
        Some((rate, blocks)) => json!({ "feerate": btc_per_kvb(rate), "blocks": blocks }),
        None => json!({ "errors": ["Insufficient data or no feerate found"], "blocks": 0 }),
    })
}

/// `getblockheader` verbose fields of a known block.
fn header_json(state: &ChainState, hash: &BlockHash) -> Map<String, Value> {
    let entry = &state.index[hash];
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
fn block_json(state: &ChainState, hash: &BlockHash, verbosity: i64) -> Map<String, Value> {
    let header = header_json(state, hash);
    let block = &state.index[hash].block;
    let undo: Option<Vec<Vec<SpentOutput>>> = state.block_undo(hash).map(|per_tx| {
        per_tx
            .iter()
            .map(|inputs| {
                inputs
                    .iter()
                    .map(|(_, coin)| SpentOutput {
                        txout: coin.output.clone(),
                        height: coin.height,
                        is_coinbase: coin.coinbase,
                    })
                    .collect()
            })
            .collect()
    });
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
