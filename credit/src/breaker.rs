//! Circuit breakers with a minimum sample and hysteresis (spec §6.3): a breaker trips
//! when the bad share of a window's outcomes reaches `trip_bps` over at least
//! `min_samples` of them, and clears only when it falls to `clear_bps` or below (below
//! the trip level), so a rate hovering at the threshold does not flap.

use serde::{Deserialize, Serialize};

/// A breaker's thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Thresholds {
    /// The fewest outcomes judged.
    pub min_samples: u32,
    /// The bad share that trips it, basis points.
    pub trip_bps: u32,
    /// The bad share at or below which a tripped breaker clears, basis points.
    pub clear_bps: u32,
}

impl Thresholds {
    /// Whether these thresholds make sense: clear below trip, both at most 100 %.
    pub fn check(&self) -> Result<(), String> {
        if self.clear_bps >= self.trip_bps || self.trip_bps > 10_000 {
            return Err(format!(
                "clear_bps ({}) must be below trip_bps ({}), at most 10000",
                self.clear_bps, self.trip_bps
            ));
        }
        Ok(())
    }
}

/// The outcomes of a window: how many, and how many were bad.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Window {
    /// Outcomes in the window.
    pub samples: u32,
    /// Of them, bad (defaults, failures).
    pub bad: u32,
}

impl Window {
    /// The bad share, basis points (0 for an empty window).
    pub fn bad_bps(&self) -> u32 {
        if self.samples == 0 {
            return 0;
        }
        let bps = u64::from(self.bad.min(self.samples)) * 10_000 / u64::from(self.samples);
        u32::try_from(bps).unwrap_or(10_000)
    }
}

/// Whether a breaker is tripped, and what the last judgement did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Letting things through.
    Closed,
    /// Holding them back.
    Tripped,
}

/// The breaker's state after judging `window`, starting from `state`.
pub fn judge(state: State, window: &Window, thresholds: &Thresholds) -> State {
    let enough = window.samples >= thresholds.min_samples.max(1);
    let rate = window.bad_bps();
    match state {
        State::Closed if enough && rate >= thresholds.trip_bps => State::Tripped,
        State::Tripped if rate <= thresholds.clear_bps => State::Closed,
        other => other,
    }
}
