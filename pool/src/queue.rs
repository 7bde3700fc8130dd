//! The withdrawal queue's payout planning (spec §5.2, §6.3), free of I/O: given the queued
//! withdrawals in arrival order, which of them one payout tick pays, and how much.
//!
//! The rules, in order:
//! - first in, first out: a withdrawal is paid only once every earlier one is paid in
//!   full, so a later one never overtakes;
//! - a tick pays at most `tick_cap_msat` in total (a cap in value, not a count, so one huge
//!   request is paid over several ticks instead of clogging the queue);
//! - the delay is bounded: a withdrawal queued `max_delay_ms` ago or more is paid in full
//!   this tick, past the cap if it must be (with the earlier ones, which are older);
//! - no dust: a partial fill never leaves less than `min_fill_msat` behind, and no fill
//!   but a final one is smaller than that, so small remainders cannot stall the queue.
//!
//! [`plan`] puts a [`Throttle`] on top: nothing when halted, the throttled cap, large
//! withdrawals set aside while the breaker is tripped, and each rail paying at most what
//! it has (the queue stops at the first withdrawal its rail cannot pay). Emergency
//! withdrawals (spec §5.2) go first and are paid in full like overdue ones, but only in
//! normal mode (the pool solvent, the reserves whole); otherwise they wait in line.

use serde::{Deserialize, Serialize};

use crate::throttle::{Mode, Throttle};

/// How a withdrawal is paid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rail {
    /// To the LP's invoice, in one payment: never split.
    Lightning,
    /// To the LP's address, in batched transactions: may be paid in parts.
    Onchain,
}

/// The queue's limits. A cap of at least twice the minimum fill lets every tick pay
/// something towards the head of a queue ([`QueueLimits::check`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueLimits {
    /// The most a tick pays, msat (overdue withdrawals aside).
    pub tick_cap_msat: u64,
    /// The longest a withdrawal waits, ms.
    pub max_delay_ms: u64,
    /// The smallest fill but a final one, and the smallest remainder a fill leaves, msat.
    pub min_fill_msat: u64,
}

impl QueueLimits {
    /// Whether these limits let the queue move every tick: a cap of at least twice the
    /// minimum fill (else a head larger than the cap would wait for its deadline).
    pub fn check(&self) -> Result<(), String> {
        if self.tick_cap_msat < self.min_fill_msat.saturating_mul(2) {
            return Err(format!(
                "the tick cap ({} msat) must be at least twice the minimum fill ({} msat)",
                self.tick_cap_msat, self.min_fill_msat
            ));
        }
        if self.max_delay_ms == 0 {
            return Err("the longest delay must be above 0".into());
        }
        Ok(())
    }
}

/// A queued withdrawal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queued {
    /// Its id.
    pub withdrawal_id: String,
    /// When it was queued, ms.
    pub queued_at_ms: u64,
    /// What is still to be paid, msat.
    pub remaining_msat: u64,
    /// How it is paid; a Lightning withdrawal is only ever paid whole.
    pub rail: Rail,
    /// An emergency withdrawal: first and in full when the throttle is normal.
    pub emergency: bool,
}

/// A payment a tick makes towards one withdrawal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fill {
    /// The withdrawal.
    pub withdrawal_id: String,
    /// How it is paid.
    pub rail: Rail,
    /// How much, msat.
    pub msat: u64,
    /// Whether it pays the withdrawal in full.
    pub completes: bool,
}

/// The fills of one tick at `now_ms` over `queue`, which is in arrival order.
pub fn plan_tick(queue: &[Queued], now_ms: u64, limits: &QueueLimits) -> Vec<Fill> {
    // The last overdue withdrawal: it and every earlier one are paid in full.
    let overdue = queue
        .iter()
        .rposition(|q| now_ms.saturating_sub(q.queued_at_ms) >= limits.max_delay_ms);
    let mut left = limits.tick_cap_msat;
    let mut fills = Vec::new();
    for (i, q) in queue.iter().enumerate() {
        if q.remaining_msat == 0 {
            continue;
        }
        let msat = if overdue.is_some_and(|last| i <= last) || q.remaining_msat <= left {
            q.remaining_msat
        } else if q.rail == Rail::Lightning {
            // Never split: it waits for a tick with room for it.
            break;
        } else {
            // A partial fill: the cap left, but never below the minimum, and never leaving
            // less than the minimum behind.
            let most = q.remaining_msat.saturating_sub(limits.min_fill_msat);
            let msat = left.min(most);
            if msat < limits.min_fill_msat || msat == 0 {
                break;
            }
            msat
        };
        left = left.saturating_sub(msat);
        let completes = msat == q.remaining_msat;
        fills.push(Fill {
            withdrawal_id: q.withdrawal_id.clone(),
            rail: q.rail,
            msat,
            completes,
        });
        if !completes {
            break;
        }
    }
    fills
}

/// The fills of one tick under `throttle`: [`plan_tick`] with the throttled cap, over the
/// queue without the withdrawals the breaker holds back, cut where a rail runs out.
pub fn plan(queue: &[Queued], now_ms: u64, limits: &QueueLimits, throttle: &Throttle) -> Vec<Fill> {
    if throttle.mode == Mode::Halted {
        return Vec::new();
    }
    let eligible: Vec<Queued> = queue
        .iter()
        .filter(|q| {
            throttle
                .largest_msat
                .is_none_or(|most| q.remaining_msat <= most)
        })
        .cloned()
        .collect();
    // In normal mode emergency withdrawals go first (in their own order), counted as
    // overdue so they are paid in full now.
    let eligible: Vec<Queued> = if throttle.mode == Mode::Normal {
        let (urgent, rest): (Vec<Queued>, Vec<Queued>) =
            eligible.into_iter().partition(|q| q.emergency);
        urgent
            .into_iter()
            .map(|q| Queued {
                queued_at_ms: q
                    .queued_at_ms
                    .min(now_ms.saturating_sub(limits.max_delay_ms)),
                ..q
            })
            .chain(rest)
            .collect()
    } else {
        eligible
    };
    let throttled = QueueLimits {
        tick_cap_msat: throttle.tick_cap_msat.min(limits.tick_cap_msat),
        ..*limits
    };
    let mut lightning = throttle.lightning_msat;
    let mut onchain = throttle.onchain_msat;
    let mut fills = Vec::new();
    for fill in plan_tick(&eligible, now_ms, &throttled) {
        let left = match fill.rail {
            Rail::Lightning => &mut lightning,
            Rail::Onchain => &mut onchain,
        };
        if fill.msat <= *left {
            *left -= fill.msat;
            fills.push(fill);
            continue;
        }
        // What the rail has, if it makes a fill that is not dust and leaves none.
        let remaining = eligible
            .iter()
            .find(|q| q.withdrawal_id == fill.withdrawal_id)
            .map_or(fill.msat, |q| q.remaining_msat);
        let part = (*left).min(remaining.saturating_sub(limits.min_fill_msat));
        if fill.rail == Rail::Onchain && part >= limits.min_fill_msat && part > 0 {
            fills.push(Fill {
                msat: part,
                completes: false,
                ..fill
            });
        }
        break;
    }
    fills
}
