//! The commit mark: a store that lost acknowledged writes — a damaged journal that
//! fjall's recovery truncates silently, or an older copy put in its place — refuses to
//! open instead of rolling the node back.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::Path;

use sluice_storage::{PaymentRecord, PaymentStatus, Store, StoreConfig, StoreError, WriteBatch};

fn payment(n: usize) -> PaymentRecord {
    PaymentRecord {
        payment_id: format!("payment-{n:04}"),
        payment_hash: format!("hash-{n}"),
        quote_id: None,
        invoice: None,
        amount_msat: 1_000,
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
        created_at_ms: 1_700_000_000_000,
        updated_at_ms: 1_700_000_000_000,
    }
}

/// Opens the store at `dir` and commits payments `from..to`, one durable commit each.
fn write_payments(dir: &Path, from: usize, to: usize) {
    let store = Store::open(dir, StoreConfig::default()).unwrap();
    for n in from..to {
        let mut batch = WriteBatch::new();
        batch.put(&payment(n)).unwrap();
        store.commit_blocking(batch).unwrap();
    }
}

fn count_payments(dir: &Path) -> usize {
    let store = Store::open(dir, StoreConfig::default()).unwrap();
    store.scan_blocking::<PaymentRecord>("").unwrap().len()
}

/// Applies `damage` to the written part of every journal file; returns how many
/// files it damaged.
fn damage_journals(dir: &Path, damage: impl Fn(&mut [u8])) -> usize {
    let mut files = 0;
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "jnl") {
            let mut bytes = fs::read(&path).unwrap();
            let written = bytes.iter().rposition(|b| *b != 0).map_or(0, |i| i + 1);
            damage(&mut bytes[..written]);
            fs::write(&path, bytes).unwrap();
            files += 1;
        }
    }
    files
}

/// Copies the regular files of `from` into `to` (one level; fjall's keyspace folders
/// are copied recursively), leaving out `skip`.
fn copy_dir(from: &Path, to: &Path, skip: &str) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_name() == skip {
            continue;
        }
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target, skip);
        } else {
            fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn a_clean_store_reopens_and_keeps_counting() {
    let dir = tempfile::tempdir().unwrap();
    write_payments(dir.path(), 0, 5);
    write_payments(dir.path(), 5, 10);
    assert_eq!(count_payments(dir.path()), 10);
    assert!(dir.path().join(sluice_storage::MARK_FILE).exists());
}

/// Zeroes in the middle of the journal read as its end to fjall, which opens without an
/// error on the writes before them: exactly what the mark is for.
#[test]
fn a_journal_cut_short_is_refused_not_rolled_back() {
    let dir = tempfile::tempdir().unwrap();
    write_payments(dir.path(), 0, 200);
    let zeroed = damage_journals(dir.path(), |journal| {
        let third = journal.len() / 3;
        journal[third..third + 64].fill(0);
    });
    assert!(zeroed > 0);
    let Err(err) = Store::open(dir.path(), StoreConfig::default()) else {
        panic!("a store missing acknowledged writes opened");
    };
    assert!(
        matches!(err, StoreError::LostWrites { stored, acknowledged: 200, .. } if stored < 200),
        "{err}"
    );
}

/// Bits flipped through the journal: refused, whether fjall notices (a checksum error,
/// or a panic it is kept from turning into an abort) or the mark does.
#[test]
fn a_damaged_journal_is_refused_not_rolled_back() {
    let dir = tempfile::tempdir().unwrap();
    write_payments(dir.path(), 0, 200);
    let damaged = damage_journals(dir.path(), |journal| {
        for i in (journal.len() / 3..journal.len() / 2).step_by(7) {
            journal[i] ^= 0x5a;
        }
    });
    assert!(damaged > 0);
    match Store::open(dir.path(), StoreConfig::default()) {
        Err(StoreError::LostWrites {
            stored,
            acknowledged,
            ..
        }) => assert!(stored < acknowledged, "{stored} >= {acknowledged}"),
        // fjall noticing the damage itself is fine too.
        Err(StoreError::Engine(_) | StoreError::Recovery(_)) => {}
        Err(other) => panic!("unexpected error: {other}"),
        Ok(store) => panic!(
            "opened with {} of 200 payments",
            store.scan_blocking::<PaymentRecord>("").unwrap().len()
        ),
    }
}

#[test]
fn an_older_copy_of_the_store_is_refused_unless_the_mark_is_removed() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("live");
    let old = dir.path().join("old");
    write_payments(&live, 0, 10);
    copy_dir(&live, &old, sluice_storage::MARK_FILE);
    write_payments(&live, 10, 20);

    // The old copy, with the live store's mark: refused, and the error says by how much.
    copy_dir(&old, &live, sluice_storage::MARK_FILE);
    let Err(err) = Store::open(&live, StoreConfig::default()) else {
        panic!("an older copy opened");
    };
    assert!(
        matches!(
            err,
            StoreError::LostWrites {
                stored: 10,
                acknowledged: 20,
                ..
            }
        ),
        "{err}"
    );

    // Removing the mark is the operator's way to start on the old copy knowingly.
    fs::remove_file(live.join(sluice_storage::MARK_FILE)).unwrap();
    assert_eq!(count_payments(&live), 10);
}

#[test]
fn a_damaged_mark_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    write_payments(dir.path(), 0, 3);
    fs::write(dir.path().join(sluice_storage::MARK_FILE), b"not a mark").unwrap();
    assert!(matches!(
        Store::open(dir.path(), StoreConfig::default()),
        Err(StoreError::Mark { .. })
    ));
}
