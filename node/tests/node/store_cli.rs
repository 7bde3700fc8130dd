//! `sluice store stats` against real store directories.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

use lightning::util::persist::KVStoreSync;
use sluice_storage::{Store, StoreConfig};

fn sluice() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sluice"))
}

#[test]
fn stats_counts_entries_per_table() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path().join("store"), StoreConfig::default()).unwrap();
        KVStoreSync::write(&store, "", "", "manager", vec![1; 100]).unwrap();
        KVStoreSync::write(&store, "monitors", "", "m", vec![2; 100]).unwrap();
    }
    let out = sluice()
        .args(["store", "stats", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["tables"]["ldk"], 2);
    assert_eq!(report["tables"]["payments"], 0);
    assert!(report["disk_bytes"].as_u64().unwrap() > 0);
}

#[test]
fn stats_refuses_a_missing_store_and_a_store_in_use() {
    let dir = tempfile::tempdir().unwrap();
    let out = sluice()
        .args(["store", "stats", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no store at"));

    let _held = Store::open(dir.path().join("store"), StoreConfig::default()).unwrap();
    let out = sluice()
        .args(["store", "stats", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot open the store"));
}
