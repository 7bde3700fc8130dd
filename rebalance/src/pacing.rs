//! Pacing per channel being refilled: the amount of its next attempt adapts (halved
//! after a failure, down to a floor; half as much again after a success, up to a cap),
//! and it waits a cooldown between attempts that doubles with each failure in a row, up
//! to a ceiling, and drops back after a success. A channel no route can refill is then
//! tried less and less often, and with less, instead of every tick.

use serde::{Deserialize, Serialize};

/// The pacing settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pacing {
    /// The first attempt's amount, msat.
    pub start_msat: u64,
    /// The least an attempt moves, msat.
    pub min_msat: u64,
    /// The most an attempt moves, msat.
    pub max_msat: u64,
    /// The wait after an attempt, ms.
    pub cooldown_ms: u64,
    /// The longest wait after failures in a row, ms.
    pub max_cooldown_ms: u64,
}

/// One channel's pace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pace {
    /// The next attempt's amount, msat.
    pub amount_msat: u64,
    /// Failures in a row.
    pub failures: u32,
    /// No attempt before this, ms since the Unix epoch.
    pub next_at_ms: u64,
}

impl Pacing {
    /// The settings checked.
    pub fn check(&self) -> Result<(), String> {
        if self.min_msat == 0 || self.min_msat > self.start_msat || self.start_msat > self.max_msat
        {
            return Err(format!(
                "amounts must have 0 < min <= start <= max, got {} <= {} <= {} msat",
                self.min_msat, self.start_msat, self.max_msat
            ));
        }
        if self.cooldown_ms > self.max_cooldown_ms {
            return Err("the cooldown must not exceed its ceiling".into());
        }
        Ok(())
    }

    /// A channel not tried yet: the starting amount, ready now.
    pub fn fresh(&self) -> Pace {
        Pace {
            amount_msat: self.start_msat,
            failures: 0,
            next_at_ms: 0,
        }
    }

    /// After an attempt that moved its amount at `now_ms`.
    pub fn succeeded(&self, pace: Pace, now_ms: u64) -> Pace {
        let grown = pace.amount_msat.saturating_add(pace.amount_msat / 2);
        Pace {
            amount_msat: grown.clamp(self.min_msat, self.max_msat),
            failures: 0,
            next_at_ms: now_ms.saturating_add(self.cooldown_ms),
        }
    }

    /// After an attempt that failed at `now_ms`.
    pub fn failed(&self, pace: Pace, now_ms: u64) -> Pace {
        let failures = pace.failures.saturating_add(1);
        let doublings = (failures - 1).min(32);
        let wait = self
            .cooldown_ms
            .saturating_mul(1u64 << doublings)
            .min(self.max_cooldown_ms);
        Pace {
            amount_msat: (pace.amount_msat / 2).clamp(self.min_msat, self.max_msat),
            failures,
            next_at_ms: now_ms.saturating_add(wait),
        }
    }
}

impl Pace {
    /// Whether an attempt may start at `now_ms`.
    pub fn ready(&self, now_ms: u64) -> bool {
        now_ms >= self.next_at_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PACING: Pacing = Pacing {
        start_msat: 100_000,
        min_msat: 10_000,
        max_msat: 400_000,
        cooldown_ms: 1_000,
        max_cooldown_ms: 8_000,
    };

    #[test]
    fn failures_shrink_the_amount_and_back_off_success_grows_and_resets() {
        let mut pace = PACING.fresh();
        assert!(pace.ready(0));
        let mut waits = Vec::new();
        for now in [0, 10, 20, 30, 40, 50] {
            pace = PACING.failed(pace, now);
            waits.push(pace.next_at_ms - now);
        }
        assert_eq!(waits, [1_000, 2_000, 4_000, 8_000, 8_000, 8_000]);
        assert_eq!(pace.amount_msat, 10_000, "floored");
        assert!(!pace.ready(pace.next_at_ms - 1));
        for _ in 0..10 {
            pace = PACING.succeeded(pace, 100);
        }
        assert_eq!(
            (pace.amount_msat, pace.failures, pace.next_at_ms),
            (400_000, 0, 1_100)
        );
    }

    #[test]
    fn bad_pacing_is_refused() {
        assert!(PACING.check().is_ok());
        assert!(Pacing {
            min_msat: 0,
            ..PACING
        }
        .check()
        .is_err());
        assert!(Pacing {
            start_msat: 500_000,
            ..PACING
        }
        .check()
        .is_err());
        assert!(Pacing {
            cooldown_ms: 9_000,
            ..PACING
        }
        .check()
        .is_err());
    }
}
