//! Everything `describe` renders, checked against the answers of Bitcoin Core v30 recorded
//! in `regtest/tests/fixtures/bitcoind-regtest-rpc/`: descriptors, script objects,
//! transactions (with and without undo data), headers and blocks at every verbosity.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;

use bitcoin::block::Header;
use bitcoin::consensus::encode::deserialize_hex;
use bitcoin::{Amount, Block, BlockHash, Network, OutPoint, ScriptBuf, Transaction, TxOut, Txid};
use serde_json::{Map, Value};

use super::*;

const RECORDINGS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/bitcoind-regtest-rpc/"
);

const FILES: &[&str] = &[
    "auth.json",
    "batch.json",
    "empty_body.json",
    "estimatesmartfee.json",
    "generateblock.json",
    "generatetoaddress.json",
    "getbestblockhash.json",
    "getblock.json",
    "getblockchaininfo.json",
    "getblockcount.json",
    "getblockfilter.json",
    "getblockhash.json",
    "getblockheader.json",
    "getmempoolentry.json",
    "getmempoolinfo.json",
    "getrawmempool.json",
    "getrawtransaction.json",
    "gettxout.json",
    "id_and_version_handling.json",
    "invalidateblock.json",
    "large_response.json",
    "malformed_json.json",
    "reconsiderblock.json",
    "sendrawtransaction.json",
    "unknown_method.json",
    "wrong_param_types.json",
];

/// Parses JSON text, reading every number with a fraction or exponent with Rust's
/// correctly rounded parser (serde_json's default float parsing is not always
/// correctly rounded, e.g. for `4.656542373906925e-10`).
fn parse_exact(text: &str) -> Option<Value> {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let mut in_string = false;
    let mut start = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if in_string {
            if c == b'\\' {
                i += 1;
            } else if c == b'"' {
                in_string = false;
            }
            i += 1;
            continue;
        }
        if c == b'"' {
            in_string = true;
            i += 1;
            continue;
        }
        if c == b'-' || c.is_ascii_digit() {
            out.push_str(&text[start..i]);
            let token_start = i;
            while i < bytes.len() && b"+-0123456789.eE".contains(&bytes[i]) {
                i += 1;
            }
            let token = &text[token_start..i];
            if token.contains(['.', 'e', 'E']) {
                out.push_str(&format!("{{\"$float\":\"{token}\"}}"));
            } else {
                out.push_str(token);
            }
            start = i;
            continue;
        }
        i += 1;
    }
    out.push_str(&text[start..]);
    let mut value: Value = serde_json::from_str(&out).ok()?;
    fix_floats(&mut value);
    Some(value)
}

fn fix_floats(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if map.len() == 1 {
                if let Some(Value::String(token)) = map.get("$float") {
                    *value = Value::from(token.parse::<f64>().unwrap());
                    return;
                }
            }
            map.values_mut().for_each(fix_floats);
        }
        Value::Array(items) => items.iter_mut().for_each(fix_floats),
        _ => {}
    }
}

/// One recorded single (non-batch) call: method, params and result.
struct Call {
    file: &'static str,
    method: String,
    params: Vec<Value>,
    result: Value,
}

fn calls() -> Vec<Call> {
    let mut calls = Vec::new();
    for file in FILES {
        let text = std::fs::read_to_string(format!("{RECORDINGS}{file}")).unwrap();
        let records: Vec<Value> = serde_json::from_str(&text).unwrap();
        for record in records {
            let Some(body) = record["request"]["body"].as_str() else {
                continue;
            };
            let Ok(Value::Object(request)) = serde_json::from_str::<Value>(body) else {
                continue;
            };
            let Some(response) = record["body"].as_str().and_then(parse_exact) else {
                continue;
            };
            let Some(result) = response.get("result") else {
                continue;
            };
            calls.push(Call {
                file,
                method: request
                    .get("method")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .into(),
                params: request
                    .get("params")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default(),
                result: result.clone(),
            });
        }
    }
    calls
}

/// Every recorded value (results, plus `context.json`).
fn all_values() -> Vec<Value> {
    let mut values: Vec<Value> = calls().into_iter().map(|c| c.result).collect();
    let context = std::fs::read_to_string(format!("{RECORDINGS}context.json")).unwrap();
    values.push(parse_exact(&context).unwrap());
    values
}

fn walk<'a>(value: &'a Value, visit: &mut dyn FnMut(&'a Value)) {
    visit(value);
    match value {
        Value::Object(map) => map.values().for_each(|v| walk(v, visit)),
        Value::Array(items) => items.iter().for_each(|v| walk(v, visit)),
        _ => {}
    }
}

fn sat(value: &Value) -> Amount {
    Amount::from_sat((value.as_f64().unwrap() * 1e8).round() as u64)
}

fn script(hex: &str) -> ScriptBuf {
    ScriptBuf::from_hex(hex).unwrap()
}

fn assert_same(what: &str, actual: &Value, expected: &Value) {
    assert!(
        actual == expected,
        "{what} differs:\nactual:   {}\nexpected: {}",
        serde_json::to_string_pretty(actual).unwrap(),
        serde_json::to_string_pretty(expected).unwrap()
    );
}

/// Every spent output the recordings show (`prevout` objects), by outpoint.
fn recorded_prevouts() -> HashMap<OutPoint, SpentOutput> {
    let mut prevouts = HashMap::new();
    for value in all_values() {
        walk(&value, &mut |v| {
            if let (Some(txid), Some(vout), Some(prevout)) =
                (v.get("txid"), v.get("vout"), v.get("prevout"))
            {
                let outpoint = OutPoint {
                    txid: txid.as_str().unwrap().parse::<Txid>().unwrap(),
                    vout: vout.as_u64().unwrap() as u32,
                };
                let spent = SpentOutput {
                    txout: TxOut {
                        value: sat(&prevout["value"]),
                        script_pubkey: script(prevout["scriptPubKey"]["hex"].as_str().unwrap()),
                    },
                    height: prevout["height"].as_u64().unwrap() as u32,
                    is_coinbase: prevout["generated"].as_bool().unwrap(),
                };
                prevouts.insert(outpoint, spent);
            }
        });
    }
    prevouts
}

fn spent_outputs(tx: &Transaction, prevouts: &HashMap<OutPoint, SpentOutput>) -> Vec<SpentOutput> {
    tx.input
        .iter()
        .map(|input| prevouts[&input.previous_output].clone())
        .collect()
}

#[test]
fn descriptor_checksums_match_recordings() {
    let mut checked = 0;
    for value in all_values() {
        walk(&value, &mut |v| {
            let Value::Object(map) = v else { return };
            let mut descs: Vec<&str> = Vec::new();
            if let Some(Value::String(desc)) = map.get("desc") {
                descs.push(desc);
            }
            if let Some(Value::Array(parents)) = map.get("parent_descs") {
                descs.extend(parents.iter().filter_map(Value::as_str));
            }
            for desc in descs {
                let (body, checksum) = desc.rsplit_once('#').unwrap();
                assert_eq!(
                    descriptor_checksum(body).as_deref(),
                    Some(checksum),
                    "{desc}"
                );
                assert_eq!(descriptor_with_checksum(body), desc);
                checked += 1;
            }
        });
    }
    // Wallet descriptors with key origins and xpubs (context.json) are among them.
    assert!(checked >= 20, "only {checked} descriptors checked");
    assert_eq!(descriptor_checksum("addr(x\u{e9})"), None);
}

#[test]
fn script_objects_match_recordings() {
    let mut pubkeys = 0;
    let mut sigs = 0;
    for value in all_values() {
        walk(&value, &mut |v| {
            let Value::Object(map) = v else { return };
            let (Some(Value::String(_)), Some(Value::String(hex))) =
                (map.get("asm"), map.get("hex"))
            else {
                return;
            };
            if map.contains_key("type") {
                assert_same(
                    "scriptPubKey",
                    &script_pubkey_json(&script(hex), Network::Regtest),
                    v,
                );
                pubkeys += 1;
            } else if map.len() == 2 {
                assert_same("scriptSig", &script_sig_json(&script(hex)), v);
                sigs += 1;
            }
        });
    }
    assert!(
        pubkeys >= 30 && sigs >= 5,
        "only {pubkeys} scriptPubKeys and {sigs} scriptSigs"
    );
}

#[test]
fn transactions_match_recordings() {
    let prevouts = recorded_prevouts();
    let mut checked = 0;
    let mut with_fee = 0;
    let mut with_prevouts = 0;
    let calls = calls();
    let mut raw_hex: HashMap<String, String> = HashMap::new();
    for call in &calls {
        if call.method == "getrawtransaction" {
            if let Value::String(hex) = &call.result {
                raw_hex.insert(call.params[0].as_str().unwrap().into(), hex.clone());
            }
        }
    }
    for call in &calls {
        walk(&call.result, &mut |v| {
            let Value::Object(expected) = v else { return };
            let (Some(Value::String(hex)), true, true) = (
                expected.get("hex"),
                expected.contains_key("vin"),
                expected.contains_key("txid"),
            ) else {
                return;
            };
            let tx: Transaction = deserialize_hex(hex).unwrap();
            let shows_prevouts = expected["vin"]
                .as_array()
                .unwrap()
                .iter()
                .any(|input| input.get("prevout").is_some());
            let mut actual = if expected.contains_key("fee") {
                with_fee += 1;
                with_prevouts += usize::from(shows_prevouts);
                tx_json_with_undo(
                    &tx,
                    Network::Regtest,
                    &spent_outputs(&tx, &prevouts),
                    shows_prevouts,
                )
                .unwrap()
            } else {
                assert!(!shows_prevouts);
                tx_json(&tx, Network::Regtest)
            };
            if let Some(in_active_chain) = expected.get("in_active_chain") {
                actual.insert("in_active_chain".into(), in_active_chain.clone());
            }
            if let Some(block_hash) = expected.get("blockhash") {
                add_tx_block_fields(
                    &mut actual,
                    block_hash.as_str().unwrap().parse().unwrap(),
                    expected["confirmations"].as_i64().unwrap(),
                    expected.get("time").map(|t| t.as_u64().unwrap() as u32),
                );
            }
            assert_same(
                &format!("transaction in {}", call.file),
                &Value::Object(actual),
                v,
            );
            // The verbose=false answer is the same transaction.
            if let Some(raw) = raw_hex.get(expected["txid"].as_str().unwrap()) {
                assert_eq!(raw, hex);
            }
            checked += 1;
        });
    }
    assert!(
        checked >= 10 && with_fee >= 3 && with_prevouts >= 2,
        "{checked} {with_fee} {with_prevouts}"
    );
}

/// The header fields of a recorded verbose header or block, rebuilt from `header` with
/// the chain context taken from the recording.
fn header_fields(header: &Header, expected: &Map<String, Value>) -> Map<String, Value> {
    let hash = |key: &str| {
        expected
            .get(key)
            .map(|h| h.as_str().unwrap().parse::<BlockHash>().unwrap())
    };
    let height = expected["height"].as_u64().unwrap() as u32;
    let prev = hash("previousblockhash");
    assert_eq!(prev.is_some(), height > 0);
    assert_eq!(prev.unwrap_or(header.prev_blockhash), header.prev_blockhash);
    header_json(
        header,
        height,
        expected["confirmations"].as_i64().unwrap(),
        u128::from_str_radix(expected["chainwork"].as_str().unwrap(), 16).unwrap(),
        expected["nTx"].as_u64().unwrap() as usize,
        expected["mediantime"].as_u64().unwrap() as u32,
        prev,
        hash("nextblockhash"),
    )
}

#[test]
fn headers_match_recordings() {
    let calls = calls();
    let mut hex_by_hash: HashMap<String, String> = HashMap::new();
    for call in calls.iter().filter(|c| c.method == "getblockheader") {
        if let Value::String(hex) = &call.result {
            hex_by_hash.insert(call.params[0].as_str().unwrap().into(), hex.clone());
        }
    }
    let mut checked = 0;
    for call in calls.iter().filter(|c| c.method == "getblockheader") {
        let Value::Object(expected) = &call.result else {
            continue;
        };
        let Some(hex) = hex_by_hash.get(expected["hash"].as_str().unwrap()) else {
            continue;
        };
        let header: Header = deserialize_hex(hex).unwrap();
        let actual = header_fields(&header, expected);
        assert_same("header", &Value::Object(actual), &call.result);
        checked += 1;
    }
    assert!(checked >= 4, "only {checked} headers checked");
}

#[test]
fn blocks_match_recordings() {
    let prevouts = recorded_prevouts();
    let calls = calls();
    let mut hex_by_hash: HashMap<String, String> = HashMap::new();
    for call in calls.iter().filter(|c| c.method == "getblock") {
        if let Value::String(hex) = &call.result {
            hex_by_hash.insert(call.params[0].as_str().unwrap().into(), hex.clone());
        }
    }
    let mut checked = Vec::new();
    for call in calls.iter().filter(|c| c.method == "getblock") {
        let Value::Object(expected) = &call.result else {
            continue;
        };
        let Some(hex) = hex_by_hash.get(expected["hash"].as_str().unwrap()) else {
            continue;
        };
        let verbosity = match call.params.get(1) {
            None => 1,
            Some(Value::Bool(verbose)) => i64::from(*verbose),
            Some(v) => v.as_i64().unwrap(),
        };
        let block: Block = deserialize_hex(hex).unwrap();
        let undo: Vec<Vec<SpentOutput>> = block
            .txdata
            .iter()
            .skip(1)
            .map(|tx| spent_outputs(tx, &prevouts))
            .collect();
        let header = header_fields(&block.header, expected);
        let actual = block_json(header, &block, Network::Regtest, verbosity, Some(&undo)).unwrap();
        assert_same(
            &format!("block (verbosity {verbosity})"),
            &Value::Object(actual),
            &call.result,
        );
        checked.push(verbosity);
    }
    for verbosity in [1, 2, 3, 9] {
        assert!(
            checked.contains(&verbosity),
            "verbosity {verbosity} not checked: {checked:?}"
        );
    }
}

#[test]
fn block_without_undo_data_has_no_fees() {
    let calls = calls();
    let hex = calls
        .iter()
        .filter(|c| c.method == "getblock" && c.params.get(1) == Some(&Value::from(0)))
        .filter_map(|c| c.result.as_str())
        .find(|hex| hex.len() > 900)
        .unwrap();
    let block: Block = deserialize_hex(hex).unwrap();
    let header = header_json(&block.header, 1, 1, 2, 2, 0, None, None);
    let entry = block_json(header.clone(), &block, Network::Regtest, 3, None).unwrap();
    let txs = entry["tx"].as_array().unwrap();
    assert_eq!(txs.len(), 2);
    assert!(txs.iter().all(|tx| tx.get("fee").is_none()));
    assert_eq!(
        Value::Object(tx_json(&block.txdata[1], Network::Regtest)),
        txs[1]
    );
    // Undo data that does not fit the block is refused.
    assert!(block_json(header.clone(), &block, Network::Regtest, 2, Some(&[])).is_none());
    let short = vec![Vec::new()];
    assert!(block_json(header, &block, Network::Regtest, 2, Some(&short)).is_none());
}
