//! The figures behind `GET /stats` (`sluice_api_types::stats`), gathered from the node's
//! real state: the wallet and channels (liquidity, channel health), the forwarding tally
//! of the last 24 hours (routing income), the most recent outgoing payments (success
//! rate), the pool actor (NAV, share prices, flows, receivables, the latest proof
//! snapshot) and the envelope ledger (live envelopes, reservations, both credit breakers).
//!
//! Gathering reads up to a day of forwarding buckets and a thousand payment records, so
//! the answer is kept for [`STATS_CACHE`] and concurrent requests wait for one gathering
//! instead of each starting their own.

use std::time::{Duration, Instant};

use sluice_actors::credit::{CreditHealth, CreditMsg};
use sluice_actors::payments::recent;
use sluice_actors::pool::snapshot as pool_snapshot;
use sluice_actors::pool::{AssetDetail, PoolMsg, POOL_TIMEOUT};
use sluice_actors::{Components, NodeError};
use sluice_api::time::rfc3339_ms;
use sluice_api_types::{
    ChannelStats, CreditStats, HourStats, LiquidityStats, PartitionStats, PaymentStats, PoolStats,
    RoutingStats, SharePrice, SnapshotStats, StatsResponse, STATS_SCHEMA,
};
use sluice_credit::breaker;
use sluice_pool::Flow;
use sluice_storage::{ForwardTotalRecord, PoolRecord, KEYS_END};
use tokio::sync::Mutex;

use crate::backend::CREDIT_TIMEOUT;

/// How long one gathering is served.
pub const STATS_CACHE: Duration = Duration::from_secs(60);
/// How many of the most recent outgoing payments the success rate is over.
pub const PAYMENT_SAMPLE: usize = 1_000;
/// The window of the routing figures.
const DAY_MS: u64 = 24 * 3600 * 1000;
const HOUR_MS: u64 = 3600 * 1000;

/// The last gathering and when it was made.
#[derive(Default)]
pub struct StatsCache {
    last: Mutex<Option<(Instant, StatsResponse)>>,
}

impl StatsCache {
    /// The figures: the cached ones if younger than [`STATS_CACHE`], else gathered now.
    pub async fn get(&self, c: &Components) -> Result<StatsResponse, NodeError> {
        let mut last = self.last.lock().await;
        if let Some((at, stats)) = last.as_ref() {
            if at.elapsed() < STATS_CACHE {
                return Ok(stats.clone());
            }
        }
        let stats = gather(c).await?;
        *last = Some((Instant::now(), stats.clone()));
        Ok(stats)
    }
}

async fn gather(c: &Components) -> Result<StatsResponse, NodeError> {
    let now = sluice_actors::clock::unix_ms();
    let channels = c.channel_manager.list_channels();
    let totals = AssetDetail::now(c).totals();
    let inbound: u64 = channels.iter().map(|ch| ch.inbound_capacity_msat).sum();
    let liquidity = LiquidityStats {
        total_msats: totals.total_msat(),
        onchain_msats: totals.onchain_msat,
        channels_outbound_msats: totals.channels_spendable_msat,
        channels_inbound_msats: inbound,
        channels_locked_msats: totals
            .channels_reserve_msat
            .saturating_add(totals.htlcs_in_flight_msat),
    };
    let outbound = totals.channels_spendable_msat;
    let capacity = outbound.saturating_add(inbound);
    let channel_stats = ChannelStats {
        open: channels.len() as u64,
        usable: channels.iter().filter(|ch| ch.is_usable).count() as u64,
        peers_connected: c.peer_manager.list_peers().len() as u64,
        outbound_ratio: (capacity > 0).then(|| outbound as f64 / capacity as f64),
    };
    Ok(StatsResponse {
        schema: STATS_SCHEMA.to_owned(),
        generated_at: rfc3339_ms(now),
        generated_at_ms: now,
        cache_secs: STATS_CACHE.as_secs(),
        liquidity,
        channels: channel_stats,
        routing: routing(c, now).await?,
        payments: payments(c).await?,
        pool: pool(c).await?,
        credit: credit(c).await?,
    })
}

/// The forwarding buckets of the last 24 hours, totalled and per hour.
async fn routing(c: &Components, now: u64) -> Result<RoutingStats, NodeError> {
    let first_hour = (now - now % HOUR_MS).saturating_sub(DAY_MS - HOUR_MS);
    let buckets = (DAY_MS / ForwardTotalRecord::BUCKET_MS) as usize + 1;
    let records = c
        .store
        .range::<ForwardTotalRecord>(
            ForwardTotalRecord::table_key(first_hour),
            KEYS_END,
            buckets,
            false,
        )
        .await?;
    let mut hourly: Vec<HourStats> = (0..24)
        .map(|i| HourStats {
            hour_ms: first_hour + i * HOUR_MS,
            forwards: 0,
            fees_msats: 0,
        })
        .collect();
    let mut stats = RoutingStats {
        forwards_24h: 0,
        fees_24h_msats: 0,
        jit_fees_24h_msats: 0,
        hourly: Vec::new(),
    };
    for (_, record) in records {
        let hour = ((record.bucket_ms.saturating_sub(first_hour)) / HOUR_MS) as usize;
        let Some(slot) = hourly.get_mut(hour) else {
            continue;
        };
        slot.forwards += record.forwards;
        slot.fees_msats += record.routing_fee_msat + record.jit_fee_msat;
        stats.forwards_24h += record.forwards;
        stats.fees_24h_msats += record.routing_fee_msat;
        stats.jit_fees_24h_msats += record.jit_fee_msat;
    }
    stats.hourly = hourly;
    Ok(stats)
}

/// The outcomes of the most recent outgoing payments.
async fn payments(c: &Components) -> Result<PaymentStats, NodeError> {
    let recent = recent::recent(&c.store, PAYMENT_SAMPLE).await?;
    let settled = recent.succeeded + recent.failed;
    Ok(PaymentStats {
        sample: recent.sample.into(),
        succeeded: recent.succeeded.into(),
        failed: recent.failed.into(),
        pending: recent.pending.into(),
        success_rate: (settled > 0).then(|| f64::from(recent.succeeded) / f64::from(settled)),
    })
}

/// The node's pool, if it runs one.
async fn pool(c: &Components) -> Result<Option<PoolStats>, NodeError> {
    let Some(record) = c.store.scan::<PoolRecord>("").await?.into_iter().next() else {
        return Ok(None);
    };
    let pool_id = record.pool_id.clone();
    let status = c
        .actors
        .pool
        .call(
            |reply| PoolMsg::Status(pool_id.clone(), reply),
            POOL_TIMEOUT,
        )
        .await??;
    let partitions: Vec<PartitionStats> = status
        .partitions
        .iter()
        .filter(|(kind, p)| record.partitions.contains(kind) || p.assets_msat > 0)
        .map(|(kind, p)| {
            let price = p.book().price();
            PartitionStats {
                partition_kind: kind.as_str().to_owned(),
                nav_msats: p.nav_msat(),
                share_price_sats: price.sats_per_share(),
                share_price: SharePrice {
                    msat: price.msat.to_string(),
                    units: price.units.to_string(),
                },
                lp_count: p.holdings.len() as u64,
                deposits_msats: p.flow_msat(Flow::Deposits),
                withdrawals_msats: p.flow_msat(Flow::Withdrawals),
                income_msats: [Flow::RoutingFees, Flow::JitFees, Flow::CreditFees]
                    .into_iter()
                    .map(|f| p.flow_msat(f))
                    .fold(0, u64::saturating_add),
                receivables_msats: p.receivables_msat,
                credit_fees_msats: p.flow_msat(Flow::CreditFees),
                credit_losses_msats: p.flow_msat(Flow::CreditLosses),
            }
        })
        .collect();
    let latest_snapshot = match pool_snapshot::get(c, &pool_id, None).await {
        Ok(snapshot) => Some(SnapshotStats {
            snapshot_seq: snapshot.record.seq,
            receipt_id: snapshot.record.receipt_id,
            merkle_root: snapshot.receipt["liabilities"]["merkle_root"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            liabilities_msats: snapshot.receipt["liabilities"]["total_msats"]
                .as_u64()
                .unwrap_or_default(),
            taken_at: rfc3339_ms(snapshot.record.taken_at_ms),
        }),
        Err(NodeError::NotFound(_)) => None,
        Err(e) => return Err(e),
    };
    Ok(Some(PoolStats {
        pool_id,
        nav_msats: partitions
            .iter()
            .map(|p| p.nav_msats)
            .fold(0, u64::saturating_add),
        drift_msats: status.node.drift_msat(status.booked_msat),
        partitions,
        latest_snapshot,
    }))
}

/// The envelope ledger's health (the breakers are judged on the way).
async fn credit(c: &Components) -> Result<CreditStats, NodeError> {
    let health = c
        .actors
        .credit
        .call(CreditMsg::Health, CREDIT_TIMEOUT)
        .await??;
    Ok(credit_stats(&health))
}

/// The credit health as `/stats` shows it.
fn credit_stats(health: &CreditHealth) -> CreditStats {
    CreditStats {
        open_envelopes: health.live_envelopes,
        reserved_msats: health.reserved_msat,
        loss_sample: health.loss_window.samples,
        loss_count: health.loss_window.bad,
        loss_rate_bps: health.loss_window.bad_bps(),
        halt_new_envelopes: health.loss_breaker == breaker::State::Tripped,
        ln_sample: health.ln_window.samples,
        ln_failed_count: health.ln_window.bad,
        ln_failure_rate_bps: health.ln_window.bad_bps(),
        hold_large_settlements: health.ln_breaker == breaker::State::Tripped,
        large_settlement_sats: health.config.large_settlement_sats,
    }
}

#[cfg(test)]
mod tests {
    use sluice_actors::credit::CreditConfig;

    use super::*;

    fn health(loss_breaker: breaker::State, ln_breaker: breaker::State) -> CreditHealth {
        CreditHealth {
            live_envelopes: 2,
            reserved_msat: 5_000_000,
            loss_window: breaker::Window {
                samples: 10,
                bad: 6,
            },
            loss_breaker,
            ln_window: breaker::Window {
                samples: 40,
                bad: 13,
            },
            ln_breaker,
            config: CreditConfig {
                large_settlement_sats: 30_000,
                ..CreditConfig::default()
            },
            computed_at_ms: 1_700_000_000_000,
        }
    }

    #[test]
    fn credit_stats_show_the_windows_and_both_breakers() {
        let tripped = credit_stats(&health(breaker::State::Tripped, breaker::State::Tripped));
        assert_eq!(
            tripped,
            CreditStats {
                open_envelopes: 2,
                reserved_msats: 5_000_000,
                loss_sample: 10,
                loss_count: 6,
                loss_rate_bps: 6_000,
                halt_new_envelopes: true,
                ln_sample: 40,
                ln_failed_count: 13,
                ln_failure_rate_bps: 3_250,
                hold_large_settlements: true,
                large_settlement_sats: 30_000,
            }
        );

        let closed = credit_stats(&health(breaker::State::Closed, breaker::State::Closed));
        assert!(!closed.halt_new_envelopes);
        assert!(!closed.hold_large_settlements);
        assert_eq!(
            (closed.loss_rate_bps, closed.ln_failure_rate_bps),
            (6_000, 3_250)
        );

        // Each flag follows its own breaker.
        let loss_only = credit_stats(&health(breaker::State::Tripped, breaker::State::Closed));
        assert!(loss_only.halt_new_envelopes && !loss_only.hold_large_settlements);
        let ln_only = credit_stats(&health(breaker::State::Closed, breaker::State::Tripped));
        assert!(!ln_only.halt_new_envelopes && ln_only.hold_large_settlements);
    }

    #[test]
    fn an_empty_ledger_shows_zero_rates() {
        let stats = credit_stats(&CreditHealth {
            live_envelopes: 0,
            reserved_msat: 0,
            loss_window: breaker::Window::default(),
            loss_breaker: breaker::State::Closed,
            ln_window: breaker::Window::default(),
            ln_breaker: breaker::State::Closed,
            config: CreditConfig::default(),
            computed_at_ms: 0,
        });
        assert_eq!((stats.loss_rate_bps, stats.ln_failure_rate_bps), (0, 0));
        assert_eq!(
            stats.large_settlement_sats,
            CreditConfig::DEFAULT_LARGE_SETTLEMENT_SATS
        );
    }
}
