//! A withdrawal's value (spec §5.2): shares are locked when the LP asks and burned when
//! they are paid, and the LP gets the lower of what they were worth at each moment, so
//! nobody leaves ahead of a loss that is already known, and nobody keeps earning on value
//! that is already owed to them.
//!
//! A request locks `units` and records their value then (the *cap*). At each payout the
//! withdrawal is worth its [entitlement](Outstanding::entitlement): the lower of the cap
//! and what the units still locked are worth now. A fill of part of that burns units in
//! proportion, rounded up, and shrinks the cap in proportion to the units left, so a
//! withdrawal paid over several ticks gets no more than one paid at once.
//!
//! Every burn is at or below the price of the moment: the holders who stay never lose
//! by it (`pool/tests/withdrawal_value.rs` checks this over random books).

use serde::{Deserialize, Serialize};

use crate::shares::{mul_div_ceil, mul_div_floor, Book, ShareError};

/// What is left of a withdrawal: units still locked and the cap on their value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outstanding {
    /// Share units locked and not burned yet.
    pub units: u128,
    /// The most they can be paid, msat: their value when the withdrawal was asked for.
    pub cap_msat: u64,
}

/// The burn of one fill: `units` burned for `msat` owed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Burn {
    /// Units burned.
    pub units: u128,
    /// Value owed for them, msat.
    pub msat: u64,
}

impl Outstanding {
    /// A withdrawal of `units` asked for now: its cap is their value at `book`'s price.
    pub fn request(book: &Book, units: u128) -> Result<Outstanding, ShareError> {
        Ok(Outstanding {
            units,
            cap_msat: book.value_of(units)?,
        })
    }

    /// Whether nothing is left.
    pub fn is_done(&self) -> bool {
        self.units == 0
    }

    /// What the rest is worth paying now: the lower of the cap and its value at `book`.
    pub fn entitlement(&self, book: &Book) -> Result<u64, ShareError> {
        Ok(self.cap_msat.min(book.value_of(self.units)?))
    }

    /// The burn that pays `msat` of the entitlement at `book`, and what is left after it.
    /// Paying the whole entitlement burns every unit; a part burns its share of the units,
    /// rounded up.
    pub fn fill(&self, book: &Book, msat: u64) -> Result<(Burn, Outstanding), ShareError> {
        let owed = self.entitlement(book)?;
        if msat == 0 || msat > owed {
            return Err(ShareError::NotEnoughValue {
                asked: msat,
                nav: owed,
            });
        }
        if msat == owed {
            let burn = Burn {
                units: self.units,
                msat,
            };
            return Ok((burn, Outstanding::default()));
        }
        let units = mul_div_ceil(self.units, u128::from(msat), u128::from(owed))?;
        let left = self.units - units.min(self.units);
        let cap = mul_div_floor(u128::from(self.cap_msat), left, self.units)?;
        let rest = Outstanding {
            units: left,
            cap_msat: u64::try_from(cap).map_err(|_| ShareError::Overflow)?,
        };
        Ok((Burn { units, msat }, rest))
    }
}

impl Outstanding {
    /// The last burn: every unit left for `msat`, at most the entitlement (an on-chain
    /// payout rounds the entitlement down to whole sats; the crumb stays with the pool).
    pub fn close(&self, book: &Book, msat: u64) -> Result<Burn, ShareError> {
        let owed = self.entitlement(book)?;
        if msat == 0 || msat > owed {
            return Err(ShareError::NotEnoughValue {
                asked: msat,
                nav: owed,
            });
        }
        Ok(Burn {
            units: self.units,
            msat,
        })
    }
}

/// The units a reversed payout gives back: those burned, or fewer if the price rose since
/// (what `burn.msat` buys now), so the value was owed, not invested, while it waited.
pub fn units_back(book: &Book, burn: &Burn) -> u128 {
    match book.units_for_deposit(burn.msat) {
        Ok(units) => units.min(burn.units),
        Err(_) => 0,
    }
}
