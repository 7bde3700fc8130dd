//! The ledger tables: typed records, atomic batches across tables, create-only writes
//! (receipts among them).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::json;
use sluice_storage::{
    JitOrderTimeKey, PaymentRecord, PaymentStatus, QuoteRecord, ReceiptRecord, Store, StoreConfig,
    StoreError, WriteBatch,
};

fn payment(id: &str, status: PaymentStatus) -> PaymentRecord {
    PaymentRecord {
        payment_id: id.into(),
        payment_hash: format!("hash-{id}"),
        quote_id: Some(format!("quote-{id}")),
        invoice: Some("lnbcrt1...".into()),
        amount_msat: 10_000_000,
        max_fee_msat: 5_000,
        fee_paid_msat: None,
        status,
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

fn quote(id: &str) -> QuoteRecord {
    QuoteRecord {
        quote_id: id.into(),
        idempotency_key: format!("idem-{id}"),
        invoice: "lnbcrt1...".into(),
        invoice_hash: "ab".repeat(32),
        payment_hash: "ef".repeat(32),
        host: "market.example".into(),
        quoted_amount_msats: 10_000_000,
        quoted_fee_msats: 1_000,
        max_amount_msats: 10_000_000,
        max_fee_msats: 5_000,
        urgency: "normal".into(),
        policy_context_sha256: "cd".repeat(32),
        valid_until_ms: 1_700_000_060_000,
        created_at_ms: 1_700_000_000_000,
    }
}

fn receipt(id: &str, amount: u64) -> ReceiptRecord {
    ReceiptRecord {
        receipt_id: id.into(),
        schema: "openagents.liquidity.invoice_pay_receipt.v1".into(),
        body: json!({"receipt_id": id, "amount_msats": amount}),
        created_at_ms: 1_700_000_000_000,
    }
}

fn open(dir: &std::path::Path) -> Store {
    Store::open(dir, StoreConfig::default()).unwrap()
}

#[tokio::test]
async fn records_round_trip_and_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open(dir.path());
        let mut batch = WriteBatch::new();
        batch.put(&payment("p1", PaymentStatus::Pending)).unwrap();
        batch.put(&payment("p2", PaymentStatus::Succeeded)).unwrap();
        batch.put(&quote("q1")).unwrap();
        store.commit(batch).await.unwrap();

        assert_eq!(
            store.get::<PaymentRecord>("p1").await.unwrap(),
            Some(payment("p1", PaymentStatus::Pending))
        );
        assert_eq!(
            store.get::<QuoteRecord>("p1").await.unwrap(),
            None,
            "tables are separate"
        );
        assert_eq!(
            store.get::<QuoteRecord>("q1").await.unwrap(),
            Some(quote("q1"))
        );

        let mut batch = WriteBatch::new();
        batch.put(&payment("p1", PaymentStatus::Failed)).unwrap();
        batch.delete::<PaymentRecord>("p2");
        store.commit(batch).await.unwrap();
    }
    let store = open(dir.path());
    let payments = store.scan::<PaymentRecord>("").await.unwrap();
    assert_eq!(payments, [payment("p1", PaymentStatus::Failed)]);
    assert_eq!(
        store.get_blocking::<QuoteRecord>("q1").unwrap(),
        Some(quote("q1"))
    );
    let stats = store.commit_stats();
    assert_eq!(stats, Default::default(), "reads do not commit");
}

#[tokio::test]
async fn a_conflicting_batch_writes_nothing_in_any_table() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let mut batch = WriteBatch::new();
    batch.create(&quote("q1")).unwrap();
    store.commit(batch).await.unwrap();

    // A payment plus a second create of q1: the whole batch must be refused.
    let mut batch = WriteBatch::new();
    batch.put(&payment("p1", PaymentStatus::Pending)).unwrap();
    batch
        .create(&QuoteRecord {
            host: "other".into(),
            ..quote("q1")
        })
        .unwrap();
    let err = store.commit(batch).await.unwrap_err();
    match err {
        StoreError::Conflict {
            table,
            key,
            existing,
        } => {
            assert_eq!((table, key.as_str()), ("quotes", "q1"));
            let stored: QuoteRecord = serde_json::from_slice(&existing).unwrap();
            assert_eq!(stored, quote("q1"));
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(store.get::<PaymentRecord>("p1").await.unwrap(), None);
    assert_eq!(
        store.get::<QuoteRecord>("q1").await.unwrap(),
        Some(quote("q1"))
    );

    // A create after a delete in the same batch is fine.
    let mut batch = WriteBatch::new();
    batch.delete::<QuoteRecord>("q1");
    batch
        .create(&QuoteRecord {
            host: "replaced".into(),
            ..quote("q1")
        })
        .unwrap();
    store.commit(batch).await.unwrap();
    assert_eq!(
        store.get::<QuoteRecord>("q1").await.unwrap().unwrap().host,
        "replaced"
    );
}

/// Of many concurrent creates of one key exactly one wins, and every loser, told the key
/// is taken, can read the winner's record at once (even when both were in one group).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creates_of_one_key_admit_exactly_one() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    for round in 0..20 {
        contend(&store, &format!("contended-{round}")).await;
    }
}

async fn contend(store: &Store, key: &str) {
    let attempts = (0..64).map(|i| {
        let key = key.to_owned();
        let store = store.clone();
        tokio::spawn(async move {
            let mut batch = WriteBatch::new();
            batch
                .create(&QuoteRecord {
                    host: format!("writer-{i}"),
                    ..quote(&key)
                })
                .unwrap();
            match store.commit(batch).await {
                Ok(()) => Ok(format!("writer-{i}")),
                Err(StoreError::Conflict { .. }) => {
                    let seen = store.get::<QuoteRecord>(key).await.unwrap();
                    Err(seen.map(|quote| quote.host))
                }
                Err(other) => panic!("{other}"),
            }
        })
    });
    let results: Vec<Result<String, Option<String>>> = futures::future::join_all(attempts)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let won: Vec<&String> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(won.len(), 1, "{results:?}");
    let lost: Vec<&Option<String>> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert_eq!(lost.len(), 63);
    assert!(
        lost.iter().all(|seen| seen.as_ref() == Some(won[0])),
        "a loser could not read the winner: {results:?}"
    );
}

#[tokio::test]
async fn receipts_are_created_once_and_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let mut batch = WriteBatch::new();
    batch.create(&receipt("r1", 10)).unwrap();
    store.commit(batch).await.unwrap();
    let mut again = WriteBatch::new();
    again.create(&receipt("r1", 11)).unwrap();
    let err = store.commit(again).await.unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Conflict {
                table: "receipts",
                ..
            }
        ),
        "got {err:?}"
    );
    assert_eq!(
        store.get::<ReceiptRecord>("r1").await.unwrap(),
        Some(receipt("r1", 10))
    );
}

#[test]
fn blocking_api_works_without_a_runtime() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let mut batch = WriteBatch::new();
    batch.put(&quote("q")).unwrap();
    store.commit_blocking(batch).unwrap();
    // The async API falls back to running inline when there is no runtime.
    let got = futures::executor::block_on(store.get::<QuoteRecord>("q")).unwrap();
    assert_eq!(got, Some(quote("q")));
}

#[test]
fn corrupt_records_are_reported_not_panicked_on() {
    use lightning::util::persist::KVStoreSync;
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    // Write raw LDK data and a valid record; then read the record as the wrong type.
    KVStoreSync::write(&store, "x", "", "k", b"\xff".to_vec()).unwrap();
    let mut batch = WriteBatch::new();
    batch.put(&payment("p", PaymentStatus::Pending)).unwrap();
    store.commit_blocking(batch).unwrap();
    #[derive(serde::Serialize, serde::Deserialize)]
    struct NotAPayment {
        unrelated: u8,
    }
    impl sluice_storage::Record for NotAPayment {
        const TABLE: sluice_storage::Table = sluice_storage::Table::Payments;
        fn key(&self) -> String {
            String::new()
        }
    }
    let err = store
        .get_blocking::<NotAPayment>("p")
        .err()
        .expect("decoding must fail");
    assert!(
        matches!(
            err,
            StoreError::Decode {
                table: "payments",
                ..
            }
        ),
        "got {err:?}"
    );
}

#[tokio::test]
async fn the_last_change_to_a_key_in_one_batch_wins() {
    // fjall gives every change of a batch one sequence number; the store must still apply
    // changes to one key in order.
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    for round in 0..50u64 {
        let mut batch = WriteBatch::new();
        for host in ["first", "second", "third"] {
            batch
                .put(&QuoteRecord {
                    host: format!("{host}-{round}"),
                    ..quote("q")
                })
                .unwrap();
        }
        store.commit(batch).await.unwrap();
        let stored = store.get::<QuoteRecord>("q").await.unwrap().unwrap();
        assert_eq!(stored.host, format!("third-{round}"));
    }
    let mut batch = WriteBatch::new();
    batch.put(&quote("gone")).unwrap();
    batch.delete::<QuoteRecord>("gone");
    store.commit(batch).await.unwrap();
    assert_eq!(store.get::<QuoteRecord>("gone").await.unwrap(), None);
}

#[test]
fn ldk_entries_commit_in_a_batch_with_ldk_key_rules() {
    use lightning::util::persist::KVStoreSync;
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    KVStoreSync::write(&store, "monitor_updates", "m1", "3", b"old".to_vec()).unwrap();

    // One batch: a manager, a new update, the old update removed, a ledger record.
    let mut batch = WriteBatch::new();
    batch
        .put_ldk("", "", "manager", b"manager".to_vec())
        .unwrap()
        .put_ldk("monitor_updates", "m1", "4", b"new".to_vec())
        .unwrap()
        .delete_ldk("monitor_updates", "m1", "3")
        .unwrap()
        .put(&payment("p1", PaymentStatus::Pending))
        .unwrap();
    store.commit_blocking(batch).unwrap();
    assert_eq!(
        KVStoreSync::read(&store, "", "", "manager").unwrap(),
        b"manager"
    );
    assert_eq!(
        KVStoreSync::list(&store, "monitor_updates", "m1").unwrap(),
        vec!["4".to_owned()]
    );
    assert!(store.get_blocking::<PaymentRecord>("p1").unwrap().is_some());

    // LDK's rules hold for batched entries too.
    let mut batch = WriteBatch::new();
    for (primary, secondary, key) in [("", "m1", "k"), ("a/b", "", "k"), ("ns", "", "")] {
        assert!(matches!(
            batch.put_ldk(primary, secondary, key, Vec::new()),
            Err(StoreError::InvalidKey { .. })
        ));
        assert!(matches!(
            batch.delete_ldk(primary, secondary, key),
            Err(StoreError::InvalidKey { .. })
        ));
    }
    assert!(batch.is_empty());
}

/// The index and queue tables are read by key ranges: their keys must sort as their
/// readers assume (time order, due order, one prefix per period or hash), and
/// `Store::range` must honour its bounds, direction and limit.
#[tokio::test]
async fn index_keys_sort_as_their_readers_read_them() {
    use sluice_storage::{
        BudgetSpendRecord, Expiring, ExpiryRecord, IndexedDirection, PaymentIndexRecord,
        ReceivedByHashRecord,
    };
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let mut batch = WriteBatch::new();
    for (at, id) in [(9u64, "c"), (1_000, "a"), (0x1_0000, "b")] {
        batch
            .put(&PaymentIndexRecord {
                created_at_ms: at,
                direction: IndexedDirection::Sent,
                payment_id: id.into(),
            })
            .unwrap();
        batch
            .put(&ExpiryRecord {
                due_ms: at,
                kind: Expiring::Quote,
                key: id.into(),
            })
            .unwrap();
    }
    for (token, period, id) in [("t1", 5u64, "p1"), ("t1", 6, "p2"), ("t2", 5, "p3")] {
        batch
            .put(&BudgetSpendRecord {
                token: token.into(),
                period_start_ms: period,
                payment_id: id.into(),
                reserved_msat: 10,
                spent_msat: None,
                created_at_ms: 0,
            })
            .unwrap();
    }
    for (hash, id) in [("aa", "r1"), ("aa", "r2"), ("aab", "r3")] {
        batch
            .put(&ReceivedByHashRecord {
                payment_hash: hash.into(),
                payment_id: id.into(),
            })
            .unwrap();
    }
    store.commit(batch).await.unwrap();

    // Newest first, two at a time, below a bound.
    let newest = store
        .range::<PaymentIndexRecord>("", "~", 2, true)
        .await
        .unwrap();
    let ids: Vec<&str> = newest.iter().map(|(_, r)| r.payment_id.as_str()).collect();
    assert_eq!(ids, ["b", "a"]);
    let older = store
        .range::<PaymentIndexRecord>("", newest[1].0.clone(), 10, true)
        .await
        .unwrap();
    assert_eq!(older.len(), 1);
    assert_eq!(older[0].1.payment_id, "c");

    // Due at 1,000: the first two, in due order.
    let due = store
        .range::<ExpiryRecord>("", ExpiryRecord::due_before(1_000), 10, false)
        .await
        .unwrap();
    let keys: Vec<&str> = due.iter().map(|(_, r)| r.key.as_str()).collect();
    assert_eq!(keys, ["c", "a"]);

    // One period of one token; one hash, not its extensions.
    let period = store
        .scan::<BudgetSpendRecord>(BudgetSpendRecord::period_prefix("t1", 5))
        .await
        .unwrap();
    assert_eq!(period.len(), 1);
    assert_eq!(period[0].payment_id, "p1");
    let of_hash = store
        .scan::<ReceivedByHashRecord>(ReceivedByHashRecord::prefix("aa"))
        .await
        .unwrap();
    let ids: Vec<&str> = of_hash.iter().map(|r| r.payment_id.as_str()).collect();
    assert_eq!(ids, ["r1", "r2"]);
}

fn time_key(created_at_ms: u64, order: u8) -> JitOrderTimeKey {
    JitOrderTimeKey {
        created_at_ms,
        order_id: format!("{order:032x}"),
    }
}

/// Pages of an index newest first: each page reads below the last key of the one before,
/// keys sort by time before id (16 hex digits of time, so 0x100 ms sorts after 0xff ms),
/// and the last page is short.
#[tokio::test]
async fn a_table_is_read_newest_first_a_page_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let keys = [
        time_key(0xff, 9),
        time_key(0x100, 1),
        time_key(0x100, 2),
        time_key(5, 3),
        time_key(1_800_000_000_000, 4),
    ];
    let mut batch = WriteBatch::new();
    for key in &keys {
        batch.put(key).unwrap();
    }
    store.commit(batch).await.unwrap();
    let newest_first = [&keys[4], &keys[2], &keys[1], &keys[0], &keys[3]];

    let page = |below: String| {
        let store = store.clone();
        async move {
            store
                .range::<JitOrderTimeKey>("", below, 2, true)
                .await
                .unwrap()
        }
    };
    let first = page(sluice_storage::KEYS_END.into()).await;
    let records = |page: &[(String, JitOrderTimeKey)]| {
        page.iter().map(|(_, r)| r.clone()).collect::<Vec<_>>()
    };
    assert_eq!(
        records(&first),
        newest_first[..2]
            .iter()
            .map(|k| (*k).clone())
            .collect::<Vec<_>>()
    );
    let cursor = first[1].0.clone();
    assert!(JitOrderTimeKey::is_key(&cursor), "{cursor}");
    let second = page(cursor).await;
    assert_eq!(
        records(&second),
        newest_first[2..4]
            .iter()
            .map(|k| (*k).clone())
            .collect::<Vec<_>>()
    );
    let last = page(second[1].0.clone()).await;
    assert_eq!(records(&last), [keys[3].clone()]);
    let below_everything = "0".repeat(JitOrderTimeKey::KEY_LEN);
    assert!(page(below_everything).await.is_empty());
    assert!(!JitOrderTimeKey::is_key("not a key"));
    assert!(!JitOrderTimeKey::is_key(
        &"A".repeat(JitOrderTimeKey::KEY_LEN)
    ));
}

/// `commit_queued` queues its batch when it is called, not when its future is polled:
/// a commit made after it, awaited, finds the queued batch durable with it, even if the
/// queued future is never polled. LDK's event handlers rely on it (an outcome queued
/// before the handler returns lands no later than the channel manager written after).
/// A lazy implementation (an `async fn` that queues on first poll) fails this.
#[tokio::test]
async fn a_queued_commit_lands_no_later_than_any_commit_after_it() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open(dir.path());
        let mut first = WriteBatch::new();
        first
            .put(&payment("outcome", PaymentStatus::Succeeded))
            .unwrap();
        let queued = store.commit_queued(first);
        let mut later = WriteBatch::new();
        later.put(&quote("manager")).unwrap();
        store.commit(later).await.unwrap();
        assert_eq!(
            store.get::<PaymentRecord>("outcome").await.unwrap(),
            Some(payment("outcome", PaymentStatus::Succeeded)),
            "the later commit is durable, so the queued one is too"
        );
        // Never polled: the write stands anyway.
        drop(queued);
    }
    let store = open(dir.path());
    assert_eq!(
        store.get::<PaymentRecord>("outcome").await.unwrap(),
        Some(payment("outcome", PaymentStatus::Succeeded))
    );
}

/// A pool's ledger is read back in sequence order by its own prefix only (a pool whose id
/// extends another's is not mixed in, and seq 10 sorts after seq 9), and an entry is
/// never replaced.
#[tokio::test]
async fn pool_entries_read_back_in_order_and_are_never_replaced() {
    use sluice_pool::{Entry, IncomeKind, Movement, PartitionKind};
    use sluice_storage::PoolEntryRecord;

    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let entry = |pool: &str, seq: u64, msat: u64| PoolEntryRecord {
        pool_id: pool.into(),
        entry: Entry::new(
            seq,
            0,
            Movement::Income {
                partition: PartitionKind::Llp,
                source: IncomeKind::Routing,
                msat,
                reference: String::new(),
            },
        ),
    };
    let mut batch = WriteBatch::new();
    for seq in (0..12).rev() {
        batch.create(&entry("main", seq, 1 + seq)).unwrap();
    }
    batch.create(&entry("main2", 0, 99)).unwrap();
    store.commit(batch).await.unwrap();
    let read = store
        .scan::<PoolEntryRecord>(PoolEntryRecord::prefix("main"))
        .await
        .unwrap();
    let seqs: Vec<u64> = read.iter().map(|r| r.entry.seq).collect();
    assert_eq!(seqs, (0..12).collect::<Vec<_>>());
    let mut again = WriteBatch::new();
    again.create(&entry("main", 3, 1_000)).unwrap();
    assert!(matches!(
        store.commit(again).await,
        Err(StoreError::Conflict { .. })
    ));
}

#[tokio::test]
async fn withdrawals_keep_their_units_exactly_and_an_invoice_pays_one_withdrawal() {
    use sluice_pool::queue::Rail;
    use sluice_pool::withdrawal::Outstanding;
    use sluice_pool::PartitionKind;
    use sluice_storage::{
        FillRecord, FillState, PayoutInvoiceRecord, WithdrawalRecord, WithdrawalStatus,
    };

    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    // Units beyond a JSON number's exact range come back exactly.
    let units = u128::MAX - 7;
    let record = WithdrawalRecord {
        withdrawal_id: "wd_1".into(),
        pool_id: "main".into(),
        partition: PartitionKind::Llp,
        lp_id: "alice".into(),
        idempotency_key: "k".into(),
        rail: Rail::Onchain,
        payout_invoice: None,
        payout_address: Some("bcrt1qexample".into()),
        units_requested: units,
        value_at_request_msat: 5_000,
        outstanding: Outstanding {
            units: units - 1,
            cap_msat: 4_000,
        },
        status: WithdrawalStatus::Queued,
        needs_approval: false,
        emergency: false,
        approved_by: None,
        approved_at_ms: None,
        fills: vec![FillRecord {
            n: 0,
            msat: 1_000,
            units: 1,
            burn_seq: 9,
            state: FillState::Sent,
            payment_id: None,
            batch_id: Some("wb_main_0000000009".into()),
            txid: None,
            fee_msat: None,
            settle_seq: None,
            burned_at_ms: 1,
            settled_at_ms: None,
            failure: None,
            units_returned: None,
        }],
        paid_msat: 0,
        request_receipt_id: "r".into(),
        settlement_receipt_id: None,
        requested_at_ms: 1,
        earliest_settlement_at_ms: 1,
        latest_settlement_at_ms: 2,
        ended_at_ms: None,
    };
    let reserve = |id: &str| PayoutInvoiceRecord {
        payment_hash: "ab".repeat(32),
        withdrawal_id: id.into(),
    };
    let mut batch = WriteBatch::new();
    batch.create(&record).unwrap();
    batch.create(&reserve("wd_1")).unwrap();
    store.commit(batch).await.unwrap();
    let back = store.get::<WithdrawalRecord>("wd_1").await.unwrap();
    assert_eq!(back, Some(record));
    // A second withdrawal cannot reserve the same invoice: its whole batch is refused.
    let mut second = WriteBatch::new();
    second.create(&reserve("wd_2")).unwrap();
    assert!(matches!(
        store.commit(second).await,
        Err(StoreError::Conflict { .. })
    ));
    let kept = store
        .get::<PayoutInvoiceRecord>("ab".repeat(32))
        .await
        .unwrap();
    assert_eq!(kept.map(|r| r.withdrawal_id), Some("wd_1".to_owned()));
}

#[tokio::test]
async fn an_envelope_keeps_its_state_machine_whole_and_an_invoice_settles_one_envelope() {
    use sluice_credit::envelope::{Draw, Limits, Settlement, Status};
    use sluice_credit::underwriting::ScopeType;
    use sluice_storage::{CreditEnvelopeRecord, CreditInvoiceRecord, SettlementAsked};

    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let settlement = Settlement {
        settlement_id: "ceps_1".into(),
        fingerprint: "fp".into(),
        verification_passed: true,
        amount_msat: Some(42_000),
        max_fee_msat: 1_000,
    };
    let record = CreditEnvelopeRecord {
        envelope_id: "cepe_1".into(),
        offer_id: "cepo_1".into(),
        agent_id: "ag".into(),
        pool_id: "main".into(),
        provider_id: "pr".into(),
        scope_type: ScopeType::Nip90,
        scope_id: "job-1".into(),
        limits: Limits {
            cap_msat: 100_000,
            fee_bps: 50,
            exp_ms: 10,
            repay_by_ms: 20,
        },
        status: Status::Owed {
            settlement,
            draw: Draw {
                spent_msat: 42_000,
                routing_fee_msat: 3,
                credit_fee_msat: 210,
            },
            repaid_msat: 7,
        },
        issue_receipt_id: "r1".into(),
        settlement_receipt_id: Some("r2".into()),
        default_notice_id: None,
        payment_id: Some("cd".repeat(32)),
        issued_at_ms: 1,
        updated_at_ms: 2,
        asked: Some(SettlementAsked {
            invoice: "lnbcrt420n1...".into(),
            payment_hash: "ab".repeat(32),
            provider_host: "provider.example".into(),
            verification_receipt_sha256: "ef".repeat(32),
            policy_context: "null".into(),
            spend_authorization: None,
            asked_at_ms: 2,
            quote_id: None,
            run_id: None,
            trajectory_hash: None,
        }),
        failed_payments: 1,
    };
    let reserve = |id: &str| CreditInvoiceRecord {
        payment_hash: "ab".repeat(32),
        envelope_id: id.into(),
    };
    let mut batch = WriteBatch::new();
    batch.create(&record).unwrap();
    batch.create(&reserve("cepe_1")).unwrap();
    store.commit(batch).await.unwrap();
    drop(store);
    let store = open(dir.path());
    let back = store.get::<CreditEnvelopeRecord>("cepe_1").await.unwrap();
    assert_eq!(back, Some(record));
    // The same invoice cannot settle a second envelope: its whole batch is refused.
    let mut second = WriteBatch::new();
    second.create(&reserve("cepe_2")).unwrap();
    assert!(matches!(
        store.commit(second).await,
        Err(StoreError::Conflict { .. })
    ));
}
