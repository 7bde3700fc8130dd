//! Transactions: `getrawtransaction` (from the mempool, or any block: the chain keeps a
//! transaction index, as Core with `-txindex`) and `sendrawtransaction`.

use bitcoin::consensus::encode;
use bitcoin::script::Instruction;
use bitcoin::{Amount, BlockHash, Network, Script, Transaction, Txid};
use serde_json::{json, Map, Value};

use super::{err, spent_outputs};
use crate::args::{self, Args};
use crate::chain::ChainState;
use crate::describe;
use crate::params::DEFAULT_MAX_FEERATE_SAT_PER_KVB;
use crate::rpc::RpcError;
use crate::validation::Reject;
use crate::RegtestChain;

/// `sendrawtransaction`'s default `maxburnamount`: nothing may be burned.
const DEFAULT_MAX_BURN: Amount = Amount::ZERO;

/// Core's `MAX_SCRIPT_SIZE`.
const MAX_SCRIPT_SIZE: usize = 10_000;
/// Core's `MAX_SCRIPT_ELEMENT_SIZE`.
const MAX_SCRIPT_ELEMENT_SIZE: usize = 520;
/// Core's `MAX_OPCODE` (`OP_NOP10`).
const MAX_OPCODE: u8 = 0xb9;

/// Core's order: `maxburnamount`, decoding, the burn check, `maxfeerate`, acceptance.
pub(super) fn send_raw_transaction(chain: &RegtestChain, args: &Args) -> Result<Value, RpcError> {
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
    let result = chain.lock().accept_to_mempool(tx, Some(max_fee_rate));
    let txid = result.map_err(reject_error)?;
    chain.notify_mempool();
    Ok(json!(txid.to_string()))
}

pub(super) fn decode_tx(hex: &str) -> Option<Transaction> {
    encode::deserialize_hex::<Transaction>(hex)
        .ok()
        .filter(|tx| !tx.input.is_empty())
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

/// A transaction `getrawtransaction` found, with its block and position if confirmed.
type Found = (Transaction, Option<(BlockHash, usize)>);

/// `getrawtransaction`, reading its parameters in Core's order: txid, the genesis
/// coinbase exception, verbosity, block hash.
pub(super) fn raw_transaction(state: &ChainState, args: &Args) -> Result<Value, RpcError> {
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
