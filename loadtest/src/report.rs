//! The run's report: throughput, latency percentiles from an HDR histogram, outcomes by
//! reason, fees, per-node resource use, the signature-bound ceiling, the invariants, and
//! the conditions it ran under; as JSON (`report.json`), Markdown (`report.md`) and
//! charts (`latency.svg`, `timeline.svg`).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::ceiling::Ceiling;
use crate::charts::{self, Bucket, Second};
use crate::driver::{Attempt, Outcome, RunResult};
use crate::invariants::Checked;
use crate::Error;

/// The longest latency the histogram holds, in microseconds (ten minutes).
const MAX_LATENCY_US: u64 = 600_000_000;

/// Latency percentiles, milliseconds.
#[derive(Debug, Clone, Serialize)]
pub struct Latency {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
    /// The slowest.
    pub max: f64,
    /// The mean.
    pub mean: f64,
}

/// One process's resource use over the run: a node, or the driver itself.
#[derive(Debug, Clone, Serialize)]
pub struct NodeUsage {
    /// The node's name.
    pub name: String,
    /// Its role in the topology.
    pub role: String,
    /// CPU seconds it used during the run.
    pub cpu_secs: f64,
    /// Its peak resident memory, MiB.
    pub peak_rss_mib: f64,
}

/// Where and how the run ran.
#[derive(Debug, Clone, Serialize)]
pub struct Conditions {
    /// The scenario the settings started from (`default`, `bench-line`, …).
    pub scenario: String,
    /// The machine: CPUs, memory, OS.
    pub machine: String,
    /// The topology and node count.
    pub topology: String,
    /// Closed loop with its concurrency, or open loop with its rate.
    pub load: String,
    /// Quote and pay, or direct pay.
    pub mode: String,
    /// Each payment's amount, sat.
    pub amount_sat: u64,
    /// Each channel's capacity, sat.
    pub capacity_sat: u64,
    /// What a durable write means for the nodes.
    pub durability: String,
    /// Flags the nodes ran with beyond the harness's own (empty: none).
    pub node_args: String,
}

/// The report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Payments that succeeded.
    pub succeeded: u64,
    /// Payments that failed.
    pub failed: u64,
    /// Failures by reason (stable codes).
    pub failures: BTreeMap<String, u64>,
    /// Succeeded payments per second over the run.
    pub throughput_pps: f64,
    /// Latency of every payment, succeeded or not.
    pub latency_ms: Latency,
    /// Routing fees paid in total, msat.
    pub fees_paid_msat: u64,
    /// The run's length, seconds.
    pub elapsed_secs: f64,
    /// Per-node resource use.
    pub nodes: Vec<NodeUsage>,
    /// The machine's signature-bound ceiling and the run's fraction of it, where it was
    /// measured.
    pub ceiling: Option<Ceiling>,
    /// The latency histogram (logarithmic buckets).
    pub histogram: Vec<Bucket>,
    /// Throughput and p99 latency per second.
    pub timeline: Vec<Second>,
    /// The invariants checked after the run.
    pub invariants: Checked,
    /// Where and how it ran.
    pub conditions: Conditions,
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

/// Summarises `run`.
pub fn summarise(
    run: &RunResult,
    nodes: Vec<NodeUsage>,
    invariants: Checked,
    conditions: Conditions,
) -> Result<Report, Error> {
    let mut histogram = Histogram::<u64>::new_with_bounds(1, MAX_LATENCY_US, 3)
        .map_err(|e| Error::Unexpected(format!("the latency histogram: {e}")))?;
    let mut failures = BTreeMap::new();
    let (mut succeeded, mut fees) = (0, 0);
    for Attempt {
        latency, outcome, ..
    } in &run.attempts
    {
        let us = u64::try_from(latency.as_micros()).unwrap_or(MAX_LATENCY_US);
        histogram.saturating_record(us.clamp(1, MAX_LATENCY_US));
        match outcome {
            Outcome::Succeeded { fee_msat } => {
                succeeded += 1;
                fees += fee_msat;
            }
            Outcome::Failed(code) => *failures.entry(code.clone()).or_insert(0) += 1,
        }
    }
    let failed = failures.values().sum();
    let elapsed = run.elapsed.max(Duration::from_millis(1));
    Ok(Report {
        succeeded,
        failed,
        failures,
        throughput_pps: succeeded as f64 / elapsed.as_secs_f64(),
        latency_ms: Latency {
            p50: ms(histogram.value_at_quantile(0.50)),
            p90: ms(histogram.value_at_quantile(0.90)),
            p99: ms(histogram.value_at_quantile(0.99)),
            p999: ms(histogram.value_at_quantile(0.999)),
            max: ms(histogram.max()),
            mean: histogram.mean() / 1000.0,
        },
        fees_paid_msat: fees,
        elapsed_secs: elapsed.as_secs_f64(),
        nodes,
        ceiling: None,
        histogram: charts::histogram(&run.attempts),
        timeline: charts::timeline(&run.attempts),
        invariants,
        conditions,
    })
}

impl Report {
    /// The report as Markdown.
    pub fn markdown(&self) -> String {
        let c = &self.conditions;
        let l = &self.latency_ms;
        let mut md = format!(
            "# sluice load test\n\n\
             Scenario {}: {} · {} · {} · {} sat payments over {} sat channels\n\n\
             Machine: {}. Durability: {}. Node flags: {}.\n\n\
             | | |\n|---|---|\n\
             | succeeded | {} |\n| failed | {} |\n| throughput | {:.1} payments/s |\n\
             | latency p50 / p90 / p99 / p99.9 / max | {:.1} / {:.1} / {:.1} / {:.1} / {:.1} ms |\n\
             | fees paid | {} msat |\n| elapsed | {:.1} s |\n",
            c.scenario,
            c.topology,
            c.load,
            c.mode,
            c.amount_sat,
            c.capacity_sat,
            c.machine,
            c.durability,
            if c.node_args.is_empty() {
                "none"
            } else {
                &c.node_args
            },
            self.succeeded,
            self.failed,
            self.throughput_pps,
            l.p50,
            l.p90,
            l.p99,
            l.p999,
            l.max,
            self.fees_paid_msat,
            self.elapsed_secs,
        );
        if !self.failures.is_empty() {
            md.push_str("\n## Failures\n\n| reason | count |\n|---|---|\n");
            for (reason, count) in &self.failures {
                md.push_str(&format!("| {reason} | {count} |\n"));
            }
        }
        md.push_str("\n## Nodes\n\n| node | role | CPU s | peak RSS MiB |\n|---|---|---|---|\n");
        for n in &self.nodes {
            md.push_str(&format!(
                "| {} | {} | {:.2} | {:.1} |\n",
                n.name, n.role, n.cpu_secs, n.peak_rss_mib
            ));
        }
        if let Some(c) = &self.ceiling {
            md.push_str(&format!(
                "\n## Signature-bound ceiling\n\n\
                 Measured in this run, one core: ECDSA sign {:.1} µs, verify {:.1} µs, Schnorr \
                 sign {:.1} µs. A payment crossing {:.2} channels takes {:.0} ECDSA signatures \
                 made and verified and {:.0} Schnorr signature(s): {:.0} µs of CPU, unbatched. \
                 On {} cores that is at most {:.0} payments/s; this run reached {:.1} % of \
                 it.\n",
                c.costs.ecdsa_sign_us,
                c.costs.ecdsa_verify_us,
                c.costs.schnorr_sign_us,
                c.hops_per_payment,
                c.ecdsa_signatures_per_payment,
                c.schnorr_signatures_per_payment,
                c.cpu_us_per_payment,
                c.cores,
                c.ceiling_pps,
                c.fraction * 100.0,
            ));
        }
        md.push_str("\n## Charts\n\n![latency](latency.svg)\n\n![timeline](timeline.svg)\n");
        let inv = &self.invariants;
        md.push_str(&format!(
            "\n## Invariants\n\n{} payments compared with their payee's records, {} nodes' \
             balance movements checked: {}\n",
            inv.payments,
            inv.nodes,
            if inv.violations.is_empty() {
                "all hold.".to_owned()
            } else {
                format!(
                    "{} violations:\n\n- {}",
                    inv.violations.len(),
                    inv.violations.join("\n- ")
                )
            }
        ));
        md
    }

    /// Writes `report.json`, `report.md`, `latency.svg` and `timeline.svg` into `dir`.
    pub fn write(&self, dir: &Path) -> Result<(), Error> {
        let io = |what: &str| {
            let what = format!("{what} in {}", dir.display());
            move |source| Error::Io { what, source }
        };
        std::fs::create_dir_all(dir).map_err(io("creating the report directory"))?;
        let json = serde_json::to_vec_pretty(self)
            .map_err(|e| Error::Unexpected(format!("encoding the report: {e}")))?;
        std::fs::write(dir.join("report.json"), json).map_err(io("writing report.json"))?;
        std::fs::write(dir.join("report.md"), self.markdown()).map_err(io("writing report.md"))?;
        let latency =
            charts::latency_svg(&self.histogram, self.latency_ms.p50, self.latency_ms.p99);
        std::fs::write(dir.join("latency.svg"), latency).map_err(io("writing latency.svg"))?;
        let timeline = charts::timeline_svg(&self.timeline);
        std::fs::write(dir.join("timeline.svg"), timeline).map_err(io("writing timeline.svg"))?;
        Ok(())
    }
}
