//! Offers (spec §7.1): what an agent asked for, bounded by its intent and the policy,
//! meets what underwriting allows. The offer's cap and fee are underwriting's, never the
//! request's: the request only asks.

use crate::underwriting::Terms;

/// What the agent asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ask {
    /// The most it wants, sat.
    pub max_sats: u64,
    /// Until when it wants the offer to stand, ms since the Unix epoch.
    pub exp_ms: u64,
}

/// An intent's bounds, for an offer that names one: the offer may ask no more and last no
/// longer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntentBounds {
    /// The most the intent asked for, sat.
    pub max_sats: u64,
    /// Until when the intent stands.
    pub exp_ms: u64,
}

/// What was offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Offered {
    /// The most an envelope from it may pay, sat.
    pub max_sats: u64,
    /// The credit fee, basis points.
    pub fee_bps: u32,
    /// Until when it may be taken up.
    pub exp_ms: u64,
}

/// Why no offer was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Nothing was asked for.
    #[error("max_sats must be above 0")]
    Nothing,
    /// The expiry is not in the future.
    #[error("exp has passed")]
    Expired,
    /// The expiry is further away than offers may last.
    #[error("exp is more than {max_ttl_ms} ms away")]
    TooLong {
        /// The longest an offer lasts, ms.
        max_ttl_ms: u64,
    },
    /// The ask goes beyond the intent it names.
    #[error("the offer asks more, or for longer, than its intent")]
    BeyondIntent,
    /// The intent named has expired.
    #[error("the intent has expired")]
    IntentExpired,
    /// Underwriting allows this agent nothing now.
    #[error("no credit is available to this agent now")]
    NoCredit,
}

/// The offer for `ask` (within `intent`, if named) under `terms` at `now_ms`, lasting at
/// most `max_ttl_ms`.
pub fn offer(
    ask: &Ask,
    intent: Option<&IntentBounds>,
    terms: &Terms,
    now_ms: u64,
    max_ttl_ms: u64,
) -> Result<Offered, Refusal> {
    if ask.max_sats == 0 {
        return Err(Refusal::Nothing);
    }
    if ask.exp_ms <= now_ms {
        return Err(Refusal::Expired);
    }
    if ask.exp_ms - now_ms > max_ttl_ms {
        return Err(Refusal::TooLong { max_ttl_ms });
    }
    if let Some(intent) = intent {
        if intent.exp_ms <= now_ms {
            return Err(Refusal::IntentExpired);
        }
        if ask.max_sats > intent.max_sats || ask.exp_ms > intent.exp_ms {
            return Err(Refusal::BeyondIntent);
        }
    }
    if terms.limit_sats == 0 {
        return Err(Refusal::NoCredit);
    }
    Ok(Offered {
        max_sats: ask.max_sats.min(terms.limit_sats),
        fee_bps: terms.fee_bps,
        exp_ms: ask.exp_ms,
    })
}
