//! The `/stats` page: the same figures as the JSON, as one self-contained HTML document
//! (no scripts, no external assets): the figures, the credit envelopes' block (open,
//! reserved, loss rate, both breakers) and an inline SVG bar chart of the last 24 hours'
//! forwarding fees.
//!
//! Drawn by hand: one bar chart with a few labels is shorter to write than to configure a
//! plotting crate for (plotters lays out text through a font backend, which means either
//! system fonts or a bundled font file).

use std::fmt::Write;

use crate::types::{CreditStats, HourStats, StatsResponse};

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

/// `bps` as a percentage with the `count` of `sample` it is, or "—" without a sample.
fn rate(bps: u32, count: u32, sample: u32) -> String {
    if sample == 0 {
        return percent(None);
    }
    format!(
        "{} ({count} of {sample})",
        percent(Some(f64::from(bps) / 10_000.0))
    )
}

/// One table row, escaped.
fn table_row(name: &str, value: &str) -> String {
    format!(
        "<tr><th>{}</th><td>{}</td></tr>",
        escape(name),
        escape(value)
    )
}

/// The credit envelopes' block: what they hold, their losses and both breakers.
fn credit_rows(credit: &CreditStats) -> String {
    let breaker = |tripped: bool, held: &str| {
        if tripped {
            format!("tripped: {held}")
        } else {
            "closed".to_owned()
        }
    };
    [
        ("Open envelopes", credit.open_envelopes.to_string()),
        ("Reserved", sats(credit.reserved_msats)),
        (
            "Loss rate",
            rate(credit.loss_rate_bps, credit.loss_count, credit.loss_sample),
        ),
        (
            "Loss breaker",
            breaker(credit.halt_new_envelopes, "no new envelopes"),
        ),
        (
            "Lightning failure rate",
            rate(
                credit.ln_failure_rate_bps,
                credit.ln_failed_count,
                credit.ln_sample,
            ),
        ),
        (
            "Lightning breaker",
            breaker(
                credit.hold_large_settlements,
                &format!(
                    "settlements above {} wait",
                    sats(credit.large_settlement_sats.saturating_mul(1000))
                ),
            ),
        ),
    ]
    .iter()
    .map(|(name, value)| table_row(name, value))
    .collect()
}

/// The whole page.
pub fn render(stats: &StatsResponse) -> String {
    let mut rows = Vec::new();
    let mut row = |name: &str, value: String| rows.push(table_row(name, &value));
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
            let lends = part.receivables_msats > 0
                || part.credit_fees_msats > 0
                || part.credit_losses_msats > 0;
            if part.partition_kind == "cep" || lends {
                row(&format!("{kind} receivables"), sats(part.receivables_msats));
                row(&format!("{kind} credit fees"), sats(part.credit_fees_msats));
                row(
                    &format!("{kind} credit losses"),
                    sats(part.credit_losses_msats),
                );
            }
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
<h2>Credit</h2>
<table id="credit">{credit}</table>
<h2>Forwarding fees per hour, last 24 hours</h2>
{chart}
</body></html>
"#,
        generated = escape(&stats.generated_at),
        cache = stats.cache_secs,
        rows = rows.concat(),
        credit = credit_rows(&stats.credit),
        chart = fees_chart(&stats.routing.hourly),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{
        ChannelStats, LiquidityStats, PartitionStats, PaymentStats, PoolStats, RoutingStats,
        SharePrice,
    };

    fn partition(kind: &str, receivables_msats: u64) -> PartitionStats {
        PartitionStats {
            partition_kind: kind.to_owned(),
            nav_msats: 10_000_000,
            share_price_sats: 1.0,
            share_price: SharePrice {
                msat: "1000".to_owned(),
                units: "1".to_owned(),
            },
            lp_count: 1,
            deposits_msats: 10_000_000,
            withdrawals_msats: 0,
            income_msats: 0,
            receivables_msats,
            credit_fees_msats: if receivables_msats > 0 { 150_000 } else { 0 },
            credit_losses_msats: if receivables_msats > 0 { 42_000 } else { 0 },
        }
    }

    fn stats(credit: CreditStats) -> StatsResponse {
        StatsResponse {
            schema: crate::types::STATS_SCHEMA.to_owned(),
            generated_at: "2026-01-01T00:00:00.000Z".to_owned(),
            generated_at_ms: 1_767_225_600_000,
            cache_secs: 60,
            liquidity: LiquidityStats {
                total_msats: 0,
                onchain_msats: 0,
                channels_outbound_msats: 0,
                channels_inbound_msats: 0,
                channels_locked_msats: 0,
            },
            channels: ChannelStats {
                open: 0,
                usable: 0,
                peers_connected: 0,
                outbound_ratio: None,
            },
            routing: RoutingStats {
                forwards_24h: 0,
                fees_24h_msats: 0,
                jit_fees_24h_msats: 0,
                hourly: Vec::new(),
            },
            payments: PaymentStats {
                sample: 0,
                succeeded: 0,
                failed: 0,
                pending: 0,
                success_rate: None,
            },
            pool: Some(PoolStats {
                pool_id: "main".to_owned(),
                nav_msats: 20_000_000,
                drift_msats: 0,
                partitions: vec![partition("llp", 0), partition("cep", 7_000_000)],
                latest_snapshot: None,
            }),
            credit,
        }
    }

    #[test]
    fn shows_the_credit_block_and_the_cep_receivables() {
        let page = render(&stats(CreditStats {
            open_envelopes: 0,
            reserved_msats: 0,
            loss_sample: 0,
            loss_count: 0,
            loss_rate_bps: 0,
            halt_new_envelopes: false,
            ln_sample: 30,
            ln_failed_count: 12,
            ln_failure_rate_bps: 4_000,
            hold_large_settlements: true,
            large_settlement_sats: 25_000,
        }));
        for shown in [
            "<table id=\"credit\">",
            "<tr><th>Open envelopes</th><td>0</td></tr>",
            "<tr><th>Reserved</th><td>0 sat</td></tr>",
            "<tr><th>Loss rate</th><td>—</td></tr>",
            "<tr><th>Loss breaker</th><td>closed</td></tr>",
            "<tr><th>Lightning failure rate</th><td>40.0 % (12 of 30)</td></tr>",
            "<tr><th>Lightning breaker</th><td>tripped: settlements above 25,000 sat wait</td></tr>",
            "<tr><th>CEP receivables</th><td>7,000 sat</td></tr>",
            "<tr><th>CEP credit fees</th><td>150 sat</td></tr>",
            "<tr><th>CEP credit losses</th><td>42 sat</td></tr>",
        ] {
            assert!(page.contains(shown), "{shown} in {page}");
        }
        // The LLP lends nothing: no credit rows for it.
        assert!(!page.contains("LLP receivables"), "{page}");
    }
}
