//! A node's life over real processes: paying across SIGTERM and SIGKILL restarts,
//! refusing to start on a broken data directory or configuration, and the API's answers
//! to bad credentials and bad input. Everything runs on 127.0.0.1 through
//! `sluice_harness`, which stops every process it started.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use sluice_api_types::{
    CreateInvoiceRequest, HealthStatus, ListPaymentsQuery, PaymentDirection, PaymentStatus,
};
use sluice_harness::{
    wait_for, ApiClient, ChainProcess, ChainSource, Error, HttpResponse, NodeOptions, NodeProcess,
};
use sluice_storage::{PaymentRecord, Store, StoreConfig, WriteBatch};

mod common;
use common::{
    assert_kept_channel, binary, funded_pair, pay, reconnect, start_payment, stored_ldk_keys,
    wait_balances, Pair, PAYMENT_MSAT, WAIT,
};

/// Pays A→B, restarts A with SIGTERM and then with SIGKILL, paying after each, and checks
/// the channel balances and both ledgers to the msat.
#[test]
fn pays_across_sigterm_and_sigkill_restarts() {
    let Pair {
        mut a,
        mut b,
        opened_a,
        opened_b,
        chain: _chain,
        ..
    } = funded_pair(&binary());

    let mut sent = vec![pay(&a, &b, "payment 1")];

    // A clean stop: SIGTERM, exit code 0, then the same channel again.
    let status = a.stop().unwrap();
    assert_eq!(status.code(), Some(0), "SIGTERM must exit 0: {status}");
    a.start().unwrap();
    assert_kept_channel(&a, &b, &opened_a.channel_id, "SIGTERM");
    reconnect(&a, &b);
    sent.push(pay(&a, &b, "payment 2 (after SIGTERM)"));

    // A crash: SIGKILL right after the payment settled, while the node is still writing
    // the last revoke_and_ack's monitor update and the channel manager. Whatever instant
    // it lands on, the stored manager never lags the stored monitors (see
    // `sluice_actors::persist`), so the channel survives.
    a.kill().unwrap();
    a.start().unwrap();
    assert_kept_channel(&a, &b, &opened_a.channel_id, "SIGKILL");
    reconnect(&a, &b);
    sent.push(pay(&a, &b, "payment 3 (after SIGKILL)"));

    // The balances moved by exactly what was paid, to the msat.
    let paid_msat: u64 = sent.iter().map(|p| p.amount_msat.unwrap()).sum();
    let fees_msat: u64 = sent.iter().map(|p| p.fee_paid_msat.unwrap_or(0)).sum();
    assert_eq!(paid_msat, 3 * PAYMENT_MSAT);
    assert_eq!(fees_msat, 0, "a direct channel charges no fee: {sent:?}");
    wait_balances(&a, &b, &opened_a, &opened_b, paid_msat);

    // Both ledgers agree with the channel: three payments sent by A, three received by B.
    let a_outbound = a
        .client()
        .list_payments(&ListPaymentsQuery {
            direction: Some(PaymentDirection::Outbound),
            ..ListPaymentsQuery::default()
        })
        .unwrap();
    assert_eq!(a_outbound.len(), 3, "{a_outbound:?}");
    assert!(a_outbound
        .iter()
        .all(|p| p.status == PaymentStatus::Succeeded));
    let b_inbound = b
        .client()
        .list_payments(&ListPaymentsQuery {
            direction: Some(PaymentDirection::Inbound),
            status: Some(PaymentStatus::Succeeded),
            limit: None,
            cursor: None,
            payment_hash: None,
        })
        .unwrap();
    let received_msat: u64 = b_inbound.iter().map(|p| p.amount_msat.unwrap_or(0)).sum();
    assert_eq!(b_inbound.len(), 3, "{b_inbound:?}");
    assert_eq!(received_msat, paid_msat, "{b_inbound:?}");

    assert_eq!(a.stop().unwrap().code(), Some(0));
    assert_eq!(b.stop().unwrap().code(), Some(0));
}

/// SIGTERM while a payment is in flight: a clean exit, the channel survives, and the
/// payment resolves (succeeds) once the peers reconnect.
#[test]
fn sigterm_during_a_payment_keeps_the_channel() {
    let Pair {
        mut a,
        b,
        opened_a,
        chain: _chain,
        ..
    } = funded_pair(&binary());
    let (_, started) = start_payment(&a, &b, "in flight");
    assert_eq!(a.stop().unwrap().code(), Some(0));
    a.start().unwrap();
    assert_kept_channel(&a, &b, &opened_a.channel_id, "SIGTERM");
    reconnect(&a, &b);
    let resolved = wait_for("the in-flight payment to resolve", WAIT, || {
        let payment = a.client().payment(&started.id)?;
        Ok((payment.status != PaymentStatus::Pending).then_some(payment))
    })
    .unwrap();
    assert_eq!(resolved.status, PaymentStatus::Succeeded, "{resolved:?}");
    pay(&a, &b, "a payment after the restart");
}

/// A payment the ledger holds as pending but LDK never stored (the node died between
/// the two) is marked failed at start with `interrupted_before_sending`. (A pending
/// payment LDK does know is left to LDK: see `sigterm_during_a_payment_keeps_the_channel`.)
#[test]
fn a_payment_lost_before_sending_is_failed_at_start() {
    let binary = binary();
    let chain = ChainProcess::launch(&binary).unwrap();
    let mut node = NodeProcess::launch(&binary, "a", NodeOptions::regtest(&chain)).unwrap();
    assert_eq!(node.stop().unwrap().code(), Some(0));

    let id = "5a".repeat(32);
    {
        let store = Store::open(node.data_dir().join("store"), StoreConfig::default()).unwrap();
        let mut batch = WriteBatch::new();
        batch
            .put(&PaymentRecord {
                payment_id: id.clone(),
                payment_hash: id.clone(),
                quote_id: None,
                invoice: None,
                amount_msat: PAYMENT_MSAT,
                max_fee_msat: 0,
                fee_paid_msat: None,
                status: sluice_storage::PaymentStatus::Pending,
                preimage: None,
                failure_code: None,
                run_id: None,
                trajectory_hash: None,
                receipt_id: None,
                token: None,
                budget_period_ms: None,
                created_at_ms: 1_700_000_000_000,
                updated_at_ms: 1_700_000_000_000,
            })
            .unwrap();
        store.commit_blocking(batch).unwrap();
    }

    node.start().unwrap();
    let payment = node.client().payment(&id).unwrap();
    assert_eq!(payment.status, PaymentStatus::Failed, "{payment:?}");
    assert_eq!(
        payment.failure_code.as_deref(),
        Some("interrupted_before_sending")
    );
    assert!(payment.updated_at_ms > 1_700_000_000_000, "{payment:?}");
}

/// Payments that each payer's monitor needs at least this many updates for: more than
/// `sluice_actors::persist::FULL_MONITOR_EVERY` (100), so whole monitors are rewritten.
const MANY_PAYMENTS: usize = 30;

/// The update ids stored for each of `node`'s channel monitors (the node stopped).
fn stored_monitor_updates(node: &NodeProcess) -> Vec<(String, Vec<u64>)> {
    stored_ldk_keys(node, "monitors", "")
        .into_iter()
        .map(|monitor| {
            let mut ids: Vec<u64> = stored_ldk_keys(node, "monitor_updates", &monitor)
                .iter()
                .map(|id| id.parse().unwrap())
                .collect();
            ids.sort_unstable();
            (monitor, ids)
        })
        .collect()
}

/// Over a hundred monitor updates: whole monitors replace their updates (at most
/// `FULL_MONITOR_EVERY` stay stored, without gaps), and after SIGKILL the node rebuilds
/// every channel from the last whole monitor plus its updates.
#[test]
fn monitor_updates_are_consolidated_and_replayed() {
    let Pair {
        mut a,
        b,
        opened_a,
        opened_b,
        chain: _chain,
        ..
    } = funded_pair(&binary());
    for i in 0..MANY_PAYMENTS {
        pay(&a, &b, &format!("payment {i}"));
    }
    a.kill().unwrap();
    let stored = stored_monitor_updates(&a);
    assert_eq!(stored.len(), 1, "one channel, one monitor: {stored:?}");
    let (monitor, ids) = &stored[0];
    assert!(ids.len() < 100, "{monitor}: {} updates stored", ids.len());
    assert!(
        ids.windows(2).all(|pair| pair[1] == pair[0] + 1),
        "{monitor}: stored updates have gaps: {ids:?}"
    );
    assert!(
        ids.last().is_some_and(|last| *last > 100),
        "{MANY_PAYMENTS} payments should take over 100 updates: {ids:?}"
    );

    a.start().unwrap();
    assert_kept_channel(&a, &b, &opened_a.channel_id, "SIGKILL");
    reconnect(&a, &b);
    pay(&a, &b, "a payment after the restart");
    let paid = (MANY_PAYMENTS as u64 + 1) * PAYMENT_MSAT;
    wait_balances(&a, &b, &opened_a, &opened_b, paid);
}

/// How long after handing a payment to A each round of
/// [`sigkill_at_any_moment_of_a_payment_keeps_the_channel`] kills a node: from before the
/// first HTLC message to after the payment settled (a payment takes a few tens of
/// milliseconds here).
const KILL_AFTER_MS: [u64; 6] = [0, 3, 8, 15, 30, 60];

/// SIGKILL at varied instants of a payment, of the payer and of the payee in turn, never
/// costs the channel: both sides still have it after the restart, every interrupted
/// payment resolves (succeeded, or failed with nothing sent), the payee received exactly
/// the payments the payer saw succeed, and the balances moved by exactly those.
#[test]
fn sigkill_at_any_moment_of_a_payment_keeps_the_channel() {
    let Pair {
        mut a,
        mut b,
        opened_a,
        opened_b,
        chain: _chain,
        ..
    } = funded_pair(&binary());
    let mut paid_msat = 0;
    for (round, delay_ms) in KILL_AFTER_MS.into_iter().enumerate() {
        let payer_killed = round % 2 == 0;
        let label = format!(
            "payment {round} (the {} killed after {delay_ms} ms)",
            if payer_killed { "payer" } else { "payee" }
        );
        let (invoice, started) = start_payment(&a, &b, &label);
        std::thread::sleep(Duration::from_millis(delay_ms));
        {
            let victim = if payer_killed { &mut a } else { &mut b };
            victim.kill().unwrap();
            victim.start().unwrap();
        }
        assert_kept_channel(&a, &b, &opened_a.channel_id, &label);
        assert_kept_channel(&b, &a, &opened_a.channel_id, &label);
        reconnect(&a, &b);

        let resolved = wait_for(&format!("{label} to resolve at the payer"), WAIT, || {
            let payment = a.client().payment(&started.id)?;
            Ok((payment.status != PaymentStatus::Pending).then_some(payment))
        })
        .unwrap();
        let inbound = |b: &NodeProcess| {
            b.client()
                .list_payments(&ListPaymentsQuery {
                    direction: Some(PaymentDirection::Inbound),
                    ..ListPaymentsQuery::default()
                })
                .unwrap()
                .into_iter()
                .find(|p| p.payment_hash == invoice.payment_hash)
        };
        if resolved.status == PaymentStatus::Succeeded {
            paid_msat += PAYMENT_MSAT;
            wait_for(&format!("{label} to succeed at the payee"), WAIT, || {
                Ok(inbound(&b).filter(|p| p.status == PaymentStatus::Succeeded))
            })
            .unwrap();
        } else {
            let received = inbound(&b);
            assert!(
                received
                    .as_ref()
                    .is_none_or(|p| p.status != PaymentStatus::Succeeded),
                "{label}: failed at the payer ({resolved:?}) but received: {received:?}"
            );
        }
    }
    wait_balances(&a, &b, &opened_a, &opened_b, paid_msat);
}

/// The value of counter `sluice_actor_restarts_total` for `actor` on `node`'s /metrics.
fn actor_restarts(node: &NodeProcess, actor: &str) -> u64 {
    let metrics = node.client().send("GET", "/metrics", None).unwrap().text();
    let series = format!("sluice_actor_restarts_total{{actor=\"{actor}\"}} ");
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(&series))
        .map_or(0, |value| value.trim().parse().unwrap())
}

/// The chain backend goes away: /healthz turns degraded and says why, chain following
/// gives up and its supervisor restarts it (with backoff, failing while the chain is
/// away), and once the chain is back the node is healthy again and follows new blocks.
#[test]
fn a_chain_outage_degrades_health_and_the_node_recovers() {
    let binary = binary();
    let mut chain = ChainProcess::launch(&binary).unwrap();
    let node = NodeProcess::launch(&binary, "a", NodeOptions::regtest(&chain)).unwrap();
    assert_eq!(node.client().health().unwrap().status, HealthStatus::Ok);
    assert_eq!(actor_restarts(&node, "ChainSync"), 0);

    chain.stop().unwrap();
    let degraded = wait_for("the node to report the outage", WAIT, || {
        let health = node.client().health()?;
        Ok((health.status == HealthStatus::Degraded).then_some(health))
    })
    .unwrap();
    assert!(
        degraded
            .detail
            .as_deref()
            .is_some_and(|d| d.contains("chain backend")),
        "{degraded:?}"
    );
    wait_for("chain following to be restarted", WAIT, || {
        Ok((actor_restarts(&node, "ChainSync") >= 1).then_some(()))
    })
    .unwrap();

    chain.start().unwrap();
    wait_for("the node to be healthy again", WAIT, || {
        let health = node.client().health()?;
        Ok((health.status == HealthStatus::Ok).then_some(()))
    })
    .unwrap();
    let address = node.client().new_address().unwrap().address;
    chain.rpc().generate_to_address(3, &address).unwrap();
    let tip = chain.rpc().block_count().unwrap();
    wait_for("the node to follow the new blocks", WAIT, || {
        Ok((u64::from(node.client().node_info()?.block_height) == tip).then_some(()))
    })
    .unwrap();
}

/// Starts `node` and expects it to refuse: exit `code`, stderr containing each of `says`.
fn assert_refuses(node: &mut NodeProcess, code: i32, says: &[&str]) {
    match node.start() {
        Err(Error::Exited { status, stderr, .. }) => {
            assert_eq!(
                status.code(),
                Some(code),
                "{}: {status}; stderr:\n{stderr}",
                node.name()
            );
            for needle in says {
                assert!(
                    stderr.contains(needle),
                    "{}: stderr lacks {needle:?}:\n{stderr}",
                    node.name()
                );
            }
        }
        Ok(()) => panic!(
            "{} started but should have exited with {code}; stderr:\n{}",
            node.name(),
            node.stderr()
        ),
        Err(e) => panic!("{}: {e}", node.name()),
    }
}

/// Overwrites the start (up to 4 KiB) of every file under `dir` with garbage; returns
/// how many files it damaged.
fn scribble_over(dir: &Path) -> usize {
    let mut files = 0;
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files += scribble_over(&path);
        } else {
            let length = fs::metadata(&path).unwrap().len().clamp(64, 4096) as usize;
            let garbage: Vec<u8> = (0..length).map(|i| (i * 131 + 7) as u8).collect();
            let mut file = fs::OpenOptions::new().write(true).open(&path).unwrap();
            file.write_all(&garbage).unwrap();
            files += 1;
        }
    }
    files
}

/// Flips bits all through the written part of every journal file (`*.jnl`) of the
/// store at `dir`, past its first 64 bytes; returns how many bytes it flipped.
fn damage_journals(dir: &Path) -> usize {
    let mut flipped = 0;
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "jnl") {
            let mut bytes = fs::read(&path).unwrap();
            let written = bytes.iter().rposition(|b| *b != 0).map_or(0, |i| i + 1);
            for i in (64..written).step_by(5) {
                bytes[i] ^= 0x5a;
                flipped += 1;
            }
            fs::write(&path, bytes).unwrap();
        }
    }
    flipped
}

/// A port on 127.0.0.1 that nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Every refused start exits with its documented code and says why on stderr: 2 bad
/// configuration, 3 store, 4 seed, 5 chain backend.
#[test]
fn refuses_to_start_clearly() {
    let binary = binary();
    let chain = ChainProcess::launch(&binary).unwrap();
    let regtest = || NodeOptions::regtest(&chain);

    // Bad configuration: exit 2, naming the setting.
    let mut node = NodeProcess::new(&binary, "bad-network", regtest().network("moonnet")).unwrap();
    assert_refuses(&mut node, 2, &["network", "moonnet"]);

    // The chain backend serves another network: exit 5.
    let mut node = NodeProcess::new(&binary, "signet", regtest().network("signet")).unwrap();
    assert_refuses(&mut node, 5, &["chain backend", "regtest", "signet"]);

    // The chain backend does not answer: exit 5.
    let unreachable = NodeOptions {
        chain: ChainSource::Rpc(format!("http://u:p@127.0.0.1:{}", closed_port())),
        ..regtest()
    };
    let mut node = NodeProcess::new(&binary, "no-chain", unreachable).unwrap();
    assert_refuses(&mut node, 5, &["chain backend"]);

    // The store path is a regular file: exit 3.
    let mut node = NodeProcess::new(&binary, "store-file", regtest()).unwrap();
    fs::create_dir_all(node.data_dir()).unwrap();
    fs::write(node.data_dir().join("store"), b"not a database").unwrap();
    assert_refuses(&mut node, 3, &["store"]);

    // One node through its seed's troubles, then a damaged store.
    let mut node = NodeProcess::launch(&binary, "seed", regtest()).unwrap();
    assert_eq!(node.stop().unwrap().code(), Some(0));
    let seed_path = node.data_dir().join("seed");
    let seed = fs::read(&seed_path).unwrap();
    assert_eq!(seed.len(), 32);
    assert_eq!(
        fs::metadata(&seed_path).unwrap().permissions().mode() & 0o777,
        0o600,
        "a new seed must be readable by its owner only"
    );

    // The seed is gone but the node has data: exit 4, and no new seed is made.
    fs::remove_file(&seed_path).unwrap();
    assert_refuses(&mut node, 4, &["seed", "missing"]);
    assert!(
        !seed_path.exists(),
        "a refused start must not create a seed"
    );

    // The seed is back but world-readable: exit 4, naming the fix.
    fs::write(&seed_path, &seed).unwrap();
    fs::set_permissions(&seed_path, fs::Permissions::from_mode(0o644)).unwrap();
    assert_refuses(&mut node, 4, &["seed", "644", "chmod 600"]);

    // Fixed: the same node starts again.
    let node_id = node.node_id().to_owned();
    fs::set_permissions(&seed_path, fs::Permissions::from_mode(0o600)).unwrap();
    node.start().unwrap();
    assert_eq!(
        node.node_id(),
        node_id,
        "the restored seed is the same node"
    );

    assert_eq!(node.stop().unwrap().code(), Some(0));

    // Garbage over the start of every file of the store: refused (3), not a panic.
    let store = node.data_dir().join("store");
    assert!(scribble_over(&store) > 0);
    assert_refuses(&mut node, 3, &["error: store: "]);
    assert!(!node.stderr().contains("panicked"), "{}", node.stderr());
}

/// The API's error code in `response`, checking that it is an error body.
fn code(response: &HttpResponse) -> String {
    let body: Value = serde_json::from_slice(&response.body)
        .unwrap_or_else(|_| panic!("not JSON: {} {:?}", response.status, response.text()));
    body["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("not an error body: {body}"))
        .to_owned()
}

/// Sends a request and checks its status and error code.
fn expect(
    client: &ApiClient,
    method: &str,
    path: &str,
    body: Option<&str>,
    status: u16,
    want: &str,
) {
    let response = client.send(method, path, body.map(str::as_bytes)).unwrap();
    assert_eq!(
        (response.status, code(&response).as_str()),
        (status, want),
        "{method} {path} {body:?}: {}",
        response.text()
    );
}

/// A valid mainnet invoice: BOLT 11's test vector from lightning-invoice 0.34's docs.
const MAINNET_INVOICE: &str = concat!(
    "lnbc100p1psj9jhxdqud3jxktt5w46x7unfv9kz6mn0v3jsnp4q0d3p2sfluzdx45tqcs",
    "h2pu5qc7lgq0xs578ngs6s0s68ua4h7cvspp5q6rmq35js88zp5dvwrv9m459tnk2zunwj5jalqtyxqulh0l",
    "5gflssp5nf55ny5gcrfl30xuhzj3nphgj27rstekmr9fw3ny5989s300gyus9qyysgqcqpcrzjqw2sxwe993",
    "h5pcm4dxzpvttgza8zhkqxpgffcrf5v25nwpr3cmfg7z54kuqq8rgqqqqqqqq2qqqqq9qq9qrzjqd0ylaqcl",
    "j9424x9m8h2vcukcgnm6s56xfgu3j78zyqzhgs4hlpzvznlugqq9vsqqqqqqqlgqqqqqeqq9qrzjqwldmj9d",
    "ha74df76zhx6l9we0vjdquygcdt3kssupehe64g6yyp5yz5rhuqqwccqqyqqqqlgqqqqjcqq9qrzjqf9e58a",
    "guqr0rcun0ajlvmzq3ek63cw2w282gv3z5uupmuwvgjtq2z55qsqqg6qqqyqqqrtnqqqzq3cqygrzjqvphms",
    "ywntrrhqjcraumvc4y6r8v4z5v593trte429v4hredj7ms5z52usqq9ngqqqqqqqlgqqqqqqgq9qrzjq2v0v",
    "p62g49p7569ev48cmulecsxe59lvaw3wlxm7r982zxa9zzj7z5l0cqqxusqqyqqqqlgqqqqqzsqygarl9fh3",
    "8s0gyuxjjgux34w75dnc6xp2l35j7es3jd4ugt3lu0xzre26yg5m7ke54n2d5sym4xcmxtl8238xxvw5h5h5",
    "j5r6drg6k6zcqj0fcwg",
);

/// Tokens and scopes, bad bodies, unknown routes and unpayable invoices each get their
/// documented status and error code from a running node, never a 500.
#[test]
fn api_auth_and_bad_input_against_a_real_node() {
    let binary = binary();
    let options = NodeOptions::embedded()
        .token("reader-token", "read")
        .token("payer-token", "pay");
    let mut node = NodeProcess::launch(&binary, "api", options).unwrap();
    let admin = node.client();
    let nobody = admin.with_token(None);
    let stranger = admin.with_token(Some("not-a-configured-token"));
    let reader = admin.with_token(Some("reader-token"));
    let payer = admin.with_token(Some("payer-token"));
    let info = "/v1/node/info";
    let invoices = "/v1/node/invoices";
    let payments = "/v1/node/payments";
    let invoice_body = r#"{"amount_msat":1000,"description":"x"}"#;

    // Who may do what.
    expect(&nobody, "GET", info, None, 401, "unauthenticated");
    expect(&stranger, "GET", info, None, 401, "unauthenticated");
    expect(
        &nobody,
        "POST",
        invoices,
        Some(invoice_body),
        401,
        "unauthenticated",
    );
    assert_eq!(reader.node_info().unwrap().network, "regtest");
    expect(
        &reader,
        "POST",
        invoices,
        Some(invoice_body),
        403,
        "forbidden",
    );
    expect(
        &reader,
        "POST",
        "/v1/node/wallet/address",
        None,
        403,
        "forbidden",
    );
    expect(
        &payer,
        "POST",
        "/v1/node/wallet/address",
        None,
        403,
        "forbidden",
    );
    let own_invoice = payer
        .create_invoice(&CreateInvoiceRequest {
            amount_msat: Some(1_000),
            description: "x".into(),
            expiry_secs: None,
        })
        .unwrap();

    // Bad bodies.
    expect(
        &admin,
        "POST",
        invoices,
        Some(r#"{"amount_msat": "#),
        400,
        "invalid_request",
    );
    expect(
        &admin,
        "POST",
        invoices,
        Some("[1, 2]"),
        400,
        "invalid_request",
    );
    expect(
        &admin,
        "POST",
        invoices,
        Some(r#"{"amount_msat":1,"descripton":"x"}"#),
        400,
        "invalid_request",
    );
    expect(
        &admin,
        "POST",
        invoices,
        Some(r#"{"amount_msat":-5}"#),
        400,
        "invalid_request",
    );
    let wrong_type = admin
        .send_with_headers(
            "POST",
            invoices,
            &[("Content-Type", "text/plain")],
            Some(invoice_body.as_bytes()),
        )
        .unwrap();
    assert_eq!(
        (wrong_type.status, code(&wrong_type).as_str()),
        (400, "invalid_request")
    );
    expect(
        &admin,
        "POST",
        "/v1/node/peers",
        Some(r#"{"node_id":"zz","address":"127.0.0.1:1"}"#),
        400,
        "invalid_request",
    );

    // Routes that do not exist, or not with this method.
    expect(
        &admin,
        "GET",
        "/v1/node/nothing-here",
        None,
        404,
        "not_found",
    );
    expect(&admin, "GET", "/v2/node/info", None, 404, "not_found");
    expect(&admin, "DELETE", info, None, 405, "method_not_allowed");
    expect(
        &admin,
        "GET",
        &format!("{payments}/{}", "00".repeat(32)),
        None,
        404,
        "not_found",
    );

    // Invoices that cannot be paid here: garbage, another network, an amount twice.
    for garbage in [
        "",
        "lnbcrt1garbage",
        "not an invoice at all",
        &"x".repeat(5_000),
    ] {
        let body = serde_json::json!({ "invoice": garbage }).to_string();
        expect(
            &admin,
            "POST",
            payments,
            Some(&body),
            400,
            "invalid_request",
        );
    }
    let mainnet = serde_json::json!({ "invoice": MAINNET_INVOICE }).to_string();
    let response = admin
        .send("POST", payments, Some(mainnet.as_bytes()))
        .unwrap();
    assert_eq!(
        (response.status, code(&response).as_str()),
        (422, "wrong_network"),
        "{}",
        response.text()
    );
    assert!(
        response.text().contains("bitcoin"),
        "name the invoice's network: {}",
        response.text()
    );
    let twice = serde_json::json!({ "invoice": own_invoice.bolt11, "amount_msat": 5 }).to_string();
    expect(
        &admin,
        "POST",
        payments,
        Some(&twice),
        400,
        "invalid_request",
    );

    // None of that hurt the node.
    assert!(admin
        .list_payments(&ListPaymentsQuery::default())
        .unwrap()
        .iter()
        .all(|p| p.direction == PaymentDirection::Inbound));
    assert_eq!(node.stop().unwrap().code(), Some(0));
}

/// Damage inside the store's journal after a crash must stop the node, not roll it back.
///
/// fjall 3.1 reads some damage as a torn tail and opens without an error on the writes
/// before it (here the wallet would hand out again an address it already gave away; for
/// channel state the same rollback would broadcast revoked commitments), and panics on
/// other damage. The store's commit mark catches the first, `Store::open` the second:
/// either way the node refuses with the store's exit code.
#[test]
fn refuses_a_store_whose_journal_lost_acknowledged_writes() {
    let binary = binary();
    let mut node = NodeProcess::launch(&binary, "journal", NodeOptions::embedded()).unwrap();
    let given = [
        node.client().new_address().unwrap().address,
        node.client().new_address().unwrap().address,
    ];
    node.kill().unwrap();
    assert!(damage_journals(&node.data_dir().join("store")) > 0);
    if node.start().is_ok() {
        let next = node.client().new_address().unwrap().address;
        assert!(
            !given.contains(&next),
            "the node started on a rolled-back store and gave out {next} again"
        );
        panic!("the node started on a store whose journal was damaged");
    }
    assert_refuses(&mut node, 3, &["error: store: "]);
}
