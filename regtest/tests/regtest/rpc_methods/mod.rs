//! The regtest chain's RPC methods against recorded Bitcoin Core v30 answers.
//!
//! `regtest/tests/fixtures/bitcoind-regtest-rpc/*.json` holds real exchanges with a Core
//! regtest node.
//! `rpc_transport` tests the transport alone (with stub methods); these tests send the
//! recorded request bodies, byte for byte, to the real chain started in-process with
//! `sluice_regtest::start`, and compare the status code and the parsed body with the
//! recording.
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
//!
//! `replay.rs` holds the recordings and how answers are compared; `fresh.rs`,
//! `mirror.rs` and `rules.rs` the three tests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fresh;
mod mirror;
mod replay;
mod rules;

use std::net::SocketAddr;

use bitcoin::hashes::Hash;
use bitcoin::secp256k1::{Message, Secp256k1, SecretKey};
use bitcoin::sighash::{EcdsaSighashType, SighashCache};
use bitcoin::{
    transaction, Address, Amount, CompressedPublicKey, Network, OutPoint, ScriptBuf, Sequence,
    Transaction, TxIn, TxOut, Txid, Witness,
};
use serde_json::Value;
use sluice_regtest::{start, Automine, RegtestChainConfig, RunningChain};

use crate::common::Rpc;

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

/// A txid answered as a JSON string.
fn txid(value: &Value) -> Txid {
    value.as_str().unwrap().parse().unwrap()
}
