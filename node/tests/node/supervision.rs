//! The supervision tree of a node run in this process: an actor that stops while the node
//! runs is restarted, and the actors that talk to it reach the new one.
#![allow(clippy::unwrap_used)]

use std::future::Future;
use std::time::{Duration, Instant};

use bitcoin::opcodes::OP_TRUE;
use bitcoin::ScriptBuf;
use clap::Parser;
use sluice_actors::wallet::actor::{WalletMsg, WalletSyncStatus};
use sluice_node::config::{self, RunArgs};
use sluice_node::run::RunningNode;
use sluice_regtest::{self as regtest, Automine, RegtestChainConfig, RunningChain};

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    run: RunArgs,
}

/// Polls `probe` until it answers, for at most `limit`.
async fn wait_for<T, F: Future<Output = Option<T>>>(
    what: &str,
    limit: Duration,
    mut probe: impl FnMut() -> F,
) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(answer) = probe().await {
            return answer;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn chain() -> RunningChain {
    regtest::start(RegtestChainConfig {
        data_dir: None,
        rpc_addr: "127.0.0.1:0".parse().unwrap(),
        rpc_user: "u".into(),
        rpc_password: "p".into(),
        automine: Automine::Off,
        automine_script: None,
    })
    .await
    .unwrap()
}

fn mine(chain: &RunningChain) -> u32 {
    let mut state = chain.chain.lock();
    let anyone = ScriptBuf::builder().push_opcode(OP_TRUE).into_script();
    state.mine_from_mempool(&anyone.to_p2wsh()).unwrap();
    state.height()
}

async fn status(node: &RunningNode) -> Option<WalletSyncStatus> {
    let wallet = node.components().actors.wallet.get().ok()?;
    ractor::call_t!(wallet, WalletMsg::Status, 5_000).ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_wallet_still_syncs_each_new_block() {
    let chain = chain().await;
    mine(&chain);
    let dir = tempfile::tempdir().unwrap();
    let cli = Cli::parse_from([
        "sluice".to_owned(),
        "--data-dir".to_owned(),
        dir.path().display().to_string(),
        "--bitcoind-rpc".to_owned(),
        format!("http://u:p@{}", chain.rpc_addr),
        "--listen".to_owned(),
        "127.0.0.1:0".to_owned(),
        "--api-addr".to_owned(),
        "127.0.0.1:0".to_owned(),
    ]);
    let config = config::load(cli.run, |_| None).unwrap();
    let node = RunningNode::start(config).await.unwrap();
    let limit = Duration::from_secs(30);

    // A new block reaches the wallet the node started with (the measure works).
    let height = mine(&chain);
    wait_for("the first wallet to sync a new block", limit, || async {
        status(&node)
            .await
            .filter(|s| s.new_tip_syncs >= 1 && s.synced_height == height)
    })
    .await;

    // Its replacement is started by the supervisor ...
    let first = node.components().actors.wallet.get().unwrap();
    first.kill();
    let second = wait_for("the wallet to restart", limit, || async {
        let current = node.components().actors.wallet.get().ok()?;
        (current.get_id() != first.get_id()).then_some(current)
    })
    .await;

    // ... and is told about the next block too.
    let height = mine(&chain);
    let synced = wait_for(
        "the restarted wallet to sync a new block",
        limit,
        || async {
            let status: WalletSyncStatus =
                ractor::call_t!(second, WalletMsg::Status, 5_000).ok()?;
            (status.new_tip_syncs >= 1 && status.synced_height == height).then_some(status)
        },
    )
    .await;
    assert_eq!(synced.synced_height, height);

    node.stop().await.unwrap();
    chain.stop().await;
}
