//! Blocks during a run (`--block-interval`): the cluster's chain mines one block every
//! interval until the run's checks are done, as a real chain would go on producing them.
//! Channel refreshes (splices) need blocks to lock; without them a long run's monitors
//! could only grow. Regtest compresses time: a 10 s interval stands for mainnet's 10 min.

use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use sluice_harness::setup::NOBODYS_ADDRESS;
use sluice_harness::{ChainRpc, Manifest};

use crate::Error;

/// The counter of channel refreshes (splices) a node started.
const REFRESHES_STARTED: &str = "sluice_channel_refreshes_total{outcome=\"started\"}";

/// Mines a block every interval, to an address no node holds, on its own thread until
/// finished or dropped.
pub struct BlockMiner {
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<u64>>,
}

impl BlockMiner {
    /// Starts mining one block every `interval` through `rpc`.
    pub fn start(rpc: ChainRpc, interval: Duration) -> BlockMiner {
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            let mut mined = 0;
            let mut next = Instant::now() + interval;
            // Wakes at each block's time, or at once when told to stop (or dropped).
            while let Err(RecvTimeoutError::Timeout) =
                stopped.recv_timeout(next.saturating_duration_since(Instant::now()))
            {
                next += interval;
                match rpc.generate_to_address(1, NOBODYS_ADDRESS) {
                    Ok(_) => mined += 1,
                    Err(e) => eprintln!("warning: mining a block failed: {e}"),
                }
            }
            mined
        });
        BlockMiner {
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// Stops mining; returns how many blocks were mined.
    pub fn finish(mut self) -> u64 {
        self.stop_thread()
    }

    fn stop_thread(&mut self) -> u64 {
        // Dropping the sender wakes the thread.
        self.stop.take();
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
