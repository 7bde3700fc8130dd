//! The regtest chain's RPC methods against recorded Bitcoin Core v30 answers.
//!
//! `regtest/tests/fixtures/bitcoind-regtest-rpc/*.json` holds real exchanges with a Core
//! regtest node.
//! `rpc_transport.rs` tests the transport alone (with stub methods); this file
//! sends the recorded request bodies, byte for byte, to the real chain started
//! in-process with `sluice_regtest::start`, and compares the status code and the parsed body
//! with the recording.
//!
//! - `records_independent_of_the_chain_state`: on a fresh chain (genesis only), every
//!   record whose answer does not depend on the recorded chain's state: type errors,
//!   parameter errors, unknown or malformed hashes and txids (outputs Core answers with
//!   `null` because they are spent are simply unknown here, which Core also answers with
//!   `null`), decode errors, estimates without data, unknown methods. Compared exactly.
//! - `records_replayed_on_a_mirror_of_the_recorded_chain`: the records that depend on
//!   the state, replayed in recording order on a chain built like the recorded one (101
//!   blocks, a segwit payment confirmed in block 102, a second one left in the mempool,
//!   then the generate, invalidate and reconsider steps at the recorded heights, then a
//!   populated fee estimator). The recorded chain's block hashes and txids are replaced
//!   by the mirror's in requests and expected answers. Its transactions pay the recorded
//!   amounts and are signed like Core's wallet (low R), so sizes, weights, fees and
//!   `size_on_disk` are the recorded ones too. Answers that must be the same (heights,
//!   counts, sizes, fees, known hashes, errors, genesis) are compared exactly; answers
//!   with data that cannot match (times, nonces, signatures, lock times, hashes of new
//!   blocks, the fee estimator's numbers, the mempool's memory usage and sequence
//!   number) are compared by shape: the same keys and JSON types (integer and float told
//!   apart) and the same array lengths, recursively, plus exact values for the listed
//!   fields.
//!
//! Help errors (-1 for a wrong number of parameters) carry Core's whole help text; ours
//! is only its first line, an accepted difference: for those the status, the code and
//! that the message starts with the method's name are compared.
//!
//! Not replayed: the `sendrawtransaction` records that need the recorded chain's coins
//! (signed transactions spending them; `chain.rs` checks the same errors with
//! its own transactions), the three records made after the full-RBF replacement of the
//! mempool transaction (getrawmempool #5 on the mirror; getmempoolentry #6 and
//! getrawtransaction #15 are replayed on the fresh chain, where the txid is unknown),
//! `large_response.json` (truncated bodies) and the transport-only files (auth, empty
//! bodies, malformed JSON, the GET record).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use crate::common::{coinbase_input, Rpc};
use bitcoin::hashes::Hash;
use bitcoin::secp256k1::{Message, Secp256k1, SecretKey};
use bitcoin::sighash::{EcdsaSighashType, SighashCache};
use bitcoin::{
    transaction, Address, Amount, CompressedPublicKey, Network, OutPoint, ScriptBuf, Sequence,
    Transaction, TxIn, TxOut, Txid, Witness,
};
use serde_json::{json, Value};
use sluice_regtest::{start, Automine, RegtestChainConfig, RunningChain};

// ---------------------------------------------------------------------------------------
// The chain and a raw HTTP client
// ---------------------------------------------------------------------------------------

/// A chain on its own runtime, so blocking calls can be made from the test thread.
struct Chain {
    runtime: tokio::runtime::Runtime,
    running: Option<RunningChain>,
    rpc: Rpc,
}

impl Chain {
    fn start() -> Self {
        let config = RegtestChainConfig {
            data_dir: None,
            rpc_addr: "127.0.0.1:0".parse().unwrap(),
            rpc_user: "u".into(),
            rpc_password: "p".into(),
            automine: Automine::Off,
            automine_script: None,
        };
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let running = runtime.block_on(start(config)).unwrap();
        let rpc = Rpc::new(running.rpc_addr, "u", "p");
        Chain {
            runtime,
            running: Some(running),
            rpc,
        }
    }

    fn addr(&self) -> SocketAddr {
        self.rpc.addr
    }
}

impl Drop for Chain {
    fn drop(&mut self) {
        if let Some(running) = self.running.take() {
            self.runtime.block_on(running.stop());
        }
    }
}

/// POSTs `body` to `path` as user `u`, password `p`.
fn post(addr: SocketAddr, path: &str, content_type: &str, body: &str) -> (u16, String) {
    Rpc::new(addr, "u", "p").post_to(path, content_type, body)
}

// ---------------------------------------------------------------------------------------
// Recordings
// ---------------------------------------------------------------------------------------

fn recordings_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bitcoind-regtest-rpc")
}

fn load(file: &str) -> Vec<Value> {
    let path = recordings_dir().join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str::<Value>(&text)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

/// A value of `context.json`: the recorded chain's addresses, txids and hashes.
fn context_value(key: &str) -> Value {
    let text = std::fs::read_to_string(recordings_dir().join("context.json")).unwrap();
    serde_json::from_str::<Value>(&text).unwrap()[key].clone()
}

fn context(key: &str) -> String {
    context_value(key).as_str().unwrap().to_owned()
}

/// How a record's answer is compared.
#[derive(Clone, Copy)]
enum Check {
    /// The whole body.
    Exact,
    /// A -1 help error: status, code, and a message starting with the method's name.
    Help,
    /// The result by shape, with the listed top-level result fields compared exactly;
    /// the rest of the body (envelope, errors) exactly.
    Shape(&'static [&'static str]),
}

const EXACT: Check = Check::Exact;
const SHAPE: Check = Check::Shape(&[]);

/// Replays records against one chain, replacing the recorded chain's identifiers by the
/// chain's own, and counts the records replayed per file.
struct Replayer {
    addr: SocketAddr,
    files: BTreeMap<&'static str, Vec<Value>>,
    substitutions: Vec<(String, String)>,
    replayed: BTreeMap<&'static str, usize>,
}

impl Replayer {
    fn new(chain: &Chain) -> Self {
        Replayer {
            addr: chain.addr(),
            files: BTreeMap::new(),
            substitutions: Vec::new(),
            replayed: BTreeMap::new(),
        }
    }

    /// From now on, `recorded` (a hash or txid of the recorded chain) reads `ours`.
    fn substitute(&mut self, recorded: &str, ours: impl ToString) {
        self.substitutions
            .push((recorded.to_owned(), ours.to_string()));
    }

    fn substituted(&self, text: &str) -> String {
        self.substitutions
            .iter()
            .fold(text.to_owned(), |text, (from, to)| text.replace(from, to))
    }

    fn record(&mut self, file: &'static str, index: usize) -> Value {
        let records = self.files.entry(file).or_insert_with(|| load(file));
        records[index].clone()
    }

    /// Replays each of `indices` of `file` with `check`.
    fn replay(&mut self, file: &'static str, indices: &[usize], check: Check) {
        for &index in indices {
            self.replay_one(file, index, check);
        }
    }

    fn replay_one(&mut self, file: &'static str, index: usize, check: Check) {
        let record = self.record(file, index);
        let what = format!("{file} #{index} ({})", record["note"].as_str().unwrap());
        let request = &record["request"];
        let path = request["request_line"]
            .as_str()
            .unwrap()
            .split_whitespace()
            .nth(1)
            .unwrap();
        let content_type = request["headers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h[0].as_str().unwrap().eq_ignore_ascii_case("content-type"))
            .map_or("application/json", |h| h[1].as_str().unwrap());
        let body = self.substituted(request["body"].as_str().unwrap());
        let (status, text) = post(self.addr, path, content_type, &body);
        assert_eq!(
            status,
            record["status"].as_u64().unwrap() as u16,
            "{what}: status; body {text}"
        );
        let expected_text = self.substituted(record["body"].as_str().unwrap());
        if expected_text.is_empty() {
            assert_eq!(text, "", "{what}: body");
        } else {
            let ours: Value =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{what}: {e}: {text}"));
            let core: Value = serde_json::from_str(&expected_text).unwrap();
            compare(&what, check, ours, core);
        }
        *self.replayed.entry(file).or_default() += 1;
    }

    fn report(&self, test: &str) {
        let total: usize = self.replayed.values().sum();
        eprintln!("{test}: {total} records replayed");
        for (file, count) in &self.replayed {
            eprintln!("  {file}: {count}");
        }
    }
}

fn compare(what: &str, check: Check, mut ours: Value, mut core: Value) {
    match check {
        Check::Exact => assert_eq!(ours, core, "{what}"),
        Check::Help => {
            let method = method_of_help(&core);
            let message = ours["error"]["message"].as_str().unwrap_or_default();
            assert_eq!(ours["error"]["code"], json!(-1), "{what}: {ours}");
            assert!(
                message.starts_with(&format!("{method}\n"))
                    || message.starts_with(&format!("{method} ")),
                "{what}: help text {message:?}"
            );
            // Our help is only Core's first line (accepted difference).
            ours["error"]["message"] = core["error"]["message"].clone();
            assert_eq!(ours, core, "{what}");
        }
        Check::Shape(exact) => {
            let has_result = core.get("result").is_some_and(|r| !r.is_null());
            if !has_result {
                assert_eq!(ours, core, "{what}");
                return;
            }
            let ours_result = ours["result"].take();
            let core_result = core["result"].take();
            assert_eq!(ours, core, "{what}: envelope");
            let mut differences = Vec::new();
            shape_differences("result", &ours_result, &core_result, &mut differences);
            for key in exact {
                if ours_result.get(key) != core_result.get(key) {
                    differences.push(format!(
                        "result.{key}: {:?} vs Core's {:?}",
                        ours_result.get(key),
                        core_result.get(key)
                    ));
                }
            }
            assert!(
                differences.is_empty(),
                "{what}:\n  {}\nours: {ours_result}\nCore: {core_result}",
                differences.join("\n  ")
            );
        }
    }
}

/// The method of the request a help error answered (the first word of Core's help).
fn method_of_help(core: &Value) -> String {
    let message = core["error"]["message"].as_str().unwrap();
    message.split([' ', '\n']).next().unwrap().to_owned()
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Where `ours` and `core` differ in shape: keys, JSON types, array lengths.
fn shape_differences(path: &str, ours: &Value, core: &Value, out: &mut Vec<String>) {
    match (ours, core) {
        (Value::Object(a), Value::Object(b)) => {
            for key in a.keys().filter(|k| !b.contains_key(*k)) {
                out.push(format!("{path}.{key}: not in Core's answer"));
            }
            for key in b.keys().filter(|k| !a.contains_key(*k)) {
                out.push(format!("{path}.{key}: missing"));
            }
            for (key, value) in a {
                if let Some(other) = b.get(key) {
                    shape_differences(&format!("{path}.{key}"), value, other, out);
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            if a.len() != b.len() {
                out.push(format!(
                    "{path}: {} elements vs Core's {}",
                    a.len(),
                    b.len()
                ));
            }
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                shape_differences(&format!("{path}[{i}]"), x, y, out);
            }
        }
        _ if json_kind(ours) == json_kind(core) => {}
        _ => out.push(format!(
            "{path}: {} {ours} vs Core's {} {core}",
            json_kind(ours),
            json_kind(core)
        )),
    }
}

// ---------------------------------------------------------------------------------------
// Records independent of the chain's state
// ---------------------------------------------------------------------------------------

#[test]
fn records_independent_of_the_chain_state() {
    let chain = Chain::start();
    let mut r = Replayer::new(&chain);
    r.replay(
        "wrong_param_types.json",
        &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13],
        EXACT,
    );
    // Genesis, out-of-range and negative heights, named parameters.
    r.replay("getblockhash.json", &[0, 1, 2, 5, 6, 7, 8, 9], EXACT);
    r.replay("getblockhash.json", &[10], Check::Help);
    r.replay("getblockcount.json", &[4, 5], Check::Help);
    // No data, out-of-range targets, a bad mode.
    r.replay("estimatesmartfee.json", &[0, 1, 2, 3, 4, 5, 6, 7], EXACT);
    r.replay("getblockfilter.json", &[0, 1, 2, 3], EXACT);
    r.replay("unknown_method.json", &[0, 1, 2, 3, 4, 5, 6], EXACT);
    // nblocks 0, invalid and mainnet addresses, nblocks as a string.
    r.replay("generatetoaddress.json", &[3, 4, 5, 6, 7], EXACT);
    // An unknown txid, garbage hex, an invalid address.
    r.replay("generateblock.json", &[4, 5, 6], EXACT);
    r.replay("invalidateblock.json", &[9, 10], EXACT);
    r.replay("reconsiderblock.json", &[5], EXACT);
    // Genesis as hex; unknown hashes; malformed hashes.
    r.replay("getblock.json", &[0, 11, 12], EXACT);
    r.replay("getblockheader.json", &[1, 6, 7, 8, 9], EXACT);
    // Outputs spent, unknown or out of range on the recorded chain are unknown here: null
    // either way. Then a malformed txid.
    r.replay("gettxout.json", &[1, 3, 4, 5, 6, 7, 8, 11, 13], EXACT);
    r.replay("getmempoolentry.json", &[2, 3, 4, 5, 6], EXACT);
    // Unknown txids (also the replaced one, never mined) and the genesis coinbase.
    r.replay("getrawtransaction.json", &[10, 11, 12, 14, 15], EXACT);
    // Decode errors, an input nobody has, a wrong type.
    r.replay(
        "sendrawtransaction.json",
        &[6, 7, 8, 9, 10, 11, 12, 21],
        EXACT,
    );
    r.report("records_independent_of_the_chain_state");
}

// ---------------------------------------------------------------------------------------
// Records replayed on a mirror of the recorded chain
// ---------------------------------------------------------------------------------------

/// A P2WPKH key that signs like Core's wallet: low-R signatures (71 bytes), so the
/// mirror's transactions have the recorded transactions' sizes.
struct Key {
    secret: SecretKey,
    public: CompressedPublicKey,
}

impl Key {
    fn new(byte: u8) -> Self {
        let secret = SecretKey::from_slice(&[byte; 32]).unwrap();
        let public = CompressedPublicKey(secret.public_key(&Secp256k1::new()));
        Key { secret, public }
    }

    fn address(&self) -> Address {
        Address::p2wpkh(&self.public, Network::Regtest)
    }

    fn script(&self) -> ScriptBuf {
        self.address().script_pubkey()
    }

    /// A version-2, RBF-signalling transaction spending `inputs` (paying to this key).
    fn spend(&self, inputs: &[(OutPoint, Amount)], outputs: Vec<TxOut>) -> Transaction {
        let mut tx = Transaction {
            version: transaction::Version::TWO,
            lock_time: bitcoin::absolute::LockTime::ZERO,
            input: inputs
                .iter()
                .map(|(outpoint, _)| TxIn {
                    previous_output: *outpoint,
                    script_sig: ScriptBuf::new(),
                    sequence: Sequence::ENABLE_RBF_NO_LOCKTIME,
                    witness: Witness::new(),
                })
                .collect(),
            output: outputs,
        };
        let secp = Secp256k1::new();
        let mut cache = SighashCache::new(tx.clone());
        for (index, (_, value)) in inputs.iter().enumerate() {
            let sighash = cache
                .p2wpkh_signature_hash(index, &self.script(), *value, EcdsaSighashType::All)
                .unwrap();
            let message = Message::from_digest(sighash.to_byte_array());
            let signature = secp.sign_ecdsa_low_r(&message, &self.secret);
            let signature = bitcoin::ecdsa::Signature::sighash_all(signature);
            tx.input[index].witness = Witness::p2wpkh(&signature, &self.public.0);
        }
        tx
    }

    /// Pays `amount` to `to` from `input`, the change (minus `fee`) back to this key.
    fn pay(
        &self,
        input: (OutPoint, Amount),
        to: ScriptBuf,
        amount: Amount,
        fee: Amount,
    ) -> Transaction {
        let change = input.1 - amount - fee;
        let outputs = vec![
            TxOut {
                value: amount,
                script_pubkey: to,
            },
            TxOut {
                value: change,
                script_pubkey: self.script(),
            },
        ];
        self.spend(&[input], outputs)
    }
}

/// The mirror's keys: the miner's, the one paid in block 102, the mempool payee's.
struct Keys {
    miner: Key,
    payee: Key,
    mempool_payee: Key,
}

fn btc(text: &str) -> Amount {
    Amount::from_str_in(text, bitcoin::Denomination::Bitcoin).unwrap()
}

fn txid(value: &Value) -> Txid {
    value.as_str().unwrap().parse().unwrap()
}

/// Mines `count` blocks to the miner and returns their hashes.
fn mine(rpc: &Rpc, keys: &Keys, count: u64) -> Vec<String> {
    rpc.mine(count, &keys.miner.address().to_string())
}

/// The coinbase of the active block at `height`, as an input.
fn coinbase_at(rpc: &Rpc, height: u64) -> (OutPoint, Amount) {
    let hash = rpc.call("getblockhash", json!([height]));
    coinbase_input(&rpc.block(hash.as_str().unwrap()))
}

/// Setup as recorded: 101 blocks, then a payment of 1 BTC (fee 2820 sat) confirmed in
/// block 102, then a payment of 0.5 BTC from it (fee 2820 sat) left in the mempool.
fn build_read_phase(r: &mut Replayer, rpc: &Rpc, keys: &Keys) {
    let hashes = mine(rpc, keys, 101);
    let first = rpc.block(&hashes[0]);
    let last = rpc.block(&hashes[100]);
    let recorded_block_1 = load("getblockheader.json")[0]["body_json"]["result"]["nextblockhash"]
        .as_str()
        .unwrap()
        .to_owned();
    r.substitute(&recorded_block_1, &hashes[0]);
    r.substitute(&context("blocks_1_to_101_last"), &hashes[100]);
    r.substitute(
        &context("coinbase_txid_block1"),
        first.txdata[0].compute_txid(),
    );
    // gettxout #12: the (immature) coinbase of block 101.
    r.substitute(
        "396ec2477fa475f3610f199c71be6a24aa951d5d5c16c708801ae6b0e46bb4af",
        last.txdata[0].compute_txid(),
    );

    let confirmed = keys.miner.spend(
        &[coinbase_input(&first)],
        vec![
            TxOut {
                value: btc("48.9999718"),
                script_pubkey: keys.miner.script(),
            },
            TxOut {
                value: Amount::ONE_BTC,
                script_pubkey: keys.payee.script(),
            },
        ],
    );
    let confirmed_txid = rpc.send(&confirmed).unwrap();
    let block_102 = mine(rpc, keys, 1).remove(0);
    r.substitute(&context("txid_confirmed_segwit"), confirmed_txid);
    r.substitute(&context("segwit_block_hash"), &block_102);

    let unconfirmed = keys.payee.spend(
        &[(
            OutPoint {
                txid: confirmed_txid,
                vout: 1,
            },
            Amount::ONE_BTC,
        )],
        vec![
            TxOut {
                value: btc("0.5"),
                script_pubkey: keys.mempool_payee.script(),
            },
            TxOut {
                value: btc("0.4999718"),
                script_pubkey: keys.payee.script(),
            },
        ],
    );
    let unconfirmed_txid = rpc.send(&unconfirmed).unwrap();
    r.substitute(&context("txid_mempool"), unconfirmed_txid);
}

/// Fields of a block header that must match the recorded chain's at the same height.
const HEADER_FIELDS: &[&str] = &[
    "hash",
    "confirmations",
    "height",
    "version",
    "versionHex",
    "bits",
    "target",
    "difficulty",
    "chainwork",
    "nTx",
    "previousblockhash",
];

/// [`HEADER_FIELDS`] and the sizes of a block: the mirror's transactions are signed like
/// Core's wallet, so its blocks have the recorded sizes.
const BLOCK_FIELDS: &[&str] = &[
    "hash",
    "confirmations",
    "height",
    "version",
    "versionHex",
    "bits",
    "target",
    "difficulty",
    "chainwork",
    "nTx",
    "previousblockhash",
    "strippedsize",
    "size",
    "weight",
];

/// Fields of a transaction that must match the recorded one's.
const TX_FIELDS: &[&str] = &["txid", "version", "size", "vsize", "weight"];

/// [`TX_FIELDS`] and the fields of a confirmed transaction.
const CONFIRMED_TX_FIELDS: &[&str] = &[
    "txid",
    "version",
    "size",
    "vsize",
    "weight",
    "fee",
    "blockhash",
    "confirmations",
    "in_active_chain",
];

/// Step 2 of the recordings: read-only calls at height 102 with one mempool transaction.
fn replay_read_phase(r: &mut Replayer) {
    r.replay("getbestblockhash.json", &[0, 1, 2], EXACT);
    r.replay("getblockcount.json", &[0, 1, 2, 3], EXACT);
    r.replay("getblockcount.json", &[4, 5], Check::Help);
    r.replay(
        "getblockchaininfo.json",
        &[0, 1, 2],
        Check::Shape(&[
            "chain",
            "blocks",
            "headers",
            "bestblockhash",
            "bits",
            "target",
            "difficulty",
            "verificationprogress",
            "initialblockdownload",
            "chainwork",
            "size_on_disk",
            "pruned",
            "warnings",
        ]),
    );
    r.replay("getblockhash.json", &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], EXACT);
    r.replay("getblockhash.json", &[10], Check::Help);
    // Genesis is the same on every regtest chain; its next block is substituted.
    r.replay("getblockheader.json", &[0, 1], EXACT);
    r.replay(
        "getblockheader.json",
        &[2, 4, 5],
        Check::Shape(HEADER_FIELDS),
    );
    r.replay("getblockheader.json", &[3], SHAPE);
    r.replay("getblockheader.json", &[6, 7, 8, 9], EXACT);
    r.replay("getblock.json", &[0, 1, 2, 10, 11, 12], EXACT);
    r.replay("getblock.json", &[3, 9], SHAPE);
    r.replay(
        "getblock.json",
        &[4, 5, 6, 7, 8, 13],
        Check::Shape(BLOCK_FIELDS),
    );
    let outputs = Check::Shape(&["bestblock", "confirmations", "value", "coinbase"]);
    r.replay("gettxout.json", &[0, 2, 9, 10, 12], outputs);
    r.replay("gettxout.json", &[1, 3, 4, 5, 6, 7, 8, 11, 13], EXACT);
    r.replay(
        "getmempoolentry.json",
        &[0, 1],
        Check::Shape(&[
            "vsize",
            "weight",
            "height",
            "descendantcount",
            "descendantsize",
            "ancestorsize",
            "ancestorcount",
            "fees",
            "depends",
            "spentby",
            "bip125-replaceable",
            "unbroadcast",
        ]),
    );
    r.replay("getmempoolentry.json", &[2, 3, 4, 5], EXACT);
    r.replay(
        "getmempoolinfo.json",
        &[0, 1],
        Check::Shape(&[
            "loaded",
            "size",
            "bytes",
            "total_fee",
            "maxmempool",
            "mempoolminfee",
            "minrelaytxfee",
            "incrementalrelayfee",
            "unbroadcastcount",
            "fullrbf",
            "permitbaremultisig",
            "maxdatacarriersize",
        ]),
    );
    r.replay("getrawmempool.json", &[0, 1], EXACT);
    r.replay("getrawmempool.json", &[2, 4], SHAPE);
    r.replay("getrawmempool.json", &[3], Check::Shape(&["txids"]));
    r.replay("getrawtransaction.json", &[0, 2, 4, 8], SHAPE);
    r.replay("getrawtransaction.json", &[1], Check::Shape(TX_FIELDS));
    r.replay(
        "getrawtransaction.json",
        &[3, 5, 6, 7, 9],
        Check::Shape(CONFIRMED_TX_FIELDS),
    );
    r.replay("getrawtransaction.json", &[10, 11, 12, 13, 14], EXACT);
    r.replay("estimatesmartfee.json", &[0, 1, 2, 3, 4, 5, 6, 7], EXACT);
    r.replay("getblockfilter.json", &[0, 1, 2, 3], EXACT);
    r.replay("batch.json", &[0, 1, 2, 3, 4, 5, 6, 7], EXACT);
    // All but the GET (transport only); /wallet/w and /wallet/nosuch included.
    r.replay(
        "id_and_version_handling.json",
        &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 15, 16],
        EXACT,
    );
}

/// Pays `amount` from the miner's coinbase at `height` to the payee; returns its txid.
fn pay_from_coinbase(rpc: &Rpc, keys: &Keys, height: u64, amount: Amount) -> Txid {
    let tx = keys.miner.pay(
        coinbase_at(rpc, height),
        keys.payee.script(),
        amount,
        Amount::from_sat(2_820),
    );
    rpc.send(&tx).unwrap()
}

/// Step 4: generatetoaddress (to 106), generateblock (to 109), then block 110 with one
/// transaction, invalidated and reconsidered.
fn replay_mining_phase(r: &mut Replayer, rpc: &Rpc, keys: &Keys) {
    r.replay("generatetoaddress.json", &[0, 1, 2], SHAPE);
    r.replay("generatetoaddress.json", &[3, 4, 5, 6, 7], EXACT);
    r.replay("generateblock.json", &[0, 1], SHAPE);
    let included = pay_from_coinbase(rpc, keys, 2, btc("0.15"));
    r.substitute(&context("txid_for_generateblock"), included);
    r.replay("generateblock.json", &[2, 3], SHAPE);
    r.replay("generateblock.json", &[4, 5, 6], EXACT);
    assert_eq!(rpc.height(), 109);
    assert_eq!(rpc.call("getrawmempool", json!([])), json!([]));

    let block_109 = rpc.call("getbestblockhash", json!([]));
    let in_block_110 = pay_from_coinbase(rpc, keys, 3, btc("0.15"));
    let block_110 = mine(rpc, keys, 1).remove(0);
    let recorded = context_value("invalidated_block");
    r.substitute(recorded["hash"].as_str().unwrap(), &block_110);
    r.substitute(recorded["contains_tx"].as_str().unwrap(), in_block_110);
    r.substitute(
        "276184e34196c84411dcbb0bb93381bddce97d68349ebf7093c8edae95bdf512",
        block_109.as_str().unwrap(),
    );
    r.replay("invalidateblock.json", &[0, 1, 2, 3, 4], EXACT);
    r.replay("invalidateblock.json", &[5], Check::Shape(HEADER_FIELDS));
    r.replay("invalidateblock.json", &[6], Check::Shape(BLOCK_FIELDS));
    r.replay("invalidateblock.json", &[7], Check::Shape(TX_FIELDS));
    r.replay("invalidateblock.json", &[8, 9, 10], EXACT);
    r.replay("reconsiderblock.json", &[0, 1, 2, 3, 4, 5], EXACT);
}

/// Step 6: enough confirmed mempool transactions for estimates, then the estimates.
fn replay_populated_estimates(r: &mut Replayer, rpc: &Rpc, keys: &Keys) {
    let mut input = coinbase_at(rpc, 4);
    for _ in 0..12 {
        let value = input.1 - Amount::from_sat(3_000);
        let tx = keys.miner.spend(
            &[input],
            vec![TxOut {
                value,
                script_pubkey: keys.miner.script(),
            }],
        );
        let txid = rpc.send(&tx).unwrap();
        input = (OutPoint { txid, vout: 0 }, value);
    }
    mine(rpc, keys, 1);
    r.replay("estimatesmartfee.json", &[8, 9, 10, 11, 12, 13], SHAPE);
}

#[test]
fn records_replayed_on_a_mirror_of_the_recorded_chain() {
    let chain = Chain::start();
    let rpc = &chain.rpc;
    let keys = Keys {
        miner: Key::new(1),
        payee: Key::new(2),
        mempool_payee: Key::new(3),
    };
    let mut r = Replayer::new(&chain);
    build_read_phase(&mut r, rpc, &keys);
    replay_read_phase(&mut r);
    replay_mining_phase(&mut r, rpc, &keys);
    replay_populated_estimates(&mut r, rpc, &keys);
    r.report("records_replayed_on_a_mirror_of_the_recorded_chain");
}

// ---------------------------------------------------------------------------------------
// Core's rules beyond the recordings
// ---------------------------------------------------------------------------------------

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
