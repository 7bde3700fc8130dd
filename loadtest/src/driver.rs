//! The load driver: payees create invoices and payers pay them through the HTTP API,
//! closed loop (a fixed number of payments in flight) or open loop (a fixed arrival
//! rate), until a duration passes or a count is reached.
//!
//! Latency is what a client sees for the payment: from the moment the payment was due
//! until its outcome is known (quote + synchronous pay, or a direct pay polled to its
//! end). In the open loop a payment is due at its scheduled arrival, not when a worker
//! got to it, so time spent queued behind slow payments counts (no coordinated
//! omission).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::json;
use sluice_api_types::{
    CreateInvoiceRequest, PayInvoiceRequest, PayRequest, PaymentStatus, QuotePayRequest,
    PAY_REQUEST_SCHEMA, QUOTE_PAY_REQUEST_SCHEMA,
};

use sluice_harness::{ApiClient, Manifest};

use crate::Error;

/// How often a direct payment is polled for its outcome.
const POLL_INTERVAL: Duration = Duration::from_millis(5);
/// The longest a single payment is followed before it counts as timed out.
const PAYMENT_TIMEOUT: Duration = Duration::from_secs(60);
/// The most payments in flight in the open loop; arrivals beyond wait their turn (and
/// their wait counts in their latency).
pub const MAX_OPEN_LOOP_WORKERS: usize = 256;

/// How payments arrive.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Load {
    /// A fixed number of payments in flight: each worker starts the next when its last
    /// one ended.
    Closed {
        /// Payments in flight.
        concurrency: usize,
    },
    /// Payments arrive at a fixed rate, whatever the node's pace.
    Open {
        /// Arrivals per second.
        rate: f64,
    },
}

/// When the run ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// After this long (payments in flight finish).
    After(Duration),
    /// After this many payments started.
    Count(u64),
}

/// How a payer pays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `quote_pay` then a synchronous `pay` (the TreasuryRouter path).
    Quote,
    /// `POST /v1/node/payments`, polled until it settles.
    Direct,
}

/// What to run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DriverConfig {
    /// How payments arrive.
    pub load: Load,
    /// When to stop.
    pub stop: Stop,
    /// How payers pay.
    pub mode: Mode,
    /// Each payment's amount.
    pub amount_sat: u64,
    /// The fee ceiling of each payment.
    pub max_fee_sat: u64,
}

/// How one payment ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Paid: the routing fee, msat.
    Succeeded {
        /// The fee paid.
        fee_msat: u64,
    },
    /// The node reported the payment failed, or refused it: a stable code.
    Failed(String),
}

/// One payment the driver made.
#[derive(Debug, Clone)]
pub struct Attempt {
    /// The paying node (index in the cluster).
    pub payer: usize,
    /// The paid node.
    pub payee: usize,
    /// The invoice's payment hash, hex (empty when the invoice could not be made).
    pub payment_hash: String,
    /// When it was due, since the run started.
    pub due: Duration,
    /// From due to outcome.
    pub latency: Duration,
    /// How it ended.
    pub outcome: Outcome,
}

/// What the run saw so far, for a progress display.
#[derive(Debug, Default)]
pub struct Progress {
    /// Payments started.
    pub started: AtomicU64,
    /// Payments that succeeded.
    pub succeeded: AtomicU64,
    /// Payments that failed.
    pub failed: AtomicU64,
}

/// The run's payments, in completion order, and how long it took.
#[derive(Debug)]
pub struct RunResult {
    /// Every payment.
    pub attempts: Vec<Attempt>,
    /// From the first payment due to the last outcome.
    pub elapsed: Duration,
}

/// Drives payments over `cluster` per `config`, updating `progress` as it goes;
/// [`sluice_harness::request_stop`] (Ctrl-C) ends the run early, letting payments in flight finish.
pub fn run(cluster: &Manifest, config: DriverConfig, progress: &Progress) -> RunResult {
    // Kept-alive, as a real client's: connection set-up is not the nodes' work.
    let clients: Vec<ApiClient> = cluster
        .nodes
        .iter()
        .map(|n| n.client().kept_alive())
        .collect();
    let pairs = &cluster.plan.pairs;
    let attempts = Mutex::new(Vec::new());
    // Idempotency keys and invoice descriptions are unique per run, so runs against a
    // reused cluster never collide with an earlier run's quotes.
    let run_id = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |t| t.as_micros());
    let started = Instant::now();
    let issued = AtomicU64::new(0);
    let done = AtomicBool::new(false);
    // The next payment's sequence number, or None once the run is over.
    let next = || -> Option<u64> {
        if done.load(Ordering::Relaxed) || sluice_harness::stop_requested() {
            return None;
        }
        let n = issued.fetch_add(1, Ordering::Relaxed);
        let over = match config.stop {
            Stop::After(limit) => started.elapsed() >= limit,
            Stop::Count(count) => n >= count,
        };
        if over {
            done.store(true, Ordering::Relaxed);
            return None;
        }
        Some(n)
    };
    let pay = |n: u64, due: Duration| {
        let (payer, payee) = pairs[(n as usize) % pairs.len()];
        progress.started.fetch_add(1, Ordering::Relaxed);
        let (payment_hash, outcome) = pay_once(
            &clients[payer],
            &clients[payee],
            config,
            &format!("load-{run_id:x}-{n}"),
        );
        match outcome {
            Outcome::Succeeded { .. } => progress.succeeded.fetch_add(1, Ordering::Relaxed),
            Outcome::Failed(_) => progress.failed.fetch_add(1, Ordering::Relaxed),
        };
        let attempt = Attempt {
            payer,
            payee,
            payment_hash,
            due,
            latency: started.elapsed().saturating_sub(due),
            outcome,
        };
        if let Ok(mut all) = attempts.lock() {
            all.push(attempt);
        }
    };
    match config.load {
        Load::Closed { concurrency } => std::thread::scope(|s| {
            for _ in 0..concurrency.max(1) {
                s.spawn(|| {
                    while let Some(n) = next() {
                        pay(n, started.elapsed());
                    }
                });
            }
        }),
        Load::Open { rate } => {
            let interval = Duration::from_secs_f64(1.0 / rate.max(f64::MIN_POSITIVE));
            let (tickets, queue) = mpsc::channel::<(u64, Duration)>();
            let queue = Arc::new(Mutex::new(queue));
            std::thread::scope(|s| {
                for _ in 0..MAX_OPEN_LOOP_WORKERS {
                    let queue = Arc::clone(&queue);
                    s.spawn(move || loop {
                        let ticket = queue.lock().ok().and_then(|q| q.recv().ok());
                        match ticket {
                            Some((n, due)) => pay(n, due),
                            None => return,
                        }
                    });
                }
                // The schedule: payment n is due at n × interval, however late it runs.
                let mut due = Duration::ZERO;
                while let Some(n) = next() {
                    if let Some(wait) = due.checked_sub(started.elapsed()) {
                        std::thread::sleep(wait);
                    }
                    if tickets.send((n, due)).is_err() {
                        break;
                    }
                    due += interval;
                }
                drop(tickets);
            });
        }
    }
    RunResult {
        attempts: attempts.into_inner().unwrap_or_default(),
        elapsed: started.elapsed(),
    }
}

/// Makes one payment from `payer` to `payee`: the payment hash and how it ended.
fn pay_once(
    payer: &ApiClient,
    payee: &ApiClient,
    config: DriverConfig,
    key: &str,
) -> (String, Outcome) {
    let amount_msat = config.amount_sat * 1000;
    let max_fee_msat = config.max_fee_sat * 1000;
    let invoice = match payee.create_invoice(&CreateInvoiceRequest {
        amount_msat: Some(amount_msat),
        description: key.to_owned(),
        expiry_secs: None,
    }) {
        Ok(invoice) => invoice,
        Err(e) => return (String::new(), Outcome::Failed(error_code("invoice", &e))),
    };
    let outcome = match config.mode {
        Mode::Quote => pay_quoted(payer, &invoice.bolt11, amount_msat, max_fee_msat, key),
        Mode::Direct => pay_direct(payer, &invoice.bolt11, max_fee_msat),
    };
    (invoice.payment_hash, outcome)
}

fn pay_quoted(
    payer: &ApiClient,
    bolt11: &str,
    amount_msat: u64,
    max_fee_msat: u64,
    key: &str,
) -> Outcome {
    let quote = payer.quote_pay(&QuotePayRequest {
        schema: QUOTE_PAY_REQUEST_SCHEMA.into(),
        idempotency_key: key.to_owned(),
        invoice: bolt11.to_owned(),
        host: "loadtest.local".into(),
        max_amount_msats: amount_msat + max_fee_msat,
        max_fee_msats: max_fee_msat,
        urgency: None,
        policy_context: json!({"run": "loadtest"}),
        amount_msats: None,
    });
    let quote = match quote {
        Ok(quote) => quote,
        Err(e) => return Outcome::Failed(error_code("quote", &e)),
    };
    let paid = payer.pay_quote(&PayRequest {
        schema: PAY_REQUEST_SCHEMA.into(),
        quote_id: quote.quote_id.clone(),
        run_id: None,
        trajectory_hash: None,
        wait_ms: None,
        envelope_id: None,
    });
    let deadline = Instant::now() + PAYMENT_TIMEOUT;
    let mut paid = match paid {
        Ok(paid) => paid,
        Err(e) => return Outcome::Failed(error_code("pay", &e)),
    };
    // A pay that outlived the synchronous wait is polled to its end.
    while paid.status == "pending" && Instant::now() < deadline {
        std::thread::sleep(POLL_INTERVAL);
        match payer.quote_payment(&quote.quote_id) {
            Ok(now) => paid = now,
            Err(e) => return Outcome::Failed(error_code("poll", &e)),
        }
    }
    match paid.status.as_str() {
        "succeeded" => Outcome::Succeeded {
            fee_msat: paid.fee_paid_msats.unwrap_or(0),
        },
        "pending" => Outcome::Failed("driver_timeout".into()),
        _ => Outcome::Failed(paid.error_code.unwrap_or_else(|| "unknown".into())),
    }
}

fn pay_direct(payer: &ApiClient, bolt11: &str, max_fee_msat: u64) -> Outcome {
    let started = payer.pay_invoice(&PayInvoiceRequest {
        invoice: bolt11.to_owned(),
        amount_msat: None,
        max_fee_msat: Some(max_fee_msat),
    });
    let mut payment = match started {
        Ok(payment) => payment,
        Err(e) => return Outcome::Failed(error_code("pay", &e)),
    };
    let deadline = Instant::now() + PAYMENT_TIMEOUT;
    while payment.status == PaymentStatus::Pending && Instant::now() < deadline {
        std::thread::sleep(POLL_INTERVAL);
        match payer.payment(&payment.id) {
            Ok(now) => payment = now,
            Err(e) => return Outcome::Failed(error_code("poll", &e)),
        }
    }
    match payment.status {
        PaymentStatus::Succeeded => Outcome::Succeeded {
            fee_msat: payment.fee_paid_msat.unwrap_or(0),
        },
        PaymentStatus::Pending => Outcome::Failed("driver_timeout".into()),
        PaymentStatus::Failed => {
            Outcome::Failed(payment.failure_code.unwrap_or_else(|| "unknown".into()))
        }
    }
}

/// A failure's reason for the report: the API's code, or what failed below it.
fn error_code(step: &str, error: &Error) -> String {
    match error {
        Error::Api { code, .. } if !code.is_empty() => code.clone(),
        Error::Api { status, .. } => format!("{step}_http_{status}"),
        _ => format!("{step}_transport"),
    }
}
