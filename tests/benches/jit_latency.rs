//! JIT channel payment latency: from the payer's send (`POST /v1/liquidity/pay`, the
//! quote taken before) to its success, the LSP's zero-conf channel open included.
//!
//! A sluice payer P pays, through the sluice LSP L, ldk-node 0.7.1 wallets that have no
//! channel: first one buyer at a time, then many at once. Besides the percentiles it shows
//! where the time goes, from L's order book (when the payment reached L, when the client
//! claimed it over the new channel) and the payer's clock (same machine, same clock).
//!
//! ```text
//! cargo bench -p sluice-tests --bench jit_latency
//! SLUICE_JIT_SINGLE=10 SLUICE_JIT_CONCURRENT=20 cargo bench -p sluice-tests --bench jit_latency
//! ```
//!
//! Writes `target/jit-latency.json`. Everything runs on 127.0.0.1 and stops by itself.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::sync::Barrier;
use std::time::{Duration, Instant};

use common::jit::{description, jit_setup, lsps2_config, order_of, wait_received, wallet};
use ldk_node::Node;
use serde_json::json;
use sluice_api_types::{PayRequest, QuotePayRequest, PAY_REQUEST_SCHEMA, QUOTE_PAY_REQUEST_SCHEMA};
use sluice_harness::NodeProcess;

/// Each JIT payment: 20,000 sat (the menu's minimum is 10,000 sat).
const PAYMENT_MSAT: u64 = 20_000_000;
/// P's channel to L: room for every payment of a run.
const PAYER_CHANNEL_SAT: u64 = 5_000_000;

/// One timed payment.
struct Sample {
    /// Send to success at the payer.
    total: Duration,
    /// Send to the HTLC reaching L (L starts the open).
    to_lsp: Duration,
    /// L starting the open to the channel being ready (the zero-conf open).
    open: Duration,
    /// The channel ready to the client's claim reaching L.
    claim: Duration,
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// Quotes `invoice` at P, then pays it, waiting for the outcome; times the pay.
fn pay_timed(p: &NodeProcess, l: &NodeProcess, w: &Node, invoice: &str, key: &str) -> Sample {
    let client = p.client();
    let quote = client
        .quote_pay(&QuotePayRequest {
            schema: QUOTE_PAY_REQUEST_SCHEMA.into(),
            idempotency_key: key.to_owned(),
            invoice: invoice.to_owned(),
            host: "bench.local".into(),
            max_amount_msats: PAYMENT_MSAT * 2,
            max_fee_msats: PAYMENT_MSAT,
            urgency: None,
            policy_context: json!({"bench": "jit_latency"}),
            amount_msats: None,
        })
        .unwrap();
    let sent_ms = unix_ms();
    let started = Instant::now();
    let paid = client
        .pay_quote(&PayRequest {
            schema: PAY_REQUEST_SCHEMA.into(),
            quote_id: quote.quote_id,
            run_id: None,
            trajectory_hash: None,
            wait_ms: Some(30_000),
            envelope_id: None,
        })
        .unwrap();
    let total = started.elapsed();
    assert_eq!(paid.status, "succeeded", "{paid:?}");
    wait_received(w);
    let order = order_of(l, w);
    let opened = order.open_started_at_ms.unwrap_or(sent_ms);
    let ready = order.channel_ready_at_ms.unwrap_or(opened);
    let claimed = order.forwarded_at_ms.unwrap_or(ready);
    let ms = |from: u64, to: u64| Duration::from_millis(to.saturating_sub(from));
    Sample {
        total,
        to_lsp: ms(sent_ms, opened),
        open: ms(opened, ready),
        claim: ms(ready, claimed),
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn summarise(name: &str, samples: &[Sample]) -> serde_json::Value {
    let sorted = |f: fn(&Sample) -> Duration| {
        let mut v: Vec<Duration> = samples.iter().map(f).collect();
        v.sort();
        v
    };
    let total = sorted(|s| s.total);
    let to_lsp = sorted(|s| s.to_lsp);
    let open = sorted(|s| s.open);
    let claim = sorted(|s| s.claim);
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{name:>14}: n={:>3}  p50 {:>7.1} ms  p99 {:>7.1} ms  max {:>7.1} ms  \
         (p50: send→LSP {:.0} ms, open→ready {:.0} ms, ready→client claim {:.0} ms)",
        samples.len(),
        ms(percentile(&total, 50.0)),
        ms(percentile(&total, 99.0)),
        ms(*total.last().unwrap()),
        ms(percentile(&to_lsp, 50.0)),
        ms(percentile(&open, 50.0)),
        ms(percentile(&claim, 50.0)),
    );
    json!({
        "samples": samples.len(),
        "p50_ms": ms(percentile(&total, 50.0)),
        "p90_ms": ms(percentile(&total, 90.0)),
        "p99_ms": ms(percentile(&total, 99.0)),
        "max_ms": ms(*total.last().unwrap()),
        "p50_send_to_lsp_ms": ms(percentile(&to_lsp, 50.0)),
        "p50_open_to_ready_ms": ms(percentile(&open, 50.0)),
        "p50_ready_to_claim_ms": ms(percentile(&claim, 50.0)),
        "p99_ready_to_claim_ms": ms(percentile(&claim, 99.0)),
    })
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is accepted.
    let singles = env_usize("SLUICE_JIT_SINGLE", 5);
    let concurrent = env_usize("SLUICE_JIT_CONCURRENT", 20);
    let binary = common::binary();
    // The defaults bound what clients that never claim can tie up (ten 0.01 BTC channels
    // in all, five unclaimed); the benchmark's clients all claim, so it may open many at once.
    let limits = format!(
        "max_pending_opens = {}\nmax_unclaimed_sat = {}\nmax_committed_sat = {}\n",
        concurrent.max(1),
        1_000_000 * concurrent.max(5),
        1_000_000 * (singles + concurrent).max(10),
    );
    let config = lsps2_config(&limits, 600);
    // A coinbase per JIT channel, so concurrent opens do not chain unconfirmed change.
    let coinbases = u32::try_from(singles + concurrent).unwrap().max(1);
    let jit = jit_setup(&binary, &config, PAYER_CHANNEL_SAT, coinbases);

    println!(
        "one buyer at a time ({singles} payments of {} sat):",
        PAYMENT_MSAT / 1000
    );
    let mut one = Vec::new();
    for i in 0..singles {
        let w = wallet(&jit, &format!("single-{i}"), None);
        let invoice = w
            .bolt11_payment()
            .receive_via_jit_channel(PAYMENT_MSAT, &description("bench"), 3600, None)
            .unwrap()
            .to_string();
        one.push(pay_timed(
            &jit.p,
            &jit.l,
            &w,
            &invoice,
            &format!("single-{i}"),
        ));
        w.stop().unwrap();
    }
    let one = summarise("1 buyer", &one);

    println!("{concurrent} buyers at once:");
    let wallets: Vec<Node> = (0..concurrent)
        .map(|i| wallet(&jit, &format!("many-{i}"), None))
        .collect();
    let invoices: Vec<String> = wallets
        .iter()
        .map(|w| {
            w.bolt11_payment()
                .receive_via_jit_channel(PAYMENT_MSAT, &description("bench"), 3600, None)
                .unwrap()
                .to_string()
        })
        .collect();
    let start = Barrier::new(concurrent);
    let many: Vec<Sample> = std::thread::scope(|s| {
        let handles: Vec<_> = wallets
            .iter()
            .zip(&invoices)
            .enumerate()
            .map(|(i, (w, invoice))| {
                let (jit, start) = (&jit, &start);
                s.spawn(move || {
                    start.wait();
                    pay_timed(&jit.p, &jit.l, w, invoice, &format!("many-{i}"))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let many = summarise(&format!("{concurrent} buyers"), &many);
    for w in wallets {
        w.stop().unwrap();
    }

    let report = json!({
        "bench": "jit_latency",
        "conditions": {
            "payment_msat": PAYMENT_MSAT,
            "lsp": "sluice, --skip-forward-delay, client_trusts_lsp = false",
            "client": "ldk-node 0.7.1",
            "machine_cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        },
        "one_buyer": one,
        "concurrent_buyers": concurrent,
        "concurrent": many,
    });
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/jit-latency.json");
    std::fs::write(&path, serde_json::to_string_pretty(&report).unwrap()).unwrap();
    println!("report: {}", path.display());
}
