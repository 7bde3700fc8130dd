//! Sizing a JIT channel and checking it against the service's limits. Pure functions,
//! so the rules can be read and tested apart from the actor.

use super::config::Lsps2Config;

/// What the opener must leave in the channel besides the payment: the client's reserve
/// (1 % of the channel, at least 1,000 sat, LDK's defaults), and for anchor channels the
/// commitment fee and both 330 sat anchors, which the opener pays. Without room for them
/// the first payment could not be forwarded over the new channel.
pub const fn headroom_sat(forward_sat: u64) -> u64 {
    let reserve = if forward_sat / 99 > 1_000 {
        forward_sat / 99 + 1
    } else {
        1_000
    };
    reserve + ANCHORS_AND_FEE_SAT
}

/// Both anchors (2 × 330 sat) and a commitment fee at a generous feerate.
pub const ANCHORS_AND_FEE_SAT: u64 = 5_000;

/// The capacity to open for a payment that forwards `amt_to_forward_msat`: the payment,
/// the over-provisioning on top, and the headroom, at least the configured minimum.
pub fn channel_sat(config: &Lsps2Config, amt_to_forward_msat: u64) -> u64 {
    let forward_sat = amt_to_forward_msat.div_ceil(1000);
    let over = forward_sat.saturating_mul(u64::from(config.over_provisioning_ppm)) / 1_000_000;
    forward_sat
        .saturating_add(over)
        .saturating_add(headroom_sat(forward_sat))
        .max(config.min_channel_sat)
}

/// Why a JIT open is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The client is denied, or not on the allow list.
    NotAdmitted,
    /// The fee offer bought had expired when the payment arrived (bLIP-52: the payment
    /// must come while the offer is valid).
    OfferExpired,
    /// The channel would be larger than the configured maximum.
    TooLarge {
        /// The capacity needed.
        channel_sat: u64,
        /// The configured maximum.
        max_sat: u64,
    },
    /// Too many opens are in progress.
    TooManyOpens {
        /// The configured maximum.
        max: usize,
    },
    /// The capacity committed to JIT channels would exceed its limit.
    OverCommitted {
        /// Committed now.
        committed_sat: u64,
        /// The capacity needed.
        channel_sat: u64,
        /// The configured limit.
        max_sat: u64,
    },
    /// The capacity opened for clients that have not claimed their payment would exceed
    /// its budget (`max_unclaimed_sat`).
    OverUnclaimed {
        /// Opened and unclaimed now (in the window).
        unclaimed_sat: u64,
        /// The capacity needed.
        channel_sat: u64,
        /// The configured budget.
        max_sat: u64,
    },
    /// The wallet cannot fund the channel.
    InsufficientFunds {
        /// The capacity needed.
        channel_sat: u64,
        /// What the wallet can spend.
        available_sat: u64,
    },
}

impl Refusal {
    /// Whether the order can never succeed (the open is abandoned) rather than just not
    /// now (the open fails and the payer may retry).
    pub fn is_permanent(&self) -> bool {
        matches!(
            self,
            Refusal::NotAdmitted | Refusal::OfferExpired | Refusal::TooLarge { .. }
        )
    }

    /// A short stable label, for metrics.
    pub fn label(&self) -> &'static str {
        match self {
            Refusal::NotAdmitted => "not_admitted",
            Refusal::OfferExpired => "offer_expired",
            Refusal::TooLarge { .. } => "too_large",
            Refusal::TooManyOpens { .. } => "too_many_opens",
            Refusal::OverCommitted { .. } => "over_committed",
            Refusal::OverUnclaimed { .. } => "unclaimed_budget",
            Refusal::InsufficientFunds { .. } => "insufficient_funds",
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::NotAdmitted => f.write_str("the client is not admitted"),
            Refusal::OfferExpired => f.write_str("the fee offer expired before the payment came"),
            Refusal::TooLarge {
                channel_sat,
                max_sat,
            } => write!(f, "a {channel_sat} sat channel exceeds the {max_sat} sat maximum"),
            Refusal::TooManyOpens { max } => write!(f, "{max} opens are already in progress"),
            Refusal::OverCommitted {
                committed_sat,
                channel_sat,
                max_sat,
            } => write!(
                f,
                "{committed_sat} sat committed plus {channel_sat} sat exceeds the {max_sat} sat limit"
            ),
            Refusal::OverUnclaimed {
                unclaimed_sat,
                channel_sat,
                max_sat,
            } => write!(
                f,
                "{unclaimed_sat} sat opened for clients that have not claimed plus {channel_sat} \
                 sat exceeds the {max_sat} sat budget"
            ),
            Refusal::InsufficientFunds {
                channel_sat,
                available_sat,
            } => write!(
                f,
                "the wallet has {available_sat} sat for a {channel_sat} sat channel"
            ),
        }
    }
}

/// Why a client may not buy now (and is offered an empty menu). A buy refused for one of
/// these is answered with LSPS0's `client_rejected` error, [`BuyRefusal::message`] its
/// message and [`BuyRefusal::label`] its data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BuyRefusal {
    /// The client is denied, or not on the allow list.
    NotAdmitted,
    /// The client holds as many bought, unpaid SCIDs as it may.
    PendingBuys,
    /// As many orders are live (bought and payable, or opening) as the service allows.
    TooManyOrders,
    /// As many opens are in progress as the service allows.
    TooManyOpens,
    /// The capacity committed to JIT channels is at its limit.
    OverCommitted,
    /// The capacity opened for clients that have not claimed leaves no room for a channel.
    UnclaimedBudget,
    /// No intercept SCID not already sold could be drawn.
    NoFreeScid,
}

impl BuyRefusal {
    /// A short stable label, for metrics and the error's data.
    pub fn label(self) -> &'static str {
        match self {
            BuyRefusal::NotAdmitted => "not_admitted",
            BuyRefusal::PendingBuys => "pending_buys",
            BuyRefusal::TooManyOrders => "too_many_orders",
            BuyRefusal::TooManyOpens => "too_many_opens",
            BuyRefusal::OverCommitted => "over_committed",
            BuyRefusal::UnclaimedBudget => "unclaimed_budget",
            BuyRefusal::NoFreeScid => "no_free_scid",
        }
    }

    /// What the client is told.
    pub fn message(self) -> &'static str {
        match self {
            BuyRefusal::NotAdmitted => "this LSP does not sell JIT channels to this node",
            BuyRefusal::PendingBuys => {
                "this node holds as many unpaid JIT channel purchases as it may; pay or let one \
                 expire first"
            }
            BuyRefusal::TooManyOrders => {
                "the LSP has as many JIT channel orders outstanding as it takes; try again later"
            }
            BuyRefusal::TooManyOpens => {
                "the LSP is opening as many JIT channels as it may at once; try again later"
            }
            BuyRefusal::OverCommitted => {
                "the LSP has committed as much capacity to JIT channels as it may; try again later"
            }
            BuyRefusal::UnclaimedBudget => {
                "the LSP's budget for JIT channels whose payment was not claimed is used up; try \
                 again later"
            }
            BuyRefusal::NoFreeScid => {
                "the LSP could not allocate an unused intercept SCID; try again later"
            }
        }
    }
}

/// What is committed now, as the actor counts it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Commitments {
    /// Opens in progress.
    pub opening: usize,
    /// Capacity in JIT channels opening or open.
    pub committed_sat: u64,
    /// Capacity opened for clients that have not claimed: opening now, or closed unclaimed
    /// within the window.
    pub unclaimed_sat: u64,
    /// What the wallet can spend.
    pub spendable_sat: u64,
}

/// What is asked of an open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenAsk {
    /// Whether the client is admitted (allow and deny lists).
    pub admitted: bool,
    /// Whether the fee offer it bought has expired.
    pub offer_expired: bool,
    /// The capacity needed.
    pub channel_sat: u64,
}

/// Checks an open against the client's standing and the service's limits.
pub fn check_open(config: &Lsps2Config, ask: OpenAsk, now: Commitments) -> Result<(), Refusal> {
    let channel_sat = ask.channel_sat;
    if !ask.admitted {
        return Err(Refusal::NotAdmitted);
    }
    if ask.offer_expired {
        return Err(Refusal::OfferExpired);
    }
    if channel_sat > config.max_channel_sat {
        return Err(Refusal::TooLarge {
            channel_sat,
            max_sat: config.max_channel_sat,
        });
    }
    if now.opening >= config.max_pending_opens {
        return Err(Refusal::TooManyOpens {
            max: config.max_pending_opens,
        });
    }
    if now.committed_sat.saturating_add(channel_sat) > config.max_committed_sat {
        return Err(Refusal::OverCommitted {
            committed_sat: now.committed_sat,
            channel_sat,
            max_sat: config.max_committed_sat,
        });
    }
    if now.unclaimed_sat.saturating_add(channel_sat) > config.max_unclaimed_sat {
        return Err(Refusal::OverUnclaimed {
            unclaimed_sat: now.unclaimed_sat,
            channel_sat,
            max_sat: config.max_unclaimed_sat,
        });
    }
    if now.spendable_sat < channel_sat {
        return Err(Refusal::InsufficientFunds {
            channel_sat,
            available_sat: now.spendable_sat,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Lsps2Config {
        Lsps2Config::with_menu(Vec::new())
    }

    #[test]
    fn small_payments_get_the_minimum_channel() {
        assert_eq!(channel_sat(&config(), 50_000_000), 100_000);
    }

    #[test]
    fn large_payments_get_payment_plus_over_provisioning_plus_headroom() {
        // 1,000,000 sat forwarded, 10 % over, reserve 1 % of it (10,102 sat), 5,000 sat
        // for anchors and fee.
        let sat = channel_sat(&config(), 1_000_000_000);
        assert_eq!(sat, 1_000_000 + 100_000 + 10_102 + 5_000);
        // Sub-satoshi amounts round up.
        assert_eq!(channel_sat(&config(), 1_000_000_001), sat + 1);
    }

    #[test]
    fn each_limit_refuses_and_says_whether_for_good() {
        let mut c = config();
        c.max_channel_sat = 1_000_000;
        c.max_pending_opens = 2;
        c.max_committed_sat = 3_000_000;
        c.max_unclaimed_sat = 2_000_000;
        let free = Commitments {
            opening: 0,
            committed_sat: 0,
            unclaimed_sat: 0,
            spendable_sat: 10_000_000,
        };
        let ask = |channel_sat| OpenAsk {
            admitted: true,
            offer_expired: false,
            channel_sat,
        };
        assert_eq!(check_open(&c, ask(500_000), free), Ok(()));

        let denied = OpenAsk {
            admitted: false,
            ..ask(500_000)
        };
        assert_eq!(check_open(&c, denied, free), Err(Refusal::NotAdmitted));
        let late = OpenAsk {
            offer_expired: true,
            ..ask(500_000)
        };
        let e = check_open(&c, late, free).unwrap_err();
        assert!(matches!(e, Refusal::OfferExpired) && e.is_permanent());
        let e = check_open(&c, ask(1_000_001), free).unwrap_err();
        assert!(matches!(e, Refusal::TooLarge { .. }) && e.is_permanent());

        let busy = Commitments { opening: 2, ..free };
        let e = check_open(&c, ask(500_000), busy).unwrap_err();
        assert!(matches!(e, Refusal::TooManyOpens { max: 2 }) && !e.is_permanent());

        let full = Commitments {
            committed_sat: 2_600_000,
            ..free
        };
        let e = check_open(&c, ask(500_000), full).unwrap_err();
        assert!(matches!(e, Refusal::OverCommitted { .. }) && !e.is_permanent());

        let unclaimed = Commitments {
            unclaimed_sat: 1_500_001,
            ..free
        };
        let e = check_open(&c, ask(500_000), unclaimed).unwrap_err();
        assert!(matches!(e, Refusal::OverUnclaimed { .. }) && !e.is_permanent());
        assert_eq!(e.label(), "unclaimed_budget");
        let at_the_budget = Commitments {
            unclaimed_sat: 1_500_000,
            ..free
        };
        assert_eq!(check_open(&c, ask(500_000), at_the_budget), Ok(()));

        let poor = Commitments {
            spendable_sat: 499_999,
            ..free
        };
        let e = check_open(&c, ask(500_000), poor).unwrap_err();
        assert_eq!(e.label(), "insufficient_funds");
        assert!(!e.is_permanent());
    }
}
