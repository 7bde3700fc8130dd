//! Helpers for the tests of `sluice regtest-chain`: a plain JSON-RPC client over HTTP/1.1
//! and an address to mine to. (The chain's own tests, with a fuller client and a signer,
//! are in `regtest/tests/regtest/`.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};

use bitcoin::secp256k1::{Secp256k1, SecretKey};
use bitcoin::{Address, CompressedPublicKey, Network};
use serde_json::{json, Value};

/// A JSON-RPC 1.0 client with Basic auth; one connection per call.
pub struct Rpc {
    addr: SocketAddr,
    auth: String,
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

    /// POSTs `body` to `/` as JSON on a fresh connection; returns the status and the body
    /// (empty without a Content-Length, as for 401).
    pub fn post(&self, body: &str) -> (u16, String) {
        let mut stream = TcpStream::connect(self.addr).unwrap();
        write!(
            stream,
            "POST / HTTP/1.1\r\nHost: {}\r\nAuthorization: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
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

    /// The result of `method`; panics on an error answer.
    pub fn call(&self, method: &str, params: Value) -> Value {
        let request = json!({"jsonrpc": "1.0", "id": "t", "method": method, "params": params});
        let (_, body) = self.post(&request.to_string());
        let reply: Value = serde_json::from_str(&body).unwrap();
        assert!(reply["error"].is_null(), "{method} failed: {reply}");
        reply["result"].clone()
    }

    pub fn height(&self) -> u64 {
        self.call("getblockcount", json!([])).as_u64().unwrap()
    }

    /// Mines `blocks` to `address`; returns their hashes.
    pub fn mine(&self, blocks: u64, address: &str) -> Vec<String> {
        let hashes = self.call("generatetoaddress", json!([blocks, address]));
        hashes
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h.as_str().unwrap().to_owned())
            .collect()
    }
}

/// The regtest P2WPKH address of the key `[byte; 32]`.
pub fn address(byte: u8) -> String {
    let secret = SecretKey::from_slice(&[byte; 32]).unwrap();
    let public = CompressedPublicKey(secret.public_key(&Secp256k1::new()));
    Address::p2wpkh(&public, Network::Regtest).to_string()
}
