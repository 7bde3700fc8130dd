//! The run's charts as SVG, drawn by hand (no plotting crate): a latency histogram
//! (logarithmic buckets, ten per decade, with p50 and p99 marked), a timeline of
//! throughput and p99 latency per second, and for a run in windows the payments per
//! second of each window above each node's RSS at each window's end. The data behind
//! them ([`histogram`], [`timeline`], [`crate::windows`]) goes into `report.json` as well.

use std::fmt::Write;

use serde::Serialize;

use crate::driver::{Attempt, Outcome};
use crate::windows::Windows;

/// Histogram buckets per decade of latency.
const BUCKETS_PER_DECADE: f64 = 10.0;
/// Chart size and margins, px.
const WIDTH: f64 = 760.0;
const PANEL_HEIGHT: f64 = 260.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 36.0;
const BOTTOM: f64 = 44.0;
/// One colour per node in the windows chart, in turn.
const PALETTE: [&str; 8] = [
    "#4878a8", "#c0392b", "#27ae60", "#8e44ad", "#d35400", "#16a085", "#7f8c8d", "#2c3e50",
];

/// One bucket of the latency histogram: payments whose latency was in `[from_ms, to_ms)`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bucket {
    /// The bucket's lower edge, ms.
    pub from_ms: f64,
    /// Its upper edge, ms.
    pub to_ms: f64,
    /// Payments in it, succeeded or not.
    pub count: u64,
}

/// One second of the run, by when payments ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Second {
    /// Seconds since the run started.
    pub second: u64,
    /// Payments that succeeded in this second.
    pub succeeded: u64,
    /// Payments that failed in this second.
    pub failed: u64,
    /// The 99th percentile latency (nearest rank) of the payments that ended in this
    /// second, ms; `None` when none did.
    pub p99_ms: Option<f64>,
}

fn latency_ms(attempt: &Attempt) -> f64 {
    attempt.latency.as_secs_f64() * 1000.0
}

/// The latency of every attempt in logarithmic buckets, from the fastest's bucket to the
/// slowest's, empty buckets between included.
pub fn histogram(attempts: &[Attempt]) -> Vec<Bucket> {
    let index = |ms: f64| (ms.max(0.001).log10() * BUCKETS_PER_DECADE).floor() as i64;
    let indices: Vec<i64> = attempts.iter().map(|a| index(latency_ms(a))).collect();
    let (Some(&low), Some(&high)) = (indices.iter().min(), indices.iter().max()) else {
        return Vec::new();
    };
    let edge = |i: i64| 10f64.powf(i as f64 / BUCKETS_PER_DECADE);
    (low..=high)
        .map(|i| Bucket {
            from_ms: edge(i),
            to_ms: edge(i + 1),
            count: indices.iter().filter(|&&j| j == i).count() as u64,
        })
        .collect()
}

/// Throughput and p99 latency for every second from the start of the run to the last
/// payment's end.
pub fn timeline(attempts: &[Attempt]) -> Vec<Second> {
    let ended = |a: &Attempt| (a.due + a.latency).as_secs();
    let Some(last) = attempts.iter().map(ended).max() else {
        return Vec::new();
    };
    let mut seconds: Vec<(Second, Vec<f64>)> = (0..=last)
        .map(|second| {
            let second = Second {
                second,
                succeeded: 0,
                failed: 0,
                p99_ms: None,
            };
            (second, Vec::new())
        })
        .collect();
    for attempt in attempts {
        let (second, latencies) = &mut seconds[ended(attempt) as usize];
        match attempt.outcome {
            Outcome::Succeeded { .. } => second.succeeded += 1,
            Outcome::Failed(_) => second.failed += 1,
        }
        latencies.push(latency_ms(attempt));
    }
    seconds
        .into_iter()
        .map(|(mut second, mut latencies)| {
            latencies.sort_by(f64::total_cmp);
            if !latencies.is_empty() {
                // Nearest rank: the smallest latency at or above 99 % of the others.
                let rank = (0.99 * latencies.len() as f64).ceil() as usize;
                second.p99_ms = Some(latencies[rank.clamp(1, latencies.len()) - 1]);
            }
            second
        })
        .collect()
}

/// A step of 1, 2 or 5 × 10ⁿ that cuts `0..max` into at most about five ticks.
fn tick_step(max: f64) -> f64 {
    let rough = (max / 5.0).max(f64::MIN_POSITIVE);
    let magnitude = 10f64.powf(rough.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|&step| step >= rough)
        .unwrap_or(10.0 * magnitude)
}

/// A number for an axis label: no decimals from 10 up.
fn label(value: f64) -> String {
    if value >= 10.0 || value == value.trunc() {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    }
}

/// The plotting area of one chart panel: the full width, from `top` down `height`.
struct Panel {
    top: f64,
    height: f64,
}

impl Panel {
    fn left(&self) -> f64 {
        LEFT
    }
    fn right(&self) -> f64 {
        WIDTH - RIGHT
    }
    fn bottom(&self) -> f64 {
        self.top + self.height
    }
    fn width(&self) -> f64 {
        self.right() - self.left()
    }
    /// The y of `value` on a linear axis from 0 to `max`.
    fn y(&self, value: f64, max: f64) -> f64 {
        self.bottom() - self.height * (value / max)
    }
    /// The x of `value` on a linear axis from 0 to `span`.
    fn x(&self, value: f64, span: f64) -> f64 {
        self.left() + self.width() * value / span
    }

    /// A linear x axis from 0 to `span`: its ticks and its label.
    fn x_axis(&self, svg: &mut String, span: f64, x_label: &str) {
        let step = tick_step(span);
        let mut tick = 0.0;
        while tick <= span * 1.0001 {
            let _ = write!(
                svg,
                r#"<text x="{:.1}" y="{}" class="tick" text-anchor="middle">{}</text>"#,
                self.x(tick, span),
                self.bottom() + 16.0,
                label(tick)
            );
            tick += step;
        }
        let _ = write!(
            svg,
            r#"<text x="{}" y="{}" class="label" text-anchor="middle">{x_label}</text>"#,
            self.left() + self.width() / 2.0,
            self.bottom() + 36.0
        );
    }

    /// A line through `points` (x from 0 to `span`, y from 0 to `max`), each point
    /// marked with a dot when `dots`.
    fn line(
        &self,
        svg: &mut String,
        span: f64,
        max: f64,
        colour: &str,
        points: &[(f64, f64)],
        dots: bool,
    ) {
        let xy: Vec<(f64, f64)> = points
            .iter()
            .map(|&(x, y)| (self.x(x, span), self.y(y, max)))
            .collect();
        let text: Vec<String> = xy.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
        let _ = write!(
            svg,
            r#"<polyline points="{}" class="line" stroke="{colour}"/>"#,
            text.join(" ")
        );
        if dots {
            for (x, y) in xy {
                let _ = write!(
                    svg,
                    r#"<circle cx="{x:.1}" cy="{y:.1}" r="3" fill="{colour}"/>"#
                );
            }
        }
    }

    /// The title, the axes, and a linear y axis from 0 to at least `max` with its label;
    /// returns the axis's top, `max` rounded up to a whole tick.
    fn frame(&self, svg: &mut String, title: &str, y_label: &str, max: f64) -> f64 {
        let (l, r, t, b) = (self.left(), self.right(), self.top, self.bottom());
        let _ = write!(
            svg,
            r#"<text x="{l}" y="{}" class="title">{title}</text><line x1="{l}" y1="{t}" x2="{l}" y2="{b}" class="axis"/><line x1="{l}" y1="{b}" x2="{r}" y2="{b}" class="axis"/><text x="14" y="{}" transform="rotate(-90 14 {})" class="label">{y_label}</text>"#,
            t - 12.0,
            t + self.height / 2.0,
            t + self.height / 2.0,
        );
        let step = tick_step(max);
        let max = (max / step).ceil().max(1.0) * step;
        let mut tick = 0.0;
        while tick <= max * 1.0001 {
            let y = self.y(tick, max);
            let _ = write!(
                svg,
                r#"<line x1="{l}" y1="{y:.1}" x2="{r}" y2="{y:.1}" class="grid"/><text x="{}" y="{:.1}" class="tick" text-anchor="end">{}</text>"#,
                l - 6.0,
                y + 4.0,
                label(tick)
            );
            tick += step;
        }
        max
    }
}

fn document(height: f64, body: &str) -> String {
    format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif"><style>.title{{font-size:14px;font-weight:bold}}.label,.tick{{font-size:11px;fill:#333}}.axis{{stroke:#333}}.grid{{stroke:#ddd}}.bar{{fill:#4878a8}}.mark{{stroke:#c0392b;stroke-dasharray:4 3}}.line{{fill:none;stroke-width:2}}</style><rect width="100%" height="100%" fill="white"/>{body}</svg>"#
    )
}

/// The latency histogram as SVG, `p50_ms` and `p99_ms` marked.
pub fn latency_svg(buckets: &[Bucket], p50_ms: f64, p99_ms: f64) -> String {
    let panel = Panel {
        top: TOP,
        height: PANEL_HEIGHT,
    };
    let mut svg = String::new();
    let max = buckets.iter().map(|b| b.count).max().unwrap_or(0).max(1) as f64;
    // Head room above the tallest bar.
    let top = panel.frame(
        &mut svg,
        "Latency (all payments, log scale)",
        "payments",
        max * 1.05,
    );
    let (Some(first), Some(last)) = (buckets.first(), buckets.last()) else {
        return document(TOP + PANEL_HEIGHT + BOTTOM, &svg);
    };
    let (low, high) = (first.from_ms.log10(), last.to_ms.log10());
    let x = |ms: f64| panel.left() + panel.width() * (ms.log10() - low) / (high - low);
    for bucket in buckets.iter().filter(|b| b.count > 0) {
        let (x0, x1) = (x(bucket.from_ms), x(bucket.to_ms));
        let y = panel.y(bucket.count as f64, top);
        let _ = write!(
            svg,
            r#"<rect x="{x0:.1}" y="{y:.1}" width="{:.1}" height="{:.1}" class="bar"><title>{:.1}–{:.1} ms: {}</title></rect>"#,
            (x1 - x0 - 1.0).max(1.0),
            panel.bottom() - y,
            bucket.from_ms,
            bucket.to_ms,
            bucket.count
        );
    }
    // Decade ticks (and 2 and 5 within a decade when the range is narrow).
    let multiples: &[f64] = if high - low <= 2.0 {
        &[1.0, 2.0, 5.0]
    } else {
        &[1.0]
    };
    for decade in (low.floor() as i32)..=(high.ceil() as i32) {
        for m in multiples {
            let ms = m * 10f64.powi(decade);
            if ms.log10() < low || ms.log10() > high {
                continue;
            }
            let _ = write!(
                svg,
                r#"<text x="{:.1}" y="{}" class="tick" text-anchor="middle">{}</text>"#,
                x(ms),
                panel.bottom() + 16.0,
                label(ms)
            );
        }
    }
    let _ = write!(
        svg,
        r#"<text x="{}" y="{}" class="label" text-anchor="middle">latency, ms</text>"#,
        panel.left() + panel.width() / 2.0,
        panel.bottom() + 36.0
    );
    for (name, ms) in [("p50", p50_ms), ("p99", p99_ms)] {
        if ms <= 0.0 {
            continue;
        }
        let at = x(ms.clamp(first.from_ms, last.to_ms));
        // The label goes on the side of the mark with room for it.
        let (text_x, anchor) = if at > panel.right() - 80.0 {
            (at - 4.0, "end")
        } else {
            (at + 4.0, "start")
        };
        let _ = write!(
            svg,
            r#"<line x1="{at:.1}" y1="{}" x2="{at:.1}" y2="{}" class="mark"/><text x="{text_x:.1}" y="{}" class="tick" text-anchor="{anchor}">{name} {}</text>"#,
            panel.top,
            panel.bottom(),
            panel.top + 12.0,
            label(ms)
        );
    }
    document(TOP + PANEL_HEIGHT + BOTTOM, &svg)
}

/// Two panels one above the other, and the document's height.
fn two_panels() -> (Panel, Panel, f64) {
    let upper = Panel {
        top: TOP,
        height: PANEL_HEIGHT,
    };
    let lower = Panel {
        top: TOP + PANEL_HEIGHT + BOTTOM + TOP,
        height: PANEL_HEIGHT,
    };
    let height = lower.bottom() + BOTTOM;
    (upper, lower, height)
}

/// Throughput per second (succeeded, and failed if any) above p99 latency per second,
/// as SVG.
pub fn timeline_svg(seconds: &[Second]) -> String {
    let (upper, lower, height) = two_panels();
    let mut svg = String::new();
    let span = seconds.len().max(2) as f64 - 1.0;
    let x_label = "seconds since the start";

    let throughput: Vec<(f64, f64)> = seconds
        .iter()
        .map(|s| (s.second as f64, s.succeeded as f64))
        .collect();
    let failures: Vec<(f64, f64)> = seconds
        .iter()
        .map(|s| (s.second as f64, s.failed as f64))
        .collect();
    let max = seconds
        .iter()
        .map(|s| s.succeeded.max(s.failed))
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let max = upper.frame(&mut svg, "Throughput", "payments per second", max);
    upper.line(&mut svg, span, max, "#4878a8", &throughput, false);
    if failures.iter().any(|&(_, v)| v > 0.0) {
        upper.line(&mut svg, span, max, "#c0392b", &failures, false);
        let _ = write!(
            svg,
            r##"<text x="{}" y="{}" class="tick" fill="#c0392b" text-anchor="end">failed</text>"##,
            upper.right(),
            upper.top - 12.0
        );
    }
    upper.x_axis(&mut svg, span, x_label);

    let p99: Vec<(f64, f64)> = seconds
        .iter()
        .filter_map(|s| Some((s.second as f64, s.p99_ms?)))
        .collect();
    let max = p99.iter().map(|&(_, v)| v).fold(1.0, f64::max);
    let max = lower.frame(
        &mut svg,
        "p99 latency of the payments ending in each second",
        "ms",
        max,
    );
    lower.line(&mut svg, span, max, "#8e44ad", &p99, false);
    lower.x_axis(&mut svg, span, x_label);
    document(height, &svg)
}

/// A run in windows as SVG: the payments per second of each window (drawn at its
/// middle) above each node's RSS when the run started and at each window's end, in
/// minutes since the start.
pub fn windows_svg(windows: &Windows) -> String {
    let (upper, lower, height) = two_panels();
    let mut svg = String::new();
    let minutes = |secs: f64| secs / 60.0;
    let span = windows
        .windows
        .last()
        .map_or(0.0, |w| minutes(w.to_secs))
        .max(f64::MIN_POSITIVE);
    let x_label = "minutes since the start";

    let rate: Vec<(f64, f64)> = windows
        .windows
        .iter()
        .map(|w| (minutes(w.from_secs + w.to_secs) / 2.0, w.rate_pps))
        .collect();
    let max = rate.iter().map(|&(_, v)| v).fold(1.0, f64::max);
    let max = upper.frame(
        &mut svg,
        "Payments per second in each window",
        "payments/s",
        max,
    );
    upper.line(&mut svg, span, max, PALETTE[0], &rate, true);
    upper.x_axis(&mut svg, span, x_label);

    // Nodes only: the driver's memory grows with the attempts it keeps, by design.
    let nodes: Vec<(usize, &str)> = windows
        .processes
        .iter()
        .enumerate()
        .filter(|(_, p)| p.node)
        .map(|(i, p)| (i, p.name.as_str()))
        .collect();
    let series: Vec<Vec<(f64, f64)>> = nodes
        .iter()
        .map(|&(i, _)| {
            let start = windows.start_rss_mib.get(i).copied().flatten();
            start
                .map(|rss| (0.0, rss))
                .into_iter()
                .chain(windows.windows.iter().filter_map(|w| {
                    let rss = w.processes.get(i)?.rss_mib?;
                    Some((minutes(w.to_secs), rss))
                }))
                .collect()
        })
        .collect();
    let max = series.iter().flatten().map(|&(_, v)| v).fold(1.0, f64::max);
    let max = lower.frame(
        &mut svg,
        "RSS of each node at the start and at each window's end",
        "MiB",
        max * 1.05,
    );
    let mut legend = Vec::new();
    for (n, (&(_, name), points)) in nodes.iter().zip(&series).enumerate() {
        let colour = PALETTE[n % PALETTE.len()];
        lower.line(&mut svg, span, max, colour, points, true);
        legend.push(format!(r#"<tspan fill="{colour}">{name}</tspan>"#));
    }
    let _ = write!(
        svg,
        r#"<text x="{}" y="{}" class="tick" text-anchor="end">{}</text>"#,
        lower.right(),
        lower.top - 12.0,
        legend.join(" ")
    );
    lower.x_axis(&mut svg, span, x_label);
    document(height, &svg)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::windows::fixtures::{attempt, line, usage};

    #[test]
    fn histogram_buckets_hold_every_payment_on_a_log_scale() {
        let attempts: Vec<Attempt> = [12, 13, 19, 250, 260, 2_000]
            .into_iter()
            .map(|ms| attempt(0, ms, true))
            .collect();
        let buckets = histogram(&attempts);
        assert_eq!(buckets.iter().map(|b| b.count).sum::<u64>(), 6);
        // 10 ms to 10^(3.4) ms, ten buckets a decade.
        assert!((buckets[0].from_ms - 10.0).abs() < 1e-9);
        assert_eq!(buckets.len(), 24);
        for pair in buckets.windows(2) {
            assert!((pair[0].to_ms - pair[1].from_ms).abs() < 1e-9);
        }
        for a in &attempts {
            let ms = latency_ms(a);
            let bucket = buckets
                .iter()
                .find(|b| b.from_ms <= ms && ms < b.to_ms)
                .unwrap();
            assert!(bucket.count > 0);
        }
        assert!(histogram(&[]).is_empty());
    }

    #[test]
    fn timeline_counts_by_end_second_with_a_nearest_rank_p99() {
        let mut attempts: Vec<Attempt> = (1..=100).map(|ms| attempt(0, ms, true)).collect();
        attempts.push(attempt(900, 200, false)); // ends at 1.1 s
        attempts.push(attempt(2_500, 100, true)); // ends at 2.6 s
        let seconds = timeline(&attempts);
        assert_eq!(seconds.len(), 3);
        assert_eq!((seconds[0].succeeded, seconds[0].failed), (100, 0));
        assert_eq!(seconds[0].p99_ms, Some(99.0));
        assert_eq!((seconds[1].succeeded, seconds[1].failed), (0, 1));
        assert_eq!(seconds[1].p99_ms, Some(200.0));
        assert_eq!((seconds[2].succeeded, seconds[2].p99_ms), (1, Some(100.0)));
        assert!(timeline(&[]).is_empty());
    }

    #[test]
    fn charts_draw_a_bar_per_filled_bucket_and_a_line_per_series() {
        let attempts = vec![
            attempt(0, 100, true),
            attempt(0, 110, true),
            attempt(1_500, 900, false),
        ];
        let buckets = histogram(&attempts);
        let svg = latency_svg(&buckets, 100.0, 900.0);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        let filled = buckets.iter().filter(|b| b.count > 0).count();
        assert_eq!(svg.matches(r#"class="bar""#).count(), filled);
        assert_eq!(svg.matches(r#"class="mark""#).count(), 2);

        let svg = timeline_svg(&timeline(&attempts));
        // Succeeded, failed and p99.
        assert_eq!(svg.matches("<polyline").count(), 3);
        assert!(timeline_svg(&[]).contains("</svg>"));
        assert!(latency_svg(&[], 0.0, 0.0).contains("</svg>"));
    }

    #[test]
    fn the_windows_chart_draws_the_rate_and_a_line_per_node() {
        use crate::windows::summarise;

        let processes = line();
        let attempts: Vec<Attempt> = (0..90).map(|s| attempt(s * 1_000, 100, true)).collect();
        let sample = |rss| vec![usage(0, rss); 4];
        let windows = summarise(
            &attempts,
            Duration::from_secs(90),
            Duration::from_secs(30),
            processes,
            &sample(40),
            &[sample(50), sample(52)],
            &sample(53),
        )
        .unwrap();
        let svg = windows_svg(&windows);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        // The rate, and one RSS line per node (not the driver).
        assert_eq!(svg.matches("<polyline").count(), 4);
        // A dot per window for the rate, and per node at the start and each window end.
        assert_eq!(svg.matches("<circle").count(), 3 + 3 * 4);
        assert!(svg.contains(">node-1</tspan>") && !svg.contains(">driver<"));

        let empty = summarise(
            &[],
            Duration::ZERO,
            Duration::from_secs(30),
            vec![],
            &[],
            &[],
            &[],
        )
        .unwrap();
        assert!(windows_svg(&empty).contains("</svg>"));
    }

    #[test]
    fn ticks_step_by_one_two_or_five() {
        assert_eq!(tick_step(10.0), 2.0);
        assert_eq!(tick_step(23.0), 5.0);
        assert_eq!(tick_step(400.0), 100.0);
        assert_eq!(tick_step(0.7), 0.2);
    }
}
