//! SIGKILL under load. A line A→R→B pays continuously while one of its nodes is killed
//! at a random moment and restarted, round after round, the victim taking turns. After
//! every round:
//! - the victim restarted cleanly, and every node kept its channels: same ids, usable
//!   again, and nothing broadcast (a force close would put a commitment in the mempool);
//! - every payment resolved at the payer, and the payee received exactly the payments
//!   the payer saw succeed;
//! - the channel balances moved by exactly those payments and their fees (a payment made
//!   twice would move them twice), and paying a succeeded invoice again is refused.
//!
//! `SLUICE_CRASH_ROUNDS` sets the rounds (default [`DEFAULT_ROUNDS`]); every run prints
//! its seed, and `SLUICE_CRASH_SEED` replays its kill moments.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use serde_json::json;
use sluice_api_types::{
    CreateInvoiceRequest, ListPaymentsQuery, PayInvoiceRequest, PaymentDirection, PaymentInfo,
    PaymentStatus,
};
use sluice_harness::{wait_for, ApiClient, Error, NodeOptions, NodeProcess};
use sluice_harness::{Cluster, ClusterSpec, Topology};

use common::*;

/// Rounds when `SLUICE_CRASH_ROUNDS` is not set: each node killed twice.
const DEFAULT_ROUNDS: u64 = 6;
/// Each channel's capacity: room for every round's payments in one direction.
const LINE_CAPACITY_SAT: u64 = 100_000_000;
/// Payments in flight.
const WORKERS: usize = 12;
/// The kill comes this long (ms) after the round's load started, drawn uniformly.
const KILL_AFTER_MS: std::ops::Range<u64> = 200..1_500;
/// The load goes on this long after the victim is back.
const LOAD_AFTER_RESTART: Duration = Duration::from_millis(500);
/// How often a payment is polled, and how long a worker waits after a node refused it.
const POLL: Duration = Duration::from_millis(20);
/// The names of the line's nodes, by index.
const NAMES: [&str; 3] = ["payer", "router", "payee"];

/// One payment the load tried: the invoice, the payer's payment id when its answer
/// arrived, and the outcome the payer reported, if the load saw one before it stopped.
#[derive(Debug, Clone)]
struct Sent {
    payment_hash: String,
    bolt11: String,
    id: Option<String>,
    seen: Option<PaymentStatus>,
}

#[test]
fn sigkill_under_load_loses_no_payment_and_closes_no_channel() {
    let rounds = env_u64("SLUICE_CRASH_ROUNDS").unwrap_or(DEFAULT_ROUNDS);
    let mut moments = Moments::from_env("SLUICE_CRASH_SEED");
    eprintln!("crash under load: {rounds} rounds, {moments}");

    let spec = ClusterSpec {
        topology: Topology::Line,
        nodes: 3,
        capacity_sat: LINE_CAPACITY_SAT,
    };
    let mut cluster = Cluster::start(&binary(), spec, NodeOptions::regtest).unwrap();
    let channels = channel_ids(&cluster);
    let mut books = Books::read(&cluster);
    let mut resolved_total = 0;
    for round in 0..rounds {
        let victim = (round % 3) as usize;
        let kill_after = Duration::from_millis(moments.next_ms(&KILL_AFTER_MS));
        let label = format!(
            "round {round} ({} killed after {kill_after:?})",
            NAMES[victim]
        );
        let clients = (cluster.nodes[0].client(), cluster.nodes[2].client());
        let sent = load_while(clients, || {
            std::thread::sleep(kill_after);
            let node = &mut cluster.nodes[victim];
            node.kill().unwrap();
            node.start()
                .unwrap_or_else(|e| panic!("{label}: the {} did not restart: {e}", NAMES[victim]));
            std::thread::sleep(LOAD_AFTER_RESTART);
        });
        for (node, peer) in [(0, 1), (1, 2)] {
            reconnect(&cluster.nodes[node], &cluster.nodes[peer]);
        }
        assert_eq!(channel_ids(&cluster), channels, "{label}: channels changed");
        let mempool = cluster.rpc().call("getrawmempool", json!([])).unwrap();
        assert_eq!(mempool, json!([]), "{label}: something was broadcast");

        let succeeded = resolve(&cluster, &sent, &label);
        books = books.check_moved(&cluster, &succeeded, &label);
        pay_again_is_refused(&cluster.nodes[0], &sent, &succeeded, &label);
        eprintln!(
            "{label}: {} payments tried, {} succeeded",
            sent.len(),
            succeeded.len()
        );
        resolved_total += sent.len();
    }
    assert!(resolved_total > 0, "the load made no payment");
}

/// Pays the payee from the payer (their API clients; a restarted node answers at the
/// same address) with [`WORKERS`] in flight while `meanwhile` runs, then stops; every
/// payment tried, whether or not a node answered.
fn load_while((payer, payee): (ApiClient, ApiClient), meanwhile: impl FnOnce()) -> Vec<Sent> {
    let sent = Mutex::new(Vec::new());
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        for worker in 0..WORKERS {
            let (payer, payee, sent, stop) = (&payer, &payee, &sent, &stop);
            s.spawn(move || {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let invoice = payee.create_invoice(&CreateInvoiceRequest {
                        amount_msat: Some(PAYMENT_MSAT),
                        description: format!("crash load {worker}-{n}"),
                        expiry_secs: None,
                    });
                    let Ok(invoice) = invoice else {
                        // The payee is down: nothing to pay yet.
                        std::thread::sleep(POLL);
                        continue;
                    };
                    let mut entry = Sent {
                        payment_hash: invoice.payment_hash,
                        bolt11: invoice.bolt11.clone(),
                        id: None,
                        seen: None,
                    };
                    let paid = payer.pay_invoice(&PayInvoiceRequest {
                        invoice: invoice.bolt11,
                        amount_msat: None,
                        max_fee_msat: None,
                    });
                    if let Ok(payment) = &paid {
                        entry.id = Some(payment.id.clone());
                        // Follow it while the payer answers (it may be killed meanwhile).
                        while !stop.load(Ordering::Relaxed) {
                            match payer.payment(&payment.id) {
                                Ok(p) if p.status == PaymentStatus::Pending => {}
                                Ok(p) => {
                                    entry.seen = Some(p.status);
                                    break;
                                }
                                Err(_) => break,
                            }
                            std::thread::sleep(POLL);
                        }
                    } else {
                        std::thread::sleep(POLL);
                    }
                    sent.lock().unwrap().push(entry);
                }
            });
        }
        // Stops the workers however `meanwhile` ends: if it panics (a node did not come
        // back), the scope would otherwise wait for them forever.
        let _stop = StopOnDrop(&stop);
        meanwhile();
    });
    sent.into_inner().unwrap()
}

/// Sets its flag when dropped, on a panic too.
struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Waits until every payment of `sent` has ended at the payer and checks it against the
/// payee; returns the succeeded ones (payment hash → the payer's record).
fn resolve(cluster: &Cluster, sent: &[Sent], label: &str) -> HashMap<String, PaymentInfo> {
    let (payer, payee) = (&cluster.nodes[0], &cluster.nodes[2]);
    // Payments whose answer was lost with a killed payer are found by their hash.
    let outbound: HashMap<String, String> = payer
        .client()
        .list_payments(&ListPaymentsQuery {
            direction: Some(PaymentDirection::Outbound),
            status: None,
            limit: Some(1000),
            cursor: None,
            payment_hash: None,
        })
        .unwrap()
        .into_iter()
        .map(|p| (p.payment_hash, p.id))
        .collect();
    let mut succeeded = HashMap::new();
    for entry in sent {
        let id = entry
            .id
            .clone()
            .or_else(|| outbound.get(&entry.payment_hash).cloned());
        let ended = id.map(|id| {
            wait_for(&format!("{label}: payment {id} to end"), WAIT, || {
                let p = payer.client().payment(&id)?;
                Ok((p.status != PaymentStatus::Pending).then_some(p))
            })
            .unwrap()
        });
        // An outcome the payer reported before a crash is the one it has after it.
        if let (Some(seen), Some(p)) = (entry.seen, &ended) {
            assert_eq!(
                p.status, seen,
                "{label}: payment {} was reported {seen:?}, then became {:?}",
                p.id, p.status
            );
        }
        // What the payee received with the hash: at most one payment, or it took it twice.
        let received = || -> Result<Option<PaymentInfo>, Error> {
            let mut inbound: Vec<PaymentInfo> = payee
                .client()
                .payments_of_hash(&entry.payment_hash)?
                .into_iter()
                .filter(|p| p.direction == PaymentDirection::Inbound)
                .collect();
            assert!(inbound.len() <= 1, "{label}: received twice: {inbound:?}");
            Ok(inbound.pop())
        };
        match ended {
            Some(p) if p.status == PaymentStatus::Succeeded => {
                wait_for(
                    &format!("{label}: the payee to take {}", p.id),
                    WAIT,
                    || Ok(received()?.filter(|r| r.status == PaymentStatus::Succeeded)),
                )
                .unwrap();
                succeeded.insert(entry.payment_hash.clone(), p);
            }
            ended => {
                let received = received().unwrap();
                assert!(
                    received
                        .as_ref()
                        .is_none_or(|r| r.status != PaymentStatus::Succeeded),
                    "{label}: the payer has {ended:?}, yet the payee received {received:?}"
                );
            }
        }
    }
    succeeded
}

/// Paying a succeeded invoice again is refused, whatever happened around its payment.
fn pay_again_is_refused(
    payer: &NodeProcess,
    sent: &[Sent],
    succeeded: &HashMap<String, PaymentInfo>,
    label: &str,
) {
    for entry in sent
        .iter()
        .filter(|e| succeeded.contains_key(&e.payment_hash))
        .take(5)
    {
        let again = payer.client().pay_invoice(&PayInvoiceRequest {
            invoice: entry.bolt11.clone(),
            amount_msat: None,
            max_fee_msat: None,
        });
        assert!(
            matches!(&again, Err(Error::Api { code, .. }) if code == "already_paid"),
            "{label}: paying {} again answered {again:?}",
            entry.payment_hash
        );
    }
}

/// Each node's channel ids, by peer.
fn channel_ids(cluster: &Cluster) -> Vec<Vec<(String, String)>> {
    cluster
        .nodes
        .iter()
        .map(|node| {
            let mut ids: Vec<_> = node
                .client()
                .list_channels()
                .unwrap()
                .into_iter()
                .map(|c| (c.counterparty_node_id, c.channel_id))
                .collect();
            ids.sort();
            ids
        })
        .collect()
}

/// What each channel's opener can send over it, msat: A to R, and R to B. (The other
/// ends' figures stop at their channel reserve, so they would not show every payment.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Books {
    a_to_r: u64,
    r_to_b: u64,
}

impl Books {
    fn read(cluster: &Cluster) -> Books {
        let balance = |node: usize, peer: usize| {
            let channel = channel_with(&cluster.nodes[node], cluster.nodes[peer].node_id());
            channel.map(|c| c.outbound_capacity_msat)
        };
        Books {
            a_to_r: balance(0, 1).expect("A's channel with R"),
            r_to_b: balance(1, 2).expect("R's channel with B"),
        }
    }

    /// Waits until the books moved from `self` by exactly the `succeeded` payments and
    /// their fees; returns the books now.
    fn check_moved(
        self,
        cluster: &Cluster,
        succeeded: &HashMap<String, PaymentInfo>,
        label: &str,
    ) -> Books {
        let paid: u64 = succeeded.len() as u64 * PAYMENT_MSAT;
        let fees: u64 = succeeded.values().map(|p| p.fee_paid_msat.unwrap()).sum();
        let expected = Books {
            a_to_r: self.a_to_r - paid - fees,
            r_to_b: self.r_to_b - paid,
        };
        let settled = wait_for(&format!("{label}: balances to settle"), WAIT, || {
            Ok((Books::read(cluster) == expected).then_some(()))
        });
        assert!(
            settled.is_ok(),
            "{label}: the books are {:?}, the payments account for {expected:?}",
            Books::read(cluster)
        );
        expected
    }
}

#[test]
fn moments_are_replayable_and_in_range() {
    let draw = |seed| {
        let mut m = Moments::new(seed);
        (0..100)
            .map(|_| m.next_ms(&KILL_AFTER_MS))
            .collect::<Vec<_>>()
    };
    let once = draw(12_345);
    assert_eq!(once, draw(12_345));
    assert_ne!(once, draw(54_321));
    assert!(once.iter().all(|ms| KILL_AFTER_MS.contains(ms)));
}
