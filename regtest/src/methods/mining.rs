//! Mining on request: `generatetoaddress`, `generateblock` (given transactions, mined
//! with or without submitting) and `submitblock`.

use std::str::FromStr;

use bitcoin::consensus::encode;
use bitcoin::{Address, Block, Network, ScriptBuf, Transaction, Txid};
use serde_json::{json, Map, Value};

use super::transactions::decode_tx;
use super::{chain_error, err};
use crate::args::{self, Args};
use crate::chain::ChainState;
use crate::describe;
use crate::mining::MineError;
use crate::rpc::RpcError;
use crate::RegtestChain;

/// `generatetoaddress`'s default `maxtries`.
const DEFAULT_MAX_TRIES: u64 = 1_000_000;

pub(super) fn generate_to_address(chain: &RegtestChain, args: &Args) -> Result<Value, RpcError> {
    let count: i32 = args.int_or(0, 0)?;
    let _max_tries: u64 = args.int_or(2, DEFAULT_MAX_TRIES)?;
    let script = parse_address(args.str(1).unwrap_or_default())
        .ok_or_else(|| err(RpcError::INVALID_ADDRESS_OR_KEY, "Error: Invalid address"))?;
    let mut hashes = Vec::new();
    let mut state = chain.lock();
    for _ in 0..count.max(0) {
        let block = state.mine_from_mempool(&script).map_err(mine_error)?;
        hashes.push(json!(block.block_hash().to_string()));
    }
    Ok(Value::Array(hashes))
}

pub(super) fn generate_block(chain: &RegtestChain, args: &Args) -> Result<Value, RpcError> {
    let output = args.str(0).unwrap_or_default();
    let script = parse_address(output)
        .or_else(|| raw_descriptor(output))
        .ok_or_else(|| {
            err(
                RpcError::INVALID_ADDRESS_OR_KEY,
                "Error: Invalid address or descriptor",
            )
        })?;
    let mut state = chain.lock();
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

pub(super) fn submit_block(chain: &RegtestChain, args: &Args) -> Result<Value, RpcError> {
    let block: Block = encode::deserialize_hex(args.str(0).unwrap_or_default())
        .map_err(|_| err(RpcError::DESERIALIZATION_ERROR, "Block decode failed"))?;
    let mut state = chain.lock();
    match state.submit_block(block).map_err(chain_error)? {
        Ok(()) => Ok(Value::Null),
        Err(reason) => Ok(json!(reason)),
    }
}

fn parse_address(text: &str) -> Option<ScriptBuf> {
    let address = Address::from_str(text)
        .ok()?
        .require_network(Network::Regtest)
        .ok()?;
    Some(address.script_pubkey())
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
