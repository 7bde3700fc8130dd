//! Benchmark of the embedded regtest chain over its RPC on loopback:
//! `sendrawtransaction` throughput (1,000 signed P2WPKH spends, one keep-alive HTTP
//! connection, one call at a time) and the time `generatetoaddress` takes to mine a block
//! holding those 1,000 mempool transactions.
//!
//! Run: `cargo bench -p sluice-regtest --bench regtest_chain`. Prints the median and the
//! range over several rounds.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use bitcoin::hashes::Hash;
use bitcoin::secp256k1::{Message, Secp256k1, SecretKey};
use bitcoin::sighash::{EcdsaSighashType, SighashCache};
use bitcoin::{
    absolute, transaction, Address, Amount, CompressedPublicKey, Network, OutPoint, ScriptBuf,
    Sequence, Transaction, TxIn, TxOut, Witness,
};
use serde_json::{json, Value};
use sluice_regtest::{start, Automine, RegtestChainConfig};

const TXS: usize = 1_000;
const ROUNDS: usize = 5;

/// A JSON-RPC client on one keep-alive connection.
struct Client {
    reader: BufReader<TcpStream>,
    auth: String,
}

impl Client {
    fn connect(addr: SocketAddr) -> Self {
        use bitcoin::base64::Engine;
        let stream = TcpStream::connect(addr).unwrap();
        stream.set_nodelay(true).unwrap();
        let token = bitcoin::base64::engine::general_purpose::STANDARD.encode("u:p");
        Client {
            reader: BufReader::new(stream),
            auth: format!("Basic {token}"),
        }
    }

    fn call(&mut self, method: &str, params: Value) -> Value {
        let body =
            json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).to_string();
        let request = format!(
            "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            self.auth,
            body.len()
        );
        self.reader.get_mut().write_all(request.as_bytes()).unwrap();
        let mut length = 0;
        let mut line = String::new();
        loop {
            line.clear();
            self.reader.read_line(&mut line).unwrap();
            if line == "\r\n" {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; length];
        self.reader.read_exact(&mut body).unwrap();
        let reply: Value = serde_json::from_slice(&body).unwrap();
        assert!(reply.get("error").is_none(), "{method}: {reply}");
        reply["result"].clone()
    }
}

struct Key {
    secret: SecretKey,
    public: CompressedPublicKey,
}

impl Key {
    fn script(&self) -> ScriptBuf {
        Address::p2wpkh(&self.public, Network::Regtest).script_pubkey()
    }

    fn sign(&self, inputs: &[(OutPoint, Amount)], output: Vec<TxOut>) -> Transaction {
        let mut tx = Transaction {
            version: transaction::Version::TWO,
            lock_time: absolute::LockTime::ZERO,
            input: inputs
                .iter()
                .map(|(outpoint, _)| TxIn {
                    previous_output: *outpoint,
                    script_sig: ScriptBuf::new(),
                    sequence: Sequence::ENABLE_RBF_NO_LOCKTIME,
                    witness: Witness::new(),
                })
                .collect(),
            output,
        };
        let secp = Secp256k1::new();
        let mut cache = SighashCache::new(tx.clone());
        for (index, (_, value)) in inputs.iter().enumerate() {
            let hash = cache
                .p2wpkh_signature_hash(index, &self.script(), *value, EcdsaSighashType::All)
                .unwrap();
            let sig = secp.sign_ecdsa(&Message::from_digest(hash.to_byte_array()), &self.secret);
            tx.input[index].witness =
                Witness::p2wpkh(&bitcoin::ecdsa::Signature::sighash_all(sig), &self.public.0);
        }
        tx
    }
}

fn median(mut values: Vec<Duration>) -> (Duration, Duration, Duration) {
    values.sort();
    (
        values[values.len() / 2],
        values[0],
        values[values.len() - 1],
    )
}

fn main() {
    // `cargo test --benches` runs bench targets with `--bench` absent; only measure when
    // asked to (`cargo bench` passes `--bench`).
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let secp = Secp256k1::new();
    let secret = SecretKey::from_slice(&[7; 32]).unwrap();
    let key = Key {
        secret,
        public: CompressedPublicKey(secret.public_key(&secp)),
    };
    let address = Address::p2wpkh(&key.public, Network::Regtest).to_string();

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let running = runtime
        .block_on(start(RegtestChainConfig {
            data_dir: None,
            rpc_addr: "127.0.0.1:0".parse().unwrap(),
            rpc_user: "u".into(),
            rpc_password: "p".into(),
            automine: Automine::Off,
            automine_script: None,
        }))
        .unwrap();
    let mut rpc = Client::connect(running.rpc_addr);
    let hashes = rpc.call("generatetoaddress", json!([100 + ROUNDS, address]));

    let (mut sends, mut mines) = (Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        // Split one mature coinbase into TXS outputs, confirm it, then pre-sign TXS spends.
        let hash = hashes[round].as_str().unwrap();
        let block: bitcoin::Block = bitcoin::consensus::encode::deserialize_hex(
            rpc.call("getblock", json!([hash, 0])).as_str().unwrap(),
        )
        .unwrap();
        let coinbase = (
            OutPoint {
                txid: block.txdata[0].compute_txid(),
                vout: 0,
            },
            block.txdata[0].output[0].value,
        );
        let each = Amount::from_sat((coinbase.1.to_sat() - 100_000) / TXS as u64);
        let fan_out = key.sign(
            &[coinbase],
            (0..TXS)
                .map(|_| TxOut {
                    value: each,
                    script_pubkey: key.script(),
                })
                .collect(),
        );
        rpc.call(
            "sendrawtransaction",
            json!([bitcoin::consensus::encode::serialize_hex(&fan_out)]),
        );
        rpc.call("generatetoaddress", json!([1, address]));
        let fan_txid = fan_out.compute_txid();
        let spends: Vec<String> = (0..TXS as u32)
            .map(|vout| {
                let input = (
                    OutPoint {
                        txid: fan_txid,
                        vout,
                    },
                    each,
                );
                let tx = key.sign(
                    &[input],
                    vec![TxOut {
                        value: each - Amount::from_sat(500),
                        script_pubkey: key.script(),
                    }],
                );
                bitcoin::consensus::encode::serialize_hex(&tx)
            })
            .collect();

        let start = Instant::now();
        for hex in &spends {
            rpc.call("sendrawtransaction", json!([hex]));
        }
        sends.push(start.elapsed());
        assert_eq!(rpc.call("getmempoolinfo", json!([]))["size"], TXS);

        let start = Instant::now();
        rpc.call("generatetoaddress", json!([1, address]));
        mines.push(start.elapsed());
        assert_eq!(rpc.call("getmempoolinfo", json!([]))["size"], 0);
    }
    runtime.block_on(running.stop());

    let (send, send_min, send_max) = median(sends);
    let rate = |d: Duration| TXS as f64 / d.as_secs_f64();
    println!(
        "sendrawtransaction: {:.0} tx/s median over {ROUNDS} rounds of {TXS} (range {:.0}-{:.0}); 1 keep-alive connection, P2WPKH 1-in-1-out, scripts verified",
        rate(send),
        rate(send_max),
        rate(send_min)
    );
    let (mine, mine_min, mine_max) = median(mines);
    println!(
        "generatetoaddress with {TXS} mempool txs: {:.1} ms median (range {:.1}-{:.1} ms)",
        mine.as_secs_f64() * 1e3,
        mine_min.as_secs_f64() * 1e3,
        mine_max.as_secs_f64() * 1e3
    );
}
