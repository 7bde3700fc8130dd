//! The rebalancer routes' answers (`sluice_api_types::rebalancer`), built from what the
//! Rebalancer actor reports, or, for a node without a `[rebalancer]` section, the answer
//! that says it does not rebalance; and a channel's settings between the wire and the
//! store.

use sluice_actors::rebalance::history::Totals;
use sluice_actors::rebalance::{ChannelStatus, RebalancerConfig, RebalancerStatus};
use sluice_api_types::{
    BandView, PlannedRebalance, RebalanceBudget, RebalanceChannel, RebalanceChannelSettings,
    RebalanceTotals, RebalanceView, RebalancerHalt, RebalancerSettings, RebalancerStatusResponse,
    REBALANCER_STATUS_RESPONSE_SCHEMA,
};
use sluice_rebalance::{Band, Budget, Eligibility, Place, Step};
use sluice_storage::{RebalanceChannelRecord, RebalanceRecord, RebalanceState, StoredBand};

/// Why a node without a `[rebalancer]` section rebalances nothing.
pub const DISABLED_NOTE: &str = "no [rebalancer] section: the node does not rebalance";

/// The rebalancer's state on the wire.
pub fn status(status: RebalancerStatus) -> RebalancerStatusResponse {
    RebalancerStatusResponse {
        schema: REBALANCER_STATUS_RESPONSE_SCHEMA.to_owned(),
        enabled: true,
        dry_run: status.config.dry_run,
        halted: status.halted.map(|h| RebalancerHalt {
            reason: h.reason,
            at_ms: h.at_ms,
        }),
        settings: Some(settings(&status.config)),
        budget: Some(budget(&status.budget)),
        totals: totals(status.totals),
        channels: status.channels.into_iter().map(channel).collect(),
        plan: status.plan.into_iter().map(planned).collect(),
        recent: status.recent.into_iter().map(rebalance).collect(),
        note: status.note,
    }
}

/// The answer of a node without a `[rebalancer]` section: no settings, no budget,
/// nothing planned or done.
pub fn disabled() -> RebalancerStatusResponse {
    RebalancerStatusResponse {
        schema: REBALANCER_STATUS_RESPONSE_SCHEMA.to_owned(),
        enabled: false,
        dry_run: false,
        halted: None,
        settings: None,
        budget: None,
        totals: RebalanceTotals::default(),
        channels: Vec::new(),
        plan: Vec::new(),
        recent: Vec::new(),
        note: Some(DISABLED_NOTE.to_owned()),
    }
}

/// Channel `channel_id`'s (lowercase hex) settings as the store keeps them, set at
/// `now_ms`.
pub fn channel_record(
    channel_id: String,
    settings: RebalanceChannelSettings,
    now_ms: u64,
) -> RebalanceChannelRecord {
    RebalanceChannelRecord {
        channel_id,
        opted_out: settings.opted_out,
        committed: settings.committed,
        band: settings.band.map(|b| StoredBand {
            min_ppm: b.min_ppm,
            max_ppm: b.max_ppm,
            deadband_ppm: b.deadband_ppm,
        }),
        updated_at_ms: now_ms,
    }
}

/// A channel's stored settings on the wire.
pub fn channel_settings(record: RebalanceChannelRecord) -> RebalanceChannelSettings {
    RebalanceChannelSettings {
        opted_out: record.opted_out,
        committed: record.committed,
        band: record.band.map(|b| BandView {
            min_ppm: b.min_ppm,
            max_ppm: b.max_ppm,
            deadband_ppm: b.deadband_ppm,
        }),
    }
}

fn band(band: Band) -> BandView {
    BandView {
        min_ppm: band.min_ppm,
        max_ppm: band.max_ppm,
        deadband_ppm: band.deadband_ppm,
    }
}

fn secs(duration: std::time::Duration) -> u64 {
    duration.as_secs()
}

fn settings(config: &RebalancerConfig) -> RebalancerSettings {
    RebalancerSettings {
        default_band: band(config.default_band),
        max_fee_msat: config.ceiling.max_fee_msat,
        max_fee_ppm: config.ceiling.max_fee_ppm,
        daily_budget_msat: config.daily_budget_msat,
        cost_to_earn_max_ppm: config.cost_to_earn.max_ratio_ppm,
        cost_to_earn_allowance_msat: config.cost_to_earn.allowance_msat,
        earnings_window_secs: secs(config.earnings_window),
        tick_secs: secs(config.tick),
        start_msat: config.pacing.start_msat,
        min_msat: config.pacing.min_msat,
        max_msat: config.pacing.max_msat,
        cooldown_ms: config.pacing.cooldown_ms,
        max_cooldown_ms: config.pacing.max_cooldown_ms,
        attempt_timeout_secs: secs(config.attempt_timeout),
    }
}

fn budget(budget: &Budget) -> RebalanceBudget {
    RebalanceBudget {
        daily_msat: budget.daily_msat,
        rrp_available_msat: budget.rrp_available_msat,
        spent_24h_msat: budget.spent_24h_msat,
        left_msat: budget.left_msat(),
    }
}

fn totals(totals: Totals) -> RebalanceTotals {
    RebalanceTotals {
        attempts: totals.attempts,
        succeeded: totals.succeeded,
        failed: totals.failed,
        fees_paid_msat: totals.fees_paid_msat,
        moved_msat: totals.moved_msat,
    }
}

/// `short`, `inside` or `over`, and how far from the band's target.
fn place(place: Place) -> (&'static str, u64) {
    match place {
        Place::Short(by) => ("short", by),
        Place::Inside => ("inside", 0),
        Place::Over(by) => ("over", by),
    }
}

fn eligibility(eligibility: Eligibility) -> &'static str {
    match eligibility {
        Eligibility::Eligible => "eligible",
        Eligibility::OptedOut => "opted_out",
        Eligibility::Jit => "jit",
        Eligibility::Committed => "committed",
        Eligibility::Unusable => "unusable",
    }
}

fn channel(status: ChannelStatus) -> RebalanceChannel {
    let (place, off_by_msat) = place(status.place);
    let view = status.view;
    RebalanceChannel {
        channel_id: view.channel_id,
        peer: view.peer,
        capacity_msat: view.capacity_msat,
        local_msat: view.local_msat,
        band: band(view.band),
        place: place.to_owned(),
        off_by_msat,
        eligibility: eligibility(view.eligibility).to_owned(),
        next_amount_msat: status.pace.map(|p| p.amount_msat),
        failures: status.pace.map_or(0, |p| p.failures),
        next_at_ms: status.pace.map_or(0, |p| p.next_at_ms),
        peer_earned_msat: status.peer_earned_msat,
        peer_spent_msat: status.peer_spent_msat,
    }
}

fn planned(step: Step) -> PlannedRebalance {
    PlannedRebalance {
        from_channel: step.planned.from,
        to_channel: step.planned.to,
        amount_msat: step.amount_msat,
        max_fee_msat: step.max_fee_msat,
        verdict: step.verdict.as_str().to_owned(),
    }
}

fn state(state: RebalanceState) -> &'static str {
    match state {
        RebalanceState::Pending => "pending",
        RebalanceState::Succeeded => "succeeded",
        RebalanceState::Failed => "failed",
    }
}

fn rebalance(record: RebalanceRecord) -> RebalanceView {
    RebalanceView {
        id: record.id,
        from_channel: record.from_channel,
        to_channel: record.to_channel,
        to_peer: record.to_peer,
        amount_msat: record.amount_msat,
        max_fee_msat: record.max_fee_msat,
        fee_paid_msat: record.fee_paid_msat,
        state: state(record.state).to_owned(),
        failure: record.failure,
        booked_msat: record.booked_msat,
        receipt_id: record.receipt_id,
        started_at_ms: record.started_at_ms,
        ended_at_ms: record.ended_at_ms,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use serde_json::json;
    use sluice_actors::rebalance::config::DEFAULT_BAND;
    use sluice_rebalance::{ChannelView, Move, Pace, Verdict};
    use sluice_storage::RebalancerControlRecord;

    use super::*;

    #[test]
    fn without_a_section_nothing_is_rebalanced() {
        assert_eq!(
            serde_json::to_value(disabled()).unwrap(),
            json!({
                "schema": "openagents.liquidity.rebalancer_status.v1",
                "enabled": false,
                "dry_run": false,
                "totals": {
                    "attempts": 0,
                    "succeeded": 0,
                    "failed": 0,
                    "fees_paid_msat": 0,
                    "moved_msat": 0,
                },
                "channels": [],
                "plan": [],
                "recent": [],
                "note": "no [rebalancer] section: the node does not rebalance",
            })
        );
    }

    fn view(channel_id: &str, eligibility: Eligibility) -> ChannelView {
        ChannelView {
            channel_id: channel_id.into(),
            peer: "02aa".into(),
            capacity_msat: 1_000_000_000,
            local_msat: 100_000_000,
            band: DEFAULT_BAND,
            eligibility,
        }
    }

    fn record(id: &str, state: RebalanceState) -> RebalanceRecord {
        RebalanceRecord {
            id: id.into(),
            payment_id: "pp".into(),
            from_channel: "c2".into(),
            to_channel: "c1".into(),
            to_peer: "02aa".into(),
            amount_msat: 50_000_000,
            max_fee_msat: 50_000,
            fee_paid_msat: (state == RebalanceState::Succeeded).then_some(1_200),
            booked_msat: (state == RebalanceState::Succeeded).then_some(1_200),
            pool_id: Some("main".into()),
            state,
            failure: (state == RebalanceState::Failed).then(|| "no route".to_owned()),
            receipt_id: (state != RebalanceState::Pending).then(|| "rcpt_1".to_owned()),
            started_at_ms: 1_000,
            ended_at_ms: (state != RebalanceState::Pending).then_some(2_000),
        }
    }

    #[test]
    fn a_running_rebalancer_shows_its_channels_plan_and_rebalances() {
        let config = RebalancerConfig {
            dry_run: true,
            ..RebalancerConfig::default()
        };
        let answer = status(RebalancerStatus {
            config,
            halted: Some(RebalancerControlRecord {
                halted: true,
                reason: "maintenance".into(),
                at_ms: 7,
            }),
            budget: Budget {
                daily_msat: 20_000_000,
                rrp_available_msat: 5_000_000,
                spent_24h_msat: 1_000_000,
                in_flight_msat: 50_000,
            },
            totals: Totals {
                attempts: 3,
                succeeded: 1,
                failed: 1,
                fees_paid_msat: 1_200,
                moved_msat: 50_000_000,
            },
            channels: vec![
                ChannelStatus {
                    view: view("c1", Eligibility::Eligible),
                    place: Place::Short(200_000_000),
                    pace: Some(Pace {
                        amount_msat: 50_000_000,
                        failures: 2,
                        next_at_ms: 9_000,
                    }),
                    peer_earned_msat: 10,
                    peer_spent_msat: 1_200,
                },
                ChannelStatus {
                    view: view("c2", Eligibility::OptedOut),
                    place: Place::Over(5),
                    pace: None,
                    peer_earned_msat: 0,
                    peer_spent_msat: 0,
                },
                ChannelStatus {
                    view: view("c3", Eligibility::Jit),
                    place: Place::Inside,
                    pace: None,
                    peer_earned_msat: 0,
                    peer_spent_msat: 0,
                },
            ],
            plan: vec![Step {
                planned: Move {
                    from: "c2".into(),
                    to: "c1".into(),
                    to_peer: "02aa".into(),
                    amount_msat: 200_000_000,
                },
                amount_msat: 50_000_000,
                max_fee_msat: 50_000,
                verdict: Verdict::OverCostToEarn,
            }],
            recent: vec![
                record("r3", RebalanceState::Pending),
                record("r2", RebalanceState::Failed),
                record("r1", RebalanceState::Succeeded),
            ],
            note: None,
        });
        assert!(answer.enabled && answer.dry_run);
        assert_eq!(answer.note, None);
        assert_eq!(
            answer.halted,
            Some(RebalancerHalt {
                reason: "maintenance".into(),
                at_ms: 7
            })
        );
        let settings = answer.settings.unwrap();
        assert_eq!(settings.default_band.min_ppm, DEFAULT_BAND.min_ppm);
        assert_eq!(settings.tick_secs, config.tick.as_secs());
        assert_eq!(settings.daily_budget_msat, config.daily_budget_msat);
        assert_eq!(settings.start_msat, config.pacing.start_msat);
        // What is left: the day's 19,000 sat against the 4,950 sat RRP holds beyond
        // what is in flight.
        assert_eq!(answer.budget.unwrap().left_msat, 4_950_000);
        assert_eq!(answer.totals.attempts, 3);
        let places: Vec<_> = answer
            .channels
            .iter()
            .map(|c| (c.place.as_str(), c.off_by_msat, c.eligibility.as_str()))
            .collect();
        assert_eq!(
            places,
            [
                ("short", 200_000_000, "eligible"),
                ("over", 5, "opted_out"),
                ("inside", 0, "jit")
            ]
        );
        let c1 = &answer.channels[0];
        assert_eq!(
            (c1.next_amount_msat, c1.failures, c1.next_at_ms),
            (Some(50_000_000), 2, 9_000)
        );
        assert_eq!(
            (
                answer.channels[1].next_amount_msat,
                answer.channels[1].next_at_ms
            ),
            (None, 0)
        );
        assert_eq!(answer.plan[0].verdict, "over_cost_to_earn");
        assert_eq!(
            (
                answer.plan[0].from_channel.as_str(),
                answer.plan[0].amount_msat
            ),
            ("c2", 50_000_000)
        );
        let states: Vec<_> = answer.recent.iter().map(|r| r.state.as_str()).collect();
        assert_eq!(states, ["pending", "failed", "succeeded"]);
        assert_eq!(answer.recent[1].failure.as_deref(), Some("no route"));
        assert_eq!(answer.recent[2].fee_paid_msat, Some(1_200));
    }

    #[test]
    fn channel_settings_go_to_the_store_and_back() {
        let settings = RebalanceChannelSettings {
            opted_out: false,
            committed: true,
            band: Some(BandView {
                min_ppm: 100_000,
                max_ppm: 900_000,
                deadband_ppm: 50_000,
            }),
        };
        let record = channel_record("ab".repeat(32), settings.clone(), 42);
        assert_eq!(record.channel_id, "ab".repeat(32));
        assert_eq!(record.updated_at_ms, 42);
        assert_eq!(
            record.band.map(|b| (b.min_ppm, b.max_ppm, b.deadband_ppm)),
            Some((100_000, 900_000, 50_000))
        );
        assert_eq!(channel_settings(record), settings);
    }
}
