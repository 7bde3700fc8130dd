//! What to do with each planned move now: the amount of its attempt (the refilled
//! channel's pace, never more than the move needs), its fee ceiling, and a verdict —
//! go, or the first reason it may not. The actor tries the first move that may go; the
//! status shows every verdict, so an operator sees why the rebalancer waits.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::limits::{admit, CostToEarn, FeeCeiling, Refusal};
use crate::pacing::{Pace, Pacing};
use crate::plan::Move;

/// Whether a move may be tried now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// It may.
    Ready,
    /// The operator pulled the kill switch.
    Halted,
    /// Another rebalance is in flight: one at a time, so the budget held back for it
    /// is never spent twice.
    InFlight,
    /// The refilled channel waits out its cooldown.
    CoolingDown,
    /// Its fee ceiling is zero.
    NoFeeRoom,
    /// The day's budget cannot cover its fee ceiling.
    OverBudget,
    /// The refilled channel's peer's cost-to-earn rule cannot cover it.
    OverCostToEarn,
    /// It would go, but the rebalancer only plans (dry run).
    DryRun,
}

impl Verdict {
    /// Its name on the API and in metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Ready => "ready",
            Verdict::Halted => "halted",
            Verdict::InFlight => "in_flight",
            Verdict::CoolingDown => "cooling_down",
            Verdict::NoFeeRoom => "no_fee_room",
            Verdict::OverBudget => "over_budget",
            Verdict::OverCostToEarn => "over_cost_to_earn",
            Verdict::DryRun => "dry_run",
        }
    }
}

/// A planned move with its attempt's amount, fee ceiling and verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The move.
    pub planned: Move,
    /// The attempt's amount, msat.
    pub amount_msat: u64,
    /// The attempt's fee ceiling, msat.
    pub max_fee_msat: u64,
    /// Whether it may go now.
    pub verdict: Verdict,
}

/// Everything a verdict depends on besides the move.
#[derive(Debug, Clone)]
pub struct Situation<'a> {
    /// Pacing settings.
    pub pacing: Pacing,
    /// Each refilled channel's pace so far, by channel id (absent: fresh).
    pub paces: &'a BTreeMap<String, Pace>,
    /// The static fee ceiling.
    pub ceiling: FeeCeiling,
    /// The cost-to-earn rule.
    pub rule: CostToEarn,
    /// What the day's budget has left, msat.
    pub budget_left_msat: u64,
    /// Forwarding fees earned per peer over the window, msat.
    pub earned: &'a BTreeMap<String, u64>,
    /// Rebalance fees spent per peer over the window, msat.
    pub spent: &'a BTreeMap<String, u64>,
    /// Now, ms since the Unix epoch.
    pub now_ms: u64,
    /// Whether a rebalance is in flight.
    pub in_flight: bool,
    /// Whether the kill switch is pulled.
    pub halted: bool,
    /// Whether the rebalancer only plans.
    pub dry_run: bool,
}

/// The steps of `moves` in `situation`, in the moves' order.
pub fn decide(moves: Vec<Move>, situation: &Situation<'_>) -> Vec<Step> {
    moves
        .into_iter()
        .map(|planned| {
            let pace = situation
                .paces
                .get(&planned.to)
                .copied()
                .unwrap_or_else(|| situation.pacing.fresh());
            let amount_msat = planned.amount_msat.min(pace.amount_msat);
            let max_fee_msat = situation.ceiling.for_amount(amount_msat);
            let verdict = verdict(&planned, pace, max_fee_msat, situation);
            Step {
                planned,
                amount_msat,
                max_fee_msat,
                verdict,
            }
        })
        .collect()
}

fn verdict(planned: &Move, pace: Pace, max_fee_msat: u64, s: &Situation<'_>) -> Verdict {
    if s.halted {
        return Verdict::Halted;
    }
    if s.in_flight {
        return Verdict::InFlight;
    }
    if !pace.ready(s.now_ms) {
        return Verdict::CoolingDown;
    }
    let earned = s.earned.get(&planned.to_peer).copied().unwrap_or(0);
    let spent = s.spent.get(&planned.to_peer).copied().unwrap_or(0);
    match admit(
        max_fee_msat,
        s.budget_left_msat,
        s.rule.room_msat(earned, spent),
    ) {
        Err(Refusal::NoFeeRoom) => Verdict::NoFeeRoom,
        Err(Refusal::OverBudget { .. }) => Verdict::OverBudget,
        Err(Refusal::OverCostToEarn { .. }) => Verdict::OverCostToEarn,
        Ok(()) if s.dry_run => Verdict::DryRun,
        Ok(()) => Verdict::Ready,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PACING: Pacing = Pacing {
        start_msat: 100_000_000,
        min_msat: 10_000_000,
        max_msat: 1_000_000_000,
        cooldown_ms: 1_000,
        max_cooldown_ms: 60_000,
    };
    const CEILING: FeeCeiling = FeeCeiling {
        max_fee_msat: 50_000,
        max_fee_ppm: 1_000,
    };
    const RULE: CostToEarn = CostToEarn {
        max_ratio_ppm: 500_000,
        allowance_msat: 100_000,
    };

    fn planned(amount_msat: u64) -> Move {
        Move {
            from: "from".into(),
            to: "to".into(),
            to_peer: "peer".into(),
            amount_msat,
        }
    }

    fn situation<'a>(
        paces: &'a BTreeMap<String, Pace>,
        earned: &'a BTreeMap<String, u64>,
        spent: &'a BTreeMap<String, u64>,
    ) -> Situation<'a> {
        Situation {
            pacing: PACING,
            paces,
            ceiling: CEILING,
            rule: RULE,
            budget_left_msat: 1_000_000,
            earned,
            spent,
            now_ms: 10_000,
            in_flight: false,
            halted: false,
            dry_run: false,
        }
    }

    #[test]
    fn an_attempt_moves_its_pace_at_most_with_the_ceiling_of_that_amount() {
        let (paces, none) = (BTreeMap::new(), BTreeMap::new());
        let s = situation(&paces, &none, &none);
        let steps = decide(vec![planned(500_000_000), planned(30_000_000)], &s);
        assert_eq!(steps[0].amount_msat, 100_000_000, "the fresh pace");
        assert_eq!(
            steps[0].max_fee_msat, 50_000,
            "the absolute ceiling is lower"
        );
        assert_eq!(
            steps[1].amount_msat, 30_000_000,
            "no more than the move needs"
        );
        assert_eq!(steps[1].max_fee_msat, 30_000, "1,000 ppm of it");
        assert!(steps.iter().all(|s| s.verdict == Verdict::Ready));
    }

    #[test]
    fn each_limit_has_its_verdict_in_order() {
        let none = BTreeMap::new();
        let cooling = BTreeMap::from([(
            "to".to_owned(),
            Pace {
                amount_msat: 20_000_000,
                failures: 2,
                next_at_ms: 20_000,
            },
        )]);
        let fresh = BTreeMap::new();
        let base = situation(&fresh, &none, &none);
        let one = |s: &Situation<'_>| decide(vec![planned(100_000_000)], s)[0].verdict;
        assert_eq!(
            one(&Situation {
                halted: true,
                in_flight: true,
                ..base.clone()
            }),
            Verdict::Halted
        );
        assert_eq!(
            one(&Situation {
                in_flight: true,
                ..base.clone()
            }),
            Verdict::InFlight
        );
        assert_eq!(
            one(&situation(&cooling, &none, &none)),
            Verdict::CoolingDown
        );
        assert_eq!(
            one(&Situation {
                budget_left_msat: 49_999,
                ..base.clone()
            }),
            Verdict::OverBudget
        );
        let spent = BTreeMap::from([("peer".to_owned(), 50_001u64)]);
        assert_eq!(
            one(&situation(&fresh, &none, &spent)),
            Verdict::OverCostToEarn
        );
        let earned = BTreeMap::from([("peer".to_owned(), 100_000u64)]);
        assert_eq!(
            one(&situation(&fresh, &earned, &spent)),
            Verdict::Ready,
            "earnings make room"
        );
        assert_eq!(
            one(&Situation {
                dry_run: true,
                ..base.clone()
            }),
            Verdict::DryRun
        );
        let tiny = Situation {
            ceiling: FeeCeiling {
                max_fee_msat: 0,
                max_fee_ppm: 1_000,
            },
            ..base
        };
        assert_eq!(one(&tiny), Verdict::NoFeeRoom);
    }
}
