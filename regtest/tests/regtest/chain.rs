//! The embedded regtest chain through its RPC: real blocks, real transaction checks with
//! Bitcoin Core's error codes, reorgs, persistence and automine.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use crate::common::{coinbase_input, Key, Rpc};
use bitcoin::{absolute, Amount, OutPoint, Sequence, TxOut};
use serde_json::json;
use sluice_regtest::{start, Automine, RegtestChainConfig, RunningChain};

fn config(data_dir: Option<&std::path::Path>, automine: Automine) -> RegtestChainConfig {
    RegtestChainConfig {
        data_dir: data_dir.map(|d| d.to_path_buf()),
        rpc_addr: "127.0.0.1:0".parse().unwrap(),
        rpc_user: "u".into(),
        rpc_password: "p".into(),
        automine,
        automine_script: None,
    }
}

/// A chain on its own runtime, so blocking RPC calls can be made from the test thread.
struct Chain {
    runtime: tokio::runtime::Runtime,
    running: Option<RunningChain>,
    rpc: Rpc,
}

impl Chain {
    fn start(config: RegtestChainConfig) -> Self {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let running = runtime.block_on(start(config)).unwrap();
        let rpc = Rpc::new(running.rpc_addr, "u", "p");
        Chain {
            runtime,
            running: Some(running),
            rpc,
        }
    }

    fn stop(mut self) {
        if let Some(running) = self.running.take() {
            self.runtime.block_on(running.stop());
        }
    }
}

/// Sends 1 BTC from the coinbase of block `hash` (paid to `key`) to another key.
fn pay_one_btc(rpc: &Rpc, key: &Key, hash: &str) -> bitcoin::Txid {
    let coin = coinbase_input(&rpc.block(hash));
    let tx = key.pay(
        coin,
        Key::new(2).script(),
        Amount::from_btc(1.0).unwrap(),
        Amount::from_sat(1_000),
    );
    rpc.send(&tx).unwrap()
}

#[test]
fn blocks_are_real_and_coinbases_mature_after_100() {
    let chain = Chain::start(config(None, Automine::Off));
    let rpc = &chain.rpc;
    let key = Key::new(1);
    let hashes = rpc.mine(101, &key.address().to_string());
    assert_eq!(rpc.height(), 101);

    for (height, hash) in [(1usize, &hashes[0]), (101, &hashes[100])] {
        let block = rpc.block(hash);
        assert_eq!(block.block_hash().to_string(), *hash);
        assert_eq!(block.header.bits.to_consensus(), 0x207f_ffff);
        block
            .header
            .validate_pow(block.header.target())
            .expect("proof of work");
        assert!(block.check_merkle_root());
        assert!(block.check_witness_commitment());
        let bip34 = bitcoin::script::Builder::new()
            .push_int(height as i64)
            .into_script();
        assert!(block.txdata[0].input[0]
            .script_sig
            .as_bytes()
            .starts_with(bip34.as_bytes()));
        assert_eq!(
            block.txdata[0].output[0].value,
            Amount::from_btc(50.0).unwrap()
        );
    }

    // At height 101 the next block is 102: block 2's coinbase is 100 deep, block 3's 99.
    let block2 = rpc.block(&hashes[1]);
    let block3 = rpc.block(&hashes[2]);
    let dest = Key::new(2).script();
    let fee = Amount::from_sat(1_000);
    let early = key.pay(
        coinbase_input(&block3),
        dest.clone(),
        Amount::from_btc(1.0).unwrap(),
        fee,
    );
    let err = rpc.send(&early).unwrap_err();
    assert_eq!(err.code, -26);
    assert!(
        err.message
            .starts_with("bad-txns-premature-spend-of-coinbase"),
        "{}",
        err.message
    );
    let ripe = key.pay(
        coinbase_input(&block2),
        dest,
        Amount::from_btc(1.0).unwrap(),
        fee,
    );
    let txid = rpc.send(&ripe).unwrap();
    let entry = rpc.call("getmempoolentry", json!([txid.to_string()]));
    assert_eq!(entry["fees"]["base"].as_f64().unwrap(), 0.00001);

    // Mining it pays the fee to the miner on top of the subsidy.
    let hash = rpc.mine(1, &key.address().to_string()).remove(0);
    let block = rpc.block(&hash);
    assert_eq!(block.txdata[1].compute_txid(), txid);
    assert_eq!(
        block.txdata[0].output[0].value,
        Amount::from_sat(50 * 100_000_000 + 1_000)
    );
    let confirmed = rpc.call("getrawtransaction", json!([txid.to_string(), true]));
    assert_eq!(confirmed["confirmations"], 1);
    assert_eq!(confirmed["blockhash"], hash);
    chain.stop();
}

#[test]
fn subsidy_halves_every_150_blocks() {
    let chain = Chain::start(config(None, Automine::Off));
    let address = Key::new(1).address().to_string();
    let hashes = chain.rpc.mine(151, &address);
    let reward = |height: usize| chain.rpc.block(&hashes[height - 1]).txdata[0].output[0].value;
    assert_eq!(reward(149), Amount::from_btc(50.0).unwrap());
    assert_eq!(reward(150), Amount::from_btc(25.0).unwrap());
    assert_eq!(reward(151), Amount::from_btc(25.0).unwrap());
    chain.stop();
}

#[test]
fn bad_transactions_get_bitcoin_cores_errors() {
    let chain = Chain::start(config(None, Automine::Off));
    let rpc = &chain.rpc;
    let key = Key::new(1);
    let other = Key::new(2);
    let hashes = rpc.mine(110, &key.address().to_string());
    let coin = coinbase_input(&rpc.block(&hashes[0]));
    let one_btc = Amount::from_btc(1.0).unwrap();

    // Garbage.
    assert_eq!(
        rpc.try_call("sendrawtransaction", json!(["00"]))
            .unwrap_err()
            .code,
        -22
    );
    // Unknown input.
    let unknown = (
        OutPoint {
            txid: "ab".repeat(32).parse().unwrap(),
            vout: 0,
        },
        one_btc,
    );
    let err = rpc
        .send(&key.pay(
            unknown,
            other.script(),
            Amount::from_sat(50_000),
            Amount::from_sat(500),
        ))
        .unwrap_err();
    assert_eq!(
        (err.code, err.message.as_str()),
        (-25, "bad-txns-inputs-missingorspent")
    );
    // Outputs above inputs.
    let greedy = key.spend(
        &[coin],
        vec![TxOut {
            value: coin.1 + one_btc,
            script_pubkey: other.script(),
        }],
    );
    let err = rpc.send(&greedy).unwrap_err();
    assert_eq!(err.code, -26);
    assert!(
        err.message.starts_with("bad-txns-in-belowout"),
        "{}",
        err.message
    );
    // No fee.
    let free = key.spend(
        &[coin],
        vec![TxOut {
            value: coin.1,
            script_pubkey: other.script(),
        }],
    );
    let err = rpc.send(&free).unwrap_err();
    assert_eq!(err.code, -26);
    assert!(
        err.message.starts_with("min relay fee not met, 0 < "),
        "{}",
        err.message
    );
    // Dust.
    let dusty = key.spend(
        &[coin],
        vec![
            TxOut {
                value: Amount::from_sat(100),
                script_pubkey: other.script(),
            },
            TxOut {
                value: coin.1 - Amount::from_sat(10_000),
                script_pubkey: key.script(),
            },
        ],
    );
    assert_eq!(
        rpc.send(&dusty).unwrap_err().message,
        "dust, tx with dust output must be 0-fee"
    );
    // Absurd fee (above 0.10 BTC/kvB).
    let absurd = key.pay(
        coin,
        other.script(),
        one_btc,
        Amount::from_btc(1.0).unwrap(),
    );
    let err = rpc.send(&absurd).unwrap_err();
    assert_eq!(err.code, -25);
    assert!(
        err.message.starts_with("Fee exceeds maximum"),
        "{}",
        err.message
    );
    // A bad signature: flip a byte of r inside the DER signature.
    let good = key.pay(coin, other.script(), one_btc, Amount::from_sat(2_000));
    let mut forged = good.clone();
    let mut witness: Vec<Vec<u8>> = forged.input[0].witness.iter().map(<[u8]>::to_vec).collect();
    witness[0][10] ^= 0x01;
    forged.input[0].witness = bitcoin::Witness::from_slice(&witness);
    let err = rpc.send(&forged).unwrap_err();
    assert_eq!(err.code, -26);
    assert!(
        err.message.starts_with("mempool-script-verify-flag-failed"),
        "{}",
        err.message
    );

    // The good one goes in; sending it again returns its txid.
    let txid = rpc.send(&good).unwrap();
    assert_eq!(rpc.send(&good).unwrap(), txid);
    // A lower-fee double spend is refused; a higher-fee one replaces it.
    let cheaper = key.pay(coin, other.script(), one_btc, Amount::from_sat(1_500));
    let err = rpc.send(&cheaper).unwrap_err();
    assert_eq!(err.code, -26);
    assert!(
        err.message
            .starts_with("insufficient fee, rejecting replacement"),
        "{}",
        err.message
    );
    let richer = key.pay(coin, other.script(), one_btc, Amount::from_sat(5_000));
    let replacement = rpc.send(&richer).unwrap();
    let mempool = rpc.call("getrawmempool", json!([]));
    assert_eq!(mempool, json!([replacement.to_string()]));
    assert_eq!(
        rpc.try_call("getmempoolentry", json!([txid.to_string()]))
            .unwrap_err()
            .code,
        -5
    );

    // Once confirmed: the same transaction is "already in utxo set", a spend of its input
    // is missing inputs.
    rpc.mine(1, &key.address().to_string());
    let err = rpc.send(&richer).unwrap_err();
    assert_eq!(
        (err.code, err.message.as_str()),
        (-27, "Transaction outputs already in utxo set")
    );
    assert_eq!(rpc.send(&good).unwrap_err().code, -25);
    assert_eq!(
        rpc.call("gettxout", json!([coin.0.txid.to_string(), 0])),
        serde_json::Value::Null
    );
    chain.stop();
}

#[test]
fn time_locks_are_enforced() {
    let chain = Chain::start(config(None, Automine::Off));
    let rpc = &chain.rpc;
    let key = Key::new(1);
    let hashes = rpc.mine(102, &key.address().to_string());
    let out = |value| {
        vec![TxOut {
            value,
            script_pubkey: key.script(),
        }]
    };
    let fee = Amount::from_sat(1_000);

    // Absolute lock at a future height.
    let coin = coinbase_input(&rpc.block(&hashes[0]));
    let locked = key.spend_with(
        &[coin],
        out(coin.1 - fee),
        absolute::LockTime::from_height(110).unwrap(),
        Sequence::ENABLE_LOCKTIME_NO_RBF,
    );
    assert_eq!(rpc.send(&locked).unwrap_err().message, "non-final");

    // Relative lock (BIP68) of 5 blocks on a coin confirmed in the last block.
    let fresh = key.pay(
        coinbase_input(&rpc.block(&hashes[1])),
        key.script(),
        Amount::from_btc(1.0).unwrap(),
        fee,
    );
    let fresh_txid = rpc.send(&fresh).unwrap();
    rpc.mine(1, &key.address().to_string());
    let child_input = (
        OutPoint {
            txid: fresh_txid,
            vout: 0,
        },
        Amount::from_btc(1.0).unwrap(),
    );
    let waiting = key.spend_with(
        &[child_input],
        out(child_input.1 - fee),
        absolute::LockTime::ZERO,
        Sequence::from_height(5),
    );
    assert_eq!(rpc.send(&waiting).unwrap_err().message, "non-BIP68-final");
    rpc.mine(4, &key.address().to_string());
    rpc.send(&waiting)
        .expect("five blocks later the relative lock is met");
    chain.stop();
}

#[test]
fn invalidate_and_reconsider_move_the_tip_and_the_mempool() {
    let chain = Chain::start(config(None, Automine::Off));
    let rpc = &chain.rpc;
    let key = Key::new(1);
    let hashes = rpc.mine(101, &key.address().to_string());
    let txid = pay_one_btc(rpc, &key, &hashes[0]).to_string();
    let tip = rpc.mine(1, &key.address().to_string()).remove(0);
    assert_eq!(rpc.call("getrawmempool", json!([])), json!([]));

    assert_eq!(
        rpc.call("invalidateblock", json!([tip])),
        serde_json::Value::Null
    );
    assert_eq!(rpc.height(), 101);
    assert_eq!(
        rpc.call("getrawmempool", json!([])),
        json!([txid]),
        "the tx is back in the mempool"
    );
    let header = rpc.call("getblockheader", json!([tip, true]));
    assert_eq!(header["confirmations"], -1);

    // A competing block at the same height takes over.
    let fork = rpc.mine(1, &key.address().to_string()).remove(0);
    assert_ne!(fork, tip);
    assert_eq!(
        rpc.call("getblock", json!([fork, 1]))["tx"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // Reconsidering the old tip: equal work, and the block seen first wins, as in Core.
    rpc.call("reconsiderblock", json!([tip]));
    assert_eq!(rpc.call("getbestblockhash", json!([])), json!(tip));
    assert_eq!(
        rpc.call("getrawmempool", json!([])),
        json!([]),
        "confirmed again"
    );
    // More work on the other branch wins over the first seen.
    rpc.call("invalidateblock", json!([tip]));
    let longer = rpc.mine(1, &key.address().to_string()).remove(0);
    rpc.call("reconsiderblock", json!([tip]));
    assert_eq!(rpc.call("getbestblockhash", json!([])), json!(longer));
    assert_eq!(rpc.height(), 103);
    assert_eq!(
        rpc.call("getblockheader", json!([tip, true]))["confirmations"],
        -1
    );
    assert_eq!(
        rpc.try_call("invalidateblock", json!(["00".repeat(32)]))
            .unwrap_err()
            .code,
        -5
    );
    chain.stop();
}

#[test]
fn the_chain_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let key = Key::new(1);
    let (tip, coin) = {
        let chain = Chain::start(config(Some(dir.path()), Automine::Off));
        let hashes = chain.rpc.mine(105, &key.address().to_string());
        let coin = coinbase_input(&chain.rpc.block(&hashes[0]));
        let tx = key.pay(
            coin,
            Key::new(2).script(),
            Amount::from_btc(1.0).unwrap(),
            Amount::from_sat(1_000),
        );
        chain.rpc.send(&tx).unwrap();
        let tip = chain.rpc.mine(1, &key.address().to_string()).remove(0);
        chain.stop();
        (tip, coin)
    };
    let chain = Chain::start(config(Some(dir.path()), Automine::Off));
    assert_eq!(chain.rpc.height(), 106);
    assert_eq!(chain.rpc.call("getbestblockhash", json!([])), json!(tip));
    // The UTXO set was rebuilt: the spent coinbase stays spent, a later one is there.
    assert_eq!(
        chain
            .rpc
            .call("gettxout", json!([coin.0.txid.to_string(), 0])),
        serde_json::Value::Null
    );
    let second = chain.rpc.call("getblockhash", json!([2]));
    let block2 = chain.rpc.block(second.as_str().unwrap());
    let out = chain.rpc.call(
        "gettxout",
        json!([block2.txdata[0].compute_txid().to_string(), 0]),
    );
    assert_eq!(out["value"].as_f64().unwrap(), 50.0);
    assert_eq!(out["coinbase"], true);

    // A second process cannot open the same directory while this one runs.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let second = runtime.block_on(start(config(Some(dir.path()), Automine::Off)));
    assert!(second.is_err(), "the data directory must be locked");
    chain.stop();
}

#[test]
fn automine_confirms_transactions_by_itself() {
    let chain = Chain::start(config(None, Automine::OnTransaction));
    let rpc = &chain.rpc;
    let key = Key::new(1);
    let hashes = rpc.mine(101, &key.address().to_string());
    let txid = pay_one_btc(rpc, &key, &hashes[0]).to_string();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let found = rpc.call("getrawtransaction", json!([txid, true]));
        if found["confirmations"].as_u64() == Some(1) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "automine did not confirm the transaction"
        );
        std::thread::yield_now();
    }
    assert_eq!(rpc.height(), 102);
    chain.stop();
}
