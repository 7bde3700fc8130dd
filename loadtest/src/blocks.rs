//! Blocks during a run (`--block-interval`): the cluster's chain mines one block every
//! interval until the run's checks are done, as a real chain would go on producing them.
//! Channel refreshes (splices) need blocks to lock; without them a long run's monitors
//! could only grow. Regtest compresses time: a 10 s interval stands for mainnet's 10 min.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use sluice_harness::{ChainRpc, Manifest};

use crate::Error;

/// The counter of channel refreshes (splices) a node started.
const REFRESHES_STARTED: &str = "sluice_channel_refreshes_total{outcome=\"started\"}";

/// Where the blocks pay: the regtest P2WPKH address of the key with secret 1 (BIP 173's
/// test vector), which no node holds, so mining changes no node's wallet.
pub const NOBODYS_ADDRESS: &str = "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080";

/// Mines a block every interval on its own thread until dropped.
pub struct BlockMiner {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<u64>>,
}

impl BlockMiner {
    /// Starts mining one block every `interval` through `rpc`.
    pub fn start(rpc: ChainRpc, interval: Duration) -> BlockMiner {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let mut mined = 0;
            let mut next = Instant::now() + interval;
            while !stopped.load(Ordering::Relaxed) {
                let now = Instant::now();
                if now < next {
                    std::thread::sleep((next - now).min(Duration::from_millis(100)));
                    continue;
                }
                next += interval;
                match rpc.generate_to_address(1, NOBODYS_ADDRESS) {
                    Ok(_) => mined += 1,
                    Err(e) => eprintln!("warning: mining a block failed: {e}"),
                }
            }
            mined
        });
        BlockMiner {
            stop,
            thread: Some(thread),
        }
    }

    /// Stops mining; returns how many blocks were mined.
    pub fn finish(mut self) -> u64 {
        self.stop_thread()
    }

    fn stop_thread(&mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.thread
            .take()
            .map_or(0, |thread| thread.join().unwrap_or(0))
    }
}

impl Drop for BlockMiner {
    fn drop(&mut self) {
        self.stop_thread();
    }
}

/// How many channel refreshes the cluster's nodes have started since they did.
pub fn refreshes_started(cluster: &Manifest) -> Result<u64, Error> {
    cluster.nodes.iter().try_fold(0, |sum, node| {
        let started = node.client().metric(REFRESHES_STARTED)?.unwrap_or(0.0);
        Ok(sum + started as u64)
    })
}
