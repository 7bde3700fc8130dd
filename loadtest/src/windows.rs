//! A run cut into fixed windows (`--window`, and always in the `soak` scenario): per
//! window the payments that succeeded and failed, payments per second, p50 and p99
//! latency, and each process's resident memory at the window's end and the CPU it used
//! in the window; then the soak checks over them.
//!
//! A payment belongs to the window it was *due* in (when it started in the closed loop,
//! its scheduled arrival in the open loop), so a run that pays for a whole number of
//! windows splits into full windows exactly, and the payments still in flight when the
//! run stops count where they started. A run cut short (Ctrl-C, `--count`) ends in a
//! partial window.
//!
//! The checks are verdicts in the report, not the exit code:
//! - **throughput held**: the last full window's rate is at least [`RATE_FLOOR`] of the
//!   first full window's;
//! - **RSS flat**: every node's RSS at the last window's end is at most
//!   [`FLAT_TOLERANCE`] above its RSS at the end of the first window that ends at or
//!   after [`FLAT_AFTER`] (warm-up: caches and pools fill before then);
//! - **router RSS capped**: every router's RSS is at most [`ROUTER_RSS_CAP_MIB`] at every
//!   window's end.
//!
//! Everything here is a pure function of the driver's attempts and the `/proc` samples;
//! the sampling itself (a thread waking at each window's end) is `src/main.rs`'s.

use std::fmt;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::driver::{Attempt, Outcome, Stop};
use crate::report::MAX_LATENCY_US;
use crate::usage::Usage;
use crate::Error;

/// The window of a soak when `--window` is not given.
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(5 * 60);
/// Throughput held: the last full window's rate over the first's, at least.
pub const RATE_FLOOR: f64 = 0.90;
/// RSS flat: measured from the first window that ends this long into the run or later.
pub const FLAT_AFTER: Duration = Duration::from_secs(10 * 60);
/// RSS flat: how far above its reference a node's last RSS may be.
pub const FLAT_TOLERANCE: f64 = 0.10;
/// The most resident memory a router may hold at any window's end, MiB.
pub const ROUTER_RSS_CAP_MIB: f64 = 256.0;

const MIB: f64 = 1024.0 * 1024.0;

/// A process the windows sample: a node of the cluster or the load driver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Process {
    /// Its name (`node-1`, `driver`).
    pub name: String,
    /// Whether it is a node of the cluster (the driver is not; its memory grows with the
    /// attempts it keeps, so the RSS checks leave it out).
    pub node: bool,
    /// Whether it is a router (neither pays nor is paid): the RSS cap applies to it.
    pub router: bool,
}

/// One process in one window.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ProcessWindow {
    /// Resident memory at the window's end (`VmRSS`), MiB; `None` where `/proc` could
    /// not tell.
    pub rss_mib: Option<f64>,
    /// CPU seconds used in the window.
    pub cpu_secs: Option<f64>,
}

/// One window of the run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Window {
    /// Its start, seconds since the run started.
    pub from_secs: f64,
    /// Its end, seconds since the run started.
    pub to_secs: f64,
    /// Whether it is as long as the window (the last one may be shorter).
    pub full: bool,
    /// Payments due in it that succeeded.
    pub succeeded: u64,
    /// Payments due in it that failed.
    pub failed: u64,
    /// Succeeded payments per second of the window.
    pub rate_pps: f64,
    /// The median latency of its payments, ms; `None` when it had none.
    pub p50_ms: Option<f64>,
    /// The 99th percentile latency of its payments, ms.
    pub p99_ms: Option<f64>,
    /// Per process (in [`Windows::processes`] order), its memory and CPU.
    pub processes: Vec<ProcessWindow>,
}

/// A check's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// It holds.
    Pass,
    /// It does not.
    Fail,
    /// The run is too short to judge.
    NotEnoughWindows,
    /// What it needs was not measured (no `/proc`, no router).
    NotMeasured,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::Pass => "PASS",
            Verdict::Fail => "FAIL",
            Verdict::NotEnoughWindows => "not enough windows",
            Verdict::NotMeasured => "not measured",
        })
    }
}

/// A check: its verdict and the numbers behind it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    /// The outcome.
    pub verdict: Verdict,
    /// The numbers it was judged on.
    pub detail: String,
}

impl Check {
    fn new(verdict: Verdict, detail: impl Into<String>) -> Check {
        Check {
            verdict,
            detail: detail.into(),
        }
    }
}

/// The soak checks (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Checks {
    /// The last full window's rate against the first's.
    pub throughput_held: Check,
    /// Every node's RSS after warm-up.
    pub rss_flat: Check,
    /// Every router's RSS at every window's end.
    pub router_rss_capped: Check,
}

/// The run by window, and the checks.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Windows {
    /// The window's length, seconds.
    pub window_secs: f64,
    /// The processes sampled.
    pub processes: Vec<Process>,
    /// Per process, its resident memory when the run started, MiB.
    pub start_rss_mib: Vec<Option<f64>>,
    /// The windows, in order.
    pub windows: Vec<Window>,
    /// The checks over them.
    pub checks: Checks,
}

/// How long the run paid for: until `--duration` (or, cut short by Ctrl-C, until the
/// last outcome), or with `--count` until the last payment was due.
pub fn span(stop: Stop, elapsed: Duration, attempts: &[Attempt]) -> Duration {
    match stop {
        Stop::After(limit) => limit.min(elapsed),
        Stop::Count(_) => attempts.iter().map(|a| a.due).max().unwrap_or_default(),
    }
}

/// The windows of a run that paid for `span`: `[0, w)`, `[w, 2w)`, …, the last one cut
/// at `span`. None for an empty span; one for a zero window.
pub fn bounds(span: Duration, window: Duration) -> Vec<(Duration, Duration)> {
    if span.is_zero() {
        return Vec::new();
    }
    if window.is_zero() {
        return vec![(Duration::ZERO, span)];
    }
    let mut bounds = Vec::new();
    let mut from = Duration::ZERO;
    while from < span {
        let to = (from + window).min(span);
        bounds.push((from, to));
        from = to;
    }
    bounds
}

/// The samples taken at the ends of `windows` windows: those the sampler took at each
/// window's end while the run went on, then `end` (taken when the run ended) for the
/// windows that ended with it.
pub fn samples_at_ends<T: Clone>(at_window_ends: &[T], end: &T, windows: usize) -> Vec<T> {
    at_window_ends
        .iter()
        .take(windows)
        .cloned()
        .chain(std::iter::repeat(end.clone()))
        .take(windows)
        .collect()
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / MIB
}

/// The run's windows: `attempts` by the window they were due in (those due after the
/// last window's end, in the last), `before` the processes' use when the run started
/// and `samples[i]` their use at window `i`'s end (see [`samples_at_ends`]).
pub fn tally(
    attempts: &[Attempt],
    bounds: &[(Duration, Duration)],
    window: Duration,
    before: &[Option<Usage>],
    samples: &[Vec<Option<Usage>>],
) -> Result<Vec<Window>, Error> {
    let new_histogram = || {
        Histogram::<u64>::new_with_bounds(1, MAX_LATENCY_US, 3)
            .map_err(|e| Error::Unexpected(format!("a window's latency histogram: {e}")))
    };
    let mut tallies = bounds
        .iter()
        .map(|_| Ok((0u64, 0u64, new_histogram()?)))
        .collect::<Result<Vec<_>, Error>>()?;
    let last = tallies.len().saturating_sub(1);
    for attempt in attempts {
        let index = bounds
            .iter()
            .position(|&(_, to)| attempt.due < to)
            .unwrap_or(last);
        let Some((succeeded, failed, histogram)) = tallies.get_mut(index) else {
            continue;
        };
        match attempt.outcome {
            Outcome::Succeeded { .. } => *succeeded += 1,
            Outcome::Failed(_) => *failed += 1,
        }
        let us = u64::try_from(attempt.latency.as_micros()).unwrap_or(MAX_LATENCY_US);
        histogram.saturating_record(us.clamp(1, MAX_LATENCY_US));
    }
    let ms = |us: u64| us as f64 / 1000.0;
    let none = Vec::new();
    Ok(bounds
        .iter()
        .zip(tallies)
        .enumerate()
        .map(|(i, (&(from, to), (succeeded, failed, histogram)))| {
            let previous = if i == 0 {
                before
            } else {
                samples.get(i - 1).unwrap_or(&none)
            };
            let now = samples.get(i).unwrap_or(&none);
            let processes = (0..before.len().max(now.len()))
                .map(|p| {
                    let now = now.get(p).copied().flatten();
                    let previous = previous.get(p).copied().flatten();
                    ProcessWindow {
                        rss_mib: now.map(|u| mib(u.rss_bytes)),
                        cpu_secs: now
                            .zip(previous)
                            .map(|(now, then)| now.cpu.saturating_sub(then.cpu).as_secs_f64()),
                    }
                })
                .collect();
            let seen = !histogram.is_empty();
            let length = (to - from).as_secs_f64();
            Window {
                from_secs: from.as_secs_f64(),
                to_secs: to.as_secs_f64(),
                full: to - from == window,
                succeeded,
                failed,
                rate_pps: if length > 0.0 {
                    succeeded as f64 / length
                } else {
                    0.0
                },
                p50_ms: seen.then(|| ms(histogram.value_at_quantile(0.50))),
                p99_ms: seen.then(|| ms(histogram.value_at_quantile(0.99))),
                processes,
            }
        })
        .collect())
}

/// A time in the run as minutes and seconds (`2:30`).
pub fn clock(secs: f64) -> String {
    let secs = secs.round() as u64;
    format!("{}:{:02}", secs / 60, secs % 60)
}

/// Throughput held: the last full window's rate is at least [`RATE_FLOOR`] of the
/// first full window's.
pub fn throughput_held(windows: &[Window]) -> Check {
    let full: Vec<&Window> = windows.iter().filter(|w| w.full).collect();
    let (Some(first), Some(last)) = (full.first(), full.last()) else {
        return Check::new(
            Verdict::NotEnoughWindows,
            "not enough windows: no full window",
        );
    };
    if full.len() < 2 {
        return Check::new(
            Verdict::NotEnoughWindows,
            "not enough windows: one full window, two needed",
        );
    }
    let ratio = if first.rate_pps > 0.0 {
        format!("{:.1} %", 100.0 * last.rate_pps / first.rate_pps)
    } else {
        "—".to_owned()
    };
    let verdict = if last.rate_pps >= RATE_FLOOR * first.rate_pps {
        Verdict::Pass
    } else {
        Verdict::Fail
    };
    Check::new(
        verdict,
        format!(
            "first window ({}–{}) {:.1} payments/s, last ({}–{}) {:.1} payments/s: {ratio} \
             (at least {:.0} % passes)",
            clock(first.from_secs),
            clock(first.to_secs),
            first.rate_pps,
            clock(last.from_secs),
            clock(last.to_secs),
            last.rate_pps,
            RATE_FLOOR * 100.0
        ),
    )
}

/// RSS flat: every node's RSS at the last window's end is at most [`FLAT_TOLERANCE`]
/// above its RSS at the end of the first window ending at or after [`FLAT_AFTER`].
pub fn rss_flat(windows: &[Window], processes: &[Process]) -> Check {
    let after = FLAT_AFTER.as_secs_f64();
    let reference = windows.iter().position(|w| w.to_secs >= after);
    let (Some(reference), Some(last)) = (reference, windows.len().checked_sub(1)) else {
        return Check::new(
            Verdict::NotEnoughWindows,
            format!(
                "not enough windows: needs a window ending at or after {} and a later one; \
                 the last ends at {}",
                clock(after),
                windows
                    .last()
                    .map_or_else(|| clock(0.0), |w| clock(w.to_secs))
            ),
        );
    };
    if reference == last {
        return Check::new(
            Verdict::NotEnoughWindows,
            format!(
                "not enough windows: the first window ending at or after {} is the last",
                clock(after)
            ),
        );
    }
    let (from, to) = (&windows[reference], &windows[last]);
    let mut verdict = Verdict::Pass;
    let mut nodes = Vec::new();
    for (p, process) in processes.iter().enumerate().filter(|(_, p)| p.node) {
        let rss = |w: &Window| w.processes.get(p).and_then(|u| u.rss_mib);
        let (Some(then), Some(now)) = (rss(from), rss(to)) else {
            return Check::new(
                Verdict::NotMeasured,
                format!("no RSS for {} at one of the two window ends", process.name),
            );
        };
        if now > then * (1.0 + FLAT_TOLERANCE) {
            verdict = Verdict::Fail;
        }
        let growth = if then > 0.0 {
            format!("{:+.1} %", 100.0 * (now / then - 1.0))
        } else {
            "—".to_owned()
        };
        nodes.push(format!(
            "{} {then:.1} → {now:.1} MiB ({growth})",
            process.name
        ));
    }
    if nodes.is_empty() {
        return Check::new(Verdict::NotMeasured, "no nodes sampled");
    }
    Check::new(
        verdict,
        format!(
            "{} (at {} and at {}; at most {:+.0} % passes)",
            nodes.join(", "),
            clock(from.to_secs),
            clock(to.to_secs),
            FLAT_TOLERANCE * 100.0
        ),
    )
}

/// Router RSS capped: every router's RSS is at most [`ROUTER_RSS_CAP_MIB`] at every
/// window's end.
pub fn router_rss_capped(windows: &[Window], processes: &[Process]) -> Check {
    let routers: Vec<(usize, &Process)> = processes
        .iter()
        .enumerate()
        .filter(|(_, p)| p.router)
        .collect();
    if routers.is_empty() {
        return Check::new(Verdict::NotMeasured, "no router in this topology");
    }
    if windows.is_empty() {
        return Check::new(Verdict::NotEnoughWindows, "not enough windows: none");
    }
    let mut verdict = Verdict::Pass;
    let mut found = Vec::new();
    for (p, router) in routers {
        let mut peak: Option<(f64, f64)> = None;
        for window in windows {
            let Some(rss) = window.processes.get(p).and_then(|u| u.rss_mib) else {
                return Check::new(
                    Verdict::NotMeasured,
                    format!(
                        "no RSS for {} at the window ending at {}",
                        router.name,
                        clock(window.to_secs)
                    ),
                );
            };
            if peak.is_none_or(|(most, _)| rss > most) {
                peak = Some((rss, window.to_secs));
            }
        }
        if let Some((most, at)) = peak {
            if most > ROUTER_RSS_CAP_MIB {
                verdict = Verdict::Fail;
            }
            found.push(format!(
                "{} at most {most:.1} MiB (at {})",
                router.name,
                clock(at)
            ));
        }
    }
    Check::new(
        verdict,
        format!(
            "{} over {} window ends (at most {ROUTER_RSS_CAP_MIB:.0} MiB passes)",
            found.join(", "),
            windows.len()
        ),
    )
}

/// All three checks over `windows`.
pub fn checks(windows: &[Window], processes: &[Process]) -> Checks {
    Checks {
        throughput_held: throughput_held(windows),
        rss_flat: rss_flat(windows, processes),
        router_rss_capped: router_rss_capped(windows, processes),
    }
}

/// The run by window: its attempts over `span` cut into windows of `window`, `before`
/// the processes' use when the run started, `at_window_ends` what the sampler read at
/// each window's end during the run and `end` what was read when it ended.
pub fn summarise(
    attempts: &[Attempt],
    span: Duration,
    window: Duration,
    processes: Vec<Process>,
    before: &[Option<Usage>],
    at_window_ends: &[Vec<Option<Usage>>],
    end: &[Option<Usage>],
) -> Result<Windows, Error> {
    let bounds = bounds(span, window);
    let samples = samples_at_ends(at_window_ends, &end.to_vec(), bounds.len());
    let windows = tally(attempts, &bounds, window, before, &samples)?;
    let checks = checks(&windows, &processes);
    Ok(Windows {
        window_secs: window.as_secs_f64(),
        processes,
        start_rss_mib: before.iter().map(|u| u.map(|u| mib(u.rss_bytes))).collect(),
        windows,
        checks,
    })
}

/// Made-up attempts, resource samples and processes for this crate's unit tests.
#[cfg(test)]
pub(crate) mod fixtures {
    use std::time::Duration;

    use super::Process;
    use crate::driver::{Attempt, Outcome};
    use crate::usage::Usage;

    /// An attempt from node 0 to node 2 due at `due_ms` that took `latency_ms`.
    pub(crate) fn attempt(due_ms: u64, latency_ms: u64, ok: bool) -> Attempt {
        Attempt {
            payer: 0,
            payee: 2,
            payment_hash: String::new(),
            due: Duration::from_millis(due_ms),
            latency: Duration::from_millis(latency_ms),
            outcome: if ok {
                Outcome::Succeeded { fee_msat: 0 }
            } else {
                Outcome::Failed("route_not_found".into())
            },
        }
    }

    /// A process's use: `cpu_ms` of CPU and `rss_mib` resident (and peak).
    pub(crate) fn usage(cpu_ms: u64, rss_mib: u64) -> Option<Usage> {
        Some(Usage {
            cpu: Duration::from_millis(cpu_ms),
            rss_bytes: rss_mib * 1024 * 1024,
            peak_rss_bytes: rss_mib * 1024 * 1024,
        })
    }

    /// A line of three and the driver.
    pub(crate) fn line() -> Vec<Process> {
        ["node-0", "node-1", "node-2", "driver"]
            .into_iter()
            .enumerate()
            .map(|(i, name)| Process {
                name: name.into(),
                node: i < 3,
                router: i == 1,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::{attempt, line, usage};
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    /// A full window ending at `end_secs` with `rate` payments/s and these RSS (MiB).
    fn window(end_secs: u64, length: u64, rate: f64, rss: &[Option<f64>]) -> Window {
        Window {
            from_secs: (end_secs - length) as f64,
            to_secs: end_secs as f64,
            full: true,
            succeeded: (rate * length as f64) as u64,
            failed: 0,
            rate_pps: rate,
            p50_ms: Some(100.0),
            p99_ms: Some(200.0),
            processes: rss
                .iter()
                .map(|&rss_mib| ProcessWindow {
                    rss_mib,
                    cpu_secs: Some(1.0),
                })
                .collect(),
        }
    }

    fn close(a: f64, b: f64) -> bool {
        // hdrhistogram keeps three significant digits.
        (a - b).abs() <= b * 1e-3
    }

    #[test]
    fn bounds_cut_the_span_into_windows_the_last_one_partial() {
        assert_eq!(
            bounds(S(90), S(30)),
            vec![(S(0), S(30)), (S(30), S(60)), (S(60), S(90))]
        );
        assert_eq!(
            bounds(S(70), S(30)),
            vec![(S(0), S(30)), (S(30), S(60)), (S(60), S(70))]
        );
        assert_eq!(bounds(S(10), S(30)), vec![(S(0), S(10))]);
        assert_eq!(bounds(S(10), Duration::ZERO), vec![(S(0), S(10))]);
        assert!(bounds(Duration::ZERO, S(30)).is_empty());
        // A 30-minute soak in 5-minute windows.
        assert_eq!(bounds(S(1800), DEFAULT_WINDOW).len(), 6);
    }

    #[test]
    fn the_span_is_the_duration_unless_cut_short_or_counted() {
        let attempts = [attempt(0, 10, true), attempt(4_200, 10, true)];
        assert_eq!(span(Stop::After(S(180)), S(181), &attempts), S(180));
        assert_eq!(span(Stop::After(S(180)), S(95), &attempts), S(95));
        assert_eq!(
            span(Stop::Count(2), S(5), &attempts),
            Duration::from_millis(4_200)
        );
        assert_eq!(span(Stop::Count(2), S(5), &[]), Duration::ZERO);
    }

    #[test]
    fn samples_at_the_window_ends_then_the_end_of_the_run() {
        assert_eq!(samples_at_ends(&[1, 2, 3], &9, 3), vec![1, 2, 3]);
        // The sampler may wake at a boundary the run's drain reached.
        assert_eq!(samples_at_ends(&[1, 2, 3, 4], &9, 3), vec![1, 2, 3]);
        // Cut short: the partial window's end is the run's end.
        assert_eq!(samples_at_ends(&[1, 2], &9, 3), vec![1, 2, 9]);
        assert_eq!(samples_at_ends(&[], &9, 2), vec![9, 9]);
        assert!(samples_at_ends::<u8>(&[1], &9, 0).is_empty());
    }

    #[test]
    fn tally_counts_payments_where_they_were_due_with_their_latencies() {
        let mut attempts = Vec::new();
        // Window 1: 100 payments of 1..=100 ms, one failed.
        for ms in 1..=100 {
            attempts.push(attempt(ms * 10, ms, ms != 50));
        }
        // Window 2: 10 payments of 1 s, the last due just before its end and ending
        // well after it.
        for i in 0..10 {
            attempts.push(attempt(10_000 + i * 999, 1_000, true));
        }
        // Due a hair after the span (the closed loop's clock): the last window.
        attempts.push(attempt(20_001, 1_000, false));
        let bounds = bounds(S(20), S(10));
        let before = vec![usage(1_000, 40), None];
        let samples = vec![vec![usage(3_500, 50), None], vec![usage(4_000, 52), None]];
        let windows = tally(&attempts, &bounds, S(10), &before, &samples).unwrap();
        assert_eq!(windows.len(), 2);

        let first = &windows[0];
        assert_eq!(
            (first.from_secs, first.to_secs, first.full),
            (0.0, 10.0, true)
        );
        assert_eq!((first.succeeded, first.failed), (99, 1));
        assert!(close(first.rate_pps, 9.9));
        assert!(close(first.p50_ms.unwrap(), 50.0), "{first:?}");
        assert!(close(first.p99_ms.unwrap(), 99.0), "{first:?}");
        assert_eq!(first.processes[0].rss_mib, Some(50.0));
        assert_eq!(first.processes[0].cpu_secs, Some(2.5));
        assert_eq!(
            first.processes[1],
            ProcessWindow {
                rss_mib: None,
                cpu_secs: None
            }
        );

        let second = &windows[1];
        assert_eq!((second.succeeded, second.failed), (10, 1));
        assert!(close(second.rate_pps, 1.0));
        assert!(close(second.p99_ms.unwrap(), 1_000.0));
        assert_eq!(second.processes[0].rss_mib, Some(52.0));
        assert_eq!(second.processes[0].cpu_secs, Some(0.5));
        assert_eq!(
            windows.iter().map(|w| w.succeeded + w.failed).sum::<u64>(),
            attempts.len() as u64
        );
    }

    #[test]
    fn a_partial_or_empty_window_is_marked_and_has_no_percentiles() {
        let attempts = [attempt(1_000, 10, true)];
        let windows = tally(&attempts, &bounds(S(25), S(10)), S(10), &[], &[]).unwrap();
        assert_eq!(
            windows.iter().map(|w| w.full).collect::<Vec<_>>(),
            [true, true, false]
        );
        assert_eq!(windows[2].to_secs - windows[2].from_secs, 5.0);
        assert_eq!((windows[1].succeeded, windows[1].p50_ms), (0, None));
        assert_eq!(windows[1].rate_pps, 0.0);
        assert!(windows[0].processes.is_empty());
    }

    #[test]
    fn throughput_held_compares_the_last_full_window_with_the_first() {
        let rss = [Some(50.0); 4];
        let held = [
            window(30, 30, 170.0, &rss),
            window(60, 30, 150.0, &rss),
            window(90, 30, 160.0, &rss),
        ];
        let check = throughput_held(&held);
        assert_eq!(check.verdict, Verdict::Pass, "{check:?}");
        assert!(check.detail.contains("170.0") && check.detail.contains("94.1 %"));

        let sagged = [window(30, 30, 170.0, &rss), window(60, 30, 152.9, &rss)];
        assert_eq!(throughput_held(&sagged).verdict, Verdict::Fail);

        // A partial last window is left out: the last full one is compared.
        let mut partial = window(70, 10, 20.0, &rss);
        partial.full = false;
        let cut = [held[0].clone(), held[2].clone(), partial.clone()];
        assert_eq!(throughput_held(&cut).verdict, Verdict::Pass);

        for short in [&[][..], &held[..1], &[held[0].clone(), partial][..]] {
            let check = throughput_held(short);
            assert_eq!(check.verdict, Verdict::NotEnoughWindows);
            assert!(check.detail.starts_with("not enough windows"));
        }
    }

    #[test]
    fn rss_flat_measures_from_the_first_window_ending_after_ten_minutes() {
        let at = |end_min: u64, rss: [f64; 4]| window(end_min * 60, 300, 170.0, &rss.map(Some));
        // Warm-up growth before 10 min does not count; 10 % after it is the limit.
        let soak = [
            at(5, [30.0, 40.0, 30.0, 20.0]),
            at(10, [50.0, 100.0, 50.0, 40.0]),
            at(15, [52.0, 104.0, 51.0, 80.0]),
            at(30, [55.0, 110.0, 50.0, 400.0]),
        ];
        let check = rss_flat(&soak, &line());
        assert_eq!(check.verdict, Verdict::Pass, "{check:?}");
        assert!(check.detail.contains("node-1 100.0 → 110.0 MiB (+10.0 %)"));
        // The driver is not a node.
        assert!(!check.detail.contains("driver"));

        let mut leak = soak.clone();
        leak[3].processes[2].rss_mib = Some(55.1);
        assert_eq!(rss_flat(&leak, &line()).verdict, Verdict::Fail);

        // The reference is the first window *ending* at or after 10 min.
        let late = [at(5, [30.0; 4]), at(11, [40.0; 4]), at(16, [44.0; 4])];
        let check = rss_flat(&late, &line());
        assert_eq!(check.verdict, Verdict::Pass, "{check:?}");
        assert!(check.detail.contains("at 11:00 and at 16:00"));

        // A 3-minute run, or one whose only window after 10 min is the last.
        let short: Vec<Window> = (1..=6)
            .map(|i| window(i * 30, 30, 170.0, &[Some(50.0); 4]))
            .collect();
        let check = rss_flat(&short, &line());
        assert_eq!(check.verdict, Verdict::NotEnoughWindows);
        assert!(check.detail.starts_with("not enough windows"), "{check:?}");
        assert_eq!(
            rss_flat(&soak[..2], &line()).verdict,
            Verdict::NotEnoughWindows
        );
        assert_eq!(rss_flat(&[], &line()).verdict, Verdict::NotEnoughWindows);

        let mut unread = soak.clone();
        unread[3].processes[0].rss_mib = None;
        assert_eq!(rss_flat(&unread, &line()).verdict, Verdict::NotMeasured);
    }

    #[test]
    fn the_router_is_capped_at_every_window_end() {
        let at = |end: u64, router: f64| {
            window(
                end,
                30,
                170.0,
                &[Some(300.0), Some(router), Some(300.0), Some(900.0)],
            )
        };
        // Payer, payee and driver may be above the cap; the router may reach it.
        let fine = [at(30, 100.0), at(60, 256.0), at(90, 120.0)];
        let check = router_rss_capped(&fine, &line());
        assert_eq!(check.verdict, Verdict::Pass, "{check:?}");
        assert!(check.detail.contains("node-1 at most 256.0 MiB (at 1:00)"));

        let spike = [at(30, 100.0), at(60, 256.5), at(90, 120.0)];
        assert_eq!(router_rss_capped(&spike, &line()).verdict, Verdict::Fail);

        let ring: Vec<Process> = line()
            .into_iter()
            .map(|p| Process { router: false, ..p })
            .collect();
        assert_eq!(
            router_rss_capped(&fine, &ring).verdict,
            Verdict::NotMeasured
        );
        assert_eq!(
            router_rss_capped(&[], &line()).verdict,
            Verdict::NotEnoughWindows
        );
    }

    #[test]
    fn summarise_takes_the_end_sample_for_a_cut_short_window() {
        let attempts: Vec<Attempt> = (0..50).map(|i| attempt(i * 1_000, 100, true)).collect();
        let processes = line();
        let before = vec![usage(0, 10); 4];
        let during = vec![vec![usage(1_000, 20); 4]];
        let end = vec![usage(1_500, 30); 4];
        let windows =
            summarise(&attempts, S(50), S(30), processes, &before, &during, &end).unwrap();
        assert_eq!(windows.window_secs, 30.0);
        assert_eq!(windows.start_rss_mib, vec![Some(10.0); 4]);
        assert_eq!(windows.windows.len(), 2);
        assert_eq!(windows.windows[1].processes[1].rss_mib, Some(30.0));
        assert_eq!(windows.windows[1].processes[1].cpu_secs, Some(0.5));
        assert_eq!(
            windows.windows[0].succeeded + windows.windows[1].succeeded,
            50
        );
        assert_eq!(
            windows.checks.throughput_held.verdict,
            Verdict::NotEnoughWindows
        );
        assert_eq!(windows.checks.router_rss_capped.verdict, Verdict::Pass);
    }

    #[test]
    fn clock_reads_minutes_and_seconds() {
        assert_eq!(clock(0.0), "0:00");
        assert_eq!(clock(150.0), "2:30");
        assert_eq!(clock(1_800.0), "30:00");
    }
}
