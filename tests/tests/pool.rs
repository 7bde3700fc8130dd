//! The liquidity pool over real nodes: B runs the pool, LPs deposit by invoice (paid
//! from A over the A→B channel) and on-chain (an output to the deposit address mined by
//! the embedded chain); shares are minted once, at the price when the money is final,
//! with a receipt that verifies offline; an LP's id belongs to the token that first used
//! it; bad input gets stable 4xx codes; and a SIGKILL while a deposit is being paid
//! loses nothing and mints nothing twice.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::Value;
use sluice_actors::receipts::verify;
use sluice_api_types::{
    CreatePoolRequest, DepositQuoteRequest, DepositQuoteResponse, OpenChannelRequest,
    PayInvoiceRequest, PaymentStatus, PoolStatusResponse, DEPOSIT_QUOTE_REQUEST_SCHEMA,
};
use sluice_harness::setup::PairSpec;
use sluice_harness::{wait_for, ApiClient, Error, Line, NodeOptions, NodeProcess, Pair};

const POOL: &str = "main";
/// Tokens of B: two LPs, a reader, a payer.
const LP_ONE: &str = "lp-one-token";
const LP_TWO: &str = "lp-two-token";
const READER: &str = "reader-token";
const PAYER: &str = "payer-token";
/// Share units in one share, and msat in one sat.
const UNITS_PER_SHARE: u128 = 1_000_000_000;

fn options(chain: &sluice_harness::ChainProcess, node: usize) -> NodeOptions {
    let options = NodeOptions::regtest(chain);
    if node == 1 {
        options
            .token(LP_ONE, "lp")
            .token(LP_TWO, "lp")
            .token(READER, "read")
            .token(PAYER, "pay")
    } else {
        options
    }
}

fn refusal<T: std::fmt::Debug>(result: Result<T, Error>) -> (u16, String) {
    match result {
        Err(Error::Api { status, code, .. }) => (status, code),
        other => panic!("expected an API error, got {other:?}"),
    }
}

fn ask(lp_id: &str, key: &str, rail: &str, amount_sats: u64) -> DepositQuoteRequest {
    DepositQuoteRequest {
        schema: DEPOSIT_QUOTE_REQUEST_SCHEMA.into(),
        lp_id: lp_id.into(),
        idempotency_key: key.into(),
        partition_kind: None,
        rail: rail.into(),
        amount_sats,
        description: None,
        expiry_secs: None,
    }
}

fn as_lp(node: &NodeProcess, token: &str) -> ApiClient {
    node.client().with_token(Some(token))
}

/// Waits until the deposit is confirmed and returns it.
fn wait_confirmed(client: &ApiClient, deposit_id: &str) -> DepositQuoteResponse {
    wait_for(&format!("deposit {deposit_id} to confirm"), WAIT, || {
        let deposit = client.deposit(POOL, deposit_id)?;
        Ok((deposit.deposit.status == "confirmed").then_some(deposit))
    })
    .unwrap()
}

fn units(text: &Option<String>) -> u128 {
    text.as_deref().unwrap().parse().unwrap()
}

fn rrp(status: &PoolStatusResponse) -> &sluice_api_types::PartitionStatus {
    status
        .partitions
        .iter()
        .find(|p| p.partition_kind == "rrp")
        .unwrap()
}

fn llp(status: &PoolStatusResponse) -> &sluice_api_types::PartitionStatus {
    status
        .partitions
        .iter()
        .find(|p| p.partition_kind == "llp")
        .unwrap()
}

/// A's payment of `invoice`, started; its id.
fn pay_from_a(a: &NodeProcess, invoice: &str) -> String {
    a.client()
        .pay_invoice(&PayInvoiceRequest {
            invoice: invoice.into(),
            amount_msat: None,
            max_fee_msat: None,
        })
        .unwrap()
        .id
}

fn wait_paid(a: &NodeProcess, id: &str) -> PaymentStatus {
    wait_for(&format!("payment {id} to settle"), WAIT, || {
        let payment = a.client().payment(id)?;
        Ok((payment.status != PaymentStatus::Pending).then_some(payment.status))
    })
    .unwrap()
}

/// The receipt verifies offline, and says what the deposit record says.
fn assert_receipt(deposit: &DepositQuoteResponse) {
    let receipt = &deposit.receipt;
    let verified = verify(receipt, None).expect("the deposit receipt verifies");
    verify(receipt, Some(&verified.signer)).expect("against its signer");
    assert_eq!(receipt["schema"], "openagents.liquidity.deposit_receipt.v1");
    assert_eq!(receipt["deposit_id"], deposit.deposit.deposit_id.as_str());
    assert_eq!(
        receipt["units_minted"].as_str(),
        deposit.deposit.units_minted.as_deref()
    );
    assert_eq!(
        receipt["received_msats"].as_u64(),
        deposit.deposit.received_msats
    );
    let mut tampered = receipt.clone();
    tampered["units_minted"] = Value::String("1".into());
    assert!(
        verify(&tampered, None).is_err(),
        "a changed receipt verifies"
    );
}

#[test]
fn lps_deposit_by_invoice_and_on_chain_and_get_shares_once() {
    let binary = binary();
    let pair = Pair::start(&binary, PairSpec::new(CAPACITY_SAT), options).unwrap();
    let (a, mut b) = (pair.a, pair.b);
    let rpc = pair.chain.rpc();
    let admin = b.client();

    // The pool: created by an admin; the same request again answers it; another is refused.
    let create = CreatePoolRequest {
        pool_id: POOL.into(),
        name: Some("the main pool".into()),
        partitions: None,
    };
    let pool = admin.create_pool(&create).unwrap();
    assert_eq!(pool.partitions, ["llp", "cep", "rrp"]);
    assert_eq!(admin.create_pool(&create).unwrap(), pool);
    let other = CreatePoolRequest {
        pool_id: "second".into(),
        ..create.clone()
    };
    assert_eq!(
        refusal(admin.create_pool(&other)),
        (409, "pool_exists".into())
    );
    assert_eq!(
        refusal(as_lp(&b, LP_ONE).create_pool(&create)),
        (403, "forbidden".into())
    );

    // Alice (LP one) deposits 100,000 sat by invoice, paid from A.
    let lp_one = as_lp(&b, LP_ONE);
    let quote = lp_one
        .deposit_quote(POOL, &ask("alice", "alice-1", "lightning_invoice", 100_000))
        .unwrap();
    let deposit = &quote.deposit;
    assert_eq!(deposit.status, "quoted");
    assert_eq!(deposit.share_price_sats, 1.0);
    assert!(quote.receipt.is_null());
    // The same key and body answer the same deposit; another body is a conflict.
    let again = lp_one
        .deposit_quote(POOL, &ask("alice", "alice-1", "lightning_invoice", 100_000))
        .unwrap();
    assert_eq!(again.deposit.deposit_id, deposit.deposit_id);
    assert_eq!(
        refusal(lp_one.deposit_quote(POOL, &ask("alice", "alice-1", "lightning_invoice", 100_001))),
        (409, "idempotency_conflict".into())
    );
    let paid = pay_from_a(&a, deposit.invoice_bolt11.as_deref().unwrap());
    assert_eq!(wait_paid(&a, &paid), PaymentStatus::Succeeded);
    let alice = wait_confirmed(&lp_one, &deposit.deposit_id);
    assert_eq!(alice.deposit.received_msats, Some(100_000_000));
    // The first shares cost exactly 1 sat each.
    assert_eq!(
        units(&alice.deposit.units_minted),
        100_000 * UNITS_PER_SHARE
    );
    assert_receipt(&alice);

    // Bob (LP two) deposits on-chain: a coinbase to his address, final once spendable.
    let lp_two = as_lp(&b, LP_TWO);
    let quote = lp_two
        .deposit_quote(POOL, &ask("bob", "bob-1", "onchain_address", 1_000_000))
        .unwrap();
    let address = quote.deposit.deposit_address.clone().unwrap();
    assert_eq!(quote.deposit.required_confirmations, Some(3));
    rpc.generate_to_address(1, &address).unwrap();
    wait_synced(&b, &rpc);
    wait_for("bob's deposit to be seen", WAIT, || {
        let d = lp_two.deposit(POOL, &quote.deposit.deposit_id)?;
        Ok((d.deposit.status == "pending").then_some(()))
    })
    .unwrap();
    let coinbase_msat = lp_two
        .deposit(POOL, &quote.deposit.deposit_id)
        .unwrap()
        .deposit
        .received_msats
        .unwrap();
    // Alice's invoice deposit is her own: Bob's token can neither read nor deposit for it.
    assert_eq!(
        refusal(lp_two.pool_position(POOL, "alice")),
        (403, "not_owner".into())
    );
    assert_eq!(
        refusal(lp_two.deposit_quote(POOL, &ask("alice", "bob-2", "lightning_invoice", 5_000))),
        (403, "not_owner".into())
    );
    let before = admin.pool_status(POOL).unwrap();
    rpc.generate_to_address(100, NOBODYS_ADDRESS).unwrap();
    wait_synced(&b, &rpc);
    let bob = wait_confirmed(&lp_two, &quote.deposit.deposit_id);
    assert_eq!(bob.deposit.received_msats, Some(coinbase_msat));
    assert_receipt(&bob);
    // Minted at the price when it confirmed (Alice's deposit had set it), rounded down.
    let price = &before.share_price;
    let (p_msat, p_units): (u128, u128) =
        (price.msat.parse().unwrap(), price.units.parse().unwrap());
    assert_eq!(
        units(&bob.deposit.units_minted),
        u128::from(coinbase_msat) * p_units / p_msat
    );

    // The books: both deposits, and nothing else, in the LLP partition.
    let status = as_lp(&b, READER).pool_status(POOL).unwrap();
    let part = llp(&status);
    assert_eq!(part.assets_msats, 100_000_000 + coinbase_msat);
    assert_eq!(part.nav_msats, part.assets_msats);
    assert_eq!(part.flows.deposits_msats, part.assets_msats);
    assert_eq!(part.lp_count, 2);
    assert_eq!(
        part.total_units.parse::<u128>().unwrap(),
        units(&alice.deposit.units_minted) + units(&bob.deposit.units_minted)
    );
    assert_eq!(status.reconciliation.booked_msats, part.assets_msats);
    // The node holds the operator's own coins too, so it holds at least what is booked.
    assert!(status.reconciliation.drift_msats >= 0, "{status:?}");
    let position = lp_one.pool_position(POOL, "alice").unwrap();
    assert_eq!(position.partitions.len(), 1);
    assert_eq!(position.partitions[0].shares, 100_000.0);
    assert!(position.partitions[0].value_msats <= 100_000_000);
    assert!(position.partitions[0].value_msats >= 100_000_000 - 1);

    // Proof snapshots: the cadence took the first at the first sweep after the pool was
    // created, another is taken now on demand; each LP's proof verifies offline against
    // the signed root.
    let first = admin.snapshot(POOL, "1").unwrap();
    assert_eq!(first.snapshot_seq, 1);
    verify(&first.receipt, None).expect("the first snapshot verifies");
    let snapshot = admin.take_snapshot(POOL).unwrap();
    assert!(snapshot.snapshot_seq > first.snapshot_seq);
    let seq = snapshot.snapshot_seq.to_string();
    assert_eq!(
        as_lp(&b, READER).snapshot(POOL, "latest").unwrap(),
        snapshot
    );
    assert_eq!(lp_two.snapshot(POOL, &seq).unwrap(), snapshot);
    let r = &snapshot.receipt;
    assert_eq!(r["schema"], "openagents.liquidity.pool_snapshot_receipt.v1");
    assert_eq!(r["liabilities"]["leaf_count"], 2);
    assert_eq!(r["booked_msats"].as_u64(), Some(part.assets_msats));
    // The LPs are owed the NAV less the virtual holder's crumb and their rounding.
    let owed = r["liabilities"]["lp_positions_msats"].as_u64().unwrap();
    assert!(
        owed <= part.nav_msats && owed + 3 >= part.nav_msats,
        "{owed}"
    );
    assert_eq!(
        r["assets"]["onchain"]["total_msats"].as_u64(),
        Some(status.reconciliation.node.onchain_msats)
    );
    let alice_proof = lp_one.inclusion_proof(POOL, "latest", "alice").unwrap();
    assert_eq!(alice_proof.leaves.len(), 1);
    assert_eq!(
        alice_proof.leaves[0].value_msats,
        position.partitions[0].value_msats
    );
    let bob_proof = lp_two.inclusion_proof(POOL, &seq, "bob").unwrap();
    assert_eq!(
        alice_proof.leaves[0].value_msats + bob_proof.leaves[0].value_msats,
        owed
    );
    // Snapshots and proofs refused: another LP's proof, wrong scope, unknown pool,
    // snapshot or LP, a malformed number.
    for (result, expected) in [
        (
            lp_two.inclusion_proof(POOL, &seq, "alice").map(drop),
            (403, "not_owner"),
        ),
        (
            as_lp(&b, READER)
                .inclusion_proof(POOL, &seq, "alice")
                .map(drop),
            (403, "forbidden"),
        ),
        (
            lp_one.inclusion_proof("nope", &seq, "alice").map(drop),
            (404, "not_found"),
        ),
        (
            lp_one.inclusion_proof(POOL, "999", "alice").map(drop),
            (404, "not_found"),
        ),
        (
            admin.inclusion_proof(POOL, &seq, "nobody").map(drop),
            (404, "not_found"),
        ),
        (
            admin.snapshot(POOL, "0").map(drop),
            (400, "invalid_request"),
        ),
        (
            admin.snapshot(POOL, "-1").map(drop),
            (400, "invalid_request"),
        ),
        (
            admin.snapshot(POOL, "first").map(drop),
            (400, "invalid_request"),
        ),
        (
            admin.snapshot("nope", "latest").map(drop),
            (404, "not_found"),
        ),
        (admin.take_snapshot("nope").map(drop), (404, "not_found")),
        (lp_one.take_snapshot(POOL).map(drop), (403, "forbidden")),
        (
            as_lp(&b, PAYER).snapshot(POOL, "latest").map(drop),
            (403, "forbidden"),
        ),
    ] {
        assert_eq!(refusal(result), (expected.0, expected.1.to_owned()));
    }
    // Offline: `sluice snapshot verify` with the node's receipt key pinned.
    let signer = verify(&alice.receipt, None).unwrap().signer.to_string();
    let dir = b.data_dir().to_owned();
    let write = |name: &str, value: Value| {
        let file = dir.join(name);
        std::fs::write(&file, serde_json::to_vec_pretty(&value).unwrap()).unwrap();
        file
    };
    let snapshot_file = write("snapshot.json", serde_json::to_value(&snapshot).unwrap());
    let verify_cli = |snapshot: &std::path::Path, proof: &std::path::Path| {
        binary
            .command()
            .args(["snapshot", "verify"])
            .arg(snapshot)
            .arg("--proof")
            .arg(proof)
            .args(["--signer", &signer])
            .output()
            .unwrap()
    };
    for proof in [&alice_proof, &bob_proof] {
        let proof_file = write("proof.json", serde_json::to_value(proof).unwrap());
        let out = verify_cli(&snapshot_file, &proof_file);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("included: LP"));
    }
    // Not when the proof claims more, nor against a snapshot it is not from, nor when
    // the snapshot claims smaller liabilities.
    let mut inflated = alice_proof.clone();
    inflated.leaves[0].value_msats += 1;
    let out = verify_cli(
        &snapshot_file,
        &write("proof.json", serde_json::to_value(&inflated).unwrap()),
    );
    assert!(!out.status.success());
    let later = admin.take_snapshot(POOL).unwrap();
    let out = verify_cli(
        &write("later.json", serde_json::to_value(&later).unwrap()),
        &write("proof.json", serde_json::to_value(&alice_proof).unwrap()),
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not this one"));
    let mut smaller = snapshot.clone();
    smaller.receipt["liabilities"]["lp_positions_msats"] = Value::from(owed - 1);
    let out = verify_cli(
        &write("smaller.json", serde_json::to_value(&smaller).unwrap()),
        &write("proof.json", serde_json::to_value(&alice_proof).unwrap()),
    );
    assert!(!out.status.success());

    // Bad input: stable codes, nothing stored.
    let bad = [
        (
            lp_one.deposit_quote("nope", &ask("alice", "k1", "lightning_invoice", 5_000)),
            404,
            "not_found",
        ),
        (
            lp_one.deposit_quote(POOL, &ask("alice", "k2", "lightning_invoice", 0)),
            400,
            "invalid_request",
        ),
        (
            lp_one.deposit_quote(POOL, &ask("alice", "k3", "lightning_invoice", 999)),
            400,
            "invalid_request",
        ),
        (
            lp_one.deposit_quote(POOL, &ask("alice", "k4", "lightning_invoice", 50_000_000)),
            422,
            "amount_exceeds_max",
        ),
        (
            lp_one.deposit_quote(POOL, &ask("alice", "k5", "lightning_invoice", u64::MAX)),
            400,
            "invalid_request",
        ),
        (
            lp_one.deposit_quote(POOL, &ask("alice", "k6", "carrier_pigeon", 5_000)),
            400,
            "invalid_request",
        ),
        (
            lp_one.deposit_quote(POOL, &ask("al/ice", "k7", "lightning_invoice", 5_000)),
            400,
            "invalid_request",
        ),
        (
            lp_one.deposit_quote(
                POOL,
                &DepositQuoteRequest {
                    schema: "other".into(),
                    ..ask("alice", "k8", "lightning_invoice", 5_000)
                },
            ),
            400,
            "invalid_request",
        ),
        (
            lp_one.deposit_quote(
                POOL,
                &DepositQuoteRequest {
                    partition_kind: Some("xyz".into()),
                    ..ask("alice", "k9", "lightning_invoice", 5_000)
                },
            ),
            400,
            "invalid_request",
        ),
        (
            as_lp(&b, PAYER).deposit_quote(POOL, &ask("carol", "k10", "lightning_invoice", 5_000)),
            403,
            "forbidden",
        ),
        (
            as_lp(&b, READER).deposit_quote(POOL, &ask("carol", "k11", "lightning_invoice", 5_000)),
            403,
            "forbidden",
        ),
    ];
    for (i, (result, status, code)) in bad.into_iter().enumerate() {
        assert_eq!(
            refusal(result),
            (status, code.to_owned()),
            "bad request {i}"
        );
    }
    assert_eq!(
        refusal(lp_one.pool_status("nope")),
        (404, "not_found".into())
    );
    assert_eq!(
        refusal(as_lp(&b, PAYER).pool_status(POOL)),
        (403, "forbidden".into())
    );
    assert_eq!(
        llp(&admin.pool_status(POOL).unwrap()).total_units,
        part.total_units
    );

    // SIGKILL while deposits are being paid: each is credited iff its payment succeeded,
    // exactly once, after B restarts.
    let mut deposits = Vec::new();
    for (round, delay_ms) in [0u64, 30, 150].into_iter().enumerate() {
        let quote = lp_one
            .deposit_quote(
                POOL,
                &ask(
                    "alice",
                    &format!("crash-{round}"),
                    "lightning_invoice",
                    20_000,
                ),
            )
            .unwrap();
        let id = pay_from_a(&a, quote.deposit.invoice_bolt11.as_deref().unwrap());
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        b.kill().unwrap();
        b.start().unwrap();
        reconnect(&a, &b);
        deposits.push((quote.deposit.deposit_id, id));
    }
    let lp_one = as_lp(&b, LP_ONE);
    let mut minted = units(&alice.deposit.units_minted) + units(&bob.deposit.units_minted);
    let mut booked = 100_000_000 + coinbase_msat;
    for (deposit_id, payment_id) in deposits {
        let paid = wait_paid(&a, &payment_id);
        eprintln!("deposit {deposit_id}: its payment {paid:?}");
        match paid {
            PaymentStatus::Succeeded => {
                let d = wait_confirmed(&lp_one, &deposit_id);
                assert_eq!(d.deposit.received_msats, Some(20_000_000));
                assert_receipt(&d);
                minted += units(&d.deposit.units_minted);
                booked += 20_000_000;
            }
            _ => {
                let d = lp_one.deposit(POOL, &deposit_id).unwrap();
                assert_eq!(d.deposit.status, "quoted", "{d:?}");
            }
        }
    }
    let status = admin.pool_status(POOL).unwrap();
    let part = llp(&status);
    assert_eq!(part.total_units.parse::<u128>().unwrap(), minted);
    assert_eq!(part.assets_msats, booked);

    // The one instant a crash can fall between money and shares: the claimed payment is
    // on record, the mint's commit (entry, deposit, receipt: all or nothing) is not. Made
    // exactly: a deposit is paid and minted, B is stopped, and its store is put back to
    // the state before that commit. After the restart it is minted again, once, at the
    // same price.
    let quote = lp_one
        .deposit_quote(POOL, &ask("alice", "window", "lightning_invoice", 7_000))
        .unwrap();
    let id = pay_from_a(&a, quote.deposit.invoice_bolt11.as_deref().unwrap());
    assert_eq!(wait_paid(&a, &id), PaymentStatus::Succeeded);
    let first = wait_confirmed(&lp_one, &quote.deposit.deposit_id);
    let supply = llp(&admin.pool_status(POOL).unwrap()).total_units.clone();
    // A clean stop, so LDK has nothing to hand back at the restart: only the pool's own
    // recovery (the sweep finding the claim on record) can mint it.
    b.stop().unwrap();
    unmint(&b, &first);
    b.start().unwrap();
    reconnect(&a, &b);
    let again = wait_confirmed(&as_lp(&b, LP_ONE), &quote.deposit.deposit_id);
    assert_eq!(again.deposit.units_minted, first.deposit.units_minted);
    assert_eq!(again.deposit.share_price, first.deposit.share_price);
    assert_receipt(&again);
    assert_eq!(
        llp(&b.client().pool_status(POOL).unwrap()).total_units,
        supply
    );

    // On-chain fees: B opens a channel to A from its wallet (the LPs' coins); once the
    // funding transaction confirms, its fee is booked as an LLP cost, exactly, once.
    let admin = b.client();
    let before = admin.pool_status(POOL).unwrap();
    admin
        .open_channel(&OpenChannelRequest {
            node_id: a.node_id().into(),
            address: None,
            capacity_sat: 200_000,
            push_msat: 0,
            announce: false,
            zero_conf: false,
        })
        .unwrap();
    let funding = wait_for("B's funding transaction", WAIT, || {
        let ours = admin.list_channels()?.into_iter().find(|ch| ch.is_outbound);
        Ok(ours.and_then(|ch| ch.funding_txo))
    })
    .unwrap();
    let txid = funding.split(':').next().unwrap().to_owned();
    let entry = wait_for("the funding transaction in the mempool", WAIT, || {
        Ok(rpc.call("getmempoolentry", serde_json::json!([txid])).ok())
    })
    .unwrap();
    let fee_sat = (entry["fees"]["base"].as_f64().unwrap() * 1e8).round() as u64;
    assert!(fee_sat > 0);
    rpc.generate_to_address(6, NOBODYS_ADDRESS).unwrap();
    wait_synced(&b, &rpc);
    let after = wait_for("the fee to be booked", WAIT, || {
        let status = admin.pool_status(POOL)?;
        Ok((llp(&status).flows.onchain_fees_msats > 0).then_some(status))
    })
    .unwrap();
    assert_eq!(llp(&after).flows.onchain_fees_msats, fee_sat * 1000);
    assert_eq!(
        llp(&after).assets_msats,
        llp(&before).assets_msats - fee_sat * 1000
    );
    assert_eq!(llp(&after).total_units, llp(&before).total_units);
    // Once, across a restart: the pool actor's first message after a start is a sweep,
    // so once a snapshot is answered that sweep has looked at the fees again.
    b.stop().unwrap();
    b.start().unwrap();
    wait_for("B to serve its pool again", WAIT, || {
        Ok(b.client().take_snapshot(POOL).ok())
    })
    .unwrap();
    let status = b.client().pool_status(POOL).unwrap();
    assert_eq!(llp(&status).flows.onchain_fees_msats, fee_sat * 1000);
}

/// Puts B's stopped store back to the moment before `deposit`'s mint commit: its ledger
/// entry and receipt gone, the deposit quoted again.
fn unmint(b: &NodeProcess, deposit: &DepositQuoteResponse) {
    use sluice_storage::{
        DepositRecord, DepositStatus, PoolEntryRecord, ReceiptRecord, Store, StoreConfig,
        WriteBatch,
    };
    let store = Store::open(b.data_dir().join("store"), StoreConfig::default()).unwrap();
    let id = &deposit.deposit.deposit_id;
    let record: DepositRecord = store.get_blocking(id).unwrap().unwrap();
    let seq = record.entry_seq.unwrap();
    let receipt = record.receipt_id.clone().unwrap();
    let mut batch = WriteBatch::new();
    batch
        .delete::<PoolEntryRecord>(&format!("{POOL}/{seq:020}"))
        .delete::<ReceiptRecord>(&receipt);
    batch
        .put(&DepositRecord {
            status: DepositStatus::Quoted,
            units_minted: None,
            entry_seq: None,
            receipt_id: None,
            confirmed_at_ms: None,
            received_msat: None,
            ..record
        })
        .unwrap();
    store.commit_blocking(batch).unwrap();
}

/// B routes paid traffic A → B → C while an LP holds all of its LLP shares: the fees B
/// earns are booked as LLP routing income, once, and the NAV and the share price rise by
/// exactly them.
/// The RRP's skim of income in the routing test, basis points.
const SKIM_BPS: u64 = 1_000;

#[test]
fn routing_fees_raise_the_nav_and_price_by_exactly_what_was_earned() {
    let binary = binary();
    // B skims a tenth of its income to the RRP partition.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("pool.toml");
    std::fs::write(&config, format!("[pool]\nrrp_skim_bps = {SKIM_BPS}\n")).unwrap();
    let line = Line::start_with(&binary, CAPACITY_SAT, |chain, i| {
        let options = options(chain, i);
        if i == 1 {
            options.args(["--config", config.to_str().unwrap()])
        } else {
            options
        }
    })
    .unwrap();
    let (a, b, c) = (&line.a, &line.b, &line.c);
    let admin = b.client();
    admin
        .create_pool(&CreatePoolRequest {
            pool_id: POOL.into(),
            name: None,
            partitions: Some(vec!["llp".into(), "rrp".into()]),
        })
        .unwrap();
    let lp = as_lp(b, LP_ONE);
    let quote = lp
        .deposit_quote(POOL, &ask("alice", "alice-1", "lightning_invoice", 200_000))
        .unwrap();
    let id = pay_from_a(a, quote.deposit.invoice_bolt11.as_deref().unwrap());
    assert_eq!(wait_paid(a, &id), PaymentStatus::Succeeded);
    wait_confirmed(&lp, &quote.deposit.deposit_id);
    // Carol funds the reserve partition (the skim waits for RRP to have shares).
    let carol = as_lp(b, LP_TWO);
    let quote = carol
        .deposit_quote(
            POOL,
            &DepositQuoteRequest {
                partition_kind: Some("rrp".into()),
                ..ask("carol", "carol-1", "lightning_invoice", 50_000)
            },
        )
        .unwrap();
    let id = pay_from_a(a, quote.deposit.invoice_bolt11.as_deref().unwrap());
    assert_eq!(wait_paid(a, &id), PaymentStatus::Succeeded);
    wait_confirmed(&carol, &quote.deposit.deposit_id);
    let before = admin.pool_status(POOL).unwrap();
    let value_before = lp.pool_position(POOL, "alice").unwrap().partitions[0].value_msats;

    // Ten payments A → C through B; what A paid in fees is what B earned.
    let mut fees = 0;
    for i in 0..10 {
        let paid = pay(a, c, &format!("routed {i}"));
        fees += paid.fee_paid_msat.unwrap();
    }
    assert!(fees > 0, "B charges a forwarding fee");
    let after = wait_for("the fees to be booked", WAIT, || {
        let status = admin.pool_status(POOL)?;
        Ok((llp(&status).flows.routing_fees_msats >= fees).then_some(status))
    })
    .unwrap();
    let (p0, p1) = (llp(&before), llp(&after));
    let (r0, r1) = (rrp(&before), rrp(&after));
    assert_eq!(p1.flows.routing_fees_msats, fees, "booked once, exactly");
    // The skim: a tenth of each bucket's fees, rounded down, moved to RRP; nothing else.
    let skim = r1.nav_msats - r0.nav_msats;
    assert!(skim <= fees * SKIM_BPS / 10_000, "{skim} of {fees}");
    assert!(skim + 10 >= fees * SKIM_BPS / 10_000, "{skim} of {fees}");
    assert_eq!(p1.nav_msats, p0.nav_msats + fees - skim);
    assert_eq!(p1.total_units, p0.total_units);
    assert_eq!(r1.total_units, r0.total_units);
    // The price is (NAV + 1 msat) / (units + virtual units): it rose by exactly the fees
    // kept.
    let parse = |s: &str| s.parse::<u128>().unwrap();
    assert_eq!(
        parse(&p1.share_price.msat),
        parse(&p0.share_price.msat) + u128::from(fees - skim)
    );
    assert_eq!(p1.share_price.units, p0.share_price.units);
    // Alice holds every LLP share but the virtual thousandth: she gained the fees kept,
    // less at most her rounding and the virtual holder's crumb.
    let kept = fees - skim;
    let value_after = lp.pool_position(POOL, "alice").unwrap().partitions[0].value_msats;
    assert!(
        value_after <= value_before + kept,
        "{value_before} → {value_after}"
    );
    assert!(
        value_after + 2 >= value_before + kept,
        "{value_before} → {value_after}"
    );
    // A snapshot taken now signs the new NAV, and Alice's leaf is her position's value.
    let snapshot = admin.take_snapshot(POOL).unwrap();
    assert_eq!(
        snapshot.receipt["partitions"][0]["nav_msats"].as_u64(),
        Some(p1.nav_msats)
    );
    let proof = lp.inclusion_proof(POOL, "latest", "alice").unwrap();
    assert_eq!(proof.leaves[0].value_msats, value_after);
    // `/stats` (no token needed) shows the same: B's forwarding income, the pool's NAV,
    // the snapshot; and A's payments all succeeded.
    let stats = admin.stats().unwrap();
    assert_eq!(stats.routing.forwards_24h, 10);
    assert_eq!(stats.routing.fees_24h_msats, fees);
    assert_eq!(
        stats
            .routing
            .hourly
            .iter()
            .map(|h| h.fees_msats)
            .sum::<u64>(),
        fees
    );
    let pool = stats.pool.expect("B runs a pool");
    assert_eq!(pool.nav_msats, p1.nav_msats + r1.nav_msats);
    assert_eq!(pool.partitions[0].income_msats, fees);
    assert_eq!(
        pool.latest_snapshot.map(|s| s.snapshot_seq),
        Some(snapshot.snapshot_seq)
    );
    let paid = a.client().stats().unwrap().payments;
    assert_eq!((paid.sample, paid.succeeded), (12, 12));
    assert_eq!(paid.success_rate, Some(1.0));
    // Still exactly once after a restart (the booked buckets are read back from the ledger).
    let mut b = line.b;
    b.stop().unwrap();
    b.start().unwrap();
    let status = wait_for("B to serve its pool again", WAIT, || {
        Ok(b.client().pool_status(POOL).ok())
    })
    .unwrap();
    assert_eq!(llp(&status).flows.routing_fees_msats, fees);
}
