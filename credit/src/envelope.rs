//! An envelope's life (spec §7.2–7.3) as a pure state machine: [`step`] takes an
//! envelope's status and what happened, and returns the next status with the
//! [`Action`]s that follow (pay the provider, book to the CEP ledger, emit a receipt or a
//! default notice). The actor stores the status and does the actions; nothing here does
//! I/O or reads a clock.
//!
//! ```text
//!   Open ──settle(passed, in time)──▶ Paying ──paid──▶ Owed ──repaid in full──▶ Repaid
//!    │  ▲                              │                 │
//!    │  └──────payment failed──────────┘                 └─repay_by passes─▶ Defaulted(unrepaid, loss)
//!    └─settle(failed or late) / exp passes──▶ Defaulted(verification_failed | expired, no loss)
//! ```
//!
//! Mode 1 pays the provider only after a verification passed, so a failed verification or
//! an envelope that ran out of time costs the pool nothing: it is a default in the agent's
//! record (it cuts the agent's limit and counts in the loss-rate breaker) with a loss of
//! 0. Capital is lost only when a drawn envelope is not repaid by its `repay_by_ms`: the
//! outstanding amount is then written off. What the agent owes for a draw is the invoice,
//! the routing fee the pool paid for it, and the credit fee (`fee_bps` of the invoice,
//! rounded up to the msat).
//!
//! Settling is idempotent by the request's fingerprint: the same settle again changes
//! nothing and returns no action (the caller reads the stored outcome); a different one
//! after an outcome is refused.

use serde::{Deserialize, Serialize};

/// The most an envelope can be settled for and until when, fixed at issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// The most the provider can be paid, msat.
    pub cap_msat: u64,
    /// The credit fee, basis points of what the provider is paid.
    pub fee_bps: u32,
    /// The last moment a settlement is accepted, ms since the Unix epoch.
    pub exp_ms: u64,
    /// The last moment what is owed may be repaid before it defaults, ms since the epoch.
    pub repay_by_ms: u64,
}

/// One settlement asked of an envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settlement {
    /// Its id.
    pub settlement_id: String,
    /// What identifies the request (a repeat has the same).
    pub fingerprint: String,
    /// Whether the verifier passed the outcome.
    pub verification_passed: bool,
    /// The provider's invoice amount, msat (`None`: the invoice names none).
    pub amount_msat: Option<u64>,
    /// The routing fee ceiling, msat.
    pub max_fee_msat: u64,
}

/// Why an envelope defaulted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DefaultReason {
    /// The verifier failed the outcome; nothing was paid.
    VerificationFailed,
    /// No settlement came before `exp_ms`; nothing was paid.
    Expired,
    /// The provider was paid and the agent did not repay by `repay_by_ms`.
    Unrepaid,
}

impl DefaultReason {
    /// The wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            DefaultReason::VerificationFailed => "verification_failed",
            DefaultReason::Expired => "expired",
            DefaultReason::Unrepaid => "unrepaid",
        }
    }
}

/// What was paid for a draw, msat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Draw {
    /// The provider's invoice.
    pub spent_msat: u64,
    /// The routing fee the pool paid.
    pub routing_fee_msat: u64,
    /// The credit fee earned.
    pub credit_fee_msat: u64,
}

impl Draw {
    /// What the agent owes for it.
    pub fn owed_msat(&self) -> u64 {
        self.spent_msat
            .saturating_add(self.routing_fee_msat)
            .saturating_add(self.credit_fee_msat)
    }
}

/// Where an envelope is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Status {
    /// Issued and settleable; its cap is reserved against the CEP partition.
    Open,
    /// The provider's payment is under way.
    Paying {
        /// The settlement being paid.
        settlement: Settlement,
    },
    /// The provider was paid; the agent owes the draw until `repay_by_ms`.
    Owed {
        /// The settlement that was paid.
        settlement: Settlement,
        /// What was paid.
        draw: Draw,
        /// Repaid so far, msat.
        repaid_msat: u64,
    },
    /// The draw was repaid in full.
    Repaid {
        /// The settlement that was paid.
        settlement: Settlement,
        /// What was paid.
        draw: Draw,
    },
    /// The envelope defaulted.
    Defaulted {
        /// Why.
        reason: DefaultReason,
        /// The settlement asked, if one was.
        settlement: Option<Settlement>,
        /// What was paid, if anything was.
        draw: Option<Draw>,
        /// The capital lost, msat (what was owed and not repaid).
        loss_msat: u64,
        /// Repaid after the default, msat (reduces the loss).
        recovered_msat: u64,
    },
}

impl Status {
    /// The wire name of the state.
    pub const fn name(&self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Paying { .. } => "paying",
            Status::Owed { .. } => "owed",
            Status::Repaid { .. } => "repaid",
            Status::Defaulted { .. } => "defaulted",
        }
    }

    /// The settlement asked of the envelope, if any.
    pub fn settlement(&self) -> Option<&Settlement> {
        match self {
            Status::Open => None,
            Status::Paying { settlement }
            | Status::Owed { settlement, .. }
            | Status::Repaid { settlement, .. } => Some(settlement),
            Status::Defaulted { settlement, .. } => settlement.as_ref(),
        }
    }

    /// What the envelope holds back from the CEP partition's assets, msat: its cap while
    /// open, the payment's most while paying, nothing once paid or ended.
    pub fn reserved_msat(&self, limits: &Limits) -> u64 {
        match self {
            Status::Open => limits.cap_msat,
            Status::Paying { settlement } => settlement
                .amount_msat
                .unwrap_or(0)
                .saturating_add(settlement.max_fee_msat),
            _ => 0,
        }
    }

    /// What the agent still owes, msat: the unrepaid draw, or the loss not yet recovered.
    pub fn outstanding_msat(&self) -> u64 {
        match self {
            Status::Owed {
                draw, repaid_msat, ..
            } => draw.owed_msat().saturating_sub(*repaid_msat),
            Status::Defaulted {
                loss_msat,
                recovered_msat,
                ..
            } => loss_msat.saturating_sub(*recovered_msat),
            _ => 0,
        }
    }

    /// The agent's exposure through this envelope, msat: what it may still draw plus
    /// what it owes. A default's unrecovered loss is counted by underwriting instead.
    pub fn exposure_msat(&self, limits: &Limits) -> u64 {
        match self {
            Status::Owed { .. } => self.outstanding_msat(),
            _ => self.reserved_msat(limits),
        }
    }

    /// Whether the envelope still counts as open for the agent (settleable, paying, or
    /// owed).
    pub fn is_live(&self) -> bool {
        matches!(
            self,
            Status::Open | Status::Paying { .. } | Status::Owed { .. }
        )
    }
}

/// What happened to an envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A settlement was asked.
    Settle(Settlement),
    /// The settlement's payment succeeded with this routing fee, msat.
    Paid {
        /// The routing fee paid.
        routing_fee_msat: u64,
    },
    /// The settlement's payment failed for good.
    PayFailed,
    /// A repayment of `msat` arrived.
    Repaid {
        /// How much.
        msat: u64,
    },
    /// Time passed (the expiry timer).
    Tick,
}

/// An entry for the CEP partition's ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Booking {
    /// The provider was paid: cash out, the agent owes it plus the credit fee.
    Drawn(Draw),
    /// The agent repaid `msat` of what it owed.
    Repaid {
        /// How much.
        msat: u64,
    },
    /// What was owed and not repaid is written off.
    Loss {
        /// How much.
        msat: u64,
    },
    /// A defaulted agent repaid `msat` of its loss.
    Recovered {
        /// How much.
        msat: u64,
    },
    /// A repayment beyond anything owed, kept as credit income.
    Surplus {
        /// How much.
        msat: u64,
    },
}

/// What the actor must do after a step, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Pay the provider's invoice for `amount_msat` under `max_fee_msat`.
    Pay {
        /// The settlement.
        settlement_id: String,
        /// The invoice amount.
        amount_msat: u64,
        /// The routing fee ceiling.
        max_fee_msat: u64,
    },
    /// Book to the ledger (in the same commit as the new status).
    Book(Booking),
    /// Emit an `envelope_settlement_receipt` for the draw.
    SettlementReceipt(Draw),
    /// Emit a `default_notice`.
    DefaultNotice {
        /// Why.
        reason: DefaultReason,
        /// The capital lost, msat.
        loss_msat: u64,
    },
}

/// Why an event was refused; the envelope is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The provider's invoice names no amount (or zero).
    #[error("the provider's invoice must name an amount")]
    NoAmount,
    /// The invoice is above the envelope's cap.
    #[error("the invoice ({amount_msat} msat) is above the envelope's cap ({cap_msat} msat)")]
    OverCap {
        /// The invoice.
        amount_msat: u64,
        /// The cap.
        cap_msat: u64,
    },
    /// Another settlement is under way or ended the envelope.
    #[error("the envelope is {state} with another settlement")]
    Settled {
        /// The envelope's state.
        state: &'static str,
    },
    /// The event does not apply in the envelope's state.
    #[error("the envelope is {state}")]
    State {
        /// The envelope's state.
        state: &'static str,
    },
}

/// The next status of an envelope with `limits` in `status` after `event` at `now_ms`, and
/// what to do.
pub fn step(
    limits: &Limits,
    status: &Status,
    event: Event,
    now_ms: u64,
) -> Result<(Status, Vec<Action>), Refusal> {
    match (status, event) {
        (Status::Open, Event::Settle(settlement)) => settle(limits, settlement, now_ms),
        (Status::Open, Event::Tick) if now_ms > limits.exp_ms => {
            Ok(default(DefaultReason::Expired, None, None, 0))
        }
        (_, Event::Settle(settlement)) => match status.settlement() {
            Some(asked) if asked.fingerprint == settlement.fingerprint => {
                Ok((status.clone(), Vec::new()))
            }
            _ => Err(Refusal::Settled {
                state: status.name(),
            }),
        },
        (Status::Paying { settlement }, Event::Paid { routing_fee_msat }) => {
            let spent_msat = settlement.amount_msat.unwrap_or(0);
            let draw = Draw {
                spent_msat,
                routing_fee_msat,
                credit_fee_msat: credit_fee_msat(spent_msat, limits.fee_bps),
            };
            Ok((
                Status::Owed {
                    settlement: settlement.clone(),
                    draw,
                    repaid_msat: 0,
                },
                vec![
                    Action::Book(Booking::Drawn(draw)),
                    Action::SettlementReceipt(draw),
                ],
            ))
        }
        (Status::Paying { settlement }, Event::PayFailed) => {
            if now_ms > limits.exp_ms {
                Ok(default(
                    DefaultReason::Expired,
                    Some(settlement.clone()),
                    None,
                    0,
                ))
            } else {
                Ok((Status::Open, Vec::new()))
            }
        }
        (
            Status::Owed {
                settlement,
                draw,
                repaid_msat,
            },
            Event::Repaid { msat },
        ) => {
            let outstanding = status.outstanding_msat();
            let applied = msat.min(outstanding);
            let mut actions = booked(Booking::Repaid { msat: applied });
            actions.extend(surplus(msat - applied));
            let repaid_msat = repaid_msat.saturating_add(applied);
            let next = if applied == outstanding {
                Status::Repaid {
                    settlement: settlement.clone(),
                    draw: *draw,
                }
            } else {
                Status::Owed {
                    settlement: settlement.clone(),
                    draw: *draw,
                    repaid_msat,
                }
            };
            Ok((next, actions))
        }
        (
            Status::Owed {
                settlement, draw, ..
            },
            Event::Tick,
        ) if now_ms > limits.repay_by_ms => {
            let loss = status.outstanding_msat();
            let (next, mut actions) = default(
                DefaultReason::Unrepaid,
                Some(settlement.clone()),
                Some(*draw),
                loss,
            );
            actions.insert(0, Action::Book(Booking::Loss { msat: loss }));
            Ok((next, actions))
        }
        (
            Status::Defaulted {
                reason,
                settlement,
                draw,
                loss_msat,
                recovered_msat,
            },
            Event::Repaid { msat },
        ) => {
            let applied = msat.min(status.outstanding_msat());
            let mut actions = Vec::new();
            if applied > 0 {
                actions.push(Action::Book(Booking::Recovered { msat: applied }));
            }
            actions.extend(surplus(msat - applied));
            Ok((
                Status::Defaulted {
                    reason: *reason,
                    settlement: settlement.clone(),
                    draw: *draw,
                    loss_msat: *loss_msat,
                    recovered_msat: recovered_msat.saturating_add(applied),
                },
                actions,
            ))
        }
        (_, Event::Repaid { msat }) => Ok((status.clone(), surplus(msat).into_iter().collect())),
        (_, Event::Tick) => Ok((status.clone(), Vec::new())),
        (_, Event::Paid { .. } | Event::PayFailed) => Err(Refusal::State {
            state: status.name(),
        }),
    }
}

/// The credit fee of a draw of `spent_msat` at `fee_bps`, rounded up to the msat.
pub fn credit_fee_msat(spent_msat: u64, fee_bps: u32) -> u64 {
    let fee = (u128::from(spent_msat) * u128::from(fee_bps)).div_ceil(10_000);
    u64::try_from(fee).unwrap_or(u64::MAX)
}

/// A settlement of an open envelope: a default when it is late or failed verification,
/// else the payment (once the invoice fits the cap).
fn settle(
    limits: &Limits,
    settlement: Settlement,
    now_ms: u64,
) -> Result<(Status, Vec<Action>), Refusal> {
    if now_ms > limits.exp_ms {
        return Ok(default(DefaultReason::Expired, Some(settlement), None, 0));
    }
    if !settlement.verification_passed {
        return Ok(default(
            DefaultReason::VerificationFailed,
            Some(settlement),
            None,
            0,
        ));
    }
    let amount_msat = settlement
        .amount_msat
        .filter(|&a| a > 0)
        .ok_or(Refusal::NoAmount)?;
    if amount_msat > limits.cap_msat {
        return Err(Refusal::OverCap {
            amount_msat,
            cap_msat: limits.cap_msat,
        });
    }
    let pay = Action::Pay {
        settlement_id: settlement.settlement_id.clone(),
        amount_msat,
        max_fee_msat: settlement.max_fee_msat,
    };
    Ok((Status::Paying { settlement }, vec![pay]))
}

fn default(
    reason: DefaultReason,
    settlement: Option<Settlement>,
    draw: Option<Draw>,
    loss_msat: u64,
) -> (Status, Vec<Action>) {
    (
        Status::Defaulted {
            reason,
            settlement,
            draw,
            loss_msat,
            recovered_msat: 0,
        },
        vec![Action::DefaultNotice { reason, loss_msat }],
    )
}

fn booked(booking: Booking) -> Vec<Action> {
    match booking {
        Booking::Repaid { msat: 0 } => Vec::new(),
        other => vec![Action::Book(other)],
    }
}

fn surplus(msat: u64) -> Option<Action> {
    (msat > 0).then_some(Action::Book(Booking::Surplus { msat }))
}
