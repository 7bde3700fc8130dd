//! The rebalancer's decisions (spec §6.1, §8.3), free of I/O: which of the node's
//! channels sit outside their target band of local balance, which circular moves (out
//! one channel, back in through another) would bring them back, and whether a move may
//! be tried now — its fee ceiling, the day's budget, what the channel's peer earned, and
//! how the channel's last attempts went.
//!
//! Operators' experience with automatic rebalancers is that they spend more on fees than
//! the channels earn unless strictly bounded, so every limit here is a hard one: a
//! static fee ceiling (sats and ppm, whichever is lower, never keyed on a peer's current
//! fee), a daily budget, and a cost-to-earn ratio per peer over a rolling window.
//!
//! Layout:
//! - `band`: a channel's place against its band (short of it, inside, over it);
//! - `limits`: the fee ceiling, the budget and the cost-to-earn check;
//! - `pacing`: per-channel adaptive amounts and cooldowns with exponential backoff;
//! - `plan`: the moves worth trying, most needed first;
//! - `decide`: each move's attempt now (amount, fee ceiling) and whether it may go.

pub mod band;
pub mod decide;
pub mod limits;
pub mod pacing;
pub mod plan;

pub use band::{Band, Place};
pub use decide::{decide, Situation, Step, Verdict};
pub use limits::{Budget, CostToEarn, FeeCeiling, Refusal};
pub use pacing::{Pace, Pacing};
pub use plan::{plan, ChannelView, Eligibility, Move};

/// One million: fractions of capacity and fee rates are in parts per million.
pub const PPM: u64 = 1_000_000;
