//! Crash durability: a child process writes through every write path of the store and
//! prints an acknowledgement for each write the store confirmed; the parent kills it
//! with SIGKILL at a random moment, reopens the store and checks that every
//! acknowledged write is there, byte for byte. Several rounds reuse one directory, so
//! recovery after recovery is exercised too.
//!
//! This target has its own `main` (`harness = false`): the same binary is the parent
//! (no arguments) and the child (`--child DIR ROUND`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use lightning::util::persist::{KVStore, KVStoreSync};
use sluice_storage::{PaymentRecord, PaymentStatus, Store, StoreConfig, WriteBatch};

const ROUNDS: u32 = 6;
/// The child stops by itself after this many writes per writer, should nobody kill it.
const MAX_WRITES_PER_WRITER: u32 = 20_000;
const WRITERS: u32 = 6;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--list") {
        println!("crash_kill_during_writes: test");
        return;
    }
    if args.get(1).map(String::as_str) == Some("--child") {
        child(Path::new(&args[2]), args[3].parse().unwrap());
        return;
    }
    parent();
}

/// The value written under a key: deterministic, about 2 KiB, different per key.
fn value_for(key: &str) -> Vec<u8> {
    key.bytes().cycle().take(2048).collect()
}

fn payment(key: &str) -> PaymentRecord {
    PaymentRecord {
        payment_id: key.to_owned(),
        payment_hash: format!("{key}-hash"),
        quote_id: None,
        invoice: None,
        amount_msat: key.len() as u64,
        max_fee_msat: 0,
        fee_paid_msat: None,
        status: PaymentStatus::Pending,
        preimage: None,
        failure_code: None,
        run_id: None,
        trajectory_hash: None,
        receipt_id: None,
        token: None,
        budget_period_ms: None,
        created_at_ms: 0,
        updated_at_ms: 0,
    }
}

/// Writes until killed. Each writer uses one path: sync LDK writes, async LDK writes,
/// or ledger batches; every confirmed write is acknowledged on stdout in one `write`.
fn child(dir: &Path, round: u32) {
    let store = Store::open(dir, StoreConfig::default()).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let store = store.clone();
            let handle = runtime.handle().clone();
            std::thread::spawn(move || {
                for i in 0..MAX_WRITES_PER_WRITER {
                    let key = format!("r{round}-w{w}-i{i}");
                    let kind = match w % 3 {
                        0 => {
                            KVStoreSync::write(&store, "crash", "sync", &key, value_for(&key))
                                .unwrap();
                            "sync"
                        }
                        1 => {
                            let write =
                                KVStore::write(&store, "crash", "async", &key, value_for(&key));
                            handle.block_on(write).unwrap();
                            "async"
                        }
                        _ => {
                            let mut batch = WriteBatch::new();
                            batch.put(&payment(&key)).unwrap();
                            store.commit_blocking(batch).unwrap();
                            "ledger"
                        }
                    };
                    let line = format!("ack {kind} {key}\n");
                    // Exit quietly once the parent stops listening.
                    if std::io::stdout().lock().write_all(line.as_bytes()).is_err() {
                        return;
                    }
                }
            })
        })
        .collect();
    writers.into_iter().for_each(|w| w.join().unwrap());
}

/// A small xorshift generator; the seed is printed so a failing run can be repeated.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn parent() {
    let seed = std::env::var("SLUICE_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    println!("crash test: seed {seed} (set SLUICE_CRASH_SEED to repeat)");
    let mut rng = Rng(seed);
    let dir = tempfile::tempdir().unwrap();
    let mut acked: Vec<(String, String)> = Vec::new();

    for round in 0..ROUNDS {
        let kill_after = 20 + rng.below(600) as usize;
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--child", dir.path().to_str().unwrap(), &round.to_string()])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap());
        let mut seen = 0;
        let mut line = String::new();
        let record = |line: &str, acked: &mut Vec<(String, String)>| {
            // Only complete lines count: a kill can cut the last one short.
            let Some(rest) = line.strip_suffix('\n').and_then(|l| l.strip_prefix("ack ")) else {
                return;
            };
            let (kind, key) = rest.split_once(' ').unwrap();
            acked.push((kind.to_owned(), key.to_owned()));
        };
        while seen < kill_after {
            line.clear();
            if lines.read_line(&mut line).unwrap() == 0 {
                break;
            }
            record(&line, &mut acked);
            seen += 1;
        }
        child.kill().unwrap(); // SIGKILL
                               // Acknowledgements already in the pipe were confirmed before the kill.
        loop {
            line.clear();
            if lines.read_line(&mut line).unwrap() == 0 {
                break;
            }
            record(&line, &mut acked);
        }
        let status = child.wait().unwrap();
        assert!(
            !status.success(),
            "round {round}: the child must have been killed"
        );
        verify(dir.path(), &acked, round);
    }
    println!(
        "crash test: {ROUNDS} SIGKILLs, {} acknowledged writes, all present after recovery",
        acked.len()
    );
    println!("test result: ok. 1 passed; 0 failed");
}

fn verify(dir: &Path, acked: &[(String, String)], round: u32) {
    let store = Store::open(dir, StoreConfig::default())
        .unwrap_or_else(|e| panic!("round {round}: the store does not reopen after SIGKILL: {e}"));
    for (kind, key) in acked {
        match kind.as_str() {
            "sync" | "async" => {
                let got = KVStoreSync::read(&store, "crash", kind, key).unwrap_or_else(|e| {
                    panic!("round {round}: acknowledged {kind} {key} lost: {e}")
                });
                assert_eq!(got, value_for(key), "round {round}: {kind} {key} corrupted");
            }
            "ledger" => {
                let got = store.get_blocking::<PaymentRecord>(key).unwrap();
                assert_eq!(got, Some(payment(key)), "round {round}: ledger {key} lost");
            }
            other => panic!("unknown acknowledgement kind {other}"),
        }
    }
    // The recovered store takes new writes.
    KVStoreSync::write(&store, "crash", "", "after-recovery", vec![round as u8]).unwrap();
}
