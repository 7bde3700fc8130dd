//! Helpers shared by the regtest chain tests: a plain JSON-RPC client over HTTP/1.1 and a
//! single-key P2WPKH signer.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};

use bitcoin::hashes::Hash;
use bitcoin::secp256k1::{Message, Secp256k1, SecretKey};
use bitcoin::sighash::{EcdsaSighashType, SighashCache};
use bitcoin::{
    absolute, transaction, Address, Amount, CompressedPublicKey, Network, OutPoint, ScriptBuf,
    Sequence, Transaction, TxIn, TxOut, Txid, Witness,
};
use serde_json::{json, Value};

/// A JSON-RPC 1.0 client with Basic auth; one connection per call.
pub struct Rpc {
    pub addr: SocketAddr,
    pub auth: String,
}

/// An RPC error: code and message.
#[derive(Debug, Clone, PartialEq)]
pub struct RpcFailure {
    pub code: i64,
    pub message: String,
}

impl Rpc {
    pub fn new(addr: SocketAddr, user: &str, password: &str) -> Self {
        use bitcoin::base64::Engine;
        let token =
            bitcoin::base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        Rpc {
            addr,
            auth: format!("Basic {token}"),
        }
    }

    /// Sends `body` to `/` as JSON and returns (status, body).
    pub fn post(&self, body: &str) -> (u16, String) {
        self.post_to("/", "application/json", body)
    }

    /// POSTs `body` to `path` on a fresh connection; returns the status and the body
    /// (empty without a Content-Length, as for 204).
    pub fn post_to(&self, path: &str, content_type: &str, body: &str) -> (u16, String) {
        let mut stream = TcpStream::connect(self.addr).unwrap();
        write!(
            stream,
            "POST {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: {}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
            self.addr,
            self.auth,
            body.len(),
            body
        )
        .unwrap();
        let mut reader = BufReader::new(stream);
        let mut status_line = String::new();
        reader.read_line(&mut status_line).unwrap();
        let status: u16 = status_line
            .split_whitespace()
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        let mut length = 0;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap();
                }
            }
        }
        let mut body = vec![0u8; length];
        reader.read_exact(&mut body).unwrap();
        (status, String::from_utf8(body).unwrap())
    }

    pub fn try_call(&self, method: &str, params: Value) -> Result<Value, RpcFailure> {
        let request = json!({"jsonrpc": "1.0", "id": "t", "method": method, "params": params});
        let (_, body) = self.post(&request.to_string());
        let reply: Value = serde_json::from_str(&body).unwrap();
        match &reply["error"] {
            Value::Null => Ok(reply["result"].clone()),
            error => Err(RpcFailure {
                code: error["code"].as_i64().unwrap(),
                message: error["message"].as_str().unwrap().to_owned(),
            }),
        }
    }

    pub fn call(&self, method: &str, params: Value) -> Value {
        self.try_call(method, params)
            .unwrap_or_else(|e| panic!("{method} failed: {e:?}"))
    }

    pub fn height(&self) -> u64 {
        self.call("getblockcount", json!([])).as_u64().unwrap()
    }

    pub fn mine(&self, blocks: u64, address: &str) -> Vec<String> {
        let hashes = self.call("generatetoaddress", json!([blocks, address]));
        hashes
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h.as_str().unwrap().to_owned())
            .collect()
    }

    pub fn block(&self, hash: &str) -> bitcoin::Block {
        let hex = self.call("getblock", json!([hash, 0]));
        bitcoin::consensus::encode::deserialize_hex(hex.as_str().unwrap()).unwrap()
    }

    pub fn send(&self, tx: &Transaction) -> Result<Txid, RpcFailure> {
        let hex = bitcoin::consensus::encode::serialize_hex(tx);
        self.try_call("sendrawtransaction", json!([hex]))
            .map(|v| v.as_str().unwrap().parse().unwrap())
    }
}

/// One P2WPKH key that can sign spends of its own outputs.
pub struct Key {
    secret: SecretKey,
    pub public: CompressedPublicKey,
}

impl Key {
    pub fn new(byte: u8) -> Self {
        let secp = Secp256k1::new();
        let secret = SecretKey::from_slice(&[byte; 32]).unwrap();
        let public = CompressedPublicKey(secret.public_key(&secp));
        Key { secret, public }
    }

    pub fn address(&self) -> Address {
        Address::p2wpkh(&self.public, Network::Regtest)
    }

    pub fn script(&self) -> ScriptBuf {
        self.address().script_pubkey()
    }

    /// A version-2 transaction spending `inputs` (all paying to this key) to `outputs`.
    pub fn spend(&self, inputs: &[(OutPoint, Amount)], outputs: Vec<TxOut>) -> Transaction {
        self.spend_with(
            inputs,
            outputs,
            absolute::LockTime::ZERO,
            Sequence::ENABLE_RBF_NO_LOCKTIME,
        )
    }

    pub fn spend_with(
        &self,
        inputs: &[(OutPoint, Amount)],
        outputs: Vec<TxOut>,
        lock_time: absolute::LockTime,
        sequence: Sequence,
    ) -> Transaction {
        let mut tx = Transaction {
            version: transaction::Version::TWO,
            lock_time,
            input: inputs
                .iter()
                .map(|(outpoint, _)| TxIn {
                    previous_output: *outpoint,
                    script_sig: ScriptBuf::new(),
                    sequence,
                    witness: Witness::new(),
                })
                .collect(),
            output: outputs,
        };
        let secp = Secp256k1::new();
        let script = self.script();
        let mut cache = SighashCache::new(tx.clone());
        for (index, (_, value)) in inputs.iter().enumerate() {
            let sighash = cache
                .p2wpkh_signature_hash(index, &script, *value, EcdsaSighashType::All)
                .unwrap();
            let message = Message::from_digest(sighash.to_byte_array());
            let signature =
                bitcoin::ecdsa::Signature::sighash_all(secp.sign_ecdsa(&message, &self.secret));
            tx.input[index].witness = Witness::p2wpkh(&signature, &self.public.0);
        }
        tx
    }

    /// Pays `amount` to `to` from one input, the change (minus `fee`) back to this key.
    pub fn pay(
        &self,
        input: (OutPoint, Amount),
        to: ScriptBuf,
        amount: Amount,
        fee: Amount,
    ) -> Transaction {
        let change = input.1 - amount - fee;
        self.spend(
            &[input],
            vec![
                TxOut {
                    value: amount,
                    script_pubkey: to,
                },
                TxOut {
                    value: change,
                    script_pubkey: self.script(),
                },
            ],
        )
    }
}

/// The coinbase output of `block` (output 0) as an input.
pub fn coinbase_input(block: &bitcoin::Block) -> (OutPoint, Amount) {
    let coinbase = &block.txdata[0];
    (
        OutPoint {
            txid: coinbase.compute_txid(),
            vout: 0,
        },
        coinbase.output[0].value,
    )
}
