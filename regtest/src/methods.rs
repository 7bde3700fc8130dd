//! The RPC methods of the embedded chain, answered in Bitcoin Core v30's shapes.
//!
//! Read methods: `getblockchaininfo`, `getblockcount`, `getbestblockhash`,
//! `getblockhash`, `getblockheader`, `getblock`, `gettxout`, `getrawtransaction`,
//! `getrawmempool`, `getmempoolentry`, `getmempoolinfo`, `estimatesmartfee`,
//! `getblockfilter` (no index, as Core without `-blockfilterindex`).
//! Write methods: `sendrawtransaction`, `generatetoaddress`, `generateblock`,
//! `submitblock`, `invalidateblock`, `reconsiderblock`. There are no wallets: calls to
//! `/wallet/<name>` answer the chain methods as Core does (it ignores the wallet for
//! non-wallet methods) and anything else with -18, Core's answer to a wallet method for
//! a wallet that is not loaded.
//!
//! Parameters are checked as Core checks them (see `args`); each method then reads them
//! in Core's order, so that a call with several faults fails on the one Core reports.

use std::str::FromStr;
use std::sync::Arc;

use bitcoin::consensus::encode::{self, VarInt};
use bitcoin::script::Instruction;
use bitcoin::{
    Address, Amount, Block, BlockHash, Network, OutPoint, Script, ScriptBuf, Transaction, TxOut,
    Txid,
};
use serde_json::{json, Map, Value};

use super::args::{self, opt, req, Args, Kind, Param};
use super::chain::{BlockEntry, ChainState, Coin};
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

/// A fee rate in sat/kvB as BTC/kvB.
fn btc_per_kvb(sat_per_kvb: u64) -> Value {
    describe::btc_value(Amount::from_sat(sat_per_kvb))
}

fn chain_error(e: RegtestError) -> RpcError {
    match e {
        RegtestError::UnknownBlock(_) => block_not_found(),
        other => err(RpcError::MISC_ERROR, other.to_string()),
    }
}

impl RpcHandler for ChainRpc {
    fn call(&self, method: &str, params: &Value, wallet: Option<&str>) -> Result<Value, RpcError> {
        let spec = spec(method).ok_or_else(|| match wallet {
            Some(_) => err(
                RpcError::WALLET_NOT_FOUND,
                "Requested wallet does not exist or is not loaded",
            ),
            None => err(RpcError::METHOD_NOT_FOUND, "Method not found"),
        })?;
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
            opt("verbosity|verbose", Kind::Verbosity)
        ],
        "gettxout" => params![
            req("txid", Kind::Str),
            req("n", Kind::Num),
            opt("include_mempool", Kind::Bool),
        ],
        "getrawtransaction" => params![
            req("txid", Kind::Str),
            opt("verbosity|verbose", Kind::Verbosity),
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

/// `sendrawtransaction`'s default `maxburnamount`: nothing may be burned.
const DEFAULT_MAX_BURN: Amount = Amount::ZERO;
/// `generatetoaddress`'s default `maxtries`.
const DEFAULT_MAX_TRIES: u64 = 1_000_000;
/// Core's `MAX_SCRIPT_SIZE`.
const MAX_SCRIPT_SIZE: usize = 10_000;
/// Core's `MAX_SCRIPT_ELEMENT_SIZE`.
const MAX_SCRIPT_ELEMENT_SIZE: usize = 520;
/// Core's `MAX_OPCODE` (`OP_NOP10`).
const MAX_OPCODE: u8 = 0xb9;

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

/// Core's test for outputs `maxburnamount` limits: `IsUnspendable() || !HasValidOps()`.
fn is_burn(script: &Script) -> bool {
    let valid_ops = script.instructions().all(|instruction| match instruction {
        Ok(Instruction::Op(op)) => op.to_u8() <= MAX_OPCODE,
        Ok(Instruction::PushBytes(bytes)) => bytes.len() <= MAX_SCRIPT_ELEMENT_SIZE,
        Err(_) => false,
    });
    script.is_op_return() || script.len() > MAX_SCRIPT_SIZE || !valid_ops
}

/// Core's `ParseFeeRate` of `maxfeerate` (BTC/kvB) as sat/kvB, the default if not given.
fn max_fee_rate(given: Option<Amount>) -> Result<u64, RpcError> {
    let Some(rate) = given else {
        return Ok(DEFAULT_MAX_FEERATE_SAT_PER_KVB);
    };
    if rate >= Amount::ONE_BTC {
        return Err(err(
            RpcError::INVALID_PARAMETER,
            "Fee rates larger than or equal to 1BTC/kvB are not accepted",
        ));
    }
    Ok(rate.to_sat())
}

fn reject_error(reject: Reject) -> RpcError {
    match reject {
        Reject::MissingInputs => err(RpcError::VERIFY_ERROR, "bad-txns-inputs-missingorspent"),
        Reject::AlreadyInChain => err(
            RpcError::VERIFY_ALREADY_IN_CHAIN,
            "Transaction outputs already in utxo set",
        ),
        Reject::MaxFeeExceeded => err(
            RpcError::VERIFY_ERROR,
            "Fee exceeds maximum configured by user (e.g. -maxtxfee, maxfeerate)",
        ),
        Reject::Invalid(reason) => err(RpcError::VERIFY_REJECTED, reason),
    }
}

impl ChainRpc {
    /// Core's order: `maxburnamount`, decoding, the burn check, `maxfeerate`, acceptance.
    fn send_raw_transaction(&self, args: &Args) -> Result<Value, RpcError> {
        let max_burn = args.amount(2)?.unwrap_or(DEFAULT_MAX_BURN);
        let tx = decode_tx(args.str(0).unwrap_or_default()).ok_or_else(|| {
            err(
                RpcError::DESERIALIZATION_ERROR,
                "TX decode failed. Make sure the tx has at least one input.",
            )
        })?;
        if tx
            .output
            .iter()
            .any(|o| is_burn(&o.script_pubkey) && o.value > max_burn)
        {
            return Err(err(
                RpcError::VERIFY_ERROR,
                "Unspendable output exceeds maximum configured by user (maxburnamount)",
            ));
        }
        let max_fee_rate = max_fee_rate(args.amount(1)?)?;
        let result = self.chain.lock().accept_to_mempool(tx, Some(max_fee_rate));
        let txid = result.map_err(reject_error)?;
        self.chain.notify_mempool();
        Ok(json!(txid.to_string()))
    }

    fn generate_to_address(&self, args: &Args) -> Result<Value, RpcError> {
        let count: i32 = args.int_or(0, 0)?;
        let _max_tries: u64 = args.int_or(2, DEFAULT_MAX_TRIES)?;
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
        let mut state = self.chain.lock();
        let txs = block_transactions(&state, args.value(1))?;
        let submit = args.bool_or(2, true);
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

/// `generateblock`'s transactions: each a mempool txid (64 hex digits) or a raw
/// transaction, as Core reads them.
fn block_transactions(
    state: &ChainState,
    list: Option<&Value>,
) -> Result<Vec<Transaction>, RpcError> {
    let items = list
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    let mut txs = Vec::with_capacity(items.len());
    for item in items {
        let text = args::get_str(item)?;
        if let Ok(txid) = args::parse_hash::<Txid>(text, "txid") {
            let entry = state.mempool.get(&txid).ok_or_else(|| {
                err(
                    RpcError::INVALID_ADDRESS_OR_KEY,
                    format!("Transaction {text} not in mempool."),
                )
            })?;
            txs.push((*entry.tx).clone());
        } else {
            txs.push(decode_tx(text).ok_or_else(|| {
                err(
                    RpcError::DESERIALIZATION_ERROR,
                    format!("Transaction decode failed for {text}. Make sure the tx has at least one input."),
                )
            })?);
        }
    }
    Ok(txs)
}

/// `raw(HEX)` as a script, with no checksum or a correct one (Core's descriptor parser
/// refuses a wrong checksum).
fn raw_descriptor(text: &str) -> Option<ScriptBuf> {
    let (body, checksum) = match text.split_once('#') {
        Some((body, checksum)) => (body, Some(checksum)),
        None => (text, None),
    };
    if checksum.is_some_and(|c| describe::descriptor_checksum(body).as_deref() != Some(c)) {
        return None;
    }
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
        "getblockhash" => block_hash(state, args),
        "getblockheader" => block_header(state, args),
        "getblock" => block(state, args),
        "gettxout" => tx_out(state, args),
        "getrawtransaction" => raw_transaction(state, args),
        "getrawmempool" => Ok(raw_mempool(
            state,
            args.bool_or(0, false),
            args.bool_or(1, false),
        )),
        "getmempoolentry" => mempool_entry(state, args),
        "getmempoolinfo" => Ok(mempool_info(state)),
        "estimatesmartfee" => estimate_smart_fee(state, args),
        "getblockfilter" => block_filter(args),
        _ => Err(err(RpcError::METHOD_NOT_FOUND, "Method not found")),
    }
}

fn block_hash(state: &ChainState, args: &Args) -> Result<Value, RpcError> {
    let height: i32 = args.int_or(0, 0)?;
    u32::try_from(height)
        .ok()
        .and_then(|h| state.hash_at(h))
        .map(|hash| json!(hash.to_string()))
        .ok_or_else(|| err(RpcError::INVALID_PARAMETER, "Block height out of range"))
}

fn block_header(state: &ChainState, args: &Args) -> Result<Value, RpcError> {
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
fn block(state: &ChainState, args: &Args) -> Result<Value, RpcError> {
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

fn mempool_entry(state: &ChainState, args: &Args) -> Result<Value, RpcError> {
    let txid: Txid = args.hash(0, "txid")?;
    let entry = state.mempool.get(&txid).ok_or_else(|| {
        err(
            RpcError::INVALID_ADDRESS_OR_KEY,
            "Transaction not in mempool",
        )
    })?;
    Ok(mempool_entry_json(state, entry))
}

/// `getblockfilter` as Core without `-blockfilterindex` answers it.
fn block_filter(args: &Args) -> Result<Value, RpcError> {
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

fn blockchain_info(state: &ChainState) -> Value {
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

fn tx_out(state: &ChainState, args: &Args) -> Result<Value, RpcError> {
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

/// A transaction `getrawtransaction` found, with its block and position if confirmed.
type Found = (Transaction, Option<(BlockHash, usize)>);

/// `getrawtransaction`, reading its parameters in Core's order: txid, the genesis
/// coinbase exception, verbosity, block hash.
fn raw_transaction(state: &ChainState, args: &Args) -> Result<Value, RpcError> {
    let txid: Txid = args.hash(0, "parameter 1")?;
    if is_genesis_coinbase(state, &txid) {
        return Err(err(
            RpcError::INVALID_ADDRESS_OR_KEY,
            "The genesis block coinbase is not considered an ordinary transaction and cannot be retrieved",
        ));
    }
    let verbosity = args.verbosity(1, 0)?;
    let given_block = args
        .str(2)
        .map(|text| known_block(state, text))
        .transpose()?;
    let (tx, location) = match given_block {
        Some(hash) => find_in_block(state, &hash, &txid)?,
        None => find_anywhere(state, &txid)?,
    };
    if verbosity <= 0 {
        return Ok(json!(encode::serialize_hex(&tx)));
    }
    let with_undo = location
        .filter(|_| verbosity >= 2)
        .and_then(|(hash, position)| tx_json_with_undo(state, &tx, &hash, position));
    let mut object = with_undo.unwrap_or_else(|| describe::tx_json(&tx, Network::Regtest));
    if let Some(hash) = given_block {
        object.insert("in_active_chain".into(), json!(state.is_active(&hash)));
    }
    if let Some((hash, _)) = location {
        add_block_fields(state, &mut object, hash);
    }
    Ok(Value::Object(object))
}

fn is_genesis_coinbase(state: &ChainState, txid: &Txid) -> bool {
    state
        .hash_at(0)
        .and_then(|hash| state.entry(&hash))
        .and_then(|entry| entry.block.txdata.first())
        .is_some_and(|coinbase| coinbase.compute_txid() == *txid)
}

/// `getrawtransaction`'s block hash parameter: a known block.
fn known_block(state: &ChainState, text: &str) -> Result<BlockHash, RpcError> {
    let hash: BlockHash = args::parse_hash(text, "parameter 3")?;
    if state.entry(&hash).is_none() {
        return Err(err(
            RpcError::INVALID_ADDRESS_OR_KEY,
            "Block hash not found",
        ));
    }
    Ok(hash)
}

fn find_in_block(state: &ChainState, hash: &BlockHash, txid: &Txid) -> Result<Found, RpcError> {
    state
        .entry(hash)
        .and_then(|entry| {
            entry
                .block
                .txdata
                .iter()
                .enumerate()
                .find(|(_, tx)| tx.compute_txid() == *txid)
        })
        .map(|(position, tx)| (tx.clone(), Some((*hash, position))))
        .ok_or_else(|| {
            err(
                RpcError::INVALID_ADDRESS_OR_KEY,
                "No such transaction found in the provided block. Use gettransaction for wallet transactions.",
            )
        })
}

/// The mempool first, then the transaction index (Core with `-txindex`).
fn find_anywhere(state: &ChainState, txid: &Txid) -> Result<Found, RpcError> {
    if let Some(entry) = state.mempool.get(txid) {
        return Ok(((*entry.tx).clone(), None));
    }
    state
        .tx_index
        .get(txid)
        .and_then(|(hash, position)| {
            let tx = state.entry(hash)?.block.txdata.get(*position)?;
            Some((tx.clone(), Some((*hash, *position))))
        })
        .ok_or_else(|| {
            err(
                RpcError::INVALID_ADDRESS_OR_KEY,
                "No such mempool or blockchain transaction. Use gettransaction for wallet transactions.",
            )
        })
}

/// A confirmed transaction with its fee and prevouts (`getrawtransaction` verbosity 2),
/// if its block has undo data (active blocks do) and it is not a coinbase.
fn tx_json_with_undo(
    state: &ChainState,
    tx: &Transaction,
    hash: &BlockHash,
    position: usize,
) -> Option<Map<String, Value>> {
    let undo = state.block_undo(hash)?.get(position.checked_sub(1)?)?;
    describe::tx_json_with_undo(tx, Network::Regtest, &spent_outputs(undo), true)
}

/// Core's `TxToJSON` block fields: confirmations and times in the active chain, 0
/// confirmations outside it.
fn add_block_fields(state: &ChainState, object: &mut Map<String, Value>, hash: BlockHash) {
    match state.entry(&hash) {
        Some(entry) if state.is_active(&hash) => describe::add_tx_block_fields(
            object,
            hash,
            state.confirmations(&hash),
            Some(entry.block.header.time),
        ),
        _ => describe::add_tx_block_fields(object, hash, 0, None),
    }
}

/// One transaction's undo data as `describe`'s spent outputs.
fn spent_outputs(undo: &[(OutPoint, Coin)]) -> Vec<SpentOutput> {
    undo.iter()
        .map(|(_, coin)| SpentOutput {
            txout: coin.output.clone(),
            height: coin.height,
            is_coinbase: coin.coinbase,
        })
        .collect()
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

fn mempool_info(state: &ChainState) -> Value {
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

fn estimate_smart_fee(state: &ChainState, args: &Args) -> Result<Value, RpcError> {
    let target: i32 = args.int_or(0, 0)?;
    let Some(target) = u32::try_from(target)
        .ok()
        .filter(|t| (1..=MAX_CONF_TARGET).contains(&u64::from(*t)))
    else {
        return Err(err(
            RpcError::INVALID_PARAMETER,
            format!("Invalid conf_target, must be between 1 and {MAX_CONF_TARGET}"),
        ));
    };
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
    Ok(match state.fees.estimate(target, conservative) {
        Some((rate, blocks)) => json!({ "feerate": btc_per_kvb(rate), "blocks": blocks }),
        None => json!({ "errors": ["Insufficient data or no feerate found"], "blocks": 0 }),
    })
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
