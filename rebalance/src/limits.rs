//! The hard limits on what a rebalance may cost: a fee ceiling per attempt (the lower of
//! an absolute amount and a rate, static — never the peer's current fee, which a peer
//! could raise to drain the budget), the day's budget (a rolling 24 hours, never more
//! than the RRP partition holds), and the cost-to-earn ratio of each peer (fees spent
//! refilling its channels over a window, against what forwarding through them earned).
//! An attempt is admitted only if its whole fee ceiling fits every limit, so a payment
//! that pays its worst case still stays inside them.

use serde::{Deserialize, Serialize};

use crate::band::share;

/// The most one rebalance may pay in fees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeeCeiling {
    /// Absolute ceiling, msat.
    pub max_fee_msat: u64,
    /// Rate ceiling, ppm of the amount moved.
    pub max_fee_ppm: u32,
}

impl FeeCeiling {
    /// The ceiling for moving `amount_msat`: the lower of the two.
    pub fn for_amount(&self, amount_msat: u64) -> u64 {
        self.max_fee_msat.min(share(amount_msat, self.max_fee_ppm))
    }
}

/// The day's budget: what the last 24 hours spent may not pass the daily cap, and what
/// is in flight may not pass what the RRP partition still holds (fees already paid were
/// booked to it, so they are out of its assets already).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// The most the rebalancer may spend in any 24 hours, msat.
    pub daily_msat: u64,
    /// What the RRP partition holds now, msat: rebalances are its cost.
    pub rrp_available_msat: u64,
    /// Fees of the last 24 hours, msat: those paid, and the ceilings of rebalances in
    /// flight.
    pub spent_24h_msat: u64,
    /// The ceilings of rebalances in flight, msat (not booked yet).
    pub in_flight_msat: u64,
}

impl Budget {
    /// What is left to spend now.
    pub fn left_msat(&self) -> u64 {
        let day = self.daily_msat.saturating_sub(self.spent_24h_msat);
        let rrp = self.rrp_available_msat.saturating_sub(self.in_flight_msat);
        day.min(rrp)
    }
}

/// The cost-to-earn rule of one peer's channels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CostToEarn {
    /// Fees spent refilling the peer's channels may be at most this share of what
    /// forwarding through them earned over the window, ppm (500,000: half).
    pub max_ratio_ppm: u32,
    /// Fees that may be spent on a peer whatever it earned, msat: what lets a new or
    /// idle channel be refilled at all. 0 ties every sat spent to earnings.
    pub allowance_msat: u64,
}

impl CostToEarn {
    /// What may still be spent on a peer that earned `earned_msat` and cost
    /// `spent_msat` over the window.
    pub fn room_msat(&self, earned_msat: u64, spent_msat: u64) -> u64 {
        share(earned_msat, self.max_ratio_ppm)
            .saturating_add(self.allowance_msat)
            .saturating_sub(spent_msat)
    }
}

/// Why an attempt was not admitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The fee ceiling of the amount is zero: nothing could pay a route.
    NoFeeRoom,
    /// The day's budget cannot cover the fee ceiling.
    OverBudget {
        /// What is left, msat.
        left_msat: u64,
        /// The fee ceiling, msat.
        needed_msat: u64,
    },
    /// The peer's cost-to-earn rule cannot cover the fee ceiling.
    OverCostToEarn {
        /// What the rule leaves, msat.
        room_msat: u64,
        /// The fee ceiling, msat.
        needed_msat: u64,
    },
}

/// Admits an attempt whose fee ceiling is `fee_msat` if the budget (`left_msat`) and the
/// peer's cost-to-earn room (`room_msat`) both cover it whole.
pub fn admit(fee_msat: u64, left_msat: u64, room_msat: u64) -> Result<(), Refusal> {
    if fee_msat == 0 {
        return Err(Refusal::NoFeeRoom);
    }
    if fee_msat > left_msat {
        return Err(Refusal::OverBudget {
            left_msat,
            needed_msat: fee_msat,
        });
    }
    if fee_msat > room_msat {
        return Err(Refusal::OverCostToEarn {
            room_msat,
            needed_msat: fee_msat,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_lower_ceiling_applies() {
        let ceiling = FeeCeiling {
            max_fee_msat: 5_000,
            max_fee_ppm: 1_000,
        };
        assert_eq!(ceiling.for_amount(1_000_000), 1_000);
        assert_eq!(ceiling.for_amount(100_000_000), 5_000);
    }

    #[test]
    fn the_budget_is_the_lower_of_the_cap_and_the_partition() {
        let budget = Budget {
            daily_msat: 10_000,
            rrp_available_msat: 4_000,
            spent_24h_msat: 1_000,
            in_flight_msat: 500,
        };
        assert_eq!(budget.left_msat(), 3_500, "RRP less what is in flight");
        let spent = Budget {
            spent_24h_msat: 9_000,
            ..budget
        };
        assert_eq!(spent.left_msat(), 1_000, "the day's cap less what it spent");
        let over = Budget {
            spent_24h_msat: 20_000,
            ..budget
        };
        assert_eq!(over.left_msat(), 0);
    }

    #[test]
    fn a_peer_may_cost_a_share_of_what_it_earned_plus_the_allowance() {
        let rule = CostToEarn {
            max_ratio_ppm: 500_000,
            allowance_msat: 1_000,
        };
        assert_eq!(rule.room_msat(10_000, 0), 6_000);
        assert_eq!(rule.room_msat(10_000, 5_500), 500);
        assert_eq!(rule.room_msat(0, 2_000), 0);
    }

    #[test]
    fn an_attempt_needs_room_for_its_whole_ceiling() {
        assert_eq!(admit(100, 100, 100), Ok(()));
        assert_eq!(admit(0, 100, 100), Err(Refusal::NoFeeRoom));
        assert!(matches!(
            admit(101, 100, 500),
            Err(Refusal::OverBudget { .. })
        ));
        assert!(matches!(
            admit(101, 500, 100),
            Err(Refusal::OverCostToEarn { .. })
        ));
    }

    proptest! {
        /// Spending each admitted ceiling whole never takes the spend past the budget or
        /// a peer's room.
        #[test]
        fn admitted_spend_stays_inside_every_limit(
            daily in 0u64..1_000_000,
            rrp in 0u64..1_000_000,
            earned in 0u64..1_000_000,
            fees in proptest::collection::vec(1u64..50_000, 1..40),
        ) {
            let rule = CostToEarn { max_ratio_ppm: 300_000, allowance_msat: 2_000 };
            // Each admitted fee is paid and booked to RRP, which then holds that much less.
            let mut spent = 0u64;
            for fee in fees {
                let budget = Budget {
                    daily_msat: daily,
                    rrp_available_msat: rrp - spent,
                    spent_24h_msat: spent,
                    in_flight_msat: 0,
                };
                if admit(fee, budget.left_msat(), rule.room_msat(earned, spent)).is_ok() {
                    spent += fee;
                }
            }
            prop_assert!(spent <= daily.min(rrp));
            prop_assert!(spent <= share(earned, 300_000) + 2_000);
        }
    }
}
