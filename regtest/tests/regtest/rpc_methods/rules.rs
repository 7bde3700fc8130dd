//! Bitcoin Core v30's parameter rules that the recordings do not show.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{json, Value};

use bitcoin::{Amount, TxOut};

use super::{post, txid, Chain, Key};
use crate::common::{coinbase_input, Rpc};

/// Calls `method` (JSON-RPC 1.0) and returns the error's code and message.
fn error_of(rpc: &Rpc, method: &str, params: Value) -> (i64, String) {
    let failure = rpc.try_call(method, params).expect_err(method);
    (failure.code, failure.message)
}

/// Behaviour of Bitcoin Core v30 that the recordings do not show, from its source:
/// `getInt<T>` ranges, `ParseVerbosity`, `AmountFromValue`, `ParseFeeRate`, the
/// `maxburnamount` check, named-parameter aliases and `args`, and the wallet endpoint.
#[test]
fn core_parameter_rules_beyond_the_recordings() {
    let chain = Chain::start();
    let rpc = &chain.rpc;
    let genesis = rpc.call("getblockhash", json!([0]));
    let out_of_range = (-1, "JSON integer out of range".to_owned());
    assert_eq!(
        error_of(rpc, "getblockhash", json!([4_294_967_296u64])),
        out_of_range
    );
    assert_eq!(
        error_of(rpc, "gettxout", json!([genesis, -1])),
        out_of_range
    );
    assert_eq!(
        error_of(rpc, "getblock", json!(["00", "x"])).0,
        -8,
        "the hash is parsed first"
    );
    assert_eq!(
        error_of(rpc, "getblock", json!([format!("{:064}", 1), [1]])),
        (
            -3,
            "JSON value of type array is not of expected type number".to_owned()
        ),
        "the verbosity is read before the block is looked up"
    );
    assert_eq!(
        rpc.call("getblock", json!({"blockhash": genesis, "verbose": 0})),
        rpc.call("getblock", json!([genesis, false])),
    );
    assert_eq!(
        rpc.call(
            "getblockheader",
            json!({"args": [genesis], "verbose": false})
        ),
        rpc.call("getblockheader", json!([genesis, false])),
    );
    assert_eq!(
        error_of(rpc, "getblockfilter", json!(["zz"])),
        (
            -8,
            "blockhash must be of length 64 (not 2, for 'zz')".to_owned()
        )
    );
    assert_eq!(
        error_of(
            rpc,
            "generateblock",
            json!(["bcrt1qgzqjnunslr7xrhlzump7yxsg3ndz2kq0tua2wg", [1]])
        ),
        (
            -3,
            "JSON value of type number is not of expected type string".to_owned()
        )
    );

    // sendrawtransaction: an OP_RETURN output with value, and the fee rate ceiling.
    let key = Key::new(9);
    let hashes = rpc.mine(101, &key.address().to_string());
    let input = coinbase_input(&rpc.block(&hashes[0]));
    let burn = key.spend(
        &[input],
        vec![TxOut {
            value: Amount::from_sat(1_000),
            script_pubkey: bitcoin::ScriptBuf::new_op_return([1u8; 4]),
        }],
    );
    let hex = bitcoin::consensus::encode::serialize_hex(&burn);
    assert_eq!(
        error_of(rpc, "sendrawtransaction", json!([hex])),
        (
            -25,
            "Unspendable output exceeds maximum configured by user (maxburnamount)".to_owned()
        )
    );
    assert_eq!(
        error_of(rpc, "sendrawtransaction", json!([hex, 1, 0.00001])).0,
        -8,
        "maxfeerate of 1 BTC/kvB"
    );
    assert_eq!(
        error_of(rpc, "sendrawtransaction", json!([hex, 0, "x"])),
        (-3, "Invalid amount".to_owned())
    );
    assert_eq!(
        error_of(rpc, "sendrawtransaction", json!([hex, null, -1])),
        (-3, "Amount out of range".to_owned())
    );
    let accepted = rpc.call("sendrawtransaction", json!([hex, 0, 0.00001]));
    assert_eq!(txid(&accepted), burn.compute_txid());

    // The wallet endpoint: chain methods answer, anything else is a missing wallet.
    let (status, body) = post(
        chain.addr(),
        "/wallet/nosuch",
        "application/json",
        r#"{"jsonrpc":"1.0","id":1,"method":"getblockcount","params":[]}"#,
    );
    assert_eq!(
        (status, body.as_str()),
        (200, "{\"result\":101,\"error\":null,\"id\":1}\n")
    );
}
