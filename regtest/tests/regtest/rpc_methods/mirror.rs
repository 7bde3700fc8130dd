//! The records that depend on the chain's state, replayed in recording order on a mirror
//! of the recorded chain: built like it, with its amounts and Core's low-R signatures.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use bitcoin::{Amount, OutPoint, TxOut, Txid};
use serde_json::json;

use super::replay::{context, context_value, load, Check, Replayer, EXACT, SHAPE};
use super::{Chain, Key};
use crate::common::{coinbase_input, Rpc};

/// The mirror's keys: the miner's, the one paid in block 102, the mempool payee's.
struct Keys {
    miner: Key,
    payee: Key,
    mempool_payee: Key,
}

fn btc(text: &str) -> Amount {
    Amount::from_str_in(text, bitcoin::Denomination::Bitcoin).unwrap()
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
