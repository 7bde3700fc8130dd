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
//!
//! Dispatch and the parameter lists are here, the methods in one file per group:
//! - `blockchain`: reads of the block chain and the UTXO set;
//! - `mempool`: reads of the mempool;
//! - `transactions`: `getrawtransaction` and `sendrawtransaction`;
//! - `mining`: `generatetoaddress`, `generateblock`, `submitblock`;
//! - `fees`: `estimatesmartfee`;
//! - `control`: `invalidateblock`, `reconsiderblock`.

mod blockchain;
mod control;
mod fees;
mod mempool;
mod mining;
mod transactions;

use std::sync::Arc;

use bitcoin::{Amount, OutPoint};
use serde_json::{json, Value};

use crate::args::{opt, req, Args, Kind, Param};
use crate::chain::{ChainState, Coin};
use crate::describe::{self, SpentOutput};
use crate::rpc::{RpcError, RpcHandler};
use crate::{RegtestChain, RegtestError};

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
            "sendrawtransaction" => transactions::send_raw_transaction(&self.chain, &args),
            "generatetoaddress" => mining::generate_to_address(&self.chain, &args),
            "generateblock" => mining::generate_block(&self.chain, &args),
            "submitblock" => mining::submit_block(&self.chain, &args),
            "invalidateblock" => control::invalidate_block(&self.chain, &args),
            "reconsiderblock" => control::reconsider_block(&self.chain, &args),
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

/// Read-only methods, answered under the chain lock.
fn read(state: &ChainState, method: &str, args: &Args) -> Result<Value, RpcError> {
    match method {
        "getblockcount" => Ok(json!(state.height())),
        "getbestblockhash" => Ok(json!(state.tip().to_string())),
        "getblockchaininfo" => Ok(blockchain::blockchain_info(state)),
        "getblockhash" => blockchain::block_hash(state, args),
        "getblockheader" => blockchain::block_header(state, args),
        "getblock" => blockchain::block(state, args),
        "gettxout" => blockchain::tx_out(state, args),
        "getrawtransaction" => transactions::raw_transaction(state, args),
        "getrawmempool" => Ok(mempool::raw_mempool(
            state,
            args.bool_or(0, false),
            args.bool_or(1, false),
        )),
        "getmempoolentry" => mempool::mempool_entry(state, args),
        "getmempoolinfo" => Ok(mempool::mempool_info(state)),
        "estimatesmartfee" => fees::estimate_smart_fee(state, args),
        "getblockfilter" => blockchain::block_filter(args),
        _ => Err(err(RpcError::METHOD_NOT_FOUND, "Method not found")),
    }
}
