//! The run's report: throughput, latency percentiles from an HDR histogram, outcomes by
//! reason, fees, per-node resource use, the run by window with the soak checks (when it
//! was cut into windows), the signature-bound ceiling, the payer's rebalancer and its
//! channels against their bands (over the detour or with `--rebalancer`), the
//! invariants, and the conditions it ran under; as JSON (`report.json`), Markdown (`report.md`) and charts
//! (`latency.svg`, `timeline.svg`, and `windows.svg` for a run in windows).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::ceiling::Ceiling;
use crate::charts::{self, Bucket, Second};
use crate::driver::{Attempt, Outcome, RunResult};
use crate::invariants::Checked;
use crate::rebalancer::RebalancerReport;
use crate::windows::{Check, Windows};
use crate::Error;

/// The longest latency the histogram holds, in microseconds (ten minutes).
pub(crate) const MAX_LATENCY_US: u64 = 600_000_000;

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
    /// Each payment's fee ceiling, sat.
    pub max_fee_sat: u64,
    /// Each channel's capacity, sat (the detour's other channels hold a multiple).
    pub capacity_sat: u64,
    /// What a durable write means for the nodes.
    pub durability: String,
    /// Flags the nodes ran with beyond the harness's own (empty: none).
    pub node_args: String,
    /// Blocks mined during the run and the channel refreshes the nodes started.
    pub chain: String,
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
    /// The run by window and the soak checks, for a run in windows (`--window`, or the
    /// `soak` scenario).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub windows: Option<Windows>,
    /// The payer's rebalancer and its channels against their bands, for a run over the
    /// detour or with a rebalancer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rebalancer: Option<RebalancerReport>,
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
        windows: None,
        rebalancer: None,
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
             Scenario {}: {} · {} · {} · {} sat payments (fee ceiling {} sat) over {} sat \
             channels\n\n\
             Machine: {}. Durability: {}. Node flags: {}. Chain: {}.\n\n\
             | | |\n|---|---|\n\
             | succeeded | {} |\n| failed | {} |\n| throughput | {:.1} payments/s |\n\
             | latency p50 / p90 / p99 / p99.9 / max | {:.1} / {:.1} / {:.1} / {:.1} / {:.1} ms |\n\
             | fees paid | {} msat |\n| elapsed | {:.1} s |\n",
            c.scenario,
            c.topology,
            c.load,
            c.mode,
            c.amount_sat,
            c.max_fee_sat,
            c.capacity_sat,
            c.machine,
            c.durability,
            if c.node_args.is_empty() {
                "none"
            } else {
                &c.node_args
            },
            c.chain,
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
            md.push_str(&ceiling_markdown(c));
        }
        if let Some(windows) = &self.windows {
            md.push_str(&windows_markdown(windows));
        }
        if let Some(rebalancer) = &self.rebalancer {
            md.push_str(&rebalancer.markdown());
        }
        md.push_str("\n## Charts\n\n![latency](latency.svg)\n\n![timeline](timeline.svg)\n");
        if self.windows.is_some() {
            md.push_str("\n![windows](windows.svg)\n");
        }
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

    /// Writes `report.json`, `report.md`, `latency.svg`, `timeline.svg` and, for a run in
    /// windows, `windows.svg` into `dir`.
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
        if let Some(windows) = &self.windows {
            std::fs::write(dir.join("windows.svg"), charts::windows_svg(windows))
                .map_err(io("writing windows.svg"))?;
        }
        Ok(())
    }
}

/// A number or a dash.
fn or_dash(value: Option<f64>, decimals: usize) -> String {
    value.map_or_else(|| "—".to_owned(), |v| format!("{v:.decimals$}"))
}

/// The signature-bound ceiling, as Markdown.
fn ceiling_markdown(c: &Ceiling) -> String {
    let mut md = format!(
        "\n## Signature-bound ceiling\n\n\
         Measured in this run, one core: ECDSA sign {:.1} µs, verify {:.1} µs, Schnorr sign \
         {:.1} µs. ",
        c.costs.ecdsa_sign_us, c.costs.ecdsa_verify_us, c.costs.schnorr_sign_us,
    );
    match &c.counted {
        Some(counted) => md.push_str(&format!(
            "The nodes' signers counted {} ECDSA signatures made and {} counterparty \
             signatures checked over {} payments: per payment {:.1} made and {:.1} verified \
             (with the payer's check of the invoice), against {:.0} each for a payment \
             crossing {:.2} channels alone (unbatched). ",
            counted.made,
            counted.checked,
            counted.payments,
            c.ecdsa_made_per_payment,
            c.ecdsa_verified_per_payment,
            c.unbatched_ecdsa_per_payment,
            c.hops_per_payment,
        )),
        None => md.push_str(&format!(
            "The nodes reported no signature counts; a payment crossing {:.2} channels alone \
             takes {:.0} ECDSA signatures made and as many verified (unbatched). ",
            c.hops_per_payment, c.unbatched_ecdsa_per_payment,
        )),
    }
    md.push_str(&format!(
        "With {:.0} Schnorr signature(s), one payment's signature work is {:.0} µs of CPU; \
         on {} cores that is at most {:.0} payments/s, and this run reached {:.1} % of it.\n",
        c.schnorr_signatures_per_payment,
        c.cpu_us_per_payment,
        c.cores,
        c.ceiling_pps,
        c.fraction * 100.0,
    ));
    md
}

/// The per-window table and the soak checks, as Markdown.
fn windows_markdown(w: &Windows) -> String {
    use crate::windows::{clock, FLAT_AFTER, FLAT_TOLERANCE, RATE_FLOOR, ROUTER_RSS_CAP_MIB};
    let names: Vec<&str> = w.processes.iter().map(|p| p.name.as_str()).collect();
    let names = names.join(" / ");
    let mut md = format!(
        "\n## Windows\n\nWindows of {} s. A payment counts in the window it was due in; RSS \
         is each process's `VmRSS` at the window's end, CPU the seconds it used in the \
         window.\n\n\
         | window | succeeded | failed | payments/s | p50 ms | p99 ms | RSS MiB ({names}) | \
         CPU s ({names}) |\n|---|---|---|---|---|---|---|---|\n",
        w.window_secs
    );
    for window in &w.windows {
        let per_process = |value: fn(&crate::windows::ProcessWindow) -> Option<f64>| {
            window
                .processes
                .iter()
                .map(|p| or_dash(value(p), 1))
                .collect::<Vec<_>>()
                .join(" / ")
        };
        md.push_str(&format!(
            "| {}–{}{} | {} | {} | {:.1} | {} | {} | {} | {} |\n",
            clock(window.from_secs),
            clock(window.to_secs),
            if window.full { "" } else { " (partial)" },
            window.succeeded,
            window.failed,
            window.rate_pps,
            or_dash(window.p50_ms, 1),
            or_dash(window.p99_ms, 1),
            per_process(|p| p.rss_mib),
            per_process(|p| p.cpu_secs),
        ));
    }
    let c = &w.checks;
    let row = |name: String, check: &Check| {
        format!("| {name} | {} | {} |\n", check.verdict, check.detail)
    };
    md.push_str("\n## Soak checks\n\n| check | verdict | numbers |\n|---|---|---|\n");
    md.push_str(&row(
        format!(
            "throughput held: the last full window's payments/s at least {:.0} % of the \
             first's",
            RATE_FLOOR * 100.0
        ),
        &c.throughput_held,
    ));
    md.push_str(&row(
        format!(
            "RSS flat: each node's RSS at the last window's end at most {:.0} % above its RSS \
             at the first window end at or after {}",
            FLAT_TOLERANCE * 100.0,
            clock(FLAT_AFTER.as_secs_f64())
        ),
        &c.rss_flat,
    ));
    md.push_str(&row(
        format!("router RSS at most {ROUTER_RSS_CAP_MIB:.0} MiB at every window's end"),
        &c.router_rss_capped,
    ));
    md
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::usage::Usage;
    use crate::windows::{summarise, Process};

    #[test]
    fn windows_are_a_table_row_each_and_the_checks_a_verdict_each() {
        let processes = vec![
            Process {
                name: "node-0".into(),
                node: true,
                router: false,
            },
            Process {
                name: "node-1".into(),
                node: true,
                router: true,
            },
        ];
        let attempts: Vec<Attempt> = (0..70)
            .map(|s| Attempt {
                payer: 0,
                payee: 1,
                payment_hash: String::new(),
                due: Duration::from_secs(s),
                latency: Duration::from_millis(250),
                outcome: Outcome::Succeeded { fee_msat: 0 },
            })
            .collect();
        let sample = |rss_mib: u64| {
            vec![
                Some(Usage {
                    cpu: Duration::from_secs(rss_mib),
                    rss_bytes: rss_mib << 20,
                    peak_rss_bytes: rss_mib << 20,
                }),
                None,
            ]
        };
        let windows = summarise(
            &attempts,
            Duration::from_secs(70),
            Duration::from_secs(30),
            processes,
            &sample(10),
            &[sample(20), sample(30)],
            &sample(35),
        )
        .unwrap();
        let md = windows_markdown(&windows);
        assert!(md.contains("RSS MiB (node-0 / node-1)"), "{md}");
        assert!(
            md.contains("| 0:00–0:30 | 30 | 0 | 1.0 | 250.1 | 250.1 | 20.0 / — | 10.0 / — |"),
            "{md}"
        );
        assert!(
            md.contains("| 1:00–1:10 (partial) | 10 | 0 | 1.0 |"),
            "{md}"
        );
        assert!(
            md.contains("| PASS | first window (0:00–0:30) 1.0 payments/s"),
            "{md}"
        );
        assert!(md.contains("| not enough windows | not enough windows: needs a window ending at or after 10:00"), "{md}");
        assert!(md.contains("| not measured | no RSS for node-1"), "{md}");
    }
}
