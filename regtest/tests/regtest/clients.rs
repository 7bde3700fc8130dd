//! The embedded regtest chain against the unmodified clients sluice uses in production
//! (ARCHITECTURE.md §4): lightning-block-sync's `RpcClient` + `SpvClient` following the tip
//! through a reorg, and a bdk_wallet `Wallet` synced with bdk_bitcoind_rpc's `Emitter`
//! receiving, spending and confirming coins, plus the mempool's refusals of double spends
//! and bad signatures as those clients see them (codes and messages of Bitcoin Core v30).
//!
//! Where the chain's answer differs from the one Core v30 gave (the recorded transcripts
//! in `regtest/tests/fixtures/bitcoind-regtest-rpc/`), the test asserts Core's answer with
//! a message naming the difference.
//!
//! Every chain listens on 127.0.0.1 port 0 and is stopped by its test. The blocking
//! clients (bitcoincore_rpc) run on the test thread while the chain runs on its own tokio
//! runtime.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bdk_bitcoind_rpc::bitcoincore_rpc::jsonrpc::error::{Error as JsonRpcError, RpcError};
use bdk_bitcoind_rpc::bitcoincore_rpc::{self, Auth, Client, RpcApi};
use bdk_bitcoind_rpc::Emitter;
use bdk_wallet::chain::ChainPosition;
use bdk_wallet::{KeychainKind, SignOptions, Wallet};
use bitcoin::base64::engine::general_purpose::STANDARD as BASE64;
use bitcoin::base64::Engine as _;
use bitcoin::bip32::Xpriv;
use bitcoin::constants::genesis_block;
use bitcoin::hashes::Hash;
use bitcoin::script::Instruction;
use bitcoin::{
    Address, Amount, Block, BlockHash, FeeRate, Network, OutPoint, ScriptBuf, Transaction, Txid,
    Witness,
};
use lightning::chain::transaction::TransactionData;
use lightning::chain::{BestBlock, Listen};
use lightning_block_sync::gossip::UtxoSource;
use lightning_block_sync::http::HttpEndpoint;
use lightning_block_sync::poll::{ChainPoller, ChainTip, Poll, Validate};
use lightning_block_sync::rpc::RpcClient;
use lightning_block_sync::{BlockData, BlockSource, Cache, SpvClient, UnboundedCache};
use serde_json::{json, Value};
use sluice_regtest::{start, Automine, RegtestChainConfig, RunningChain};

const USER: &str = "u";
const PASSWORD: &str = "p";
/// How long any wait for the chain or a client may take before the test fails.
const DEADLINE: Duration = Duration::from_secs(15);

fn chain_config(data_dir: Option<&Path>) -> RegtestChainConfig {
    RegtestChainConfig {
        data_dir: data_dir.map(Path::to_path_buf),
        rpc_addr: "127.0.0.1:0".parse().unwrap(),
        rpc_user: USER.into(),
        rpc_password: PASSWORD.into(),
        automine: Automine::Off,
        automine_script: None,
    }
}

/// A regtest address paying a bare witness script (any script will do for coinbases).
fn script_address(script: &[u8]) -> Address {
    Address::p2wsh(&ScriptBuf::from_bytes(script.to_vec()), Network::Regtest)
}

// ---------------------------------------------------------------------------------------
// 1. lightning-block-sync
// ---------------------------------------------------------------------------------------

/// What the listener was told, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
enum ChainEvent {
    Connected { hash: BlockHash, height: u32 },
    Disconnected { fork_point: BestBlock },
}

/// A `chain::Listen` recording every notification and the chain it implies.
#[derive(Default)]
struct Recorder {
    events: Mutex<Vec<ChainEvent>>,
    /// The listener's view of the active chain: (height, hash) from height 1 up.
    chain: Mutex<Vec<(u32, BlockHash)>>,
}

impl Recorder {
    fn events(&self) -> Vec<ChainEvent> {
        self.events.lock().unwrap().clone()
    }

    fn tip(&self) -> Option<(u32, BlockHash)> {
        self.chain.lock().unwrap().last().copied()
    }

    fn connected(&self, hash: BlockHash, prev: BlockHash, height: u32) {
        let mut chain = self.chain.lock().unwrap();
        if let Some(&(tip_height, tip_hash)) = chain.last() {
            assert_eq!(
                (tip_height + 1, tip_hash),
                (height, prev),
                "block {hash} connected at {height} does not extend the listener's tip"
            );
        } else {
            assert_eq!(height, 1, "the first connected block must be at height 1");
        }
        chain.push((height, hash));
        self.events
            .lock()
            .unwrap()
            .push(ChainEvent::Connected { hash, height });
    }
}

impl Listen for Recorder {
    fn filtered_block_connected(
        &self,
        header: &bitcoin::block::Header,
        _txdata: &TransactionData,
        height: u32,
    ) {
        self.connected(header.block_hash(), header.prev_blockhash, height);
    }

    fn block_connected(&self, block: &Block, height: u32) {
        assert_eq!(
            coinbase_height(block),
            Some(i64::from(height)),
            "the coinbase of block {} does not commit to height {height} (BIP34)",
            block.block_hash()
        );
        self.connected(block.block_hash(), block.header.prev_blockhash, height);
    }

    fn blocks_disconnected(&self, fork_point: BestBlock) {
        let mut chain = self.chain.lock().unwrap();
        chain.truncate(fork_point.height as usize);
        if let Some(&(height, hash)) = chain.last() {
            assert_eq!((height, hash), (fork_point.height, fork_point.block_hash));
        }
        self.events
            .lock()
            .unwrap()
            .push(ChainEvent::Disconnected { fork_point });
    }
}

/// The BIP34 height in a block's coinbase: its first push, a number (`OP_1`..`OP_16` for
/// heights up to 16, as Core's `CScript() << height` writes them; rust-bitcoin's
/// `bip34_block_height` only reads data pushes).
fn coinbase_height(block: &Block) -> Option<i64> {
    let script_sig = &block.txdata.first()?.input.first()?.script_sig;
    match script_sig.instructions_minimal().next()?.ok()? {
        Instruction::PushBytes(bytes) => bitcoin::script::read_scriptint(bytes.as_bytes()).ok(),
        Instruction::Op(op) => {
            let code = op.to_u8();
            (0x51..=0x60)
                .contains(&code)
                .then(|| i64::from(code - 0x50))
        }
    }
}

/// Polls until the listener's tip is `want` (or the deadline passes).
async fn poll_until_tip<P: Poll, C: Cache>(
    spv: &mut SpvClient<'_, P, C, &Recorder>,
    recorder: &Recorder,
    want: (u32, BlockHash),
) {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let polled = spv.poll_best_tip().await;
        if recorder.tip() == Some(want) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the SPV client did not reach {want:?}; last poll: {polled:?}, listener tip {:?}",
            recorder.tip()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Calls a chain method through lightning-block-sync's own RPC client.
async fn call(client: &RpcClient, method: &str, params: &[Value]) -> Value {
    client
        .call_method::<Value>(method, params)
        .await
        .unwrap_or_else(|e| panic!("{method} {params:?} failed: {e}"))
}

async fn mine(client: &RpcClient, blocks: u32, to: &Address) -> Vec<BlockHash> {
    let hashes = call(
        client,
        "generatetoaddress",
        &[json!(blocks), json!(to.to_string())],
    )
    .await;
    let hashes: Vec<BlockHash> = serde_json::from_value(hashes).unwrap();
    assert_eq!(hashes.len(), blocks as usize);
    hashes
}

/// The RPC error (code, message) inside a `BlockSourceError` from `RpcClient`.
fn block_source_rpc_error(error: lightning_block_sync::BlockSourceError) -> (i64, String) {
    let io = error
        .into_inner()
        .downcast::<std::io::Error>()
        .expect("an io::Error");
    let inner = io
        .into_inner()
        .expect("an io::Error wrapping the RPC error");
    let rpc = inner
        .downcast::<lightning_block_sync::rpc::RpcError>()
        .expect("an RpcError");
    (rpc.code, rpc.message)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lightning_block_sync_follows_the_tip_through_a_reorg() {
    let dir = tempfile::tempdir().unwrap();
    let running = start(chain_config(Some(dir.path()))).await.unwrap();
    let credentials = BASE64.encode(format!("{USER}:{PASSWORD}"));
    let endpoint = HttpEndpoint::for_host("127.0.0.1".into()).with_port(running.rpc_addr.port());
    let client = RpcClient::new(&credentials, endpoint);

    // The fresh chain: regtest genesis, as a validated starting tip.
    let genesis = genesis_block(Network::Regtest);
    let genesis_hash = genesis.block_hash();
    assert_eq!(
        client.get_best_block().await.unwrap(),
        (genesis_hash, Some(0))
    );
    let genesis_header = client.get_header(&genesis_hash, None).await.unwrap();
    assert_eq!(genesis_header.header, genesis.header);
    assert_eq!(genesis_header.height, 0);
    assert_eq!(genesis_header.chainwork, genesis.header.work());
    let start_tip = genesis_header.validate(genesis_hash).unwrap();

    let recorder = Recorder::default();
    let mut cache = UnboundedCache::new();
    let poller = ChainPoller::new(&client, Network::Regtest);
    let mut spv = SpvClient::new(start_tip, poller, &mut cache, &recorder);
    let (tip, changed) = spv.poll_best_tip().await.unwrap();
    assert_eq!((tip, changed), (ChainTip::Common, false));

    // Five blocks: the listener gets each of them, in order.
    let first_payee = script_address(&[0x51]);
    let old = mine(&client, 5, &first_payee).await;
    poll_until_tip(&mut spv, &recorder, (5, old[4])).await;
    let expected: Vec<ChainEvent> = (1..=5u32)
        .map(|height| ChainEvent::Connected {
            hash: old[height as usize - 1],
            height,
        })
        .collect();
    assert_eq!(recorder.events(), expected);

    // BlockSource directly.
    assert_eq!(client.get_best_block().await.unwrap(), (old[4], Some(5)));
    let header = client.get_header(&old[2], Some(3)).await.unwrap();
    assert_eq!(header.height, 3);
    assert_eq!(header.header.block_hash(), old[2]);
    assert_eq!(header.header.prev_blockhash, old[1]);
    let work = header.header.work();
    assert_eq!(header.chainwork, genesis.header.work() + work + work + work);
    header.validate(old[2]).unwrap();
    let BlockData::FullBlock(block) = client.get_block(&old[2]).await.unwrap() else {
        panic!("RpcClient::get_block returned a header-only block");
    };
    assert_eq!(block.block_hash(), old[2]);
    assert!(block.check_merkle_root() && block.check_witness_commitment());
    assert_eq!(coinbase_height(&block), Some(3));
    let coinbase = &block.txdata[0];
    assert!(coinbase.is_coinbase());
    assert_eq!(coinbase.output[0].value, Amount::from_btc(50.0).unwrap());
    assert_eq!(
        coinbase.output[0].script_pubkey,
        first_payee.script_pubkey()
    );
    BlockData::FullBlock(block.clone())
        .validate(old[2])
        .unwrap();
    let unknown = BlockHash::from_byte_array([0x42; 32]);
    let (code, message) =
        block_source_rpc_error(client.get_header(&unknown, None).await.unwrap_err());
    assert_eq!((code, message.as_str()), (-5, "Block not found"));
    let Err(error) = client.get_block(&unknown).await else {
        panic!("getblock of an unknown hash succeeded");
    };
    let (code, message) = block_source_rpc_error(error);
    assert_eq!((code, message.as_str()), (-5, "Block not found"));

    // UtxoSource (LDK's gossip checks): getblockhash and gettxout.
    assert_eq!(client.get_block_hash_by_height(3).await.unwrap(), old[2]);
    let coinbase_out = OutPoint {
        txid: coinbase.compute_txid(),
        vout: 0,
    };
    assert!(client.is_output_unspent(coinbase_out).await.unwrap());
    assert!(!client
        .is_output_unspent(OutPoint {
            txid: coinbase_out.txid,
            vout: 7
        })
        .await
        .unwrap());

    // Invalidate the tip: the chain falls back to height 4, which has less work, so the
    // client keeps its tip (ChainTip::Worse) and the listener hears nothing.
    assert_eq!(
        call(&client, "invalidateblock", &[json!(old[4].to_string())]).await,
        Value::Null
    );
    assert_eq!(client.get_best_block().await.unwrap(), (old[3], Some(4)));
    let (tip, changed) = spv.poll_best_tip().await.unwrap();
    match tip {
        ChainTip::Worse(header) => assert_eq!(header.header.block_hash(), old[3]),
        other => panic!("expected ChainTip::Worse(block 4) after invalidateblock, got {other:?}"),
    }
    assert!(!changed);
    assert_eq!(recorder.events().len(), 5);

    // Two blocks on the fork (paying elsewhere, so block 5 differs from the invalidated
    // one): more work than the old tip, so the client reorgs.
    let new = mine(&client, 2, &script_address(&[0x52])).await;
    assert_ne!(new[0], old[4]);
    poll_until_tip(&mut spv, &recorder, (6, new[1])).await;
    let events = recorder.events();
    assert_eq!(
        events[5..],
        [
            ChainEvent::Disconnected {
                fork_point: BestBlock::new(old[3], 4)
            },
            ChainEvent::Connected {
                hash: new[0],
                height: 5
            },
            ChainEvent::Connected {
                hash: new[1],
                height: 6
            },
        ],
        "all events: {events:?}"
    );
    assert_eq!(client.get_best_block().await.unwrap(), (new[1], Some(6)));
    assert_eq!(
        recorder.chain.lock().unwrap()[..4],
        (1..=4)
            .map(|h| (h, old[h as usize - 1]))
            .collect::<Vec<_>>()[..]
    );

    // The stale block is still served, with confirmations -1, as Core does.
    let stale = call(&client, "getblockheader", &[json!(old[4].to_string())]).await;
    assert_eq!(
        stale["confirmations"],
        json!(-1),
        "getblockheader of the stale block: {stale}"
    );
    let stale = call(&client, "getblock", &[json!(old[4].to_string()), json!(1)]).await;
    assert_eq!(
        stale["confirmations"],
        json!(-1),
        "getblock of the stale block: {stale}"
    );
    let stale_header = client.get_header(&old[4], None).await.unwrap();
    assert_eq!(stale_header.height, 5);

    // Reconsidering the old block does not move the tip (its branch has less work).
    assert_eq!(
        call(&client, "reconsiderblock", &[json!(old[4].to_string())]).await,
        Value::Null
    );
    assert_eq!(client.get_best_block().await.unwrap(), (new[1], Some(6)));
    let (tip, changed) = spv.poll_best_tip().await.unwrap();
    assert_eq!((tip, changed), (ChainTip::Common, false));
    assert_eq!(recorder.events().len(), 8);

    running.stop().await;
}

// ---------------------------------------------------------------------------------------
// 2–4. bdk_wallet + bdk_bitcoind_rpc
// ---------------------------------------------------------------------------------------

/// A chain on its own runtime, so blocking clients can be called from the test thread.
/// Dropping it stops the chain (also when the test panics).
struct BlockingChain {
    running: Option<RunningChain>,
    runtime: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
}

impl BlockingChain {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let running = runtime
            .block_on(start(chain_config(Some(dir.path()))))
            .unwrap();
        BlockingChain {
            running: Some(running),
            runtime,
            _dir: dir,
        }
    }

    fn client(&self) -> Client {
        let addr = self.running.as_ref().unwrap().rpc_addr;
        Client::new(
            &format!("http://{addr}"),
            Auth::UserPass(USER.into(), PASSWORD.into()),
        )
        .unwrap()
    }
}

impl Drop for BlockingChain {
    fn drop(&mut self) {
        if let Some(running) = self.running.take() {
            self.runtime.block_on(running.stop());
        }
    }
}

/// A wpkh wallet from a fixed seed (BIP84 paths, coin type 1).
fn wallet(seed: u8) -> Wallet {
    let xprv = Xpriv::new_master(Network::Regtest, &[seed; 32]).unwrap();
    Wallet::create(
        format!("wpkh({xprv}/84'/1'/0'/0/*)"),
        format!("wpkh({xprv}/84'/1'/0'/1/*)"),
    )
    .network(Network::Regtest)
    .create_wallet_no_persist()
    .unwrap()
}

/// What one sync applied.
#[derive(Debug, Default)]
struct Synced {
    blocks: Vec<(u32, BlockHash)>,
    mempool: Vec<Txid>,
    evicted: Vec<Txid>,
}

/// The documented Emitter loop: blocks from the wallet's checkpoint to the tip, then the
/// mempool (with evictions of the wallet's unconfirmed transactions).
fn sync(wallet: &mut Wallet, client: &Client) -> Synced {
    let unconfirmed: Vec<_> = wallet
        .transactions()
        .filter(|tx| tx.chain_position.is_unconfirmed())
        .map(|tx| tx.tx_node.tx.clone())
        .collect();
    let mut emitter = Emitter::new(client, wallet.latest_checkpoint(), 0, unconfirmed);
    let mut synced = Synced::default();
    while let Some(event) = emitter.next_block().expect("Emitter::next_block") {
        wallet
            .apply_block_connected_to(&event.block, event.block_height(), event.connected_to())
            .expect("the emitted block connects to the wallet's chain");
        synced
            .blocks
            .push((event.block_height(), event.block_hash()));
    }
    let mempool = emitter.mempool().expect("Emitter::mempool");
    synced.mempool = mempool
        .update
        .iter()
        .map(|(tx, _)| tx.compute_txid())
        .collect();
    synced.evicted = mempool.evicted.iter().map(|(txid, _)| *txid).collect();
    wallet.apply_evicted_txs(mempool.evicted);
    wallet.apply_unconfirmed_txs(mempool.update);
    assert_eq!(
        wallet.latest_checkpoint().hash(),
        client.get_best_block_hash().unwrap(),
        "the wallet is not at the chain's tip after syncing"
    );
    synced
}

fn btc(amount: u64) -> Amount {
    Amount::from_int_btc(amount)
}

/// A chain with `wallet(1)` funded by 101 coinbases, synced.
fn funded() -> (BlockingChain, Client, Wallet) {
    let chain = BlockingChain::start();
    let client = chain.client();
    let mut payer = wallet(1);
    let address = payer.reveal_next_address(KeychainKind::External);
    let hashes = client.generate_to_address(101, &address).unwrap();
    assert_eq!(hashes.len(), 101);
    let synced = sync(&mut payer, &client);
    assert_eq!(synced.blocks.len(), 101);
    assert_eq!(synced.blocks.last(), Some(&(101, hashes[100])));
    (chain, client, payer)
}

/// Builds and signs a payment of `amount` to `to` at `sat_per_vb`, optionally spending
/// exactly `from`.
fn pay(
    wallet: &mut Wallet,
    to: &Address,
    amount: Amount,
    sat_per_vb: u64,
    from: Option<OutPoint>,
) -> Transaction {
    let mut builder = wallet.build_tx();
    builder.add_recipient(to.script_pubkey(), amount);
    builder.fee_rate(FeeRate::from_sat_per_vb(sat_per_vb).unwrap());
    if let Some(outpoint) = from {
        builder.add_utxo(outpoint).unwrap();
        builder.manually_selected_only();
    }
    let mut psbt = builder.finish().expect("TxBuilder::finish");
    let finalized = wallet.sign(&mut psbt, SignOptions::default()).unwrap();
    assert!(finalized, "the wallet could not finalize its own payment");
    psbt.extract_tx().unwrap()
}

/// The JSON-RPC error (code, message) of a failed call, or a panic.
fn rpc_error<T: std::fmt::Debug>(result: Result<T, bitcoincore_rpc::Error>) -> (i32, String) {
    match result {
        Err(bitcoincore_rpc::Error::JsonRpc(JsonRpcError::Rpc(RpcError {
            code, message, ..
        }))) => (code, message),
        other => panic!("expected a JSON-RPC error, got {other:?}"),
    }
}

/// The coinbase outpoint of the block at `height`.
fn coinbase_at(client: &Client, height: u64) -> OutPoint {
    let block = client
        .get_block(&client.get_block_hash(height).unwrap())
        .unwrap();
    OutPoint {
        txid: block.txdata[0].compute_txid(),
        vout: 0,
    }
}

fn confirmation(wallet: &Wallet, txid: Txid) -> Option<(u32, BlockHash)> {
    match wallet.get_tx(txid)?.chain_position {
        ChainPosition::Confirmed { anchor, .. } => {
            Some((anchor.block_id.height, anchor.block_id.hash))
        }
        ChainPosition::Unconfirmed { .. } => None,
    }
}

#[test]
fn bdk_wallet_receives_spends_and_confirms() {
    let (chain, client, mut payer) = funded();

    // 101 coinbases of 50 BTC. BDK counts a coinbase as mature when it could be spent in
    // the next block (height 102): the coinbases of blocks 1 and 2 (Core's consensus
    // rule, which the chain's mempool applies too; Core's own wallet waits one block
    // more and would show 50 BTC).
    let balance = payer.balance();
    assert_eq!(balance.total(), btc(50 * 101), "{balance:?}");
    assert_eq!(balance.confirmed, btc(100), "{balance:?}");
    assert_eq!(balance.immature, btc(50 * 99), "{balance:?}");
    assert_eq!(
        balance.trusted_pending + balance.untrusted_pending,
        Amount::ZERO
    );
    assert_eq!(payer.list_unspent().count(), 101);

    // Pay 10 BTC to a second wallet.
    let mut payee = wallet(2);
    let payee_sync = sync(&mut payee, &client);
    assert_eq!(payee_sync.blocks.len(), 101);
    assert!(payee_sync.mempool.is_empty());
    assert_eq!(payee.balance().total(), Amount::ZERO);
    let payee_address = payee.reveal_next_address(KeychainKind::External).address;
    let tx = pay(&mut payer, &payee_address, btc(10), 2, None);
    let fee = payer.calculate_fee(&tx).unwrap();
    assert!(
        fee > Amount::ZERO && fee < Amount::from_sat(1_000),
        "fee {fee}"
    );
    let txid = client.send_raw_transaction(&tx).unwrap();
    assert_eq!(txid, tx.compute_txid());

    // In the mempool, as the RPCs and both wallets see it.
    assert_eq!(client.get_raw_mempool().unwrap(), vec![txid]);
    let entry = client.get_mempool_entry(&txid).unwrap();
    assert_eq!(entry.fees.base, fee);
    assert_eq!(entry.vsize, tx.vsize() as u64);
    assert_eq!(entry.height, 101);
    assert_eq!(client.get_raw_transaction(&txid, None).unwrap(), tx);
    let payer_sync = sync(&mut payer, &client);
    assert!(payer_sync.blocks.is_empty());
    assert_eq!(payer_sync.mempool, vec![txid]);
    let payee_sync = sync(&mut payee, &client);
    assert!(payee_sync.blocks.is_empty());
    assert_eq!(payee_sync.mempool, vec![txid]);
    for w in [&payer, &payee] {
        let position = w
            .get_tx(txid)
            .expect("the wallet knows the payment")
            .chain_position;
        assert!(position.is_unconfirmed(), "{position:?}");
    }
    assert_eq!(payee.balance().untrusted_pending, btc(10));
    assert_eq!(payee.balance().confirmed, Amount::ZERO);
    let payer_balance = payer.balance();
    assert_eq!(
        payer_balance.total(),
        btc(50 * 101) - btc(10) - fee,
        "{payer_balance:?}"
    );
    assert!(
        payer_balance.trusted_pending > Amount::ZERO,
        "the change is pending"
    );

    // One block confirms it, and pays its fee to the miner.
    let miner = script_address(&[0x51]);
    let block_hash = client.generate_to_address(1, &miner).unwrap()[0];
    let block = client.get_block(&block_hash).unwrap();
    assert_eq!(block.txdata.len(), 2);
    assert_eq!(block.txdata[1].compute_txid(), txid);
    assert_eq!(block.txdata[0].output[0].value, btc(50) + fee);
    assert!(client.get_raw_mempool().unwrap().is_empty());

    let payer_sync = sync(&mut payer, &client);
    assert_eq!(payer_sync.blocks, vec![(102, block_hash)]);
    assert!(payer_sync.mempool.is_empty() && payer_sync.evicted.is_empty());
    let payee_sync = sync(&mut payee, &client);
    assert_eq!(payee_sync.blocks, vec![(102, block_hash)]);
    assert_eq!(confirmation(&payer, txid), Some((102, block_hash)));
    assert_eq!(confirmation(&payee, txid), Some((102, block_hash)));

    let payee_balance = payee.balance();
    assert_eq!(payee_balance.confirmed, btc(10), "{payee_balance:?}");
    assert_eq!(payee_balance.total(), btc(10));
    let payer_balance = payer.balance();
    assert_eq!(
        payer_balance.trusted_pending + payer_balance.untrusted_pending,
        Amount::ZERO
    );
    assert_eq!(
        payer_balance.total() + payee_balance.total() + fee,
        btc(50 * 101)
    );
    // At tip 102 the coinbases of blocks 1–3 are mature; one of them paid.
    assert_eq!(payer_balance.immature, btc(50 * 98), "{payer_balance:?}");
    assert_eq!(
        payer_balance.confirmed,
        btc(150) - btc(10) - fee,
        "{payer_balance:?}"
    );

    // Core-side view of the payee's output.
    let out = tx
        .output
        .iter()
        .position(|o| o.script_pubkey == payee_address.script_pubkey());
    let out = client
        .get_tx_out(&txid, out.unwrap() as u32, Some(true))
        .unwrap()
        .unwrap();
    assert_eq!((out.value, out.confirmations), (btc(10), 1));
    drop(chain);
}

#[test]
fn double_spend_from_a_second_wallet_is_rejected() {
    let (chain, client, mut payer) = funded();
    // A second wallet holding the same keys, synced before the first one spends.
    let mut twin = wallet(1);
    sync(&mut twin, &client);
    assert_eq!(twin.balance(), payer.balance());
    let mut payee = wallet(2);
    let payee_address = payee.reveal_next_address(KeychainKind::External).address;
    let other_address = payee.reveal_next_address(KeychainKind::External).address;
    let coin = coinbase_at(&client, 1);

    let first = pay(&mut payer, &payee_address, btc(10), 2, Some(coin));
    let first_txid = client.send_raw_transaction(&first).unwrap();

    // The twin doesn't know: it spends the same coin at a lower fee rate...
    let lower = pay(&mut twin, &other_address, btc(10), 1, Some(coin));
    assert!(twin.calculate_fee(&lower).unwrap() < payer.calculate_fee(&first).unwrap());
    let (code, message) = rpc_error(client.send_raw_transaction(&lower));
    assert_eq!(code, -26, "{message}");
    let prefix = format!(
        "insufficient fee, rejecting replacement {}; new feerate ",
        lower.compute_txid()
    );
    assert!(
        message.starts_with(&prefix) && message.contains(" BTC/kvB <= old feerate "),
        "lower-fee double spend: {message}"
    );
    // ... and at the same fee rate.
    let same = pay(&mut twin, &other_address, btc(5), 2, Some(coin));
    let (code, message) = rpc_error(client.send_raw_transaction(&same));
    assert_eq!(code, -26, "{message}");
    assert!(
        message.starts_with(&format!(
            "insufficient fee, rejecting replacement {}",
            same.compute_txid()
        )),
        "equal-fee-rate double spend: {message}"
    );
    assert_eq!(client.get_raw_mempool().unwrap(), vec![first_txid]);

    // Once synced, the twin sees the first spend pending and the coin gone.
    let twin_sync = sync(&mut twin, &client);
    assert_eq!(twin_sync.mempool, vec![first_txid]);
    assert!(twin.list_unspent().all(|utxo| utxo.outpoint != coin));

    // Confirmed: the double spend now has missing inputs (-25), and the first one is
    // already in the UTXO set (-27).
    let block_hash = client
        .generate_to_address(1, &script_address(&[0x51]))
        .unwrap()[0];
    sync(&mut payer, &client);
    sync(&mut payee, &client);
    assert_eq!(confirmation(&payer, first_txid), Some((102, block_hash)));
    assert_eq!(confirmation(&payee, first_txid), Some((102, block_hash)));
    assert_eq!(payee.balance().confirmed, btc(10));
    let (code, message) = rpc_error(client.send_raw_transaction(&lower));
    assert_eq!(
        (code, message.as_str()),
        (-25, "bad-txns-inputs-missingorspent")
    );
    let (code, message) = rpc_error(client.send_raw_transaction(&same));
    assert_eq!(
        (code, message.as_str()),
        (-25, "bad-txns-inputs-missingorspent")
    );
    let (code, message) = rpc_error(client.send_raw_transaction(&first));
    assert_eq!(
        (code, message.as_str()),
        (-27, "Transaction outputs already in utxo set")
    );
    assert!(client.get_raw_mempool().unwrap().is_empty());
    // gettxout: the coin is spent, the payment's output is there.
    assert!(client
        .get_tx_out(&coin.txid, coin.vout, Some(true))
        .unwrap()
        .is_none());
    drop(chain);
}

#[test]
fn invalid_signature_is_rejected() {
    let (chain, client, mut payer) = funded();
    let payee_address = wallet(2)
        .reveal_next_address(KeychainKind::External)
        .address;
    let coin = coinbase_at(&client, 1);
    let tx = pay(&mut payer, &payee_address, btc(1), 2, Some(coin));

    // P2WPKH witness: [DER signature + sighash byte, pubkey]. Flip a byte in the middle
    // of r: still strict DER, still low S, but wrong.
    let mut bad = tx.clone();
    let witness: Vec<Vec<u8>> = bad.input[0].witness.iter().map(<[u8]>::to_vec).collect();
    assert_eq!(witness.len(), 2);
    let mut signature = witness[0].clone();
    assert_eq!(
        (signature[0], signature[2]),
        (0x30, 0x02),
        "not a DER signature"
    );
    let r_len = usize::from(signature[3]);
    signature[4 + r_len / 2] ^= 0x01;
    bitcoin::ecdsa::Signature::from_slice(&signature).expect("the tampered signature is DER");
    bad.input[0].witness = Witness::from_slice(&[signature, witness[1].clone()]);
    assert_ne!(bad.compute_wtxid(), tx.compute_wtxid());
    assert_eq!(bad.compute_txid(), tx.compute_txid());

    let (code, message) = rpc_error(client.send_raw_transaction(&bad));
    assert_eq!(code, -26, "{message}");
    assert!(
        message.starts_with("mempool-script-verify-flag-failed"),
        "bad signature: {message}"
    );
    assert!(client.get_raw_mempool().unwrap().is_empty());

    // The untouched transaction is fine.
    let txid = client.send_raw_transaction(&tx).unwrap();
    assert_eq!(txid, tx.compute_txid());
    assert_eq!(client.get_raw_mempool().unwrap(), vec![txid]);
    let entry = client.get_mempool_entry(&txid).unwrap();
    assert_eq!(
        entry.wtxid.to_byte_array(),
        tx.compute_wtxid().to_byte_array()
    );
    drop(chain);

    // Bitcoin Core v30 (regtest/tests/fixtures/bitcoind-regtest-rpc/sendrawtransaction.json,
    // "bad signature (one byte of witness sig r flipped)") names the failed check
    // (NULLFAIL, a standard script flag) and the input.
    let core = format!(
        "mempool-script-verify-flag-failed (Signature must be zero for failed CHECK(MULTI)SIG \
         operation), input 0 of {} (wtxid {}), spending {}:{}",
        bad.compute_txid(),
        bad.compute_wtxid(),
        coin.txid,
        coin.vout
    );
    assert_eq!(
        message, core,
        "the bad-signature reject reason differs from Bitcoin Core v30's"
    );
}

/// The same ECDSA signature (with its sighash byte) with S replaced by `n - S`: valid by
/// consensus, non-standard since BIP146's LOW_S policy.
fn high_s_twin(signature: &[u8]) -> Vec<u8> {
    let parsed = bitcoin::ecdsa::Signature::from_slice(signature).unwrap();
    let mut compact = parsed.signature.serialize_compact();
    let order = bitcoin::secp256k1::constants::CURVE_ORDER;
    let mut borrow = 0u8;
    for i in (0..32).rev() {
        let (diff, under1) = order[i].overflowing_sub(compact[32 + i]);
        let (diff, under2) = diff.overflowing_sub(borrow);
        compact[32 + i] = diff;
        borrow = u8::from(under1 || under2);
    }
    let high = bitcoin::secp256k1::ecdsa::Signature::from_compact(&compact).unwrap();
    let mut der = high.serialize_der().to_vec();
    der.push(parsed.sighash_type as u8);
    der
}

/// Core's mempool verifies scripts with the standard flags too, so a high-S signature is
/// refused (-26) although a block may contain it.
#[test]
fn high_s_signature_is_rejected_by_policy() {
    let (chain, client, mut payer) = funded();
    let payee_address = wallet(2)
        .reveal_next_address(KeychainKind::External)
        .address;
    let coin = coinbase_at(&client, 1);
    let tx = pay(&mut payer, &payee_address, btc(1), 2, Some(coin));
    let witness: Vec<Vec<u8>> = tx.input[0].witness.iter().map(<[u8]>::to_vec).collect();
    let mut high = tx.clone();
    high.input[0].witness = Witness::from_slice(&[high_s_twin(&witness[0]), witness[1].clone()]);
    assert_ne!(high.compute_wtxid(), tx.compute_wtxid());

    let result = client.send_raw_transaction(&high);
    let in_mempool = client.get_raw_mempool().unwrap();
    let expected = format!(
        "mempool-script-verify-flag-failed (Non-canonical signature: S value is unnecessarily \
         high), input 0 of {} (wtxid {}), spending {}:{}",
        high.compute_txid(),
        high.compute_wtxid(),
        coin.txid,
        coin.vout
    );
    drop(chain);
    let Err(bitcoincore_rpc::Error::JsonRpc(JsonRpcError::Rpc(error))) = result else {
        panic!(
            "sendrawtransaction of a high-S signature: expected -26 {expected:?} (Bitcoin Core \
             v30, LOW_S is a standard script flag), got {result:?}; mempool now {in_mempool:?}"
        );
    };
    assert_eq!((error.code, error.message), (-26, expected));
}
