//! One conformance suite for LDK's key-value store contract (lightning 0.2.7,
//! `lightning::util::persist`), run against sluice's fjall [`Store`] and, as a check on
//! the suite itself, against LDK's reference `FilesystemStore` wherever the reference
//! defines the behaviour.
//!
//! Namespace-rule violations are only run against [`Store`]: the reference store
//! `debug_assert!`s on them instead of returning an error.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use futures::future::join_all;
use lightning::io::ErrorKind;
use lightning::util::persist::{KVStore, KVStoreSync, MigratableKVStore};
use lightning_persister::fs_store::FilesystemStore;
use sluice_storage::{Store, StoreConfig};

/// Everything the suite needs of a backend.
trait Backend: KVStoreSync + KVStore + MigratableKVStore + Send + Sync + 'static {}
impl<T: KVStoreSync + KVStore + MigratableKVStore + Send + Sync + 'static> Backend for T {}

fn open_fjall(dir: &Path) -> Store {
    Store::open(dir, StoreConfig::default()).unwrap()
}

fn open_fs(dir: &Path) -> FilesystemStore {
    FilesystemStore::new(dir.to_path_buf())
}

fn read<K: Backend>(s: &K, p: &str, n: &str, k: &str) -> Result<Vec<u8>, ErrorKind> {
    KVStoreSync::read(s, p, n, k).map_err(|e| e.kind())
}

fn write<K: Backend>(s: &K, p: &str, n: &str, k: &str, v: &[u8]) {
    KVStoreSync::write(s, p, n, k, v.to_vec()).unwrap()
}

fn list<K: Backend>(s: &K, p: &str, n: &str) -> Vec<String> {
    let mut keys = KVStoreSync::list(s, p, n).unwrap();
    keys.sort();
    keys
}

// ---------------------------------------------------------------------------------------
// The suite.

fn read_write_remove_list<K: Backend>(s: &K) {
    assert!(
        list(s, "ns", "sub").is_empty(),
        "an unknown namespace lists as empty"
    );
    write(s, "ns", "sub", "a", b"1");
    write(s, "ns", "sub", "b", b"2");
    assert_eq!(read(s, "ns", "sub", "a").unwrap(), b"1");
    assert_eq!(list(s, "ns", "sub"), ["a", "b"]);

    write(s, "ns", "sub", "a", b"overwritten");
    assert_eq!(read(s, "ns", "sub", "a").unwrap(), b"overwritten");
    assert_eq!(list(s, "ns", "sub"), ["a", "b"]);

    KVStoreSync::remove(s, "ns", "sub", "a", false).unwrap();
    assert_eq!(read(s, "ns", "sub", "a"), Err(ErrorKind::NotFound));
    assert_eq!(list(s, "ns", "sub"), ["b"]);
    KVStoreSync::remove(s, "ns", "sub", "never-written", false).unwrap();

    // An empty value is a value, not an absence.
    write(s, "ns", "sub", "empty", b"");
    assert_eq!(read(s, "ns", "sub", "empty").unwrap(), b"");

    // A large value (monitors grow to megabytes).
    let big: Vec<u8> = (0..4 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    write(s, "ns", "sub", "big", &big);
    assert_eq!(read(s, "ns", "sub", "big").unwrap(), big);
}

fn namespaces_are_isolated<K: Backend>(s: &K) {
    write(s, "", "", "key", b"top");
    write(s, "p", "", "key", b"primary");
    write(s, "p", "s", "key", b"secondary");
    write(s, "p", "s2", "other", b"x");
    write(s, "p2", "", "key", b"other primary");
    assert_eq!(read(s, "", "", "key").unwrap(), b"top");
    assert_eq!(read(s, "p", "", "key").unwrap(), b"primary");
    assert_eq!(read(s, "p", "s", "key").unwrap(), b"secondary");
    assert_eq!(
        list(s, "p", ""),
        ["key"],
        "list does not descend into secondary namespaces"
    );
    assert_eq!(list(s, "p", "s"), ["key"]);
    assert_eq!(list(s, "p", "s2"), ["other"]);
    assert_eq!(read(s, "p", "s", "other"), Err(ErrorKind::NotFound));

    // The longest names LDK allows, and every character of its alphabet.
    let long = "x".repeat(120);
    write(s, &long, &long, &long, b"long");
    assert_eq!(read(s, &long, &long, &long).unwrap(), b"long");
    let alphabet = lightning::util::persist::KVSTORE_NAMESPACE_KEY_ALPHABET;
    write(s, "abc", "", alphabet, b"alphabet");
    assert_eq!(list(s, "abc", ""), [alphabet]);
}

fn not_found_only_when_absent<K: Backend>(s: &K) {
    assert_eq!(read(s, "monitors", "", "nope"), Err(ErrorKind::NotFound));
    write(s, "monitor_updates", "chan", "1", b"u1");
    assert_eq!(
        read(s, "monitor_updates", "chan", "2"),
        Err(ErrorKind::NotFound)
    );
    assert_eq!(
        read(s, "monitor_updates", "other", "1"),
        Err(ErrorKind::NotFound)
    );
    KVStoreSync::remove(s, "monitor_updates", "chan", "1", true).unwrap();
    KVStoreSync::write(s, "monitor_updates", "chan", "1", b"again".to_vec()).unwrap();
    assert_eq!(read(s, "monitor_updates", "chan", "1").unwrap(), b"again");
}

async fn async_api_matches_sync<K: Backend>(s: &K) {
    KVStore::write(s, "async", "", "k", b"v".to_vec())
        .await
        .unwrap();
    assert_eq!(KVStore::read(s, "async", "", "k").await.unwrap(), b"v");
    assert_eq!(KVStore::list(s, "async", "").await.unwrap(), ["k"]);
    KVStore::remove(s, "async", "", "k", false).await.unwrap();
    let err = KVStore::read(s, "async", "", "k").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(KVStore::list(s, "async", "").await.unwrap().is_empty());
}

/// Writes to one key apply in call order, whatever order their futures run or finish
/// in, and a reader never sees the value go backwards.
async fn async_writes_keep_call_order<K: Backend>(s: Arc<K>) {
    const WRITES: u32 = 200;
    KVStoreSync::write(&*s, "order", "", "k", 0u32.to_be_bytes().to_vec()).unwrap();

    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let (s, done) = (Arc::clone(&s), Arc::clone(&done));
        std::thread::spawn(move || {
            let mut last = 0u32;
            while !done.load(Ordering::Acquire) {
                let bytes = KVStoreSync::read(&*s, "order", "", "k").unwrap();
                let seen = u32::from_be_bytes(bytes.try_into().unwrap());
                assert!(seen >= last, "the value went back from {last} to {seen}");
                last = seen;
            }
        })
    };

    // Futures are created in call order, then awaited in reverse, a few dropped unpolled.
    let mut futures: Vec<_> = (1..=WRITES)
        .map(|v| KVStore::write(&*s, "order", "", "k", v.to_be_bytes().to_vec()))
        .collect();
    let dropped: Vec<_> = futures.drain(..10).collect();
    drop(dropped);
    futures.reverse();
    for result in join_all(futures).await {
        result.unwrap();
    }
    let last = KVStore::read(&*s, "order", "", "k").await.unwrap();
    assert_eq!(
        last,
        WRITES.to_be_bytes(),
        "once the last write completes it is the value"
    );

    done.store(true, Ordering::Release);
    reader.join().unwrap();

    // A write issued before a remove is overwritten by it, and vice versa.
    let write = KVStore::write(&*s, "order", "", "wr", b"v".to_vec());
    let remove = KVStore::remove(&*s, "order", "", "wr", false);
    let (removed, written) = futures::join!(remove, write);
    removed.unwrap();
    written.unwrap();
    assert_eq!(read(&*s, "order", "", "wr"), Err(ErrorKind::NotFound));
    let remove = KVStore::remove(&*s, "order", "", "rw", true);
    let write = KVStore::write(&*s, "order", "", "rw", b"v".to_vec());
    let (written, removed) = futures::join!(write, remove);
    written.unwrap();
    removed.unwrap();
    assert_eq!(read(&*s, "order", "", "rw").unwrap(), b"v");
}

fn concurrent_writers<K: Backend>(s: Arc<K>) {
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let s = Arc::clone(&s);
            std::thread::spawn(move || {
                for i in 0..50 {
                    let key = format!("t{t}-k{i}");
                    KVStoreSync::write(&*s, "concurrent", "", &key, key.as_bytes().to_vec())
                        .unwrap();
                }
            })
        })
        .collect();
    threads.into_iter().for_each(|t| t.join().unwrap());
    let keys = list(&*s, "concurrent", "");
    assert_eq!(keys.len(), 8 * 50);
    for key in keys {
        assert_eq!(read(&*s, "concurrent", "", &key).unwrap(), key.as_bytes());
    }
}

fn list_all_keys_is_exhaustive<K: Backend>(s: &K) {
    write(s, "", "", "manager", b"m");
    write(s, "monitors", "", "chan_1", b"m1");
    write(s, "monitor_updates", "chan_1", "7", b"u7");
    let mut all = MigratableKVStore::list_all_keys(s).unwrap();
    all.sort();
    let expect = |p: &str, n: &str, k: &str| (p.to_string(), n.to_string(), k.to_string());
    assert_eq!(
        all,
        [
            expect("", "", "manager"),
            expect("monitor_updates", "chan_1", "7"),
            expect("monitors", "", "chan_1"),
        ]
    );
}

fn survives_reopen<K: Backend>(open: impl Fn(&Path) -> K) {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = open(dir.path());
        write(&s, "", "", "manager", b"state");
        write(&s, "monitors", "", "m", b"monitor");
        write(&s, "gone", "", "lazy", b"x");
        write(&s, "gone", "", "eager", b"x");
        KVStoreSync::remove(&s, "gone", "", "lazy", true).unwrap();
        KVStoreSync::remove(&s, "gone", "", "eager", false).unwrap();
    }
    let s = open(dir.path());
    assert_eq!(read(&s, "", "", "manager").unwrap(), b"state");
    assert_eq!(read(&s, "monitors", "", "m").unwrap(), b"monitor");
    assert_eq!(read(&s, "gone", "", "eager"), Err(ErrorKind::NotFound));
    // A lazy remove may be lost on a crash, but not on a clean close.
    assert_eq!(read(&s, "gone", "", "lazy"), Err(ErrorKind::NotFound));
    write(&s, "", "", "manager", b"next");
    drop(s);
    assert_eq!(read(&open(dir.path()), "", "", "manager").unwrap(), b"next");
}

/// Runs every backend-neutral case on a fresh store from `open`.
fn run_suite<K: Backend>(open: impl Fn(&Path) -> K) {
    let fresh = || {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path());
        (dir, store)
    };
    let (_d, s) = fresh();
    read_write_remove_list(&s);
    let (_d, s) = fresh();
    namespaces_are_isolated(&s);
    let (_d, s) = fresh();
    not_found_only_when_absent(&s);
    let (_d, s) = fresh();
    list_all_keys_is_exhaustive(&s);
    let (_d, s) = fresh();
    concurrent_writers(Arc::new(s));

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let (_d, s) = fresh();
    runtime.block_on(async_api_matches_sync(&s));
    let (_d, s) = fresh();
    runtime.block_on(async_writes_keep_call_order(Arc::new(s)));

    survives_reopen(&open);
}

#[test]
fn fjall_store_conforms() {
    run_suite(open_fjall);
}

#[test]
fn reference_filesystem_store_conforms() {
    run_suite(open_fs);
}

// ---------------------------------------------------------------------------------------
// Namespace rules: sluice's store refuses what LDK forbids, with InvalidInput.

#[test]
fn fjall_store_refuses_invalid_names() {
    let dir = tempfile::tempdir().unwrap();
    let s = open_fjall(dir.path());
    let long = "x".repeat(121);
    let invalid: [(&str, &str, &str); 7] = [
        ("", "secondary-without-primary", "k"),
        ("p", "", ""),
        ("p/q", "", "k"),
        ("p", "s.t", "k"),
        ("p", "", "k ey"),
        ("p", "", "ключ"),
        ("p", "", &long),
    ];
    for (p, n, k) in invalid {
        let kind = |e: lightning::io::Error| e.kind();
        assert_eq!(
            read(&s, p, n, k),
            Err(ErrorKind::InvalidInput),
            "read {p}/{n}/{k}"
        );
        let w = KVStoreSync::write(&s, p, n, k, b"v".to_vec()).map_err(kind);
        assert_eq!(w, Err(ErrorKind::InvalidInput), "write {p}/{n}/{k}");
        let r = KVStoreSync::remove(&s, p, n, k, false).map_err(kind);
        assert_eq!(r, Err(ErrorKind::InvalidInput), "remove {p}/{n}/{k}");
        let w = futures::executor::block_on(KVStore::write(&s, p, n, k, vec![])).map_err(kind);
        assert_eq!(w, Err(ErrorKind::InvalidInput), "async write {p}/{n}/{k}");
    }
    let l = KVStoreSync::list(&s, "", "s").map_err(|e| e.kind());
    assert_eq!(l, Err(ErrorKind::InvalidInput));
    let l = KVStoreSync::list(&s, &long, "").map_err(|e| e.kind());
    assert_eq!(l, Err(ErrorKind::InvalidInput));
    assert!(
        MigratableKVStore::list_all_keys(&s).unwrap().is_empty(),
        "nothing was written"
    );
}

#[test]
fn a_second_process_cannot_open_the_same_directory() {
    let dir = tempfile::tempdir().unwrap();
    let _first = open_fjall(dir.path());
    let second = Store::open(dir.path(), StoreConfig::default());
    assert!(
        second.is_err(),
        "fjall's lock file must keep a second opener out"
    );
}
