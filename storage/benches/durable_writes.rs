//! Durable write throughput of the store: every write fsynced before it is acknowledged.
//!
//! - `store/sequential`: one writer, one `KVStoreSync::write` at a time;
//! - `store/{8,64}_writers`: that many threads writing at once, sharing fsyncs by group
//!   commit (the bench prints how many writes each fsync carried);
//! - `fjall_direct/{sequential,8_writers}`: straight on fjall, one `SyncAll` per write,
//!   as the baseline group commit has to beat.
//!
//! Values are 2 KiB, keys distinct. Run: `cargo bench -p sluice-storage --bench durable_writes`.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use fjall::{Database, KeyspaceCreateOptions, PersistMode};
use lightning::util::persist::KVStoreSync;
use sluice_storage::{Store, StoreConfig};

const VALUE_BYTES: usize = 2048;
/// Concurrent writer counts measured.
const WRITERS: [u64; 2] = [8, 64];

/// Runs `write(writer, n)` for `per_writer` values of n on each of `writers` threads at
/// once and returns the wall time.
fn concurrently(writers: u64, per_writer: u64, write: impl Fn(u64, u64) + Sync) -> Duration {
    let start = Instant::now();
    std::thread::scope(|scope| {
        for w in 0..writers {
            let write = &write;
            scope.spawn(move || (0..per_writer).for_each(|n| write(w, n)));
        }
    });
    start.elapsed()
}

fn store_writes(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), StoreConfig::default()).unwrap();
    let value = vec![7u8; VALUE_BYTES];
    let next = AtomicU64::new(0);
    let mut group = c.benchmark_group("store");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(6));

    group.throughput(Throughput::Elements(1));
    group.bench_function("sequential", |b| {
        b.iter(|| {
            let key = next.fetch_add(1, Ordering::Relaxed).to_string();
            KVStoreSync::write(&store, "bench", "", &key, value.clone()).unwrap();
        })
    });

    for writers in WRITERS {
        let before = store.commit_stats();
        group.throughput(Throughput::Elements(writers));
        group.bench_function(format!("{writers}_writers"), |b| {
            b.iter_custom(|iters| {
                concurrently(writers, iters, |_, _| {
                    let key = next.fetch_add(1, Ordering::Relaxed).to_string();
                    KVStoreSync::write(&store, "bench", "", &key, value.clone()).unwrap();
                })
            })
        });
        let after = store.commit_stats();
        let (requests, fsyncs) = (
            after.requests - before.requests,
            after.fsyncs - before.fsyncs,
        );
        println!(
            "store/{writers}_writers: {requests} writes in {fsyncs} fsyncs, {:.2} writes per fsync",
            requests as f64 / fsyncs.max(1) as f64
        );
    }
    group.finish();
}

fn fjall_direct(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::builder(dir.path()).open().unwrap();
    let space = db
        .keyspace("bench", KeyspaceCreateOptions::default)
        .unwrap();
    let value = vec![7u8; VALUE_BYTES];
    let next = AtomicU64::new(0);
    let write = || {
        let key = next.fetch_add(1, Ordering::Relaxed).to_be_bytes();
        space.insert(key, value.as_slice()).unwrap();
        db.persist(PersistMode::SyncAll).unwrap();
    };
    let mut group = c.benchmark_group("fjall_direct");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(6));
    group.throughput(Throughput::Elements(1));
    group.bench_function("sequential", |b| b.iter(write));
    group.throughput(Throughput::Elements(8));
    group.bench_function("8_writers", |b| {
        b.iter_custom(|iters| concurrently(8, iters, |_, _| write()))
    });
    group.finish();
}

criterion_group!(benches, store_writes, fjall_direct);
criterion_main!(benches);
