//! The `/stats` page: the same figures as the JSON, as one self-contained HTML document
//! (no scripts, no external assets) with an inline SVG bar chart of the last 24 hours'
//! forwarding fees.
//!
//! Drawn by hand: one bar chart with a few labels is shorter to write than to configure a
//! plotting crate for (plotters lays out text through a font backend, which means either
//! system fonts or a bundled font file).

use std::fmt::Write;

use crate::types::{HourStats, StatsResponse};

/// Chart size and margins, px.
const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 220.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 36.0;

/// `text` with the five HTML-significant characters escaped.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

/// msat as sat with thousands separators (rounded down).
fn sats(msat: u64) -> String {
    let digits = (msat / 1000).to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    format!("{out} sat")
}

fn percent(ratio: Option<f64>) -> String {
    ratio.map_or_else(|| "—".to_owned(), |r| format!("{:.1} %", r * 100.0))
}

/// The bar chart of fees per hour, as SVG.
pub fn fees_chart(hours: &[HourStats]) -> String {
    let max_sat = hours
        .iter()
        .map(|h| h.fees_msats as f64 / 1000.0)
        .fold(0.0, f64::max);
    let top = if max_sat > 0.0 { max_sat * 1.1 } else { 1.0 };
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let slot = plot_w / hours.len().max(1) as f64;
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="Forwarding fees per hour, last 24 hours" font-family="sans-serif" font-size="11">"#
    );
    let _ = write!(
        svg,
        r##"<line x1="{LEFT}" y1="{y}" x2="{x2}" y2="{y}" stroke="#333"/><text x="{lx}" y="{ty}" text-anchor="end">0</text><text x="{lx}" y="{top_y}" text-anchor="end">{top:.0} sat</text>"##,
        y = TOP + plot_h,
        x2 = WIDTH - RIGHT,
        lx = LEFT - 6.0,
        ty = TOP + plot_h + 4.0,
        top_y = TOP + 4.0,
    );
    for (i, hour) in hours.iter().enumerate() {
        let h = hour.fees_msats as f64 / 1000.0 / top * plot_h;
        let x = LEFT + i as f64 * slot + 1.0;
        let _ = write!(
            svg,
            r##"<rect class="bar" x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" fill="#4878a8"><title>{fees}, {n} forwards</title></rect>"##,
            y = TOP + plot_h - h,
            w = (slot - 2.0).max(1.0),
            fees = sats(hour.fees_msats),
            n = hour.forwards,
        );
    }
    let _ = write!(
        svg,
        r#"<text x="{LEFT}" y="{y}">24 h ago</text><text x="{x}" y="{y}" text-anchor="end">now</text></svg>"#,
        y = HEIGHT - 10.0,
        x = WIDTH - RIGHT,
    );
    svg
}

/// The whole page.
pub fn render(stats: &StatsResponse) -> String {
    let mut rows = Vec::new();
    let mut row = |name: &str, value: String| {
        rows.push(format!(
            "<tr><th>{}</th><td>{}</td></tr>",
            escape(name),
            escape(&value)
        ));
    };
    let l = &stats.liquidity;
    row("Total liquidity", sats(l.total_msats));
    row("On-chain", sats(l.onchain_msats));
    row("Channels, outbound", sats(l.channels_outbound_msats));
    row("Channels, inbound", sats(l.channels_inbound_msats));
    let ch = &stats.channels;
    row(
        "Channels usable / open",
        format!("{} / {}", ch.usable, ch.open),
    );
    row("Peers connected", ch.peers_connected.to_string());
    row("Outbound share of capacity", percent(ch.outbound_ratio));
    let r = &stats.routing;
    row("Forwards, 24 h", r.forwards_24h.to_string());
    row("Routing fees, 24 h", sats(r.fees_24h_msats));
    row("JIT channel fees, 24 h", sats(r.jit_fees_24h_msats));
    let p = &stats.payments;
    row(
        &format!("Pay success rate (last {} payments)", p.sample),
        percent(p.success_rate),
    );
    if let Some(pool) = &stats.pool {
        row(&format!("Pool {} NAV", pool.pool_id), sats(pool.nav_msats));
        for part in &pool.partitions {
            let kind = part.partition_kind.to_uppercase();
            row(
                &format!("{kind} share price"),
                format!("{:.6} sat", part.share_price_sats),
            );
            row(&format!("{kind} NAV"), sats(part.nav_msats));
            row(&format!("{kind} LPs"), part.lp_count.to_string());
            row(&format!("{kind} deposits"), sats(part.deposits_msats));
            row(&format!("{kind} withdrawals"), sats(part.withdrawals_msats));
            row(&format!("{kind} income"), sats(part.income_msats));
        }
        match &pool.latest_snapshot {
            Some(s) => row(
                "Latest proof snapshot",
                format!(
                    "#{} at {}: liabilities {}, root {}",
                    s.snapshot_seq,
                    s.taken_at,
                    sats(s.liabilities_msats),
                    s.merkle_root
                ),
            ),
            None => row("Latest proof snapshot", "none yet".to_owned()),
        }
    }
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>sluice stats</title>
<style>body{{font-family:sans-serif;margin:2em;color:#222}}table{{border-collapse:collapse}}th{{text-align:left;padding:.2em 1.5em .2em 0;font-weight:normal;color:#555}}td{{font-variant-numeric:tabular-nums}}</style>
</head><body>
<h1>sluice</h1>
<p>As of {generated} (refreshed every {cache} s).</p>
<table id="figures">{rows}</table>
<h2>Forwarding fees per hour, last 24 hours</h2>
{chart}
</body></html>
"#,
        generated = escape(&stats.generated_at),
        cache = stats.cache_secs,
        rows = rows.concat(),
        chart = fees_chart(&stats.routing.hourly),
    )
}
